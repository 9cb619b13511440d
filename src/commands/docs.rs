//! `reconcile schema`, `completions` and `man`: text about the tool itself.

use crate::commands::{Error, Exit, Streams};
use crate::config;

/// The JSON Schema of the desired-state format.
pub(crate) fn schema(streams: &mut Streams<'_>) -> Result<Exit, Error> {
    let schema = config::schema::json_schema();
    let text = serde_json::to_string_pretty(&schema).map_err(|e| Error::Usage(e.to_string()))?;
    writeln!(streams.stdout, "{text}")?;
    Ok(Exit::Success)
}

pub(crate) fn completions(
    shell: clap_complete::Shell,
    streams: &mut Streams<'_>,
) -> Result<Exit, Error> {
    crate::cli::completions(shell, streams.stdout);
    Ok(Exit::Success)
}

pub(crate) fn man(streams: &mut Streams<'_>) -> Result<Exit, Error> {
    crate::cli::man_page(streams.stdout)?;
    Ok(Exit::Success)
}
