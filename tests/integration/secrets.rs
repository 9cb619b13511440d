//! Invariant 5: no credential appears in stdout, stderr, logs, plan files, step summaries or
//! audit logs, at any verbosity, on success or on failure.

use std::path::PathBuf;

use crate::harness::*;

const WRONG_TOKEN: &str = "wrong-token-9f8e7d6c5b4a";
/// The plan key every run below gets (RECONCILE_PLAN_KEY, or --plan-key-file): the saved plan
/// is sealed and verified under it, and it must appear nowhere either.
const PLAN_KEY: &str = "plan-key-5e4d3c2b1a0f9e8d7c6b5a49382716";

fn assert_clean(what: &str, text: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(!text.contains(secret), "{what} contains a secret:\n{text}");
    }
}

#[test]
fn no_secret_anywhere_at_the_highest_verbosity() {
    let w = World::demo();
    let (_, key) = reconcile::sandbox::Options::default().legacy.unwrap();
    let secrets = [TOKEN, key.as_str(), WRONG_TOKEN, PLAN_KEY];
    let file = w.permissive_allowlist(&[
        "alice@example.com",
        "bob.martin@example.com",
        "frank@example.com",
    ]);
    let f = file.to_str().unwrap().to_string();
    let dir = w.dir.path();
    let path = |name: &str| dir.join(name).to_str().unwrap().to_string();
    let (plan_file, audit, summary, export, token_file, key_file, keyed_plan) = (
        path("plan.json"),
        path("audit.jsonl"),
        path("summary.md"),
        path("export.yaml"),
        path("token"),
        path("plan.key"),
        path("keyed-by-file.json"),
    );
    std::fs::write(&token_file, TOKEN).unwrap();
    std::fs::write(&key_file, PLAN_KEY).unwrap();

    type Case = (Vec<String>, Vec<(&'static str, String)>);
    let runs: Vec<Case> = vec![
        (vec!["validate".into(), "-f".into(), f.clone()], vec![]),
        (
            vec![
                "explain".into(),
                "carol@example.com".into(),
                "-f".into(),
                f.clone(),
            ],
            vec![],
        ),
        (
            vec![
                "export".into(),
                "--account-id".into(),
                ACCOUNT.into(),
                "-o".into(),
                export.clone(),
            ],
            vec![],
        ),
        (
            vec![
                "plan".into(),
                "--format".into(),
                "json".into(),
                "--out".into(),
                plan_file.clone(),
                "-f".into(),
                f.clone(),
            ],
            vec![("GITHUB_STEP_SUMMARY", summary.clone())],
        ),
        (
            vec![
                "plan".into(),
                "--format".into(),
                "markdown".into(),
                "-f".into(),
                f.clone(),
            ],
            vec![],
        ),
        (
            vec![
                "apply".into(),
                "--audit-log".into(),
                audit.clone(),
                plan_file.clone(),
                "-f".into(),
                f.clone(),
            ],
            vec![],
        ),
        (
            vec![
                "apply".into(),
                "--auto-approve".into(),
                "--audit-log".into(),
                audit.clone(),
                "-f".into(),
                f.clone(),
            ],
            vec![],
        ),
        // The plan key from a file: a plan sealed under it, and applied with it (nothing is
        // left to delete by then).
        (
            vec![
                "plan".into(),
                "--out".into(),
                keyed_plan.clone(),
                "--plan-key-file".into(),
                key_file.clone(),
                "-f".into(),
                f.clone(),
            ],
            vec![("RECONCILE_PLAN_KEY", String::new())],
        ),
        (
            vec![
                "apply".into(),
                "--audit-log".into(),
                audit.clone(),
                "--plan-key-file".into(),
                key_file.clone(),
                keyed_plan.clone(),
                "-f".into(),
                f.clone(),
            ],
            vec![("RECONCILE_PLAN_KEY", String::new())],
        ),
        // The legacy pair, a token from a file, and a refused token.
        (
            vec!["plan".into(), "-f".into(), f.clone()],
            vec![
                ("CLOUDFLARE_API_TOKEN", String::new()),
                ("CLOUDFLARE_EMAIL", "sandbox@example.com".into()),
                ("CLOUDFLARE_API_KEY", key.clone()),
            ],
        ),
        (
            vec![
                "plan".into(),
                "--api-token-file".into(),
                token_file.clone(),
                "-f".into(),
                f.clone(),
            ],
            vec![("CLOUDFLARE_API_TOKEN", String::new())],
        ),
        (
            vec![
                "apply".into(),
                "--auto-approve".into(),
                "-f".into(),
                f.clone(),
            ],
            vec![("CLOUDFLARE_API_TOKEN", WRONG_TOKEN.into())],
        ),
    ];
    for (args, env) in &runs {
        let mut all = vec!["-vvv".to_string()];
        all.extend(args.iter().cloned());
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        let mut cmd = w.cmd(&refs);
        cmd.env("RUST_LOG", "trace")
            .env("RECONCILE_PLAN_KEY", PLAN_KEY);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let r = run(cmd);
        assert!(r.code <= 3, "{args:?}: {r:?}");
        if args[0] != "validate" {
            assert!(
                r.stderr.contains("TRACE"),
                "{args:?}: trace logging was on: {r:?}"
            );
        }
        if args[0] == "plan" && args.contains(&"--out".to_string()) {
            assert!(
                r.stderr.contains("sealed with the plan key"),
                "{args:?}: the plan key was used: {r:?}"
            );
        }
        assert_clean(&format!("stdout of {args:?}"), &r.stdout, &secrets);
        assert_clean(&format!("stderr of {args:?}"), &r.stderr, &secrets);
    }
    assert_eq!(
        w.deletes(),
        3,
        "the saved plan deleted the three extras; the rest found nothing"
    );
    for file in [&plan_file, &keyed_plan, &audit, &summary, &export] {
        let text = std::fs::read_to_string(PathBuf::from(file)).unwrap();
        assert!(!text.is_empty(), "{file} was written");
        assert_clean(file, &text, &secrets);
    }
}
