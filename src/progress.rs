//! Progress for long steps (listing pages, deleting users) on stderr: indicatif bars when stderr
//! is a terminal, otherwise a plain log line now and then. Whether stderr is a terminal is decided
//! once, in `cli`, and handed down as a [`Progress`] value; nothing here asks the terminal.
//!
//! This is also where the API client's events become something a person reads: [`ClientEvents`]
//! is the client's observer, drawing the listing as a bar (or lines) and wording every wait,
//! retry and listing read again as a warning on stderr. The client itself says nothing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use crate::apply;
use crate::cloudflare::{human_duration, Event, Observer};
use crate::render::notes;

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
    pub(crate) fn for_stderr(stderr_is_terminal: bool, quiet: bool) -> Progress {
        Progress::new(match (quiet, stderr_is_terminal) {
            (true, _) => Mode::Hidden,
            (false, true) => Mode::Bars,
            (false, false) => Mode::Lines,
        })
    }

    pub fn lines() -> Progress {
        Progress::new(Mode::Lines)
    }

    #[cfg(test)]
    pub(crate) fn mode(&self) -> Mode {
        self.mode
    }

    /// Start tracking `what`, out of `total` when known.
    pub(crate) fn task(&self, what: &'static str, total: Option<u64>) -> Task {
        let bar = (self.mode == Mode::Bars).then(|| {
            let bar = match total {
                Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr()),
                None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
            };
            if let Ok(style) = ProgressStyle::with_template(template(total.is_some())) {
                bar.set_style(
                    style
                        .with_key(
                            "rate",
                            |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                                let _ = w.write_str(&whole_rate(state.per_sec()));
                            },
                        )
                        .progress_chars("=> "),
                );
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

/// The bar's template: `{rate}` is [`whole_rate`], not indicatif's `{per_sec}`, whose four
/// decimals (`3.9871/s`) are noise on a count of pages or users.
fn template(known_total: bool) -> &'static str {
    if known_total {
        "{msg} [{bar:30}] {pos}/{len} ({rate}, {eta} left)"
    } else {
        "{msg} {pos} ({rate})"
    }
}

/// A rate per second, whole: `42/s`; below one, `<1/s` rather than a rounded `0/s`.
fn whole_rate(per_sec: f64) -> String {
    if !per_sec.is_finite() || per_sec <= 0.0 {
        "0/s".to_string()
    } else if per_sec < 1.0 {
        "<1/s".to_string()
    } else {
        format!("{:.0}/s", per_sec)
    }
}

/// One tracked step; clones share it.
#[derive(Clone, Debug)]
pub(crate) struct Task {
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
    pub(crate) fn inc(&self, n: u64) {
        let done = self.inner.done.fetch_add(n, Ordering::Relaxed) + n;
        if let Some(bar) = &self.inner.bar {
            // A total is what the API said before the step began (an empty account says 0
            // pages, yet page 1 is read): never show more done than the total.
            if bar.length().is_some_and(|len| done > len) {
                bar.set_length(done);
            }
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
    #[cfg(test)]
    pub(crate) fn done(&self) -> u64 {
        self.inner.done.load(Ordering::Relaxed)
    }

    fn line(&self, done: u64) {
        match self.inner.total {
            Some(total) => tracing::info!("{}: {done}/{}", self.inner.what, total.max(done)),
            None => tracing::info!("{}: {done}", self.inner.what),
        }
    }

    /// The step is over: clear the bar.
    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.inner.bar {
            bar.finish_and_clear();
        }
    }

    /// Print a line above the bar (or log it when there is no bar, as a warning: the lines
    /// printed this way answer something the person did, such as Ctrl-C, and must show at the
    /// default level).
    pub(crate) fn println(&self, text: &str) {
        match &self.inner.bar {
            Some(bar) => bar.println(text),
            None => tracing::warn!("{text}"),
        }
    }
}

impl Progress {
    /// The API client's observer, showing its events in this mode.
    pub fn observer(self) -> Arc<dyn Observer> {
        Arc::new(ClientEvents::new(self))
    }

    /// The executor's observer, showing the deleting in this mode.
    pub fn deletions(self) -> Arc<dyn apply::Observer> {
        Arc::new(DeletionEvents {
            progress: self,
            task: Mutex::new(None),
        })
    }
}

/// The executor's events, for the person at the terminal: the deletions as a task of
/// [`Progress`], a first signal as a line above it.
#[derive(Debug)]
struct DeletionEvents {
    progress: Progress,
    task: Mutex<Option<Task>>,
}

impl apply::Observer for DeletionEvents {
    fn event(&self, event: apply::Event) {
        let mut task = self.task.lock().unwrap_or_else(|p| p.into_inner());
        match event {
            apply::Event::Started { total } => {
                *task = Some(self.progress.task("deleting users", Some(total as u64)));
            }
            apply::Event::Answered => {
                if let Some(task) = &*task {
                    task.inc(1);
                }
            }
            apply::Event::Stopping { by, in_flight } => {
                let text = notes::stopping(by, in_flight);
                match &*task {
                    Some(task) => task.println(&text),
                    None => tracing::warn!("{text}"),
                }
            }
            apply::Event::Finished => {
                if let Some(task) = task.take() {
                    task.finish();
                }
            }
        }
    }
}

/// The API client's events, for the person at the terminal: the listing's pages as a task of
/// [`Progress`], everything else as a log line on stderr (a warning when it explains a wait or a
/// retry, so that it shows at the default level and a slow run never looks hung).
#[derive(Debug)]
pub(crate) struct ClientEvents {
    progress: Progress,
    /// The listing under way, from its page 1 to its last page.
    listing: Mutex<Option<Task>>,
}

/// How loudly a line is logged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Loudness {
    Warn,
    Info,
}

impl ClientEvents {
    pub(crate) fn new(progress: Progress) -> ClientEvents {
        ClientEvents {
            progress,
            listing: Mutex::new(None),
        }
    }

    fn listing(&self) -> std::sync::MutexGuard<'_, Option<Task>> {
        self.listing.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Observer for ClientEvents {
    fn event(&self, event: Event<'_>) {
        match event {
            Event::ListingStarted { pages } => {
                *self.listing() = Some(self.progress.task("listing users (pages)", pages));
            }
            Event::PageListed => {
                if let Some(task) = &*self.listing() {
                    task.inc(1);
                }
            }
            Event::PagesRead => {
                if let Some(task) = self.listing().take() {
                    task.finish();
                }
            }
            // The count is a field of the line, so that logs can filter on it.
            Event::Duplicates { count } => {
                if let Some((_, text)) = said(&event) {
                    tracing::warn!(duplicates = count, "{text}");
                }
            }
            other => {
                if let Event::ListingAgain { .. } = other {
                    // The listing starts over from page 1: its bar goes.
                    self.listing().take();
                }
                match said(&other) {
                    Some((Loudness::Warn, text)) => tracing::warn!("{text}"),
                    Some((Loudness::Info, text)) => tracing::info!("{text}"),
                    None => {}
                }
            }
        }
    }
}

/// What a person reads about a client event, and how loudly; `None` for the events shown as
/// progress instead.
fn said(event: &Event<'_>) -> Option<(Loudness, String)> {
    Some(match event {
        Event::ListingStarted { .. } | Event::PageListed | Event::PagesRead => return None,
        Event::ListingAgain { error, attempt, of } => (
            Loudness::Warn,
            format!("{error}\n  listing again (attempt {attempt} of {of})"),
        ),
        Event::Duplicates { .. } => (
            Loudness::Warn,
            "the listing returned some users on more than one page (the list changed while it was read); each is counted once".into(),
        ),
        Event::Retrying {
            error,
            attempt,
            of,
            delay,
        } => (
            Loudness::Warn,
            format!(
                "{error}\n  retrying in {:.1} s (attempt {attempt} of {of})",
                delay.as_secs_f64()
            ),
        ),
        Event::RateLimited { error, wait } => (
            Loudness::Warn,
            format!(
                "{error}\n  the API rate limit was reached: waiting {} as the API asks (Retry-After), then going on; nothing is lost by waiting",
                human_duration(*wait)
            ),
        ),
        Event::StillWaiting { left } => (
            Loudness::Warn,
            format!("rate limited: {} left to wait", human_duration(*left)),
        ),
        Event::WaitOver => (Loudness::Info, "rate-limit wait over; going on".into()),
        Event::NoRequestsLeft { wait } => (
            Loudness::Warn,
            format!(
                "the API's Ratelimit header says no requests are left for this token (someone else may be spending its budget): waiting {} until it resets, then going on; nothing is lost by waiting",
                human_duration(*wait)
            ),
        ),
        Event::PolicyAdopted { policy, instead_of } => (
            Loudness::Info,
            format!(
                "the API's Ratelimit-Policy is {policy} requests/seconds; using it instead of {instead_of}"
            ),
        ),
    })
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

    #[test]
    fn waits_and_retries_read_as_before() {
        let error = crate::cloudflare::ApiError::Status {
            request: "GET /accounts/x/access/users?page=1".into(),
            status: 429,
            errors: vec![],
        };
        let warn = |event| match said(&event) {
            Some((Loudness::Warn, text)) => text,
            other => panic!("{other:?}"),
        };
        let text = warn(Event::RateLimited {
            error: &error,
            wait: Duration::from_secs(270),
        });
        assert!(
            text.starts_with("GET /accounts/x/access/users?page=1: HTTP 429"),
            "{text}"
        );
        assert!(text.contains("\n  the API rate limit was reached: waiting 4 min 30 s as the API asks (Retry-After), then going on"), "{text}");
        let text = warn(Event::Retrying {
            error: &error,
            attempt: 2,
            of: 6,
            delay: Duration::from_millis(500),
        });
        assert!(
            text.ends_with("\n  retrying in 0.5 s (attempt 2 of 6)"),
            "{text}"
        );
        let text = warn(Event::ListingAgain {
            error: &error,
            attempt: 2,
            of: 3,
        });
        assert!(
            text.ends_with("\n  listing again (attempt 2 of 3)"),
            "{text}"
        );
        assert_eq!(
            warn(Event::StillWaiting {
                left: Duration::from_secs(12)
            }),
            "rate limited: 12 s left to wait"
        );
        assert!(warn(Event::NoRequestsLeft {
            wait: Duration::from_secs(60)
        })
        .contains("waiting 60 s until it resets"));
        assert_eq!(said(&Event::PageListed), None);
    }

    #[test]
    fn rates_are_whole_and_totals_honest() {
        assert_eq!(whole_rate(41.6), "42/s");
        assert_eq!(whole_rate(3.9871), "4/s");
        assert_eq!(whole_rate(0.25), "<1/s");
        assert_eq!(whole_rate(0.0), "0/s");
        assert_eq!(whole_rate(f64::NAN), "0/s");
        for known in [true, false] {
            assert!(template(known).contains("{rate}"));
            assert!(!template(known).contains("per_sec"));
        }
        // The API said 0 pages (an empty account), and page 1 came back: 1/1, not 1/0.
        let task = Progress::new(Mode::Bars).task("listing", Some(0));
        task.inc(1);
        let bar = task.inner.bar.as_ref().unwrap();
        assert_eq!((bar.position(), bar.length()), (1, Some(1)));
        task.finish();
    }

    #[test]
    fn the_listing_is_one_task_from_page_1_to_the_last() {
        for mode in [Mode::Bars, Mode::Lines, Mode::Hidden] {
            let events = ClientEvents::new(Progress::new(mode));
            events.event(Event::ListingStarted { pages: Some(3) });
            for _ in 0..3 {
                events.event(Event::PageListed);
            }
            assert_eq!(events.listing().as_ref().map(Task::done), Some(3));
            events.event(Event::PagesRead);
            assert!(events.listing().is_none());
            // A page after the end (page 1 read again) changes nothing.
            events.event(Event::PageListed);
        }
    }
}
