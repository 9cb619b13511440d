//! The `reconcile` binary: parse arguments, set up logging, run, map the result to an exit code.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use reconcile::cli::{Cli, Environment, Settings};
use reconcile::run::{run, PipeWatch, Streams, CLOSED_PIPE};

fn main() -> ExitCode {
    // Every text of the run goes through these watched streams, so that a reader that goes away
    // (`| head`) ends the run quietly with CLOSED_PIPE, never a panic or an error message.
    let watch = PipeWatch::new();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // clap exits 2 on a usage error, the code `plan --detailed-exitcode` gives to "changes
        // present": a pipeline must not read a mistyped flag as a plan with changes.
        Err(e) => {
            if let Err(error) = e.print() {
                watch.note(error);
            }
            return ended(&watch, if e.use_stderr() { 1 } else { 0 });
        }
    };
    let var = |name: &str| std::env::var(name).ok();
    let env = Environment {
        var: &var,
        stdin_is_terminal: std::io::stdin().is_terminal(),
        stdout_is_terminal: std::io::stdout().is_terminal(),
        stderr_is_terminal: std::io::stderr().is_terminal(),
    };
    let settings = match Settings::resolve(cli, &env) {
        Ok(s) => s.with_stderr_terminal(std::io::stderr().is_terminal()),
        Err(message) => return error(&watch, &message, 1),
    };
    reconcile::logging::init(settings.verbosity, settings.log_color);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return error(&watch, &format!("cannot start the async runtime: {e}"), 1),
    };
    let mut stdout = watch.watch(std::io::stdout());
    let mut prompt = watch.watch(std::io::stderr());
    let mut notes: Box<dyn Write + Send> = if settings.verbosity < 0 {
        Box::new(std::io::sink())
    } else {
        Box::new(watch.watch(std::io::stderr()))
    };
    let mut stdin = std::io::BufReader::new(std::io::stdin());
    let mut streams = Streams {
        stdout: &mut stdout,
        prompt: &mut prompt,
        stdin: &mut stdin,
        notes: &mut notes,
    };
    // A Ctrl-C or SIGTERM after an apply stopped listening for it (its handler stays installed)
    // ends the process here, as the signal would have.
    let ended_by = runtime.block_on(async {
        tokio::select! {
            result = run(settings, &mut streams) => Ok(result),
            code = reconcile::apply::unheeded() => Err(code),
        }
    });
    let result = match ended_by {
        Ok(result) => result,
        Err(code) => return ExitCode::from(code),
    };
    match result {
        Ok(exit) => ended(&watch, exit.code()),
        Err(e) => error(&watch, &e, e.exit_code()),
    }
}

/// `code`, unless a reader went away: then CLOSED_PIPE, whatever the run made of the failed
/// write.
fn ended(watch: &PipeWatch, code: u8) -> ExitCode {
    ExitCode::from(if watch.closed() { CLOSED_PIPE } else { code })
}

/// Say `error: MESSAGE` on stderr and end with `code`; a closed pipe ends quietly instead (the
/// error is that write, or follows from it, and there is nobody to tell).
fn error(watch: &PipeWatch, message: &dyn std::fmt::Display, code: u8) -> ExitCode {
    if watch.closed() {
        return ExitCode::from(CLOSED_PIPE);
    }
    // Not `eprintln!`, which panics when stderr is closed.
    let _ = writeln!(std::io::stderr(), "error: {message}");
    ExitCode::from(code)
}
