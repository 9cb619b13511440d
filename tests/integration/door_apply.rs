//! `reconcile apply -f FILES` keeps the door (docs/door.md, "Apply"): after approval and before
//! anyone is deleted, the door is read again (refused if it changed since the plan shown), the
//! lists are created or PATCHed, the group created or PUT; a failed door write deletes nobody.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, Cursor, Read, Write};

use reconcile::sandbox::{Faults, Options, Seed};
use serde_json::Value;

use crate::harness::*;

#[test]
fn from_nothing_apply_creates_the_lists_and_the_group_then_deletes() {
    let w = World::demo();
    let path = door_desired(
        &w,
        &[
            "alice@example.com",
            "bob.martin@example.com",
            "frank@example.com",
            "{email: erin@example.com, expires: 2001-01-01}",
        ],
        Some(NAMED),
    );
    let r = w.run(&["apply", "--auto-approve", "-f", &path]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("The door ("), "{r:?}");
    assert!(
        r.stdout
            .contains("door: done: create list \"reconcile-allowlist-1\" with 3 items"),
        "{r:?}"
    );
    assert!(
        r.stdout
            .contains("door: done: create group \"Allowlisted people\""),
        "{r:?}"
    );
    // Exactly the unexpired allowlist; the group includes that list.
    let list = list_named(&w, "reconcile-allowlist-1");
    assert_eq!(
        values(&list),
        [
            "alice@example.com",
            "bob.martin@example.com",
            "frank@example.com"
        ]
    );
    assert_eq!(w.sandbox.sandbox().lists().len(), 1);
    let g = the_group(&w);
    assert_eq!(g["name"], "Allowlisted people");
    assert_eq!(
        g["include"],
        serde_json::json!([{"email_list": {"id": list["id"]}}])
    );
    // The users after the door: carol, dave, erin (expired) deleted.
    assert_eq!(w.user_deletes(), 3);
    let writes = w.door_writes();
    assert_eq!(writes.len(), 2, "{writes:?}");
    let last_door_write = w
        .sandbox
        .sandbox()
        .requests()
        .iter()
        .position(|q| q.method == "POST" && q.path.contains("/access/groups"))
        .unwrap();
    let first_delete = w
        .sandbox
        .sandbox()
        .requests()
        .iter()
        .position(|q| q.method == "DELETE")
        .unwrap();
    assert!(last_door_write < first_delete);
    // Applied again: nothing to do, nothing written.
    let again = w.run(&["apply", "--auto-approve", "-f", &path]);
    assert_eq!(again.code, 0, "{again:?}");
    assert_eq!(w.door_writes().len(), 2);
    let plan = w.run(&["plan", "--detailed-exitcode", "-f", &path]);
    assert_eq!(plan.code, 0, "{plan:?}");
}

#[test]
fn a_one_address_change_sends_exactly_one_patch() {
    let w = World::demo();
    let users = [
        "alice@example.com",
        "bob.martin@example.com",
        "frank@example.com",
    ];
    let path = door_desired(&w, &users, Some(NAMED));
    assert_eq!(w.run(&["apply", "--auto-approve", "-f", &path]).code, 0);
    let before = w.door_writes().len();
    let path = door_desired(
        &w,
        &[
            "alice@example.com",
            "bob.martin@example.com",
            "frank@example.com",
            "new@example.com",
        ],
        Some(NAMED),
    );
    let r = w.run(&["apply", "--auto-approve", "-f", &path]);
    assert_eq!(r.code, 0, "{r:?}");
    let writes = w.door_writes();
    assert_eq!(writes.len(), before + 1, "{writes:?}");
    assert_eq!(writes[before].method, "PATCH");
    assert!(values(&list_named(&w, "reconcile-allowlist-1")).contains(&"new@example.com".into()));
    assert!(
        r.stdout
            .contains("door: done: change list \"reconcile-allowlist-1\" (+1 -0)"),
        "{r:?}"
    );
}

#[test]
fn an_allowlist_over_several_lists_changes_only_the_list_it_touches() {
    let w = World::demo();
    let door = "  lists:\n    name: reconcile-allowlist\n    capacity: 2\n  group:\n    name: Allowlisted people\n";
    let everyone = [
        "alice@example.com",
        "bob.martin@example.com",
        "carol@example.com",
        "dave.contractor@partner.example",
        "erin@example.com",
        "frank@example.com",
    ];
    let path = door_desired(&w, &everyone, Some(door));
    let r = w.run(&["apply", "--auto-approve", "-f", &path]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.sandbox.sandbox().lists().len(), 3);
    let mut all: Vec<String> = (1..=3)
        .flat_map(|k| values(&list_named(&w, &format!("reconcile-allowlist-{k}"))))
        .collect();
    all.sort();
    let mut want: Vec<String> = everyone.iter().map(|e| e.to_string()).collect();
    want.sort();
    assert_eq!(all, want);
    assert_eq!(the_group(&w)["include"].as_array().unwrap().len(), 3);
    assert_eq!(w.user_deletes(), 0);
    // frank leaves the allowlist: one PATCH, to the list that held him; nothing else written.
    let holder = (1..=3)
        .map(|k| list_named(&w, &format!("reconcile-allowlist-{k}")))
        .find(|l| values(l).contains(&"frank@example.com".to_string()))
        .unwrap();
    let before = w.door_writes().len();
    let path = door_desired(&w, &everyone[..5], Some(door));
    let r = w.run(&["apply", "--auto-approve", "-f", &path]);
    assert_eq!(r.code, 0, "{r:?}");
    let writes = w.door_writes();
    assert_eq!(writes.len(), before + 1, "{writes:?}");
    assert_eq!(writes[before].method, "PATCH");
    assert!(
        writes[before]
            .path
            .ends_with(holder["id"].as_str().unwrap()),
        "{writes:?}"
    );
    assert_eq!(w.user_deletes(), 1);
    assert!(!values(&list_named(&w, holder["name"].as_str().unwrap()))
        .contains(&"frank@example.com".to_string()));
}

/// The demo seed with a door list holding alice and mallory, and a group including that list,
/// a foreign `email` rule, and an exclude and a require.
fn drifted() -> World {
    let text = format!(
        r#"{DEMO_SEED}
lists:
  - id: {LIST_1}
    name: reconcile-allowlist-1
    type: EMAIL
    items: [alice@example.com, mallory@example.com]
groups:
  - name: Allowlisted people
    include:
      - email_list: {{id: {LIST_1}}}
      - email: {{email: mallory@example.com}}
    exclude:
      - email: {{email: blocked@example.com}}
    require:
      - email_domain: {{domain: example.com}}
"#
    );
    World::with_seed(Seed::from_str(&text, "seed.yaml").unwrap())
}

#[test]
fn drift_is_reverted_and_exclude_and_require_are_kept() {
    let w = drifted();
    let before = the_group(&w);
    let path = door_desired(&w, &["alice@example.com", "frank@example.com"], Some(NAMED));
    let r = w.run(&["apply", "--auto-approve", "-f", &path]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        values(&list_named(&w, "reconcile-allowlist-1")),
        ["alice@example.com", "frank@example.com"]
    );
    let g = the_group(&w);
    assert_eq!(
        g["include"],
        serde_json::json!([{"email_list": {"id": LIST_1}}])
    );
    assert_eq!(g["exclude"], before["exclude"]);
    assert_eq!(g["require"], before["require"]);
    assert_eq!(g["id"], before["id"]);
    assert_eq!(w.door_writes_done("PATCH"), 1);
    assert_eq!(w.door_writes_done("PUT"), 1);
    assert_eq!(w.user_deletes(), 4);
}

#[test]
fn a_failed_door_write_stops_the_door_and_deletes_nobody() {
    let faults = Faults {
        fail_door_writes_after: Some(1),
        ..Faults::default()
    };
    let w = World::with_options(
        Seed::from_str(DEMO_SEED, "seed.yaml").unwrap(),
        Options::default().with_faults(faults, None),
    );
    let path = door_desired(&w, &["alice@example.com"], Some(NAMED));
    let r = w.run(&["apply", "--auto-approve", "--max-retries", "0", "-f", &path]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(w.user_deletes(), 0);
    assert_eq!(w.live_emails().len(), 7);
    assert_eq!(w.door_writes_done("POST"), 1);
    assert!(
        r.stderr
            .contains("create group \"Allowlisted people\" failed"),
        "{r:?}"
    );
    assert!(
        r.stderr
            .contains("door writes done:\n    - create list \"reconcile-allowlist-1\" with 1 item"),
        "{r:?}"
    );
    assert!(r.stderr.contains("run `reconcile plan` again"), "{r:?}");
    assert!(r.stderr.contains("nothing was deleted"), "{r:?}");
    assert_eq!(w.sandbox.sandbox().lists().len(), 1);
    assert!(w.sandbox.sandbox().groups().is_empty());
}

/// A stdin that, when the prompt is answered, first adds an item to the door's list with a
/// request outside reconcile: someone changed the door while the plan was read.
struct EditsTheDoor {
    addr: std::net::SocketAddr,
    answer: Cursor<Vec<u8>>,
    edited: bool,
}

impl EditsTheDoor {
    fn edit(&mut self) {
        if self.edited {
            return;
        }
        self.edited = true;
        someone_appends(self.addr, "eve@example.com");
    }
}

impl Read for EditsTheDoor {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.edit();
        self.answer.read(buf)
    }
}

impl BufRead for EditsTheDoor {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.edit();
        self.answer.fill_buf()
    }
    fn consume(&mut self, n: usize) {
        self.answer.consume(n)
    }
}

#[test]
fn a_door_changed_between_the_plan_shown_and_the_answer_is_refused() {
    let w = drifted();
    let path = door_desired(&w, &["alice@example.com", "frank@example.com"], Some(NAMED));
    let mut stdin = EditsTheDoor {
        addr: w.sandbox.addr(),
        answer: Cursor::new(b"yes\n".to_vec()),
        edited: false,
    };
    let (result, _, prompt) = run_on_a_terminal(&w, &["apply", "-f", &path], &mut stdin);
    assert!(
        prompt.contains("Do you want to make 2 changes to the door, then delete 4 users?"),
        "{prompt}"
    );
    let e = result.unwrap_err().to_string();
    assert!(
        e.contains("the door changed since the plan was shown: run plan again"),
        "{e}"
    );
    // Only the test's own PATCH: nothing written by reconcile, nobody deleted.
    assert_eq!(w.door_writes().len(), 1, "{:?}", w.door_writes());
    assert_eq!(w.user_deletes(), 0);
    assert_eq!(w.live_emails().len(), 7);
}

#[test]
fn a_door_only_plan_without_a_terminal_is_refused_in_its_own_words() {
    let w = World::demo();
    let everyone = [
        "alice@example.com",
        "bob.martin@example.com",
        "carol@example.com",
        "dave.contractor@partner.example",
        "erin@example.com",
        "frank@example.com",
    ];
    let path = door_desired(&w, &everyone, Some(NAMED));
    let r = w.run(&["apply", "-f", &path]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("refusing to make 2 changes to the door without confirmation"),
        "{r:?}"
    );
    assert!(w.door_writes().is_empty());
}

/// Carol is not allowed, but the door's list (seeded) admits her: whether she comes back after
/// her deletion depends on whether apply kept the door.
fn carol_admitted() -> World {
    let text = format!(
        r#"{DEMO_SEED}
lists:
  - id: {LIST_1}
    name: reconcile-allowlist-1
    type: EMAIL
    items: [alice@example.com, carol@example.com]
groups:
  - name: Allowlisted people
    include:
      - email_list: {{id: {LIST_1}}}
"#
    );
    let faults = Faults {
        relogin: vec!["carol@example.com".into()],
        door_enforced: true,
        ..Faults::default()
    };
    World::with_options(
        Seed::from_str(&text, "seed.yaml").unwrap(),
        Options::default().with_faults(faults, None),
    )
}

const ALL_BUT_CAROL: &[&str] = &[
    "alice@example.com",
    "bob.martin@example.com",
    "dave.contractor@partner.example",
    "erin@example.com",
    "frank@example.com",
];

#[test]
fn with_the_door_kept_a_deleted_user_stays_out_and_without_it_she_returns() {
    // The door kept: carol leaves the list before her deletion, and does not come back.
    let w = carol_admitted();
    let path = door_desired(&w, ALL_BUT_CAROL, Some(NAMED));
    let r = w.run(&["apply", "--auto-approve", "-f", &path]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.user_deletes(), 1);
    assert!(!w.live_emails().contains(&"carol@example.com".to_string()));
    assert!(!values(&list_named(&w, "reconcile-allowlist-1")).contains(&"carol@example.com".into()));

    // Without the door section: the list still admits her, and she logs in again.
    let w = carol_admitted();
    let path = door_desired(&w, ALL_BUT_CAROL, None);
    let log = w.dir.path().join("audit.jsonl");
    let log = log.to_str().unwrap();
    let r = w.run(&["apply", "--auto-approve", "--audit-log", log, "-f", &path]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.user_deletes(), 1);
    assert!(w.live_emails().contains(&"carol@example.com".to_string()));
    let plan = w.run(&["plan", "--history", log, "-f", &path]);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(plan.stdout.contains("carol@example.com"), "{plan:?}");
    assert!(plan.stdout.contains("returned"), "{plan:?}");
}

/// Someone outside reconcile appends `value` to the door's list `LIST_1`.
fn someone_appends(addr: std::net::SocketAddr, value: &str) {
    let body = format!(r#"{{"append":[{{"value":"{value}"}}]}}"#);
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "PATCH /client/v4/accounts/{ACCOUNT}/gateway/lists/{LIST_1} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[test]
fn a_saved_plan_keeps_the_door_it_reviewed_then_deletes() {
    let w = World::demo();
    let path = door_desired(
        &w,
        &[
            "alice@example.com",
            "bob.martin@example.com",
            "frank@example.com",
        ],
        Some(NAMED),
    );
    let saved = w.dir.path().join("plan.json");
    let saved = saved.to_str().unwrap();
    let r = w.run(&["plan", "--out", saved, "-f", &path]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(w.door_writes().is_empty());
    let log = w.dir.path().join("audit.jsonl");
    let log = log.to_str().unwrap();
    let r = w.run(&["apply", saved, "--audit-log", log, "-f", &path]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout
            .contains("door: done: create list \"reconcile-allowlist-1\" with 3 items"),
        "{r:?}"
    );
    assert_eq!(
        values(&list_named(&w, "reconcile-allowlist-1")),
        [
            "alice@example.com",
            "bob.martin@example.com",
            "frank@example.com"
        ]
    );
    assert_eq!(the_group(&w)["name"], "Allowlisted people");
    let deleted = w.user_deletes();
    assert_eq!(deleted, 3, "{r:?}");
    let records = records(log);
    assert_eq!(records[0]["action"], "create_list");
    assert_eq!(records[1]["action"], "create_group");
    assert_eq!(records.len(), 2 + deleted);
}

#[test]
fn a_saved_plan_is_stale_when_the_door_changed_since_the_review() {
    let w = drifted();
    let path = door_desired(&w, &["alice@example.com", "frank@example.com"], Some(NAMED));
    let saved = w.dir.path().join("plan.json");
    let saved = saved.to_str().unwrap();
    let r = w.run(&["plan", "--out", saved, "-f", &path]);
    assert_eq!(r.code, 0, "{r:?}");
    someone_appends(w.sandbox.addr(), "eve@example.com");
    let writes_before = w.door_writes().len();
    let r = w.run(&["apply", saved, "-f", &path]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("the door's lists or group changed since the plan was reviewed"),
        "{r:?}"
    );
    assert!(
        r.stderr.contains("run `reconcile plan --out` again"),
        "{r:?}"
    );
    assert_eq!(w.door_writes().len(), writes_before, "nothing written");
    assert_eq!(w.user_deletes(), 0);
    assert!(values(&list_named(&w, "reconcile-allowlist-1")).contains(&"eve@example.com".into()));
}

#[test]
fn a_saved_plan_without_the_door_is_refused_with_files_that_have_one() {
    let w = World::demo();
    let users = [
        "alice@example.com",
        "bob.martin@example.com",
        "frank@example.com",
    ];
    let plain = door_desired(&w, &users, None);
    let saved = w.dir.path().join("plan.json");
    let saved = saved.to_str().unwrap();
    let r = w.run(&["plan", "--out", saved, "-f", &plain]);
    assert_eq!(r.code, 0, "{r:?}");
    let with_door = door_desired(&w, &users, Some(NAMED));
    let r = w.run(&["apply", saved, "-f", &with_door]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("the desired-state files changed since the plan was reviewed"),
        "{r:?}"
    );
    assert!(w.door_writes().is_empty());
    assert_eq!(w.user_deletes(), 0);
}

/// The records of an audit log, parsed.
fn records(path: &str) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn the_audit_log_records_each_door_write_before_the_deletions_and_history_still_reads_it() {
    let w = World::demo();
    let path = door_desired(
        &w,
        &["alice@example.com", "bob.martin@example.com"],
        Some(NAMED),
    );
    let log = w.dir.path().join("audit.jsonl");
    let log = log.to_str().unwrap();
    let r = w.run(&["apply", "--auto-approve", "--audit-log", log, "-f", &path]);
    assert_eq!(r.code, 0, "{r:?}");
    let records = records(log);
    let deleted = w.user_deletes();
    assert_eq!(records.len(), 2 + deleted, "{records:#?}");
    let (door, users) = records.split_at(2);
    // The list first, then the group, with what each admits; then the users.
    assert_eq!(door[0]["kind"], "door");
    assert_eq!(door[0]["action"], "create_list");
    assert_eq!(door[0]["name"], "reconcile-allowlist-1");
    assert_eq!(door[0]["outcome"], "done");
    assert_eq!(
        door[0]["added"],
        serde_json::json!(["alice@example.com", "bob.martin@example.com"])
    );
    let list_id = list_named(&w, "reconcile-allowlist-1")["id"].clone();
    assert_eq!(door[0]["id"], list_id, "the id the API gave the new list");
    assert_eq!(door[1]["action"], "create_group");
    assert_eq!(door[1]["outcome"], "done");
    assert_eq!(
        door[1]["include"],
        serde_json::json!([{"email_list": {"id": list_id}}])
    );
    for record in door {
        assert!(record["door_fingerprint"]
            .as_str()
            .unwrap()
            .starts_with("sha256:"));
        assert_eq!(record["account"], ACCOUNT);
        assert_eq!(record["run"], users[0]["run"], "one run");
    }
    assert!(users
        .iter()
        .all(|u| u["outcome"] == "deleted" && u.get("kind").is_none()));
    // The chain covers the door's records; --history reads the users' records past them.
    let verify = w.run(&["audit", "verify", log]);
    assert_eq!(verify.code, 0, "{verify:?}");
    let plan = w.run(&["plan", "--history", log, "-f", &path]);
    assert_eq!(plan.code, 0, "{plan:?}");
}

#[test]
fn a_failed_door_write_is_in_the_audit_log_and_the_json_report_and_nobody_is_deleted() {
    let faults = Faults {
        fail_door_writes_after: Some(1),
        ..Faults::default()
    };
    let w = World::with_options(
        Seed::from_str(DEMO_SEED, "seed.yaml").unwrap(),
        Options::default().with_faults(faults, None),
    );
    let path = door_desired(&w, &["alice@example.com"], Some(NAMED));
    let log = w.dir.path().join("audit.jsonl");
    let log = log.to_str().unwrap();
    let r = w.run(&[
        "apply",
        "--auto-approve",
        "--max-retries",
        "0",
        "--format",
        "json",
        "--audit-log",
        log,
        "-f",
        &path,
    ]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(w.user_deletes(), 0);
    assert!(r.stderr.contains("the door was not fully kept"), "{r:?}");
    // The report says what was written, though the run failed: the list was created.
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(doc["complete"], false);
    assert_eq!(doc["door"]["complete"], false);
    let writes = doc["door"]["writes"].as_array().unwrap();
    assert_eq!(writes.len(), 2, "{writes:#?}");
    assert_eq!(writes[0]["action"], "create_list");
    assert_eq!(writes[0]["outcome"], "done");
    assert_eq!(writes[1]["action"], "create_group");
    assert_eq!(writes[1]["outcome"], "failed");
    assert!(
        writes[1]["error"].as_str().unwrap().contains("503"),
        "{writes:#?}"
    );
    assert_eq!(doc["counts"]["deleted"], 0);
    let records = records(log);
    let outcomes: Vec<_> = records
        .iter()
        .map(|r| {
            (
                r["action"].as_str().unwrap(),
                r["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [("create_list", "done"), ("create_group", "failed")]
    );
    assert!(records[1]["error"].as_str().is_some(), "{records:#?}");
    assert_eq!(w.run(&["audit", "verify", log]).code, 0);
}

#[test]
fn the_markdown_apply_report_has_the_door_writes() {
    let w = World::demo();
    let path = door_desired(&w, &["alice@example.com"], Some(NAMED));
    let summary = w.dir.path().join("summary.md");
    let mut cmd = w.cmd(&[
        "apply",
        "--auto-approve",
        "--format",
        "markdown",
        "-f",
        &path,
    ]);
    cmd.env("GITHUB_STEP_SUMMARY", &summary);
    let r = run(cmd);
    assert_eq!(r.code, 0, "{r:?}");
    for text in [r.stdout.clone(), std::fs::read_to_string(&summary).unwrap()] {
        assert!(text.contains("### The door"), "{text}");
        assert!(
            text.contains("| `create list \"reconcile-allowlist-1\" with 1 item` | done |"),
            "{text}"
        );
        assert!(
            text.contains("| `create group \"Allowlisted people\"` | done |"),
            "{text}"
        );
    }
}
