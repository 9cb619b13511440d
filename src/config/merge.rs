//! The files given together, merged into one [`Desired`]: entries in file order, each address,
//! domain and pattern once (the same entry twice is a warning naming both places, twice with
//! different settings an error), one account, each policy setting set once or to one value, and
//! an allowlist that is not empty, since an empty one would delete every user.

use foldhash::{HashMap, HashMapExt};
use std::collections::hash_map::Entry;
use std::fmt;

use super::check::FileState;
use super::diagnostic::diagnostic;
use super::{ConfigError, Desired, Diagnostic, Location, PolicySettings};
use crate::model::{Domain, Email};

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

/// For each `users:` entry of each file, in file order: `None` when its address is new, or the
/// index in the merged entries of the first entry with the same address. The merged entries are
/// the new ones in this same order, so that index is known before any entry moves, and the map
/// borrows the addresses instead of copying each.
fn repeated_entries(files: &[FileState], users: usize) -> Vec<Vec<Option<usize>>> {
    let mut by_email: HashMap<&Email, usize> = HashMap::with_capacity(users);
    files
        .iter()
        .map(|file| {
            file.entries
                .iter()
                .map(|entry| {
                    let next = by_email.len();
                    match by_email.entry(&entry.email) {
                        Entry::Occupied(first) => Some(*first.get()),
                        Entry::Vacant(slot) => {
                            slot.insert(next);
                            None
                        }
                    }
                })
                .collect()
        })
        .collect()
}

pub(super) fn merge(files: Vec<FileState>) -> Result<Desired, ConfigError> {
    let mut desired = Desired {
        account_id: None,
        entries: Vec::new(),
        domains: Vec::new(),
        protected: Vec::new(),
        policy: PolicySettings::default(),
        door: None,
        files: Vec::new(),
        warnings: Vec::new(),
    };
    let mut errors = Vec::new();
    // Sized once for every file's entries (the list here, the map in `repeated_entries`):
    // growing them to 75,000 addresses copies each a dozen times.
    let users: usize = files.iter().map(|file| file.entries.len()).sum();
    desired.entries.reserve_exact(users);
    let repeats = repeated_entries(&files, users);
    let mut by_domain: HashMap<Domain, usize> = HashMap::new();
    let mut by_pattern: HashMap<String, usize> = HashMap::new();
    for (file, repeats) in files.into_iter().zip(repeats) {
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
        if let Some(door) = file.door {
            match &desired.door {
                Some(first) => errors.push(diagnostic(
                    door.location,
                    format!("`door` is set here and at {}", first.location),
                    "keep the `door:` section in one file",
                )),
                None => desired.door = Some(door),
            }
        }
        for (entry, first) in file.entries.into_iter().zip(repeats) {
            let Some(first) = first else {
                desired.entries.push(entry);
                continue;
            };
            let first = &desired.entries[first];
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
mod tests {
    use super::super::check::parse_file;
    use super::super::parse_str;
    use super::super::testing::*;
    use super::*;

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
    fn same_address_twice_with_same_settings_is_a_warning_naming_both_places() {
        let d = ok("users:\n  - a@b.co\n  - ' A@B.CO '\n");
        assert_eq!(d.entries.len(), 1);
        assert_eq!(d.warnings.len(), 1);
        assert_eq!(
            d.warnings[0].location.as_ref().unwrap().to_string(),
            "users.yaml:3:5"
        );
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
    fn each_repeated_address_names_its_own_first_entry_across_files() {
        let a = parse_file("users:\n  - a@b.co\n  - b@b.co\n  - c@b.co\n", "a.yaml").unwrap();
        let b = parse_file(
            "users:\n  - d@b.co\n  - C@b.co\n  - b@b.co\n  - d@b.co\n",
            "b.yaml",
        )
        .unwrap();
        let d = merge(vec![a, b]).unwrap();
        let kept: Vec<&str> = d.entries.iter().map(|e| e.email.as_str()).collect();
        assert_eq!(kept, ["a@b.co", "b@b.co", "c@b.co", "d@b.co"]);
        let said: Vec<String> = d.warnings.iter().map(|w| w.to_string()).collect();
        assert_eq!(said.len(), 3, "{said:?}");
        assert!(
            said[0].starts_with("b.yaml:3:5: `C@b.co` is listed twice (also at a.yaml:4:5)"),
            "{said:?}"
        );
        assert!(
            said[1].starts_with("b.yaml:4:5: `b@b.co` is listed twice (also at a.yaml:3:5)"),
            "{said:?}"
        );
        assert!(
            said[2].starts_with("b.yaml:5:5: `d@b.co` is listed twice (also at b.yaml:2:5)"),
            "{said:?}"
        );
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
}
