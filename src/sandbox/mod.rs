//! The sandbox: a local emulator of Cloudflare's Zero Trust Access users API, so the whole tool
//! can run and be tested with no network.
//!
//! It owns the emulated API (list and delete under `/client/v4`, authentication, the JSON
//! envelopes and error codes, the rate-limit headers), its in-memory state (seeded from a YAML or
//! JSON file or generated, changed by deletes for the server's lifetime), a record of every
//! request for tests, and the `reconcile sandbox` command's serving loop.
//!
//! Its JSON is written from shared/cloudflare/API.md and the OpenAPI fragment, never from the
//! `cloudflare` client's types, so that a mistake on one side cannot hide on the other.
//! docs/sandbox.md lists every answer and says which ones Cloudflare documents, which are
//! observed, and which are the sandbox's own choice.
//!
//! - `seed`: the seed format and synthetic users;
//! - `store`: users, deletions, filters and pages;
//! - `api`: routing, authentication, parameters, envelopes (pure);
//! - `ratelimit`: the `Ratelimit` header bookkeeping;
//! - this file: the shared state and the HTTP server around `api::respond`.

mod api;
mod ratelimit;
mod seed;
mod store;

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{Map, Value};
use tokio::sync::oneshot;

pub use api::{codes, API_PREFIX, MAX_USER_ID_CHARS};
pub use seed::{is_account_id, Seed, DEFAULT_ACCOUNT_ID, GENERATED_EMAIL_DOMAIN};

use ratelimit::RateLimiter;
use store::Store;

/// How long shutting down waits for open connections before dropping them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// How the sandbox behaves. Later steps add latency, rate-limit enforcement and faults here;
/// build it with `..Options::default()` so new fields do not break callers.
#[derive(Clone)]
pub struct Options {
    /// The bearer token accepted in `Authorization: Bearer <token>`.
    pub token: String,
    /// The accepted legacy pair `(X-Auth-Email, X-Auth-Key)`, if any. The email is compared
    /// case-insensitively, the key exactly.
    pub legacy: Option<(String, String)>,
    /// The quota reported in the `Ratelimit` headers (not enforced yet).
    pub rate_limit: RateLimit,
}

/// A fixed-window quota per credential: `quota` requests per `window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub quota: u32,
    pub window: Duration,
}

impl Default for RateLimit {
    /// Cloudflare's global limit: 1200 requests per 5 minutes per token (API.md §2).
    fn default() -> Self {
        RateLimit {
            quota: 1200,
            window: Duration::from_secs(300),
        }
    }
}

/// The sandbox's default bearer token.
pub const DEFAULT_TOKEN: &str = "sandbox-token";
/// The sandbox's default legacy email.
pub const DEFAULT_LEGACY_EMAIL: &str = "sandbox@example.com";
/// The sandbox's default legacy global API key.
pub const DEFAULT_LEGACY_KEY: &str = "sandbox-global-key";

impl Default for Options {
    fn default() -> Self {
        Options {
            token: DEFAULT_TOKEN.to_string(),
            legacy: Some((
                DEFAULT_LEGACY_EMAIL.to_string(),
                DEFAULT_LEGACY_KEY.to_string(),
            )),
            rate_limit: RateLimit::default(),
        }
    }
}

/// Credentials never reach a log, even the sandbox's own.
impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("token", &"(redacted)")
            .field(
                "legacy",
                &self.legacy.as_ref().map(|(email, _)| (email, "(redacted)")),
            )
            .field("rate_limit", &self.rate_limit)
            .finish()
    }
}

/// One request as the sandbox received it, with the status it answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestRecord {
    pub method: String,
    /// The path as received (percent-encoding kept).
    pub path: String,
    /// The raw query string, without `?`.
    pub query: Option<String>,
    pub status: u16,
}

/// What went wrong running the sandbox, where, and what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("could not read the sandbox seed {}: {source} (check the path given to --seed)", .path.display())]
    ReadSeed { path: PathBuf, source: io::Error },

    #[error(
        "{}: invalid sandbox seed: {message} (a seed is a YAML or JSON mapping with exactly the \
         keys account_id and users; see docs/sandbox.md)",
        place(.origin, *.line, *.column)
    )]
    ParseSeed {
        origin: String,
        line: Option<usize>,
        column: Option<usize>,
        message: String,
    },

    #[error(
        "could not listen on {addr}: {source} (choose another address with --listen; \
         127.0.0.1:0 picks a free port)"
    )]
    Bind { addr: SocketAddr, source: io::Error },

    #[error("could not write the sandbox URL to stdout: {source}")]
    WriteUrl { source: io::Error },

    #[error("could not wait for Ctrl-C to stop the sandbox: {source}")]
    Signal { source: io::Error },
}

fn place(origin: &str, line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(line), Some(column)) => format!("{origin}:{line}:{column}"),
        (Some(line), None) => format!("{origin}:{line}"),
        _ => origin.to_string(),
    }
}

/// A sandbox: cheap to clone, every clone shares the same state.
#[derive(Clone)]
pub struct Sandbox {
    inner: Arc<Inner>,
}

struct Inner {
    account_id: String,
    options: Options,
    store: RwLock<Store>,
    limiter: Mutex<RateLimiter>,
    requests: Mutex<Vec<RequestRecord>>,
}

impl Sandbox {
    pub fn new(seed: Seed, options: Options) -> Sandbox {
        let limiter = RateLimiter::new(options.rate_limit.quota, options.rate_limit.window);
        Sandbox {
            inner: Arc::new(Inner {
                account_id: seed.account_id,
                store: RwLock::new(Store::new(seed.users)),
                limiter: Mutex::new(limiter),
                requests: Mutex::new(Vec::new()),
                options,
            }),
        }
    }

    /// The HTTP API. Every path is answered here, so even unknown routes get a JSON envelope.
    pub fn router(&self) -> Router {
        Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&self.inner))
    }

    /// Bind on `addr` and serve on the current tokio runtime in a spawned task.
    pub async fn bind(self, addr: SocketAddr) -> io::Result<RunningSandbox> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        self.serve_on(listener)
    }

    /// Serve on `listener` in a task spawned on the current runtime.
    fn serve_on(self, listener: tokio::net::TcpListener) -> io::Result<RunningSandbox> {
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let app = self.router();
        let task = tokio::spawn(async move {
            let server = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = server.await {
                tracing::error!("sandbox server on {addr} stopped: {e}");
            }
        });
        Ok(RunningSandbox {
            sandbox: self,
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// For synchronous tests: serve from a thread with its own tokio runtime. Binding happens
    /// before this returns; dropping the handle shuts the server down and joins the thread.
    pub fn spawn_thread(self, addr: SocketAddr) -> io::Result<SandboxThread> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let running = {
            let _entered = runtime.enter();
            self.clone()
                .serve_on(tokio::net::TcpListener::from_std(listener)?)?
        };
        let addr = running.addr();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("sandbox {addr}"))
            .spawn(move || {
                runtime.block_on(async move {
                    let _ = stopped.await;
                    running.shutdown().await;
                });
            })?;
        Ok(SandboxThread {
            sandbox: self,
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The users now (seeded, minus deletions), in list order.
    pub fn users(&self) -> Vec<Map<String, Value>> {
        self.inner
            .store
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .snapshot()
    }

    /// How many users there are now.
    pub fn user_count(&self) -> usize {
        self.inner
            .store
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .len()
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.inner
            .requests
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// The account the sandbox serves.
    pub fn account_id(&self) -> String {
        self.inner.account_id.clone()
    }

    /// The options it was built with.
    pub fn options(&self) -> &Options {
        &self.inner.options
    }
}

/// The one handler: routing is done by `api::respond`, so that authentication comes before
/// routing and every answer, even "no route", is Cloudflare's JSON envelope.
async fn handle(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let now = Instant::now();
    let path = uri.path();
    let query = uri.query();
    let cx = api::Context {
        account_id: &inner.account_id,
        options: &inner.options,
        store: &inner.store,
    };
    let reply = api::respond(&cx, &method, path, query, &headers);
    let (usage, policy) = {
        let mut limiter = inner
            .limiter
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let usage = limiter.hit(ratelimit::credential_key(&headers), now);
        (usage, limiter.policy())
    };
    tracing::debug!(%method, path, status = reply.status, "sandbox request");
    inner
        .requests
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .push(RequestRecord {
            method: method.to_string(),
            path: path.to_string(),
            query: query.map(str::to_string),
            status: reply.status,
        });

    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, Body::from(reply.body)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    for (name, value) in [("ratelimit", usage.header()), ("ratelimit-policy", policy)] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    if let Some(allow) = reply.allow {
        headers.insert(header::ALLOW, HeaderValue::from_static(allow));
    }
    response
}

fn base_url(addr: SocketAddr) -> String {
    format!("http://{addr}{API_PREFIX}")
}

/// A sandbox serving on the current runtime. Dropping it asks the server to stop; `shutdown`
/// also waits for it.
pub struct RunningSandbox {
    sandbox: Sandbox,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
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
    sandbox: Sandbox,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn options_debug_hides_credentials() {
        let text = format!("{:?}", Options::default());
        assert!(!text.contains(DEFAULT_TOKEN), "{text}");
        assert!(!text.contains(DEFAULT_LEGACY_KEY), "{text}");
    }

    #[test]
    fn errors_say_where() {
        let e = SandboxError::ParseSeed {
            origin: "s.yaml".into(),
            line: Some(3),
            column: Some(5),
            message: "users[0]: unknown field `x`".into(),
        };
        assert!(e
            .to_string()
            .starts_with("s.yaml:3:5: invalid sandbox seed: users[0]"));
    }

    #[tokio::test]
    async fn serve_until_prints_the_url_first_and_stops() {
        let mut out = Vec::new();
        let (tx, rx) = oneshot::channel::<()>();
        let served = serve_until(
            Seed::empty(DEFAULT_ACCOUNT_ID),
            Options::default(),
            "127.0.0.1:0".parse().unwrap(),
            &mut out,
            async move {
                let _ = rx.await;
                Ok(())
            },
        );
        let stopper = async move {
            tokio::task::yield_now().await;
            let _ = tx.send(());
        };
        let (result, ()) = tokio::join!(served, stopper);
        result.unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("http://127.0.0.1:"), "{text}");
        assert!(text.ends_with("/client/v4\n"), "{text}");
    }

    #[test]
    fn generating_and_serving_100k_users_is_quick() {
        let mut seed = Seed::empty(DEFAULT_ACCOUNT_ID);
        seed.generate(100_000);
        let sandbox = Sandbox::new(seed, Options::default());
        assert_eq!(sandbox.user_count(), 100_000);
    }
}
