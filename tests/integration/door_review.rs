//! Adversarial review of the door's writes: the order of the writes when an address moves
//! between two existing lists, saved plans edited and re-sealed, and old saved plans.
#![allow(clippy::unwrap_used)]

use reconcile::sandbox::{Faults, Options, Seed};
use serde_json::Value;

use crate::harness::*;

/// [`door_desired`] with a `door:` section.
fn desired(w: &World, users: &[&str], door: &str) -> String {
    door_desired(w, users, Some(door))
}

const LIST_1: &str = "aa0a4aab-672b-4bdb-bc33-a59f1130a11f";
const LIST_2: &str = "bb1b5bbc-783c-4cec-8d44-b6a2241b1b20";
const GROUP: &str = "5d2c6f0e-8a3b-4c1d-9e7f-0a1b2c3d4e5f";
const CAPACITY_2: &str = "  lists:\n    name: reconcile-allowlist\n    capacity: 2\n  group:\n    name: Allowlisted people\n";

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
    let w = door_world(
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
    // Every reviewed deletion is there, not attempted: the plan had users to delete.
    let planned = doc["plan"]["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["decision"] == "delete")
        .count();
    assert!(planned > 0, "{doc:#}");
    assert_eq!(doc["counts"]["planned"], planned);
    assert_eq!(doc["counts"]["not_attempted"], planned);
    let results = doc["results"].as_array().unwrap();
    assert_eq!(results.len(), planned);
    assert!(
        results.iter().all(|r| r["outcome"] == "not_attempted"),
        "{doc:#}"
    );
    assert_eq!(doc["verification"]["status"], "not_run", "{doc:#}");
    let text = doc["verification"]["text"].as_str().unwrap();
    assert!(!text.contains("nothing was to be deleted"), "{text}");
}

/// Two lists to PATCH, the group already right for them.
fn two_patches() -> String {
    format!(
        r#"
lists:
  - id: {LIST_1}
    name: reconcile-allowlist-1
    type: EMAIL
    items: [alice@example.com, mallory@example.com]
  - id: {LIST_2}
    name: reconcile-allowlist-2
    type: EMAIL
    items: [bob.martin@example.com, frank@example.com, trudy@example.com]
groups:
  - id: {GROUP}
    name: Allowlisted people
    include:
      - email_list: {{id: {LIST_1}}}
      - email_list: {{id: {LIST_2}}}
"#
    )
}

/// Ctrl-C (or a CI job's SIGTERM) while the door is written, here during a rate-limit wait
/// after the first PATCH was done: apply installs its signal handlers only for the deletions,
/// so the process dies at once by the signal: no words, no report of the door write done, no
/// `not_sent` record for the rest, and a write finishing at that instant is never recorded.
#[test]
fn door_review_ctrl_c_while_the_door_is_written_stops_in_words_and_records_it() {
    let options = Options {
        door_rate_limit: Some(reconcile::sandbox::DoorRateLimit {
            quota: 4,
            window: std::time::Duration::from_secs(60),
            block: std::time::Duration::from_secs(60),
        }),
        ..Options::default()
    };
    let w = World::with_options(
        Seed::from_str(&format!("{DEMO_SEED}{}", two_patches()), "seed.yaml").unwrap(),
        options,
    );
    let path = desired(
        &w,
        KEPT,
        CAPACITY_2.replace("capacity: 2", "capacity: 3").as_str(),
    );
    let log = w.dir.path().join("audit.jsonl");
    let log = log.to_str().unwrap();
    let run = Watched::spawn(w.cmd(&["apply", "--auto-approve", "--audit-log", log, "-f", &path]));
    run.wait_for_stderr("the API rate limit was reached");
    signal(&run.child, "INT");
    let r = run.finish();
    assert_eq!(w.user_deletes(), 0);
    assert!(r.stderr.contains("nothing was deleted"), "{r:?}");
    assert!(r.stderr.contains("stopped by Ctrl-C"), "{r:?}");
    // Every write is recorded: those done, and the one the signal stopped (its outcome unknown).
    let records = records(std::path::Path::new(log));
    assert!(
        records.iter().any(|r| r["outcome"] == "interrupted"),
        "{records:#?}\n{r:?}"
    );
    assert!(records.iter().all(|r| r["kind"] == "door"), "{records:#?}");
}

/// A door list holding twenty addresses that are not Access users (people who have not logged
/// in yet), and the three kept users.
fn a_full_list() -> String {
    let mut items: Vec<String> = KEPT.iter().map(|e| e.to_string()).collect();
    items.extend((1..=20).map(|n| format!("person{n}@example.com")));
    format!(
        "\nlists:\n  - id: {LIST_1}\n    name: reconcile-allowlist-1\n    type: EMAIL\n    items: [{}]\n",
        items.join(", ")
    )
}

/// The users' safety rails (`max_deletes`, `max_delete_fraction`, delete-all) bound how many
/// people one apply may delete, to catch a wrong `-f` or a truncated allowlist. Nothing bounds
/// the door: a plan that takes 20 of 23 addresses out of the door (87%, over the default
/// fraction of 25%) is applied without a word, locking those people out, because they are not
/// Access users and so no deletion counts them.
#[test]
fn door_review_removing_most_of_the_door_is_refused_like_deleting_most_users() {
    let w = door_world(&a_full_list(), Faults::default());
    let path = desired(&w, KEPT, "  lists:\n    name: reconcile-allowlist\n");
    let r = w.run(&["plan", "-f", &path]);
    assert_eq!(r.code, 1, "refused by a rail: {r:?}");
    assert!(
        r.stdout
            .contains("the door's removals are refused by the safety rails"),
        "{r:?}"
    );
    let json = w.run(&["plan", "--format", "json", "-f", &path]);
    assert!(json.stdout.contains("\"too_many_removals\""), "{json:?}");
    let r = w.run(&["apply", "--auto-approve", "-f", &path]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(w.door_writes().is_empty());
    assert_eq!(w.user_deletes(), 0);
    // Released on purpose, as for the users: a higher fraction given for this run.
    let r = w.run(&[
        "apply",
        "--auto-approve",
        "--max-delete-fraction",
        "0.9",
        "-f",
        &path,
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        values(&list_named(&w, "reconcile-allowlist-1")).len(),
        KEPT.len()
    );
}

/// `cmd` run by `sh` with the file-size limit at 512 bytes and SIGXFSZ ignored, so that a write
/// past it fails (EFBIG) as on a full disk: the audit log's first record fits in part, and
/// every write after fails.
fn with_small_files(cmd: &std::process::Command) -> std::process::Command {
    let mut sh = std::process::Command::new("sh");
    sh.arg("-c")
        .arg("trap '' XFSZ; ulimit -f 1; exec \"$0\" \"$@\"")
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => sh.env(k, v),
            None => sh.env_remove(k),
        };
    }
    sh
}

/// A door write's audit record that cannot be written stops the run: no further door write,
/// nobody deleted, and the words say why.
#[test]
fn door_review_an_audit_record_that_cannot_be_written_stops_the_door_and_deletes_nobody() {
    let w = World::demo();
    let path = desired(&w, KEPT, NAMED);
    let log = w.dir.path().join("audit.jsonl");
    let log = log.to_str().unwrap();
    let cmd = w.cmd(&["apply", "--auto-approve", "--audit-log", log, "-f", &path]);
    let r = run(with_small_files(&cmd));
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(w.user_deletes(), 0, "{r:?}");
    assert!(
        r.stderr.contains("the audit log could not be written"),
        "{r:?}"
    );
    // The list was created (its record is the one that failed); the group was not sent.
    assert_eq!(w.door_writes_done("POST"), 1, "{r:?}");
    assert!(w.sandbox.sandbox().groups().is_empty());
}

/// The door's group, by id, with a name the API gives: escapes, a C1 CSI, a bidi override
/// and a line break.
fn hostile_group() -> String {
    format!(
        r#"
lists:
  - id: {LIST_1}
    name: reconcile-allowlist-1
    type: EMAIL
    items: [alice@example.com, "mallory@example.com"]
groups:
  - id: {GROUP}
    name: "door\e[2J\x9b31m\u202e\nfake: nothing to do"
    include:
      - email: {{email: "m\e[1m\u202e@example.com"}}
"#
    )
}

/// After a failed door write, the JSON and Markdown apply reports (stdout and the job
/// summary) and the error carry no raw escape, C1 control or bidi override from the API.
#[test]
fn door_review_hostile_names_after_a_door_failure_are_escaped_in_every_report() {
    let w = door_world(
        &hostile_group(),
        Faults {
            fail_door_writes_after: Some(1),
            ..Faults::default()
        },
    );
    let door = format!("  lists:\n    name: reconcile-allowlist\n  group:\n    id: {GROUP}\n");
    let path = desired(&w, KEPT, &door);
    let summary = w.dir.path().join("summary.md");
    for format in ["json", "markdown"] {
        let mut cmd = w.cmd(&[
            "apply",
            "--auto-approve",
            "--max-retries",
            "0",
            "--format",
            format,
            "-f",
            &path,
        ]);
        cmd.env("GITHUB_STEP_SUMMARY", &summary);
        let r = run(cmd);
        assert_eq!(r.code, 1, "{format}: {r:?}");
        let summary = std::fs::read_to_string(&summary).unwrap_or_default();
        for (what, text) in [
            ("stdout", &r.stdout),
            ("stderr", &r.stderr),
            ("summary", &summary),
        ] {
            for c in ['\u{1b}', '\u{9b}', '\u{202e}'] {
                assert!(!text.contains(c), "{format} {what} holds {c:?}: {text}");
            }
            assert!(
                !text.contains("\nfake: nothing to do"),
                "{format} {what}: {text}"
            );
        }
        // The name is there, escaped: the write that failed is the group's.
        assert!(r.stdout.contains("fake: nothing to do"), "{format}: {r:?}");
        assert_eq!(w.user_deletes(), 0);
    }
}
