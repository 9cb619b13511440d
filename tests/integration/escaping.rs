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

/// What `assert_no_hostile` checks, and the characters that got through a shorter list: C1
/// controls (U+009B is a one-byte CSI), DEL, the zero-width space, the Arabic letter mark, the
/// Hangul filler, a variation selector and a tag character (invisible, above U+FFFF).
const INVISIBLE_TOO: &[char] = &[
    '\u{85}',
    '\u{9b}',
    '\u{7f}',
    '\u{200b}',
    '\u{61c}',
    '\u{3164}',
    '\u{fe0f}',
    '\u{e0041}',
];

fn assert_nothing_hostile(what: &str, text: &str) {
    assert_no_hostile(what, text);
    for c in INVISIBLE_TOO {
        assert!(
            !text.contains(*c),
            "{what} holds {:?} raw:\n{text}",
            c.escape_unicode().to_string()
        );
    }
}

/// A name and a login time, as a JSON string in a seed, holding every character above.
const HOSTILE_NAME_JSON: &str =
    "Eve\\u0085\\u009b2J\\u007f\\u202e\\u200b\\u061c\\u2028\\u3164\\ufe0f\\udb40\\udc41\\u001b[2K";
const HOSTILE_NAME: &str =
    "Eve\u{85}\u{9b}2J\u{7f}\u{202e}\u{200b}\u{61c}\u{2028}\u{3164}\u{fe0f}\u{e0041}\u{1b}[2K";

/// The demo account plus eve, to be deleted, whose name holds [`HOSTILE_NAME`].
fn hostile_name_world() -> World {
    let seed = Seed::from_str(
        &format!("{{\"account_id\": \"{ACCOUNT}\", \"users\": [{{\"id\": \"f174e90a-fafe-4643-bbbc-4a0ed4fc8415\", \"email\": \"eve@example.com\", \"name\": \"{HOSTILE_NAME_JSON}\", \"last_successful_login\": \"2026-11-27T17:45:00Z\\u200b\"}}, {{\"id\": \"2a7c3f0e-5b1d-4d6e-9f8a-1c2b3d4e5f60\", \"email\": \"alice@example.com\"}}]}}"),
        "seed.json",
    )
    .unwrap();
    World::with_seed(seed)
}

#[test]
fn json_plan_writes_controls_bidi_and_invisible_characters_escaped() {
    let w = hostile_name_world();
    let file = w.permissive_allowlist(&["alice@example.com"]);
    let r = w.run(&["plan", "--format", "json", "-f", s(&file)]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_nothing_hostile("stdout", &r.stdout);
    for escape in [
        "\\u0085",
        "\\u009b",
        "\\u007f",
        "\\u202e",
        "\\u200b",
        "\\u061c",
        "\\u2028",
        "\\u3164",
        "\\ufe0f",
        "\\udb40\\udc41",
        "\\u001b",
    ] {
        assert!(r.stdout.contains(escape), "{escape}: {r:?}");
    }
    // Parsed, the strings are the API's exact text.
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let eve = doc["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "eve@example.com")
        .unwrap();
    assert_eq!(eve["name"], HOSTILE_NAME);
    assert_eq!(eve["last_successful_login"], "2026-11-27T17:45:00Z\u{200b}");
    assert_eq!(w.deletes(), 0);
}

#[test]
fn saved_plan_file_writes_hostile_characters_escaped_and_still_applies() {
    // White space around an address is trimmed when it is compared, and kept as the API wrote
    // it in the saved plan: NEL and the line separator are white space.
    let seed = Seed::from_str(
        &format!("{{\"account_id\": \"{ACCOUNT}\", \"users\": [{{\"id\": \"f174e90a-fafe-4643-bbbc-4a0ed4fc8415\", \"email\": \"\\u0085eve@example.com\\u2028\"}}, {{\"id\": \"2a7c3f0e-5b1d-4d6e-9f8a-1c2b3d4e5f60\", \"email\": \"alice@example.com\"}}]}}"),
        "seed.json",
    )
    .unwrap();
    let w = World::with_seed(seed);
    let file = w.permissive_allowlist(&["alice@example.com"]);
    let plan = w.dir.path().join("plan.json");
    let r = w.run(&["plan", "-f", s(&file), "--out", s(&plan)]);
    assert_eq!(r.code, 0, "{r:?}");
    let text = std::fs::read_to_string(&plan).unwrap();
    assert_nothing_hostile("the saved plan", &text);
    assert!(text.contains("\"\\u0085eve@example.com\\u2028\""), "{text}");
    let r = w.run(&["apply", s(&plan), "-f", s(&file)]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.live_emails(), ["alice@example.com"]);
}

#[test]
fn markdown_plan_escapes_every_character_the_terminal_escapes() {
    let w = hostile_name_world();
    let file = w.permissive_allowlist(&["alice@example.com"]);
    let r = w.run(&["plan", "--format", "markdown", "-f", s(&file)]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_nothing_hostile("stdout", &r.stdout);
    assert!(
        r.stdout
            .contains("Eve&#92;u{85}&#92;u{9b}2J&#92;u{7f}&#92;u{202e}&#92;u{200b}&#92;u{61c}&#92;u{2028}&#92;u{3164}&#92;u{fe0f}&#92;u{e0041}&#92;u{1b}&#91;2K"),
        "{r:?}"
    );
    assert!(r.stdout.contains("&#92;u{200b}"), "{r:?}");
    assert_eq!(w.deletes(), 0);
}

#[test]
fn explain_escapes_the_typed_address_and_the_live_id_and_name() {
    // A live user whose id is not a UUID (the plan holds it back) and would clear the screen.
    let seed = Seed::from_str(
        &format!("{{\"account_id\": \"{ACCOUNT}\", \"users\": [{{\"id\": \"\\u001b[2J\\u009b2J\\u202eevil\", \"email\": \"eve@example.com\", \"name\": \"{HOSTILE_NAME_JSON}\"}}]}}"),
        "seed.json",
    )
    .unwrap();
    let w = World::with_seed(seed);
    let file = w.allowlist(&["alice@example.com"]);
    let r = w.run(&["explain", "eve@example.com", "-f", s(&file)]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_nothing_hostile("stdout", &r.stdout);
    assert!(
        r.stdout
            .contains("live:  user \\u{1b}[2J\\u{9b}2J\\u{202e}evil "),
        "{r:?}"
    );
    assert!(r.stdout.contains("\\u{3164}\\u{fe0f}"), "{r:?}");
    // An address that is not one is shown as typed: escaped.
    let r = w.run(&[
        "explain",
        "ev\u{202e}e\u{200b}\u{1b}[2J@example.com",
        "-f",
        s(&file),
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_nothing_hostile("stdout", &r.stdout);
    assert!(
        r.stdout
            .contains("ev\\u{202e}e\\u{200b}\\u{1b}[2j@example.com"),
        "{r:?}"
    );
    assert_eq!(w.deletes(), 0);
}

#[test]
fn an_unknown_saved_plan_version_is_shown_escaped() {
    let w = World::demo();
    let file = w.allowlist(&["alice@example.com"]);
    let plan = w.file(
        "plan.json",
        "{\"kind\": \"reconcile-saved-plan\", \"format_version\": \"\\u009b2J\\u202eX\\u001b[1A\"}\n",
    );
    let r = w.run(&["apply", s(&plan), "-f", s(&file)]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("saved plan format version \"\\u{9b}2J\\u{202e}X\\u001b[1A\""),
        "{r:?}"
    );
    assert_nothing_hostile("stderr", &r.stderr);
    assert_eq!(w.requests(), 0);
}

#[test]
fn an_invalid_environment_value_is_shown_escaped() {
    let w = World::demo();
    let file = w.allowlist(&["alice@example.com"]);
    let mut cmd = w.cmd(&["apply", "-f", s(&file)]);
    cmd.env("RECONCILE_AUTO_APPROVE", "\u{9b}2J\u{1b}[1A\u{202e}yes");
    let r = run(cmd);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("RECONCILE_AUTO_APPROVE is `\\u{9b}2j\\u{1b}[1a\\u{202e}yes`"),
        "{r:?}"
    );
    assert_nothing_hostile("stderr", &r.stderr);
    let mut cmd = w.cmd(&["plan", "-f", s(&file)]);
    cmd.env("RECONCILE_RETRY_DELAY_MS", "\u{9b}2J\u{200b}5");
    let r = run(cmd);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("RECONCILE_RETRY_DELAY_MS is `\\u{9b}2J\\u{200b}5`"),
        "{r:?}"
    );
    assert_nothing_hostile("stderr", &r.stderr);
    assert_eq!(w.requests(), 0);
}
