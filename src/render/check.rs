//! The words of `reconcile check`: what each finding means, in the human report and in the
//! JSON one (`format_version` 1), and whether it passes. The command gathers the [`Finding`]s
//! (facts only); this module decides nothing but the words and each finding's [`Status`].

use std::io::{self, Write};

use serde_json::json;

use super::Palette;

/// Tokens that expire within this many days are a warning: a weekly schedule would meet them.
pub(crate) const EXPIRY_WARNING_DAYS: i64 = 7;

/// What the check found, one fact per finding.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Finding {
    /// The token verified active. `route` is the verification path that answered;
    /// `expires`: its `expires_on` and the seconds left, when it has one.
    TokenActive {
        id: String,
        route: &'static str,
        expires: Option<(String, i64)>,
    },
    /// The token verified, but not active (`expired`, `disabled`, or an unknown word).
    TokenInactive { id: String, status: String },
    /// Active, but not yet valid (`not_before` in the future).
    TokenNotYet { id: String, not_before: String },
    /// Active, but one of its dates (`field`) does not read as a timestamp: when it is valid is
    /// not known.
    TokenDateUnread {
        id: String,
        route: &'static str,
        field: &'static str,
        value: String,
    },
    /// The verification refused the token: its error.
    TokenRefused { error: String },
    /// The verification could not be done (network, a wrong base URL, a server error).
    TokenUnverified { error: String },
    /// A legacy email and global key: token verification does not apply.
    LegacyKey,
    /// The account lists: Access is enabled; the count when the API gave one.
    Account { total: Option<u64> },
    /// Listing one user failed. `why` is what the error means.
    AccountFailed { why: AccountFailure, error: String },
    /// The rate-limit headers of the one-user listing: `(quota, window seconds)` and
    /// `(left, seconds to reset)`.
    RateLimit {
        policy: Option<(u32, u64)>,
        remaining: Option<(u32, u64)>,
        /// Requests this check sent before the one the headers came with, itself included.
        sent: u32,
    },
    /// The DELETE permission cannot be checked without deleting.
    DeletePermission,
    /// The door's lists read (`GET …/gateway/lists`, then the items of each door list):
    /// how many lists the account holds, how many are the door's, and their entries.
    DoorLists {
        account_lists: usize,
        door_lists: usize,
        entries: usize,
    },
    /// Reading the lists (or a door list's items) failed: the error.
    DoorListsFailed { error: String },
    /// The door's group read: what the section names (`"NAME"` or `id ID`), how many groups
    /// answered to it, and whether it names it by id (an id must name a group).
    DoorGroup {
        named: String,
        found: usize,
        by_id: bool,
    },
    /// Reading the group failed: the error.
    DoorGroupFailed { error: String },
    /// The door read, but `plan` would refuse its plan: each error, worded as `plan` words it.
    DoorRefused { errors: Vec<String> },
    /// Whether the credentials may change the door. `group`: the section names a group.
    /// `verified`: what the token's own details said (API-additions §2c/2d).
    DoorWritePermission { group: bool, verified: DoorWrite },
}

/// What the token's details say of the door's write permissions.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum DoorWrite {
    /// Not asked: no active verified token (a legacy key, a failed verification, a token
    /// that is not active), so no token id to read the details of.
    NotAsked,
    /// The details call failed. `refused`: it answered 403 code 10000 (the token lacks API
    /// Tokens Read); `error`: the error otherwise.
    Unread {
        refused: bool,
        error: Option<String>,
    },
    /// The token's policies grant every permission the door needs on the account.
    Granted,
    /// The token's policies do not grant these (names as Cloudflare's permission groups).
    Missing(Vec<&'static str>),
}

/// The permission group the door's lists need (the docs' name; the spec names none,
/// API-additions §4.3).
pub(crate) const ZERO_TRUST_WRITE: &str = "Zero Trust Write";
/// The permission group the door's group needs (API-additions §3.1).
pub(crate) const GROUPS_WRITE: &str = "Access: Organizations, Identity Providers, and Groups Write";

/// Why the account could not be listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AccountFailure {
    /// Code 9999: Zero Trust Access is not enabled.
    NotEnabled,
    /// Code 10000: the credentials cannot see the account, or lack Access: Audit Logs Read.
    NoAccess,
    /// The base URL is not the API's (7000, "No route").
    Route,
    /// The credentials were refused (9109, 9103, 1000…).
    Credentials,
    /// Rate limited now.
    RateLimited,
    /// No answer: the connection failed, timed out or was cut.
    Unreachable,
    /// Anything else.
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Ok,
    Warn,
    Fail,
    /// Cannot be checked from here.
    Unknown,
}

impl Status {
    fn word(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Unknown => "unknown",
        }
    }
}

/// One finding, worded: its name, status, what it says and what to do.
struct Item {
    name: &'static str,
    status: Status,
    detail: String,
    help: Option<String>,
}

/// The permissions the door's reads need (the lists' are the docs' names: Cloudflare's spec
/// names none for the lists, API-additions §4.3).
const DOOR_LISTS_READ: &str = "grant the token Zero Trust Read (to read the door's lists) and Zero Trust Write (for apply to change them); Cloudflare's spec names no permission for the lists, its docs name these; then run check again";
const DOOR_GROUP_READ: &str = "grant the token Access: Organizations, Identity Providers, and Groups Read (to read the door's group) and Access: Organizations, Identity Providers, and Groups Write (for apply to change it); then run check again";

const DELETE_PERMISSION: &str = "grant the token Access: Users Write for apply (Cloudflare's spec names no permission for this DELETE; Users Write is the one its permission catalog lists for Access users; if a DELETE is still refused, add Zero Trust: Seats Write); apply's first DELETE goes alone, so a missing permission costs one refused request";

fn days(seconds: i64) -> i64 {
    (seconds as f64 / 86_400.0).round() as i64
}

/// The finding worded, every text the API sent made safe to print (a token id, a date, a
/// status, an error message: a hostile or broken API must not reach the terminal raw).
fn item(f: &Finding) -> Item {
    let mut i = worded(f);
    i.detail = crate::text::printable(&i.detail);
    i.help = i.help.map(|h| crate::text::printable(&h));
    i
}

fn worded(f: &Finding) -> Item {
    let new_token = Some("create a new API token (My Profile > API Tokens) with Access: Audit Logs Read and Access: Users Write, and set CLOUDFLARE_API_TOKEN to it".to_string());
    match f {
        Finding::TokenActive {
            id,
            route,
            expires: None,
        } => Item {
            name: "token",
            status: Status::Ok,
            detail: format!("token {id} is active (verified at {route}); it does not expire"),
            help: None,
        },
        Finding::TokenActive {
            id,
            route,
            expires: Some((on, left)),
        } if *left <= EXPIRY_WARNING_DAYS * 86_400 => Item {
            name: "token",
            status: Status::Warn,
            detail: if *left < 86_400 {
                format!("token {id} is active (verified at {route}) but expires in less than a day ({on})")
            } else {
                format!("token {id} is active (verified at {route}) but expires in {} days ({on})", days(*left))
            },
            help: Some("renew the token (or create a new one) before the next scheduled apply".into()),
        },
        Finding::TokenActive {
            id,
            route,
            expires: Some((on, left)),
        } => Item {
            name: "token",
            status: Status::Ok,
            detail: format!(
                "token {id} is active (verified at {route}); it expires in {} days ({on})",
                days(*left)
            ),
            help: None,
        },
        Finding::TokenInactive { id, status } => Item {
            name: "token",
            status: Status::Fail,
            detail: format!(
                "token {id} is {}: the API will refuse it",
                crate::text::printable(status)
            ),
            help: new_token,
        },
        Finding::TokenNotYet { id, not_before } => Item {
            name: "token",
            status: Status::Fail,
            detail: format!(
                "token {id} is not valid before {}",
                crate::text::printable(not_before)
            ),
            help: Some("wait until then, or create a token without a start date".into()),
        },
        Finding::TokenDateUnread {
            id,
            route,
            field,
            value,
        } => Item {
            name: "token",
            status: Status::Warn,
            detail: format!(
                "token {id} is active (verified at {route}) but its {field} ({value:?}) does not read as a date: when it is valid is not known"
            ),
            help: Some("check the token's dates in the dashboard (My Profile > API Tokens), or create a new token".into()),
        },
        Finding::TokenRefused { error } => Item {
            name: "token",
            status: Status::Fail,
            detail: format!("the token verification failed: {}", first_line(error)),
            help: Some(
                "check CLOUDFLARE_API_TOKEN: it is not a valid API token (a revoked or mistyped one, or a global API key, which goes in CLOUDFLARE_API_KEY with CLOUDFLARE_EMAIL)".into(),
            ),
        },
        Finding::TokenUnverified { error } => Item {
            name: "token",
            status: Status::Fail,
            detail: format!("the token could not be verified: {}", first_line(error)),
            help: Some("see the error (and the account check below, which may say more); --api-url / CLOUDFLARE_BASE_URL must be https://api.cloudflare.com/client/v4".into()),
        },
        Finding::LegacyKey => Item {
            name: "token",
            status: Status::Unknown,
            detail: "a legacy email and global API key: verification applies to API tokens only".into(),
            help: Some("prefer a scoped API token: a global key carries every permission of its user".into()),
        },
        Finding::Account { total } => Item {
            name: "account",
            status: Status::Ok,
            detail: match total {
                Some(n) => format!("the account lists, Zero Trust Access is enabled; {n} Access users"),
                None => "the account lists, Zero Trust Access is enabled; the user count is not reported by the API".into(),
            },
            help: None,
        },
        Finding::AccountFailed { why, error } => {
            let (detail, help) = match why {
                AccountFailure::NotEnabled => (
                    "Zero Trust Access is not enabled on this account".to_string(),
                    "enable Zero Trust on the account in the Cloudflare dashboard (Zero Trust, then choose a plan), then run check again".to_string(),
                ),
                AccountFailure::NoAccess => (
                    "the credentials cannot see this account's Access users: the account id is wrong, or the token lacks Access: Audit Logs Read".to_string(),
                    "check the account id (--account-id, or account_id in the file), and grant the token Access: Audit Logs Read on this account".to_string(),
                ),
                AccountFailure::Route => (
                    "the API base URL does not look like Cloudflare's API".to_string(),
                    "--api-url / CLOUDFLARE_BASE_URL must end in /client/v4 (https://api.cloudflare.com/client/v4)".to_string(),
                ),
                AccountFailure::Credentials => (
                    "the API refused the credentials".to_string(),
                    "check CLOUDFLARE_API_TOKEN (or CLOUDFLARE_EMAIL and CLOUDFLARE_API_KEY)".to_string(),
                ),
                AccountFailure::RateLimited => (
                    "the API is rate-limiting these credentials now, so the account was not checked".to_string(),
                    "wait for the block to end (Cloudflare blocks for up to five minutes), then run check again".to_string(),
                ),
                AccountFailure::Unreachable => (
                    "the API could not be reached".to_string(),
                    "check the network (a proxy, a firewall, DNS) and --api-url / CLOUDFLARE_BASE_URL (https://api.cloudflare.com/client/v4), then run check again".to_string(),
                ),
                AccountFailure::Other => (
                    "listing one user failed".to_string(),
                    "run check again; if it persists, see the error".to_string(),
                ),
            };
            Item {
                name: "account",
                status: Status::Fail,
                detail: format!("{detail} ({})", first_line(error)),
                help: Some(help),
            }
        }
        Finding::RateLimit {
            policy,
            remaining,
            sent,
        } => {
            let detail = match (policy, remaining) {
                (Some((q, w)), Some((left, reset))) => format!(
                    "Ratelimit-Policy {q} requests per {w} s; {left} left, the window resets in {reset} s"
                ),
                (Some((q, w)), None) => format!("Ratelimit-Policy {q} requests per {w} s"),
                (None, Some((left, reset))) => {
                    format!("{left} requests left, the window resets in {reset} s")
                }
                (None, None) => "no rate-limit headers: apply keeps to Cloudflare's documented 1200 requests per 5 minutes".into(),
            };
            match others(*policy, *remaining, *sent) {
                Some(spent) => Item {
                    name: "rate_limit",
                    status: Status::Warn,
                    detail: format!("{detail}: other traffic has spent {spent} requests of this window (the limit is per user, shared with the dashboard, other tokens and scripts)"),
                    help: Some("apply paces itself by the Ratelimit header, but a long run may wait; run it when the other traffic is quiet".into()),
                },
                None => Item {
                    name: "rate_limit",
                    status: Status::Ok,
                    detail,
                    help: None,
                },
            }
        }
        Finding::DoorLists {
            account_lists,
            door_lists,
            entries,
        } => Item {
            name: "door_lists",
            status: Status::Ok,
            detail: if *door_lists == 0 {
                format!("the credentials may read the Zero Trust lists: the account holds {account_lists} lists, none of them the door's yet (`reconcile plan` shows the lists to create)")
            } else {
                format!("the credentials may read the Zero Trust lists: the account holds {account_lists} lists, {door_lists} of them the door's, whose items were read ({entries} entries)")
            },
            help: None,
        },
        Finding::DoorListsFailed { error } => Item {
            name: "door_lists",
            status: Status::Fail,
            detail: format!("reading the door's lists failed: {}", first_line(error)),
            help: Some(DOOR_LISTS_READ.into()),
        },
        Finding::DoorGroup {
            named,
            found,
            by_id,
        } => match (found, by_id) {
            (0, true) => Item {
                name: "door_group",
                status: Status::Fail,
                detail: format!("the door's group {named} does not exist: the groups were read, and no group has this id"),
                help: Some("correct `door.group.id` (copy it from the dashboard or the API), or name the group with `group: { name: ... }` to have it created".into()),
            },
            (0, false) => Item {
                name: "door_group",
                status: Status::Ok,
                detail: format!("the credentials may read the Access groups; no group is named {named} yet (`reconcile plan` shows it to create)"),
                help: None,
            },
            _ => Item {
                name: "door_group",
                status: Status::Ok,
                detail: format!("the credentials may read the Access groups; the door's group {named} was read"),
                help: None,
            },
        },
        Finding::DoorGroupFailed { error } => Item {
            name: "door_group",
            status: Status::Fail,
            detail: format!("reading the door's group failed: {}", first_line(error)),
            help: Some(DOOR_GROUP_READ.into()),
        },
        Finding::DoorRefused { errors } => Item {
            name: "door_plan",
            status: Status::Fail,
            detail: format!(
                "the door was read, but `reconcile plan` would refuse its plan (and apply would change nothing): {}",
                errors.join("; ")
            ),
            help: Some("fix what it says, in the `door:` section or in the account, then run check again; `reconcile plan` shows the door".into()),
        },
        Finding::DoorWritePermission { group, verified } => {
            let what = if *group { "lists and group" } else { "lists" };
            let grant = if *group {
                "grant the token Zero Trust Write (the lists; the docs' name, the spec names none) and Access: Organizations, Identity Providers, and Groups Write (the group)"
            } else {
                "grant the token Zero Trust Write (the lists; the docs' name, the spec names none)"
            };
            match verified {
                DoorWrite::Granted => Item {
                    name: "door_write",
                    status: Status::Ok,
                    detail: format!(
                        "the token's own policies (read from its details) grant what changing the door's {what} needs on this account: {}",
                        if *group { format!("{ZERO_TRUST_WRITE}, {GROUPS_WRITE}") } else { ZERO_TRUST_WRITE.to_string() }
                    ),
                    help: None,
                },
                DoorWrite::Missing(names) => Item {
                    name: "door_write",
                    status: Status::Fail,
                    detail: format!(
                        "the token's own policies (read from its details) do not grant {} on this account, which changing the door's {what} needs",
                        names.join(", ")
                    ),
                    help: Some(format!(
                        "grant the token {} on this account (an allow policy whose resources are the account, with no deny policy naming it), then run check again; without it apply stops at the first refused door write, having deleted nobody",
                        names.join(" and ")
                    )),
                },
                DoorWrite::NotAsked => Item {
                    name: "door_write",
                    status: Status::Unknown,
                    detail: format!(
                        "whether the credentials may change the door's {what} cannot be checked without changing them: Cloudflare has no request that tests a write permission without writing, and only an active API token may read its own permissions"
                    ),
                    help: Some(format!(
                        "{grant}; apply writes the door before it deletes anyone and stops at the first refused write, having deleted nobody"
                    )),
                },
                DoorWrite::Unread { refused, error } => Item {
                    name: "door_write",
                    status: Status::Unknown,
                    detail: format!(
                        "whether the credentials may change the door's {what} cannot be checked without changing them: Cloudflare has no request that tests a write permission without writing, and a token reads its own permissions only when it also holds API Tokens Read{}",
                        match (refused, error) {
                            (true, _) => " (its details were refused: it does not)".to_string(),
                            (false, Some(e)) => format!(" (reading its details failed: {})", first_line(e)),
                            (false, None) => String::new(),
                        }
                    ),
                    help: Some(format!(
                        "{grant}; apply writes the door before it deletes anyone and stops at the first refused write, having deleted nobody; granting the token Account API Tokens Read (API Tokens Read for a user token) lets check verify it"
                    )),
                },
            }
        }
        Finding::DeletePermission => Item {
            name: "delete_permission",
            status: Status::Unknown,
            detail: "whether the credentials may delete Access users cannot be checked without deleting".into(),
            help: Some(DELETE_PERMISSION.into()),
        },
    }
}

/// Requests of the current window spent by someone else, when they are more than a tenth of
/// the quota: the quota, less what is left, less what this check sent.
fn others(policy: Option<(u32, u64)>, remaining: Option<(u32, u64)>, sent: u32) -> Option<u32> {
    let (quota, _) = policy?;
    let (left, _) = remaining?;
    let spent = quota.saturating_sub(left).saturating_sub(sent);
    (spent > quota / 10).then_some(spent)
}

fn first_line(text: &str) -> String {
    crate::text::printable(text.lines().next().unwrap_or(""))
}

/// The finding's status.
pub(crate) fn status(f: &Finding) -> Status {
    item(f).status
}

/// How many findings failed.
pub(crate) fn failed(findings: &[Finding]) -> usize {
    findings
        .iter()
        .filter(|f| status(f) == Status::Fail)
        .count()
}

/// The human report.
pub(crate) fn human(
    account: &str,
    api_url: &str,
    findings: &[Finding],
    out: &mut dyn Write,
    p: Palette,
) -> io::Result<()> {
    writeln!(
        out,
        "{}",
        p.bold(&format!(
            "reconcile check: account {account} at {}",
            crate::text::printable(api_url)
        ))
    )?;
    writeln!(out)?;
    let items: Vec<Item> = findings.iter().map(item).collect();
    for i in &items {
        let word = format!("{:<8}", i.status.word());
        let word = match i.status {
            Status::Ok => p.added(&word),
            Status::Warn | Status::Unknown => p.warning(&word),
            Status::Fail => p.removed(&word),
        };
        writeln!(out, "  {word} {:<18} {}", i.name, i.detail)?;
        if let Some(help) = &i.help {
            writeln!(
                out,
                "  {:<8} {:<18} {}",
                "",
                "",
                p.dim(&format!("help: {help}"))
            )?;
        }
    }
    let count = |s: Status| items.iter().filter(|i| i.status == s).count();
    let (fail, warn, unknown) = (
        count(Status::Fail),
        count(Status::Warn),
        count(Status::Unknown),
    );
    writeln!(out)?;
    let verdict = if fail == 0 {
        format!("Check passed: {warn} warning(s), {unknown} not checkable from here (see above).")
    } else {
        format!("Check failed: {fail} failed, {warn} warning(s), {unknown} not checkable from here. Fix what failed, then run check again before apply.")
    };
    writeln!(out, "{}", p.bold(&verdict))
}

/// The JSON report: `{"format_version":1,"account_id","api_url","ok","checks":[{"name",
/// "status","detail","help"}]}`.
pub(crate) fn json(
    account: &str,
    api_url: &str,
    findings: &[Finding],
    out: &mut dyn Write,
) -> io::Result<()> {
    let checks: Vec<serde_json::Value> = findings
        .iter()
        .map(item)
        .map(|i| {
            json!({
                "name": i.name,
                "status": i.status.word(),
                "detail": i.detail,
                "help": i.help,
            })
        })
        .collect();
    let doc = json!({
        "format_version": 1,
        "account_id": account,
        "api_url": api_url,
        "ok": failed(findings) == 0,
        "checks": checks,
    });
    crate::text::write_json_pretty(&mut *out, &doc)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(findings: &[Finding]) -> String {
        let mut out = Vec::new();
        human(
            "023e",
            "https://api.cloudflare.com/client/v4",
            findings,
            &mut out,
            Palette::PLAIN,
        )
        .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn door_write_passes_fails_or_is_unknown_by_what_the_details_said() {
        let write = |verified| Finding::DoorWritePermission {
            group: true,
            verified,
        };
        assert_eq!(status(&write(DoorWrite::Granted)), Status::Ok);
        let missing = write(DoorWrite::Missing(vec![ZERO_TRUST_WRITE]));
        assert_eq!(status(&missing), Status::Fail);
        assert!(text(&[missing]).contains("grant the token Zero Trust Write on this account"));
        assert_eq!(failed(&[write(DoorWrite::NotAsked)]), 0);
        let refused = write(DoorWrite::Unread {
            refused: true,
            error: None,
        });
        assert_eq!(status(&refused), Status::Unknown);
        let shown = text(&[refused]);
        assert!(shown.contains("its details were refused"), "{shown}");
        assert!(shown.contains("Account API Tokens Read"), "{shown}");
        assert!(shown.contains(GROUPS_WRITE), "{shown}");
        let failed_read = write(DoorWrite::Unread {
            refused: false,
            error: Some("GET /x: timed out\nmore".into()),
        });
        assert_eq!(status(&failed_read), Status::Unknown);
        assert!(text(&[failed_read]).contains("reading its details failed: GET /x: timed out"));
    }

    #[test]
    fn expiry_within_a_week_warns() {
        let active = |left| Finding::TokenActive {
            id: "abc".into(),
            route: "/user/tokens/verify",
            expires: Some(("2026-12-06T12:00:00Z".into(), left)),
        };
        assert_eq!(status(&active(5 * 86_400 - 3)), Status::Warn);
        assert!(
            text(&[active(5 * 86_400 - 3)]).contains("expires in 5 days (2026-12-06T12:00:00Z)")
        );
        assert_eq!(status(&active(30 * 86_400)), Status::Ok);
        assert!(text(&[active(3600)]).contains("less than a day"));
    }

    #[test]
    fn other_traffic_on_the_budget_warns() {
        let rate = |left| Finding::RateLimit {
            policy: Some((1200, 300)),
            remaining: Some((left, 200)),
            sent: 3,
        };
        assert_eq!(status(&rate(1197)), Status::Ok);
        assert_eq!(status(&rate(1080)), Status::Ok);
        assert_eq!(status(&rate(1000)), Status::Warn);
        assert!(text(&[rate(1000)]).contains("other traffic has spent 197 requests"));
    }

    #[test]
    fn a_report_says_what_failed_and_what_to_do() {
        let findings = [
            Finding::TokenInactive {
                id: "abc".into(),
                status: "expired".into(),
            },
            Finding::AccountFailed {
                why: AccountFailure::NotEnabled,
                error: "Zero Trust Access is not enabled on this account: GET …\n  help: x".into(),
            },
            Finding::DeletePermission,
        ];
        assert_eq!(failed(&findings), 2);
        let t = text(&findings);
        assert!(t.contains("token abc is expired"), "{t}");
        assert!(t.contains("create a new API token"), "{t}");
        assert!(t.contains("Zero Trust Access is not enabled"), "{t}");
        assert!(t.contains("cannot be checked without deleting"), "{t}");
        assert!(t.contains("Access: Users Write"), "{t}");
        assert!(t.contains("Check failed: 2 failed"), "{t}");
        let mut out = Vec::new();
        json("023e", "u", &findings, &mut out).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["ok"], false);
        assert_eq!(v["checks"][0]["status"], "fail");
        assert_eq!(v["checks"][2]["name"], "delete_permission");
        assert_eq!(v["checks"][2]["status"], "unknown");
    }
}
