//! `reconcile validate`: read and check the desired state offline; say what was read.

use std::path::PathBuf;

use crate::commands::{Error, Exit, Streams};
use crate::config;

pub(crate) fn run(files: Vec<PathBuf>, streams: &mut Streams<'_>) -> Result<Exit, Error> {
    let desired = config::load(&files)?;
    for warning in &desired.warnings {
        tracing::warn!("{warning}");
    }
    if let Some(door) = &desired.door {
        tracing::warn!(
            "{}: the `door:` section is valid; `plan` shows the door's plan and `apply -f FILES` keeps it; `check` reads it, `apply PLAN_FILE` refuses files with a `door:` section, and `plan --out` does not save one (docs/door.md)",
            door.location
        );
    }
    crate::render::notes::validated(&desired, streams.stdout)?;
    Ok(Exit::Success)
}
