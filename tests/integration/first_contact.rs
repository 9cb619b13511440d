//! What a real account may do that the sandbox did not show before: `result_info` without
//! totals or with an unfiltered count, an order that changes between pages, a deleted user who
//! logs in again, other traffic spending the same rate limit, `null` in user fields. Each test
//! drives the binary against a sandbox in that mode and checks who is still live, what was
//! sent, and the exit code.

use std::time::Duration;

use crate::harness::seven::*;
use crate::harness::*;
use reconcile::sandbox::{Faults, Options, RateLimit, ResultInfo, Seed};
use serde_json::Value;

const SURVIVORS: [&str; 3] = ["alice@example.com", "bob@example.com", "frank@example.com"];

/// The ids of the live users with this email.
fn ids_of(w: &World, email: &str) -> Vec<String> {
    w.sandbox
        .sandbox()
        .users()
        .iter()
        .filter(|u| u.get("email").and_then(Value::as_str) == Some(email))
        .filter_map(|u| u.get("id").and_then(Value::as_str).map(str::to_string))
        .collect()
}

/// `GET path` with the test token, outside the client: the body.
fn get_body(w: &World, path: &str) -> Value {
    use std::io::{Read, Write};
    let addr = w.sandbox.addr();
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (_, body) = answer.split_once("\r\n\r\n").unwrap();
    serde_json::from_str(body).unwrap()
}

fn users_path() -> String {
    format!("/client/v4/accounts/{ACCOUNT}/access/users")
}

// --- result_info ---------------------------------------------------------------------------

#[test]
fn without_totals_the_listing_ends_on_the_empty_page_and_is_read_twice() {
    let w = world(Faults {
        result_info: ResultInfo::NoTotals,
        ..Faults::default()
    });
    let info = &get_body(&w, &format!("{}?per_page=3", users_path()))["result_info"];
    assert_eq!(
        info,
        &serde_json::json!({"page": 1, "per_page": 3, "count": 3})
    );
    let r = apply(&w);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.live_emails(), SURVIVORS, "{r:?}");
    assert_eq!(w.count("DELETE", 202), 4, "{r:?}");
    // Each listing read every page twice (nothing counts the users, so only a second read
    // vouches that none was skipped), and each read ended on the empty page: page 4 for the
    // plan (which the unattended re-check reuses), page 2 for the check after the deletions
    // (three users left).
    assert_eq!(page_requests(&w, 4), 2, "{r:?}");
    assert_eq!(page_requests(&w, 1), 4, "{r:?}");
    assert_eq!(page_requests(&w, 5), 0, "{r:?}");
}

#[test]
fn an_unfiltered_total_count_changes_nothing_for_a_listing_of_the_whole_account() {
    let w = world(Faults {
        result_info: ResultInfo::Unfiltered,
        ..Faults::default()
    });
    let one = get_body(&w, &format!("{}?email=alice@example.com", users_path()));
    assert_eq!(one["result"].as_array().unwrap().len(), 1, "{one}");
    assert_eq!(one["result_info"]["count"], 1, "{one}");
    assert_eq!(one["result_info"]["total_count"], 7, "{one}");
    let r = apply(&w);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.live_emails(), SURVIVORS, "{r:?}");
}

#[test]
fn full_result_info_is_the_default_and_reads_page_1_again_not_every_page() {
    let w = world(Faults::default());
    let file = w.permissive_allowlist(ALLOWED);
    let r = w.run(&["plan", "-f", file.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("Plan: 4 to delete"), "{r:?}");
    assert_eq!((page_requests(&w, 1), w.requests()), (2, 4), "{r:?}");
    assert_eq!(w.deletes(), 0);
}

// --- reorder -------------------------------------------------------------------------------

#[test]
fn an_order_that_changes_after_every_page_is_refused_and_nothing_is_deleted() {
    for result_info in [ResultInfo::Full, ResultInfo::NoTotals] {
        let w = world(Faults {
            reorder: u32::MAX,
            result_info,
            ..Faults::default()
        });
        let r = apply(&w);
        assert_eq!(r.code, 1, "{result_info:?}: {r:?}");
        assert!(
            r.stderr.contains("the user listing is inconsistent"),
            "{result_info:?}: {r:?}"
        );
        assert!(r.stderr.contains("listing again"), "{result_info:?}: {r:?}");
        assert_eq!(w.deletes(), 0, "{result_info:?}: {r:?}");
        assert_eq!(w.live_emails().len(), 7, "{result_info:?}: {r:?}");
        assert!(page_requests(&w, 1) >= 3, "{result_info:?}: {r:?}");
    }
}

#[test]
fn an_order_that_changed_once_is_listed_again_and_only_extras_are_deleted() {
    for result_info in [ResultInfo::Full, ResultInfo::NoTotals] {
        let w = world(Faults {
            reorder: 1,
            result_info,
            ..Faults::default()
        });
        let r = apply(&w);
        assert_eq!(r.code, 0, "{result_info:?}: {r:?}");
        assert!(r.stderr.contains("listing again"), "{result_info:?}: {r:?}");
        assert_eq!(w.live_emails(), SURVIVORS, "{result_info:?}: {r:?}");
        assert_eq!(w.count("DELETE", 202), 4, "{result_info:?}: {r:?}");
    }
}

// --- relogin -------------------------------------------------------------------------------

#[test]
fn a_deleted_user_who_logs_in_again_is_an_extra_again_under_a_new_id() {
    let w = world(Faults {
        relogin: vec!["Carol@Example.com".into()],
        ..Faults::default()
    });
    let old = ids_of(&w, "carol@example.com");
    let r = apply(&w);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.count("DELETE", 202), 4, "{r:?}");
    // Carol is back, and she alone: same address, another id; her old id is gone.
    let new = ids_of(&w, "carol@example.com");
    assert_eq!(new.len(), 1, "{new:?}");
    assert_ne!(new, old);
    let mut live = w.live_emails();
    live.retain(|e| e != "carol@example.com");
    assert_eq!(live, SURVIVORS, "{r:?}");
    let users = w.sandbox.sandbox().users();
    let carol = users
        .iter()
        .find(|u| u["email"] == "carol@example.com")
        .unwrap();
    assert_eq!(carol["access_seat"], true, "{carol:?}");
    assert_eq!(carol["name"], "carol", "{carol:?}");
    assert!(carol["last_successful_login"].is_string(), "{carol:?}");
    // The next plan shows her to delete again, under the new id.
    let file = w.permissive_allowlist(ALLOWED);
    let r = w.run(&["plan", "--detailed-exitcode", "-f", file.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stdout.contains("Plan: 1 to delete"), "{r:?}");
    assert!(r.stdout.contains("carol@example.com"), "{r:?}");
    assert!(r.stdout.contains(&new[0]), "{r:?}");
}

#[test]
fn a_deleted_user_who_logs_in_again_is_marked_returned_by_the_next_plan_with_the_log() {
    let w = world(Faults {
        relogin: vec!["carol@example.com".into()],
        ..Faults::default()
    });
    let log = w.dir.path().join("audit.jsonl");
    let file = w.permissive_allowlist(ALLOWED);
    let (file, log) = (file.to_str().unwrap(), log.to_str().unwrap());
    let r = w.run(&["apply", "--auto-approve", "--audit-log", log, "-f", file]);
    assert_eq!(r.code, 0, "{r:?}");
    let deletes = w.count("DELETE", 202);
    let r = w.run(&[
        "plan",
        "--detailed-exitcode",
        "--audit-log",
        log,
        "-f",
        file,
    ]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stdout.contains("# returned: deleted "), "{r:?}");
    assert!(
        r.stdout
            .contains("an Access policy still admits this address"),
        "{r:?}"
    );
    let r = w.run(&["plan", "--format", "json", "--audit-log", log, "-f", file]);
    let plan: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(plan["counts"]["returned"], 1, "{plan}");
    // Reading the log deletes nothing.
    assert_eq!(w.count("DELETE", 202), deletes);
}

#[test]
fn with_a_relogin_rate_of_one_every_deleted_address_is_back_with_a_new_id() {
    let w = world(Faults {
        relogin_rate: 1.0,
        ..Faults::default()
    });
    let before: Vec<_> = ["first", "carol", "dave", "erin"]
        .iter()
        .map(|n| ids_of(&w, &format!("{n}@example.com")))
        .collect();
    let r = apply(&w);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.count("DELETE", 202), 4, "{r:?}");
    assert_eq!(w.live_emails().len(), 7, "{r:?}");
    for (name, old) in ["first", "carol", "dave", "erin"].iter().zip(before) {
        let now = ids_of(&w, &format!("{name}@example.com"));
        assert_eq!(now.len(), 1, "{name}");
        assert_ne!(now, old, "{name}");
    }
}

// --- foreign load --------------------------------------------------------------------------

/// The seven users, `quota` requests per `window` enforced (block: the window), and other
/// traffic spending `foreign` requests a second from the same window.
fn loaded(quota: u32, window: Duration, foreign: f64, block: Option<Duration>) -> World {
    World::with_options(
        seed(),
        Options::default().with_faults(
            Faults {
                max_per_page: Some(3),
                foreign_load: foreign,
                block,
                ..Faults::default()
            },
            Some(RateLimit { quota, window }),
        ),
    )
}

/// `GET path` with the test token, outside the client: what its `Ratelimit` header says is
/// left (`r=`).
fn remaining(w: &World) -> u32 {
    use std::io::{Read, Write};
    let addr = w.sandbox.addr();
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\nConnection: close\r\n\r\n",
        users_path()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let line = answer
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("ratelimit:"))
        .unwrap();
    let r = line.split(";r=").nth(1).unwrap();
    r.split(';').next().unwrap().trim().parse().unwrap()
}

#[test]
fn other_traffic_on_the_same_budget_is_read_from_the_header_and_apply_finishes_right() {
    // 20 requests per 4 s, 3 a second spent by others. Others have spent part of the window
    // before apply starts, so that what is left is less than apply's 16 requests (three
    // listings of four, four deletions) though its own count says 20: it must read
    // `Ratelimit` and wait for the next window rather than run into a 429.
    let w = loaded(20, Duration::from_secs(4), 3.0, None);
    // Polled every quarter second, not every 10 ms as `World::wait_until` does: each look is a
    // request of ours, from the same window.
    let start = std::time::Instant::now();
    while 20 - w.requests() as i64 - i64::from(remaining(&w)) < 6 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no foreign load seen"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(
        w.count("GET", 429) == 0,
        "the looks alone went over the limit"
    );
    let r = apply(&w);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.live_emails(), SURVIVORS, "{r:?}");
    assert_eq!(w.count("DELETE", 202), 4, "{r:?}");
    // No user is handled twice or wrongly: every DELETE answered went to an extra once.
    assert_eq!(w.deletes() - w.count("DELETE", 429), 4, "{r:?}");
    // It waited for the next window instead of spending what the header said was gone. Others'
    // requests between an answer and the next sends may still take the last units on a slow
    // machine: then at most the requests in flight at once (4) meet the 429, never a storm.
    let limited = w.count("GET", 429) + w.count("DELETE", 429);
    assert!(limited <= 4, "{limited} answered 429: {r:?}");
}

#[test]
fn a_block_started_by_other_traffic_stops_apply_cleanly_with_max_wait() {
    // 20 requests a minute, 500 a second spent by others: the window is over its quota within
    // a few milliseconds, and blocked for a minute.
    let w = loaded(
        20,
        Duration::from_secs(60),
        500.0,
        Some(Duration::from_secs(60)),
    );
    let users = users_path();
    w.wait_until("others to exhaust the budget", |w| {
        raw_get(w.sandbox.addr(), &users) == 429
    });
    let before = w.requests();
    let file = w.permissive_allowlist(ALLOWED);
    let r = w.run(&[
        "apply",
        "--auto-approve",
        "--max-wait",
        "1s",
        "-f",
        file.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("--max-wait"), "{r:?}");
    assert_eq!(w.deletes(), 0, "{r:?}");
    assert_eq!(w.live_emails().len(), 7, "{r:?}");
    assert_eq!(w.requests() - before, 1, "one request, answered 429: {r:?}");
}

#[test]
fn a_block_started_by_others_during_the_deletions_stops_apply_and_accounts_for_everyone() {
    // 30 requests a minute, blocked for a minute once over. The first deletion is done, the
    // second held in flight; meanwhile others spend the rest of the window and go over it.
    let w = World::with_options(
        seed(),
        Options {
            hold_deletes_after: Some(1),
            ..Options::default().with_faults(
                Faults {
                    max_per_page: Some(3),
                    block: Some(Duration::from_secs(60)),
                    ..Faults::default()
                },
                Some(RateLimit {
                    quota: 30,
                    window: Duration::from_secs(60),
                }),
            )
        },
    );
    let extras: Vec<String> = ["first", "carol", "dave", "erin"]
        .iter()
        .flat_map(|n| ids_of(&w, &format!("{n}@example.com")))
        .collect();
    let file = w.permissive_allowlist(ALLOWED);
    let cmd = w.cmd(&[
        "apply",
        "--auto-approve",
        "--parallelism",
        "1",
        "--max-wait",
        "1s",
        "-f",
        file.to_str().unwrap(),
    ]);
    let run = Watched::spawn(cmd);
    w.wait_until("a deletion in flight", |w| w.held() == 1);
    let users = users_path();
    w.wait_until("others to go over the limit", |w| {
        raw_get(w.sandbox.addr(), &users) == 429
    });
    w.sandbox.sandbox().release_held();
    let r = run.finish();
    // The held deletion went through (it was let in before the block); the next DELETE met the
    // 429, whose minute is longer than --max-wait: nothing more was sent, and the run says
    // which users were not attempted.
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("--max-wait"), "{r:?}");
    assert_eq!(w.count("DELETE", 202), 2, "{r:?}");
    assert_eq!(w.deletes(), 3, "{r:?}");
    assert!(r.stdout.contains("not attempted"), "{r:?}");
    let live = w.live_emails();
    assert_eq!(live.len(), 5, "{r:?}");
    for keep in SURVIVORS {
        assert!(live.contains(&keep.to_string()), "{keep}: {r:?}");
    }
    // Every DELETE sent went to an extra.
    for request in w.sandbox.sandbox().requests() {
        if request.method == "DELETE" {
            assert!(
                extras.iter().any(|id| request.path.ends_with(id.as_str())),
                "{request:?}"
            );
        }
    }
}

// --- null in seeds -------------------------------------------------------------------------

#[test]
fn null_fields_are_served_as_null_and_handled_like_missing_ones() {
    let text = format!(
        "account_id: {ACCOUNT}\nusers:\n\
         - id: 00000000-0000-4000-8000-000000000001\n  email: alice@example.com\n  last_successful_login: \"2026-11-27T17:45:00Z\"\n\
         - id: 00000000-0000-4000-8000-000000000002\n  email: null\n  name: A service token\n  last_successful_login: null\n\
         - id: 00000000-0000-4000-8000-000000000003\n  email: never@example.com\n  last_successful_login: null\n  access_seat: null\n"
    );
    let w = World::with_seed(Seed::from_str(&text, "seed.yaml").unwrap());
    let body = get_body(&w, &users_path());
    let raw = body.to_string();
    assert!(raw.contains(r#""email":null"#), "{raw}");
    assert!(raw.contains(r#""last_successful_login":null"#), "{raw}");
    assert!(raw.contains(r#""access_seat":null"#), "{raw}");
    let file = w.permissive_allowlist(&["alice@example.com"]);
    let r = w.run(&["apply", "--auto-approve", "-f", file.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    // The user without an address is held (nothing to match it on), the extra who never
    // logged in is deleted.
    assert_eq!(w.live_emails(), ["(none)", "alice@example.com"], "{r:?}");
    assert_eq!(w.count("DELETE", 202), 1, "{r:?}");
}

// --- the flags ------------------------------------------------------------------------------

#[test]
fn the_sandbox_command_exposes_the_first_contact_modes() {
    use std::io::{BufRead, BufReader};
    let mut child = bare(&[
        "sandbox",
        "--generate",
        "5",
        "--listen",
        "127.0.0.1:0",
        "--max-per-page",
        "2",
        "--result-info",
        "no-totals",
        "--reorder",
        "--relogin",
        "user000001@generated.example",
        "--relogin-rate",
        "0.5",
        "--foreign-load",
        "100/s",
    ])
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::null())
    .spawn()
    .unwrap();
    let mut url = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    let addr = url
        .trim()
        .trim_start_matches("http://")
        .trim_end_matches("/client/v4")
        .to_string();
    let get = |path: &str| {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(&addr).unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer sandbox-token\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    };
    let users = format!(
        "/client/v4/accounts/{}/access/users",
        reconcile::sandbox::DEFAULT_ACCOUNT_ID
    );
    let pages: Vec<String> = (0..6).map(|_| get(&format!("{users}?page=1"))).collect();
    let remaining = |answer: &String| -> u32 {
        let line = answer
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("ratelimit:"))
            .unwrap();
        let r = line.split(";r=").nth(1).unwrap();
        r.split(';').next().unwrap().trim().parse().unwrap()
    };
    // 100 requests a second by others: `r=` soon falls below what our own requests spent.
    let start = std::time::Instant::now();
    let mut ours = pages.len() as u32;
    loop {
        let answer = get(&format!("{users}?page=1"));
        ours += 1;
        if remaining(&answer) < 1200 - ours {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no foreign load seen"
        );
    }
    let _ = child.kill();
    let _ = child.wait();
    let body = |answer: &String| -> Value {
        serde_json::from_str(answer.split_once("\r\n\r\n").unwrap().1).unwrap()
    };
    let first = body(&pages[0]);
    assert_eq!(
        first["result_info"],
        serde_json::json!({"page": 1, "per_page": 2, "count": 2}),
        "{first}"
    );
    assert!(
        pages
            .iter()
            .map(body)
            .any(|b| b["result"] != first["result"]),
        "page 1 was served in another order at least once: {pages:?}"
    );
}
