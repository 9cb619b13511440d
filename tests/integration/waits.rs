//! Rate-limit waits: a long wait asked by the API's `Ratelimit` header is announced, and any wait
//! longer than `--max-wait` stops the run at once, saying what the API asked and what to do.

use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use crate::harness::*;
use reconcile::sandbox::{Faults, Options, RateLimit, Seed};

const ALLOWED: &[&str] = &[
    "alice@example.com",
    "bob.martin@example.com",
    "frank@example.com",
];

/// The demo seed, three users a page (three pages), with a rate limit of 5 requests per
/// `window` enforced, and a block of `block` after it is exceeded.
fn world(window: Duration, block: Duration) -> World {
    World::with_options(
        Seed::from_str(DEMO_SEED, "seed.yaml").unwrap(),
        Options::default().with_faults(
            Faults {
                max_per_page: Some(3),
                block: Some(block),
                ..Faults::default()
            },
            Some(RateLimit { quota: 5, window }),
        ),
    )
}

/// Someone else spends `n` requests of the token's budget.
fn spend(w: &World, n: usize) -> Vec<u16> {
    let users = format!("/client/v4/accounts/{ACCOUNT}/access/users");
    (0..n).map(|_| raw_get(w.sandbox.addr(), &users)).collect()
}

#[test]
fn a_long_wait_asked_by_the_ratelimit_header_is_announced() {
    let w = world(Duration::from_secs(60), Duration::from_secs(60));
    assert_eq!(spend(&w, 4), [200; 4]);
    // The client's first request is the fifth of the window: its answer says `r=0;t=60`.
    let file = w.allowlist(ALLOWED);
    let mut cmd = w.cmd(&["plan", "-f", file.to_str().unwrap()]);
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = Vec::new();
    let mut announced = None;
    for line in stderr.lines().map_while(Result::ok) {
        if line.contains("WARN") && line.contains("Ratelimit") {
            announced = Some(line.clone());
            break;
        }
        seen.push(line);
    }
    // Nothing was sent into the wait.
    let requests = w.requests();
    let _ = child.kill();
    let _ = child.wait();
    let line = announced.unwrap_or_else(|| panic!("no warning at the default level: {seen:?}"));
    assert!(line.contains("waiting"), "{line}");
    assert_eq!(requests, 5, "{line}");
}

#[test]
fn a_ratelimit_wait_longer_than_max_wait_stops_at_once() {
    let w = world(Duration::from_secs(60), Duration::from_secs(60));
    assert_eq!(spend(&w, 4), [200; 4]);
    let file = w.allowlist(ALLOWED);
    let started = Instant::now();
    let r = w.run(&["plan", "--max-wait", "10s", "-f", file.to_str().unwrap()]);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "it waited: {r:?}"
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(
        w.requests(),
        5,
        "no request after the header said none are left: {r:?}"
    );
    assert!(r.stderr.contains("Ratelimit"), "{r:?}");
    assert!(r.stderr.contains("--max-wait"), "{r:?}");
    assert!(r.stderr.contains("run again"), "{r:?}");
}

#[test]
fn a_429_asking_for_longer_than_the_default_max_wait_stops_at_once() {
    // A block of an hour: more than the default --max-wait of 15 minutes.
    let w = world(Duration::from_secs(5), Duration::from_secs(3600));
    assert_eq!(spend(&w, 6), [200, 200, 200, 200, 200, 429]);
    let file = w.permissive_allowlist(ALLOWED);
    let started = Instant::now();
    let r = w.run(&["apply", "--auto-approve", "-f", file.to_str().unwrap()]);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "it waited: {r:?}"
    );
    assert_eq!(r.code, 1, "{r:?}");
    // One request, answered 429; no retry, no deletion.
    assert_eq!(w.requests(), 7, "{r:?}");
    assert_eq!(w.deletes(), 0, "{r:?}");
    assert!(r.stderr.contains("Retry-After"), "{r:?}");
    assert!(r.stderr.contains("--max-wait"), "{r:?}");
    assert!(r.stderr.contains("15 min"), "{r:?}");
}

#[test]
fn export_takes_max_wait_too() {
    let w = world(Duration::from_secs(60), Duration::from_secs(60));
    assert_eq!(spend(&w, 4), [200; 4]);
    let started = Instant::now();
    let r = w.run(&["export", "--account-id", ACCOUNT, "--max-wait", "10s"]);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "it waited: {r:?}"
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(w.requests(), 5, "{r:?}");
    assert!(r.stderr.contains("--max-wait (10 s)"), "{r:?}");
}
