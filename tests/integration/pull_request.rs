//! What a reviewer reads and copies in a pull request, and what a person at the terminal is told
//! to type next: addresses in code spans with no invisible characters, the near-miss hint that
//! names the line to correct, the apply command after `plan --out`, `export` that keeps an
//! existing file, and the informational marker of allowed entries not in the account.

use std::path::Path;

use crate::harness::*;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The demo seed's users other than carol, dave and erin, and one allowed address not in it.
const ALLOWED: &[&str] = &[
    "alice@example.com",
    "bob.martin@example.com",
    "frank@example.com",
    "grace@example.com",
    "nobody@example.com",
];

/// Characters that are not seen but survive a copy: format characters (Unicode category Cf, the
/// zero-width and bidirectional ones among them), the soft hyphen and the Hangul filler.
fn invisible(c: char) -> bool {
    matches!(c,
        '\u{ad}' | '\u{61c}' | '\u{115f}' | '\u{1160}' | '\u{180e}' | '\u{200b}'..='\u{200f}'
        | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{206f}' | '\u{3164}' | '\u{feff}'
        | '\u{ffa0}' | '\u{fff9}'..='\u{fffb}' | '\u{e0000}'..='\u{e007f}')
}

fn assert_no_invisible(what: &str, text: &str) {
    if let Some(c) = text.chars().find(|&c| invisible(c)) {
        panic!("{what}: {:?} in\n{text}", c);
    }
    // Nor written as a reference that GitHub turns back into the character.
    for reference in ["&#8203;", "&#x200b;", "&ZeroWidthSpace;", "&#173;", "&shy;"] {
        assert!(
            !text
                .to_ascii_lowercase()
                .contains(&reference.to_ascii_lowercase()),
            "{what}: {reference} in\n{text}"
        );
    }
}

#[test]
fn markdown_writes_addresses_in_code_spans_that_copy_as_the_live_address() {
    let w = World::demo();
    let file = w.permissive_allowlist(ALLOWED);
    let summary = w.dir.path().join("summary.md");
    let mut cmd = w.cmd(&["plan", "--format", "markdown", "-f", s(&file)]);
    cmd.env("GITHUB_STEP_SUMMARY", &summary);
    let r = run(cmd);
    assert_eq!(r.code, 0, "{r:?}");
    let written = std::fs::read_to_string(&summary).unwrap();
    for (what, text) in [("stdout", &r.stdout), ("the step summary", &written)] {
        assert_no_invisible(what, text);
        // What a reviewer selects inside the code span is the live address, byte for byte.
        for live in w.live_emails().iter().filter(|e| e.contains('@')) {
            let span = format!("`{live}`");
            assert!(text.contains(&span), "{what}: no {span} in\n{text}");
        }
        assert!(text.contains("| `carol@example.com` |"), "{text}");
        assert!(text.contains("`nobody@example.com` | `"), "{text}");
    }
}

#[test]
fn the_near_miss_hold_names_the_line_to_correct_before_the_flag() {
    let w = World::demo();
    let file = w.file(
        "typo.yaml",
        &format!("account_id: {ACCOUNT}\npolicy:\n  max_delete_fraction: 1\nusers:\n  - alice@exmaple.com\n  - bob.martin@example.com\n"),
    );
    let r = w.run(&["plan", "-f", s(&file)]);
    assert_eq!(r.code, 0, "{r:?}");
    let hint = format!(
        "`alice@exmaple.com` at {}:5:5 is one edit from live `alice@example.com`: correct line 5",
        file.display()
    );
    let at = r.stdout.find(&hint).unwrap_or_else(|| panic!("{r:?}"));
    let flag = r
        .stdout
        .find("--allow-near-miss alice@example.com")
        .unwrap();
    assert!(at < flag, "the fix comes before the flag: {r:?}");
}

#[test]
fn plan_out_prints_the_apply_command_with_the_files_used() {
    let w = World::demo();
    let file = w.file(
        "my users.yaml",
        &format!("account_id: {ACCOUNT}\npolicy:\n  max_delete_fraction: 1\nusers: [alice@example.com, bob.martin@example.com, frank@example.com, grace@example.com]\n"),
    );
    let out = w.dir.path().join("plan.json");
    let r = w.run(&["plan", "-f", s(&file), "--out", s(&out)]);
    assert_eq!(r.code, 0, "{r:?}");
    let command = format!(
        "Apply it with: reconcile apply {} -f '{}'\n",
        out.display(),
        file.display()
    );
    assert!(r.stderr.contains(&command), "{r:?}");
    // The command works as printed.
    let r = w.run(&["apply", s(&out), "-f", s(&file)]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.deletes(), 3);
    // Under -q it is a note like the others: not printed.
    let r = w.run(&["plan", "-q", "-f", s(&file), "--out", s(&out)]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.stderr, "", "{r:?}");
}

#[test]
fn export_keeps_an_existing_file_unless_forced() {
    let w = World::demo();
    let out = w.file("users.yaml", "reviewed: true\n");
    let r = w.run(&["export", "--account-id", ACCOUNT, "-o", s(&out)]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("pass --force"), "{r:?}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "reviewed: true\n");
    assert_eq!(w.requests(), 0, "refused before any request");
    let r = w.run(&["export", "--account-id", ACCOUNT, "-o", s(&out), "--force"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(std::fs::read_to_string(&out)
        .unwrap()
        .contains("alice@example.com"));
    // A new file needs no --force.
    let fresh = w.dir.path().join("fresh.yaml");
    let r = w.run(&["export", "--account-id", ACCOUNT, "-o", s(&fresh)]);
    assert_eq!(r.code, 0, "{r:?}");
}

#[test]
fn allowed_entries_not_in_the_account_are_not_marked_as_created() {
    let w = World::demo();
    let file = w.permissive_allowlist(ALLOWED);
    let r = w.run(&["plan", "--color", "always", "-f", s(&file)]);
    assert_eq!(r.code, 0, "{r:?}");
    let line = r
        .stdout
        .lines()
        .find(|l| l.contains("nobody@example.com"))
        .unwrap_or_else(|| panic!("{r:?}"));
    assert!(!line.contains('+'), "{line:?}");
    assert!(!line.contains("\x1b[32m"), "not green: {line:?}");
    assert!(line.contains('·'), "{line:?}");
}

#[test]
fn the_markdown_plan_and_apply_report_carry_a_hidden_marker_for_their_comment() {
    let w = World::demo();
    let file = w.permissive_allowlist(ALLOWED);
    let r = w.run(&["plan", "--format", "markdown", "-f", s(&file)]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.starts_with(&format!(
            "<!-- reconcile:plan account={ACCOUNT} -->\n## reconcile plan"
        )),
        "{r:?}"
    );
    // The apply report goes to the job summary, with its own marker.
    let summary = w.dir.path().join("summary.md");
    let mut cmd = w.cmd(&["apply", "--auto-approve", "-f", s(&file)]);
    cmd.env("GITHUB_STEP_SUMMARY", &summary);
    let r = run(cmd);
    assert_eq!(r.code, 0, "{r:?}");
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(
        text.starts_with(&format!(
            "<!-- reconcile:apply account={ACCOUNT} -->\n## reconcile apply: complete\n"
        )),
        "{text}"
    );
    assert!(
        text.contains("· 3 deleted · 0 already gone · 0 failed · 0 not attempted"),
        "{text}"
    );
    assert!(
        text.contains("| `carol@example.com` | `5d6e7f80-91a2-4b3c-8d4e-5f60718293a4` | deleted |"),
        "{text}"
    );
    assert!(
        text.contains("Checked: no planned user is still present."),
        "{text}"
    );
    assert_no_invisible("the apply report", &text);
}

#[test]
fn applying_a_saved_plan_writes_its_report_to_the_step_summary_too() {
    let w = World::demo();
    let file = w.permissive_allowlist(ALLOWED);
    let out = w.dir.path().join("plan.json");
    let r = w.run(&["plan", "-f", s(&file), "--out", s(&out)]);
    assert_eq!(r.code, 0, "{r:?}");
    // Applied once; the second run (a re-run of the merge job) finds every planned user gone.
    let r = w.run(&["apply", s(&out), "-f", s(&file)]);
    assert_eq!(r.code, 0, "{r:?}");
    let summary = w.dir.path().join("summary.md");
    let mut cmd = w.cmd(&["apply", s(&out), "-f", s(&file)]);
    cmd.env("GITHUB_STEP_SUMMARY", &summary);
    let r = run(cmd);
    assert_eq!(r.code, 0, "{r:?}");
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(text.starts_with("<!-- reconcile:apply account="), "{text}");
    assert!(text.contains("· 0 deleted ·"), "{text}");
    assert!(text.contains("| `carol@example.com` | `5d6e7f80-91a2-4b3c-8d4e-5f60718293a4` | skipped: already gone |"), "{text}");
}
