//! The safety rails through the binary: each one refuses or holds, says why and how to go ahead,
//! and nothing is deleted when it refuses. Also: nothing but GET leaves any read-only command.

use crate::harness::*;
use reconcile::date::{Clock, Date};
use reconcile::sandbox::Seed;

fn seed(users: &[(&str, &str, Option<String>)]) -> Seed {
    let mut text = format!("account_id: {ACCOUNT}\nusers:\n");
    for (id, email, login) in users {
        text.push_str(&format!(
            "  - id: {id}\n    email: {email}\n    access_seat: true\n    gateway_seat: false\n"
        ));
        if let Some(login) = login {
            text.push_str(&format!("    last_successful_login: \"{login}\"\n"));
        }
    }
    Seed::from_str(&text, "rails-seed.yaml").unwrap()
}

fn id(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

/// `days` days before now, as the API writes timestamps.
fn days_ago(days: i64) -> String {
    let t = Clock::System.unix() - days * 86_400;
    format!(
        "{}T00:00:00Z",
        Date::from_days_since_epoch(t.div_euclid(86_400))
    )
}

/// 20 generated users; the allowlist keeps the first `keep`.
fn twenty(keep: usize) -> (World, std::path::PathBuf) {
    let mut s = Seed::empty(ACCOUNT);
    s.generate(20);
    let w = World::with_seed(s);
    let emails: Vec<String> = (1..=keep)
        .map(|i| format!("user{i:06}@generated.example"))
        .collect();
    let refs: Vec<&str> = emails.iter().map(String::as_str).collect();
    let file = w.allowlist(&refs);
    (w, file)
}

#[test]
fn mass_deletion_is_refused_until_the_exact_count_is_allowed() {
    let (w, file) = twenty(14);
    let f = file.to_str().unwrap();
    let r = w.run(&["plan", "-f", f]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("safety rail: the plan deletes 6 of 20 live users (30.0%), more than max_delete_fraction 0.25 (the default)"), "{r:?}");
    assert!(r.stderr.contains("pass --allow-deletes 6"), "{r:?}");
    assert!(
        r.stdout.contains("Refused: safety rail"),
        "the plan shows the refusal: {r:?}"
    );
    assert!(
        r.stdout.contains("Plan: 6 to delete"),
        "and still shows who would go: {r:?}"
    );

    let r = w.run(&["apply", "--auto-approve", "-f", f]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("nothing was deleted"), "{r:?}");
    let r = w.run(&["apply", "--auto-approve", "--allow-deletes", "5", "-f", f]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("--allow-deletes 5 was given, but this plan deletes 6"),
        "{r:?}"
    );
    let r = w.run(&[
        "plan",
        "--out",
        w.dir.path().join("p.json").to_str().unwrap(),
        "-f",
        f,
    ]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        !w.dir.path().join("p.json").exists(),
        "a refused plan is never saved"
    );
    assert_eq!(w.deletes(), 0);

    let r = w.run(&["apply", "--auto-approve", "--allow-deletes", "6", "-f", f]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.deletes(), 6);
}

#[test]
fn thresholds_from_the_file_and_from_flags() {
    let (w, _) = twenty(0);
    let emails: Vec<String> = (1..=18)
        .map(|i| format!("user{i:06}@generated.example"))
        .collect();
    let mut text = format!("account_id: {ACCOUNT}\npolicy:\n  max_deletes: 1\nusers:\n");
    for e in &emails {
        text.push_str(&format!("  - {e}\n"));
    }
    let file = w.file("policy.yaml", &text);
    let f = file.to_str().unwrap();
    let r = w.run(&["plan", "-f", f]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains(&format!(
            "deletes 2 users, more than max_deletes 1 (policy at {}:3:16)",
            file.display()
        )),
        "{r:?}"
    );
    let r = w.run(&["plan", "--max-deletes", "2", "-f", f]);
    assert_eq!(r.code, 0, "{r:?}");
    let r = w.run(&[
        "plan",
        "--max-deletes",
        "2",
        "--max-delete-fraction",
        "0.05",
        "-f",
        f,
    ]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("more than max_delete_fraction 0.05 (--max-delete-fraction)"),
        "{r:?}"
    );
    assert_eq!(w.deletes(), 0);
}

#[test]
fn deleting_everyone_needs_the_policy_whatever_the_flags() {
    let w = World::with_seed(seed(&[
        (&id(1), "a@example.com", None),
        (&id(2), "b@example.com", None),
    ]));
    let file = w.allowlist(&["nobody@example.com"]);
    let f = file.to_str().unwrap();
    let r = w.run(&[
        "apply",
        "--auto-approve",
        "--allow-deletes",
        "2",
        "--max-delete-fraction",
        "1",
        "-f",
        f,
    ]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("the plan deletes every one of the 2 live users"),
        "{r:?}"
    );
    assert!(r.stderr.contains("allow_delete_all: true"), "{r:?}");
    assert_eq!(w.deletes(), 0);
    let file = w.file(
        "all.yaml",
        &format!("account_id: {ACCOUNT}\nusers: [nobody@example.com]\npolicy: {{allow_delete_all: true}}\n"),
    );
    let r = w.run(&["apply", "--auto-approve", "-f", file.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.deletes(), 2);
}

#[test]
fn a_typo_in_the_allowlist_holds_the_colleague_it_meant() {
    let w = World::demo();
    // Bob is live as Bob.Martin@Example.com; the file says bobmartin@.
    let file = w.allowlist(&[
        "alice@example.com",
        "bobmartin@example.com",
        "frank@example.com",
    ]);
    let f = file.to_str().unwrap();
    let r = w.run(&["apply", "--auto-approve", "-f", f]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains(&format!("! Bob.Martin@Example.com: `bobmartin@example.com` at {}:4:5 is one edit from live `bob.martin@example.com`: correct line 4 if it means this user; to delete the user anyway, pass --allow-near-miss bob.martin@example.com", file.display())), "{r:?}");
    assert!(
        r.stdout
            .contains("pass --allow-near-miss bob.martin@example.com"),
        "{r:?}"
    );
    assert_eq!(w.deletes(), 3, "the three real extras go, Bob stays");
    assert!(w
        .live_emails()
        .contains(&"Bob.Martin@Example.com".to_string()));
    let r = w.run(&[
        "apply",
        "--auto-approve",
        "--allow-near-miss",
        "Bob.Martin@Example.com",
        "-f",
        f,
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!w
        .live_emails()
        .contains(&"Bob.Martin@Example.com".to_string()));
}

#[test]
fn recently_active_users_are_held_and_shown_with_their_activity() {
    let w = World::with_seed(seed(&[
        (&id(1), "keep@example.com", None),
        (&id(2), "recent@example.com", Some(days_ago(1))),
        (&id(3), "old@example.com", Some(days_ago(400))),
    ]));
    let file = w.file(
        "active.yaml",
        &format!("account_id: {ACCOUNT}\nusers: [keep@example.com]\npolicy: {{hold_active_within: 7d}}\n"),
    );
    let f = file.to_str().unwrap();
    let r = w.run(&["apply", "--auto-approve", "-f", f]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout
            .contains(&format!("- last_successful_login = \"{}\"", days_ago(400))),
        "{r:?}"
    );
    assert!(
        r.stdout.contains("! recent@example.com: last login"),
        "{r:?}"
    );
    assert!(r.stdout.contains("release with --include-active"), "{r:?}");
    assert!(
        r.stdout
            .contains("Frees 1 Access seat and 0 Gateway seats."),
        "{r:?}"
    );
    assert_eq!(w.live_emails(), ["keep@example.com", "recent@example.com"]);
    let r = w.run(&["apply", "--auto-approve", "--include-active", "-f", f]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.live_emails(), ["keep@example.com"]);
}

#[test]
fn two_users_with_one_address_are_held_until_allowed() {
    let w = World::with_seed(seed(&[
        (&id(1), "keep@example.com", None),
        (&id(2), "twin@example.com", None),
        (&id(3), "Twin@Example.com", None),
    ]));
    let file = w.allowlist(&["keep@example.com"]);
    let f = file.to_str().unwrap();
    let r = w.run(&["apply", "--auto-approve", "-f", f]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("2 live users share this address"),
        "{r:?}"
    );
    assert!(r.stdout.contains("Nothing to delete."), "{r:?}");
    assert_eq!(w.deletes(), 0);
    let r = w.run(&[
        "apply",
        "--auto-approve",
        "--allow-duplicate-email",
        "--allow-deletes",
        "2",
        "-f",
        f,
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.deletes(), 2);
}

/// Invariant 4: no code path of the read-only commands sends anything but GET, across every
/// command and flag combination below.
#[test]
fn read_only_commands_send_only_get() {
    let mut s = Seed::from_str(DEMO_SEED, "seed.yaml").unwrap();
    s.generate(30);
    let w = World::with_seed(s);
    // 37 live users: alice kept, Bob held as a near miss of bobmartin@, one without an email
    // held; 34 to delete.
    let strict = w.allowlist(&["alice@example.com", "bobmartin@example.com"]);
    let strict = strict.to_str().unwrap().to_string();
    let loose = w.permissive_allowlist(&["alice@example.com", "bobmartin@example.com"]);
    let (f, f_loose) = (strict.as_str(), loose.to_str().unwrap());
    let out = w.dir.path().join("plan.json");
    let export = w.dir.path().join("export.yaml");
    // (arguments, expected exit code, whether it lists the users)
    let runs: Vec<(Vec<&str>, i32, bool)> = vec![
        (vec!["plan", "-f", f], 1, true), // refused by the fraction rail
        (vec!["plan", "-f", f, "--allow-deletes", "34"], 0, true),
        (
            vec![
                "plan",
                "-f",
                f,
                "--allow-deletes",
                "34",
                "--detailed-exitcode",
                "--format",
                "json",
            ],
            2,
            true,
        ),
        (
            vec![
                "plan",
                "-f",
                f_loose,
                "--format",
                "markdown",
                "--include-active",
                "--allow-duplicate-email",
            ],
            0,
            true,
        ),
        (
            vec![
                "plan",
                "-f",
                f_loose,
                "--allow-near-miss",
                "bob.martin@example.com",
                "--out",
                out.to_str().unwrap(),
            ],
            0,
            true,
        ),
        (
            vec![
                "plan",
                "-f",
                f,
                "--max-deletes",
                "1000",
                "--max-delete-fraction",
                "1",
                "--detailed-exitcode",
            ],
            2,
            true,
        ),
        (vec!["validate", "-f", f], 0, false),
        (vec!["explain", "carol@example.com", "-f", f], 0, true),
        (
            vec![
                "explain",
                "bob.martin@example.com",
                "-f",
                f,
                "--allow-near-miss",
                "bob.martin@example.com",
            ],
            0,
            true,
        ),
        (vec!["export", "--account-id", ACCOUNT], 0, true),
        (
            vec![
                "export",
                "--account-id",
                ACCOUNT,
                "-o",
                export.to_str().unwrap(),
            ],
            0,
            true,
        ),
        (vec!["schema"], 0, false),
    ];
    for (args, code, lists) in &runs {
        let before = w.requests();
        let r = w.run(args);
        assert_eq!(r.code, *code, "{args:?}: {r:?}");
        assert_eq!(
            w.requests() > before,
            *lists,
            "{args:?} listed the users: {lists}"
        );
    }
    assert!(out.exists() && export.exists());
    let other: Vec<_> = w
        .sandbox
        .sandbox()
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET")
        .collect();
    assert!(other.is_empty(), "{other:?}");
    assert_eq!(w.live_emails().len(), 37);
}
