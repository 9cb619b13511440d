//! The door's group, and what refuses the door's plan before anything is sent.

use serde_json::json;

use super::tests::{addresses, desired, list, plan, uuid, with_users, NAMED};
use super::*;
use crate::model::door::{LiveGroup, Rule};

#[test]
fn drift_rules_leave_the_group_and_the_rest_is_kept() {
    let d = desired(&format!("users: [a@x.co]\ndomains: [x.co, y.co]\n{NAMED}"));
    let group = LiveGroup {
        id: uuid(900).to_uppercase(),
        name: "People".into(),
        include: vec![
            Rule::from_json(json!({"everyone": {}})),
            Rule::EmailDomain {
                domain: "X.CO".into(),
            },
            Rule::EmailList { id: uuid(1) },
            Rule::EmailList { id: uuid(1) },
            Rule::EmailList { id: uuid(7) },
            Rule::EmailDomain {
                domain: "z.co".into(),
            },
        ],
        exclude: vec![json!({"email": {"email": "no@x.co"}})],
        require: vec![json!({"geo": {"country_code": "FR"}})],
    };
    let live = LiveDoor {
        lists: vec![list(1, "allow-1", &["a@x.co"])],
        account_lists: 1,
        groups: vec![group.clone()],
    };
    let p = plan(&d, &live);
    let g = p.group.unwrap();
    assert_eq!(
        g.target,
        GroupTarget::Existing {
            id: DoorId::parse(&uuid(900)).unwrap(),
            name: "People".into()
        }
    );
    let kinds: Vec<&str> = g
        .remove
        .iter()
        .map(|r| match r {
            RuleRemoval::Drift(_) => "drift",
            RuleRemoval::Duplicate(_) => "duplicate",
        })
        .collect();
    assert_eq!(kinds, ["drift", "duplicate", "drift", "drift"]);
    assert_eq!(g.add.len(), 1);
    assert!(matches!(&g.add[0], DoorRule::EmailDomain { domain, .. } if domain.as_str() == "y.co"));
    assert_eq!(g.include.len(), 3);
    assert_eq!((g.exclude, g.require), (group.exclude, group.require));
    assert!(p.lists.iter().all(|l| !l.has_changes()));
}

#[test]
fn refusals_before_anything_is_sent() {
    let users = addresses(1500);
    // 99 other lists: a second door list would be the 101st.
    let mut live = LiveDoor {
        lists: vec![list(1, "allow-1", &[])],
        account_lists: 100,
        groups: vec![],
    };
    let p = plan(&with_users(&users, NAMED), &live);
    assert_eq!(
        p.errors,
        [DoorError::TooManyLists {
            create: 1,
            account_lists: 100
        }]
    );
    live.account_lists = 99;
    assert!(plan(&with_users(&users, NAMED), &live).errors.is_empty());

    let ids = format!("door:\n  lists: {{ ids: [{}] }}\n", uuid(1));
    let p = plan(&with_users(&users, &ids), &live);
    assert_eq!(
        p.errors,
        [DoorError::TooFewIds {
            needed: 2,
            given: 1
        }]
    );
    assert_eq!(p.lists.len(), 1);
    let p = plan(
        &with_users(
            &users,
            &format!("door:\n  lists: {{ ids: [{}] }}\n", uuid(5)),
        ),
        &live,
    );
    assert_eq!(p.errors[0].kind(), "list_not_found");

    let mut ip = list(1, "allow-1", &[]);
    ip.kind = Some("IP".into());
    let twice = LiveDoor {
        lists: vec![ip, list(2, "allow-2", &[]), list(3, "allow-2", &[])],
        account_lists: 3,
        groups: vec![],
    };
    let kinds: Vec<&str> = plan(&with_users(&users[..1], NAMED), &twice)
        .errors
        .iter()
        .map(DoorError::kind)
        .collect();
    assert_eq!(kinds, ["not_email_list", "list_name_twice"]);

    let groups = |n| {
        (0..n)
            .map(|i| LiveGroup {
                id: uuid(900 + i),
                name: "People".into(),
                ..LiveGroup::default()
            })
            .collect()
    };
    let p = plan(
        &with_users(&users[..1], NAMED),
        &LiveDoor {
            groups: groups(2),
            ..LiveDoor::default()
        },
    );
    assert_eq!(p.errors[0].kind(), "group_name_twice");
    let p = plan(
        &with_users(
            &users[..1],
            &format!(
                "door:\n  lists: {{ name: allow }}\n  group: {{ id: {} }}\n",
                uuid(5)
            ),
        ),
        &LiveDoor::default(),
    );
    assert_eq!(p.errors[0].kind(), "group_not_found");

    let mut text = String::from("users: [a@x.co]\ndomains:\n");
    for i in 0..1000 {
        text.push_str(&format!("  - d{i}.example.com\n"));
    }
    let p = plan(&desired(&format!("{text}{NAMED}")), &LiveDoor::default());
    assert_eq!(p.errors, [DoorError::TooManyRules { rules: 1001 }]);
}

#[test]
fn door_rules_resolve_once_the_lists_have_ids() {
    let d = desired(&format!("users: [a@x.co]\ndomains: [x.co]\n{NAMED}"));
    let p = plan(&d, &LiveDoor::default());
    let g = p.group.unwrap();
    let none: Vec<Option<Rule>> = g.include.iter().map(|r| r.to_rule(&[None])).collect();
    assert_eq!(
        none,
        [
            None,
            Some(Rule::EmailDomain {
                domain: "x.co".into()
            })
        ]
    );
    let id = DoorId::parse(&uuid(1));
    assert_eq!(
        g.include[0].to_rule(&[id]),
        Some(Rule::EmailList { id: uuid(1) })
    );
}

#[test]
fn a_domain_rule_spelled_otherwise_is_drift_and_the_domain_is_added() {
    let d = desired(&format!("users: [a@x.co]\ndomains: [example.com]\n{NAMED}"));
    let group = LiveGroup {
        id: uuid(900),
        name: "People".into(),
        include: vec![
            Rule::EmailList { id: uuid(1) },
            Rule::EmailDomain {
                domain: "\u{ff45}xample.com".into(),
            },
        ],
        exclude: vec![],
        require: vec![],
    };
    let live = LiveDoor {
        lists: vec![list(1, "allow-1", &["a@x.co"])],
        account_lists: 1,
        groups: vec![group],
    };
    let g = plan(&d, &live).group.unwrap();
    assert!(g.has_changes());
    assert!(
        matches!(&g.remove[..], [RuleRemoval::Drift(_)]),
        "{:?}",
        g.remove
    );
    assert!(
        matches!(&g.add[..], [DoorRule::EmailDomain { domain, .. }] if domain.as_str() == "example.com")
    );
}

#[test]
fn a_group_as_the_door_wants_it_has_no_changes_and_is_found_by_its_id() {
    let lists = "door:\n  lists: { name: allow, capacity: 1 }\n";
    let group = LiveGroup {
        id: uuid(900),
        name: "Renamed by hand".into(),
        include: vec![
            Rule::EmailList { id: uuid(1) },
            Rule::EmailList { id: uuid(2) },
            Rule::EmailDomain {
                domain: "x.co".into(),
            },
            Rule::EmailDomain {
                domain: "y.co".into(),
            },
        ],
        exclude: vec![],
        require: vec![],
    };
    let live = LiveDoor {
        lists: vec![
            list(1, "allow-1", &["a@x.co"]),
            list(2, "allow-2", &["b@x.co"]),
        ],
        account_lists: 2,
        groups: vec![group],
    };
    let by_id = format!("{lists}  group: {{ id: {} }}\n", uuid(900));
    let d = desired(&format!(
        "users: [a@x.co, b@x.co]\ndomains: [x.co, y.co]\n{by_id}"
    ));
    let p = plan(&d, &live);
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    let g = p.group.as_ref().unwrap();
    assert_eq!(
        g.target,
        GroupTarget::Existing {
            id: DoorId::parse(&uuid(900)).unwrap(),
            name: "Renamed by hand".into()
        }
    );
    assert!(!g.has_changes(), "{g:?}");
    assert_eq!(g.include.len(), 4);
    assert!(!p.has_changes());
    // A rule someone added by hand, and nothing to add: a change all the same.
    let mut edited = live.clone();
    edited.groups[0]
        .include
        .push(Rule::from_json(json!({"everyone": {}})));
    let p = plan(&d, &edited);
    let g = p.group.as_ref().unwrap();
    assert_eq!((g.add.len(), g.remove.len()), (0, 1));
    assert!(g.has_changes());
    assert!(p.has_changes());
    // A domain rule gone: one to add and nothing to take out, a change too.
    let mut short = live.clone();
    short.groups[0].include.pop();
    let p = plan(&d, &short);
    let g = p.group.as_ref().unwrap();
    assert_eq!((g.add.len(), g.remove.len()), (1, 0));
    assert!(g.has_changes());
    // A group to create (by name, none carries it) is a change though it has nothing to take
    // out.
    let named = desired(&format!(
        "users: [a@x.co, b@x.co]\ndomains: [x.co, y.co]\n{lists}  group: {{ name: People }}\n"
    ));
    let created = plan(
        &named,
        &LiveDoor {
            groups: vec![],
            ..live
        },
    )
    .group
    .unwrap();
    assert!(matches!(created.target, GroupTarget::Create { .. }));
    assert!(created.has_changes());
}

#[test]
fn a_group_of_exactly_the_rule_limit_is_accepted() {
    let mut text = String::from("users: [a@x.co]\ndomains:\n");
    for i in 0..MAX_RULES_PER_GROUP - 1 {
        text.push_str(&format!("  - d{i}.example.com\n"));
    }
    let p = plan(&desired(&format!("{text}{NAMED}")), &LiveDoor::default());
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert_eq!(p.group.unwrap().include.len(), MAX_RULES_PER_GROUP);
}
