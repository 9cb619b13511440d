//! The door in the plan (docs/door.md, docs/output.md): the words for what happens to the Zero
//! Trust lists and the Access group ([`removal_pieces`], [`error_pieces`], [`summary`]), and the
//! door's section of the human plan ([`human`]), Terraform-style, first in the plan:
//!
//! ```text
//!   ~ list "reconcile-allowlist-1" (+2 −1)
//!       + alice@example.com            # users.yaml:3:5
//!       - mallory@example.com          # drift: not added by reconcile
//!   + list "reconcile-allowlist-3" (+1)   (created)
//!   ~ group "Allowlisted people" include (+1 domain, −1 rule)
//! ```
//!
//! The Markdown and JSON writers have their own parts (`markdown::door`, `json::door`) and use
//! the same words. Everything here only words what `plan::door` decided. Values, descriptions
//! and names come from the API: they are escaped ([`printable`]) wherever they are written.

use std::io::{self, Write};

use super::{Layout, Palette, MAX_COLUMN_CHARS};
use crate::plan::door::{DoorPlan, DoorRule, GroupTarget, ListTarget};
use crate::text::printable;

#[path = "door_words.rs"]
mod words;
pub(crate) use words::{
    error_pieces, group_counts, line, list_counts, list_note, needs, removal_pieces, rule_pieces,
    rule_removal, summary,
};

/// Lines of one list (or of the group) shown in the compact layout, for each of the additions
/// and the removals.
pub(super) const PREVIEW_LINES: usize = 10;

/// One line of a list or the group: a sign, the value, and a comment.
struct Line {
    added: bool,
    value: String,
    comment: String,
}

/// The lines of a list or the group, aligned, cut in the compact layout; then what was left
/// out.
fn lines(
    out: &mut dyn Write,
    adds: &[Line],
    removes: &[Line],
    compact: bool,
    p: Palette,
) -> io::Result<()> {
    let keep = |v: &[Line]| {
        if compact {
            v.len().min(PREVIEW_LINES)
        } else {
            v.len()
        }
    };
    let shown: Vec<&Line> = adds[..keep(adds)]
        .iter()
        .chain(&removes[..keep(removes)])
        .collect();
    let width = shown
        .iter()
        .map(|l| l.value.chars().count().min(MAX_COLUMN_CHARS))
        .max()
        .unwrap_or(0);
    for l in shown {
        let sign = if l.added {
            p.added("+")
        } else {
            p.removed("-")
        };
        let pad = width.saturating_sub(l.value.chars().count());
        writeln!(
            out,
            "      {sign} {}{}  {}",
            l.value,
            " ".repeat(pad),
            p.dim(&format!("# {}", l.comment))
        )?;
    }
    for (all, what) in [(adds, "to add"), (removes, "to remove")] {
        if all.len() > keep(all) {
            writeln!(
                out,
                "      {}",
                p.dim(&format!("… and {} more {what}", all.len() - keep(all)))
            )?;
        }
    }
    Ok(())
}

/// The door's section of the human plan, first in the plan.
pub(super) fn human(
    plan: &DoorPlan,
    layout: Layout,
    out: &mut dyn Write,
    p: Palette,
) -> io::Result<()> {
    writeln!(
        out,
        "The door (the Zero Trust lists and the Access group that admit the allowlist; docs/door.md):"
    )?;
    writeln!(out)?;
    if plan.is_refused() {
        writeln!(
            out,
            "  {}",
            p.warning("Refused: the door cannot be applied as it is:")
        )?;
        for e in &plan.errors {
            writeln!(out, "  {} {}", p.warning("!"), line(&error_pieces(plan, e)))?;
        }
        writeln!(out)?;
    }
    let mut compacted = false;
    for l in plan.lists.iter().filter(|l| l.has_changes()) {
        let sign = match l.target {
            ListTarget::Create { .. } => p.added("+"),
            ListTarget::Existing { .. } => p.warning("~"),
        };
        let note = list_note(l).map(|n| format!("   {n}")).unwrap_or_default();
        writeln!(
            out,
            "  {sign} list {} {}{note}",
            quoted(l.target.name()),
            list_counts(l)
        )?;
        let adds: Vec<Line> = l
            .append
            .iter()
            .map(|a| Line {
                added: true,
                value: printable(a.email.as_str()),
                comment: a.entry.to_string(),
            })
            .collect();
        let removes: Vec<Line> = l
            .remove
            .iter()
            .map(|r| Line {
                added: false,
                value: printable(&r.value),
                comment: line(&removal_pieces(plan, r)),
            })
            .collect();
        let compact = adds.len() + removes.len() > layout.compact_above;
        compacted |= compact;
        lines(out, &adds, &removes, compact, p)?;
    }
    if let Some(g) = plan.group.as_ref().filter(|g| g.has_changes()) {
        let (sign, name, note) = match &g.target {
            GroupTarget::Create { name } => (p.added("+"), name, "   (created)"),
            GroupTarget::Existing { name, .. } => (p.warning("~"), name, ""),
        };
        writeln!(
            out,
            "  {sign} group {} include {}{note}",
            quoted(name),
            group_counts(g)
        )?;
        let adds: Vec<Line> = g
            .add
            .iter()
            .map(|r| Line {
                added: true,
                value: line(&rule_pieces(plan, r)),
                comment: match r {
                    DoorRule::EmailList { .. } => "a door list".into(),
                    DoorRule::EmailDomain { entry, .. } => entry.to_string(),
                },
            })
            .collect();
        let removes: Vec<Line> = g
            .remove
            .iter()
            .map(|r| {
                let (rule, _, why) = rule_removal(r);
                Line {
                    added: false,
                    value: printable(&rule),
                    comment: why.into(),
                }
            })
            .collect();
        let compact = adds.len() + removes.len() > layout.compact_above;
        compacted |= compact;
        lines(out, &adds, &removes, compact, p)?;
    }
    if !plan.has_changes() {
        writeln!(out, "  {}", p.added("No changes to the door."))?;
    }
    writeln!(out)?;
    writeln!(out, "  {}", needs(plan))?;
    if compacted {
        writeln!(
            out,
            "  {}",
            p.dim(&format!(
                "The first lines only of a list or group with more than {} changes (--compact-above N sets the threshold). Every address and its reason is in `reconcile plan --format json`.",
                layout.compact_above
            ))
        )?;
    }
    writeln!(out)
}

/// The door's summary line, before the users' `Plan:` line: a warning when the door is refused.
pub(super) fn human_summary(plan: &DoorPlan, out: &mut dyn Write, p: Palette) -> io::Result<()> {
    let line = summary(plan);
    if plan.is_refused() {
        writeln!(out, "{}", p.warning(&line))
    } else {
        writeln!(out, "{line}")
    }
}

/// A list's or group's name in double quotes, escaped once: [`printable`], and a `"` as `\"` so
/// that a name cannot seem to end the quotes. (Rust's `{:?}` after `printable` escaped the
/// escapes again: ESC showed as `\\u{1b}`, not as the `\u{1b}` of every other line.)
fn quoted(name: &str) -> String {
    format!("\"{}\"", printable(name).replace('"', "\\\""))
}
