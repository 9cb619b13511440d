//! The checks of one file, through [`crate::config::parse_str`]: each problem at its line and
//! column, with its message and help.

use super::super::testing::*;
use super::super::*;
use crate::date::Date;

#[test]
fn invisible_characters_are_errors_at_their_entry_naming_the_code_point() {
    // In `protected:`: it would protect nobody, and the plan would delete breakglass@.
    let e =
        first_error("users: [a@example.com]\nprotected:\n  - \"break\\u200bglass@example.com\"\n");
    assert!(
            e.starts_with("users.yaml:3:5: `break\\u{200b}glass@example.com` is not an address or an address pattern: it contains U+200B at character 6, an invisible format character"),
            "{e}"
        );
    assert!(e.contains("type the value again by hand"), "{e}");
    // In `users:`, twice in one address, and in the mapping form.
    let all = errors(
        "users:\n  - \"a\\u00adli\\u2060ce@example.com\"\n  - email: \"bob\\ufeff@example.com\"\n",
    );
    let text: Vec<String> = all.iter().map(|d| d.to_string()).collect();
    assert!(
        text[0].starts_with("users.yaml:2:5:") && text[0].contains("U+00AD at character 2"),
        "{text:?}"
    );
    assert!(
        text[1].starts_with("users.yaml:3:12:") && text[1].contains("U+FEFF"),
        "{text:?}"
    );
    // In `domains:` and in a pattern.
    let e = first_error("users: [a@example.com]\ndomains: [\"exa\\u200dmple.com\"]\n");
    assert!(e.contains("U+200D"), "{e}");
    let e = first_error("users: [a@example.com]\nprotected: [\"*\\u200b@example.com\"]\n");
    assert!(e.contains("U+200B at character 2"), "{e}");
}

#[test]
fn internationalised_domains_are_stored_in_one_form() {
    let d = ok("users: [anna@XN--BCHER-KVA.example]\ndomains: [xn--caf-dma.example]\nprotected: [\"*@xn--bcher-kva.example\"]\n");
    assert_eq!(d.entries[0].email, "anna@b\u{fc}cher.example");
    assert_eq!(d.domains[0].domain, "caf\u{e9}.example");
    assert_eq!(d.protected[0].pattern, "*@b\u{fc}cher.example");
    // The same entry in both forms is one entry.
    let d = ok("users: [anna@xn--bcher-kva.example, \"anna@b\u{fc}cher.example\"]\n");
    assert_eq!(d.entries.len(), 1);
    assert_eq!(d.warnings.len(), 1);
}

#[test]
fn an_entry_that_mixes_scripts_is_a_warning_at_its_entry() {
    // Cyrillic а and е in a Latin address; Cyrillic с and о in a Latin domain.
    let d = ok(
            "users:\n  - \"\u{430}lic\u{435}@corp.com\"\n  - email: \"b\u{43e}b@corp.com\"\ndomains: [\"\u{441}\u{43e}rp.com\"]\nprotected: [\"*@\u{441}orp.com\", \"jos\u{e9}@b\u{fc}cher.example\"]\n",
        );
    let warnings: Vec<String> = d.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(warnings.len(), 4, "{warnings:?}");
    assert!(warnings[0].starts_with("users.yaml:2:5: this address mixes scripts (Latin and Cyrillic): it may be a look-alike of another address"), "{warnings:?}");
    assert!(
        warnings[1].starts_with("users.yaml:3:5: this address mixes scripts"),
        "{warnings:?}"
    );
    assert!(
        warnings[2].starts_with("users.yaml:4:11: this domain mixes scripts (Latin and Cyrillic)"),
        "{warnings:?}"
    );
    assert!(
        warnings[3].starts_with("users.yaml:5:13: this address mixes scripts"),
        "{warnings:?}"
    );
    // One script (accents are Latin), or a whole address in another script: no warning.
    assert!(ok("users: [\"jos\u{e9}@b\u{fc}cher.example\", \"\u{438}\u{432}\u{430}\u{43d}@\u{43f}\u{440}\u{438}\u{43c}\u{435}\u{440}.\u{440}\u{444}\"]\n").warnings.is_empty());
}

#[test]
fn minimal_file() {
    let d = ok(&format!(
        "account_id: {ACCOUNT}\nusers:\n  - Alice@Example.com\n  - bob@example.com\n"
    ));
    assert_eq!(d.account().map(|a| a.as_str()), Some(ACCOUNT));
    let emails: Vec<_> = d.entries.iter().map(|e| e.email.as_str()).collect();
    assert_eq!(emails, ["alice@example.com", "bob@example.com"]);
    assert_eq!(d.entries[0].written, "Alice@Example.com");
    assert_eq!(d.entries[0].location.to_string(), "users.yaml:3:5");
    assert!(d.warnings.is_empty() && d.domains.is_empty() && d.protected.is_empty());
    assert_eq!(d.files, ["users.yaml"]);
}

#[test]
fn every_field_of_version_1() {
    let d = ok(&format!(
            "version: 1\naccount_id: {ACCOUNT}\nusers:\n  - alice@example.com\n  - email: Bob@Example.com\n    note: \"contractor, ticket SEC-123\"\n    expires: 2027-01-31\ndomains:\n  - Example.ORG\nprotected:\n  - breakglass@example.com\n  - \"*@svc.example.com\"\n"
        ));
    let bob = &d.entries[1];
    assert_eq!(bob.email, "bob@example.com");
    assert_eq!(bob.note.as_deref(), Some("contractor, ticket SEC-123"));
    assert_eq!(bob.expires, Some(Date::parse("2027-01-31").unwrap()));
    assert_eq!(bob.location.to_string(), "users.yaml:5:5");
    assert_eq!(d.domains[0].domain, "example.org");
    assert_eq!(d.domains[0].location.to_string(), "users.yaml:9:5");
    assert_eq!(d.protected.len(), 2);
    assert!(d.protected[1].is_pattern());
    assert!(d.protected[1].matches("robot@svc.example.com"));
    assert!(!d.protected[1].matches("robot@svc.example.com.evil"));
}

#[test]
fn version_may_be_left_out_but_not_wrong() {
    assert!(parse_str("users: [a@b.co]\n", "u.yaml").is_ok());
    let e = first_error("version: 2\nusers: [a@b.co]\n");
    assert!(
        e.starts_with("users.yaml:1:10: unsupported version `2`"),
        "{e}"
    );
    assert!(first_error("version: [1]\nusers: [a@b.co]\n").contains("must be a number"));
}

#[test]
fn account_id_is_optional_and_lower_cased() {
    assert_eq!(ok("users: [a@b.co]\n").account(), None);
    let upper = ACCOUNT.to_ascii_uppercase();
    assert_eq!(
        ok(&format!("account_id: \"{upper}\"\nusers: [a@b.co]\n"))
            .account()
            .map(|a| a.as_str()),
        Some(ACCOUNT)
    );
    let e = first_error("account_id: 1234\nusers: [a@b.co]\n");
    assert!(
        e.starts_with("users.yaml:1:13: `1234` is not a Cloudflare account id"),
        "{e}"
    );
    assert!(e.contains("help: copy the Account ID"), "{e}");
}

#[test]
fn every_error_is_reported_with_its_line_and_column() {
    let errs = errors(
            "account_id: nope\nuser:\n  - a@b.co\nusers:\n  - not-an-email\n  - ok@example.com\n  - also bad@example.com\n  - email: c@d.co\n    expire: 2027-01-01\ndomains: ['@example.com']\n",
        );
    let at: Vec<String> = errs
        .iter()
        .map(|d| d.location.as_ref().unwrap().to_string())
        .collect();
    assert_eq!(
        at,
        [
            "users.yaml:1:13",
            "users.yaml:2:1",
            "users.yaml:5:5",
            "users.yaml:7:5",
            "users.yaml:9:5",
            "users.yaml:10:11"
        ],
        "{errs:#?}"
    );
    assert!(errs[1]
        .help
        .as_deref()
        .unwrap()
        .contains("did you mean `users`"));
    assert!(errs[4].message.contains("unknown key `expire`"));
    assert!(errs[4]
        .help
        .as_deref()
        .unwrap()
        .contains("did you mean `expires`"));
    assert!(errs[5].message.contains("without `@`"));
}

#[test]
fn invalid_entries() {
    assert!(
        first_error("users:\n  - email: a@b.co\n    expires: 2027-02-30\n")
            .contains("not a day of that month")
    );
    assert!(
        first_error("users:\n  - email: a@b.co\n    expires: tomorrow\n").contains("YYYY-MM-DD")
    );
    assert!(first_error("users:\n  - note: who?\n").contains("has no `email:`"));
    assert!(
        first_error("users:\n  - [a@b.co]\n").contains("expected an email address or a mapping")
    );
    assert!(first_error("users:\n  - email: [a@b.co]\n").contains("`email` must be a single value"));
    assert!(
        first_error("users: [a@b.co]\ndomains: [a@b.co]\n").contains("an address, not a domain")
    );
    assert!(first_error("users: [a@b.co]\ndomains: ['*.example.com']\n").contains("no wildcards"));
    assert!(first_error("users: [a@b.co]\ndomains: [localhost]\n").contains("not a valid domain"));
    assert!(
        first_error("users: [a@b.co]\nprotected: ['not an address']\n")
            .contains("not an address or an address pattern")
    );
    assert!(first_error("users: [a@b.co]\nprotected: ['*']\n").contains("exactly one '@'"));
    assert!(first_error("users: a@b.co\n").contains("`users` must be a list"));
}

#[test]
fn unquoted_pattern_gets_a_hint_to_quote_it() {
    let e = first_error("users: [a@b.co]\nprotected:\n  - *@svc.example.com\n");
    assert!(e.contains("users.yaml:3:"), "{e}");
    assert!(e.contains("quote patterns"), "{e}");
}

#[test]
fn empty_and_non_mapping_files() {
    assert!(first_error("").contains("the file is empty"));
    assert!(first_error("# just a comment\n").contains("the file is empty"));
    assert!(first_error("- a@b.co\n").contains("expected a mapping"));
}

#[test]
fn syntax_error_names_the_line() {
    let errs = errors("users:\n  - a@b.co\n  - [unclosed\n");
    assert!(errs[0].message.starts_with("YAML syntax error"), "{errs:?}");
    assert!(errs[0].location.as_ref().unwrap().line >= 3);
}

#[test]
fn duplicate_key_is_an_error() {
    assert!(
        first_error("users: [a@b.co]\nusers: [c@d.co]\n").contains("set twice (first on line 1)")
    );
}

#[test]
fn normalisation_of_case_spaces_and_unicode() {
    let d = ok("users:\n  - \"  Jos\u{e9}@Example.com \"\n  - \"jose\u{301}@example.com\"\ndomains: [' EXAMPLE.org ']\n");
    assert_eq!(d.entries.len(), 1, "the two spellings are one address");
    assert_eq!(d.entries[0].email, "jos\u{e9}@example.com");
    assert_eq!(d.warnings.len(), 1);
    assert_eq!(d.domains[0].domain, "example.org");
}

#[test]
fn policy_settings() {
    let d = ok("users: [a@b.co]\npolicy:\n  max_deletes: 20\n  max_delete_fraction: 0.1\n  allow_delete_all: true\n  hold_active_within: 7d\n");
    assert_eq!(d.policy.max_deletes.as_ref().map(|(n, _)| *n), Some(20));
    assert_eq!(
        d.policy.max_delete_fraction.as_ref().map(|(f, _)| *f),
        Some(0.1)
    );
    assert_eq!(
        d.policy.allow_delete_all.as_ref().map(|(b, _)| *b),
        Some(true)
    );
    let (span, at) = d.policy.hold_active_within.clone().unwrap();
    assert_eq!(
        (span.seconds, span.to_string()),
        (7 * 86_400, "7d".to_string())
    );
    assert_eq!(at.to_string(), "users.yaml:6:23");
    assert_eq!(
        ok("users: [a@b.co]\npolicy:\n").policy,
        PolicySettings::default()
    );
    let errs = errors("users: [a@b.co]\npolicy:\n  max_deletes: -1\n  max_delete_fraction: 1.5\n  allow_delete_all: yes\n  hold_active_within: 7 days\n  max_delete: 3\n");
    let lines: Vec<usize> = errs
        .iter()
        .map(|d| d.location.as_ref().unwrap().line)
        .collect();
    assert_eq!(lines, [3, 4, 5, 6, 7], "{errs:#?}");
    assert!(errs[4]
        .help
        .as_deref()
        .unwrap()
        .contains("did you mean `max_deletes`"));
}

#[test]
fn messages_escape_hostile_names_and_values() {
    let e = first_error("users: [a@b.co]\n\u{202e}evil\u{1b}[2K: 1\n");
    assert!(e.contains("unknown key `\\u{202e}evil\\u{1b}[2K`"), "{e}");
    let d = parse_str("users: [a@b.co]\n", "x\u{202e}y\u{2028}.yaml").unwrap();
    assert_eq!(
        d.entries[0].location.to_string(),
        "x\\u{202e}y\\u{2028}.yaml:1:9"
    );
}

#[test]
fn a_tab_in_indentation_says_indent_with_spaces_at_its_position() {
    for text in [
        "users:\n\t- alice@example.com\n",
        "users:\n  - alice@example.com\n\t- bob@example.com\n",
        "policy:\n\tmax_deletes: 3\nusers: [a@example.com]\n",
    ] {
        let e = parse_str(text, "tabs.yaml").unwrap_err();
        let shown = e.to_string();
        assert!(shown.contains("indent with spaces"), "{text:?}: {shown}");
        let tab_line = text.lines().position(|l| l.starts_with('\t')).unwrap() + 1;
        assert!(
            shown.contains(&format!("line {tab_line} is indented with a tab")),
            "{text:?}: {shown}"
        );
        assert!(
            shown.contains("tabs.yaml:2:") || shown.contains("tabs.yaml:3:"),
            "{shown}"
        );
    }
    // A tab inside a value is no indentation, and gets no such help.
    let e = parse_str("users:\n  - [broken\t\n", "t.yaml").unwrap_err();
    assert!(!e.to_string().contains("indent with spaces"), "{e}");
}

#[test]
fn a_long_list_is_read_in_file_order_with_its_findings_in_file_order() {
    // Long enough to be checked in parts on a machine with more than one core.
    let n = 20_000;
    let mut text = String::from("users:\n");
    for i in 0..n {
        match i {
            // Looks like another address: a warning at its line.
            7 | 12_345 | 19_998 => text.push_str(&format!("  - \"u{i}\u{430}@example.com\"\n")),
            _ => text.push_str(&format!("  - user{i}@example.com\n")),
        }
    }
    let d = ok(&text);
    assert_eq!(d.entries.len(), n);
    for (i, entry) in d.entries.iter().enumerate() {
        assert_eq!(entry.location.line, i + 2);
    }
    let lines: Vec<usize> = d
        .warnings
        .iter()
        .map(|w| w.location.as_ref().map_or(0, |l| l.line))
        .collect();
    assert_eq!(lines, [9, 12_347, 20_000]);
    // Errors are reported in the file's order too, whichever part found them.
    let broken = text
        .replace("user3@example.com", "not an address")
        .replace("user10000@example.com", "also not one")
        .replace("user19999@example.com", "nor this");
    let lines: Vec<usize> = errors(&broken)
        .iter()
        .map(|e| e.location.as_ref().map_or(0, |l| l.line))
        .collect();
    assert_eq!(lines, [5, 10_002, 20_001]);
}
