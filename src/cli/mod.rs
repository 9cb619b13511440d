//! The command line: clap definitions ([`args`]), credentials and keys from the environment and
//! files ([`secrets`]), completions and the manual ([`docs`]), and their resolution — with the
//! environment and the terminal — into a [`Settings`] value, once ([`resolve`]). Deeper modules
//! get `Settings`, never clap types.

mod args;
mod docs;
mod resolve;
mod secrets;

pub use crate::settings::{Action, PlanOutput, Settings, Target};
pub use args::*;
pub use docs::{completions, man_page, man_pages, ManPage};
pub use resolve::{Reads, UsageError};
pub use secrets::{
    credentials, plan_key, token_from_file, CredentialsError, PlanKeySourceError, TokenFileError,
    MAX_TOKEN_FILE_BYTES,
};

/// Facts about the process, read once by `main` and passed in (tests pass their own).
pub struct Environment<'a> {
    pub var: &'a dyn Fn(&str) -> Option<String>,
    pub stdin_is_terminal: bool,
    pub stdout_is_terminal: bool,
    pub stderr_is_terminal: bool,
}
