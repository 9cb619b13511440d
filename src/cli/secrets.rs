//! Credentials and the plan key from the environment and from files: read once, through the
//! bounded reader, checked before any request, never quoted in a message.

use crate::cloudflare::{header_value_problem, Credentials};
use crate::fsread::ReadError;
use crate::planfile::{PlanKey, PlanKeyError};
use crate::secret::Secret;

/// A token file holds one token of a few dozen bytes; anything far larger is the wrong file.
pub const MAX_TOKEN_FILE_BYTES: u64 = 64 * 1024;

/// Read the API token from a file (through the shared bounded reader): the first line, trimmed. Refuses an empty file, and warns when
/// others may read it.
pub fn token_from_file(
    path: &std::path::Path,
    warnings: &mut Vec<String>,
) -> Result<Secret, TokenFileError> {
    let shown = crate::fsread::display_path(path);
    // The error never quotes the file's content: it is a secret.
    let text = crate::fsread::read_text(path, MAX_TOKEN_FILE_BYTES).map_err(|error| {
        TokenFileError::Unreadable {
            shown: shown.clone(),
            error,
        }
    })?;
    let token = text.lines().next().unwrap_or("").trim();
    if token.is_empty() {
        return Err(TokenFileError::Empty { shown });
    }
    if let Some(problem) = header_value_problem(token) {
        return Err(TokenFileError::NotAHeaderValue {
            shown: shown.clone(),
            problem,
        });
    }
    warn_if_others_may_read(path, &shown, warnings);
    Ok(Secret::new(token))
}

/// The plan key: from `--plan-key-file` (the first line, trimmed, through the shared bounded
/// reader), else from `RECONCILE_PLAN_KEY`. Warns when the file may be read by others, and when
/// both are set (the file is used). No message quotes the key.
pub fn plan_key(
    file: Option<&std::path::Path>,
    var: &dyn Fn(&str) -> Option<String>,
    warnings: &mut Vec<String>,
) -> Result<Option<PlanKey>, PlanKeySourceError> {
    let from_env = var("RECONCILE_PLAN_KEY").filter(|v| !v.trim().is_empty());
    let Some(path) = file else {
        return Ok(from_env
            .map(|key| PlanKey::new(&key, "RECONCILE_PLAN_KEY"))
            .transpose()?);
    };
    let shown = crate::fsread::display_path(path);
    if from_env.is_some() {
        warnings.push(format!(
            "both --plan-key-file and RECONCILE_PLAN_KEY are set; the key in {shown} is used"
        ));
    }
    let text = crate::fsread::read_text(path, MAX_TOKEN_FILE_BYTES).map_err(|error| {
        PlanKeySourceError::Unreadable {
            shown: shown.clone(),
            error,
        }
    })?;
    warn_if_others_may_read(path, &shown, warnings);
    let first = text.lines().next().unwrap_or("");
    Ok(Some(PlanKey::new(
        first,
        &format!("--plan-key-file {shown}"),
    )?))
}

#[cfg(unix)]
fn warn_if_others_may_read(path: &std::path::Path, shown: &str, warnings: &mut Vec<String>) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.permissions().mode() & 0o077 != 0 {
            warnings.push(format!(
                "{shown} can be read by other users; restrict it with: chmod 600 {shown}"
            ));
        }
    }
}

#[cfg(not(unix))]
fn warn_if_others_may_read(_: &std::path::Path, _: &str, _: &mut Vec<String>) {}

/// Read credentials from the environment, as Cloudflare's own tools name them.
pub fn credentials(
    var: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Credentials>, CredentialsError> {
    let get = |name: &str| {
        var(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    // A value that cannot go into an HTTP header is refused here, before any request and
    // without showing it: sent as is, it would break the request (or go as an empty header).
    let checked = |name: &'static str, value: String| -> Result<String, CredentialsError> {
        match header_value_problem(&value) {
            None => Ok(value),
            Some(problem) => Err(CredentialsError::NotAHeaderValue { name, problem }),
        }
    };
    if let Some(token) = get("CLOUDFLARE_API_TOKEN") {
        let token = checked("CLOUDFLARE_API_TOKEN", token)?;
        return Ok(Some(Credentials::Token(Secret::new(token))));
    }
    match (get("CLOUDFLARE_EMAIL"), get("CLOUDFLARE_API_KEY")) {
        (Some(email), Some(key)) => Ok(Some(Credentials::Global {
            email: checked("CLOUDFLARE_EMAIL", email)?,
            key: Secret::new(checked("CLOUDFLARE_API_KEY", key)?),
        })),
        (Some(_), None) => Err(CredentialsError::EmailWithoutKey),
        (None, Some(_)) => Err(CredentialsError::KeyWithoutEmail),
        (None, None) => Ok(None),
    }
}

/// Why `--api-token-file` gave no token. Never holds the token, nor any part of the file.
#[derive(Debug, thiserror::Error)]
pub enum TokenFileError {
    /// The file could not be read (`shown` is its path, escaped).
    #[error("--api-token-file {shown}: {error}; put the API token alone on the file's first line")]
    Unreadable { shown: String, error: ReadError },
    /// Its first line is empty.
    #[error("--api-token-file {shown}: the file is empty; put the API token on its first line")]
    Empty { shown: String },
    /// The token holds a character an HTTP header cannot carry (`problem` names its kind).
    #[error("--api-token-file {shown}: the token on its first line contains {problem}, which cannot be sent in an HTTP header; nothing was sent\n  help: write the token again, alone on the first line")]
    NotAHeaderValue {
        shown: String,
        problem: &'static str,
    },
}

/// Why the plan key (`--plan-key-file`, `RECONCILE_PLAN_KEY`) was refused. Never holds the key.
#[derive(Debug, thiserror::Error)]
pub enum PlanKeySourceError {
    /// The key file could not be read (`shown` is its path, escaped).
    #[error("--plan-key-file {shown}: {error}; put the plan key alone on the file's first line")]
    Unreadable { shown: String, error: ReadError },
    /// The key itself was refused.
    #[error(transparent)]
    Key(#[from] PlanKeyError),
}

/// Why the credentials in the environment cannot be used. Never holds a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    /// The variable `name` holds a character an HTTP header cannot carry (`problem` names its
    /// kind).
    #[error("{name} contains {problem}, which cannot be sent in an HTTP header; nothing was sent\n  help: set {name} again without it (a value copied with a line break or an invisible character?)")]
    NotAHeaderValue {
        name: &'static str,
        problem: &'static str,
    },
    #[error("CLOUDFLARE_EMAIL is set but CLOUDFLARE_API_KEY is not: set both, or use CLOUDFLARE_API_TOKEN")]
    EmailWithoutKey,
    #[error("CLOUDFLARE_API_KEY is set but CLOUDFLARE_EMAIL is not: set both, or use CLOUDFLARE_API_TOKEN")]
    KeyWithoutEmail,
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    fn vars<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn credential_errors_say_what_is_wrong_and_never_hold_the_value() {
        let err = |pairs: &[(&str, &str)]| credentials(&vars(pairs)).unwrap_err();
        assert_eq!(
            err(&[("CLOUDFLARE_EMAIL", "a@b.co")]),
            CredentialsError::EmailWithoutKey
        );
        assert_eq!(
            err(&[("CLOUDFLARE_API_KEY", "k")]),
            CredentialsError::KeyWithoutEmail
        );
        let e = err(&[("CLOUDFLARE_API_TOKEN", "tok\u{7}en-secret")]);
        assert_eq!(
            e,
            CredentialsError::NotAHeaderValue {
                name: "CLOUDFLARE_API_TOKEN",
                problem: "a control character"
            }
        );
        assert!(!format!("{e} {e:?}").contains("secret"), "{e:?}");
        assert_eq!(
            err(&[
                ("CLOUDFLARE_EMAIL", "a@b.co"),
                ("CLOUDFLARE_API_KEY", "key-\u{e9}-secret")
            ]),
            CredentialsError::NotAHeaderValue {
                name: "CLOUDFLARE_API_KEY",
                problem: "a non-ASCII character"
            }
        );
        assert_eq!(
            err(&[("CLOUDFLARE_EMAIL", "a@b.co")]).to_string(),
            "CLOUDFLARE_EMAIL is set but CLOUDFLARE_API_KEY is not: set both, or use CLOUDFLARE_API_TOKEN"
        );
    }

    #[test]
    fn token_file_errors_say_what_is_wrong_and_never_hold_the_token() {
        let dir = tempfile::tempdir().unwrap();
        let mut warnings = Vec::new();
        let missing = dir.path().join("missing");
        assert!(matches!(
            token_from_file(&missing, &mut warnings),
            Err(TokenFileError::Unreadable {
                error: ReadError::Io(_),
                ..
            })
        ));
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n  \nsecond").unwrap();
        let e = token_from_file(&empty, &mut warnings).unwrap_err();
        assert!(matches!(&e, TokenFileError::Empty { .. }), "{e:?}");
        assert_eq!(
            e.to_string(),
            format!(
                "--api-token-file {}: the file is empty; put the API token on its first line",
                crate::fsread::display_path(&empty)
            )
        );
        let bad = dir.path().join("bad");
        std::fs::write(&bad, "tok\u{1b}en-secret\n").unwrap();
        let e = token_from_file(&bad, &mut warnings).unwrap_err();
        assert!(
            matches!(
                &e,
                TokenFileError::NotAHeaderValue {
                    problem: "a control character",
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(!format!("{e} {e:?}").contains("secret"), "{e:?}");
        // A path with an escape sequence in its name is shown escaped, never raw.
        let hostile = dir.path().join("tok\u{1b}[2Jen");
        std::fs::write(&hostile, "tok\u{7}en\n").unwrap();
        let e = token_from_file(&hostile, &mut warnings).unwrap_err();
        assert!(
            matches!(&e, TokenFileError::NotAHeaderValue { .. }),
            "{e:?}"
        );
        assert!(!e.to_string().contains('\u{1b}'), "{e}");
        let good = dir.path().join("good");
        std::fs::write(&good, " tok-123 \n").unwrap();
        assert_eq!(
            token_from_file(&good, &mut warnings).unwrap().expose(),
            "tok-123"
        );
    }

    #[test]
    fn plan_key_errors_say_what_is_wrong_and_never_hold_the_key() {
        let mut warnings = Vec::new();
        let e = plan_key(
            None,
            &vars(&[("RECONCILE_PLAN_KEY", " short ")]),
            &mut warnings,
        )
        .unwrap_err();
        assert!(
            matches!(
                &e,
                PlanKeySourceError::Key(PlanKeyError::TooShort { origin, length: 5 })
                    if origin == "RECONCILE_PLAN_KEY"
            ),
            "{e:?}"
        );
        assert!(!format!("{e} {e:?}").contains("short "), "{e:?}");
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        assert!(matches!(
            plan_key(Some(&missing), &vars(&[]), &mut warnings),
            Err(PlanKeySourceError::Unreadable {
                error: ReadError::Io(_),
                ..
            })
        ));
        let file = dir.path().join("k");
        std::fs::write(&file, "too-short-secret\n").unwrap();
        let e = plan_key(Some(&file), &vars(&[]), &mut warnings).unwrap_err();
        let shown = crate::fsread::display_path(&file);
        assert!(
            matches!(
                &e,
                PlanKeySourceError::Key(PlanKeyError::TooShort { origin, length: 16 })
                    if *origin == format!("--plan-key-file {shown}")
            ),
            "{e:?}"
        );
        assert!(!format!("{e} {e:?}").contains("secret"), "{e:?}");
        std::fs::write(&file, format!("{KEY}\n")).unwrap();
        assert!(plan_key(Some(&file), &vars(&[]), &mut warnings)
            .unwrap()
            .is_some());
        assert_eq!(plan_key(None, &vars(&[]), &mut warnings).unwrap(), None);
    }
}
