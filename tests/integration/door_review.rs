//! Adversarial review of the door's writes: the order of the writes when an address moves
//! between two existing lists, saved plans edited and re-sealed, and old saved plans.
#![allow(clippy::unwrap_used)]

use reconcile::sandbox::{Faults, Options, Seed};
use serde_json::Value;

use crate::harness::*;

const LIST_1: &str = "aa0a4aab-672b-4bdb-bc33-a59f1130a11f";
const LIST_2: &str = "bb1b5bbc-783c-4cec-8d44-b6a2241b1b20";
const GROUP: &str = "5d2c6f0e-8a3b-4c1d-9e7f-0a1b2c3d4e5f";
/// The users of the demo seed that keep their account.
const KEPT: &[&str] = &[
    "alice@example.com",
    "bob.martin@example.com",
    "frank@example.com",
];
const CAPACITY_2: &str = "  lists:\n    name: reconcile-allowlist\n    capacity: 2\n  group:\n    name: Allowlisted people\n";

fn desired(w: &World, users: &[&str], door: &str) -> String {
    let mut text = format!("account_id: {ACCOUNT}\nusers:\n");
    for e in users {
        text.push_str(&format!("  - {e}\n"));
    }
    text.push_str("door:\n");
    text.push_str(door);
    let path = w.file("door.yaml", &text);
    path.to_str().unwrap().to_string()
}

fn world(door: &str, faults: Faults) -> World {
    World::with_options(
        Seed::from_str(&format!("{DEMO_SEED}{door}"), "seed.yaml").unwrap(),
        Options::default().with_faults(faults, None),
    )
}

/// Every value held by any list of the sandbox, lower-cased.
fn held_anywhere(w: &World) -> Vec<String> {
    let mut v: Vec<String> = w
        .sandbox
        .sandbox()
        .lists()
        .iter()
        .flat_map(|l| l["items"].as_array().cloned().unwrap_or_default())
        .map(|i| i["value"].as_str().unwrap().to_lowercase())
        .collect();
    v.sort();
    v
}

/// List 1 holds all three kept users (over a capacity of 2), list 2 has room; the group
/// already includes both. One address moves from list 1 to list 2.
fn over_capacity() -> String {
    format!(
        r#"
lists:
  - id: {LIST_1}
    name: reconcile-allowlist-1
    type: EMAIL
    items: [alice@example.com, bob.martin@example.com, frank@example.com]
  - id: {LIST_2}
    name: reconcile-allowlist-2
    type: EMAIL
    items: []
groups:
  - id: {GROUP}
    name: Allowlisted people
    include:
      - email_list: {{id: {LIST_1}}}
      - email_list: {{id: {LIST_2}}}
"#
    )
}

/// An address that moves from one existing list to another (a list over capacity) must be in
/// its new list before a PATCH takes it out of its old one: when the second PATCH fails, the
/// allowed person is otherwise in no list at all, locked out until the next apply.
#[test]
fn door_review_a_move_between_existing_lists_never_leaves_an_allowed_address_out() {
    let w = world(
        &over_capacity(),
        Faults {
            fail_door_writes_after: Some(1),
            ..Faults::default()
        },
    );
    let path = desired(&w, KEPT, CAPACITY_2);
    let plan = w.run(&["plan", "-f", &path]);
    assert!(plan.stdout.contains("reconcile-allowlist-2"), "{plan:?}");
    let r = w.run(&["apply", "--auto-approve", "--max-retries", "0", "-f", &path]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(w.user_deletes(), 0);
    let held = held_anywhere(&w);
    for kept in KEPT {
        assert!(
            held.iter().any(|h| h == kept),
            "{kept} is in no door list after the failed apply: {held:?}\n{:?}\n{r:?}",
            w.door_writes()
        );
    }
}

const NAMED: &str =
    "  lists:\n    name: reconcile-allowlist\n  group:\n    name: Allowlisted people\n";

/// A saved plan whose door writes were edited (an address added to the list to create) and
/// re-sealed with the unkeyed digest, as anyone who can write the file can: apply refuses it,
/// sends no door write and deletes nobody.
#[test]
fn door_review_an_edited_and_resealed_door_section_is_refused() {
    let w = World::demo();
    let path = desired(&w, KEPT, NAMED);
    let saved = w.dir.path().join("plan.json");
    let saved = saved.to_str().unwrap();
    let r = w.run(&["plan", "--out", saved, "-f", &path]);
    assert_eq!(r.code, 0, "{r:?}");
    let text = std::fs::read_to_string(saved).unwrap();
    let mut plan = reconcile::planfile::SavedPlan::parse(&text, "plan.json").unwrap();
    let door = plan.door.as_mut().unwrap();
    assert_eq!(door.writes[0].action, "create_list");
    door.writes[0].added.push("eve@evil.example".into());
    std::fs::write(saved, plan.to_json()).unwrap();
    let r = w.run(&["apply", saved, "-f", &path]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("the door's plan is not the one reviewed"),
        "{r:?}"
    );
    assert!(w.door_writes().is_empty());
    assert_eq!(w.user_deletes(), 0);
    // The door section dropped instead: refused too.
    let mut plan = reconcile::planfile::SavedPlan::parse(&text, "plan.json").unwrap();
    plan.door = None;
    std::fs::write(saved, plan.to_json()).unwrap();
    let r = w.run(&["apply", saved, "-f", &path]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(w.door_writes().is_empty());
    assert_eq!(w.user_deletes(), 0);
}

/// A plan made without a `door:` section has no `door` key at all (its seal is the one an older
/// reconcile made) and still applies.
#[test]
fn door_review_a_plan_without_a_door_has_no_door_key_and_applies() {
    let w = World::demo();
    let text = format!(
        "account_id: {ACCOUNT}\nusers:\n{}",
        KEPT.iter()
            .map(|e| format!("  - {e}\n"))
            .collect::<String>()
    );
    let path = w.file("plain.yaml", &text);
    let path = path.to_str().unwrap();
    let saved = w.dir.path().join("plan.json");
    let saved = saved.to_str().unwrap();
    let r = w.run(&["plan", "--out", saved, "-f", path]);
    assert_eq!(r.code, 0, "{r:?}");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(saved).unwrap()).unwrap();
    assert!(doc["plan"].get("door").is_none(), "{doc:#}");
    let r = w.run(&["apply", saved, "-f", path]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.user_deletes(), 3);
    assert!(w.door_writes().is_empty());
}

/// After a failed door write, the JSON report has no deletions, and its `verification` does
/// not say that nothing was to be deleted (three users were planned): it says the deletions
/// did not run.
#[test]
fn door_review_the_json_report_after_a_door_failure_does_not_say_nothing_was_to_be_deleted() {
    let w = World::with_options(
        Seed::from_str(DEMO_SEED, "seed.yaml").unwrap(),
        Options::default().with_faults(
            Faults {
                fail_door_writes_after: Some(1),
                ..Faults::default()
            },
            None,
        ),
    );
    let path = desired(&w, KEPT, NAMED);
    let r = w.run(&[
        "apply",
        "--auto-approve",
        "--max-retries",
        "0",
        "--format",
        "json",
        "-f",
        &path,
    ]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(w.user_deletes(), 0);
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(doc["complete"], false);
    assert_eq!(doc["counts"]["deleted"], 0);
    assert!(doc["results"].as_array().unwrap().is_empty());
    assert_eq!(doc["verification"]["status"], "not_run", "{doc:#}");
    let text = doc["verification"]["text"].as_str().unwrap();
    assert!(!text.contains("nothing was to be deleted"), "{text}");
}
