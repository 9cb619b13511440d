//! The sandbox seed: the account and the users the sandbox starts with, read from YAML or JSON,
//! plus deterministic synthetic users (`generate`).
//!
//! The user fields and their types come from the spec's `access_users-2` schema
//! (shared/cloudflare/API.md §1): every field optional. The spec declares none nullable, but
//! real answers carry `null` (`"last_successful_login": null` for a user who never logged in,
//! observed), so a seed may write `null` for any user field and it is served as `null`, unlike
//! a field left out, which is absent. Parsing goes through a typed struct with
//! `deny_unknown_fields` so that a typo or a wrong type is reported with the file and line,
//! then becomes a plain JSON object that is served as given.

use std::fmt::Write as _;
use std::io;
use std::path::Path;

use serde::de::{self, Deserializer};
use serde::Deserialize;
use serde_json::{Map, Number, Value};

use super::SandboxError;

/// The account the sandbox serves when no seed file names one (the spec's example identifier).
pub const DEFAULT_ACCOUNT_ID: &str = "023e105f4ecef8ad9ca31a8372d0c353";

/// Seed files larger than this are refused: `--generate N` makes large accounts without a file.
pub(super) const MAX_SEED_BYTES: u64 = 64 * 1024 * 1024;

/// The domain of the emails `Seed::generate` invents (RFC 2606 reserved, never a real person).
pub const GENERATED_EMAIL_DOMAIN: &str = "generated.example";

/// The account and users the sandbox starts with.
#[derive(Clone, Debug, PartialEq)]
pub struct Seed {
    /// The account the sandbox serves (32 hexadecimal characters when read from a file).
    pub account_id: String,
    /// The users, shaped as `GET /accounts/{account_id}/access/users` returns them.
    pub users: Vec<Map<String, Value>>,
    /// Zero Trust lists that exist from the start, each the JSON body a POST would send plus an
    /// optional `id` (see docs/sandbox.md, "Lists and groups").
    pub lists: Vec<Value>,
    /// Access groups that exist from the start, shaped the same way.
    pub groups: Vec<Value>,
}

impl Seed {
    /// A seed with no users.
    pub fn empty(account_id: impl Into<String>) -> Seed {
        Seed {
            account_id: account_id.into(),
            users: Vec::new(),
            lists: Vec::new(),
            groups: Vec::new(),
        }
    }

    /// Read a seed file (YAML or JSON) through the shared bounded reader (at most
    /// [`MAX_SEED_BYTES`]). Errors name the file and, when known, the line.
    pub fn from_file(path: &Path) -> Result<Seed, SandboxError> {
        let text =
            crate::fsread::read_text(path, MAX_SEED_BYTES).map_err(|e| SandboxError::ReadSeed {
                path: path.to_path_buf(),
                source: match e {
                    crate::fsread::ReadError::Io(e) => e,
                    other => io::Error::new(io::ErrorKind::InvalidData, other.to_string()),
                },
            })?;
        Seed::from_str(&text, &crate::fsread::display_path(path))
    }

    /// Parse a seed from text. `origin` names the text in error messages (usually a file name).
    #[allow(clippy::should_implement_trait)] // the extra `origin` argument does not fit FromStr
    pub fn from_str(text: &str, origin: &str) -> Result<Seed, SandboxError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        // JSON is valid YAML, but libyaml rejects some valid JSON (tabs used as indentation), so
        // JSON goes through serde_json; both report a line and column.
        let raw: RawSeed = if text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|e| {
                let (line, column) = (e.line(), e.column());
                parse_error(origin, Some((line, column)), e.to_string())
            })?
        } else {
            serde_yaml::from_str(text).map_err(|e| {
                let location = e.location().map(|l| (l.line(), l.column()));
                parse_error(origin, location, e.to_string())
            })?
        };
        let lists: Vec<Value> = raw.lists.into_iter().map(|l| l.into_value()).collect();
        let groups: Vec<Value> = raw.groups.into_iter().map(|g| g.into_value()).collect();
        super::door::Door::from_seed(&lists, &groups, 0)
            .map_err(|message| parse_error(origin, None, message))?;
        Ok(Seed {
            account_id: raw.account_id.0,
            users: raw.users.into_iter().map(RawUser::into_map).collect(),
            lists,
            groups,
        })
    }

    /// Append `n` synthetic users. The same `n` gives the same users every time: user `i`
    /// (1-based) has email `user{i:06}@generated.example` and ids derived from `i` alone.
    /// Calling it twice appends the same users twice.
    pub fn generate(&mut self, n: usize) {
        self.users.reserve(n);
        for i in 1..=n {
            self.users.push(synthetic_user(i as u64));
        }
    }
}

fn parse_error(origin: &str, location: Option<(usize, usize)>, message: String) -> SandboxError {
    // Both serde_yaml and serde_json end their message with " at line L column C"; the location
    // goes in front (file:line:column), so drop the duplicate.
    let message = match message.rfind(" at line ") {
        Some(at) if location.is_some() => message[..at].to_string(),
        _ => message,
    };
    SandboxError::ParseSeed {
        origin: origin.to_string(),
        line: location.map(|(line, _)| line),
        column: location.map(|(_, column)| column),
        message,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSeed {
    account_id: AccountId,
    users: Vec<RawUser>,
    #[serde(default)]
    lists: Vec<super::door::seed::RawList>,
    #[serde(default)]
    groups: Vec<super::door::seed::RawGroup>,
}

/// An account identifier as the spec shapes it (`maxLength: 32`, 32 hex characters in every
/// example). Validated while parsing so that the error carries the line.
struct AccountId(String);

impl<'de> Deserialize<'de> for AccountId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let id = deserializer.deserialize_any(TextVisitor {
            check: |id: &str| {
                if is_account_id(id) {
                    Ok(())
                } else {
                    Err(format!(
                        "account_id {id:?} is not a Cloudflare account identifier: use the 32 \
                         hexadecimal characters shown in the dashboard URL, e.g. {DEFAULT_ACCOUNT_ID}"
                    ))
                }
            },
        })?;
        Ok(AccountId(id))
    }
}

/// Accepts a string and nothing else: no null, and no YAML number or boolean turned into text,
/// so `account_id: null` is reported rather than served as a string. Going through
/// `deserialize_any` lets serde_yaml attach the value's line to the error.
struct TextVisitor<F> {
    check: F,
}

impl<F: Fn(&str) -> Result<(), String>> de::Visitor<'_> for TextVisitor<F> {
    type Value = String;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string (put it in quotes if YAML reads it as something else)")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        (self.check)(v).map_err(E::custom)?;
        Ok(v.to_string())
    }
}

/// A user field as written: `None` left out, `Some(None)` written `null`, `Some(Some(v))` a
/// value.
type Field<T> = Option<Option<T>>;

/// A string field that, when written, holds a string or `null` (see `TextVisitor`).
fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Field<String>, D::Error> {
    deserializer.deserialize_any(NullableText).map(Some)
}

/// A string or `null`; no YAML number or boolean turned into text (see `TextVisitor`).
struct NullableText;

impl de::Visitor<'_> for NullableText {
    type Value = Option<String>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string or null (put it in quotes if YAML reads it as something else)")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<String>, E> {
        Ok(Some(v.to_string()))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<String>, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<String>, E> {
        Ok(None)
    }
}

/// True if `id` has the shape of an account identifier: exactly 32 ASCII hexadecimal characters.
pub fn is_account_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// One user, field for field the spec's `access_users-2`, in the spec's order.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUser {
    #[serde(default, deserialize_with = "text")]
    id: Field<String>,
    #[serde(default, deserialize_with = "text")]
    uid: Field<String>,
    #[serde(default, deserialize_with = "text")]
    seat_uid: Field<String>,
    #[serde(default, deserialize_with = "text")]
    email: Field<String>,
    #[serde(default, deserialize_with = "text")]
    name: Field<String>,
    #[serde(default, deserialize_with = "present")]
    access_seat: Field<bool>,
    #[serde(default, deserialize_with = "present")]
    gateway_seat: Field<bool>,
    #[serde(default, deserialize_with = "present")]
    active_device_count: Field<Number>,
    #[serde(default, deserialize_with = "text")]
    created_at: Field<String>,
    #[serde(default, deserialize_with = "text")]
    updated_at: Field<String>,
    #[serde(default, deserialize_with = "text")]
    last_successful_login: Field<String>,
}

/// A field that, when written, holds a value of its type or `null` (served as `null`; a field
/// left out stays absent). Used for the boolean and number fields; string fields use `text`.
fn present<'de, D, T>(deserializer: D) -> Result<Field<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

impl RawUser {
    fn into_map(self) -> Map<String, Value> {
        let mut map = Map::new();
        let mut put = |key: &str, value: Field<Value>| {
            if let Some(value) = value {
                map.insert(key.to_string(), value.unwrap_or(Value::Null));
            }
        };
        let string = |v: Field<String>| v.map(|v| v.map(Value::String));
        put("id", string(self.id));
        put("uid", string(self.uid));
        put("seat_uid", string(self.seat_uid));
        put("email", string(self.email));
        put("name", string(self.name));
        put("access_seat", self.access_seat.map(|v| v.map(Value::Bool)));
        put(
            "gateway_seat",
            self.gateway_seat.map(|v| v.map(Value::Bool)),
        );
        put(
            "active_device_count",
            self.active_device_count.map(|v| v.map(Value::Number)),
        );
        put("created_at", string(self.created_at));
        put("updated_at", string(self.updated_at));
        put("last_successful_login", string(self.last_successful_login));
        map
    }
}

// ---------------------------------------------------------------------------------------------
// Synthetic users

const FIRST_NAMES: [&str; 16] = [
    "Ada", "Ben", "Chloe", "Dev", "Elif", "Femi", "Grace", "Hiro", "Ines", "Jon", "Kemal", "Lena",
    "Mateo", "Nia", "Omar", "Priya",
];
const LAST_NAMES: [&str; 16] = [
    "Abara", "Berg", "Costa", "Dubois", "Eze", "Fischer", "Garcia", "Haddad", "Ivanova", "Jensen",
    "Kim", "Lopez", "Moreau", "Nguyen", "Okafor", "Patel",
];

/// 2022-01-01T00:00:00Z: generated accounts were created after this instant.
const EPOCH_2022: u64 = 1_640_995_200;
const DAY: u64 = 86_400;

/// splitmix64: a tiny, well-mixed hash; enough to make ids look random yet be reproducible.
pub(super) fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A lowercase UUID that looks like version 4 (version nibble 4, variant 10xx), from `i` and a
/// salt that tells the id, uid and seat_uid apart.
fn uuid_like(i: u64, salt: u64) -> String {
    let hi = mix(i ^ salt.rotate_left(17));
    let lo = mix(hi ^ salt);
    let hi = (hi & 0xffff_ffff_ffff_0fff) | 0x0000_0000_0000_4000;
    let lo = (lo & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    let mut s = String::with_capacity(36);
    let _ = write!(
        s,
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0xffff,
        lo >> 48,
        lo & 0xffff_ffff_ffff
    );
    s
}

/// A timestamp in the spec's format: `2014-01-01T05:20:00.12345Z` with five fractional digits
/// (`created_at`, `updated_at`), or `2020-07-01T05:20:00Z` without (`last_successful_login`).
/// The calendar is jiff's (a third-party crate, shared with the client no more than serde is).
pub(crate) fn timestamp(unix_seconds: u64, fraction: Option<u32>) -> String {
    let seconds = i64::try_from(unix_seconds).unwrap_or(i64::MAX);
    let at = jiff::Timestamp::from_second(seconds).unwrap_or(jiff::Timestamp::MAX);
    let whole = at.strftime("%Y-%m-%dT%H:%M:%S");
    match fraction {
        Some(f) => format!("{whole}.{:05}Z", f % 100_000),
        None => format!("{whole}Z"),
    }
}

fn synthetic_user(i: u64) -> Map<String, Value> {
    let h = mix(i);
    let first = FIRST_NAMES[(h & 15) as usize];
    let last = LAST_NAMES[((h >> 4) & 15) as usize];
    let access_seat = (h >> 8) & 7 != 0; // 7 in 8
    let gateway_seat = (h >> 11) & 1 == 0; // 1 in 2
    let devices = if gateway_seat { (h >> 12) % 4 } else { 0 };
    // Created within four years of 2022-01-01, updated and last seen later, all before 2026-11.
    let created = EPOCH_2022 + (h >> 16) % (4 * 365 * DAY);
    let updated = created + (h >> 24) % (200 * DAY);
    let login = updated + (h >> 32) % (30 * DAY);
    let never_logged_in = (h >> 40) & 15 == 0; // 1 in 16

    let mut user = Map::new();
    let mut put = |key: &str, value: Value| {
        user.insert(key.to_string(), value);
    };
    put("id", Value::String(uuid_like(i, 0x1d)));
    put("uid", Value::String(uuid_like(i, 0x71d)));
    put("seat_uid", Value::String(uuid_like(i, 0x5ea7)));
    put(
        "email",
        Value::String(format!("user{i:06}@{GENERATED_EMAIL_DOMAIN}")),
    );
    put("name", Value::String(format!("{first} {last}")));
    put("access_seat", Value::Bool(access_seat));
    put("gateway_seat", Value::Bool(gateway_seat));
    put("active_device_count", Value::Number(devices.into()));
    put(
        "created_at",
        Value::String(timestamp(created, Some((h >> 44) as u32))),
    );
    put(
        "updated_at",
        Value::String(timestamp(updated, Some((h >> 20) as u32))),
    );
    if !never_logged_in {
        put(
            "last_successful_login",
            Value::String(timestamp(login, None)),
        );
    }
    user
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const DEMO: &str = include_str!("../../examples/demo/seed.yaml");

    fn parse_err(text: &str) -> String {
        Seed::from_str(text, "seed.yaml").unwrap_err().to_string()
    }

    #[test]
    fn the_demo_seed_parses_and_keeps_fields_as_given() {
        let seed = Seed::from_str(DEMO, "examples/demo/seed.yaml").unwrap();
        assert_eq!(seed.account_id, DEFAULT_ACCOUNT_ID);
        assert_eq!(seed.users.len(), 7);
        let alice = &seed.users[0];
        assert_eq!(alice["id"], "f174e90a-fafe-4643-bbbc-4a0ed4fc8415");
        assert_eq!(alice["active_device_count"], 2);
        assert!(alice["active_device_count"].is_u64());
        assert_eq!(alice["created_at"], "2024-01-08T09:12:44.12345Z");
        assert_eq!(alice.len(), 11);
        // Absent fields stay absent: Frank has no seat_uid, the service token no email.
        assert!(!seed.users[5].contains_key("seat_uid"));
        assert!(!seed.users[6].contains_key("email"));
        assert!(!seed.users[6].contains_key("updated_at"));
    }

    #[test]
    fn json_seeds_parse_too() {
        let text = "{\n\t\"account_id\": \"023e105f4ecef8ad9ca31a8372d0c353\",\n\t\"users\": \
                    [{\"id\": \"a/b\", \"active_device_count\": 1.5}]\n}";
        let seed = Seed::from_str(text, "seed.json").unwrap();
        assert_eq!(seed.users[0]["id"], "a/b");
        assert_eq!(seed.users[0]["active_device_count"], 1.5);
    }

    #[test]
    fn an_unknown_user_field_is_named_with_file_and_line() {
        let text =
            "account_id: 023e105f4ecef8ad9ca31a8372d0c353\nusers:\n  - id: x\n    emial: a@b.c\n";
        let err = parse_err(text);
        assert!(err.starts_with("seed.yaml:4:"), "{err}");
        assert!(err.contains("unknown field `emial`"), "{err}");
    }

    #[test]
    fn unknown_top_level_keys_and_missing_keys_are_errors() {
        let err = parse_err("account_id: 023e105f4ecef8ad9ca31a8372d0c353\nusers: []\nextra: 1\n");
        assert!(err.contains("unknown field `extra`"), "{err}");
        let err = parse_err("account_id: 023e105f4ecef8ad9ca31a8372d0c353\n");
        assert!(err.contains("missing field `users`"), "{err}");
        let err = parse_err("");
        assert!(err.contains("seed.yaml"), "{err}");
    }

    #[test]
    fn wrong_types_are_errors_with_a_line() {
        let base = "account_id: 023e105f4ecef8ad9ca31a8372d0c353\nusers:\n  - id: x\n";
        let err = parse_err(&format!("{base}    access_seat: yes please\n"));
        assert!(err.starts_with("seed.yaml:4:"), "{err}");
        assert!(err.contains("invalid type"), "{err}");
        let err = parse_err(&format!("{base}    active_device_count: .nan\n"));
        assert!(err.contains("seed.yaml:4:"), "{err}");
        let err = parse_err(&format!("{base}    email: true\n"));
        assert!(err.starts_with("seed.yaml:4:"), "{err}");
        let err = parse_err("account_id: null\nusers: []\n");
        assert!(err.starts_with("seed.yaml:1:"), "{err}");
        let err =
            parse_err("account_id: 023e105f4ecef8ad9ca31a8372d0c353\nusers:\n  - id: 12345\n");
        assert!(err.starts_with("seed.yaml:3:"), "{err}");
        assert!(err.contains("put it in quotes"), "{err}");
    }

    #[test]
    fn null_is_kept_as_null_and_absent_stays_absent() {
        let base = "account_id: 023e105f4ecef8ad9ca31a8372d0c353\nusers:\n  - id: x\n";
        let fields = [
            "uid",
            "seat_uid",
            "email",
            "name",
            "access_seat",
            "gateway_seat",
            "active_device_count",
            "created_at",
            "updated_at",
            "last_successful_login",
        ];
        let mut text = base.to_string();
        for (i, field) in fields.iter().enumerate() {
            // Every way YAML writes null.
            let null = ["null", "~", "", "Null"][i % 4];
            text.push_str(&format!("    {field}: {null}\n"));
        }
        let seed = Seed::from_str(&text, "seed.yaml").unwrap();
        for field in fields {
            assert_eq!(seed.users[0].get(field), Some(&Value::Null), "{field}");
        }
        let seed = Seed::from_str(&format!("{base}  - id: null\n"), "seed.yaml").unwrap();
        assert_eq!(seed.users[1]["id"], Value::Null);
        assert!(!seed.users[0].contains_key("email"), "absent stays absent");
        let json = r#"{"account_id": "023e105f4ecef8ad9ca31a8372d0c353", "users": [{"email": null, "last_successful_login": null}]}"#;
        let seed = Seed::from_str(json, "seed.json").unwrap();
        assert_eq!(
            Value::Object(seed.users[0].clone()).to_string(),
            r#"{"email":null,"last_successful_login":null}"#
        );
    }

    #[test]
    fn a_malformed_account_id_is_rejected_with_its_line() {
        let err = parse_err("users: []\naccount_id: 023e105f\n");
        assert!(err.starts_with("seed.yaml:2:"), "{err}");
        assert!(err.contains("32 hexadecimal"), "{err}");
        let err = parse_err("{\"account_id\": \"xyz\", \"users\": []}");
        assert!(err.starts_with("seed.yaml:1:"), "{err}");
    }

    #[test]
    fn from_file_names_a_missing_file() {
        let err = Seed::from_file(Path::new("/nonexistent/seed.yaml")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/seed.yaml"), "{err}");
    }

    #[test]
    fn weird_ids_are_kept_as_given() {
        let long = "x".repeat(40);
        let text = format!(
            "account_id: 023e105f4ecef8ad9ca31a8372d0c353\nusers:\n  - id: \"{long}\"\n  - id: \"a/../b\"\n  - {{}}\n"
        );
        let seed = Seed::from_str(&text, "s").unwrap();
        assert_eq!(seed.users[0]["id"], long.as_str());
        assert_eq!(seed.users[1]["id"], "a/../b");
        assert!(seed.users[2].is_empty());
    }

    #[test]
    fn generate_is_deterministic_and_well_shaped() {
        let mut a = Seed::empty(DEFAULT_ACCOUNT_ID);
        let mut b = Seed::empty(DEFAULT_ACCOUNT_ID);
        a.generate(500);
        b.generate(500);
        assert_eq!(a, b);
        assert_eq!(a.users[41]["email"], "user000042@generated.example");
        let mut ids = std::collections::HashSet::new();
        for user in &a.users {
            let id = user["id"].as_str().unwrap();
            assert_eq!(id.len(), 36);
            let b: Vec<char> = id.chars().collect();
            assert_eq!((b[8], b[13], b[18], b[23]), ('-', '-', '-', '-'));
            assert_eq!(b[14], '4', "{id}");
            assert!(matches!(b[19], '8' | '9' | 'a' | 'b'), "{id}");
            assert!(id
                .chars()
                .all(|c| c == '-' || c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
            assert!(ids.insert(id.to_string()), "duplicate id {id}");
            let created = user["created_at"].as_str().unwrap();
            assert_eq!(
                created.len(),
                "2014-01-01T05:20:00.12345Z".len(),
                "{created}"
            );
            if let Some(login) = user.get("last_successful_login") {
                assert_eq!(login.as_str().unwrap().len(), "2020-07-01T05:20:00Z".len());
                assert!(login.as_str().unwrap() > created);
            }
        }
        // Generating more keeps the first users unchanged.
        let mut c = Seed::empty(DEFAULT_ACCOUNT_ID);
        c.generate(1000);
        assert_eq!(c.users[..500], a.users[..]);
    }

    #[test]
    fn timestamps_use_the_documented_formats() {
        assert_eq!(timestamp(0, None), "1970-01-01T00:00:00Z");
        assert_eq!(
            timestamp(1_388_534_400 + 5 * 3600 + 20 * 60, Some(12345)),
            "2014-01-01T05:20:00.12345Z"
        );
        assert_eq!(timestamp(951_782_400, None), "2000-02-29T00:00:00Z");
    }
}
