//! The door's words: why an item leaves its list, what is wrong with a refused door and what to
//! do, the counts and the summary line. Shared by the human, Markdown and JSON plans; they word
//! what `plan::door` decided and decide nothing. Names, values and descriptions from the API
//! are kept as [`Piece`]s: each writer escapes them its own way.

use crate::plan::door::{
    DoorError, DoorPlan, DoorRule, GroupPlan, GroupTarget, ListPlan, ListTarget, Removal,
    RemovalReason, RuleRemoval, MAX_LISTS_PER_ACCOUNT, MAX_RULES_PER_GROUP,
};
use crate::render::quoted;
use crate::render::words::Piece;
use crate::text::{count, plural, printable};

/// Longest rule (as JSON), id or description shown, in characters.
const MAX_SHOWN_CHARS: usize = 80;

/// `text` with at most `max` characters, `…` when cut.
pub(crate) fn shorten(text: &str, max: usize) -> String {
    let mut chars = text.chars();
    let mut kept: String = chars.by_ref().take(max).collect();
    if chars.next().is_some() {
        kept.push('…');
    }
    kept
}

/// The pieces as one line for a terminal: names as they are, quoted ones in backticks, the
/// whole escaped.
pub(crate) fn line(pieces: &[Piece]) -> String {
    let joined: String = pieces
        .iter()
        .map(|p| match p {
            Piece::Text(t) | Piece::Name(t) => t.clone(),
            Piece::Quoted(q) => format!("`{q}`"),
        })
        .collect();
    printable(&joined)
}

fn text(s: impl Into<String>) -> Piece {
    Piece::Text(s.into())
}

fn name(s: impl ToString) -> Piece {
    Piece::Name(s.to_string())
}

/// The name of `plan.lists[index]`, for a sentence.
fn list_at(plan: &DoorPlan, index: usize) -> Piece {
    match plan.lists.get(index) {
        Some(l) => Piece::Quoted(l.target.name().to_string()),
        None => text(format!("list {}", index + 1)),
    }
}

/// Why an item leaves its list, with the item's description when the reason is someone else's
/// edit (what a reviewer wants to see of it).
pub(crate) fn removal_pieces(plan: &DoorPlan, r: &Removal) -> Vec<Piece> {
    let mut pieces = match &r.reason {
        RemovalReason::Expired { on, entry } => {
            vec![text(format!("expired on {on}, entry at ")), name(entry)]
        }
        RemovalReason::NoLongerAllowed { added_from } => vec![
            text("no longer in the allowlist (added by reconcile from "),
            name(format!("{}:{}", added_from.file, added_from.line)),
            text(")"),
        ],
        RemovalReason::Drift => vec![text("drift: not added by reconcile")],
        RemovalReason::NotAnAddress => vec![text("not an address")],
        RemovalReason::Duplicate { kept_in } => vec![
            text("duplicate (kept in "),
            list_at(plan, *kept_in),
            text(")"),
        ],
        RemovalReason::OverCapacity => {
            vec![text("over capacity (moved to a list with room)")]
        }
    };
    if matches!(r.reason, RemovalReason::Drift | RemovalReason::NotAnAddress) {
        if let Some(d) = &r.description {
            pieces.push(text("; its description: "));
            pieces.push(Piece::Quoted(shorten(d, MAX_SHOWN_CHARS)));
        }
    }
    pieces
}

/// The ids of several lists or groups, for a sentence.
fn ids(ids: &[String]) -> Vec<Piece> {
    let mut pieces = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            pieces.push(text(", "));
        }
        pieces.push(name(shorten(id, MAX_SHOWN_CHARS)));
    }
    pieces
}

/// What is wrong with the door and what to do about it.
pub(crate) fn error_pieces(plan: &DoorPlan, e: &DoorError) -> Vec<Piece> {
    match e {
        DoorError::TooManyLists {
            create,
            account_lists,
        } => vec![text(format!(
            "too many lists: the allowlist needs {} of {} entries, {} of them to create, and the account holds {account_lists} of {MAX_LISTS_PER_ACCOUNT} lists (every type counts): raise ",
            count(plan.lists_needed, "list"),
            plan.capacity,
            create
        )), Piece::Quoted("lists.capacity".into()), text(" (up to 5000 on Enterprise), or delete lists the account no longer uses")],
        DoorError::TooFewIds { needed, given } => vec![
            text(format!(
                "too few lists: the allowlist ({} {}) needs {} of {} entries, and ",
                plan.entries,
                if plan.entries == 1 { "entry" } else { "entries" },
                count(*needed, "list"),
                plan.capacity
            )),
            Piece::Quoted("lists.ids".into()),
            text(format!(
                " gives {given}: add the ids of {} more EMAIL list{}, or raise ",
                needed.saturating_sub(*given),
                plural(needed.saturating_sub(*given))
            )),
            Piece::Quoted("lists.capacity".into()),
        ],
        DoorError::ListNotFound { id, at } => vec![
            text("list not found: no list of the account has the id "),
            name(id),
            text(" (given at "),
            name(at),
            text("): check the id, or remove it from "),
            Piece::Quoted("lists.ids".into()),
        ],
        DoorError::ListNameTwice { name: n, ids: list } => {
            let mut v = vec![
                text(format!("{} lists are named ", list.len())),
                Piece::Quoted(n.clone()),
                text(" ("),
            ];
            v.extend(ids(list));
            v.push(text(
                "): which one is the door is unclear; rename or delete all but one",
            ));
            v
        }
        DoorError::NotEmailList { id, name: n, kind } => vec![
            text("not an EMAIL list: "),
            Piece::Quoted(n.clone()),
            text(" ("),
            name(id),
            text(format!(
                ") has type {}: a door list holds addresses; rename that list, or give the door another name",
                kind.as_deref().map_or_else(|| "(none)".to_string(), quoted)
            )),
        ],
        DoorError::InvalidId { name: n, id } => vec![
            text("invalid id: the API gives "),
            Piece::Quoted(n.clone()),
            text(" the id "),
            Piece::Quoted(shorten(id, MAX_SHOWN_CHARS)),
            text(", which is not a UUID; reconcile sends only UUIDs in a request: check the account and the API"),
        ],
        DoorError::GroupNotFound { id, at } => vec![
            text("group not found: no Access group has the id "),
            name(id),
            text(" (given at "),
            name(at),
            text("): check the id, or name the group with "),
            Piece::Quoted("group: { name: NAME }".into()),
            text(" to have it created"),
        ],
        DoorError::GroupNameTwice { name: n, ids: list } => {
            let mut v = vec![
                text(format!("{} Access groups are named ", list.len())),
                Piece::Quoted(n.clone()),
                text(" ("),
            ];
            v.extend(ids(list));
            v.push(text("): rename or delete all but one, or give the group by "));
            v.push(Piece::Quoted("group: { id: ID }".into()));
            v
        }
        DoorError::TooManyRules { rules } => vec![
            text(format!(
                "too many rules: the group's include would hold {rules} rules, over Cloudflare's limit of {MAX_RULES_PER_GROUP} per group: raise "
            )),
            Piece::Quoted("lists.capacity".into()),
            text(" so that fewer lists are needed, or write fewer "),
            Piece::Quoted("domains:".into()),
        ],
        DoorError::TooManyRemovals(refusal) => vec![text(format!(
            "the door's removals are refused by the safety rails (counted over the people the door's lists hold): {}",
            crate::render::words::refusal(refusal)
        ))],
    }
}

/// `(+2 −1)`: the addresses a list gains and loses.
pub(crate) fn list_counts(l: &ListPlan) -> String {
    let mut parts = Vec::new();
    if !l.append.is_empty() {
        parts.push(format!("+{}", l.append.len()));
    }
    if !l.remove.is_empty() {
        parts.push(format!("−{}", l.remove.len()));
    }
    if parts.is_empty() {
        parts.push("empty".into());
    }
    format!("({})", parts.join(" "))
}

/// `(+1 list, +1 domain, −1 rule)`: the rules the group's include gains and loses.
pub(crate) fn group_counts(g: &GroupPlan) -> String {
    let lists = g
        .add
        .iter()
        .filter(|r| matches!(r, DoorRule::EmailList { .. }))
        .count();
    let domains = g.add.len() - lists;
    let mut parts = Vec::new();
    if lists > 0 {
        parts.push(format!("+{}", count(lists, "list")));
    }
    if domains > 0 {
        parts.push(format!("+{}", count(domains, "domain")));
    }
    if !g.remove.is_empty() {
        parts.push(format!("−{}", count(g.remove.len(), "rule")));
    }
    if parts.is_empty() {
        parts.push("no rules".into());
    }
    format!("({})", parts.join(", "))
}

/// What a list's line says after its counts: created, or left empty.
pub(crate) fn list_note(l: &ListPlan) -> Option<&'static str> {
    if matches!(l.target, ListTarget::Create { .. }) {
        Some("(created)")
    } else if l.becomes_empty() {
        Some("(becomes empty: kept, never deleted)")
    } else {
        None
    }
}

/// A rule the group gains, in pieces: the kind, and the list or the domain.
pub(crate) fn rule_pieces(plan: &DoorPlan, r: &DoorRule) -> Vec<Piece> {
    match r {
        DoorRule::EmailList { list } => vec![text("email_list "), list_at(plan, *list)],
        DoorRule::EmailDomain { domain, .. } => vec![text("email_domain "), name(domain)],
    }
}

/// A rule that leaves the group, as the API wrote it (JSON, shortened), and why.
pub(crate) fn rule_removal(r: &RuleRemoval) -> (String, &'static str, &'static str) {
    let (rule, kind, why) = match r {
        RuleRemoval::Drift(rule) => (rule, "drift", "drift: not a rule of the door"),
        RuleRemoval::Duplicate(rule) => (rule, "duplicate", "duplicate (the first one stays)"),
    };
    (
        shorten(&rule.to_json().to_string(), MAX_SHOWN_CHARS),
        kind,
        why,
    )
}

/// The one-line summary: `Door: 1 list to create, 2 to change (+3 −1), group include +1 −0.`
pub(crate) fn summary(plan: &DoorPlan) -> String {
    let create = plan
        .lists
        .iter()
        .filter(|l| matches!(l.target, ListTarget::Create { .. }))
        .count();
    let change = plan
        .lists
        .iter()
        .filter(|l| matches!(l.target, ListTarget::Existing { .. }) && l.has_changes())
        .count();
    let same = plan.lists.len() - create - change;
    let mut parts = Vec::new();
    let mut noun = true;
    let mut lists = |n: usize, what: &str, parts: &mut Vec<String>| {
        if n > 0 {
            parts.push(if noun {
                format!("{} {what}", count(n, "list"))
            } else {
                format!("{n} {what}")
            });
            noun = false;
        }
    };
    lists(create, "to create", &mut parts);
    lists(change, "to change", &mut parts);
    if create + change > 0 {
        let added: usize = plan.lists.iter().map(|l| l.append.len()).sum();
        let removed: usize = plan.lists.iter().map(|l| l.remove.len()).sum();
        if let Some(last) = parts.last_mut() {
            last.push_str(&format!(" (+{added} −{removed})"));
        }
    }
    lists(same, "unchanged", &mut parts);
    match &plan.group {
        Some(g) if matches!(g.target, GroupTarget::Create { .. }) => {
            parts.push(format!("group to create (+{})", g.add.len()))
        }
        Some(g) if g.has_changes() => parts.push(format!(
            "group include +{} −{}",
            g.add.len(),
            g.remove.len()
        )),
        Some(_) => parts.push("group unchanged".into()),
        None => {}
    }
    let body = if parts.is_empty() {
        "no lists".to_string()
    } else {
        parts.join(", ")
    };
    if plan.is_refused() {
        format!(
            "Door: refused ({}): nothing of this plan may be applied; as planned: {body}.",
            count(plan.errors.len(), "error")
        )
    } else if plan.has_changes() {
        format!("Door: {body}.")
    } else {
        format!("Door: no changes ({body}).")
    }
}

/// `The allowlist needs 3 lists of 1000 entries (2345 entries).`
pub(crate) fn needs(plan: &DoorPlan) -> String {
    format!(
        "The allowlist needs {} of {} entries ({} {}).",
        count(plan.lists_needed, "list"),
        plan.capacity,
        plan.entries,
        if plan.entries == 1 {
            "entry"
        } else {
            "entries"
        }
    )
}
