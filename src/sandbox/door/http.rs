//! The door's part of the HTTP glue: the lists API's own rate limit, the `fail_door_writes_after`
//! and `drop_door_answers` faults, the record of writes, and what a test reads (`Sandbox::lists`, `groups`,
//! `door_writes`, `advance_clock`).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, Method};
use serde_json::Value;

use super::super::api::{self, codes, failure};
use super::super::ratelimit::{RateLimiter, Verdict};
use super::super::{Inner, Options, Sandbox};
use super::{route_of, Door};

/// One write (POST, PUT, PATCH, DELETE) to a list or a group, as received, with its answer.
#[derive(Clone, Debug, PartialEq)]
pub struct DoorWrite {
    pub method: String,
    /// The path as received (percent-encoding kept).
    pub path: String,
    /// The body as JSON (`Value::Null` when there was none or it was not JSON).
    pub body: Value,
    pub status: u16,
}

impl DoorWrite {
    /// True for a write to a Zero Trust list (`/gateway/lists`), false for a group.
    pub fn is_list(&self) -> bool {
        self.path.contains("/gateway/lists")
    }
}

/// The door's state inside `Inner`.
pub(in crate::sandbox) struct DoorState {
    pub door: std::sync::RwLock<Door>,
    limiter: Option<(Mutex<RateLimiter>, Duration)>,
    /// Added to the clock the lists' rate limit reads (`Sandbox::advance_clock`).
    offset: Mutex<Duration>,
    /// Writes done (2xx), for `Faults::fail_door_writes_after`; held across a write.
    done: Mutex<u64>,
    /// Answers cut off so far, for `Faults::drop_door_answers`.
    cut: Mutex<u64>,
    writes: Mutex<Vec<DoorWrite>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl DoorState {
    pub(in crate::sandbox) fn new(
        lists: &[Value],
        groups: &[Value],
        options: &Options,
    ) -> DoorState {
        let salt = options.faults.seed ^ 0xD00E;
        let door = Door::from_seed(lists, groups, salt).unwrap_or_else(|e| {
            // A seed read from a file was checked already; one built in Rust may not be.
            tracing::warn!("sandbox seed: {e}; the lists and groups start empty");
            Door::new(salt)
        });
        DoorState {
            door: std::sync::RwLock::new(door),
            limiter: options
                .door_rate_limit
                .map(|l| (Mutex::new(RateLimiter::new(l.quota, l.window)), l.block)),
            offset: Mutex::new(Duration::ZERO),
            done: Mutex::new(0),
            cut: Mutex::new(0),
            writes: Mutex::new(Vec::new()),
        }
    }
}

impl Inner {
    /// The lists API's own limit: for a request on a lists path, the seconds to wait when it is
    /// refused (per account: every credential shares one count).
    pub(in crate::sandbox) fn door_limited(&self, path: &str) -> Option<u64> {
        let (limiter, block) = self.door.limiter.as_ref()?;
        if !route_of(path).is_some_and(|r| r.is_lists()) {
            return None;
        }
        let now = Instant::now() + *lock(&self.door.offset);
        match lock(limiter).check(0, now, *block) {
            Verdict::Limited { retry_after } => Some(retry_after),
            Verdict::Allowed(_) => None,
        }
    }

    /// A write to a list or group, unless `Faults::fail_door_writes_after` fails it.
    pub(in crate::sandbox) fn door_write(
        &self,
        method: &Method,
        path: &str,
        query: Option<&str>,
        headers: &HeaderMap,
        body: &[u8],
    ) -> api::Reply {
        let mut done = lock(&self.door.done);
        if self
            .options
            .faults
            .fail_door_writes_after
            .is_some_and(|after| *done >= after)
        {
            return api::Reply {
                status: 503,
                body: failure(codes::SERVER_ERROR, "Service temporarily unavailable"),
                allow: None,
            };
        }
        let reply = api::respond(&self.context(body), method, path, query, headers);
        if (200..300).contains(&reply.status) {
            *done += 1;
        }
        reply
    }

    /// Is the answer to this request to be cut off (`Faults::drop_door_answers`)? Counts it
    /// when it is: only writes to lists or groups, the first N of them, whatever their status.
    pub(in crate::sandbox) fn cut_door_answer(&self, method: &Method, path: &str) -> bool {
        if !super::is_write(method, path) {
            return false;
        }
        let mut cut = lock(&self.door.cut);
        if *cut < self.options.faults.drop_door_answers {
            *cut += 1;
            true
        } else {
            false
        }
    }

    /// Keep a record of a write to a list or group.
    pub(in crate::sandbox) fn record_door_write(
        &self,
        method: &Method,
        path: &str,
        body: &[u8],
        status: u16,
    ) {
        lock(&self.door.writes).push(DoorWrite {
            method: method.to_string(),
            path: path.to_string(),
            body: serde_json::from_slice(body).unwrap_or(Value::Null),
            status,
        });
    }

    /// Does some group admit `email` (`Faults::door_enforced`)?
    pub(in crate::sandbox) fn door_admits(&self, email: &str) -> bool {
        self.door
            .door
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .admits(email)
    }
}

impl Sandbox {
    /// The Zero Trust lists now, in creation order, each as `GET …/gateway/lists/{id}` serves
    /// it plus its `items`.
    pub fn lists(&self) -> Vec<Value> {
        self.inner
            .door
            .door
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .lists_json()
    }

    /// The Access groups now, in creation order, as `GET …/access/groups/{id}` serves them.
    pub fn groups(&self) -> Vec<Value> {
        self.inner
            .door
            .door
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .groups_json()
    }

    /// Every write to a list or group received so far (any status), in order.
    pub fn door_writes(&self) -> Vec<DoorWrite> {
        lock(&self.inner.door.writes).clone()
    }

    /// Would some Access group admit `email` (what `--door-enforced` asks)?
    pub fn door_admits(&self, email: &str) -> bool {
        self.inner.door_admits(email)
    }

    /// A test aid: move the clock the lists API's rate limit reads forward by `by`, so a
    /// test can see a 120 s block end without waiting for it.
    pub fn advance_clock(&self, by: Duration) {
        *lock(&self.inner.door.offset) += by;
    }
}
