//! The door: Access groups (`/accounts/{id}/access/groups`, API-additions §3) and Zero Trust
//! lists (`/accounts/{id}/gateway/lists`, §4), the two things that decide who may log in again.
//!
//! Written from API-additions.md and access-more.openapi.json, never from the client's types.
//! Rules are kept as opaque JSON, so kinds the sandbox does not know round-trip. docs/sandbox.md
//! ("Lists and groups") labels every answer documented, observed or the sandbox's choice.
//!
//! - this file: the state, the routes, the checks common to both, and `admits` (who a group
//!   lets in, for `Faults::door_enforced`);
//! - `lists`: the lists operations and their items;
//! - `groups`: the groups operations;
//! - `seed`: the `lists:` and `groups:` of a seed file.

#[cfg(test)]
mod api_tests;
mod groups;
pub(super) mod http;
mod lists;
pub(super) mod seed;

pub use http::DoorWrite;

use axum::http::Method;
use serde_json::{json, Map, Value};

use super::api::{self, codes, ApiError, Context, Grant, Reply};

/// The lists and groups of the account, in creation order.
#[derive(Debug, Default)]
pub(crate) struct Door {
    pub(super) lists: Vec<List>,
    pub(super) groups: Vec<Group>,
    /// Ids handed out so far (ids are derived from it and `salt`).
    minted: u64,
    salt: u64,
}

/// A Zero Trust list.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct List {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// `type`: one of [`lists::TYPES`].
    pub kind: String,
    pub items: Vec<Item>,
    pub created_at: String,
    pub updated_at: String,
}

/// One entry of a list.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Item {
    pub value: String,
    pub description: Option<String>,
    pub created_at: String,
}

/// An Access group; its rules as received.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Group {
    pub id: String,
    pub name: String,
    pub include: Vec<Value>,
    pub exclude: Vec<Value>,
    pub require: Vec<Value>,
    pub is_default: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// The lists and groups routes, path parameters decoded.
#[derive(Debug, PartialEq)]
pub(crate) enum Route {
    Lists { account: String },
    List { account: String, list: String },
    Items { account: String, list: String },
    Groups { account: String },
    Group { account: String, group: String },
}

impl Route {
    /// `rest` is the path after `/client/v4`.
    pub(crate) fn parse(rest: &str) -> Option<Route> {
        let segments: Vec<&str> = rest.split('/').skip(1).collect();
        let d = api::decode_path;
        match segments.as_slice() {
            ["accounts", a, "gateway", "lists"] => Some(Route::Lists { account: d(a) }),
            ["accounts", a, "gateway", "lists", l] if !l.is_empty() => Some(Route::List {
                account: d(a),
                list: d(l),
            }),
            ["accounts", a, "gateway", "lists", l, "items"] if !l.is_empty() => {
                Some(Route::Items {
                    account: d(a),
                    list: d(l),
                })
            }
            ["accounts", a, "access", "groups"] => Some(Route::Groups { account: d(a) }),
            ["accounts", a, "access", "groups", g] if !g.is_empty() => Some(Route::Group {
                account: d(a),
                group: d(g),
            }),
            _ => None,
        }
    }

    fn account(&self) -> &str {
        match self {
            Route::Lists { account }
            | Route::List { account, .. }
            | Route::Items { account, .. }
            | Route::Groups { account }
            | Route::Group { account, .. } => account,
        }
    }

    /// The methods the route answers, as an `Allow` header says them.
    fn allow(&self) -> (&'static [Method], &'static str) {
        match self {
            Route::Lists { .. } | Route::Groups { .. } => {
                (&[Method::GET, Method::POST], "GET, POST")
            }
            Route::List { .. } => (
                &[Method::GET, Method::PUT, Method::PATCH, Method::DELETE],
                "GET, PUT, PATCH, DELETE",
            ),
            Route::Items { .. } => (&[Method::GET], "GET"),
            Route::Group { .. } => (
                &[Method::GET, Method::PUT, Method::DELETE],
                "GET, PUT, DELETE",
            ),
        }
    }

    /// A lists route (counted by the lists API's own rate limit).
    pub(crate) fn is_lists(&self) -> bool {
        matches!(
            self,
            Route::Lists { .. } | Route::List { .. } | Route::Items { .. }
        )
    }
}

/// Is this request (method and path as received) a write to a list or a group?
pub(crate) fn is_write(method: &Method, path: &str) -> bool {
    *method != Method::GET && route_of(path).is_some()
}

/// The door route of a full path (`/client/v4/…`), if it is one.
pub(crate) fn route_of(path: &str) -> Option<Route> {
    path.strip_prefix(api::API_PREFIX).and_then(Route::parse)
}

/// Answer a request on a lists or groups route; authentication passed already. Checks in the
/// order the users routes use: account shape (404 7003), method (405), account visible (403
/// 10000), Access enabled (groups only, 403 9999), the token's scope (403 10000), then the
/// operation.
pub(crate) fn respond(
    cx: &Context<'_>,
    grant: Grant,
    method: &Method,
    path: &str,
    route: Route,
    query: Option<&str>,
) -> Result<Reply, ApiError> {
    if !super::is_account_id(route.account()) {
        return Err(api::could_not_route(path));
    }
    let (allowed, allow) = route.allow();
    if !allowed.contains(method) {
        let mut e = ApiError::new(405, codes::METHOD_NOT_ALLOWED, "Method not allowed");
        e.allow = Some(allow);
        return Err(e);
    }
    let denied = || ApiError::new(403, codes::AUTH_ERROR, "Authentication error");
    if !route.account().eq_ignore_ascii_case(cx.account_id) {
        return Err(denied());
    }
    if cx.options.faults.access_disabled && !route.is_lists() {
        return Err(ApiError::new(
            403,
            codes::NOT_ENABLED,
            "access.api.error.not_enabled",
        ));
    }
    if grant.no_door || (grant.read_only && *method != Method::GET) {
        return Err(denied());
    }
    let now = stamp();
    let mut door = cx
        .door
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let body = || body(cx.body);
    let cap = cx.options.list_capacity;
    let shape = cx.options.faults.list_items_shape;
    match (route, method.as_str()) {
        (Route::Lists { .. }, "GET") => lists::list(&door, query),
        (Route::Lists { .. }, _) => lists::create(&mut door, &body()?, None, Some(cap), &now),
        (Route::List { list, .. }, "GET") => lists::details(&door, path, &list),
        (Route::List { list, .. }, "PUT") => lists::update(&mut door, path, &list, &body()?, cap),
        (Route::List { list, .. }, "PATCH") => lists::patch(&mut door, path, &list, &body()?, cap),
        (Route::List { list, .. }, _) => lists::delete(&mut door, path, &list),
        (Route::Items { list, .. }, _) => lists::items(&door, path, &list, query, shape),
        (Route::Groups { .. }, "GET") => groups::list(&door, query),
        (Route::Groups { .. }, _) => groups::create(&mut door, &body()?, None, true, &now),
        (Route::Group { group, .. }, "GET") => groups::get(&door, &group),
        (Route::Group { group, .. }, "PUT") => groups::update(&mut door, &group, &body()?),
        (Route::Group { group, .. }, _) => groups::delete(&mut door, &group),
    }
}

/// The request body as a JSON object; anything else is a 400 (the sandbox's choice of code).
fn body(raw: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(raw) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(invalid("The request body must be a JSON object")),
        Err(e) => Err(invalid(format!("The request body is not JSON: {e}"))),
    }
}

/// A 400 with the sandbox's code for a bad request (10400, as the users routes' parameters).
pub(super) fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(400, codes::INVALID_PARAMETER, message)
}

/// A success envelope around `result`.
pub(super) fn ok(status: u16, result: Value) -> Reply {
    Reply {
        status,
        body: json!({"success": true, "errors": [], "messages": [], "result": result}).to_string(),
        allow: None,
    }
}

/// Now in the spec's timestamp format, with five fractional digits.
pub(super) fn stamp() -> String {
    let now = jiff::Timestamp::now();
    let seconds = u64::try_from(now.as_second()).unwrap_or(0);
    let fraction = now.subsec_nanosecond().unsigned_abs() / 10_000;
    super::seed::timestamp(seconds, Some(fraction))
}

impl Door {
    /// An empty door whose ids are drawn from `salt`.
    pub(crate) fn new(salt: u64) -> Door {
        Door {
            salt,
            ..Door::default()
        }
    }

    /// A new lowercase UUID (version 4 shape), different every call.
    pub(super) fn mint(&mut self) -> String {
        self.minted += 1;
        let hi = super::seed::mix(self.salt ^ self.minted.wrapping_mul(0x9E37_79B9));
        let lo = super::seed::mix(hi ^ 0xD00D);
        format!(
            "{:08x}-{:04x}-4{:03x}-{:x}{:03x}-{:012x}",
            hi >> 32,
            (hi >> 16) & 0xffff,
            hi & 0xfff,
            8 + (lo >> 62),
            (lo >> 48) & 0xfff,
            lo & 0xffff_ffff_ffff
        )
    }

    /// The lists as `GET …/gateway/lists/{id}` serves them, each with its `items`.
    pub(crate) fn lists_json(&self) -> Vec<Value> {
        self.lists
            .iter()
            .map(|l| {
                let mut v = lists::object(l, lists::Items::Count);
                v["items"] = lists::items_json(&l.items);
                v
            })
            .collect()
    }

    /// The groups as `GET …/access/groups/{id}` serves them.
    pub(crate) fn groups_json(&self) -> Vec<Value> {
        self.groups.iter().map(groups::object).collect()
    }

    /// Does some group admit `email`? One of its `include` rules matches, none of its
    /// `exclude` rules does, and every `require` rule does. A rule matches when it is `email`
    /// with that address, `email_domain` with its domain, `email_list` of an EMAIL list that
    /// holds it (all compared case-insensitively), or `everyone`; a rule of any other kind
    /// matches nobody (the sandbox knows no identity provider, device or network).
    pub(crate) fn admits(&self, email: &str) -> bool {
        let email = email.trim();
        self.groups.iter().any(|g| {
            g.include.iter().any(|r| self.matches(r, email))
                && !g.exclude.iter().any(|r| self.matches(r, email))
                && g.require.iter().all(|r| self.matches(r, email))
        })
    }

    fn matches(&self, rule: &Value, email: &str) -> bool {
        let text = |pointer: &str| rule.pointer(pointer).and_then(Value::as_str);
        if let Some(want) = text("/email/email") {
            return want.trim().eq_ignore_ascii_case(email);
        }
        if let Some(domain) = text("/email_domain/domain") {
            let domain = domain.trim().trim_start_matches('@');
            return email
                .rsplit_once('@')
                .is_some_and(|(_, d)| d.eq_ignore_ascii_case(domain));
        }
        if let Some(id) = text("/email_list/id") {
            return self
                .lists
                .iter()
                .filter(|l| l.id == id && l.kind == "EMAIL")
                .any(|l| l.items.iter().any(|i| i.value.eq_ignore_ascii_case(email)));
        }
        rule.get("everyone").is_some()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn routes_parse() {
        let a = "023e105f4ecef8ad9ca31a8372d0c353";
        assert_eq!(
            Route::parse(&format!("/accounts/{a}/gateway/lists/x/items")),
            Some(Route::Items {
                account: a.into(),
                list: "x".into()
            })
        );
        assert_eq!(
            Route::parse(&format!("/accounts/{a}/access/groups/g%2F1")),
            Some(Route::Group {
                account: a.into(),
                group: "g/1".into()
            })
        );
        for bad in [
            "/accounts/a/gateway/lists/",
            "/accounts/a/gateway/lists//items",
            "/accounts/a/access/groups/g/x",
            "/accounts/a/access/users",
        ] {
            assert_eq!(Route::parse(bad), None, "{bad}");
        }
        assert!(is_write(
            &Method::PATCH,
            &format!("/client/v4/accounts/{a}/gateway/lists/x")
        ));
        assert!(!is_write(
            &Method::GET,
            &format!("/client/v4/accounts/{a}/gateway/lists/x")
        ));
    }

    #[test]
    fn minted_ids_look_like_uuids_and_differ() {
        let mut door = Door::new(7);
        let a = door.mint();
        let b = door.mint();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!("89ab".contains(&a[19..20]), "{a}");
    }

    #[test]
    fn admission_follows_include_exclude_and_require() {
        let mut door = Door::new(1);
        door.lists.push(List {
            id: "L".into(),
            name: "n".into(),
            description: None,
            kind: "EMAIL".into(),
            items: vec![Item {
                value: "Ann@X.example".into(),
                description: None,
                created_at: stamp(),
            }],
            created_at: stamp(),
            updated_at: stamp(),
        });
        assert!(!door.admits("ann@x.example"), "no group, nobody");
        door.groups.push(Group {
            id: "G".into(),
            name: "g".into(),
            include: vec![
                json!({"email_list": {"id": "L"}}),
                json!({"email_domain": {"domain": "corp.example"}}),
                json!({"email": {"email": "bob@y.example"}}),
                json!({"okta": {"name": "x", "identity_provider_id": "y"}}),
            ],
            exclude: vec![json!({"email": {"email": "eve@corp.example"}})],
            require: vec![],
            is_default: false,
            created_at: stamp(),
            updated_at: stamp(),
        });
        assert!(door.admits("ann@x.example"));
        assert!(door.admits("BOB@y.example"));
        assert!(door.admits("zed@Corp.Example"));
        assert!(!door.admits("eve@corp.example"), "excluded");
        assert!(!door.admits("carol@x.example"));
        door.groups[0].require = vec![json!({"email_domain": {"domain": "x.example"}})];
        assert!(door.admits("ann@x.example"));
        assert!(!door.admits("bob@y.example"), "require fails");
        door.lists[0].kind = "DOMAIN".into();
        assert!(
            !door.admits("ann@x.example"),
            "only EMAIL lists hold people"
        );
    }
}
