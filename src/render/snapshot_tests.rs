//! Snapshots (insta) of every output format for one fixed plan, and of the saved-plan report.
//! Review changes with `cargo insta review`; CI never writes snapshots.

use super::*;
use crate::apply::{Outcome, Report, UserResult};
use crate::config;
use crate::model::LiveUser;
use crate::plan::compute;
use crate::planfile::{self, SavedPlan};

const ACCOUNT: &str = "023e105f4ecef8ad9ca31a8372d0c353";

fn user(id: &str, email: Option<&str>, name: Option<&str>) -> LiveUser {
    LiveUser {
        id: Some(id.into()),
        email: email.map(str::to_string),
        name: name.map(str::to_string),
        ..LiveUser::default()
    }
}

/// Allowed, extra, held (no email, bad id) and absent users, and a hostile name.
pub(super) fn fixture() -> (config::Desired, Vec<LiveUser>, Plan) {
    let desired = config::parse_str(
        &format!(
            "account_id: {ACCOUNT}\nusers:\n  - alice@example.com\n  - Bob.Martin@example.com\n  - grace@example.com\ndomains:\n  - partner.example\nprotected:\n  - breakglass@example.com\n"
        ),
        "desired/users.yaml",
    )
    .unwrap();
    let mut carol = user(
        "5d6e7f80-91a2-4b3c-8d4e-5f60718293a4",
        Some("carol@example.com"),
        Some("Carol Diaz"),
    );
    carol.access_seat = Some(true);
    carol.gateway_seat = Some(true);
    carol.active_device_count = Some(3.0);
    carol.last_successful_login = Some("2026-09-29T11:02:00Z".into());
    let mut mallory = user(
        "0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5",
        Some("mallory_x@evil.example"),
        Some("| <img src=x onerror=alert(1)> **@octocat** [click](https://evil.example) #1 |"),
    );
    mallory.gateway_seat = Some(true);
    mallory.access_seat = Some(false);
    mallory.active_device_count = Some(0.0);
    let live = vec![
        user(
            "f174e90a-fafe-4643-bbbc-4a0ed4fc8415",
            Some("alice@example.com"),
            Some("Alice Ng"),
        ),
        user(
            "2a7c3f0e-5b1d-4d6e-9f8a-1c2b3d4e5f60",
            Some("bob.martin@Example.com"),
            None,
        ),
        carol,
        mallory,
        user("6a7b8c9d-0e1f-4a2b-8c3d-4e5f60718293", None, None),
        user("not-a-uuid", Some("trent@example.com"), None),
    ];
    let plan = compute(
        &desired,
        &live,
        &crate::plan::Policy::at(&crate::model::AccountId::example(), 1_795_867_200),
    );
    (desired, live, plan)
}

fn text(f: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> String {
    let mut out = Vec::new();
    f(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn human_format() {
    let (_, _, plan) = fixture();
    insta::assert_snapshot!(text(|o| super::plan(
        &plan,
        Format::Human,
        o,
        Palette::PLAIN
    )));
}

#[test]
fn json_format() {
    let (_, _, plan) = fixture();
    let out = text(|o| super::plan(&plan, Format::Json, o, Palette { enabled: true }));
    assert!(!out.contains('\x1b'), "never coloured");
    let value: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(value["format_version"], 1);
    insta::assert_snapshot!(out);
}

#[test]
fn markdown_format() {
    let (_, _, plan) = fixture();
    let out = text(|o| super::plan(&plan, Format::Markdown, o, Palette { enabled: true }));
    assert!(!out.contains('\x1b'), "never coloured");
    insta::assert_snapshot!(out);
}

#[test]
fn markdown_without_changes() {
    let (desired, live, _) = fixture();
    let allowed: Vec<LiveUser> = live.into_iter().take(2).collect();
    let plan = compute(
        &desired,
        &allowed,
        &crate::plan::Policy::at(&crate::model::AccountId::example(), 1_795_867_200),
    );
    insta::assert_snapshot!(text(|o| markdown::render(&plan, o)));
}

#[test]
fn saved_plan_file() {
    let (desired, _live, plan) = fixture();
    let mut saved = SavedPlan::new(&desired, &plan, 1_795_000_000, planfile::DEFAULT_TTL);
    saved.tool_version = "0.0.0-snapshot".into();
    insta::assert_snapshot!(saved.to_json());
}

#[test]
fn saved_report_format() {
    let (desired, live, plan) = fixture();
    let saved = SavedPlan::new(&desired, &plan, 1_795_000_000, planfile::DEFAULT_TTL);
    // Since the plan: mallory left; dave arrived.
    let mut now: Vec<LiveUser> = live
        .iter()
        .filter(|u| u.email.as_deref() != Some("mallory_x@evil.example"))
        .cloned()
        .collect();
    now.push(user(
        "8f9a0b1c-2d3e-4f50-a617-28394a5b6c7d",
        Some("dave@example.com"),
        None,
    ));
    let fresh = compute(
        &desired,
        &now,
        &crate::plan::Policy::at(&crate::model::AccountId::example(), 1_795_867_200),
    );
    let check = planfile::check(&saved, &fresh).unwrap();
    let (confirmed, unapplied) = check.recheck.split();
    let report = Report {
        results: confirmed
            .iter()
            .map(|c| UserResult {
                decision: c.decision().clone(),
                outcome: Outcome::Deleted,
            })
            .collect(),
    };
    insta::assert_snapshot!(text(|o| saved_report(
        "plan.json",
        &saved,
        &unapplied,
        &report,
        report.is_complete(),
        o,
        Palette::PLAIN
    )));
}

/// The fixture with a history: carol (to delete) and trent (held) came back under new ids,
/// carol after logging in again; mallory's own id is recorded as deleted.
pub(super) fn with_history() -> Plan {
    use crate::model::{Email, UserId};
    use crate::plan::returned::{self, History, PastDeletion};
    let (_, _, mut plan) = fixture();
    let past = |email: &str, id: &str, time: &str, answer_lost: bool| PastDeletion {
        email: Email::parse(email).unwrap(),
        user_id: UserId::parse(id).unwrap(),
        time: time.into(),
        at: crate::date::parse_timestamp(time).unwrap(),
        run: "3f2a9c1d0b7e4a61".into(),
        answer_lost,
    };
    let history = History {
        deletions: vec![
            past(
                "carol@example.com",
                "11111111-2222-4333-8444-555555555555",
                "2026-09-03T10:31:27.831Z",
                false,
            ),
            past(
                "trent@example.com",
                "66666666-7777-4888-9999-aaaaaaaaaaaa",
                "2026-11-03T10:31:27.831Z",
                true,
            ),
            past(
                "mallory_x@evil.example",
                "0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5",
                "2026-11-03T10:31:27.831Z",
                false,
            ),
        ],
        files: 1,
        records: 5,
    };
    plan.reentry = Some(returned::mark(&plan, &history));
    plan
}

#[test]
fn human_format_with_returned_users() {
    let plan = with_history();
    insta::assert_snapshot!(text(|o| super::plan(
        &plan,
        Format::Human,
        o,
        Palette::PLAIN
    )));
}

#[test]
fn json_format_with_returned_users() {
    let plan = with_history();
    let out = text(|o| super::plan(&plan, Format::Json, o, Palette::PLAIN));
    let value: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(value["format_version"], 1);
    assert_eq!(value["counts"]["returned"], 2);
    insta::assert_snapshot!(out);
}

#[test]
fn markdown_format_with_returned_users() {
    let plan = with_history();
    insta::assert_snapshot!(text(|o| super::plan(
        &plan,
        Format::Markdown,
        o,
        Palette::PLAIN
    )));
}
