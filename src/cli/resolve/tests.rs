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
