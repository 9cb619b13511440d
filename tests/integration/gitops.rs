//! GitOps: the JSON and Markdown formats from the real binary, GITHUB_STEP_SUMMARY, every exit
//! code, and saved plans (`plan --out`, `apply PLAN_FILE`) against the sandbox: applied once and
//! twice, stale, expired, tampered, of an unknown version, for another account, and with
//! desired-state files that changed since the review.

use std::path::{Path, PathBuf};

use crate::harness::*;
use reconcile::planfile::{self, SavedPlan};
use reconcile::sandbox::Seed;
use serde_json::Value;

/// As in plan_apply.rs: the demo seed's extras under this allowlist are carol, dave and erin.
const ALLOWED: &[&str] = &[
    "alice@example.com",
    "bob.martin@example.com",
    "frank@example.com",
    "grace@example.com",
];

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `plan --out` into the world's directory; returns the plan file.
fn save_plan(w: &World, allowlist: &Path) -> PathBuf {
    let out = w.dir.path().join("plan.json");
    let r = w.run(&["plan", "-f", s(allowlist), "--out", s(&out)]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("Saved the plan to"), "{r:?}");
    out
}

/// Rewrite a saved plan through the library, with a valid digest (as someone who edits and
/// re-seals it would).
fn reseal(path: &Path, edit: impl FnOnce(&mut SavedPlan)) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut saved = SavedPlan::parse(&text, "plan.json").unwrap();
    edit(&mut saved);
    std::fs::write(path, saved.to_json()).unwrap();
}

#[test]
fn json_is_one_parseable_document_and_never_coloured() {
    let w = World::demo();
    let file = w.allowlist(ALLOWED);
    let mut cmd = w.cmd(&[
        "--color",
        "always",
        "plan",
        "--format",
        "json",
        "-f",
        s(&file),
    ]);
    cmd.env_remove("NO_COLOR");
    let r = run(cmd);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!r.stdout.contains('\x1b'), "{r:?}");
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(doc["format_version"], 1);
    assert_eq!(doc["account_id"], ACCOUNT);
    assert_eq!(doc["counts"]["delete"], 3);
    assert_eq!(doc["counts"]["live"], 7);
    let mut deleted: Vec<&str> = doc["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["decision"] == "delete")
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    deleted.sort();
    assert_eq!(
        deleted,
        [
            "carol@example.com",
            "dave.contractor@partner.example",
            "erin@example.com"
        ]
    );
    let kept = doc["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "alice@example.com")
        .unwrap();
    assert_eq!(kept["reason"]["kind"], "allowed");
    assert_eq!(kept["reason"]["location"]["line"], 3);
    assert_eq!(doc["absent"][0]["email"], "grace@example.com");
    assert_eq!(w.deletes(), 0);
}

#[test]
fn markdown_is_never_coloured_and_goes_to_the_step_summary_too() {
    let w = World::demo();
    let file = w.allowlist(ALLOWED);
    let summary = w.file("summary.md", "# Earlier step\n");
    for format in ["markdown", "json", "human"] {
        let mut cmd = w.cmd(&[
            "plan",
            "--color",
            "always",
            "--format",
            format,
            "-f",
            s(&file),
        ]);
        cmd.env("GITHUB_STEP_SUMMARY", &summary);
        let r = run(cmd);
        assert_eq!(r.code, 0, "{r:?}");
        if format == "markdown" {
            assert!(!r.stdout.contains('\x1b'), "{r:?}");
            assert!(
                r.stdout
                    .starts_with(&format!("<!-- reconcile:plan account={ACCOUNT} -->\n## reconcile plan: 3 to delete, 4 unchanged\n")),
                "{r:?}"
            );
        }
    }
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(
        text.starts_with("# Earlier step\n<!-- reconcile:plan account="),
        "{text}"
    );
    assert_eq!(text.matches("## reconcile plan: 3 to delete").count(), 3);
    assert!(!text.contains('\x1b'));
}

#[test]
fn exit_codes_0_1_2() {
    let w = World::demo();
    let file = w.allowlist(ALLOWED);
    let everyone = w.file(
        "everyone.yaml",
        &format!(
            "account_id: {ACCOUNT}\nusers: [alice@example.com, bob.martin@example.com, carol@example.com, dave.contractor@partner.example, erin@example.com, frank@example.com]\n"
        ),
    );
    for format in ["human", "json", "markdown"] {
        let changes = w.run(&[
            "plan",
            "--detailed-exitcode",
            "--format",
            format,
            "-f",
            s(&file),
        ]);
        assert_eq!(changes.code, 2, "{changes:?}");
        let none = w.run(&[
            "plan",
            "--detailed-exitcode",
            "--format",
            format,
            "-f",
            s(&everyone),
        ]);
        assert_eq!(none.code, 0, "{none:?}");
        let plain = w.run(&["plan", "--format", format, "-f", s(&file)]);
        assert_eq!(plain.code, 0, "{plain:?}");
    }
    // 1: an error, even under --detailed-exitcode: a bad flag (clap alone would exit 2), a bad
    // file, a bad token, a bad --plan-ttl.
    let bad_flag = w.run(&[
        "plan",
        "--detailed-exitcode",
        "--no-such-flag",
        "-f",
        s(&file),
    ]);
    assert_eq!(bad_flag.code, 1, "{bad_flag:?}");
    let bad_file = w.file("bad.yaml", "users: [not-an-address]\n");
    let r = w.run(&["plan", "--detailed-exitcode", "-f", s(&bad_file)]);
    assert_eq!(r.code, 1, "{r:?}");
    let mut cmd = w.cmd(&["plan", "--detailed-exitcode", "-f", s(&file)]);
    cmd.env("CLOUDFLARE_API_TOKEN", "wrong");
    assert_eq!(run(cmd).code, 1);
    let r = w.run(&[
        "plan",
        "-f",
        s(&file),
        "--out",
        "p.json",
        "--plan-ttl",
        "90d",
    ]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("longest plan lifetime"), "{r:?}");
    // --help is not an error.
    assert_eq!(w.run(&["plan", "--help"]).code, 0);
    assert_eq!(w.deletes(), 0);
}

/// A loopback API that lists two users and fails the DELETE of the second with a 400 (which no
/// client retries).
fn half_failing_api(max: usize) -> String {
    loopback_api(max, |request_line| {
        if request_line.starts_with("GET") {
            let page_one = request_line.contains("page=1&");
            let users = if page_one {
                r#"[{"id":"00000000-0000-4000-8000-000000000001","email":"one@example.com"},{"id":"00000000-0000-4000-8000-000000000002","email":"two@example.com"}]"#
            } else {
                "[]"
            };
            (
                "200 OK",
                format!(
                    r#"{{"success":true,"errors":[],"messages":[],"result":{users},"result_info":{{"page":{},"per_page":1000,"count":2,"total_count":2,"total_pages":1}}}}"#,
                    if page_one { 1 } else { 2 }
                ),
            )
        } else if request_line.contains("000000000001") {
            (
                "200 OK",
                r#"{"success":true,"errors":[],"messages":[],"result":{"id":"00000000-0000-4000-8000-000000000001"}}"#.to_string(),
            )
        } else {
            (
                "400 Bad Request",
                r#"{"success":false,"errors":[{"code":10400,"message":"refused by the test server"}],"messages":[],"result":null}"#.to_string(),
            )
        }
    })
}

#[test]
fn exit_code_3_when_apply_partly_fails() {
    let url = half_failing_api(16);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users.yaml");
    std::fs::write(
        &file,
        // Both live users go: the delete-all rail must be released on purpose.
        format!("account_id: {ACCOUNT}\nusers: [alice@example.com]\npolicy: {{allow_delete_all: true}}\n"),
    )
    .unwrap();
    let mut cmd = bare(&["apply", "--auto-approve", "-f", s(&file)]);
    cmd.env("CLOUDFLARE_BASE_URL", &url)
        .env("CLOUDFLARE_API_TOKEN", TOKEN);
    let r = run(cmd);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.stdout.contains("1 deleted, 0 already gone, 1 failed"),
        "{r:?}"
    );
}

#[test]
fn saved_plan_applies_without_a_prompt_and_twice_is_safe() {
    let w = World::demo();
    let file = w.allowlist(ALLOWED);
    let plan = save_plan(&w, &file);
    assert_eq!(w.deletes(), 0, "plan --out sends no DELETE");
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    assert_eq!(saved["format_version"], 1);
    assert_eq!(saved["plan"]["deletions"].as_array().unwrap().len(), 3);
    assert!(!std::fs::read_to_string(&plan).unwrap().contains(TOKEN));

    // stdin is not a terminal and there is no --auto-approve: the reviewed plan is the approval.
    let r = run_with_stdin(w.cmd(&["apply", s(&plan), "-f", s(&file)]), "");
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout
            .contains("Apply complete: 3 deleted, 0 already gone, 0 failed"),
        "{r:?}"
    );
    assert_eq!(w.deletes(), 3);
    assert_eq!(
        w.live_emails(),
        [
            "(none)",
            "Bob.Martin@Example.com",
            "alice@example.com",
            "frank@example.com"
        ]
    );

    let again = w.run(&["apply", s(&plan), "-f", s(&file)]);
    assert_eq!(again.code, 0, "{again:?}");
    assert!(
        again
            .stdout
            .contains("Nothing to delete: every user in the saved plan is already gone"),
        "{again:?}"
    );
    assert!(!again.stdout.contains("changed since"), "{again:?}");
    assert_eq!(w.deletes(), 3, "the second apply sends no DELETE");
}

/// The demo seed with `edit` applied to its text: the same account, changed since the plan.
fn changed_seed(edit: impl FnOnce(String) -> String) -> Seed {
    Seed::from_str(&edit(DEMO_SEED.to_string()), "changed.yaml").unwrap()
}

#[test]
fn stale_plan_deletes_only_planned_users_still_present_as_planned() {
    // Planned on the demo account; applied after erin left, carol's id got another address and
    // mallory joined (a second sandbox for the same account, changed).
    let planned = World::demo();
    let file = planned.allowlist(ALLOWED);
    let plan = save_plan(&planned, &file);
    let extra = "  - id: 9a9a9a9a-0000-4000-8000-000000000009\n    email: mallory@example.com\n";
    let now = World::with_seed(changed_seed(|t| {
        let t = t
            .replace("email: erin@example.com", "email: erin-left@example.com")
            .replace("email: carol@example.com", "email: carol.new@example.com");
        format!("{t}{extra}")
    }));
    // Without -f it refuses: it could not tell whether a planned user was allowed since.
    let r = now.run(&["apply", s(&plan)]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("apply PLAN_FILE needs the desired-state files too"),
        "{r:?}"
    );
    assert_eq!(now.deletes(), 0);
    // With the reviewed files: the plan is the approval; changed and new users are left alone.
    let file_now = now.allowlist(ALLOWED);
    let r = now.run(&["apply", s(&plan), "-f", s(&file_now)]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains(
            "dave.contractor@partner.example (8f9a0b1c-2d3e-4f50-a617-28394a5b6c7d): deleted"
        ),
        "{r:?}"
    );
    assert!(r.stdout.contains("carol.new@example.com"), "{r:?}");
    assert!(r.stdout.contains("its id now has another address"), "{r:?}");
    assert!(
        r.stderr.contains("changed since the plan was made"),
        "{r:?}"
    );
    assert!(
        r.stdout
            .contains("mallory@example.com: new extra since the plan, not in it, NOT deleted"),
        "{r:?}"
    );
    assert_eq!(now.deletes(), 1);
    let live = now.live_emails();
    for stays in [
        "carol.new@example.com",
        "erin-left@example.com",
        "mallory@example.com",
    ] {
        assert!(live.iter().any(|e| e == stays), "{stays} in {live:?}");
    }
}

#[test]
fn stale_plan_with_the_files_names_new_extras_and_leaves_them() {
    let planned = World::demo();
    let file = planned.allowlist(ALLOWED);
    let plan = save_plan(&planned, &file);
    let now = World::with_seed(changed_seed(|t| {
        format!("{t}  - id: 9a9a9a9a-0000-4000-8000-000000000009\n    email: mallory@example.com\n")
    }));
    let file_now = now.allowlist(ALLOWED);
    let r = now.run(&["apply", s(&plan), "-f", s(&file_now)]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("Apply complete: 3 deleted"), "{r:?}");
    assert!(
        r.stdout.contains(
            "mallory@example.com: new extra since the plan, not in it, NOT deleted (run plan again)"
        ),
        "{r:?}"
    );
    assert!(now.live_emails().iter().any(|e| e == "mallory@example.com"));
    assert_eq!(now.deletes(), 3);
}

/// Run `apply PLAN` and check that it was refused before any request was sent.
fn assert_refused(w: &World, args: &[&str], env: &[(&str, &str)], message: &str) -> Run {
    let mut cmd = w.cmd(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let r = run(cmd);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains(message), "{r:?}");
    assert!(r.stderr.contains("help: "), "{r:?}");
    assert_eq!(w.deletes(), 0, "{r:?}");
    r
}

#[test]
fn expired_plans_are_refused() {
    let w = World::demo();
    let plan = save_plan(&w, &w.allowlist(ALLOWED));
    let before = w.requests();
    reseal(&plan, |p| {
        p.created_at = planfile::format_rfc3339(1_700_000_000);
        p.expires_at = planfile::format_rfc3339(1_700_003_600);
    });
    let r = assert_refused(
        &w,
        &["apply", s(&plan)],
        &[],
        "the saved plan expired at 2023-11-14T23:13:20Z",
    );
    assert!(
        r.stderr.contains("run `reconcile plan --out` again"),
        "{r:?}"
    );
    assert_eq!(w.requests(), before, "refused before any request");
}

#[test]
fn tampered_and_unknown_version_plans_are_refused() {
    let w = World::demo();
    let plan = save_plan(&w, &w.allowlist(ALLOWED));
    let text = std::fs::read_to_string(&plan).unwrap();
    let before = w.requests();

    let edited = w.file(
        "edited.json",
        &text.replace("carol@example.com", "alice@example.com"),
    );
    assert_refused(
        &w,
        &["apply", s(&edited)],
        &[],
        "the saved plan was edited or is corrupt",
    );
    let longer = w.file(
        "longer.json",
        &text.replace("\"expires_at\": \"", "\"expires_at\": \"2099"),
    );
    assert_refused(&w, &["apply", s(&longer)], &[], "edited or is corrupt");
    let v2 = w.file(
        "v2.json",
        &text.replace("\"format_version\": 1", "\"format_version\": 2"),
    );
    assert_refused(&w, &["apply", s(&v2)], &[], "saved plan format version 2");
    let junk = w.file("junk.json", "\u{0}not json at all");
    assert_refused(&w, &["apply", s(&junk)], &[], "not a reconcile saved plan");
    // Desired state where the plan goes: said as such, and how to give it (tests/hints.rs).
    let yaml = w.allowlist(ALLOWED);
    assert_refused(
        &w,
        &["apply", s(&yaml)],
        &[],
        "is a desired-state file, not a saved plan: use -f",
    );
    assert_refused(
        &w,
        &["apply", "/no/such/plan.json"],
        &[],
        "cannot read the saved plan",
    );
    assert_eq!(w.requests(), before);
}

#[test]
fn plans_for_another_account_are_refused() {
    let w = World::demo();
    let file = w.allowlist(ALLOWED);
    let plan = save_plan(&w, &file);
    let other = "00000000000000000000000000000abc";
    assert_refused(
        &w,
        &["apply", s(&plan)],
        &[("CLOUDFLARE_ACCOUNT_ID", other)],
        &format!("the saved plan is for account {ACCOUNT}, but --account-id / CLOUDFLARE_ACCOUNT_ID says {other}"),
    );
    assert_refused(
        &w,
        &["apply", s(&plan), "--account-id", other],
        &[],
        "is for account",
    );
    let other_file = w.file(
        "other.yaml",
        &format!("account_id: {other}\nusers: [alice@example.com]\n"),
    );
    assert_refused(
        &w,
        &["apply", s(&plan), "-f", s(&other_file)],
        &[],
        "but the desired-state files says",
    );
    // The same account given explicitly is fine.
    let r = w.run(&["apply", s(&plan), "-f", s(&file), "--account-id", ACCOUNT]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.deletes(), 3);
}

#[test]
fn plans_whose_files_changed_since_the_review_are_refused() {
    let w = World::demo();
    let file = w.allowlist(ALLOWED);
    let plan = save_plan(&w, &file);
    // Carol was added to the allowlist after the review: the plan would delete her.
    let mut with_carol = ALLOWED.to_vec();
    with_carol.push("carol@example.com");
    let changed = w.allowlist(&with_carol);
    assert_eq!(changed, file);
    assert_refused(
        &w,
        &["apply", s(&plan), "-f", s(&changed)],
        &[],
        "the desired-state files changed since the plan was reviewed",
    );
    // Comments, order and case do not change the desired state.
    let same = w.file(
        "same.yaml",
        &format!(
            "# reordered\naccount_id: {ACCOUNT}\nusers:\n  - GRACE@example.com\n  - frank@example.com\n  - bob.martin@example.com\n  - alice@example.com\n"
        ),
    );
    let r = w.run(&["apply", s(&plan), "-f", s(&same)]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.deletes(), 3);
}

/// The example workflow is valid YAML, and every `reconcile` command in it parses with the real
/// command line (so the example cannot rot when flags change). The commands are steps of the
/// action (action.yml): each is rebuilt here as scripts/github-action.sh builds it.
#[test]
fn the_github_actions_example_uses_real_commands() {
    use clap::Parser;
    let text = include_str!("../../examples/github-actions/reconcile.yml");
    let doc: serde_yaml::Value = serde_yaml::from_str(text).unwrap();
    assert!(doc["jobs"]["plan"]["steps"].as_sequence().is_some());
    assert!(doc["jobs"]["apply"]["steps"].as_sequence().is_some());
    let mut commands = Vec::new();
    for (_, job) in doc["jobs"].as_mapping().unwrap() {
        for step in job["steps"].as_sequence().unwrap() {
            let uses = step["uses"].as_str().unwrap_or("");
            if !uses.starts_with("OWNER/reconcile@") {
                continue;
            }
            let with = &step["with"];
            let input = |name: &str| with[name].as_str().unwrap_or("").to_string();
            let command = input("command");
            let plan_file = input("plan-file");
            let mut words = vec!["reconcile".to_string(), command.clone()];
            if command == "apply" && !plan_file.is_empty() {
                words.push(plan_file.clone());
            }
            for file in input("files").split_whitespace() {
                words.extend(["-f".to_string(), file.to_string()]);
            }
            if command == "plan" {
                words.extend(
                    [
                        "--format",
                        "markdown",
                        "--detailed-exitcode",
                        "--out",
                        &plan_file,
                    ]
                    .map(String::from),
                );
            }
            words.extend(input("args").split_whitespace().map(String::from));
            commands.push(words);
        }
    }
    let names: Vec<&str> = commands.iter().map(|w| w[1].as_str()).collect();
    assert_eq!(
        names,
        ["plan", "check", "apply", "check", "apply"],
        "{commands:?}"
    );
    for words in commands {
        reconcile::cli::Cli::try_parse_from(&words)
            .unwrap_or_else(|e| panic!("{}: {e}", words.join(" ")));
    }
}

#[test]
fn a_saved_plan_is_read_up_to_its_size_limit_and_refused_beyond_it() {
    // A plan of a large account is megabytes of JSON: a file of 2 MiB (here padded with
    // whitespace after the document, which JSON allows) is read and applied; one byte more
    // than the limit is refused before it is parsed, and nothing is deleted.
    let w = World::demo();
    let file = w.allowlist(ALLOWED);
    let big = save_plan(&w, &file);
    let mut text = std::fs::read_to_string(&big).unwrap();
    text.push_str(&" ".repeat(2 << 20));
    std::fs::write(&big, text).unwrap();
    let huge = w.dir.path().join("huge.json");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(64 * 1024 * 1024 + 1)
        .unwrap();
    let r = w.run(&["apply", s(&huge), "-f", s(&file)]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("more than the limit of 67108864 bytes"),
        "{r:?}"
    );
    assert_eq!(w.deletes(), 0);
    let r = w.run(&["apply", s(&big), "-f", s(&file)]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.deletes(), 3, "{r:?}");
}
