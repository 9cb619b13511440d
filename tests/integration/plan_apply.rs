//! The walking skeleton end to end: plan, apply, demo, and the errors that must stop them.

use crate::harness::*;
use reconcile::sandbox::Seed;

/// examples/demo/seed.yaml holds alice, Bob.Martin, carol, dave.contractor, erin, frank and a
/// user with no email.
const ALLOWED: &[&str] = &[
    "alice@example.com",
    "bob.martin@example.com",
    "frank@example.com",
    "grace@example.com",
];
const EXTRAS: &[&str] = &[
    "carol@example.com",
    "dave.contractor@partner.example",
    "erin@example.com",
];

fn blocks(stdout: &str) -> Vec<String> {
    let mut v: Vec<String> = stdout
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("- user \""))
        .map(|rest| rest.trim_end_matches("\" {").to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn plan_names_exactly_the_extras_and_sends_no_delete() {
    let w = World::demo();
    let file = w.allowlist(ALLOWED);
    let before = w.live_emails();
    let r = w.run(&["plan", "-f", file.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(blocks(&r.stdout), EXTRAS, "{r:?}");
    assert!(
        r.stdout.contains("Plan: 3 to delete, 4 unchanged."),
        "{r:?}"
    );
    // Allowed but absent, and the user without an email held back: shown in the plan, and not
    // warned about again on stderr (the log says it with -v).
    assert!(r.stdout.contains("· grace@example.com"), "{r:?}");
    assert!(
        r.stdout
            .contains("(no email, id 6a7b8c9d-0e1f-4a2b-8c3d-4e5f60718293)"),
        "{r:?}"
    );
    assert!(!r.stderr.contains("held back"), "{r:?}");
    // The similar diff of the live list.
    assert!(r.stdout.contains("-carol@example.com"), "{r:?}");
    assert_eq!(w.deletes(), 0);
    assert_eq!(w.live_emails(), before);
}

#[test]
fn detailed_exitcode_is_2_with_changes_and_0_without() {
    let w = World::demo();
    let file = w.allowlist(ALLOWED);
    let r = w.run(&["plan", "--detailed-exitcode", "-f", file.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{r:?}");
    let everyone = w.allowlist(&[
        "alice@example.com",
        "bob.martin@example.com",
        "carol@example.com",
        "dave.contractor@partner.example",
        "erin@example.com",
        "frank@example.com",
    ]);
    let r = w.run(&[
        "plan",
        "--detailed-exitcode",
        "-f",
        everyone.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("No changes."), "{r:?}");
}

#[test]
fn apply_with_auto_approve_deletes_exactly_the_extras() {
    let w = World::demo();
    let file = w.allowlist(ALLOWED);
    let r = w.run(&["apply", "--auto-approve", "-f", file.to_str().unwrap()]);
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
    // Converged: a second apply has nothing to do and sends no DELETE.
    let again = w.run(&["apply", "-f", file.to_str().unwrap()]);
    assert_eq!(again.code, 0, "{again:?}");
    assert!(again.stdout.contains("Nothing to delete."), "{again:?}");
    assert_eq!(w.deletes(), 3);
}

#[test]
fn auto_approve_from_the_environment() {
    let w = World::demo();
    let file = w.allowlist(ALLOWED);
    let mut cmd = w.cmd(&["apply", "-f", file.to_str().unwrap()]);
    cmd.env("RECONCILE_AUTO_APPROVE", "true");
    let r = run(cmd);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.deletes(), 3);
}

#[test]
fn apply_without_a_terminal_or_auto_approve_deletes_nothing() {
    let w = World::demo();
    let file = w.allowlist(ALLOWED);
    let before = w.live_emails();
    // Even "yes" on a pipe is not a confirmation: only a terminal can confirm.
    let r = run_with_stdin(w.cmd(&["apply", "-f", file.to_str().unwrap()]), "yes\n");
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("stdin is not a terminal"), "{r:?}");
    assert!(r.stderr.contains("--auto-approve"), "{r:?}");
    // The plan was still shown, for the log of the pipeline.
    assert!(r.stdout.contains("Plan: 3 to delete"), "{r:?}");
    assert_eq!(w.deletes(), 0);
    assert_eq!(w.live_emails(), before);
}

#[test]
fn wrong_token_is_a_clear_error_and_deletes_nothing() {
    let w = World::demo();
    let file = w.allowlist(ALLOWED);
    let mut cmd = w.cmd(&["apply", "--auto-approve", "-f", file.to_str().unwrap()]);
    cmd.env("CLOUDFLARE_API_TOKEN", "wrong-token-value");
    let r = run(cmd);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("HTTP 403, Cloudflare error 9109: Invalid access token"),
        "{r:?}"
    );
    assert!(r.stderr.contains("CLOUDFLARE_API_TOKEN"), "{r:?}");
    assert!(!r.stderr.contains("wrong-token-value") && !r.stdout.contains("wrong-token-value"));
    assert_eq!(w.deletes(), 0);
}

#[test]
fn missing_credentials_say_what_to_set() {
    let w = World::demo();
    let file = w.allowlist(ALLOWED);
    let mut cmd = bare(&["plan", "-f", file.to_str().unwrap()]);
    cmd.env("CLOUDFLARE_BASE_URL", w.sandbox.base_url());
    let r = run(cmd);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("no Cloudflare credentials: set CLOUDFLARE_API_TOKEN"),
        "{r:?}"
    );
    assert_eq!(w.requests(), 0);
}

#[test]
fn legacy_email_and_key_work() {
    let w = World::demo();
    let file = w.allowlist(ALLOWED);
    let (email, key) = reconcile::sandbox::Options::default().legacy.unwrap();
    let mut cmd = bare(&["plan", "-f", file.to_str().unwrap()]);
    cmd.env("CLOUDFLARE_BASE_URL", w.sandbox.base_url())
        .env("CLOUDFLARE_EMAIL", email)
        .env("CLOUDFLARE_API_KEY", key);
    let r = run(cmd);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("Plan: 3 to delete"), "{r:?}");
}

#[test]
fn unreachable_api_is_a_clear_error() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let w = World::demo();
    let file = w.allowlist(ALLOWED);
    let mut cmd = w.cmd(&["apply", "--auto-approve", "-f", file.to_str().unwrap()]);
    cmd.env(
        "CLOUDFLARE_BASE_URL",
        format!("http://127.0.0.1:{port}/client/v4"),
    );
    let r = run(cmd);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("could not reach the Cloudflare API"),
        "{r:?}"
    );
    assert!(r.stderr.contains("GET /accounts/"), "{r:?}");
    assert_eq!(w.deletes(), 0);
}

#[test]
fn plain_http_to_another_host_is_refused() {
    let w = World::demo();
    let file = w.allowlist(ALLOWED);
    let mut cmd = w.cmd(&["plan", "-f", file.to_str().unwrap()]);
    cmd.env("CLOUDFLARE_BASE_URL", "http://api.cloudflare.com/client/v4");
    let r = run(cmd);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("plain http is refused"), "{r:?}");
}

#[test]
fn invalid_yaml_names_file_and_line_and_sends_nothing() {
    let w = World::demo();
    let file = w.file(
        "users.yaml",
        &format!(
            "account_id: {ACCOUNT}\nusers:\n  - alice@example.com\n  - not an email\n  - [broken\n"
        ),
    );
    let r = w.run(&["apply", "--auto-approve", "-f", file.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("users.yaml:"), "{r:?}");
    assert!(r.stderr.contains("YAML syntax error"), "{r:?}");
    assert_eq!(
        w.requests(),
        0,
        "nothing may be sent when the desired state is invalid"
    );

    let file = w.file(
        "users.yaml",
        &format!(
            "account_id: {ACCOUNT}\nusers:\n  - alice@example.com\n  - not an email\nuser: []\n"
        ),
    );
    let r = w.run(&["apply", "--auto-approve", "-f", file.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{r:?}");
    let path = file.display().to_string();
    assert!(
        r.stderr.contains(&format!(
            "{path}:4:5: `not an email` is not a valid email address"
        )),
        "{r:?}"
    );
    assert!(
        r.stderr
            .contains(&format!("{path}:5:1: unknown key `user`")),
        "{r:?}"
    );
    assert!(r.stderr.contains("did you mean `users`"), "{r:?}");
    assert_eq!(w.requests(), 0);
}

#[test]
fn account_from_flag_and_mismatch() {
    let w = World::demo();
    let file = w.file("users.yaml", "users:\n  - alice@example.com\n");
    let r = w.run(&["plan", "-f", file.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("no account id"), "{r:?}");
    let r = w.run(&[
        "plan",
        "--account-id",
        ACCOUNT,
        "-f",
        file.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("Plan: 5 to delete"), "{r:?}");

    let pinned = w.allowlist(ALLOWED);
    let r = w.run(&[
        "plan",
        "--account-id",
        "00000000000000000000000000000000",
        "-f",
        pinned.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("account mismatch"), "{r:?}");
    assert_eq!(
        w.requests(),
        1,
        "only the good plan listed users (one page; total_pages ends it)"
    );
}

#[test]
fn other_account_is_refused_by_the_api() {
    let w = World::demo();
    let file = w.file(
        "users.yaml",
        "account_id: 0123456789abcdef0123456789abcdef\nusers: [alice@example.com]\n",
    );
    let r = w.run(&["apply", "--auto-approve", "-f", file.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("HTTP 403, Cloudflare error 10000"),
        "{r:?}"
    );
    assert_eq!(w.deletes(), 0);
}

#[test]
fn listing_reads_every_page() {
    let mut seed = Seed::from_str(DEMO_SEED, "seed.yaml").unwrap();
    seed.generate(2500);
    let w = World::with_seed(seed);
    let file = w.allowlist(ALLOWED);
    // 2503 of 2507 users go: far over the mass-deletion rail, so released on purpose.
    let r = w.run(&[
        "plan",
        "--allow-deletes",
        "2503",
        "-f",
        file.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    // 2507 users: 3 allowed kept, the user without email held, 2503 deleted.
    assert!(
        r.stdout.contains("Plan: 2503 to delete, 4 unchanged."),
        "{}",
        r.stderr
    );
    let pages: Vec<String> = w
        .sandbox
        .sandbox()
        .requests()
        .iter()
        .filter_map(|r| r.query.clone())
        .collect();
    // total_pages=3 ends the listing after page 3; page 1 is read once more at the end, to
    // check that no user moved between pages while they were read.
    assert_eq!(pages.len(), 4, "{pages:?}");
    assert_eq!(pages[3], pages[0], "{pages:?}");
    assert!(
        pages.iter().all(|q| q.contains("per_page=1000")),
        "{pages:?}"
    );
}

#[test]
fn users_with_unsafe_ids_are_held_never_sent() {
    let seed = Seed::from_str(
        &format!(
            "account_id: {ACCOUNT}\nusers:\n  - {{id: '../../../../etc', email: evil@example.com}}\n  - {{id: 'f174e90a-fafe-4643-bbbc-4a0ed4fc8415', email: gone@example.com}}\n  - {{email: noid@example.com}}\n  - {{id: '2a7c3f0e-5b1d-4d6e-9f8a-1c2b3d4e5f60', email: alice@example.com}}\n"
        ),
        "seed.yaml",
    )
    .unwrap();
    let w = World::with_seed(seed);
    let file = w.allowlist(&["alice@example.com"]);
    let r = w.run(&["apply", "--auto-approve", "-f", file.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.deletes(), 1, "{r:?}");
    assert_eq!(
        w.live_emails(),
        ["alice@example.com", "evil@example.com", "noid@example.com"]
    );
    assert!(r.stdout.contains("not a UUID"), "{r:?}");
}

#[test]
fn demo_runs_the_whole_flow() {
    let r = run(bare(&["demo", "--auto-approve"]));
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("Plan: 3 to delete, 4 unchanged."),
        "{r:?}"
    );
    assert!(r.stdout.contains("Apply complete: 3 deleted"), "{r:?}");
    assert!(
        r.stdout
            .trim_end()
            .ends_with("Plan: 0 to delete, 4 unchanged."),
        "{r:?}"
    );
}

#[test]
fn demo_without_a_terminal_only_plans() {
    let r = run(bare(&["demo"]));
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("Plan: 3 to delete, 4 unchanged."),
        "{r:?}"
    );
    assert!(!r.stdout.contains("Apply complete"), "{r:?}");
    assert!(r.stderr.contains("--auto-approve"), "{r:?}");
}

#[test]
fn token_from_a_file() {
    let w = World::demo();
    let file = w.allowlist(ALLOWED);
    let token_file = w.file("token", &format!("{TOKEN}\n"));
    let mut cmd = bare(&[
        "plan",
        "--api-token-file",
        token_file.to_str().unwrap(),
        "-f",
        file.to_str().unwrap(),
    ]);
    cmd.env("CLOUDFLARE_BASE_URL", w.sandbox.base_url());
    let r = run(cmd);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("Plan: 3 to delete"), "{r:?}");
    assert!(r.stderr.contains("can be read by other users"), "{r:?}");
    assert!(!r.stdout.contains(TOKEN) && !r.stderr.contains(TOKEN));

    let empty = w.file("empty-token", "\n");
    let r = run(bare(&[
        "plan",
        "--api-token-file",
        empty.to_str().unwrap(),
        "-f",
        file.to_str().unwrap(),
    ]));
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("the file is empty"), "{r:?}");
    let r = run(bare(&[
        "plan",
        "--api-token-file",
        "/nonexistent/token",
        "-f",
        file.to_str().unwrap(),
    ]));
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("--api-token-file /nonexistent/token: cannot read it"),
        "{r:?}"
    );
    assert_eq!(w.deletes(), 0);
}

#[test]
fn a_closed_stdout_does_not_turn_changes_into_success() {
    let w = World::demo();
    let file = w.allowlist(ALLOWED);
    let mut cmd = w.cmd(&["plan", "--detailed-exitcode", "-f", file.to_str().unwrap()]);
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    // The reader goes away before the plan is written (the plan needs the listing first).
    drop(child.stdout.take());
    let status = child.wait().unwrap();
    // 141, as a shell reports for a program a closed pipe ended: neither 0 nor 2, since nobody
    // read the plan (manners.rs checks every command and format).
    assert_eq!(
        status.code(),
        Some(141),
        "a plan with changes must not exit 0 when stdout closes"
    );
}

/// A loopback API whose pages are given by `page(n)` (the JSON of `result` and `result_info`).
fn scripted_api(page: fn(u32) -> String) -> String {
    loopback_api(50, move |request_line| {
        let n: u32 = request_line
            .split("page=")
            .nth(1)
            .and_then(|rest| rest.split(['&', ' ']).next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        (
            "200 OK",
            format!(
                r#"{{"success":true,"errors":[],"messages":[],{}}}"#,
                page(n)
            ),
        )
    })
}

fn user_json(n: u32) -> String {
    format!(r#"{{"id":"00000000-0000-4000-8000-{n:012}","email":"u{n}@example.com"}}"#)
}

#[test]
fn a_listing_cut_short_is_refused_and_nothing_is_planned() {
    // total_pages says 1 and there is no total_count, but page 2 has users: the listing is
    // incomplete, so planning from it is refused (a user on page 2 could be the twin that keeps
    // a page-1 user from being deleted, and page-2 extras would be missed).
    let url = scripted_api(|n| match n {
        1 => format!(
            r#""result":[{}],"result_info":{{"page":1,"per_page":1000,"total_pages":1}}"#,
            user_json(1)
        ),
        2 => format!(
            r#""result":[{}],"result_info":{{"page":2,"per_page":1000,"total_pages":1}}"#,
            user_json(2)
        ),
        n => format!(r#""result":[],"result_info":{{"page":{n},"per_page":1000,"total_pages":1}}"#),
    });
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users.yaml");
    std::fs::write(
        &file,
        format!("account_id: {ACCOUNT}\nusers: [keep@example.com]\n"),
    )
    .unwrap();
    let mut cmd = bare(&["plan", "-f", file.to_str().unwrap()]);
    cmd.env("CLOUDFLARE_BASE_URL", &url)
        .env("CLOUDFLARE_API_TOKEN", TOKEN);
    let r = run(cmd);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("the API said 1 pages, but page 2 has users too"),
        "{r:?}"
    );
    assert!(r.stdout.is_empty(), "{r:?}");

    // An empty page in the middle: refused too.
    let url = scripted_api(|n| match n {
        1 => format!(
            r#""result":[{}],"result_info":{{"page":1,"per_page":1,"total_pages":3}}"#,
            user_json(1)
        ),
        2 => r#""result":[],"result_info":{"page":2,"per_page":1,"total_pages":3}"#.to_string(),
        3 => format!(
            r#""result":[{}],"result_info":{{"page":3,"per_page":1,"total_pages":3}}"#,
            user_json(3)
        ),
        n => format!(r#""result":[],"result_info":{{"page":{n},"per_page":1,"total_pages":3}}"#),
    });
    let mut cmd = bare(&["plan", "-f", file.to_str().unwrap()]);
    cmd.env("CLOUDFLARE_BASE_URL", &url)
        .env("CLOUDFLARE_API_TOKEN", TOKEN);
    let r = run(cmd);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("page 2 was empty but later pages had users"),
        "{r:?}"
    );
}

#[test]
fn https_proxy_from_the_environment_is_used() {
    use std::io::{BufRead, BufReader};
    // A loopback "proxy" that records what it is asked and closes: nothing leaves the machine.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut head = Vec::new();
        let mut reader = BufReader::new(stream);
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            head.push(line);
        }
        head
    });
    let w = World::demo();
    let file = w.allowlist(ALLOWED);
    let mut cmd = bare(&["plan", "--max-retries", "0", "-f", file.to_str().unwrap()]);
    cmd.env("HTTPS_PROXY", &proxy)
        .env("CLOUDFLARE_API_TOKEN", TOKEN);
    let r = run(cmd);
    assert_eq!(r.code, 1, "the proxy closes the tunnel: {r:?}");
    let head = seen.join().unwrap();
    assert!(
        head[0].starts_with("CONNECT api.cloudflare.com:443"),
        "{head:?}"
    );
    // The token travels inside the TLS tunnel, never to the proxy in the clear.
    assert!(!head.iter().any(|l| l.contains(TOKEN)), "{head:?}");
}

#[test]
fn an_unattended_apply_rechecks_against_the_listing_it_just_made() {
    let once = gets_of_one_plan(ALLOWED);
    let w = World::demo();
    let file = w.allowlist(ALLOWED);
    let r = w.run(&["apply", "--auto-approve", "-f", file.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.deletes(), 3, "{r:?}");
    // One listing for the plan (which the re-check reuses: nobody read it, so nothing waited)
    // and one for the final check after the deletions; not a second listing before them.
    assert_eq!(w.gets(), 2 * once, "{r:?}");
    let mut left = w.live_emails();
    left.sort();
    assert!(
        EXTRAS.iter().all(|e| !left.contains(&e.to_string())),
        "{left:?}"
    );
}

#[test]
fn a_door_section_is_planned_and_kept_by_apply_and_read_by_explain_and_check() {
    let w = World::demo();
    let mut text = format!("account_id: {ACCOUNT}\nusers:\n");
    for e in ALLOWED {
        text.push_str(&format!("  - {e}\n"));
    }
    text.push_str("door:\n  lists:\n    name: reconcile-allowlist\n");
    let file = w.file("door.yaml", &text);
    let path = file.to_str().unwrap();
    // explain and check take the section (tests/integration/door_check.rs says more); they
    // change nothing.
    for args in [
        vec!["explain", "carol@example.com", "-f", path],
        vec!["check", "-f", path],
    ] {
        let r = w.run(&args);
        assert_eq!(r.code, 0, "{args:?}: {r:?}");
    }
    assert!(w.door_writes().is_empty());
    assert_eq!(w.deletes(), 0);
    assert_eq!(w.live_emails().len(), 7);
    // `plan` reads the door and shows it; it writes nothing.
    let r = w.run(&["plan", "-f", path]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("+ list \"reconcile-allowlist-1\""),
        "{r:?}"
    );
    assert!(w.door_writes().is_empty());
    assert_eq!(w.deletes(), 0);
    assert!(w.sandbox.sandbox().lists().is_empty());
    assert_eq!(w.live_emails().len(), 7);
    let r = w.run(&["validate", "-f", path]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("`plan` shows the door's plan"), "{r:?}");
    // `apply -f` keeps the door: the list is created before the deletions.
    let r = w.run(&["apply", "--auto-approve", "-f", path]);
    assert_eq!(r.code, 0, "{r:?}");
    let lists = w.sandbox.sandbox().lists();
    assert_eq!(lists.len(), 1, "{lists:?}");
    assert_eq!(lists[0]["name"], "reconcile-allowlist-1");
    assert_eq!(lists[0]["items"].as_array().unwrap().len(), ALLOWED.len());
    assert_eq!(w.user_deletes(), 3);
}
