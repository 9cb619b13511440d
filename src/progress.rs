//! Progress for long steps (listing pages, deleting users) on stderr: indicatif bars when stderr
//! is a terminal, otherwise a plain log line now and then. Whether stderr is a terminal is decided
//! once, in `cli`, and handed down as a [`Progress`] value; nothing here asks the terminal.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How progress is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Bars on stderr (a terminal).
    Bars,
    /// An info log line at most every few seconds, and one at the end.
    Lines,
    /// Nothing (`-q`).
    Hidden,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    mode: Mode,
}

/// How often plain progress lines are logged.
const LINE_EVERY: Duration = Duration::from_secs(5);

impl Progress {
    pub fn new(mode: Mode) -> Progress {
        Progress { mode }
    }

    /// Bars on a terminal, lines otherwise, nothing when quiet.
    pub fn for_stderr(stderr_is_terminal: bool, quiet: bool) -> Progress {
        Progress::new(match (quiet, stderr_is_terminal) {
            (true, _) => Mode::Hidden,
            (false, true) => Mode::Bars,
            (false, false) => Mode::Lines,
        })
    }

    pub fn lines() -> Progress {
        Progress::new(Mode::Lines)
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Start tracking `what`, out of `total` when known.
    pub fn task(&self, what: &'static str, total: Option<u64>) -> Task {
        let bar = (self.mode == Mode::Bars).then(|| {
            let bar = match total {
                Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr()),
                None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
            };
            let template = if total.is_some() {
                "{msg} [{bar:30}] {pos}/{len} ({per_sec}, {eta} left)"
            } else {
                "{msg} {pos} ({per_sec})"
            };
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_message(what);
            bar
        });
        Task {
            inner: Arc::new(TaskInner {
                what,
                total,
                done: AtomicU64::new(0),
                last_line: Mutex::new(Instant::now()),
                lines: self.mode == Mode::Lines,
                bar,
            }),
        }
    }
}

/// One tracked step; clones share it.
#[derive(Clone, Debug)]
pub struct Task {
    inner: Arc<TaskInner>,
}

#[derive(Debug)]
struct TaskInner {
    what: &'static str,
    total: Option<u64>,
    done: AtomicU64,
    last_line: Mutex<Instant>,
    lines: bool,
    bar: Option<ProgressBar>,
}

impl Task {
    pub fn inc(&self, n: u64) {
        let done = self.inner.done.fetch_add(n, Ordering::Relaxed) + n;
        if let Some(bar) = &self.inner.bar {
            bar.inc(n);
        } else if self.inner.lines {
            let mut last = self
                .inner
                .last_line
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if last.elapsed() >= LINE_EVERY {
                *last = Instant::now();
                self.line(done);
            }
        }
    }

    /// The count so far.
    pub fn done(&self) -> u64 {
        self.inner.done.load(Ordering::Relaxed)
    }

    fn line(&self, done: u64) {
        match self.inner.total {
            Some(total) => tracing::info!("{}: {done}/{total}", self.inner.what),
            None => tracing::info!("{}: {done}", self.inner.what),
        }
    }

    /// The step is over: clear the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.inner.bar {
            bar.finish_and_clear();
        }
    }

    /// Print a line above the bar (or log it when there is no bar).
    pub fn println(&self, text: &str) {
        match &self.inner.bar {
            Some(bar) => bar.println(text),
            None => tracing::info!("{text}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_follow_the_terminal_and_quiet() {
        assert_eq!(Progress::for_stderr(true, false).mode(), Mode::Bars);
        assert_eq!(Progress::for_stderr(false, false).mode(), Mode::Lines);
        assert_eq!(Progress::for_stderr(true, true).mode(), Mode::Hidden);
    }

    #[test]
    fn tasks_count_in_every_mode() {
        for mode in [Mode::Bars, Mode::Lines, Mode::Hidden] {
            let task = Progress::new(mode).task("x", Some(3));
            let clone = task.clone();
            task.inc(1);
            clone.inc(2);
            assert_eq!(task.done(), 3);
            task.finish();
        }
    }
}
