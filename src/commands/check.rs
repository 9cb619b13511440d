//! `reconcile check`: a preflight before a first (or scheduled) apply. Read-only and quick: a
//! token verification (one or two GETs) and one page of one user, each sent once, never a
//! DELETE. It reports what it found (`render::check` words it) and what it cannot know without
//! deleting, and fails (exit 1) when anything it checked is wrong. With a `door:` section it also
//! reads the door (the lists, their items, the group) as `plan` does, with GETs only, and reads
//! the token's own permissions for the door's writes when the token may (its details, one GET);
//! when it may not, it says the writes cannot be checked without writing.

use std::time::Duration;

use crate::cloudflare::{ApiError, Client, GroupQuery, TokenInfo, VerifiedAt};
use crate::commands::shared::{account_for, no_credentials};
use crate::commands::{Error, Exit, Streams};
use crate::config::{Desired, DoorGroup};
use crate::date::parse_timestamp;
use crate::date::Date;
use crate::model::door::LiveDoor;
use crate::plan::door::DoorError;
use crate::render::check::{
    self, AccountFailure, DoorWrite, Finding, GROUPS_WRITE, ZERO_TRUST_WRITE,
};
use crate::render::door;
use crate::render::Palette;
use crate::settings::Target;

/// The client's settings for a preflight: it reports what it meets; it does not wait out a
/// block, and an API that accepts the connection but never answers is reported in seconds, not
/// minutes.
fn preflight(client: &crate::cloudflare::ClientConfig) -> crate::cloudflare::ClientConfig {
    crate::cloudflare::ClientConfig {
        max_wait: client.max_wait.min(Duration::from_secs(5)),
        request_timeout: client.request_timeout.min(CHECK_REQUEST_TIMEOUT),
        connect_timeout: client.connect_timeout.min(CHECK_REQUEST_TIMEOUT),
        ..client.clone()
    }
}

/// The longest `check` waits for one answer (the commands that delete wait longer: a slow
/// answer there is worth waiting for).
const CHECK_REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

pub(crate) async fn run(
    target: Target,
    json: bool,
    palette: Palette,
    streams: &mut Streams<'_>,
) -> Result<Exit, Error> {
    // The files are read for their account id and their `door:` section: a check needs no
    // allowlist. A `door:` section adds the door's reads (GETs only).
    let (account, desired) = if target.files.is_empty() {
        let account = target.account_id.clone().ok_or_else(|| {
            Error::Usage(
                "no account id: pass -f with the desired-state files, or --account-id (or CLOUDFLARE_ACCOUNT_ID)".into(),
            )
        })?;
        (account, None)
    } else {
        let desired = crate::config::load(&target.files)?;
        (
            account_for(&desired, target.account_id.as_ref())?,
            Some(desired),
        )
    };
    let credentials = target.credentials.clone().ok_or_else(no_credentials)?;
    let config = preflight(&target.client);
    let client = Client::with_config(&target.api_url, credentials, &account, config)?;
    let now = target.clock.unix();

    let mut findings = Vec::new();
    // Requests sent, for what the rate-limit headers say others spent: one or two
    // verifications, then the one-user listing.
    let mut sent = 1;
    // The verified token, for reading its own permissions (the door's write check).
    let mut token: Option<TokenInfo> = None;
    findings.push(if client.uses_token() {
        let verified = client.verify_token().await;
        sent += match &verified {
            Ok(info) if info.at == VerifiedAt::Account => 1,
            _ => 2,
        };
        match verified {
            Ok(info) => {
                token = Some(info.clone());
                let route = match info.at {
                    VerifiedAt::Account => "/accounts/{account_id}/tokens/verify",
                    VerifiedAt::User => "/user/tokens/verify",
                };
                let not_yet = info
                    .not_before
                    .as_deref()
                    .and_then(parse_timestamp)
                    .is_some_and(|at| at > now);
                // A date that does not read says nothing: not "never", not "now".
                let unread = [
                    ("expires_on", info.expires_on.as_deref()),
                    ("not_before", info.not_before.as_deref()),
                ]
                .into_iter()
                .find_map(|(field, value)| {
                    value
                        .filter(|v| parse_timestamp(v).is_none())
                        .map(|v| (field, v.to_string()))
                });
                if info.status != "active" {
                    Finding::TokenInactive {
                        id: info.id,
                        status: info.status,
                    }
                } else if let Some((field, value)) = unread {
                    Finding::TokenDateUnread {
                        id: info.id,
                        route,
                        field,
                        value,
                    }
                } else if not_yet {
                    Finding::TokenNotYet {
                        id: info.id,
                        not_before: info.not_before.unwrap_or_default(),
                    }
                } else {
                    let expires = info.expires_on.as_deref().and_then(|on| {
                        parse_timestamp(on).map(|at| (on.to_string(), at.saturating_sub(now)))
                    });
                    match expires {
                        Some((on, left)) if left <= 0 => Finding::TokenInactive {
                            id: info.id,
                            status: format!("expired (on {on})"),
                        },
                        expires => Finding::TokenActive {
                            id: info.id,
                            route,
                            expires,
                        },
                    }
                }
            }
            Err(e) if e.is_auth() || e.codes().contains(&1000) => Finding::TokenRefused {
                error: e.to_string(),
            },
            Err(e) => Finding::TokenUnverified {
                error: e.to_string(),
            },
        }
    } else {
        Finding::LegacyKey
    });
    match client.probe_users().await {
        Ok(probe) => {
            findings.push(Finding::Account {
                total: probe.total_count,
            });
            findings.push(Finding::RateLimit {
                policy: probe.policy.map(|p| (p.quota, p.window.as_secs())),
                remaining: probe.remaining.map(|(left, reset)| (left, reset.as_secs())),
                sent,
            });
        }
        Err(e) => findings.push(Finding::AccountFailed {
            why: failure(&e),
            error: e.to_string(),
        }),
    }
    findings.push(Finding::DeletePermission);
    if let Some(desired) = &desired {
        check_door(
            desired,
            &client,
            token.as_ref(),
            target.clock.today(),
            &mut findings,
        )
        .await;
    }

    let shown = crate::cloudflare::shown_base(&target.api_url);
    if json {
        check::json(account.as_str(), &shown, &findings, streams.stdout)?;
    } else {
        check::human(account.as_str(), &shown, &findings, streams.stdout, palette)?;
    }
    match check::failed(&findings) {
        0 => Ok(Exit::Success),
        failed => Err(Error::CheckFailed { failed }),
    }
}

/// The door's reads, as `plan` does them (every list of the account, the items of the door's
/// lists, the group the section names), each reported; when both read, the door's plan on
/// `today`, which fails the check when `plan` would refuse it (an id that names nothing, a list
/// that is not EMAIL, a name two groups carry...); then whether the credentials may write
/// them, which only the token's own details can say (read when it holds API Tokens Read;
/// unknown otherwise, never a failure). GETs only: nothing is changed.
async fn check_door(
    desired: &Desired,
    client: &Client,
    token: Option<&TokenInfo>,
    today: Date,
    findings: &mut Vec<Finding>,
) {
    let Some(spec) = &desired.door else {
        return;
    };
    tracing::info!(account = %client.account_id(), "reading the door's lists and group");
    let lists = client
        .read_door(|id, name| spec.claims_list(id, name).is_some(), None)
        .await;
    findings.push(match &lists {
        Ok(live) => Finding::DoorLists {
            account_lists: live.account_lists,
            door_lists: live.lists.len(),
            entries: live.lists.iter().map(|l| l.items.len()).sum(),
        },
        Err(e) => Finding::DoorListsFailed {
            error: e.to_string(),
        },
    });
    let groups = match &spec.group {
        None => Some(Vec::new()),
        Some(group) => {
            let (query, named, by_id) = match group {
                DoorGroup::Named { name, .. } => {
                    (GroupQuery::Name(name.clone()), format!("\"{name}\""), false)
                }
                DoorGroup::Id { id, .. } => (GroupQuery::Id(id.clone()), format!("id {id}"), true),
            };
            match client.read_group(&query).await {
                Ok(found) => {
                    findings.push(Finding::DoorGroup {
                        named,
                        found: found.len(),
                        by_id,
                    });
                    Some(found)
                }
                Err(e) => {
                    findings.push(Finding::DoorGroupFailed {
                        error: e.to_string(),
                    });
                    None
                }
            }
        }
    };
    if let (Ok(live), Some(groups)) = (lists, groups) {
        let live = LiveDoor { groups, ..live };
        if let Some(plan) = crate::plan::door::compute(desired, &live, today) {
            // A `group.id` that names nothing is `door_group`'s failure already: once is enough.
            let errors: Vec<String> = plan
                .errors
                .iter()
                .filter(|e| !matches!(e, DoorError::GroupNotFound { .. }))
                .map(|e| door::line(&door::error_pieces(&plan, e)))
                .collect();
            if !errors.is_empty() {
                findings.push(Finding::DoorRefused { errors });
            }
        }
    }
    let group = spec.group.is_some();
    findings.push(Finding::DoorWritePermission {
        group,
        verified: door_write(client, token, group).await,
    });
}

/// What the token's details say of the door's write permissions: Zero Trust Write, and the
/// groups' Write when the section names a group. One GET, sent only with a verified token id.
async fn door_write(client: &Client, token: Option<&TokenInfo>, group: bool) -> DoorWrite {
    let Some(token) = token.filter(|t| t.status == "active") else {
        return DoorWrite::NotAsked;
    };
    tracing::info!("reading the token's own permissions (its details)");
    match client.token_policies(token).await {
        Ok(policies) => {
            let needed: &[&'static str] = if group {
                &[ZERO_TRUST_WRITE, GROUPS_WRITE]
            } else {
                &[ZERO_TRUST_WRITE]
            };
            let missing = crate::cloudflare::missing_permissions(
                &policies,
                client.account_id().as_str(),
                needed,
            );
            if missing.is_empty() {
                DoorWrite::Granted
            } else {
                DoorWrite::Missing(missing)
            }
        }
        Err(e) if e.codes().contains(&10000) => DoorWrite::Unread {
            refused: true,
            error: None,
        },
        Err(e) => DoorWrite::Unread {
            refused: false,
            error: Some(e.to_string()),
        },
    }
}

/// What a failed one-user listing means.
fn failure(e: &ApiError) -> AccountFailure {
    if e.is_route() {
        AccountFailure::Route
    } else if e.is_not_enabled() {
        AccountFailure::NotEnabled
    } else if e.codes().contains(&10000) {
        AccountFailure::NoAccess
    } else if e.is_auth() {
        AccountFailure::Credentials
    } else if e.is_rate_limited() {
        AccountFailure::RateLimited
    } else if matches!(e, ApiError::Transport { .. }) {
        AccountFailure::Unreachable
    } else {
        AccountFailure::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_preflight_waits_seconds_not_minutes_and_keeps_shorter_settings() {
        let defaults = crate::cloudflare::ClientConfig::default();
        let p = preflight(&defaults);
        assert_eq!(p.request_timeout, CHECK_REQUEST_TIMEOUT);
        assert_eq!(p.connect_timeout, Duration::from_secs(10));
        assert_eq!(p.max_wait, Duration::from_secs(5));
        let short = crate::cloudflare::ClientConfig {
            request_timeout: Duration::from_secs(2),
            ..defaults
        };
        assert_eq!(preflight(&short).request_timeout, Duration::from_secs(2));
    }
}
