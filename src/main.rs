//! The `reconcile` binary: parse arguments, set up logging, run, map the result to an exit code.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use reconcile::cli::{Cli, Environment, Settings};
use reconcile::run::{run, Error, Streams};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // clap exits 2 on a usage error, the code `plan --detailed-exitcode` gives to "changes
        // present": a pipeline must not read a mistyped flag as a plan with changes.
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 1 } else { 0 });
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
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(1);
        }
    };
    reconcile::logging::init(settings.verbosity, settings.log_color);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let (mut stdout, mut stderr) = (std::io::stdout(), std::io::stderr());
    let mut stdin = std::io::BufReader::new(std::io::stdin());
    let mut streams = Streams {
        stdout: &mut stdout,
        prompt: &mut stderr,
        stdin: &mut stdin,
    };
    let output_only = settings.action.output_only();
    // A Ctrl-C or SIGTERM after an apply stopped listening for it (its handler stays installed)
    // ends the process here, as the signal would have.
    let ended = runtime.block_on(async {
        tokio::select! {
            result = run(settings, &mut streams) => Ok(result),
            code = reconcile::apply::unheeded() => Err(code),
        }
    });
    let result = match ended {
        Ok(result) => result,
        Err(code) => return ExitCode::from(code),
    };
    match result {
        Ok(exit) => ExitCode::from(exit.code()),
        // A closed pipe (`reconcile schema | head`) is no failure when the text is all there is;
        // elsewhere the exit code carries meaning, so it stays an error (quietly: the reader left).
        Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            if output_only {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
