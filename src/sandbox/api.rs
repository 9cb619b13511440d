//! What the sandbox answers: routing, authentication, parameter checks and the JSON envelopes,
//! written from shared/cloudflare/API.md and access-users.openapi.json (not from the client's
//! types). Pure functions over the request's method, path, query and headers (and the clock,
//! for token expiry); the HTTP glue lives in `mod.rs`.
//!
//! Checks run in this order, and the first that fails answers:
//! 1. path outside `/client/v4` → 400 7000 "No route for that URI" (no authentication asked);
//! 2. the two token verifications answer here, with their own rules (401 1000);
//!    (the token-details routes answer after step 3, with their own rules: 403 10000 without
//!    `token-read`, 404 7003 for an id that is not the caller's);
//! 3. authentication (9106, 9109, 9103; an expired or disabled token → 9109); the lists and
//!    groups routes then go to `door::respond`, which checks in the same order;
//! 4. route shape → 400 7000; account id shape → 404 7003 "Could not route to …";
//! 5. method → 405 10405;
//! 6. account visible to the credential → 403 10000;
//! 7. Zero Trust Access enabled (`Faults::access_disabled`) → 403 9999;
//! 8. a DELETE needs a credential that may delete → 403 10000;
//! 9. parameters (10400), then the operation (an unknown id → 404 12130, or 7003 with
//!    `Faults::not_found_code`).

use std::fmt::Write as _;

use axum::http::{header::AUTHORIZATION, HeaderMap, Method};
use serde_json::json;

use super::options::{TokenSpec, TokenStatus};
use super::seed::is_account_id;
use super::store::{ListQuery, Store, MAX_PER_PAGE};
use super::Options;
use super::ResultInfo;

/// Where the API lives, as in Cloudflare's base URL `https://api.cloudflare.com/client/v4`.
pub const API_PREFIX: &str = "/client/v4";

/// Cloudflare error codes the sandbox answers with, and where each comes from.
pub mod codes {
    /// Malformed or unknown object id, "Could not route to <path>, perhaps your object
    /// identifier is invalid?" (observed; the spec's failure example pairs 7003 with "No route
    /// for the URI", an older wording).
    pub(crate) const NO_ROUTE: u32 = 7003;
    /// A path that matches no route, "No route for that URI" (observed).
    pub(crate) const UNKNOWN_ROUTE: u32 = 7000;
    /// Zero Trust Access is not enabled on the account (observed; the status is the sandbox's
    /// choice).
    pub(crate) const NOT_ENABLED: u32 = 9999;
    /// Token verification of a token it does not know (observed).
    pub(crate) const INVALID_API_TOKEN: u32 = 1000;
    /// No credentials, or the legacy key without its email (observed).
    pub(crate) const MISSING_AUTH: u32 = 9106;
    /// The legacy email without its key (observed: "missing email / missing key: codes 9106 /
    /// 9107 (separate)", API.md addendum; the message is the sandbox's).
    pub(crate) const MISSING_KEY: u32 = 9107;
    /// Wrong legacy X-Auth-Email / X-Auth-Key pair (sandbox choice, from Cloudflare's wording).
    pub(crate) const UNKNOWN_LEGACY: u32 = 9103;
    /// Wrong or malformed bearer token (observed).
    pub(crate) const INVALID_TOKEN: u32 = 9109;
    /// Account the credential cannot see (observed for a token without permission).
    pub(crate) const AUTH_ERROR: u32 = 10000;
    /// Bad query or path parameter (sandbox choice: 10000 + HTTP status).
    pub(crate) const INVALID_PARAMETER: u32 = 10400;
    /// Wrong method on a known route (sandbox choice: 10000 + HTTP status).
    pub(crate) const METHOD_NOT_ALLOWED: u32 = 10405;
    /// Rate limited (observed, with "Please wait and consider throttling your request speed").
    pub(crate) const RATE_LIMITED: u32 = 971;
    /// An injected server error (sandbox choice: 10000 + HTTP status).
    pub(crate) const SERVER_ERROR: u32 = 10503;
    /// Unknown user on DELETE (observed for other Access resources).
    pub(crate) const NOT_FOUND: u32 = 12130;
}

/// The spec's `maxLength` for `user_id` (`access_uuid`).
pub const MAX_USER_ID_CHARS: usize = 36;

/// A response before it becomes HTTP: status, JSON body and, for 405, the allowed method.
#[derive(Debug, PartialEq)]
pub(crate) struct Reply {
    pub status: u16,
    pub body: String,
    pub allow: Option<&'static str>,
}

/// A failure: a 4xx status and one error in Cloudflare's failure envelope.
#[derive(Debug, PartialEq)]
pub(super) struct ApiError {
    pub status: u16,
    pub code: u32,
    pub message: String,
    pub allow: Option<&'static str>,
}

impl ApiError {
    pub(super) fn new(status: u16, code: u32, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            allow: None,
        }
    }
}

/// The failure envelope, `access_api-response-common-failure`: all four keys required, result
/// null. The one builder of it.
pub(super) fn failure(code: u32, message: &str) -> String {
    json!({
        "success": false,
        "errors": [{"code": code, "message": message}],
        "messages": [],
        "result": null,
    })
    .to_string()
}

impl From<ApiError> for Reply {
    fn from(e: ApiError) -> Reply {
        Reply {
            status: e.status,
            body: failure(e.code, &e.message),
            allow: e.allow,
        }
    }
}

pub(super) fn no_route() -> ApiError {
    ApiError::new(400, codes::UNKNOWN_ROUTE, "No route for that URI")
}

pub(super) fn could_not_route(path: &str) -> ApiError {
    ApiError::new(
        404,
        codes::NO_ROUTE,
        format!(
            "Could not route to {}, perhaps your object identifier is invalid?",
            truncate(path, 200)
        ),
    )
}

/// An unknown user id, on GET or DELETE.
fn not_found(cx: &Context<'_>, path: &str) -> ApiError {
    match cx.options.faults.not_found_code {
        Some(codes::NO_ROUTE) => could_not_route(path),
        Some(code) => ApiError::new(404, code, "access.api.error.not_found"),
        None => ApiError::new(404, codes::NOT_FOUND, "access.api.error.not_found"),
    }
}

/// Now, in seconds since the Unix epoch (token expiry).
pub(super) fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Everything `respond` reads: the seeded account, the options, the users, the lists and
/// groups, and the request's body (read by the lists and groups routes only).
pub(crate) struct Context<'a> {
    pub account_id: &'a str,
    pub options: &'a Options,
    pub store: &'a std::sync::RwLock<Store>,
    pub door: &'a std::sync::RwLock<super::door::Door>,
    pub body: &'a [u8],
}

/// Answer one request. `path` and `query` are as received (still percent-encoded).
pub(crate) fn respond(
    cx: &Context<'_>,
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Reply {
    match try_respond(cx, method, path, query, headers) {
        Ok(reply) => reply,
        Err(e) => e.into(),
    }
}

fn try_respond(
    cx: &Context<'_>,
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Result<Reply, ApiError> {
    let rest = path
        .strip_prefix(API_PREFIX)
        .filter(|rest| rest.is_empty() || rest.starts_with('/'))
        .ok_or_else(no_route)?;
    let route = Route::parse(rest);
    if let Some(Route::Verify { account }) = &route {
        return verify(cx, method, path, account.as_deref(), headers);
    }
    let grant = check_auth(cx.options, headers)?;
    if let Some(door) = super::door::Route::parse(rest) {
        return super::door::respond(cx, grant, method, path, door, query);
    }
    if let Some(Route::TokenDetails { account, id }) = &route {
        return token_details(cx, method, path, account.as_deref(), id, headers);
    }
    let route = route.ok_or_else(no_route)?;
    if !is_account_id(route.account()) {
        return Err(could_not_route(path));
    }
    let (allowed, allow): (&[Method], _) = match route {
        Route::Users { .. } => (&[Method::GET], "GET"),
        Route::User { .. } => (&[Method::GET, Method::DELETE], "GET, DELETE"),
        Route::Verify { .. } | Route::TokenDetails { .. } => (&[Method::GET], "GET"),
    };
    if !allowed.contains(method) {
        let mut e = ApiError::new(405, codes::METHOD_NOT_ALLOWED, "Method not allowed");
        e.allow = Some(allow);
        return Err(e);
    }
    if !route.account().eq_ignore_ascii_case(cx.account_id) {
        return Err(ApiError::new(
            403,
            codes::AUTH_ERROR,
            "Authentication error",
        ));
    }
    if cx.options.faults.access_disabled {
        return Err(ApiError::new(
            403,
            codes::NOT_ENABLED,
            "access.api.error.not_enabled",
        ));
    }
    match route {
        Route::Users { .. } => list(cx, query),
        Route::User { user, .. } if *method == Method::GET => get_user(cx, path, &user),
        Route::User { user, .. } => {
            if grant.read_only {
                // What the real API answers a valid credential without the permission for an
                // operation (observed); which permission gates this DELETE is not documented.
                return Err(ApiError::new(
                    403,
                    codes::AUTH_ERROR,
                    "Authentication error",
                ));
            }
            delete(cx, path, &user)
        }
        Route::Verify { .. } | Route::TokenDetails { .. } => Err(no_route()),
    }
}

/// `GET /accounts/{account_id}/tokens/{token_id}` and `GET /user/tokens/{token_id}`
/// (API-additions §2c/2d), after authentication. From the contract: the envelope, a `result`
/// with `id`, `name`, `status` and `policies[{id, effect, permission_groups[{id, name}],
/// resources}]`, and 403 10000 "Authentication error" for a token without (Account) API
/// Tokens Read. The sandbox's choices: a token reads only its own details (any other id, and
/// an account-owned token on the user route, answer 404 7003, as an id the route does not
/// know); `token-read` is that permission; the policies, one allow policy on the account, are
/// derived from the token's other attributes (full: Zero Trust Write and Access: Organizations,
/// Identity Providers, and Groups Write; `read`: the two Reads; `no-door`: neither), with the
/// permission groups' ids made up.
fn token_details(
    cx: &Context<'_>,
    method: &Method,
    path: &str,
    account: Option<&str>,
    id: &str,
    headers: &HeaderMap,
) -> Result<Reply, ApiError> {
    get_on_account_route(method, path, account)?;
    let auth_error = || ApiError::new(403, codes::AUTH_ERROR, "Authentication error");
    if account.is_some_and(|a| !a.eq_ignore_ascii_case(cx.account_id)) {
        return Err(auth_error());
    }
    // Authentication passed, so a bearer token the sandbox knows was sent (a legacy pair has
    // no token details to read).
    let Some(spec) = bearer(headers).and_then(|token| find_token(cx.options, token)) else {
        return Err(auth_error());
    };
    if !spec.token_read {
        return Err(auth_error());
    }
    if id != token_id(&spec.token) || (account.is_none() && spec.account_owned) {
        return Err(could_not_route(path));
    }
    let mut groups =
        vec![json!({"id": "b4992e1108244f5d8bfbd5744320c2e1", "name": "Access: Users Write"})];
    if !spec.no_door {
        if spec.read_only {
            groups = vec![
                json!({"id": "7b7216b327b04b8fbc8f524e1f9b7531", "name": "Zero Trust Read"}),
                json!({"id": "26bc23f853634eb4bff59983b9064fde", "name": "Access: Organizations, Identity Providers, and Groups Read"}),
            ];
        } else {
            groups.push(
                json!({"id": "b33f02c6f7284e05a6f20741c0bb0567", "name": "Zero Trust Write"}),
            );
            groups.push(json!({"id": "bfe0d8686a584fa680f4c53b5eb0de6d", "name": "Access: Organizations, Identity Providers, and Groups Write"}));
        }
    } else if spec.read_only {
        groups.clear();
    }
    groups.push(if account.is_some() {
        json!({"id": "8b47d2786a534c08a1f94ee8f9f599ef", "name": "Account API Tokens Read"})
    } else {
        json!({"id": "0cc3a61731504c89b99ec1be78b77aa0", "name": "API Tokens Read"})
    });
    let status = match spec.status_at(now_unix()) {
        TokenStatus::Active => "active",
        TokenStatus::Disabled => "disabled",
        TokenStatus::Expired => "expired",
    };
    let result = json!({
        "id": id,
        "name": "sandbox token",
        "status": status,
        "policies": [{
            "id": "f267e341f3dd4697bd3b9f71dd96247f",
            "effect": "allow",
            "permission_groups": groups,
            "resources": { format!("com.cloudflare.api.account.{}", cx.account_id): "*" },
        }],
    });
    Ok(Reply {
        status: 200,
        body: json!({"result": result, "success": true, "errors": [], "messages": []}).to_string(),
        allow: None,
    })
}

/// What the token routes (verify, details) check first: a malformed account id does not route,
/// and only GET is allowed.
fn get_on_account_route(
    method: &Method,
    path: &str,
    account: Option<&str>,
) -> Result<(), ApiError> {
    if account.is_some_and(|a| !is_account_id(a)) {
        return Err(could_not_route(path));
    }
    if *method != Method::GET {
        let mut e = ApiError::new(405, codes::METHOD_NOT_ALLOWED, "Method not allowed");
        e.allow = Some("GET");
        return Err(e);
    }
    Ok(())
}

/// `GET /user/tokens/verify` and `GET /accounts/{account_id}/tokens/verify` (API-additions
/// §2a): bearer tokens only; an unknown token, no token, or an account-owned token on the user
/// route answer 401 code 1000 (observed). An expired or disabled token is answered 200 with its
/// status (the sandbox's choice: the spec's enum suggests it, nothing documents it).
fn verify(
    cx: &Context<'_>,
    method: &Method,
    path: &str,
    account: Option<&str>,
    headers: &HeaderMap,
) -> Result<Reply, ApiError> {
    get_on_account_route(method, path, account)?;
    let invalid = || ApiError::new(401, codes::INVALID_API_TOKEN, "Invalid API Token");
    let spec = bearer(headers)
        .and_then(|token| find_token(cx.options, token))
        .ok_or_else(invalid)?;
    match account {
        None if spec.account_owned => return Err(invalid()),
        Some(a) if !a.eq_ignore_ascii_case(cx.account_id) => return Err(invalid()),
        _ => {}
    }
    let status = spec.status_at(now_unix());
    let mut result = serde_json::Map::new();
    result.insert("id".into(), token_id(&spec.token).into());
    result.insert(
        "status".into(),
        match status {
            TokenStatus::Active => "active",
            TokenStatus::Disabled => "disabled",
            TokenStatus::Expired => "expired",
        }
        .into(),
    );
    if let Some(at) = spec.expires_on {
        result.insert("expires_on".into(), super::seed::timestamp(at, None).into());
    }
    let messages = if status == TokenStatus::Active {
        json!([{"code": 10000, "message": "This API Token is valid and active", "type": null}])
    } else {
        json!([])
    };
    Ok(Reply {
        status: 200,
        body: json!({"result": result, "success": true, "errors": [], "messages": messages})
            .to_string(),
        allow: None,
    })
}

/// The verification's `id`: 32 hex characters derived from the token, never the token.
fn token_id(token: &str) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(format!("sandbox token id\0{token}").as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// The bearer token of `Authorization: Bearer T`, if that is what was sent.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The token as the sandbox knows it: one of `Options::tokens`, or `Options::token` (may do
/// everything).
fn find_token(options: &Options, token: &str) -> Option<TokenSpec> {
    match options.tokens.iter().find(|t| t.token == token) {
        Some(spec) => Some(spec.clone()),
        None => (token == options.token).then(|| TokenSpec::full(token)),
    }
}

fn get_user(cx: &Context<'_>, path: &str, user_id: &str) -> Result<Reply, ApiError> {
    check_user_id(user_id)?;
    let store = cx
        .store
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let user = store.get(user_id).ok_or_else(|| not_found(cx, path))?;
    Ok(Reply {
        status: 200,
        body: json!({"success": true, "errors": [], "messages": [], "result": user}).to_string(),
        allow: None,
    })
}

fn check_user_id(user_id: &str) -> Result<(), ApiError> {
    if user_id.chars().count() > MAX_USER_ID_CHARS {
        return Err(ApiError::new(
            400,
            codes::INVALID_PARAMETER,
            format!(
                "Invalid user_id {:?}: at most {MAX_USER_ID_CHARS} characters (a user's `id`, a UUID)",
                truncate(user_id, 64)
            ),
        ));
    }
    Ok(())
}

fn list(cx: &Context<'_>, query: Option<&str>) -> Result<Reply, ApiError> {
    let mut query = parse_list_query(query)?;
    if let Some(cap) = cx.options.faults.max_per_page {
        // Some APIs serve fewer than asked; `result_info.per_page` then says how many.
        query.per_page = query.per_page.min(cap.max(1));
    }
    let store = cx
        .store
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let page = store.page(&query);
    let users_len: usize = page.users.iter().map(|u| u.len() + 1).sum();
    let mut body = String::with_capacity(users_len + 200);
    body.push_str(r#"{"success":true,"errors":[],"messages":[],"result":["#);
    for (i, user) in page.users.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(user);
    }
    let faults = &cx.options.faults;
    if page.users.is_empty() && faults.null_empty_pages {
        body.truncate(body.len() - 1);
        body.push_str("null");
    } else {
        body.push(']');
    }
    let _ = write!(
        body,
        r#","result_info":{{"page":{},"per_page":{},"count":{},"#,
        query.page,
        query.per_page,
        page.users.len(),
    );
    let (total_count, totals) = match faults.result_info {
        ResultInfo::Full => (page.total_count, true),
        ResultInfo::NoTotals => (page.total_count, false),
        ResultInfo::Unfiltered => (store.len() as u64, true),
    };
    if !faults.no_total_count && totals {
        let _ = write!(body, r#""total_count":{},"#, total_count);
    }
    if totals || faults.total_pages.is_some() {
        let _ = write!(
            body,
            r#""total_pages":{},"#,
            faults
                .total_pages
                .unwrap_or_else(|| total_count.div_ceil(query.per_page)),
        );
    }
    body.pop();
    body.push_str("}}");
    Ok(Reply {
        status: 200,
        body,
        allow: None,
    })
}

/// The docs' example body for a successful delete.
const DELETED: &str = r#"{"success":true,"errors":[],"messages":[],"result":{}}"#;

fn delete(cx: &Context<'_>, path: &str, user_id: &str) -> Result<Reply, ApiError> {
    check_user_id(user_id)?;
    let mut store = cx
        .store
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if store.delete(user_id) {
        Ok(Reply {
            status: 202,
            body: DELETED.to_string(),
            allow: None,
        })
    } else {
        Err(not_found(cx, path))
    }
}

/// The routes, with their path parameters percent-decoded.
#[derive(Debug, PartialEq)]
enum Route {
    /// `/accounts/{account_id}/access/users`
    Users { account: String },
    /// `/accounts/{account_id}/access/users/{user_id}`
    User { account: String, user: String },
    /// `/user/tokens/verify` (no account) and `/accounts/{account_id}/tokens/verify`
    Verify { account: Option<String> },
    /// `/user/tokens/{token_id}` (no account) and `/accounts/{account_id}/tokens/{token_id}`
    TokenDetails { account: Option<String>, id: String },
}

impl Route {
    /// `rest` is the path after `/client/v4`. Empty segments (`//`, a trailing `/`) match nothing.
    fn parse(rest: &str) -> Option<Route> {
        let segments: Vec<&str> = rest.split('/').skip(1).collect();
        match segments.as_slice() {
            ["accounts", account, "access", "users"] => Some(Route::Users {
                account: decode_path(account),
            }),
            ["accounts", account, "access", "users", user] if !user.is_empty() => {
                Some(Route::User {
                    account: decode_path(account),
                    user: decode_path(user),
                })
            }
            ["user", "tokens", "verify"] => Some(Route::Verify { account: None }),
            ["accounts", account, "tokens", "verify"] => Some(Route::Verify {
                account: Some(decode_path(account)),
            }),
            ["user", "tokens", id] if !id.is_empty() => Some(Route::TokenDetails {
                account: None,
                id: decode_path(id),
            }),
            ["accounts", account, "tokens", id] if !id.is_empty() => Some(Route::TokenDetails {
                account: Some(decode_path(account)),
                id: decode_path(id),
            }),
            _ => None,
        }
    }

    fn account(&self) -> &str {
        match self {
            Route::Users { account } | Route::User { account, .. } => account,
            Route::Verify { account } | Route::TokenDetails { account, .. } => {
                account.as_deref().unwrap_or("")
            }
        }
    }
}

/// What a credential that passed authentication may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Grant {
    /// May list and read, not delete nor change lists and groups.
    pub read_only: bool,
    /// May not touch lists and groups.
    pub no_door: bool,
}

/// Check the credentials before anything else. A bearer token wins over the legacy pair when
/// both are sent. An expired or disabled token is refused as an invalid one (the sandbox's
/// choice: Cloudflare documents no code for it).
pub(crate) fn check_auth(options: &Options, headers: &HeaderMap) -> Result<Grant, ApiError> {
    if headers.contains_key(AUTHORIZATION) {
        let spec = bearer(headers).and_then(|token| find_token(options, token));
        return match spec {
            Some(spec) if spec.status_at(now_unix()) == TokenStatus::Active => Ok(Grant {
                read_only: spec.read_only,
                no_door: spec.no_door,
            }),
            _ => Err(ApiError::new(
                403,
                codes::INVALID_TOKEN,
                "Invalid access token",
            )),
        };
    }
    let email = headers.get("x-auth-email").map(|v| v.to_str());
    let key = headers.get("x-auth-key").map(|v| v.to_str());
    match (email, key, &options.legacy) {
        (Some(Ok(email)), Some(Ok(key)), Some((want_email, want_key)))
            if email.trim().eq_ignore_ascii_case(want_email) && key.trim() == want_key =>
        {
            Ok(Grant {
                read_only: options.faults.legacy_read_only,
                no_door: false,
            })
        }
        (Some(_), Some(_), _) => Err(ApiError::new(
            403,
            codes::UNKNOWN_LEGACY,
            "Unknown X-Auth-Key or X-Auth-Email",
        )),
        (Some(_), None, _) => Err(ApiError::new(
            400,
            codes::MISSING_KEY,
            "Missing X-Auth-Key header",
        )),
        _ => Err(ApiError::new(
            400,
            codes::MISSING_AUTH,
            "Missing X-Auth-Key, X-Auth-Email or Authorization headers",
        )),
    }
}

/// Parse and check the list query. Unknown parameters are ignored; known ones may appear once.
/// An empty filter (`email=`) filters nothing.
pub(crate) fn parse_list_query(raw: Option<&str>) -> Result<ListQuery, ApiError> {
    let mut query = ListQuery::default();
    let mut seen: Vec<&'static str> = Vec::new();
    for pair in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = decode_query(key);
        let value = decode_query(value);
        let name: &'static str = match key.as_str() {
            "page" => "page",
            "per_page" => "per_page",
            "email" => "email",
            "name" => "name",
            "search" => "search",
            _ => continue,
        };
        if seen.contains(&name) {
            return Err(invalid_parameter(format!(
                "Invalid query parameter {name}: given more than once"
            )));
        }
        seen.push(name);
        let filter = |v: String| (!v.is_empty()).then(|| v.to_lowercase());
        match name {
            "page" => query.page = parse_count(name, &value, u64::MAX)?,
            "per_page" => query.per_page = parse_count(name, &value, MAX_PER_PAGE)?,
            "email" => query.email = filter(value),
            "name" => query.name = filter(value),
            _ => query.search = filter(value),
        }
    }
    Ok(query)
}

pub(super) fn parse_count(name: &str, value: &str, max: u64) -> Result<u64, ApiError> {
    match value.parse::<u64>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => {
            let range = if max == u64::MAX {
                "an integer of at least 1".to_string()
            } else {
                format!("an integer from 1 to {max}")
            };
            Err(invalid_parameter(format!(
                "Invalid query parameter {name}={:?}: must be {range}",
                truncate(value, 64)
            )))
        }
    }
}

pub(super) fn invalid_parameter(message: String) -> ApiError {
    ApiError::new(400, codes::INVALID_PARAMETER, message)
}

/// A path segment, decoded: `%XX` escapes become bytes, bad escapes stay as written, and bytes
/// that are not UTF-8 become U+FFFD, so that decoding never fails.
pub(super) fn decode_path(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// A query key or value, decoded as a form: `+` is a space. It is replaced before decoding, so
/// that `%2B` stays a literal `+`.
pub(super) fn decode_query(s: &str) -> String {
    decode_path(&s.replace('+', " "))
}

/// At most `max` characters of `s`, so an error message cannot echo a huge input.
pub(super) fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::sandbox::seed::DEFAULT_ACCOUNT_ID;
    use crate::sandbox::Faults;
    use serde_json::Value;
    use std::sync::RwLock;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, v.parse().unwrap());
        }
        map
    }

    fn code<T>(result: Result<T, ApiError>) -> Option<(u16, u32)> {
        result.err().map(|e| (e.status, e.code))
    }

    #[test]
    fn auth_decisions() {
        let o = Options::default();
        let check = |pairs: &[(&'static str, &str)]| code(check_auth(&o, &headers(pairs)));
        assert_eq!(check(&[]), Some((400, 9106)));
        assert_eq!(check(&[("authorization", "Bearer sandbox-token")]), None);
        assert_eq!(check(&[("authorization", "bearer  sandbox-token ")]), None);
        assert_eq!(
            check(&[("authorization", "Bearer wrong")]),
            Some((403, 9109))
        );
        assert_eq!(
            check(&[("authorization", "sandbox-token")]),
            Some((403, 9109))
        );
        assert_eq!(
            check(&[("authorization", "Basic sandbox-token")]),
            Some((403, 9109))
        );
        assert_eq!(check(&[("authorization", "Bearer ")]), Some((403, 9109)));
        let legacy = [
            ("x-auth-email", "Sandbox@Example.com"),
            ("x-auth-key", "sandbox-global-key"),
        ];
        assert_eq!(check(&legacy), None);
        assert_eq!(
            check(&[
                ("x-auth-email", "sandbox@example.com"),
                ("x-auth-key", "nope")
            ]),
            Some((403, 9103))
        );
        // Missing email and missing key are told apart (9106 / 9107, API.md addendum).
        assert_eq!(
            check(&[("x-auth-email", "sandbox@example.com")]),
            Some((400, 9107))
        );
        assert_eq!(
            check(&[("x-auth-key", "sandbox-global-key")]),
            Some((400, 9106))
        );
        // The bearer token is the one looked at when both are sent.
        let both = [
            ("authorization", "Bearer wrong"),
            ("x-auth-email", "sandbox@example.com"),
            ("x-auth-key", "sandbox-global-key"),
        ];
        assert_eq!(check(&both), Some((403, 9109)));
        let no_legacy = Options {
            legacy: None,
            ..Options::default()
        };
        assert_eq!(
            code(check_auth(&no_legacy, &headers(&legacy))),
            Some((403, 9103))
        );
    }

    #[test]
    fn list_query_defaults_and_limits() {
        let q = parse_list_query(None).unwrap();
        assert_eq!((q.page, q.per_page), (1, 1000));
        let q = parse_list_query(Some(
            "page=3&per_page=50&email=A%40B.c&name=Jo+Do&x=1&search=",
        ))
        .unwrap();
        assert_eq!((q.page, q.per_page), (3, 50));
        assert_eq!(q.email.as_deref(), Some("a@b.c"));
        assert_eq!(q.name.as_deref(), Some("jo do"));
        assert_eq!(q.search, None);
        for bad in [
            "page=0",
            "page=-1",
            "page=abc",
            "page=",
            "page=1.5",
            "page=99999999999999999999999",
            "per_page=0",
            "per_page=1001",
            "per_page=5000",
            "page=1&page=2",
        ] {
            let e = parse_list_query(Some(bad)).unwrap_err();
            assert_eq!((e.status, e.code), (400, codes::INVALID_PARAMETER), "{bad}");
        }
        let e = parse_list_query(Some("per_page=5000")).unwrap_err();
        assert_eq!(
            e.message,
            "Invalid query parameter per_page=\"5000\": must be an integer from 1 to 1000"
        );
    }

    #[test]
    fn routes() {
        let a = DEFAULT_ACCOUNT_ID;
        assert_eq!(
            Route::parse(&format!("/accounts/{a}/access/users")),
            Some(Route::Users { account: a.into() })
        );
        assert_eq!(
            Route::parse(&format!("/accounts/{a}/access/users/x%2Fy")),
            Some(Route::User {
                account: a.into(),
                user: "x/y".into()
            })
        );
        for bad in [
            "",
            "/",
            "/accounts",
            "/accounts/x/access/users/",
            "/accounts/x/access/users/a/b",
        ] {
            assert_eq!(Route::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn responses_follow_the_envelopes() {
        let options = Options::default();
        let mut seed = crate::sandbox::Seed::empty(DEFAULT_ACCOUNT_ID);
        seed.generate(3);
        let store = RwLock::new(Store::new(seed.users));
        let door = RwLock::new(crate::sandbox::door::Door::default());
        let cx = Context {
            account_id: DEFAULT_ACCOUNT_ID,
            options: &options,
            store: &store,
            door: &door,
            body: &[],
        };
        let auth = headers(&[("authorization", "Bearer sandbox-token")]);
        let users = format!("/client/v4/accounts/{DEFAULT_ACCOUNT_ID}/access/users");
        let send = |method: Method, path: &str, query: Option<&str>| {
            let reply = respond(&cx, &method, path, query, &auth);
            let body: Value = serde_json::from_str(&reply.body).unwrap();
            (reply.status, body)
        };

        let (status, body) = send(Method::GET, &users, Some("per_page=2&page=2"));
        assert_eq!(status, 200);
        assert_eq!(body["result"].as_array().unwrap().len(), 1);
        assert_eq!(
            body["result_info"],
            json!({"page": 2, "per_page": 2, "count": 1, "total_count": 3, "total_pages": 2})
        );

        let id = body["result"][0]["id"].as_str().unwrap().to_string();
        let (status, body) = send(Method::DELETE, &format!("{users}/{id}"), None);
        assert_eq!(
            (status, body),
            (202, serde_json::from_str(DELETED).unwrap())
        );
        let (status, body) = send(Method::DELETE, &format!("{users}/{id}"), None);
        assert_eq!(status, 404);
        assert_eq!(
            body,
            json!({"success": false, "errors": [{"code": 12130, "message": "access.api.error.not_found"}], "messages": [], "result": null})
        );

        let long = "a".repeat(37);
        assert_eq!(
            send(Method::DELETE, &format!("{users}/{long}"), None).0,
            400
        );
        assert_eq!(send(Method::POST, &users, None).0, 405);
        for unrouted in [
            "/client/v4/accounts",
            "/elsewhere",
            "/client/v4x",
            "/accounts",
        ] {
            let (status, body) = send(Method::GET, unrouted, None);
            assert_eq!(
                (status, body["errors"][0].clone()),
                (
                    400,
                    json!({"code": 7000, "message": "No route for that URI"})
                ),
                "{unrouted}"
            );
        }
        let (status, body) = send(Method::GET, "/client/v4/accounts/nothex/access/users", None);
        assert_eq!(
            (status, body["errors"][0]["code"].as_u64()),
            (404, Some(7003))
        );
        assert_eq!(
            body["errors"][0]["message"],
            "Could not route to /client/v4/accounts/nothex/access/users, perhaps your object identifier is invalid?"
        );
        let other = "/client/v4/accounts/0123456789abcdef0123456789abcdef/access/users";
        assert_eq!(send(Method::GET, other, None).0, 403);
    }

    /// A context over 2 generated users with these options, and a sender with `auth` headers.
    fn with_options(options: Options) -> (Options, RwLock<Store>) {
        let mut seed = crate::sandbox::Seed::empty(DEFAULT_ACCOUNT_ID);
        seed.generate(2);
        (options, RwLock::new(Store::new(seed.users)))
    }

    #[test]
    fn token_details_answer_only_a_token_read_token_its_own_policies() {
        let options = Options {
            tokens: vec![
                TokenSpec::parse("full:token-read", 0).unwrap(),
                TokenSpec::parse("ro:read,token-read", 0).unwrap(),
                TokenSpec::parse("nd:no-door,token-read", 0).unwrap(),
                TokenSpec::parse("acct:account,token-read", 0).unwrap(),
                TokenSpec::parse("plain", 0).unwrap(),
            ],
            ..Options::default()
        };
        let (options, store) = with_options(options);
        let door = RwLock::new(crate::sandbox::door::Door::default());
        let cx = Context {
            account_id: DEFAULT_ACCOUNT_ID,
            options: &options,
            store: &store,
            door: &door,
            body: &[],
        };
        let send = |token: &str, method: Method, path: &str| {
            let auth = headers(&[("authorization", &format!("Bearer {token}"))]);
            let reply = respond(&cx, &method, path, None, &auth);
            let body: Value = serde_json::from_str(&reply.body).unwrap();
            (reply.status, body)
        };
        let account = |t: &str| {
            format!(
                "/client/v4/accounts/{DEFAULT_ACCOUNT_ID}/tokens/{}",
                token_id(t)
            )
        };
        let user = |t: &str| format!("/client/v4/user/tokens/{}", token_id(t));
        let names = |body: &Value| -> Vec<String> {
            body["result"]["policies"][0]["permission_groups"]
                .as_array()
                .unwrap()
                .iter()
                .map(|g| g["name"].as_str().unwrap().to_string())
                .collect()
        };
        // The id verify gives is the one details accept.
        let (_, verified) = send("full", Method::GET, "/client/v4/user/tokens/verify");
        assert_eq!(verified["result"]["id"], token_id("full"));
        let (status, body) = send("full", Method::GET, &account("full"));
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["success"], true);
        assert_eq!(body["result"]["id"], token_id("full"));
        assert_eq!(body["result"]["status"], "active");
        let policy = &body["result"]["policies"][0];
        assert_eq!(policy["effect"], "allow");
        assert_eq!(
            policy["resources"],
            json!({ format!("com.cloudflare.api.account.{DEFAULT_ACCOUNT_ID}"): "*" })
        );
        let full = names(&body);
        assert!(full.contains(&"Zero Trust Write".to_string()), "{full:?}");
        assert!(full
            .contains(&"Access: Organizations, Identity Providers, and Groups Write".to_string()));
        let (_, body) = send("ro", Method::GET, &user("ro"));
        let ro = names(&body);
        assert!(ro.contains(&"Zero Trust Read".to_string()), "{ro:?}");
        assert!(ro.iter().all(|n| !n.ends_with("Write")), "{ro:?}");
        let (_, body) = send("nd", Method::GET, &account("nd"));
        let nd = names(&body);
        assert!(
            nd.iter()
                .all(|n| !n.contains("Zero Trust") && !n.contains("Groups")),
            "{nd:?}"
        );
        // Without token-read: 403 10000; another token's id, or an account-owned token on the
        // user route: 404 7003; the account route knows it.
        let (status, body) = send("plain", Method::GET, &account("plain"));
        assert_eq!(
            (status, body["errors"][0].clone()),
            (
                403,
                json!({"code": 10000, "message": "Authentication error"})
            )
        );
        let (status, body) = send("full", Method::GET, &account("ro"));
        assert_eq!(
            (status, body["errors"][0]["code"].as_u64()),
            (404, Some(7003))
        );
        assert_eq!(send("acct", Method::GET, &user("acct")).0, 404);
        assert_eq!(send("acct", Method::GET, &account("acct")).0, 200);
        assert_eq!(send("full", Method::DELETE, &account("full")).0, 405);
        assert_eq!(send("nobody", Method::GET, &account("full")).0, 403);
    }

    #[test]
    fn scopes_verification_one_user_and_disabled_access() {
        let options = Options {
            tokens: vec![
                TokenSpec::parse("ro:read", 0).unwrap(),
                TokenSpec::parse("old:expired", 0).unwrap(),
                TokenSpec::parse("acct:account,expires-in=5d", now_unix()).unwrap(),
            ],
            ..Options::default()
        };
        let (options, store) = with_options(options);
        let door = RwLock::new(crate::sandbox::door::Door::default());
        let cx = Context {
            account_id: DEFAULT_ACCOUNT_ID,
            options: &options,
            store: &store,
            door: &door,
            body: &[],
        };
        let users = format!("/client/v4/accounts/{DEFAULT_ACCOUNT_ID}/access/users");
        let send = |token: &str, method: Method, path: &str| {
            let auth = headers(&[("authorization", &format!("Bearer {token}"))]);
            let reply = respond(&cx, &method, path, None, &auth);
            let body: Value = serde_json::from_str(&reply.body).unwrap();
            (reply.status, body)
        };
        let (_, list) = send("ro", Method::GET, &users);
        let user = list["result"][0].clone();
        let one = format!("{users}/{}", user["id"].as_str().unwrap());

        // One user: the list's object in the single-user envelope.
        let (status, body) = send("ro", Method::GET, &one);
        assert_eq!(status, 200);
        assert_eq!(
            body,
            json!({"success": true, "errors": [], "messages": [], "result": user})
        );
        // A read-only token may not delete; the user stays.
        let (status, body) = send("ro", Method::DELETE, &one);
        assert_eq!(
            (status, body["errors"][0].clone()),
            (
                403,
                json!({"code": 10000, "message": "Authentication error"})
            )
        );
        assert_eq!(send("sandbox-token", Method::GET, &one).0, 200);
        assert_eq!(send("sandbox-token", Method::DELETE, &one).0, 202);
        let (status, body) = send("sandbox-token", Method::GET, &one);
        assert_eq!(
            (status, body["errors"][0]["code"].as_u64()),
            (404, Some(12130))
        );
        let (_, allow) = send("sandbox-token", Method::PUT, &one);
        assert_eq!(allow["errors"][0]["code"], 10405);
        // An expired token is refused on the Access routes.
        assert_eq!(send("old", Method::GET, &users).0, 403);

        // Verification.
        let user_verify = "/client/v4/user/tokens/verify";
        let account_verify = format!("/client/v4/accounts/{DEFAULT_ACCOUNT_ID}/tokens/verify");
        let (status, body) = send("sandbox-token", Method::GET, user_verify);
        assert_eq!(status, 200);
        assert_eq!(body["result"]["status"], "active");
        assert_eq!(body["result"]["id"].as_str().unwrap().len(), 32);
        assert_eq!(body["messages"][0]["code"], 10000);
        let (status, body) = send("old", Method::GET, &account_verify);
        assert_eq!(
            (status, body["result"]["status"].clone()),
            (200, json!("expired"))
        );
        // An account-owned token is unknown to the user route, known to the account one.
        let (status, body) = send("acct", Method::GET, user_verify);
        assert_eq!(
            (status, body["errors"][0]["code"].as_u64()),
            (401, Some(1000))
        );
        let (status, body) = send("acct", Method::GET, &account_verify);
        assert_eq!(status, 200);
        assert!(body["result"]["expires_on"]
            .as_str()
            .unwrap()
            .ends_with('Z'));
        assert_eq!(send("nobody", Method::GET, user_verify).0, 401);
        let legacy = headers(&[
            ("x-auth-email", "sandbox@example.com"),
            ("x-auth-key", "sandbox-global-key"),
        ]);
        assert_eq!(
            respond(&cx, &Method::GET, user_verify, None, &legacy).status,
            401
        );

        // Access not enabled; and 7003 for unknown users.
        let faults = Faults {
            access_disabled: true,
            ..Faults::default()
        };
        let (options, store) = with_options(Options::default().with_faults(faults, None));
        let door = RwLock::new(crate::sandbox::door::Door::default());
        let cx = Context {
            account_id: DEFAULT_ACCOUNT_ID,
            options: &options,
            store: &store,
            door: &door,
            body: &[],
        };
        let auth = headers(&[("authorization", "Bearer sandbox-token")]);
        let reply = respond(&cx, &Method::GET, &users, None, &auth);
        assert_eq!(reply.status, 403);
        assert!(reply
            .body
            .contains(r#""code":9999,"message":"access.api.error.not_enabled""#));
        let faults = Faults {
            not_found_code: Some(7003),
            ..Faults::default()
        };
        let (options, store) = with_options(Options::default().with_faults(faults, None));
        let door = RwLock::new(crate::sandbox::door::Door::default());
        let cx = Context {
            account_id: DEFAULT_ACCOUNT_ID,
            options: &options,
            store: &store,
            door: &door,
            body: &[],
        };
        let gone = format!("{users}/f174e90a-fafe-4643-bbbc-4a0ed4fc8415");
        for method in [Method::GET, Method::DELETE] {
            let reply = respond(&cx, &method, &gone, None, &auth);
            assert_eq!(reply.status, 404);
            assert!(reply.body.contains("Could not route to"), "{}", reply.body);
        }
    }

    #[test]
    fn percent_decoding_never_fails() {
        assert_eq!(decode_path("a%2Fb%zz%4"), "a/b%zz%4");
        assert_eq!(decode_path("%ff+"), "\u{fffd}+");
        assert_eq!(decode_path("%"), "%");
        assert_eq!(decode_query("a+b%2Bc%20d"), "a b+c d");
        assert_eq!(decode_query("%e2%82%ac+%zz"), "\u{20ac} %zz");
        assert_eq!(truncate("abcdef", 3), "abc…");
    }
}
