//! One file per command, each one linear flow (resolve → load → list → plan → render → confirm
//! → apply → report), and the types every command returns. `run` dispatches here; the stages
//! below know nothing of the commands.

mod apply;
mod audit;
mod check;
mod demo;
mod docs;
mod explain;
mod export;
mod plan;
mod sandbox;
mod shared;
mod validate;

use std::io::{self, BufRead, Write};

use crate::cloudflare::ApiError;
use crate::config::ConfigError;
use crate::planfile::PlanFileError;
use crate::settings::{Action, Settings};

/// How a run that did not fail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Done, or nothing to do.
    Success,
    /// `plan --detailed-exitcode` found changes.
    Changes,
    /// `apply` deleted some users but not all.
    Partial,
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Changes => 2,
            Exit::Partial => 3,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// The error says itself when nothing was sent; only a request that went out can be said
    /// to have deleted nothing.
    #[error("{}{}", .0, after_api(.0))]
    Api(#[from] ApiError),
    #[error("{0}")]
    Usage(String),
    /// A file the command was told to read or write could not be.
    #[error("{path}: cannot {doing}: {source}{}", help_line(.help))]
    File {
        /// As shown (escaped).
        path: String,
        doing: &'static str,
        source: io::Error,
        help: Option<&'static str>,
    },
    /// A safety rail refused the plan; the message says how to go ahead on purpose.
    #[error("{0}\nnothing was deleted")]
    Refused(String),
    /// The door could not be read: the API's words (what failed, and what to grant or do), then
    /// what it means for the door. These are reads only, so nothing was changed; not
    /// [`Error::Api`], whose "nothing was deleted by this request" speaks of users.
    #[error("{0}\nnothing was changed: the door could not be read")]
    DoorRead(ApiError),
    /// A door write failed (or its audit record could not be written): the words say what was
    /// done and what not. No user was deleted.
    #[error("{0}\nnothing was deleted")]
    DoorNotKept(String),
    /// The person at the prompt did not answer `yes`.
    #[error("apply cancelled: nothing was deleted")]
    Declined,
    #[error("{0}")]
    Sandbox(#[from] crate::sandbox::SandboxError),
    #[error("{0}")]
    Io(#[from] io::Error),
    /// A saved plan that cannot be applied (expired, edited, another account...).
    #[error("{0}")]
    PlanFile(#[from] PlanFileError),
    #[error("{0}")]
    Audit(#[from] crate::audit::AuditError),
    /// The past deletions (`--history`, `--audit-log`) could not be read.
    #[error("{0}\nnothing was deleted")]
    History(#[from] crate::history::HistoryError),
    /// `reconcile check` found something wrong; the report on stdout says what and what to do.
    #[error("reconcile check: {failed} check(s) failed; see the report above for what to do")]
    CheckFailed { failed: usize },
}

fn after_api(e: &ApiError) -> &'static str {
    if e.request_sent() {
        "\nnothing was deleted by this request"
    } else {
        ""
    }
}

fn help_line(help: &Option<&'static str>) -> String {
    help.map(|h| format!("\n  help: {h}")).unwrap_or_default()
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        1
    }
}

/// The streams a run talks to; tests pass buffers.
pub struct Streams<'a> {
    pub stdout: &'a mut (dyn Write + Send),
    /// Prompts go here (stderr), never to stdout.
    pub prompt: &'a mut (dyn Write + Send),
    pub stdin: &'a mut (dyn BufRead + Send),
    /// The short texts around the output (the demo's banner and the like): stderr, or nothing
    /// under `-q`, which keeps only errors, prompts and the output asked for.
    pub notes: &'a mut (dyn Write + Send),
}

/// Status of a run whose reader went away before the output was all written (`| head`): 128 +
/// SIGPIPE, what a shell reports for a program that a closed pipe ended. Neither 0 nor 2 would be
/// true of a plan nobody read to the end, and 1 would say something failed.
pub const CLOSED_PIPE: u8 = 141;

/// Whether a stream's reader went away. A write to a closed pipe fails with `BrokenPipe`, and
/// that error may come back up wrapped in another (a render error, a prompt that failed): the
/// watch remembers it at the stream, so that `main` ends quietly with [`CLOSED_PIPE`] whatever
/// the error became.
#[derive(Clone, Debug, Default)]
pub struct PipeWatch(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl PipeWatch {
    pub fn new() -> PipeWatch {
        PipeWatch::default()
    }

    /// `inner`, watched: a `BrokenPipe` from it is remembered, then returned as it was.
    pub fn watch<W: Write>(&self, inner: W) -> Watched<W> {
        Watched {
            inner,
            watch: self.clone(),
        }
    }

    /// A write to a watched stream found its reader gone.
    pub fn closed(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Remember `e` if it says the reader went away; `e` unchanged.
    pub fn note(&self, e: io::Error) -> io::Error {
        if e.kind() == io::ErrorKind::BrokenPipe {
            self.0.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        e
    }
}

/// A writer under a [`PipeWatch`].
#[derive(Debug)]
pub struct Watched<W> {
    inner: W,
    watch: PipeWatch,
}

impl<W: Write> Write for Watched<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf).map_err(|e| self.watch.note(e))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().map_err(|e| self.watch.note(e))
    }
}

/// One command, from resolved settings to how it ended.
pub(crate) async fn dispatch(settings: Settings, streams: &mut Streams<'_>) -> Result<Exit, Error> {
    for warning in &settings.warnings {
        tracing::warn!("{warning}");
    }
    let palette = settings.palette;
    match settings.action {
        Action::Plan {
            target,
            detailed_exitcode,
            output,
            history,
        } => {
            plan::run(
                target,
                detailed_exitcode,
                output,
                &history,
                palette,
                streams,
            )
            .await
        }
        Action::Apply {
            target,
            saved: Some(path),
            exec,
            plan_key,
            step_summary,
            format,
            ..
        } => {
            apply::saved_apply_flow(
                &path,
                &target,
                &exec,
                plan_key.as_ref(),
                palette,
                streams,
                apply::SavedOutput {
                    step_summary: step_summary.as_deref(),
                    format,
                },
            )
            .await
        }
        Action::Apply {
            target,
            auto_approve,
            saved: None,
            exec,
            history,
            layout,
            step_summary,
            format,
            ..
        } => {
            let (desired, client) = shared::connect(&target)?;
            let approval = shared::approval(auto_approve, settings.stdin_is_terminal);
            let run = apply::ApplyRun {
                overrides: &target.overrides,
                approval,
                exec: &exec,
                history: &history,
                layout,
                step_summary: step_summary.as_deref(),
                format,
            };
            apply::apply_flow(&desired, &client, run, palette, streams).await
        }
        Action::Validate { files } => validate::run(files, streams),
        Action::Explain { email, target } => explain::run(email, target, palette, streams).await,
        Action::Export {
            account_id,
            api_url,
            credentials,
            output,
            force,
            door,
            client,
        } => {
            export::run(
                account_id,
                api_url,
                credentials,
                export::Output {
                    path: output,
                    force,
                },
                door,
                client,
                streams,
            )
            .await
        }
        Action::Schema => docs::schema(streams),
        Action::Completions(shell) => docs::completions(shell, streams),
        Action::Man => docs::man(streams),
        Action::ManPages { dir } => docs::man_pages(&dir),
        Action::Demo { auto_approve } => {
            demo::run(
                shared::approval(auto_approve, settings.stdin_is_terminal),
                palette,
                streams,
            )
            .await
        }
        Action::Sandbox(s) => sandbox::run(s, streams).await,
        Action::AuditVerify { file } => audit::verify(&file, streams),
        Action::Check { target, json } => check::run(target, json, palette, streams).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_request_that_went_out_is_said_to_have_deleted_nothing() {
        let sent = Error::Api(ApiError::Status {
            request: "GET /accounts/x/access/users".into(),
            status: 500,
            errors: vec![],
        });
        assert!(sent
            .to_string()
            .ends_with("\nnothing was deleted by this request"));
        for unsent in [
            ApiError::BaseUrl {
                url: "https://api.cloudflare.com/".into(),
                why: "it has no path: /client/v4 is missing".into(),
                shape: true,
            },
            ApiError::Credentials {
                what: "CLOUDFLARE_API_TOKEN",
                problem: "a line break",
            },
            ApiError::WaitTooLong {
                request: "GET /accounts/x/access/users".into(),
                asked: "the budget".into(),
                max_wait: std::time::Duration::from_secs(60),
                retry: false,
            },
        ] {
            assert!(!unsent.request_sent(), "{unsent}");
            let text = Error::Api(unsent).to_string();
            assert!(!text.contains("by this request"), "{text}");
            assert!(
                text.contains("nothing was sent") || text.contains("and not sent"),
                "{text}"
            );
        }
    }
}
