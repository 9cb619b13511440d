//! What a problem found in the desired state looks like: a [`Diagnostic`] (where, what, and what
//! to do about it), and the [`ConfigError`] that carries every one found, so that a run reports
//! all of them at once rather than one per try.

use std::fmt;

use super::Location;
use crate::text::printable;

/// One problem found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Where in a file; `None` for a problem that is in no file (none was given).
    pub location: Option<Location>,
    pub message: String,
    /// What to do about it.
    pub help: Option<String>,
}

/// Messages quote keys and values from the file (`unknown key `…``, an address as written):
/// they reach the terminal only through [`printable`], so a value cannot hide or reorder lines.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(location) = &self.location {
            write!(f, "{location}: ")?;
        }
        write!(f, "{}", printable(&self.message))?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {}", printable(help))?;
        }
        Ok(())
    }
}

/// The desired state did not validate. Holds every problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.diagnostics.len();
        write!(
            f,
            "the desired state is not valid ({n} problem{}); nothing was changed",
            crate::text::plural(n)
        )?;
        for d in &self.diagnostics {
            write!(f, "\n{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

pub(super) fn diagnostic(
    location: Location,
    message: impl Into<String>,
    help: impl Into<String>,
) -> Diagnostic {
    Diagnostic {
        location: Some(location),
        message: message.into(),
        help: Some(help.into()),
    }
}

/// A problem with what the command line gave, not with a file: it has no position to name.
pub(super) fn unplaced(message: &str, help: &str) -> ConfigError {
    ConfigError {
        diagnostics: vec![Diagnostic {
            location: None,
            message: message.into(),
            help: Some(help.into()),
        }],
    }
}
