//! The door in the Markdown plan: a "Door" section first (the summary, the refusal, how many
//! lists the allowlist needs), then a table per changed list and one for the group, inside the
//! document's size cut like every other table. Addresses, values, rules and locations go in code
//! spans; the reasons are the human plan's words ([`crate::render::door`]).

use std::fmt::Write as _;

use super::{code, code_cell, pieces, Section, MAX_REASON_CHARS};
use crate::plan::door::{DoorPlan, DoorRule, GroupTarget, ListTarget};
use crate::render::door::{
    error_pieces, group_counts, list_counts, list_note, needs, removal_pieces, rule_pieces,
    rule_removal, summary,
};

/// Errors listed in the refusal; the others are counted (the JSON plan has them all).
const MAX_ERRORS: usize = 20;
/// The most bytes the errors take: escaping can grow a hostile name tenfold, and the overview is
/// written before the tables and their cut.
const MAX_ERROR_BYTES: usize = 10_000;

/// The opening of the Door section: under `sub`, the summary, the refusal and what the
/// allowlist needs.
pub(super) fn overview(plan: &DoorPlan, sub: &str) -> String {
    // The summary and the needs are the tool's words and numbers only: nothing to escape.
    let mut out = format!("{sub} Door\n\n**{}**\n\n", summary(plan));
    if plan.is_refused() {
        let _ = writeln!(
            out,
            "> [!CAUTION]\n> **The door is refused: nothing of this plan may be applied.**"
        );
        let (mut shown, mut bytes) = (0, 0);
        for e in plan.errors.iter().take(MAX_ERRORS) {
            let row = format!("> - {}\n", pieces(&error_pieces(plan, e), MAX_REASON_CHARS));
            bytes += row.len();
            if bytes > MAX_ERROR_BYTES {
                break;
            }
            out.push_str(&row);
            shown += 1;
        }
        if plan.errors.len() > shown {
            let _ = writeln!(
                out,
                "> - … and {} more (see `reconcile plan --format json`)",
                plan.errors.len() - shown
            );
        }
        out.push('\n');
    }
    let _ = writeln!(out, "{}\n", needs(plan));
    out
}

/// A table per changed list, then the group's, each one level below the Door section.
pub(super) fn sections(plan: &DoorPlan) -> Vec<Section<'_>> {
    let mut sections = Vec::new();
    for l in plan.lists.iter().filter(|l| l.has_changes()) {
        let note = list_note(l).map(|n| format!(" {n}")).unwrap_or_default();
        let verb = match l.target {
            ListTarget::Create { .. } => "+",
            ListTarget::Existing { .. } => "~",
        };
        let name = code(l.target.name());
        let mut rows: Vec<Box<dyn Fn() -> String + '_>> = Vec::new();
        for a in &l.append {
            rows.push(Box::new(move || {
                format!(
                    "| {} | + add | from {} |\n",
                    code_cell(a.email.as_str()),
                    code_cell(&a.entry.to_string())
                )
            }));
        }
        for r in &l.remove {
            rows.push(Box::new(move || {
                format!(
                    "| {} | − remove | {} |\n",
                    code_cell(&r.value),
                    pieces(&removal_pieces(plan, r), MAX_REASON_CHARS)
                )
            }));
        }
        sections.push(Section {
            what: format!("changes to the door list {name}"),
            title: format!("{verb} list {name} {}{note}", list_counts(l)),
            folded: false,
            deeper: true,
            header: "| Address | Change | Reason |\n| --- | --- | --- |\n",
            rows,
        });
    }
    if let Some(g) = plan.group.as_ref().filter(|g| g.has_changes()) {
        let (verb, name, note) = match &g.target {
            GroupTarget::Create { name } => ("+", name, " (created)"),
            GroupTarget::Existing { name, .. } => ("~", name, ""),
        };
        let name = code(name);
        let mut rows: Vec<Box<dyn Fn() -> String + '_>> = Vec::new();
        for r in &g.add {
            rows.push(Box::new(move || {
                let why = match r {
                    DoorRule::EmailList { .. } => "a door list".to_string(),
                    DoorRule::EmailDomain { entry, .. } => {
                        format!("from {}", code_cell(&entry.to_string()))
                    }
                };
                format!(
                    "| {} | + add | {why} |\n",
                    pieces(&rule_pieces(plan, r), MAX_REASON_CHARS)
                )
            }));
        }
        for r in &g.remove {
            rows.push(Box::new(move || {
                let (rule, _, why) = rule_removal(r);
                format!("| {} | − remove | {why} |\n", code(&rule))
            }));
        }
        sections.push(Section {
            what: format!("changes to the door group {name}"),
            title: format!("{verb} group {name} include {}{note}", group_counts(g)),
            folded: false,
            deeper: true,
            header: "| Rule | Change | Reason |\n| --- | --- | --- |\n",
            rows,
        });
    }
    sections
}
