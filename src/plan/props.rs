//! Property tests over random desired states and random live user lists: the plan against an
//! independent model of the rules, with addresses that differ only in case, composition (NFC and
//! NFD), the form of an internationalised domain, or an invisible character.

use super::*;
use crate::config;
use proptest::prelude::*;

const LOCALS: &[&str] = &[
    "alice",
    "bob",
    "j.smith",
    "jsmith",
    "jos\u{e9}",
    "jose\u{301}",
    "jose",
    "zed",
    "breakglass",
    // Looks like `breakglass`; no address may contain U+200B.
    "break\u{200b}glass",
    "a\u{ad}b",
    // Looks like `alice`: Cyrillic а and е (U+0430, U+0435), two edits away.
    "\u{430}lic\u{435}",
];
const DOMAINS: &[&str] = &[
    "example.com",
    "corp.example",
    "svc.example.com",
    // One internationalised domain in three spellings: Unicode, punycode, decomposed.
    "b\u{fc}cher.example",
    "xn--bcher-kva.example",
    "bu\u{308}cher.example",
    // Looks like `example.com`: a Cyrillic а.
    "ex\u{430}mple.com",
];

/// The characters of the pool that no address may contain (the model's own list).
const INVISIBLE: &[char] = &['\u{200b}', '\u{ad}'];

/// An address from a small pool, written with random case and surrounding spaces, so that
/// different spellings of one address meet.
fn address() -> impl Strategy<Value = String> {
    (
        0..LOCALS.len(),
        0..DOMAINS.len(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(l, d, upper, spaces)| {
            let mut a = format!("{}@{}", LOCALS[l], DOMAINS[d]);
            if upper {
                a = a.to_uppercase();
            }
            if spaces {
                a = format!("  {a} ");
            }
            a
        })
}

/// A YAML double-quoted scalar (JSON escapes are YAML escapes).
fn q(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

#[derive(Debug, Clone)]
struct Entry {
    address: String,
    expires: Option<bool>,
}

/// An independent model of the matching rules, written from docs/config.md, to check the
/// plan against (not the `Matcher` the plan itself uses).
#[derive(Debug, Clone, Default)]
struct Oracle {
    /// (address, expired) per `users:` entry, first spelling only.
    entries: Vec<(String, bool)>,
    domains: Vec<String>,
    protected: Vec<String>,
}

/// The model's normalisation: trim, lower-case, NFC, and the pool's one punycode domain
/// written in Unicode (a table, not the IDNA code the plan uses).
fn oracle_norm(a: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let a: String = a.trim().to_lowercase().nfc().collect();
    a.replace("xn--bcher-kva.example", "b\u{fc}cher.example")
}

/// The model's own table of the pool's look-alikes (Cyrillic а and е look like Latin a and
/// e), not the UTS 39 tables the plan uses.
fn looks(a: &str) -> String {
    a.chars()
        .map(|c| match c {
            '\u{430}' => 'a',
            '\u{435}' => 'e',
            c => c,
        })
        .collect()
}

fn domain_of(a: &str) -> &str {
    a.rsplit_once('@').map_or("", |(_, d)| d)
}

fn invisible(a: &str) -> bool {
    a.chars().any(|c| INVISIBLE.contains(&c))
}

fn glob(p: &[char], t: &[char]) -> bool {
    match p.split_first() {
        None => t.is_empty(),
        Some(('*', rest)) => (0..=t.len()).any(|i| glob(rest, &t[i..])),
        Some((c, rest)) => t.first() == Some(c) && glob(rest, &t[1..]),
    }
}

impl Oracle {
    fn keeps(&self, raw: &str) -> bool {
        if invisible(raw) {
            // Never matched: held back, so neither kept nor deleted.
            return false;
        }
        let a = oracle_norm(raw);
        let chars: Vec<char> = a.chars().collect();
        if self
            .protected
            .iter()
            .any(|p| glob(&p.chars().collect::<Vec<_>>(), &chars))
        {
            return true;
        }
        if let Some((_, expired)) = self.entries.iter().find(|(e, _)| *e == a) {
            return !expired;
        }
        let domain = a
            .rsplit_once('@')
            .map(|(_, d)| d.to_string())
            .unwrap_or_default();
        self.domains.contains(&domain)
    }
}

fn desired_text() -> impl Strategy<Value = (String, Oracle)> {
    (
        prop::collection::vec((address(), prop::option::of(any::<bool>())), 1..8),
        prop::collection::vec(0..DOMAINS.len(), 0..2),
        prop::collection::vec((address(), any::<bool>()), 0..3),
    )
        .prop_map(|(entries, domains, protected)| {
            let entries: Vec<Entry> = entries
                .into_iter()
                .map(|(address, expires)| Entry { address, expires })
                .collect();
            let mut text = String::from("users:\n");
            let mut oracle = Oracle::default();
            let mut seen = std::collections::HashSet::new();
            for e in &entries {
                // Same address twice with other settings is a config error: keep the first.
                if !seen.insert(oracle_norm(&e.address)) {
                    continue;
                }
                oracle
                    .entries
                    .push((oracle_norm(&e.address), e.expires == Some(true)));
                match e.expires {
                    None => text.push_str(&format!("  - {}\n", q(&e.address))),
                    Some(past) => text.push_str(&format!(
                        "  - email: {}\n    expires: {}\n",
                        q(&e.address),
                        if past { "2000-01-01" } else { "2999-01-01" }
                    )),
                }
            }
            if !domains.is_empty() {
                text.push_str("domains:\n");
                for d in domains {
                    text.push_str(&format!("  - {}\n", q(DOMAINS[d])));
                    oracle.domains.push(oracle_norm(DOMAINS[d]));
                }
            }
            if !protected.is_empty() {
                text.push_str("protected:\n");
                for (a, pattern) in protected {
                    let written = match (pattern, a.trim().split_once('@')) {
                        (true, Some((_, domain))) => format!("*@{domain}"),
                        _ => a,
                    };
                    text.push_str(&format!("  - {}\n", q(&written)));
                    oracle.protected.push(oracle_norm(&written));
                }
            }
            (text, oracle)
        })
}

fn live_users() -> impl Strategy<Value = Vec<LiveUser>> {
    prop::collection::vec(
        (
            prop::option::weighted(0.9, address()),
            0u8..10,
            0u32..40,
            prop::option::of(0i64..30),
        ),
        0..30,
    )
    .prop_map(|users| {
        users
            .into_iter()
            .map(|(email, id_kind, n, days)| LiveUser {
                id: match id_kind {
                    0 => None,
                    1 => Some(format!("not-a-uuid-{n}")),
                    _ => Some(format!("00000000-0000-4000-8000-{n:012}")),
                },
                email,
                last_successful_login: days
                    .map(|d| format!("{}T00:00:00Z", Date::from_days_since_epoch(20_785 - d))),
                ..LiveUser::default()
            })
            .collect()
    })
}

fn overrides() -> impl Strategy<Value = Overrides> {
    (
        any::<bool>(),
        any::<bool>(),
        prop::option::of(0usize..30),
        prop::option::of(address()),
    )
        .prop_map(
            |(include_active, allow_duplicate_email, allow_deletes, near)| Overrides {
                include_active,
                allow_duplicate_email,
                allow_deletes,
                allow_near_miss: near
                    .and_then(|a| Email::parse(&a).ok())
                    .into_iter()
                    .collect(),
                ..Overrides::default()
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn deletion_set_is_exactly_the_unmatched_users_minus_the_held(
        (text, oracle) in desired_text(),
        live in live_users(),
        overrides in overrides(),
        active in any::<bool>(),
    ) {
        let text = if active { format!("{text}policy: {{hold_active_within: 7d}}\n") } else { text };
        // A desired state that names an address with an invisible character is an error
        // (at its line, naming the code point), never a rule that protects nobody.
        if invisible(&text) {
            let e = config::parse_str(&text, "p.yaml").unwrap_err().to_string();
            prop_assert!(e.contains("U+200B") || e.contains("U+00AD"), "{}", e);
            return Ok(());
        }
        let desired = config::parse_str(&text, "p.yaml").unwrap();
        let policy = Policy { overrides, ..Policy::at(&crate::model::AccountId::example(), 20_785 * 86_400) };
        let plan = compute(&desired, &live, &policy);
        let matcher = Matcher::new(&desired, policy.today);

        // Every live user is in exactly one list.
        prop_assert_eq!(plan.delete.len() + plan.keep.len() + plan.held.len(), live.len());
        // Nobody matched by an entry, a domain or a protected entry is ever deleted, and
        // every deleted user has an address and an id that may go into a URL.
        for d in &plan.delete {
            let address = d.email.as_ref().unwrap();
            prop_assert!(!matcher.decide(address).keeps(), "{} is allowed", address);
            prop_assert!(!matcher.all(address).iter().any(|r| r.kind() == "protected"));
            prop_assert!(d.user.id.as_deref().and_then(UserId::parse).is_some());
            prop_assert!(!invisible(d.user.email.as_deref().unwrap_or("")));
        }
        // Kept users are exactly those a rule keeps.
        for k in &plan.keep {
            prop_assert!(matcher.decide(k.email.as_ref().unwrap()).keeps());
        }
        // The unmatched users are the deleted plus the held ones.
        let unmatched = live.iter().filter(|u| {
            match u.email.as_deref().map(Email::parse) {
                Some(Ok(a)) => !matcher.decide(&a).keeps(),
                _ => true,
            }
        }).count();
        prop_assert_eq!(unmatched, plan.delete.len() + plan.held.len());
        prop_assert!(plan.held.iter().all(|h| !h.reason.keeps()));

        // Against the independent model: exactly the users it keeps are kept, and nobody it
        // keeps is deleted.
        let key = |u: &LiveUser| format!("{u:?}");
        let mut expected: Vec<String> = live
            .iter()
            .filter(|u| u.email.as_deref().is_some_and(|e| !e.trim().is_empty() && oracle.keeps(e)))
            .map(key)
            .collect();
        let mut kept: Vec<String> = plan.keep.iter().map(|d| key(&d.user)).collect();
        expected.sort();
        kept.sort();
        prop_assert_eq!(kept, expected);
        for d in &plan.delete {
            prop_assert!(!oracle.keeps(d.user.email.as_deref().unwrap_or("")));
            // The typo rail: a deleted user is never one edit away from an entry that
            // matches no live user (unless released by --allow-near-miss).
            let address = d.email.as_deref().unwrap_or("");
            if !policy.overrides.allow_near_miss.iter().any(|a| a == &address) {
                for entry in &plan.absent {
                    prop_assert!(crate::distance::levenshtein(&entry.email, address) > 1, "{} is one edit from {}", address, entry.email);
                }
                for p in plan.unmatched_protected.iter().filter(|p| !p.is_pattern()) {
                    prop_assert!(crate::distance::levenshtein(&p.pattern, address) > 1, "{} is one edit from protected {}", address, p.pattern);
                    prop_assert!(looks(&p.pattern) != looks(address), "{} looks like protected {}", address, p.pattern);
                }
                for entry in &plan.absent {
                    prop_assert!(looks(&entry.email) != looks(address), "{} looks like {}", address, entry.email);
                }
                // Nor is its domain one edit from, or a look-alike of, an unmatched domain.
                for dom in &plan.unmatched_domains {
                    let (dom, theirs) = (dom.domain.as_str(), domain_of(address));
                    prop_assert!(crate::distance::levenshtein(dom, theirs) > 1 && looks(dom) != looks(theirs), "{} is near the domain entry {}", address, dom);
                }
            }
        }
        // The unmatched domains are the domain entries at which no live user has an address.
        let live_domains: std::collections::HashSet<String> = live
            .iter()
            .filter_map(|u| u.email.as_deref())
            .filter(|e| !e.trim().is_empty() && !invisible(e))
            .map(|e| domain_of(&oracle_norm(e)).to_string())
            .collect();
        let mut expected: Vec<&str> = oracle.domains.iter().map(String::as_str).filter(|d| !live_domains.contains(*d)).collect();
        expected.sort_unstable();
        expected.dedup();
        let mut unmatched: Vec<&str> = plan.unmatched_domains.iter().map(|d| d.domain.as_str()).collect();
        unmatched.sort_unstable();
        prop_assert_eq!(unmatched, expected);
        // The whole-plan rails count only the users who could be deleted at all.
        // (An id that two live users share names neither.)
        let id_count = |id: &str| live.iter().filter(|v| v.id.as_deref().is_some_and(|o| o.eq_ignore_ascii_case(id))).count();
        let deletable = live.iter().filter(|u| {
            u.id.as_deref().is_some_and(|id| UserId::parse(id).is_some() && id_count(id) == 1)
                && u.email.as_deref().is_some_and(|e| !e.trim().is_empty() && !invisible(e))
        }).count();
        prop_assert_eq!(plan.deletable, deletable);

        // Deterministic: same input, same plan; input order does not matter.
        prop_assert_eq!(&compute(&desired, &live, &policy), &plan);
        let mut reversed = live.clone();
        reversed.reverse();
        prop_assert_eq!(&compute(&desired, &reversed, &policy), &plan);
        // Classified in parts on as many threads (as a large listing is), the same plan.
        for parts in [2, 3, 7] {
            prop_assert_eq!(&compute_in(&desired, live.clone(), &policy, parts), &plan);
        }
    }
}

/// Decisions whose addresses tie on their first 16 bytes, or are shorter than that, or none,
/// with ids and names that decide between equal addresses.
fn decisions_to_sort() -> impl Strategy<Value = Vec<Decision>> {
    const SORT_LOCALS: &[&str] = &[
        "a",
        "aaaaaaaaaaaaaaa",
        "aaaaaaaaaaaaaaaa",
        "aaaaaaaaaaaaaaaaa",
        "aaaaaaaaaaaaaaaa1",
        "aaaaaaaaaaaaaaaa2",
        "firstname.lastname",
        "firstname.lastnamf",
        "jos\u{e9}",
        "zed",
    ];
    prop::collection::vec(
        (
            prop::option::weighted(0.9, (0..SORT_LOCALS.len(), 0..DOMAINS.len())),
            prop::option::of(0u32..4),
            prop::option::of(0u8..3),
            any::<bool>(),
        ),
        0..60,
    )
    .prop_map(|users| {
        users
            .into_iter()
            .map(|(email, id, name, seat)| {
                let user = LiveUser {
                    id: id.map(|n| format!("00000000-0000-4000-8000-{n:012}")),
                    email: email.map(|(l, d)| format!("{}@{}", SORT_LOCALS[l], DOMAINS[d])),
                    name: name.map(|n| format!("User {n}")),
                    access_seat: Some(seat),
                    ..LiveUser::default()
                };
                Decision::of(user, Reason::NotAllowed)
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn the_plans_sort_is_a_stable_sort_in_plan_order(list in decisions_to_sort()) {
        let mut expected = list.clone();
        expected.sort_by(plan_order);
        let mut sorted = list;
        sort_in_plan_order(&mut sorted);
        prop_assert_eq!(sorted, expected);
    }
}
