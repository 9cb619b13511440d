//! The door client against a small fake API, for what the sandbox does not do on purpose: a
//! gateway that loses a write's answer (502 without the envelope, after the write took effect),
//! and item pages that do not add up.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{Method, StatusCode, Uri};
use axum::response::IntoResponse;
use serde_json::{json, Value};

use super::{ApiError, Client, ClientConfig, Credentials, RetryPolicy};
use crate::model::door::{DoorId, Rule};
use crate::model::AccountId;
use crate::secret::Secret;

const L1: &str = "aa0a4aab-672b-4bdb-bc33-a59f1130a11f";
const G: &str = "6b2a1f1e-3c4d-4e5f-8a9b-0c1d2e3f4a5b";

/// One canned answer: method, path ending, status, body.
type Canned = (Method, String, u16, String);

/// What the fake answers: `(method, path ending) -> (status, body)`, and what it received.
#[derive(Clone, Default)]
struct Fake {
    answers: Arc<Mutex<Vec<Canned>>>,
    received: Arc<Mutex<Vec<(Method, String)>>>,
}

fn ok(result: Value, info: Value) -> String {
    json!({"success": true, "errors": [], "messages": [], "result": result, "result_info": info})
        .to_string()
}

impl Fake {
    fn answer(&self, method: Method, ends: &str, status: u16, body: String) {
        self.answers
            .lock()
            .unwrap()
            .push((method, ends.to_string(), status, body));
    }

    fn sent(&self, method: &Method) -> usize {
        let received = self.received.lock().unwrap();
        received.iter().filter(|(m, _)| m == method).count()
    }

    async fn client(&self) -> (Client, tokio::task::JoinHandle<()>) {
        let fake = self.clone();
        let app = axum::Router::new().fallback(move |method: Method, uri: Uri| {
            let fake = fake.clone();
            async move {
                fake.received
                    .lock()
                    .unwrap()
                    .push((method.clone(), uri.to_string()));
                let answers = fake.answers.lock().unwrap();
                let found = answers
                    .iter()
                    .find(|(m, ends, _, _)| *m == method && uri.path().ends_with(ends.as_str()));
                match found {
                    Some((_, _, status, body)) => (
                        StatusCode::from_u16(*status).unwrap(),
                        [("content-type", "application/json")],
                        body.clone(),
                    )
                        .into_response(),
                    None => (StatusCode::NOT_FOUND, "no such route").into_response(),
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        let config = ClientConfig {
            retry: RetryPolicy {
                max_retries: 2,
                initial_delay: Duration::from_millis(1),
                ..RetryPolicy::default()
            },
            ..ClientConfig::default()
        };
        let client = Client::with_config(
            &format!("http://{addr}/client/v4"),
            Credentials::Token(Secret::new("fake-token-0123456789")),
            &AccountId::example(),
            config,
        )
        .unwrap();
        (client, server)
    }
}

const BAD_GATEWAY: &str = "<html><body>502 Bad Gateway</body></html>";

#[tokio::test]
async fn a_lost_post_or_patch_is_read_back_and_not_sent_again() {
    let fake = Fake::default();
    fake.answer(Method::POST, "/gateway/lists", 502, BAD_GATEWAY.into());
    fake.answer(Method::PATCH, L1, 502, BAD_GATEWAY.into());
    fake.answer(Method::POST, "/access/groups", 502, BAD_GATEWAY.into());
    let list = json!({"id": L1, "name": "reconcile-allowlist-1", "type": "EMAIL"});
    fake.answer(
        Method::GET,
        "/gateway/lists",
        200,
        ok(json!([list]), json!({})),
    );
    let items = json!([{"value": "Ann@x.example"}]);
    let info = json!({"page": 1, "total_count": 1, "total_pages": 1});
    fake.answer(Method::GET, "/items", 200, ok(items, info));
    let group = json!({"id": G, "name": "Door", "include": [{"email_list": {"id": L1}}]});
    fake.answer(
        Method::GET,
        "/access/groups",
        200,
        ok(json!([group]), json!({"page": 1, "total_count": 1})),
    );
    let (client, server) = fake.client().await;

    let made = client
        .create_list(
            "reconcile-allowlist-1",
            None,
            &[("ann@x.example".into(), None)],
        )
        .await
        .unwrap();
    assert!(made.answer_lost);
    assert_eq!(made.value.id, L1);
    let id = DoorId::parse(L1).unwrap();
    let patched = client
        .patch_list(
            &id,
            &[("ann@x.example".into(), None)],
            &["bob@x.example".into()],
        )
        .await
        .unwrap();
    assert!(
        patched.answer_lost,
        "found made: the value is there, case aside"
    );
    let e = client
        .patch_list(&id, &[("zed@x.example".into(), None)], &[])
        .await
        .unwrap_err();
    assert!(matches!(e, ApiError::Unconfirmed { .. }), "{e}");
    assert!(e.to_string().contains("change not made"), "{e}");
    let g = client
        .create_group("Door", &[Rule::EmailList { id: L1.into() }])
        .await
        .unwrap();
    assert!(g.answer_lost);
    let e = client.create_group("Other", &[]).await.unwrap_err();
    assert!(e.to_string().contains("no group named `Other`"), "{e}");
    // A 502 is retryable, but none of these writes was sent twice.
    assert_eq!(fake.sent(&Method::POST), 3);
    assert_eq!(fake.sent(&Method::PATCH), 2);
    server.abort();
}

#[tokio::test]
async fn item_pages_that_do_not_add_up_are_read_again_then_refused() {
    let fake = Fake::default();
    let list = json!({"id": L1, "name": "reconcile-allowlist-1", "type": "EMAIL"});
    fake.answer(
        Method::GET,
        "/gateway/lists",
        200,
        ok(json!([list]), json!({})),
    );
    // The API ignores per_page and says five items; it serves two.
    let items = json!([{"value": "a@x.example"}, {"value": "b@x.example"}]);
    let info = json!({"page": 1, "total_count": 5, "total_pages": 1});
    fake.answer(Method::GET, "/items", 200, ok(items, info));
    let (client, server) = fake.client().await;
    let e = client
        .read_door(|_, n| n == "reconcile-allowlist-1", None)
        .await
        .unwrap_err();
    assert!(matches!(e, ApiError::DoorInconsistent { .. }), "{e}");
    assert!(
        e.to_string()
            .contains("the API said 5 items, the pages held 2"),
        "{e}"
    );
    assert!(e.to_string().contains("nothing will be changed"), "{e}");
    assert_eq!(fake.sent(&Method::GET), 1 + 3, "the items read three times");
    server.abort();
}

#[tokio::test]
async fn a_claimed_list_whose_id_is_not_a_uuid_is_refused_unshown() {
    let fake = Fake::default();
    let list = json!({"id": "../../access/users\u{1b}[2J", "name": "reconcile-allowlist-1"});
    fake.answer(
        Method::GET,
        "/gateway/lists",
        200,
        ok(json!([list]), json!({})),
    );
    let (client, server) = fake.client().await;
    let e = client
        .read_door(|_, n| n == "reconcile-allowlist-1", None)
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(text.contains("not a UUID"), "{text}");
    assert!(!text.contains('\u{1b}'), "{text}");
    assert_eq!(fake.sent(&Method::GET), 1, "no items read");
    server.abort();
}

#[tokio::test]
async fn a_lost_put_is_retried_and_read_back() {
    let fake = Fake::default();
    fake.answer(Method::PUT, G, 502, BAD_GATEWAY.into());
    let include = json!([{"email_list": {"id": L1}}, {"email_domain": {"domain": "x.example"}}]);
    let group = json!({"id": G, "name": "Door", "include": include, "exclude": [],
                       "require": [{"geo": {"country_code": "US"}}], "is_default": [{"everyone": {}}]});
    fake.answer(Method::GET, G, 200, ok(group, json!({})));
    let (client, server) = fake.client().await;
    let rules = [
        Rule::EmailList { id: L1.into() },
        Rule::EmailDomain {
            domain: "x.example".into(),
        },
    ];
    let require = [json!({"geo": {"country_code": "US"}})];
    let id = DoorId::parse(G).unwrap();
    let put = client
        .put_group(&id, "Door", &rules, &[], &require)
        .await
        .unwrap();
    assert!(put.answer_lost);
    assert_eq!(fake.sent(&Method::PUT), 3, "idempotent: retried");
    let e = client
        .put_group(&id, "Renamed", &rules, &[], &require)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("not as sent"), "{e}");
    server.abort();
}
