//! `reconcile export --door-list NAME [--door-group NAME]` (docs/door.md, "Check and export"):
//! the exported file names the door's lists and group, so that a team starts from the door that
//! exists; names checked as the `door:` section checks them, before any request; what does not
//! exist yet is said on stderr and written anyway.
#![allow(clippy::unwrap_used)]

use reconcile::sandbox::Seed;
use serde_json::Value;

use crate::harness::*;

/// The demo seed with a door that already matches it: one list holding every address, and a
/// group that includes exactly that list.
fn matching_door() -> World {
    let mut text = format!(
        "{DEMO_SEED}lists:\n  - id: {LIST_1}\n    name: team-door-1\n    type: EMAIL\n    items:\n"
    );
    for e in EVERYONE {
        text.push_str(&format!("      - {e}\n"));
    }
    text.push_str(&format!(
        "groups:\n  - name: Team door\n    include:\n      - email_list: {{id: {LIST_1}}}\n"
    ));
    World::with_seed(Seed::from_str(&text, "seed.yaml").unwrap())
}

#[test]
fn door_export_of_a_matching_door_plans_no_door_change() {
    let w = matching_door();
    let (lists, groups) = (w.sandbox.sandbox().lists(), w.sandbox.sandbox().groups());
    let out = w.dir.path().join("exported.yaml");
    let out = out.to_str().unwrap();
    let r = w.run(&[
        "export",
        "--account-id",
        ACCOUNT,
        "--door-list",
        "team-door",
        "--door-group",
        "Team door",
        "-o",
        out,
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    let text = std::fs::read_to_string(out).unwrap();
    assert!(
        text.contains(
            "door:\n  lists:\n    name: \"team-door\"\n  group:\n    name: \"Team door\"\n"
        ),
        "{text}"
    );
    // Both exist: nothing to warn about.
    assert!(
        !r.stderr.contains("does not exist") && !r.stderr.contains("no Access group"),
        "{r:?}"
    );
    assert!(!r.stderr.contains("no Zero Trust list"), "{r:?}");
    // Export read the door with GETs only and wrote nothing.
    assert!(w.door_writes().is_empty(), "{:?}", w.door_writes());
    assert_eq!(w.gets(), w.requests());
    // The round trip: the plan of the exported file changes neither the users nor the door.
    let r = w.run(&["plan", "--detailed-exitcode", "--format", "json", "-f", out]);
    assert_eq!(r.code, 0, "{r:?}");
    let plan: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_ne!(plan["door"], Value::Null, "{plan}");
    assert_eq!(plan["door"]["refused"], false, "{plan}");
    let r = w.run(&["plan", "-f", out]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!r.stdout.contains("+ list"), "{r:?}");
    assert!(!r.stdout.contains("~ list"), "{r:?}");
    assert!(!r.stdout.contains("~ group"), "{r:?}");
    assert!(w.door_writes().is_empty());
    assert_eq!(w.sandbox.sandbox().lists(), lists);
    assert_eq!(w.sandbox.sandbox().groups(), groups);
}

#[test]
fn door_export_of_names_that_do_not_exist_writes_the_section_and_says_so() {
    let w = World::demo();
    let r = w.run(&[
        "export",
        "--account-id",
        ACCOUNT,
        "--door-list",
        "reconcile-allowlist",
        "--door-group",
        "Allowlisted people",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout
            .contains("door:\n  lists:\n    name: \"reconcile-allowlist\"\n"),
        "{r:?}"
    );
    assert!(
        r.stdout.contains("    name: \"Allowlisted people\"\n"),
        "{r:?}"
    );
    assert!(
        r.stderr
            .contains("no Zero Trust list is named reconcile-allowlist-1"),
        "{r:?}"
    );
    assert!(
        r.stderr
            .contains("no Access group is named \"Allowlisted people\""),
        "{r:?}"
    );
    // Nothing was created: that is apply's, after a plan.
    assert!(w.door_writes().is_empty());
    assert!(w.sandbox.sandbox().lists().is_empty());
    assert!(w.sandbox.sandbox().groups().is_empty());
    // The plan of that file shows the list and the group to create.
    let file = w.file("exported.yaml", &r.stdout);
    let r = w.run(&["plan", "-f", file.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("+ list \"reconcile-allowlist-1\" (+6)"),
        "{r:?}"
    );
    assert!(r.stdout.contains("group \"Allowlisted people\""), "{r:?}");
}

#[test]
fn door_export_without_door_flags_writes_no_door_and_reads_no_door() {
    let w = matching_door();
    let r = w.run(&["export", "--account-id", ACCOUNT]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!r.stdout.contains("door:"), "{r:?}");
    let requests = w.sandbox.sandbox().requests();
    assert!(
        requests
            .iter()
            .all(|q| !q.path.contains("/gateway/") && !q.path.contains("/access/groups")),
        "{requests:?}"
    );
}

#[test]
fn door_export_refuses_a_name_the_door_section_would_refuse_before_any_request() {
    let w = World::demo();
    let long = "x".repeat(101);
    for (args, words) in [
        (
            vec!["--door-list", long.as_str()],
            "--door-list: the name is longer than 100 characters",
        ),
        (vec!["--door-list", "  "], "--door-list: the name is empty"),
        (
            vec!["--door-list", "ok", "--door-group", "bad\u{202e}name"],
            "--door-group: the name contains U+202E",
        ),
    ] {
        let mut all = vec!["export", "--account-id", ACCOUNT];
        all.extend(args.iter().copied());
        let r = w.run(&all);
        assert_eq!(r.code, 1, "{args:?}: {r:?}");
        assert!(r.stderr.contains(words), "{args:?}: {r:?}");
        assert!(
            r.stderr.contains("help: type the name again by hand"),
            "{r:?}"
        );
        assert!(r.stdout.is_empty(), "{r:?}");
    }
    // A group without lists is a usage error too.
    let r = w.run(&["export", "--account-id", ACCOUNT, "--door-group", "G"]);
    assert_ne!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("--door-list"), "{r:?}");
    assert_eq!(w.requests(), 0);
}

#[test]
fn door_export_keeps_a_fuller_list_whole_with_its_capacity() {
    // 1200 users, all in one existing door list: more than the default 1000 entries a list.
    let mut text = format!(
        "account_id: {ACCOUNT}\nusers: []\nlists:\n  - id: {LIST_1}\n    name: big-1\n    type: EMAIL\n    items:\n"
    );
    for i in 1..=1200 {
        text.push_str(&format!("      - user{i:06}@generated.example\n"));
    }
    let mut seed = Seed::from_str(&text, "seed.yaml").unwrap();
    seed.generate(1200);
    let w = World::with_seed(seed);
    let r = w.run(&["export", "--account-id", ACCOUNT, "--door-list", "big"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("    capacity: 1200  #"), "{r:?}");
    let file = w.file("exported.yaml", &r.stdout);
    let r = w.run(&["plan", "--detailed-exitcode", "-f", file.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(w.door_writes().is_empty());
}
