//! The door client against the sandbox (in process, on loopback): reading a seeded door, 2,500
//! items paged at 1000, the nested items shape, the writes as the sandbox records them, the
//! refusals of a read-only and a `no-door` token, a lost answer that is not sent again, and the
//! lists' rate limit (paced so that the sandbox never answers 429, a 429 waited out, a block
//! longer than `--max-wait` stopped without blocking the users API). The sandbox is only the
//! server here; the client shares nothing with it.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use super::observer::{Event, Observer};
use super::{ApiError, Client, ClientConfig, Credentials, GroupQuery, RateBudget, RetryPolicy};
use crate::model::door::{DoorId, Rule};
use crate::model::AccountId;
use crate::sandbox::{
    DoorRateLimit, Faults, ItemsShape, Options, RunningSandbox, Sandbox, Seed, TokenSpec,
    DEFAULT_TOKEN,
};
use crate::secret::Secret;

const L1: &str = "aa0a4aab-672b-4bdb-bc33-a59f1130a11f";
const L2: &str = "bb0a4aab-672b-4bdb-bc33-a59f1130a11f";
const OTHER: &str = "cc0a4aab-672b-4bdb-bc33-a59f1130a11f";
const G: &str = "6b2a1f1e-3c4d-4e5f-8a9b-0c1d2e3f4a5b";

#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl Observer for Recorder {
    fn event(&self, event: Event<'_>) {
        let said = match event {
            Event::RateLimited { wait, .. } => format!("rate limited {}", wait.as_secs()),
            other => format!("{other:?}"),
        };
        self.0.lock().unwrap().push(said);
    }
}

fn seed(items: usize) -> Seed {
    let mut seed = Seed::empty(AccountId::example().as_str());
    seed.generate(3);
    let many: Vec<Value> = (0..items)
        .map(|i| json!({"value": format!("u{i}@x.example"), "description": format!("reconcile: u.yaml:{}", i + 1)}))
        .collect();
    seed.lists = vec![
        json!({"id": L1, "name": "reconcile-allowlist-1", "type": "EMAIL", "items": many}),
        json!({"id": L2, "name": "reconcile-allowlist-2", "type": "EMAIL",
               "items": [{"value": "ann@x.example"}, {"value": "Bob@X.example", "description": "by hand \u{1b}[31m"}]}),
        json!({"id": OTHER, "name": "office ips", "type": "IP", "items": [{"value": "192.0.2.1"}]}),
    ];
    seed.groups = vec![json!({
        "id": G, "name": "Allowlisted people", "is_default": true,
        "include": [{"email_list": {"id": L1}}, {"okta": {"name": "eng", "identity_provider_id": "x"}}],
        "require": [{"geo": {"country_code": "US"}}],
    })];
    seed
}

struct Setup {
    client: Client,
    server: RunningSandbox,
    recorder: Arc<Recorder>,
}

impl Setup {
    fn sandbox(&self) -> &Sandbox {
        self.server.sandbox()
    }

    /// The requests the sandbox answered `status` on a path containing `part`.
    fn count(&self, part: &str, status: u16) -> usize {
        self.sandbox()
            .requests()
            .iter()
            .filter(|r| r.path.contains(part) && r.status == status)
            .count()
    }
}

async fn setup(seed: Seed, options: Options, token: &str, max_wait: Duration) -> Setup {
    let account = AccountId::example();
    let server = Sandbox::new(seed, options)
        .bind(([127, 0, 0, 1], 0).into())
        .await
        .unwrap();
    let recorder = Arc::new(Recorder::default());
    let config = ClientConfig {
        retry: RetryPolicy {
            max_retries: 1,
            initial_delay: Duration::from_millis(1),
            ..RetryPolicy::default()
        },
        max_wait,
        observer: recorder.clone(),
        ..ClientConfig::default()
    };
    let client = Client::with_config(
        &server.base_url(),
        Credentials::Token(Secret::new(token)),
        &account,
        config,
    )
    .unwrap();
    Setup {
        client,
        server,
        recorder,
    }
}

async fn plain(seed: Seed, options: Options) -> Setup {
    setup(seed, options, DEFAULT_TOKEN, Duration::from_secs(60)).await
}

fn door_lists(_: &str, name: &str) -> bool {
    name.starts_with("reconcile-allowlist-")
}

fn named() -> GroupQuery {
    GroupQuery::Name("Allowlisted people".into())
}

#[tokio::test]
async fn a_seeded_door_is_read_with_2500_items_paged_at_1000() {
    let s = plain(seed(2500), Options::default()).await;
    let door = s
        .client
        .read_door(door_lists, Some(&named()))
        .await
        .unwrap();
    assert_eq!(door.account_lists, 3);
    assert_eq!(door.lists.len(), 2);
    assert_eq!(door.lists[0].id, L1);
    assert_eq!(door.lists[0].kind.as_deref(), Some("EMAIL"));
    assert_eq!(door.lists[0].items.len(), 2500);
    assert_eq!(door.lists[0].items[2499].value, "u2499@x.example");
    assert_eq!(
        door.lists[1].items[1].description.as_deref(),
        Some("by hand \u{1b}[31m"),
        "hostile text is data, kept as written"
    );
    assert_eq!(door.lists[1].items[1].value, "Bob@X.example");
    let items: Vec<_> = s
        .sandbox()
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with(&format!("{L1}/items")))
        .collect();
    assert_eq!(items.len(), 3, "{items:?}");
    for (n, r) in items.iter().enumerate() {
        assert_eq!(
            r.query.as_deref(),
            Some(format!("page={}&per_page=1000", n + 1).as_str())
        );
    }
    let g = &door.groups[0];
    assert_eq!((g.id.as_str(), g.name.as_str()), (G, "Allowlisted people"));
    assert_eq!(g.include[0], Rule::EmailList { id: L1.into() });
    assert!(matches!(g.include[1], Rule::Other(_)));
    assert_eq!(g.require, vec![json!({"geo": {"country_code": "US"}})]);
    // By id, and an id the API does not know.
    let by_id = GroupQuery::Id(DoorId::parse(G).unwrap());
    let door = s
        .client
        .read_door(|_, _| false, Some(&by_id))
        .await
        .unwrap();
    assert_eq!(door.groups.len(), 1);
    assert!(door.lists.is_empty());
    let unknown = GroupQuery::Id(DoorId::parse(OTHER).unwrap());
    let door = s
        .client
        .read_door(|_, _| false, Some(&unknown))
        .await
        .unwrap();
    assert!(door.groups.is_empty());
    assert!(s.sandbox().door_writes().is_empty());
}

#[tokio::test]
async fn the_nested_items_shape_reads_the_same() {
    let flat = plain(seed(1500), Options::default()).await;
    let faults = Faults {
        list_items_shape: ItemsShape::Nested,
        ..Faults::default()
    };
    let nested = plain(seed(1500), Options::default().with_faults(faults, None)).await;
    let a = flat.client.read_door(door_lists, None).await.unwrap();
    let b = nested.client.read_door(door_lists, None).await.unwrap();
    assert_eq!(a, b);
    assert_eq!(b.lists[0].items.len(), 1500);
}

#[tokio::test]
async fn writes_change_the_door_minimally() {
    let s = plain(seed(2), Options::default()).await;
    let c = &s.client;
    let made = c
        .create_list(
            "reconcile-allowlist-3",
            Some("kept by reconcile"),
            &[("new@x.example".into(), Some("reconcile: u.yaml:9".into()))],
        )
        .await
        .unwrap();
    assert!(!made.answer_lost);
    let id = DoorId::parse(&made.value.id).unwrap();
    assert_eq!(made.value.items[0].value, "new@x.example");
    let l2 = DoorId::parse(L2).unwrap();
    c.patch_list(
        &l2,
        &[("zed@x.example".into(), None)],
        &["ANN@x.example".into()],
    )
    .await
    .unwrap();
    c.patch_list(&l2, &[], &[]).await.unwrap();
    let include = vec![
        Rule::EmailList { id: L1.into() },
        Rule::EmailList { id: id.to_string() },
        Rule::EmailDomain {
            domain: "example.com".into(),
        },
    ];
    let group = c.create_group("Door two", &include[..1]).await.unwrap();
    assert_eq!(group.value.include, include[..1]);
    let g = DoorId::parse(G).unwrap();
    let door = c.read_door(door_lists, Some(&named())).await.unwrap();
    let live = &door.groups[0];
    let put = c
        .put_group(&g, &live.name, &include, &live.exclude, &live.require)
        .await
        .unwrap();
    assert_eq!(put.value.include, include);

    let writes = s.sandbox().door_writes();
    let summary: Vec<(String, u16)> = writes
        .iter()
        .map(|w| (w.method.clone(), w.status))
        .collect();
    assert_eq!(
        summary,
        [
            ("POST".into(), 200),
            ("PATCH".into(), 200),
            ("POST".into(), 201),
            ("PUT".into(), 200)
        ],
        "one request per change, none for an empty patch"
    );
    assert_eq!(
        writes[1].body,
        json!({"append": [{"value": "zed@x.example"}], "remove": ["ANN@x.example"]})
    );
    assert_eq!(writes[0].body["type"], "EMAIL");
    assert_eq!(
        writes[3].body["require"],
        json!([{"geo": {"country_code": "US"}}])
    );
    assert_eq!(writes[3].body["is_default"], true, "sent back as it was");
    let lists = s.sandbox().lists();
    let values: Vec<&str> = lists[1]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["value"].as_str().unwrap())
        .collect();
    assert_eq!(values, ["Bob@X.example", "zed@x.example"]);
    assert_eq!(lists.len(), 4);
    let groups = s.sandbox().groups();
    assert_eq!(
        groups[0]["include"][2],
        json!({"email_domain": {"domain": "example.com"}})
    );
    assert_eq!(groups[0]["is_default"], true);
    assert_eq!(groups[1]["name"], "Door two");
}

#[tokio::test]
async fn a_read_only_token_is_refused_writes_and_a_no_door_token_reads() {
    let options = Options {
        tokens: vec![
            TokenSpec::parse("viewer-token-0123456789:read", 0).unwrap(),
            TokenSpec::parse("users-only-token-0123456789:no-door", 0).unwrap(),
        ],
        ..Options::default()
    };
    let s = setup(
        seed(2),
        options.clone(),
        "viewer-token-0123456789",
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(
        s.client
            .read_door(door_lists, Some(&named()))
            .await
            .unwrap()
            .lists
            .len(),
        2
    );
    let e = s
        .client
        .create_list("reconcile-allowlist-3", None, &[])
        .await
        .unwrap_err();
    assert!(e.request_sent() && e.is_auth(), "{e}");
    assert!(e.to_string().contains("Zero Trust Write"), "{e}");
    let e = s
        .client
        .patch_list(
            &DoorId::parse(L1).unwrap(),
            &[("a@x.example".into(), None)],
            &[],
        )
        .await
        .unwrap_err();
    assert!(
        e.request_sent() && !matches!(e, ApiError::Unconfirmed { .. }),
        "{e}"
    );
    let e = s.client.create_group("x", &[]).await.unwrap_err();
    assert!(e.to_string().contains("Groups"), "{e}");
    assert_eq!(
        s.count("/gateway/lists", 403) + s.count("/access/groups", 403),
        3,
        "not retried"
    );
    assert_eq!(s.sandbox().lists().len(), 3, "nothing changed");
    assert_eq!(s.sandbox().groups().len(), 1);

    let s = setup(
        seed(2),
        options,
        "users-only-token-0123456789",
        Duration::from_secs(5),
    )
    .await;
    let e = s.client.read_door(door_lists, None).await.unwrap_err();
    assert!(e.is_auth(), "{e}");
    assert!(
        s.client.list_users().await.is_ok(),
        "the users API still answers"
    );
}

#[tokio::test]
async fn a_patch_whose_answer_is_lost_is_not_sent_again() {
    let faults = Faults {
        drop_rate: 1.0,
        ..Faults::default()
    };
    let s = plain(seed(2), Options::default().with_faults(faults, None)).await;
    let e = s
        .client
        .patch_list(
            &DoorId::parse(L2).unwrap(),
            &[("zed@x.example".into(), None)],
            &[],
        )
        .await
        .unwrap_err();
    assert!(matches!(e, ApiError::Unconfirmed { .. }), "{e}");
    assert!(
        e.to_string().contains("reading the list back failed too"),
        "{e}"
    );
    assert_eq!(s.sandbox().door_writes().len(), 1, "sent once");
}

#[tokio::test]
async fn a_burst_of_lists_requests_is_paced_under_the_lists_limit() {
    let options = Options {
        door_rate_limit: Some(DoorRateLimit {
            quota: 10,
            window: Duration::from_millis(400),
            block: Duration::from_secs(120),
        }),
        ..Options::default()
    };
    let s = plain(seed(2), options).await;
    let client = s.client.clone().with_lists_rate_limit(RateBudget {
        quota: 10,
        window: Duration::from_millis(400),
    });
    // Each read is three lists requests: the lists, and one page of items of each door list.
    for _ in 0..12 {
        client.read_door(door_lists, None).await.unwrap();
    }
    assert_eq!(s.count("/gateway/lists", 200), 36);
    assert_eq!(s.count("/gateway/lists", 429), 0);
}

#[tokio::test]
async fn a_429_block_is_waited_out_or_stops_beyond_max_wait() {
    let limit = |block| Options {
        door_rate_limit: Some(DoorRateLimit {
            quota: 2,
            window: Duration::from_secs(60),
            block,
        }),
        ..Options::default()
    };
    // A 1 s block: the client waits it out and goes on.
    let s = plain(seed(2), limit(Duration::from_secs(1))).await;
    let door = s.client.read_door(door_lists, None).await.unwrap();
    assert_eq!(door.lists.len(), 2);
    assert_eq!(s.count("/gateway/lists", 429), 1);
    assert!(s
        .recorder
        .0
        .lock()
        .unwrap()
        .iter()
        .any(|e| e == "rate limited 1"));

    // The documented 120 s block, with --max-wait 5 s: stopped, and the users API not blocked.
    let s = setup(
        seed(2),
        limit(Duration::from_secs(120)),
        DEFAULT_TOKEN,
        Duration::from_secs(5),
    )
    .await;
    let e = s.client.read_door(door_lists, None).await.unwrap_err();
    assert!(matches!(e, ApiError::WaitTooLong { .. }), "{e}");
    assert!(e.to_string().contains("--max-wait"), "{e}");
    let started = std::time::Instant::now();
    assert!(s.client.list_users().await.is_ok());
    assert!(started.elapsed() < Duration::from_secs(2));
    // Later lists requests wait for the same block: refused at once, unsent.
    let e = s.client.read_door(door_lists, None).await.unwrap_err();
    assert!(!e.request_sent(), "{e}");
    assert_eq!(s.count("/gateway/lists", 429), 1);
}

#[tokio::test]
async fn a_write_the_api_refuses_is_retried_and_changes_nothing() {
    let faults = Faults {
        fail_door_writes_after: Some(0),
        ..Faults::default()
    };
    let s = plain(seed(2), Options::default().with_faults(faults, None)).await;
    let l2 = DoorId::parse(L2).unwrap();
    let e = s
        .client
        .patch_list(&l2, &[("zed@x.example".into(), None)], &[])
        .await
        .unwrap_err();
    assert!(e.request_sent(), "{e}");
    assert!(!matches!(e, ApiError::Unconfirmed { .. }), "refused: {e}");
    let writes = s.sandbox().door_writes();
    assert_eq!(writes.len(), 2, "the API's own 503 is retried: {writes:?}");
    assert!(writes.iter().all(|w| w.status == 503));
    assert_eq!(s.sandbox().lists()[1]["items"].as_array().unwrap().len(), 2);
}

/// The POST refused and its answer lost: the one list or group of that name now is someone
/// else's (it holds other items, other rules), and is not taken for the one this request made.
#[tokio::test]
async fn a_lost_create_answer_does_not_take_another_list_or_group_of_that_name() {
    let faults = Faults {
        drop_door_answers: 2,
        fail_door_writes_after: Some(0),
        ..Faults::default()
    };
    let s = plain(seed(2), Options::default().with_faults(faults, None)).await;
    let e = s
        .client
        .create_list(
            "reconcile-allowlist-2",
            None,
            &[("zed@x.example".into(), None)],
        )
        .await
        .unwrap_err();
    assert!(matches!(e, ApiError::Unconfirmed { .. }), "{e}");
    assert!(
        e.to_string().contains("holds other items than were sent"),
        "{e}"
    );
    let e = s
        .client
        .create_group("Allowlisted people", &[Rule::EmailList { id: L2.into() }])
        .await
        .unwrap_err();
    assert!(matches!(e, ApiError::Unconfirmed { .. }), "{e}");
    assert!(
        e.to_string().contains("has other rules than were sent"),
        "{e}"
    );
    assert_eq!(s.sandbox().door_writes().len(), 2, "each sent once");
}

#[tokio::test]
async fn a_token_reads_its_own_policies_at_the_route_it_verified_at_only_with_token_read() {
    let options = Options {
        tokens: vec![
            TokenSpec::parse("reader:token-read", 0).unwrap(),
            TokenSpec::parse("plain", 0).unwrap(),
        ],
        ..Options::default()
    };
    let s = setup(seed(0), options.clone(), "reader", Duration::from_secs(60)).await;
    let mut info = s.client.verify_token().await.unwrap();
    assert_eq!(info.at, super::VerifiedAt::Account);
    let policies = s.client.token_policies(&info).await.unwrap();
    let account = AccountId::example();
    let needed = [
        "Zero Trust Write",
        "Access: Organizations, Identity Providers, and Groups Write",
    ];
    assert!(super::missing_permissions(&policies, account.as_str(), &needed).is_empty());
    assert_eq!(
        s.count(
            &format!("/accounts/{}/tokens/{}", account.as_str(), info.id),
            200
        ),
        1
    );
    // Verified at the user route: its details are read there.
    info.at = super::VerifiedAt::User;
    s.client.token_policies(&info).await.unwrap();
    assert_eq!(s.count(&format!("/user/tokens/{}", info.id), 200), 1);
    // Without the permission: 403 code 10000, sent once.
    let s = setup(seed(0), options, "plain", Duration::from_secs(60)).await;
    let info = s.client.verify_token().await.unwrap();
    let e = s.client.token_policies(&info).await.unwrap_err();
    assert!(e.codes().contains(&10000), "{e}");
    assert_eq!(s.count("/tokens/", 403), 1);
}
