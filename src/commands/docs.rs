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
    crate::cli::completions(shell, streams.stdout)?;
    Ok(Exit::Success)
}

pub(crate) fn man(streams: &mut Streams<'_>) -> Result<Exit, Error> {
    crate::cli::man_page(streams.stdout)?;
    Ok(Exit::Success)
}

/// `man --dir DIR`: `reconcile.1` and a page per command, written into DIR (which must exist: a
/// mistyped directory is an error, not a new tree). Existing pages are replaced: they are
/// generated, and writing them again is how they are updated.
pub(crate) fn man_pages(dir: &std::path::Path) -> Result<Exit, Error> {
    let shown = crate::text::display_path(dir);
    if !dir.is_dir() {
        return Err(Error::Usage(format!(
            "man --dir {shown}: not a directory\n  help: create it first, or give the directory of section-1 pages (e.g. /usr/local/share/man/man1)"
        )));
    }
    let pages = crate::cli::man_pages()?;
    for page in &pages {
        let path = dir.join(&page.file_name);
        std::fs::write(&path, &page.text).map_err(|source| Error::File {
            path: crate::text::display_path(&path),
            doing: "write the manual page",
            source,
            help: Some("check that the directory is writable"),
        })?;
    }
    // Silent on success, as `cp` is: the pages are where they were asked to go.
    Ok(Exit::Success)
}
