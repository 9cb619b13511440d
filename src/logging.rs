//! Logs go to stderr through tracing; `-v`/`-q` pick the level, `RUST_LOG` overrides it.
//!
//! By default only warnings and errors are logged: a run's output (the plan, the report) and its
//! progress say what happened, and a log line that repeats them is noise. `-v` adds the info
//! lines (what was listed, approved, saved), `-vv` debug, `-vvv` trace; `-q` leaves errors only.

use tracing_subscriber::EnvFilter;

/// The filter for a verbosity: -1 quiet, 0 default, 1 `-v`, 2 `-vv`, 3 `-vvv`.
fn level(verbosity: i8) -> &'static str {
    match verbosity {
        i8::MIN..=-1 => "error",
        0 => "warn",
        1 => "warn,reconcile=info",
        2 => "debug",
        _ => "trace",
    }
}

pub fn init(verbosity: i8, color: bool) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level(verbosity)));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .with_target(false)
        .without_time()
        // A closed stderr (`2>&1 | head`) drops the lines; the default would report the failure
        // with `eprintln!`, which panics on that same closed stderr.
        .log_internal_errors(false)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_lines_only_from_one_v() {
        assert_eq!(level(-1), "error");
        assert_eq!(level(0), "warn");
        assert!(level(1).contains("reconcile=info"));
        assert_eq!(level(2), "debug");
        assert_eq!(level(9), "trace");
    }
}
