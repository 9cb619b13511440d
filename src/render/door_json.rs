//! The door in the JSON plan: the `door` object (docs/output.md), null without a `door:`
//! section. Strings are the API's and the files' exact text; the document's writer escapes
//! what could reach a terminal raw. The `text` fields are the sentences the human plan shows.

use serde::Serialize;

use super::{location, LocationOut};
use crate::plan::door::{
    DoorPlan, DoorRule, GroupPlan, GroupTarget, ListPlan, ListTarget, Removal, RemovalReason,
    RuleRemoval,
};
use crate::render::door::{error_pieces, line, removal_pieces, summary};

#[derive(Serialize)]
pub(super) struct DoorOut<'a> {
    /// The summary line of the human plan.
    summary: String,
    has_changes: bool,
    refused: bool,
    errors: Vec<ErrorOut>,
    lists_needed: usize,
    capacity: usize,
    entries: usize,
    lists: Vec<ListOut<'a>>,
    group: Option<GroupOut<'a>>,
    live_fingerprint: &'a str,
}

#[derive(Serialize)]
struct ErrorOut {
    kind: &'static str,
    text: String,
}

#[derive(Serialize)]
struct TargetOut<'a> {
    /// `existing` or `create`.
    kind: &'static str,
    /// `None` for one to create: its id is known once it exists.
    id: Option<&'a str>,
    name: &'a str,
}

#[derive(Serialize)]
struct ListOut<'a> {
    target: TargetOut<'a>,
    has_changes: bool,
    append: Vec<AppendOut<'a>>,
    remove: Vec<RemovalOut<'a>>,
    kept: usize,
    size_after: usize,
    becomes_empty: bool,
}

#[derive(Serialize)]
struct AppendOut<'a> {
    email: &'a str,
    entry: LocationOut<'a>,
    description: &'a str,
}

#[derive(Serialize)]
struct RemovalOut<'a> {
    value: &'a str,
    description: Option<&'a str>,
    reason: RemovalReasonOut<'a>,
}

#[derive(Serialize)]
struct RemovalReasonOut<'a> {
    kind: &'static str,
    text: String,
    /// `expired`: the expiry date and the entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    on: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    entry: Option<LocationOut<'a>>,
    /// `no_longer_allowed`: where the item's description says reconcile added it from.
    #[serde(skip_serializing_if = "Option::is_none")]
    added_from: Option<ProvenanceOut<'a>>,
    /// `duplicate`: the index (in `lists`) of the list where the address stays.
    #[serde(skip_serializing_if = "Option::is_none")]
    kept_in: Option<usize>,
}

#[derive(Serialize)]
struct ProvenanceOut<'a> {
    file: &'a str,
    line: usize,
}

#[derive(Serialize)]
struct GroupOut<'a> {
    target: TargetOut<'a>,
    has_changes: bool,
    add: Vec<RuleOut<'a>>,
    remove: Vec<RuleRemovalOut>,
    include_after: Vec<RuleOut<'a>>,
}

#[derive(Serialize)]
struct RuleOut<'a> {
    /// `email_list` or `email_domain`.
    kind: &'static str,
    /// `email_list`: the index in `lists`.
    #[serde(skip_serializing_if = "Option::is_none")]
    list: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    domain: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    entry: Option<LocationOut<'a>>,
}

#[derive(Serialize)]
struct RuleRemovalOut {
    /// `drift` or `duplicate`.
    kind: &'static str,
    /// The rule as the API wrote it.
    rule: serde_json::Value,
    text: &'static str,
}

fn list_target(t: &ListTarget) -> TargetOut<'_> {
    match t {
        ListTarget::Existing { id, name } => TargetOut {
            kind: "existing",
            id: Some(id.as_str()),
            name,
        },
        ListTarget::Create { name } => TargetOut {
            kind: "create",
            id: None,
            name,
        },
    }
}

fn removal<'a>(plan: &DoorPlan, r: &'a Removal) -> RemovalOut<'a> {
    let mut reason = RemovalReasonOut {
        kind: r.reason.kind(),
        text: line(&removal_pieces(plan, r)),
        on: None,
        entry: None,
        added_from: None,
        kept_in: None,
    };
    match &r.reason {
        RemovalReason::Expired { on, entry } => {
            reason.on = Some(on.to_string());
            reason.entry = Some(location(entry));
        }
        RemovalReason::NoLongerAllowed { added_from } => {
            reason.added_from = Some(ProvenanceOut {
                file: &added_from.file,
                line: added_from.line,
            })
        }
        RemovalReason::Duplicate { kept_in } => reason.kept_in = Some(*kept_in),
        RemovalReason::Drift | RemovalReason::NotAnAddress | RemovalReason::OverCapacity => {}
    }
    RemovalOut {
        value: &r.value,
        description: r.description.as_deref(),
        reason,
    }
}

fn list<'a>(plan: &DoorPlan, l: &'a ListPlan) -> ListOut<'a> {
    ListOut {
        target: list_target(&l.target),
        has_changes: l.has_changes(),
        append: l
            .append
            .iter()
            .map(|a| AppendOut {
                email: a.email.as_str(),
                entry: location(&a.entry),
                description: &a.description,
            })
            .collect(),
        remove: l.remove.iter().map(|r| removal(plan, r)).collect(),
        kept: l.kept,
        size_after: l.size_after(),
        becomes_empty: l.becomes_empty(),
    }
}

fn rule(r: &DoorRule) -> RuleOut<'_> {
    match r {
        DoorRule::EmailList { list } => RuleOut {
            kind: "email_list",
            list: Some(*list),
            domain: None,
            entry: None,
        },
        DoorRule::EmailDomain { domain, entry } => RuleOut {
            kind: "email_domain",
            list: None,
            domain: Some(domain.as_str()),
            entry: Some(location(entry)),
        },
    }
}

fn group(g: &GroupPlan) -> GroupOut<'_> {
    GroupOut {
        target: match &g.target {
            GroupTarget::Existing { id, name } => TargetOut {
                kind: "existing",
                id: Some(id.as_str()),
                name,
            },
            GroupTarget::Create { name } => TargetOut {
                kind: "create",
                id: None,
                name,
            },
        },
        has_changes: g.has_changes(),
        add: g.add.iter().map(rule).collect(),
        remove: g
            .remove
            .iter()
            .map(|r| {
                let (raw, kind, text) = match r {
                    RuleRemoval::Drift(raw) => (raw, "drift", "drift: not a rule of the door"),
                    RuleRemoval::Duplicate(raw) => {
                        (raw, "duplicate", "duplicate (the first one stays)")
                    }
                };
                RuleRemovalOut {
                    kind,
                    rule: raw.to_json(),
                    text,
                }
            })
            .collect(),
        include_after: g.include.iter().map(rule).collect(),
    }
}

/// The `door` object of the plan document.
pub(super) fn door(plan: &DoorPlan) -> DoorOut<'_> {
    DoorOut {
        summary: summary(plan),
        has_changes: plan.has_changes(),
        refused: plan.is_refused(),
        errors: plan
            .errors
            .iter()
            .map(|e| ErrorOut {
                kind: e.kind(),
                text: line(&error_pieces(plan, e)),
            })
            .collect(),
        lists_needed: plan.lists_needed,
        capacity: plan.capacity,
        entries: plan.entries,
        lists: plan.lists.iter().map(|l| list(plan, l)).collect(),
        group: plan.group.as_ref().map(group),
        live_fingerprint: &plan.live_fingerprint,
    }
}
