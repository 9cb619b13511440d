//! The plan as GitHub-flavoured Markdown, for a pull-request comment or a job summary: a summary
//! line, a table of the users to delete with their reasons, and the rest folded in `<details>`.
//!
//! Two rules shape it:
//! - It fits a GitHub comment (65,536 characters): the document never exceeds [`MAX_BYTES`]
//!   bytes (bytes ≥ characters), leaving room for text a workflow adds around it. A longer plan is
//!   cut, and a note says how many users of each kind were left out and where the full plan is.
//! - Every string that comes from outside (names, emails, login times, file names) is escaped, so
//!   a user's name cannot break a table, inject HTML or links, or mention a GitHub user.
//!   Addresses, ids and file paths go in code spans ([`code`]), which GitHub neither links nor
//!   reads as mentions, so that what a reviewer copies is the address itself: no invisible
//!   character is ever written (a zero-width space would survive a paste into an allowlist, and
//!   the pasted address would validate and then never match).
//!
//! Never coloured.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::seats;
use super::words::Piece;
use crate::plan::{Decision, Plan};

#[path = "door_markdown.rs"]
mod door;

/// The most bytes a Markdown plan takes.
pub(crate) const MAX_BYTES: usize = 60_000;
/// Room kept free for closing the open section and writing the note about what was left out.
const RESERVE: usize = 3_000;
/// Longest text of one cell, in characters, before escaping (escaping can grow it up to 10×).
const MAX_CELL_CHARS: usize = 80;
/// Longest reason, in characters: reasons are the tool's own sentences, with a file name.
const MAX_REASON_CHARS: usize = 400;

/// The plan as Markdown, at most [`MAX_BYTES`] bytes.
pub(crate) fn render(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    out.write_all(to_string(plan, MAX_BYTES).as_bytes())
}

/// The hidden first line of a Markdown plan or apply report, `<!-- reconcile:plan account=ID -->`:
/// GitHub does not show it, and a workflow finds its own comment by it (and no other bot's), to
/// update that comment rather than add one per push (docs/ci.md).
pub(crate) fn marker(kind: &str, account: &str) -> String {
    // The id is validated hexadecimal; anything else could close the comment, so it is dropped.
    let account: String = account
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    format!("<!-- reconcile:{kind} account={account} -->\n")
}

/// One table of the document.
struct Section<'a> {
    /// What the rows are, for the note about omissions ("users to delete").
    what: String,
    /// `None`: shown open, under a heading; `Some(summary)`: folded in `<details>`.
    title: String,
    folded: bool,
    /// Under a heading one level down (a door table, under the Door section).
    deeper: bool,
    header: &'static str,
    rows: Vec<Box<dyn Fn() -> String + 'a>>,
}

/// Whether the plan is a document of its own (`plan --format markdown`), or a part of the apply
/// report (`apply --format markdown`), under its heading and without a marker or closing line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Plan,
    InApply,
}

/// The Markdown text of `plan`, cut to at most `limit` bytes (for tests of the cut).
pub(crate) fn to_string(plan: &Plan, limit: usize) -> String {
    document(plan, limit, Mode::Plan)
}

/// The plan as a part of the Markdown apply report: `### The plan applied: …`, its sections one
/// level down, no marker and no closing line; at most `limit` bytes.
pub(crate) fn in_apply(plan: &Plan, limit: usize) -> String {
    document(plan, limit, Mode::InApply)
}

fn document(plan: &Plan, limit: usize, mode: Mode) -> String {
    let (mut out, title, sub) = match mode {
        Mode::Plan => (
            marker("plan", plan.account_id.as_str()),
            "## reconcile plan",
            "###",
        ),
        Mode::InApply => (String::new(), "### The plan applied", "####"),
    };
    let plural = crate::text::plural;
    if plan.delete.is_empty() && plan.has_door_changes() {
        let _ = writeln!(out, "{title}: door changes, nothing to delete\n");
    } else if plan.delete.is_empty() {
        let _ = writeln!(out, "{title}: no changes\n");
    } else {
        let _ = writeln!(
            out,
            "{title}: {} to delete, {} unchanged\n",
            plan.delete.len(),
            plan.unchanged()
        );
    }
    // The account id is validated hexadecimal; anything else is escaped rather than put in code.
    let account = if plan
        .account_id
        .as_str()
        .chars()
        .all(|c| c.is_ascii_alphanumeric())
    {
        code(plan.account_id.as_str())
    } else {
        escape(plan.account_id.as_str())
    };
    let returned = plan
        .reentry
        .as_ref()
        .map(|r| format!(" · {} returned after a deletion", r.returned.len()))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "Account {account} · {} live user{} · {} to delete · {} kept · {} held back · {} allowed but not in the account{returned}\n",
        plan.live_count,
        plural(plan.live_count),
        plan.delete.len(),
        plan.keep.len(),
        plan.held.len(),
        plan.absent.len()
    );
    if let Some(d) = &plan.door {
        out.push_str(&door::overview(d, sub));
    }
    if let Some(reentry) = &plan.reentry {
        if !reentry.returned.is_empty() {
            let n = reentry.returned.len();
            let _ = writeln!(
                out,
                "> [!WARNING]\n> **{n} user{} deleted before {} back** (marked *returned* below): an Access policy still admits {}, so a deletion frees the seat only until the next login. Make the policies admit only the allowlist: see `{}`.\n",
                plural(n),
                if n == 1 { "is" } else { "are" },
                if n == 1 { "this address" } else { "these addresses" },
                crate::render::words::LOCK_THE_DOOR
            );
        }
        if !reentry.still_listed.is_empty() {
            let _ = writeln!(
                out,
                "> [!NOTE]\n> Recorded as deleted, but still listed (check them):"
            );
            for still in &reentry.still_listed {
                let _ = writeln!(
                    out,
                    "> - {}",
                    cut(&crate::render::words::still_listed(still), MAX_REASON_CHARS)
                );
            }
            let _ = writeln!(out);
        }
    }
    if let Some(refusal) = &plan.refusal {
        let _ = writeln!(
            out,
            "> [!CAUTION]\n> **Refused by a safety rail.** {}\n",
            escape(&crate::render::words::refusal(refusal))
        );
    }
    if let Some(seats) = super::seats_line(plan) {
        let _ = writeln!(out, "{seats}\n");
    }
    if plan.delete.is_empty() {
        let _ = writeln!(
            out,
            "No changes: every live user is allowed or held back.\n"
        );
    }
    let sections = [
        Section {
            what: "users to delete".into(),
            title: format!("Users to delete ({})", plan.delete.len()),
            folded: false,
            deeper: false,
            header: "| Email | Name | Last login | Seats | Devices | Id | Reason |\n| --- | --- | --- | --- | --- | --- | --- |\n",
            rows: plan
                .delete
                .iter()
                .map(|d| Box::new(move || delete_row(plan, d)) as Box<dyn Fn() -> String>)
                .collect(),
        },
        Section {
            what: "held-back users".into(),
            title: format!("Held back, not deleted ({})", plan.held.len()),
            folded: true,
            deeper: false,
            header: "| User | Reason |\n| --- | --- |\n",
            rows: plan
                .held
                .iter()
                .map(|d| Box::new(move || reason_row(plan, d)) as Box<dyn Fn() -> String>)
                .collect(),
        },
        Section {
            what: "protected entries that match no live user".into(),
            title: format!(
                "Protected entries that match no live user: check for a typo ({})",
                plan.unmatched_protected.len()
            ),
            folded: false,
            deeper: false,
            header: "| Entry | Written at |\n| --- | --- |\n",
            rows: plan
                .unmatched_protected
                .iter()
                .map(|e| {
                    Box::new(move || {
                        format!(
                            "| {} | {} |\n",
                            code_cell(&e.written),
                            code_cell(&e.location.to_string())
                        )
                    }) as Box<dyn Fn() -> String>
                })
                .collect(),
        },
        Section {
            what: "domain entries that match no live user".into(),
            title: format!(
                "Domain entries that match no live user: check for a typo or a look-alike ({})",
                plan.unmatched_domains.len()
            ),
            folded: false,
            deeper: false,
            header: "| Domain | Written at |\n| --- | --- |\n",
            rows: plan
                .unmatched_domains
                .iter()
                .map(|e| {
                    Box::new(move || {
                        format!(
                            "| {} | {} |\n",
                            code_cell(e.domain.as_str()),
                            code_cell(&e.location.to_string())
                        )
                    }) as Box<dyn Fn() -> String>
                })
                .collect(),
        },
        Section {
            what: "kept users".into(),
            title: format!("Kept ({})", plan.keep.len()),
            folded: true,
            deeper: false,
            header: "| User | Reason |\n| --- | --- |\n",
            rows: plan
                .keep
                .iter()
                .map(|d| Box::new(move || reason_row(plan, d)) as Box<dyn Fn() -> String>)
                .collect(),
        },
        Section {
            what: "allowed entries not in the account".into(),
            title: format!(
                "Allowed but not in the account, nothing to do ({})",
                plan.absent.len()
            ),
            folded: true,
            deeper: false,
            header: "| Entry | Written at |\n| --- | --- |\n",
            rows: plan
                .absent
                .iter()
                .map(|e| {
                    Box::new(move || {
                        format!(
                            "| {} | {} |\n",
                            code_cell(e.written.trim()),
                            code_cell(&e.location.to_string())
                        )
                    }) as Box<dyn Fn() -> String>
                })
                .collect(),
        },
    ];
    let door_sections = plan.door.as_ref().map(door::sections).unwrap_or_default();
    let sections: Vec<Section<'_>> = door_sections.into_iter().chain(sections).collect();
    let mut omitted: Vec<(usize, usize, &str)> = Vec::new();
    let mut full = false;
    for section in sections.iter().filter(|s| !s.rows.is_empty()) {
        let total = section.rows.len();
        let opening = if section.folded {
            format!(
                "<details>\n<summary>{}</summary>\n\n{}",
                section.title, section.header
            )
        } else {
            let deeper = if section.deeper { "#" } else { "" };
            format!("{sub}{deeper} {}\n\n{}", section.title, section.header)
        };
        if full || out.len() + opening.len() + RESERVE > limit {
            full = true;
            omitted.push((total, total, &section.what));
            continue;
        }
        out.push_str(&opening);
        let mut shown = 0;
        for row in &section.rows {
            let row = row();
            if out.len() + row.len() + RESERVE > limit {
                full = true;
                break;
            }
            out.push_str(&row);
            shown += 1;
        }
        if shown < total {
            let _ = writeln!(
                out,
                "\n_… and {} more {} not shown here (see the note below)._",
                total - shown,
                section.what
            );
            omitted.push((total - shown, total, &section.what));
        }
        out.push_str(if section.folded {
            "\n</details>\n\n"
        } else {
            "\n"
        });
    }
    if !omitted.is_empty() {
        let list = omitted
            .iter()
            .map(|(n, total, what)| format!("{n} of {total} {what}"))
            .collect::<Vec<_>>()
            .join(", ");
        let full = match mode {
            Mode::Plan => "The full plan is in `reconcile plan --format json`, and in the plan saved by `reconcile plan --out FILE`.",
            Mode::InApply => "The full plan is in `reconcile apply --format json`; every deletion is in the audit log (`--audit-log`).",
        };
        let _ = writeln!(
            out,
            "> [!WARNING]\n> This plan is too long for a pull-request comment, so it was cut. Not shown: {list}.\n> {full}\n"
        );
    }
    if mode == Mode::InApply {
        return out;
    }
    let door = plan
        .door
        .as_ref()
        .map(|d| format!("{} ", crate::render::door::summary(d)))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "<sub>{door}Plan: {} to delete, {} unchanged. Generated by reconcile {}; read-only, nothing was changed.</sub>",
        plan.delete.len(),
        plan.unchanged(),
        env!("CARGO_PKG_VERSION")
    );
    out
}

fn delete_row(plan: &Plan, d: &Decision) -> String {
    let u = &d.user;
    format!(
        "| {} | {} | {} | {} | {} | {} | {} |\n",
        code_cell(&d.label()),
        u.name.as_deref().map_or_else(|| "—".into(), cell),
        u.last_successful_login
            .as_deref()
            .map_or_else(|| "never".into(), cell),
        seats(d),
        u.active_device_count
            .map_or_else(|| "—".into(), |n| cell(&n.to_string())),
        code_cell(d.id_text()),
        reason(plan, d)
    )
}

fn reason_row(plan: &Plan, d: &Decision) -> String {
    format!("| {} | {} |\n", code_cell(&d.label()), reason(plan, d))
}

/// The reason, and for a user who came back after a past deletion, that first.
fn reason(plan: &Plan, d: &Decision) -> String {
    let why = pieces(
        &crate::render::words::reason_pieces(&d.reason),
        MAX_REASON_CHARS,
    );
    match plan.reentry.as_ref().and_then(|r| r.of(d)) {
        Some(r) => format!(
            "**returned**: {}; {why}",
            cut(&crate::render::words::returned(r), MAX_REASON_CHARS)
        ),
        None => why,
    }
}

/// Why a reviewed user was not deleted, for a cell of the apply report.
pub(crate) fn skip(s: &crate::plan::recheck::Skip) -> String {
    pieces(&crate::render::words::skip_pieces(s), MAX_REASON_CHARS)
}

/// A sentence of [`Piece`]s, at most `max` characters before escaping (`…` when cut): the prose
/// escaped ([`escape`]), and the names (file locations, addresses, domains, flags) in code spans
/// ([`code`]), which escape backticks by the fence and copy as they are.
fn pieces(parts: &[Piece], max: usize) -> String {
    let mut out = String::new();
    let mut left = max;
    for part in parts {
        let (raw, is_name) = match part {
            Piece::Text(t) => (t.as_str(), false),
            Piece::Name(n) | Piece::Quoted(n) => (n.as_str(), true),
        };
        let count = raw.chars().count();
        let kept = if count > left {
            raw.chars().take(left).collect::<String>() + "…"
        } else {
            raw.to_string()
        };
        if kept.is_empty() {
            continue;
        }
        if is_name {
            out.push_str(&code(&kept));
        } else {
            out.push_str(&escape(&kept));
        }
        if count > left {
            break;
        }
        left -= count;
    }
    out
}

/// A table cell: at most [`MAX_CELL_CHARS`] characters of `text` (with `…` when cut), escaped.
fn cell(text: &str) -> String {
    cut(text, MAX_CELL_CHARS)
}

/// A table cell holding an address, an id or a path: at most [`MAX_CELL_CHARS`] characters, in
/// a code span.
fn code_cell(text: &str) -> String {
    code(&shorten(text, MAX_CELL_CHARS))
}

fn cut(text: &str, max: usize) -> String {
    escape(&shorten(text, max))
}

fn shorten(text: &str, max: usize) -> String {
    let mut chars = text.chars();
    let mut kept: String = chars.by_ref().take(max).collect();
    if chars.next().is_some() {
        kept.push('…');
    }
    kept
}

/// `text` with each `|` written `\|`. GitHub's table parser takes a backslash and the character
/// after it as a pair, so a `|` after an odd run of backslashes would still end the cell: such a
/// run gets one backslash more (shown, but the cell holds).
fn table_safe(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = 0;
    for c in text.chars() {
        if c == '|' {
            if run % 2 == 1 {
                out.push('\\');
            }
            out.push_str("\\|");
        } else {
            out.push(c);
        }
        run = if c == '\\' { run + 1 } else { 0 };
    }
    out
}

/// `text` as a code span, which shows every character as it is: GitHub makes no link, mention
/// or markup of it, and a copy of it is the text itself. The fence is one backtick longer than
/// the longest run of backticks inside (CommonMark), with a space inside each end when the text
/// begins or ends with a backtick or a space (CommonMark strips one from each end). `|` is
/// written `\|`, which GitHub's table parser reads as `|` even in code and which cannot end a
/// cell. Characters that could hide or reorder text are shown as their escape, `\u{200b}`, as
/// on a terminal ([`crate::text::printable`]), line breaks included.
pub(crate) fn code(text: &str) -> String {
    let text = table_safe(&crate::text::printable(text));
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    if text.is_empty() {
        // A span of one space, which CommonMark keeps as it is.
        return "` `".into();
    }
    let pad = if text.starts_with(['`', ' ']) || text.ends_with(['`', ' ']) {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// Escape a string from outside for a Markdown table cell. Markdown and HTML punctuation becomes
/// a numeric character reference, which GitHub shows as the character but never reads as markup:
/// `|` cannot end a cell, `<` and `&` cannot open a tag or an entity, `[` cannot open a link, `*`,
/// `_`, `~` and `` ` `` cannot format, `$` cannot start maths, and `.` and `:` cannot make an
/// autolink (`www.`, `https:`). A word holding `@` or `#` (an address, `@team`, `#12`) goes in a
/// code span ([`code`]), so that no one is mentioned and no issue is linked, and an address reads
/// and copies as it is. Every character [`crate::text::is_hostile`] names (controls, line
/// separators, bidirectional and invisible characters), which could hide or reorder text or make
/// one address pass for another, is shown as its escape, `\u{200b}`, as on a terminal.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    // Whitespace the terminal shows as it is separates words; a line break is hostile and is
    // escaped inside its word.
    for c in text.chars().chain(std::iter::once(' ')) {
        if c == ' ' || (c.is_whitespace() && !crate::text::is_hostile(c)) {
            if word.contains(['@', '#']) {
                out.push_str(&code(&word));
            } else {
                escape_chars(&word, &mut out);
            }
            word.clear();
            out.push(c);
        } else {
            word.push(c);
        }
    }
    out.pop();
    out
}

fn escape_chars(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '&' | '|' | '~' | '$' | ':' | '.' => {
                let _ = write!(out, "&#{};", c as u32);
            }
            // Written as the terminal shows it (`\u{200b}`), its backslash a reference like the
            // others: what the terminal escapes, the comment escapes, by the same predicate.
            c if crate::text::is_hostile(c) => {
                let _ = write!(out, "&#92;u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;
    use crate::model::LiveUser;
    use crate::plan::compute;

    fn big_plan(extras: usize, allowed: usize) -> Plan {
        let mut text = String::from("users:\n");
        for n in 0..allowed {
            text.push_str(&format!("  - kept{n}@example.com\n"));
        }
        text.push_str("  - absent@example.com\n");
        let desired = config::parse_str(&text, "users.yaml").unwrap();
        let live: Vec<LiveUser> = (0..extras + allowed)
            .map(|n| LiveUser {
                id: Some(format!("00000000-0000-4000-8000-{n:012}")),
                email: Some(if n < extras {
                    format!("extra{n}@example.com")
                } else {
                    format!("kept{}@example.com", n - extras)
                }),
                // Long hostile names make each row as large as it can be.
                name: Some("<b>|</b>".repeat(40)),
                ..LiveUser::default()
            })
            .collect();
        compute(
            &desired,
            &live,
            &crate::plan::Policy::at(&crate::model::AccountId::example(), 1_795_867_200),
        )
    }

    #[test]
    fn a_long_plan_is_cut_below_the_comment_limit_with_a_note() {
        let plan = big_plan(5_000, 3_000);
        let text = to_string(&plan, MAX_BYTES);
        assert!(text.len() <= MAX_BYTES, "{} bytes", text.len());
        assert!(text.chars().count() < 65_536);
        let shown = text.lines().filter(|l| l.starts_with("| `extra")).count();
        assert!(shown > 10, "{shown}");
        assert!(
            text.contains(&format!(
                "… and {} more users to delete not shown",
                5_000 - shown
            )),
            "{text}"
        );
        assert!(text.contains(&format!(
            "Not shown: {} of 5000 users to delete, 3000 of 3000 kept users, 1 of 1 allowed entries not in the account."
        , 5_000 - shown)), "{}", &text[text.len() - 800..]);
        // Where the full record is: the JSON and the saved plan, not the (compact) job log.
        assert!(text.contains(
            "`reconcile plan --format json`, and in the plan saved by `reconcile plan --out FILE`"
        ));
        // The summary line stays at the top, and the document still ends well-formed.
        assert!(text.starts_with(&format!(
            "<!-- reconcile:plan account={} -->\n## reconcile plan: 5000 to delete, 3000 unchanged\n",
            crate::model::AccountId::example()
        )));
        assert!(text.ends_with("nothing was changed.</sub>\n"));
        assert_eq!(
            text.matches("<details>").count(),
            text.matches("</details>").count()
        );
    }

    #[test]
    fn a_plan_that_fits_is_not_cut() {
        let text = to_string(&big_plan(20, 20), MAX_BYTES);
        assert!(!text.contains("not shown"));
        assert_eq!(
            text.lines().filter(|l| l.starts_with("| `extra")).count(),
            20
        );
    }

    #[test]
    fn tiny_limits_still_give_a_well_formed_document() {
        for limit in [0, 100, 3_500, 5_000, 8_000] {
            let text = to_string(&big_plan(50, 50), limit);
            assert!(text.contains("[!WARNING]"), "{limit}");
            assert_eq!(
                text.matches("<details>").count(),
                text.matches("</details>").count()
            );
        }
    }

    #[test]
    fn escaping_defuses_markup() {
        let hostile = "a|b <script>x</script> [l](http://x.io) ![i](y) **b** _i_ `c` $m$ @team #12 www.x.io\nnext\u{202e}";
        let e = escape(hostile);
        // Mentions and issue links are code, which GitHub leaves alone.
        assert!(e.contains(" `@team` `#12` "), "{e}");
        let prose = e.replace("`@team`", "").replace("`#12`", "");
        for raw in [
            "|", "<", ">", "[", "]", "`", "*", "_", "$", "@", "www.", "http:", "\n", "\u{202e}",
        ] {
            assert!(!prose.contains(raw), "{raw:?} survives in {e}");
        }
        assert_eq!(escape("Ann O'Neil-Smith (ops)"), "Ann O'Neil-Smith (ops)");
        assert_eq!(escape("x@y.z"), "`x@y.z`");
        assert_eq!(escape("ask @bob|me now"), "ask `@bob\\|me` now");
    }

    #[test]
    fn names_in_reasons_are_code_spans_with_backticks_escaped() {
        let parts = [
            Piece::Text("allowed by ".into()),
            Piece::Name("we`ird/u|sers.yaml:3:5".into()),
        ];
        assert_eq!(
            pieces(&parts, MAX_REASON_CHARS),
            "allowed by ``we`ird/u\\|sers.yaml:3:5``"
        );
        // Cut at the limit, inside a piece or between two.
        assert_eq!(
            pieces(
                &[Piece::Text("a".repeat(10)), Piece::Name("x:1:1".into())],
                5
            ),
            "aaaaa…"
        );
        assert_eq!(
            pieces(&[Piece::Text("ab ".into()), Piece::Name("x:1:1".into())], 5),
            "ab `x:…`"
        );
        // A near miss: the entry, where it is written, the live address and the flag to type,
        // each a span that copies as it is; no character reference in a path.
        let desired = config::parse_str(
            "users: [alice@exmaple.com, bob@example.com]\n",
            "t`ypo.yaml",
        )
        .unwrap();
        let live: Vec<LiveUser> = ["alice@example.com", "bob@example.com"]
            .iter()
            .enumerate()
            .map(|(n, e)| LiveUser {
                id: Some(format!("00000000-0000-4000-8000-{n:012}")),
                email: Some((*e).into()),
                ..LiveUser::default()
            })
            .collect();
        let plan = compute(
            &desired,
            &live,
            &crate::plan::Policy::at(&crate::model::AccountId::example(), 1_795_867_200),
        );
        let held = reason(&plan, &plan.held[0]);
        assert!(held.starts_with("`alice@exmaple.com` at ``t`ypo.yaml:1:9`` is one edit from live `alice@example.com`"), "{held}");
        assert!(
            held.ends_with("pass `--allow-near-miss alice@example.com`"),
            "{held}"
        );
        let kept = reason(&plan, &plan.keep[0]);
        assert_eq!(kept, "allowed by ``t`ypo.yaml:1:28``");
        assert!(!held.contains("&#46;") && !held.contains("&#96;"), "{held}");
    }

    #[test]
    fn code_spans_hold_any_text_as_it_is() {
        assert_eq!(code("carol@example.com"), "`carol@example.com`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("``x"), "``` ``x ```");
        assert_eq!(code(" x"), "`  x `");
        assert_eq!(code(""), "` `");
        // A pipe cannot end the cell, even after a backslash.
        assert_eq!(code("a|b"), "`a\\|b`");
        assert_eq!(code("a\\|b"), "`a\\\\\\|b`");
        assert_eq!(code("a\\\\|b"), "`a\\\\\\|b`");
        // Line breaks and invisible characters are shown as escapes, never written.
        assert_eq!(code("x\ny\u{200b}"), "`x\\u{a}y\\u{200b}`");
    }

    #[test]
    fn escaping_hides_nothing_the_terminal_escapes() {
        // The zero-width space, the line separator and the Arabic letter mark got through a
        // list of its own; every character the terminal escapes is escaped here the same way.
        for c in [
            '\u{200b}',
            '\u{2028}',
            '\u{61c}',
            '\u{85}',
            '\u{9b}',
            '\u{7f}',
            '\u{3164}',
            '\u{fe0f}',
            '\u{ad}',
            '\u{feff}',
            '\u{e0041}',
            '\u{1b}',
            '\u{202e}',
        ] {
            let text = format!("break{c}glass");
            let e = escape(&text);
            assert!(!e.contains(c), "{c:?} survives in {e}");
            assert_eq!(
                e,
                crate::text::printable(&text).replace('\\', "&#92;"),
                "{c:?}"
            );
        }
    }
}
