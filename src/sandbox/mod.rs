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
mod faults;
mod options;
mod ratelimit;
mod seed;
mod server;
mod store;

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

use api::failure;
use ratelimit::RateLimiter;
use store::Store;

use faults::Fault;
pub use options::{
    Faults, Options, RateLimit, DEFAULT_LEGACY_EMAIL, DEFAULT_LEGACY_KEY, DEFAULT_TOKEN,
};
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
