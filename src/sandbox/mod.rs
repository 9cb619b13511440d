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
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
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

/// How the sandbox behaves. Build it with `..Options::default()` so new fields do not break
/// callers.
#[derive(Clone)]
pub struct Options {
    /// The bearer token accepted in `Authorization: Bearer <token>`.
    pub token: String,
    /// The accepted legacy pair `(X-Auth-Email, X-Auth-Key)`, if any. The email is compared
    /// case-insensitively, the key exactly.
    pub legacy: Option<(String, String)>,
    /// The quota reported in the `Ratelimit` headers; enforced only with
    /// `faults.enforce_rate_limit` (see [`Options::with_faults`]).
    pub rate_limit: RateLimit,
    /// Latency, rate-limit enforcement and injected faults; none by default.
    pub faults: Faults,
}

/// What can go wrong on purpose, for tests and trials. Random faults come from a seeded
/// generator: the same seed and the same order of requests give the same faults.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Faults {
    /// Added before every answer.
    pub latency: Duration,
    /// Refuse past `Options::rate_limit` as Cloudflare does: 429, code 971, `Retry-After`, and a
    /// block during which every call is refused.
    pub enforce_rate_limit: bool,
    /// How long the block lasts; `None` is the window (Cloudflare: five minutes).
    pub block: Option<Duration>,
    /// Probability of a 503 with a failure envelope (nothing is done).
    pub error_rate: f64,
    /// Probability that the connection is closed in the middle of the answer (after the request
    /// took effect: a dropped DELETE did delete).
    pub drop_rate: f64,
    /// Probability of a 200 whose body is not the envelope (nothing is done).
    pub malformed_rate: f64,
    /// This many list requests each change the users first: one adds a user at a random place,
    /// the next removes one of those added, and so on. `u32::MAX`: every list request.
    pub churn: u32,
    /// Seed for the random faults and churn.
    pub seed: u64,
    /// Serve at most this many users a page, whatever `per_page` asks.
    pub max_per_page: Option<u64>,
    /// After this many deletions the token is revoked: every later request gets 403 with code
    /// 9109, as when someone revokes the token in the middle of a run.
    pub revoke_after_deletes: Option<u64>,
    /// The first this many deletions are done, then their answer is cut off (the connection
    /// closes after the status line, before the body is complete): the client cannot know the
    /// DELETE took effect, and its retry finds the user gone.
    pub drop_delete_answers: u64,
    /// After each of the first this many answers to page 1, the first user is removed and a
    /// new one added at the end, as when someone deletes a user and another signs in while the
    /// list is read: every other user moves back one place, across page boundaries, and the
    /// total stays the same (so a count cannot tell). `u32::MAX`: after every one.
    pub shift: u32,
    /// Report this `total_pages` in every list answer, whatever the users.
    pub total_pages: Option<u64>,
    /// Leave `total_count` out of `result_info` (the spec makes every field optional).
    pub no_total_count: bool,
    /// Answer an empty page with `"result": null` (the 2024 spec allowed it) instead of `[]`.
    pub null_empty_pages: bool,
}

impl Options {
    /// These options with `faults`; `rate_limit`, when given, is reported and enforced.
    pub fn with_faults(mut self, faults: Faults, rate_limit: Option<RateLimit>) -> Options {
        self.faults = faults;
        if let Some(limit) = rate_limit {
            self.rate_limit = limit;
            self.faults.enforce_rate_limit = true;
        }
        self
    }
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
            faults: Faults::default(),
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
            .field("faults", &self.faults)
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
    #[error("could not read the sandbox seed {}: {source} (check the path given to --seed)", crate::fsread::display_path(.path))]
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
    /// Requests received, for the fault generator and `cf-ray`.
    counter: AtomicU64,
    /// List requests that may still churn.
    churn_left: AtomicU32,
    /// Users added by churn and still there.
    churned: Mutex<(u64, Vec<String>)>,
    /// Deletions done (202), for `Faults::revoke_after_deletes`.
    deletes_done: AtomicU64,
    /// Answers to page 1 that may still shift the users.
    shift_left: AtomicU32,
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
                counter: AtomicU64::new(0),
                churn_left: AtomicU32::new(options.faults.churn),
                churned: Mutex::new((0, Vec::new())),
                deletes_done: AtomicU64::new(0),
                shift_left: AtomicU32::new(options.faults.shift),
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

/// A fault picked for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    None,
    Error,
    Drop,
    Malformed,
}

impl Inner {
    /// A number in [0, 1) for request `n`, stream `salt`.
    fn unit(&self, n: u64, salt: u64) -> f64 {
        let x = seed::mix(self.options.faults.seed ^ n.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ salt);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }

    fn fault(&self, n: u64) -> Fault {
        let f = &self.options.faults;
        let u = self.unit(n, 1);
        if u < f.error_rate {
            Fault::Error
        } else if u < f.error_rate + f.drop_rate {
            Fault::Drop
        } else if u < f.error_rate + f.drop_rate + f.malformed_rate {
            Fault::Malformed
        } else {
            Fault::None
        }
    }

    /// After an answer to page 1: remove the first user and add one at the end (see
    /// `Faults::shift`).
    fn shift(&self, n: u64) {
        let left = self.shift_left.load(Ordering::Relaxed);
        if left == 0 {
            return;
        }
        if left != u32::MAX {
            self.shift_left.fetch_sub(1, Ordering::Relaxed);
        }
        let mut store = self.store.write().unwrap_or_else(|p| p.into_inner());
        let first = store
            .snapshot()
            .into_iter()
            .next()
            .and_then(|u| u.get("id").and_then(Value::as_str).map(str::to_string));
        if let Some(id) = first {
            store.delete(&id);
        }
        let id = fault_uuid(self.options.faults.seed ^ n ^ 0x5417_F7ED, '9');
        let user = fault_user(
            id,
            &format!("shifted-{n}@churn.example"),
            &format!("Shifted {n}"),
        );
        let end = store.len();
        store.insert(end, user);
    }

    /// Change the users as someone else would while the list is read: add a user at a random
    /// place, or remove one added before.
    fn churn(&self, n: u64) {
        let left = self.churn_left.load(Ordering::Relaxed);
        if left == 0 {
            return;
        }
        if left != u32::MAX {
            self.churn_left.fetch_sub(1, Ordering::Relaxed);
        }
        let mut guard = self.churned.lock().unwrap_or_else(|p| p.into_inner());
        let (step, churned) = &mut *guard;
        *step += 1;
        let mut store = self.store.write().unwrap_or_else(|p| p.into_inner());
        let pick = |len: usize, salt: u64| (self.unit(n, salt) * len as f64) as usize;
        if *step % 2 == 0 && !churned.is_empty() {
            let at = pick(churned.len(), 2).min(churned.len() - 1);
            let id = churned.swap_remove(at);
            store.delete(&id);
        } else {
            let id = fault_uuid(self.options.faults.seed ^ n ^ 0xC0FFEE, '8');
            let user = fault_user(
                id.clone(),
                &format!("churn-{n}@churn.example"),
                &format!("Churn {n}"),
            );
            let position = pick(store.len() + 1, 3);
            store.insert(position, user);
            churned.push(id);
        }
    }
}

fn failure(code: u32, message: &str) -> String {
    serde_json::json!({
        "success": false,
        "errors": [{"code": code, "message": message}],
        "messages": [],
        "result": null,
    })
    .to_string()
}

/// The one handler: routing is done by `api::respond`, so that authentication comes before
/// routing and every answer, even "no route", is Cloudflare's JSON envelope. Around it: latency,
/// the rate limit (a refused request changes nothing), injected faults and churn.
async fn handle(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let faults = &inner.options.faults;
    if !faults.latency.is_zero() {
        tokio::time::sleep(faults.latency).await;
    }
    let n = inner.counter.fetch_add(1, Ordering::Relaxed);
    let now = Instant::now();
    let path = uri.path();
    let query = uri.query();
    let (verdict, policy) = {
        let mut limiter = inner
            .limiter
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let key = ratelimit::credential_key(&headers);
        let verdict = if faults.enforce_rate_limit {
            let block = faults.block.unwrap_or(inner.options.rate_limit.window);
            limiter.check(key, now, block)
        } else {
            ratelimit::Verdict::Allowed(limiter.hit(key, now))
        };
        (verdict, limiter.policy())
    };
    let mut fault = Fault::None;
    let (reply, usage_header, retry_after) = match verdict {
        ratelimit::Verdict::Limited { retry_after } => (
            api::Reply {
                status: 429,
                body: failure(
                    codes::RATE_LIMITED,
                    "Please wait and consider throttling your request speed",
                ),
                allow: None,
            },
            format!("\"default\";r=0;t={retry_after}"),
            Some(retry_after),
        ),
        ratelimit::Verdict::Allowed(usage) => {
            fault = inner.fault(n);
            let reply = match fault {
                Fault::Error => api::Reply {
                    status: 503,
                    body: failure(codes::SERVER_ERROR, "Service temporarily unavailable"),
                    allow: None,
                },
                Fault::Malformed => api::Reply {
                    status: 200,
                    body: if n % 2 == 0 {
                        "<html><body>502 Bad Gateway</body></html>".to_string()
                    } else {
                        r#"{"success":true,"errors":[],"result":[{"id":"#.to_string()
                    },
                    allow: None,
                },
                Fault::None | Fault::Drop
                    if faults.revoke_after_deletes.is_some_and(|limit| {
                        inner.deletes_done.load(Ordering::Relaxed) >= limit
                    }) =>
                {
                    api::Reply {
                        status: 403,
                        body: failure(codes::INVALID_TOKEN, "Invalid access token"),
                        allow: None,
                    }
                }
                Fault::None | Fault::Drop => {
                    if method == Method::GET && path.ends_with("/access/users") {
                        inner.churn(n);
                    }
                    let cx = api::Context {
                        account_id: &inner.account_id,
                        options: &inner.options,
                        store: &inner.store,
                    };
                    let reply = api::respond(&cx, &method, path, query, &headers);
                    let first_page = method == Method::GET
                        && reply.status == 200
                        && api::parse_list_query(query).is_ok_and(|q| q.page == 1);
                    if first_page {
                        inner.shift(n);
                    }
                    if method == Method::DELETE && reply.status == 202 {
                        let done = inner.deletes_done.fetch_add(1, Ordering::Relaxed);
                        if done < faults.drop_delete_answers {
                            fault = Fault::Drop;
                        }
                    }
                    reply
                }
            };
            (reply, usage.header(), None)
        }
    };
    tracing::debug!(%method, path, status = reply.status, ?fault, "sandbox request");
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
    let body = if fault == Fault::Drop {
        // Send half the body, then fail the stream: the server closes the connection
        // mid-answer, as a network cut would.
        let mut half = reply.body.into_bytes();
        half.truncate(half.len() / 2);
        let chunks: Vec<Result<Vec<u8>, io::Error>> = vec![
            Ok(half),
            Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "injected drop",
            )),
        ];
        Body::from_stream(futures_util::stream::iter(chunks))
    } else {
        Body::from(reply.body)
    };
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(if fault == Fault::Malformed && n % 2 == 0 {
            "text/html"
        } else {
            "application/json"
        }),
    );
    let ray = format!("{:016x}-SBX", seed::mix(n ^ 0x5EED_0000_0000_0000));
    for (name, value) in [
        ("ratelimit", usage_header),
        ("ratelimit-policy", policy),
        ("cf-ray", ray),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    if let Some(secs) = retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
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

/// A UUID for a user a fault adds, from a seed (`variant` is its 17th hex digit).
fn fault_uuid(salt: u64, variant: char) -> String {
    let r = seed::mix(salt);
    format!(
        "{:08x}-{:04x}-4{:03x}-{variant}{:03x}-{:012x}",
        r >> 32,
        (r >> 16) & 0xffff,
        r & 0xfff,
        (r >> 20) & 0xfff,
        seed::mix(r) & 0xffff_ffff_ffff
    )
}

/// A user a fault adds.
fn fault_user(id: String, email: &str, name: &str) -> Map<String, Value> {
    let mut user = Map::new();
    user.insert("id".into(), Value::String(id));
    user.insert("email".into(), Value::String(email.to_string()));
    user.insert("name".into(), Value::String(name.to_string()));
    user
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
