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
