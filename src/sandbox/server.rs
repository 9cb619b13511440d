//! Serving a sandbox: on the current runtime, on a thread of its own (tests), or for
//! `reconcile sandbox` until interrupted.

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use tokio::sync::oneshot;

use super::*;

pub(super) fn base_url(addr: SocketAddr) -> String {
    format!("http://{addr}{API_PREFIX}")
}

/// A sandbox serving on the current runtime. Dropping it asks the server to stop; `shutdown`
/// also waits for it.
pub struct RunningSandbox {
    pub(super) sandbox: Sandbox,
    pub(super) addr: SocketAddr,
    pub(super) stop: Option<oneshot::Sender<()>>,
    pub(super) task: Option<tokio::task::JoinHandle<()>>,
}

impl RunningSandbox {
    /// `http://<addr>/client/v4`: what the client uses as its API base URL.
    pub fn base_url(&self) -> String {
        base_url(self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    /// Stop accepting, let open requests finish (up to a few seconds), and wait.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}

impl Drop for RunningSandbox {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A sandbox serving from its own thread. Dropping it shuts the server down and joins.
pub struct SandboxThread {
    pub(super) sandbox: Sandbox,
    pub(super) addr: SocketAddr,
    pub(super) stop: Option<oneshot::Sender<()>>,
    pub(super) thread: Option<std::thread::JoinHandle<()>>,
}

impl SandboxThread {
    /// `http://<addr>/client/v4`: what the client uses as its API base URL.
    pub fn base_url(&self) -> String {
        base_url(self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }
}

impl Drop for SandboxThread {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The `reconcile sandbox` command: serve `seed` on `listen`, print the base URL as the first
/// line of `stdout` (flushed), log a summary to stderr, and serve until Ctrl-C.
pub async fn serve_cli(
    seed: Seed,
    options: Options,
    listen: SocketAddr,
    stdout: &mut (dyn io::Write + Send),
) -> Result<(), SandboxError> {
    serve_until(seed, options, listen, stdout, tokio::signal::ctrl_c()).await
}

/// `serve_cli` with the stop signal given: serve until `stop` completes.
pub async fn serve_until(
    seed: Seed,
    options: Options,
    listen: SocketAddr,
    stdout: &mut (dyn io::Write + Send),
    stop: impl Future<Output = io::Result<()>>,
) -> Result<(), SandboxError> {
    let sandbox = Sandbox::new(seed, options);
    let running = sandbox
        .bind(listen)
        .await
        .map_err(|source| SandboxError::Bind {
            addr: listen,
            source,
        })?;
    let url = running.base_url();
    writeln!(stdout, "{url}")
        .and_then(|()| stdout.flush())
        .map_err(|source| SandboxError::WriteUrl { source })?;
    let sandbox = running.sandbox();
    tracing::info!(
        "sandbox serving account {} with {} users at {url}; stop with Ctrl-C",
        sandbox.account_id(),
        sandbox.user_count(),
    );
    let stopped = stop.await;
    running.shutdown().await;
    stopped.map_err(|source| SandboxError::Signal { source })?;
    tracing::info!("sandbox stopped");
    Ok(())
}
