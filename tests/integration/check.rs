//! `reconcile check`: the read-only preflight. Each failure it reports, its JSON, and that it
//! sends nothing but GETs.

use std::process::Command;

use reconcile::sandbox::{Faults, Options, Seed, TokenSpec};
use serde_json::Value;

use crate::harness::*;

fn demo_with(options: Options) -> World {
    World::with_options(Seed::from_str(DEMO_SEED, "seed.yaml").unwrap(), options)
}

fn token(spec: &str) -> Options {
    Options {
        tokens: vec![TokenSpec::parse(spec, now()).unwrap()],
        ..Options::default()
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn check_cmd(w: &World, extra: &[&str]) -> Command {
    let file = w.allowlist(&["alice@example.com"]);
    let mut args = vec!["check", "-f", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    w.cmd(&args)
}

/// Only GETs, and few of them.
fn assert_read_only(w: &World) {
    let requests = w.sandbox.sandbox().requests();
    assert!(requests.iter().all(|r| r.method == "GET"), "{requests:?}");
    assert!(requests.len() <= 3, "{requests:?}");
    assert_eq!(w.live_emails().len(), 7);
}

#[test]
fn a_good_setup_passes_and_says_what_it_cannot_check() {
    let w = World::demo();
    let r = run(check_cmd(&w, &[]));
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("is active"), "{r:?}");
    assert!(
        r.stdout
            .contains("Zero Trust Access is enabled; 7 Access users"),
        "{r:?}"
    );
    assert!(
        r.stdout
            .contains("Ratelimit-Policy 1200 requests per 300 s"),
        "{r:?}"
    );
    assert!(
        r.stdout.contains("cannot be checked without deleting"),
        "{r:?}"
    );
    assert!(r.stdout.contains("Access: Users Write"), "{r:?}");
    assert!(r.stdout.contains("Check passed"), "{r:?}");
    assert!(
        !r.stdout.contains(TOKEN) && !r.stderr.contains(TOKEN),
        "{r:?}"
    );
    assert_read_only(&w);
}

#[test]
fn an_expired_token_fails() {
    let w = demo_with(token("old-token:expired"));
    let mut cmd = check_cmd(&w, &[]);
    cmd.env("CLOUDFLARE_API_TOKEN", "old-token");
    let r = run(cmd);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("is expired"), "{r:?}");
    assert!(r.stdout.contains("create a new API token"), "{r:?}");
    assert!(r.stderr.contains("check(s) failed"), "{r:?}");
    assert_read_only(&w);
}

#[test]
fn a_token_expiring_soon_warns_and_passes() {
    let w = demo_with(token("soon-token:expires-in=5d"));
    let mut cmd = check_cmd(&w, &[]);
    cmd.env("CLOUDFLARE_API_TOKEN", "soon-token");
    let r = run(cmd);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("expires in 5 days"), "{r:?}");
    assert!(r.stdout.contains("renew the token"), "{r:?}");

    let mut cmd = check_cmd(&w, &["--format", "json"]);
    cmd.env("CLOUDFLARE_API_TOKEN", "soon-token");
    let r = run(cmd);
    assert_eq!(r.code, 0, "{r:?}");
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["ok"], true);
    let token = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "token")
        .unwrap();
    assert_eq!(token["status"], "warn", "{v}");
}

#[test]
fn an_invalid_token_fails() {
    let w = World::demo();
    let mut cmd = check_cmd(&w, &[]);
    cmd.env("CLOUDFLARE_API_TOKEN", "not-the-token");
    let r = run(cmd);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("the token verification failed"), "{r:?}");
    assert!(r.stdout.contains("Invalid API Token"), "{r:?}");
    assert!(
        r.stdout.contains("the API refused the credentials"),
        "{r:?}"
    );
    assert!(
        !r.stdout.contains("not-the-token"),
        "no secret printed: {r:?}"
    );
    assert_read_only(&w);
}

#[test]
fn an_account_owned_token_verifies_at_the_account_route() {
    let w = demo_with(token("acct-token:account"));
    let mut cmd = check_cmd(&w, &[]);
    cmd.env("CLOUDFLARE_API_TOKEN", "acct-token");
    let r = run(cmd);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout
            .contains("verified at /accounts/{account_id}/tokens/verify"),
        "{r:?}"
    );
}

#[test]
fn another_account_fails() {
    let w = World::demo();
    let r = w.run(&["check", "--account-id", "0123456789abcdef0123456789abcdef"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("cannot see this account"), "{r:?}");
    assert!(r.stdout.contains("Access: Audit Logs Read"), "{r:?}");
    assert_read_only(&w);
}

#[test]
fn access_not_enabled_fails() {
    let w = demo_with(Options::default().with_faults(
        Faults {
            access_disabled: true,
            ..Faults::default()
        },
        None,
    ));
    let r = run(check_cmd(&w, &[]));
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stdout
            .contains("Zero Trust Access is not enabled on this account"),
        "{r:?}"
    );
    assert!(r.stdout.contains("enable Zero Trust"), "{r:?}");
    assert_read_only(&w);
}

#[test]
fn a_wrong_base_url_fails() {
    let w = World::demo();
    let mut cmd = check_cmd(&w, &[]);
    // A path, but not the API's (no path at all is refused before a request: tests/hints.rs).
    let wrong = w.sandbox.base_url().replace("/client/v4", "/api");
    cmd.env("CLOUDFLARE_BASE_URL", &wrong);
    let r = run(cmd);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stdout.contains("does not look like Cloudflare's API"),
        "{r:?}"
    );
    assert!(r.stdout.contains("must end in /client/v4"), "{r:?}");
}

#[test]
fn a_legacy_key_is_not_verified_but_the_account_is() {
    let w = World::demo();
    let mut cmd = check_cmd(&w, &[]);
    cmd.env_remove("CLOUDFLARE_API_TOKEN")
        .env("CLOUDFLARE_EMAIL", reconcile::sandbox::DEFAULT_LEGACY_EMAIL)
        .env("CLOUDFLARE_API_KEY", reconcile::sandbox::DEFAULT_LEGACY_KEY);
    let r = run(cmd);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("verification applies to API tokens only"),
        "{r:?}"
    );
    assert!(r.stdout.contains("7 Access users"), "{r:?}");
    assert!(!r.stdout.contains(reconcile::sandbox::DEFAULT_LEGACY_KEY));
    assert_read_only(&w);
}

#[test]
fn a_read_only_token_passes_with_the_delete_permission_unknown() {
    let w = demo_with(token("ro-token:read"));
    let mut cmd = check_cmd(&w, &["--format", "json"]);
    cmd.env("CLOUDFLARE_API_TOKEN", "ro-token");
    let r = run(cmd);
    assert_eq!(r.code, 0, "{r:?}");
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let delete = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "delete_permission")
        .unwrap();
    assert_eq!(delete["status"], "unknown");
    assert!(delete["help"]
        .as_str()
        .unwrap()
        .contains("Access: Users Write"));
    assert_read_only(&w);
}

#[test]
fn json_says_which_checks_failed() {
    let w = demo_with(token("old-token:disabled"));
    let mut cmd = check_cmd(&w, &["--format", "json"]);
    cmd.env("CLOUDFLARE_API_TOKEN", "old-token");
    let r = run(cmd);
    assert_eq!(r.code, 1, "{r:?}");
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["format_version"], 1);
    assert_eq!(v["ok"], false);
    assert_eq!(v["account_id"], ACCOUNT);
    let status = |name: &str| {
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .map(|c| c["status"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert_eq!(status("token"), "fail", "{v}");
    assert_eq!(status("account"), "fail", "{v}");
    assert_eq!(status("delete_permission"), "unknown", "{v}");
}

#[test]
fn other_traffic_on_the_same_budget_warns() {
    // Someone else (the dashboard, another script) spent part of the token's window before
    // the check: the limit is per user, shared, so apply will meet a smaller budget.
    let w = World::demo();
    for _ in 0..150 {
        assert_eq!(
            raw_get(
                w.sandbox.addr(),
                &format!("/client/v4/accounts/{ACCOUNT}/access/users?per_page=1")
            ),
            200
        );
    }
    let r = run(check_cmd(&w, &[]));
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("other traffic has spent 150 requests"),
        "{r:?}"
    );
}

/// `reconcile check` against a loopback API whose verification answers `result`, and whose
/// one-user listing answers one page of nobody.
fn check_against(result: &'static str) -> Run {
    let url = loopback_api(8, move |line| {
        if line.contains("/tokens/verify") {
            (
                "200 OK",
                format!(r#"{{"success":true,"errors":[],"messages":[],"result":{result}}}"#),
            )
        } else {
            (
                "200 OK",
                r#"{"success":true,"errors":[],"messages":[],"result":[],"result_info":{"page":1,"per_page":1,"count":0,"total_count":0}}"#.into(),
            )
        }
    });
    let mut cmd = bare(&["check", "--account-id", ACCOUNT]);
    cmd.env("CLOUDFLARE_BASE_URL", &url)
        .env("CLOUDFLARE_API_TOKEN", TOKEN);
    run(cmd)
}

#[test]
fn what_the_verification_sends_is_never_printed_raw() {
    // Before, the token id went to the terminal as sent: escape sequences included.
    let r =
        check_against(r#"{"id":"abc\u001b[31mRED\u001b]0;title\u0007\u009b2J","status":"active"}"#);
    assert_eq!(r.code, 0, "{r:?}");
    for c in ['\u{1b}', '\u{7}', '\u{9b}'] {
        assert!(!r.stdout.contains(c), "{c:?} reached the terminal: {r:?}");
    }
    assert!(r.stdout.contains("token abc"), "{r:?}");
}

#[test]
fn an_expiry_that_does_not_read_is_a_warning_not_never() {
    // Before, an `expires_on` that is no timestamp read as "it does not expire" (ok).
    let r = check_against(r#"{"id":"abc","status":"active","expires_on":"next tuesday"}"#);
    assert_eq!(r.code, 0, "{r:?}");
    let line = r
        .stdout
        .lines()
        .find(|l| l.contains(" token "))
        .unwrap_or_else(|| panic!("{r:?}"));
    assert!(line.trim_start().starts_with("warn"), "{line}");
    assert!(line.contains("does not read as a date"), "{line}");
    assert!(!r.stdout.contains("does not expire"), "{r:?}");
}

/// `reconcile check` against a loopback API whose account-route verification answers
/// `account` and whose user-route verification answers `user`.
fn check_verifying(
    account: (&'static str, &'static str),
    user: (&'static str, &'static str),
) -> Run {
    let url = loopback_api(8, move |line| {
        if line.contains("/user/tokens/verify") {
            (user.0, user.1.into())
        } else if line.contains("/tokens/verify") {
            (account.0, account.1.into())
        } else {
            (
                "200 OK",
                r#"{"success":true,"errors":[],"messages":[],"result":[],"result_info":{"page":1,"per_page":1,"count":0,"total_count":0}}"#.into(),
            )
        }
    });
    let mut cmd = bare(&["check", "--account-id", ACCOUNT]);
    cmd.env("CLOUDFLARE_BASE_URL", &url)
        .env("CLOUDFLARE_API_TOKEN", TOKEN);
    run(cmd)
}

const ACTIVE: &str = r#"{"success":true,"errors":[],"messages":[],"result":{"id":"ed17574386854bf78a67040be0a770b0","status":"active"}}"#;

#[test]
fn a_token_the_account_route_refuses_with_a_404_is_verified_at_the_user_route() {
    // What the account route answers a user-owned token is not documented: a 404 "Could not
    // route" is as likely as a 1000. Before, only 401/403/1000 led to the user route, and a
    // valid token failed the check.
    let r = check_verifying(
        (
            "404 Not Found",
            r#"{"success":false,"errors":[{"code":7003,"message":"Could not route to /client/v4/accounts/x/tokens/verify, perhaps your object identifier is invalid?"}],"messages":[],"result":null}"#,
        ),
        ("200 OK", ACTIVE),
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("verified at /user/tokens/verify"),
        "{r:?}"
    );
    // Both refusing: the plainer verdict, "invalid token", is the one reported.
    let r = check_verifying(
        (
            "404 Not Found",
            r#"{"success":false,"errors":[{"code":7003,"message":"Could not route to x, perhaps your object identifier is invalid?"}],"messages":[],"result":null}"#,
        ),
        (
            "401 Unauthorized",
            r#"{"success":false,"errors":[{"code":1000,"message":"Invalid API Token"}],"messages":[],"result":null}"#,
        ),
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("Invalid API Token"), "{r:?}");
    assert!(r.stdout.contains("not a valid API token"), "{r:?}");
}

#[test]
fn an_api_that_cannot_be_reached_says_to_check_the_network() {
    // Before, the account check said only "listing one user failed … run check again".
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/client/v4", closed.local_addr().unwrap());
    drop(closed);
    let mut cmd = bare(&["check", "--account-id", ACCOUNT]);
    cmd.env("CLOUDFLARE_BASE_URL", &url)
        .env("CLOUDFLARE_API_TOKEN", TOKEN);
    let r = run(cmd);
    assert_eq!(r.code, 1, "{r:?}");
    let account = r
        .stdout
        .lines()
        .skip_while(|l| !(l.trim_start().starts_with("fail") && l.contains(" account ")))
        .take(2)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(account.contains("could not be reached"), "{account}");
    assert!(account.contains("check the network"), "{account}");
}
