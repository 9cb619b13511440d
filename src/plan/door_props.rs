//! The door's plan against an independent check: whatever the allowlist and the live lists,
//! applying the plan leaves exactly the door entries, each once, no list over capacity.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::tests::{applied, desired, item, plan, today, uuid};
use super::*;
use crate::model::door::LiveList;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Applying the plan's changes to the live lists gives exactly the door entries, each once,
    /// no list over capacity, and a second plan from the result has nothing to do.
    #[test]
    fn applying_the_plan_gives_exactly_the_door(
        wanted in proptest::collection::btree_set(0usize..60, 0..40),
        expires in proptest::collection::vec(0u8..3, 60),
        live_values in proptest::collection::vec(proptest::collection::vec((0usize..80, any::<bool>()), 0..12), 0..4),
        capacity in 1usize..12,
    ) {
        let mut text = String::from("users:\n  - keep@example.com\n");
        for &w in &wanted {
            match expires[w] {
                0 => text.push_str(&format!("  - u{w}@example.com\n")),
                1 => text.push_str(&format!("  - email: u{w}@example.com\n    expires: 2026-12-01\n")),
                _ => text.push_str(&format!("  - email: u{w}@example.com\n    expires: 2027-01-01\n")),
            }
        }
        let d = desired(&format!("{text}door:\n  lists: {{ name: allow, capacity: {capacity} }}\n"));
        let lists: Vec<LiveList> = live_values.iter().enumerate().map(|(i, values)| {
            let mut seen = BTreeSet::new();
            let items = values.iter().filter(|(v, _)| seen.insert(*v)).map(|(v, upper)| {
                let value = format!("u{v}@example.com");
                item(&if *upper { value.to_uppercase() } else { value }, None)
            }).collect();
            LiveList { id: uuid(i + 1), name: format!("allow-{}", i + 1), kind: Some("EMAIL".into()), items }
        }).collect();
        let live = LiveDoor { account_lists: lists.len(), lists, groups: vec![] };
        let p = plan(&d, &live);
        prop_assert!(p.errors.is_empty());
        let spec = d.door.clone().unwrap();
        let after = applied(&live, &spec, &p);
        let mut all: Vec<String> = after.iter().flatten().map(|v| Email::parse(v).unwrap().to_string()).collect();
        prop_assert!(after.iter().all(|l| l.len() <= capacity));
        all.sort();
        let mut expected: Vec<String> = d.entries.iter().filter(|e| e.expires.is_none_or(|x| x > today())).map(|e| e.email.to_string()).collect();
        expected.sort();
        prop_assert_eq!(&all, &expected);
        // The door as the plan leaves it needs nothing more.
        let settled = LiveDoor {
            lists: after.iter().enumerate().map(|(i, v)| LiveList {
                id: uuid(i + 1), name: format!("allow-{}", i + 1), kind: Some("EMAIL".into()),
                items: v.iter().map(|v| item(v, None)).collect(),
            }).collect(),
            account_lists: after.len(),
            groups: vec![],
        };
        prop_assert!(!plan(&d, &settled).has_changes());
    }
}
