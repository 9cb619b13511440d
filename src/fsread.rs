//! Reading the files a user names (desired-state files, saved plans, token files) with a size cap,
//! and naming paths in messages.
//!
//! The cap is enforced on the bytes read, not on what `metadata()` claims: `/dev/zero`, a FIFO or
//! `/proc` files report a length of 0 and would otherwise be read until memory runs out. At most
//! `limit + 1` bytes are ever read.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// Why a file could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// Opening or reading failed.
    Io(io::Error),
    /// The file holds more than `limit` bytes (at least `limit + 1` were read).
    TooLarge { limit: u64 },
    /// The bytes are not UTF-8; `valid_up_to` is the offset of the first bad byte.
    NotUtf8 { valid_up_to: usize },
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io(e) => write!(f, "cannot read it: {e}"),
            ReadError::TooLarge { limit } => {
                write!(f, "it holds more than the limit of {limit} bytes")
            }
            ReadError::NotUtf8 { valid_up_to } => {
                write!(f, "it is not valid UTF-8 text (byte {valid_up_to})")
            }
        }
    }
}

/// The bytes of `path`, at most `limit` of them; more is an error, found after reading
/// `limit + 1` bytes whatever the file claims to hold.
pub fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let file = File::open(path).map_err(ReadError::Io)?;
    let hint = file
        .metadata()
        .map(|m| m.len().min(limit))
        .unwrap_or(0)
        .try_into()
        .unwrap_or(0);
    let mut bytes = Vec::with_capacity(hint);
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge { limit });
    }
    Ok(bytes)
}

/// The text of `path` (see [`read_bounded`]), UTF-8, without a leading byte-order mark: editors on
/// Windows write one, YAML and the token format allow it, and left in it would become part of
/// the first key or of the token.
pub fn read_text(path: &Path, limit: u64) -> Result<String, ReadError> {
    let bytes = read_bounded(path, limit)?;
    let text = String::from_utf8(bytes).map_err(|e| ReadError::NotUtf8 {
        valid_up_to: e.utf8_error().valid_up_to(),
    })?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

/// A path as it may be shown on a terminal: bytes that are not UTF-8 are written `\xNN`, and
/// control and bidirectional characters are escaped (see [`crate::text::printable`]), so that a
/// file name cannot move the cursor, reorder a line, or pass for another name.
pub fn display_path(path: &Path) -> String {
    display_bytes(path.as_os_str().as_encoded_bytes())
}

/// [`display_path`] for the bytes of a name.
pub fn display_bytes(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.utf8_chunks() {
        out.push_str(&crate::text::printable(chunk.valid()));
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_up_to_the_limit_and_refuses_more() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"12345").unwrap();
        assert_eq!(read_bounded(&path, 5).unwrap(), b"12345");
        assert!(matches!(
            read_bounded(&path, 4),
            Err(ReadError::TooLarge { limit: 4 })
        ));
        assert!(matches!(
            read_bounded(&dir.path().join("missing"), 4),
            Err(ReadError::Io(_))
        ));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn an_endless_file_is_refused_after_the_limit() {
        // /dev/zero reports a length of 0 and never ends.
        let start = std::time::Instant::now();
        let err = read_bounded(Path::new("/dev/zero"), 1024 * 1024).unwrap_err();
        assert!(matches!(err, ReadError::TooLarge { .. }), "{err}");
        assert!(start.elapsed() < std::time::Duration::from_secs(10));
    }

    #[test]
    fn text_drops_a_byte_order_mark_and_refuses_other_encodings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "\u{feff}users:\r\n").unwrap();
        assert_eq!(read_text(&path, 100).unwrap(), "users:\r\n");
        std::fs::write(&path, b"ab\xe9").unwrap();
        let err = read_text(&path, 100).unwrap_err();
        assert!(
            matches!(err, ReadError::NotUtf8 { valid_up_to: 2 }),
            "{err}"
        );
    }

    #[test]
    fn names_are_escaped_for_the_terminal() {
        assert_eq!(display_bytes(b"users.yaml"), "users.yaml");
        assert_eq!(display_bytes(b"a\xffb.yaml"), "a\\xffb.yaml");
        assert_eq!(
            display_bytes("x\u{202e}lmay.exe\n".as_bytes()),
            "x\\u{202e}lmay.exe\\u{a}"
        );
    }
}
