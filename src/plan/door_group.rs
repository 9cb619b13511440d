//! The door's group (docs/door.md): how the Access group's `include` becomes exactly the door
//! lists (`email_list`) and the `domains:` (`email_domain`), leaving `exclude` and `require` as
//! they are; and the fingerprint of the door as it was read, which a saved plan carries.

use std::collections::HashMap;

use super::{DoorError, ListPlan, ListTarget, MAX_RULES_PER_GROUP};
use crate::config::{Desired, DoorGroup, DoorSpec, Location};
use crate::model::door::{DoorId, LiveDoor, LiveGroup, Rule};
use crate::model::Domain;

/// A rule of the group's `include` as the door wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DoorRule {
    /// `email_list` naming `DoorPlan::lists[list]`, whose id apply knows once it exists.
    EmailList { list: usize },
    /// `email_domain` for a `domains:` entry.
    EmailDomain { domain: Domain, entry: Location },
}

impl DoorRule {
    /// The rule as the group holds it, once the lists' ids are known: `list_ids[i]` is the id of
    /// `DoorPlan::lists[i]` (an existing list's, or the one its creation returned); `None` while
    /// a list to create has none yet.
    pub fn to_rule(&self, list_ids: &[Option<DoorId>]) -> Option<Rule> {
        match self {
            DoorRule::EmailList { list } => list_ids
                .get(*list)
                .cloned()
                .flatten()
                .map(|id| Rule::EmailList { id: id.to_string() }),
            DoorRule::EmailDomain { domain, .. } => Some(Rule::EmailDomain {
                domain: domain.to_string(),
            }),
        }
    }
}

/// Why an include rule leaves the group.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleRemoval {
    /// A rule the door does not hold: another kind (`email`, `everyone`, ...), a list that is
    /// not a door list, a domain not in `domains:`. Someone else's edit, or a former door.
    Drift(Rule),
    /// The same rule twice: the first stays.
    Duplicate(Rule),
}

/// The group, existing or to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupTarget {
    Existing { id: DoorId, name: String },
    Create { name: String },
}

/// What happens to the door's group. The API writes a group whole (PUT), so apply sends
/// `include` (in this order), and `exclude` and `require` exactly as they were read.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupPlan {
    pub target: GroupTarget,
    /// The include after the plan: the door rules already there (in the group's order), then
    /// `add`.
    pub include: Vec<DoorRule>,
    pub add: Vec<DoorRule>,
    pub remove: Vec<RuleRemoval>,
    pub exclude: Vec<serde_json::Value>,
    pub require: Vec<serde_json::Value>,
}

impl GroupPlan {
    pub fn has_changes(&self) -> bool {
        matches!(self.target, GroupTarget::Create { .. })
            || !self.add.is_empty()
            || !self.remove.is_empty()
    }
}

pub(super) fn group_plan(
    spec: &DoorGroup,
    desired: &Desired,
    live: &LiveDoor,
    lists: &[ListPlan],
    errors: &mut Vec<DoorError>,
) -> Option<GroupPlan> {
    let claimed: Vec<&LiveGroup> = live
        .groups
        .iter()
        .filter(|g| match spec {
            DoorGroup::Named { name, .. } => g.name == *name,
            DoorGroup::Id { id, .. } => DoorId::parse(&g.id).as_ref() == Some(id),
        })
        .collect();
    let found = match (spec, claimed.as_slice()) {
        (DoorGroup::Named { name, .. }, []) => Err(name.clone()),
        (DoorGroup::Id { id, location }, []) => {
            errors.push(DoorError::GroupNotFound {
                id: id.clone(),
                at: location.clone(),
            });
            return None;
        }
        (DoorGroup::Named { name, .. }, [_, _, ..]) => {
            let mut ids: Vec<String> = claimed.iter().map(|g| g.id.clone()).collect();
            ids.sort_unstable();
            errors.push(DoorError::GroupNameTwice {
                name: name.clone(),
                ids,
            });
            return None;
        }
        (_, [first, ..]) => Ok(*first),
    };
    let wanted: Vec<DoorRule> = (0..lists.len())
        .map(|list| DoorRule::EmailList { list })
        .chain(desired.domains.iter().map(|d| DoorRule::EmailDomain {
            domain: d.domain.clone(),
            entry: d.location.clone(),
        }))
        .collect();
    let plan = match found {
        Err(name) => GroupPlan {
            target: GroupTarget::Create { name },
            include: wanted.clone(),
            add: wanted,
            remove: Vec::new(),
            exclude: Vec::new(),
            require: Vec::new(),
        },
        Ok(group) => {
            let Some(id) = DoorId::parse(&group.id) else {
                errors.push(DoorError::InvalidId {
                    name: group.name.clone(),
                    id: group.id.clone(),
                });
                return None;
            };
            let list_index: HashMap<&DoorId, usize> = lists
                .iter()
                .enumerate()
                .filter_map(|(i, l)| match &l.target {
                    ListTarget::Existing { id, .. } => Some((id, i)),
                    ListTarget::Create { .. } => None,
                })
                .collect();
            let mut seen = vec![false; wanted.len()];
            let (mut include, mut remove) = (Vec::new(), Vec::new());
            for rule in &group.include {
                let at = match rule {
                    Rule::EmailList { id } => {
                        DoorId::parse(id).and_then(|id| list_index.get(&id).copied())
                    }
                    // Only as reconcile writes it (up to ASCII case): `ｅxample.com` maps to
                    // `example.com`, but the API compares the rule as written.
                    Rule::EmailDomain { domain } => Domain::parse(domain)
                        .ok()
                        .filter(|d| domain.eq_ignore_ascii_case(d.as_str()))
                        .and_then(|d| {
                            desired
                                .domains
                                .iter()
                                .position(|e| e.domain == d)
                                .map(|p| lists.len() + p)
                        }),
                    Rule::Other(_) => None,
                };
                match at {
                    Some(i) if !seen[i] => {
                        seen[i] = true;
                        include.push(wanted[i].clone());
                    }
                    Some(_) => remove.push(RuleRemoval::Duplicate(rule.clone())),
                    None => remove.push(RuleRemoval::Drift(rule.clone())),
                }
            }
            let add: Vec<DoorRule> = wanted
                .iter()
                .zip(&seen)
                .filter(|(_, seen)| !**seen)
                .map(|(r, _)| r.clone())
                .collect();
            include.extend(add.iter().cloned());
            GroupPlan {
                target: GroupTarget::Existing {
                    id,
                    name: group.name.clone(),
                },
                include,
                add,
                remove,
                exclude: group.exclude.clone(),
                require: group.require.clone(),
            }
        }
    };
    if plan.include.len() > MAX_RULES_PER_GROUP {
        errors.push(DoorError::TooManyRules {
            rules: plan.include.len(),
        });
    }
    Some(plan)
}

/// A fingerprint of the door as it is: the door's lists (id, name, type, every item's value
/// and description) and groups (id, name, include, exclude, require), sorted, so that two
/// readings of an unchanged door give the same fingerprint whatever the API's order. A saved
/// plan carries it; apply reads the door again and refuses when it differs (a list or group
/// changed since the review). Lists and groups the section does not name are left out.
pub fn live_door_fingerprint(spec: &DoorSpec, live: &LiveDoor) -> String {
    let json = |v: &serde_json::Value| v.to_string();
    let mut lines: Vec<String> = Vec::new();
    for list in &live.lists {
        if spec.claims_list(&list.id, &list.name).is_none() {
            continue;
        }
        let mut items: Vec<String> = list
            .items
            .iter()
            .map(|i| json(&serde_json::json!([i.value, i.description])))
            .collect();
        items.sort_unstable();
        lines.push(json(&serde_json::json!([
            "list", list.id, list.name, list.kind, items
        ])));
    }
    for group in &live.groups {
        if !spec.claims_group(&group.id, &group.name) {
            continue;
        }
        let sorted = |rules: &mut dyn Iterator<Item = String>| {
            let mut v: Vec<String> = rules.collect();
            v.sort_unstable();
            v
        };
        lines.push(json(&serde_json::json!([
            "group",
            group.id,
            group.name,
            sorted(&mut group.include.iter().map(|r| json(&r.to_json()))),
            sorted(&mut group.exclude.iter().map(json)),
            sorted(&mut group.require.iter().map(json)),
        ])));
    }
    lines.sort_unstable();
    let mut canonical = String::from("reconcile-door-v1\n");
    for line in lines {
        canonical.push_str(&line);
        canonical.push('\n');
    }
    crate::digest::sha256(canonical.as_bytes())
}
