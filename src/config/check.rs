//! One file validated on its own: the [`Checker`] walks the positioned YAML tree of one file and
//! turns each entry into its checked type ([`Email`], [`Domain`], [`AccountId`], [`Date`],
//! [`Span`]), recording every problem at its line and column instead of stopping at the first.
//! What needs more than one file (entries listed twice, settings that must agree) is
//! [`super::merge`]'s.

use foldhash::{HashMap, HashMapExt};

use super::diagnostic::diagnostic;
use super::yaml::{self, Node, Value};
use super::{
    AllowEntry, ConfigError, Diagnostic, DomainEntry, DoorSpec, Location, PolicySettings,
    ProtectedEntry, ENTRY_KEYS, FORMAT_VERSION, POLICY_KEYS, TOP_KEYS,
};
use crate::date::{Date, Span};
use crate::distance;
use crate::model::{
    and_list, mixed_scripts, normalize_pattern, AccountId, AddressError, Domain, Email,
};

/// One file, validated on its own.
#[derive(Debug, Default)]
pub(super) struct FileState {
    pub(super) file: String,
    pub(super) account_id: Option<(AccountId, Location)>,
    pub(super) entries: Vec<AllowEntry>,
    pub(super) domains: Vec<DomainEntry>,
    pub(super) protected: Vec<ProtectedEntry>,
    pub(super) policy: PolicySettings,
    pub(super) door: Option<DoorSpec>,
    pub(super) warnings: Vec<Diagnostic>,
}

/// Collects the problems of one file.
struct Checker<'a> {
    file: &'a str,
    diagnostics: Vec<Diagnostic>,
    /// Problems that do not stop the run (an address that mixes scripts).
    warnings: Vec<Diagnostic>,
}

impl Checker<'_> {
    fn at(&self, node: &Node) -> Location {
        Location {
            file: self.file.to_string(),
            line: node.line,
            col: node.col,
        }
    }

    fn error(&mut self, node: &Node, message: impl Into<String>, help: impl Into<String>) {
        let location = self.at(node);
        self.diagnostics.push(diagnostic(location, message, help));
    }

    /// A warning for an entry whose letters come from more than one script (UTS 39): Cyrillic
    /// letters in a Latin address are the usual look-alike, and no normalisation removes them.
    fn mixed_scripts(&mut self, at: &Location, what: &str, text: &str) {
        if let Some(scripts) = mixed_scripts(text) {
            self.warnings.push(diagnostic(
                at.clone(),
                format!(
                    "this {what} mixes scripts ({}): it may be a look-alike of another {what}",
                    and_list(&scripts)
                ),
                format!("type the {what} again by hand if it is not meant to mix scripts"),
            ));
        }
    }

    fn unknown_key(&mut self, key: &Node, name: &str, known: &[&str], context: &str) {
        let help = match distance::closest(name, known) {
            Some(s) => format!(
                "did you mean `{s}`? The known keys {context} are: {}",
                known.join(", ")
            ),
            None => format!("the known keys {context} are: {}", known.join(", ")),
        };
        self.error(key, format!("unknown key `{name}`"), help);
    }

    /// The pairs of a mapping, each key once; problems with keys are recorded.
    fn pairs<'n>(&mut self, pairs: &'n [(Node, Node)]) -> Vec<(&'n str, &'n Node, &'n Node)> {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        let mut out = Vec::new();
        for (key, value) in pairs {
            let Some(name) = key.as_str() else {
                self.error(
                    key,
                    format!("a key must be a plain name, found {}", key.kind()),
                    "write `name: value`",
                );
                continue;
            };
            if let Some(first) = seen.insert(name, key.line) {
                self.error(
                    key,
                    format!("`{name}` is set twice (first on line {first})"),
                    "keep one of them",
                );
                continue;
            }
            out.push((name, key, value));
        }
        out
    }

    /// A list value; `null` counts as an empty list.
    fn list<'n>(&mut self, key: &str, node: &'n Node, example: &str) -> &'n [Node] {
        match &node.value {
            Value::Seq(items) => items,
            _ if node.is_null() => &[],
            _ => {
                self.error(
                    node,
                    format!("`{key}` must be a list, found {}", node.kind()),
                    format!("write one item per line, e.g. `  - {example}`"),
                );
                &[]
            }
        }
    }

    fn string<'n>(&mut self, key: &str, node: &'n Node, example: &str) -> Option<&'n str> {
        let s = node.as_str();
        if s.is_none() {
            self.error(
                node,
                format!("`{key}` must be a single value, found {}", node.kind()),
                format!("write it as {key}: {example}"),
            );
        }
        s
    }

    fn email(&mut self, node: &Node, raw: &str) -> Option<Email> {
        match Email::parse(raw) {
            Ok(email) => Some(email),
            Err(why) => {
                self.error(
                    node,
                    format!(
                        "`{}` is not a valid email address: {why}",
                        raw.escape_debug()
                    ),
                    fix_for(&why, "correct the address or remove the entry"),
                );
                None
            }
        }
    }

    fn user(&mut self, item: &Node) -> Option<AllowEntry> {
        if let Some(raw) = item.as_str() {
            let location = self.at(item);
            let email = self.email(item, raw)?;
            self.mixed_scripts(&location, "address", &email);
            return Some(AllowEntry {
                email,
                written: raw.to_string(),
                location,
                note: None,
                expires: None,
            });
        }
        let Value::Map(pairs) = &item.value else {
            self.error(
                item,
                format!("expected an email address or a mapping with `email:`, found {}", item.kind()),
                "write `- alice@example.com`, or `- email: alice@example.com` with `note:` / `expires:` below it",
            );
            return None;
        };
        let (mut email, mut note, mut expires, mut ok) = (None, None, None, true);
        for (name, key, value) in self.pairs(pairs) {
            match name {
                "email" => match self.string("email", value, "alice@example.com") {
                    Some(raw) => match self.email(value, raw) {
                        // The entry is where its `email:` key is.
                        Some(e) => email = Some((e, raw.to_string(), self.at(key))),
                        None => ok = false,
                    },
                    None => ok = false,
                },
                "note" => match self.string("note", value, "\"contractor, ticket SEC-123\"") {
                    Some(text) => note = Some(text.to_string()),
                    None => ok = false,
                },
                "expires" => match self.string("expires", value, "2027-01-31") {
                    Some(text) => match Date::parse(text.trim()) {
                        Ok(date) => expires = Some(date),
                        Err(why) => {
                            self.error(
                                value,
                                why.to_string(),
                                "write the date as YYYY-MM-DD, e.g. expires: 2027-01-31",
                            );
                            ok = false;
                        }
                    },
                    None => ok = false,
                },
                other => {
                    self.unknown_key(key, other, ENTRY_KEYS, "of a user entry");
                    ok = false;
                }
            }
        }
        let Some((email, written, location)) = email else {
            if ok {
                self.error(
                    item,
                    "this entry has no `email:`",
                    "add `email: address` to the entry",
                );
            }
            return None;
        };
        self.mixed_scripts(&location, "address", &email);
        ok.then_some(AllowEntry {
            email,
            written,
            location,
            note,
            expires,
        })
    }

    fn domain(&mut self, item: &Node) -> Option<DomainEntry> {
        let Some(raw) = item.as_str() else {
            self.error(
                item,
                format!("expected a domain, found {}", item.kind()),
                "write one domain per line, e.g. `  - example.com`",
            );
            return None;
        };
        let text = raw.trim().to_lowercase();
        let problem = if text.starts_with('@') {
            Some((
                "a domain is written without `@`",
                format!("write `{}`", text.trim_start_matches('@').escape_debug()),
            ))
        } else if text.contains('@') {
            Some((
                "this is an address, not a domain",
                "list addresses under `users:`".to_string(),
            ))
        } else if text.contains('*') {
            Some((
                "domains take no wildcards: a domain allows exactly that domain, not its subdomains",
                "list each domain (and subdomain) that is allowed".to_string(),
            ))
        } else {
            None
        };
        if let Some((message, help)) = problem {
            self.error(item, format!("`{}`: {message}", raw.escape_debug()), help);
            return None;
        }
        match Domain::parse(raw) {
            Ok(domain) => {
                let location = self.at(item);
                self.mixed_scripts(&location, "domain", domain.as_str());
                Some(DomainEntry { domain, location })
            }
            Err(why) => {
                self.error(
                    item,
                    format!("`{}`: not a valid domain: {why}", raw.escape_debug()),
                    fix_for(&why, "write a domain such as example.com"),
                );
                None
            }
        }
    }

    fn policy(&mut self, node: &Node) -> PolicySettings {
        let mut policy = PolicySettings::default();
        let Value::Map(pairs) = &node.value else {
            if !node.is_null() {
                self.error(
                    node,
                    format!("`policy` must be a mapping, found {}", node.kind()),
                    "write e.g. `policy: { max_deletes: 20 }`",
                );
            }
            return policy;
        };
        for (name, key, value) in self.pairs(pairs) {
            let at = self.at(value);
            let text = value.as_str().map(str::trim);
            match name {
                "max_deletes" => match text.map(str::parse::<u64>) {
                    Some(Ok(n)) => policy.max_deletes = Some((n, at)),
                    _ => self.error(
                        value,
                        "`max_deletes` must be a whole number of users",
                        "write e.g. `max_deletes: 20`",
                    ),
                },
                "max_delete_fraction" => match text.map(str::parse::<f64>) {
                    Some(Ok(f)) if (0.0..=1.0).contains(&f) => {
                        policy.max_delete_fraction = Some((f, at))
                    }
                    _ => self.error(
                        value,
                        "`max_delete_fraction` must be a number from 0 to 1",
                        "write e.g. `max_delete_fraction: 0.25` (a quarter of the live users)",
                    ),
                },
                "allow_delete_all" => match text {
                    Some("true") => policy.allow_delete_all = Some((true, at)),
                    Some("false") => policy.allow_delete_all = Some((false, at)),
                    _ => self.error(
                        value,
                        "`allow_delete_all` must be true or false",
                        "write `allow_delete_all: true`",
                    ),
                },
                "hold_active_within" => match text.map(Span::parse) {
                    Some(Ok(span)) => policy.hold_active_within = Some((span, at)),
                    Some(Err(why)) => self.error(
                        value,
                        why.to_string(),
                        "write e.g. `hold_active_within: 7d` (units s, m, h, d, w)",
                    ),
                    None => self.error(
                        value,
                        "`hold_active_within` must be a span such as 7d",
                        "write e.g. `hold_active_within: 7d`",
                    ),
                },
                other => self.unknown_key(key, other, POLICY_KEYS, "of `policy`"),
            }
        }
        policy
    }

    fn protected(&mut self, item: &Node) -> Option<ProtectedEntry> {
        let Some(raw) = item.as_str() else {
            self.error(
                item,
                format!("expected an address or a pattern, found {}", item.kind()),
                "write one per line, e.g. `  - breakglass@example.com` or `  - \"*@svc.example.com\"`",
            );
            return None;
        };
        // An address must be valid; a pattern needs one `@` and no spaces (`*@svc.example.com`,
        // `breakglass@*`). Both get the same character check and normalisation.
        let pattern = if raw.contains('*') {
            normalize_pattern(raw)
        } else {
            Email::parse(raw).map(|e| e.as_str().to_string())
        };
        match pattern {
            Ok(pattern) => {
                let location = self.at(item);
                self.mixed_scripts(&location, "address", &pattern);
                Some(ProtectedEntry {
                    pattern,
                    written: raw.trim().to_string(),
                    location,
                })
            }
            Err(why) => {
                self.error(
                    item,
                    format!("`{}` is not an address or an address pattern: {why}", raw.escape_debug()),
                    fix_for(&why, "write an address, or a pattern where * stands for any characters, e.g. \"*@svc.example.com\""),
                );
                None
            }
        }
    }
}

/// The line, at or next to where the parser stopped (it may stop at the scalar before the tab),
/// that is indented with a tab.
fn tab_indented_line(text: &str, line: usize) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let tab_indented = |n: usize| {
        n.checked_sub(1)
            .and_then(|i| lines.get(i))
            .is_some_and(|l| {
                l.chars()
                    .take_while(|c| c.is_whitespace())
                    .any(|c| c == '\t')
            })
    };
    [line, line + 1, line.saturating_sub(1)]
        .into_iter()
        .find(|&n| tab_indented(n))
}

pub(super) fn parse_file(text: &str, file: &str) -> Result<FileState, ConfigError> {
    let start = Location {
        file: file.to_string(),
        line: 1,
        col: 1,
    };
    let root = match yaml::parse(text) {
        Ok(Some(root)) => root,
        Ok(None) => {
            return Err(ConfigError {
                diagnostics: vec![diagnostic(
                    start,
                    "the file is empty",
                    "list the allowed users under `users:`",
                )],
            })
        }
        Err(e) => {
            let help = if let Some(n) = tab_indented_line(text, e.line) {
                format!("indent with spaces: line {n} is indented with a tab, which YAML does not allow")
            } else if e.message.contains("tab") {
                "indent with spaces: YAML does not allow a tab here".to_string()
            } else if e.message.contains("alias") || e.message.contains("anchor") {
                "YAML reads a value that starts with `*` as an alias: quote patterns, e.g. \"*@svc.example.com\"".to_string()
            } else {
                "fix the YAML at this position".to_string()
            };
            return Err(ConfigError {
                diagnostics: vec![diagnostic(
                    Location {
                        line: e.line,
                        col: e.col,
                        ..start
                    },
                    format!("YAML syntax error: {}", e.message),
                    help,
                )],
            });
        }
    };
    let mut c = Checker {
        file,
        diagnostics: Vec::new(),
        warnings: Vec::new(),
    };
    let Value::Map(pairs) = &root.value else {
        c.error(
            &root,
            format!(
                "expected a mapping with `users:` at the top, found {}",
                root.kind()
            ),
            "start the file with `account_id: ...` and `users:`",
        );
        return Err(ConfigError {
            diagnostics: c.diagnostics,
        });
    };
    let mut state = FileState {
        file: file.to_string(),
        ..FileState::default()
    };
    for (name, key, value) in c.pairs(pairs) {
        match name {
            "version" => match value.as_str() {
                Some("1") => {}
                Some(v) => c.error(
                    value,
                    format!(
                        "unsupported version `{}`: this reconcile reads version {FORMAT_VERSION}",
                        v.escape_debug()
                    ),
                    "write `version: 1`, or leave it out; a newer format needs a newer reconcile",
                ),
                None => c.error(
                    value,
                    format!("`version` must be a number, found {}", value.kind()),
                    "write `version: 1`",
                ),
            },
            "account_id" => {
                if let Some(raw) = c.string("account_id", value, "023e105f4ecef8ad9ca31a8372d0c353")
                {
                    match AccountId::parse(raw) {
                        Ok(id) => state.account_id = Some((id, c.at(value))),
                        Err(why) => c.error(
                            value,
                            why.to_string(),
                            "copy the Account ID from the Cloudflare dashboard (32 hexadecimal characters)",
                        ),
                    }
                }
            }
            "users" => {
                let items = c.list("users", value, "alice@example.com");
                state.entries.reserve(items.len());
                // Each entry is checked on its own: a long list is checked in parts on every
                // core, each with its own findings, joined in the file's order.
                let threads = crate::parallel::threads_for(items.len(), 8_192);
                let parts = crate::parallel::map_parts(items, threads, |part| {
                    let mut checker = Checker {
                        file,
                        diagnostics: Vec::new(),
                        warnings: Vec::new(),
                    };
                    let entries: Vec<AllowEntry> =
                        part.iter().filter_map(|item| checker.user(item)).collect();
                    (entries, checker.diagnostics, checker.warnings)
                });
                for (entries, diagnostics, warnings) in parts {
                    state.entries.extend(entries);
                    c.diagnostics.extend(diagnostics);
                    c.warnings.extend(warnings);
                }
            }
            "domains" => {
                for item in c.list("domains", value, "example.com") {
                    if let Some(entry) = c.domain(item) {
                        state.domains.push(entry);
                    }
                }
            }
            "protected" => {
                for item in c.list("protected", value, "breakglass@example.com") {
                    if let Some(entry) = c.protected(item) {
                        state.protected.push(entry);
                    }
                }
            }
            "policy" => state.policy = c.policy(value),
            "door" => state.door = c.door(key, value),
            other => c.unknown_key(key, other, TOP_KEYS, "at the top of the file"),
        }
    }
    if c.diagnostics.is_empty() {
        state.warnings = c.warnings;
        Ok(state)
    } else {
        Err(ConfigError {
            diagnostics: c.diagnostics,
        })
    }
}

/// The help for an address that does not parse: a character that does not show is fixed by
/// typing the address again, not by looking at it.
fn fix_for(why: &AddressError, otherwise: &str) -> String {
    match why {
        AddressError::Character { .. } => format!(
            "type the value again by hand: it holds a character that does not show (or looks like another); {otherwise}"
        ),
        AddressError::Shape(_) => otherwise.to_string(),
    }
}

/// The `door:` section.
#[path = "door.rs"]
pub(super) mod door;

#[cfg(test)]
#[path = "check_tests.rs"]
mod tests;
