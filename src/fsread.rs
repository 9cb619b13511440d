//! Reading the files a user names (desired-state files, saved plans, token files) with a size cap,
//! and naming paths in messages.
//!
//! Only regular files are read. A FIFO blocks the open until something writes to it (forever,
//! in a CI job), and a device can block, never end, or act on being opened (a tape rewinds, a
//! terminal becomes the controlling one), so what the path names is checked before it is
//! opened, and the open file is checked again (the name may have been swapped in between).
//!
//! The cap is enforced on the bytes read, not on what `metadata()` claims: `/proc` files report a
//! length of 0 and a file can grow while it is read. At most `limit + 1` bytes are ever read.

use std::fmt;
use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::path::Path;

/// Why a file could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// Opening or reading failed.
    Io(io::Error),
    /// The path names something other than a regular file (`kind` says what: "a named pipe
    /// (FIFO)"...); it was not read.
    NotRegular { kind: &'static str },
    /// The file holds more than `limit` bytes (at least `limit + 1` were read).
    TooLarge { limit: u64 },
    /// The bytes are not UTF-8; `valid_up_to` is the offset of the first bad byte.
    NotUtf8 { valid_up_to: usize },
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io(e) => write!(f, "cannot read it: {e}"),
            ReadError::NotRegular { kind } => write!(
                f,
                "it is {kind}, not a regular file, so it was not read (reading one can wait forever)"
            ),
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
/// `limit + 1` bytes whatever the file claims to hold. Anything but a regular file (or a link to
/// one) is refused before it is opened.
pub(crate) fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    regular(&std::fs::metadata(path).map_err(ReadError::Io)?)?;
    let file = open(path).map_err(ReadError::Io)?;
    regular(&file.metadata().map_err(ReadError::Io)?)?;
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

/// Refuse a path that exists and is not a regular file (a FIFO, a device...), before a file that
/// is opened some other way than [`read_bounded`] (the audit log, opened to append) is opened.
pub(crate) fn refuse_irregular(path: &Path) -> Result<(), ReadError> {
    match std::fs::metadata(path) {
        Ok(meta) => regular(&meta),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(ReadError::Io(e)),
    }
}

/// `Ok` for a regular file; what it is otherwise.
pub(crate) fn regular(meta: &Metadata) -> Result<(), ReadError> {
    let kind = meta.file_type();
    if kind.is_file() {
        return Ok(());
    }
    #[cfg(unix)]
    let unix_kind = {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            Some("a named pipe (FIFO)")
        } else if kind.is_socket() {
            Some("a socket")
        } else if kind.is_char_device() {
            Some("a character device")
        } else if kind.is_block_device() {
            Some("a block device")
        } else {
            None
        }
    };
    #[cfg(not(unix))]
    let unix_kind: Option<&'static str> = std::hint::black_box(None);
    Err(ReadError::NotRegular {
        kind: unix_kind.unwrap_or(if kind.is_dir() {
            "a directory"
        } else {
            "something else"
        }),
    })
}

/// Open for reading without waiting: should the path have become a FIFO since it was checked,
/// the open returns at once (and the check of the open file refuses it) instead of waiting for a
/// writer; nor can a terminal become this process's controlling terminal. `O_NONBLOCK` changes
/// nothing for reading a regular file.
#[cfg(unix)]
fn open(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
}

#[cfg(not(unix))]
fn open(path: &Path) -> io::Result<File> {
    OpenOptions::new().read(true).open(path)
}

/// The text of `path` (see [`read_bounded`]), UTF-8, without a leading byte-order mark: editors on
/// Windows write one, YAML and the token format allow it, and left in it would become part of
/// the first key or of the token.
pub(crate) fn read_text(path: &Path, limit: u64) -> Result<String, ReadError> {
    let bytes = read_bounded(path, limit)?;
    let text = String::from_utf8(bytes).map_err(|e| ReadError::NotUtf8 {
        valid_up_to: e.utf8_error().valid_up_to(),
    })?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

pub(crate) use crate::text::{display_bytes, display_path};

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
    fn a_file_that_claims_to_be_empty_is_still_capped() {
        // /proc files report a length of 0 whatever they hold.
        let err = read_bounded(Path::new("/proc/self/maps"), 8).unwrap_err();
        assert!(matches!(err, ReadError::TooLarge { limit: 8 }), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn pipes_and_devices_are_refused_without_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("p");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&fifo, &link).unwrap();
        // In a thread, so that a regression fails the test instead of hanging it: opening a FIFO
        // for reading waits for a writer.
        let (send, receive) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let kinds: Vec<String> = [fifo, link, "/dev/zero".into(), "/dev/null".into()]
                .iter()
                .map(|p| match read_text(p, 100) {
                    Err(ReadError::NotRegular { kind }) => kind.to_string(),
                    other => format!("{other:?}"),
                })
                .collect();
            let _ = send.send(kinds);
        });
        let kinds = receive
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("reading a FIFO is still waiting after 10 s");
        assert_eq!(
            kinds,
            [
                "a named pipe (FIFO)",
                "a named pipe (FIFO)",
                "a character device",
                "a character device"
            ]
        );
        let err = read_bounded(dir.path(), 100).unwrap_err();
        assert!(
            matches!(
                err,
                ReadError::NotRegular {
                    kind: "a directory"
                }
            ),
            "{err}"
        );
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
