//! What several commands do the same way: load the desired state, settle the account, build the
//! client, list and plan, warn once, and how `apply` gets its go-ahead.

use crate::cloudflare::{Client, GroupQuery};
use crate::commands::Error;
use crate::config::{self, Desired, DoorGroup};
use crate::date::{Clock, Date};
use crate::model::AccountId;
use crate::plan::door::DoorPlan;
use crate::plan::{self, Plan};
use crate::settings::Target;

/// Validate the desired state, settle the account, and build the client, for `apply -f FILES`,
/// which keeps the door: a `door:` section is kept in the desired state. Nothing is sent yet.
pub(crate) fn connect(target: &Target) -> Result<(Desired, Client), Error> {
    connect_showing_door(target)
}

/// [`connect`] for `plan`, which reads and shows the door: a `door:` section is kept in the
/// desired state. Nothing is sent yet.
pub(crate) fn connect_showing_door(target: &Target) -> Result<(Desired, Client), Error> {
    let desired = config::load(&target.files)?;
    let client = client_for(&desired, target)?;
    Ok((desired, client))
}

/// Read the door the `door:` section names (every list of the account, the items of the door's
/// lists, the group) and plan it against `desired` on `today`; `None` without a `door:`
/// section, and then nothing is sent. Only GETs: nothing is changed. The users' whole-plan
/// rails (`limits`, the users' plan's) also bound the people the door loses.
pub(crate) async fn plan_door(
    desired: &Desired,
    client: &Client,
    today: Date,
    limits: &plan::Limits,
) -> Result<Option<DoorPlan>, Error> {
    let Some(spec) = &desired.door else {
        return Ok(None);
    };
    let group = spec.group.as_ref().map(|g| match g {
        DoorGroup::Named { name, .. } => GroupQuery::Name(name.clone()),
        DoorGroup::Id { id, .. } => GroupQuery::Id(id.clone()),
    });
    tracing::info!(account = %client.account_id(), "reading the door's lists and group");
    let live = client
        .read_door(
            |id, name| spec.claims_list(id, name).is_some(),
            group.as_ref(),
        )
        .await
        // The API's words (what failed, and what to grant or do), then what it means for the
        // door: these are reads only, so a failed one changed nothing. Not `Error::Api`, whose
        // "nothing was deleted by this request" speaks of users.
        .map_err(Error::DoorRead)?;
    tracing::info!(
        account_lists = live.account_lists,
        door_lists = live.lists.len(),
        groups = live.groups.len(),
        "read the door"
    );
    let mut door = plan::door::compute(desired, &live, today);
    if let Some(door) = door.as_mut() {
        door.check_rails(limits);
    }
    Ok(door)
}

/// The client for the account `desired` (or the flag) names. Nothing is sent yet.
pub(crate) fn client_for(desired: &Desired, target: &Target) -> Result<Client, Error> {
    let account = account_for(desired, target.account_id.as_ref())?;
    let credentials = target.credentials.clone().ok_or_else(no_credentials)?;
    Ok(Client::with_config(
        &target.api_url,
        credentials,
        &account,
        target.client.clone(),
    )?)
}

pub(crate) fn no_credentials() -> Error {
    Error::Usage(
        "no Cloudflare credentials: set CLOUDFLARE_API_TOKEN (or CLOUDFLARE_EMAIL and CLOUDFLARE_API_KEY)".into(),
    )
}

/// The account comes from the files, or from `--account-id` / `CLOUDFLARE_ACCOUNT_ID`. When both
/// are set they must agree: an allowlist written for one account, applied to another, would delete
/// that account's users.
pub(crate) fn account_for(desired: &Desired, flag: Option<&AccountId>) -> Result<AccountId, Error> {
    match (desired.account_id.as_ref(), flag.cloned()) {
        (Some((file, _)), Some(flag)) if *file != flag => Err(Error::Usage(format!(
            "account mismatch: {} is for account {file}, but --account-id / CLOUDFLARE_ACCOUNT_ID says {flag}\n  help: run against the account the file is for, or unset CLOUDFLARE_ACCOUNT_ID",
            desired.account_id.as_ref().map(|(_, at)| at.to_string()).unwrap_or_default()
        ))),
        (Some((file, _)), _) => Ok(file.clone()),
        (None, Some(flag)) => Ok(flag),
        (None, None) => Err(Error::Usage(
            "no account id: set `account_id:` in the file, or pass --account-id (or CLOUDFLARE_ACCOUNT_ID)".into(),
        )),
    }
}

/// List every live user and compute the plan. Warnings go to the log.
pub(crate) async fn compute(
    desired: &Desired,
    client: &Client,
    overrides: &plan::Overrides,
    clock: Clock,
) -> Result<Plan, Error> {
    tracing::info!(account = %client.account_id(), "listing Access users");
    let listing = client.list_users().await?;
    tracing::info!(
        users = listing.users.len(),
        pages = listing.pages,
        requests = listing.requests,
        "listed Access users"
    );
    let policy = plan::Policy {
        overrides: overrides.clone(),
        ..plan::Policy::at(client.account_id(), clock.unix())
    };
    Ok(plan::compute_owned(desired, listing.users, &policy))
}

/// Warnings about the desired state, once per run, on stderr. The users held back are in the
/// plan itself (every format shows them, with the reason), so they are logged only at `-v`.
pub(crate) fn warn_about(desired: &Desired, plan: &Plan) {
    for warning in &desired.warnings {
        tracing::warn!("{warning}");
    }
    for held in &plan.held {
        tracing::info!(
            "{} is not on the allowlist but is held back: {}",
            held.label(),
            crate::render::words::reason(&held.reason)
        );
    }
}

/// How apply gets its go-ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Approval {
    Auto,
    Ask,
    /// No terminal to ask on and no --auto-approve: refuse.
    Impossible,
}

pub(crate) fn approval(auto_approve: bool, stdin_is_terminal: bool) -> Approval {
    match (auto_approve, stdin_is_terminal) {
        (true, _) => Approval::Auto,
        (false, true) => Approval::Ask,
        (false, false) => Approval::Impossible,
    }
}

/// Leave `value` for the end of the process instead of freeing it now: a command calls this
/// on its last line for what holds 100,000s of users (the listing, the desired state, the
/// plan), because freeing them one allocation at a time costs tens of milliseconds the
/// operating system spends on nothing when the process ends a moment later. Only for plain
/// data: nothing whose drop writes, flushes or unlocks (an audit log, a file, a lock).
pub(crate) fn leave_to_exit<T>(value: T) {
    std::mem::forget(value);
}

/// Seconds since the Unix epoch, now, by `clock`.
pub(crate) fn now_secs(clock: Clock) -> u64 {
    u64::try_from(clock.unix()).unwrap_or(0)
}
