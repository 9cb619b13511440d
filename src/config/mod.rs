//! The desired-state format: read the files given with `-f` (files and directories), validate
//! them, normalise every address and domain once, merge them, and return a [`Desired`] that cannot
//! be invalid. Every error names the file, the line and the column, says what is wrong and how to
//! fix it; all errors are reported, not only the first. The format is documented in
//! docs/config.md; `reconcile schema` prints it as JSON Schema (see [`schema`]).

pub mod schema;
pub mod yaml;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::date::Date;
use crate::distance;
use crate::fsread::{self, ReadError};
use crate::model::{
    and_list, mixed_scripts, normalize_pattern, AccountId, AddressError, Domain, Email,
};
use crate::text::printable;
use yaml::{Node, Value};

/// The format version this build reads.
pub const FORMAT_VERSION: u64 = 1;

/// Files larger than this are refused before they are parsed: an allowlist of 100,000 addresses
/// is a few MiB.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// The keys of a desired-state file.
pub const TOP_KEYS: &[&str] = &[
    "version",
    "account_id",
    "users",
    "domains",
    "protected",
    "policy",
];
/// The keys of a `users:` entry written as a mapping.
pub const ENTRY_KEYS: &[&str] = &["email", "note", "expires"];
/// The keys of `policy:`.
pub const POLICY_KEYS: &[&str] = &[
    "max_deletes",
    "max_delete_fraction",
    "allow_delete_all",
    "hold_active_within",
];

/// A span of time: one or more whole numbers, each with a unit `s`, `m`, `h`, `d` or `w`
/// (`90s`, `30m`, `12h`, `7d`, `2w`, `1h30m`). The one grammar of every duration, in the desired
/// state (`hold_active_within`) and in flags (`--plan-ttl`, `--max-wait`); each caller checks
/// its own range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub seconds: u64,
}

impl Span {
    pub fn parse(raw: &str) -> Result<Span, String> {
        let text = raw.trim();
        let bad = || {
            format!(
                "`{}` is not a span of time: write whole numbers with a unit s, m, h, d or w (90s, 15m, 1h30m, 7d, 2w)",
                crate::text::printable(text)
            )
        };
        let (mut seconds, mut digits, mut any) = (0u64, String::new(), false);
        for c in text.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            let unit: u64 = match c {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86_400,
                'w' => 7 * 86_400,
                _ => return Err(bad()),
            };
            let n: u64 = digits.parse().map_err(|_| bad())?;
            digits.clear();
            seconds = n
                .checked_mul(unit)
                .and_then(|s| seconds.checked_add(s))
                .ok_or_else(bad)?;
            any = true;
        }
        if !digits.is_empty() || !any {
            return Err(bad());
        }
        Ok(Span { seconds })
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.seconds;
        for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60)] {
            if s > 0 && s.is_multiple_of(size) {
                return write!(f, "{}{unit}", s / size);
            }
        }
        write!(f, "{s}s")
    }
}

/// The safety settings under `policy:` (docs/safety.md), each with where it was set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PolicySettings {
    /// Refuse a plan that deletes more users than this.
    pub max_deletes: Option<(u64, Location)>,
    /// Refuse a plan that deletes more than this fraction of the live users (accounts of 10+).
    pub max_delete_fraction: Option<(f64, Location)>,
    /// Allow a plan that deletes every live user.
    pub allow_delete_all: Option<(bool, Location)>,
    /// Hold users whose last login is this recent.
    pub hold_active_within: Option<(Span, Location)>,
}

/// A place in a desired-state file, 1-based.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub col: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The name is escaped where it is made (`fsread::display_path`); escaping again here
        // covers names given to `parse_str` and changes nothing else.
        write!(f, "{}:{}:{}", printable(&self.file), self.line, self.col)
    }
}

/// One address of the allowlist, normalised, with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowEntry {
    /// What matching compares.
    pub email: Email,
    /// As written in the file, for messages.
    pub written: String,
    pub location: Location,
    /// Free text for reviewers, shown by `explain` and in the plan.
    pub note: Option<String>,
    /// From this date (UTC) on, the entry no longer keeps the user.
    pub expires: Option<Date>,
}

/// Every address at this domain is allowed (exactly this domain: subdomains are not included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainEntry {
    pub domain: Domain,
    pub location: Location,
}

/// Never deleted, whatever the rest says: an address, or a pattern where `*` stands for any run
/// of characters (`*@svc.example.com`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectedEntry {
    /// Normalised (see [`normalize_pattern`]): an address, or a pattern with `*`.
    pub pattern: String,
    /// As written in the file, for messages.
    pub written: String,
    pub location: Location,
}

impl ProtectedEntry {
    pub fn is_pattern(&self) -> bool {
        self.pattern.contains('*')
    }

    /// Whether a normalised address matches this entry.
    pub fn matches(&self, normalized: &str) -> bool {
        glob_match(&self.pattern, normalized)
    }
}

/// `*` matches any run of characters (including none); everything else matches itself.
fn glob_match(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// The validated desired state of one account, merged from every file given.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    /// The account the files are for, and where it was set; `None` when no file sets it.
    pub account_id: Option<(AccountId, Location)>,
    /// Every allowed address once, in file order.
    pub entries: Vec<AllowEntry>,
    pub domains: Vec<DomainEntry>,
    pub protected: Vec<ProtectedEntry>,
    pub policy: PolicySettings,
    /// The files read, in order.
    pub files: Vec<String>,
    /// Problems that do not stop the run (an address listed twice with the same settings).
    pub warnings: Vec<Diagnostic>,
}

impl Desired {
    pub fn account(&self) -> Option<&AccountId> {
        self.account_id.as_ref().map(|(id, _)| id)
    }

    /// A digest of the normalised desired state: what it allows, not how the files are laid out
    /// (comments, order, notes, spelling of addresses and file names do not change it). A saved
    /// plan carries it so that `apply` can tell whether the files changed since the review.
    pub fn digest(&self) -> String {
        let mut lines: Vec<String> = Vec::new();
        lines.push(format!(
            "account_id={}",
            self.account().map(AccountId::as_str).unwrap_or("")
        ));
        for e in &self.entries {
            match e.expires {
                Some(date) => lines.push(format!("user={} expires={date}", e.email)),
                None => lines.push(format!("user={}", e.email)),
            }
        }
        lines.extend(self.domains.iter().map(|d| format!("domain={}", d.domain)));
        lines.extend(
            self.protected
                .iter()
                .map(|p| format!("protected={}", p.pattern)),
        );
        let policy = &self.policy;
        if let Some((n, _)) = &policy.max_deletes {
            lines.push(format!("policy.max_deletes={n}"));
        }
        if let Some((f, _)) = &policy.max_delete_fraction {
            lines.push(format!("policy.max_delete_fraction={f}"));
        }
        if let Some((b, _)) = &policy.allow_delete_all {
            lines.push(format!("policy.allow_delete_all={b}"));
        }
        if let Some((span, _)) = &policy.hold_active_within {
            lines.push(format!("policy.hold_active_within={}", span.seconds));
        }
        lines.sort_unstable();
        let mut canonical = String::from("reconcile-desired-v1\n");
        for line in lines {
            canonical.push_str(&line);
            canonical.push('\n');
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

/// Messages quote keys and values from the file (`unknown key `…``, an address as written):
/// they reach the terminal only through [`printable`], so a value cannot hide or reorder lines.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, printable(&self.message))?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {}", printable(help))?;
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

fn diagnostic(
    location: Location,
    message: impl Into<String>,
    help: impl Into<String>,
) -> Diagnostic {
    Diagnostic {
        location,
        message: message.into(),
        help: Some(help.into()),
    }
}

fn command_line(message: &str, help: &str) -> ConfigError {
    ConfigError {
        diagnostics: vec![diagnostic(
            Location {
                file: "<command line>".into(),
                line: 1,
                col: 1,
            },
            message,
            help,
        )],
    }
}

/// The files that `-f` arguments name: files as given, and each directory's `*.yaml` / `*.yml`
/// files (in any letter case: `A.YAML`) in sorted order, not recursive. A file named twice is
/// read once.
///
/// Every other entry of a directory is an error, except plain files with other extensions
/// (`README.md`, `.gitkeep`): a subdirectory, a dangling symbolic link, something that is not a
/// file, a name that is not UTF-8, or one that only looks like YAML (`users.yaml ` with a trailing
/// space) would otherwise be passed over in silence, and the users it lists deleted.
pub fn expand_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ConfigError> {
    if paths.is_empty() {
        return Err(command_line(
            "no desired-state file was given",
            "pass one with -f FILE or -f DIRECTORY, e.g. -f desired/",
        ));
    }
    let mut files = Vec::new();
    let mut diagnostics = Vec::new();
    for path in paths {
        let at = Location {
            file: fsread::display_path(path),
            line: 1,
            col: 1,
        };
        if !path.is_dir() {
            files.push(path.clone());
            continue;
        }
        match std::fs::read_dir(path) {
            Ok(entries) => {
                let mut found: Vec<PathBuf> = Vec::new();
                let mut refused: Vec<(String, String, String)> = Vec::new();
                for entry in entries {
                    match entry {
                        Ok(entry) => match directory_entry(&entry) {
                            DirEntry::Yaml => found.push(entry.path()),
                            DirEntry::Other => {}
                            DirEntry::Refused { message, help } => {
                                refused.push((fsread::display_path(&entry.path()), message, help))
                            }
                        },
                        Err(e) => refused.push((
                            String::new(),
                            format!("cannot read an entry of the directory: {e}"),
                            "check the directory's permissions".into(),
                        )),
                    }
                }
                found.sort();
                // The directory's order is arbitrary; the messages' is not.
                refused.sort();
                if found.is_empty() {
                    diagnostics.push(diagnostic(
                        at.clone(),
                        "the directory has no .yaml or .yml files",
                        "put the desired-state files there, or name a file with -f",
                    ));
                }
                diagnostics.extend(
                    refused
                        .into_iter()
                        .map(|(_, message, help)| diagnostic(at.clone(), message, help)),
                );
                files.extend(found);
            }
            Err(e) => diagnostics.push(diagnostic(
                at,
                format!("cannot read the directory: {e}"),
                "check the path and its permissions",
            )),
        }
    }
    if !diagnostics.is_empty() {
        return Err(ConfigError { diagnostics });
    }
    let mut seen = std::collections::HashSet::new();
    files.retain(|f| seen.insert(std::fs::canonicalize(f).unwrap_or_else(|_| f.clone())));
    Ok(files)
}

/// What `-f DIR` does with one entry of the directory.
enum DirEntry {
    /// A file (or a link to one) named `*.yaml` / `*.yml`: read it.
    Yaml,
    /// A plain file with another extension: not desired state, passed over in silence.
    Other,
    /// Passed over, but possibly meant to be read: an error naming the entry.
    Refused { message: String, help: String },
}

fn directory_entry(entry: &std::fs::DirEntry) -> DirEntry {
    let path = entry.path();
    let raw_name = entry.file_name();
    let shown = fsread::display_bytes(raw_name.as_encoded_bytes());
    let refused = |message: String, help: &str| DirEntry::Refused {
        message,
        help: help.to_string(),
    };
    let Some(name) = raw_name.to_str() else {
        return refused(
            format!("`{shown}` has a name that is not UTF-8, so whether it is desired state cannot be told"),
            "rename it with a UTF-8 name ending in .yaml (read) or another extension (not read), or move it out of the directory",
        );
    };
    if let NameKind::Hostile(c) = name_kind(name) {
        return refused(
            format!("`{shown}` has a name holding U+{:04X}, a control, bidirectional or invisible character, so what it is cannot be told from how it looks", u32::from(c)),
            "rename it without that character (desired-state files are named *.yaml or *.yml), or move it out of the directory",
        );
    }
    // `metadata` follows symbolic links: a link to a YAML file is read like the file.
    let meta = match std::fs::metadata(&path) {
        Ok(meta) => meta,
        Err(e) => {
            let dangling = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_symlink());
            return if dangling {
                let target = std::fs::read_link(&path)
                    .map(|t| fsread::display_path(&t))
                    .unwrap_or_default();
                refused(
                    format!("`{shown}` is a symbolic link to `{target}`, which does not exist"),
                    "point the link at the file it stands for, or remove it",
                )
            } else {
                refused(
                    format!("cannot read `{shown}`: {e}"),
                    "check its permissions, or move it out of the directory",
                )
            };
        }
    };
    if meta.is_dir() {
        return refused(
            format!("`{shown}` is a directory: -f DIR reads the files directly inside DIR, not its subdirectories"),
            "give the subdirectory its own -f, or move its files up",
        );
    }
    if !meta.is_file() {
        return refused(
            format!("`{shown}` is not a regular file (a device, socket or pipe)"),
            "desired-state files are regular files: move it out of the directory",
        );
    }
    match name_kind(name) {
        NameKind::Yaml => DirEntry::Yaml,
        NameKind::Other => DirEntry::Other,
        NameKind::LooksLikeYaml => refused(
            format!("`{shown}` looks like a YAML file but is not named .yaml: rename it or remove it"),
            "a desired-state file's name ends in exactly .yaml or .yml (any ASCII letter case), with nothing after it; this one is passed over, and the users it lists would be deleted",
        ),
        // Refused above, before its metadata was read.
        NameKind::Hostile(_) => DirEntry::Other,
    }
}

/// What the name of an entry of `-f DIR` says about it.
#[derive(Debug, PartialEq, Eq)]
enum NameKind {
    /// `*.yaml` / `*.yml` in any ASCII letter case: read.
    Yaml,
    /// Another extension, or none: not desired state, passed over in silence.
    Other,
    /// It holds this control, bidirectional or invisible character ([`crate::text::is_hostile`]):
    /// shown, it passes for another name (`users.yaml\u{ad}`, `x\u{202e}lmay.txt`).
    Hostile(char),
    /// It reads as `*.yaml` / `*.yml` but is not named so: trailing dots or spaces
    /// (`users.yaml.`), full-width letters (`users.ｙａｍｌ`), look-alikes (`users.yamI`, a
    /// Cyrillic `а`).
    LooksLikeYaml,
}

fn name_kind(name: &str) -> NameKind {
    if let Some(c) = name.chars().find(|&c| crate::text::is_hostile(c)) {
        return NameKind::Hostile(c);
    }
    let extension = Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("");
    if extension.eq_ignore_ascii_case("yaml") || extension.eq_ignore_ascii_case("yml") {
        return NameKind::Yaml;
    }
    if reads_as_yaml(name) {
        NameKind::LooksLikeYaml
    } else {
        NameKind::Other
    }
}

/// Whether `name` reads as `*.yaml` / `*.yml` once folded: NFKC (full-width and compatibility
/// forms), letter case, and the UTS 39 confusable skeleton (`I`, `1` and `l` are one prototype;
/// `m` and `rn` are another, so `users.yarnl` reads as YAML too), with trailing dots and white
/// space dropped. NFKC and case alone leave `yamI` as `yami`; the skeleton is what catches it.
/// The skeleton does not fold case, and lower-casing changes what a letter looks like (`I` to
/// `i`), so both orders are tried.
fn reads_as_yaml(name: &str) -> bool {
    use unicode_normalization::UnicodeNormalization;
    use unicode_security::skeleton;
    let fold = |text: &str| -> [String; 3] {
        let nfkc: String = text.nfkc().collect();
        let shape: String = skeleton(&nfkc).collect();
        [
            shape.clone(),
            skeleton(&nfkc.to_lowercase()).collect(),
            skeleton(&shape.to_lowercase()).collect(),
        ]
    };
    let targets: Vec<String> = ["yaml", "yml"].iter().flat_map(|t| fold(t)).collect();
    fold(name).iter().any(|folded| {
        let folded = folded.trim_end_matches(|c: char| c.is_whitespace() || c == '.');
        match folded.rsplit_once('.') {
            Some((stem, extension)) => !stem.is_empty() && targets.iter().any(|t| t == extension),
            None => false,
        }
    })
}

/// Read, validate and merge the given files and directories.
pub fn load(paths: &[PathBuf]) -> Result<Desired, ConfigError> {
    let files = expand_paths(paths)?;
    let mut parsed = Vec::new();
    let mut diagnostics = Vec::new();
    for path in &files {
        let name = fsread::display_path(path);
        match read(path, &name).and_then(|text| parse_file(&text, &name)) {
            Ok(file) => parsed.push(file),
            Err(e) => diagnostics.extend(e.diagnostics),
        }
    }
    if !diagnostics.is_empty() {
        return Err(ConfigError { diagnostics });
    }
    merge(parsed)
}

/// The text of one file, through the shared bounded reader (a byte-order mark dropped); `name`
/// is the path as shown.
fn read(path: &Path, name: &str) -> Result<String, ConfigError> {
    fsread::read_text(path, MAX_FILE_BYTES).map_err(|e| {
        let (message, help) = match e {
            ReadError::Io(e) => (
                format!("cannot read the file: {e}"),
                "check the path given with -f and its permissions",
            ),
            ReadError::NotRegular { kind } => (
                format!("this is {kind}, not a regular file, so it was not read (reading one can wait forever)"),
                "name the desired-state file itself with -f, or a directory of them",
            ),
            ReadError::TooLarge { limit } => (
                format!(
                    "the file holds more than the limit of {limit} bytes ({} MiB)",
                    limit / (1024 * 1024)
                ),
                "a desired-state file is a list of addresses; check that this is the right file",
            ),
            ReadError::NotUtf8 { valid_up_to } => (
                format!("the file is not valid UTF-8 (byte {valid_up_to})"),
                "save the file as UTF-8",
            ),
        };
        ConfigError {
            diagnostics: vec![diagnostic(
                Location {
                    file: name.to_string(),
                    line: 1,
                    col: 1,
                },
                message,
                help,
            )],
        }
    })
}

/// One file, validated on its own.
#[derive(Debug, Default)]
struct FileState {
    file: String,
    account_id: Option<(AccountId, Location)>,
    entries: Vec<AllowEntry>,
    domains: Vec<DomainEntry>,
    protected: Vec<ProtectedEntry>,
    policy: PolicySettings,
    warnings: Vec<Diagnostic>,
}

/// Parse and validate the text of one file; `file` names it in messages.
pub fn parse_str(text: &str, file: &str) -> Result<Desired, ConfigError> {
    merge(vec![parse_file(text, file)?])
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
                                why,
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
                        why,
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

fn parse_file(text: &str, file: &str) -> Result<FileState, ConfigError> {
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
            let help = if e.message.contains("alias") || e.message.contains("anchor") {
                "YAML reads a value that starts with `*` as an alias: quote patterns, e.g. \"*@svc.example.com\""
            } else {
                "fix the YAML at this position"
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
                        Err(message) => c.error(
                            value,
                            message,
                            "copy the Account ID from the Cloudflare dashboard (32 hexadecimal characters)",
                        ),
                    }
                }
            }
            "users" => {
                for item in c.list("users", value, "alice@example.com") {
                    if let Some(entry) = c.user(item) {
                        state.entries.push(entry);
                    }
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

/// A policy setting may be given in several files only with one value.
fn merge_setting<T: PartialEq + fmt::Debug>(
    merged: &mut Option<(T, Location)>,
    new: Option<(T, Location)>,
    name: &str,
    errors: &mut Vec<Diagnostic>,
) {
    let Some((value, at)) = new else { return };
    match merged {
        Some((first, first_at)) if *first != value => errors.push(diagnostic(
            at,
            format!("`policy.{name}` is {value:?} here but {first:?} at {first_at}"),
            "set it in one file, or to the same value everywhere",
        )),
        Some(_) => {}
        None => *merged = Some((value, at)),
    }
}

fn merge(files: Vec<FileState>) -> Result<Desired, ConfigError> {
    let mut desired = Desired {
        account_id: None,
        entries: Vec::new(),
        domains: Vec::new(),
        protected: Vec::new(),
        policy: PolicySettings::default(),
        files: Vec::new(),
        warnings: Vec::new(),
    };
    let mut errors = Vec::new();
    let mut by_email: HashMap<Email, usize> = HashMap::new();
    let mut by_domain: HashMap<Domain, usize> = HashMap::new();
    let mut by_pattern: HashMap<String, usize> = HashMap::new();
    for file in files {
        desired.files.push(file.file);
        desired.warnings.extend(file.warnings);
        merge_setting(
            &mut desired.policy.max_deletes,
            file.policy.max_deletes,
            "max_deletes",
            &mut errors,
        );
        merge_setting(
            &mut desired.policy.max_delete_fraction,
            file.policy.max_delete_fraction,
            "max_delete_fraction",
            &mut errors,
        );
        merge_setting(
            &mut desired.policy.allow_delete_all,
            file.policy.allow_delete_all,
            "allow_delete_all",
            &mut errors,
        );
        merge_setting(
            &mut desired.policy.hold_active_within,
            file.policy.hold_active_within,
            "hold_active_within",
            &mut errors,
        );
        if let Some((id, loc)) = file.account_id {
            match &desired.account_id {
                Some((first, first_loc)) if *first != id => errors.push(diagnostic(
                    loc,
                    format!("this file is for account {id}, but {first_loc} says {first}"),
                    "all files given together must be for one account",
                )),
                Some(_) => {}
                None => desired.account_id = Some((id, loc)),
            }
        }
        for entry in file.entries {
            match by_email.get(&entry.email) {
                Some(&i) => {
                    let first = &desired.entries[i];
                    if first.note == entry.note && first.expires == entry.expires {
                        desired.warnings.push(diagnostic(
                            entry.location,
                            format!(
                                "`{}` is listed twice (also at {})",
                                entry.written, first.location
                            ),
                            "remove one of the two entries",
                        ));
                    } else {
                        errors.push(diagnostic(
                            entry.location,
                            format!(
                                "`{}` is listed twice with different settings (also at {}): which `note` and `expires` apply is unclear",
                                entry.written, first.location
                            ),
                            "keep one entry with the settings you mean",
                        ));
                    }
                }
                None => {
                    by_email.insert(entry.email.clone(), desired.entries.len());
                    desired.entries.push(entry);
                }
            }
        }
        for entry in file.domains {
            match by_domain.get(&entry.domain) {
                Some(&i) => desired.warnings.push(diagnostic(
                    entry.location,
                    format!(
                        "domain `{}` is listed twice (also at {})",
                        entry.domain, desired.domains[i].location
                    ),
                    "remove one of the two entries",
                )),
                None => {
                    by_domain.insert(entry.domain.clone(), desired.domains.len());
                    desired.domains.push(entry);
                }
            }
        }
        for entry in file.protected {
            match by_pattern.get(&entry.pattern) {
                Some(&i) => desired.warnings.push(diagnostic(
                    entry.location,
                    format!(
                        "`{}` is protected twice (also at {})",
                        entry.pattern, desired.protected[i].location
                    ),
                    "remove one of the two entries",
                )),
                None => {
                    by_pattern.insert(entry.pattern.clone(), desired.protected.len());
                    desired.protected.push(entry);
                }
            }
        }
    }
    if errors.is_empty() && desired.entries.is_empty() && desired.domains.is_empty() {
        let file = desired.files.first().cloned().unwrap_or_default();
        errors.push(diagnostic(
            Location { file, line: 1, col: 1 },
            "the allowlist is empty (no `users:` and no `domains:`): applying it would delete every user of the account",
            "list the users who may stay under `users:`, or their domains under `domains:`",
        ));
    }
    if errors.is_empty() {
        Ok(desired)
    } else {
        Err(ConfigError {
            diagnostics: errors,
        })
    }
}

#[cfg(test)]
mod names {
    use super::*;

    #[test]
    fn only_names_that_read_as_yaml_and_are_not_named_so_are_refused() {
        for read in ["users.yaml", "A.YAML", "b.Yml", ".team.yaml", "x.y.yml"] {
            assert_eq!(name_kind(read), NameKind::Yaml, "{read}");
        }
        for skipped in [
            "README.md",
            ".gitkeep",
            ".yaml",
            "notes.txt",
            "users.yaml.bak",
            "users.yaml~",
            "users.json",
            "yaml",
            "Makefile",
            "users.yam",
            "users.yamlx",
        ] {
            assert_eq!(name_kind(skipped), NameKind::Other, "{skipped}");
        }
        for c in [
            '\u{ad}',
            '\u{2066}',
            '\u{202e}',
            '\u{3164}',
            '\u{fe0f}',
            '\u{200b}',
            '\u{feff}',
            '\u{1b}',
            '\u{85}',
            '\u{7f}',
            '\u{2028}',
            '\u{61c}',
            '\u{e0041}',
        ] {
            assert_eq!(
                name_kind(&format!("b.yaml{c}")),
                NameKind::Hostile(c),
                "{c:?}"
            );
            assert_eq!(name_kind(&format!("no{c}tes.txt")), NameKind::Hostile(c));
        }
        for looks in [
            "g.yaml.",
            "g.yaml..",
            "g.yml. ",
            "team.yaml ",
            "team.yaml\u{3000}",
            "i.yamI",
            "i.yam1",
            "i.ymI",
            "u.yarnl",
            "j.\u{ff59}\u{ff41}\u{ff4d}\u{ff4c}",
            "j\u{ff0e}yaml",
            "c.y\u{430}ml",
            "c.\u{443}aml",
            "k.\u{ff39}\u{ff2d}\u{ff2c}",
        ] {
            assert_eq!(name_kind(looks), NameKind::LooksLikeYaml, "{looks:?}");
        }
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

    fn first_error(text: &str) -> String {
        errors(text)[0].to_string()
    }

    #[test]
    fn invisible_characters_are_errors_at_their_entry_naming_the_code_point() {
        // In `protected:`: it would protect nobody, and the plan would delete breakglass@.
        let e = first_error(
            "users: [a@example.com]\nprotected:\n  - \"break\\u200bglass@example.com\"\n",
        );
        assert!(
            e.starts_with("users.yaml:3:5: `break\\u{200b}glass@example.com` is not an address or an address pattern: it contains U+200B at character 6, an invisible format character"),
            "{e}"
        );
        assert!(e.contains("type the value again by hand"), "{e}");
        // In `users:`, twice in one address, and in the mapping form.
        let all = errors(
            "users:\n  - \"a\\u00adli\\u2060ce@example.com\"\n  - email: \"bob\\ufeff@example.com\"\n",
        );
        let text: Vec<String> = all.iter().map(|d| d.to_string()).collect();
        assert!(
            text[0].starts_with("users.yaml:2:5:") && text[0].contains("U+00AD at character 2"),
            "{text:?}"
        );
        assert!(
            text[1].starts_with("users.yaml:3:12:") && text[1].contains("U+FEFF"),
            "{text:?}"
        );
        // In `domains:` and in a pattern.
        let e = first_error("users: [a@example.com]\ndomains: [\"exa\\u200dmple.com\"]\n");
        assert!(e.contains("U+200D"), "{e}");
        let e = first_error("users: [a@example.com]\nprotected: [\"*\\u200b@example.com\"]\n");
        assert!(e.contains("U+200B at character 2"), "{e}");
    }

    #[test]
    fn internationalised_domains_are_stored_in_one_form() {
        let d = ok("users: [anna@XN--BCHER-KVA.example]\ndomains: [xn--caf-dma.example]\nprotected: [\"*@xn--bcher-kva.example\"]\n");
        assert_eq!(d.entries[0].email, "anna@b\u{fc}cher.example");
        assert_eq!(d.domains[0].domain, "caf\u{e9}.example");
        assert_eq!(d.protected[0].pattern, "*@b\u{fc}cher.example");
        // The same entry in both forms is one entry.
        let d = ok("users: [anna@xn--bcher-kva.example, \"anna@b\u{fc}cher.example\"]\n");
        assert_eq!(d.entries.len(), 1);
        assert_eq!(d.warnings.len(), 1);
    }

    #[test]
    fn an_entry_that_mixes_scripts_is_a_warning_at_its_entry() {
        // Cyrillic а and е in a Latin address; Cyrillic с and о in a Latin domain.
        let d = ok(
            "users:\n  - \"\u{430}lic\u{435}@corp.com\"\n  - email: \"b\u{43e}b@corp.com\"\ndomains: [\"\u{441}\u{43e}rp.com\"]\nprotected: [\"*@\u{441}orp.com\", \"jos\u{e9}@b\u{fc}cher.example\"]\n",
        );
        let warnings: Vec<String> = d.warnings.iter().map(|w| w.to_string()).collect();
        assert_eq!(warnings.len(), 4, "{warnings:?}");
        assert!(warnings[0].starts_with("users.yaml:2:5: this address mixes scripts (Latin and Cyrillic): it may be a look-alike of another address"), "{warnings:?}");
        assert!(
            warnings[1].starts_with("users.yaml:3:5: this address mixes scripts"),
            "{warnings:?}"
        );
        assert!(
            warnings[2]
                .starts_with("users.yaml:4:11: this domain mixes scripts (Latin and Cyrillic)"),
            "{warnings:?}"
        );
        assert!(
            warnings[3].starts_with("users.yaml:5:13: this address mixes scripts"),
            "{warnings:?}"
        );
        // One script (accents are Latin), or a whole address in another script: no warning.
        assert!(ok("users: [\"jos\u{e9}@b\u{fc}cher.example\", \"\u{438}\u{432}\u{430}\u{43d}@\u{43f}\u{440}\u{438}\u{43c}\u{435}\u{440}.\u{440}\u{444}\"]\n").warnings.is_empty());
    }

    #[test]
    fn minimal_file() {
        let d = ok(&format!(
            "account_id: {ACCOUNT}\nusers:\n  - Alice@Example.com\n  - bob@example.com\n"
        ));
        assert_eq!(d.account().map(|a| a.as_str()), Some(ACCOUNT));
        let emails: Vec<_> = d.entries.iter().map(|e| e.email.as_str()).collect();
        assert_eq!(emails, ["alice@example.com", "bob@example.com"]);
        assert_eq!(d.entries[0].written, "Alice@Example.com");
        assert_eq!(d.entries[0].location.to_string(), "users.yaml:3:5");
        assert!(d.warnings.is_empty() && d.domains.is_empty() && d.protected.is_empty());
        assert_eq!(d.files, ["users.yaml"]);
    }

    #[test]
    fn every_field_of_version_1() {
        let d = ok(&format!(
            "version: 1\naccount_id: {ACCOUNT}\nusers:\n  - alice@example.com\n  - email: Bob@Example.com\n    note: \"contractor, ticket SEC-123\"\n    expires: 2027-01-31\ndomains:\n  - Example.ORG\nprotected:\n  - breakglass@example.com\n  - \"*@svc.example.com\"\n"
        ));
        let bob = &d.entries[1];
        assert_eq!(bob.email, "bob@example.com");
        assert_eq!(bob.note.as_deref(), Some("contractor, ticket SEC-123"));
        assert_eq!(bob.expires, Some(Date::parse("2027-01-31").unwrap()));
        assert_eq!(bob.location.to_string(), "users.yaml:5:5");
        assert_eq!(d.domains[0].domain, "example.org");
        assert_eq!(d.domains[0].location.to_string(), "users.yaml:9:5");
        assert_eq!(d.protected.len(), 2);
        assert!(d.protected[1].is_pattern());
        assert!(d.protected[1].matches("robot@svc.example.com"));
        assert!(!d.protected[1].matches("robot@svc.example.com.evil"));
    }

    #[test]
    fn version_may_be_left_out_but_not_wrong() {
        assert!(parse_str("users: [a@b.co]\n", "u.yaml").is_ok());
        let e = first_error("version: 2\nusers: [a@b.co]\n");
        assert!(
            e.starts_with("users.yaml:1:10: unsupported version `2`"),
            "{e}"
        );
        assert!(first_error("version: [1]\nusers: [a@b.co]\n").contains("must be a number"));
    }

    #[test]
    fn account_id_is_optional_and_lower_cased() {
        assert_eq!(ok("users: [a@b.co]\n").account(), None);
        let upper = ACCOUNT.to_ascii_uppercase();
        assert_eq!(
            ok(&format!("account_id: \"{upper}\"\nusers: [a@b.co]\n"))
                .account()
                .map(|a| a.as_str()),
            Some(ACCOUNT)
        );
        let e = first_error("account_id: 1234\nusers: [a@b.co]\n");
        assert!(
            e.starts_with("users.yaml:1:13: `1234` is not a Cloudflare account id"),
            "{e}"
        );
        assert!(e.contains("help: copy the Account ID"), "{e}");
    }

    #[test]
    fn every_error_is_reported_with_its_line_and_column() {
        let errs = errors(
            "account_id: nope\nuser:\n  - a@b.co\nusers:\n  - not-an-email\n  - ok@example.com\n  - also bad@example.com\n  - email: c@d.co\n    expire: 2027-01-01\ndomains: ['@example.com']\n",
        );
        let at: Vec<String> = errs.iter().map(|d| d.location.to_string()).collect();
        assert_eq!(
            at,
            [
                "users.yaml:1:13",
                "users.yaml:2:1",
                "users.yaml:5:5",
                "users.yaml:7:5",
                "users.yaml:9:5",
                "users.yaml:10:11"
            ],
            "{errs:#?}"
        );
        assert!(errs[1]
            .help
            .as_deref()
            .unwrap()
            .contains("did you mean `users`"));
        assert!(errs[4].message.contains("unknown key `expire`"));
        assert!(errs[4]
            .help
            .as_deref()
            .unwrap()
            .contains("did you mean `expires`"));
        assert!(errs[5].message.contains("without `@`"));
    }

    #[test]
    fn invalid_entries() {
        assert!(
            first_error("users:\n  - email: a@b.co\n    expires: 2027-02-30\n")
                .contains("not a day of that month")
        );
        assert!(
            first_error("users:\n  - email: a@b.co\n    expires: tomorrow\n")
                .contains("YYYY-MM-DD")
        );
        assert!(first_error("users:\n  - note: who?\n").contains("has no `email:`"));
        assert!(first_error("users:\n  - [a@b.co]\n")
            .contains("expected an email address or a mapping"));
        assert!(
            first_error("users:\n  - email: [a@b.co]\n").contains("`email` must be a single value")
        );
        assert!(first_error("users: [a@b.co]\ndomains: [a@b.co]\n")
            .contains("an address, not a domain"));
        assert!(
            first_error("users: [a@b.co]\ndomains: ['*.example.com']\n").contains("no wildcards")
        );
        assert!(
            first_error("users: [a@b.co]\ndomains: [localhost]\n").contains("not a valid domain")
        );
        assert!(
            first_error("users: [a@b.co]\nprotected: ['not an address']\n")
                .contains("not an address or an address pattern")
        );
        assert!(first_error("users: [a@b.co]\nprotected: ['*']\n").contains("exactly one '@'"));
        assert!(first_error("users: a@b.co\n").contains("`users` must be a list"));
    }

    #[test]
    fn unquoted_pattern_gets_a_hint_to_quote_it() {
        let e = first_error("users: [a@b.co]\nprotected:\n  - *@svc.example.com\n");
        assert!(e.contains("users.yaml:3:"), "{e}");
        assert!(e.contains("quote patterns"), "{e}");
    }

    #[test]
    fn empty_allowlist_is_an_error() {
        for text in [
            "users: []\n",
            "users:\n",
            "users: ~\n",
            "users: []\ndomains: []\n",
            "protected: [a@b.co]\n",
            "account_id: 023e105f4ecef8ad9ca31a8372d0c353\n",
        ] {
            let errs = errors(text);
            assert!(
                errs[0].message.contains("would delete every user"),
                "{text}: {errs:?}"
            );
        }
        // Domains alone are an allowlist.
        assert!(parse_str("domains: [example.com]\n", "u.yaml").is_ok());
    }

    #[test]
    fn empty_and_non_mapping_files() {
        assert!(first_error("").contains("the file is empty"));
        assert!(first_error("# just a comment\n").contains("the file is empty"));
        assert!(first_error("- a@b.co\n").contains("expected a mapping"));
    }

    #[test]
    fn syntax_error_names_the_line() {
        let errs = errors("users:\n  - a@b.co\n  - [unclosed\n");
        assert!(errs[0].message.starts_with("YAML syntax error"), "{errs:?}");
        assert!(errs[0].location.line >= 3);
    }

    #[test]
    fn duplicate_key_is_an_error() {
        assert!(first_error("users: [a@b.co]\nusers: [c@d.co]\n")
            .contains("set twice (first on line 1)"));
    }

    #[test]
    fn same_address_twice_with_same_settings_is_a_warning_naming_both_places() {
        let d = ok("users:\n  - a@b.co\n  - ' A@B.CO '\n");
        assert_eq!(d.entries.len(), 1);
        assert_eq!(d.warnings.len(), 1);
        assert_eq!(d.warnings[0].location.to_string(), "users.yaml:3:5");
        assert!(
            d.warnings[0].message.contains("also at users.yaml:2:5"),
            "{}",
            d.warnings[0]
        );
    }

    #[test]
    fn same_address_twice_with_different_settings_is_an_error() {
        let e = first_error("users:\n  - a@b.co\n  - email: A@b.co\n    expires: 2027-01-01\n");
        assert!(e.starts_with("users.yaml:3:5: `A@b.co` is listed twice with different settings (also at users.yaml:2:5)"), "{e}");
    }

    #[test]
    fn normalisation_of_case_spaces_and_unicode() {
        let d = ok("users:\n  - \"  Jos\u{e9}@Example.com \"\n  - \"jose\u{301}@example.com\"\ndomains: [' EXAMPLE.org ']\n");
        assert_eq!(d.entries.len(), 1, "the two spellings are one address");
        assert_eq!(d.entries[0].email, "jos\u{e9}@example.com");
        assert_eq!(d.warnings.len(), 1);
        assert_eq!(d.domains[0].domain, "example.org");
    }

    #[test]
    fn files_merge_and_must_agree_on_the_account() {
        let a = parse_file(
            &format!("account_id: {ACCOUNT}\nusers: [a@b.co]\n"),
            "a.yaml",
        )
        .unwrap();
        let b = parse_file("users: [c@d.co, a@b.co]\nprotected: [c@d.co]\n", "b.yaml").unwrap();
        let d = merge(vec![a, b]).unwrap();
        assert_eq!(d.entries.len(), 2);
        assert_eq!(d.warnings.len(), 1);
        assert_eq!(d.account().map(|a| a.as_str()), Some(ACCOUNT));
        assert_eq!(d.files, ["a.yaml", "b.yaml"]);
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
        assert!(err.diagnostics[0].to_string().starts_with("c.yaml:1:13: this file is for account 00000000000000000000000000000000, but a.yaml:1:13 says"), "{err}");
    }

    #[test]
    fn digest_ignores_layout_and_notes_but_not_rules() {
        let a = ok("# a comment\nusers:\n  - Alice@Example.com\n  - email: bob@example.com\n    note: hi\n");
        let b = ok("users: [bob@example.com, ' alice@example.com']\n");
        assert_eq!(a.digest(), b.digest());
        for changed in [
            "users: [bob@example.com]\n",
            "users: [bob@example.com, alice@example.com]\ndomains: [example.com]\n",
            "users: [bob@example.com, alice@example.com]\nprotected: [x@example.com]\n",
            "users:\n  - bob@example.com\n  - email: alice@example.com\n    expires: 2027-01-01\n",
        ] {
            assert_ne!(a.digest(), ok(changed).digest(), "{changed}");
        }
        let d = ok(&format!(
            "account_id: {ACCOUNT}\nusers: [bob@example.com, alice@example.com]\n"
        ));
        assert_ne!(a.digest(), d.digest());
    }

    #[test]
    fn policy_settings() {
        let d = ok("users: [a@b.co]\npolicy:\n  max_deletes: 20\n  max_delete_fraction: 0.1\n  allow_delete_all: true\n  hold_active_within: 7d\n");
        assert_eq!(d.policy.max_deletes.as_ref().map(|(n, _)| *n), Some(20));
        assert_eq!(
            d.policy.max_delete_fraction.as_ref().map(|(f, _)| *f),
            Some(0.1)
        );
        assert_eq!(
            d.policy.allow_delete_all.as_ref().map(|(b, _)| *b),
            Some(true)
        );
        let (span, at) = d.policy.hold_active_within.clone().unwrap();
        assert_eq!(
            (span.seconds, span.to_string()),
            (7 * 86_400, "7d".to_string())
        );
        assert_eq!(at.to_string(), "users.yaml:6:23");
        assert_eq!(
            ok("users: [a@b.co]\npolicy:\n").policy,
            PolicySettings::default()
        );
        let errs = errors("users: [a@b.co]\npolicy:\n  max_deletes: -1\n  max_delete_fraction: 1.5\n  allow_delete_all: yes\n  hold_active_within: 7 days\n  max_delete: 3\n");
        let lines: Vec<usize> = errs.iter().map(|d| d.location.line).collect();
        assert_eq!(lines, [3, 4, 5, 6, 7], "{errs:#?}");
        assert!(errs[4]
            .help
            .as_deref()
            .unwrap()
            .contains("did you mean `max_deletes`"));
    }

    #[test]
    fn policy_in_two_files_must_agree_and_counts_in_the_digest() {
        let a = parse_file("users: [a@b.co]\npolicy: {max_deletes: 5}\n", "a.yaml").unwrap();
        let b = parse_file("users: [c@d.co]\npolicy: {max_deletes: 6}\n", "b.yaml").unwrap();
        let err = merge(vec![a, b]).unwrap_err();
        assert!(
            err.diagnostics[0]
                .to_string()
                .starts_with("b.yaml:2:23: `policy.max_deletes` is 6 here but 5 at a.yaml:2:23"),
            "{err}"
        );
        assert_ne!(
            ok("users: [a@b.co]\n").digest(),
            ok("users: [a@b.co]\npolicy: {max_deletes: 5}\n").digest()
        );
    }

    #[test]
    fn spans() {
        for (text, seconds) in [
            ("90s", 90),
            ("30m", 1800),
            ("12h", 43_200),
            ("7d", 604_800),
            ("2w", 1_209_600),
            ("0d", 0),
        ] {
            assert_eq!(Span::parse(text).unwrap().seconds, seconds, "{text}");
        }
        for bad in [
            "",
            "7",
            "d",
            "7 d",
            "7days",
            "-1d",
            "1.5h",
            "99999999999999999999w",
        ] {
            assert!(Span::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Span { seconds: 5400 }.to_string(), "90m");
    }

    #[test]
    fn glob() {
        assert!(glob_match("*@svc.example.com", "a@svc.example.com"));
        assert!(glob_match("*@svc.example.com", "@svc.example.com"));
        assert!(!glob_match("*@svc.example.com", "a@svc.example.com.evil"));
        assert!(glob_match("ops-*@*.example.com", "ops-1@eu.example.com"));
        assert!(!glob_match("ops-*@*.example.com", "dev-1@eu.example.com"));
        assert!(glob_match("a*a", "aa"));
        assert!(!glob_match("a*a", "a"));
        assert!(glob_match("breakglass@*", "breakglass@anything"));
        assert!(glob_match("exact@example.com", "exact@example.com"));
        assert!(!glob_match("exact@example.com", "exact@example.comx"));
    }

    #[test]
    fn paths_files_and_directories() {
        let dir = tempfile::tempdir().unwrap();
        let teams = dir.path().join("teams");
        std::fs::create_dir(&teams).unwrap();
        std::fs::write(teams.join("b.yml"), "users: [b@example.com]\n").unwrap();
        std::fs::write(
            teams.join("a.yaml"),
            format!("account_id: {ACCOUNT}\nusers: [a@example.com]\n"),
        )
        .unwrap();
        std::fs::write(teams.join("notes.txt"), "not yaml").unwrap();
        std::fs::write(teams.join("C.YAML"), "users: [c@example.com]\n").unwrap();
        let d = load(std::slice::from_ref(&teams)).unwrap();
        let emails: Vec<_> = d.entries.iter().map(|e| e.email.as_str()).collect();
        assert_eq!(
            emails,
            ["c@example.com", "a@example.com", "b@example.com"],
            "sorted by file name, any letter case of the extension"
        );
        // The same file named twice is read once.
        let again = load(&[teams.clone(), teams.join("a.yaml")]).unwrap();
        assert!(again.warnings.is_empty(), "{:?}", again.warnings);

        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        assert!(load(&[empty])
            .unwrap_err()
            .to_string()
            .contains("no .yaml or .yml files"));
        let err = load(&[PathBuf::from("/nonexistent/users.yaml")]).unwrap_err();
        assert!(
            err.to_string()
                .contains("/nonexistent/users.yaml:1:1: cannot read the file"),
            "{err}"
        );
        assert!(load(&[]).unwrap_err().to_string().contains("-f FILE"));
    }

    #[test]
    fn entries_a_directory_passes_over_are_errors_naming_them() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("ok.yml"), "users: [a@example.com]\n").unwrap();
        // Silently fine: plain files with other extensions, hidden or not.
        std::fs::write(d.join("README.md"), "x").unwrap();
        std::fs::write(d.join(".gitkeep"), "").unwrap();
        std::fs::write(d.join("users.yaml.bak"), "x").unwrap();
        assert!(load(&[d.to_path_buf()]).is_ok());
        std::fs::create_dir(d.join("sub")).unwrap();
        std::os::unix::fs::symlink("gone.yaml", d.join("link.yaml")).unwrap();
        std::fs::write(d.join("t.yaml "), "x").unwrap();
        std::fs::write(d.join("z.YML\u{200b}"), "x").unwrap();
        std::fs::write(d.join(std::ffi::OsStr::from_bytes(b"n\x80.yaml")), "x").unwrap();
        let err = load(&[d.to_path_buf()]).unwrap_err();
        let messages: Vec<String> = err.diagnostics.iter().map(|d| d.to_string()).collect();
        let shown = fsread::display_path(d);
        assert_eq!(messages.len(), 5, "{err}");
        for m in &messages {
            assert!(m.starts_with(&format!("{shown}:1:1: `")), "{m}");
            assert!(m.contains("\n  help: "), "{m}");
        }
        // Sorted by name; each names the entry, escaped.
        assert!(
            messages[0].contains("link.yaml` is a symbolic link to `gone.yaml`"),
            "{err}"
        );
        assert!(
            messages[1].contains("n\\x80.yaml` has a name that is not UTF-8"),
            "{err}"
        );
        assert!(messages[2].contains("sub` is a directory"), "{err}");
        assert!(
            messages[3].contains("t.yaml ` looks like a YAML file"),
            "{err}"
        );
        assert!(
            messages[4].contains("z.YML\\u{200b}` has a name holding U+200B"),
            "{err}"
        );
    }

    #[test]
    fn a_byte_order_mark_and_crlf_keep_positions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("crlf.yaml");
        std::fs::write(&path, "\u{feff}users:\r\n  - a@example.com\r\n  - bad\r\n").unwrap();
        let err = load(&[path]).unwrap_err();
        assert_eq!(err.diagnostics.len(), 1, "{err}");
        assert_eq!(
            (
                err.diagnostics[0].location.line,
                err.diagnostics[0].location.col
            ),
            (3, 5)
        );
    }

    #[test]
    fn messages_escape_hostile_names_and_values() {
        let e = first_error("users: [a@b.co]\n\u{202e}evil\u{1b}[2K: 1\n");
        assert!(e.contains("unknown key `\\u{202e}evil\\u{1b}[2K`"), "{e}");
        let d = parse_str("users: [a@b.co]\n", "x\u{202e}y\u{2028}.yaml").unwrap();
        assert_eq!(
            d.entries[0].location.to_string(),
            "x\\u{202e}y\\u{2028}.yaml:1:9"
        );
    }

    #[test]
    fn errors_from_several_files_are_all_reported() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.yaml"), "users: [bad]\n").unwrap();
        std::fs::write(dir.path().join("b.yaml"), "userz: [b@example.com]\n").unwrap();
        let err = load(&[dir.path().to_path_buf()]).unwrap_err();
        assert_eq!(err.diagnostics.len(), 2, "{err}");
    }

    #[test]
    fn oversized_and_non_utf8_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.yaml");
        let f = std::fs::File::create(&big).unwrap();
        f.set_len(MAX_FILE_BYTES + 1).unwrap();
        assert!(load(&[big])
            .unwrap_err()
            .to_string()
            .contains("more than the limit"));
        let latin1 = dir.path().join("latin1.yaml");
        std::fs::write(&latin1, b"users: [jos\xe9@example.com]\n").unwrap();
        assert!(load(&[latin1])
            .unwrap_err()
            .to_string()
            .contains("not valid UTF-8"));
    }
}

/// Hostile input: the loader never panics, and answers quickly, whatever the bytes.
#[cfg(test)]
mod hostile {
    use super::*;
    use proptest::prelude::*;
    use std::time::{Duration, Instant};

    /// Far above what any input here needs (well under a second on an idle machine, but test
    /// runs share two cores with builds); a hang or a quadratic blow-up on these inputs takes
    /// minutes and still crosses it.
    const BOUND: Duration = Duration::from_secs(20);

    const VALID: &str = "version: 1\naccount_id: 023e105f4ecef8ad9ca31a8372d0c353\nusers:\n  - alice@example.com\n  - email: bob@example.com\n    note: \"contractor\"\n    expires: 2027-01-31\ndomains: [example.com]\nprotected:\n  - \"*@svc.example.com\"\npolicy: {max_deletes: 5, hold_active_within: 7d}\n";

    fn parse_timed(text: &str) -> Result<Desired, ConfigError> {
        let start = Instant::now();
        let result = parse_str(text, "fuzz.yaml");
        assert!(start.elapsed() < BOUND, "took {:?}", start.elapsed());
        if let Err(e) = &result {
            assert!(!e.diagnostics.is_empty());
            for d in &e.diagnostics {
                assert_eq!(d.location.file, "fuzz.yaml");
                assert!(d.location.line >= 1 && d.location.col >= 1, "{d}");
            }
        }
        result
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn random_text_never_panics(text in ".{0,400}") {
            let _ = parse_timed(&text);
        }

        #[test]
        fn yaml_shaped_noise_never_panics(text in "[a-z_:@.\\-\\[\\]{}*&!|>'\" \n#0-9]{0,300}") {
            let _ = parse_timed(&text);
        }

        #[test]
        fn truncated_documents_give_clean_errors(cut in 0..VALID.len()) {
            if VALID.is_char_boundary(cut) {
                let _ = parse_timed(&VALID[..cut]);
            }
        }

        #[test]
        fn mutated_documents_never_panic(at in 0..VALID.len(), byte in any::<u8>(), insert in any::<bool>()) {
            let mut bytes = VALID.as_bytes().to_vec();
            if insert { bytes.insert(at, byte) } else { bytes[at] = byte }
            // Invalid UTF-8 is refused before parsing (see `read`); parse what is text.
            if let Ok(text) = String::from_utf8(bytes) {
                let _ = parse_timed(&text);
            }
        }

        #[test]
        fn wrong_types_and_huge_numbers_give_clean_errors(
            key in prop::sample::select(vec!["version", "account_id", "users", "domains", "protected", "policy"]),
            value in prop::sample::select(vec!["99999999999999999999999999999999999", "-1", "[[[]]]", "{a: {b: {c: d}}}", "~", "true", "1e999", "\"\\u0000\"", "!!binary aGVsbG8="]),
        ) {
            let _ = parse_timed(&format!("users: [a@example.com]\n{key}: {value}\n"));
        }
    }

    #[test]
    fn bombs_and_huge_inputs_are_refused_quickly() {
        // Billion laughs.
        let mut bomb = String::from(
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        for i in 0..9u8 {
            let (prev, next) = ((b'a' + i) as char, (b'b' + i) as char);
            bomb.push_str(&format!("{next}: &{next} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"));
        }
        assert!(parse_timed(&bomb).is_err());
        // Deep nesting, flow and block.
        assert!(parse_timed(&format!("users: {}", "[".repeat(100_000))).is_err());
        let deep: String = (0..200)
            .map(|d| format!("{}k{d}:\n", "  ".repeat(d)))
            .collect();
        assert!(parse_timed(&deep).is_err());
        // A long list is fine and quick.
        let mut long = String::from("users:\n");
        for i in 0..50_000 {
            long.push_str(&format!("  - user{i}@example.com\n"));
        }
        assert_eq!(parse_timed(&long).unwrap().entries.len(), 50_000);
        // A huge scalar.
        let huge = format!("users: [\"{}@example.com\"]\n", "a".repeat(1_000_000));
        let _ = parse_timed(&huge);
    }
}
