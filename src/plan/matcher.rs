//! The rules of a desired state, indexed for matching one address at a time: protected
//! addresses and patterns, `users:` entries (with their expiry), `domains:`.

use foldhash::HashMap;

use super::Reason;
use crate::config::{AllowEntry, Desired, DomainEntry, ProtectedEntry};
use crate::date::Date;
use crate::model::Email;

/// The rules of a desired state, indexed for matching one normalised address at a time.
///
/// Precedence: a protected entry keeps the user whatever else applies; then an exact `users:`
/// entry decides (kept, or deleted once it has expired); then a domain keeps the user; otherwise
/// nothing matches and the user is an extra.
pub(crate) struct Matcher<'a> {
    exact: HashMap<&'a str, (usize, &'a AllowEntry)>,
    domains: HashMap<&'a str, &'a DomainEntry>,
    protected: &'a [ProtectedEntry],
    /// Protected addresses, by address, with their index in `protected`.
    protected_exact: HashMap<&'a str, usize>,
    protected_patterns: Patterns<'a>,
    today: Date,
}

/// [`Matcher::judge`]'s answer for one address.
pub(crate) struct Judged {
    /// The rule that decides.
    pub(crate) reason: Reason,
    /// The index in `Desired::entries` of the entry naming the address, if any.
    pub(crate) entry: Option<usize>,
}

/// The protected patterns, indexed by shape so that the common ones cost a hash lookup per
/// address, not a glob per pattern: `*@domain` by domain, `local@*` by local part, `*@*.domain`
/// by each parent domain of the address. Any other pattern is tried one by one. Each holds
/// indexes into `Desired::protected`.
#[derive(Default)]
struct Patterns<'a> {
    by_domain: HashMap<&'a str, Vec<usize>>,
    by_local: HashMap<&'a str, Vec<usize>>,
    by_parent: HashMap<&'a str, Vec<usize>>,
    /// In file order.
    other: Vec<usize>,
}

impl<'a> Patterns<'a> {
    fn new(protected: &'a [ProtectedEntry]) -> Patterns<'a> {
        let mut patterns = Patterns::default();
        for (i, p) in protected.iter().enumerate().filter(|(_, p)| p.is_pattern()) {
            // A pattern has exactly one `@`, as an address does (see `normalize_pattern`), so
            // `*` on one side of it never matches across it.
            let (local, domain) = p.pattern.split_once('@').unwrap_or((&p.pattern, ""));
            let plain = |s: &str| !s.contains('*');
            let list = match (local, domain) {
                ("*", d) if plain(d) => patterns.by_domain.entry(domain).or_default(),
                (l, "*") if plain(l) => patterns.by_local.entry(local).or_default(),
                ("*", d) if d.strip_prefix("*.").is_some_and(plain) => {
                    patterns.by_parent.entry(&domain[2..]).or_default()
                }
                _ => &mut patterns.other,
            };
            list.push(i);
        }
        patterns
    }

    /// The index of every pattern that matches `address`, in no particular order.
    fn matching<'s>(
        &'s self,
        protected: &'s [ProtectedEntry],
        address: &'s Email,
    ) -> impl Iterator<Item = usize> + 's {
        let domain = address.domain();
        let local = address
            .as_str()
            .strip_suffix(domain)
            .and_then(|l| l.strip_suffix('@'))
            .unwrap_or("");
        let parents = domain
            .match_indices('.')
            .filter_map(|(dot, _)| self.by_parent.get(&domain[dot + 1..]));
        let found = |map: &'s HashMap<&'a str, Vec<usize>>, key: &str| map.get(key);
        found(&self.by_domain, domain)
            .into_iter()
            .chain(found(&self.by_local, local))
            .chain(parents)
            .flatten()
            .copied()
            .chain(
                self.other
                    .iter()
                    .copied()
                    .filter(move |&i| protected[i].matches(address.as_str())),
            )
    }
}

impl<'a> Matcher<'a> {
    pub(crate) fn new(desired: &'a Desired, today: Date) -> Matcher<'a> {
        Matcher {
            exact: desired
                .entries
                .iter()
                .enumerate()
                .map(|(i, e)| (e.email.as_str(), (i, e)))
                .collect(),
            domains: desired
                .domains
                .iter()
                .map(|d| (d.domain.as_str(), d))
                .collect(),
            protected: &desired.protected,
            protected_exact: desired
                .protected
                .iter()
                .enumerate()
                .filter(|(_, p)| !p.is_pattern())
                .map(|(i, p)| (p.pattern.as_str(), i))
                .collect(),
            protected_patterns: Patterns::new(&desired.protected),
            today,
        }
    }

    /// The protected entry that keeps this address (its protected address, or else the first
    /// pattern in file order that matches), marking in `seen` (indexed like
    /// `Desired::protected`) every protected entry that matches it. One pass serves both: the
    /// plan asks both of every live user.
    fn protected(&self, address: &Email, mut seen: Option<&mut [bool]>) -> Option<usize> {
        // Most allowlists protect nobody: then no address needs splitting. (A shortcut only:
        // with no protected entry nothing below matches.)
        if self.protected.is_empty() {
            return None;
        }
        let exact = self.protected_exact.get(address.as_str()).copied();
        let mut first_pattern: Option<usize> = None;
        for i in exact
            .into_iter()
            .chain(self.protected_patterns.matching(self.protected, address))
        {
            if let Some(seen) = seen.as_deref_mut() {
                seen[i] = true;
            }
            // Patterns and protected addresses are different entries: `exact` is no pattern.
            // Each pattern is indexed in one place and found once, so no index comes twice
            // (`<` and `<=` are the same here: that mutant is equivalent).
            if Some(i) != exact && first_pattern.is_none_or(|first| i < first) {
                first_pattern = Some(i);
            }
        }
        exact.or(first_pattern)
    }

    /// What the `users:` entry `e` says on `self.today`: kept, or deleted once expired.
    fn entry(&self, e: &AllowEntry) -> Reason {
        match e.expires {
            Some(date) if date <= self.today => Reason::Expired {
                date,
                location: e.location.clone(),
                note: e.note.clone(),
            },
            _ => Reason::Allowed {
                location: e.location.clone(),
                note: e.note.clone(),
                expires: e.expires,
            },
        }
    }

    fn domain(&self, address: &Email) -> Option<Reason> {
        if self.domains.is_empty() {
            return None;
        }
        self.domains.get(address.domain()).map(|d| Reason::Domain {
            domain: d.domain.to_string(),
            location: d.location.clone(),
        })
    }

    /// The rule that decides for an address.
    #[cfg(test)]
    pub(crate) fn decide(&self, address: &Email) -> Reason {
        self.judge(address, None).reason
    }

    /// The rule that decides for an address, with what the plan records beside it: the
    /// `users:` entry naming the address (matched even when a protected entry decides), and,
    /// when `protected_seen` is given, every protected entry that matches marked in it. Each
    /// index is looked up once.
    pub(crate) fn judge(&self, address: &Email, protected_seen: Option<&mut [bool]>) -> Judged {
        let protected = self.protected(address, protected_seen);
        let exact = self.exact.get(address.as_str());
        let reason = match protected {
            Some(i) => Reason::Protected {
                pattern: self.protected[i].pattern.clone(),
                location: self.protected[i].location.clone(),
            },
            None => exact
                .map(|(_, e)| self.entry(e))
                .or_else(|| self.domain(address))
                .unwrap_or(Reason::NotAllowed),
        };
        Judged {
            reason,
            entry: exact.map(|(i, _)| *i),
        }
    }

    /// Every rule that matches an address, the deciding one first (for `explain`).
    pub(crate) fn all(&self, address: &Email) -> Vec<Reason> {
        let mut all = Vec::new();
        let mut patterns: Vec<usize> = self
            .protected_patterns
            .matching(self.protected, address)
            .collect();
        patterns.sort_unstable();
        all.extend(
            self.protected_exact
                .get(address.as_str())
                .into_iter()
                .chain(&patterns)
                .map(|&i| Reason::Protected {
                    pattern: self.protected[i].pattern.clone(),
                    location: self.protected[i].location.clone(),
                }),
        );
        all.extend(self.exact.get(address.as_str()).map(|(_, e)| self.entry(e)));
        all.extend(self.domain(address));
        if all.is_empty() {
            all.push(Reason::NotAllowed);
        }
        all
    }
}
