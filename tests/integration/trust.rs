//! Trust: hostile or careless input never deletes a user the allowlist keeps, nor keeps one it
//! should delete without saying so. Each test here was a wrong deletion (or a silent keep) on
//! the release before the checked types: invisible characters, internationalised domains, rails
//! that counted users who can never be deleted, and saved plans applied to an account that
//! changed since the review.

use std::path::Path;

use crate::harness::*;
use reconcile::sandbox::Seed;
use serde_json::Value;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A seed of users `(n, email)`; `None` writes a user without an email.
fn seed(users: &[(u32, Option<&str>)]) -> Seed {
    let mut text = format!("account_id: {ACCOUNT}\nusers:\n");
    for (n, email) in users {
        text.push_str(&format!("  - id: 00000000-0000-4000-8000-{n:012}\n"));
        if let Some(e) = email {
            // JSON string escapes are YAML escapes: invisible characters survive as written.
            text.push_str(&format!("    email: {}\n", Value::String(e.to_string())));
        }
    }
    Seed::from_str(&text, "seed.yaml").unwrap()
}

fn world(users: &[(u32, Option<&str>)]) -> World {
    World::with_seed(seed(users))
}

#[test]
fn a_protected_address_with_an_invisible_character_is_an_error_not_a_rule_that_protects_nobody() {
    let w = world(&[
        (1, Some("keep@example.com")),
        (2, Some("breakglass@example.com")),
        (3, Some("x@example.com")),
    ]);
    let file = w.file(
        "users.yaml",
        &format!(
            "account_id: {ACCOUNT}\nusers: [keep@example.com]\nprotected:\n  - \"break\\u200bglass@example.com\"\n"
        ),
    );
    let r = w.run(&["validate", "-f", s(&file)]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains(&format!("{}:4:5:", file.display()))
            && r.stderr
                .contains("it contains U+200B at character 6, an invisible format character"),
        "{r:?}"
    );
    // The message shows the character escaped, never raw.
    assert!(!r.stderr.contains('\u{200b}'), "{r:?}");
    let r = w.run(&["apply", "--auto-approve", "-f", s(&file)]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(w.requests(), 0, "nothing is listed from an invalid file");
    assert_eq!(w.live_emails().len(), 3);
}

#[test]
fn an_allowlist_entry_with_two_invisible_characters_is_an_error_not_a_deletion() {
    // Two invisible characters make the entry two edits from the live address: the typo rail
    // alone would not hold alice.
    let w = world(&[(1, Some("alice@example.com")), (2, Some("bob@example.com"))]);
    let file = w.file(
        "users.yaml",
        &format!(
            "account_id: {ACCOUNT}\nusers:\n  - bob@example.com\n  - \"a\\u00adli\\u2060ce@example.com\"\n"
        ),
    );
    let r = w.run(&["apply", "--auto-approve", "-f", s(&file)]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("U+00AD"), "{r:?}");
    assert_eq!(w.deletes(), 0);
    assert_eq!(w.live_emails(), ["alice@example.com", "bob@example.com"]);
}

#[test]
fn a_live_address_with_an_invisible_character_is_held_never_deleted() {
    let w = world(&[
        (1, Some("keep@example.com")),
        (2, Some("break\u{200b}glass@example.com")),
        (3, Some("keep2@example.com")),
    ]);
    let file = w.allowlist(&["keep@example.com", "keep2@example.com"]);
    let r = w.run(&["plan", "--format", "json", "-f", s(&file)]);
    assert_eq!(r.code, 0, "{r:?}");
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    let held: Vec<&Value> = doc["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["decision"] == "held")
        .collect();
    assert_eq!(held.len(), 1, "{r:?}");
    assert_eq!(held[0]["reason"]["kind"], "unusable_address");
    assert!(held[0]["reason"]["text"]
        .as_str()
        .unwrap()
        .contains("U+200B"));
    let r = w.run(&["apply", "--auto-approve", "-f", s(&file)]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.deletes(), 0, "{r:?}");
    // The human plan names it with the character escaped.
    assert!(
        r.stdout.contains("break\\u{200b}glass@example.com"),
        "{r:?}"
    );
}

#[test]
fn internationalised_domains_match_in_unicode_and_punycode() {
    let w = world(&[
        (1, Some("anna@xn--bcher-kva.example")),
        (2, Some("bob@caf\u{e9}.example")),
        (3, Some("ops@xn--ls8h.example")),
        (4, Some("keep@example.com")),
        (5, Some("x@other.example")),
    ]);
    let file = w.file(
        "users.yaml",
        &format!(
            "account_id: {ACCOUNT}\nusers:\n  - \"anna@b\u{fc}cher.example\"\n  - keep@example.com\ndomains: [xn--caf-dma.example]\nprotected: [\"*@\u{1f4a9}.example\"]\n"
        ),
    );
    let r = w.run(&["apply", "--auto-approve", "-f", s(&file)]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.deletes(), 1, "{r:?}");
    assert_eq!(
        w.live_emails(),
        [
            "anna@xn--bcher-kva.example",
            "bob@caf\u{e9}.example",
            "keep@example.com",
            "ops@xn--ls8h.example"
        ]
    );
}

#[test]
fn the_demo_account_with_an_allowlist_naming_nobody_live_is_refused_as_deleting_everyone() {
    // The demo seed has one user without an email; it can never be deleted, so it does not
    // make "everyone" smaller.
    let w = World::demo();
    let file = w.allowlist(&["nobody@example.com"]);
    let r = w.run(&["plan", "--format", "json", "-f", s(&file)]);
    assert_eq!(r.code, 1, "{r:?}");
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(doc["refusal"]["kind"], "delete_all", "{r:?}");
    let r = w.run(&["apply", "--auto-approve", "-f", s(&file)]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("live users it could delete"), "{r:?}");
    assert_eq!(w.deletes(), 0);
}

#[test]
fn service_users_without_email_do_not_make_deleting_every_person_a_quarter() {
    let mut users: Vec<(u32, Option<String>)> = (0..30).map(|n| (n, None)).collect();
    users.extend((30..40).map(|n| (n, Some(format!("person{n}@example.com")))));
    let users: Vec<(u32, Option<&str>)> = users.iter().map(|(n, e)| (*n, e.as_deref())).collect();
    let w = world(&users);
    let file = w.allowlist(&["nobody@example.com"]);
    let r = w.run(&["apply", "--auto-approve", "-f", s(&file)]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("the plan deletes every one of the 10 live users it could delete"),
        "{r:?}"
    );
    assert_eq!(w.deletes(), 0);
    assert_eq!(w.sandbox.sandbox().user_count(), 40);
}

#[test]
fn a_saved_plan_is_refused_when_the_account_shrank_to_its_deletions() {
    let planned = world(&[
        (1, Some("alice@example.com")),
        (2, Some("bob@example.com")),
        (3, Some("carol@example.com")),
    ]);
    let file = planned.allowlist(&["alice@example.com"]);
    let plan = planned.dir.path().join("plan.json");
    let r = planned.run(&["plan", "-f", s(&file), "--out", s(&plan)]);
    assert_eq!(r.code, 0, "{r:?}");
    // Alice, the one kept user, was deleted meanwhile.
    let now = world(&[(2, Some("bob@example.com")), (3, Some("carol@example.com"))]);
    let r = now.run(&["apply", s(&plan), "-f", s(&file)]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("no longer passes the safety rails: safety rail: the plan deletes every one of the 2 live users"),
        "{r:?}"
    );
    assert!(r.stderr.contains("nothing was deleted"), "{r:?}");
    assert_eq!(now.deletes(), 0);
    assert_eq!(now.live_emails(), ["bob@example.com", "carol@example.com"]);
}

#[test]
fn a_saved_plan_is_refused_when_its_deletions_are_now_more_than_the_fraction() {
    let mut users: Vec<(u32, Option<String>)> = (1..=9)
        .map(|n| (n, Some(format!("keep{n}@example.com"))))
        .collect();
    users.extend((10..=12).map(|n| (n, Some(format!("x{n}@example.com")))));
    let all: Vec<(u32, Option<&str>)> = users.iter().map(|(n, e)| (*n, e.as_deref())).collect();
    let planned = world(&all);
    let kept: Vec<String> = (1..=9).map(|n| format!("keep{n}@example.com")).collect();
    let kept: Vec<&str> = kept.iter().map(String::as_str).collect();
    let file = planned.allowlist(&kept);
    let plan = planned.dir.path().join("plan.json");
    let r = planned.run(&["plan", "-f", s(&file), "--out", s(&plan)]);
    assert_eq!(r.code, 0, "3 of 12 is within a quarter: {r:?}");
    // Two kept users left: 3 of 10 is more than a quarter.
    let now = world(&all[2..]);
    let r = now.run(&["apply", s(&plan), "-f", s(&file)]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("more than max_delete_fraction"), "{r:?}");
    assert_eq!(now.deletes(), 0);
}

#[test]
fn a_protected_entry_that_matches_nobody_is_reported_and_its_near_miss_held() {
    let w = world(&[
        (1, Some("alice@example.com")),
        (2, Some("breakglass@example.com")),
        (3, Some("mallory@example.com")),
        (4, Some("bob@example.com")),
    ]);
    let file = w.file(
        "users.yaml",
        &format!(
            "account_id: {ACCOUNT}\nusers: [alice@example.com, bob@example.com]\nprotected:\n  - breakglas@example.com\n"
        ),
    );
    let r = w.run(&["plan", "-f", s(&file)]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout
            .contains("Protected entries that match no live user"),
        "{r:?}"
    );
    assert!(
        r.stdout.contains(&format!(
            "breakglass@example.com: protected entry `breakglas@example.com` at {}:4:5 is one edit from live `breakglass@example.com`: correct line 4",
            file.display()
        )),
        "{r:?}"
    );
    let r = w.run(&["plan", "--format", "json", "-f", s(&file)]);
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        doc["unmatched_protected"][0]["written"],
        "breakglas@example.com"
    );
    let r = w.run(&["apply", "--auto-approve", "-f", s(&file)]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.deletes(), 1);
    assert_eq!(
        w.live_emails(),
        [
            "alice@example.com",
            "bob@example.com",
            "breakglass@example.com"
        ]
    );
}

#[test]
fn ids_that_differ_only_in_letter_case_never_send_a_delete_to_the_kept_user() {
    // The API lists a protected user and an extra whose ids are one UUID in two cases: a DELETE
    // for the extra would reach the protected user.
    let seed = Seed::from_str(
        &format!(
            "account_id: {ACCOUNT}\nusers:\n  - {{id: 0b5b6c4e-1d1f-4a51-9a57-9d8b1b0f7a01, email: breakglass@corp.com}}\n  - {{id: 0B5B6C4E-1D1F-4A51-9A57-9D8B1B0F7A01, email: contractor@corp.com}}\n  - {{id: 2a7c3f0e-5b1d-4d6e-9f8a-1c2b3d4e5f60, email: alice@corp.com}}\n"
        ),
        "seed.yaml",
    )
    .unwrap();
    let w = World::with_seed(seed);
    let file = w.file(
        "users.yaml",
        &format!(
            "account_id: {ACCOUNT}\nusers: [alice@corp.com]\nprotected: [breakglass@corp.com]\n"
        ),
    );
    for args in [
        vec!["apply", "--auto-approve", "-f", s(&file)],
        vec!["plan", "-f", s(&file)],
    ] {
        let r = w.run(&args);
        assert_eq!(r.code, 1, "{r:?}");
        assert!(
            r.stderr.contains("is listed twice with different emails"),
            "{r:?}"
        );
    }
    assert_eq!(w.deletes(), 0);
    assert_eq!(w.live_emails().len(), 3);
}
