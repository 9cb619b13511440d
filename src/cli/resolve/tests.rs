use super::*;
use crate::model::{AccountId, AccountIdError};
use crate::planfile::{PlanKey, PlanKeyError};
use clap::CommandFactory;
use clap::Parser;

/// Parse `args` (clap's error as text) and resolve them; the message as `main` would show it.
fn resolve(args: &[&str], vars: &[(&str, &str)], stdout_tty: bool) -> Result<Settings, String> {
    let cli = Cli::try_parse_from(args).map_err(|e| e.to_string())?;
    resolve_cli(cli, vars, stdout_tty).map_err(|e| e.to_string())
}

fn resolve_cli(cli: Cli, vars: &[(&str, &str)], stdout_tty: bool) -> Result<Settings, UsageError> {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let var = move |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    Settings::resolve(
        cli,
        &Environment {
            var: &var,
            stdin_is_terminal: false,
            stdout_is_terminal: stdout_tty,
            stderr_is_terminal: stdout_tty,
        },
    )
}

/// The error of arguments clap accepts but `resolve` refuses.
fn usage_error(args: &[&str], vars: &[(&str, &str)]) -> UsageError {
    let cli = Cli::try_parse_from(args).expect("clap accepts the arguments");
    match resolve_cli(cli, vars, false) {
        Ok(_) => panic!("{args:?} with {vars:?} resolved"),
        Err(e) => e,
    }
}

#[test]
fn clap_definition_is_valid() {
    Cli::command().debug_assert();
}

#[test]
fn token_is_preferred_and_redacted() {
    let s = resolve(
        &["reconcile", "plan", "-f", "x.yaml"],
        &[
            ("CLOUDFLARE_API_TOKEN", "tok-123"),
            ("CLOUDFLARE_EMAIL", "a@b.co"),
            ("CLOUDFLARE_API_KEY", "k"),
        ],
        false,
    )
    .unwrap();
    let Action::Plan { target, .. } = &s.action else {
        panic!()
    };
    assert!(matches!(&target.credentials, Some(Credentials::Token(t)) if t.expose() == "tok-123"));
    assert!(!format!("{s:?}").contains("tok-123"));
}

#[test]
fn plan_key_from_the_environment_or_a_file_only_where_a_plan_is_sealed_or_read() {
    const KEY: &str = "0123456789abcdef0123456789abcdef";
    let key_of = |s: Settings| match s.action {
        Action::Plan { output, .. } => output.plan_key,
        Action::Apply { plan_key, .. } => plan_key,
        _ => panic!(),
    };
    let env = [("RECONCILE_PLAN_KEY", KEY)];
    let sealed = resolve(
        &["reconcile", "plan", "-f", "x", "--out", "p.json"],
        &env,
        false,
    );
    assert!(key_of(sealed.unwrap()).is_some());
    // Without --out or PLAN_FILE there is nothing to seal or check: a short key is no error.
    let short = [("RECONCILE_PLAN_KEY", "short")];
    assert!(key_of(resolve(&["reconcile", "plan", "-f", "x"], &short, false).unwrap()).is_none());
    assert!(key_of(resolve(&["reconcile", "apply", "-f", "x"], &short, false).unwrap()).is_none());
    let err = resolve(&["reconcile", "apply", "p.json", "-f", "x"], &short, false).unwrap_err();
    assert!(
        err.contains("RECONCILE_PLAN_KEY: the plan key is 5 bytes"),
        "{err}"
    );
    assert!(!err.contains("short"), "{err}");
    // The file wins over the variable, with a warning; neither is ever in Debug.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("k");
    std::fs::write(&file, format!("\u{feff}{KEY}\r\nsecond line\n")).unwrap();
    let f = file.to_str().unwrap();
    let s = resolve(
        &[
            "reconcile",
            "apply",
            "p.json",
            "-f",
            "x",
            "--plan-key-file",
            f,
        ],
        &short,
        false,
    )
    .unwrap();
    assert!(
        s.warnings.iter().any(|w| w.contains("the key in")),
        "{:?}",
        s.warnings
    );
    assert!(!format!("{s:?}").contains(KEY));
    assert_eq!(key_of(s), Some(PlanKey::new(KEY, "t").unwrap()));
    // The flag needs what it is for.
    assert!(resolve(
        &["reconcile", "plan", "-f", "x", "--plan-key-file", f],
        &[],
        false
    )
    .is_err());
    assert!(resolve(
        &["reconcile", "apply", "-f", "x", "--plan-key-file", f],
        &[],
        false
    )
    .is_err());
}

#[test]
fn legacy_pair_needs_both_halves() {
    let err = resolve(
        &["reconcile", "plan", "-f", "x"],
        &[("CLOUDFLARE_EMAIL", "a@b.co")],
        false,
    )
    .unwrap_err();
    assert!(err.contains("CLOUDFLARE_API_KEY is not"), "{err}");
    let s = resolve(
        &["reconcile", "plan", "-f", "x"],
        &[("CLOUDFLARE_EMAIL", "a@b.co"), ("CLOUDFLARE_API_KEY", "k")],
        false,
    )
    .unwrap();
    let Action::Plan { target, .. } = &s.action else {
        panic!()
    };
    assert!(
        matches!(&target.credentials, Some(Credentials::Global { email, .. }) if email == "a@b.co")
    );
}

#[test]
fn colour_resolution() {
    let p = |args: &[&str], vars: &[(&str, &str)], tty| {
        resolve(args, vars, tty).unwrap().palette.enabled
    };
    assert!(p(&["reconcile", "demo"], &[], true));
    assert!(!p(&["reconcile", "demo"], &[], false));
    assert!(!p(&["reconcile", "demo"], &[("NO_COLOR", "1")], true));
    assert!(p(
        &["reconcile", "--color", "always", "demo"],
        &[("NO_COLOR", "1")],
        false
    ));
    assert!(!p(&["reconcile", "demo", "--color=never"], &[], true));
}

#[test]
fn auto_approve_from_flag_or_environment() {
    let approve =
        |args: &[&str], vars: &[(&str, &str)]| match resolve(args, vars, false).unwrap().action {
            Action::Apply { auto_approve, .. } => auto_approve,
            _ => panic!(),
        };
    assert!(!approve(&["reconcile", "apply", "-f", "x"], &[]));
    assert!(approve(
        &["reconcile", "apply", "-f", "x", "--auto-approve"],
        &[]
    ));
    assert!(approve(
        &["reconcile", "apply", "-f", "x"],
        &[("RECONCILE_AUTO_APPROVE", "true")]
    ));
    assert!(!approve(
        &["reconcile", "apply", "-f", "x"],
        &[("RECONCILE_AUTO_APPROVE", "false")]
    ));
    assert!(resolve(
        &["reconcile", "apply", "-f", "x"],
        &[("RECONCILE_AUTO_APPROVE", "maybe")],
        false
    )
    .is_err());
}

#[test]
fn max_wait_takes_durations_with_units() {
    assert_eq!(max_wait("90s"), Ok(Duration::from_secs(90)));
    assert_eq!(max_wait("15m"), Ok(Duration::from_secs(900)));
    assert_eq!(max_wait(" 1h30m "), Ok(Duration::from_secs(5400)));
    for bad in [
        "",
        "90",
        "m",
        "1x",
        "0s",
        "25h",
        "-1s",
        "1.5m",
        "99999999999999999999h",
    ] {
        assert!(max_wait(bad).is_err(), "{bad}");
    }
    let s = resolve(&["reconcile", "plan", "-f", "x"], &[], false).unwrap();
    let Action::Plan { target, .. } = s.action else {
        panic!()
    };
    assert_eq!(target.client.max_wait, Duration::from_secs(900));
}

#[test]
fn retry_delay_is_bounded() {
    let err = resolve(
        &["reconcile", "plan", "-f", "x"],
        &[("RECONCILE_RETRY_DELAY_MS", "20000000000000")],
        false,
    )
    .unwrap_err();
    assert!(err.contains("at most 60000"), "{err}");
    assert!(resolve(
        &["reconcile", "plan", "-f", "x", "--retry-delay-ms", "60001"],
        &[],
        false
    )
    .is_err());
    assert!(resolve(
        &["reconcile", "plan", "-f", "x", "--retry-delay-ms", "10"],
        &[],
        false
    )
    .is_ok());
}

#[test]
fn flags_override_environment() {
    let s = resolve(
        &[
            "reconcile",
            "plan",
            "-f",
            "x",
            "--api-url",
            "http://127.0.0.1:1/client/v4",
        ],
        &[
            ("CLOUDFLARE_BASE_URL", "https://elsewhere"),
            ("CLOUDFLARE_ACCOUNT_ID", "023E105F4ECEF8AD9CA31A8372D0C353"),
        ],
        false,
    )
    .unwrap();
    let Action::Plan { target, .. } = s.action else {
        panic!()
    };
    assert_eq!(target.api_url, "http://127.0.0.1:1/client/v4");
    assert_eq!(
        target.account_id.as_ref().map(AccountId::as_str),
        Some("023e105f4ecef8ad9ca31a8372d0c353")
    );
    let s = resolve(&["reconcile", "plan", "-f", "x"], &[], false).unwrap();
    let Action::Plan { target, .. } = s.action else {
        panic!()
    };
    assert_eq!(target.api_url, DEFAULT_BASE_URL);
    assert!(target.credentials.is_none());
}

#[test]
fn usage_errors_say_what_is_wrong() {
    let plan = ["reconcile", "plan", "-f", "x"];
    assert!(matches!(
        usage_error(&["reconcile", "apply", "-f", "x"], &[("RECONCILE_AUTO_APPROVE", " Maybe ")]),
        UsageError::AutoApprove { value } if value == "maybe"
    ));
    assert!(matches!(
        usage_error(&plan, &[("RECONCILE_RETRY_DELAY_MS", "5s")]),
        UsageError::RetryDelay { value } if value == "5s"
    ));
    assert!(matches!(
        usage_error(&plan, &[("RECONCILE_RETRY_DELAY_MS", "60001")]),
        UsageError::RetryDelayTooLong { ms: 60_001 }
    ));
    assert!(matches!(
        usage_error(
            &["reconcile", "plan", "-f", "x", "--retry-delay-ms", "70000"],
            &[]
        ),
        UsageError::RetryDelayTooLong { ms: 70_000 }
    ));
    assert!(matches!(
        usage_error(&plan, &[("CLOUDFLARE_ACCOUNT_ID", "abc")]),
        UsageError::Arg(ArgError::Account {
            named: "--account-id / CLOUDFLARE_ACCOUNT_ID",
            error: AccountIdError::Length { length: 3, .. }
        })
    ));
    assert!(matches!(
        usage_error(&["reconcile", "sandbox", "--account-id", "x"], &[]),
        UsageError::Arg(ArgError::Account {
            named: "--account-id",
            ..
        })
    ));
    assert!(matches!(
        usage_error(&plan, &[("CLOUDFLARE_API_KEY", "k")]),
        UsageError::Credentials(CredentialsError::KeyWithoutEmail)
    ));
    assert!(matches!(
        usage_error(
            &["reconcile", "apply", "p.json", "-f", "x"],
            &[("RECONCILE_PLAN_KEY", "short")]
        ),
        UsageError::PlanKey(PlanKeySourceError::Key(PlanKeyError::TooShort {
            length: 5,
            ..
        }))
    ));
    assert!(matches!(
        usage_error(
            &[
                "reconcile",
                "--api-token-file",
                "/nonexistent/token",
                "plan",
                "-f",
                "x"
            ],
            &[]
        ),
        UsageError::TokenFile(TokenFileError::Unreadable { .. })
    ));
}

#[test]
fn usage_messages_are_unchanged() {
    let message = |args: &[&str], vars: &[(&str, &str)]| usage_error(args, vars).to_string();
    let plan = ["reconcile", "plan", "-f", "x"];
    assert_eq!(
        message(
            &["reconcile", "demo"],
            &[("RECONCILE_AUTO_APPROVE", "\u{1b}[2Kyes")]
        ),
        format!(
            "RECONCILE_AUTO_APPROVE is `{}`: set it to true or false",
            crate::text::printable("\u{1b}[2kyes")
        )
    );
    assert_eq!(
        message(&plan, &[("RECONCILE_RETRY_DELAY_MS", " 5s")]),
        "RECONCILE_RETRY_DELAY_MS is ` 5s`: give milliseconds, e.g. 500"
    );
    assert_eq!(
        message(&plan, &[("RECONCILE_RETRY_DELAY_MS", "60001")]),
        "the first retry delay is 60001 ms: give at most 60000 (a minute), with --retry-delay-ms or RECONCILE_RETRY_DELAY_MS"
    );
    assert_eq!(
        message(&plan, &[("CLOUDFLARE_ACCOUNT_ID", "abc")]),
        "--account-id / CLOUDFLARE_ACCOUNT_ID: `abc` is not a Cloudflare account id: it must be 32 hexadecimal characters"
    );
    assert_eq!(
        message(&plan, &[("CLOUDFLARE_API_KEY", "k")]),
        "CLOUDFLARE_API_KEY is set but CLOUDFLARE_EMAIL is not: set both, or use CLOUDFLARE_API_TOKEN"
    );
    assert_eq!(
        message(
            &["reconcile", "plan", "-f", "x", "--out", "p.json"],
            &[("RECONCILE_PLAN_KEY", "short")]
        ),
        "RECONCILE_PLAN_KEY: the plan key is 5 bytes long; give a random key of at least 32 bytes, e.g. the output of `openssl rand -hex 32`"
    );
}

#[test]
fn history_files_are_read_in_order_and_not_with_a_saved_plan() {
    let s = resolve(
        &[
            "reconcile",
            "plan",
            "-f",
            "x.yaml",
            "--history",
            "a.jsonl",
            "--audit-log",
            "b.jsonl",
        ],
        &[],
        false,
    )
    .unwrap();
    let Action::Plan { history, .. } = s.action else {
        panic!()
    };
    assert_eq!(
        history,
        [PathBuf::from("a.jsonl"), PathBuf::from("b.jsonl")]
    );
    let s = resolve(
        &["reconcile", "apply", "-f", "x.yaml", "--history", "a.jsonl"],
        &[],
        false,
    )
    .unwrap();
    let Action::Apply { history, .. } = s.action else {
        panic!()
    };
    assert_eq!(history, [PathBuf::from("a.jsonl")]);
    let e = resolve(
        &[
            "reconcile",
            "apply",
            "plan.json",
            "-f",
            "x.yaml",
            "--history",
            "a.jsonl",
        ],
        &[],
        false,
    )
    .unwrap_err();
    assert!(e.contains("cannot be used with"), "{e}");
}

#[test]
fn sandbox_tokens_and_first_contact_faults() {
    let s = resolve(
        &[
            "reconcile",
            "sandbox",
            "--token",
            "full-tok",
            "--token",
            "ro-tok:read",
            "--legacy-read-only",
            "--access-disabled",
            "--not-found-code",
            "7003",
        ],
        &[("RECONCILE_SANDBOX_TOKEN", "ignored")],
        false,
    )
    .unwrap();
    let Action::Sandbox(s) = &s.action else {
        panic!()
    };
    assert_eq!(s.token.expose(), "full-tok");
    let scoped: Vec<&str> = s.scoped_tokens.iter().map(|t| t.expose()).collect();
    assert_eq!(scoped, ["full-tok", "ro-tok:read"]);
    assert!(s.faults.legacy_read_only && s.faults.access_disabled);
    assert_eq!(s.faults.not_found_code, Some(7003));
    assert!(!format!("{s:?}").contains("ro-tok"));
    assert!(Cli::try_parse_from(["reconcile", "sandbox", "--not-found-code", "404"]).is_err());
}

#[test]
fn sandbox_door_flags() {
    let door = |args: &[&str]| {
        let mut all = vec!["reconcile", "sandbox"];
        all.extend_from_slice(args);
        let s = resolve(&all, &[], false).unwrap();
        let Action::Sandbox(s) = s.action else {
            panic!()
        };
        s
    };
    let s = door(&[]);
    assert_eq!(s.list_capacity, 1000);
    assert_eq!(s.faults.list_items_shape, crate::sandbox::ItemsShape::Flat);
    assert_eq!(s.faults.fail_door_writes_after, None);
    assert!(!s.faults.door_enforced);
    let s = door(&[
        "--list-capacity",
        "5000",
        "--list-items-shape",
        "nested",
        "--fail-door-writes",
        "2",
        "--door-enforced",
        "--relogin",
        "carol@example.com",
    ]);
    assert_eq!(s.list_capacity, 5000);
    assert_eq!(
        s.faults.list_items_shape,
        crate::sandbox::ItemsShape::Nested
    );
    assert_eq!(s.faults.fail_door_writes_after, Some(2));
    assert!(s.faults.door_enforced);
    for bad in [
        ["--list-capacity", "2000"],
        ["--list-items-shape", "deep"],
        ["--fail-door-writes", "x"],
    ] {
        let mut all = vec!["reconcile", "sandbox"];
        all.extend_from_slice(&bad);
        assert!(Cli::try_parse_from(all).is_err(), "{bad:?}");
    }
}

#[test]
fn check_takes_the_target_and_a_format() {
    let s = resolve(
        &[
            "reconcile",
            "check",
            "--account-id",
            "023e105f4ecef8ad9ca31a8372d0c353",
            "--format",
            "json",
        ],
        &[("CLOUDFLARE_API_TOKEN", "tok-123")],
        false,
    )
    .unwrap();
    let Action::Check { target, json } = &s.action else {
        panic!()
    };
    assert!(*json);
    assert!(target.files.is_empty());
    assert_eq!(
        target.account_id.as_ref().map(AccountId::as_str),
        Some("023e105f4ecef8ad9ca31a8372d0c353")
    );
}

#[test]
fn no_color_is_color_never_and_the_last_of_the_two_wins() {
    let colour = |args: &[&str]| {
        let s = resolve(args, &[], true).unwrap();
        (s.palette.enabled, s.log_color)
    };
    assert_eq!(colour(&["reconcile", "schema"]), (true, true));
    assert_eq!(
        colour(&["reconcile", "schema", "--no-color"]),
        (false, false)
    );
    assert_eq!(
        colour(&["reconcile", "--no-color", "schema"]),
        (false, false)
    );
    assert_eq!(
        colour(&["reconcile", "schema", "--color", "always", "--no-color"]),
        (false, false)
    );
    assert_eq!(
        colour(&["reconcile", "schema", "--no-color", "--color", "always"]),
        (true, true)
    );
}

#[test]
fn man_writes_one_page_or_a_directory_of_them() {
    assert!(matches!(
        resolve(&["reconcile", "man"], &[], false).unwrap().action,
        Action::Man
    ));
    match resolve(&["reconcile", "man", "--dir", "out"], &[], false)
        .unwrap()
        .action
    {
        Action::ManPages { dir } => assert_eq!(dir, PathBuf::from("out")),
        other => panic!("{other:?}"),
    }
}

/// Resolve in `cwd` (for the files found without -f).
fn resolve_at(
    args: &[&str],
    vars: &[(&str, &str)],
    cwd: &std::path::Path,
) -> Result<Settings, UsageError> {
    let cli = Cli::try_parse_from(args).expect("clap accepts the arguments");
    let var = |name: &str| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    };
    Settings::resolve_in(
        cli,
        &Environment {
            var: &var,
            stdin_is_terminal: false,
            stdout_is_terminal: false,
            stderr_is_terminal: false,
        },
        cwd,
    )
}

fn files_of(s: &Settings) -> Vec<PathBuf> {
    match &s.action {
        Action::Plan { target, .. }
        | Action::Apply { target, .. }
        | Action::Explain { target, .. }
        | Action::Check { target, .. } => target.files.clone(),
        Action::Validate { files } => files.clone(),
        _ => panic!("no files"),
    }
}

#[test]
fn the_layout_flags_reach_plan_and_apply() {
    let layout_of = |args: &[&str]| match resolve(args, &[], false).unwrap().action {
        Action::Plan { output, .. } => output.layout,
        Action::Apply { layout, .. } => layout,
        _ => panic!(),
    };
    assert_eq!(
        layout_of(&["reconcile", "plan", "-f", "x.yaml"]),
        crate::render::Layout::default()
    );
    assert_eq!(crate::render::Layout::default().compact_above, 50);
    for command in ["plan", "apply"] {
        let layout = layout_of(&[
            "reconcile",
            command,
            "-f",
            "x.yaml",
            "--compact-above",
            "7",
            "--full-diff",
        ]);
        assert_eq!(
            layout,
            crate::render::Layout {
                compact_above: 7,
                full_diff: true
            },
            "{command}"
        );
    }
    assert!(resolve(
        &["reconcile", "plan", "-f", "x.yaml", "--compact-above", "-1"],
        &[],
        false
    )
    .is_err());
}

#[test]
fn files_are_found_without_dash_f_and_said() {
    let empty = tempfile::tempdir().unwrap();
    // -f wins over everything.
    let s = resolve_at(
        &["reconcile", "plan", "-f", "a.yaml"],
        &[("RECONCILE_FILES", "b.yaml")],
        empty.path(),
    )
    .unwrap();
    assert_eq!(files_of(&s), [PathBuf::from("a.yaml")]);
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    // RECONCILE_FILES: paths separated as in PATH.
    let list = std::env::join_paths(["a.yaml", "dir with space/"]).unwrap();
    let list = list.to_str().unwrap();
    for args in [
        &["reconcile", "plan"][..],
        &["reconcile", "apply"],
        &["reconcile", "validate"],
        &["reconcile", "explain", "a@example.com"],
        &["reconcile", "check"],
    ] {
        let s = resolve_at(args, &[("RECONCILE_FILES", list)], empty.path()).unwrap();
        assert_eq!(
            files_of(&s),
            [PathBuf::from("a.yaml"), PathBuf::from("dir with space/")],
            "{args:?}"
        );
        assert_eq!(
            s.warnings,
            [format!(
                "no -f given: reading the desired state from RECONCILE_FILES ({list})"
            )]
        );
    }
    // Then desired/ or reconcile.yaml in the working directory.
    let here = tempfile::tempdir().unwrap();
    std::fs::write(here.path().join("reconcile.yaml"), "users: []\n").unwrap();
    let s = resolve_at(&["reconcile", "plan"], &[], here.path()).unwrap();
    assert_eq!(files_of(&s), [here.path().join("reconcile.yaml")]);
    assert!(
        s.warnings[0].ends_with("reconcile.yaml (found in the working directory)"),
        "{:?}",
        s.warnings
    );
    let there = tempfile::tempdir().unwrap();
    std::fs::create_dir(there.path().join("desired")).unwrap();
    let s = resolve_at(&["reconcile", "validate"], &[], there.path()).unwrap();
    assert_eq!(files_of(&s), [there.path().join("desired")]);
    assert!(
        s.warnings[0].ends_with("desired/ (found in the working directory)"),
        "{:?}",
        s.warnings
    );
    // Both: which one is meant is for the person to say.
    std::fs::write(there.path().join("reconcile.yaml"), "users: []\n").unwrap();
    let e = resolve_at(&["reconcile", "plan"], &[], there.path()).unwrap_err();
    assert!(matches!(e, UsageError::TwoDefaults), "{e}");
    // Neither: a usage error with a usage line, and no invented file position.
    for command in ["plan", "apply", "validate"] {
        let e = resolve_at(&["reconcile", command], &[], empty.path()).unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with("no desired-state file: pass -f FILE"),
            "{text}"
        );
        assert!(
            text.contains(&format!("\n\nUsage: reconcile {command} ")),
            "{text}"
        );
        assert!(!text.contains(":1:1"), "{text}");
    }
    // check needs no files.
    let s = resolve_at(&["reconcile", "check"], &[], empty.path()).unwrap();
    assert!(files_of(&s).is_empty());
    // A blank variable is unset.
    assert!(resolve_at(
        &["reconcile", "plan"],
        &[("RECONCILE_FILES", " ")],
        empty.path()
    )
    .is_err());
}

#[test]
fn desired_state_where_it_does_not_go_says_use_dash_f() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("users.yaml");
    std::fs::write(&yaml, "users: [a@example.com]\n").unwrap();
    let y = yaml.to_str().unwrap();
    let e = resolve_at(&["reconcile", "apply", y], &[], dir.path()).unwrap_err();
    assert!(matches!(e, UsageError::DesiredStateAsPlan { .. }), "{e}");
    assert!(
        e.to_string().starts_with(&format!(
            "{y} is a desired-state file, not a saved plan: use -f {y}"
        )),
        "{e}"
    );
    // A directory too; a plan saved under a .yaml name is still a plan.
    let d = dir.path().to_str().unwrap();
    assert!(resolve_at(&["reconcile", "apply", d, "-f", y], &[], dir.path()).is_err());
    let saved = dir.path().join("plan.yaml");
    std::fs::write(&saved, "{\"format_version\": 1}").unwrap();
    assert!(resolve_at(
        &["reconcile", "apply", saved.to_str().unwrap(), "-f", y],
        &[],
        dir.path()
    )
    .is_ok());
    // plan, validate, explain, check take no positional file.
    for args in [
        &["reconcile", "plan", y][..],
        &["reconcile", "validate", y],
        &["reconcile", "explain", "a@example.com", y],
        &["reconcile", "check", y],
    ] {
        let text = resolve_at(args, &[], dir.path()).unwrap_err().to_string();
        assert!(
            text.starts_with(&format!("{y} is a desired-state file: use -f {y}")),
            "{text}"
        );
        assert!(text.contains("\n\nUsage: reconcile "), "{text}");
    }
    let text = resolve_at(&["reconcile", "plan", "a.yaml", "b.yml"], &[], dir.path())
        .unwrap_err()
        .to_string();
    assert!(
        text.starts_with("a.yaml b.yml are desired-state files: use -f a.yaml -f b.yml"),
        "{text}"
    );
    let text = resolve_at(&["reconcile", "plan", "bob"], &[], dir.path())
        .unwrap_err()
        .to_string();
    assert!(
        text.starts_with("unexpected argument `bob`: plan takes no arguments"),
        "{text}"
    );
    // explain: the file where the address goes.
    let text = resolve_at(&["reconcile", "explain", y], &[], dir.path())
        .unwrap_err()
        .to_string();
    assert!(
        text.starts_with(&format!("{y} is a desired-state file: use -f {y}")),
        "{text}"
    );
    let text = resolve_at(
        &["reconcile", "explain", "a@example.com", "bob"],
        &[],
        dir.path(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        text.starts_with("unexpected argument `bob`: explain takes one address"),
        "{text}"
    );
}

#[test]
fn a_base_url_that_cannot_be_the_apis_is_a_usage_error() {
    for url in ["api.cloudflare.com/client/v4", "https://api.cloudflare.com"] {
        let e = usage_error(&["reconcile", "plan", "-f", "x", "--api-url", url], &[]);
        assert!(matches!(e, UsageError::ApiUrl(_)), "{e}");
        let text = e.to_string();
        assert!(
            text.contains("https://api.cloudflare.com/client/v4"),
            "{text}"
        );
        assert!(!text.contains("by this request"), "{text}");
        let e = usage_error(&["reconcile", "export"], &[("CLOUDFLARE_BASE_URL", url)]);
        assert!(matches!(e, UsageError::ApiUrl(_)), "{e}");
    }
}
