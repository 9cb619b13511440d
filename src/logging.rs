//! Logs go to stderr through tracing; `-v`/`-q` pick the level, `RUST_LOG` overrides it.

use tracing_subscriber::EnvFilter;

pub fn init(verbosity: i8, color: bool) {
    let level = match verbosity {
        i8::MIN..=-1 => "error",
        0 => "warn,reconcile=info",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .with_target(false)
        .without_time()
        .try_init();
}
