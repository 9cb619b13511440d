//! Users who come back after a deletion: `apply --audit-log L` deletes someone, the same address
//! is then live under a new id (a second sandbox, seeded so, stands for the account after the
//! person logged in again), and `plan --history L` marks them *returned* in every format,
//! without changing the plan, its exit code, or sending a DELETE.

use reconcile::sandbox::Seed;

use crate::harness::*;

const CAROL_OLD: &str = "5d6e7f80-91a2-4b3c-8d4e-5f60718293a4";
const CAROL_NEW: &str = "7b8c9d0e-1f2a-4b3c-9d4e-5f6071829304";
const ALICE: &str = "f174e90a-fafe-4643-bbbc-4a0ed4fc8415";
const OTHER_ACCOUNT: &str = "0123456789abcdef0123456789abcdef";

/// A sandbox account holding these `(id, email, last login)` users.
fn seed(account: &str, users: &[(&str, &str, Option<&str>)]) -> Seed {
    let mut text = format!("account_id: {account}\nusers:\n");
    for (id, email, login) in users {
        text.push_str(&format!(
            "  - id: {id}\n    email: {email}\n    access_seat: true\n"
        ));
        if let Some(login) = login {
            text.push_str(&format!("    last_successful_login: \"{login}\"\n"));
        }
    }
    Seed::from_str(&text, "seed.yaml").unwrap()
}

fn allowlist_for(world: &World, account: &str) -> String {
    let path = world.file(
        "users.yaml",
        &format!("account_id: {account}\npolicy:\n  max_delete_fraction: 1\nusers:\n  - alice@example.com\n"),
    );
    path.display().to_string()
}

/// A later moment than any deletion a test made before: the returned user's login.
fn a_minute_from_now() -> String {
    (jiff::Timestamp::now() + jiff::SignedDuration::from_secs(60)).to_string()
}

/// Alice and carol (id [`CAROL_OLD`]) in `account`, before any deletion.
fn carol_before(account: &str) -> World {
    World::with_seed(seed(
        account,
        &[
            (ALICE, "alice@example.com", None),
            (CAROL_OLD, "carol@example.com", None),
        ],
    ))
}

/// Apply in `account`, deleting carol (id [`CAROL_OLD`]) and writing `log`.
fn delete_carol(account: &str, log: &std::path::Path) {
    let w = carol_before(account);
    let file = allowlist_for(&w, account);
    let r = w.run(&[
        "apply",
        "-f",
        &file,
        "--auto-approve",
        "--audit-log",
        log.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.live_emails(), ["alice@example.com"]);
}

/// The account after carol logged in again: carol under a new id.
fn carol_back(login: Option<&str>) -> World {
    World::with_seed(seed(
        ACCOUNT,
        &[
            (ALICE, "alice@example.com", None),
            (CAROL_NEW, "Carol@Example.com", login),
        ],
    ))
}

#[test]
fn a_deleted_address_back_under_a_new_id_is_marked_in_every_format() {
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("audit.jsonl");
    delete_carol(ACCOUNT, &log);
    let login = a_minute_from_now();
    let w = carol_back(Some(&login));
    let file = allowlist_for(&w, ACCOUNT);
    let record: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    let deleted_day = record["time"].as_str().unwrap()[..10].to_string();
    let login_day = &login[..10];
    let log = log.to_str().unwrap();

    let without = w.run(&["plan", "-f", &file, "--detailed-exitcode"]);
    assert_eq!(without.code, 2, "{without:?}");
    assert!(!without.stdout.contains("returned"), "{without:?}");

    let human = w.run(&["plan", "-f", &file, "--detailed-exitcode", "--history", log]);
    assert_eq!(human.code, 2, "exit code unchanged: {human:?}");
    let deleted_on = format!("returned: deleted {deleted_day} by reconcile; logged in again on {login_day}: an Access policy still admits this address (docs/lock-the-door.md)");
    assert!(human.stdout.contains(&deleted_on), "{human:?}");
    assert!(
        human
            .stdout
            .contains("Returned: 1 user deleted before is back"),
        "{human:?}"
    );
    assert!(human.stdout.contains("Plan: 1 to delete, 1 unchanged."));

    // The spelling, --audit-log, is the same flag on plan.
    let json = w.run(&["plan", "-f", &file, "--format", "json", "--audit-log", log]);
    assert_eq!(json.code, 0, "{json:?}");
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(doc["format_version"], 1);
    assert_eq!(doc["counts"]["returned"], 1);
    assert!(
        json.stderr
            .contains("Returned: 1 user deleted before is back"),
        "also on stderr, beside the JSON: {json:?}"
    );
    assert_eq!(doc["history"]["files"], 1);
    assert_eq!(doc["history"]["deletions"], 1);
    let carol = doc["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == CAROL_NEW)
        .unwrap();
    assert_eq!(carol["decision"], "delete");
    assert_eq!(carol["returned"]["previous_id"], CAROL_OLD);
    assert_eq!(carol["returned"]["outcome"], "deleted");
    assert_eq!(carol["returned"]["logged_in_again"], login.as_str());
    assert_eq!(carol["returned"]["guide"], "docs/lock-the-door.md");
    let alice = doc["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == ALICE)
        .unwrap();
    assert!(alice.get("returned").is_none(), "{alice}");

    let md = w.run(&[
        "plan",
        "-f",
        &file,
        "--format",
        "markdown",
        "--history",
        log,
    ]);
    assert_eq!(md.code, 0, "{md:?}");
    assert!(
        md.stdout.contains("· 1 returned after a deletion"),
        "{md:?}"
    );
    assert!(
        md.stdout.contains("**1 user deleted before is back**"),
        "{md:?}"
    );
    assert!(md.stdout.contains("| **returned**: deleted "), "{md:?}");
    assert!(md.stdout.contains("`docs/lock-the-door.md`"), "{md:?}");

    assert_eq!(w.deletes(), 0, "plan never deletes");
    assert_eq!(w.live_emails(), ["Carol@Example.com", "alice@example.com"]);
}

#[test]
fn apply_marks_the_plan_it_shows_from_its_own_log_before_appending() {
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("audit.jsonl");
    delete_carol(ACCOUNT, &log);
    let before = std::fs::read_to_string(&log).unwrap();
    let w = carol_back(None);
    let file = allowlist_for(&w, ACCOUNT);
    // No terminal, no --auto-approve: the plan is shown, then refused.
    let r = w.run(&["apply", "-f", &file, "--audit-log", log.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stdout
            .contains("listed again under a new id: an Access policy still admits this address"),
        "{r:?}"
    );
    assert!(r.stdout.contains("Returned: 1 user deleted before is back"));
    assert_eq!(w.deletes(), 0);
    assert_eq!(std::fs::read_to_string(&log).unwrap(), before);
    // The same log given as --history only, or as both: read once, the same mark.
    for extra in [
        &["--history"][..],
        &["--audit-log", log.to_str().unwrap(), "--history"],
    ] {
        let mut args = vec!["apply", "-f", &file];
        args.extend_from_slice(extra);
        args.push(log.to_str().unwrap());
        let r = w.run(&args);
        assert_eq!(r.code, 1, "{args:?}: {r:?}");
        assert!(
            r.stdout.contains("Returned: 1 user deleted before is back"),
            "{r:?}"
        );
        assert!(r.stderr.contains("stdin is not a terminal"), "{r:?}");
    }
    assert_eq!(std::fs::read_to_string(&log).unwrap(), before);

    // With --auto-approve it deletes carol again, as the plan says, and appends to the log.
    let r = w.run(&[
        "apply",
        "-f",
        &file,
        "--auto-approve",
        "--audit-log",
        log.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("# returned: deleted"), "{r:?}");
    assert_eq!(w.live_emails(), ["alice@example.com"]);
    let r = run(bare(&["audit", "verify", log.to_str().unwrap()]));
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("2 records"), "{r:?}");
}

#[test]
fn a_broken_or_missing_history_stops_the_plan_before_any_request() {
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("audit.jsonl");
    delete_carol(ACCOUNT, &log);
    let w = carol_back(None);
    let file = allowlist_for(&w, ACCOUNT);

    let missing = logs.path().join("missing.jsonl");
    let r = w.run(&["plan", "-f", &file, "--history", missing.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("missing.jsonl: no such file"), "{r:?}");
    assert!(r.stderr.contains("apply --audit-log"), "{r:?}");
    assert!(r.stdout.is_empty(), "{r:?}");

    let text = std::fs::read_to_string(&log).unwrap();
    std::fs::write(
        &log,
        text.replacen("carol@example.com", "carla@example.com", 1),
    )
    .unwrap();
    let r = w.run(&["plan", "-f", &file, "--history", log.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("audit.jsonl: line 1: the record was changed"),
        "{r:?}"
    );
    assert!(r.stderr.contains("keep it for review"), "{r:?}");
    assert!(r.stdout.is_empty(), "{r:?}");

    // apply's own log, broken, stops it as before.
    let r = w.run(&[
        "apply",
        "-f",
        &file,
        "--auto-approve",
        "--audit-log",
        log.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("line 1"), "{r:?}");

    assert_eq!(w.requests(), 0, "nothing was listed, nothing deleted");
}

#[test]
fn records_of_another_account_mark_nobody() {
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("audit.jsonl");
    delete_carol(OTHER_ACCOUNT, &log);
    let w = carol_back(Some(&a_minute_from_now()));
    let file = allowlist_for(&w, ACCOUNT);
    let r = w.run(&[
        "plan",
        "-f",
        &file,
        "--detailed-exitcode",
        "--history",
        log.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(!r.stdout.contains("returned"), "{r:?}");
    assert!(
        r.stdout.contains(
            "History: 0 past deletions read from 1 audit log; nobody deleted before is back."
        ),
        "{r:?}"
    );
    let json = w.run(&[
        "plan",
        "-f",
        &file,
        "--format",
        "json",
        "--history",
        log.to_str().unwrap(),
    ]);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(doc["counts"]["returned"], 0);
    assert_eq!(doc["history"]["deletions"], 0);
}

#[test]
fn the_same_id_still_listed_is_not_returned() {
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("audit.jsonl");
    delete_carol(ACCOUNT, &log);
    // The account lists carol under the id the log recorded as deleted.
    let w = carol_before(ACCOUNT);
    let file = allowlist_for(&w, ACCOUNT);
    let r = w.run(&[
        "plan",
        "-f",
        &file,
        "--detailed-exitcode",
        "--history",
        log.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(!r.stdout.contains("returned:"), "{r:?}");
    assert!(
        r.stdout.contains("Recorded as deleted, but still listed"),
        "{r:?}"
    );
    assert!(
        r.stdout.contains(&format!(
            "carol@example.com ({CAROL_OLD}): reconcile recorded its deletion on"
        )),
        "{r:?}"
    );
    assert!(
        r.stderr.contains("yet the account lists the same id"),
        "{r:?}"
    );
    let json = w.run(&[
        "plan",
        "-f",
        &file,
        "--format",
        "json",
        "--history",
        log.to_str().unwrap(),
    ]);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(doc["counts"]["returned"], 0);
    assert_eq!(doc["history"]["still_listed"][0]["id"], CAROL_OLD);
    assert_eq!(w.deletes(), 0);
}
