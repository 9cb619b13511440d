//! Transport safety: plain http stays on this machine even when a proxy is configured, and a
//! credential that cannot be sent in an HTTP header is refused before any request, unprinted.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::harness::*;

const ALLOWED: &[&str] = &[
    "alice@example.com",
    "bob.martin@example.com",
    "frank@example.com",
];

#[test]
fn plain_http_to_loopback_never_goes_through_a_proxy() {
    // A loopback "proxy" that counts what reaches it.
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    let proxy = loopback_api(100, move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        ("502 Bad Gateway", "{}".to_string())
    });
    let proxy = proxy.trim_end_matches("/client/v4").to_string();
    let w = World::demo();
    let file = w.allowlist(ALLOWED);
    let mut cmd = w.cmd(&["plan", "--max-retries", "0", "-f", file.to_str().unwrap()]);
    cmd.env("HTTP_PROXY", &proxy)
        .env("http_proxy", &proxy)
        .env("ALL_PROXY", &proxy)
        .env("all_proxy", &proxy);
    let r = run(cmd);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the proxy was used: {r:?}");
    assert_eq!(w.requests(), 1, "the sandbox was asked directly: {r:?}");
}

/// Run `plan` with these credential variables; the run, and the requests the sandbox saw.
fn plan_with(vars: &[(&str, &str)], extra: &[&str]) -> (Run, usize) {
    let w = World::demo();
    let file = w.allowlist(ALLOWED);
    let mut args = extra.to_vec();
    args.extend(["plan", "--max-retries", "0", "-f", file.to_str().unwrap()]);
    let mut cmd = bare(&args);
    cmd.env("CLOUDFLARE_BASE_URL", w.sandbox.base_url());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let r = run(cmd);
    let requests = w.requests();
    (r, requests)
}

#[test]
fn a_token_with_a_newline_is_refused_before_any_request_and_not_printed() {
    let (r, requests) = plan_with(&[("CLOUDFLARE_API_TOKEN", "Zq8Xb\nK2vSECRET")], &[]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(requests, 0, "{r:?}");
    assert!(r.stderr.contains("CLOUDFLARE_API_TOKEN"), "{r:?}");
    assert!(
        r.stderr.contains("cannot be sent in an HTTP header"),
        "{r:?}"
    );
    for part in ["Zq8Xb", "K2vSECRET"] {
        assert!(
            !r.stderr.contains(part) && !r.stdout.contains(part),
            "{r:?}"
        );
    }
}

#[test]
fn an_api_key_or_email_with_a_control_byte_is_refused_before_any_request() {
    for (vars, name) in [
        (
            [
                ("CLOUDFLARE_EMAIL", "sandbox@example.com"),
                ("CLOUDFLARE_API_KEY", "sandbox\u{7}KEYSECRET"),
            ],
            "CLOUDFLARE_API_KEY",
        ),
        (
            [
                ("CLOUDFLARE_EMAIL", "sandbox@exa\rmple.com"),
                ("CLOUDFLARE_API_KEY", "KEYSECRET"),
            ],
            "CLOUDFLARE_EMAIL",
        ),
    ] {
        let (r, requests) = plan_with(&vars, &[]);
        assert_eq!(r.code, 1, "{r:?}");
        assert_eq!(requests, 0, "nothing may be sent: {r:?}");
        assert!(r.stderr.contains(name), "{r:?}");
        assert!(
            r.stderr.contains("cannot be sent in an HTTP header"),
            "{r:?}"
        );
        assert!(!r.stderr.contains("KEYSECRET"), "{r:?}");
    }
}

#[test]
fn a_token_file_with_a_bad_byte_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token");
    std::fs::write(&path, "abc\u{1}TOKSECRET\n").unwrap();
    let (r, requests) = plan_with(&[], &["--api-token-file", path.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(requests, 0, "{r:?}");
    assert!(r.stderr.contains(path.to_str().unwrap()), "{r:?}");
    assert!(
        r.stderr.contains("cannot be sent in an HTTP header"),
        "{r:?}"
    );
    assert!(!r.stderr.contains("TOKSECRET"), "{r:?}");
}
