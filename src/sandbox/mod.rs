//! The sandbox: a local emulator of Cloudflare's Zero Trust Access users API, so the whole tool
//! can run and be tested with no network.
//!
//! It owns the emulated API (list, get one and delete users under `/client/v4`, token
//! verification, Access groups and Zero Trust lists, authentication and token scopes, the JSON
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
//! - `door`: Access groups and Zero Trust lists, their own rate limit, the record of their
//!   writes and who a group admits (`Faults::door_enforced`);
//! - this file: the shared state and the HTTP server around `api::respond`.

mod api;
mod door;
mod faults;
mod options;
mod ratelimit;
mod seed;
mod server;
mod store;

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{Map, Value};
use tokio::sync::{oneshot, watch};

pub use api::{codes, API_PREFIX, MAX_USER_ID_CHARS};
pub use seed::{is_account_id, Seed, DEFAULT_ACCOUNT_ID, GENERATED_EMAIL_DOMAIN};

use api::failure;
use ratelimit::RateLimiter;
use store::Store;

pub use door::DoorWrite;
use faults::Fault;
pub use options::ResultInfo;
pub use options::{DoorRateLimit, ItemsShape, ENTERPRISE_LIST_CAPACITY, STANDARD_LIST_CAPACITY};
pub use options::{
    Faults, Options, RateLimit, DEFAULT_LEGACY_EMAIL, DEFAULT_LEGACY_KEY, DEFAULT_TOKEN,
};
pub use options::{TokenSpec, TokenStatus};
pub use server::{serve_cli, serve_until, RunningSandbox, SandboxThread};

/// How long shutting down waits for open connections before dropping them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

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
        "{}: invalid sandbox seed: {message} (a seed is a YAML or JSON mapping with the \
         keys account_id and users (and optionally lists and groups); see docs/sandbox.md)",
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
    /// Deletions done (202), for `Faults::revoke_after_deletes`, `Faults::drop_delete_answers`
    /// and `Options::hold_deletes_after`. A DELETE keeps the lock from those checks to its
    /// count, so that each sees every deletion done before it and the limits are exact even
    /// when DELETEs overlap.
    deletes_done: Mutex<u64>,
    /// Whether DELETEs past `Options::hold_deletes_after` are held; a watch, so that a held one
    /// wakes when that changes.
    hold: watch::Sender<Hold>,
    /// DELETEs held now.
    held: AtomicUsize,
    /// The lists and groups, their rate limit and the record of their writes.
    door: door::http::DoorState,
    /// Answers to page 1 that may still shift the users.
    shift_left: AtomicU32,
    /// List answers that may still reorder the users.
    reorder_left: AtomicU32,
}

impl Sandbox {
    pub fn new(seed: Seed, options: Options) -> Sandbox {
        let limiter = RateLimiter::new(options.rate_limit.quota, options.rate_limit.window);
        let limiter = limiter.with_foreign(options.faults.foreign_load);
        Sandbox {
            inner: Arc::new(Inner {
                account_id: seed.account_id,
                store: RwLock::new(Store::new(seed.users)),
                limiter: Mutex::new(limiter),
                requests: Mutex::new(Vec::new()),
                counter: AtomicU64::new(0),
                churn_left: AtomicU32::new(options.faults.churn),
                churned: Mutex::new((0, Vec::new())),
                deletes_done: Mutex::new(0),
                hold: watch::Sender::new(Hold::Holding),
                held: AtomicUsize::new(0),
                door: door::http::DoorState::new(&seed.lists, &seed.groups, &options),
                shift_left: AtomicU32::new(options.faults.shift),
                reorder_left: AtomicU32::new(options.faults.reorder),
                options,
            }),
        }
    }

    /// The HTTP API. Every path is answered here, so even unknown routes get a JSON envelope.
    pub(crate) fn router(&self) -> Router {
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
        let inner = Arc::clone(&self.inner);
        let task = tokio::spawn(async move {
            let server = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = stopped.await;
                // Graceful shutdown waits for the requests being answered: held DELETEs must
                // end too.
                inner.hold.send_replace(Hold::ShuttingDown);
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

    /// DELETE requests held now (see [`Options::hold_deletes_after`]): received, neither done
    /// nor answered. They are not in [`Sandbox::requests`] until answered.
    pub fn held(&self) -> usize {
        self.inner.held.load(Ordering::SeqCst)
    }

    /// Let every held DELETE go on, done and answered as if it had just come, and hold no more.
    pub fn release_held(&self) {
        self.inner.hold.send_if_modified(|hold| {
            let holding = *hold == Hold::Holding;
            if holding {
                *hold = Hold::Released;
            }
            holding
        });
    }
}

/// What becomes of DELETEs past `Options::hold_deletes_after`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hold {
    /// They wait.
    Holding,
    /// They go on as any other (`Sandbox::release_held`).
    Released,
    /// They are answered 503 and not done: the server is stopping.
    ShuttingDown,
}

/// One DELETE counted in `Inner::held` while it waits, and no longer once it goes on or its
/// connection is dropped.
struct Held<'a>(&'a AtomicUsize);

impl<'a> Held<'a> {
    fn new(count: &'a AtomicUsize) -> Held<'a> {
        count.fetch_add(1, Ordering::SeqCst);
        Held(count)
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Inner {
    fn context<'a>(&'a self, body: &'a [u8]) -> api::Context<'a> {
        api::Context {
            account_id: &self.account_id,
            options: &self.options,
            store: &self.store,
            door: &self.door.door,
            body,
        }
    }

    fn deletes_done(&self) -> std::sync::MutexGuard<'_, u64> {
        self.deletes_done
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The 403 every request gets once the token is revoked (`Faults::revoke_after_deletes`).
    fn revoked(&self, deletes_done: u64) -> Option<api::Reply> {
        let limit = self.options.faults.revoke_after_deletes?;
        (deletes_done >= limit).then(|| api::Reply {
            status: 403,
            body: failure(codes::INVALID_TOKEN, "Invalid access token"),
            allow: None,
        })
    }

    /// Any request but a DELETE, past the rate limit and the random faults: churn before a
    /// list, the API's answer, a shift after page 1.
    fn answer(
        &self,
        n: u64,
        method: &Method,
        path: &str,
        query: Option<&str>,
        headers: &HeaderMap,
        body: &[u8],
    ) -> api::Reply {
        let done = *self.deletes_done();
        if let Some(reply) = self.revoked(done) {
            return reply;
        }
        if door::is_write(method, path) {
            return self.door_write(method, path, query, headers, body);
        }
        if method == Method::GET && path.ends_with("/access/users") {
            self.churn(n);
        }
        let reply = api::respond(&self.context(body), method, path, query, headers);
        let first_page = method == Method::GET
            && reply.status == 200
            && path.ends_with("/access/users")
            && api::parse_list_query(query).is_ok_and(|q| q.page == 1);
        if first_page {
            self.shift(n);
        }
        if method == Method::GET && path.ends_with("/access/users") && reply.status == 200 {
            self.reorder(n);
        }
        reply
    }

    /// A DELETE, past the rate limit and the random faults: revoked, held, or done. Also
    /// whether its answer is to be cut off (`Faults::drop_delete_answers`).
    async fn delete(
        &self,
        path: &str,
        query: Option<&str>,
        headers: &HeaderMap,
    ) -> (api::Reply, bool) {
        loop {
            {
                let mut done = self.deletes_done();
                if let Some(reply) = self.revoked(*done) {
                    return (reply, false);
                }
                let due = self
                    .options
                    .hold_deletes_after
                    .is_some_and(|after| *done >= after);
                let hold = *self.hold.borrow();
                match (due, hold) {
                    (true, Hold::Holding) => {}
                    (true, Hold::ShuttingDown) => {
                        let reply = api::Reply {
                            status: 503,
                            body: failure(
                                codes::SERVER_ERROR,
                                "Service temporarily unavailable (the sandbox is stopping)",
                            ),
                            allow: None,
                        };
                        return (reply, false);
                    }
                    _ => {
                        let reply =
                            api::respond(&self.context(&[]), &Method::DELETE, path, query, headers);
                        let mut cut = false;
                        if reply.status == 202 {
                            cut = *done < self.options.faults.drop_delete_answers;
                            *done += 1;
                        }
                        return (reply, cut);
                    }
                }
            }
            let _held = Held::new(&self.held);
            let mut hold = self.hold.subscribe();
            // An error means the sender is gone, which it is not while `self` lives.
            let _ = hold.wait_for(|hold| *hold != Hold::Holding).await;
        }
    }
}

/// The one handler: routing is done by `api::respond`, so that authentication comes before
/// routing and every answer, even "no route", is Cloudflare's JSON envelope. Around it: latency,
/// the rate limit (a refused request changes nothing), injected faults and churn.
async fn handle(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
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
    let door_limited = match verdict {
        ratelimit::Verdict::Allowed(_) => inner.door_limited(path),
        ratelimit::Verdict::Limited { .. } => None,
    };
    let (reply, usage_header, retry_after) = match verdict {
        ratelimit::Verdict::Allowed(usage) if door_limited.is_some() => (
            api::Reply {
                status: 429,
                body: failure(
                    codes::RATE_LIMITED,
                    "Please wait and consider throttling your request speed",
                ),
                allow: None,
            },
            usage.header(),
            door_limited,
        ),
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
                // A user's DELETE; a list's or group's is a door write, answered below.
                Fault::None | Fault::Drop
                    if method == Method::DELETE && !door::is_write(&method, path) =>
                {
                    let (reply, cut) = inner.delete(path, query, &headers).await;
                    if cut {
                        fault = Fault::Drop;
                    }
                    if reply.status == 202 {
                        inner.relogin(n, path);
                    }
                    reply
                }
                Fault::None | Fault::Drop => inner.answer(n, &method, path, query, &headers, &body),
            };
            (reply, usage.header(), None)
        }
    };
    if fault == Fault::None && inner.cut_door_answer(&method, path) {
        fault = Fault::Drop;
    }
    tracing::debug!(%method, path, status = reply.status, ?fault, "sandbox request");
    if door::is_write(&method, path) {
        inner.record_door_write(&method, path, &body, reply.status);
    }
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn options_debug_hides_credentials() {
        let options = Options {
            tokens: vec![TokenSpec::full("scoped-Zq8XbK2v")],
            ..Options::default()
        };
        let text = format!("{:?}", options);
        assert!(!text.contains(DEFAULT_TOKEN), "{text}");
        assert!(!text.contains("scoped-Zq8XbK2v"), "{text}");
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

    /// A sandbox of `users` generated users with these options, serving on the current runtime;
    /// its users' ids and a DELETE sender that gives the status.
    async fn deleting(
        users: usize,
        options: Options,
    ) -> (
        RunningSandbox,
        Vec<String>,
        impl Fn(String) -> tokio::task::JoinHandle<u16>,
    ) {
        let mut seed = Seed::empty(DEFAULT_ACCOUNT_ID);
        seed.generate(users);
        let sandbox = Sandbox::new(seed, options);
        let ids = sandbox
            .users()
            .iter()
            .map(|u| u["id"].as_str().unwrap().to_string())
            .collect();
        let running = sandbox.bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let base = format!(
            "{}/accounts/{DEFAULT_ACCOUNT_ID}/access/users",
            running.base_url()
        );
        let client = reqwest::Client::new();
        let send = move |id: String| {
            let request = client
                .delete(format!("{base}/{id}"))
                .bearer_auth(DEFAULT_TOKEN)
                .send();
            tokio::spawn(async move { request.await.unwrap().status().as_u16() })
        };
        (running, ids, send)
    }

    /// Poll until `done` holds (every millisecond); the bound is for a broken sandbox only.
    async fn until(what: &str, done: impl Fn() -> bool) {
        let waited = tokio::time::timeout(Duration::from_secs(30), async {
            while !done() {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
        .await;
        assert!(waited.is_ok(), "timed out waiting for {what}");
    }

    #[tokio::test]
    async fn held_deletes_wait_for_a_release_then_are_done() {
        let options = Options {
            hold_deletes_after: Some(1),
            ..Options::default()
        };
        let (running, ids, send) = deleting(3, options).await;
        let sandbox = running.sandbox().clone();
        assert_eq!(send(ids[0].clone()).await.unwrap(), 202);
        let second = send(ids[1].clone());
        until("the second DELETE held", || sandbox.held() == 1).await;
        assert_eq!(sandbox.user_count(), 2, "a held DELETE is not done");
        assert_eq!(sandbox.requests().len(), 1, "nor answered");
        sandbox.release_held();
        assert_eq!(second.await.unwrap(), 202);
        assert_eq!(sandbox.held(), 0);
        // Released, the sandbox holds no more.
        assert_eq!(send(ids[2].clone()).await.unwrap(), 202);
        assert_eq!(sandbox.user_count(), 0);
        running.shutdown().await;
    }

    #[tokio::test]
    async fn held_deletes_are_answered_503_and_not_done_when_the_server_stops() {
        let options = Options {
            hold_deletes_after: Some(0),
            ..Options::default()
        };
        let (running, ids, send) = deleting(2, options).await;
        let sandbox = running.sandbox().clone();
        let held: Vec<_> = ids.iter().map(|id| send(id.clone())).collect();
        until("both DELETEs held", || sandbox.held() == 2).await;
        // Within the grace period, so the held DELETEs did end on their own.
        let stopped = tokio::time::timeout(SHUTDOWN_GRACE, running.shutdown()).await;
        assert!(
            stopped.is_ok(),
            "held DELETEs kept the server from stopping"
        );
        for request in held {
            assert_eq!(request.await.unwrap(), 503);
        }
        assert_eq!(sandbox.user_count(), 2);
    }

    /// On several threads, as `reconcile sandbox` serves, DELETEs are handled at the same time.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn deletion_limits_are_exact_when_deletes_overlap() {
        let options = Options {
            faults: Faults {
                revoke_after_deletes: Some(3),
                ..Faults::default()
            },
            ..Options::default()
        };
        let (running, ids, send) = deleting(12, options).await;
        let all: Vec<_> = ids.into_iter().map(&send).collect();
        let mut statuses = Vec::new();
        for request in all {
            statuses.push(request.await.unwrap());
        }
        statuses.sort_unstable();
        assert_eq!(statuses, [[202; 3].as_slice(), &[403; 9]].concat());
        running.shutdown().await;
    }

    #[test]
    fn generating_and_serving_100k_users_is_quick() {
        let mut seed = Seed::empty(DEFAULT_ACCOUNT_ID);
        seed.generate(100_000);
        let sandbox = Sandbox::new(seed, Options::default());
        assert_eq!(sandbox.user_count(), 100_000);
    }
}
