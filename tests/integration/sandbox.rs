//! HTTP-level conformance of the sandbox with shared/cloudflare/API.md: raw JSON through a real
//! socket, never the client's types.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;

use reconcile::sandbox::{Options, Sandbox, SandboxThread, Seed, DEFAULT_ACCOUNT_ID};
use serde_json::{json, Value};

const DEMO_SEED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/demo/seed.yaml");
const TOKEN: &str = "sandbox-token";
const OTHER_ACCOUNT: &str = "0123456789abcdef0123456789abcdef";

/// A sandbox on a free loopback port, a client and a runtime to drive it.
/// Fields drop in order: the client's connections close before the server shuts down.
struct Api {
    client: reqwest::Client,
    runtime: tokio::runtime::Runtime,
    server: SandboxThread,
}

/// A response reduced to what the tests look at.
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Answer {
    fn error_code(&self) -> u64 {
        self.body["errors"][0]["code"].as_u64().unwrap()
    }

    fn error_message(&self) -> &str {
        self.body["errors"][0]["message"].as_str().unwrap()
    }

    fn ids(&self) -> Vec<String> {
        self.body["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_str().unwrap().to_string())
            .collect()
    }

    fn info(&self, key: &str) -> u64 {
        self.body["result_info"][key].as_u64().unwrap()
    }

    /// A failure envelope with exactly one error: `(status, code)`.
    fn failure(&self) -> (u16, u64) {
        assert_failure_envelope(&self.body);
        (self.status, self.error_code())
    }
}

impl Api {
    fn new(seed: Seed) -> Api {
        Api::with_options(seed, Options::default())
    }

    fn demo() -> Api {
        Api::new(Seed::from_file(std::path::Path::new(DEMO_SEED)).unwrap())
    }

    fn with_options(seed: Seed, options: Options) -> Api {
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let server = Sandbox::new(seed, options).spawn_thread(addr).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        Api {
            server,
            client: reqwest::Client::new(),
            runtime,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.base_url())
    }

    fn users_path(account: &str) -> String {
        format!("/accounts/{account}/access/users")
    }

    /// Send `method` to `path` (below `/client/v4`) with `headers`.
    fn send(&self, method: reqwest::Method, path: &str, headers: &[(&str, &str)]) -> Answer {
        let mut request = self.client.request(method, self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let (status, headers, body) = crate::harness::send_raw(&self.runtime, request);
        Answer {
            status,
            headers,
            body,
        }
    }

    fn get(&self, path: &str) -> Answer {
        self.send(
            reqwest::Method::GET,
            path,
            &[("authorization", &format!("Bearer {TOKEN}"))],
        )
    }

    fn list(&self, query: &str) -> Answer {
        self.get(&format!("{}{query}", Api::users_path(DEFAULT_ACCOUNT_ID)))
    }

    fn delete(&self, id: &str) -> Answer {
        self.send(
            reqwest::Method::DELETE,
            &format!("{}/{id}", Api::users_path(DEFAULT_ACCOUNT_ID)),
            &[("authorization", &format!("Bearer {TOKEN}"))],
        )
    }
}

fn generated(n: usize) -> Seed {
    let mut seed = Seed::empty(DEFAULT_ACCOUNT_ID);
    seed.generate(n);
    seed
}

fn assert_failure_envelope(body: &Value) {
    let object = body.as_object().unwrap();
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["errors", "messages", "result", "success"], "{body}");
    assert_eq!(body["success"], false);
    assert_eq!(body["result"], Value::Null);
    assert_eq!(body["messages"], json!([]));
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{body}");
    assert!(errors[0]["code"].as_u64().unwrap() >= 1000, "{body}");
    assert!(errors[0]["message"].is_string(), "{body}");
}

#[test]
fn list_answers_the_documented_success_envelope() {
    let api = Api::demo();
    let answer = api.list("");
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.headers["content-type"].to_str().unwrap(),
        "application/json"
    );
    let body = &answer.body;
    let mut keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["errors", "messages", "result", "result_info", "success"]
    );
    assert_eq!(body["success"], true);
    assert_eq!(body["errors"], json!([]));
    assert_eq!(body["messages"], json!([]));
    // Defaults: page 1, per_page 1000, every field an integer.
    assert_eq!(
        body["result_info"],
        json!({"page": 1, "per_page": 1000, "count": 7, "total_count": 7, "total_pages": 1})
    );
    let users = body["result"].as_array().unwrap();
    assert_eq!(users.len(), 7);
    // Users are served as seeded: types from the spec, absent fields absent (never null).
    let alice = &users[0];
    assert_eq!(alice["id"], "f174e90a-fafe-4643-bbbc-4a0ed4fc8415");
    assert_eq!(alice["email"], "alice@example.com");
    assert_eq!(alice["access_seat"], true);
    assert_eq!(alice["active_device_count"], 2);
    assert_eq!(alice["created_at"], "2024-01-08T09:12:44.12345Z");
    assert_eq!(alice["last_successful_login"], "2026-11-27T17:45:00Z");
    let service = &users[6];
    assert!(service.get("email").is_none(), "{service}");
    assert!(users
        .iter()
        .all(|u| u.as_object().unwrap().values().all(|v| !v.is_null())));
}

#[test]
fn pages_walk_the_list_in_seed_order() {
    let api = Api::new(generated(25));
    let all: Vec<String> = api.list("").ids();
    assert_eq!(all.len(), 25);

    let mut walked = Vec::new();
    for page in 1..=3 {
        let answer = api.list(&format!("?page={page}&per_page=10"));
        assert_eq!(answer.status, 200);
        assert_eq!(answer.info("page"), page);
        assert_eq!(answer.info("per_page"), 10);
        assert_eq!(answer.info("count"), if page < 3 { 10 } else { 5 });
        assert_eq!(answer.info("total_count"), 25);
        assert_eq!(answer.info("total_pages"), 3);
        walked.extend(answer.ids());
    }
    assert_eq!(walked, all);

    // Past the end: 200, an empty result, count 0, totals unchanged.
    let past = api.list("?page=4&per_page=10");
    assert_eq!(past.status, 200);
    assert_eq!(past.body["result"], json!([]));
    assert_eq!(past.info("count"), 0);
    assert_eq!(past.info("total_count"), 25);
    assert_eq!(past.info("total_pages"), 3);
    let far = api.list("?page=18446744073709551615&per_page=1000");
    assert_eq!((far.status, far.info("count")), (200, 0));

    // An exact multiple has no partial last page.
    assert_eq!(api.list("?per_page=5").info("total_pages"), 5);
    assert_eq!(api.list("?per_page=1&page=25").ids(), [all[24].clone()]);
}

#[test]
fn an_empty_account_lists_nothing() {
    let api = Api::new(Seed::empty(DEFAULT_ACCOUNT_ID));
    let answer = api.list("");
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["result"], json!([]));
    assert_eq!(
        answer.body["result_info"],
        json!({"page": 1, "per_page": 1000, "count": 0, "total_count": 0, "total_pages": 0})
    );
}

#[test]
fn filters_narrow_the_list_and_its_totals() {
    let api = Api::demo();
    let emails = |answer: &Answer| -> Vec<String> {
        answer.body["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["email"].as_str().unwrap_or("").to_string())
            .collect()
    };
    // email: case-insensitive, exact.
    let answer = api.list("?email=bob.martin%40example.com");
    assert_eq!(emails(&answer), ["Bob.Martin@Example.com"]);
    assert_eq!(answer.info("total_count"), 1);
    assert_eq!(api.list("?email=bob").info("total_count"), 0);
    // name: case-insensitive substring.
    let answer = api.list("?name=CONTRACTOR");
    assert_eq!(emails(&answer), ["dave.contractor@partner.example"]);
    // search: substring of email or name.
    let answer = api.list("?search=partner.example");
    assert_eq!(answer.info("total_count"), 1);
    let answer = api.list("?search=service+token");
    assert_eq!(answer.ids(), ["6a7b8c9d-0e1f-4a2b-8c3d-4e5f60718293"]);
    let answer = api.list("?search=example.com&per_page=2&page=2");
    assert_eq!(answer.info("count"), 2);
    assert_eq!(answer.info("total_count"), 5);
    assert_eq!(answer.info("total_pages"), 3);
    // Filters combine; an empty filter filters nothing.
    assert_eq!(
        api.list("?search=example.com&name=erin")
            .info("total_count"),
        1
    );
    assert_eq!(api.list("?email=").info("total_count"), 7);
}

#[test]
fn delete_answers_202_then_404_and_the_user_is_gone() {
    let api = Api::demo();
    let id = "2a7c3f0e-5b1d-4d6e-9f8a-1c2b3d4e5f60";
    let first = api.delete(id);
    assert_eq!(first.status, 202);
    assert_eq!(
        first.body,
        json!({"success": true, "errors": [], "messages": [], "result": {}})
    );
    assert!(first.headers.contains_key("ratelimit"));

    let again = api.delete(id);
    assert_eq!(again.failure(), (404, 12130));
    assert_eq!(again.error_message(), "access.api.error.not_found");

    let listed = api.list("");
    assert_eq!(listed.info("total_count"), 6);
    assert!(!listed.ids().contains(&id.to_string()));
    assert_eq!(listed.ids()[1], "5d6e7f80-91a2-4b3c-8d4e-5f60718293a4");
    assert_eq!(api.server.sandbox().users().len(), 6);

    let unknown = api.delete("00000000-0000-4000-8000-000000000000");
    assert_eq!(unknown.failure(), (404, 12130));
    let too_long = api.delete(&"a".repeat(37));
    assert_eq!(too_long.failure(), (400, 10400));
    assert_eq!(api.list("").info("total_count"), 6);
}

#[test]
fn weird_ids_are_listed_as_given() {
    let weird = format!("../../other/{}", "x".repeat(40));
    let seed = Seed::from_str(
        &format!(
            "account_id: {DEFAULT_ACCOUNT_ID}\nusers:\n  - id: \"{weird}\"\n  - email: no-id@example.com\n"
        ),
        "inline",
    )
    .unwrap();
    let api = Api::new(seed);
    let answer = api.list("");
    assert_eq!(answer.body["result"][0]["id"], weird.as_str());
    assert!(answer.body["result"][1].get("id").is_none());
}

#[test]
fn authentication_comes_first_and_answers_cloudflares_codes() {
    let api = Api::demo();
    let users = Api::users_path(DEFAULT_ACCOUNT_ID);
    let get = |headers: &[(&str, &str)]| api.send(reqwest::Method::GET, &users, headers);

    let none = get(&[]);
    assert_eq!(none.failure(), (400, 9106));
    assert_eq!(
        none.error_message(),
        "Missing X-Auth-Key, X-Auth-Email or Authorization headers"
    );
    let wrong = get(&[("authorization", "Bearer not-the-token")]);
    assert_eq!(wrong.failure(), (403, 9109));
    assert_eq!(wrong.error_message(), "Invalid access token");
    assert_eq!(get(&[("authorization", TOKEN)]).failure(), (403, 9109));

    let legacy = get(&[
        ("x-auth-email", "sandbox@example.com"),
        ("x-auth-key", "sandbox-global-key"),
    ]);
    assert_eq!(legacy.status, 200);
    let bad_legacy = get(&[
        ("x-auth-email", "sandbox@example.com"),
        ("x-auth-key", "wrong"),
    ]);
    assert_eq!(bad_legacy.failure(), (403, 9103));
    assert_eq!(
        get(&[("x-auth-key", "sandbox-global-key")]).failure(),
        (400, 9106)
    );
    assert_eq!(
        get(&[("x-auth-email", "sandbox@example.com")]).failure(),
        (400, 9107)
    );

    // Before routing and before the method: an unknown route without credentials is a 9106.
    let unrouted = api.send(reqwest::Method::GET, "/nowhere", &[]);
    assert_eq!(unrouted.failure(), (400, 9106));
    let delete = api.send(
        reqwest::Method::DELETE,
        &format!("{users}/f174e90a-fafe-4643-bbbc-4a0ed4fc8415"),
        &[("authorization", "Bearer nope")],
    );
    assert_eq!(delete.failure(), (403, 9109));
    assert_eq!(api.server.sandbox().users().len(), 7);
}

#[test]
fn options_choose_the_credentials() {
    let options = Options {
        token: "custom".into(),
        legacy: None,
        ..Options::default()
    };
    let api = Api::with_options(Seed::empty(DEFAULT_ACCOUNT_ID), options);
    let users = Api::users_path(DEFAULT_ACCOUNT_ID);
    let get = |headers: &[(&str, &str)]| api.send(reqwest::Method::GET, &users, headers);
    assert_eq!(get(&[("authorization", "Bearer custom")]).status, 200);
    assert_eq!(
        get(&[("authorization", "Bearer sandbox-token")]).failure(),
        (403, 9109)
    );
    let legacy = get(&[
        ("x-auth-email", "sandbox@example.com"),
        ("x-auth-key", "sandbox-global-key"),
    ]);
    assert_eq!(legacy.failure(), (403, 9103));
}

#[test]
fn accounts_routes_and_methods() {
    let api = Api::demo();

    let other = api.get(&Api::users_path(OTHER_ACCOUNT));
    assert_eq!(other.failure(), (403, 10000));
    assert_eq!(other.error_message(), "Authentication error");

    // An object id that cannot be one: 404 7003 "Could not route to …", and a path that is no
    // route: 400 7000, as the addendum of observed answers gives them (the spec's own failure
    // example, 7003 "No route for the URI", is an older pairing).
    let malformed = api.get(&Api::users_path("not-an-account"));
    assert_eq!(malformed.failure(), (404, 7003));
    assert_eq!(
        malformed.error_message(),
        "Could not route to /client/v4/accounts/not-an-account/access/users, perhaps your object identifier is invalid?"
    );
    let too_long = api.get(&Api::users_path(&format!("{DEFAULT_ACCOUNT_ID}0")));
    assert_eq!(too_long.failure(), (404, 7003));

    for path in [
        "/accounts",
        "/user/tokens",
        "/accounts/023e105f4ecef8ad9ca31a8372d0c353/access/users/",
        "/accounts/023e105f4ecef8ad9ca31a8372d0c353/access/users/a/b",
    ] {
        let answer = api.get(path);
        assert_eq!(answer.failure(), (400, 7000), "{path}");
        assert_eq!(answer.error_message(), "No route for that URI");
    }

    let auth = [("authorization", "Bearer sandbox-token")];
    let post = api.send(
        reqwest::Method::POST,
        &Api::users_path(DEFAULT_ACCOUNT_ID),
        &auth,
    );
    assert_eq!(post.failure(), (405, 10405));
    assert_eq!(post.error_message(), "Method not allowed");
    assert_eq!(post.headers["allow"], "GET");
    let get_one = api.get(&format!(
        "{}/f174e90a-fafe-4643-bbbc-4a0ed4fc8415",
        Api::users_path(DEFAULT_ACCOUNT_ID)
    ));
    // One user (API-additions §1): the list's object in the single-result envelope.
    assert_eq!(get_one.status, 200);
    assert_eq!(
        get_one.body["result"]["id"],
        "f174e90a-fafe-4643-bbbc-4a0ed4fc8415"
    );
    let listed = api.list("");
    let same = listed.body["result"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == "f174e90a-fafe-4643-bbbc-4a0ed4fc8415")
        .cloned()
        .unwrap();
    assert_eq!(get_one.body["result"], same);
    let put = api.send(
        reqwest::Method::PUT,
        &format!(
            "{}/f174e90a-fafe-4643-bbbc-4a0ed4fc8415",
            Api::users_path(DEFAULT_ACCOUNT_ID)
        ),
        &auth,
    );
    assert_eq!(put.failure(), (405, 10405));
    assert_eq!(put.headers["allow"], "GET, DELETE");
}

#[test]
fn bad_query_parameters_are_400s() {
    let api = Api::demo();
    for query in [
        "?page=0",
        "?page=-1",
        "?page=abc",
        "?page=1.5",
        "?per_page=0",
        "?per_page=1001",
        "?per_page=5000",
        "?per_page=99999999999999999999999999",
        "?page=1&page=2",
    ] {
        let answer = api.list(query);
        assert_eq!(answer.failure(), (400, 10400), "{query}");
        assert!(answer
            .error_message()
            .starts_with("Invalid query parameter"));
    }
    let answer = api.list("?per_page=5000");
    assert!(
        answer.error_message().contains("1 to 1000"),
        "{}",
        answer.error_message()
    );
    assert_eq!(api.list("?per_page=1000&unknown=1").status, 200);
}

#[test]
fn every_answer_is_json_with_rate_limit_headers() {
    let api = Api::demo();
    let answers = [
        api.list(""),
        api.list("?per_page=0"),
        api.send(reqwest::Method::GET, "/nowhere", &[]),
        api.get(&Api::users_path(OTHER_ACCOUNT)),
    ];
    for answer in &answers {
        assert_eq!(
            answer.headers["content-type"].to_str().unwrap(),
            "application/json"
        );
        assert_eq!(
            answer.headers["ratelimit-policy"].to_str().unwrap(),
            "\"default\";q=1200;w=300"
        );
        let limit = answer.headers["ratelimit"].to_str().unwrap();
        assert!(limit.starts_with("\"default\";r="), "{limit}");
    }
    // The three requests with the token counted down one window; the anonymous one has its own.
    let remaining = |answer: &Answer| -> u32 {
        let value = answer.headers["ratelimit"].to_str().unwrap();
        let r = value.split(';').find_map(|p| p.strip_prefix("r=")).unwrap();
        r.parse().unwrap()
    };
    assert_eq!(remaining(&answers[0]), 1199);
    assert_eq!(remaining(&answers[1]), 1198);
    assert_eq!(remaining(&answers[2]), 1199);
    assert_eq!(remaining(&answers[3]), 1197);
    let reset: u64 = answers[0].headers["ratelimit"]
        .to_str()
        .unwrap()
        .rsplit("t=")
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=300).contains(&reset));
}

#[test]
fn requests_are_recorded_in_order() {
    let api = Api::demo();
    api.list("?per_page=2");
    api.delete("nope");
    let records = api.server.sandbox().requests();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].method, "GET");
    assert_eq!(
        records[0].path,
        format!("/client/v4{}", Api::users_path(DEFAULT_ACCOUNT_ID))
    );
    assert_eq!(records[0].query.as_deref(), Some("per_page=2"));
    assert_eq!(records[0].status, 200);
    assert_eq!(
        (records[1].method.as_str(), records[1].status),
        ("DELETE", 404)
    );
    assert_eq!(api.server.sandbox().account_id(), DEFAULT_ACCOUNT_ID);
}

#[test]
fn a_hundred_thousand_users_page_quickly_and_completely() {
    let api = Api::new(generated(100_000));
    let first = api.list("");
    assert_eq!(first.info("total_pages"), 100);
    assert_eq!(
        first.body["result"][41]["email"],
        "user000042@generated.example"
    );
    // Delete one, then walk every page: 99,999 distinct users, then an empty page.
    let gone = first.ids()[500].clone();
    assert_eq!(api.delete(&gone).status, 202);
    let mut seen = std::collections::HashSet::new();
    let mut page = 1;
    loop {
        let answer = api.list(&format!("?page={page}"));
        let ids = answer.ids();
        if ids.is_empty() {
            break;
        }
        seen.extend(ids);
        page += 1;
    }
    assert_eq!(page, 101);
    assert_eq!(seen.len(), 99_999);
    assert!(!seen.contains(&gone));
}
