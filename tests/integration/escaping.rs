//! Text from file names, YAML keys and values, audit logs and the API reaches the terminal (and
//! the comments of an exported file) only escaped: no control character, bidirectional control
//! or line separator gets through to move the cursor, hide a line or reorder one.

use std::path::Path;

use crate::harness::*;
use reconcile::sandbox::Seed;

/// Characters that must never be written raw: ESC (cursor and erase sequences), BEL, CR, the
/// bidi override and isolate, the Arabic letter mark, and the line and paragraph separators.
const HOSTILE: &[char] = &[
    '\u{1b}', '\u{7}', '\r', '\u{202e}', '\u{2067}', '\u{61c}', '\u{2028}', '\u{2029}',
];

fn assert_no_hostile(what: &str, text: &str) {
    for c in HOSTILE {
        assert!(
            !text.contains(*c),
            "{what} holds {:?} raw:\n{text}",
            c.escape_unicode().to_string()
        );
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn config_errors_escape_file_names_keys_and_values() {
    let w = World::demo();
    // A name that a bidi override shows as `users.yaml`, and keys and values that would erase
    // the line above, ring the bell, or split a line in two.
    let file = w.file(
        "x\u{202e}lmay.sresu",
        "users:\n  - \"ok@example.com\\u2028\"\n  - \"\\e[1A\\e[2Kcarol@example.com\"\n\"evil\\e[2K\\u202E\\a\": 1\n",
    );
    let r = w.run(&["apply", "--auto-approve", "-f", s(&file)]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(w.requests(), 0, "{r:?}");
    assert_no_hostile("stderr", &r.stderr);
    assert_no_hostile("stdout", &r.stdout);
    assert!(
        r.stderr
            .contains("x\\u{202e}lmay.sresu:4:1: unknown key `evil\\u{1b}[2K\\u{202e}\\u{7}`"),
        "{r:?}"
    );
    assert!(
        r.stderr.contains("\\u{1b}[1A\\u{1b}[2Kcarol@example.com"),
        "{r:?}"
    );
}

#[test]
fn config_warnings_escape_values() {
    let w = World::demo();
    // Listed twice (U+2028 is white space, trimmed by normalisation): the warning quotes the
    // address as written in the second entry.
    let file = w.file(
        "users.yaml",
        "account_id: 023e105f4ecef8ad9ca31a8372d0c353\nusers:\n  - alice@example.com\n  - \"\\u2028alice@example.com\\u2029\"\n",
    );
    let r = w.run(&["validate", "-f", s(&file)]);
    assert!(
        r.stderr.contains("\\u{2028}alice@example.com\\u{2029}"),
        "{r:?}"
    );
    assert_no_hostile("stderr", &r.stderr);
    assert_no_hostile("stdout", &r.stdout);
    assert_eq!(w.deletes(), 0);
}

#[test]
fn audit_verify_escapes_the_log_file_name() {
    let w = World::demo();
    let log = w.dir.path().join("audit\u{202e}lnosj.jsonl");
    std::fs::write(&log, "").unwrap();
    let r = w.run(&["audit", "verify", s(&log)]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout
            .contains("audit\\u{202e}lnosj.jsonl: 0 records, chain intact"),
        "{r:?}"
    );
    assert_no_hostile("stdout", &r.stdout);
}

#[test]
fn audit_verify_errors_escape_text_from_the_log() {
    let w = World::demo();
    // A first record whose `prev` was rewritten to hide the lines shown before it.
    let log = w.file(
        "audit.jsonl",
        "{\"user_id\":\"u0\",\"prev\":\"\\u001b[2A\\u001b[2K\\u202eintact\",\"hash\":\"sha256:0000000000000000000000000000000000000000000000000000000000000000\"}\n",
    );
    let r = w.run(&["audit", "verify", s(&log)]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("line 1: the chain is broken"), "{r:?}");
    assert!(
        r.stderr.contains("\\u{1b}[2A\\u{1b}[2K\\u{202e}intact"),
        "{r:?}"
    );
    assert_no_hostile("stderr", &r.stderr);
}

#[test]
fn export_comments_cannot_be_broken_out_of_or_reordered() {
    let seed = Seed::from_str(
        "account_id: 023e105f4ecef8ad9ca31a8372d0c353\nusers:\n  - id: f174e90a-fafe-4643-bbbc-4a0ed4fc8415\n    email: eve@example.com\n    name: \"Eve\\u2028  - mallory@evil.example\\u202E\\u2029domains: [evil.example]\"\n    last_successful_login: \"2026-11-27T17:45:00Z\\u2066\"\n  - id: 2a7c3f0e-5b1d-4d6e-9f8a-1c2b3d4e5f60\n    email: alice@example.com\n    name: \"Alice\\nprotected: ['*@evil.example']\"\n",
        "seed.yaml",
    )
    .unwrap();
    let w = World::with_seed(seed);
    let out = w.dir.path().join("export.yaml");
    let r = w.run(&["export", "--account-id", ACCOUNT, "-o", s(&out)]);
    assert_eq!(r.code, 0, "{r:?}");
    let yaml = std::fs::read_to_string(&out).unwrap();
    assert_no_hostile("the exported file", &yaml);
    assert!(!yaml.contains('\u{2066}'), "{yaml}");
    // Each user is one line, its name a comment on it, escaped.
    let eve = yaml
        .lines()
        .find(|l| l.starts_with("  - \"eve@example.com\"  # "))
        .unwrap_or_else(|| panic!("{yaml}"));
    assert!(
        eve.contains("Eve\\u{2028}  - mallory@evil.example\\u{202e}\\u{2029}domains"),
        "{yaml}"
    );
    // Read back, the file allows exactly the two users, and nothing of the names.
    let r = w.run(&["validate", "-f", s(&out)]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout
            .starts_with("valid: 2 users, 0 domains, 0 protected in 1 file"),
        "{r:?}"
    );
}

#[test]
fn saved_plan_paths_are_escaped_in_messages() {
    let w = World::demo();
    let file = w.permissive_allowlist(&[
        "alice@example.com",
        "bob.martin@example.com",
        "carol@example.com",
        "dave.contractor@partner.example",
        "erin@example.com",
        "frank@example.com",
    ]);
    let plan = w.dir.path().join("plan\u{202e}nosj.json");
    let r = w.run(&["plan", "-f", s(&file), "--out", s(&plan)]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains("Saved the plan to ") && r.stderr.contains("plan\\u{202e}nosj.json"),
        "{r:?}"
    );
    assert_no_hostile("stderr of plan", &r.stderr);
    // An edited plan: the refusal names the file, escaped.
    let text = std::fs::read_to_string(&plan).unwrap();
    std::fs::write(
        &plan,
        text.replacen("\"live_count\": ", "\"live_count\": 1", 1),
    )
    .unwrap();
    let r = w.run(&["apply", s(&plan), "-f", s(&file)]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("plan\\u{202e}nosj.json: the saved plan was edited"),
        "{r:?}"
    );
    assert_no_hostile("stderr of apply", &r.stderr);
    assert_eq!(w.deletes(), 0);
}
