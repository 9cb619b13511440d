//! Snapshots (insta) of the door in every format: from nothing, one address added, drift with
//! hostile values, a refused door, and the compact layout. Each door plan is the one
//! `plan::door::compute` gives for a small desired state and live door.

use serde_json::json;

use super::*;
use crate::config::{self, Desired};
use crate::date::Date;
use crate::model::door::{LiveDoor, LiveGroup, LiveItem, LiveList, Rule};
use crate::model::LiveUser;

pub(super) const DOOR: &str =
    "door:\n  lists: { name: reconcile-allowlist }\n  group: { name: Allowlisted people }\n";

pub(super) fn uuid(n: usize) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}

pub(super) fn item(value: &str, description: Option<&str>) -> LiveItem {
    LiveItem {
        value: value.into(),
        description: description.map(str::to_string),
    }
}

pub(super) fn list(n: usize, items: Vec<LiveItem>) -> LiveList {
    LiveList {
        id: uuid(n),
        name: format!("reconcile-allowlist-{n}"),
        kind: Some("EMAIL".into()),
        items,
    }
}

/// The users' plan for `yaml` against two live users (one allowed, one extra), with the door's
/// plan against `live`.
pub(super) fn plan_with(yaml: &str, live: &LiveDoor) -> Plan {
    let desired: Desired = config::parse_str(yaml, "users.yaml").unwrap_or_else(|e| panic!("{e}"));
    let users = vec![
        LiveUser {
            id: Some("f174e90a-fafe-4643-bbbc-4a0ed4fc8415".into()),
            email: Some("alice@example.com".into()),
            ..LiveUser::default()
        },
        LiveUser {
            id: Some("2a7c3f0e-5b1d-4d6e-9f8a-1c2b3d4e5f60".into()),
            email: Some("trent@example.com".into()),
            access_seat: Some(true),
            ..LiveUser::default()
        },
    ];
    let policy = crate::plan::Policy::at(&crate::model::AccountId::example(), 1_795_867_200);
    let mut plan = crate::plan::compute(&desired, &users, &policy);
    plan.door = crate::plan::door::compute(&desired, live, Date::parse("2026-12-01").unwrap());
    assert!(plan.door.is_some());
    plan
}

const USERS: &str = "users:\n  - alice@example.com\n  - bob@example.com\n  - email: carol@example.com\n    expires: 2026-11-30\ndomains:\n  - partner.example\n";

pub(super) fn from_nothing() -> Plan {
    plan_with(
        &format!("{USERS}{DOOR}"),
        &LiveDoor {
            account_lists: 7,
            ..LiveDoor::default()
        },
    )
}

/// The group as the door left it: the list and the domain.
fn settled_group() -> LiveGroup {
    LiveGroup {
        id: uuid(100),
        name: "Allowlisted people".into(),
        include: vec![
            Rule::EmailList { id: uuid(1) },
            Rule::EmailDomain {
                domain: "partner.example".into(),
            },
        ],
        exclude: vec![],
        require: vec![json!({"geo": {"country_code": "FR"}})],
    }
}

pub(super) fn one_append() -> Plan {
    let live = LiveDoor {
        lists: vec![list(
            1,
            vec![item("alice@example.com", Some("reconcile: users.yaml:2"))],
        )],
        account_lists: 3,
        groups: vec![settled_group()],
    };
    plan_with(&format!("{USERS}{DOOR}"), &live)
}

pub(super) fn hostile() -> Plan {
    let mut group = settled_group();
    group.include.push(Rule::from_json(json!({"everyone": {}})));
    group.include.push(Rule::from_json(
        json!({"email": {"email": "x\u{1b}[2K@evil.example`<!--"}}),
    ));
    group.include.push(Rule::EmailList { id: uuid(1) });
    let live = LiveDoor {
        lists: vec![
            list(
                1,
                vec![
                    item("alice@example.com", Some("reconcile: users.yaml:2")),
                    item("bob@example.com", Some("reconcile: users.yaml:3")),
                    item("carol@example.com", Some("reconcile: users.yaml:4")),
                    item("mallory@example.com", None),
                    item("dave@example.com", Some("reconcile: old.yaml:9")),
                    item(
                        "eve`x@evil.example",
                        Some("added by `root` <!-- hidden --> \u{1b}[31mred\u{202e}txet"),
                    ),
                    item(
                        "\u{1b}]8;;https://evil.example\u{7}click\u{1b}]8;;\u{7}",
                        None,
                    ),
                    item("<!--@evil.example", Some("|pipe| **bold** @octocat #1")),
                    item("ev\u{202e}e@evil.example", None),
                ],
            ),
            list(
                2,
                vec![item("Alice@Example.com", Some("reconcile: users.yaml:2"))],
            ),
        ],
        account_lists: 3,
        groups: vec![group],
    };
    plan_with(&format!("{USERS}{DOOR}"), &live)
}

pub(super) fn too_many_lists() -> Plan {
    plan_with(
        &format!("{USERS}{DOOR}"),
        &LiveDoor {
            account_lists: 100,
            ..LiveDoor::default()
        },
    )
}

pub(super) fn two_thousand() -> Plan {
    let mut yaml = String::from("users:\n  - alice@example.com\n");
    for n in 0..2_000 {
        yaml.push_str(&format!("  - u{n:05}@example.com\n"));
    }
    yaml.push_str("door:\n  lists: { name: reconcile-allowlist, capacity: 5000 }\n");
    let live = LiveDoor {
        lists: vec![list(
            1,
            vec![
                item("alice@example.com", Some("reconcile: users.yaml:2")),
                item("mallory@example.com", None),
            ],
        )],
        account_lists: 1,
        groups: vec![],
    };
    plan_with(&yaml, &live)
}

fn text(f: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> String {
    let mut out = Vec::new();
    f(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn human_of(plan: &Plan) -> String {
    text(|o| super::plan(plan, Format::Human, o, Palette::PLAIN))
}

fn markdown_of(plan: &Plan) -> String {
    let out = text(|o| super::plan(plan, Format::Markdown, o, Palette { enabled: true }));
    assert!(!out.contains('\x1b'), "never raw");
    out
}

fn json_of(plan: &Plan) -> String {
    let out = text(|o| super::plan(plan, Format::Json, o, Palette { enabled: true }));
    assert!(
        !out.contains('\x1b') && !out.contains('\u{202e}'),
        "never raw"
    );
    let value: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(value["format_version"], 1);
    out
}

macro_rules! formats {
    ($plan:ident, $human:ident, $markdown:ident, $json:ident) => {
        #[test]
        fn $human() {
            insta::assert_snapshot!(human_of(&$plan()));
        }
        #[test]
        fn $markdown() {
            insta::assert_snapshot!(markdown_of(&$plan()));
        }
        #[test]
        fn $json() {
            insta::assert_snapshot!(json_of(&$plan()));
        }
    };
}

formats!(
    from_nothing,
    door_from_nothing_human,
    door_from_nothing_markdown,
    door_from_nothing_json
);
formats!(
    one_append,
    door_one_append_human,
    door_one_append_markdown,
    door_one_append_json
);
formats!(
    hostile,
    door_hostile_human,
    door_hostile_markdown,
    door_hostile_json
);
formats!(
    too_many_lists,
    door_too_many_lists_human,
    door_too_many_lists_markdown,
    door_too_many_lists_json
);

#[test]
fn door_compact_human() {
    // The door's section and the summary lines (the 2,000 absent users are the users' part).
    let text = human_of(&two_thousand());
    let door = &text[..text.find("The following users").unwrap()];
    let end = &text[text.find("Kept:").unwrap()..];
    insta::assert_snapshot!(format!("{door}[…]\n{end}"));
}

#[test]
fn door_compact_markdown_cut() {
    // A small limit, so that the snapshot shows the cut and stays short.
    insta::assert_snapshot!(markdown::to_string(&two_thousand(), 6_000));
}

#[test]
fn door_compact_json_is_complete() {
    let value: serde_json::Value = serde_json::from_str(&json_of(&two_thousand())).unwrap();
    let list = &value["door"]["lists"][0];
    assert_eq!(list["append"].as_array().unwrap().len(), 2_000);
    assert_eq!(list["remove"][0]["reason"]["kind"], "drift");
    assert_eq!(list["size_after"], 2_001);
    let full = markdown::to_string(&two_thousand(), markdown::MAX_BYTES);
    assert!(full.len() <= markdown::MAX_BYTES);
    assert!(full.contains("more changes to the door list `reconcile-allowlist-1` not shown"));
}
