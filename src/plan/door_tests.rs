use serde_json::json;

use super::*;
use crate::config::parse_str;
use crate::model::door::{LiveGroup, LiveItem, Rule};

pub(super) const NAMED: &str = "door:\n  lists: { name: allow }\n  group: { name: People }\n";

pub(super) fn today() -> Date {
    Date::parse("2026-12-01").unwrap()
}

pub(super) fn uuid(n: usize) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}

pub(super) fn desired(text: &str) -> Desired {
    parse_str(text, "users.yaml").unwrap_or_else(|e| panic!("{e}"))
}

/// A desired state with these users (one per line from line 2) and a door section.
pub(super) fn with_users(users: &[String], door: &str) -> Desired {
    let mut text = String::from("users:\n");
    for u in users {
        text.push_str(&format!("  - {u}\n"));
    }
    desired(&format!("{text}{door}"))
}

pub(super) fn item(value: &str, description: Option<&str>) -> LiveItem {
    LiveItem {
        value: value.into(),
        description: description.map(str::to_string),
    }
}

pub(super) fn list(n: usize, name: &str, values: &[&str]) -> LiveList {
    LiveList {
        id: uuid(n),
        name: name.into(),
        kind: Some("EMAIL".into()),
        items: values
            .iter()
            .map(|v| item(v, Some("reconcile: users.yaml:2")))
            .collect(),
    }
}

pub(super) fn addresses(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("u{i:05}@example.com")).collect()
}

pub(super) fn plan(d: &Desired, live: &LiveDoor) -> DoorPlan {
    compute(d, live, today()).expect("a door section")
}

/// The lists' values after the plan, as apply would leave them (by list index).
pub(super) fn applied(live: &LiveDoor, spec: &DoorSpec, p: &DoorPlan) -> Vec<Vec<String>> {
    p.lists
        .iter()
        .map(|l| {
            let mut values: Vec<String> = match &l.target {
                ListTarget::Existing { id, .. } => live
                    .lists
                    .iter()
                    .find(|x| {
                        DoorId::parse(&x.id).as_ref() == Some(id)
                            && spec.claims_list(&x.id, &x.name).is_some()
                    })
                    .map(|x| x.items.iter().map(|i| i.value.clone()).collect())
                    .unwrap_or_default(),
                ListTarget::Create { .. } => Vec::new(),
            };
            for r in &l.remove {
                let at = values
                    .iter()
                    .position(|v| *v == r.value)
                    .expect("removes what is there");
                values.remove(at);
            }
            values.extend(l.append.iter().map(|a| a.email.to_string()));
            values
        })
        .collect()
}

#[test]
fn no_door_section_no_plan() {
    assert!(compute(&desired("users: [a@b.co]\n"), &LiveDoor::default(), today()).is_none());
}

#[test]
fn from_nothing_one_list_and_the_group_are_created() {
    let d = desired(&format!(
        "users: [b@x.co, a@x.co]\ndomains: [x.co]\n{NAMED}"
    ));
    let p = plan(&d, &LiveDoor::default());
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert_eq!(p.lists.len(), 1);
    assert_eq!(
        p.lists[0].target,
        ListTarget::Create {
            name: "allow-1".into()
        }
    );
    let appended: Vec<&str> = p.lists[0].append.iter().map(|a| a.email.as_str()).collect();
    assert_eq!(appended, ["a@x.co", "b@x.co"]);
    assert_eq!(p.lists[0].append[0].description, "reconcile: users.yaml:1");
    assert_eq!(p.lists[0].append[0].entry.to_string(), "users.yaml:1:17");
    let g = p.group.as_ref().unwrap();
    assert_eq!(
        g.target,
        GroupTarget::Create {
            name: "People".into()
        }
    );
    assert_eq!(g.include.len(), 2);
    assert_eq!(g.include[0], DoorRule::EmailList { list: 0 });
    assert!(
        matches!(&g.include[1], DoorRule::EmailDomain { domain, .. } if domain.as_str() == "x.co")
    );
    assert!(p.has_changes());
    assert_eq!((p.entries, p.lists_needed), (2, 1));
}

fn settled(users: &[String], capacity: usize) -> (Desired, LiveDoor) {
    let door = format!(
        "door:\n  lists: {{ name: allow, capacity: {capacity} }}\n  group: {{ name: People }}\n"
    );
    let d = with_users(users, &door);
    let p = plan(&d, &LiveDoor::default());
    let spec = d.door.clone().unwrap();
    let values = applied(&LiveDoor::default(), &spec, &p);
    let lists: Vec<LiveList> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let refs: Vec<&str> = v.iter().map(String::as_str).collect();
            list(i + 1, &format!("allow-{}", i + 1), &refs)
        })
        .collect();
    let group = LiveGroup {
        id: uuid(900),
        name: "People".into(),
        include: (0..lists.len())
            .map(|i| Rule::EmailList { id: uuid(i + 1) })
            .collect(),
        exclude: vec![json!({"geo": {"country_code": "XX"}})],
        require: vec![],
    };
    let live = LiveDoor {
        account_lists: lists.len() + 3,
        lists,
        groups: vec![group],
    };
    (d, live)
}

#[test]
fn a_settled_door_has_no_changes_and_one_address_changes_one_list() {
    let users = addresses(2500);
    let (d, live) = settled(&users, 1000);
    assert_eq!(live.lists.len(), 3);
    let p = plan(&d, &live);
    assert!(!p.has_changes(), "{:?}", p.errors);
    assert_eq!(p.lists_needed, 3);
    let mut more = users.clone();
    more.push("new@example.com".into());
    let p = plan(
        &with_users(
            &more,
            "door:\n  lists: { name: allow }\n  group: { name: People }\n",
        ),
        &live,
    );
    let touched: Vec<usize> = (0..p.lists.len())
        .filter(|&i| p.lists[i].has_changes())
        .collect();
    assert_eq!(touched, [2], "the first list with room");
    assert_eq!(p.lists[2].append.len(), 1);
    assert!(!p.group.as_ref().unwrap().has_changes());
}

#[test]
fn removing_a_middle_entry_moves_nobody() {
    let users = addresses(2500);
    let (_, live) = settled(&users, 1000);
    let mut fewer = users.clone();
    fewer.remove(1200);
    let p = plan(&with_users(&fewer, NAMED), &live);
    let changes: Vec<(usize, usize, usize)> = p
        .lists
        .iter()
        .enumerate()
        .filter(|(_, l)| l.has_changes())
        .map(|(i, l)| (i, l.append.len(), l.remove.len()))
        .collect();
    assert_eq!(changes, [(1, 0, 1)]);
    assert_eq!(p.lists[1].remove[0].value, "u01200@example.com");
    assert_eq!(
        p.lists[1].remove[0].reason,
        RemovalReason::NoLongerAllowed {
            added_from: Provenance {
                file: "users.yaml".into(),
                line: 2
            }
        }
    );
}

#[test]
fn expiry_today_closes_the_door() {
    let d = desired(&format!("users:\n  - a@x.co\n  - email: b@x.co\n    expires: 2026-12-01\n  - email: c@x.co\n    expires: 2026-12-02\n{NAMED}"));
    let live = LiveDoor {
        lists: vec![list(1, "allow-1", &["a@x.co", "b@x.co", "c@x.co"])],
        account_lists: 1,
        groups: vec![],
    };
    let p = plan(&d, &live);
    assert_eq!(p.entries, 2);
    assert_eq!(p.lists[0].remove.len(), 1);
    assert_eq!(p.lists[0].remove[0].value, "b@x.co");
    assert!(
        matches!(&p.lists[0].remove[0].reason, RemovalReason::Expired { on, entry } if on.to_string() == "2026-12-01" && entry.to_string() == "users.yaml:3:5")
    );
}

#[test]
fn duplicates_drift_and_case() {
    let d = desired(&format!(
        "users: [a@x.co, b@x.co]\nprotected: ['*@svc.x.co', p@x.co]\n{NAMED}"
    ));
    let mut l1 = list(1, "allow-1", &["A@X.CO"]);
    l1.items.push(item("hand@x.co", Some("added by Bob")));
    l1.items.push(item("p@x.co", None));
    l1.items.push(item("not an address", None));
    let l2 = list(2, "allow-2", &["a@x.co", "b@x.co", "bot@svc.x.co"]);
    let live = LiveDoor {
        lists: vec![l2, l1],
        account_lists: 2,
        groups: vec![],
    };
    let p = plan(&d, &live);
    assert!(p.errors.is_empty());
    // A@X.CO is a@x.co: it stays in list 1; its copy in list 2 goes.
    assert_eq!(p.lists[0].kept, 1);
    let reasons = |i: usize| -> Vec<(String, &'static str)> {
        p.lists[i]
            .remove
            .iter()
            .map(|r| (r.value.clone(), r.reason.kind()))
            .collect()
    };
    assert_eq!(
        reasons(0),
        [
            ("hand@x.co".into(), "drift"),
            ("p@x.co".into(), "drift"),
            ("not an address".into(), "not_an_address")
        ]
    );
    assert_eq!(
        reasons(1),
        [
            ("a@x.co".into(), "duplicate"),
            ("bot@svc.x.co".into(), "no_longer_allowed")
        ]
    );
    assert_eq!(
        p.lists[1].remove[0].reason,
        RemovalReason::Duplicate { kept_in: 0 }
    );
    assert!(
        p.lists.iter().all(|l| l.append.is_empty()),
        "protected patterns are not door entries"
    );
}

#[test]
fn lists_that_empty_are_kept_and_said_so() {
    let d = desired(&format!("users: [a@x.co]\n{NAMED}"));
    let live = LiveDoor {
        lists: vec![
            list(1, "allow-1", &["a@x.co"]),
            list(2, "allow-2", &["gone@x.co"]),
        ],
        account_lists: 2,
        groups: vec![],
    };
    let p = plan(&d, &live);
    assert_eq!(p.lists.len(), 2);
    assert!(p.lists[1].becomes_empty());
    assert!(!p.lists[0].becomes_empty());
}

#[test]
fn a_lowered_capacity_moves_the_overflow() {
    let users = addresses(10);
    let (_, live) = settled(&users, 10);
    let d = with_users(&users, "door:\n  lists: { name: allow, capacity: 4 }\n");
    let p = plan(&d, &live);
    let sizes: Vec<usize> = p.lists.iter().map(ListPlan::size_after).collect();
    assert_eq!(sizes, [4, 4, 2]);
    assert_eq!(p.lists[0].remove.len(), 6);
    assert!(p.lists[0]
        .remove
        .iter()
        .all(|r| r.reason == RemovalReason::OverCapacity));
}

#[test]
fn same_input_same_plan_whatever_the_order() {
    let users = addresses(30);
    let (d, mut live) = settled(&users, 10);
    live.lists[1].items.push(item("Drift@Example.com", None));
    live.lists[2].items.push(item("u00001@example.com", None));
    let first = plan(&d, &live);
    live.lists.reverse();
    for l in &mut live.lists {
        l.items.reverse();
    }
    live.groups[0].include.reverse();
    let second = plan(&d, &live);
    assert_eq!(first.lists, second.lists);
    assert_eq!(first.live_fingerprint, second.live_fingerprint);
    assert_eq!(
        first.group.as_ref().map(|g| g.add.clone()),
        second.group.as_ref().map(|g| g.add.clone())
    );
    live.lists[0].items[0].description = Some("edited".into());
    assert_ne!(first.live_fingerprint, plan(&d, &live).live_fingerprint);
}

#[test]
fn ids_form_keeps_the_order_of_ids_and_a_list_read_twice_is_one() {
    let door = format!(
        "door:\n  lists: {{ ids: [{}, {}], capacity: 1 }}\n",
        uuid(2),
        uuid(1)
    );
    let d = desired(&format!("users: [a@x.co, b@x.co]\n{door}"));
    let (l1, l2) = (list(1, "first", &[]), list(2, "second", &[]));
    let live = LiveDoor {
        lists: vec![l1.clone(), l2.clone(), l2, list(3, "other", &["z@x.co"])],
        account_lists: 3,
        groups: vec![],
    };
    let p = plan(&d, &live);
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    let names: Vec<(&str, Vec<&str>)> = p
        .lists
        .iter()
        .map(|l| {
            (
                l.target.name(),
                l.append.iter().map(|a| a.email.as_str()).collect(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [("second", vec!["a@x.co"]), ("first", vec!["b@x.co"])]
    );
    // A list the section does not name is neither planned nor in the fingerprint.
    let mut other = live.clone();
    other.lists[3].items.clear();
    assert_eq!(p.live_fingerprint, plan(&d, &other).live_fingerprint);
    // Two readings of one id that disagree are refused.
    let mut changed = live.clone();
    changed.lists[2].items.push(item("q@x.co", None));
    assert_eq!(plan(&d, &changed).errors[0].kind(), "list_name_twice");
}

#[test]
fn hostile_values_and_descriptions_decide_nothing() {
    let d = desired(&format!("users: [a@x.co]\n{NAMED}"));
    let mut l = list(1, "allow-1", &[]);
    l.items = vec![
        item("a@x.co", Some("reconcile: users.yaml:1\u{202e}")),
        item("b\u{200b}@x.co", Some("reconcile: users.yaml:9")),
        item(
            "c@x.co",
            Some("reconcile: users.yaml:3\nreconcile: other.yaml:4"),
        ),
        item("d@x.co", Some("reconcile: users.yaml:4")),
    ];
    let live = LiveDoor {
        lists: vec![l],
        account_lists: 1,
        groups: vec![],
    };
    let p = plan(&d, &live);
    assert_eq!(
        p.lists[0].kept, 1,
        "a door entry stays whatever its description says"
    );
    let reasons: Vec<&str> = p.lists[0].remove.iter().map(|r| r.reason.kind()).collect();
    assert_eq!(reasons, ["drift", "no_longer_allowed", "not_an_address"]);
}

#[test]
fn an_allowed_address_spelled_otherwise_is_not_the_entry() {
    let d = desired(&format!(
        "users: [alice@example.com, bob@x.co, carol@x.co]\n{NAMED}"
    ));
    // A full-width `e` in the domain (IDNA maps it to `example.com`), a case variant, and the
    // address as reconcile writes it.
    let l = list(
        1,
        "allow-1",
        &["alice@\u{ff45}xample.com", "Bob@X.CO", "carol@x.co"],
    );
    let live = LiveDoor {
        lists: vec![l],
        account_lists: 1,
        groups: vec![],
    };
    let p = plan(&d, &live);
    assert!(p.errors.is_empty());
    assert_eq!(p.lists[0].kept, 2, "an ASCII case variant is the entry");
    let removed: Vec<(&str, &str)> = p.lists[0]
        .remove
        .iter()
        .map(|r| (r.value.as_str(), r.reason.kind()))
        .collect();
    assert_eq!(removed, [("alice@\u{ff45}xample.com", "drift")]);
    let appended: Vec<&str> = p.lists[0].append.iter().map(|a| a.email.as_str()).collect();
    assert_eq!(appended, ["alice@example.com"]);
}

#[test]
fn removals_count_the_people_who_leave_the_door_not_duplicates() {
    let d = with_users(
        &["a@example.com".into()],
        "door:\n  lists: { name: allow }\n",
    );
    let live = LiveDoor {
        lists: vec![list(
            1,
            "allow-1",
            &["a@example.com", "a@example.com", "x@example.com"],
        )],
        account_lists: 1,
        groups: Vec::new(),
    };
    let mut p = plan(&d, &live);
    // x leaves; the second a is a duplicate: a stays in the door. Two people are in it now.
    assert_eq!(p.removals(), (1, 2), "{p:#?}");
    // One of two leaves: not every one, and the fraction rail starts at ten people.
    let limits = crate::plan::Limits::resolve(&d, &crate::plan::Overrides::default());
    p.check_rails(&limits);
    assert!(p.errors.is_empty(), "{:?}", p.errors);
}

#[test]
fn the_rails_refuse_a_door_that_loses_everyone() {
    let d = with_users(
        &["a@example.com".into()],
        "door:\n  lists: { name: allow }\n",
    );
    let live = LiveDoor {
        lists: vec![list(1, "allow-1", &["x@example.com", "y@example.com"])],
        account_lists: 1,
        groups: Vec::new(),
    };
    let mut p = plan(&d, &live);
    assert_eq!(p.removals(), (2, 2));
    let limits = crate::plan::Limits::resolve(&d, &crate::plan::Overrides::default());
    p.check_rails(&limits);
    assert!(
        matches!(p.errors.as_slice(), [DoorError::TooManyRemovals(_)]),
        "{:?}",
        p.errors
    );
    assert_eq!(p.errors[0].kind(), "too_many_removals");
}

#[test]
fn of_two_spellings_of_an_address_in_one_list_the_normal_one_is_kept() {
    let d = desired(&format!("users: [a@x.co]\n{NAMED}"));
    for values in [["A@X.CO", "a@x.co"], ["a@x.co", "A@X.CO"]] {
        let live = LiveDoor {
            lists: vec![list(1, "allow-1", &values)],
            account_lists: 1,
            groups: vec![],
        };
        let p = plan(&d, &live);
        assert_eq!(p.lists[0].kept, 1);
        let removed: Vec<(&str, &RemovalReason)> = p.lists[0]
            .remove
            .iter()
            .map(|r| (r.value.as_str(), &r.reason))
            .collect();
        assert_eq!(
            removed,
            [("A@X.CO", &RemovalReason::Duplicate { kept_in: 0 })],
            "{values:?}"
        );
    }
}

#[test]
fn new_lists_are_numbered_on_from_the_highest_list_found() {
    let users = addresses(5);
    // allow-1 and allow-5 exist (allow-2 to allow-4 were removed by hand, say), both full.
    let live = LiveDoor {
        lists: vec![
            list(1, "allow-1", &["u00000@example.com", "u00001@example.com"]),
            list(5, "allow-5", &["u00002@example.com"]),
        ],
        account_lists: 2,
        groups: vec![],
    };
    let d = with_users(&users, "door:\n  lists: { name: allow, capacity: 1 }\n");
    let p = plan(&d, &live);
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    let names: Vec<&str> = p.lists.iter().map(|l| l.target.name()).collect();
    assert_eq!(
        names,
        ["allow-1", "allow-5", "allow-6", "allow-7", "allow-8"],
        "u00001 moves out of allow-1 (over capacity) into allow-6"
    );
    assert_eq!(p.lists_needed, 5);
}

#[test]
fn too_few_ids_says_how_many_lists_the_allowlist_needs() {
    let users = addresses(2500);
    let one = format!("door:\n  lists: {{ ids: [{}] }}\n", uuid(1));
    let live = LiveDoor {
        lists: vec![list(1, "first", &[])],
        account_lists: 1,
        groups: vec![],
    };
    let p = plan(&with_users(&users, &one), &live);
    assert_eq!(
        p.errors,
        [DoorError::TooFewIds {
            needed: 3,
            given: 1
        }]
    );
    assert_eq!(p.lists_needed, 3);
    // Two ids, one of them no list of the account: one list is found, and more ids than the
    // two given are needed, whatever the found list holds.
    let two = format!("door:\n  lists: {{ ids: [{}, {}] }}\n", uuid(1), uuid(5));
    let p = plan(&with_users(&users[..1500], &two), &live);
    let kinds: Vec<&str> = p.errors.iter().map(DoorError::kind).collect();
    assert_eq!(kinds, ["list_not_found", "too_few_ids"]);
    assert_eq!(
        p.errors[1],
        DoorError::TooFewIds {
            needed: 3,
            given: 2
        }
    );
}

#[test]
fn the_account_limit_on_lists_matters_only_when_the_door_creates_one() {
    // An account holding more lists than the usual limit (its limit raised): a door that
    // creates no list is not refused for it.
    let d = desired(&format!("users: [a@x.co]\n{NAMED}"));
    let live = LiveDoor {
        lists: vec![list(1, "allow-1", &[])],
        account_lists: 150,
        groups: vec![],
    };
    let p = plan(&d, &live);
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert_eq!(p.lists[0].append.len(), 1);
}

#[test]
fn the_fingerprint_covers_the_doors_group_and_no_other() {
    let users = addresses(3);
    let (d, mut live) = settled(&users, 10);
    let before = plan(&d, &live).live_fingerprint;
    // A group the section does not name changes nothing.
    live.groups.push(LiveGroup {
        id: uuid(901),
        name: "Contractors".into(),
        include: vec![Rule::from_json(json!({"everyone": {}}))],
        exclude: vec![],
        require: vec![],
    });
    assert_eq!(plan(&d, &live).live_fingerprint, before);
    // The door's group edited since: another fingerprint.
    live.groups[0]
        .require
        .push(json!({"geo": {"country_code": "FR"}}));
    assert_ne!(plan(&d, &live).live_fingerprint, before);
}

#[test]
fn a_lists_removals_are_in_address_order_whatever_their_reason() {
    // capacity 1: b is kept, then moves (over capacity); z goes (not allowed); both leave
    // allow-1, listed by address, the value that is no address last.
    let d = with_users(
        &["a@x.co".into(), "b@x.co".into()],
        "door:\n  lists: { name: allow, capacity: 1 }\n",
    );
    let live = LiveDoor {
        lists: vec![list(
            1,
            "allow-1",
            &["z@x.co", "not an address", "b@x.co", "a@x.co"],
        )],
        account_lists: 1,
        groups: vec![],
    };
    let p = plan(&d, &live);
    let removed: Vec<(&str, &str)> = p.lists[0]
        .remove
        .iter()
        .map(|r| (r.value.as_str(), r.reason.kind()))
        .collect();
    assert_eq!(
        removed,
        [
            ("b@x.co", "over_capacity"),
            ("z@x.co", "no_longer_allowed"),
            ("not an address", "not_an_address")
        ]
    );
}
