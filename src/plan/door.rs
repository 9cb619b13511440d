//! The door's plan (docs/door.md): the pure diff between the `door:` section of the desired
//! state and the door as it is ([`LiveDoor`]): which addresses each Zero Trust list gains and
//! loses, which lists are created, and how the Access group's `include` changes. No I/O, nothing
//! async, nothing about HTTP: the same inputs give the same plan, whatever order the API listed
//! things in. Apply turns the plan into PATCH bodies (`append`/`remove` per list, never a full
//! rewrite) and one group write; the errors here refuse the plan before anything is sent.
//!
//! Assignment is minimal and deterministic, so that adding one address changes one list:
//! 1. every item that is not (or no longer) a door entry leaves its list; an entry found in
//!    several lists stays in the first (by list number, or the order of `ids:`) and leaves the
//!    others; a list over its capacity keeps its first entries (in address order);
//! 2. entries already in a list stay there;
//! 3. new entries, in address order, go to the first list with room; when none has any, a list
//!    `NAME-(k+1)` is planned after the highest number `k` found (named form), or the plan is
//!    refused (ids form). A list that becomes empty is kept, never deleted.

use std::collections::HashMap;

use crate::config::{AllowEntry, Desired, DoorLists, DoorSpec, Location};
use crate::date::Date;
use crate::model::door::{DoorId, LiveDoor, LiveList, Provenance, EMAIL_LIST_TYPE};
use crate::model::Email;

#[path = "door_group.rs"]
mod group;
use group::group_plan;
pub use group::{live_door_fingerprint, DoorRule, GroupPlan, GroupTarget, RuleRemoval};

/// Zero Trust lists an account may hold, of every type (Cloudflare's account limits).
pub const MAX_LISTS_PER_ACCOUNT: usize = 100;
/// Rules an Access group may hold (Cloudflare's account limits: "Rules per rule group").
pub const MAX_RULES_PER_GROUP: usize = 1000;

/// A door list: one that exists, or one the plan creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListTarget {
    Existing {
        id: DoorId,
        name: String,
    },
    /// Created by apply (POST, type EMAIL, with its `append` as the first items); its id is
    /// known only then.
    Create {
        name: String,
    },
}

impl ListTarget {
    pub fn name(&self) -> &str {
        match self {
            ListTarget::Existing { name, .. } | ListTarget::Create { name } => name,
        }
    }
}

/// An address to add to a list: the value is `email`'s normal form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Append {
    pub email: Email,
    /// Where the `users:` entry is.
    pub entry: Location,
    /// What the item's `description` is set to: a [`Provenance`] (`reconcile: FILE:LINE`).
    pub description: String,
}

/// Why an item leaves its list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemovalReason {
    /// The entry's `expires` is today or earlier: the door closes on the expiry date.
    Expired { on: Date, entry: Location },
    /// Not in the allowlist any more; the item's description says reconcile added it from there
    /// (a claim, not a proof: anyone can write such a description).
    NoLongerAllowed { added_from: Provenance },
    /// Not in the allowlist, and not added by reconcile: someone else's edit.
    Drift,
    /// The value is not an address (as `Email::parse` reads it).
    NotAnAddress,
    /// The address is also in an earlier list (an index into [`DoorPlan::lists`]), where it stays.
    Duplicate { kept_in: usize },
    /// The list holds more door entries than `capacity`: the address moves to a list with room.
    OverCapacity,
}

impl RemovalReason {
    /// A short, stable name for machine-readable output.
    pub fn kind(&self) -> &'static str {
        match self {
            RemovalReason::Expired { .. } => "expired",
            RemovalReason::NoLongerAllowed { .. } => "no_longer_allowed",
            RemovalReason::Drift => "drift",
            RemovalReason::NotAnAddress => "not_an_address",
            RemovalReason::Duplicate { .. } => "duplicate",
            RemovalReason::OverCapacity => "over_capacity",
        }
    }
}

/// An item to remove: `value` exactly as the list holds it (what PATCH `remove` takes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal {
    pub value: String,
    /// The item's description as the list holds it, for review.
    pub description: Option<String>,
    pub reason: RemovalReason,
}

/// What happens to one door list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPlan {
    pub target: ListTarget,
    /// In address order.
    pub append: Vec<Append>,
    /// In the order of the values' normal form, then the value.
    pub remove: Vec<Removal>,
    /// Items that stay.
    pub kept: usize,
}

impl ListPlan {
    pub fn has_changes(&self) -> bool {
        matches!(self.target, ListTarget::Create { .. })
            || !self.append.is_empty()
            || !self.remove.is_empty()
    }

    /// Items the list holds once the plan is applied.
    pub fn size_after(&self) -> usize {
        self.kept + self.append.len()
    }

    /// The list exists, holds items and is left empty (it is kept, not deleted).
    pub fn becomes_empty(&self) -> bool {
        self.size_after() == 0 && !self.remove.is_empty()
    }
}

/// Why the door's plan may not be applied; found before anything is sent.
#[derive(Debug, Clone, PartialEq)]
pub enum DoorError {
    /// Creating `create` lists would take the account (which has `account_lists`) over
    /// [`MAX_LISTS_PER_ACCOUNT`].
    TooManyLists { create: usize, account_lists: usize },
    /// The allowlist needs `needed` lists of `capacity`, and `ids:` gives `given`.
    TooFewIds { needed: usize, given: usize },
    /// An id of `ids:` names no list of the account.
    ListNotFound { id: DoorId, at: Location },
    /// Two lists (or more) carry a door list's name: which one is the door is unclear.
    ListNameTwice { name: String, ids: Vec<String> },
    /// A door list whose type is not EMAIL (`kind` as the API wrote it).
    NotEmailList {
        id: String,
        name: String,
        kind: Option<String>,
    },
    /// A door list or group whose id, as the API wrote it, is not a UUID.
    InvalidId { name: String, id: String },
    /// `group: { id: }` names no group of the account.
    GroupNotFound { id: DoorId, at: Location },
    /// Two groups (or more) carry the group's name.
    GroupNameTwice { name: String, ids: Vec<String> },
    /// The include would hold `rules`, over [`MAX_RULES_PER_GROUP`].
    TooManyRules { rules: usize },
    /// The plan takes more people out of the door than the whole-plan rails allow (the same
    /// rails as the users' deletions, counted over the door's addresses): a wrong `-f` or a
    /// truncated allowlist would otherwise lock them out.
    TooManyRemovals(crate::plan::Refusal),
}

impl DoorError {
    /// A short, stable name for machine-readable output.
    pub fn kind(&self) -> &'static str {
        match self {
            DoorError::TooManyLists { .. } => "too_many_lists",
            DoorError::TooFewIds { .. } => "too_few_ids",
            DoorError::ListNotFound { .. } => "list_not_found",
            DoorError::ListNameTwice { .. } => "list_name_twice",
            DoorError::NotEmailList { .. } => "not_email_list",
            DoorError::InvalidId { .. } => "invalid_id",
            DoorError::GroupNotFound { .. } => "group_not_found",
            DoorError::GroupNameTwice { .. } => "group_name_twice",
            DoorError::TooManyRules { .. } => "too_many_rules",
            DoorError::TooManyRemovals(_) => "too_many_removals",
        }
    }
}

impl DoorPlan {
    /// The people the plan takes out of the door (items removed for a reason that leaves the
    /// door: expired, no longer allowed, drift, not an address; a duplicate or an address moving
    /// to another list stays in), and the people the door holds now.
    pub fn removals(&self) -> (usize, usize) {
        let leaves = |r: &Removal| {
            !matches!(
                r.reason,
                RemovalReason::Duplicate { .. } | RemovalReason::OverCapacity
            )
        };
        let removed = self
            .lists
            .iter()
            .flat_map(|l| &l.remove)
            .filter(|r| leaves(r))
            .count();
        let now = self
            .lists
            .iter()
            .map(|l| {
                l.kept
                    + l.remove
                        .iter()
                        .filter(|r| !matches!(r.reason, RemovalReason::Duplicate { .. }))
                        .count()
            })
            .sum();
        (removed, now)
    }

    /// Run the whole-plan rails of the users' plan (`limits`: `max_deletes`,
    /// `max_delete_fraction`, delete-all, `--allow-deletes`) on the people the door loses; a
    /// refusal refuses the door, and so the whole plan.
    pub fn check_rails(&mut self, limits: &crate::plan::Limits) {
        let (removed, now) = self.removals();
        if let Some(refusal) = limits.check(removed, now) {
            self.errors.push(DoorError::TooManyRemovals(refusal));
        }
    }
}

/// The door's plan.
#[derive(Debug, Clone, PartialEq)]
pub struct DoorPlan {
    /// Every door list, in order (list number, or the order of `ids:`), then those to create.
    pub lists: Vec<ListPlan>,
    pub group: Option<GroupPlan>,
    /// Entries per list.
    pub capacity: usize,
    /// The door entries: `users:` entries that have not expired.
    pub entries: usize,
    /// How many lists the allowlist needs with this assignment (for the ids form, more than
    /// `ids:` gives when [`DoorError::TooFewIds`]).
    pub lists_needed: usize,
    /// When not empty, nothing of the door (and so no deletion) may be applied.
    pub errors: Vec<DoorError>,
    /// [`live_door_fingerprint`] of what the plan was computed from.
    pub live_fingerprint: String,
}

impl DoorPlan {
    pub fn has_changes(&self) -> bool {
        self.lists.iter().any(ListPlan::has_changes)
            || self.group.as_ref().is_some_and(GroupPlan::has_changes)
    }

    pub fn is_refused(&self) -> bool {
        !self.errors.is_empty()
    }
}

/// A door list found in the account, in assignment order.
struct Found<'a> {
    list: &'a LiveList,
    id: DoorId,
}

/// The door lists of the account, in order, and the highest list number of the named form.
fn door_lists<'a>(
    spec: &DoorSpec,
    live: &'a LiveDoor,
    errors: &mut Vec<DoorError>,
) -> (Vec<Found<'a>>, usize) {
    let mut by_place: HashMap<usize, Vec<&LiveList>> = HashMap::new();
    for list in &live.lists {
        if let Some(place) = spec.claims_list(&list.id, &list.name) {
            by_place.entry(place).or_default().push(list);
        }
    }
    let mut places: Vec<usize> = by_place.keys().copied().collect();
    places.sort_unstable();
    let highest = places.last().copied().unwrap_or(0);
    if let DoorLists::Ids(ids) = &spec.lists {
        for (place, (id, at)) in ids.iter().enumerate() {
            if !by_place.contains_key(&(place + 1)) {
                errors.push(DoorError::ListNotFound {
                    id: id.clone(),
                    at: at.clone(),
                });
            }
        }
    }
    let mut found = Vec::new();
    for place in places {
        let lists = &by_place[&place];
        // The same list read twice (pages that overlap) is one list; two different lists (or
        // two readings that disagree) under one door name leave the door unclear.
        if lists.iter().any(|l| *l != lists[0]) {
            let mut ids: Vec<String> = lists.iter().map(|l| l.id.clone()).collect();
            ids.sort_unstable();
            ids.dedup();
            errors.push(DoorError::ListNameTwice {
                name: lists[0].name.clone(),
                ids,
            });
            continue;
        }
        let list = lists[0];
        let Some(id) = DoorId::parse(&list.id) else {
            errors.push(DoorError::InvalidId {
                name: list.name.clone(),
                id: list.id.clone(),
            });
            continue;
        };
        if list.kind.as_deref() != Some(EMAIL_LIST_TYPE) {
            errors.push(DoorError::NotEmailList {
                id: list.id.clone(),
                name: list.name.clone(),
                kind: list.kind.clone(),
            });
            continue;
        }
        found.push(Found { list, id });
    }
    (found, highest)
}

/// The door's plan for `desired` against `live` on `today` (UTC); `None` when the desired state
/// has no `door:` section.
pub fn compute(desired: &Desired, live: &LiveDoor, today: Date) -> Option<DoorPlan> {
    let spec = desired.door.as_ref()?;
    let capacity = spec.capacity;
    let mut errors = Vec::new();
    let door: HashMap<&Email, &AllowEntry> = desired
        .entries
        .iter()
        .filter(|e| e.expires.is_none_or(|d| d > today))
        .map(|e| (&e.email, e))
        .collect();
    let expired: HashMap<&Email, &AllowEntry> = desired
        .entries
        .iter()
        .filter(|e| e.expires.is_some_and(|d| d <= today))
        .map(|e| (&e.email, e))
        .collect();
    let (found, highest) = door_lists(spec, live, &mut errors);
    let mut lists: Vec<ListPlan> = Vec::with_capacity(found.len());
    // Where each door entry already is: the list's index.
    let mut placed: HashMap<Email, usize> = HashMap::new();
    for (index, f) in found.iter().enumerate() {
        let mut items: Vec<(Option<Email>, &crate::model::door::LiveItem)> = f
            .list
            .items
            .iter()
            .map(|item| (Email::parse(&item.value).ok(), item))
            .collect();
        // Whatever order the API listed them in: by normal form, the normal spelling first.
        items.sort_by(|(a, x), (b, y)| {
            let key = |e: &Option<Email>, i: &crate::model::door::LiveItem| {
                (
                    e.is_none(),
                    e.as_ref().map(|e| e.to_string()),
                    e.as_ref().is_some_and(|e| e.as_str() != i.value),
                    i.value.clone(),
                    i.description.clone(),
                )
            };
            key(a, x).cmp(&key(b, y))
        });
        let mut remove = Vec::new();
        let mut kept: Vec<(Email, &crate::model::door::LiveItem)> = Vec::new();
        for (email, item) in items {
            let removal = |reason| Removal {
                value: item.value.clone(),
                description: item.description.clone(),
                reason,
            };
            let Some(email) = email else {
                remove.push(removal(RemovalReason::NotAnAddress));
                continue;
            };
            if let Some(entry) = expired.get(&email) {
                remove.push(removal(RemovalReason::Expired {
                    on: entry.expires.unwrap_or(today),
                    entry: entry.location.clone(),
                }));
            } else if !door.contains_key(&email) {
                let reason = match item.description.as_deref().and_then(Provenance::parse) {
                    Some(added_from) => RemovalReason::NoLongerAllowed { added_from },
                    None => RemovalReason::Drift,
                };
                remove.push(removal(reason));
            } else if let Some(&first) = placed.get(&email) {
                remove.push(removal(RemovalReason::Duplicate { kept_in: first }));
            } else if !item.value.eq_ignore_ascii_case(email.as_str()) {
                // An allowed address, but not as reconcile writes it (a full-width letter, a
                // punycode or decomposed spelling): the API compares values as written, so it
                // is not the entry. It goes, and the address is appended as written.
                remove.push(removal(RemovalReason::Drift));
            } else {
                placed.insert(email.clone(), index);
                kept.push((email, item));
            }
        }
        // Kept in address order already; what does not fit moves.
        for (email, item) in kept.split_off(kept.len().min(capacity)) {
            placed.remove(&email);
            remove.push(Removal {
                value: item.value.clone(),
                description: item.description.clone(),
                reason: RemovalReason::OverCapacity,
            });
        }
        lists.push(ListPlan {
            target: ListTarget::Existing {
                id: f.id.clone(),
                name: f.list.name.clone(),
            },
            append: Vec::new(),
            remove,
            kept: kept.len(),
        });
    }
    let mut new: Vec<&AllowEntry> = door
        .iter()
        .filter(|(email, _)| !placed.contains_key(**email))
        .map(|(_, e)| *e)
        .collect();
    new.sort_by(|a, b| a.email.cmp(&b.email));
    let (mut cursor, mut unplaced) = (0, 0usize);
    for entry in new {
        while cursor < lists.len() && lists[cursor].size_after() >= capacity {
            cursor += 1;
        }
        if cursor == lists.len() {
            match spec.list_name(highest + 1 + lists.len() - found.len()) {
                Some(name) => lists.push(ListPlan {
                    target: ListTarget::Create { name },
                    append: Vec::new(),
                    remove: Vec::new(),
                    kept: 0,
                }),
                None => {
                    unplaced += 1;
                    continue;
                }
            }
        }
        lists[cursor].append.push(Append {
            email: entry.email.clone(),
            entry: entry.location.clone(),
            description: Provenance::describe(&entry.location.file, entry.location.line),
        });
    }
    let lists_needed = lists.len() + unplaced.div_ceil(capacity);
    if let DoorLists::Ids(ids) = &spec.lists {
        if unplaced > 0 {
            errors.push(DoorError::TooFewIds {
                needed: lists_needed.max(ids.len() + 1),
                given: ids.len(),
            });
        }
    }
    let create = lists.len() - found.len();
    if create > 0 && live.account_lists + create > MAX_LISTS_PER_ACCOUNT {
        errors.push(DoorError::TooManyLists {
            create,
            account_lists: live.account_lists,
        });
    }
    for list in &mut lists {
        list.remove.sort_by_cached_key(|r| order_value(&r.value));
    }
    let group = spec
        .group
        .as_ref()
        .and_then(|g| group_plan(g, desired, live, &lists, &mut errors));
    Some(DoorPlan {
        live_fingerprint: live_door_fingerprint(spec, live),
        lists,
        group,
        capacity,
        entries: door.len(),
        lists_needed,
        errors,
    })
}

/// The order of removals: by normal form (values that are no address last), then as written.
fn order_value(value: &str) -> (bool, String, String) {
    match Email::parse(value) {
        Ok(e) => (false, e.to_string(), value.to_string()),
        Err(_) => (true, String::new(), value.to_string()),
    }
}

#[cfg(test)]
#[path = "door_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "door_group_tests.rs"]
mod group_tests;

#[cfg(test)]
#[path = "door_props.rs"]
mod props;
