//! Hostile input: the loader never panics, whatever the bytes, and what could make it slow
//! (an alias bomb, deep nesting) is refused for the reason that keeps it linear: aliases are
//! refused before anything is expanded, and nesting is capped. These tests read no clock:
//! a bound on elapsed time would fail on a busy machine and pass a slow parser on a fast one,
//! while the reasons asserted here hold on any.

use super::*;
use proptest::prelude::*;

const VALID: &str = "version: 1\naccount_id: 023e105f4ecef8ad9ca31a8372d0c353\nusers:\n  - alice@example.com\n  - email: bob@example.com\n    note: \"contractor\"\n    expires: 2027-01-31\ndomains: [example.com]\nprotected:\n  - \"*@svc.example.com\"\npolicy: {max_deletes: 5, hold_active_within: 7d}\n";

/// Parse, and check that any error is well-formed: in this file, at a real position.
fn parse_checked(text: &str) -> Result<Desired, ConfigError> {
    let result = parse_str(text, "fuzz.yaml");
    if let Err(e) = &result {
        assert!(!e.diagnostics.is_empty());
        for d in &e.diagnostics {
            assert_eq!(d.location.as_ref().unwrap().file, "fuzz.yaml");
            let at = d.location.as_ref().unwrap();
            assert!(at.line >= 1 && at.col >= 1, "{d}");
        }
    }
    result
}

/// The one message of a refused input.
fn refusal(text: &str) -> String {
    let e = parse_checked(text).unwrap_err();
    assert_eq!(e.diagnostics.len(), 1, "{e}");
    e.diagnostics[0].message.clone()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn random_text_never_panics(text in ".{0,400}") {
        let _ = parse_checked(&text);
    }

    #[test]
    fn yaml_shaped_noise_never_panics(text in "[a-z_:@.\\-\\[\\]{}*&!|>'\" \n#0-9]{0,300}") {
        let _ = parse_checked(&text);
    }

    #[test]
    fn truncated_documents_give_clean_errors(cut in 0..VALID.len()) {
        if VALID.is_char_boundary(cut) {
            let _ = parse_checked(&VALID[..cut]);
        }
    }

    #[test]
    fn mutated_documents_never_panic(at in 0..VALID.len(), byte in any::<u8>(), insert in any::<bool>()) {
        let mut bytes = VALID.as_bytes().to_vec();
        if insert { bytes.insert(at, byte) } else { bytes[at] = byte }
        // Invalid UTF-8 is refused before parsing (see `read`); parse what is text.
        if let Ok(text) = String::from_utf8(bytes) {
            let _ = parse_checked(&text);
        }
    }

    #[test]
    fn wrong_types_and_huge_numbers_give_clean_errors(
        key in prop::sample::select(vec!["version", "account_id", "users", "domains", "protected", "policy"]),
        value in prop::sample::select(vec!["99999999999999999999999999999999999", "-1", "[[[]]]", "{a: {b: {c: d}}}", "~", "true", "1e999", "\"\\u0000\"", "!!binary aGVsbG8="]),
    ) {
        let _ = parse_checked(&format!("users: [a@example.com]\n{key}: {value}\n"));
    }
}

#[test]
fn bombs_and_huge_inputs_are_refused_for_what_keeps_them_cheap() {
    // Billion laughs: refused at its first alias (line 2), before anything is expanded.
    let mut bomb = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for i in 0..9u8 {
        let (prev, next) = ((b'a' + i) as char, (b'b' + i) as char);
        bomb.push_str(&format!("{next}: &{next} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"));
    }
    let e = parse_checked(&bomb).unwrap_err();
    assert_eq!(e.diagnostics.len(), 1, "{e}");
    assert!(e.diagnostics[0].message.contains("aliases"), "{e}");
    assert_eq!(e.diagnostics[0].location.as_ref().unwrap().line, 2, "{e}");
    // Deep nesting: flow style stops at the scanner's recursion limit, block style at the
    // tree's depth cap; either way one syntax error on the first lines, not a stack overflow.
    let flow = refusal(&format!("users: {}", "[".repeat(100_000)));
    assert!(flow.starts_with("YAML syntax error"), "{flow}");
    let deep: String = (0..200)
        .map(|d| format!("{}k{d}:\n", "  ".repeat(d)))
        .collect();
    let block = refusal(&deep);
    assert!(block.contains("nested more than"), "{block}");
    // A long list is read whole, every entry kept.
    let mut long = String::from("users:\n");
    for i in 0..50_000 {
        long.push_str(&format!("  - user{i}@example.com\n"));
    }
    assert_eq!(parse_checked(&long).unwrap().entries.len(), 50_000);
    // A huge scalar gives a clean answer (the address is too long) rather than a panic.
    let huge = format!("users: [\"{}@example.com\"]\n", "a".repeat(1_000_000));
    let _ = parse_checked(&huge);
}
