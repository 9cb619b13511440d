//! Which files the `-f` arguments name, and their text: a file as given, a directory's
//! `*.yaml` / `*.yml` files, every other directory entry that could be meant as desired state
//! refused by name, and each file read through the one bounded reader ([`crate::fsread`]). A
//! file that is passed over in silence would have its users deleted, so this errs on refusing.

use std::path::{Path, PathBuf};

use super::diagnostic::{diagnostic, unplaced};
use super::{ConfigError, Location, MAX_FILE_BYTES};
use crate::fsread::{self, ReadError};

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
        return Err(unplaced(
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

/// The text of one file, through the shared bounded reader (a byte-order mark dropped); `name`
/// is the path as shown.
pub(super) fn read(path: &Path, name: &str) -> Result<String, ConfigError> {
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
    use super::super::load;
    use super::super::testing::*;
    use super::*;

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

    // Symbolic links and names that are not UTF-8 are made with Unix calls.
    #[cfg(unix)]
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
                err.diagnostics[0].location.as_ref().unwrap().line,
                err.diagnostics[0].location.as_ref().unwrap().col
            ),
            (3, 5)
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
