//! Saved plans that only the holder of the plan key can seal: with `RECONCILE_PLAN_KEY` or
//! `--plan-key-file`, `plan --out` seals with HMAC-SHA256, and `apply PLAN_FILE` accepts only a
//! plan whose seal verifies under the key. Someone who can write the artifact but has no key can
//! no longer re-seal an edited plan.

use std::path::{Path, PathBuf};

use crate::harness::*;
use reconcile::planfile::SavedPlan;
use serde_json::Value;

const KEY: &str = "k3y-7f1c9e2ab4d86053f1e2d3c4b5a69788";
const OTHER_KEY: &str = "other-0a1b2c3d4e5f60718293a4b5c6d7e8f9";

/// The demo seed's extras under this allowlist are carol, dave and erin.
const ALLOWED: &[&str] = &[
    "alice@example.com",
    "bob.martin@example.com",
    "frank@example.com",
];

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `plan --out`, with `key` in RECONCILE_PLAN_KEY when given; returns the plan file.
fn save_plan(w: &World, allowlist: &Path, key: Option<&str>) -> PathBuf {
    let out = w.dir.path().join("plan.json");
    let mut cmd = w.cmd(&["plan", "-f", s(allowlist), "--out", s(&out)]);
    if let Some(key) = key {
        cmd.env("RECONCILE_PLAN_KEY", key);
    }
    let r = run(cmd);
    assert_eq!(r.code, 0, "{r:?}");
    out
}

fn apply(w: &World, plan: &Path, allowlist: &Path, key: Option<&str>) -> Run {
    let mut cmd = w.cmd(&["apply", s(plan), "-f", s(allowlist)]);
    if let Some(key) = key {
        cmd.env("RECONCILE_PLAN_KEY", key);
    }
    run(cmd)
}

fn seal_of(plan: &Path) -> String {
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(plan).unwrap()).unwrap();
    doc["digest"].as_str().unwrap().to_string()
}

fn assert_refused(w: &World, r: &Run, message: &str) {
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains(message), "{r:?}");
    assert!(r.stderr.contains("nothing was deleted"), "{r:?}");
    assert!(r.stderr.contains("help: "), "{r:?}");
    assert_eq!(w.deletes(), 0, "{r:?}");
    assert!(!r.stderr.contains(KEY) && !r.stdout.contains(KEY), "{r:?}");
}

#[test]
fn a_keyed_plan_applies_under_its_key() {
    let w = World::demo();
    let file = w.permissive_allowlist(ALLOWED);
    let plan = save_plan(&w, &file, Some(KEY));
    assert!(
        seal_of(&plan).starts_with("hmac-sha256:"),
        "{}",
        seal_of(&plan)
    );
    let r = apply(&w, &plan, &file, Some(KEY));
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.deletes(), 3, "{r:?}");
}

#[test]
fn a_keyed_plan_edited_and_resealed_without_the_key_is_refused() {
    let w = World::demo();
    let file = w.permissive_allowlist(ALLOWED);
    let plan = save_plan(&w, &file, Some(KEY));
    // Whoever can write the artifact drops carol from the plan (so she silently stays) and
    // re-seals it the only way open without the key: with an unkeyed digest.
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    let mut saved: SavedPlan = serde_json::from_value(doc["plan"].clone()).unwrap();
    saved.deletions.retain(|d| d.email != "carol@example.com");
    std::fs::write(&plan, saved.to_json()).unwrap();
    let r = apply(&w, &plan, &file, Some(KEY));
    assert_refused(
        &w,
        &r,
        "a plan key was given, but the saved plan is not sealed with one",
    );
    // Keeping the keyed prefix with a made-up tag does not help.
    let forged = saved
        .to_json()
        .replace(&saved.digest(), &format!("hmac-sha256:{}", "ab".repeat(32)));
    std::fs::write(&plan, forged).unwrap();
    let r = apply(&w, &plan, &file, Some(KEY));
    assert_refused(
        &w,
        &r,
        "the saved plan's seal does not verify under the plan key",
    );
}

#[test]
fn an_unkeyed_plan_is_refused_when_a_key_is_given() {
    let w = World::demo();
    let file = w.permissive_allowlist(ALLOWED);
    let plan = save_plan(&w, &file, None);
    let r = apply(&w, &plan, &file, Some(KEY));
    assert_refused(
        &w,
        &r,
        "a plan key was given, but the saved plan is not sealed with one",
    );
    assert!(
        r.stderr.contains("RECONCILE_PLAN_KEY or --plan-key-file"),
        "{r:?}"
    );
}

#[test]
fn a_keyed_plan_is_refused_without_a_key() {
    let w = World::demo();
    let file = w.permissive_allowlist(ALLOWED);
    let plan = save_plan(&w, &file, Some(KEY));
    let r = apply(&w, &plan, &file, None);
    assert_refused(
        &w,
        &r,
        "the saved plan is sealed with a plan key, and none was given",
    );
    assert!(
        r.stderr
            .contains("set RECONCILE_PLAN_KEY, or pass --plan-key-file FILE"),
        "{r:?}"
    );
}

#[test]
fn a_plan_sealed_under_another_key_is_refused() {
    let w = World::demo();
    let file = w.permissive_allowlist(ALLOWED);
    let plan = save_plan(&w, &file, Some(OTHER_KEY));
    let r = apply(&w, &plan, &file, Some(KEY));
    assert_refused(
        &w,
        &r,
        "the saved plan's seal does not verify under the plan key",
    );
}

#[cfg(unix)]
#[test]
fn plan_key_file_works_like_the_environment_variable() {
    let w = World::demo();
    let file = w.permissive_allowlist(ALLOWED);
    let key_file = w.file("plan.key", &format!("{KEY}\n"));
    std::fs::set_permissions(
        &key_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let plan = w.dir.path().join("plan.json");
    let r = w.run(&[
        "plan",
        "-f",
        s(&file),
        "--out",
        s(&plan),
        "--plan-key-file",
        s(&key_file),
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("sealed with the plan key"), "{r:?}");
    // The file and the variable hold the same key: either verifies the plan.
    let r = apply(&w, &plan, &file, None);
    assert_refused(&w, &r, "none was given");
    let r = w.run(&[
        "apply",
        s(&plan),
        "-f",
        s(&file),
        "--plan-key-file",
        s(&key_file),
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.deletes(), 3, "{r:?}");
}

#[test]
fn a_short_plan_key_is_refused_before_anything_is_sent() {
    let w = World::demo();
    let file = w.permissive_allowlist(ALLOWED);
    let plan = w.dir.path().join("plan.json");
    let mut cmd = w.cmd(&["plan", "-f", s(&file), "--out", s(&plan)]);
    cmd.env("RECONCILE_PLAN_KEY", "hunter2");
    let r = run(cmd);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("RECONCILE_PLAN_KEY: the plan key is 7 bytes long; give a random key of at least 32 bytes"),
        "{r:?}"
    );
    assert!(!r.stderr.contains("hunter2"), "{r:?}");
    assert!(!plan.exists());
    assert_eq!(w.requests(), 0);
}
