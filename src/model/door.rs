//! The door as the plan sees it (docs/door.md): the account's Zero Trust lists of type EMAIL that
//! hold the allowlist, and the Access group whose `include` names them. Plain data, as the API
//! wrote it: the client converts its wire types into these at its edge (as it does for
//! [`super::LiveUser`]), so that the door's plan, saved plans and renderers never depend on the
//! HTTP client. Ids are checked where they are used ([`DoorId::parse`]); values and descriptions
//! are data, never trusted for a decision.
//!
//! Also here: the checks for the names and ids the `door:` section gives, since both the config
//! and the plan need them, and [`Provenance`], the description reconcile writes on each item.

use std::fmt;

use super::email::is_invisible;
use super::id::UserId;

/// The id of a Zero Trust list or an Access group: a UUID (`access_uuid` / `uuid-2`, at most 36
/// characters), the only thing that may go into a list's or group's URL. Kept lower-cased, since
/// UUIDs are case-insensitive: two spellings of one id are one id.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DoorId(String);

impl DoorId {
    /// The id, if `raw` (white space around it ignored) is a UUID `8-4-4-4-12`.
    pub fn parse(raw: &str) -> Option<DoorId> {
        let raw = raw.trim();
        UserId::parse(raw).map(|_| DoorId(raw.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DoorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a character may not appear in a name reconcile writes (a list or group name, a
/// description): controls, line and paragraph separators, and what does not show (format
/// characters such as the bidirectional overrides, default-ignorable code points).
pub fn refused_in_name(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') || is_invisible(c)
}

/// The type a door list must have.
pub const EMAIL_LIST_TYPE: &str = "EMAIL";

/// One entry of a Zero Trust list, as the API wrote it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LiveItem {
    pub value: String,
    /// Free text; reconcile writes a [`Provenance`] here, anyone may write anything.
    pub description: Option<String>,
}

/// A Zero Trust list with its items (every page of them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LiveList {
    /// As the API wrote it; checked with [`DoorId::parse`] where it is used.
    pub id: String,
    pub name: String,
    /// The list's `type` as the API wrote it (`EMAIL`, `IP`, ...); `None` when it gave none.
    pub kind: Option<String>,
    pub items: Vec<LiveItem>,
}

/// One rule of an Access group (`access_rule`). The two kinds the door writes are read; every
/// other kind is kept as the API wrote it, so that a group can be written back unchanged.
#[derive(Clone, Debug, PartialEq)]
pub enum Rule {
    /// `{"email_list": {"id": ID}}`
    EmailList { id: String },
    /// `{"email_domain": {"domain": DOMAIN}}`
    EmailDomain { domain: String },
    /// Any other rule, or one of the two above in a shape not understood, as JSON.
    Other(serde_json::Value),
}

impl Rule {
    /// A rule from its JSON: an object with one key whose value is an object.
    pub fn from_json(value: serde_json::Value) -> Rule {
        let inner = |key: &str, field: &str| {
            let object = value.as_object().filter(|o| o.len() == 1)?;
            let body = object.get(key)?.as_object().filter(|b| b.len() == 1)?;
            body.get(field)?.as_str().map(str::to_string)
        };
        if let Some(id) = inner("email_list", "id") {
            return Rule::EmailList { id };
        }
        if let Some(domain) = inner("email_domain", "domain") {
            return Rule::EmailDomain { domain };
        }
        Rule::Other(value)
    }

    /// The rule as the API takes it.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Rule::EmailList { id } => serde_json::json!({ "email_list": { "id": id } }),
            Rule::EmailDomain { domain } => {
                serde_json::json!({ "email_domain": { "domain": domain } })
            }
            Rule::Other(value) => value.clone(),
        }
    }
}

/// An Access group. `exclude` and `require` are never changed by reconcile: they are kept as
/// the API wrote them and sent back as they are.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LiveGroup {
    pub id: String,
    pub name: String,
    pub include: Vec<Rule>,
    pub exclude: Vec<serde_json::Value>,
    pub require: Vec<serde_json::Value>,
}

/// The door as it is: what the client read for a `door:` section.
///
/// - `lists`: the lists the section names (see `DoorSpec::claims` in the config: `NAME-k` for
///   the named form, the given ids for the ids form), each with every item. Other lists may be
///   given too; the plan leaves them alone.
/// - `account_lists`: how many Zero Trust lists the account has in all, of every type, door
///   lists included (the 100-per-account limit counts them all).
/// - `groups`: the groups the section names (by name: every group of that name; by id: that
///   group), so that the plan can refuse a name that two groups carry.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LiveDoor {
    pub lists: Vec<LiveList>,
    pub account_lists: usize,
    pub groups: Vec<LiveGroup>,
}

/// What reconcile writes in the `description` of an item it adds: `reconcile: FILE:LINE`, where
/// the allowlist entry stood. It says where an item came from when it is removed later; it is
/// never used to decide anything, and someone else may have written one that looks the same.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provenance {
    pub file: String,
    pub line: usize,
}

impl Provenance {
    const PREFIX: &'static str = "reconcile: ";
    /// Longer descriptions are not reconcile's (a file name is escaped and bounded upstream).
    const MAX_CHARS: usize = 1024;

    /// The description for an entry at `file`, `line`. Characters that [`refused_in_name`]
    /// refuses are replaced by `?`, so the description parses back.
    pub fn describe(file: &str, line: usize) -> String {
        let file: String = file
            .chars()
            .map(|c| if refused_in_name(c) { '?' } else { c })
            .take(Self::MAX_CHARS - 32)
            .collect();
        format!("{}{file}:{line}", Self::PREFIX)
    }

    /// The provenance a description states, if it is in reconcile's form; `None` for anything
    /// else (no description, someone else's text, a hostile one).
    pub fn parse(description: &str) -> Option<Provenance> {
        if description.chars().count() > Self::MAX_CHARS || description.chars().any(refused_in_name)
        {
            return None;
        }
        let rest = description.strip_prefix(Self::PREFIX)?;
        let (file, line) = rest.rsplit_once(':')?;
        let digits =
            !line.is_empty() && line.len() <= 10 && line.bytes().all(|b| b.is_ascii_digit());
        let line: usize = line.parse().ok().filter(|&n| digits && n > 0)?;
        (!file.trim().is_empty()).then(|| Provenance {
            file: file.to_string(),
            line,
        })
    }
}

impl fmt::Display for Provenance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", crate::text::printable(&self.file), self.line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn door_ids_are_uuids_lower_cased() {
        let id = DoorId::parse(" AA0A4AAB-672B-4BDB-BC33-A59F1130A11F ").unwrap();
        assert_eq!(id.as_str(), "aa0a4aab-672b-4bdb-bc33-a59f1130a11f");
        for bad in [
            "",
            "x",
            "../../lists",
            "aa0a4aab-672b-4bdb-bc33-a59f1130a11f0",
        ] {
            assert!(DoorId::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn provenance_round_trips_and_refuses_other_text() {
        let d = Provenance::describe("desired/users.yaml", 12);
        assert_eq!(d, "reconcile: desired/users.yaml:12");
        assert_eq!(
            Provenance::parse(&d),
            Some(Provenance {
                file: "desired/users.yaml".into(),
                line: 12
            })
        );
        // A file name with a colon: the line is after the last one.
        assert_eq!(
            Provenance::parse("reconcile: C:\\a.yaml:3").map(|p| p.line),
            Some(3)
        );
        let odd = Provenance::describe("a\u{202e}b\nc.yaml", 4);
        assert!(Provenance::parse(&odd).is_some(), "{odd:?}");
        for other in [
            "",
            "added by hand",
            "reconcile: users.yaml",
            "reconcile: users.yaml:",
            "reconcile: users.yaml:0",
            "reconcile: users.yaml:-1",
            "reconcile: users.yaml:+1",
            "reconcile: :3",
            "reconcile: users.yaml:99999999999",
            "reconcile: users\u{202e}.yaml:3",
            "reconcile: users\n.yaml:3",
            "Reconcile: users.yaml:3",
        ] {
            assert_eq!(Provenance::parse(other), None, "{other:?}");
        }
        assert_eq!(
            Provenance::parse(&format!("reconcile: {}:1", "a".repeat(2000))),
            None
        );
    }

    #[test]
    fn rules_read_the_two_door_kinds_and_keep_the_rest() {
        use serde_json::json;
        let list = json!({"email_list": {"id": "x"}});
        assert_eq!(
            Rule::from_json(list.clone()),
            Rule::EmailList { id: "x".into() }
        );
        assert_eq!(Rule::from_json(list.clone()).to_json(), list);
        let domain = json!({"email_domain": {"domain": "example.com"}});
        assert_eq!(Rule::from_json(domain.clone()).to_json(), domain);
        for other in [
            json!({"everyone": {}}),
            json!({"email_list": {"id": 3}}),
            json!({"email_list": {"id": "x", "extra": 1}}),
            json!({"email_list": {"id": "x"}, "email": {"email": "a@b.co"}}),
            json!("email_list"),
        ] {
            assert_eq!(Rule::from_json(other.clone()), Rule::Other(other));
        }
    }
}
