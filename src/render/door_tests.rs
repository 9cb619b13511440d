//! Unit tests of the door's words and section (the snapshots are in door_snapshot_tests.rs).

use super::door::*;
use super::door_snapshot_tests::{from_nothing, hostile, one_append, too_many_lists, two_thousand};
use super::*;

fn human(plan: &Plan, layout: Layout, p: Palette) -> String {
    let mut out = Vec::new();
    human_with(plan, layout, &mut out, p).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn the_door_comes_first_and_its_summary_before_the_plan_line() {
    let text = human(&one_append(), Layout::default(), Palette::PLAIN);
    let door = text.find("The door (").unwrap();
    assert!(door < text.find("The following users").unwrap());
    let lines: Vec<&str> = text.lines().collect();
    let plan = lines.iter().position(|l| l.starts_with("Plan:")).unwrap();
    assert_eq!(
        lines[plan - 1],
        "Door: 1 list to change (+1 −0), group unchanged."
    );
    assert!(
        text.contains(
            "  ~ list \"reconcile-allowlist-1\" (+1)\n      + bob@example.com  # users.yaml:3:5\n"
        ),
        "{text}"
    );
}

#[test]
fn summaries() {
    assert_eq!(
        summary(from_nothing().door.as_ref().unwrap()),
        "Door: 1 list to create (+2 −0), group to create (+2)."
    );
    let refused = too_many_lists();
    let line = summary(refused.door.as_ref().unwrap());
    assert!(
        line.starts_with("Door: refused (1 error): nothing of this plan may be applied"),
        "{line}"
    );
    assert!(refused.door_refused() && !one_append().door_refused());
}

#[test]
fn the_plan_counts_door_changes_apart_from_deletions() {
    let plan = one_append();
    assert!(plan.has_door_changes());
    // The users' changes, which apply's flow hangs on, are what they were.
    assert_eq!(plan.has_changes(), !plan.delete.is_empty());
    let mut none = plan.clone();
    none.door = None;
    assert!(!none.has_door_changes() && !none.door_refused());
}

#[test]
fn every_removal_reason_has_its_words() {
    let plan = hostile();
    let door = plan.door.as_ref().unwrap();
    let words: Vec<(String, &str)> = door
        .lists
        .iter()
        .flat_map(|l| &l.remove)
        .map(|r| (line(&removal_pieces(door, r)), r.reason.kind()))
        .collect();
    let has = |kind: &str, start: &str| {
        assert!(
            words
                .iter()
                .any(|(w, k)| *k == kind && w.starts_with(start)),
            "{kind}: {words:?}"
        )
    };
    has("expired", "expired on 2026-11-30, entry at users.yaml:4:5");
    has(
        "no_longer_allowed",
        "no longer in the allowlist (added by reconcile from old.yaml:9)",
    );
    has("drift", "drift: not added by reconcile");
    has("not_an_address", "not an address");
    has("duplicate", "duplicate (kept in `reconcile-allowlist-1`)");
    for (w, _) in &words {
        assert!(!w.contains('\u{1b}') && !w.contains('\u{202e}'), "{w:?}");
    }
}

#[test]
fn errors_say_what_is_wrong_and_what_to_do() {
    let plan = too_many_lists();
    let door = plan.door.as_ref().unwrap();
    let text = line(&error_pieces(door, &door.errors[0]));
    assert!(text.starts_with("too many lists: the allowlist needs 1 list of 1000 entries, 1 of them to create, and the account holds 100 of 100 lists"), "{text}");
    assert!(text.contains("raise `lists.capacity`"));
}

#[test]
fn nothing_raw_reaches_the_terminal_even_in_colour() {
    let text = human(&hostile(), Layout::default(), Palette { enabled: true });
    // Only the palette's own sequences: ESC followed by `[`, a digit and `m`.
    for (i, _) in text.match_indices('\u{1b}') {
        let rest = &text[i + 1..];
        assert!(
            rest.starts_with("[0m")
                || rest.starts_with("[3")
                || rest.starts_with("[1m")
                || rest.starts_with("[2m"),
            "{:?}",
            &text[i..(i + 12).min(text.len())]
        );
    }
    assert!(!text.contains('\u{202e}') && !text.contains('\u{7}'));
}

#[test]
fn the_compact_layout_shows_counts_first_lines_and_where_the_rest_is() {
    let text = human(&two_thousand(), Layout::default(), Palette::PLAIN);
    assert!(text.contains("  ~ list \"reconcile-allowlist-1\" (+2000 −1)\n"));
    assert_eq!(
        text.lines().filter(|l| l.starts_with("      + u")).count(),
        PREVIEW_LINES
    );
    assert!(text.contains("      … and 1990 more to add\n"));
    assert!(text.contains("      - mallory@example.com  # drift: not added by reconcile\n"));
    assert!(text.contains("`reconcile plan --format json`"));
    // Above the threshold only: the full layout shows every line.
    let full = Layout {
        compact_above: 5_000,
        full_diff: false,
    };
    let text = human(&two_thousand(), full, Palette::PLAIN);
    assert_eq!(
        text.lines().filter(|l| l.starts_with("      + u")).count(),
        2_000
    );
    assert!(!text.contains("more to add"));
}

#[test]
fn without_a_door_nothing_changes() {
    let mut plan = one_append();
    plan.door = None;
    let text = human(&plan, Layout::default(), Palette::PLAIN);
    assert!(!text.contains("door") && !text.contains("Door"));
    let mut md = Vec::new();
    markdown::render(&plan, &mut md).unwrap();
    assert!(!String::from_utf8(md).unwrap().contains("Door"));
}

/// One of each error, with hostile names and ids.
fn every_error() -> Vec<crate::plan::door::DoorError> {
    use crate::config::Location;
    use crate::model::door::DoorId;
    use crate::plan::door::DoorError::*;
    let id = DoorId::parse("00000000-0000-4000-8000-000000000001").unwrap();
    let at = Location {
        file: "users.yaml".into(),
        line: 9,
        col: 7,
    };
    let hostile = "evil\u{1b}[2K`<!--|\u{202e}".to_string();
    vec![
        TooManyLists {
            create: 2,
            account_lists: 99,
        },
        TooFewIds {
            needed: 3,
            given: 1,
        },
        ListNotFound {
            id: id.clone(),
            at: at.clone(),
        },
        ListNameTwice {
            name: hostile.clone(),
            ids: vec![hostile.clone(), "b".into()],
        },
        NotEmailList {
            id: hostile.clone(),
            name: hostile.clone(),
            kind: Some("IP".into()),
        },
        InvalidId {
            name: hostile.clone(),
            id: hostile.clone(),
        },
        GroupNotFound { id, at },
        GroupNameTwice {
            name: hostile.clone(),
            ids: vec![hostile, "b".into()],
        },
        TooManyRules { rules: 1_001 },
    ]
}

#[test]
fn every_error_has_words_and_nothing_raw() {
    let mut plan = too_many_lists();
    let door = plan.door.as_mut().unwrap();
    door.errors = every_error();
    let door = plan.door.as_ref().unwrap();
    let texts: Vec<String> = door
        .errors
        .iter()
        .map(|e| line(&error_pieces(door, e)))
        .collect();
    let starts = [
        "too many lists: ",
        "too few lists: the allowlist (2 entries) needs 3 lists of 1000 entries, and `lists.ids` gives 1: add the ids of 2 more EMAIL lists",
        "list not found: no list of the account has the id 00000000-0000-4000-8000-000000000001 (given at users.yaml:9:7)",
        "2 lists are named `evil\\u{1b}[2K`<!--|\\u{202e}`",
        "not an EMAIL list: ",
        "invalid id: ",
        "group not found: ",
        "2 Access groups are named ",
        "too many rules: the group's include would hold 1001 rules",
    ];
    for (text, start) in texts.iter().zip(starts) {
        assert!(text.starts_with(start), "{text}");
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{202e}'),
            "{text:?}"
        );
    }
    // In Markdown, hostile names are code spans and the document stays well-formed.
    let mut md = Vec::new();
    markdown::render(&plan, &mut md).unwrap();
    let md = String::from_utf8(md).unwrap();
    assert_eq!(md.matches("> - ").count(), 9, "{md}");
    assert!(!md.contains('\u{1b}') && !md.contains('\u{202e}'));
    assert!(md.contains("``evil\\u{1b}[2K`<!--\\|\\u{202e}``"), "{md}");
}

#[test]
fn many_hostile_errors_stay_inside_the_comment_limit() {
    let mut plan = too_many_lists();
    let name = "<&|`*_".repeat(60);
    plan.door.as_mut().unwrap().errors = (0..500)
        .map(|n| crate::plan::door::DoorError::ListNameTwice {
            name: format!("{name}{n}"),
            ids: vec![name.clone(); 50],
        })
        .collect();
    let text = markdown::to_string(&plan, markdown::MAX_BYTES);
    assert!(text.len() <= markdown::MAX_BYTES, "{}", text.len());
    assert!(text.contains("more (see `reconcile plan --format json`)"));
    // The errors take at most their share, and the tables still have room.
    let errors: usize = text
        .lines()
        .filter(|l| l.starts_with("> - "))
        .map(str::len)
        .sum();
    assert!(errors < 11_000, "{errors}");
    assert!(text.contains("#### + list"), "{text}");
}

#[test]
fn a_settled_door_says_no_changes() {
    let mut plan = one_append();
    let door = plan.door.as_mut().unwrap();
    door.lists[0].append.clear();
    let text = human(&plan, Layout::default(), Palette::PLAIN);
    assert!(text.contains("  No changes to the door.\n"), "{text}");
    assert!(
        text.contains("\nDoor: no changes (1 list unchanged, group unchanged).\n"),
        "{text}"
    );
    assert!(!plan.has_door_changes());
}

#[test]
fn with_nobody_to_delete_the_door_is_not_denied() {
    let mut plan = one_append();
    plan.delete.clear();
    let text = human(&plan, Layout::default(), Palette::PLAIN);
    assert!(text.contains("No users to delete. Every live user is allowed or held back."));
    assert!(!text.contains("No changes."));
    let md = markdown::to_string(&plan, markdown::MAX_BYTES);
    assert!(
        md.contains("## reconcile plan: door changes, nothing to delete\n"),
        "{md}"
    );
}

#[test]
fn a_hostile_group_name_is_escaped_once_in_its_header() {
    let mut plan = hostile();
    let group = plan.door.as_mut().unwrap().group.as_mut().unwrap();
    let crate::plan::door::GroupTarget::Existing { name, .. } = &mut group.target else {
        panic!("the hostile plan's group exists");
    };
    *name = "door\u{1b}[H\n\"x".into();
    let text = human(&plan, Layout::default(), Palette::PLAIN);
    assert!(
        text.contains("  ~ group \"door\\u{1b}[H\\u{a}\\\"x\" include"),
        "{text}"
    );
}
