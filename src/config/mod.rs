//! The desired-state format: read the files given with `-f`, validate them, normalise every
//! address once, and return a [`Desired`] that cannot be invalid. Every error names the file, the
//! line and the column, says what is wrong and how to fix it; all errors of a file are reported,
//! not only the first.
//!
//! Format (this step): `account_id` (optional, 32 hexadecimal characters) and `users`, a list of
//! email addresses that may stay. An empty allowlist is an error: it would delete everyone.

pub mod yaml;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::distance;
use crate::email;
use yaml::{Node, Value};

/// Files larger than this are refused before they are parsed: an allowlist of 100,000 addresses
/// is a few MiB.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

const KNOWN_KEYS: &[&str] = &["account_id", "users"];

/// A place in a desired-state file, 1-based.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub col: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// One address of the allowlist, normalised, with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowEntry {
    /// Normalised (see [`email::normalize`]); what matching compares.
    pub email: String,
    /// As written in the file, for messages.
    pub written: String,
    pub location: Location,
}

/// The validated desired state of one account, merged from every file given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    /// The account the files are for, and where it was set; `None` when no file sets it.
    pub account_id: Option<(String, Location)>,
    /// Every allowed address once, in file order.
    pub entries: Vec<AllowEntry>,
    /// Problems that do not stop the run (an address listed twice).
    pub warnings: Vec<Diagnostic>,
}

impl Desired {
    pub fn account(&self) -> Option<&str> {
        self.account_id.as_ref().map(|(id, _)| id.as_str())
    }

    /// A digest of the normalised desired state: what it allows, not how the files are laid out
    /// (comments, order, spelling of addresses and file names do not change it). A saved plan
    /// carries it so that `apply` can tell whether the files changed since the review.
    pub fn digest(&self) -> String {
        let mut emails: Vec<&str> = self.entries.iter().map(|e| e.email.as_str()).collect();
        emails.sort_unstable();
        let mut canonical = String::from("reconcile-desired-v1\n");
        canonical.push_str(&format!("account_id={}\n", self.account().unwrap_or("")));
        for e in emails {
            canonical.push_str(&format!("user={e}\n"));
        }
        crate::digest::sha256(canonical.as_bytes())
    }
}

/// One problem found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub location: Location,
    pub message: String,
    /// What to do about it.
    pub help: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// The desired state did not validate. Holds every problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.diagnostics.len();
        write!(
            f,
            "the desired state is not valid ({n} problem{}); nothing was changed",
            if n == 1 { "" } else { "s" }
        )?;
        for d in &self.diagnostics {
            write!(f, "\n{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Read, validate and merge the given files.
pub fn load(paths: &[PathBuf]) -> Result<Desired, ConfigError> {
    if paths.is_empty() {
        return Err(ConfigError {
            diagnostics: vec![Diagnostic {
                location: Location {
                    file: "<command line>".into(),
                    line: 1,
                    col: 1,
                },
                message: "no desired-state file was given".into(),
                help: Some("pass one with -f FILE, e.g. -f desired/users.yaml".into()),
            }],
        });
    }
    let mut parsed = Vec::new();
    let mut diagnostics = Vec::new();
    for path in paths {
        match read(path).and_then(|text| parse_file(&text, &path.display().to_string())) {
            Ok(file) => parsed.push(file),
            Err(e) => diagnostics.extend(e.diagnostics),
        }
    }
    if !diagnostics.is_empty() {
        return Err(ConfigError { diagnostics });
    }
    merge(parsed)
}

fn read(path: &Path) -> Result<String, ConfigError> {
    let file = path.display().to_string();
    let fail = |message: String, help: &str| ConfigError {
        diagnostics: vec![Diagnostic {
            location: Location {
                file: file.clone(),
                line: 1,
                col: 1,
            },
            message,
            help: Some(help.to_string()),
        }],
    };
    let meta = std::fs::metadata(path).map_err(|e| {
        fail(
            format!("cannot read the file: {e}"),
            "check the path given with -f",
        )
    })?;
    if meta.is_dir() {
        return Err(fail(
            "is a directory; give a YAML file".into(),
            "pass the file itself, e.g. -f desired/users.yaml",
        ));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(fail(
            format!(
                "the file is {} bytes, more than the limit of {MAX_FILE_BYTES}",
                meta.len()
            ),
            "a desired-state file is a list of addresses; check that this is the right file",
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| {
        fail(
            format!("cannot read the file: {e}"),
            "check the path and its permissions",
        )
    })?;
    String::from_utf8(bytes).map_err(|e| {
        fail(
            format!(
                "the file is not valid UTF-8 (byte {})",
                e.utf8_error().valid_up_to()
            ),
            "save the file as UTF-8",
        )
    })
}

/// One file, validated on its own.
#[derive(Debug)]
struct FileState {
    account_id: Option<(String, Location)>,
    entries: Vec<AllowEntry>,
}

/// Parse and validate the text of one file; `file` names it in messages.
pub fn parse_str(text: &str, file: &str) -> Result<Desired, ConfigError> {
    merge(vec![parse_file(text, file)?])
}

fn parse_file(text: &str, file: &str) -> Result<FileState, ConfigError> {
    let at = |line: usize, col: usize| Location {
        file: file.to_string(),
        line,
        col,
    };
    let mut diags = Vec::new();
    let mut push = |location: Location, message: String, help: Option<String>| {
        diags.push(Diagnostic {
            location,
            message,
            help,
        })
    };
    let root = match yaml::parse(text) {
        Ok(Some(root)) => root,
        Ok(None) => {
            return Err(single(
                at(1, 1),
                "the file is empty",
                "list the allowed users under `users:`",
            ))
        }
        Err(e) => {
            return Err(single(
                at(e.line, e.col),
                &format!("YAML syntax error: {}", e.message),
                "fix the YAML at this position",
            ))
        }
    };
    let Value::Map(pairs) = &root.value else {
        return Err(single(
            at(root.line, root.col),
            &format!(
                "expected a mapping with `users:` at the top, found {}",
                root.kind()
            ),
            "start the file with `account_id: ...` and `users:`",
        ));
    };

    let mut seen_keys: HashMap<&str, usize> = HashMap::new();
    let mut account_id = None;
    let mut users_node: Option<&Node> = None;
    for (key, value) in pairs {
        let Some(name) = key.as_str() else {
            push(
                at(key.line, key.col),
                format!("a key must be a plain name, found {}", key.kind()),
                None,
            );
            continue;
        };
        if let Some(first) = seen_keys.insert(name, key.line) {
            push(
                at(key.line, key.col),
                format!("`{name}` is set twice (first on line {first})"),
                Some("keep one of them".into()),
            );
            continue;
        }
        match name {
            "account_id" => match value.as_str() {
                Some(raw) => match check_account_id(raw) {
                    Ok(id) => account_id = Some((id, at(value.line, value.col))),
                    Err(message) => push(
                        at(value.line, value.col),
                        message,
                        Some("copy the Account ID from the Cloudflare dashboard (32 hexadecimal characters)".into()),
                    ),
                },
                None => push(
                    at(value.line, value.col),
                    format!("`account_id` must be a string, found {}", value.kind()),
                    Some("write it as account_id: 023e105f4ecef8ad9ca31a8372d0c353".into()),
                ),
            },
            "users" => users_node = Some(value),
            other => {
                let help = match distance::closest(other, KNOWN_KEYS) {
                    Some(s) => format!("did you mean `{s}`? The known keys are: {}", KNOWN_KEYS.join(", ")),
                    None => format!("the known keys are: {}", KNOWN_KEYS.join(", ")),
                };
                push(
                    at(key.line, key.col),
                    format!("unknown key `{other}`"),
                    Some(help),
                );
            }
        }
    }

    let mut entries = Vec::new();
    match users_node {
        None => push(
            at(root.line, root.col),
            "there is no `users:` list".into(),
            Some("add `users:` with the email addresses that may stay in the account".into()),
        ),
        Some(node) => match &node.value {
            Value::Seq(items) => {
                for item in items {
                    let Some(raw) = item.as_str() else {
                        push(
                            at(item.line, item.col),
                            format!("expected an email address, found {}", item.kind()),
                            Some("write one address per line, e.g. `  - alice@example.com`".into()),
                        );
                        continue;
                    };
                    let normalized = email::normalize(raw);
                    match email::check(&normalized) {
                        Ok(()) => entries.push(AllowEntry {
                            email: normalized,
                            written: raw.to_string(),
                            location: at(item.line, item.col),
                        }),
                        Err(why) => push(
                            at(item.line, item.col),
                            format!("`{raw}` is not a valid email address: {why}"),
                            Some("correct the address or remove the entry".into()),
                        ),
                    }
                }
                if items.is_empty() {
                    push(
                        at(node.line, node.col),
                        "the `users:` list is empty: applying it would delete every user of the account".into(),
                        Some("list the users who may stay".into()),
                    );
                }
            }
            _ if node.is_null() => push(
                at(node.line, node.col),
                "the `users:` list is empty: applying it would delete every user of the account"
                    .into(),
                Some("list the users who may stay, one `- address` per line".into()),
            ),
            _ => push(
                at(node.line, node.col),
                format!(
                    "`users` must be a list of email addresses, found {}",
                    node.kind()
                ),
                Some("write one address per line, e.g. `  - alice@example.com`".into()),
            ),
        },
    }

    if diags.is_empty() {
        Ok(FileState {
            account_id,
            entries,
        })
    } else {
        Err(ConfigError { diagnostics: diags })
    }
}

fn single(location: Location, message: &str, help: &str) -> ConfigError {
    ConfigError {
        diagnostics: vec![Diagnostic {
            location,
            message: message.to_string(),
            help: Some(help.to_string()),
        }],
    }
}

/// Cloudflare account ids are 32 hexadecimal characters (the spec's example and `maxLength: 32`).
/// Returns the id lower-cased.
pub fn check_account_id(raw: &str) -> Result<String, String> {
    let id = raw.trim();
    if id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(id.to_ascii_lowercase())
    } else {
        Err(format!(
            "`{}` is not a Cloudflare account id: it must be 32 hexadecimal characters",
            id.escape_debug()
        ))
    }
}

fn merge(files: Vec<FileState>) -> Result<Desired, ConfigError> {
    let mut account_id: Option<(String, Location)> = None;
    let mut diagnostics = Vec::new();
    let mut entries: Vec<AllowEntry> = Vec::new();
    let mut warnings = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for file in files {
        if let Some((id, loc)) = file.account_id {
            match &account_id {
                Some((first, first_loc)) if *first != id => diagnostics.push(Diagnostic {
                    location: loc,
                    message: format!("this file is for account {id}, but {first_loc} says {first}"),
                    help: Some("all files given together must be for one account".into()),
                }),
                Some(_) => {}
                None => account_id = Some((id, loc)),
            }
        }
        for entry in file.entries {
            if let Some(&i) = index.get(&entry.email) {
                warnings.push(Diagnostic {
                    message: format!(
                        "`{}` is listed twice (also at {})",
                        entry.written, entries[i].location
                    ),
                    location: entry.location,
                    help: Some("remove one of the two entries".into()),
                });
            } else {
                index.insert(entry.email.clone(), entries.len());
                entries.push(entry);
            }
        }
    }
    if diagnostics.is_empty() {
        Ok(Desired {
            account_id,
            entries,
            warnings,
        })
    } else {
        Err(ConfigError { diagnostics })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNT: &str = "023e105f4ecef8ad9ca31a8372d0c353";

    fn ok(text: &str) -> Desired {
        parse_str(text, "users.yaml").unwrap_or_else(|e| panic!("{e}"))
    }

    fn errors(text: &str) -> Vec<Diagnostic> {
        parse_str(text, "users.yaml").unwrap_err().diagnostics
    }

    #[test]
    fn minimal_file() {
        let d = ok(&format!(
            "account_id: {ACCOUNT}\nusers:\n  - Alice@Example.com\n  - bob@example.com\n"
        ));
        assert_eq!(d.account(), Some(ACCOUNT));
        let emails: Vec<_> = d.entries.iter().map(|e| e.email.as_str()).collect();
        assert_eq!(emails, ["alice@example.com", "bob@example.com"]);
        assert_eq!(d.entries[0].written, "Alice@Example.com");
        assert_eq!(d.entries[0].location.to_string(), "users.yaml:3:5");
        assert!(d.warnings.is_empty());
    }

    #[test]
    fn account_id_is_optional_and_lower_cased() {
        assert_eq!(ok("users: [a@b.co]\n").account(), None);
        let upper = ACCOUNT.to_ascii_uppercase();
        assert_eq!(
            ok(&format!("account_id: \"{upper}\"\nusers: [a@b.co]\n")).account(),
            Some(ACCOUNT)
        );
    }

    #[test]
    fn malformed_account_id() {
        let errs = errors("account_id: 1234\nusers: [a@b.co]\n");
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].location.to_string(), "users.yaml:1:13");
        assert!(errs[0].message.contains("32 hexadecimal"), "{}", errs[0]);
    }

    #[test]
    fn every_error_is_reported_with_its_line() {
        let errs = errors("account_id: nope\nuser:\n  - a@b.co\nusers:\n  - not-an-email\n  - ok@example.com\n  - also bad@example.com\n");
        let lines: Vec<usize> = errs.iter().map(|d| d.location.line).collect();
        assert_eq!(lines, [1, 2, 5, 7], "{errs:#?}");
        assert!(errs[1]
            .help
            .as_deref()
            .unwrap()
            .contains("did you mean `users`"));
    }

    #[test]
    fn empty_allowlist_is_an_error() {
        for text in ["users: []\n", "users:\n", "users: ~\n"] {
            let errs = errors(text);
            assert!(
                errs[0].message.contains("delete every user"),
                "{text}: {errs:?}"
            );
        }
        assert!(errors("account_id: 023e105f4ecef8ad9ca31a8372d0c353\n")[0]
            .message
            .contains("no `users:`"));
    }

    #[test]
    fn empty_and_non_mapping_files() {
        assert!(errors("")[0].message.contains("empty"));
        assert!(errors("- a@b.co\n")[0]
            .message
            .contains("expected a mapping"));
        assert!(errors("users: a@b.co\n")[0]
            .message
            .contains("must be a list"));
        assert!(errors("users:\n  - {email: a@b.co}\n")[0]
            .message
            .contains("expected an email"));
    }

    #[test]
    fn syntax_error_names_the_line() {
        let errs = errors("users:\n  - a@b.co\n  - [unclosed\n");
        assert!(errs[0].message.starts_with("YAML syntax error"), "{errs:?}");
        assert!(errs[0].location.line >= 3);
    }

    #[test]
    fn duplicate_key_is_an_error() {
        let errs = errors("users: [a@b.co]\nusers: [c@d.co]\n");
        assert!(errs[0].message.contains("set twice"));
    }

    #[test]
    fn same_address_twice_is_a_warning_naming_both_places() {
        let d = ok("users:\n  - a@b.co\n  - ' A@B.CO '\n");
        assert_eq!(d.entries.len(), 1);
        assert_eq!(d.warnings.len(), 1);
        assert_eq!(d.warnings[0].location.line, 3);
        assert!(
            d.warnings[0].message.contains("users.yaml:2:5"),
            "{}",
            d.warnings[0]
        );
    }

    #[test]
    fn files_merge_and_must_agree_on_the_account() {
        let a = parse_file(
            &format!("account_id: {ACCOUNT}\nusers: [a@b.co]\n"),
            "a.yaml",
        )
        .unwrap();
        let b = parse_file("users: [c@d.co, a@b.co]\n", "b.yaml").unwrap();
        let d = merge(vec![a, b]).unwrap();
        assert_eq!(d.entries.len(), 2);
        assert_eq!(d.warnings.len(), 1);
        let a = parse_file(
            &format!("account_id: {ACCOUNT}\nusers: [a@b.co]\n"),
            "a.yaml",
        )
        .unwrap();
        let c = parse_file(
            "account_id: 00000000000000000000000000000000\nusers: [c@d.co]\n",
            "c.yaml",
        )
        .unwrap();
        let err = merge(vec![a, c]).unwrap_err();
        assert!(err.diagnostics[0].message.contains("a.yaml:1:13"), "{err}");
    }

    #[test]
    fn digest_ignores_layout_but_not_content() {
        let a = ok("# a comment\nusers:\n  - Alice@Example.com\n  - bob@example.com\n");
        let b = ok("users: [bob@example.com, ' alice@example.com']\n");
        assert_eq!(a.digest(), b.digest());
        let c = ok("users: [bob@example.com]\n");
        assert_ne!(a.digest(), c.digest());
        let d = ok(&format!(
            "account_id: {ACCOUNT}\nusers: [bob@example.com, alice@example.com]\n"
        ));
        assert_ne!(a.digest(), d.digest());
    }

    #[test]
    fn load_reports_missing_files_and_directories() {
        let err = load(&[PathBuf::from("/nonexistent/users.yaml")]).unwrap_err();
        assert!(
            err.to_string()
                .contains("/nonexistent/users.yaml:1:1: cannot read the file"),
            "{err}"
        );
        let err = load(&[std::env::temp_dir()]).unwrap_err();
        assert!(err.to_string().contains("is a directory"), "{err}");
        assert!(load(&[]).unwrap_err().to_string().contains("-f FILE"));
    }
}
