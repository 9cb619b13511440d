//! Showing a [`Plan`] or a [`Report`] to people: Terraform-like text, with colour when it is
//! wanted. Renderers write to any writer and decide nothing.

use std::io::{self, Write};

use similar::{ChangeTag, TextDiff};

use crate::plan::{Decision, Plan};

pub(crate) mod check;
pub(crate) mod json;
pub(crate) mod markdown;
pub(crate) mod notes;
mod report;
#[cfg(test)]
mod snapshot_tests;
pub(crate) mod words;

pub(crate) use report::{apply_summary, report, saved_report};

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

/// The plan in `format`. Only the human format uses the palette.
pub(crate) fn plan(plan: &Plan, format: Format, out: &mut dyn Write, p: Palette) -> io::Result<()> {
    match format {
        Format::Human => human(plan, out, p),
        Format::Json => json::render(plan, out),
        Format::Markdown => markdown::render(plan, out),
    }
}

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

pub(crate) fn seats(d: &Decision) -> String {
    let mut seats = Vec::new();
    if d.user.access_seat == Some(true) {
        seats.push("access");
    }
    if d.user.gateway_seat == Some(true) {
        seats.push("gateway");
    }
    if seats.is_empty() {
        "none".into()
    } else {
        seats.join(", ")
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
    field("seats", quoted(&seats(d)))?;
    if let Some(n) = u.active_device_count {
        field("active_device_count", format!("{n}"))?;
    }
    writeln!(out, "    }}")
}

/// The plan as people review it.
pub(crate) fn human(plan: &Plan, out: &mut dyn Write, p: Palette) -> io::Result<()> {
    writeln!(
        out,
        "reconcile plan for account {} ({} live user{})",
        plan.account_id,
        plan.live_count,
        crate::text::plural(plan.live_count)
    )?;
    writeln!(out)?;
    if plan.delete.is_empty() {
        writeln!(
            out,
            "{}",
            p.added("No changes. Every live user is allowed or held back.")
        )?;
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
                "  {} {}  {}",
                p.added("+"),
                crate::text::printable(e.written.trim()),
                p.dim(&format!("({})", e.location))
            )?;
        }
        writeln!(out)?;
    }
    if !plan.delete.is_empty() {
        diff(plan, out, p)?;
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

/// The live user list against the list after apply, as a unified diff (changes and a little
/// context only, so a large account stays readable). The set difference was computed by `plan`;
/// `similar` only shows it.
fn diff(plan: &Plan, out: &mut dyn Write, p: Palette) -> io::Result<()> {
    let mut before: Vec<String> = plan
        .keep
        .iter()
        .chain(&plan.held)
        .chain(&plan.delete)
        .map(|d| format!("{}\n", d.label()))
        .collect();
    before.sort_by_cached_key(|l| (l.to_lowercase(), l.clone()));
    let deleted: Vec<String> = plan
        .delete
        .iter()
        .map(|d| format!("{}\n", d.label()))
        .collect();
    let mut after = before.clone();
    after.retain(|line| !deleted.contains(line));
    let (before, after) = (before.concat(), after.concat());
    let text = TextDiff::from_lines(&before, &after);
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
    for hunk in text.unified_diff().context_radius(2).iter_hunks() {
        writeln!(out, "  {}", p.dim(&hunk.header().to_string()))?;
        for change in hunk.iter_changes() {
            let line = change.value().trim_end_matches('\n');
            match change.tag() {
                ChangeTag::Delete => writeln!(out, "  {}", p.removed(&format!("-{line}")))?,
                ChangeTag::Insert => writeln!(out, "  {}", p.added(&format!("+{line}")))?,
                ChangeTag::Equal => writeln!(out, "   {line}")?,
            }
        }
    }
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::report::outcomes;
    use super::*;
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

  + grace@example.com  (users.yaml:3:5)

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
}
