//! `reconcile validate`: read and check the desired state offline; say what was read.

use std::path::PathBuf;

use crate::commands::{Error, Exit, Streams};
use crate::config;

pub(crate) fn run(files: Vec<PathBuf>, streams: &mut Streams<'_>) -> Result<Exit, Error> {
    let desired = config::load(&files)?;
    for warning in &desired.warnings {
        tracing::warn!("{warning}");
    }
    crate::render::notes::validated(&desired, streams.stdout)?;
    if let Some(door) = &desired.door {
        writeln!(
            streams.stdout,
            "{}: the `door:` section is valid: `plan` shows the door's plan (and `--out` saves it), `apply` keeps it, `check` reads it (docs/door.md)",
            door.location
        )?;
    }
    Ok(Exit::Success)
}
