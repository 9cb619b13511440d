//! Showing a [`Plan`] or a [`Report`] to people: Terraform-like text, with colour when it is
//! wanted. Renderers write to any writer and decide nothing.

use std::borrow::Cow;
use std::io::{self, Write};

use similar::{group_diff_ops, udiff::UnifiedHunkHeader, DiffOp};

use crate::plan::{Decision, Plan};

mod apply_json;
pub(crate) mod check;
pub(crate) mod door;
#[cfg(test)]
mod door_snapshot_tests;
#[cfg(test)]
mod door_tests;
pub(crate) mod json;
pub(crate) mod markdown;
pub(crate) mod notes;
mod report;
#[cfg(test)]
mod snapshot_tests;
pub(crate) mod words;

pub(crate) use report::{apply_summary, markdown as apply_markdown, report, saved_report};

/// What an `apply` run is reported from: the account, the plan that was approved, and what the
/// run did. The JSON and Markdown apply reports read it; they decide nothing.
pub(crate) struct Applied<'a> {
    pub(crate) account: &'a str,
    pub(crate) approved: Approved<'a>,
    /// What the executor did, and what the re-check left undeleted; `None` when the plan had
    /// nothing to delete, so that no deletion was run.
    pub(crate) run: Option<(
        &'a crate::apply::Execution,
        &'a crate::plan::recheck::Unapplied,
    )>,
    /// The door's writes, when the plan changed the door (each done; or the run stopped at the
    /// one that failed, and `run` is `None`: nobody was deleted).
    pub(crate) door: Option<&'a crate::apply::door::DoorRun>,
}

/// The plan an `apply` carried out.
pub(crate) enum Approved<'a> {
    /// Planned afresh, shown (or approved by `--auto-approve`): the plan itself.
    Shown(&'a Plan),
    /// `apply PLAN_FILE`: the saved plan, and its path as shown.
    Saved {
        path: &'a str,
        plan: &'a crate::planfile::SavedPlan,
    },
}

impl Applied<'_> {
    /// The run's own verdict, the one the exit code says: nothing to do is complete.
    pub(crate) fn complete(&self) -> bool {
        self.door.is_none_or(|door| door.is_complete())
            && self
                .run
                .is_none_or(|(execution, _)| execution.is_complete())
    }
}

/// The apply report in `format` (JSON or Markdown; the human report is written as the run goes,
/// by [`report`] or [`saved_report`] and [`apply_summary`]).
pub(crate) fn applied(
    applied: &Applied<'_>,
    format: Format,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Json => apply_json::render(applied, out),
        Format::Markdown => out.write_all(apply_markdown(applied).as_bytes()),
        Format::Human => Ok(()),
    }
}

/// How `plan` writes the plan on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Terraform-like text for people, coloured when wanted.
    #[default]
    Human,
    /// One versioned JSON document (docs/output.md); never coloured.
    Json,
    /// GitHub-flavoured Markdown for a pull-request comment; never coloured.
    Markdown,
}

/// The plan in `format`, the human one in the default [`Layout`]. Only the human format uses
/// the palette.
#[cfg(test)]
pub(crate) fn plan(plan: &Plan, format: Format, out: &mut dyn Write, p: Palette) -> io::Result<()> {
    plan_with(plan, format, Layout::default(), out, p)
}

/// The plan in `format`. Only the human format uses the palette and the layout.
pub(crate) fn plan_with(
    plan: &Plan,
    format: Format,
    layout: Layout,
    out: &mut dyn Write,
    p: Palette,
) -> io::Result<()> {
    match format {
        Format::Human => human_with(plan, layout, out, p),
        Format::Json => json::render(plan, out),
        Format::Markdown => markdown::render(plan, out),
    }
}

/// How the human plan is laid out. A block per user reads well for a few users and not for
/// thousands: above `compact_above` deletions each user takes one line, and the before/after
/// diff is summarised unless `full_diff` asks for all of it. The JSON plan and the saved plan
/// stay complete whatever the layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// `--compact-above N`: one line per user when more than N users are deleted.
    pub compact_above: usize,
    /// `--full-diff`: the whole before/after diff, even in the compact layout.
    pub full_diff: bool,
}

impl Layout {
    /// Above this many deletions, one line per user.
    pub const DEFAULT_COMPACT_ABOVE: usize = 50;

    fn compact(&self, plan: &Plan) -> bool {
        plan.delete.len() > self.compact_above
    }
}

impl Default for Layout {
    fn default() -> Self {
        Layout {
            compact_above: Layout::DEFAULT_COMPACT_ABOVE,
            full_diff: false,
        }
    }
}

/// Lines of the before/after diff shown when it is summarised (hunk headers included).
const DIFF_PREVIEW_LINES: usize = 20;
/// A column of the compact table is padded to at most this many characters; a longer cell is
/// shown whole and pushes the rest of its row along.
const MAX_COLUMN_CHARS: usize = 40;

/// Colour as a value: resolved once from `--color`, the terminal and `NO_COLOR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Palette {
    pub enabled: bool,
}

impl Palette {
    pub const PLAIN: Palette = Palette { enabled: false };

    fn paint(&self, code: &str, text: &str) -> String {
        if self.enabled {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    pub fn removed(&self, text: &str) -> String {
        self.paint("31", text)
    }
    pub fn added(&self, text: &str) -> String {
        self.paint("32", text)
    }
    pub fn warning(&self, text: &str) -> String {
        self.paint("33", text)
    }
    pub fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }
    pub fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }
}

fn quoted(s: &str) -> String {
    format!("{s:?}")
}

pub(crate) fn seats(d: &Decision) -> &'static str {
    match (
        d.user.access_seat == Some(true),
        d.user.gateway_seat == Some(true),
    ) {
        (true, true) => "access, gateway",
        (true, false) => "access",
        (false, true) => "gateway",
        (false, false) => "none",
    }
}

/// "returned: deleted 2026-11-03 by reconcile; … (docs/lock-the-door.md)", for a user who came
/// back after a past deletion.
fn returned_line(plan: &Plan, d: &Decision) -> Option<String> {
    let r = plan.reentry.as_ref()?.of(d)?;
    Some(format!(
        "returned: {} ({})",
        words::returned(r),
        words::LOCK_THE_DOOR
    ))
}

fn user_block(out: &mut dyn Write, plan: &Plan, d: &Decision, p: Palette) -> io::Result<()> {
    let u = &d.user;
    writeln!(
        out,
        "  {}",
        p.dim(&format!("# {}: {}", d.label(), words::reason(&d.reason)))
    )?;
    if let Some(line) = returned_line(plan, d) {
        writeln!(out, "  {}", p.warning(&format!("# {line}")))?;
    }
    writeln!(out, "  {} user {} {{", p.removed("-"), quoted(&d.label()))?;
    let mut field =
        |name: &str, value: String| writeln!(out, "      {} {name:<21} = {value}", p.removed("-"));
    field("id", quoted(d.id_text()))?;
    field("email", quoted(u.email.as_deref().unwrap_or("")))?;
    field(
        "name",
        u.name
            .as_deref()
            .map(quoted)
            .unwrap_or_else(|| "(none)".into()),
    )?;
    field(
        "last_successful_login",
        u.last_successful_login
            .as_deref()
            .map(quoted)
            .unwrap_or_else(|| "(never)".into()),
    )?;
    field("seats", quoted(seats(d)))?;
    if let Some(n) = u.active_device_count {
        field("active_device_count", format!("{n}"))?;
    }
    writeln!(out, "    }}")
}

/// The plan as people review it, in the default [`Layout`].
pub(crate) fn human(plan: &Plan, out: &mut dyn Write, p: Palette) -> io::Result<()> {
    human_with(plan, Layout::default(), out, p)
}

/// The plan as people review it.
pub(crate) fn human_with(
    plan: &Plan,
    layout: Layout,
    out: &mut dyn Write,
    p: Palette,
) -> io::Result<()> {
    let compact = layout.compact(plan);
    writeln!(
        out,
        "reconcile plan for account {} ({} live user{})",
        plan.account_id,
        plan.live_count,
        crate::text::plural(plan.live_count)
    )?;
    writeln!(out)?;
    if let Some(d) = &plan.door {
        door::human(d, layout, out, p)?;
    }
    if plan.delete.is_empty() {
        let line = match plan.door {
            // The door's changes are above: "No changes" would deny them.
            Some(_) => "No users to delete. Every live user is allowed or held back.",
            None => "No changes. Every live user is allowed or held back.",
        };
        writeln!(out, "{}", p.added(line))?;
        writeln!(out)?;
    } else if compact {
        writeln!(
            out,
            "The following {} users will be {} (their Access seats and tokens are revoked):",
            plan.delete.len(),
            p.removed("deleted")
        )?;
        writeln!(out)?;
        compact_table(out, plan, p)?;
        writeln!(out)?;
        writeln!(out, "{}", p.dim(&full_record_note(layout)))?;
        writeln!(out)?;
    } else {
        writeln!(
            out,
            "The following users will be {} (their Access seats and tokens are revoked):",
            p.removed("deleted")
        )?;
        writeln!(out)?;
        for d in &plan.delete {
            user_block(out, plan, d, p)?;
            writeln!(out)?;
        }
    }
    if !plan.held.is_empty() {
        writeln!(out, "Held back, {}:", p.warning("not deleted"))?;
        writeln!(out)?;
        for d in &plan.held {
            writeln!(
                out,
                "  {} {}: {}",
                p.warning("!"),
                d.label(),
                words::reason(&d.reason)
            )?;
            if let Some(line) = returned_line(plan, d) {
                writeln!(out, "      {}", p.warning(&line))?;
            }
        }
        writeln!(out)?;
    }
    if let Some(reentry) = plan.reentry.as_ref().filter(|r| !r.still_listed.is_empty()) {
        writeln!(
            out,
            "Recorded as deleted, but still listed ({}):",
            p.warning("check them")
        )?;
        writeln!(out)?;
        for still in &reentry.still_listed {
            writeln!(out, "  {} {}", p.warning("?"), words::still_listed(still))?;
        }
        writeln!(out)?;
    }
    if !plan.unmatched_protected.is_empty() {
        writeln!(
            out,
            "Protected entries that match no live user ({}: a typo here leaves the person it was meant for unprotected):",
            p.warning("check them")
        )?;
        writeln!(out)?;
        for e in &plan.unmatched_protected {
            writeln!(
                out,
                "  {} {}  {}",
                p.warning("?"),
                crate::text::printable(&e.written),
                p.dim(&format!("({})", e.location))
            )?;
        }
        writeln!(out)?;
    }
    if !plan.unmatched_domains.is_empty() {
        writeln!(
            out,
            "Domain entries that match no live user ({}: a typo or a look-alike here keeps nobody at the domain it was meant for):",
            p.warning("check them")
        )?;
        writeln!(out)?;
        for e in &plan.unmatched_domains {
            writeln!(
                out,
                "  {} {}  {}",
                p.warning("?"),
                crate::text::printable(e.domain.as_str()),
                p.dim(&format!("({})", e.location))
            )?;
        }
        writeln!(out)?;
    }
    if !plan.absent.is_empty() {
        writeln!(out, "Allowed but not in the account (nothing to do):")?;
        writeln!(out)?;
        for e in &plan.absent {
            writeln!(
                out,
                // Not Terraform's green `+`, which means "create": nothing is done for these.
                "  {} {}  {}",
                p.dim("·"),
                crate::text::printable(e.written.trim()),
                p.dim(&format!("({})", e.location))
            )?;
        }
        writeln!(out)?;
    }
    if !plan.delete.is_empty() {
        let shown = if compact && !layout.full_diff {
            Some(DIFF_PREVIEW_LINES)
        } else {
            None
        };
        diff(plan, shown, out, p)?;
    }
    if let Some(kept) = kept_line(plan) {
        writeln!(out, "{kept}")?;
    }
    if let Some(seats) = seats_line(plan) {
        writeln!(out, "{seats}")?;
    }
    if let Some(reentry) = &plan.reentry {
        let line = words::reentry_summary(reentry);
        if reentry.returned.is_empty() {
            writeln!(out, "{line}")?;
        } else {
            writeln!(out, "{}", p.warning(&line))?;
        }
    }
    if let Some(refusal) = &plan.refusal {
        writeln!(out, "{} {}", p.warning("Refused:"), words::refusal(refusal))?;
    }
    if let Some(d) = &plan.door {
        door::human_summary(d, out, p)?;
    }
    writeln!(
        out,
        "{} {} to delete, {} unchanged.",
        p.bold("Plan:"),
        plan.delete.len(),
        plan.unchanged()
    )
}

/// "Kept: 3 (2 by an entry, 1 by a domain)." — why the users who stay, stay.
pub(crate) fn kept_line(plan: &Plan) -> Option<String> {
    if plan.keep.is_empty() {
        return None;
    }
    let by = |kind: &str| plan.keep.iter().filter(|d| d.reason.kind() == kind).count();
    let parts: Vec<String> = [
        (by("allowed"), "by an entry"),
        (by("domain"), "by a domain"),
        (by("protected"), "protected"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    Some(format!("Kept: {} ({}).", plan.keep.len(), parts.join(", ")))
}

/// "Frees 7 Access seats and 3 Gateway seats." — what the deletions give back.
pub(crate) fn seats_line(plan: &Plan) -> Option<String> {
    if plan.delete.is_empty() {
        return None;
    }
    let (access, gateway) = plan.seats_freed();
    let seats = |n: usize, what: &str| format!("{n} {what} seat{}", crate::text::plural(n));
    Some(format!(
        "Frees {} and {}.",
        seats(access, "Access"),
        seats(gateway, "Gateway")
    ))
}

/// Where the full record of a compact plan is.
fn full_record_note(layout: Layout) -> String {
    format!(
        "One line per user above {} deletions (--compact-above N sets the threshold). The full record of each user (id, devices, where the reason was written) is in `reconcile plan --format json`, and in the plan saved by `reconcile plan --out FILE`.",
        layout.compact_above
    )
}

/// One row of the compact table, its cells printable. A cell borrows from the plan when it
/// needs no escaping (nearly always): 50,000 rows are then not 250,000 copies.
fn compact_row<'p>(plan: &'p Plan, d: &'p Decision) -> [Cow<'p, str>; 5] {
    let u = &d.user;
    let mut reason = words::reason_cow(&d.reason);
    if let Some(line) = returned_line(plan, d) {
        reason = Cow::Owned(format!("{line}; {reason}"));
    }
    [
        d.label_cow(),
        u.name
            .as_deref()
            .map_or(Cow::Borrowed("(none)"), crate::text::printable_cow),
        u.last_successful_login
            .as_deref()
            .map_or(Cow::Borrowed("(never)"), crate::text::printable_cow),
        Cow::Borrowed(seats(d)),
        reason,
    ]
}

/// Column widths, in characters: the widest cell of each column (the header included), at most
/// [`MAX_COLUMN_CHARS`]. The last column is never padded.
fn column_widths<const N: usize, S: AsRef<str>>(header: &[&str; N], rows: &[[S; N]]) -> [usize; N] {
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.as_ref().chars().count().min(MAX_COLUMN_CHARS));
        }
    }
    widths
}

/// A line of cells, each padded to its column's width (by characters), two spaces apart.
fn aligned(cells: &[&str], widths: &[usize]) -> String {
    let mut line = String::new();
    aligned_into(&mut line, cells, widths);
    line
}

/// [`aligned`], written at the end of `line`.
fn aligned_into(line: &mut String, cells: &[&str], widths: &[usize]) {
    let last = cells.len().saturating_sub(1);
    for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
        if i > 0 {
            line.push_str("  ");
        }
        line.push_str(cell);
        if i < last {
            let pad = width.saturating_sub(cell.chars().count());
            line.extend(std::iter::repeat_n(' ', pad));
        }
    }
}

/// Rows of the compact table made and written per thread and round.
const TABLE_PART: usize = 4_096;

/// The users to delete, one a line, in aligned columns.
fn compact_table(out: &mut dyn Write, plan: &Plan, p: Palette) -> io::Result<()> {
    // Made on every core for a large plan (50,000 rows is 300,000 strings), in the plan's order.
    let threads = crate::parallel::threads_for(plan.delete.len(), TABLE_PART);
    compact_table_in(out, plan, p, threads, TABLE_PART)
}

/// [`compact_table`] on `threads` threads, `part` rows each a round: the same lines whatever
/// the two (`render::tests::the_compact_table_is_the_same_on_any_number_of_threads`).
fn compact_table_in(
    out: &mut dyn Write,
    plan: &Plan,
    p: Palette,
    threads: usize,
    part: usize,
) -> io::Result<()> {
    const HEADER: [&str; 5] = ["EMAIL", "NAME", "LAST LOGIN", "SEATS", "REASON"];
    let rows = crate::parallel::map(&plan.delete, threads, |d| compact_row(plan, d));
    let widths = column_widths(&HEADER, &rows);
    writeln!(out, "    {}", p.dim(&aligned(&HEADER, &widths)))?;
    let sign = p.removed("-");
    // Written a round of parts at a time: the lines of one round, not of the table, in memory,
    // each part's lines in one buffer.
    for round in rows.chunks(threads.max(1) * part.max(1)) {
        let parts = crate::parallel::map_parts(round, threads, |rows| {
            let mut lines = String::with_capacity(rows.len() * (widths.iter().sum::<usize>() + 48));
            for row in rows {
                let cells: [&str; 5] = [&row[0], &row[1], &row[2], &row[3], &row[4]];
                lines.push_str("  ");
                lines.push_str(&sign);
                lines.push(' ');
                aligned_into(&mut lines, &cells, &widths);
                lines.push('\n');
            }
            lines
        });
        for lines in parts {
            out.write_all(lines.as_bytes())?;
        }
    }
    Ok(())
}

/// The sorted live users, each with whether apply deletes it: the diff comes from the set
/// difference `plan` computed, so it costs a sort, not a line diff.
///
/// Sorted by the label in lower case, then as written, then kept before deleted: a total order,
/// so an unstable sort gives what a stable one would (the kept users come first in the input).
/// The labels and their lower case borrow from the plan where they can (an address in lower
/// case ASCII, nearly always): no copy of 100,000 addresses to sort them.
fn before_and_after(plan: &Plan) -> Vec<(Cow<'_, str>, bool)> {
    let mut lines: Vec<(Cow<'_, str>, Cow<'_, str>, bool)> = plan
        .keep
        .iter()
        .chain(&plan.held)
        .map(|d| (d, false))
        .chain(plan.delete.iter().map(|d| (d, true)))
        .map(|(d, deleted)| {
            let label = d.label_cow();
            let lower = match &label {
                Cow::Borrowed(l) => lower_case(l),
                Cow::Owned(l) => Cow::Owned(l.to_lowercase()),
            };
            (lower, label, deleted)
        })
        .collect();
    lines.sort_unstable();
    lines
        .into_iter()
        .map(|(_, label, deleted)| (label, deleted))
        .collect()
}

/// `text.to_lowercase()`, borrowed when that is `text` itself: ASCII with no capital letter.
fn lower_case(text: &str) -> Cow<'_, str> {
    if text
        .bytes()
        .all(|b| b.is_ascii() && !b.is_ascii_uppercase())
    {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.to_lowercase())
    }
}

/// The edit from the live list to the list after apply, as diff operations: runs of lines kept
/// and of lines deleted (nothing is ever inserted).
fn diff_ops<S>(lines: &[(S, bool)]) -> Vec<DiffOp> {
    let mut ops = Vec::new();
    let (mut old, mut new) = (0, 0);
    let mut at = 0;
    while at < lines.len() {
        let deleted = lines[at].1;
        let run = lines[at..]
            .iter()
            .take_while(|(_, d)| *d == deleted)
            .count();
        ops.push(if deleted {
            DiffOp::Delete {
                old_index: old,
                old_len: run,
                new_index: new,
            }
        } else {
            DiffOp::Equal {
                old_index: old,
                new_index: new,
                len: run,
            }
        });
        old += run;
        if !deleted {
            new += run;
        }
        at += run;
    }
    ops
}

/// The live user list against the list after apply, as a unified diff (changes and a little
/// context only, so a large account stays readable). The set difference was computed by `plan`;
/// `similar` only groups it into hunks and writes their headers. With `shown`, only that many
/// lines of hunks are written, then a count of what was left out.
fn diff(plan: &Plan, shown: Option<usize>, out: &mut dyn Write, p: Palette) -> io::Result<()> {
    let lines = before_and_after(plan);
    writeln!(out, "Live users before and after apply:")?;
    writeln!(out)?;
    writeln!(
        out,
        "  {}",
        p.removed(&format!("--- live ({} users)", plan.live_count))
    )?;
    writeln!(
        out,
        "  {}",
        p.added(&format!("+++ after apply ({} users)", plan.unchanged()))
    )?;
    let mut written = 0;
    let mut removed_shown = 0;
    'hunks: for hunk in group_diff_ops(diff_ops(&lines), 2) {
        if shown.is_some_and(|max| written >= max) {
            break;
        }
        writeln!(
            out,
            "  {}",
            p.dim(&UnifiedHunkHeader::new(&hunk).to_string())
        )?;
        written += 1;
        for op in &hunk {
            for (line, deleted) in &lines[op.old_range()] {
                if shown.is_some_and(|max| written >= max) {
                    break 'hunks;
                }
                if *deleted {
                    writeln!(out, "  {}", p.removed(&format!("-{line}")))?;
                    removed_shown += 1;
                } else {
                    writeln!(out, "   {line}")?;
                }
                written += 1;
            }
        }
    }
    let removed = plan.delete.len();
    if removed_shown < removed && shown.is_some() {
        writeln!(
            out,
            "  {}",
            p.dim(&format!(
                "… {} more removed not shown ({removed} removed, {} unchanged in all; --full-diff shows every line)",
                removed - removed_shown,
                plan.unchanged()
            ))
        )?;
    }
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::report::outcomes;
    use super::*;

    #[test]
    fn the_compact_table_is_the_same_on_any_number_of_threads() {
        let desired = config::parse_str("users:\n  - alice@example.com\n", "users.yaml").unwrap();
        let live: Vec<LiveUser> = (0..60)
            .map(|n| LiveUser {
                id: Some(format!("00000000-0000-4000-8000-{n:012}")),
                email: Some(format!("user{n}@example.com")),
                name: (n % 3 != 0).then(|| "x".repeat(n)),
                last_successful_login: (n % 2 == 0).then(|| "2026-09-29T11:02:00Z".into()),
                gateway_seat: Some(n % 5 == 0),
                ..LiveUser::default()
            })
            .collect();
        let overrides = crate::plan::Overrides {
            max_deletes: Some(100),
            ..Default::default()
        };
        let plan = compute(
            &desired,
            &live,
            &Policy {
                overrides,
                ..policy("023e105f4ecef8ad9ca31a8372d0c353")
            },
        );
        assert_eq!(plan.delete.len(), 60);
        let table = |threads, part| {
            let mut out = Vec::new();
            compact_table_in(&mut out, &plan, Palette { enabled: true }, threads, part).unwrap();
            String::from_utf8(out).unwrap()
        };
        let one = table(1, TABLE_PART);
        assert_eq!(one.lines().count(), 61);
        for (threads, part) in [(2, 1), (3, 7), (4, 60), (2, 4_096), (0, 0)] {
            assert_eq!(
                table(threads, part),
                one,
                "{threads} threads, {part} a part"
            );
        }
    }
    use crate::apply::{Execution, Outcome, Report, Stop, Verification, INTERRUPTED};
    use crate::config;
    use crate::model::LiveUser;
    use crate::plan::{compute, Policy};

    fn policy(account: &str) -> Policy {
        Policy::at(
            &crate::model::AccountId::parse(account).unwrap(),
            1_795_867_200,
        )
    }

    fn sample() -> Plan {
        let desired = config::parse_str(
            "users:\n  - alice@example.com\n  - grace@example.com\n",
            "users.yaml",
        )
        .unwrap();
        let live = vec![
            LiveUser {
                id: Some("f174e90a-fafe-4643-bbbc-4a0ed4fc8415".into()),
                email: Some("alice@example.com".into()),
                ..LiveUser::default()
            },
            LiveUser {
                id: Some("2a7c3f0e-5b1d-4d6e-9f8a-1c2b3d4e5f60".into()),
                email: Some("Bob@Example.com".into()),
                name: Some("Bob".into()),
                access_seat: Some(true),
                gateway_seat: Some(true),
                active_device_count: Some(2.0),
                last_successful_login: Some("2026-11-25T08:30:00Z".into()),
            },
            LiveUser {
                id: Some("6a7b8c9d-0e1f-4a2b-8c3d-4e5f60718293".into()),
                ..LiveUser::default()
            },
        ];
        compute(&desired, &live, &policy("023e105f4ecef8ad9ca31a8372d0c353"))
    }

    fn render(plan: &Plan, p: Palette) -> String {
        let mut out = Vec::new();
        human(plan, &mut out, p).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn human_plan_shows_blocks_held_absent_diff_and_summary() {
        let text = render(&sample(), Palette::PLAIN);
        let expected = r#"reconcile plan for account 023e105f4ecef8ad9ca31a8372d0c353 (3 live users)

The following users will be deleted (their Access seats and tokens are revoked):

  # Bob@Example.com: no allowlist entry or domain matches this address
  - user "Bob@Example.com" {
      - id                    = "2a7c3f0e-5b1d-4d6e-9f8a-1c2b3d4e5f60"
      - email                 = "Bob@Example.com"
      - name                  = "Bob"
      - last_successful_login = "2026-11-25T08:30:00Z"
      - seats                 = "access, gateway"
      - active_device_count   = 2
    }

Held back, not deleted:

  ! (no email, id 6a7b8c9d-0e1f-4a2b-8c3d-4e5f60718293): the user has no email address; left alone (remove it by hand if it should go)

Allowed but not in the account (nothing to do):

  · grace@example.com  (users.yaml:3:5)

Live users before and after apply:

  --- live (3 users)
  +++ after apply (2 users)
  @@ -1,3 +1,2 @@
   (no email, id 6a7b8c9d-0e1f-4a2b-8c3d-4e5f60718293)
   alice@example.com
  -Bob@Example.com

Kept: 1 (1 by an entry).
Frees 1 Access seat and 1 Gateway seat.
Plan: 1 to delete, 2 unchanged.
"#;
        assert_eq!(text, expected);
    }

    #[test]
    fn colour_only_when_enabled() {
        let plain = render(&sample(), Palette::PLAIN);
        assert!(!plain.contains('\x1b'));
        let coloured = render(&sample(), Palette { enabled: true });
        assert!(coloured.contains("\x1b[31m-\x1b[0m user"));
        // Same text once the escapes are removed.
        let stripped = coloured
            .split('\x1b')
            .enumerate()
            .map(|(i, part)| {
                if i == 0 {
                    part
                } else {
                    part.split_once('m').map_or(part, |(_, rest)| rest)
                }
            })
            .collect::<String>();
        assert_eq!(stripped, plain);
    }

    #[test]
    fn no_changes_says_so() {
        let desired = config::parse_str("users: [alice@example.com]\n", "u.yaml").unwrap();
        let live = vec![LiveUser {
            id: Some("f174e90a-fafe-4643-bbbc-4a0ed4fc8415".into()),
            email: Some("alice@example.com".into()),
            ..LiveUser::default()
        }];
        let text = render(
            &compute(&desired, &live, &policy("023e105f4ecef8ad9ca31a8372d0c353")),
            Palette::PLAIN,
        );
        assert!(text.contains("No changes."));
        assert!(
            text.ends_with("Plan: 0 to delete, 1 unchanged.\n"),
            "{text}"
        );
        assert!(!text.contains("before and after"));
    }

    fn summary_of(execution: &Execution) -> String {
        let mut out = Vec::new();
        apply_summary(execution, &mut out, Palette::PLAIN).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn execution(outcome: Outcome, verification: Verification) -> Execution {
        let decision = sample().delete[0].clone();
        Execution {
            report: Report {
                results: vec![crate::apply::UserResult { decision, outcome }],
            },
            details: vec![crate::apply::Detail::default()],
            stopped: None,
            verification,
            audit: None,
            audit_error: None,
        }
    }

    #[test]
    fn the_summary_says_what_the_final_check_found() {
        let bob = sample().delete[0].clone();
        let clean = summary_of(&execution(
            Outcome::Deleted,
            Verification::Listed(Vec::new()),
        ));
        assert_eq!(clean, "\nChecked: no planned user is still present.\n");
        let still = summary_of(&execution(
            Outcome::Deleted,
            Verification::Listed(vec![(bob, true)]),
        ));
        assert!(!still.contains("Checked"), "{still}");
        assert_eq!(
            still,
            "\n1 planned user(s) still present:\n  ! Bob@Example.com (2a7c3f0e-5b1d-4d6e-9f8a-1c2b3d4e5f60) — the API had accepted its deletion\nRun the same apply again to finish the job.\n"
        );
    }

    #[test]
    fn an_interrupted_deletion_reads_as_a_failure_with_an_unknown_outcome() {
        let mut e = execution(
            Outcome::Interrupted,
            Verification::Skipped(crate::apply::Unchecked::StoppedEarly),
        );
        e.stopped = Some(Stop::Interrupted(crate::apply::Signal::Terminate));
        let text = summary_of(&e);
        assert_eq!(
            text,
            "\nFailed deletions (1):\n  ! Bob@Example.com (2a7c3f0e-5b1d-4d6e-9f8a-1c2b3d4e5f60): no response, 0 attempts\n\nStopped early: interrupted (SIGTERM).\nRun the same apply again to finish the job.\n"
        );
        let mut out = Vec::new();
        outcomes(&e.report, &mut out, Palette::PLAIN).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("  ! Bob@Example.com (2a7c3f0e-5b1d-4d6e-9f8a-1c2b3d4e5f60): FAILED: {INTERRUPTED}\n")
        );
    }

    /// A plan of `extras` users to delete among `kept` allowed ones, their addresses
    /// interleaved so that the diff has many hunks.
    fn scaled(extras: usize, kept: usize) -> Plan {
        let mut text = String::from("users:\n  - nobody@absent.example\n");
        for n in 0..kept {
            text.push_str(&format!("  - kept{n:05}@example.com\n"));
        }
        let desired = config::parse_str(&text, "users.yaml").unwrap();
        let mut live: Vec<LiveUser> = (0..kept)
            .map(|n| LiveUser {
                id: Some(format!("00000000-0000-4000-8000-{n:012}")),
                email: Some(format!("kept{n:05}@example.com")),
                ..LiveUser::default()
            })
            .collect();
        live.extend((0..extras).map(|n| LiveUser {
            id: Some(format!("00000000-0000-4000-9000-{n:012}")),
            // Between two kept addresses: `kept00003x@…` sorts after `kept00003@…`.
            email: Some(format!("kept{:05}x{n}@example.com", (n * 7) % kept.max(1))),
            name: Some(if n == 0 {
                "Zoë \u{202e}evil".into()
            } else {
                format!("User {n}")
            }),
            last_successful_login: (n % 3 == 0).then(|| "2026-11-25T08:30:00Z".into()),
            access_seat: Some(true),
            ..LiveUser::default()
        }));
        let policy = Policy {
            overrides: crate::plan::Overrides {
                allow_deletes: Some(extras),
                ..crate::plan::Overrides::default()
            },
            ..policy("023e105f4ecef8ad9ca31a8372d0c353")
        };
        compute(&desired, &live, &policy)
    }

    /// The diff as `similar` computed it over the text before this module built it from the
    /// set difference: the oracle the linear diff must match line for line.
    fn similar_diff(plan: &Plan) -> String {
        use similar::{ChangeTag, TextDiff};
        let mut before: Vec<String> = plan
            .keep
            .iter()
            .chain(&plan.held)
            .chain(&plan.delete)
            .map(|d| format!("{}\n", d.label()))
            .collect();
        before.sort_by_cached_key(|l| (l.to_lowercase(), l.clone()));
        let deleted: std::collections::HashSet<String> = plan
            .delete
            .iter()
            .map(|d| format!("{}\n", d.label()))
            .collect();
        let after: Vec<String> = before
            .iter()
            .filter(|l| !deleted.contains(*l))
            .cloned()
            .collect();
        let (before, after) = (before.concat(), after.concat());
        let text = TextDiff::from_lines(&before, &after);
        let mut out = String::new();
        for hunk in text.unified_diff().context_radius(2).iter_hunks() {
            out.push_str(&format!("  {}\n", hunk.header()));
            for change in hunk.iter_changes() {
                let line = change.value().trim_end_matches('\n');
                match change.tag() {
                    ChangeTag::Delete => out.push_str(&format!("  -{line}\n")),
                    ChangeTag::Insert => out.push_str(&format!("  +{line}\n")),
                    ChangeTag::Equal => out.push_str(&format!("   {line}\n")),
                }
            }
        }
        out
    }

    #[test]
    fn the_diff_is_in_the_order_of_the_lower_case_labels_then_as_written_kept_first() {
        let desired = config::parse_str(
            "users:\n  - kept@example.com\n  - Émile@exämple.com\n",
            "users.yaml",
        )
        .unwrap();
        let user = |n: u32, email: Option<&str>| LiveUser {
            id: Some(format!("00000000-0000-4000-8000-{n:012}")),
            email: email.map(str::to_string),
            ..LiveUser::default()
        };
        let live = vec![
            user(1, Some("zed@example.com")),
            user(2, Some("Bob@example.com")),
            user(3, Some("bob@Example.com")),
            user(4, Some("kept@example.com")),
            user(5, Some("KEPT@example.com")),
            user(6, Some("émile@exämple.com")),
            user(7, Some("ÉMILE@EXÄMPLE.COM")),
            user(8, Some("a\u{202e}b@example.com")),
            user(9, None),
            user(10, Some("Zed@example.com")),
            user(11, Some("ΣΑΣ@example.com")),
            user(12, Some("σας@example.com")),
            user(13, Some("  ")),
            LiveUser {
                id: None,
                email: None,
                ..LiveUser::default()
            },
        ];
        let policy = Policy {
            overrides: crate::plan::Overrides {
                max_deletes: Some(100),
                allow_duplicate_email: true,
                ..crate::plan::Overrides::default()
            },
            ..policy("023e105f4ecef8ad9ca31a8372d0c353")
        };
        let plan = compute(&desired, &live, &policy);
        assert!(!plan.keep.is_empty() && !plan.held.is_empty() && !plan.delete.is_empty());
        // The order as it was defined: a stable sort of the kept, the held, then the deleted,
        // by the label in lower case, then as written.
        let mut expected: Vec<(String, bool)> = plan
            .keep
            .iter()
            .chain(&plan.held)
            .map(|d| (d.label(), false))
            .chain(plan.delete.iter().map(|d| (d.label(), true)))
            .collect();
        expected.sort_by_cached_key(|(l, _)| (l.to_lowercase(), l.clone()));
        let got: Vec<(String, bool)> = before_and_after(&plan)
            .into_iter()
            .map(|(l, deleted)| (l.into_owned(), deleted))
            .collect();
        assert_eq!(got, expected);
        assert!(matches!(lower_case("bob@example.com"), Cow::Borrowed(_)));
        assert_eq!(lower_case("Bob@Émile.example"), "bob@émile.example");
        assert_eq!(lower_case("ΣΑΣ"), "ΣΑΣ".to_lowercase());
    }

    fn diff_text(plan: &Plan, shown: Option<usize>) -> String {
        let mut out = Vec::new();
        diff(plan, shown, &mut out, Palette::PLAIN).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_diff_from_the_set_difference_is_the_line_diff() {
        for (extras, kept) in [(1, 0), (1, 1), (3, 2), (5, 40), (40, 5), (60, 60), (7, 300)] {
            let plan = scaled(extras, kept);
            assert_eq!(plan.delete.len(), extras);
            let ours = diff_text(&plan, None);
            let hunks: String = ours.lines().skip(4).map(|l| format!("{l}\n")).collect();
            assert_eq!(
                hunks.trim_end(),
                similar_diff(&plan).trim_end(),
                "{extras} / {kept}"
            );
        }
        // The sample plan too: a held user, no email.
        let plan = sample();
        let ours = diff_text(&plan, None);
        assert!(
            ours.ends_with(&format!("{}\n", similar_diff(&plan))),
            "{ours}"
        );
    }

    #[test]
    fn a_small_plan_keeps_its_blocks_up_to_the_threshold() {
        let plan = scaled(50, 10);
        let text = render(&plan, Palette::PLAIN);
        assert_eq!(text.matches("  - user \"").count(), 50);
        assert!(!text.contains("LAST LOGIN"));
        assert!(!text.contains("more removed not shown"));
        // The same plan, compact on request.
        let mut out = Vec::new();
        let layout = Layout {
            compact_above: 49,
            ..Layout::default()
        };
        human_with(&plan, layout, &mut out, Palette::PLAIN).unwrap();
        let compact = String::from_utf8(out).unwrap();
        assert!(compact.contains("LAST LOGIN"), "{compact}");
        assert!(!compact.contains("  - user \""));
    }

    #[test]
    fn above_the_threshold_one_aligned_line_per_user_and_the_diff_summarised() {
        let plan = scaled(60, 100);
        let text = render(&plan, Palette::PLAIN);
        assert!(text.contains("The following 60 users will be deleted"));
        let header = text
            .lines()
            .find(|l| l.trim_start().starts_with("EMAIL"))
            .unwrap();
        let rows: Vec<&str> = text.lines().filter(|l| l.starts_with("  - ")).collect();
        assert_eq!(rows.len(), 60, "{text}");
        // Columns line up, by characters: each starts where its header does.
        let column = |line: &str, at: usize| line.chars().skip(at).take(1).collect::<String>();
        for name in ["NAME", "LAST LOGIN", "SEATS", "REASON"] {
            let at = header.find(name).unwrap();
            for row in &rows {
                assert_ne!(column(row, at), " ", "{name} in {row:?}");
                assert_eq!(column(row, at - 1), " ", "{name} in {row:?}");
            }
        }
        // Hostile text is escaped, as everywhere on a terminal.
        assert!(!text.contains('\u{202e}'));
        assert!(text.contains("Zoë \\u{202e}evil"), "{text}");
        assert!(text.contains("(never)") && text.contains("2026-11-25T08:30:00Z"));
        assert!(text.contains("no allowlist entry or domain matches this address"));
        // Where the full record is.
        assert!(text.contains("`reconcile plan --format json`"));
        assert!(text.contains("`reconcile plan --out FILE`"));
        // The diff: its headers, the first lines, then the count of what was left out.
        let diff_lines = text
            .lines()
            .skip_while(|l| !l.starts_with("  +++ after apply"))
            .skip(1)
            .take_while(|l| !l.is_empty())
            .collect::<Vec<_>>();
        assert_eq!(diff_lines.len(), DIFF_PREVIEW_LINES + 1, "{diff_lines:#?}");
        let shown = diff_lines.iter().filter(|l| l.starts_with("  -")).count();
        assert_eq!(
            diff_lines.last().unwrap(),
            &format!(
                "  … {} more removed not shown (60 removed, 100 unchanged in all; --full-diff shows every line)",
                60 - shown
            )
        );
        assert!(text.ends_with("Plan: 60 to delete, 100 unchanged.\n"));
        // --full-diff: every line, as the small plan has it.
        let mut out = Vec::new();
        let layout = Layout {
            full_diff: true,
            ..Layout::default()
        };
        human_with(&plan, layout, &mut out, Palette::PLAIN).unwrap();
        let full = String::from_utf8(out).unwrap();
        assert!(full.contains(&similar_diff(&plan)));
        assert!(!full.contains("more removed not shown"));
    }

    #[test]
    fn widths_count_characters_and_stop_at_the_cap() {
        let rows = vec![
            ["é".repeat(5), "x".into()],
            ["a".repeat(MAX_COLUMN_CHARS + 10), "y".into()],
        ];
        assert_eq!(column_widths(&["E", "N"], &rows), [MAX_COLUMN_CHARS, 1]);
        assert_eq!(aligned(&["éé", "z"], &[4, 9]), "éé    z");
        // The last column is never padded; a cell wider than its column pushes the row along.
        assert_eq!(aligned(&["abcdef", "z"], &[3, 9]), "abcdef  z");
    }
}
