//! The end of an apply: a final check that could not be made leaves the run unverified (exit 3);
//! a DELETE whose answer was lost and whose retry found the user gone is reported as deleted, not
//! as already gone; SIGTERM stops the run as Ctrl-C does.

use std::time::Duration;

use crate::harness::*;
use reconcile::sandbox::{Faults, Options, Seed};

const ALLOWED: &[&str] = &[
    "alice@example.com",
    "bob.martin@example.com",
    "frank@example.com",
];

/// The demo seed (3 allowed, 3 extras, 1 held) plus `extra` generated extras.
fn world(extra: usize, faults: Faults) -> World {
    let mut seed = Seed::from_str(DEMO_SEED, "seed.yaml").unwrap();
    seed.generate(extra);
    World::with_options(
        seed,
        Options {
            faults,
            ..Options::default()
        },
    )
}

/// The allowed users and the held user without an email: what a complete apply leaves.
fn survivors() -> Vec<String> {
    let mut v: Vec<String> = ALLOWED.iter().map(|s| s.to_string()).collect();
    v.push("(none)".into());
    v.sort();
    v
}

fn live(w: &World) -> Vec<String> {
    let mut v: Vec<String> = w.live_emails().iter().map(|e| e.to_lowercase()).collect();
    v.sort();
    v
}

#[test]
fn a_final_listing_that_fails_leaves_the_run_unverified_and_exits_3() {
    // The token is revoked after the third (last) deletion: the final listing gets 403.
    let w = world(
        0,
        Faults {
            revoke_after_deletes: Some(3),
            ..Faults::default()
        },
    );
    let file = w.permissive_allowlist(ALLOWED);
    let r = w.run(&["apply", "--auto-approve", "-f", file.to_str().unwrap()]);
    assert_eq!(r.code, 3, "{r:?}");
    assert_eq!(live(&w), survivors(), "the deletions were done: {r:?}");
    assert_eq!(w.count("DELETE", 202), 3, "{r:?}");
    assert!(w.count("GET", 403) >= 1, "the final listing failed: {r:?}");
    assert!(r.stdout.contains("Unverified"), "{r:?}");
    assert!(r.stdout.contains("Apply incomplete"), "{r:?}");
    assert!(!r.stdout.contains("Apply complete"), "{r:?}");
}

#[test]
fn a_delete_whose_answer_was_lost_is_reported_deleted_not_already_gone() {
    let w = world(
        0,
        Faults {
            drop_delete_answers: 1,
            ..Faults::default()
        },
    );
    let log = w.dir.path().join("audit.jsonl");
    let file = w.permissive_allowlist(ALLOWED);
    let r = w.run(&[
        "apply",
        "--auto-approve",
        "--parallelism",
        "1",
        "--audit-log",
        log.to_str().unwrap(),
        "-f",
        file.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(live(&w), survivors(), "{r:?}");
    // Three deletions done, one of them twice asked: its retry got 404.
    assert_eq!(w.count("DELETE", 202), 3, "{r:?}");
    assert_eq!(w.count("DELETE", 404), 1, "{r:?}");
    assert!(r.stdout.contains(": deleted (answer lost"), "{r:?}");
    assert!(!r.stdout.contains("already gone)"), "{r:?}");
    assert!(!r.stdout.contains(": already gone"), "{r:?}");
    let recs = records(&log);
    let n = |o: &str| recs.iter().filter(|r| r["outcome"] == o).count();
    assert_eq!(n("deleted_answer_lost"), 1, "{recs:?}");
    assert_eq!(n("deleted"), 2, "{recs:?}");
    assert_eq!(n("already_gone"), 0, "{recs:?}");
}

#[test]
fn sigterm_stops_new_deletions_like_ctrl_c_and_every_user_is_accounted_for() {
    let w = world(
        30,
        Faults {
            // Slow enough that the signal surely lands while deletions remain.
            latency: Duration::from_millis(300),
            ..Faults::default()
        },
    );
    let log = w.dir.path().join("audit.jsonl");
    let file = w.permissive_allowlist(ALLOWED);
    let mut cmd = w.cmd(&[
        "apply",
        "--auto-approve",
        "--parallelism",
        "2",
        "--audit-log",
        log.to_str().unwrap(),
        "-f",
        file.to_str().unwrap(),
    ]);
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    w.wait_until("the first deletions", |w| w.deletes() >= 3);
    signal(&child, "TERM");
    let r = finish(child);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.stdout.contains("Stopped early: interrupted (SIGTERM)"),
        "{r:?}"
    );
    let deleted = w.count("DELETE", 202);
    assert!(deleted < 33, "SIGTERM stopped new deletions: {deleted}");
    let recs = records(&log);
    assert_eq!(recs.len(), 33, "every planned user has a record: {r:?}");
    let n = |o: &str| recs.iter().filter(|r| r["outcome"] == o).count();
    assert_eq!(n("deleted"), deleted, "{r:?}");
    assert_eq!(n("deleted") + n("not_attempted"), 33);
    assert_eq!(w.live_emails().len(), survivors().len() + 33 - deleted);
}

#[test]
fn a_gateway_timeout_then_404_is_deleted_answer_lost() {
    use std::sync::{Arc, Mutex};
    // A gateway that forwards the DELETE, then answers 504 with its own page: the API did
    // delete. The retry gets the API's 404.
    const ALICE: &str = "f174e90a-fafe-4643-bbbc-4a0ed4fc8415";
    const MALLORY: &str = "0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5";
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = Arc::clone(&seen);
    let deleted = Arc::new(Mutex::new(false));
    let url = loopback_api(20, move |line| {
        log.lock().unwrap().push(line.trim().to_string());
        let mut gone = deleted.lock().unwrap();
        if line.starts_with("DELETE") {
            if *gone {
                return (
                    "404 Not Found",
                    r#"{"success":false,"errors":[{"code":12130,"message":"access.api.error.not_found"}],"messages":[],"result":null}"#.into(),
                );
            }
            *gone = true;
            return ("504 Gateway Timeout", "<html>504</html>".into());
        }
        let mut users = vec![format!(r#"{{"id":"{ALICE}","email":"alice@example.com"}}"#)];
        if !*gone {
            users.push(format!(
                r#"{{"id":"{MALLORY}","email":"mallory@example.com"}}"#
            ));
        }
        let body = format!(
            r#"{{"success":true,"errors":[],"messages":[],"result":[{}],"result_info":{{"page":1,"per_page":1000,"count":{n},"total_count":{n},"total_pages":1}}}}"#,
            users.join(","),
            n = users.len()
        );
        ("200 OK", body)
    });
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users.yaml");
    std::fs::write(
        &file,
        format!("account_id: {ACCOUNT}\npolicy:\n  max_delete_fraction: 1\nusers:\n  - alice@example.com\n"),
    )
    .unwrap();
    let mut cmd = bare(&["apply", "--auto-approve", "-f", file.to_str().unwrap()]);
    cmd.env("CLOUDFLARE_BASE_URL", &url)
        .env("CLOUDFLARE_API_TOKEN", TOKEN);
    let r = run(cmd);
    assert_eq!(r.code, 0, "{r:?}");
    let deletes: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.starts_with("DELETE"))
        .cloned()
        .collect();
    assert_eq!(deletes.len(), 2, "{deletes:?}");
    assert!(r.stdout.contains("mallory@example.com"), "{r:?}");
    assert!(r.stdout.contains(": deleted (answer lost"), "{r:?}");
    assert!(
        r.stdout
            .contains("Checked: no planned user is still present."),
        "{r:?}"
    );
}
