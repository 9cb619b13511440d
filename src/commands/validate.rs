//! `reconcile validate`: read and check the desired state offline; say what was read.

use std::path::PathBuf;

use crate::commands::{Error, Exit, Streams};
use crate::config;

pub(crate) fn run(files: Vec<PathBuf>, streams: &mut Streams<'_>) -> Result<Exit, Error> {
    let desired = config::load(&files)?;
    for warning in &desired.warnings {
        tracing::warn!("{warning}");
    }
    let count = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    writeln!(
        streams.stdout,
        "valid: {}, {}, {} protected in {}{}",
        count(desired.entries.len(), "user"),
        count(desired.domains.len(), "domain"),
        desired.protected.len(),
        count(desired.files.len(), "file"),
        desired
            .account()
            .map(|a| format!(" (account {a})"))
            .unwrap_or_default()
    )?;
    // Then the files read, one a line, so that a file left out is seen (docs/cli.md).
    for file in &desired.files {
        writeln!(streams.stdout, "  {}", crate::text::printable(file))?;
    }
    Ok(Exit::Success)
}
