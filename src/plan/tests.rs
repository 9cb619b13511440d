use super::*;
use crate::config;
use crate::config::Span;
use crate::model::AddressError;
use crate::text::printable;

/// 2026-11-28T12:00:00Z
const NOW: i64 = 1_795_867_200;

fn policy() -> Policy {
    Policy::at(&crate::model::AccountId::example(), NOW)
}

fn desired(emails: &[&str]) -> Desired {
    let mut text = String::from("users:\n");
    for e in emails {
        text.push_str(&format!("  - \"{e}\"\n"));
    }
    config::parse_str(&text, "users.yaml").unwrap()
}

fn user(n: u32, email: Option<&str>) -> LiveUser {
    LiveUser {
        id: Some(format!("00000000-0000-4000-8000-{n:012}")),
        email: email.map(str::to_string),
        ..LiveUser::default()
    }
}

fn emails(list: &[Decision]) -> Vec<&str> {
    list.iter()
        .map(|d| d.email.as_deref().unwrap_or("-"))
        .collect()
}

#[test]
fn extras_are_deleted_and_allowed_users_kept() {
    let d = desired(&["alice@example.com", "bob@example.com", "grace@example.com"]);
    let live = vec![
        user(1, Some("zed@example.com")),
        user(2, Some("alice@example.com")),
        user(3, Some("mallory@example.com")),
        user(4, Some("bob@example.com")),
    ];
    let plan = compute(&d, &live, &policy());
    assert_eq!(
        emails(&plan.delete),
        ["mallory@example.com", "zed@example.com"]
    );
    assert_eq!(emails(&plan.keep), ["alice@example.com", "bob@example.com"]);
    assert!(plan.held.is_empty());
    let absent: Vec<_> = plan.absent.iter().map(|e| e.email.as_str()).collect();
    assert_eq!(absent, ["grace@example.com"]);
    assert_eq!(plan.unchanged(), 2);
    assert!(plan.has_changes());
    assert!(plan.delete.iter().all(|d| d.reason == Reason::NotAllowed));
    assert_eq!(
        crate::render::words::reason(&plan.keep[0].reason),
        "allowed by users.yaml:2:5"
    );
}

#[test]
fn matching_ignores_case_spaces_and_unicode_composition() {
    let d = desired(&["jos\u{e9}@example.com", "Bob@Example.com"]);
    let live = vec![
        user(1, Some("  JOSE\u{301}@example.COM ")),
        user(2, Some("bob@example.com")),
    ];
    let plan = compute(&d, &live, &policy());
    assert!(plan.delete.is_empty(), "{:?}", plan.delete);
    assert_eq!(plan.keep.len(), 2);
    assert!(plan.absent.is_empty());
}

#[test]
fn users_without_email_or_valid_id_are_held_never_deleted() {
    let d = desired(&["alice@example.com"]);
    let mut bad_id = user(2, Some("mallory@example.com"));
    bad_id.id = Some("../../evil".into());
    let mut no_id = user(3, Some("trent@example.com"));
    no_id.id = None;
    let live = vec![user(1, None), bad_id, no_id, user(4, Some("  "))];
    let plan = compute(&d, &live, &policy());
    assert!(plan.delete.is_empty());
    assert_eq!(plan.held.len(), 4);
    let reasons: Vec<_> = plan.held.iter().map(|d| d.reason.clone()).collect();
    assert_eq!(
        reasons,
        [
            Reason::NoEmail,
            Reason::NoEmail,
            Reason::InvalidId,
            Reason::InvalidId
        ]
    );
}

#[test]
fn addresses_no_entry_could_name_are_held_not_deleted() {
    let d = desired(&["alice@example.com"]);
    let live = vec![
        user(1, Some("ops@corp")),
        user(2, Some("jdoe@example.com.")),
        user(3, Some("two words@example.com")),
        user(4, Some("eve@example.com")),
    ];
    let plan = compute(&d, &live, &policy());
    assert_eq!(emails(&plan.delete), ["eve@example.com"]);
    assert_eq!(plan.held.len(), 3);
    assert!(
        plan.held
            .iter()
            .all(|h| h.reason.kind() == "unusable_address"),
        "{:?}",
        plan.held
    );
    // No rule can match such an address, not even a pattern that would: it is held, and
    // counts among the users the whole-plan rails never count.
    let d = config::parse_str(
        "users: [a@example.com]\nprotected: [\"ops@corp*\"]\n",
        "p.yaml",
    )
    .unwrap();
    let plan = compute(&d, &live[..1], &policy());
    assert!(plan.keep.is_empty() && plan.delete.is_empty());
    assert_eq!(plan.held[0].reason.kind(), "unusable_address");
    assert_eq!(plan.deletable, 0);
}

#[test]
fn labels_are_safe_to_print() {
    let mut u = user(1, Some("evil\u{1b}[1A\u{1b}[2K@example.com"));
    let d = Decision {
        user: u.clone(),
        id: None,
        email: None,
        reason: Reason::NotAllowed,
    };
    assert_eq!(d.label(), "evil\\u{1b}[1A\\u{1b}[2K@example.com");
    u.email = Some("jos\u{e9}\u{202e}moc.elpmaxe@x".into());
    let d = Decision {
        user: u,
        id: None,
        email: None,
        reason: Reason::NotAllowed,
    };
    assert_eq!(d.label(), "jos\u{e9}\\u{202e}moc.elpmaxe@x");
    assert_eq!(printable("plain José"), "plain José");
}

#[test]
fn a_blank_address_is_labelled_by_the_id() {
    let d = Decision {
        user: user(7, Some("   ")),
        id: None,
        email: None,
        reason: Reason::NoEmail,
    };
    assert_eq!(
        d.label(),
        "(no email, id 00000000-0000-4000-8000-000000000007)"
    );
}

#[test]
fn records_that_differ_only_in_device_count_are_ordered_the_same_whatever_the_input_order() {
    // The same user listed twice (held as a shared id), once without a device count: the plan,
    // and so its fingerprint and the saved plan, must not depend on the order of the pages.
    let d = desired(&["a@example.com"]);
    let bare = user(1, Some("x@example.com"));
    let counted = LiveUser {
        active_device_count: Some(1.0),
        ..bare.clone()
    };
    let first = compute(&d, &[bare.clone(), counted.clone()], &policy());
    let second = compute(&d, &[counted, bare], &policy());
    assert_eq!(first, second);
    assert_eq!(first.held.len(), 2, "{:?}", first.held);
}

#[test]
fn allowed_user_with_odd_id_is_kept() {
    let d = desired(&["alice@example.com"]);
    let mut alice = user(1, Some("alice@example.com"));
    alice.id = None;
    let plan = compute(&d, &[alice], &policy());
    assert_eq!(plan.keep.len(), 1);
    assert!(!plan.has_changes());
}

#[test]
fn deterministic_regardless_of_input_order() {
    let d = desired(&["a@example.com"]);
    let mut live: Vec<LiveUser> = (0..50)
        .map(|n| user(n, Some(&format!("u{}@example.com", n % 7))))
        .collect();
    let first = compute(&d, &live, &policy());
    live.reverse();
    let second = compute(&d, &live, &policy());
    assert_eq!(first, second);
    assert!(first
        .delete
        .windows(2)
        .all(|w| plan_order(&w[0], &w[1]).is_le()));
}

#[test]
fn the_plans_fingerprint_is_the_listings() {
    // Saved plans carry it and apply compares it: the plan's own route (the addresses it already
    // parsed) must give exactly the listing's, whoever is deleted, kept or held.
    let d = desired(&["alice@example.com"]);
    let mut live = vec![
        user(1, Some("Alice@Example.COM")),
        user(2, Some("zed@example.com")),
        user(3, Some("not an address")),
        user(4, None),
        user(5, Some("  caf\u{65}\u{301}@example.com ")),
        user(6, Some("bücher@xn--bcher-kva.example")),
        LiveUser {
            id: None,
            email: Some("noid@example.com".into()),
            ..LiveUser::default()
        },
        LiveUser {
            id: Some("not-a-uuid".into()),
            email: Some("odd@example.com".into()),
            ..LiveUser::default()
        },
    ];
    live.push(user(9, Some("zed@example.com")));
    let plan = compute(&d, &live, &policy());
    assert!(!plan.delete.is_empty() && !plan.keep.is_empty() && !plan.held.is_empty());
    assert_eq!(plan.live_fingerprint(), fingerprint(&live));
    assert_ne!(plan.live_fingerprint(), fingerprint(&live[1..]));
}

#[test]
fn fingerprint_ignores_order_and_case_but_not_membership() {
    let a = vec![
        user(1, Some("a@example.com")),
        user(2, Some("b@example.com")),
    ];
    let b = vec![
        user(2, Some("B@example.com")),
        user(1, Some("a@example.com")),
    ];
    assert_eq!(fingerprint(&a), fingerprint(&b));
    assert_ne!(fingerprint(&a), fingerprint(&a[..1]));
    assert!(fingerprint(&a).starts_with("sha256:"));
}

fn rules(text: &str) -> Desired {
    config::parse_str(text, "rules.yaml").unwrap()
}

fn addr(raw: &str) -> Email {
    Email::parse(raw).unwrap()
}

#[test]
fn domains_keep_every_address_at_exactly_that_domain() {
    let d = rules("users: [alice@other.example]\ndomains: [example.com]\n");
    let live = vec![
        user(1, Some("bob@example.com")),
        user(2, Some("carol@sub.example.com")),
        user(3, Some("dave@notexample.com")),
        user(4, Some("alice@other.example")),
    ];
    let plan = compute(&d, &live, &policy());
    assert_eq!(
        emails(&plan.keep),
        ["alice@other.example", "bob@example.com"]
    );
    assert_eq!(
        emails(&plan.delete),
        ["carol@sub.example.com", "dave@notexample.com"]
    );
    assert_eq!(plan.keep[1].reason.kind(), "domain");
    assert_eq!(
        crate::render::words::reason(&plan.keep[1].reason),
        "allowed by domain example.com (rules.yaml:2:11)"
    );
}

#[test]
fn protected_entries_win_over_everything() {
    let d = rules(
        "users:\n  - email: ops@example.com\n    expires: 2020-01-01\ndomains: [example.com]\nprotected:\n  - breakglass@corp.example\n  - \"*@svc.example.com\"\n  - ops@example.com\n",
    );
    let live = vec![
        user(1, Some("breakglass@corp.example")),
        user(2, Some("robot-1@svc.example.com")),
        user(3, Some("ops@example.com")),
        user(4, Some("intruder@corp.example")),
    ];
    let plan = compute(&d, &live, &policy());
    assert_eq!(emails(&plan.delete), ["intruder@corp.example"]);
    assert!(
        plan.keep.iter().all(|k| k.reason.kind() == "protected"),
        "{:?}",
        plan.keep
    );
    let ops = plan
        .keep
        .iter()
        .find(|k| k.email.as_deref() == Some("ops@example.com"))
        .unwrap();
    assert_eq!(
        crate::render::words::reason(&ops.reason),
        "protected by ops@example.com (rules.yaml:8:5)"
    );
    let robot = plan
        .keep
        .iter()
        .find(|k| k.email.as_deref() == Some("robot-1@svc.example.com"))
        .unwrap();
    assert_eq!(
        crate::render::words::reason(&robot.reason),
        "protected by pattern *@svc.example.com (rules.yaml:7:5)"
    );
}

#[test]
fn expiry_deletes_from_that_date_and_wins_over_a_domain() {
    let d = rules(
        "users:\n  - email: bob@example.com\n    note: contractor\n    expires: 2026-11-28\n  - email: eve@example.com\n    expires: 2026-11-29\ndomains: [example.com]\n",
    );
    let live = vec![
        user(1, Some("bob@example.com")),
        user(2, Some("eve@example.com")),
    ];
    let plan = compute(&d, &live, &policy());
    assert_eq!(emails(&plan.delete), ["bob@example.com"]);
    assert_eq!(
        crate::render::words::reason(&plan.delete[0].reason),
        "the allowlist entry at rules.yaml:2:5 expired on 2026-11-28 (note: \"contractor\")"
    );
    assert_eq!(
        crate::render::words::reason(&plan.keep[0].reason),
        "allowed by rules.yaml:5:5 until 2026-11-29"
    );
    // The day before, bob is still kept.
    let earlier = Policy::at(&crate::model::AccountId::example(), NOW - 86_400);
    assert!(compute(&d, &live, &earlier).delete.is_empty());
}

#[test]
fn matcher_lists_every_rule_deciding_one_first() {
    let d = rules("users: [bob@example.com]\ndomains: [example.com]\nprotected: [\"bob@*\"]\n");
    let m = Matcher::new(&d, Date::parse("2026-11-28").unwrap());
    let kinds: Vec<_> = m
        .all(&addr("bob@example.com"))
        .iter()
        .map(|r| r.kind())
        .collect();
    assert_eq!(kinds, ["protected", "allowed", "domain"]);
    assert_eq!(m.decide(&addr("bob@example.com")).kind(), "protected");
    assert_eq!(m.all(&addr("zed@other.example"))[0], Reason::NotAllowed);
}

fn many(n: u32) -> Vec<LiveUser> {
    (1..=n)
        .map(|i| user(i, Some(&format!("u{i}@example.com"))))
        .collect()
}

fn allow_first(keep: u32, extra: &str) -> Desired {
    let mut text = String::from("users:\n");
    for i in 1..=keep {
        text.push_str(&format!("  - u{i}@example.com\n"));
    }
    text.push_str(extra);
    config::parse_str(&text, "rails.yaml").unwrap()
}

fn with(overrides: Overrides) -> Policy {
    Policy {
        overrides,
        ..policy()
    }
}

#[test]
fn fraction_rail_refuses_a_large_plan_unless_the_exact_count_is_allowed() {
    let live = many(20);
    let d = allow_first(14, "");
    // 6 of 20 = 30% > 25%.
    let plan = compute(&d, &live, &policy());
    let refusal = plan.refusal.clone().unwrap();
    assert_eq!(refusal.kind(), "max_delete_fraction");
    let text = crate::render::words::refusal(&refusal);
    assert!(
        text.contains(
            "deletes 6 of 20 live users (30.0%), more than max_delete_fraction 0.25 (the default)"
        ),
        "{text}"
    );
    assert!(text.contains("pass --allow-deletes 6"), "{text}");
    assert_eq!(plan.delete.len(), 6, "the plan still shows who would go");
    assert!(compute(
        &d,
        &live,
        &with(Overrides {
            allow_deletes: Some(6),
            ..Overrides::default()
        })
    )
    .refusal
    .is_none());
    let wrong = compute(
        &d,
        &live,
        &with(Overrides {
            allow_deletes: Some(5),
            ..Overrides::default()
        }),
    );
    assert!(wrong
        .refusal
        .map(|r| crate::render::words::refusal(&r))
        .unwrap()
        .contains("--allow-deletes 5 was given, but this plan deletes 6"));
    // 5 of 20 = 25%: not more than the fraction.
    assert!(compute(&allow_first(15, ""), &live, &policy())
        .refusal
        .is_none());
    // Under 10 users the fraction does not apply.
    assert!(compute(&allow_first(4, ""), &many(9), &policy())
        .refusal
        .is_none());
    // A flag replaces the file's fraction.
    let strict = allow_first(15, "policy: {max_delete_fraction: 0.5}\n");
    assert!(compute(&strict, &live, &policy()).refusal.is_none());
    let flag = with(Overrides {
        max_delete_fraction: Some(0.1),
        ..Overrides::default()
    });
    assert!(compute(&strict, &live, &flag)
        .refusal
        .map(|r| crate::render::words::refusal(&r))
        .unwrap()
        .contains("(--max-delete-fraction)"));
}

#[test]
fn max_deletes_from_the_file_or_a_flag() {
    let live = many(40);
    let d = allow_first(37, "policy:\n  max_deletes: 2\n");
    let plan = compute(&d, &live, &policy());
    let text = crate::render::words::refusal(&plan.refusal.unwrap());
    assert!(
        text.contains("deletes 3 users, more than max_deletes 2 (policy at rails.yaml:40:16)"),
        "{text}"
    );
    let loose = with(Overrides {
        max_deletes: Some(3),
        ..Overrides::default()
    });
    assert!(compute(&d, &live, &loose).refusal.is_none());
}

#[test]
fn deleting_everyone_needs_allow_delete_all_whatever_the_thresholds() {
    let live = many(3);
    let d = config::parse_str("users: [nobody@example.com]\n", "all.yaml").unwrap();
    let plan = compute(
        &d,
        &live,
        &with(Overrides {
            allow_deletes: Some(3),
            max_delete_fraction: Some(1.0),
            ..Overrides::default()
        }),
    );
    assert_eq!(plan.refusal.as_ref().map(Refusal::kind), Some("delete_all"));
    assert!(plan
        .refusal
        .map(|r| crate::render::words::refusal(&r))
        .unwrap()
        .contains("allow_delete_all: true"));
    let d = config::parse_str(
        "users: [nobody@example.com]\npolicy: {allow_delete_all: true}\n",
        "all.yaml",
    )
    .unwrap();
    assert!(compute(&d, &live, &policy()).refusal.is_none());
    // An empty account has nothing to refuse.
    assert!(compute(&d, &[], &policy()).refusal.is_none());
}

#[test]
fn near_miss_holds_the_user_until_released() {
    let d = desired(&["jsmith@corp.com", "alice@corp.com"]);
    let live = vec![
        user(1, Some("j.smith@corp.com")),
        user(2, Some("alice@corp.com")),
        user(3, Some("mallory@corp.com")),
        user(4, Some("jsmith@corp.cm")),
        user(6, Some("jsmith@corp.org")),
    ];
    let plan = compute(&d, &live, &policy());
    assert_eq!(
        emails(&plan.delete),
        ["jsmith@corp.org", "mallory@corp.com"],
        "three edits away is not a near miss"
    );
    assert_eq!(emails(&plan.held), ["j.smith@corp.com", "jsmith@corp.cm"]);
    let text = crate::render::words::reason(&plan.held[0].reason);
    assert!(text.starts_with("`jsmith@corp.com` at users.yaml:2:5 is one edit from live `j.smith@corp.com`: correct line 2"), "{text}");
    assert!(
        text.ends_with("pass --allow-near-miss j.smith@corp.com"),
        "{text}"
    );
    let released = compute(
        &d,
        &live,
        &with(Overrides {
            allow_near_miss: vec![addr("j.smith@corp.com")],
            ..Overrides::default()
        }),
    );
    assert_eq!(
        emails(&released.delete),
        ["j.smith@corp.com", "jsmith@corp.org", "mallory@corp.com"]
    );
    // Once the entry matches a live user, its neighbours are no longer near misses.
    let mut with_jsmith = live.clone();
    with_jsmith.push(user(5, Some("jsmith@corp.com")));
    let plan = compute(&d, &with_jsmith, &policy());
    assert_eq!(
        emails(&plan.delete),
        [
            "j.smith@corp.com",
            "jsmith@corp.cm",
            "jsmith@corp.org",
            "mallory@corp.com"
        ]
    );
}

#[test]
fn recent_users_are_held_when_the_policy_says_so() {
    let d = allow_first(
        0,
        "domains: [keep.example]\npolicy: {hold_active_within: 7d, max_delete_fraction: 1}\n",
    );
    let at = |email: &str, login: Option<&str>, n: u32| LiveUser {
        last_successful_login: login.map(str::to_string),
        ..user(n, Some(email))
    };
    let live = vec![
        at("recent@example.com", Some("2026-11-25T08:00:00Z"), 1),
        at("old@example.com", Some("2026-11-01T08:00:00Z"), 2),
        at("never@example.com", None, 3),
        at("garbled@example.com", Some("last tuesday"), 4),
    ];
    let plan = compute(&d, &live, &policy());
    assert_eq!(
        emails(&plan.delete),
        ["never@example.com", "old@example.com"]
    );
    assert_eq!(
        emails(&plan.held),
        ["garbled@example.com", "recent@example.com"]
    );
    assert_eq!(
        crate::render::words::reason(&plan.held[1].reason),
        "last login 2026-11-25T08:00:00Z, within policy.hold_active_within (7d); release with --include-active"
    );
    let all = compute(
        &d,
        &live,
        &with(Overrides {
            include_active: true,
            ..Overrides::default()
        }),
    );
    assert_eq!(all.delete.len(), 4);
}

#[test]
fn two_users_with_one_address_are_both_held() {
    let d = desired(&["alice@example.com"]);
    let live = vec![
        user(1, Some("bob@example.com")),
        user(2, Some("Bob@Example.com ")),
        user(3, Some("alice@example.com")),
        user(4, Some("alice@example.com")),
    ];
    let plan = compute(&d, &live, &policy());
    assert!(plan.delete.is_empty());
    assert_eq!(plan.held.len(), 2);
    assert!(plan
        .held
        .iter()
        .all(|h| h.reason == Reason::DuplicateEmail { count: 2 }));
    assert_eq!(plan.keep.len(), 2, "allowed duplicates are simply kept");
    let released = compute(
        &d,
        &live,
        &with(Overrides {
            allow_duplicate_email: true,
            ..Overrides::default()
        }),
    );
    assert_eq!(released.delete.len(), 2);
}

#[test]
fn reasons_never_carry_terminal_escapes_from_the_api() {
    let r = Reason::Active {
        last_login: "\u{1b}[2K\u{1b}[1Aevil".into(),
        within: Span { seconds: 86_400 },
    };
    assert!(
        !crate::render::words::reason(&r).contains('\u{1b}'),
        "{}",
        crate::render::words::reason(&r)
    );
}

#[test]
fn two_edits_from_an_unmatched_entry_are_not_a_near_miss() {
    // The rail holds one edit (or two letters swapped); two letters changed, or one changed and
    // one missing, is someone else, and is deleted like any user not allowed.
    let d = desired(&["jsmith@corp.com", "keep@corp.com"]);
    let live = vec![
        user(1, Some("keep@corp.com")),
        user(2, Some("ksmyth@corp.com")),
        user(3, Some("dsmith@corp.cm")),
        user(4, Some("jsmiht@corp.com")),
    ];
    let plan = compute(&d, &live, &policy());
    assert_eq!(emails(&plan.delete), ["dsmith@corp.cm", "ksmyth@corp.com"]);
    assert_eq!(
        emails(&plan.held),
        ["jsmiht@corp.com"],
        "a swap is one edit"
    );
}

#[test]
fn one_letter_missing_and_another_added_elsewhere_is_held_as_a_near_miss() {
    // The index's reach (docs/safety.md): `jsmith` and `smithx` are the same once one letter is
    // taken out of each; holding them is the safe side.
    let d = desired(&["jsmith@corp.com", "keep@corp.com"]);
    let live = vec![
        user(1, Some("keep@corp.com")),
        user(2, Some("smithx@corp.com")),
    ];
    let plan = compute(&d, &live, &policy());
    assert!(plan.delete.is_empty(), "{:?}", plan.delete);
    assert_eq!(plan.held[0].reason.kind(), "near_miss");
}

#[test]
fn a_near_miss_on_an_accented_letter_is_one_edit() {
    let d = desired(&["jos\u{e9}@corp.com", "keep@corp.com"]);
    let live = vec![
        user(1, Some("jose@corp.com")),
        user(2, Some("keep@corp.com")),
    ];
    let plan = compute(&d, &live, &policy());
    assert!(plan.delete.is_empty(), "{:?}", plan.delete);
    assert_eq!(plan.held[0].reason.kind(), "near_miss");
}

#[test]
fn users_whose_ids_differ_only_in_case_are_held_and_not_deletable() {
    let d = rules("users: [alice@corp.com]\nprotected: [breakglass@corp.com]\n");
    let mut breakglass = user(1, Some("breakglass@corp.com"));
    breakglass.id = Some("0b5b6c4e-1d1f-4a51-9a57-9d8b1b0f7a01".into());
    let mut contractor = user(2, Some("contractor@corp.com"));
    contractor.id = Some("0B5B6C4E-1D1F-4A51-9A57-9D8B1B0F7A01".into());
    let live = vec![
        breakglass,
        contractor,
        user(3, Some("alice@corp.com")),
        user(4, Some("x@corp.com")),
    ];
    let plan = compute(&d, &live, &policy());
    assert_eq!(emails(&plan.delete), ["x@corp.com"]);
    assert_eq!(plan.held.len(), 1);
    assert_eq!(plan.held[0].reason, Reason::DuplicateId { count: 2 });
    assert_eq!(
        plan.deletable, 2,
        "alice and x; neither twin can be deleted"
    );
}

#[test]
fn the_rails_count_only_users_who_could_be_deleted() {
    // One user without an email (as in the demo seed) does not make "everyone" smaller.
    let d = desired(&["nobody@example.com"]);
    let live = vec![
        user(1, None),
        user(2, Some("a@example.com")),
        user(3, Some("b@example.com")),
    ];
    let plan = compute(&d, &live, &policy());
    assert_eq!(plan.deletable, 2);
    assert_eq!(plan.refusal, Some(Refusal::DeleteAll { live: 2 }));
    // 30 email-less service users and 10 people: deleting the 10 deletes everyone who
    // could be deleted, not a quarter of the account.
    let mut live: Vec<LiveUser> = (0..30).map(|n| user(n, None)).collect();
    live.extend((30..40).map(|n| user(n, Some(&format!("p{n}@example.com")))));
    let plan = compute(&d, &live, &policy());
    assert_eq!(plan.delete.len(), 10);
    assert_eq!(plan.refusal, Some(Refusal::DeleteAll { live: 10 }));
    // Unusable addresses and invalid ids do not count either; kept users do.
    let mut bad_id = user(41, Some("c@example.com"));
    bad_id.id = Some("nope".into());
    let live = vec![
        user(40, Some("ops@corp")),
        bad_id,
        user(42, Some("nobody@example.com")),
        user(43, Some("d@example.com")),
    ];
    let plan = compute(&d, &live, &policy());
    assert_eq!(plan.deletable, 2);
    assert_eq!(plan.refusal, None);
}

#[test]
fn unmatched_protected_entries_are_reported_and_their_near_misses_held() {
    let d = rules(
        "users: [alice@example.com]\nprotected:\n  - breakglas@example.com\n  - \"*@svc.example.com\"\n  - alice@example.com\n",
    );
    let live = vec![
        user(1, Some("alice@example.com")),
        user(2, Some("breakglass@example.com")),
        user(3, Some("mallory@example.com")),
    ];
    let plan = compute(&d, &live, &policy());
    let unmatched: Vec<&str> = plan
        .unmatched_protected
        .iter()
        .map(|p| p.written.as_str())
        .collect();
    assert_eq!(unmatched, ["breakglas@example.com", "*@svc.example.com"]);
    assert_eq!(emails(&plan.delete), ["mallory@example.com"]);
    let held = &plan.held[0];
    assert_eq!(held.email.as_deref(), Some("breakglass@example.com"));
    assert!(
        crate::render::words::reason(&held.reason).starts_with(
            "protected entry `breakglas@example.com` at rules.yaml:3:5 is one edit from live `breakglass@example.com`: correct line 3"
        ),
        "{}",
        crate::render::words::reason(&held.reason)
    );
}

#[test]
fn live_addresses_with_invisible_characters_are_held_never_matched() {
    let d = rules(
        "users: [breakglass@example.com, keep@example.com]\nprotected: [\"*@example.com\"]\n",
    );
    let live = vec![
        user(1, Some("break\u{200b}glass@example.com")),
        user(2, Some("keep@example.com")),
    ];
    let plan = compute(&d, &live, &policy());
    assert!(plan.delete.is_empty());
    assert_eq!(plan.keep.len(), 1);
    assert!(matches!(
        &plan.held[0].reason,
        Reason::UnusableAddress {
            why: AddressError::Character {
                found: '\u{200b}',
                ..
            }
        }
    ));
    assert!(crate::render::words::reason(&plan.held[0].reason).contains("U+200B"));
}

#[test]
fn internationalised_domains_match_in_either_form() {
    let d = rules(
        "users: [anna@xn--bcher-kva.example]\ndomains: [\"b\u{fc}cher.example\"]\nprotected: [\"*@xn--caf-dma.example\"]\n",
    );
    let live = vec![
        user(1, Some("Anna@B\u{fc}cher.example")),
        user(2, Some("ben@xn--bcher-kva.example")),
        user(3, Some("ops@caf\u{e9}.example")),
        user(4, Some("x@other.example")),
    ];
    let plan = compute(&d, &live, &policy());
    assert_eq!(emails(&plan.delete), ["x@other.example"]);
    let kinds: Vec<&str> = plan.keep.iter().map(|k| k.reason.kind()).collect();
    assert_eq!(kinds, ["allowed", "domain", "protected"]);
}

#[test]
fn a_look_alike_allowlist_entry_holds_the_user_it_looks_like() {
    // Cyrillic а (U+0430) and е (U+0435): two edits from alice, one skeleton.
    let d = desired(&["\u{430}lic\u{435}@corp.com", "keep@corp.com"]);
    let live = vec![
        user(1, Some("alice@corp.com")),
        user(2, Some("keep@corp.com")),
        user(3, Some("mallory@corp.com")),
    ];
    let plan = compute(&d, &live, &policy());
    assert_eq!(emails(&plan.delete), ["mallory@corp.com"]);
    assert_eq!(emails(&plan.held), ["alice@corp.com"]);
    let reason = &plan.held[0].reason;
    assert_eq!(reason.kind(), "near_miss");
    let text = crate::render::words::reason(reason);
    assert!(text.contains("looks like live `alice@corp.com`"), "{text}");
    assert!(
        text.ends_with("pass --allow-near-miss alice@corp.com"),
        "{text}"
    );
    let released = compute(
        &d,
        &live,
        &with(Overrides {
            allow_near_miss: vec![addr("alice@corp.com")],
            ..Overrides::default()
        }),
    );
    assert_eq!(
        emails(&released.delete),
        ["alice@corp.com", "mallory@corp.com"]
    );
}

#[test]
fn a_ligature_in_an_entry_or_a_protected_address_holds_the_user_it_looks_like() {
    let d = rules(
        "users: [\"\u{fb01}ona.ford@corp.com\", keep@corp.com]\nprotected: [\"\u{133}ssel@corp.com\"]\n",
    );
    let live = vec![
        user(1, Some("fiona.ford@corp.com")),
        user(2, Some("ijssel@corp.com")),
        user(3, Some("keep@corp.com")),
        user(4, Some("mallory@corp.com")),
    ];
    let plan = compute(&d, &live, &policy());
    assert_eq!(emails(&plan.delete), ["mallory@corp.com"]);
    assert_eq!(
        emails(&plan.held),
        ["fiona.ford@corp.com", "ijssel@corp.com"]
    );
    assert!(plan.held.iter().all(|h| h.reason.kind() == "near_miss"));
    let text = crate::render::words::reason(&plan.held[1].reason);
    assert!(
        text.starts_with(
            "protected entry `\u{133}ssel@corp.com` at rules.yaml:2:13 looks like live"
        ),
        "{text}"
    );
}

#[test]
fn domains_that_match_no_live_user_are_reported() {
    let d = rules("users: [alice@corp.com]\ndomains: [corp.com, nobody.example, other.example]\n");
    let live = vec![
        user(1, Some("alice@corp.com")),
        user(2, Some("bob@corp.com")),
        user(3, Some("x@other.example")),
    ];
    let plan = compute(&d, &live, &policy());
    let unmatched: Vec<&str> = plan
        .unmatched_domains
        .iter()
        .map(|d| d.domain.as_str())
        .collect();
    assert_eq!(unmatched, ["nobody.example"]);
    assert_eq!(
        plan.unmatched_domains[0].location.to_string(),
        "rules.yaml:2:21"
    );
    assert!(compute(&rules("users: [a@b.co]\n"), &live, &policy())
        .unmatched_domains
        .is_empty());
}

#[test]
fn a_look_alike_or_mistyped_domain_holds_the_users_at_the_domain_it_looks_like() {
    // Cyrillic с and о (U+0441, U+043E) in `соrp.com`; `corp.co` one edit from corp.com.
    for (domain, likeness) in [
        (
            "\u{441}\u{43e}rp.com",
            "looks like the domain of live `bob@corp.com`",
        ),
        (
            "corp.co",
            "is one edit from the domain of live `bob@corp.com`",
        ),
    ] {
        let d = rules(&format!(
            "users: [alice@corp.com]\ndomains: [\"{domain}\"]\n"
        ));
        let live = vec![
            user(1, Some("alice@corp.com")),
            user(2, Some("bob@corp.com")),
            user(3, Some("carol@corp.com")),
            user(4, Some("eve@elsewhere.example")),
        ];
        let plan = compute(&d, &live, &policy());
        assert_eq!(emails(&plan.delete), ["eve@elsewhere.example"], "{domain}");
        assert_eq!(emails(&plan.held), ["bob@corp.com", "carol@corp.com"]);
        let text = crate::render::words::reason(&plan.held[0].reason);
        assert!(
            text.starts_with(&format!(
                "domain entry `{domain}` at rules.yaml:2:11 {likeness}"
            )),
            "{text}"
        );
        assert_eq!(plan.unmatched_domains.len(), 1);
    }
}

#[test]
fn indexed_protected_patterns_match_exactly_what_the_glob_matches() {
    let patterns = [
        "*@svc.example",
        "ops@*",
        "*@*.corp.example",
        "a*z@x.example",
        "*@*",
        "*ops@*",
        "*@corp.example",
        "*@*.example",
        "ops@svc.example",
        "x*@*.b\u{fc}cher.example",
    ];
    let mut text = String::from("users: [keep@example.com]\nprotected:\n");
    for p in patterns {
        text.push_str(&format!("  - \"{p}\"\n"));
    }
    let d = rules(&text);
    let m = Matcher::new(&d, Date::parse("2026-11-28").unwrap());
    for raw in [
        "ops@svc.example",
        "robot@svc.example",
        "ops@anywhere.example",
        "x@deep.sub.corp.example",
        "x@corp.example",
        "x@notcorp.example",
        "abz@x.example",
        "az@x.example",
        "devops@other.org",
        "x1@a.b\u{fc}cher.example",
        "x1@xn--bcher-kva.example",
    ] {
        let address = addr(raw);
        let glob: Vec<&str> = d
            .protected
            .iter()
            .filter(|p| p.matches(address.as_str()))
            .map(|p| p.pattern.as_str())
            .collect();
        // `all` and `decide`: the protected address first, then patterns in file order.
        let (mut ordered, patterns): (Vec<&str>, Vec<&str>) =
            glob.iter().partition(|p| !p.contains('*'));
        ordered.extend(patterns);
        let indexed: Vec<String> = m
            .all(&address)
            .into_iter()
            .filter_map(|r| match r {
                Reason::Protected { pattern, .. } => Some(pattern),
                _ => None,
            })
            .collect();
        assert_eq!(indexed, ordered, "{raw}");
        let mut seen = vec![false; d.protected.len()];
        m.judge(&address, Some(&mut seen));
        let marked: Vec<&str> = d
            .protected
            .iter()
            .zip(&seen)
            .filter(|(_, s)| **s)
            .map(|(p, _)| p.pattern.as_str())
            .collect();
        assert_eq!(marked, glob, "{raw}");
        match m.decide(&address) {
            Reason::Protected { pattern, .. } => {
                assert_eq!(Some(pattern.as_str()), ordered.first().copied())
            }
            other => assert!(glob.is_empty(), "{raw}: {other:?}"),
        }
    }
}

#[test]
fn seats_freed_counts_the_deleted_users_seats() {
    let d = desired(&["alice@example.com"]);
    let seat = |n, a, g| LiveUser {
        access_seat: Some(a),
        gateway_seat: Some(g),
        ..user(n, Some(&format!("u{n}@example.com")))
    };
    let live = vec![
        seat(1, true, true),
        seat(2, true, false),
        seat(3, false, false),
    ];
    assert_eq!(compute(&d, &live, &policy()).seats_freed(), (2, 1));
}
