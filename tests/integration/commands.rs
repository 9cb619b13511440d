//! The desired-state language through the binary: validate, explain, export, schema, and the
//! reasons a plan gives.

use std::path::{Path, PathBuf};

use crate::harness::*;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every desired-state example: files, and the team directory.
fn examples() -> Vec<PathBuf> {
    let ex = root().join("examples");
    vec![
        ex.join("minimal.yaml"),
        ex.join("annotated.yaml"),
        ex.join("teams"),
        ex.join("demo/allowlist.yaml"),
    ]
}

fn schema() -> jsonschema::Validator {
    let r = run(bare(&["schema"]));
    assert_eq!(r.code, 0, "{r:?}");
    let schema: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

fn yaml_as_json(text: &str) -> serde_json::Value {
    serde_yaml::from_str(text).unwrap()
}

fn validate_file(path: &Path) -> Run {
    run(bare(&["validate", "-f", path.to_str().unwrap()]))
}

#[test]
fn every_example_validates_plans_and_matches_the_schema() {
    let schema = schema();
    let w = World::demo();
    for example in examples() {
        let path = example.to_str().unwrap();
        let r = validate_file(&example);
        assert_eq!(r.code, 0, "{path}: {r:?}");
        assert!(r.stdout.starts_with("valid: "), "{path}: {r:?}");
        let r = w.run(&["plan", "-f", path]);
        assert_eq!(r.code, 0, "{path}: {r:?}");
        assert!(r.stdout.contains("Plan: "), "{path}: {r:?}");
        let files: Vec<PathBuf> = if example.is_dir() {
            std::fs::read_dir(&example)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect()
        } else {
            vec![example.clone()]
        };
        for file in files {
            let doc = yaml_as_json(&std::fs::read_to_string(&file).unwrap());
            let errors: Vec<String> = schema.iter_errors(&doc).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{}: {errors:?}", file.display());
        }
    }
    assert_eq!(w.deletes(), 0);
}

#[test]
fn schema_and_validate_agree() {
    let schema = schema();
    let valid = [
        "users: [a@example.com]\n",
        "version: 1\ndomains: [example.com]\n",
        "account_id: 023e105f4ecef8ad9ca31a8372d0c353\nusers:\n  - email: a@example.com\n    note: hi\n    expires: 2027-01-31\nprotected: ['*@svc.example.com']\n",
        "users: [a@example.com]\ndomains:\nprotected:\n",
    ];
    let invalid = [
        "version: 2\nusers: [a@example.com]\n",
        "account_id: '1234'\nusers: [a@example.com]\n",
        "users: [a@example.com]\nuserz: []\n",
        "users: [not-an-address]\n",
        "users: ['a b@example.com']\n",
        "users: ['a@localhost']\n",
        "users:\n  - email: a@example.com\n    expire: 2027-01-31\n",
        "users:\n  - note: no email\n",
        "users:\n  - email: a@example.com\n    expires: next week\n",
        "users: []\n",
        "protected: [a@example.com]\n",
        "users: [a@example.com]\ndomains: ['@example.com']\n",
        "users: [a@example.com]\ndomains: ['*.example.com']\n",
        "users: [a@example.com]\nprotected: ['nobody']\n",
        "users: a@example.com\n",
    ];
    let dir = tempfile::tempdir().unwrap();
    for (i, text) in valid.iter().chain(invalid.iter()).enumerate() {
        let should_pass = i < valid.len();
        let path = dir.path().join(format!("case{i}.yaml"));
        std::fs::write(&path, text).unwrap();
        let by_validate = validate_file(&path).code == 0;
        let by_schema = schema.is_valid(&yaml_as_json(text));
        assert_eq!(by_validate, should_pass, "validate on {text:?}");
        assert_eq!(by_schema, should_pass, "schema on {text:?}");
    }
}

#[test]
fn validate_reports_every_error_with_its_place() {
    let w = World::demo();
    let file = w.file(
        "bad.yaml",
        "account_id: 12\nuserz:\n  - bob\nusers:\n  - email: x@example.com\n    expirs: 2020-01-01\n  - nope\n",
    );
    let r = run(bare(&["validate", "-f", file.to_str().unwrap()]));
    assert_eq!(r.code, 1, "{r:?}");
    let path = file.display().to_string();
    for expected in [
        format!("{path}:1:13: `12` is not a Cloudflare account id"),
        format!("{path}:2:1: unknown key `userz`"),
        "help: did you mean `users`?".to_string(),
        format!("{path}:6:5: unknown key `expirs`"),
        "help: did you mean `expires`?".to_string(),
        format!("{path}:7:5: `nope` is not a valid email address"),
        "(4 problems)".to_string(),
    ] {
        assert!(r.stderr.contains(&expected), "missing {expected:?}: {r:?}");
    }
    assert!(r.stdout.is_empty(), "{r:?}");
}

#[test]
fn validate_warns_about_an_address_listed_twice() {
    let w = World::demo();
    let file = w.file("dup.yaml", "users:\n  - a@example.com\n  - A@Example.com\n");
    let r = run(bare(&["validate", "-f", file.to_str().unwrap()]));
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains(&format!(
            "{}:3:5: `A@Example.com` is listed twice (also at {}:2:5)",
            file.display(),
            file.display()
        )),
        "{r:?}"
    );
}

#[test]
fn plan_gives_each_rule_as_the_reason() {
    let w = World::demo();
    let file = w.file(
        "rules.yaml",
        &format!(
            "account_id: {ACCOUNT}\nusers:\n  - alice@example.com\n  - email: carol@example.com\n    note: left in October\n    expires: 2000-01-01\n  - email: erin@example.com\n    expires: 2999-12-31\ndomains: [partner.example]\nprotected: ['frank@*']\n"
        ),
    );
    let r = w.run(&["plan", "-f", file.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    let path = file.display().to_string();
    // Bob is not allowed by anything; carol's entry expired.
    assert!(
        r.stdout.contains(
            "# Bob.Martin@Example.com: no allowlist entry or domain matches this address"
        ),
        "{r:?}"
    );
    assert!(r.stdout.contains(&format!("# carol@example.com: the allowlist entry at {path}:4:5 expired on 2000-01-01 (note: \"left in October\")")), "{r:?}");
    assert!(
        r.stdout.contains("Plan: 2 to delete, 5 unchanged."),
        "{r:?}"
    );

    for (email, expected) in [
        (
            "dave.contractor@partner.example",
            format!("kept: allowed by domain partner.example ({path}:9:11)"),
        ),
        (
            "frank@example.com",
            format!("kept: protected by pattern frank@* ({path}:10:13)"),
        ),
        (
            "erin@example.com",
            format!("kept: allowed by {path}:7:5 until 2999-12-31"),
        ),
    ] {
        let r = w.run(&["explain", email, "-f", path.as_str()]);
        assert_eq!(r.code, 0, "{r:?}");
        assert!(r.stdout.contains(&expected), "{email}: {r:?}");
        assert!(
            r.stdout.contains("the plan keeps this user"),
            "{email}: {r:?}"
        );
    }
    assert_eq!(w.deletes(), 0);
}

#[test]
fn explain_offline_and_online() {
    let w = World::demo();
    let file = w.allowlist(&["alice@example.com"]);
    let offline = run(bare(&[
        "explain",
        "Carol@Example.com",
        "-f",
        file.to_str().unwrap(),
    ]));
    assert_eq!(offline.code, 0, "{offline:?}");
    assert!(
        offline
            .stdout
            .contains("rule:  deleted if present: no allowlist entry or domain matches"),
        "{offline:?}"
    );
    assert!(
        offline
            .stdout
            .contains("live:  not checked: no credentials"),
        "{offline:?}"
    );
    let online = w.run(&["explain", "Carol@Example.com", "-f", file.to_str().unwrap()]);
    assert!(online.stdout.contains("live:  user 5d6e7f80-91a2-4b3c-8d4e-5f60718293a4 \"Carol Diaz\", last login 2026-09-29T11:02:00Z: the plan deletes this user"), "{online:?}");
    // An account mismatch is an error, as in plan.
    let r = w.run(&[
        "explain",
        "carol@example.com",
        "--account-id",
        "00000000000000000000000000000000",
        "-f",
        file.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("account mismatch"), "{r:?}");
    let nobody = w.run(&["explain", "zed@example.com", "-f", file.to_str().unwrap()]);
    assert!(
        nobody
            .stdout
            .contains(&format!("no user with this address in account {ACCOUNT}")),
        "{nobody:?}"
    );
    assert_eq!(w.deletes(), 0);
}

#[test]
fn export_then_plan_plans_nothing() {
    let mut seed = reconcile::sandbox::Seed::from_str(DEMO_SEED, "seed.yaml").unwrap();
    seed.generate(1500);
    let w = World::with_seed(seed);
    let out = w.dir.path().join("exported.yaml");
    let r = w.run(&[
        "export",
        "--account-id",
        ACCOUNT,
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.contains("  - \"alice@example.com\"  # Alice Ng, last login 2026-11-27T17:45:00Z"),
        "{text}"
    );
    assert!(
        text.contains("(no email: reconcile never deletes it)"),
        "{text}"
    );
    let r = w.run(&["plan", "--detailed-exitcode", "-f", out.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("Plan: 0 to delete, 1507 unchanged."),
        "{}",
        r.stdout.lines().last().unwrap_or("")
    );
    // To stdout as well, the account from the environment.
    let mut cmd = w.cmd(&["export"]);
    cmd.env("CLOUDFLARE_ACCOUNT_ID", ACCOUNT);
    let r = run(cmd);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        r.stdout.lines().skip(1).collect::<Vec<_>>(),
        text.lines().skip(1).collect::<Vec<_>>()
    );
    assert_eq!(w.deletes(), 0);
}

#[test]
fn export_needs_an_account() {
    let w = World::demo();
    let r = w.run(&["export"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("no account id: pass --account-id"),
        "{r:?}"
    );
    assert_eq!(w.requests(), 0);
}

#[test]
fn completions_and_man_page() {
    for shell in ["bash", "zsh", "fish"] {
        let r = run(bare(&["completions", shell]));
        assert_eq!(r.code, 0, "{shell}: {r:?}");
        assert!(r.stdout.contains("reconcile"), "{shell}");
        for sub in ["plan", "apply", "validate", "explain", "export"] {
            assert!(r.stdout.contains(sub), "{shell} completes {sub}");
        }
    }
    let r = run(bare(&["man"]));
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.starts_with(".ie") || r.stdout.contains(".TH reconcile"),
        "{}",
        &r.stdout[..200.min(r.stdout.len())]
    );
    let text = r.stdout.replace("\\-", "-");
    for section in [
        // Each command is a subsection of COMMANDS, with its options.
        ".SS \"reconcile plan\"",
        ".SS \"reconcile apply\"",
        ".SS \"reconcile validate\"",
        "--allow-deletes",
        "CLOUDFLARE_API_TOKEN",
    ] {
        assert!(text.contains(section), "man page lacks {section}");
    }
    let r = run(bare(&["completions", "powershell-classic"]));
    assert_ne!(r.code, 0);
}
