//! Ctrl-C (SIGINT) and SIGTERM during an apply. Both are handled alike, so that a job stopped by
//! its CI runner or service manager still finishes the deletions in flight, reports, and writes
//! their audit records: the first stops new deletions, the second abandons those in flight.
//!
//! The handlers, once installed, stay for the process's life (the runtime cannot give a signal
//! back to its default action). So a signal that comes when no executor listens any more (while
//! the report is written, say) is not ignored: it is handed to [`unheeded`], which `main` waits
//! on beside the command, to end the process as the signal would have, with 128 + its number.
//! Nothing here ends the process itself.

use std::fmt;
use std::sync::atomic::{AtomicI32, Ordering};

use tokio::sync::{watch, Notify};

/// A signal that stops an apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Signal {
    /// SIGINT: Ctrl-C at a terminal.
    #[default]
    Interrupt,
    /// SIGTERM: what a CI runner or a service manager sends to stop a job.
    Terminate,
}

impl Signal {
    /// Its number on Unix (the exit code of a process it ends is 128 + this).
    pub(crate) fn number(self) -> i32 {
        match self {
            Signal::Interrupt => 2,
            Signal::Terminate => 15,
        }
    }
}

/// The name people know it by: "Ctrl-C" or "SIGTERM".
impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Signal::Interrupt => "Ctrl-C",
            Signal::Terminate => "SIGTERM",
        })
    }
}

/// The signals received so far: how many (counted up to 2, all the executor tells apart) and
/// which came last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Presses {
    pub count: u8,
    pub last: Signal,
}

/// A signal nobody listened to: its number, for [`unheeded`].
static UNHEEDED_NUMBER: AtomicI32 = AtomicI32::new(0);
static UNHEEDED: Notify = Notify::const_new();

/// Ctrl-C and SIGTERM as a watch of [`Presses`], for one executor. The handlers are installed
/// before this returns, so no signal is lost to the default handler. When the receiver is gone
/// (the executor is done), a signal goes to [`unheeded`] instead.
pub fn ctrl_c() -> watch::Receiver<Presses> {
    let (tx, rx) = watch::channel(Presses::default());
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{signal, SignalKind};
        match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            (Ok(int), Ok(term)) => (int, term),
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!("cannot listen for Ctrl-C and SIGTERM: {e}");
                return rx;
            }
        }
    };
    tokio::spawn(async move {
        #[cfg(unix)]
        let (mut int, mut term) = signals;
        let mut presses = Presses::default();
        loop {
            #[cfg(unix)]
            let got = tokio::select! {
                s = int.recv() => s.map(|()| Signal::Interrupt),
                s = term.recv() => s.map(|()| Signal::Terminate),
            };
            #[cfg(not(unix))]
            let got = tokio::signal::ctrl_c()
                .await
                .ok()
                .map(|()| Signal::Interrupt);
            let Some(signal) = got else { break };
            presses = Presses {
                count: presses.count.saturating_add(1).min(2),
                last: signal,
            };
            if tx.send(presses).is_err() {
                hand_to_main(signal);
            }
        }
    });
    rx
}

/// Nobody listens for `signal` any more: let [`unheeded`] end the process.
fn hand_to_main(signal: Signal) {
    UNHEEDED_NUMBER.store(signal.number(), Ordering::Relaxed);
    UNHEEDED.notify_one();
}

/// Resolves when Ctrl-C or SIGTERM comes after the executor that listened for it is done, with
/// the exit code the signal gives a process it ends (130, 143). Never resolves otherwise: before
/// any apply, the signals keep their default action.
pub async fn unheeded() -> u8 {
    UNHEEDED.notified().await;
    exit_code(UNHEEDED_NUMBER.load(Ordering::Relaxed))
}

/// The exit status of a process that a signal ends: 128 + its number.
fn exit_code(number: i32) -> u8 {
    u8::try_from(128 + number).unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signal_ends_the_process_with_128_plus_its_number() {
        assert_eq!(exit_code(Signal::Interrupt.number()), 130);
        assert_eq!(exit_code(Signal::Terminate.number()), 143);
        assert_eq!(Signal::Interrupt.to_string(), "Ctrl-C");
        assert_eq!(Signal::Terminate.to_string(), "SIGTERM");
    }

    /// The only test that touches the process-wide hand-over.
    #[tokio::test]
    async fn an_unheeded_signal_waits_for_one_and_gives_its_exit_code() {
        tokio::select! {
            biased;
            code = unheeded() => panic!("resolved with {code} before any signal"),
            () = std::future::ready(()) => {}
        }
        hand_to_main(Signal::Terminate);
        // A bound for a broken hand-over only: a working one resolves at once.
        let code = tokio::time::timeout(std::time::Duration::from_secs(10), unheeded()).await;
        assert_eq!(code, Ok(143));
    }
}
