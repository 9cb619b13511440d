//! Reading the door (API-additions §3, §4): every Zero Trust list of the account
//! (`GET …/gateway/lists`, no paging), the items of the lists the caller claims
//! (`GET …/gateway/lists/{id}/items`, always `per_page=1000`, every page, either shape), and the
//! Access group by name or by id (`GET …/access/groups`, `…/groups/{id}`). Converted to
//! [`crate::model::door`] at this edge; what does not add up is an error, never a guess.
//!
//! Lists requests are paced by their own budget, [`LISTS_RATE_LIMIT`] (600 a minute: past it the
//! API blocks every lists request for 120 s), besides the global budget every request spends.
//! Groups are not lists: only the global budget counts them. The writes are in `door_write`.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, Url};
use serde_json::Value;

use super::budget::{Budget, RateBudget, TooLong, WaitCause};
use super::door_wire::{page_items, WireGroup, WireList};
use super::error::{human_duration, ApiError};
use super::transport::Sending;
use super::wire::whole;
use super::Client;
use crate::model::door::{DoorId, LiveDoor, LiveGroup, LiveItem, LiveList};

/// The lists API's limit, "List API requests per minute 600" (API-additions §4.5). The budget's
/// margin (a hundredth of the window) keeps the client's own sends under it at the server.
pub const LISTS_RATE_LIMIT: RateBudget = RateBudget {
    quota: 600,
    window: Duration::from_secs(60),
};

/// The most items a page may hold (§4.1); always asked for, as the default is 50.
const ITEMS_PER_PAGE: u32 = 1000;
/// Groups per page: the spec's default and maximum (§3.1).
const GROUPS_PER_PAGE: u32 = 1000;
/// 100 pages of 1000: twenty times an Enterprise list, or a server that never says it is done.
const MAX_PAGES: u32 = 100;
/// A read that did not add up is read again this many times in all.
const READ_ATTEMPTS: u32 = 3;

/// Which Access group the door names (the `door:` section's `group:`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupQuery {
    /// Every group of exactly this name (as `DoorSpec::claims_group` compares).
    Name(String),
    /// That group; absent from [`LiveDoor::groups`] when the API does not know it (404).
    Id(DoorId),
}

/// Is this request (as `Client::describe` names it) one of the door's?
pub(super) fn is_door_request(request: &str) -> bool {
    request.contains("/gateway/lists") || request.contains("/access/groups")
}

/// What to grant a token that the door's routes refuse (code 10000).
pub(super) fn door_permission_help(request: &str) -> &'static str {
    if request.contains("/gateway/lists") {
        "the credentials may not use the Zero Trust lists: grant the token Zero Trust Read (to read the door) and Zero Trust Write (to change it); Cloudflare's spec names no permission for the lists, the docs name these"
    } else {
        "the credentials may not use the Access groups: grant the token Access: Organizations, Identity Providers, and Groups Read (to read the door's group) and … Write (to change it)"
    }
}

/// What asked for a wait the lists' budget would not start, in words.
pub(super) fn lists_asked_text(t: &TooLong) -> String {
    let wait = human_duration(t.wait);
    match t.cause {
        WaitCause::Blocked => format!("the lists API answered 429 (rate limited) to an earlier request: lists requests are blocked for {wait} more"),
        WaitCause::Budget | WaitCause::Server => format!(
            "the lists API allows {} requests per {}; the client keeps under it, and the next lists request may go in {wait}",
            t.budget.quota,
            human_duration(t.budget.window)
        ),
    }
}

fn inconsistent(request: &str, detail: impl Into<String>) -> ApiError {
    ApiError::DoorInconsistent {
        request: request.to_string(),
        detail: detail.into(),
    }
}

/// A `Malformed` error; the detail escaped, since a parser's message may quote the answer.
pub(super) fn malformed(request: &str, status: u16, detail: impl Into<String>) -> ApiError {
    ApiError::Malformed {
        request: request.to_string(),
        status,
        detail: crate::text::printable(&detail.into()),
    }
}

/// A list as read from `GET …/gateway/lists`, before its items.
struct Listed {
    id: DoorId,
    name: String,
    kind: Option<String>,
}

impl Client {
    /// This client with another budget for the lists API than [`LISTS_RATE_LIMIT`] (a test's
    /// small one, or a stricter one when other tools spend the same account's limit).
    pub fn with_lists_rate_limit(mut self, budget: RateBudget) -> Client {
        self.lists_budget = Arc::new(Budget::new(budget));
        self
    }

    /// `{base}/accounts/{account_id}/{segments…}?{query}`.
    pub(super) fn account_url(&self, segments: &[&str], query: &[(&str, String)]) -> Url {
        let mut path = vec!["accounts", self.account_id.as_str()];
        path.extend(segments);
        let mut url = self.url_root(&path);
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        url
    }

    /// A GET, within the lists' budget when `lists`.
    async fn door_get<T: serde::de::DeserializeOwned>(
        &self,
        url: Url,
        lists: bool,
    ) -> Result<(u16, super::wire::Envelope<T>), ApiError> {
        let sending = Sending {
            lists,
            ..Sending::default()
        };
        let (status, envelope) = self
            .call_sending::<T>(Method::GET, url, sending)
            .await
            .result?;
        Ok((status.as_u16(), envelope))
    }

    /// Read the door: every list of the account (counted in `account_lists`), the items of
    /// each list `claims_list(id, name)` selects (give it `DoorSpec::claims_list(..).is_some()`),
    /// and the group `group` names. Lists come in the API's order (creation order). A claimed
    /// list whose id is not a UUID is an error: its items cannot be read safely.
    pub async fn read_door(
        &self,
        claims_list: impl Fn(&str, &str) -> bool + Sync,
        group: Option<&GroupQuery>,
    ) -> Result<LiveDoor, ApiError> {
        let (account_lists, claimed) = self.read_lists(&claims_list).await?;
        let mut lists = Vec::with_capacity(claimed.len());
        for l in claimed {
            let items = self.list_items(&l.id).await?;
            lists.push(LiveList {
                id: l.id.as_str().to_string(),
                name: l.name,
                kind: l.kind,
                items,
            });
        }
        let groups = match group {
            None => Vec::new(),
            Some(query) => self.read_group(query).await?,
        };
        Ok(LiveDoor {
            lists,
            account_lists,
            groups,
        })
    }

    /// The groups `group` names: every group of that name, or the group of that id (none when
    /// the API answers its own 404). GETs only.
    pub async fn read_group(&self, group: &GroupQuery) -> Result<Vec<LiveGroup>, ApiError> {
        match group {
            GroupQuery::Name(name) => self.groups_named(name).await,
            GroupQuery::Id(id) => match self.get_group(id).await {
                Ok((g, _)) => Ok(vec![g]),
                Err(ApiError::Status {
                    status: 404,
                    errors,
                    ..
                }) if !errors.is_empty() => Ok(Vec::new()),
                Err(e) => Err(e),
            },
        }
    }

    /// `GET …/gateway/lists`: how many lists the account has, and the claimed ones.
    async fn read_lists(
        &self,
        claims_list: &(impl Fn(&str, &str) -> bool + Sync),
    ) -> Result<(usize, Vec<Listed>), ApiError> {
        let url = self.account_url(&["gateway", "lists"], &[]);
        let request = self.describe(&Method::GET, &url);
        let (status, envelope) = self.door_get::<Vec<Value>>(url, true).await?;
        let all = envelope.result.unwrap_or_default();
        if let Some(total) = whole(envelope.result_info.and_then(|i| i.total_count)) {
            if total > all.len() as u64 {
                return Err(inconsistent(
                    &request,
                    format!("the API answered {} lists of {total}: it pages the lists, which the API does not document", all.len()),
                ));
            }
        }
        let mut claimed = Vec::new();
        for raw in &all {
            let list: WireList = serde_json::from_value(raw.clone()).map_err(|e| {
                malformed(
                    &request,
                    status,
                    format!("a list is not the documented shape: {e}"),
                )
            })?;
            let (Some(id), Some(name)) = (list.id, list.name) else {
                continue;
            };
            if !claims_list(&id, &name) {
                continue;
            }
            let Some(door_id) = DoorId::parse(&id) else {
                return Err(malformed(
                    &request,
                    status,
                    format!(
                        "the list `{}` has an id that is not a UUID (`{}`): its items cannot be read",
                        crate::text::printable(&name),
                        crate::text::printable(&id.chars().take(64).collect::<String>())
                    ),
                ));
            };
            claimed.push(Listed {
                id: door_id,
                name,
                kind: list.kind,
            });
        }
        Ok((all.len(), claimed))
    }

    /// Every item of one list, read again (up to three times in all) when the pages did not
    /// add up.
    pub(super) async fn list_items(&self, id: &DoorId) -> Result<Vec<LiveItem>, ApiError> {
        let mut attempt = 1;
        loop {
            match self.list_items_once(id).await {
                Err(error @ ApiError::DoorInconsistent { .. }) if attempt < READ_ATTEMPTS => {
                    tracing::debug!(%error, attempt = attempt + 1, "reading the list's items again");
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// Page after page of `per_page=1000` until an empty page or the last of `total_pages`.
    /// Inconsistent: a page answering another number, a total that changes, a value seen
    /// twice exactly (a list holds no duplicates: the pages shifted), or fewer or more items
    /// than the total.
    async fn list_items_once(&self, id: &DoorId) -> Result<Vec<LiveItem>, ApiError> {
        let mut items: Vec<LiveItem> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        let mut total: Option<u64> = None;
        let mut last_request = String::new();
        for page in 1..=MAX_PAGES {
            let url = self.account_url(
                &["gateway", "lists", id.as_str(), "items"],
                &[
                    ("page", page.to_string()),
                    ("per_page", ITEMS_PER_PAGE.to_string()),
                ],
            );
            let request = self.describe(&Method::GET, &url);
            let (status, envelope) = self.door_get::<Vec<Value>>(url, true).await?;
            let info = envelope.result_info.unwrap_or_default();
            if let Some(echoed) = whole(info.page) {
                if echoed != u64::from(page) {
                    return Err(inconsistent(
                        &request,
                        format!("asked for page {page}, the API answered page {echoed}"),
                    ));
                }
            }
            let count = whole(info.total_count);
            if let (Some(before), Some(now)) = (total, count) {
                if before != now {
                    return Err(inconsistent(
                        &request,
                        format!("the list held {before} items, then {now}, while it was read"),
                    ));
                }
            }
            total = total.or(count);
            let got = page_items(envelope.result).map_err(|d| malformed(&request, status, d))?;
            last_request = request;
            if got.is_empty() {
                break;
            }
            for item in got {
                if !seen.insert(item.value.clone()) {
                    return Err(inconsistent(
                        &last_request,
                        format!(
                            "the value `{}` came twice: the pages shifted while they were read",
                            crate::text::printable(&item.value)
                        ),
                    ));
                }
                items.push(item);
            }
            if whole(info.total_pages).is_some_and(|pages| u64::from(page) >= pages) {
                break;
            }
            if page == MAX_PAGES {
                return Err(inconsistent(
                    &last_request,
                    format!("more than {MAX_PAGES} pages of items"),
                ));
            }
        }
        if let Some(total) = total {
            if items.len() as u64 != total {
                return Err(inconsistent(
                    &last_request,
                    format!("the API said {total} items, the pages held {}", items.len()),
                ));
            }
        }
        Ok(items)
    }

    /// Every group of exactly `name`. All groups are listed (an account has at most 300, one
    /// page) and compared here: the API's `name` filter is not documented beyond "The name of
    /// the group" (exact? case? substring?), and nothing should hang on it. Only groups of that
    /// name are converted, so another group's odd shape does not stop the read.
    pub(super) async fn groups_named(&self, name: &str) -> Result<Vec<LiveGroup>, ApiError> {
        let mut found = Vec::new();
        let mut ids: HashSet<String> = HashSet::new();
        let mut records: u64 = 0;
        let mut total: Option<u64> = None;
        let mut last_request = String::new();
        for page in 1..=MAX_PAGES {
            let url = self.account_url(
                &["access", "groups"],
                &[
                    ("page", page.to_string()),
                    ("per_page", GROUPS_PER_PAGE.to_string()),
                ],
            );
            let request = self.describe(&Method::GET, &url);
            let (status, envelope) = self.door_get::<Vec<Value>>(url, false).await?;
            let info = envelope.result_info.unwrap_or_default();
            if whole(info.page).is_some_and(|echoed| echoed != u64::from(page)) {
                return Err(inconsistent(
                    &request,
                    format!("asked for page {page}, the API answered another"),
                ));
            }
            total = total.or(whole(info.total_count));
            let groups = envelope.result.unwrap_or_default();
            last_request = request;
            if groups.is_empty() {
                break;
            }
            records += groups.len() as u64;
            for raw in groups {
                if raw.get("name").and_then(Value::as_str) != Some(name) {
                    continue;
                }
                let wire: WireGroup = serde_json::from_value(raw).map_err(|e| {
                    malformed(
                        &last_request,
                        status,
                        format!("the group is not the documented shape: {e}"),
                    )
                })?;
                let group = wire
                    .into_live()
                    .map_err(|d| malformed(&last_request, status, d))?;
                if ids.insert(group.id.to_ascii_lowercase()) {
                    found.push(group);
                }
            }
            if whole(info.total_pages).is_some_and(|pages| u64::from(page) >= pages)
                || total.is_some_and(|t| records >= t)
            {
                break;
            }
            if page == MAX_PAGES {
                return Err(inconsistent(
                    &last_request,
                    format!("more than {MAX_PAGES} pages of groups"),
                ));
            }
        }
        if total.is_some_and(|t| records != t) {
            return Err(inconsistent(
                &last_request,
                format!(
                    "the API said {} groups, the pages held {records}",
                    total.unwrap_or(0)
                ),
            ));
        }
        Ok(found)
    }

    /// `GET …/access/groups/{id}`: the group and its `is_default` (read leniently). A 404 is an
    /// error here; [`Client::read_door`] reads the API's own 404 as "no such group".
    pub(super) async fn get_group(
        &self,
        id: &DoorId,
    ) -> Result<(LiveGroup, Option<bool>), ApiError> {
        let url = self.account_url(&["access", "groups", id.as_str()], &[]);
        let request = self.describe(&Method::GET, &url);
        let (status, envelope) = self.door_get::<WireGroup>(url, false).await?;
        let wire = envelope.result.ok_or_else(|| {
            malformed(&request, status, "a success without the group in `result`")
        })?;
        let is_default = wire.is_default();
        let group = wire
            .into_live()
            .map_err(|d| malformed(&request, status, d))?;
        Ok((group, is_default))
    }
}
