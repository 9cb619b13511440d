//! What a person at a terminal, or a shell pipeline, sees besides the output: quiet by default
//! (no info lines unless `-v`, nothing but errors under `-q`), a closed pipe that ends quietly
//! with 141, `--no-color`, the manual pages, and the audit log's actor without `USER`.

use std::process::{Command, Stdio};

use crate::harness::*;

const ALLOWED: &[&str] = &[
    "alice@example.com",
    "bob.martin@example.com",
    "frank@example.com",
    "grace@example.com",
];

/// Lines that come from the log (tracing's level names, as `main` sets them up).
fn log_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| {
            let l = l.trim_start();
            ["INFO ", "DEBUG ", "TRACE ", "WARN "]
                .iter()
                .any(|level| l.starts_with(level))
        })
        .collect()
}

#[test]
fn plan_logs_nothing_by_default_and_its_info_lines_with_v() {
    let w = World::demo();
    let file = w.allowlist(ALLOWED);
    let f = file.to_str().unwrap();
    let r = w.run(&["plan", "-f", f]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(log_lines(&r.stderr).is_empty(), "{r:?}");
    // The user without an email is held back in the plan, and not warned about a second time.
    assert!(
        r.stdout
            .contains("(no email, id 6a7b8c9d-0e1f-4a2b-8c3d-4e5f60718293)"),
        "{r:?}"
    );
    assert!(!r.stderr.contains("held back"), "{r:?}");

    let r = w.run(&["plan", "-v", "-f", f]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("INFO listed Access users"), "{r:?}");
    assert!(r.stderr.contains("held back"), "{r:?}");
    assert!(!r.stderr.contains("DEBUG"), "{r:?}");
    let r = w.run(&["plan", "-vv", "-f", f]);
    assert!(r.stderr.contains("DEBUG"), "{r:?}");
}

#[test]
fn quiet_leaves_the_output_and_the_errors() {
    let w = World::demo();
    let file = w.allowlist(ALLOWED);
    let out = w.dir.path().join("plan.json");
    let r = w.run(&[
        "plan",
        "-q",
        "--format",
        "json",
        "-f",
        file.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.stderr, "", "{r:?}");
    assert!(r.stdout.starts_with('{'), "{r:?}");
    let r = w.run(&["demo", "-q", "--auto-approve"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.stderr, "", "{r:?}");
    assert!(r.stdout.contains("Apply complete"), "{r:?}");
    // An error still shows.
    let r = w.run(&["plan", "-q", "-f", out.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.starts_with("error: "), "{r:?}");
}

#[test]
fn the_demo_names_its_sandbox_once() {
    let r = run(bare(&["demo", "--auto-approve"]));
    assert_eq!(r.code, 0, "{r:?}");
    let all = format!("{}{}", r.stdout, r.stderr);
    assert_eq!(all.matches("http://127.0.0.1:").count(), 1, "{r:?}");
    assert!(log_lines(&r.stderr).is_empty(), "{r:?}");
}

/// `cmd` with stdout a pipe whose reader is already gone: every write to it fails with EPIPE, as
/// at `| head` once head has read its lines (and without a race on when head exits).
fn with_closed_stdout(mut cmd: Command) -> Run {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    cmd.stdout(Stdio::from(writer)).stderr(Stdio::piped());
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::new(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

#[test]
fn a_closed_pipe_ends_quietly_with_141() {
    for args in [
        &["completions", "bash"][..],
        &["completions", "zsh"],
        &["man"],
        &["schema"],
        &["--help"],
        &["plan", "--help"],
        &["--version"],
    ] {
        let r = with_closed_stdout(bare(args));
        assert_eq!(r.code, 141, "{args:?}: {r:?}");
        assert_eq!(r.stderr, "", "{args:?}: {r:?}");
    }
    let w = World::demo();
    let file = w.allowlist(ALLOWED);
    for format in ["human", "json", "markdown"] {
        let r = with_closed_stdout(w.cmd(&[
            "plan",
            "--detailed-exitcode",
            "--format",
            format,
            "-f",
            file.to_str().unwrap(),
        ]));
        assert_eq!(r.code, 141, "{format}: {r:?}");
        assert_eq!(r.stderr, "", "{format}: {r:?}");
    }
    assert_eq!(w.deletes(), 0);
}

#[test]
fn a_closed_stderr_is_no_panic() {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = bare(&["validate", "-f", "/nonexistent/users.yaml"])
        .stderr(Stdio::from(writer))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn a_real_pipeline_into_head() {
    let Ok(status) = Command::new("bash").arg("--version").output() else {
        eprintln!("skipped: no bash");
        return;
    };
    assert!(status.status.success());
    let line = format!(
        "{} completions bash | head -1; echo \"status ${{PIPESTATUS[0]}}\"",
        env!("CARGO_BIN_EXE_reconcile")
    );
    let out = Command::new("bash").args(["-c", &line]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.starts_with("_reconcile() {\n"), "{stdout}{stderr}");
    // head may exit before or after the script is written: either it was all written (0) or
    // the pipe was closed (141), never a panic (101).
    assert!(
        stdout.ends_with("status 0\n") || stdout.ends_with("status 141\n"),
        "{stdout}{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn no_color_is_color_never() {
    let w = World::demo();
    let file = w.allowlist(ALLOWED);
    let f = file.to_str().unwrap();
    let mut coloured = w.cmd(&["plan", "--color", "always", "-f", f]);
    coloured.env_remove("NO_COLOR");
    let r = run(coloured);
    assert!(r.stdout.contains('\u{1b}'), "{r:?}");
    let mut plain = w.cmd(&["plan", "--color", "always", "--no-color", "-f", f]);
    plain.env_remove("NO_COLOR");
    let r = run(plain);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!r.stdout.contains('\u{1b}'), "{r:?}");
}

/// The pages `\fBname\fR(1)` a page refers to.
fn references(page: &str) -> Vec<String> {
    page.split("\\fB")
        .skip(1)
        .filter_map(|rest| {
            let (name, after) = rest.split_once("\\fR")?;
            after.starts_with("(1)").then(|| name.replace("\\-", "-"))
        })
        .collect()
}

#[test]
fn man_is_a_whole_page() {
    let r = run(bare(&["man"]));
    assert_eq!(r.code, 0, "{r:?}");
    let mut at = 0;
    for section in [
        ".SH NAME",
        ".SH SYNOPSIS",
        ".SH DESCRIPTION",
        ".SH COMMANDS",
        ".SH OPTIONS",
        ".SH ENVIRONMENT",
        ".SH \"EXIT STATUS\"",
        ".SH FILES",
        ".SH EXAMPLES",
        ".SH \"SEE ALSO\"",
    ] {
        let found = r.stdout[at..]
            .find(section)
            .unwrap_or_else(|| panic!("no {section} after byte {at}:\n{}", r.stdout));
        at += found;
    }
    // One page alone: the per-command pages do not exist, so it names none.
    assert_eq!(references(&r.stdout), Vec::<String>::new());
    for name in [
        "CLOUDFLARE_API_TOKEN",
        "RUST_LOG",
        "141",
        ".SS \"reconcile plan\"",
    ] {
        assert!(r.stdout.contains(name), "{name}");
    }
    // The roff preamble once, not before every part.
    assert_eq!(r.stdout.matches(".ds Aq").count(), 2);
}

#[test]
fn man_dir_writes_a_page_per_command_and_each_names_only_pages_written() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(bare(&["man", "--dir", dir.path().to_str().unwrap()]));
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.stdout, "", "{r:?}");
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for page in [
        "reconcile.1",
        "reconcile-plan.1",
        "reconcile-apply.1",
        "reconcile-man.1",
        "reconcile-audit.1",
        "reconcile-audit-verify.1",
    ] {
        assert!(names.contains(&page.to_string()), "{page}: {names:?}");
    }
    assert!(!names.iter().any(|n| n.contains("help")), "{names:?}");
    for name in &names {
        let text = std::fs::read_to_string(dir.path().join(name)).unwrap();
        assert!(text.contains(".SH NAME"), "{name}");
        assert!(text.contains(".SH \"SEE ALSO\""), "{name}");
        for reference in references(&text) {
            assert!(
                names.contains(&format!("{reference}.1")),
                "{name} names {reference}(1), which was not written"
            );
        }
    }
    let main = std::fs::read_to_string(dir.path().join("reconcile.1")).unwrap();
    assert!(references(&main).contains(&"reconcile-plan".to_string()));
    let plan = std::fs::read_to_string(dir.path().join("reconcile-plan.1")).unwrap();
    assert!(plan.contains("\\-\\-plan\\-ttl"), "its own options");
    assert!(
        plan.contains("\\-\\-no\\-color"),
        "the global options are on each page"
    );
    // A directory that does not exist is a mistake, not a new tree.
    let r = run(bare(&["man", "--dir", "/nonexistent/man1"]));
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("not a directory"), "{r:?}");
}

#[test]
fn plan_help_shows_f_as_required_and_plan_ttl_needs_out() {
    let r = run(bare(&["plan", "--help"]));
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout
            .contains("Usage: reconcile plan -f <PATH>... [OPTIONS]"),
        "{r:?}"
    );
    let ttl = r
        .stdout
        .split("--plan-ttl")
        .nth(1)
        .and_then(|rest| rest.split("\n  -").next())
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(ttl.contains("needs --out"), "{ttl}");
}

// The effective uid is read from /proc/self (src/audit.rs), which macOS and the BSDs lack.
#[cfg(target_os = "linux")]
#[test]
fn the_audit_actor_without_user_is_the_effective_uid() {
    let Ok(id) = Command::new("id").arg("-u").output() else {
        eprintln!("skipped: no `id`");
        return;
    };
    let uid = String::from_utf8(id.stdout).unwrap().trim().to_string();
    let w = World::demo();
    let file = w.permissive_allowlist(ALLOWED);
    let log = w.dir.path().join("audit.jsonl");
    // `bare` clears the environment: no USER, LOGNAME or USERNAME.
    let r = w.run(&[
        "apply",
        "--auto-approve",
        "--audit-log",
        log.to_str().unwrap(),
        "-f",
        file.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    let text = std::fs::read_to_string(&log).unwrap();
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(
        first["actor"]["user"],
        serde_json::json!(format!("uid {uid}")),
        "{text}"
    );
}

/// The demo in a pseudo-terminal (`script`), answering `answer` at the prompt: what the screen
/// shows, and the exit code.
fn demo_on_a_terminal(answer: &str) -> Option<(i32, String)> {
    if !util_linux_script() {
        eprintln!("skipped: `script` (util-linux) is not installed");
        return None;
    }
    let line = format!("{} demo", env!("CARGO_BIN_EXE_reconcile"));
    let mut child = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TERM", "xterm")
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Typed ahead: the terminal holds the line until the prompt reads it.
    use std::io::Write;
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(format!("{answer}\n").as_bytes()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let screen = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n");
    Some((out.status.code().unwrap_or(-1), screen))
}

#[test]
fn the_demo_on_a_terminal_shows_one_url_and_no_log_lines() {
    for (answer, code, says) in [
        ("no", 1, "apply cancelled: nothing was deleted"),
        ("yes", 0, "Apply complete: 3 deleted"),
    ] {
        let Some((status, screen)) = demo_on_a_terminal(answer) else {
            return;
        };
        assert_eq!(status, code, "{answer}:\n{screen}");
        assert!(screen.contains(says), "{answer}:\n{screen}");
        assert!(
            screen.contains("Do you want to delete these 3 users?"),
            "{answer}:\n{screen}"
        );
        assert_eq!(
            screen.matches("http://127.0.0.1:").count(),
            1,
            "{answer}:\n{screen}"
        );
        assert!(log_lines(&screen).is_empty(), "{answer}:\n{screen}");
        assert!(!screen.contains("held back:"), "{answer}:\n{screen}");
    }
}
