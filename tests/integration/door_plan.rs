//! `reconcile plan` reads and shows the door (docs/door.md, "The plan"): the Zero Trust lists
//! and the Access group, read with GETs only, planned and shown in every format; never written.
//! `plan --out` saves the door as read and the writes reviewed.
#![allow(clippy::unwrap_used)]

use reconcile::sandbox::{Options, Seed, TokenSpec};
use serde_json::Value;

use crate::harness::*;

/// The desired state: [`EVERYONE`] and this `door:` section (YAML, indented by two).
fn desired(w: &World, door: &str) -> String {
    let mut text = format!("account_id: {ACCOUNT}\nusers:\n");
    for e in EVERYONE {
        text.push_str(&format!("  - {e}\n"));
    }
    text.push_str("door:\n");
    text.push_str(door);
    let path = w.file("door.yaml", &text);
    path.to_str().unwrap().to_string()
}

const NAMED: &str =
    "  lists:\n    name: reconcile-allowlist\n  group:\n    name: Allowlisted people\n";

/// The demo seed with these `lists:` (YAML, top level) appended.
fn demo_with(lists: &str) -> World {
    World::with_seed(Seed::from_str(&format!("{DEMO_SEED}{lists}"), "seed.yaml").unwrap())
}

/// A list of the demo's addresses but `frank@example.com`, and one drift item.
fn seeded_list() -> String {
    let mut text = format!(
        "lists:\n  - id: {LIST_1}\n    name: reconcile-allowlist-1\n    type: EMAIL\n    items:\n"
    );
    for e in &EVERYONE[..5] {
        text.push_str(&format!(
            "      - {{value: {e}, description: \"reconcile: door.yaml:3\"}}\n"
        ));
    }
    text.push_str("      - mallory@example.com\n");
    text
}

/// Plan only reads: no write to a list or group, no DELETE of anything, every request a GET.
fn assert_only_read(w: &World) {
    assert!(w.door_writes().is_empty(), "{:?}", w.door_writes());
    assert_eq!(w.deletes(), 0);
    assert_eq!(w.user_deletes(), 0);
    assert_eq!(w.gets(), w.requests());
    assert_eq!(w.live_emails().len(), 7);
}

#[test]
fn from_nothing_the_plan_shows_the_list_and_the_group_to_create_and_writes_nothing() {
    let w = World::demo();
    let path = desired(&w, NAMED);
    let r = w.run(&["plan", "--detailed-exitcode", "-f", &path]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stdout.contains("The door ("), "{r:?}");
    assert!(
        r.stdout.contains("+ list \"reconcile-allowlist-1\" (+6)"),
        "{r:?}"
    );
    assert!(r.stdout.contains("+ carol@example.com"), "{r:?}");
    assert!(r.stdout.contains("group \"Allowlisted people\""), "{r:?}");
    assert!(r.stdout.contains("Door: 1 list to create"), "{r:?}");
    assert!(r.stdout.contains("group to create"), "{r:?}");
    // Nobody to delete: without --detailed-exitcode, success.
    let r = w.run(&["plan", "-f", &path]);
    assert_eq!(r.code, 0, "{r:?}");
    // The lists and the groups API were read (besides the users), never written.
    let requests = w.sandbox.sandbox().requests();
    assert!(requests.iter().any(|q| q.path.ends_with("/gateway/lists")));
    assert!(requests.iter().any(|q| q.path.ends_with("/access/groups")));
    assert_only_read(&w);
    assert!(w.sandbox.sandbox().lists().is_empty());
    assert!(w.sandbox.sandbox().groups().is_empty());
}

#[test]
fn one_address_missing_from_a_seeded_list_is_one_append_and_drift_is_shown_as_drift() {
    let w = demo_with(&seeded_list());
    let before = w.sandbox.sandbox().lists();
    let path = desired(&w, "  lists:\n    name: reconcile-allowlist\n");
    let r = w.run(&["plan", "--detailed-exitcode", "-f", &path]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stdout
            .contains("~ list \"reconcile-allowlist-1\" (+1 −1)"),
        "{r:?}"
    );
    assert!(r.stdout.contains("+ frank@example.com"), "{r:?}");
    assert!(r.stdout.contains("- mallory@example.com"), "{r:?}");
    assert!(r.stdout.contains("drift: not added by reconcile"), "{r:?}");
    assert!(!r.stdout.contains("+ alice@example.com"), "{r:?}");
    assert_only_read(&w);
    assert_eq!(w.sandbox.sandbox().lists(), before);
}

#[test]
fn the_json_plan_carries_the_door_object() {
    let w = demo_with(&seeded_list());
    let path = desired(&w, "  lists:\n    name: reconcile-allowlist\n");
    let r = w.run(&["plan", "--format", "json", "-f", &path]);
    assert_eq!(r.code, 0, "{r:?}");
    let plan: Value = serde_json::from_str(&r.stdout).unwrap();
    let door = &plan["door"];
    assert_eq!(door["has_changes"], true, "{door}");
    assert_eq!(door["refused"], false, "{door}");
    assert_eq!(door["entries"], 6, "{door}");
    assert_eq!(door["lists_needed"], 1, "{door}");
    assert_eq!(door["group"], Value::Null, "{door}");
    let lists = door["lists"].as_array().unwrap();
    assert_eq!(lists.len(), 1, "{door}");
    assert_eq!(lists[0]["target"]["id"], LIST_1, "{door}");
    assert_eq!(
        lists[0]["target"]["name"], "reconcile-allowlist-1",
        "{door}"
    );
    assert_eq!(lists[0]["kept"], 5, "{door}");
    let append = lists[0]["append"].as_array().unwrap();
    assert_eq!(append.len(), 1, "{door}");
    assert_eq!(append[0]["email"], "frank@example.com", "{door}");
    let remove = lists[0]["remove"].as_array().unwrap();
    assert_eq!(remove.len(), 1, "{door}");
    assert_eq!(remove[0]["value"], "mallory@example.com", "{door}");
    assert_eq!(remove[0]["reason"]["kind"], "drift", "{door}");
    assert_only_read(&w);
    // Without a `door:` section the door is null, as before.
    let users = w.allowlist(EVERYONE);
    let r = w.run(&["plan", "--format", "json", "-f", users.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    let plan: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(plan["door"], Value::Null);
}

#[test]
fn a_token_that_may_not_read_the_door_is_a_clear_error() {
    let w = World::with_options(
        Seed::from_str(DEMO_SEED, "seed.yaml").unwrap(),
        Options {
            tokens: vec![TokenSpec::parse("users-only:no-door", 0).unwrap()],
            ..Options::default()
        },
    );
    let path = desired(&w, NAMED);
    let mut cmd = w.cmd(&["plan", "--detailed-exitcode", "-f", &path]);
    cmd.env("CLOUDFLARE_API_TOKEN", "users-only");
    let r = run(cmd);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("/gateway/lists"), "{r:?}");
    assert!(r.stderr.contains("HTTP 403"), "{r:?}");
    assert!(r.stderr.contains("Zero Trust Read"), "{r:?}");
    assert!(
        r.stderr
            .contains("nothing was changed: the door could not be read"),
        "{r:?}"
    );
    // No plan without its door: a reviewer would take it for the whole plan.
    assert!(r.stdout.is_empty(), "{r:?}");
    assert_only_read(&w);
}

#[test]
fn a_refused_door_is_shown_and_plan_exits_1_having_only_read() {
    // One list by id, one entry a list: the allowlist needs 6 lists, the ids give 1.
    let w = demo_with(&seeded_list());
    let before = w.sandbox.sandbox().lists();
    let path = desired(
        &w,
        &format!("  lists:\n    ids: [{LIST_1}]\n    capacity: 1\n"),
    );
    for format in ["human", "json", "markdown"] {
        let r = w.run(&[
            "plan",
            "--detailed-exitcode",
            "--format",
            format,
            "-f",
            &path,
        ]);
        assert_eq!(r.code, 1, "{format}: {r:?}");
        assert!(
            r.stderr.contains("the door's plan is refused (1 error)"),
            "{format}: {r:?}"
        );
        assert!(r.stderr.contains("nothing was deleted"), "{format}: {r:?}");
        assert!(!r.stdout.is_empty(), "{format}: {r:?}");
        if format == "json" {
            let plan: Value = serde_json::from_str(&r.stdout).unwrap();
            assert_eq!(plan["door"]["refused"], true, "{r:?}");
            assert_eq!(plan["door"]["errors"][0]["kind"], "too_few_ids", "{r:?}");
        }
    }
    assert_only_read(&w);
    assert_eq!(w.sandbox.sandbox().lists(), before);
}

#[test]
fn plan_out_saves_the_door_as_read_and_the_writes_reviewed_and_writes_nothing() {
    let w = World::demo();
    let path = desired(&w, NAMED);
    let out = w.dir.path().join("plan.json");
    let r = w.run(&["plan", "--out", out.to_str().unwrap(), "-f", &path]);
    assert_eq!(r.code, 0, "{r:?}");
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let door = &file["plan"]["door"];
    assert!(
        door["fingerprint"].as_str().unwrap().starts_with("sha256:"),
        "{door}"
    );
    let actions: Vec<&str> = door["writes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["create_list", "create_group"], "{door}");
    assert_eq!(door["writes"][0]["name"], "reconcile-allowlist-1");
    assert!(w.door_writes().is_empty(), "plan only reads");
}
