//! `run()`: one command from resolved [`Settings`] to an [`Exit`]; it only dispatches to
//! [`crate::commands`]. Errors come back up to `main`, which prints them and maps them to exit
//! codes (see [`Error::exit_code`]).

use crate::settings::Settings;

pub use crate::commands::{Error, Exit, PipeWatch, Streams, Watched, CLOSED_PIPE};

pub async fn run(settings: Settings, streams: &mut Streams<'_>) -> Result<Exit, Error> {
    crate::commands::dispatch(settings, streams).await
}
