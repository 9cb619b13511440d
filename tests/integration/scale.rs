//! Large plans: above `--compact-above` deletions the human plan is one aligned line per user
//! and the before/after diff is summarised, and it says where the full record is; the JSON stays
//! complete; a small plan keeps its block per user.

use crate::harness::*;
use reconcile::sandbox::Seed;

/// A sandbox of `users` generated users (`user000001@generated.example`, ...) and an allowlist
/// keeping the first `kept`.
fn world(users: usize, kept: usize) -> (World, String) {
    let mut seed = Seed::empty(ACCOUNT);
    seed.generate(users);
    let world = World::with_seed(seed);
    let emails: Vec<String> = (1..=kept)
        .map(|i| format!("user{i:06}@generated.example"))
        .collect();
    let refs: Vec<&str> = emails.iter().map(String::as_str).collect();
    let path = world.permissive_allowlist(&refs).display().to_string();
    (world, path)
}

fn rows(text: &str) -> usize {
    text.lines()
        .filter(|l| l.starts_with("  - user") && l.contains("@generated.example  "))
        .count()
}

fn blocks(text: &str) -> usize {
    text.matches("  - user \"user").count()
}

#[test]
fn sixty_deletions_read_as_one_line_each_with_the_diff_summarised() {
    let (w, allow) = world(80, 20);
    let r = w.run(&["plan", "-f", &allow]);
    assert_eq!(r.code, 0, "{r:?}");
    let out = &r.stdout;
    assert!(
        out.contains("The following 60 users will be deleted"),
        "{r:?}"
    );
    assert_eq!(rows(out), 60, "{r:?}");
    assert_eq!(blocks(out), 0, "{r:?}");
    let header = out
        .lines()
        .find(|l| l.trim_start().starts_with("EMAIL"))
        .unwrap();
    for column in ["NAME", "LAST LOGIN", "SEATS", "REASON"] {
        assert!(header.contains(column), "{header}");
    }
    // Where the full record is.
    assert!(out.contains("`reconcile plan --format json`"), "{r:?}");
    assert!(out.contains("`reconcile plan --out FILE`"), "{r:?}");
    // The diff: the counts and the first lines only.
    assert!(out.contains("--- live (80 users)") && out.contains("+++ after apply (20 users)"));
    assert!(
        out.contains("more removed not shown (60 removed, 20 unchanged in all; --full-diff shows every line)"),
        "{r:?}"
    );
    let removed = out.lines().filter(|l| l.starts_with("  -user")).count();
    assert!((1..60).contains(&removed), "{removed} diff lines\n{r:?}");
    assert!(
        out.ends_with("Plan: 60 to delete, 20 unchanged.\n"),
        "{r:?}"
    );

    // The JSON stays complete whatever the human layout.
    let r = w.run(&["plan", "-f", &allow, "--format", "json"]);
    assert_eq!(r.code, 0, "{r:?}");
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(doc["counts"]["delete"], 60);
    let users = doc["users"].as_array().unwrap();
    assert_eq!(
        users.iter().filter(|u| u["decision"] == "delete").count(),
        60
    );
    assert!(users.iter().all(|u| u["id"].is_string()));
}

#[test]
fn full_diff_shows_every_line_and_the_threshold_brings_the_blocks_back() {
    let (w, allow) = world(80, 20);
    let r = w.run(&["plan", "-f", &allow, "--full-diff"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(rows(&r.stdout), 60, "{r:?}");
    assert!(!r.stdout.contains("more removed not shown"), "{r:?}");
    let removed = r
        .stdout
        .lines()
        .filter(|l| l.starts_with("  -user"))
        .count();
    assert_eq!(removed, 60, "{r:?}");

    let r = w.run(&["plan", "-f", &allow, "--compact-above", "60"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(blocks(&r.stdout), 60, "{r:?}");
    assert_eq!(rows(&r.stdout), 0, "{r:?}");
    assert!(!r.stdout.contains("more removed not shown"), "{r:?}");
    assert!(!r.stdout.contains("--format json"), "{r:?}");

    let r = w.run(&["plan", "-f", &allow, "--compact-above", "59"]);
    assert_eq!(rows(&r.stdout), 60, "{r:?}");
}

#[test]
fn a_small_plan_keeps_its_block_per_user() {
    let (w, allow) = world(23, 20);
    let r = w.run(&["plan", "-f", &allow]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains(
        "The following users will be deleted (their Access seats and tokens are revoked):"
    ));
    assert_eq!(blocks(&r.stdout), 3, "{r:?}");
    assert!(r.stdout.contains("      - id                    = \"",));
    assert!(!r.stdout.contains("LAST LOGIN"), "{r:?}");
    assert!(!r.stdout.contains("more removed not shown"), "{r:?}");
    assert_eq!(
        r.stdout
            .lines()
            .filter(|l| l.starts_with("  -user"))
            .count(),
        3,
        "{r:?}"
    );
}

#[test]
fn apply_shows_the_compact_plan_before_it_asks() {
    let (w, allow) = world(80, 20);
    // No terminal and no --auto-approve: the plan is shown, then apply refuses to go on.
    let r = w.run(&["apply", "-f", &allow]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("without confirmation"), "{r:?}");
    assert_eq!(rows(&r.stdout), 60, "{r:?}");
    assert!(r.stdout.contains("more removed not shown"), "{r:?}");
    assert!(r.stdout.contains("`reconcile plan --format json`"), "{r:?}");
    assert_eq!(w.deletes(), 0);

    let r = w.run(&[
        "apply",
        "-f",
        &allow,
        "--compact-above",
        "100",
        "--full-diff",
    ]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(blocks(&r.stdout), 60, "{r:?}");
    assert_eq!(w.deletes(), 0);
}
