//! Look-alikes: an allowlist, protected or domain entry written with other characters that look
//! the same (Cyrillic letters, a ligature) matches nobody, and once deleted the colleague it was
//! meant for. Each test here deleted that colleague on the release before the confusable
//! skeletons; the last one pins that indexing the protected patterns kept what each shape keeps.

use std::path::Path;

use crate::harness::*;
use reconcile::sandbox::Seed;
use serde_json::Value;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A world whose users are `(n, email)`.
fn world(users: &[(u32, &str)]) -> World {
    let mut text = format!("account_id: {ACCOUNT}\nusers:\n");
    for (n, email) in users {
        text.push_str(&format!(
            "  - id: 00000000-0000-4000-8000-{n:012}\n    email: {}\n",
            Value::String(email.to_string())
        ));
    }
    World::with_seed(Seed::from_str(&text, "seed.yaml").unwrap())
}

/// A desired-state file; `body` follows `account_id:` (JSON escapes work in quoted scalars).
fn desired(w: &World, body: &str) -> std::path::PathBuf {
    w.file("users.yaml", &format!("account_id: {ACCOUNT}\n{body}"))
}

#[test]
fn a_cyrillic_look_alike_entry_holds_the_user_it_looks_like() {
    let w = world(&[
        (1, "alice@corp.com"),
        (2, "keep@corp.com"),
        (3, "mallory@corp.com"),
    ]);
    let file = desired(
        &w,
        "users:\n  - \"\\u0430lic\\u0435@corp.com\"\n  - keep@corp.com\n",
    );
    let r = w.run(&["apply", "--auto-approve", "-f", s(&file)]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("alice@corp.com: `")
            && r.stdout.contains("looks like live `alice@corp.com`"),
        "{r:?}"
    );
    assert!(
        r.stderr.contains(&format!(
            "{}:3:5: this address mixes scripts (Latin and Cyrillic)",
            file.display()
        )),
        "{r:?}"
    );
    assert_eq!(w.deletes(), 1);
    assert_eq!(w.live_emails(), ["alice@corp.com", "keep@corp.com"]);
}

#[test]
fn a_ligature_in_an_entry_or_a_protected_address_holds_the_user_it_looks_like() {
    let w = world(&[
        (1, "fiona.ford@corp.com"),
        (2, "ijssel@corp.com"),
        (3, "keep@corp.com"),
        (4, "mallory@corp.com"),
    ]);
    let file = desired(
        &w,
        "users:\n  - \"\\ufb01ona.ford@corp.com\"\n  - keep@corp.com\nprotected:\n  - \"\\u0133ssel@corp.com\"\n",
    );
    let r = w.run(&["plan", "--format", "json", "-f", s(&file)]);
    assert_eq!(r.code, 0, "{r:?}");
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    let held: Vec<(&str, &str)> = doc["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["decision"] == "held")
        .map(|u| {
            (
                u["email"].as_str().unwrap(),
                u["reason"]["kind"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        held,
        [
            ("fiona.ford@corp.com", "near_miss"),
            ("ijssel@corp.com", "near_miss")
        ]
    );
    let r = w.run(&["apply", "--auto-approve", "-f", s(&file)]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.deletes(), 1);
    assert_eq!(
        w.live_emails(),
        ["fiona.ford@corp.com", "ijssel@corp.com", "keep@corp.com"]
    );
}

#[test]
fn a_look_alike_domain_is_reported_and_holds_the_users_of_the_domain_it_looks_like() {
    let w = world(&[
        (1, "alice@corp.com"),
        (2, "bob@corp.com"),
        (3, "carol@corp.com"),
        (4, "eve@elsewhere.example"),
    ]);
    // Cyrillic с and о (U+0441, U+043E).
    let file = desired(
        &w,
        "users: [alice@corp.com]\ndomains:\n  - \"\\u0441\\u043erp.com\"\n",
    );
    let r = w.run(&["plan", "--format", "json", "-f", s(&file)]);
    assert_eq!(r.code, 0, "{r:?}");
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(doc["counts"]["unmatched_domains"], 1);
    assert_eq!(
        doc["unmatched_domains"][0]["domain"],
        "\u{441}\u{43e}rp.com"
    );
    assert_eq!(doc["unmatched_domains"][0]["location"]["line"], 4);
    let r = w.run(&["plan", "-f", s(&file)]);
    assert!(
        r.stdout.contains("Domain entries that match no live user"),
        "{r:?}"
    );
    let r = w.run(&["plan", "--format", "markdown", "-f", s(&file)]);
    assert!(
        r.stdout
            .contains("### Domain entries that match no live user"),
        "{r:?}"
    );
    let r = w.run(&["apply", "--auto-approve", "-f", s(&file)]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout
            .contains("bob@corp.com: domain entry `\u{441}\u{43e}rp.com`"),
        "{r:?}"
    );
    assert_eq!(w.deletes(), 1);
    assert_eq!(
        w.live_emails(),
        ["alice@corp.com", "bob@corp.com", "carol@corp.com"]
    );
}

#[test]
fn a_mistyped_domain_holds_the_users_of_the_domain_one_edit_away() {
    let w = world(&[
        (1, "alice@corp.com"),
        (2, "bob@corp.com"),
        (3, "eve@elsewhere.example"),
    ]);
    let file = desired(&w, "users: [alice@corp.com]\ndomains: [corp.co]\n");
    let r = w.run(&["apply", "--auto-approve", "-f", s(&file)]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout
            .contains("is one edit from the domain of live `bob@corp.com`"),
        "{r:?}"
    );
    assert_eq!(w.live_emails(), ["alice@corp.com", "bob@corp.com"]);
}

#[test]
fn a_mixed_script_entry_is_a_warning_at_its_line_not_an_error() {
    let w = world(&[(1, "keep@corp.com")]);
    let file = desired(
        &w,
        "users:\n  - keep@corp.com\n  - \"b\\u043eb@corp.com\"\nprotected: [\"\\u0430dmin@corp.com\"]\n",
    );
    let r = w.run(&["validate", "-f", s(&file)]);
    assert_eq!(r.code, 0, "{r:?}");
    for at in ["4:5", "5:13"] {
        assert!(
            r.stderr.contains(&format!(
                "{}:{at}: this address mixes scripts (Latin and Cyrillic): it may be a look-alike of another address",
                file.display()
            )),
            "{at}: {r:?}"
        );
    }
}

#[test]
fn every_shape_of_protected_pattern_still_keeps_its_users() {
    let w = world(&[
        (1, "robot@svc.example"),
        (2, "ops@anywhere.example"),
        (3, "x@deep.sub.corp.example"),
        (4, "abz@x.example"),
        (5, "keep@corp.example"),
        (6, "mallory@corp.example"),
        (7, "ops2@anywhere.example"),
    ]);
    let file = desired(
        &w,
        "users: [keep@corp.example]\nprotected:\n  - \"*@svc.example\"\n  - \"ops@*\"\n  - \"*@*.corp.example\"\n  - \"a*z@x.example\"\n  - \"*@nobody.example\"\n",
    );
    let r = w.run(&["plan", "--format", "json", "-f", s(&file)]);
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    let unmatched: Vec<&str> = doc["unmatched_protected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["pattern"].as_str().unwrap())
        .collect();
    assert_eq!(unmatched, ["*@nobody.example"]);
    let r = w.run(&["apply", "--auto-approve", "-f", s(&file)]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        w.live_emails(),
        [
            "abz@x.example",
            "keep@corp.example",
            "ops@anywhere.example",
            "robot@svc.example",
            "x@deep.sub.corp.example"
        ]
    );
}
