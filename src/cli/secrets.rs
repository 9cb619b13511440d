//! Credentials and the plan key from the environment and from files: read once, through the
//! bounded reader, checked before any request, never quoted in a message.

use crate::cloudflare::{header_value_problem, Credentials};
use crate::planfile::PlanKey;
use crate::secret::Secret;
/// A token file holds one token of a few dozen bytes; anything far larger is the wrong file.
pub const MAX_TOKEN_FILE_BYTES: u64 = 64 * 1024;

/// Read the API token from a file (through the shared bounded reader): the first line, trimmed. Refuses an empty file, and warns when
/// others may read it.
pub fn token_from_file(
    path: &std::path::Path,
    warnings: &mut Vec<String>,
) -> Result<Secret, String> {
    let shown = crate::fsread::display_path(path);
    // The error never quotes the file's content: it is a secret.
    let text = crate::fsread::read_text(path, MAX_TOKEN_FILE_BYTES).map_err(|e| {
        format!("--api-token-file {shown}: {e}; put the API token alone on the file's first line")
    })?;
    let token = text.lines().next().unwrap_or("").trim();
    if token.is_empty() {
        return Err(format!(
            "--api-token-file {shown}: the file is empty; put the API token on its first line"
        ));
    }
    if let Some(problem) = header_value_problem(token) {
        return Err(format!(
            "--api-token-file {}: the token on its first line contains {problem}, which cannot be sent in an HTTP header; nothing was sent\n  help: write the token again, alone on the first line",
            path.display()
        ));
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
) -> Result<Option<PlanKey>, String> {
    let from_env = var("RECONCILE_PLAN_KEY").filter(|v| !v.trim().is_empty());
    let Some(path) = file else {
        return from_env
            .map(|key| PlanKey::new(&key, "RECONCILE_PLAN_KEY"))
            .transpose();
    };
    let shown = crate::fsread::display_path(path);
    if from_env.is_some() {
        warnings.push(format!(
            "both --plan-key-file and RECONCILE_PLAN_KEY are set; the key in {shown} is used"
        ));
    }
    let text = crate::fsread::read_text(path, MAX_TOKEN_FILE_BYTES).map_err(|e| {
        format!("--plan-key-file {shown}: {e}; put the plan key alone on the file's first line")
    })?;
    warn_if_others_may_read(path, &shown, warnings);
    let first = text.lines().next().unwrap_or("");
    PlanKey::new(first, &format!("--plan-key-file {shown}")).map(Some)
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
pub fn credentials(var: &dyn Fn(&str) -> Option<String>) -> Result<Option<Credentials>, String> {
    let get = |name: &str| {
        var(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    // A value that cannot go into an HTTP header is refused here, before any request and
    // without showing it: sent as is, it would break the request (or go as an empty header).
    let checked = |name: &str, value: String| -> Result<String, String> {
        match header_value_problem(&value) {
            None => Ok(value),
            Some(problem) => Err(format!(
                "{name} contains {problem}, which cannot be sent in an HTTP header; nothing was sent\n  help: set {name} again without it (a value copied with a line break or an invisible character?)"
            )),
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
        (Some(_), None) => Err("CLOUDFLARE_EMAIL is set but CLOUDFLARE_API_KEY is not: set both, or use CLOUDFLARE_API_TOKEN".into()),
        (None, Some(_)) => Err("CLOUDFLARE_API_KEY is set but CLOUDFLARE_EMAIL is not: set both, or use CLOUDFLARE_API_TOKEN".into()),
        (None, None) => Ok(None),
    }
}
