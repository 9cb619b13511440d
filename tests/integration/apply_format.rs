//! `apply --format json|markdown`: one document on stdout for the whole run, checked against
//! what happened in the sandbox; the prompt they cannot show; errors that leave stdout empty.

use std::collections::BTreeSet;
use std::path::Path;

use reconcile::sandbox::{Faults, Options, Seed};
use serde_json::Value;

use crate::harness::*;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The demo seed's users other than carol, dave and erin, and one allowed address not in it.
const ALLOWED: &[&str] = &[
    "alice@example.com",
    "bob.martin@example.com",
    "frank@example.com",
    "grace@example.com",
    "nobody@example.com",
];

/// The whole of stdout as one JSON document (nothing before or after it).
fn document(r: &Run) -> Value {
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("not one JSON document: {e}\n{r:?}"))
}

fn emails_with(doc: &Value, outcomes: &[&str]) -> BTreeSet<String> {
    doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| outcomes.contains(&r["outcome"].as_str().unwrap()))
        .map(|r| r["email"].as_str().unwrap().to_string())
        .collect()
}

fn gone(before: &[String], after: &[String]) -> BTreeSet<String> {
    before
        .iter()
        .filter(|e| !after.contains(e))
        .cloned()
        .collect()
}

#[test]
fn json_is_one_document_whose_results_are_who_is_gone() {
    let w = World::demo();
    let file = w.permissive_allowlist(ALLOWED);
    let before = w.live_emails();
    let r = w.run(&[
        "apply",
        "--auto-approve",
        "--format",
        "json",
        "-f",
        s(&file),
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    let doc = document(&r);
    assert_eq!(doc["format_version"], 1);
    assert_eq!(doc["kind"], "apply");
    assert_eq!(doc["account_id"], ACCOUNT);
    assert_eq!(doc["source"], "plan");
    assert_eq!(doc["complete"], true);
    assert_eq!(doc["verification"]["status"], "checked");
    // The plan approved is the document `plan --format json` writes, whole.
    let plan = w.run(&["plan", "--format", "json", "-f", s(&file)]);
    let planned: Value = serde_json::from_str(&plan.stdout).unwrap();
    assert_eq!(planned["counts"]["delete"], 0, "applied already");
    assert_eq!(doc["plan"]["format_version"], 1);
    assert_eq!(doc["plan"]["counts"]["delete"], 3);
    let to_delete: BTreeSet<String> = doc["plan"]["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["decision"] == "delete")
        .map(|u| u["email"].as_str().unwrap().to_string())
        .collect();
    // The results are exactly who is gone from the sandbox, and exactly the plan's deletions.
    let deleted = emails_with(&doc, &["deleted", "deleted_answer_lost"]);
    assert_eq!(deleted, gone(&before, &w.live_emails()), "{r:?}");
    assert_eq!(deleted, to_delete);
    assert_eq!(w.deletes(), 3);
    assert_eq!(doc["counts"]["planned"], 3);
    assert_eq!(doc["counts"]["deleted"], 3);
    assert_eq!(doc["counts"]["failed"], 0);
    let carol = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["email"] == "carol@example.com")
        .unwrap();
    assert_eq!(carol["id"], "5d6e7f80-91a2-4b3c-8d4e-5f60718293a4");
    assert_eq!(carol["http_status"], 202, "{carol}");
    assert_eq!(carol["error"], Value::Null);
    // Nothing of the human plan or report on stdout.
    assert!(!r.stdout.contains("reconcile plan for account"), "{r:?}");
    assert!(!r.stdout.contains("Apply complete"), "{r:?}");
}

#[test]
fn json_and_markdown_without_auto_approve_are_refused_before_any_request() {
    let w = World::demo();
    let file = w.permissive_allowlist(ALLOWED);
    for format in ["json", "markdown"] {
        let r = w.run(&["apply", "--format", format, "-f", s(&file)]);
        assert_eq!(r.code, 1, "{r:?}");
        assert_eq!(r.stdout, "", "{r:?}");
        assert!(r.stderr.contains("--auto-approve"), "{r:?}");
        assert!(r.stderr.contains("plan.json"), "{r:?}");
        // Even with a terminal's answer on stdin: the document has no room for the plan.
        let r = run_with_stdin(
            w.cmd(&["apply", "--format", format, "-f", s(&file)]),
            "yes\n",
        );
        assert_eq!(r.code, 1, "{r:?}");
        assert_eq!(r.stdout, "", "{r:?}");
    }
    assert_eq!(w.requests(), 0);
    assert_eq!(w.live_emails().len(), 7);
    // The human format is as before: the plan, then the refusal to delete without a terminal.
    let r = w.run(&["apply", "-f", s(&file)]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("reconcile plan for account"), "{r:?}");
}

#[test]
fn a_saved_plan_applied_as_json_then_again_finds_everyone_gone() {
    let w = World::demo();
    let file = w.permissive_allowlist(ALLOWED);
    let out = w.dir.path().join("plan.json");
    let r = w.run(&["plan", "-f", s(&file), "--out", s(&out)]);
    assert_eq!(r.code, 0, "{r:?}");
    let before = w.live_emails();
    let r = w.run(&["apply", "--format", "json", s(&out), "-f", s(&file)]);
    assert_eq!(r.code, 0, "{r:?}");
    let doc = document(&r);
    assert_eq!(doc["source"], "saved_plan");
    assert_eq!(doc["plan"], Value::Null);
    assert_eq!(doc["saved_plan"]["deletions"], 3);
    assert_eq!(doc["saved_plan"]["path"], s(&out));
    assert_eq!(
        emails_with(&doc, &["deleted"]),
        gone(&before, &w.live_emails())
    );
    assert_eq!(doc["complete"], true);
    // A second run (the merge job re-run): every planned user skipped as gone, nothing sent.
    let r = w.run(&["apply", "--format", "json", s(&out), "-f", s(&file)]);
    assert_eq!(r.code, 0, "{r:?}");
    let doc = document(&r);
    assert_eq!(w.deletes(), 3);
    assert_eq!(doc["counts"]["deleted"], 0);
    assert_eq!(doc["counts"]["skipped"], 3);
    for result in doc["results"].as_array().unwrap() {
        assert_eq!(result["outcome"], "skipped", "{result}");
        assert_eq!(result["skip"]["kind"], "gone", "{result}");
    }
    assert_eq!(doc["verification"]["status"], "not_needed");
}

#[test]
fn errors_leave_stdout_empty_in_json_and_markdown() {
    let w = World::demo();
    // Refused by a rail (3 deletions, at most 1): nothing deleted, nothing on stdout.
    let permissive = w.permissive_allowlist(ALLOWED);
    let out = w.dir.path().join("plan.json");
    assert_eq!(
        w.run(&["plan", "-f", s(&permissive), "--out", s(&out)])
            .code,
        0
    );
    let other = w.file(
        "other.yaml",
        &format!("account_id: {ACCOUNT}\npolicy:\n  max_delete_fraction: 1\nusers: [alice@example.com]\n"),
    );
    for format in ["json", "markdown"] {
        let r = w.run(&[
            "apply",
            "--auto-approve",
            "--max-deletes",
            "1",
            "--format",
            format,
            "-f",
            s(&permissive),
        ]);
        assert_eq!(r.code, 1, "{r:?}");
        assert!(r.stderr.contains("safety rail"), "{r:?}");
        assert_eq!(r.stdout, "", "{format}: {r:?}");
        // A saved plan whose desired state is not the reviewed one.
        let r = w.run(&["apply", "--format", format, s(&out), "-f", s(&other)]);
        assert_eq!(r.code, 1, "{r:?}");
        assert_eq!(r.stdout, "", "{format}: {r:?}");
        // An API error: the token is refused.
        let mut cmd = w.cmd(&[
            "apply",
            "--auto-approve",
            "--format",
            format,
            "-f",
            s(&permissive),
        ]);
        cmd.env("CLOUDFLARE_API_TOKEN", "wrong-token-0123456789");
        let r = run(cmd);
        assert_eq!(r.code, 1, "{r:?}");
        assert_eq!(r.stdout, "", "{format}: {r:?}");
    }
    assert_eq!(w.deletes(), 0);
    assert_eq!(w.live_emails().len(), 7);
}

#[test]
fn an_incomplete_run_is_a_whole_document_that_says_so_and_exits_3() {
    // The token is revoked after the first deletion: the rest are refused or not attempted.
    let w = World::with_options(
        Seed::from_str(DEMO_SEED, "seed.yaml").unwrap(),
        Options::default().with_faults(
            Faults {
                revoke_after_deletes: Some(1),
                ..Faults::default()
            },
            None,
        ),
    );
    let file = w.permissive_allowlist(ALLOWED);
    let before = w.live_emails();
    let r = w.run(&[
        "apply",
        "--auto-approve",
        "--parallelism",
        "1",
        "--format",
        "json",
        "-f",
        s(&file),
    ]);
    assert_eq!(r.code, 3, "{r:?}");
    let doc = document(&r);
    assert_eq!(doc["complete"], false);
    let after = w.live_emails();
    assert_eq!(emails_with(&doc, &["deleted"]), gone(&before, &after));
    assert_eq!(doc["counts"]["deleted"], 1, "{doc}");
    // Everyone else planned is reported as not deleted, and is still there.
    let not_deleted = emails_with(&doc, &["failed", "not_attempted", "interrupted"]);
    assert_eq!(not_deleted.len(), 2, "{doc}");
    for email in &not_deleted {
        assert!(after.contains(email), "{email}: {after:?}");
    }
    assert_eq!(doc["stopped"]["kind"], "auth_refused", "{doc}");
    assert_ne!(doc["verification"]["status"], "checked", "{doc}");
}

#[test]
fn nothing_to_delete_is_still_one_document() {
    let w = World::demo();
    let everyone = w.file(
        "everyone.yaml",
        &format!(
            "account_id: {ACCOUNT}\nusers: [alice@example.com, bob.martin@example.com, carol@example.com, dave.contractor@partner.example, erin@example.com, frank@example.com]\n"
        ),
    );
    let r = w.run(&[
        "apply",
        "--auto-approve",
        "--format",
        "json",
        "-f",
        s(&everyone),
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    let doc = document(&r);
    assert_eq!(doc["results"], serde_json::json!([]));
    assert_eq!(doc["complete"], true);
    assert_eq!(doc["verification"]["status"], "not_needed");
    assert_eq!(doc["plan"]["counts"]["delete"], 0);
    let r = w.run(&[
        "apply",
        "--auto-approve",
        "--format",
        "markdown",
        "-f",
        s(&everyone),
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.starts_with(&format!(
            "<!-- reconcile:apply account={ACCOUNT} -->\n## reconcile apply: nothing to delete\n"
        )),
        "{r:?}"
    );
    assert_eq!(w.deletes(), 0);
}

#[test]
fn markdown_is_the_apply_report_with_the_plan_and_the_step_summary_the_same() {
    let w = World::demo();
    let file = w.permissive_allowlist(ALLOWED);
    let summary = w.dir.path().join("summary.md");
    let mut cmd = w.cmd(&[
        "apply",
        "--auto-approve",
        "--color",
        "always",
        "--format",
        "markdown",
        "-f",
        s(&file),
    ]);
    cmd.env("GITHUB_STEP_SUMMARY", &summary);
    let r = run(cmd);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!r.stdout.contains('\x1b'), "{r:?}");
    assert!(
        r.stdout.starts_with(&format!(
            "<!-- reconcile:apply account={ACCOUNT} -->\n## reconcile apply: complete\n"
        )),
        "{r:?}"
    );
    // One marker: the plan inside is a part of the report, not a comment of its own.
    assert_eq!(r.stdout.matches("<!-- reconcile:").count(), 1, "{r:?}");
    assert!(r
        .stdout
        .contains("### The plan applied: 3 to delete, 4 unchanged"));
    assert!(
        !r.stdout.contains("read-only, nothing was changed"),
        "{r:?}"
    );
    for gone in ["carol@example.com", "erin@example.com"] {
        assert!(!w.live_emails().contains(&gone.to_string()));
        assert!(r.stdout.contains(&format!("| `{gone}` | `")), "{r:?}");
    }
    assert_eq!(
        std::fs::read_to_string(&summary).unwrap(),
        format!("{}\n", r.stdout)
    );
    // The temporary directory's name changes from run to run.
    let dir = w.dir.path().to_str().unwrap();
    let text = r.stdout.replace(dir, "[DIR]");
    assert!(!text.contains(".tmp"), "{text}");
    insta::assert_snapshot!("apply_markdown_report", text);
}

#[test]
fn a_saved_plan_applied_as_markdown_names_the_plan() {
    let w = World::demo();
    let file = w.permissive_allowlist(ALLOWED);
    let out = w.dir.path().join("plan.json");
    assert_eq!(w.run(&["plan", "-f", s(&file), "--out", s(&out)]).code, 0);
    let r = w.run(&["apply", "--format", "markdown", s(&out), "-f", s(&file)]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.starts_with("<!-- reconcile:apply account="),
        "{r:?}"
    );
    assert!(r.stdout.contains("### The saved plan applied"), "{r:?}");
    assert!(r.stdout.contains(&format!("`{}`", out.display())), "{r:?}");
    assert!(r.stdout.contains("3 deletions reviewed"), "{r:?}");
    assert!(!r.stdout.contains("Applying saved plan"), "{r:?}");
    assert_eq!(w.deletes(), 3);
}

#[test]
fn the_manual_lists_every_environment_variable_read() {
    let r = run(bare(&["man"]));
    assert_eq!(r.code, 0, "{r:?}");
    let environment = r
        .stdout
        .split(".SH ENVIRONMENT")
        .nth(1)
        .and_then(|rest| rest.split(".SH ").next())
        .unwrap();
    for name in [
        "RECONCILE_FILES",
        "CLOUDFLARE_API_TOKEN",
        "CLOUDFLARE_ACCOUNT_ID",
        "CLOUDFLARE_BASE_URL",
        "RECONCILE_AUTO_APPROVE",
        "RECONCILE_PLAN_KEY",
        "RECONCILE_RETRY_DELAY_MS",
        "RECONCILE_SANDBOX_TOKEN",
        "GITHUB_STEP_SUMMARY",
        "GITHUB_ACTIONS",
        "GITLAB_CI",
        "HTTPS_PROXY",
        "NO_COLOR",
        "RUST_LOG",
        "USERNAME",
    ]
    .into_iter()
    .map(String::from)
    .chain(variables_read())
    {
        assert!(
            environment.contains(&name.replace('_', "\\_")) || environment.contains(&name),
            "{name} not in ENVIRONMENT:\n{environment}"
        );
    }
}

/// Every variable the command line and the audit log's actor read by name: `var("NAME")`,
/// `get("NAME")` and `is_true("NAME")` in their source, and the desired-state files' variable.
fn variables_read() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut names = Vec::new();
    for file in ["cli/resolve.rs", "cli/secrets.rs", "audit.rs", "main.rs"] {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        // Only the code: the unit tests name variables of their own.
        let code = text.split("#[cfg(test)]").next().unwrap();
        for call in ["var(\"", "get(\"", "is_true(\"", "FILES_VAR: &str = \""] {
            for rest in code.split(call).skip(1) {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                    .collect();
                if !name.is_empty() && rest[name.len()..].starts_with('"') {
                    names.push(name);
                }
            }
        }
    }
    assert!(names.iter().any(|n| n == "RECONCILE_FILES"), "{names:?}");
    assert!(names.iter().any(|n| n == "GITHUB_RUN_ID"), "{names:?}");
    names.sort();
    names.dedup();
    names
}
