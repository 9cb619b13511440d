//! What a real account may answer on first contact, and how reconcile meets it: credentials
//! that may list but not delete, expired tokens, an account without Zero Trust Access, a base
//! URL that is not the API's, a DELETE whose answer does not say what happened.

use std::process::Command;

use reconcile::sandbox::{Faults, Options, Seed, TokenSpec};
use serde_json::Value;

use crate::harness::*;

const READ_ONLY: &str = "read-only-token-Zq8XbK2v";

/// The demo account with these options; its four users outside `alice`/`bob` are the extras.
fn demo_with(options: Options) -> World {
    World::with_options(Seed::from_str(DEMO_SEED, "seed.yaml").unwrap(), options)
}

fn read_only_token() -> Options {
    Options {
        tokens: vec![TokenSpec::parse(&format!("{READ_ONLY}:read"), 0).unwrap()],
        ..Options::default()
    }
}

fn apply_cmd(w: &World, log: &std::path::Path) -> Command {
    let file = w.permissive_allowlist(&["alice@example.com", "bob.martin@example.com"]);
    w.cmd(&[
        "apply",
        "--auto-approve",
        "--parallelism",
        "4",
        "--audit-log",
        log.to_str().unwrap(),
        "-f",
        file.to_str().unwrap(),
    ])
}

/// The first line of stderr that is the error (logs may come before it).
fn error_line(r: &Run) -> &str {
    r.stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_else(|| panic!("no error line: {r:?}"))
}

/// Exactly one DELETE, refused 403; nobody deleted; every other planned user not attempted;
/// the permission to grant named.
fn assert_refused_once(w: &World, r: &Run, log: &std::path::Path) {
    assert_eq!(r.code, 3, "{r:?}");
    assert_eq!(w.deletes(), 1, "no second DELETE after the refusal: {r:?}");
    assert_eq!(w.count("DELETE", 403), 1, "{r:?}");
    assert_eq!(w.live_emails().len(), 7, "nobody deleted: {r:?}");
    assert!(r.stdout.contains("Access: Users Write"), "{r:?}");
    assert!(
        r.stdout
            .contains("may list Access users but not delete them"),
        "{r:?}"
    );
    let recs = records(log);
    let n = |o: &str| recs.iter().filter(|x| x["outcome"] == o).count();
    assert_eq!(n("failed"), 1, "{recs:?}");
    assert_eq!(n("not_attempted"), recs.len() - 1, "{recs:?}");
    assert!(recs.len() >= 3, "{recs:?}");
    let failed = recs.iter().find(|x| x["outcome"] == "failed").unwrap();
    assert_eq!(failed["cloudflare_codes"], serde_json::json!([10000]));
}

#[test]
fn a_read_only_token_is_refused_once_and_nothing_else_is_sent() {
    let w = demo_with(read_only_token());
    let log = w.dir.path().join("audit.jsonl");
    let mut cmd = apply_cmd(&w, &log);
    cmd.env("CLOUDFLARE_API_TOKEN", READ_ONLY);
    let r = run(cmd);
    assert_refused_once(&w, &r, &log);
}

#[test]
fn a_read_only_legacy_key_is_refused_once_too() {
    let w = demo_with(Options::default().with_faults(
        Faults {
            legacy_read_only: true,
            ..Faults::default()
        },
        None,
    ));
    let log = w.dir.path().join("audit.jsonl");
    let mut cmd = apply_cmd(&w, &log);
    cmd.env_remove("CLOUDFLARE_API_TOKEN")
        .env("CLOUDFLARE_EMAIL", reconcile::sandbox::DEFAULT_LEGACY_EMAIL)
        .env("CLOUDFLARE_API_KEY", reconcile::sandbox::DEFAULT_LEGACY_KEY);
    let r = run(cmd);
    assert_refused_once(&w, &r, &log);
}

#[test]
fn a_read_only_token_plans() {
    let w = demo_with(read_only_token());
    let file = w.allowlist(&["alice@example.com", "bob.martin@example.com"]);
    let mut cmd = w.cmd(&["plan", "--detailed-exitcode", "-f", file.to_str().unwrap()]);
    cmd.env("CLOUDFLARE_API_TOKEN", READ_ONLY);
    let r = run(cmd);
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(w.deletes(), 0);
}

#[test]
fn an_expired_token_deletes_nothing() {
    let w = demo_with(Options {
        tokens: vec![TokenSpec::parse("old-token:expired", 0).unwrap()],
        ..Options::default()
    });
    let log = w.dir.path().join("audit.jsonl");
    let mut cmd = apply_cmd(&w, &log);
    cmd.env("CLOUDFLARE_API_TOKEN", "old-token");
    let r = run(cmd);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("9109"), "{r:?}");
    assert_eq!(w.deletes(), 0);
    assert_eq!(w.live_emails().len(), 7);
}

#[test]
fn access_not_enabled_is_said_first_and_nothing_is_deleted() {
    let w = demo_with(Options::default().with_faults(
        Faults {
            access_disabled: true,
            ..Faults::default()
        },
        None,
    ));
    let log = w.dir.path().join("audit.jsonl");
    let r = run(apply_cmd(&w, &log));
    assert_eq!(r.code, 1, "{r:?}");
    let line = error_line(&r);
    assert!(
        line.contains("Zero Trust Access is not enabled on this account"),
        "{r:?}"
    );
    assert!(r.stderr.contains("9999"), "{r:?}");
    assert!(r.stderr.contains("enable Zero Trust"), "{r:?}");
    assert_eq!(w.deletes(), 0);
    assert_eq!(w.live_emails().len(), 7);
}

#[test]
fn a_base_url_without_client_v4_is_said_in_the_first_line() {
    let w = World::demo();
    let file = w.allowlist(&["alice@example.com"]);
    let base = w.sandbox.base_url();
    // A path, but not the API's (no path at all is refused before a request: tests/hints.rs).
    let wrong = base.replace("/client/v4", "/api");
    let mut cmd = w.cmd(&["plan", "-f", file.to_str().unwrap()]);
    cmd.env("CLOUDFLARE_BASE_URL", &wrong);
    let r = run(cmd);
    assert_eq!(r.code, 1, "{r:?}");
    let line = error_line(&r);
    assert!(
        line.contains("does not look like Cloudflare's API"),
        "{r:?}"
    );
    assert!(r.stderr.contains("must end in /client/v4"), "{r:?}");
    assert!(r.stderr.contains("Cloudflare error 7000"), "{r:?}");
    assert_eq!(w.deletes(), 0);
}

#[test]
fn a_lost_delete_answer_and_a_7003_retry_are_resolved_by_asking_for_the_user() {
    // The first DELETE is done but its answer is cut off; the retry gets 404 with 7003, which
    // other services answer for an unknown object and which also means a bad route: only a
    // lookup of that one user can tell. Before the lookup, this run failed (exit 3).
    let w = demo_with(Options::default().with_faults(
        Faults {
            drop_delete_answers: 1,
            not_found_code: Some(7003),
            ..Faults::default()
        },
        None,
    ));
    let log = w.dir.path().join("audit.jsonl");
    let file = w.permissive_allowlist(&["alice@example.com", "bob.martin@example.com"]);
    let r = w.run(&[
        "apply",
        "--auto-approve",
        "--parallelism",
        "1",
        "--audit-log",
        log.to_str().unwrap(),
        "-f",
        file.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    let live = w.live_emails();
    assert!(live.contains(&"alice@example.com".to_string()), "{live:?}");
    assert!(!live.contains(&"carol@example.com".to_string()), "{live:?}");
    assert!(!live.contains(&"frank@example.com".to_string()), "{live:?}");
    let lookups: Vec<_> = w
        .sandbox
        .sandbox()
        .requests()
        .into_iter()
        .filter(|x| x.method == "GET" && !x.path.ends_with("/access/users"))
        .collect();
    assert_eq!(lookups.len(), 1, "one lookup, for the one unclear DELETE");
    assert_eq!(lookups[0].status, 404);
    let recs = records(&log);
    let n = |o: &str| recs.iter().filter(|x| x["outcome"] == o).count();
    assert_eq!(n("deleted_answer_lost"), 1, "{recs:?}");
    assert_eq!(n("failed"), 0, "{recs:?}");
}

#[test]
fn a_7003_delete_of_a_user_still_present_is_a_failure_not_a_success() {
    // A 404 with 7003 while the user is still there (a proxy or a bad route answering for the
    // API) must not be taken for "already gone".
    let url = loopback_api(64, |line| {
        if line.starts_with("DELETE ") {
            (
                "404 Not Found",
                r#"{"success":false,"errors":[{"code":7003,"message":"Could not route to /x, perhaps your object identifier is invalid?"}],"messages":[],"result":null}"#.into(),
            )
        } else if line.contains("/access/users/") {
            (
                "200 OK",
                r#"{"success":true,"errors":[],"messages":[],"result":{"id":"5d6e7f80-91a2-4b3c-8d4e-5f60718293a4","email":"carol@example.com"}}"#.into(),
            )
        } else if line.contains("page=1") {
            (
                "200 OK",
                r#"{"success":true,"errors":[],"messages":[],"result":[{"id":"f174e90a-fafe-4643-bbbc-4a0ed4fc8415","email":"alice@example.com"},{"id":"5d6e7f80-91a2-4b3c-8d4e-5f60718293a4","email":"carol@example.com"}],"result_info":{"page":1,"per_page":1000,"count":2,"total_count":2,"total_pages":1}}"#.into(),
            )
        } else {
            (
                "200 OK",
                r#"{"success":true,"errors":[],"messages":[],"result":[],"result_info":{"page":2,"per_page":1000,"count":0,"total_count":2,"total_pages":1}}"#.into(),
            )
        }
    });
    let (r, _) = apply_keeping_alice(&url, &[]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stdout.contains("still present: not deleted"), "{r:?}");
    // The report names the lookup that found the user, by the user's own path.
    assert!(
        r.stdout.contains(
            "then: GET /accounts/023e105f4ecef8ad9ca31a8372d0c353/access/users/5d6e7f80-91a2-4b3c-8d4e-5f60718293a4 shows the user still present"
        ),
        "{r:?}"
    );
}

#[test]
fn sandbox_token_attributes_are_checked() {
    let r = run(bare(&[
        "sandbox",
        "--token",
        "abc:write",
        "--listen",
        "127.0.0.1:0",
    ]));
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("unknown token attribute `write`"),
        "{r:?}"
    );
    assert!(r.stdout.is_empty(), "nothing served: {r:?}");
}

#[test]
fn a_web_page_404_under_a_base_without_client_v4_is_said_in_the_first_line() {
    // A base URL that points at a web server, not at the API: no Cloudflare envelope at all.
    let url = loopback_api(4, |_| ("404 Not Found", "<html>Not Found</html>".into()));
    let base = url.trim_end_matches("/client/v4").to_string() + "/api";
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users.yaml");
    std::fs::write(
        &file,
        format!("account_id: {ACCOUNT}\nusers:\n  - alice@example.com\n"),
    )
    .unwrap();
    let mut cmd = bare(&["plan", "-f", file.to_str().unwrap()]);
    cmd.env("CLOUDFLARE_BASE_URL", &base)
        .env("CLOUDFLARE_API_TOKEN", TOKEN);
    let r = run(cmd);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        error_line(&r).contains("does not look like Cloudflare's API"),
        "{r:?}"
    );
}

/// One request straight to the sandbox, outside the client: status and JSON body.
fn raw(addr: std::net::SocketAddr, method: &str, path: &str, auth: &str) -> (u16, Value) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap();
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[test]
fn scoped_tokens_and_verification_on_the_wire() {
    let w = demo_with(Options {
        tokens: vec![
            TokenSpec::parse(&format!("{READ_ONLY}:read"), 0).unwrap(),
            TokenSpec::parse("acct-tok:account", 0).unwrap(),
        ],
        ..Options::default()
    });
    let addr = w.sandbox.addr();
    let bearer = |t: &str| format!("Authorization: Bearer {t}");
    let user =
        format!("/client/v4/accounts/{ACCOUNT}/access/users/f174e90a-fafe-4643-bbbc-4a0ed4fc8415");

    // Read-only: GET one user yes, DELETE no, and the user stays.
    let (status, body) = raw(addr, "GET", &user, &bearer(READ_ONLY));
    assert_eq!(
        (status, body["result"]["email"].clone()),
        (200, "alice@example.com".into())
    );
    let (status, body) = raw(addr, "DELETE", &user, &bearer(READ_ONLY));
    assert_eq!(status, 403);
    assert_eq!(
        body["errors"],
        serde_json::json!([{"code": 10000, "message": "Authentication error"}])
    );
    assert_eq!(w.live_emails().len(), 7);

    // Verification, in API-additions §2a's shape.
    let (status, body) = raw(addr, "GET", "/client/v4/user/tokens/verify", &bearer(TOKEN));
    assert_eq!(status, 200);
    assert_eq!(body["success"], true);
    assert_eq!(body["result"]["status"], "active");
    assert_eq!(
        body["messages"][0]["message"],
        "This API Token is valid and active"
    );
    assert!(!body.to_string().contains(TOKEN), "the id is not the token");
    let account_verify = format!("/client/v4/accounts/{ACCOUNT}/tokens/verify");
    assert_eq!(
        raw(
            addr,
            "GET",
            "/client/v4/user/tokens/verify",
            &bearer("acct-tok")
        )
        .0,
        401
    );
    assert_eq!(
        raw(addr, "GET", &account_verify, &bearer("acct-tok")).0,
        200
    );
    let (status, body) = raw(addr, "GET", &account_verify, &bearer("nope"));
    assert_eq!(
        (status, body["errors"][0]["code"].clone()),
        (401, 1000.into())
    );
    let legacy = format!(
        "X-Auth-Email: {}\r\nX-Auth-Key: {}",
        reconcile::sandbox::DEFAULT_LEGACY_EMAIL,
        reconcile::sandbox::DEFAULT_LEGACY_KEY
    );
    assert_eq!(raw(addr, "GET", &account_verify, &legacy).0, 401);

    // Route errors as the addendum pairs them.
    let (status, body) = raw(addr, "GET", "/accounts/x/access/users", &bearer(TOKEN));
    assert_eq!(
        (status, body["errors"][0]["code"].clone()),
        (400, 7000.into())
    );
    let (status, body) = raw(
        addr,
        "GET",
        "/client/v4/accounts/nothex/access/users",
        &bearer(TOKEN),
    );
    assert_eq!(
        (status, body["errors"][0]["code"].clone()),
        (404, 7003.into())
    );
    assert_eq!(w.deletes(), 1);
}

/// A loopback API of alice and carol whose DELETE answers a 503 (nothing done) and whose
/// one-user GET answers `lookup`: the lookup alone decides what apply says of carol.
fn unclear_delete_then(lookup: (&'static str, &'static str)) -> (Run, Vec<Value>) {
    let url = loopback_api(64, move |line| {
        if line.starts_with("DELETE ") {
            (
                "503 Service Unavailable",
                r#"{"success":false,"errors":[{"code":10503,"message":"Service temporarily unavailable"}],"messages":[],"result":null}"#.into(),
            )
        } else if line.contains("/access/users/") {
            (lookup.0, lookup.1.into())
        } else if line.contains("page=1") {
            (
                "200 OK",
                r#"{"success":true,"errors":[],"messages":[],"result":[{"id":"f174e90a-fafe-4643-bbbc-4a0ed4fc8415","email":"alice@example.com"},{"id":"5d6e7f80-91a2-4b3c-8d4e-5f60718293a4","email":"carol@example.com"}],"result_info":{"page":1,"per_page":1000,"count":2,"total_count":2,"total_pages":1}}"#.into(),
            )
        } else {
            (
                "200 OK",
                r#"{"success":true,"errors":[],"messages":[],"result":[],"result_info":{"page":2,"per_page":1000,"count":0,"total_count":2,"total_pages":1}}"#.into(),
            )
        }
    });
    let (r, audit) = apply_keeping_alice(&url, &["--max-retries", "0"]);
    let recs: Vec<Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (r, recs)
}

#[test]
fn a_lookup_answered_by_a_page_that_is_not_the_api_does_not_make_a_user_gone() {
    // Carol is still there (the DELETE was a 503). A 404 with no Cloudflare envelope (a proxy's
    // page) and a success with `result: null` say nothing of her: before, both read as "not
    // found", and apply recorded her as already gone.
    for lookup in [
        ("404 Not Found", "<html><body>Not Found</body></html>"),
        (
            "200 OK",
            r#"{"success":true,"errors":[],"messages":[],"result":null}"#,
        ),
    ] {
        let (r, recs) = unclear_delete_then(lookup);
        assert_eq!(r.code, 3, "{lookup:?}: {r:?}");
        let carol = recs
            .iter()
            .find(|x| x["email"] == "carol@example.com")
            .unwrap_or_else(|| panic!("{recs:?}"));
        assert_eq!(carol["outcome"], "failed", "{lookup:?}: {recs:?}");
        assert!(
            r.stdout
                .contains("whether the user is deleted is not known"),
            "{lookup:?}: {r:?}"
        );
    }
    // The API's own 404 still means gone.
    let (r, recs) = unclear_delete_then((
        "404 Not Found",
        r#"{"success":false,"errors":[{"code":12130,"message":"access.api.error.not_found"}],"messages":[],"result":null}"#,
    ));
    let carol = recs.iter().find(|x| x["email"] == "carol@example.com");
    assert_eq!(
        carol.map(|c| c["outcome"].clone()),
        Some(Value::from("already_gone")),
        "{r:?}"
    );
}

#[test]
fn a_refused_retry_after_a_lost_answer_does_not_say_the_user_was_not_deleted() {
    // The first DELETE is done and its answer cut off; the token is revoked by then, so the
    // retry is refused (403 9109). The refusal says nothing of the first attempt, which did
    // delete carol: before, apply reported a plain credentials failure.
    let w = demo_with(Options::default().with_faults(
        Faults {
            drop_delete_answers: 1,
            revoke_after_deletes: Some(1),
            ..Faults::default()
        },
        None,
    ));
    let log = w.dir.path().join("audit.jsonl");
    let r = run(apply_cmd(&w, &log));
    assert_eq!(r.code, 3, "{r:?}");
    assert_eq!(w.count("DELETE", 202), 1, "{r:?}");
    let live = w.live_emails();
    assert!(!live.contains(&"carol@example.com".to_string()), "{live:?}");
    assert!(
        r.stdout.contains("may have deleted the user"),
        "the report must not say the user is still there: {r:?}"
    );
    assert!(r.stdout.contains("run apply again"), "{r:?}");
    let recs = records(&log);
    let first = recs
        .iter()
        .find(|x| x["email"] == "carol@example.com")
        .unwrap();
    assert!(
        first["error"]
            .as_str()
            .is_some_and(|e| e.contains("may have deleted the user")),
        "{recs:?}"
    );
    // The run still stops at the refusal: no other DELETE was sent.
    assert_eq!(w.deletes(), 2, "{r:?}");
}

#[test]
fn a_token_the_api_echoes_back_is_never_printed_or_logged() {
    // An answer that echoes the token (a proxy, a misconfigured gateway, a verification whose id
    // is the token) went on into the report, stderr and the audit log as sent.
    let url = loopback_api(64, |line| {
        if line.starts_with("DELETE ") {
            (
                "400 Bad Request",
                format!(
                    r#"{{"success":false,"errors":[{{"code":6003,"message":"Invalid request headers: Bearer {TOKEN}"}}],"messages":[],"result":null}}"#
                ),
            )
        } else if line.contains("/tokens/verify") {
            (
                "200 OK",
                format!(
                    r#"{{"success":true,"errors":[],"messages":[],"result":{{"id":"{TOKEN}","status":"active"}}}}"#
                ),
            )
        } else if line.contains("page=1&per_page=1000") || line.contains("per_page=1000&page=1") {
            (
                "200 OK",
                r#"{"success":true,"errors":[],"messages":[],"result":[{"id":"f174e90a-fafe-4643-bbbc-4a0ed4fc8415","email":"alice@example.com"},{"id":"5d6e7f80-91a2-4b3c-8d4e-5f60718293a4","email":"carol@example.com"}],"result_info":{"page":1,"per_page":1000,"count":2,"total_count":2,"total_pages":1}}"#.into(),
            )
        } else if line.contains("per_page=1") && line.contains("page=1") {
            (
                "200 OK",
                r#"{"success":true,"errors":[],"messages":[],"result":[],"result_info":{"page":1,"per_page":1,"count":0,"total_count":2}}"#.into(),
            )
        } else {
            (
                "200 OK",
                r#"{"success":true,"errors":[],"messages":[],"result":[],"result_info":{"page":2,"per_page":1000,"count":0,"total_count":2,"total_pages":1}}"#.into(),
            )
        }
    });
    let (r, audit) = apply_keeping_alice(&url, &[]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stdout.contains("Invalid request headers"), "{r:?}");
    assert!(
        !r.stdout.contains(TOKEN) && !r.stderr.contains(TOKEN),
        "{r:?}"
    );
    assert!(audit.contains("Invalid request headers"), "{audit}");
    assert!(!audit.contains(TOKEN), "{audit}");

    let mut cmd = bare(&["check", "--account-id", ACCOUNT]);
    cmd.env("CLOUDFLARE_BASE_URL", &url)
        .env("CLOUDFLARE_API_TOKEN", TOKEN);
    let r = run(cmd);
    // A success that holds the token is not the API's answer: not "active".
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("holds the credential"), "{r:?}");
    assert!(
        !r.stdout.contains(TOKEN) && !r.stderr.contains(TOKEN),
        "{r:?}"
    );
}

/// `apply --auto-approve --audit-log` against the API at `url`, with an allowlist keeping only
/// alice (and letting the rails delete the rest): the run and the audit log it wrote.
fn apply_keeping_alice(url: &str, extra: &[&str]) -> (Run, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users.yaml");
    std::fs::write(
        &file,
        format!("account_id: {ACCOUNT}\npolicy:\n  max_delete_fraction: 1\nusers:\n  - alice@example.com\n"),
    )
    .unwrap();
    let log = dir.path().join("audit.jsonl");
    let mut args = vec!["apply", "--auto-approve"];
    args.extend_from_slice(extra);
    args.extend([
        "--audit-log",
        log.to_str().unwrap(),
        "-f",
        file.to_str().unwrap(),
    ]);
    let mut cmd = bare(&args);
    cmd.env("CLOUDFLARE_BASE_URL", url)
        .env("CLOUDFLARE_API_TOKEN", TOKEN);
    let r = run(cmd);
    let audit = std::fs::read_to_string(&log).unwrap_or_default();
    (r, audit)
}
