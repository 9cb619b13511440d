//! `reconcile audit verify FILE`.

use crate::commands::{Error, Exit, Streams};
use crate::fsread;

/// `reconcile audit verify FILE`: 0 when the chain is intact, 1 (an error naming the first
/// broken line) otherwise.
pub(crate) fn verify(file: &std::path::Path, streams: &mut Streams<'_>) -> Result<Exit, Error> {
    let (records, head) = crate::audit::verify_file(file)?;
    crate::render::notes::audit_verified(
        &fsread::display_path(file),
        records,
        &head,
        streams.stdout,
    )?;
    Ok(Exit::Success)
}
