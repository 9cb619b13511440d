//! Keeping the door in `apply`: the writes of a confirmed [`DoorPlan`], in the order a careful
//! person would send them, each recorded as it comes (in the audit log, one record a write, and
//! in the [`DoorRun`] the reports are rendered from).
//!
//! Order (see [`planned`]): the lists to create (POST, their addresses as first items; their ids
//! are then known), one PATCH per changed list with its appends and removals, then the group,
//! created or PUT with its include built from the now-known list ids and its exclude and require
//! sent back as they were read. The first write that fails (an error, or
//! [`crate::cloudflare::ApiError::Unconfirmed`]) stops it: nothing further is sent, the rest is
//! recorded as not sent, and the caller deletes nobody. An audit record that cannot be written
//! stops it the same way, before the next write.

use crate::audit::{AuditLog, DoorEntry, DoorRecorded};
use crate::cloudflare::Client;
use crate::model::door::DoorId;
use crate::plan::door::{DoorPlan, GroupPlan, GroupTarget, ListPlan, ListTarget};

use tokio::sync::watch;

use super::{AuditContext, Presses, Signal};

/// The first signal, once one came (at once when one came before); never, when the sender is gone.
async fn pressed(interrupts: &mut watch::Receiver<Presses>) -> Signal {
    loop {
        let presses = *interrupts.borrow_and_update();
        if presses.count > 0 {
            return presses.last;
        }
        if interrupts.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// What one door write is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DoorAction {
    CreateList,
    ChangeList,
    CreateGroup,
    ChangeGroup,
}

impl DoorAction {
    /// The stable name: the audit log's and the JSON report's.
    pub fn kind(self) -> &'static str {
        match self {
            DoorAction::CreateList => "create_list",
            DoorAction::ChangeList => "change_list",
            DoorAction::CreateGroup => "create_group",
            DoorAction::ChangeGroup => "change_group",
        }
    }
}

/// What happened to one door write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DoorOutcome {
    Done,
    /// The write failed, or its answer was lost and a read could not confirm it: the text says
    /// which.
    Failed(String),
    /// Not sent: an earlier write failed.
    NotSent,
    /// Ctrl-C or SIGTERM came while the write was being sent: whether it was made is unknown.
    Interrupted,
}

impl DoorOutcome {
    pub fn kind(&self) -> &'static str {
        match self {
            DoorOutcome::Done => "done",
            DoorOutcome::Failed(_) => "failed",
            DoorOutcome::Interrupted => "interrupted",
            DoorOutcome::NotSent => "not_sent",
        }
    }
}

/// One write of the door, as planned and as it went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoorWrite {
    pub action: DoorAction,
    /// The list's or the group's name, as the plan has it (not escaped: the renderers escape).
    pub name: String,
    /// The list's or the group's id: known for an existing one, and for a created one once the
    /// API gave it.
    pub id: Option<String>,
    /// A list's addresses appended.
    pub added: Vec<String>,
    /// A list's items removed, as the list held them.
    pub removed: Vec<String>,
    /// The group's include as sent (or to be sent: list ids not known yet are left out), as the
    /// API takes it.
    pub include: Vec<serde_json::Value>,
    pub outcome: DoorOutcome,
    /// Done, but an answer was lost on the way: reading back found the change made (or, for
    /// the group's PUT, a later attempt made it).
    pub answer_lost: bool,
}

impl DoorWrite {
    /// For people: `create list "NAME" with 3 items`, `change list "NAME" (+1 -2)`, ...
    pub fn describe(&self) -> String {
        let name = crate::text::printable(&self.name);
        match self.action {
            DoorAction::CreateList => format!(
                "create list \"{name}\" with {}",
                crate::text::count(self.added.len(), "item")
            ),
            DoorAction::ChangeList => format!(
                "change list \"{name}\" (+{} -{})",
                self.added.len(),
                self.removed.len()
            ),
            DoorAction::CreateGroup => format!("create group \"{name}\""),
            DoorAction::ChangeGroup => format!("change group \"{name}\" (include)"),
        }
    }

    /// [`DoorWrite::describe`], and how a write done went when its answer was lost.
    pub fn describe_done(&self) -> String {
        if self.answer_lost {
            format!(
                "{} (answer lost; reading back found it made)",
                self.describe()
            )
        } else {
            self.describe()
        }
    }
}

/// The door writes of one apply, in the order they were (or would have been) sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DoorRun {
    pub writes: Vec<DoorWrite>,
    /// The audit log could not be written: the text says why. No write was sent after it.
    pub audit_error: Option<String>,
    /// Ctrl-C or SIGTERM stopped the writes.
    pub interrupted: Option<Signal>,
}

impl DoorRun {
    /// Every write done and every record written: the users may be deleted.
    pub fn is_complete(&self) -> bool {
        self.audit_error.is_none()
            && self.interrupted.is_none()
            && self.writes.iter().all(|w| w.outcome == DoorOutcome::Done)
    }

    pub fn done(&self) -> impl Iterator<Item = &DoorWrite> {
        self.writes
            .iter()
            .filter(|w| w.outcome == DoorOutcome::Done)
    }

    /// The write that failed, with why.
    pub fn failed(&self) -> Option<(&DoorWrite, &str)> {
        self.writes.iter().find_map(|w| match &w.outcome {
            DoorOutcome::Failed(why) => Some((w, why.as_str())),
            _ => None,
        })
    }

    pub fn not_sent(&self) -> impl Iterator<Item = &DoorWrite> {
        self.writes
            .iter()
            .filter(|w| w.outcome == DoorOutcome::NotSent)
    }
}

/// The writes `door` needs, in the order they are sent, none sent yet: what a saved plan
/// records for review, and compares with the door's plan at apply time.
pub fn planned_writes(door: &DoorPlan) -> Vec<DoorWrite> {
    planned(door).into_iter().map(|(w, _)| w).collect()
}

/// The writes `door` needs, in the order they are sent, all still [`DoorOutcome::NotSent`],
/// each with the index of its list (`None` for the group).
///
/// The lists to create come first, so that an address that moves to a new list (a lowered
/// capacity) is in it before a PATCH takes it out of its old list; then one PATCH per changed
/// list, those that take addresses out that another list takes in last (an address moving to
/// an existing list with room is in it before it leaves its old one); the group last, once
/// every list it names exists. A door stopped between the PATCH and
/// the group (its write failed) leaves such a moved address out until the next apply: the run
/// says so, and deletes nobody.
fn planned(door: &DoorPlan) -> Vec<(DoorWrite, Option<usize>)> {
    // Every address appended somewhere: a list that removes one of them is where it moves
    // from, and is written after the lists that take it in (an existing list with room, not
    // only a new one), so that a failed write never leaves an allowed address in no list.
    let appended: std::collections::HashSet<String> = door
        .lists
        .iter()
        .flat_map(|l| l.append.iter().map(|a| a.email.as_str().to_lowercase()))
        .collect();
    let pass = |l: &ListPlan| match l.target {
        ListTarget::Create { .. } => 0,
        ListTarget::Existing { .. }
            if l.remove
                .iter()
                .any(|r| appended.contains(&r.value.trim().to_lowercase())) =>
        {
            2
        }
        ListTarget::Existing { .. } => 1,
    };
    let mut writes = Vec::new();
    for this_pass in 0..3 {
        for (i, list) in door.lists.iter().enumerate() {
            if list.has_changes() && pass(list) == this_pass {
                writes.push((list_write(list), Some(i)));
            }
        }
    }
    writes.extend(group_write(door));
    writes
}

/// The group's write, when the group changes.
fn group_write(door: &DoorPlan) -> Option<(DoorWrite, Option<usize>)> {
    let g = door.group.as_ref().filter(|g| g.has_changes())?;
    let (action, name, id) = match &g.target {
        GroupTarget::Create { name } => (DoorAction::CreateGroup, name, None),
        GroupTarget::Existing { id, name } => (DoorAction::ChangeGroup, name, Some(id.to_string())),
    };
    let write = DoorWrite {
        action,
        name: name.clone(),
        id,
        added: Vec::new(),
        removed: Vec::new(),
        include: include_json(g, &known_ids(door)),
        outcome: DoorOutcome::NotSent,
        answer_lost: false,
    };
    Some((write, None))
}

fn list_write(list: &ListPlan) -> DoorWrite {
    let (action, id) = match &list.target {
        ListTarget::Create { .. } => (DoorAction::CreateList, None),
        ListTarget::Existing { id, .. } => (DoorAction::ChangeList, Some(id.to_string())),
    };
    DoorWrite {
        action,
        name: list.target.name().to_string(),
        id,
        added: list
            .append
            .iter()
            .map(|a| a.email.as_str().to_string())
            .collect(),
        removed: list.remove.iter().map(|r| r.value.clone()).collect(),
        include: Vec::new(),
        outcome: DoorOutcome::NotSent,
        answer_lost: false,
    }
}

/// Each list's id as far as it is known: existing lists', `None` for those to create.
fn known_ids(door: &DoorPlan) -> Vec<Option<DoorId>> {
    door.lists
        .iter()
        .map(|l| match &l.target {
            ListTarget::Existing { id, .. } => Some(id.clone()),
            ListTarget::Create { .. } => None,
        })
        .collect()
}

/// The group's include as the API takes it, leaving out the lists whose ids are not known.
fn include_json(g: &GroupPlan, ids: &[Option<DoorId>]) -> Vec<serde_json::Value> {
    g.include
        .iter()
        .filter_map(|r| r.to_rule(ids))
        .map(|r| r.to_json())
        .collect()
}

/// Write the door as planned (see the module's documentation), recording each write in
/// `audit` as its outcome is known.
pub async fn keep(
    door: &DoorPlan,
    client: &Client,
    mut audit: Option<&mut AuditLog>,
    context: &AuditContext,
    interrupts: &mut watch::Receiver<Presses>,
) -> DoorRun {
    let mut ids = known_ids(door);
    let mut run = DoorRun::default();
    let mut stopped = false;
    for (mut write, list) in planned(door) {
        // Ctrl-C or SIGTERM before this write: it and the rest are not sent.
        if !stopped && interrupts.borrow().count > 0 {
            run.interrupted = Some(interrupts.borrow().last);
            stopped = true;
        }
        if !stopped {
            if let (None, Some(g)) = (list, door.group.as_ref()) {
                write.include = include_json(g, &ids);
            }
            let sending = async {
                match list {
                    Some(i) => write_list(&door.lists[i], client).await,
                    None => match door.group.as_ref() {
                        Some(g) => write_group(g, &ids, client).await.map(|lost| (None, lost)),
                        None => Ok((None, false)),
                    },
                }
            };
            // A signal while the write is sent (or waits for the rate limit) stops the run
            // there: the write's outcome is unknown, and nothing more is sent.
            let sent = tokio::select! {
                biased;
                signal = pressed(interrupts) => {
                    run.interrupted = Some(signal);
                    None
                }
                sent = sending => Some(sent),
            };
            write.outcome = match sent {
                None => DoorOutcome::Interrupted,
                Some(Ok((created, lost))) => {
                    if let (Some(i), Some(id)) = (list, created) {
                        write.id = Some(id.to_string());
                        ids[i] = Some(id);
                    }
                    write.answer_lost = lost;
                    DoorOutcome::Done
                }
                Some(Err(why)) => DoorOutcome::Failed(why),
            };
            stopped = write.outcome != DoorOutcome::Done;
        }
        if let Some(log) = audit.as_deref_mut() {
            if run.audit_error.is_none() {
                if let Err(e) = log.append_door(&entry(&write, &door.live_fingerprint, context)) {
                    run.audit_error = Some(e.to_string());
                    stopped = true;
                }
            }
        }
        run.writes.push(write);
    }
    if let (Some(log), None) = (audit, &run.audit_error) {
        if let Err(e) = log.sync() {
            run.audit_error = Some(e.to_string());
        }
    }
    run
}

fn entry<'a>(
    write: &'a DoorWrite,
    door_fingerprint: &'a str,
    context: &'a AuditContext,
) -> DoorEntry<'a> {
    DoorEntry {
        time: context.clock.rfc3339_millis(),
        run: &context.run_id,
        account: &context.account,
        action: write.action.kind(),
        name: &write.name,
        id: write.id.as_deref(),
        added: &write.added,
        removed: &write.removed,
        include: &write.include,
        outcome: match &write.outcome {
            DoorOutcome::Done if write.answer_lost => DoorRecorded::DoneAnswerLost,
            DoorOutcome::Done => DoorRecorded::Done,
            DoorOutcome::Failed(_) => DoorRecorded::Failed,
            DoorOutcome::Interrupted => DoorRecorded::Interrupted,
            DoorOutcome::NotSent => DoorRecorded::NotSent,
        },
        error: match &write.outcome {
            DoorOutcome::Failed(why) => Some(why),
            _ => None,
        },
        desired_digest: &context.desired_digest,
        door_fingerprint,
        actor: &context.actor,
    }
}

/// Create or PATCH one list; a created list's id, and whether an answer was lost.
async fn write_list(list: &ListPlan, client: &Client) -> Result<(Option<DoorId>, bool), String> {
    let append: Vec<(String, Option<String>)> = list
        .append
        .iter()
        .map(|a| (a.email.as_str().to_string(), Some(a.description.clone())))
        .collect();
    match &list.target {
        ListTarget::Create { name } => {
            let created = client
                .create_list(name, None, &append)
                .await
                .map_err(|e| e.to_string())?;
            match DoorId::parse(&created.value.id) {
                Some(id) => Ok((Some(id), created.answer_lost)),
                // The group would name a list by an id that is not one: nothing more is sent.
                None => Err(format!(
                    "the API created the list but gave it an id that is not one: {}",
                    crate::text::printable(&created.value.id)
                )),
            }
        }
        ListTarget::Existing { id, .. } => {
            let remove: Vec<String> = list.remove.iter().map(|r| r.value.clone()).collect();
            client
                .patch_list(id, &append, &remove)
                .await
                .map(|w| (None, w.answer_lost))
                .map_err(|e| e.to_string())
        }
    }
}

/// Create or PUT the door's group with its include built from the lists' ids; whether an
/// answer was lost.
async fn write_group(
    g: &GroupPlan,
    ids: &[Option<DoorId>],
    client: &Client,
) -> Result<bool, String> {
    let include: Option<Vec<_>> = g.include.iter().map(|r| r.to_rule(ids)).collect();
    let Some(include) = include else {
        // Every list to create was created before the group is written; a missing id is a bug,
        // and the group is not sent without a list it should name.
        return Err("a door list has no id: the group was not sent".into());
    };
    match &g.target {
        GroupTarget::Create { name } => client
            .create_group(name, &include)
            .await
            .map(|w| w.answer_lost),
        GroupTarget::Existing { id, name } => client
            .put_group(id, name, &include, &g.exclude, &g.require)
            .await
            .map(|w| w.answer_lost),
    }
    .map_err(|e| e.to_string())
}

/// The words for a door run that stopped: what was done, what failed, what was not sent.
pub fn failure_words(run: &DoorRun) -> String {
    let mut text = match (run.failed(), &run.audit_error) {
        (Some((w, why)), _) => format!(
            "the door was not fully kept: {} failed: {why}",
            w.describe()
        ),
        (None, Some(e)) => {
            format!("the door was not fully kept: the audit log could not be written: {e}")
        }
        (None, None) if run.interrupted.is_some() => {
            let signal = run.interrupted.unwrap_or(Signal::Interrupt);
            match run.writes.iter().find(|w| w.outcome == DoorOutcome::Interrupted) {
                Some(w) => format!(
                    "the door was not fully kept: stopped by {signal} while {} was being sent: whether it was made is unknown (`reconcile plan` shows the door as it is)",
                    w.describe()
                ),
                None => format!("the door was not fully kept: stopped by {signal}"),
            }
        }
        (None, None) => "the door was not fully kept".to_string(),
    };
    let list = |text: &mut String, head: &str, steps: Vec<String>| {
        text.push_str(&format!("\n  {head}:"));
        if steps.is_empty() {
            text.push_str(" none");
        }
        for s in steps {
            text.push_str(&format!("\n    - {s}"));
        }
    };
    list(
        &mut text,
        "door writes done",
        run.done().map(DoorWrite::describe_done).collect(),
    );
    list(
        &mut text,
        "door writes not sent",
        run.not_sent().map(DoorWrite::describe).collect(),
    );
    text.push_str("\n  help: no user was deleted; run `reconcile plan` again to see the door as it is now, then apply");
    text
}

#[cfg(test)]
#[path = "door_tests.rs"]
mod door_tests;
