//! `reconcile check` and `reconcile explain` with a `door:` section (docs/door.md, "Check and
//! export"): check reads the door's lists, their items and the group with GETs only, fails when
//! the credentials may not read them, and says that the write permission cannot be checked
//! without writing; explain takes the section and says plan shows the door.
#![allow(clippy::unwrap_used)]

use reconcile::sandbox::{Options, Seed, TokenSpec};
use serde_json::Value;

use crate::harness::*;

/// The demo seed with one door list (two entries) and the door's group.
fn seeded(tokens: Vec<TokenSpec>) -> World {
    let text = format!(
        "{DEMO_SEED}lists:\n  - id: {LIST_1}\n    name: reconcile-allowlist-1\n    type: EMAIL\n    items: [alice@example.com, carol@example.com]\n  - name: someone-elses\n    type: EMAIL\ngroups:\n  - name: Allowlisted people\n    include:\n      - email_list: {{id: {LIST_1}}}\n"
    );
    let seed = Seed::from_str(&text, "seed.yaml").unwrap();
    if tokens.is_empty() {
        World::with_seed(seed)
    } else {
        World::with_options(
            seed,
            Options {
                tokens,
                ..Options::default()
            },
        )
    }
}

fn door_file(w: &World) -> String {
    let text = format!(
        "account_id: {ACCOUNT}\nusers:\n  - alice@example.com\n  - carol@example.com\ndoor:\n  lists:\n    name: reconcile-allowlist\n  group:\n    name: Allowlisted people\n"
    );
    w.file("door.yaml", &text).to_str().unwrap().to_string()
}

/// The check as JSON, with `token` as the credentials.
fn check_json(w: &World, file: &str, token: &str) -> (Run, Value) {
    let mut cmd = w.cmd(&["check", "--format", "json", "-f", file]);
    cmd.env("CLOUDFLARE_API_TOKEN", token);
    let r = run(cmd);
    let v: Value = serde_json::from_str(&r.stdout).unwrap_or(Value::Null);
    (r, v)
}

fn named<'v>(v: &'v Value, name: &str) -> &'v Value {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name}: {v}"))
}

/// Nothing was written: no door write, no DELETE, every request a GET, the door as seeded.
fn assert_nothing_changed(w: &World, lists_before: &[Value], groups_before: &[Value]) {
    assert!(w.door_writes().is_empty(), "{:?}", w.door_writes());
    assert_eq!(w.deletes(), 0);
    assert_eq!(w.gets(), w.requests());
    assert_eq!(w.sandbox.sandbox().lists(), lists_before);
    assert_eq!(w.sandbox.sandbox().groups(), groups_before);
    assert_eq!(w.live_emails().len(), 7);
}

#[test]
fn door_check_with_a_full_token_reads_the_lists_items_and_group_and_passes() {
    let w = seeded(Vec::new());
    let (lists, groups) = (w.sandbox.sandbox().lists(), w.sandbox.sandbox().groups());
    let file = door_file(&w);
    let (r, v) = check_json(&w, &file, TOKEN);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(v["ok"], true, "{v}");
    let door_lists = named(&v, "door_lists");
    assert_eq!(door_lists["status"], "ok", "{v}");
    let detail = door_lists["detail"].as_str().unwrap();
    assert!(
        detail.contains("the account holds 2 lists, 1 of them the door's"),
        "{detail}"
    );
    assert!(detail.contains("(2 entries)"), "{detail}");
    let group = named(&v, "door_group");
    assert_eq!(group["status"], "ok", "{v}");
    assert!(
        group["detail"]
            .as_str()
            .unwrap()
            .contains("\"Allowlisted people\" was read"),
        "{v}"
    );
    let write = named(&v, "door_write");
    assert_eq!(write["status"], "unknown", "{v}");
    let help = write["help"].as_str().unwrap();
    assert!(help.contains("Zero Trust Write"), "{help}");
    assert!(
        help.contains("Access: Organizations, Identity Providers, and Groups Write"),
        "{help}"
    );
    // The sandbox saw the door's reads: the lists, the door list's items (not the other
    // list's), the groups.
    let paths: Vec<String> = w
        .sandbox
        .sandbox()
        .requests()
        .iter()
        .map(|q| q.path.clone())
        .collect();
    assert!(
        paths.iter().any(|p| p.ends_with("/gateway/lists")),
        "{paths:?}"
    );
    assert!(
        paths
            .iter()
            .any(|p| p.ends_with(&format!("/gateway/lists/{LIST_1}/items"))),
        "{paths:?}"
    );
    assert_eq!(
        paths.iter().filter(|p| p.ends_with("/items")).count(),
        1,
        "{paths:?}"
    );
    assert!(
        paths.iter().any(|p| p.ends_with("/access/groups")),
        "{paths:?}"
    );
    assert_nothing_changed(&w, &lists, &groups);
    // The human report words the same lines.
    let r = w.run(&["check", "-f", &file]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("door_write"), "{r:?}");
    assert!(
        r.stdout.contains("cannot be checked without changing them"),
        "{r:?}"
    );
}

#[test]
fn door_check_with_a_read_token_passes_the_reads_and_reports_the_write_unknown() {
    let w = seeded(vec![TokenSpec::parse("viewer:read", 0).unwrap()]);
    let (lists, groups) = (w.sandbox.sandbox().lists(), w.sandbox.sandbox().groups());
    let file = door_file(&w);
    let (r, v) = check_json(&w, &file, "viewer");
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(named(&v, "door_lists")["status"], "ok", "{v}");
    assert_eq!(named(&v, "door_group")["status"], "ok", "{v}");
    // Not verifiable without writing: reported as such, with the permission to grant, and no
    // write was tried to find out.
    let write = named(&v, "door_write");
    assert_eq!(write["status"], "unknown", "{v}");
    assert!(
        write["help"].as_str().unwrap().contains("Zero Trust Write"),
        "{v}"
    );
    assert_nothing_changed(&w, &lists, &groups);
}

#[test]
fn door_check_with_a_no_door_token_fails_the_reads_and_says_what_to_grant() {
    let w = seeded(vec![TokenSpec::parse("users-only:no-door", 0).unwrap()]);
    let (lists, groups) = (w.sandbox.sandbox().lists(), w.sandbox.sandbox().groups());
    let file = door_file(&w);
    let (r, v) = check_json(&w, &file, "users-only");
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(v["ok"], false, "{v}");
    // The users' checks still pass: only the door's reads fail.
    assert_eq!(named(&v, "account")["status"], "ok", "{v}");
    let door_lists = named(&v, "door_lists");
    assert_eq!(door_lists["status"], "fail", "{v}");
    assert!(
        door_lists["detail"]
            .as_str()
            .unwrap()
            .contains("/gateway/lists"),
        "{v}"
    );
    assert!(
        door_lists["help"]
            .as_str()
            .unwrap()
            .contains("Zero Trust Read"),
        "{v}"
    );
    let group = named(&v, "door_group");
    assert_eq!(group["status"], "fail", "{v}");
    assert!(
        group["help"].as_str().unwrap().contains("Groups Read"),
        "{v}"
    );
    assert!(r.stderr.contains("check(s) failed"), "{r:?}");
    assert_nothing_changed(&w, &lists, &groups);
}

#[test]
fn door_check_without_a_door_section_has_no_door_lines_and_sends_no_door_request() {
    let w = seeded(Vec::new());
    let file = w.allowlist(&["alice@example.com"]);
    let (r, v) = check_json(&w, file.to_str().unwrap(), TOKEN);
    assert_eq!(r.code, 0, "{r:?}");
    let names: Vec<&str> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(names.iter().all(|n| !n.starts_with("door")), "{names:?}");
    let requests = w.sandbox.sandbox().requests();
    assert!(
        requests
            .iter()
            .all(|q| !q.path.contains("/gateway/") && !q.path.contains("/access/groups")),
        "{requests:?}"
    );
}

#[test]
fn door_explain_takes_the_section_and_says_plan_shows_the_door() {
    let w = seeded(Vec::new());
    let (lists, groups) = (w.sandbox.sandbox().lists(), w.sandbox.sandbox().groups());
    let file = door_file(&w);
    let r = w.run(&["explain", "carol@example.com", "-f", &file]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("carol@example.com"), "{r:?}");
    assert!(
        r.stderr.contains(&format!(
            "{file}:5:1: the `door:` section is not explained here"
        )),
        "{r:?}"
    );
    assert!(
        r.stderr.contains("`reconcile plan` shows the door's plan"),
        "{r:?}"
    );
    // explain does not read the door: no lists or groups request, nothing written.
    let requests = w.sandbox.sandbox().requests();
    assert!(
        requests
            .iter()
            .all(|q| !q.path.contains("/gateway/") && !q.path.contains("/access/groups")),
        "{requests:?}"
    );
    assert_nothing_changed(&w, &lists, &groups);
}

#[test]
fn door_check_fails_a_door_plan_would_refuse_and_says_why() {
    // A list by id that the account does not hold, and a door list that is not of type EMAIL.
    let text = format!(
        "{DEMO_SEED}lists:\n  - id: {LIST_1}\n    name: reconcile-allowlist-1\n    type: URL\n"
    );
    let w = World::with_seed(Seed::from_str(&text, "seed.yaml").unwrap());
    let (lists, groups) = (w.sandbox.sandbox().lists(), w.sandbox.sandbox().groups());
    let missing = "3f1c1bd2-2c4a-4b7e-9a51-2b0c8c7f6d10";
    for (door, words) in [
        (
            format!("  lists: {{ ids: [{missing}] }}\n"),
            format!("no list of the account has the id {missing}"),
        ),
        (
            "  lists: { name: reconcile-allowlist }\n".to_string(),
            "reconcile-allowlist-1".to_string(),
        ),
    ] {
        let file = w.file(
            "door.yaml",
            &format!("account_id: {ACCOUNT}\nusers:\n  - alice@example.com\ndoor:\n{door}"),
        );
        let (r, v) = check_json(&w, file.to_str().unwrap(), TOKEN);
        assert_eq!(r.code, 1, "{r:?}");
        let refused = named(&v, "door_plan");
        assert_eq!(refused["status"], "fail", "{v}");
        let detail = refused["detail"].as_str().unwrap();
        assert!(detail.contains("would refuse its plan"), "{detail}");
        assert!(detail.contains(&words), "{detail}");
        assert_eq!(named(&v, "door_lists")["status"], "ok", "{v}");
    }
    assert_nothing_changed(&w, &lists, &groups);
}

#[test]
fn door_check_fails_a_group_id_that_names_nothing_once() {
    let w = seeded(Vec::new());
    let missing = "5d2c6f0e-8a3b-4c1d-9e7f-0a1b2c3d4e5f";
    let file = w.file(
        "door.yaml",
        &format!(
            "account_id: {ACCOUNT}\nusers:\n  - alice@example.com\ndoor:\n  lists: {{ name: reconcile-allowlist }}\n  group: {{ id: {missing} }}\n"
        ),
    );
    let (r, v) = check_json(&w, file.to_str().unwrap(), TOKEN);
    assert_eq!(r.code, 1, "{r:?}");
    let group = named(&v, "door_group");
    assert_eq!(group["status"], "fail", "{v}");
    assert!(group["detail"].as_str().unwrap().contains(missing), "{v}");
    assert!(
        group["help"].as_str().unwrap().contains("door.group.id"),
        "{v}"
    );
    // Said once: not again as a refused plan.
    let failed: Vec<&Value> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .collect();
    assert_eq!(failed.len(), 1, "{v}");
    let paths: Vec<String> = w
        .sandbox
        .sandbox()
        .requests()
        .iter()
        .map(|q| q.path.clone())
        .collect();
    assert!(
        paths
            .iter()
            .any(|p| p.ends_with(&format!("/access/groups/{missing}"))),
        "{paths:?}"
    );
    assert!(w.door_writes().is_empty());
}

/// The requests for the token's details (`…/tokens/{id}`, not the verifications), with their
/// answers' statuses.
fn details_requests(w: &World) -> Vec<(String, String, u16)> {
    w.sandbox
        .sandbox()
        .requests()
        .iter()
        .filter(|q| q.path.contains("/tokens/") && !q.path.ends_with("/tokens/verify"))
        .map(|q| (q.method.clone(), q.path.clone(), q.status))
        .collect()
}

#[test]
fn door_check_with_a_full_token_that_reads_its_details_passes_door_write() {
    let w = seeded(vec![TokenSpec::parse("admin:token-read", 0).unwrap()]);
    let (lists, groups) = (w.sandbox.sandbox().lists(), w.sandbox.sandbox().groups());
    let file = door_file(&w);
    let (r, v) = check_json(&w, &file, "admin");
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(v["ok"], true, "{v}");
    let write = named(&v, "door_write");
    assert_eq!(write["status"], "ok", "{v}");
    let detail = write["detail"].as_str().unwrap();
    assert!(detail.contains("Zero Trust Write"), "{detail}");
    assert!(
        detail.contains("Access: Organizations, Identity Providers, and Groups Write"),
        "{detail}"
    );
    // The details were read once, at the account route verify answered at, with the id
    // verify gave.
    let token_id = named(&v, "token")["detail"]
        .as_str()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    assert_eq!(
        details_requests(&w),
        vec![(
            "GET".to_string(),
            format!("/client/v4/accounts/{ACCOUNT}/tokens/{token_id}"),
            200
        )]
    );
    assert_nothing_changed(&w, &lists, &groups);
    // The human report says so too, and never prints the token.
    let mut cmd = w.cmd(&["check", "-f", &file]);
    cmd.env("CLOUDFLARE_API_TOKEN", "admin");
    let r = run(cmd);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout
            .contains("grant what changing the door's lists and group needs"),
        "{r:?}"
    );
}

#[test]
fn door_check_with_a_read_token_that_reads_its_details_fails_door_write_naming_the_permission() {
    let w = seeded(vec![TokenSpec::parse("viewer:read,token-read", 0).unwrap()]);
    let (lists, groups) = (w.sandbox.sandbox().lists(), w.sandbox.sandbox().groups());
    let file = door_file(&w);
    let (r, v) = check_json(&w, &file, "viewer");
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(v["ok"], false, "{v}");
    // The reads pass; only the write fails.
    assert_eq!(named(&v, "door_lists")["status"], "ok", "{v}");
    assert_eq!(named(&v, "door_group")["status"], "ok", "{v}");
    let write = named(&v, "door_write");
    assert_eq!(write["status"], "fail", "{v}");
    let detail = write["detail"].as_str().unwrap();
    assert!(detail.contains("do not grant Zero Trust Write"), "{detail}");
    assert!(
        detail.contains("Access: Organizations, Identity Providers, and Groups Write"),
        "{detail}"
    );
    let help = write["help"].as_str().unwrap();
    assert!(help.contains("grant the token Zero Trust Write"), "{help}");
    let failed: Vec<&Value> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .collect();
    assert_eq!(failed.len(), 1, "{v}");
    let details = details_requests(&w);
    assert_eq!(details.len(), 1, "{details:?}");
    assert_eq!((details[0].0.as_str(), details[0].2), ("GET", 200));
    assert!(r.stderr.contains("check(s) failed"), "{r:?}");
    assert_nothing_changed(&w, &lists, &groups);
}

#[test]
fn door_check_whose_token_may_not_read_its_details_keeps_door_write_unknown() {
    for (spec, token) in [("admin", "admin"), ("viewer:read", "viewer")] {
        let w = seeded(vec![TokenSpec::parse(spec, 0).unwrap()]);
        let (lists, groups) = (w.sandbox.sandbox().lists(), w.sandbox.sandbox().groups());
        let file = door_file(&w);
        let (r, v) = check_json(&w, &file, token);
        // Unreadable details never fail the check.
        assert_eq!(r.code, 0, "{spec}: {r:?}");
        assert_eq!(v["ok"], true, "{v}");
        let write = named(&v, "door_write");
        assert_eq!(write["status"], "unknown", "{v}");
        assert!(
            write["detail"]
                .as_str()
                .unwrap()
                .contains("its details were refused"),
            "{v}"
        );
        let help = write["help"].as_str().unwrap();
        assert!(help.contains("Zero Trust Write"), "{help}");
        assert!(
            help.contains("granting the token Account API Tokens Read")
                && help.contains("lets check verify it"),
            "{help}"
        );
        // The details were asked for once, and refused.
        let details = details_requests(&w);
        assert_eq!(details.len(), 1, "{details:?}");
        assert_eq!((details[0].0.as_str(), details[0].2), ("GET", 403));
        assert_nothing_changed(&w, &lists, &groups);
    }
}
