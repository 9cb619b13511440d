//! The door's writes: the order they are sent in, their words, the run's verdict and its audit
//! records; and `keep` itself against the sandbox (in process, on loopback), and against a small
//! fake that takes a signal while a write is in flight. No binary, no timing.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::watch;

use super::*;
use crate::apply::{AuditContext, Presses, Signal};
use crate::cloudflare::{ClientConfig, Credentials, GroupQuery, RetryPolicy};
use crate::config::{parse_str, Desired};
use crate::date::Date;
use crate::model::door::{LiveDoor, LiveGroup, LiveItem, LiveList, Rule};
use crate::model::AccountId;
use crate::plan::door::compute;
use crate::sandbox::{Faults, Options, RunningSandbox, Sandbox, Seed, DEFAULT_TOKEN};
use crate::secret::Secret;

fn door_section(capacity: usize) -> String {
    format!(
        "door:\n  lists: {{ name: allow, capacity: {capacity} }}\n  group: {{ name: People }}\n"
    )
}

fn desired(users: &[&str], capacity: usize) -> Desired {
    let text = format!("users: [{}]\n{}", users.join(", "), door_section(capacity));
    parse_str(&text, "users.yaml").unwrap()
}

fn today() -> Date {
    Date::parse("2026-12-01").unwrap()
}

fn uuid(n: usize) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}

fn live_list(n: usize, values: &[&str]) -> LiveList {
    LiveList {
        id: uuid(n),
        name: format!("allow-{n}"),
        kind: Some("EMAIL".into()),
        items: values
            .iter()
            .map(|v| LiveItem {
                value: (*v).into(),
                description: None,
            })
            .collect(),
    }
}

fn plan(d: &Desired, live: &LiveDoor) -> DoorPlan {
    let p = compute(d, live, today()).unwrap();
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    p
}

fn write(action: DoorAction, name: &str, outcome: DoorOutcome) -> DoorWrite {
    DoorWrite {
        action,
        name: name.into(),
        id: None,
        added: Vec::new(),
        removed: Vec::new(),
        include: Vec::new(),
        outcome,
        answer_lost: false,
    }
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| v.to_string()).collect()
}

/// A door of three lists of capacity 2 and a group naming them, where the allowlist now moves
/// `c` out of `allow-1` (over capacity) into `allow-2` (room for one), leaves `allow-3` as it
/// is, and needs a fourth list for `g` and `h`.
fn moving_door() -> DoorPlan {
    let d = desired(
        &[
            "a@x.co", "b@x.co", "c@x.co", "d@x.co", "e@x.co", "f@x.co", "g@x.co", "h@x.co",
        ],
        2,
    );
    let live = LiveDoor {
        lists: vec![
            live_list(1, &["a@x.co", "b@x.co", "c@x.co"]),
            live_list(2, &["d@x.co"]),
            live_list(3, &["e@x.co", "f@x.co"]),
        ],
        account_lists: 3,
        groups: vec![LiveGroup {
            id: uuid(900),
            name: "People".into(),
            include: (1..=3).map(|n| Rule::EmailList { id: uuid(n) }).collect(),
            exclude: vec![json!({"geo": {"country_code": "XX"}})],
            require: vec![],
        }],
    };
    plan(&d, &live)
}

#[test]
fn writes_go_create_first_then_the_lists_that_take_an_address_in_then_those_it_leaves_then_the_group(
) {
    let writes = planned_writes(&moving_door());
    let order: Vec<(DoorAction, &str)> =
        writes.iter().map(|w| (w.action, w.name.as_str())).collect();
    assert_eq!(
        order,
        [
            (DoorAction::CreateList, "allow-4"),
            (DoorAction::ChangeList, "allow-2"),
            (DoorAction::ChangeList, "allow-1"),
            (DoorAction::ChangeGroup, "People"),
        ],
        "allow-3 does not change and is not written"
    );
    assert_eq!(writes[0].id, None, "known once created");
    assert_eq!(writes[0].added, strings(&["g@x.co", "h@x.co"]));
    assert_eq!(writes[1].id, Some(uuid(2)));
    assert_eq!(
        (writes[1].added.clone(), writes[1].removed.clone()),
        (strings(&["c@x.co"]), vec![])
    );
    assert_eq!(writes[2].id, Some(uuid(1)));
    assert_eq!(
        (writes[2].added.clone(), writes[2].removed.clone()),
        (vec![], strings(&["c@x.co"]))
    );
    assert_eq!(writes[3].id, Some(uuid(900)));
    // The include as far as the ids are known: the list to create is left out until it exists.
    let include: Vec<Value> = (1..=3)
        .map(|n| json!({"email_list": {"id": uuid(n)}}))
        .collect();
    assert_eq!(writes[3].include, include);
    assert!(writes.iter().all(|w| w.outcome == DoorOutcome::NotSent));
}

#[test]
fn a_door_as_it_should_be_needs_no_write_and_an_unchanged_group_is_not_written() {
    let d = desired(&["a@x.co"], 2);
    let mut live = LiveDoor {
        lists: vec![live_list(1, &["a@x.co"])],
        account_lists: 1,
        groups: vec![LiveGroup {
            id: uuid(900),
            name: "People".into(),
            include: vec![Rule::EmailList { id: uuid(1) }],
            exclude: vec![],
            require: vec![],
        }],
    };
    assert_eq!(planned_writes(&plan(&d, &live)), []);
    // A new address changes the list, not the group.
    live.lists[0].items.clear();
    let writes = planned_writes(&plan(&d, &live));
    let actions: Vec<DoorAction> = writes.iter().map(|w| w.action).collect();
    assert_eq!(actions, [DoorAction::ChangeList]);
}

#[test]
fn the_names_of_actions_and_outcomes_are_the_audit_logs() {
    let actions = [
        DoorAction::CreateList,
        DoorAction::ChangeList,
        DoorAction::CreateGroup,
        DoorAction::ChangeGroup,
    ];
    let names: Vec<&str> = actions.iter().map(|a| a.kind()).collect();
    assert_eq!(
        names,
        ["create_list", "change_list", "create_group", "change_group"]
    );
    let outcomes = [
        DoorOutcome::Done,
        DoorOutcome::Failed("x".into()),
        DoorOutcome::NotSent,
        DoorOutcome::Interrupted,
    ];
    let names: Vec<&str> = outcomes.iter().map(DoorOutcome::kind).collect();
    assert_eq!(names, ["done", "failed", "not_sent", "interrupted"]);
}

#[test]
fn each_write_is_described_for_people() {
    let mut w = write(DoorAction::CreateList, "allow-1", DoorOutcome::Done);
    w.added = strings(&["a@x.co"]);
    assert_eq!(w.describe(), "create list \"allow-1\" with 1 item");
    w.added = strings(&["a@x.co", "b@x.co", "c@x.co"]);
    assert_eq!(w.describe(), "create list \"allow-1\" with 3 items");
    assert_eq!(w.describe_done(), w.describe());
    w.answer_lost = true;
    assert_eq!(
        w.describe_done(),
        "create list \"allow-1\" with 3 items (answer lost; reading back found it made)"
    );
    let mut w = write(DoorAction::ChangeList, "allow-\u{1b}[2J", DoorOutcome::Done);
    w.added = strings(&["a@x.co"]);
    w.removed = strings(&["b@x.co", "c@x.co"]);
    assert_eq!(w.describe(), "change list \"allow-\\u{1b}[2J\" (+1 -2)");
    let g = write(DoorAction::CreateGroup, "People", DoorOutcome::Done);
    assert_eq!(g.describe(), "create group \"People\"");
    let g = write(DoorAction::ChangeGroup, "People", DoorOutcome::Done);
    assert_eq!(g.describe(), "change group \"People\" (include)");
}

#[test]
fn a_run_is_complete_only_when_every_write_is_done_and_recorded_and_no_signal_came() {
    let done = || write(DoorAction::ChangeList, "allow-1", DoorOutcome::Done);
    let all_done = DoorRun {
        writes: vec![done(), done()],
        ..DoorRun::default()
    };
    assert!(all_done.is_complete());
    assert!(DoorRun::default().is_complete(), "nothing to write");
    let mut one_not = all_done.clone();
    one_not.writes[1].outcome = DoorOutcome::NotSent;
    assert!(!one_not.is_complete());
    let mut audit = all_done.clone();
    audit.audit_error = Some("disk full".into());
    assert!(!audit.is_complete());
    let mut signal = all_done.clone();
    signal.interrupted = Some(Signal::Terminate);
    assert!(!signal.is_complete());

    let run = DoorRun {
        writes: vec![
            write(DoorAction::CreateList, "allow-2", DoorOutcome::Done),
            write(
                DoorAction::ChangeList,
                "allow-1",
                DoorOutcome::Failed("boom".into()),
            ),
            write(DoorAction::ChangeList, "allow-3", DoorOutcome::NotSent),
            write(DoorAction::ChangeGroup, "People", DoorOutcome::NotSent),
        ],
        ..DoorRun::default()
    };
    let names = |it: &mut dyn Iterator<Item = &DoorWrite>| -> Vec<String> {
        it.map(|w| w.name.clone()).collect()
    };
    assert_eq!(names(&mut run.done()), ["allow-2"]);
    assert_eq!(names(&mut run.not_sent()), ["allow-3", "People"]);
    let (failed, why) = run.failed().unwrap();
    assert_eq!((failed.name.as_str(), why), ("allow-1", "boom"));
    assert!(all_done.failed().is_none());
}

#[test]
fn the_words_of_a_stopped_run_say_what_stopped_it_what_was_done_and_what_was_not_sent() {
    let mut created = write(DoorAction::CreateList, "allow-2", DoorOutcome::Done);
    created.added = strings(&["a@x.co"]);
    created.answer_lost = true;
    let mut change = write(
        DoorAction::ChangeList,
        "allow-1",
        DoorOutcome::Failed("503".into()),
    );
    change.removed = strings(&["a@x.co"]);
    let group = write(DoorAction::ChangeGroup, "People", DoorOutcome::NotSent);
    let failed = DoorRun {
        writes: vec![created.clone(), change.clone(), group.clone()],
        ..DoorRun::default()
    };
    assert_eq!(
        failure_words(&failed),
        "the door was not fully kept: change list \"allow-1\" (+0 -1) failed: 503\n  door writes done:\n    - create list \"allow-2\" with 1 item (answer lost; reading back found it made)\n  door writes not sent:\n    - change group \"People\" (include)\n  help: no user was deleted; run `reconcile plan` again to see the door as it is now, then apply"
    );

    let audit = DoorRun {
        writes: vec![group.clone()],
        audit_error: Some("disk full".into()),
        ..DoorRun::default()
    };
    let words = failure_words(&audit);
    assert!(
        words.starts_with("the door was not fully kept: the audit log could not be written: disk full\n  door writes done: none\n  door writes not sent:\n    - change group"),
        "{words}"
    );

    let mut in_flight = change.clone();
    in_flight.outcome = DoorOutcome::Interrupted;
    let signal = DoorRun {
        writes: vec![created.clone(), in_flight, group.clone()],
        interrupted: Some(Signal::Terminate),
        ..DoorRun::default()
    };
    let words = failure_words(&signal);
    assert!(
        words.starts_with("the door was not fully kept: stopped by SIGTERM while change list \"allow-1\" (+0 -1) was being sent: whether it was made is unknown (`reconcile plan` shows the door as it is)\n  door writes done:\n    - create list"),
        "{words}"
    );
    let before = DoorRun {
        writes: vec![created.clone(), group.clone()],
        interrupted: Some(Signal::Interrupt),
        ..DoorRun::default()
    };
    assert!(
        failure_words(&before).starts_with("the door was not fully kept: stopped by Ctrl-C\n"),
        "{}",
        failure_words(&before)
    );
    let neither = DoorRun {
        writes: vec![created, group],
        ..DoorRun::default()
    };
    assert!(
        failure_words(&neither).starts_with("the door was not fully kept\n  door writes done:"),
        "{}",
        failure_words(&neither)
    );
}

#[test]
fn each_write_is_recorded_with_its_outcome_and_a_failure_with_its_reason() {
    let context = AuditContext {
        account: "acct".into(),
        run_id: "run-1".into(),
        desired_digest: "sha256:d".into(),
        ..AuditContext::default()
    };
    let mut w = write(DoorAction::ChangeList, "allow-1", DoorOutcome::Done);
    w.id = Some(uuid(1));
    w.added = strings(&["a@x.co"]);
    let e = entry(&w, "sha256:door", &context);
    assert_eq!(
        (e.action, e.name, e.id, e.added, e.outcome, e.error),
        (
            "change_list",
            "allow-1",
            Some(uuid(1).as_str()),
            &strings(&["a@x.co"])[..],
            DoorRecorded::Done,
            None
        )
    );
    assert_eq!(
        (e.run, e.account, e.desired_digest, e.door_fingerprint),
        ("run-1", "acct", "sha256:d", "sha256:door")
    );
    w.answer_lost = true;
    assert_eq!(
        entry(&w, "", &context).outcome,
        DoorRecorded::DoneAnswerLost
    );
    w.outcome = DoorOutcome::Failed("the API said 503".into());
    let e = entry(&w, "", &context);
    assert_eq!(
        (e.outcome, e.error),
        (DoorRecorded::Failed, Some("the API said 503"))
    );
    w.outcome = DoorOutcome::Interrupted;
    let e = entry(&w, "", &context);
    assert_eq!((e.outcome, e.error), (DoorRecorded::Interrupted, None));
    w.outcome = DoorOutcome::NotSent;
    assert_eq!(entry(&w, "", &context).outcome, DoorRecorded::NotSent);
}

// `keep` against the sandbox.

fn client_for(base_url: &str) -> Client {
    let config = ClientConfig {
        retry: RetryPolicy {
            max_retries: 1,
            initial_delay: Duration::from_millis(1),
            ..RetryPolicy::default()
        },
        ..ClientConfig::default()
    };
    Client::with_config(
        base_url,
        Credentials::Token(Secret::new(DEFAULT_TOKEN)),
        &AccountId::example(),
        config,
    )
    .unwrap()
}

async fn sandbox(options: Options) -> RunningSandbox {
    Sandbox::new(Seed::empty(AccountId::example().as_str()), options)
        .bind(([127, 0, 0, 1], 0).into())
        .await
        .unwrap()
}

fn context() -> AuditContext {
    AuditContext {
        account: AccountId::example().as_str().into(),
        run_id: "run-1".into(),
        ..AuditContext::default()
    }
}

/// The door records of the audit log at `path`: (action, name, outcome, error).
fn records(path: &Path) -> Vec<(String, String, String, Option<String>)> {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(crate::audit::verify(&text).is_ok());
    text.lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|r| {
            let s = |k: &str| r[k].as_str().map(str::to_string);
            (
                s("action").unwrap(),
                s("name").unwrap(),
                s("outcome").unwrap(),
                s("error"),
            )
        })
        .collect()
}

/// `keep` with no signal, its audit log in `dir`.
async fn keep_logged(door: &DoorPlan, client: &Client, dir: &Path) -> DoorRun {
    let (_tx, mut rx) = watch::channel(Presses::default());
    let mut log = AuditLog::open(&dir.join("audit.jsonl")).unwrap();
    keep(door, client, Some(&mut log), &context(), &mut rx).await
}

fn items(list: &Value) -> Vec<String> {
    let mut values: Vec<String> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["value"].as_str().unwrap().to_string())
        .collect();
    values.sort();
    values
}

#[tokio::test]
async fn keep_creates_the_lists_then_the_group_naming_them_then_patches_what_changes() {
    let server = sandbox(Options::default()).await;
    let client = client_for(&server.base_url());
    let dir = tempfile::tempdir().unwrap();
    let d = desired(&["a@x.co", "b@x.co", "c@x.co"], 2);
    let door = plan(&d, &LiveDoor::default());

    let run = keep_logged(&door, &client, dir.path()).await;
    assert!(run.is_complete(), "{run:?}");
    let lists = server.sandbox().lists();
    let names: Vec<&str> = lists.iter().map(|l| l["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["allow-1", "allow-2"]);
    assert_eq!(items(&lists[0]), ["a@x.co", "b@x.co"]);
    assert_eq!(items(&lists[1]), ["c@x.co"]);
    let ids: Vec<String> = lists
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_string())
        .collect();
    let written: Vec<(DoorAction, Option<String>, DoorOutcome)> = run
        .writes
        .iter()
        .map(|w| (w.action, w.id.clone(), w.outcome.clone()))
        .collect();
    assert_eq!(
        written,
        [
            (
                DoorAction::CreateList,
                Some(ids[0].clone()),
                DoorOutcome::Done
            ),
            (
                DoorAction::CreateList,
                Some(ids[1].clone()),
                DoorOutcome::Done
            ),
            (DoorAction::CreateGroup, None, DoorOutcome::Done),
        ]
    );
    // The group names the lists by the ids their creation returned.
    let groups = server.sandbox().groups();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0]["name"], "People");
    let include: Vec<Value> = ids
        .iter()
        .map(|id| json!({"email_list": {"id": id}}))
        .collect();
    assert_eq!(groups[0]["include"], Value::Array(include.clone()));
    assert_eq!(run.writes[2].include, include, "the include as sent");
    assert!(run.writes.iter().all(|w| !w.answer_lost));
    let done = |action: &str, name: &str| (action.into(), name.into(), "done".into(), None);
    assert_eq!(
        records(&dir.path().join("audit.jsonl")),
        [
            done("create_list", "allow-1"),
            done("create_list", "allow-2"),
            done("create_group", "People"),
        ]
    );

    // Read back, the door needs nothing; an address out of each list and one in is one PATCH
    // of each, in the lists' order.
    let spec = d.door.clone().unwrap();
    let query = GroupQuery::Name("People".into());
    let claims = |id: &str, name: &str| spec.claims_list(id, name).is_some();
    let live = client.read_door(claims, Some(&query)).await.unwrap();
    assert_eq!(planned_writes(&plan(&d, &live)), []);
    let d = desired(&["a@x.co", "y@x.co", "z@x.co"], 2);
    let door = plan(&d, &live);
    let dir = tempfile::tempdir().unwrap();
    let run = keep_logged(&door, &client, dir.path()).await;
    assert!(run.is_complete(), "{run:?}");
    let lists = server.sandbox().lists();
    assert_eq!(items(&lists[0]), ["a@x.co", "y@x.co"]);
    assert_eq!(items(&lists[1]), ["z@x.co"]);
    let actions: Vec<(DoorAction, Option<String>)> = run
        .writes
        .iter()
        .map(|w| (w.action, w.id.clone()))
        .collect();
    assert_eq!(
        actions,
        [
            (DoorAction::ChangeList, Some(ids[0].clone())),
            (DoorAction::ChangeList, Some(ids[1].clone())),
        ]
    );
    assert_eq!(
        server.sandbox().groups()[0]["include"],
        Value::Array(include)
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_failed_write_stops_the_door_and_the_rest_is_recorded_as_not_sent() {
    let options = Options {
        faults: Faults {
            fail_door_writes_after: Some(1),
            ..Faults::default()
        },
        ..Options::default()
    };
    let server = sandbox(options).await;
    let client = client_for(&server.base_url());
    let dir = tempfile::tempdir().unwrap();
    let door = plan(&desired(&["a@x.co", "b@x.co"], 1), &LiveDoor::default());

    let run = keep_logged(&door, &client, dir.path()).await;
    assert!(!run.is_complete());
    let outcomes: Vec<&str> = run.writes.iter().map(|w| w.outcome.kind()).collect();
    assert_eq!(outcomes, ["done", "failed", "not_sent"]);
    let (failed, _) = run.failed().unwrap();
    assert_eq!(failed.name, "allow-2");
    assert_eq!(run.interrupted, None);
    let records = records(&dir.path().join("audit.jsonl"));
    let recorded: Vec<(&str, &str, bool)> = records
        .iter()
        .map(|(_, name, outcome, error)| (name.as_str(), outcome.as_str(), error.is_some()))
        .collect();
    assert_eq!(
        recorded,
        [
            ("allow-1", "done", false),
            ("allow-2", "failed", true),
            ("People", "not_sent", false),
        ]
    );
    // Nothing was sent after the failure: no group.
    assert!(server.sandbox().groups().is_empty());
    server.shutdown().await;
}

#[tokio::test]
async fn a_signal_before_the_first_write_sends_nothing() {
    let server = sandbox(Options::default()).await;
    let client = client_for(&server.base_url());
    let door = plan(&desired(&["a@x.co"], 2), &LiveDoor::default());
    let (tx, mut rx) = watch::channel(Presses::default());
    tx.send_replace(Presses {
        count: 1,
        last: Signal::Terminate,
    });
    let run = keep(&door, &client, None, &context(), &mut rx).await;
    assert_eq!(run.interrupted, Some(Signal::Terminate));
    let outcomes: Vec<&str> = run.writes.iter().map(|w| w.outcome.kind()).collect();
    assert_eq!(outcomes, ["not_sent", "not_sent"]);
    assert!(server.sandbox().door_writes().is_empty());
    server.shutdown().await;
}

/// A fake API that takes a signal when the first write arrives, then answers it as made.
async fn pressing_fake(
    signals: watch::Sender<Presses>,
) -> (String, Arc<Mutex<usize>>, tokio::task::JoinHandle<()>) {
    let received = Arc::new(Mutex::new(0usize));
    let seen = Arc::clone(&received);
    let signals = Arc::new(signals);
    let app = axum::Router::new().fallback(move || {
        let (seen, signals) = (Arc::clone(&seen), Arc::clone(&signals));
        async move {
            *seen.lock().unwrap() += 1;
            signals.send_modify(|p| {
                *p = Presses {
                    count: 1,
                    last: Signal::Interrupt,
                }
            });
            let body = json!({"success": true, "errors": [], "messages": [],
                "result": {"id": uuid(1), "name": "allow-1", "type": "EMAIL"}});
            ([("content-type", "application/json")], body.to_string())
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (format!("http://{addr}/client/v4"), received, server)
}

#[tokio::test]
async fn a_signal_while_a_write_is_sent_stops_the_door_there_and_its_outcome_is_unknown() {
    let (tx, mut rx) = watch::channel(Presses::default());
    let (base, received, server) = pressing_fake(tx).await;
    let client = client_for(&base);
    let dir = tempfile::tempdir().unwrap();
    let door = plan(&desired(&["a@x.co"], 2), &LiveDoor::default());
    let mut log = AuditLog::open(&dir.path().join("audit.jsonl")).unwrap();
    let run = keep(&door, &client, Some(&mut log), &context(), &mut rx).await;
    assert_eq!(run.interrupted, Some(Signal::Interrupt));
    let outcomes: Vec<&str> = run.writes.iter().map(|w| w.outcome.kind()).collect();
    assert_eq!(outcomes, ["interrupted", "not_sent"]);
    assert_eq!(*received.lock().unwrap(), 1, "the group was not sent");
    let outcomes: Vec<String> = records(&dir.path().join("audit.jsonl"))
        .into_iter()
        .map(|r| r.2)
        .collect();
    assert_eq!(outcomes, ["interrupted", "not_sent"]);
    assert!(
        failure_words(&run)
            .contains("stopped by Ctrl-C while create list \"allow-1\" with 1 item was being sent"),
        "{}",
        failure_words(&run)
    );
    server.abort();
}
