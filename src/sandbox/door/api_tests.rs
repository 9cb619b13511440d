//! The door's answers through `api::respond`, with no server: statuses, envelopes, PATCH and
//! paging semantics, scopes.
#![allow(clippy::unwrap_used)]

use std::sync::RwLock;

use axum::http::{HeaderMap, Method};
use serde_json::{json, Value};

use super::super::api::{respond, Context};
use super::super::options::{Options, TokenSpec};
use super::super::seed::DEFAULT_ACCOUNT_ID;
use super::super::store::Store;
use super::Door;

struct Fixture {
    options: Options,
    store: RwLock<Store>,
    door: RwLock<Door>,
}

impl Fixture {
    fn new(options: Options) -> Fixture {
        Fixture {
            options,
            store: RwLock::new(Store::new(Vec::new())),
            door: RwLock::new(Door::new(3)),
        }
    }

    /// `method path` with `body` as token `token`: status and JSON.
    fn send(&self, token: &str, method: Method, path: &str, body: Value) -> (u16, Value) {
        let body = if body.is_null() {
            Vec::new()
        } else {
            body.to_string().into_bytes()
        };
        let cx = Context {
            account_id: DEFAULT_ACCOUNT_ID,
            options: &self.options,
            store: &self.store,
            door: &self.door,
            body: &body,
        };
        let mut headers = HeaderMap::new();
        headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
        let (path, query) = match path.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path, None),
        };
        let full = format!("/client/v4/accounts/{DEFAULT_ACCOUNT_ID}{path}");
        let reply = respond(&cx, &method, &full, query, &headers);
        (reply.status, serde_json::from_str(&reply.body).unwrap())
    }

    fn ok(&self, method: Method, path: &str, body: Value) -> (u16, Value) {
        self.send("sandbox-token", method, path, body)
    }
}

fn values(result: &Value) -> Vec<&str> {
    result
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["value"].as_str().unwrap())
        .collect()
}

#[test]
fn patch_removes_then_appends_all_or_nothing() {
    let f = Fixture::new(Options::default());
    let (status, created) = f.ok(
        Method::POST,
        "/gateway/lists",
        json!({"name": "a", "type": "EMAIL", "items": [{"value": "a@x.example"}, {"value": "b@x.example"}]}),
    );
    assert_eq!(status, 200);
    let id = created["result"]["id"].as_str().unwrap().to_string();
    let list = format!("/gateway/lists/{id}");
    let (status, body) = f.ok(
        Method::PATCH,
        &list,
        json!({"remove": ["A@X.example"], "append": [{"value": "c@x.example"}]}),
    );
    assert_eq!((status, body["result"]["count"].clone()), (200, json!(2)));
    // Appending what the removal frees is fine; appending what stays is a duplicate.
    let (status, _) = f.ok(
        Method::PATCH,
        &list,
        json!({"remove": ["b@x.example"], "append": [{"value": "B@x.example"}]}),
    );
    assert_eq!(status, 400, "the same value in both is refused");
    let (status, _) = f.ok(
        Method::PATCH,
        &list,
        json!({"remove": ["c@x.example"], "append": [{"value": "b@x.example"}]}),
    );
    assert_eq!(status, 400, "b is still there");
    let (_, items) = f.ok(Method::GET, &format!("{list}/items"), Value::Null);
    assert_eq!(values(&items["result"]), ["b@x.example", "c@x.example"]);
    let (status, body) = f.ok(Method::PATCH, &list, json!({"remove": "b@x.example"}));
    assert_eq!(
        (status, body["errors"][0]["code"].clone()),
        (400, json!(10400))
    );
    let (status, _) = f.ok(Method::PATCH, &list, Value::Null);
    assert_eq!(status, 400, "no body");
}

#[test]
fn items_page_and_groups_answer_201_and_202() {
    let f = Fixture::new(Options::default());
    let items: Vec<Value> = (0..51)
        .map(|i| json!({"value": format!("u{i:02}@x.example")}))
        .collect();
    let (_, created) = f.ok(
        Method::POST,
        "/gateway/lists",
        json!({"name": "a", "type": "EMAIL", "items": items}),
    );
    let id = created["result"]["id"].as_str().unwrap();
    let (_, page2) = f.ok(
        Method::GET,
        &format!("/gateway/lists/{id}/items?page=2"),
        Value::Null,
    );
    assert_eq!(values(&page2["result"]), ["u50@x.example"]);
    assert_eq!(page2["result_info"]["total_pages"], 2);

    let (status, group) = f.ok(
        Method::POST,
        "/access/groups",
        json!({"name": "g", "include": [{"email_list": {"id": id}}], "is_default": true}),
    );
    assert_eq!(status, 201);
    assert_eq!(group["result"]["is_default"], true);
    let gid = group["result"]["id"].as_str().unwrap();
    let (status, deleted) = f.ok(
        Method::DELETE,
        &format!("/access/groups/{gid}"),
        Value::Null,
    );
    assert_eq!(
        (status, deleted["result"].clone()),
        (202, json!({"id": gid}))
    );
    let (status, body) = f.ok(Method::PATCH, "/access/groups", Value::Null);
    assert_eq!(
        (status, body["errors"][0]["code"].clone()),
        (405, json!(10405))
    );
}

#[test]
fn scopes_read_and_no_door() {
    let f = Fixture::new(Options {
        tokens: vec![
            TokenSpec::parse("ro:read", 0).unwrap(),
            TokenSpec::parse("nd:no-door", 0).unwrap(),
        ],
        ..Options::default()
    });
    let body = json!({"name": "a", "type": "EMAIL"});
    assert_eq!(
        f.send("ro", Method::GET, "/gateway/lists", Value::Null).0,
        200
    );
    assert_eq!(
        f.send("ro", Method::POST, "/gateway/lists", body.clone()).0,
        403
    );
    assert_eq!(
        f.send("nd", Method::GET, "/access/groups", Value::Null).0,
        403
    );
    let (status, answer) = f.send("nd", Method::GET, "/access/users", Value::Null);
    assert_eq!((status, answer["success"].clone()), (200, json!(true)));
    assert_eq!(f.ok(Method::POST, "/gateway/lists", body).0, 200);
}
