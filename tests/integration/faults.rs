//! The client and executor against a sandbox that misbehaves on purpose — latency,
//! rate limits, server errors, dropped connections, malformed bodies, churn — and the audit log
//! and Ctrl-C. Each test checks the end state: nobody deleted who should not be, every planned
//! deletion done or reported.

use std::time::Duration;

use crate::harness::*;
use reconcile::sandbox::{Faults, Options, RateLimit, Seed};
use serde_json::Value;

/// Kept by every allowlist here (the demo seed's allowed users).
const ALLOWED: &[&str] = &[
    "alice@example.com",
    "bob.martin@example.com",
    "frank@example.com",
];
/// What stays after a complete apply: the allowed users and the user without an email (held).
fn survivors() -> Vec<String> {
    let mut v: Vec<String> = ALLOWED.iter().map(|s| s.to_string()).collect();
    v.push("(none)".into());
    v.sort();
    v
}

/// The live emails, lower-cased, sorted.
fn live(w: &World) -> Vec<String> {
    let mut v: Vec<String> = w.live_emails().iter().map(|e| e.to_lowercase()).collect();
    v.sort();
    v
}

/// The demo seed (3 allowed, 3 extras, 1 held) plus `extra` generated extras.
fn seed(extra: usize) -> Seed {
    let mut seed = Seed::from_str(DEMO_SEED, "seed.yaml").unwrap();
    seed.generate(extra);
    seed
}

fn world(extra: usize, faults: Faults, limit: Option<RateLimit>) -> World {
    World::with_options(seed(extra), Options::default().with_faults(faults, limit))
}

fn apply(w: &World, extra: &[&str]) -> Run {
    let file = w.permissive_allowlist(ALLOWED);
    let mut args = vec!["apply", "--auto-approve", "-f", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    w.run(&args)
}

/// Every DELETE the sandbox accepted was for a user outside the allowlist.
fn only_extras_deleted(w: &World, before: &[serde_json::Map<String, Value>]) {
    let live = w.live_emails();
    for user in before {
        let email = user
            .get("email")
            .and_then(Value::as_str)
            .unwrap_or("(none)");
        if ALLOWED.contains(&email) || email == "(none)" {
            assert!(live.iter().any(|l| l == email), "{email} was deleted");
        }
    }
}

#[test]
fn pages_after_the_first_are_listed_concurrently_each_once() {
    let w = world(
        40,
        Faults {
            latency: Duration::from_millis(20),
            max_per_page: Some(5),
            ..Faults::default()
        },
        None,
    );
    let file = w.permissive_allowlist(ALLOWED);
    let r = w.run(&[
        "plan",
        "--list-concurrency",
        "4",
        "-f",
        file.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("Plan: 43 to delete, 4 unchanged."),
        "{r:?}"
    );
    let mut pages: Vec<String> = w
        .sandbox
        .sandbox()
        .requests()
        .iter()
        .map(|r| r.query.clone().unwrap_or_default())
        .collect();
    pages.sort();
    pages.dedup();
    // 47 users, 5 a page: 10 pages, each asked for once, nothing past the last; then page 1
    // once more, to check that no user moved between pages while they were read.
    assert_eq!(w.requests(), 11, "{pages:?}");
    assert_eq!(pages.len(), 10, "{pages:?}");
}

#[test]
fn the_rate_budget_keeps_the_client_under_the_limit() {
    let w = world(
        30,
        Faults::default(),
        Some(RateLimit {
            quota: 20,
            window: Duration::from_secs(1),
        }),
    );
    let before = w.sandbox.sandbox().users();
    let r = apply(&w, &["--rate-limit", "20/1", "--parallelism", "8"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(live(&w), survivors(), "{r:?}");
    only_extras_deleted(&w, &before);
    assert_eq!(w.count("DELETE", 202), 33, "{r:?}");
    let limited = w.count("GET", 429) + w.count("DELETE", 429);
    assert_eq!(limited, 0, "the budget must prevent every 429: {r:?}");
    assert!(
        r.stdout
            .contains("Checked: no planned user is still present."),
        "{r:?}"
    );
}

#[test]
fn a_429_is_waited_out_in_full_then_the_job_finishes() {
    let w = world(
        2,
        Faults {
            block: Some(Duration::from_secs(2)),
            ..Faults::default()
        },
        Some(RateLimit {
            quota: 20,
            window: Duration::from_secs(3600),
        }),
    );
    // Someone else spends the token's budget for the hour, so the binary's first call is the one
    // over it and starts the block: it cannot start too late to see it, however busy the machine.
    let users = format!("/client/v4/accounts/{ACCOUNT}/access/users");
    for _ in 0..20 {
        assert_eq!(raw_get(w.sandbox.addr(), &users), 200);
    }
    let r = apply(&w, &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("Cloudflare error 971"), "{r:?}");
    assert!(
        r.stderr
            .contains("the API rate limit was reached: waiting "),
        "{r:?}"
    );
    assert_eq!(live(&w), survivors(), "{r:?}");
    // The client waited the whole block: after its first 429 it sent nothing into the block.
    let statuses: Vec<u16> = w
        .sandbox
        .sandbox()
        .requests()
        .iter()
        .skip(20)
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses.first(), Some(&429), "{statuses:?}");
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        1,
        "one 429, then patience: {statuses:?}"
    );
}

#[test]
fn server_errors_are_retried_until_the_job_is_done() {
    let w = world(
        20,
        Faults {
            error_rate: 0.3,
            seed: 7,
            ..Faults::default()
        },
        None,
    );
    let before = w.sandbox.sandbox().users();
    let r = apply(&w, &["--max-retries", "10"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        w.count("DELETE", 503) + w.count("GET", 503) > 0,
        "no fault was injected"
    );
    assert!(r.stderr.contains("HTTP 503"), "{r:?}");
    assert_eq!(live(&w), survivors(), "{r:?}");
    only_extras_deleted(&w, &before);
}

#[test]
fn dropped_connections_are_retried_and_a_done_delete_is_deleted_answer_lost() {
    let w = world(
        20,
        Faults {
            drop_rate: 0.3,
            seed: 3,
            ..Faults::default()
        },
        None,
    );
    let before = w.sandbox.sandbox().users();
    let r = apply(
        &w,
        &[
            "--max-retries",
            "10",
            "--parallelism",
            "1",
            "--list-concurrency",
            "1",
        ],
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr
            .contains("connection closed before message completed"),
        "no connection was dropped: {r:?}"
    );
    // A DELETE whose answer was lost did delete; its retry finds the user gone, and the report
    // says the run deleted it (not that it was already gone).
    assert!(r.stdout.contains(": deleted (answer lost"), "{r:?}");
    assert_eq!(live(&w), survivors(), "{r:?}");
    only_extras_deleted(&w, &before);
}

#[test]
fn malformed_bodies_are_retried_never_trusted() {
    let w = world(
        20,
        Faults {
            malformed_rate: 0.3,
            seed: 11,
            ..Faults::default()
        },
        None,
    );
    let before = w.sandbox.sandbox().users();
    let r = apply(&w, &["--max-retries", "10"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr
            .contains("the response is not the documented Cloudflare envelope"),
        "no malformed body was served: {r:?}"
    );
    assert_eq!(live(&w), survivors(), "{r:?}");
    only_extras_deleted(&w, &before);
}

#[test]
fn failures_are_listed_exit_3_and_running_again_finishes_the_job() {
    let w = world(
        20,
        Faults {
            error_rate: 0.3,
            // Requests go one at a time, so the faults fall the same way every run.
            seed: 1,
            ..Faults::default()
        },
        None,
    );
    let before = w.sandbox.sandbox().users();
    let args = [
        "--max-retries",
        "1",
        "--parallelism",
        "1",
        "--list-concurrency",
        "1",
    ];
    let r = apply(&w, &args);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stdout.contains("Failed deletions ("), "{r:?}");
    assert!(
        r.stdout.contains("HTTP 503, Cloudflare error 10503"),
        "{r:?}"
    );
    assert!(r.stdout.contains("Run the same apply again"), "{r:?}");
    only_extras_deleted(&w, &before);
    let left = w.live_emails().len();
    assert!(left > survivors().len(), "some deletion should have failed");

    let r = apply(&w, &["--max-retries", "10"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(live(&w), survivors(), "{r:?}");
    only_extras_deleted(&w, &before);
}

#[test]
fn a_listing_that_keeps_changing_is_refused_and_nothing_is_deleted() {
    let w = world(
        10,
        Faults {
            churn: u32::MAX,
            max_per_page: Some(3),
            seed: 1,
            ..Faults::default()
        },
        None,
    );
    let r = apply(&w, &[]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("the user listing is inconsistent"),
        "{r:?}"
    );
    assert!(r.stderr.contains("nothing will be deleted"), "{r:?}");
    assert_eq!(w.deletes(), 0);
}

#[test]
fn a_listing_that_changed_once_is_read_again() {
    let w = world(
        10,
        Faults {
            churn: 2,
            max_per_page: Some(3),
            seed: 1,
            ..Faults::default()
        },
        None,
    );
    let before = w.sandbox.sandbox().users();
    let r = apply(&w, &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("listing again"), "{r:?}");
    assert_eq!(live(&w), survivors(), "{r:?}");
    only_extras_deleted(&w, &before);
}

#[test]
fn the_audit_log_records_every_deletion_and_verify_finds_tampering() {
    let w = world(2, Faults::default(), None);
    let log = w.dir.path().join("audit.jsonl");
    let mut cmd = w.cmd(&[
        "apply",
        "--auto-approve",
        "--audit-log",
        log.to_str().unwrap(),
        "-f",
        w.permissive_allowlist(&[
            "alice@example.com",
            "bob.martin@example.com",
            "frank@example.com",
            "carol@example.com",
        ])
        .to_str()
        .unwrap(),
    ]);
    cmd.env("USER", "ana")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_RUN_ID", "99");
    let r = run(cmd);
    assert_eq!(r.code, 0, "{r:?}");
    let first = records(&log);
    assert_eq!(first.len(), 4, "{r:?}"); // dave, erin, 2 generated
    for rec in &first {
        assert_eq!(rec["outcome"], "deleted");
        assert_eq!(rec["http_status"], 202);
        assert_eq!(rec["account"], ACCOUNT);
        assert_eq!(rec["actor"]["user"], "ana");
        assert_eq!(rec["actor"]["ci"]["run_id"], "99");
        let ray = rec["cf_ray"].as_str().unwrap();
        assert!(ray.len() == 20 && ray.ends_with("-SBX"), "{ray}");
        assert!(rec["desired_digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:"));
        assert!(rec["live_fingerprint"]
            .as_str()
            .unwrap()
            .starts_with("sha256:"));
        assert!(rec["time"].as_str().unwrap().ends_with('Z'));
        assert!(rec["email"].is_string() && rec["user_id"].is_string());
    }
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains(TOKEN), "no credential in the audit log");
    assert!(r.stdout.contains("Audit log:"), "{r:?}");

    // A second run appends and continues the chain.
    let r = apply(&w, &["--audit-log", log.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    let all = records(&log);
    assert_eq!(all.len(), 5, "carol now goes too");
    assert_eq!(all[4]["prev"], all[3]["hash"]);
    let verify = |path: &std::path::Path| run(bare(&["audit", "verify", path.to_str().unwrap()]));
    let ok = verify(&log);
    assert_eq!(ok.code, 0, "{ok:?}");
    assert!(ok.stdout.contains("5 records, chain intact"), "{ok:?}");

    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let bad = w.dir.path().join("bad.jsonl");
    let edited = text.replacen("\"outcome\":\"deleted\"", "\"outcome\":\"failed\"", 2);
    let edited = edited.replacen("\"outcome\":\"failed\"", "\"outcome\":\"deleted\"", 1);
    for (case, content, line) in [
        ("edited", edited, 2),
        (
            "removed",
            [lines[0], lines[2], lines[3], lines[4]].join("\n") + "\n",
            2,
        ),
        (
            "reordered",
            [lines[0], lines[1], lines[3], lines[2], lines[4]].join("\n") + "\n",
            3,
        ),
    ] {
        std::fs::write(&bad, content).unwrap();
        let r = verify(&bad);
        assert_eq!(r.code, 1, "{case}: {r:?}");
        assert!(r.stderr.contains(&format!("line {line}:")), "{case}: {r:?}");
    }
    // A broken log is never appended to.
    let r = apply(&w, &["--audit-log", bad.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(w.deletes(), 5);
}

/// A sandbox that holds every DELETE after the first `done` deletions (see
/// `Options::hold_deletes_after`): a test can then wait until deletions are surely in flight.
fn holding_world(extra: usize, done: u64) -> World {
    World::with_options(
        seed(extra),
        Options {
            hold_deletes_after: Some(done),
            ..Options::default()
        },
    )
}

/// `apply --auto-approve --parallelism 2 --audit-log LOG` against `w`, started and watched.
fn start_apply_watched(w: &World, log: &std::path::Path) -> Watched {
    let file = w.permissive_allowlist(ALLOWED);
    let cmd = w.cmd(&[
        "apply",
        "--auto-approve",
        "--parallelism",
        "2",
        "--audit-log",
        log.to_str().unwrap(),
        "-f",
        file.to_str().unwrap(),
    ]);
    Watched::spawn(cmd)
}

#[test]
fn ctrl_c_stops_new_deletions_and_every_user_is_accounted_for() {
    let w = holding_world(30, 3);
    let before = w.sandbox.sandbox().users();
    let log = w.dir.path().join("audit.jsonl");
    let run = start_apply_watched(&w, &log);
    // Two held at parallelism 2: the first three are answered and both slots wait, so Ctrl-C
    // lands with exactly these two in flight and the other 28 not sent.
    w.wait_until("three deletions done and the next two held", |w| {
        w.count("DELETE", 202) >= 3 && w.held() >= 2
    });
    signal(&run.child, "INT");
    run.wait_for_stderr("Ctrl-C again to stop at once");
    // The first Ctrl-C waits for the deletions in flight: let them finish.
    w.sandbox.sandbox().release_held();
    let r = run.finish();
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.stdout.contains("Stopped early: interrupted (Ctrl-C)"),
        "{r:?}"
    );
    assert!(r.stdout.contains("not attempted"), "{r:?}");
    let deleted = w.count("DELETE", 202);
    assert_eq!(
        deleted, 5,
        "the three done before Ctrl-C and the two in flight, finished: {r:?}"
    );
    let recs = records(&log);
    assert_eq!(recs.len(), 33, "every planned user has a record");
    let n = |o: &str| recs.iter().filter(|r| r["outcome"] == o).count();
    assert_eq!(n("deleted"), deleted, "{r:?}");
    assert_eq!(n("deleted") + n("not_attempted"), 33);
    assert_eq!(w.live_emails().len(), survivors().len() + 33 - deleted);
    only_extras_deleted(&w, &before);
}

#[test]
fn a_token_revoked_mid_run_stops_every_further_deletion() {
    let w = world(
        30,
        Faults {
            revoke_after_deletes: Some(5),
            latency: Duration::from_millis(5),
            ..Faults::default()
        },
        None,
    );
    let before = w.sandbox.sandbox().users();
    let r = apply(&w, &["--parallelism", "4"]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stdout.contains("Cloudflare error 9109"), "{r:?}");
    assert!(r.stdout.contains("not attempted"), "{r:?}");
    // Deletions stop at once: after the first refusal, only those already in flight were sent.
    let deletes: Vec<u16> = w
        .sandbox
        .sandbox()
        .requests()
        .iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| r.status)
        .collect();
    let accepted = deletes.iter().filter(|s| **s == 202).count();
    let refused = deletes.iter().filter(|s| **s == 403).count();
    assert_eq!(accepted, 5, "{deletes:?}");
    assert!(
        (1..=4).contains(&refused),
        "at most the in-flight ones are refused: {deletes:?}"
    );
    assert!(deletes.len() < 33, "{deletes:?}");
    only_extras_deleted(&w, &before);
}

#[test]
fn a_second_ctrl_c_abandons_the_deletions_in_flight_and_accounts_for_them() {
    let w = holding_world(30, 2);
    let log = w.dir.path().join("audit.jsonl");
    let run = start_apply_watched(&w, &log);
    // A held DELETE is never answered, so it is surely still in flight at the second Ctrl-C.
    w.wait_until("two deletions done and the next held", |w| {
        w.count("DELETE", 202) >= 2 && w.held() >= 1
    });
    signal(&run.child, "INT");
    // Two signals sent at once may arrive as one: press again once the first is acknowledged.
    run.wait_for_stderr("Ctrl-C again to stop at once");
    signal(&run.child, "INT");
    let r = run.finish();
    assert_eq!(r.code, 3, "{r:?}");
    let recs = records(&log);
    assert_eq!(recs.len(), 33, "every planned user has a record: {r:?}");
    let n = |o: &str| recs.iter().filter(|r| r["outcome"] == o).count();
    assert!(
        n("interrupted") >= 1,
        "the abandoned in-flight deletions are recorded as such: {r:?}"
    );
    assert_eq!(n("deleted") + n("interrupted") + n("not_attempted"), 33);
    assert!(r.stdout.contains("outcome is unknown"), "{r:?}");
}

/// On a terminal (a pseudo-terminal from `script`), progress is drawn as bars; on a pipe it is
/// plain log lines (the other tests).
#[test]
fn progress_bars_on_a_terminal() {
    if !util_linux_script() {
        eprintln!("skipped: `script` (util-linux) is not installed");
        return;
    }
    let w = world(
        8,
        Faults {
            latency: Duration::from_millis(150),
            ..Faults::default()
        },
        None,
    );
    let file = w.permissive_allowlist(ALLOWED);
    let line = format!(
        "{} apply --auto-approve --parallelism 1 -f {}",
        env!("CARGO_BIN_EXE_reconcile"),
        file.display()
    );
    let mut cmd = std::process::Command::new("script");
    cmd.args(["-qec", &line, "/dev/null"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TERM", "xterm")
        .env("CLOUDFLARE_BASE_URL", w.sandbox.base_url())
        .env("CLOUDFLARE_API_TOKEN", TOKEN)
        .stdin(std::process::Stdio::null());
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("deleting users ["),
        "no progress bar drawn:\n{text}"
    );
    assert!(text.contains("Apply complete: 11 deleted"), "{text}");
}
