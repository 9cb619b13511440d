//! How a sandbox behaves: its token and legacy key, the faults it injects on purpose, the rate
//! limit it reports or enforces.

use std::fmt;
use std::time::Duration;

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
    /// A test aid, not a behaviour of the real API: once this many deletions are done (202),
    /// every later DELETE is received and held, neither done nor answered, until
    /// [`Sandbox::release_held`](super::Sandbox::release_held) lets it go on or the server shuts
    /// down (it is then answered 503 and nothing is done). [`Sandbox::held`](super::Sandbox::held)
    /// counts those held now, so a test can wait until deletions are surely in flight instead of
    /// betting on a latency. Kept out of [`Faults`], which mirrors the `reconcile sandbox` flags
    /// one for one: there is no flag for this.
    pub hold_deletes_after: Option<u64>,
    /// More bearer tokens the sandbox accepts besides [`Options::token`] (which may do
    /// everything), each with what it may do: `reconcile sandbox --token T:read`, repeatable.
    pub tokens: Vec<TokenSpec>,
    /// Entries a Zero Trust list may hold: 1000 (Standard plans, the default) or 5000
    /// (Enterprise), API-additions §4.5; `reconcile sandbox --list-capacity`.
    pub list_capacity: usize,
    /// The lists API's own limit (API-additions §4.5: 600 requests a minute, then a block of
    /// 120 s), per account, always enforced; `None` turns it off. Shorter windows and blocks are
    /// a Rust-only test aid, as is [`Sandbox::advance_clock`](super::Sandbox::advance_clock).
    pub door_rate_limit: Option<DoorRateLimit>,
}

/// The lists API's rate limit: `quota` requests per `window`, then every request is refused
/// for `block`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DoorRateLimit {
    pub quota: u32,
    pub window: Duration,
    pub block: Duration,
}

impl Default for DoorRateLimit {
    /// "List API requests per minute 600"; "Cloudflare will block subsequent requests for 120
    /// seconds" (API-additions §4.5).
    fn default() -> Self {
        DoorRateLimit {
            quota: 600,
            window: Duration::from_secs(60),
            block: Duration::from_secs(120),
        }
    }
}

/// The Standard plan's entries per list (API-additions §4.5).
pub const STANDARD_LIST_CAPACITY: usize = 1000;
/// The Enterprise plan's entries per list.
pub const ENTERPRISE_LIST_CAPACITY: usize = 5000;

/// The shape of `GET …/gateway/lists/{id}/items` answers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ItemsShape {
    /// The 2026 spec: `"result": [{…}, …]`, paginated.
    #[default]
    Flat,
    /// The 2024 spec and cloudflare-go v6: `"result": [[{…}, …]]`, one inner array.
    Nested,
}

/// What can go wrong on purpose, for tests and trials. Random faults come from a seeded
/// generator: the same seed and the same order of requests give the same faults.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Faults {
    /// Added before every answer.
    pub latency: Duration,
    /// The legacy key pair may list but not delete: a DELETE with it answers 403 code 10000, as
    /// a token without the permission does.
    pub legacy_read_only: bool,
    /// Zero Trust Access is not enabled on the account: every Access route answers 403 code
    /// 9999 `access.api.error.not_enabled`.
    pub access_disabled: bool,
    /// The code of a 404 for an unknown user id (GET or DELETE): `None` is 12130
    /// `access.api.error.not_found`; 7003 answers "Could not route to …", as other Cloudflare
    /// services do for an unknown object.
    pub not_found_code: Option<u32>,
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
    /// What `result_info` holds: every field, no totals, or a `total_count` of the whole
    /// account whatever the filters (every field is optional in the spec).
    pub result_info: ResultInfo,
    /// After each of the first this many answers to a list request, the users are put in a new
    /// order (seeded): the spec documents no order, so nothing says it holds from one page to
    /// the next. The users and the totals stay the same. `u32::MAX`: after every one. O(n) per
    /// answer: meant for small accounts.
    pub reorder: u32,
    /// Addresses (compared case-insensitively) that log in again once deleted: right after a
    /// DELETE of such a user (202), a user with the same address and name and a new `id`,
    /// `uid` and `seat_uid` is added at the end, as when an Access policy still admits the
    /// person. The new id is the sandbox's assumption; Cloudflare's docs say only that the
    /// next login takes a seat again.
    pub relogin: Vec<String>,
    /// Probability that any deleted user logs in again in the same way.
    pub relogin_rate: f64,
    /// Requests per second that other traffic (the dashboard, other tokens, scripts of the same
    /// user) spends from every credential's rate-limit window: they lower `Ratelimit: r=` and,
    /// with the limit enforced, can start a block by themselves. Counted from elapsed time.
    pub foreign_load: f64,
    /// How list items are answered (`--list-items-shape`).
    pub list_items_shape: ItemsShape,
    /// Once this many writes to lists or groups (POST, PUT, PATCH, DELETE) are done, every later
    /// one answers 503 code 10503 and changes nothing (`--fail-door-writes N`).
    pub fail_door_writes_after: Option<u64>,
    /// The answers to the first this many writes to lists or groups are cut off mid-body, as
    /// `drop_rate` cuts one: a write that took effect stays done, one that
    /// `fail_door_writes_after` refused stays undone, and the client cannot tell which. A Rust
    /// test aid (no flag).
    pub drop_door_answers: u64,
    /// A deleted user logs in again (`relogin`, `relogin_rate`) only if some Access group
    /// admits the address (`--door-enforced`).
    pub door_enforced: bool,
}

/// What a list answer's `result_info` holds besides `page`, `per_page` and `count`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ResultInfo {
    /// `total_count` (the users matching the filters) and `total_pages`.
    #[default]
    Full,
    /// Neither `total_count` nor `total_pages`: responses from before `total_pages` was added
    /// to the spec, or an API that leaves optional fields out.
    NoTotals,
    /// `total_count` counts the whole account, whatever the filters, as the spec's description
    /// says ("Total results available without any search parameters"); `total_pages` follows
    /// from it.
    Unfiltered,
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
            hold_deletes_after: None,
            tokens: Vec::new(),
            list_capacity: STANDARD_LIST_CAPACITY,
            door_rate_limit: Some(DoorRateLimit::default()),
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
            .field("hold_deletes_after", &self.hold_deletes_after)
            .field("tokens", &self.tokens)
            .field("list_capacity", &self.list_capacity)
            .field("door_rate_limit", &self.door_rate_limit)
            .finish()
    }
}

/// A bearer token with what it may do, as `reconcile sandbox --token` gives it:
/// `TOKEN[:ATTR[,ATTR…]]` with ATTR one of
/// - `read`: may list and read users, lists and groups, not change them (a DELETE, POST, PUT
///   or PATCH answers 403 code 10000);
/// - `no-door`: may not touch lists or groups at all (every request there answers 403 10000);
/// - `expired`, `disabled`: verification says so; the Access routes refuse it (403 9109);
/// - `account`: an account-owned token: `/user/tokens/verify` does not know it (401 1000),
///   `/accounts/{account_id}/tokens/verify` does;
/// - `token-read`: holds (Account) API Tokens Read: its details
///   (`GET /accounts/{account_id}/tokens/{id}`, `GET /user/tokens/{id}`) answer with policies
///   that reflect its other attributes; without it they answer 403 10000;
/// - `expires-in=N` with N a span (`5d`, `12h`, `30m`, `90s`): it expires that long after the
///   sandbox starts (`expires_on` in its verification), and is expired from then on.
///
/// A token itself never holds `:` (Cloudflare's are letters, digits, `-` and `_`).
#[derive(Clone, PartialEq)]
pub struct TokenSpec {
    pub token: String,
    pub read_only: bool,
    /// May not use the lists and groups routes (`no-door`).
    pub no_door: bool,
    pub status: TokenStatus,
    pub account_owned: bool,
    /// May read its own details (`token-read`).
    pub token_read: bool,
    /// When it expires, in seconds since the Unix epoch.
    pub expires_on: Option<u64>,
}

/// The `status` a token verification reports (the spec's enum `iam_token_status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenStatus {
    Active,
    Disabled,
    Expired,
}

impl TokenSpec {
    /// A token that may do everything, never expires.
    pub fn full(token: &str) -> TokenSpec {
        TokenSpec {
            token: token.to_string(),
            read_only: false,
            no_door: false,
            status: TokenStatus::Active,
            account_owned: false,
            token_read: false,
            expires_on: None,
        }
    }

    /// Parse `TOKEN[:ATTR,…]`; `now` (seconds since the epoch) anchors `expires-in`. The error
    /// says what is wrong, without the token.
    pub fn parse(text: &str, now: u64) -> Result<TokenSpec, String> {
        let (token, attrs) = match text.split_once(':') {
            Some((token, attrs)) => (token, Some(attrs)),
            None => (text, None),
        };
        if token.trim().is_empty() {
            return Err("the token before `:` is empty".into());
        }
        let mut spec = TokenSpec::full(token.trim());
        for attr in attrs.into_iter().flat_map(|a| a.split(',')) {
            let attr = attr.trim();
            match attr.split_once('=') {
                None if attr == "read" => spec.read_only = true,
                None if attr == "no-door" => spec.no_door = true,
                None if attr == "expired" => spec.status = TokenStatus::Expired,
                None if attr == "disabled" => spec.status = TokenStatus::Disabled,
                None if attr == "account" => spec.account_owned = true,
                None if attr == "token-read" => spec.token_read = true,
                Some(("expires-in", span)) => {
                    let span = crate::date::Span::parse(span.trim())
                        .map_err(|e| format!("expires-in={}: {e}", crate::text::printable(span)))?;
                    spec.expires_on = Some(now.saturating_add(span.seconds));
                }
                _ => {
                    return Err(format!(
                        "unknown token attribute `{}`: use read, no-door, expired, disabled, account, token-read or expires-in=5d",
                        crate::text::printable(attr)
                    ))
                }
            }
        }
        Ok(spec)
    }

    /// Its status at `now`: an active token past `expires_on` is expired.
    pub fn status_at(&self, now: u64) -> TokenStatus {
        match (self.status, self.expires_on) {
            (TokenStatus::Active, Some(at)) if at <= now => TokenStatus::Expired,
            (status, _) => status,
        }
    }
}

/// The token never reaches a log.
impl fmt::Debug for TokenSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSpec")
            .field("token", &"(redacted)")
            .field("read_only", &self.read_only)
            .field("no_door", &self.no_door)
            .field("status", &self.status)
            .field("account_owned", &self.account_owned)
            .field("token_read", &self.token_read)
            .field("expires_on", &self.expires_on)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_specs_parse() {
        assert_eq!(TokenSpec::parse("abc", 0), Ok(TokenSpec::full("abc")));
        let t = TokenSpec::parse("abc:read,account", 0).unwrap();
        assert!(t.read_only && t.account_owned && !t.no_door);
        assert!(TokenSpec::parse("abc:no-door", 0).unwrap().no_door);
        assert!(!t.token_read);
        assert!(
            TokenSpec::parse("abc:read,token-read", 0)
                .unwrap()
                .token_read
        );
        assert_eq!(t.status, TokenStatus::Active);
        let t = TokenSpec::parse("abc:expired", 0).unwrap();
        assert_eq!(t.status_at(0), TokenStatus::Expired);
        let t = TokenSpec::parse("abc:disabled", 0).unwrap();
        assert_eq!(t.status_at(0), TokenStatus::Disabled);
        let t = TokenSpec::parse("abc:expires-in=5d", 100).unwrap();
        assert_eq!(t.expires_on, Some(100 + 5 * 86_400));
        assert_eq!(t.status_at(100), TokenStatus::Active);
        assert_eq!(t.status_at(100 + 5 * 86_400), TokenStatus::Expired);
        for bad in [":read", "abc:write", "abc:expires-in=soon", "abc:read,"] {
            let e = TokenSpec::parse(bad, 0).unwrap_err();
            assert!(!e.is_empty(), "{bad}");
        }
        assert!(!format!("{:?}", TokenSpec::full("s3cret")).contains("s3cret"));
    }
}
