//! HTTP-level conformance of the sandbox's lists and groups (the door) with
//! shared/cloudflare/API-additions.md §3, §4 and §8: raw JSON through a real socket, never the
//! client's types.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use reconcile::sandbox::{
    Faults, ItemsShape, Options, Sandbox, SandboxThread, Seed, TokenSpec, DEFAULT_ACCOUNT_ID,
    ENTERPRISE_LIST_CAPACITY,
};
use serde_json::{json, Value};

use crate::harness::{World, ACCOUNT, TOKEN};

/// A sandbox on a free loopback port and a blocking way to talk to it.
struct Api {
    client: reqwest::Client,
    runtime: tokio::runtime::Runtime,
    server: SandboxThread,
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Answer {
    /// A failure envelope with exactly one error: `(status, code)`.
    fn failure(&self) -> (u16, u64) {
        let keys: Vec<&String> = self.body.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 4, "{}", self.body);
        assert_eq!(self.body["success"], false);
        assert_eq!(self.body["result"], Value::Null);
        assert_eq!(self.body["errors"].as_array().unwrap().len(), 1);
        (
            self.status,
            self.body["errors"][0]["code"].as_u64().unwrap(),
        )
    }

    /// A success envelope: its status and result.
    fn success(&self) -> (u16, &Value) {
        assert_eq!(self.body["success"], true, "{}", self.body);
        assert_eq!(self.body["errors"], json!([]));
        assert_eq!(self.body["messages"], json!([]));
        (self.status, &self.body["result"])
    }

    fn message(&self) -> &str {
        self.body["errors"][0]["message"].as_str().unwrap()
    }
}

const LISTS: &str = "/accounts/023e105f4ecef8ad9ca31a8372d0c353/gateway/lists";
const GROUPS: &str = "/accounts/023e105f4ecef8ad9ca31a8372d0c353/access/groups";

impl Api {
    fn new(options: Options) -> Api {
        Api::seeded(Seed::empty(DEFAULT_ACCOUNT_ID), options)
    }

    fn seeded(seed: Seed, options: Options) -> Api {
        let server = Sandbox::new(seed, options)
            .spawn_thread("127.0.0.1:0".parse().unwrap())
            .unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        Api {
            client: reqwest::Client::new(),
            runtime,
            server,
        }
    }

    fn sandbox(&self) -> &Sandbox {
        self.server.sandbox()
    }

    fn send_as(&self, token: &str, method: &str, path: &str, body: Option<Value>) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.server.base_url()))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let (status, headers, body) = crate::harness::send_raw(&self.runtime, request);
        Answer {
            status,
            headers,
            body,
        }
    }

    fn send(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        self.send_as("sandbox-token", method, path, body)
    }

    /// POST a list of `n` EMAIL entries; its id.
    fn list_of(&self, name: &str, n: usize) -> String {
        let items: Vec<Value> = (0..n)
            .map(|i| json!({"value": format!("u{i}@x.example")}))
            .collect();
        let answer = self.send(
            "POST",
            LISTS,
            Some(json!({"name": name, "type": "EMAIL", "items": items})),
        );
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.body["result"]["id"].as_str().unwrap().to_string()
    }

    fn values(&self, id: &str) -> Vec<String> {
        let answer = self.send("GET", &format!("{LISTS}/{id}/items?per_page=1000"), None);
        answer.body["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["value"].as_str().unwrap().to_string())
            .collect()
    }
}

#[test]
fn lists_answer_each_operation_with_its_status_and_envelope() {
    let api = Api::new(Options::default());
    // POST: 200 (not 201), the list with its items, no count.
    let created = api.send(
        "POST",
        LISTS,
        Some(json!({"name": "allow", "type": "EMAIL", "description": "d",
                    "items": [{"value": "Ann@X.example", "description": "ann"}, {"value": "bob@x.example"}]})),
    );
    let (status, list) = created.success();
    assert_eq!(status, 200);
    let id = list["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 36);
    assert_eq!(list["type"], "EMAIL");
    assert_eq!(list["items"][0]["value"], "Ann@X.example");
    assert_eq!(list["items"][0]["description"], "ann");
    assert!(list["items"][1]["created_at"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    assert!(list.get("count").is_none());
    let other = api.list_of("ips", 0);
    api.send(
        "POST",
        LISTS,
        Some(json!({"name": "hosts", "type": "DOMAIN"})),
    );

    // GET lists: creation order, count not items, result_info without total_pages.
    let all = api.send("GET", LISTS, None);
    let (status, result) = all.success();
    assert_eq!(status, 200);
    let names: Vec<&str> = result
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["allow", "ips", "hosts"]);
    assert_eq!(result[0]["count"], 2);
    assert!(result[0].get("items").is_none());
    assert_eq!(
        all.body["result_info"],
        json!({"page": 1, "per_page": 3, "count": 3, "total_count": 3})
    );
    let emails = api.send("GET", &format!("{LISTS}?filter=type:EMAIL"), None);
    assert_eq!(emails.body["result"].as_array().unwrap().len(), 2);
    let both = api.send(
        "GET",
        &format!("{LISTS}?filter=type:EMAIL&filter=name:ALL&search=d"),
        None,
    );
    assert_eq!(both.body["result"][0]["id"], json!(id));
    assert_eq!(both.body["result"].as_array().unwrap().len(), 1);
    assert_eq!(
        api.send("GET", &format!("{LISTS}?filter=colour:red"), None)
            .failure(),
        (400, 10400)
    );

    // GET details: count, no items.
    let details = api.send("GET", &format!("{LISTS}/{id}"), None);
    let (status, result) = details.success();
    assert_eq!((status, result["count"].clone()), (200, json!(2)));
    assert!(result.get("items").is_none());

    // PUT: name required; items absent or [] keep the entries; a non-empty one replaces them.
    let path = format!("{LISTS}/{id}");
    assert_eq!(
        api.send("PUT", &path, Some(json!({"items": []}))).failure(),
        (400, 10400)
    );
    let put = api.send("PUT", &path, Some(json!({"name": "allow-1"})));
    assert_eq!(put.success().1["count"], 2);
    assert_eq!(put.success().1["description"], "d", "kept when absent");
    let put = api.send("PUT", &path, Some(json!({"name": "allow-1", "items": []})));
    assert_eq!(put.success().1["count"], 2, "items: [] keeps the entries");
    let put = api.send(
        "PUT",
        &path,
        Some(json!({"name": "allow-1", "items": [{"value": "carol@x.example"}]})),
    );
    assert_eq!(put.success(), (200, &put.body["result"]));
    assert_eq!(api.values(&id), ["carol@x.example"]);

    // PATCH: remove then append; removing a value not held is no error.
    let patch = api.send(
        "PATCH",
        &path,
        Some(json!({"append": [{"value": "dan@x.example"}], "remove": ["CAROL@x.example", "nobody@x.example"]})),
    );
    assert_eq!(patch.success().0, 200);
    assert_eq!(api.values(&id), ["dan@x.example"]);
    // The same value in both: refused, nothing changes.
    let both = api.send(
        "PATCH",
        &path,
        Some(json!({"append": [{"value": "eve@x.example"}], "remove": ["Eve@x.example"]})),
    );
    assert_eq!(both.failure(), (400, 10400));
    assert!(both.message().contains("both appended and removed"));
    // A duplicate (case-insensitive for EMAIL): 400, nothing changes.
    let dup = api.send(
        "PATCH",
        &path,
        Some(json!({"append": [{"value": "eve@x.example"}, {"value": "DAN@x.example"}]})),
    );
    assert_eq!(dup.failure(), (400, 10400));
    assert!(dup
        .message()
        .starts_with("Lists cannot have duplicate entries"));
    assert_eq!(api.values(&id), ["dan@x.example"]);
    let bad = api.send(
        "PATCH",
        &path,
        Some(json!({"append": [{"value": "not an address"}]})),
    );
    assert_eq!(bad.failure(), (400, 10400));

    // POST checks: name and type required, duplicates 400.
    for body in [
        json!({"type": "EMAIL"}),
        json!({"name": "x"}),
        json!({"name": "x", "type": "PHONE"}),
        json!({"name": "x", "type": "EMAIL", "items": [{"value": "a@x.example"}, {"value": "a@X.example"}]}),
    ] {
        assert_eq!(
            api.send("POST", LISTS, Some(body.clone())).failure(),
            (400, 10400),
            "{body}"
        );
    }

    // DELETE: 200 with an empty result; then 404.
    let deleted = api.send("DELETE", &format!("{LISTS}/{other}"), None);
    assert_eq!(deleted.success(), (200, &json!({})));
    assert_eq!(
        api.send("GET", &format!("{LISTS}/{other}"), None).failure(),
        (404, 7003)
    );
    let wrong = api.send("POST", &format!("{LISTS}/{id}/items"), None);
    assert_eq!(wrong.failure(), (405, 10405));
    assert_eq!(wrong.headers["allow"], "GET");
    assert_eq!(api.sandbox().lists().len(), 2);
    assert_eq!(
        api.sandbox().lists()[0]["items"][0]["value"],
        "dan@x.example"
    );
}

#[test]
fn list_items_page_by_50_by_default_and_at_most_1000() {
    let api = Api::new(Options::default());
    let id = api.list_of("big", 120);
    let items = format!("{LISTS}/{id}/items");
    let first = api.send("GET", &items, None);
    assert_eq!(first.body["result"].as_array().unwrap().len(), 50);
    assert_eq!(
        first.body["result_info"],
        json!({"page": 1, "per_page": 50, "count": 50, "total_count": 120, "total_pages": 3})
    );
    assert_eq!(first.body["result"][0]["value"], "u0@x.example");
    let third = api.send("GET", &format!("{items}?page=3"), None);
    assert_eq!(third.body["result"].as_array().unwrap().len(), 20);
    assert_eq!(third.body["result"][0]["value"], "u100@x.example");
    let past = api.send("GET", &format!("{items}?page=4"), None);
    assert_eq!(past.body["result"], json!([]));
    let all = api.send("GET", &format!("{items}?per_page=1000"), None);
    assert_eq!(all.body["result"].as_array().unwrap().len(), 120);
    assert_eq!(all.body["result_info"]["total_pages"], 1);
    for bad in ["per_page=1001", "per_page=0", "page=0", "page=x"] {
        assert_eq!(
            api.send("GET", &format!("{items}?{bad}"), None).failure(),
            (400, 10400),
            "{bad}"
        );
    }

    // The 2024 shape: one inner array.
    let nested = Api::new(Options::default().with_faults(
        Faults {
            list_items_shape: ItemsShape::Nested,
            ..Faults::default()
        },
        None,
    ));
    let id = nested.list_of("big", 60);
    let answer = nested.send("GET", &format!("{LISTS}/{id}/items"), None);
    let result = answer.body["result"].as_array().unwrap();
    assert_eq!(result.len(), 1);
    assert_eq!(result[0].as_array().unwrap().len(), 50);
    assert_eq!(result[0][0]["value"], "u0@x.example");
}

#[test]
fn capacity_and_the_100_list_limit_are_enforced() {
    let api = Api::new(Options::default());
    let over: Vec<Value> = (0..1001)
        .map(|i| json!({"value": format!("u{i}@x.example")}))
        .collect();
    let refused = api.send(
        "POST",
        LISTS,
        Some(json!({"name": "x", "type": "EMAIL", "items": over})),
    );
    assert_eq!(refused.failure(), (400, 10400));
    assert!(refused.message().contains("at most 1000 entries"));
    let full = api.list_of("full", 1000);
    let one_more = api.send(
        "PATCH",
        &format!("{LISTS}/{full}"),
        Some(json!({"append": [{"value": "more@x.example"}]})),
    );
    assert_eq!(one_more.failure(), (400, 10400));
    // Swapping one for another fits.
    let swap = api.send(
        "PATCH",
        &format!("{LISTS}/{full}"),
        Some(json!({"append": [{"value": "more@x.example"}], "remove": ["u0@x.example"]})),
    );
    assert_eq!(swap.status, 200);
    for i in 1..100 {
        api.list_of(&format!("l{i}"), 0);
    }
    let hundred_and_first = api.send("POST", LISTS, Some(json!({"name": "x", "type": "EMAIL"})));
    assert_eq!(hundred_and_first.failure(), (400, 10400));
    assert!(hundred_and_first.message().contains("at most 100 lists"));

    let enterprise = Api::new(Options {
        list_capacity: ENTERPRISE_LIST_CAPACITY,
        ..Options::default()
    });
    enterprise.list_of("big", 5000);
    let over: Vec<Value> = (0..5001)
        .map(|i| json!({"value": format!("u{i}@x.example")}))
        .collect();
    assert_eq!(
        enterprise
            .send(
                "POST",
                LISTS,
                Some(json!({"name": "x", "type": "EMAIL", "items": over}))
            )
            .failure(),
        (400, 10400)
    );
}

#[test]
fn groups_answer_each_operation_and_keep_rules_as_given() {
    let api = Api::new(Options::default());
    let rules = json!([
        {"email_list": {"id": "aa0a4aab-672b-4bdb-bc33-a59f1130a11f"}},
        {"email_domain": {"domain": "example.com"}},
        {"a_rule_kind_from_2030": {"anything": [1, 2]}}
    ]);
    let created = api.send(
        "POST",
        GROUPS,
        Some(json!({"name": "Allowlisted people", "include": rules,
                    "exclude": [{"email": {"email": "eve@example.com"}}]})),
    );
    let (status, group) = created.success();
    assert_eq!(status, 201);
    let id = group["id"].as_str().unwrap().to_string();
    assert_eq!(group["include"], rules, "unknown kinds round-trip");
    assert_eq!(group["require"], json!([]));
    assert_eq!(group["is_default"], false);
    assert!(group["created_at"].as_str().unwrap().ends_with('Z'));
    api.send(
        "POST",
        GROUPS,
        Some(json!({"name": "Other", "include": [{"everyone": {}}]})),
    );

    let one = api.send("GET", &format!("{GROUPS}/{id}"), None);
    assert_eq!(one.success(), (200, group));
    let by_name = api.send("GET", &format!("{GROUPS}?name=allowlisted+PEOPLE"), None);
    assert_eq!(by_name.body["result"].as_array().unwrap().len(), 1);
    assert_eq!(by_name.body["result"][0]["id"], json!(id));
    let paged = api.send("GET", &format!("{GROUPS}?per_page=1&page=2"), None);
    assert_eq!(paged.body["result"][0]["name"], "Other");
    assert_eq!(
        paged.body["result_info"],
        json!({"page": 2, "per_page": 1, "count": 1, "total_count": 2, "total_pages": 2})
    );
    assert_eq!(
        api.send("GET", &format!("{GROUPS}?per_page=1001"), None)
            .failure(),
        (400, 10400)
    );

    // PUT replaces the whole group: the exclude left out is gone.
    let put = api.send(
        "PUT",
        &format!("{GROUPS}/{id}"),
        Some(json!({"name": "Allowlisted people", "include": [{"email": {"email": "a@example.com"}}]})),
    );
    let (status, result) = put.success();
    assert_eq!(status, 200);
    assert_eq!(result["exclude"], json!([]));
    assert_eq!(result["created_at"], one.body["result"]["created_at"]);
    for body in [
        json!({"name": "x"}),
        json!({"include": []}),
        json!({"name": "x", "include": [{"email": "a@x"}]}),
        json!({"name": "x", "include": [{"email": {"email": "a@x"}, "everyone": {}}]}),
        json!({"name": "x".repeat(351), "include": []}),
    ] {
        assert_eq!(
            api.send("PUT", &format!("{GROUPS}/{id}"), Some(body.clone()))
                .failure(),
            (400, 10400),
            "{body}"
        );
    }

    let deleted = api.send("DELETE", &format!("{GROUPS}/{id}"), None);
    assert_eq!(deleted.success(), (202, &json!({"id": id})));
    assert_eq!(
        api.send("GET", &format!("{GROUPS}/{id}"), None).failure(),
        (404, 12130)
    );
    assert_eq!(api.sandbox().groups().len(), 1);
}

#[test]
fn group_limits_are_enforced() {
    let api = Api::new(Options::default());
    let rules: Vec<Value> = (0..1001)
        .map(|i| json!({"email": {"email": format!("u{i}@x.example")}}))
        .collect();
    let refused = api.send(
        "POST",
        GROUPS,
        Some(json!({"name": "big", "include": rules})),
    );
    assert_eq!(refused.failure(), (400, 10400));
    let split = api.send(
        "POST",
        GROUPS,
        Some(json!({"name": "split", "include": rules[..600], "exclude": rules[600..]})),
    );
    assert_eq!(split.failure(), (400, 10400), "the three arrays together");
    for i in 0..300 {
        let answer = api.send(
            "POST",
            GROUPS,
            Some(json!({"name": format!("g{i}"), "include": []})),
        );
        assert_eq!(answer.status, 201);
    }
    let over = api.send("POST", GROUPS, Some(json!({"name": "x", "include": []})));
    assert_eq!(over.failure(), (400, 10400));
    assert!(over.message().contains("at most 300"));
}

#[test]
fn tokens_scope_the_door_and_bearer_alone_is_enough() {
    let api = Api::new(Options {
        tokens: vec![
            TokenSpec::full("sandbox-token"),
            TokenSpec::parse("viewer:read", 0).unwrap(),
            TokenSpec::parse("users-only:no-door", 0).unwrap(),
        ],
        ..Options::default()
    });
    let id = api.list_of("allow", 1);
    let group = api.send("POST", GROUPS, Some(json!({"name": "g", "include": []})));
    let gid = group.body["result"]["id"].as_str().unwrap().to_string();

    // Read-only: every GET, no write; nothing changes.
    for path in [
        LISTS.to_string(),
        format!("{LISTS}/{id}"),
        format!("{LISTS}/{id}/items"),
        GROUPS.to_string(),
        format!("{GROUPS}/{gid}"),
    ] {
        assert_eq!(
            api.send_as("viewer", "GET", &path, None).status,
            200,
            "{path}"
        );
        assert_eq!(
            api.send_as("users-only", "GET", &path, None).failure(),
            (403, 10000),
            "{path}"
        );
    }
    let writes = [
        (
            "POST",
            LISTS.to_string(),
            json!({"name": "x", "type": "EMAIL"}),
        ),
        ("PUT", format!("{LISTS}/{id}"), json!({"name": "x"})),
        (
            "PATCH",
            format!("{LISTS}/{id}"),
            json!({"remove": ["u0@x.example"]}),
        ),
        ("DELETE", format!("{LISTS}/{id}"), json!({})),
        (
            "POST",
            GROUPS.to_string(),
            json!({"name": "x", "include": []}),
        ),
        (
            "PUT",
            format!("{GROUPS}/{gid}"),
            json!({"name": "x", "include": []}),
        ),
        ("DELETE", format!("{GROUPS}/{gid}"), json!({})),
    ];
    for (method, path, body) in writes {
        let answer = api.send_as("viewer", method, &path, Some(body.clone()));
        assert_eq!(answer.failure(), (403, 10000), "{method} {path}");
        assert_eq!(answer.message(), "Authentication error");
    }
    assert_eq!(api.values(&id), ["u0@x.example"]);
    assert_eq!(api.sandbox().groups()[0]["name"], "g");
    // A no-door token still reads users.
    let users = format!("/accounts/{DEFAULT_ACCOUNT_ID}/access/users");
    assert_eq!(api.send_as("users-only", "GET", &users, None).status, 200);
    // No credentials at all: the users API's answer.
    let anonymous = api.runtime.block_on(async {
        api.client
            .get(format!("{}{LISTS}", api.server.base_url()))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    });
    assert_eq!(anonymous, 400);
}

#[test]
fn the_lists_api_blocks_for_120_seconds_past_600_a_minute() {
    let api = Api::new(Options::default());
    let id = api.list_of("allow", 1);
    let items = format!("{LISTS}/{id}/items");
    for _ in 1..600 {
        assert_eq!(api.send("GET", &items, None).status, 200);
    }
    let refused = api.send("GET", &items, None);
    assert_eq!(refused.failure(), (429, 971));
    assert_eq!(refused.headers["retry-after"], "120");
    // Groups are not lists: their own limit is the global one.
    assert_eq!(api.send("GET", GROUPS, None).status, 200);
    // Every lists request is refused during the block, writes included, and nothing changes.
    api.sandbox().advance_clock(Duration::from_secs(119));
    let patch = api.send(
        "PATCH",
        &format!("{LISTS}/{id}"),
        Some(json!({"remove": ["u0@x.example"]})),
    );
    assert_eq!(patch.failure(), (429, 971));
    assert_eq!(patch.headers["retry-after"], "1");
    assert_eq!(
        api.sandbox().lists()[0]["items"].as_array().unwrap().len(),
        1
    );
    api.sandbox().advance_clock(Duration::from_secs(1));
    assert_eq!(api.send("GET", &items, None).status, 200);
}

#[test]
fn door_writes_are_recorded_and_can_be_made_to_fail() {
    let faults = Faults {
        fail_door_writes_after: Some(2),
        ..Faults::default()
    };
    let w = World::with_options(
        Seed::empty(ACCOUNT),
        Options::default().with_faults(faults, None),
    );
    let send = |method: reqwest::Method, path: String, body: Value| {
        status_of(method, format!("{}{path}", w.sandbox.base_url()), body)
    };
    let lists = format!("/accounts/{ACCOUNT}/gateway/lists");
    assert_eq!(
        send(
            reqwest::Method::POST,
            lists.clone(),
            json!({"name": "a", "type": "EMAIL"})
        ),
        200
    );
    let id = w.sandbox.sandbox().lists()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let patch = json!({"append": [{"value": "ann@x.example"}]});
    assert_eq!(
        send(
            reqwest::Method::PATCH,
            format!("{lists}/{id}"),
            patch.clone()
        ),
        200
    );
    let later = json!({"append": [{"value": "bob@x.example"}]});
    assert_eq!(
        send(
            reqwest::Method::PATCH,
            format!("{lists}/{id}"),
            later.clone()
        ),
        503
    );
    assert_eq!(w.door_writes_done("PATCH"), 1);
    let writes = w.door_writes();
    assert_eq!(writes.len(), 3);
    assert!(writes.iter().all(|w| w.is_list()));
    assert_eq!(
        (writes[1].method.as_str(), &writes[1].body),
        ("PATCH", &patch)
    );
    assert_eq!((writes[2].status, &writes[2].body), (503, &later));
    // The failed write changed nothing.
    let items = &w.sandbox.sandbox().lists()[0]["items"];
    assert_eq!(items.as_array().unwrap().len(), 1);
    // A group's DELETE is a door write, not a user's deletion (no relogin, no revoke count).
    let groups = format!("/accounts/{ACCOUNT}/access/groups");
    let status = send(
        reqwest::Method::POST,
        groups.clone(),
        json!({"name": "g", "include": []}),
    );
    assert_eq!(status, 503, "past the limit of door writes");
    assert_eq!(
        send(
            reqwest::Method::DELETE,
            format!("{groups}/f174e90a-fafe-4643-bbbc-4a0ed4fc8415"),
            Value::Null
        ),
        503
    );
    assert_eq!((w.deletes(), w.user_deletes()), (1, 0));
    // GETs are not writes, and still answer.
    assert_eq!(
        send(reqwest::Method::GET, format!("{lists}/{id}"), json!({})),
        200
    );
    assert_eq!(w.door_writes().len(), 5);
}

/// Send one request with the harness token and a JSON body (none for `null`); its status.
fn status_of(method: reqwest::Method, url: String, body: Value) -> u16 {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let mut request = reqwest::Client::new()
            .request(method, url)
            .bearer_auth(TOKEN);
        if !body.is_null() {
            request = request.json(&body);
        }
        request.send().await.unwrap().status().as_u16()
    })
}

/// A seed with carol, and a door that admits her or not.
fn carol_and_door(admitted: bool) -> Seed {
    let list_value = if admitted {
        "Carol@Example.com"
    } else {
        "someone-else@example.com"
    };
    let text = format!(
        r#"
account_id: {ACCOUNT}
users:
  - id: 0d1c2b3a-0000-4000-8000-00000000c401
    email: carol@example.com
    name: Carol
lists:
  - id: aa0a4aab-672b-4bdb-bc33-a59f1130a11f
    name: reconcile-allowlist-1
    type: EMAIL
    items: ["{list_value}", {{value: ann@example.com, description: from users.yaml}}]
groups:
  - name: Allowlisted people
    include:
      - email_list: {{id: aa0a4aab-672b-4bdb-bc33-a59f1130a11f}}
      - email_domain: {{domain: corp.example}}
"#
    );
    Seed::from_str(&text, "door.yaml").unwrap()
}

/// Delete carol through the API (no client); whether she came back.
fn delete_carol(seed: Seed, door_enforced: bool) -> bool {
    let faults = Faults {
        relogin: vec!["carol@example.com".into()],
        door_enforced,
        ..Faults::default()
    };
    let w = World::with_options(seed, Options::default().with_faults(faults, None));
    let status = status_of(
        reqwest::Method::DELETE,
        format!(
            "{}/accounts/{ACCOUNT}/access/users/0d1c2b3a-0000-4000-8000-00000000c401",
            w.sandbox.base_url()
        ),
        Value::Null,
    );
    assert_eq!(status, 202);
    let users = w.sandbox.sandbox().users();
    assert!(users
        .iter()
        .all(|u| u["id"] != "0d1c2b3a-0000-4000-8000-00000000c401"));
    users.iter().any(|u| u["email"] == "carol@example.com")
}

#[test]
fn with_the_door_enforced_a_deleted_user_returns_only_if_a_group_admits_her() {
    assert!(
        delete_carol(carol_and_door(true), true),
        "the list admits her"
    );
    assert!(
        !delete_carol(carol_and_door(false), true),
        "nothing admits her"
    );
    assert!(
        delete_carol(carol_and_door(false), false),
        "without the flag, relogin is unchanged"
    );
}

#[test]
fn seeds_may_declare_a_door_and_old_seeds_stay_valid() {
    let seed = carol_and_door(true);
    assert_eq!(seed.lists.len(), 1);
    let api = Api::seeded(seed, Options::default());
    let lists = api.sandbox().lists();
    assert_eq!(lists[0]["id"], "aa0a4aab-672b-4bdb-bc33-a59f1130a11f");
    assert_eq!(lists[0]["items"][1]["description"], "from users.yaml");
    assert!(api.sandbox().door_admits("x@CORP.example"));
    assert!(api.sandbox().door_admits("carol@example.com"));
    assert!(!api.sandbox().door_admits("mallory@example.com"));
    let group = &api.sandbox().groups()[0];
    assert_eq!(group["name"], "Allowlisted people");
    assert_eq!(group["id"].as_str().unwrap().len(), 36);

    let demo = Seed::from_str(crate::harness::DEMO_SEED, "seed.yaml").unwrap();
    assert!(demo.lists.is_empty() && demo.groups.is_empty());
    let bad = format!(
        "account_id: {ACCOUNT}\nusers: []\nlists:\n  - name: x\n    type: EMAIL\n    items: [a@x.example, A@x.example]\n"
    );
    let e = Seed::from_str(&bad, "bad.yaml").unwrap_err().to_string();
    assert!(
        e.starts_with("bad.yaml: invalid sandbox seed: lists[0]: Lists cannot have duplicate"),
        "{e}"
    );
    let typo = format!("account_id: {ACCOUNT}\nusers: []\ngroups:\n  - name: x\n    includ: []\n");
    let e = Seed::from_str(&typo, "typo.yaml").unwrap_err().to_string();
    assert!(e.contains("typo.yaml:"), "{e}");
}

#[test]
fn a_group_or_list_delete_is_not_a_user_deletion() {
    let options = Options {
        hold_deletes_after: Some(0),
        ..Options::default().with_faults(
            Faults {
                revoke_after_deletes: Some(1),
                ..Faults::default()
            },
            None,
        )
    };
    let api = Api::new(options);
    let list = api.list_of("allow", 1);
    let group = api.send("POST", GROUPS, Some(json!({"name": "g", "include": []})));
    let gid = group.body["result"]["id"].as_str().unwrap().to_string();
    // Neither held (a user's DELETE would be) nor counted toward the revocation.
    assert_eq!(
        api.send("DELETE", &format!("{GROUPS}/{gid}"), None).status,
        202
    );
    assert_eq!(
        api.send("DELETE", &format!("{LISTS}/{list}"), None).status,
        200
    );
    assert_eq!(api.sandbox().held(), 0);
    let users = format!("/accounts/{DEFAULT_ACCOUNT_ID}/access/users");
    assert_eq!(api.send("GET", &users, None).status, 200);
    assert!(api.sandbox().lists().is_empty() && api.sandbox().groups().is_empty());
}
