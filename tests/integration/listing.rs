//! Listing an account that changes, or an API whose pages do not add up: no user may be missed
//! silently. Each case is made by a sandbox fault; each test checks who is still live and which
//! requests were sent, not only what was printed.

use crate::harness::seven::*;
use crate::harness::*;
use reconcile::sandbox::Faults;

#[test]
fn a_user_shifted_onto_a_page_already_read_is_found_by_listing_again() {
    // After page 1 is read, `first` is removed and a user added at the end: carol moves from
    // page 2 to page 1, which was read already. The total stays 7.
    let w = world(Faults {
        shift: 1,
        ..Faults::default()
    });
    let r = apply(&w);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("page 1 changed"), "{r:?}");
    assert!(r.stderr.contains("listing again"), "{r:?}");
    let live = w.live_emails();
    assert!(
        !live.contains(&"carol@example.com".to_string()),
        "carol was missed by the listing and kept: {r:?}"
    );
    assert_eq!(
        live,
        ["alice@example.com", "bob@example.com", "frank@example.com"],
        "{r:?}"
    );
    assert!(page_requests(&w, 1) >= 3, "page 1 was read again: {r:?}");
}

#[test]
fn an_account_that_keeps_shifting_is_refused_and_nothing_is_deleted() {
    let w = world(Faults {
        shift: u32::MAX,
        ..Faults::default()
    });
    let r = apply(&w);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("the user listing is inconsistent"),
        "{r:?}"
    );
    assert!(r.stderr.contains("page 1 changed"), "{r:?}");
    assert_eq!(w.deletes(), 0, "{r:?}");
}

#[test]
fn an_empty_or_null_page_within_total_pages_without_total_count_is_inconsistent() {
    for null in [false, true] {
        // Seven users are three pages; the API says four and gives no count: page 4 is empty.
        let w = world(Faults {
            total_pages: Some(4),
            no_total_count: true,
            null_empty_pages: null,
            ..Faults::default()
        });
        let r = apply(&w);
        assert_eq!(r.code, 1, "null {null}: {r:?}");
        assert!(
            r.stderr.contains("the user listing is inconsistent"),
            "{r:?}"
        );
        assert!(r.stderr.contains("page 4 of 4 was empty"), "{r:?}");
        assert_eq!(w.deletes(), 0, "null {null}: {r:?}");
        assert_eq!(w.live_emails().len(), 7, "{r:?}");
    }
}

#[test]
fn without_total_count_a_listing_that_adds_up_still_works() {
    let w = world(Faults {
        no_total_count: true,
        null_empty_pages: true,
        ..Faults::default()
    });
    let r = apply(&w);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        w.live_emails(),
        ["alice@example.com", "bob@example.com", "frank@example.com"],
        "{r:?}"
    );
}

#[test]
fn a_huge_total_pages_ends_when_total_count_is_reached() {
    let w = world(Faults {
        total_pages: Some(1_000_000_000),
        ..Faults::default()
    });
    let file = w.permissive_allowlist(ALLOWED);
    let r = w.run(&["plan", "-f", file.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("Plan: 4 to delete"), "{r:?}");
    // Three pages hold the seven users, and page 1 is read once more to check nothing moved:
    // nothing past page 3 is asked for.
    assert_eq!(w.requests(), 4, "{r:?}");
    assert_eq!(page_requests(&w, 4), 0, "{r:?}");
}

/// `GET path` with the sandbox's default token; the body.
fn get_body(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer sandbox-token\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap()
}

#[test]
fn the_sandbox_command_exposes_the_listing_faults() {
    use std::io::{BufRead, BufReader};
    let mut child = bare(&[
        "sandbox",
        "--generate",
        "5",
        "--listen",
        "127.0.0.1:0",
        "--max-per-page",
        "2",
        "--shift",
        "--no-total-count",
        "--total-pages",
        "9",
        "--null-empty-pages",
    ])
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::null())
    .spawn()
    .unwrap();
    let mut url = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    let url = url.trim().to_string();
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches("/client/v4")
        .to_string();
    let users = format!(
        "/client/v4/accounts/{}/access/users",
        reconcile::sandbox::DEFAULT_ACCOUNT_ID
    );
    let page1 = get_body(&addr, &format!("{users}?page=1"));
    let again = get_body(&addr, &format!("{users}?page=1"));
    let empty = get_body(&addr, &format!("{users}?page=7"));
    let _ = child.kill();
    let _ = child.wait();
    let v: serde_json::Value = serde_json::from_str(&page1).unwrap();
    assert_eq!(v["result_info"]["total_pages"], 9, "{page1}");
    assert!(v["result_info"].get("total_count").is_none(), "{page1}");
    assert_ne!(page1, again, "page 1 shifted after it was served");
    let v: serde_json::Value = serde_json::from_str(&empty).unwrap();
    assert!(v["result"].is_null(), "{empty}");
}

/// A scripted API without totals, three users a page: users 1..=7 (`u{n}@example.com`) until
/// page 2 has been answered once, then user 5 is gone (someone deleted it). The first read
/// sees [1 2 3] [4 5 6] [] and never user 7, who moved from page 3 onto page 2 after page 2
/// was read; page 1 is the same before and after, so reading it again sees nothing.
fn removal_after_page_1() -> String {
    use std::sync::atomic::{AtomicBool, Ordering};
    let removed = AtomicBool::new(false);
    loopback_api(100, move |line| {
        let page: usize = line
            .split(['?', '&', ' '])
            .find_map(|p| p.strip_prefix("page="))
            .and_then(|p| p.parse().ok())
            .unwrap_or(1);
        let users: Vec<u32> = if removed.load(Ordering::SeqCst) {
            vec![1, 2, 3, 4, 6, 7]
        } else {
            (1..=7).collect()
        };
        let on_page: Vec<String> = users
            .iter()
            .skip((page - 1) * 3)
            .take(3)
            .map(|n| {
                format!(r#"{{"id":"00000000-0000-4000-8000-{n:012}","email":"u{n}@example.com"}}"#)
            })
            .collect();
        if page == 2 {
            removed.store(true, Ordering::SeqCst);
        }
        let body = format!(
            r#"{{"success":true,"errors":[],"messages":[],"result":[{}],"result_info":{{"page":{page},"per_page":3,"count":{}}}}}"#,
            on_page.join(","),
            on_page.len()
        );
        ("200 OK", body)
    })
}

#[test]
fn without_total_count_a_user_moved_onto_a_page_already_read_is_found_by_the_second_read() {
    let url = removal_after_page_1();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users.yaml");
    std::fs::write(
        &file,
        format!(
            "account_id: {ACCOUNT}\npolicy:\n  max_delete_fraction: 1\nusers:\n  - u1@example.com\n  - u2@example.com\n  - u3@example.com\n"
        ),
    )
    .unwrap();
    let mut cmd = bare(&["plan", "-f", file.to_str().unwrap()]);
    cmd.env("CLOUDFLARE_BASE_URL", &url)
        .env("CLOUDFLARE_API_TOKEN", TOKEN);
    let r = run(cmd);
    assert_eq!(r.code, 0, "{r:?}");
    // The two reads differed (user 7 only in the second), so the listing was read again, and
    // user 7, an extra, is in the plan rather than silently kept.
    assert!(r.stderr.contains("read twice"), "{r:?}");
    assert!(r.stderr.contains("listing again"), "{r:?}");
    assert!(r.stdout.contains("Plan: 3 to delete"), "{r:?}");
    assert!(r.stdout.contains("u7@example.com"), "{r:?}");
    assert!(!r.stdout.contains("u5@example.com"), "{r:?}");
}
