//! The desired-state format: read the files given with `-f` (files and directories), validate
//! them, normalise every address and domain once, merge them, and return a [`Desired`] that cannot
//! be invalid. Every error names the file, the line and the column, says what is wrong and how to
//! fix it; all errors are reported, not only the first. The format is documented in
//! docs/config.md; `reconcile schema` prints it as JSON Schema (see [`schema`]).
//!
//! One file per step, in the order a run takes them:
//! [`files`] (which files `-f` names, and their text), [`yaml`] (the positioned YAML tree),
//! [`check`] (one file validated into its entries), [`merge`] (the files into one [`Desired`]);
//! beside them [`types`] (what a validated desired state is made of), [`glob`] (the `*` of
//! protected patterns) and [`diagnostic`] (what a problem found looks like).

mod check;
mod diagnostic;
mod files;
mod glob;
mod merge;
pub mod schema;
mod types;
pub mod yaml;

use std::path::PathBuf;

use crate::fsread;
use check::parse_file;
use files::read;
use merge::merge;

pub use crate::date::Span;
pub(crate) use check::door::{door_name, name_help as door_name_help};
pub(crate) use diagnostic::{ConfigError, Diagnostic};
pub use files::expand_paths;
pub use types::{
    AllowEntry, Desired, DomainEntry, DoorGroup, DoorLists, DoorSpec, Location, PolicySettings,
    ProtectedEntry, DEFAULT_LIST_CAPACITY, MAX_GROUP_NAME_CHARS, MAX_LIST_CAPACITY,
    MAX_LIST_PREFIX_CHARS,
};

/// The format version this build reads.
pub(crate) const FORMAT_VERSION: u64 = 1;

/// Files larger than this are refused before they are parsed: an allowlist of 100,000 addresses
/// is a few MiB.
pub(crate) const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// The keys of a desired-state file.
pub(crate) const TOP_KEYS: &[&str] = &[
    "version",
    "account_id",
    "users",
    "domains",
    "protected",
    "policy",
    "door",
];
/// The keys of a `users:` entry written as a mapping.
pub(crate) const ENTRY_KEYS: &[&str] = &["email", "note", "expires"];
/// The keys of `policy:`.
pub(crate) const POLICY_KEYS: &[&str] = &[
    "max_deletes",
    "max_delete_fraction",
    "allow_delete_all",
    "hold_active_within",
];

/// The keys of `door:`, `door.lists` and `door.group`.
pub(crate) const DOOR_KEYS: &[&str] = &["lists", "group"];
pub(crate) const DOOR_LISTS_KEYS: &[&str] = &["name", "ids", "capacity"];
pub(crate) const DOOR_GROUP_KEYS: &[&str] = &["name", "id"];

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

/// Parse and validate the text of one file; `file` names it in messages.
pub fn parse_str(text: &str, file: &str) -> Result<Desired, ConfigError> {
    merge(vec![parse_file(text, file)?])
}

/// Hostile input: the loader never panics and refuses bombs for the reason that keeps it fast.
#[cfg(test)]
mod hostile_tests;

/// Helpers for the unit tests of every step: parse one file's text and look at the result.
#[cfg(test)]
mod testing {
    use super::*;

    pub(super) const ACCOUNT: &str = "023e105f4ecef8ad9ca31a8372d0c353";

    pub(super) fn ok(text: &str) -> Desired {
        parse_str(text, "users.yaml").unwrap_or_else(|e| panic!("{e}"))
    }

    pub(super) fn errors(text: &str) -> Vec<Diagnostic> {
        parse_str(text, "users.yaml").unwrap_err().diagnostics
    }

    pub(super) fn first_error(text: &str) -> String {
        errors(text)[0].to_string()
    }
}
