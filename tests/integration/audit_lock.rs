//! Two applies sharing one `--audit-log`: the log is locked for the whole run, so the second
//! refuses at once, deletes nobody, and the chain stays one chain that verifies.

use std::fs::File;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use crate::harness::*;
use reconcile::sandbox::{Faults, Options, Seed};

const ALLOWED: &[&str] = &[
    "alice@example.com",
    "bob.martin@example.com",
    "frank@example.com",
];

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn verify(w: &World, log: &Path) -> Run {
    w.run(&["audit", "verify", s(log)])
}

#[test]
fn an_apply_refuses_an_audit_log_another_holds_and_deletes_nobody() {
    let w = World::demo();
    let file = w.permissive_allowlist(ALLOWED);
    let log = w.dir.path().join("audit.jsonl");
    // The log, held as a running apply holds it.
    std::fs::write(&log, "").unwrap();
    let held = File::options().append(true).open(&log).unwrap();
    held.lock().unwrap();
    let r = w.run(&[
        "apply",
        "--auto-approve",
        "--audit-log",
        s(&log),
        "-f",
        s(&file),
    ]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains(&format!(
            "audit log {}: another reconcile apply is writing it; wait for it to finish, then run again; nothing was deleted",
            s(&log)
        )),
        "{r:?}"
    );
    assert_eq!(w.requests(), 0, "refused before listing: {r:?}");
    assert_eq!(w.deletes(), 0);
    // `audit verify` does not read a log being written.
    let v = verify(&w, &log);
    assert_eq!(v.code, 1, "{v:?}");
    assert!(v.stderr.contains("the log was not verified"), "{v:?}");
    drop(held);
    // Released: the next apply runs, and the chain verifies.
    let r = w.run(&[
        "apply",
        "--auto-approve",
        "--audit-log",
        s(&log),
        "-f",
        s(&file),
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.deletes(), 3);
    let v = verify(&w, &log);
    assert_eq!(v.code, 0, "{v:?}");
    assert!(v.stdout.contains(": 3 records, chain intact"), "{v:?}");
}

#[test]
fn two_applies_at_once_take_turns_on_the_audit_log() {
    // Every answer takes a second: the first apply is still running when the second starts.
    let options = Options {
        faults: Faults {
            latency: Duration::from_millis(1000),
            ..Faults::default()
        },
        ..Options::default()
    };
    let w = World::with_options(Seed::from_str(DEMO_SEED, "seed.yaml").unwrap(), options);
    let file = w.permissive_allowlist(ALLOWED);
    let log = w.dir.path().join("audit.jsonl");
    let args = [
        "apply",
        "--auto-approve",
        "--audit-log",
        s(&log),
        "-f",
        s(&file),
    ];
    let first = w
        .cmd(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The first has taken the lock before it sends its first request.
    w.wait_until("the first apply to list", |w| w.requests() > 0);
    let second = w.run(&args);
    assert_eq!(second.code, 1, "{second:?}");
    assert!(
        second
            .stderr
            .contains("another reconcile apply is writing it"),
        "{second:?}"
    );
    let first = first.wait_with_output().unwrap();
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert_eq!(w.deletes(), 3, "only the first apply deleted");
    let v = verify(&w, &log);
    assert_eq!(v.code, 0, "{v:?}");
    assert!(v.stdout.contains(": 3 records, chain intact"), "{v:?}");
}
