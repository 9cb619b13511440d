//! Reading every user of the account, and refusing a listing that does not add up. The API
//! pages by offset, with no cursor, and the account can change while it is read, so a listing
//! is a small state machine: page 1; then the other pages (concurrently when page 1 says how
//! many, one after the other otherwise); the page after the last when nothing else vouches for
//! the end; page 1 again to catch a shift during the read (or, when the API gives no
//! `total_count`, every page again: [`second_look`]); and the whole listing read again, up to
//! three times, when it was inconsistent. The checks on the pages themselves
//! ([`check_pages`], [`merge_pages`], [`same_users`]) are pure, and tested with made-up pages.
//!
//! A listing that fails a check is an error (`ApiError::Inconsistent`): nothing may be deleted
//! on the strength of it. Progress (pages listed, listing again) goes to the observer.

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use reqwest::Method;

use super::error::ApiError;
use super::observer::Event;
use super::wire::{whole, User};
use super::Client;
use crate::model::LiveUser;

/// The spec's maximum (and default) page size.
const PER_PAGE: u32 = 1000;
/// 100 million users: a loop that gets here is a server that never says it is done.
const MAX_PAGES: u32 = 100_000;

/// Every user of the account, each id once.
#[derive(Debug, Clone)]
pub struct Listing {
    /// In the domain type: the wire type stays inside the client.
    pub users: Vec<LiveUser>,
    /// Pages that had users in them.
    pub pages: u32,
    /// Requests sent, the final empty page and page 1 read again included.
    pub requests: u32,
    /// Records dropped because their id had already been seen on an earlier page.
    pub duplicates: usize,
}

/// One page as the API answered it.
#[derive(Debug)]
struct PageData {
    page: u32,
    request: String,
    users: Vec<User>,
    total_count: Option<u64>,
    total_pages: Option<u64>,
}

/// A listing that changed while it was read is listed again this many times in all.
const LIST_ATTEMPTS: u32 = 3;

impl Client {
    async fn fetch_page(&self, page: u32) -> Result<PageData, ApiError> {
        let url = self.url(
            &[],
            &[
                ("page", page.to_string()),
                ("per_page", PER_PAGE.to_string()),
            ],
        );
        let request = self.describe(&Method::GET, &url);
        let (_, envelope) = self.call::<Vec<User>>(Method::GET, url).await.result?;
        let info = envelope.result_info.unwrap_or_default();
        if let Some(echoed) = whole(info.page) {
            if echoed != u64::from(page) {
                return Err(ApiError::Inconsistent {
                    request,
                    detail: format!("asked for page {page}, the API answered page {echoed}"),
                });
            }
        }
        Ok(PageData {
            page,
            request,
            // The 2024 spec allowed `result: null`; treat it as an empty page.
            users: envelope.result.unwrap_or_default(),
            total_count: whole(info.total_count),
            total_pages: whole(info.total_pages),
        })
    }

    /// List every user of the account: every page, each id once.
    ///
    /// Page 1 comes first. When it says how many pages there are (`total_pages`), the others are
    /// fetched concurrently (at least `list_concurrency` at a time, more when the rate budget has
    /// room: [`super::budget::list_concurrency`]), but no more of them than page 1's
    /// `total_count` needs at page 1's size: a huge `total_pages` ends once the count is
    /// reached. Without `total_pages`, pages come one after the other until an empty page, or
    /// until `total_count` users have come, as Cloudflare's SDKs do.
    ///
    /// The list can change while it is read, and there is no cursor: pages are offsets. A user
    /// seen twice with the same email is counted once. A listing is inconsistent — an error,
    /// nothing may be deleted from it — when a page answers another page number, an id comes
    /// back with another email, the total changes between pages, the users counted differ from
    /// the total, a page before the last with users is empty, or (with `total_pages` and no
    /// `total_count` to vouch for it) a page up to `total_pages` is empty or `null`.
    ///
    /// A user removed and another added keep the total, so no count can see the shift they
    /// cause: the users after the removal move back one place, and one that moves from an
    /// unread page onto a page already read is never seen. So, when the listing took more than
    /// one request, page 1 is read once more at the end and must hold the same ids and total as
    /// at first. That costs one request whatever the size of the account (101 instead of 100
    /// for 100,000 users, where listing twice would cost 200), and catches any change among the
    /// first page's users or of the total during the read — the removal of a user read first
    /// included. A removal and an addition that both fall after page 1 while later pages are
    /// read, keeping the total, are not seen by it; the listing before deleting (apply's
    /// re-check) and the final listing are separate reads that see the account as it then is.
    ///
    /// Without `total_count` nothing counts the users, and the order is undocumented: a user
    /// the pages skipped leaves no trace, and page 1 read again sees only changes on page 1.
    /// So then a listing of more than one page of users is read a second time, whole, and must
    /// bring the same users (ids and emails); and a user seen on two pages makes it
    /// inconsistent (with no user added or removed, the pages hold as many records as there are
    /// users, so a record seen twice means one user was not seen at all).
    ///
    /// An inconsistent listing is read again, up to three times in all.
    pub async fn list_users(&self) -> Result<Listing, ApiError> {
        let mut attempt = 1;
        loop {
            match self.list_once().await {
                Err(error @ ApiError::Inconsistent { .. }) if attempt < LIST_ATTEMPTS => {
                    tracing::debug!(%error, attempt = attempt + 1, "listing again");
                    self.config.observer.event(Event::ListingAgain {
                        error: &error,
                        attempt: attempt + 1,
                        of: LIST_ATTEMPTS,
                    });
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn list_once(&self) -> Result<Listing, ApiError> {
        let (pages, reported_pages) = self.read_pages().await?;
        let first_request = pages[0].request.clone();
        let first_ids = page_ids(&pages[0]);
        let first_total = pages[0].total_count;
        check_pages(&pages, reported_pages)?;
        let mut listing = merge_pages(pages)?;
        if listing.duplicates > 0 {
            tracing::debug!(
                duplicates = listing.duplicates,
                "ids seen on more than one page"
            );
            self.config.observer.event(Event::Duplicates {
                count: listing.duplicates,
            });
        }
        match second_look(first_total, listing.requests, listing.pages) {
            SecondLook::None => {}
            SecondLook::PageOne => {
                let again = self.fetch_page(1).await?;
                listing.requests += 1;
                if page_ids(&again) != first_ids || again.total_count != first_total {
                    return Err(ApiError::Inconsistent {
                        request: again.request,
                        detail: "page 1 changed while the other pages were read (users were removed or added, and moved between pages: one may have been skipped)".into(),
                    });
                }
            }
            SecondLook::Whole => {
                tracing::debug!("no total_count: reading every page a second time");
                let (pages, reported_pages) = self.read_pages().await?;
                check_pages(&pages, reported_pages)?;
                let second = merge_pages(pages)?;
                listing.requests += second.requests;
                same_users(&listing, &second).map_err(|detail| ApiError::Inconsistent {
                    request: first_request,
                    detail,
                })?;
            }
        }
        Ok(listing)
    }

    /// Every page once, in page order, with page 1's `total_pages`.
    async fn read_pages(&self) -> Result<(Vec<PageData>, Option<u64>), ApiError> {
        let first = self.fetch_page(1).await?;
        let reported_pages = first.total_pages;
        let to_read = pages_to_read(first.users.len(), first.total_count, first.total_pages);
        let observer = &*self.config.observer;
        observer.event(Event::ListingStarted { pages: to_read });
        observer.event(Event::PageListed);
        let first_total = first.total_count;
        let mut pages = vec![first];
        match to_read {
            Some(total) if total > 1 => {
                if total > u64::from(MAX_PAGES) {
                    return Err(ApiError::Inconsistent {
                        request: pages[0].request.clone(),
                        detail: format!("the API reports {total} pages, more than {MAX_PAGES}"),
                    });
                }
                if reported_pages != Some(total) {
                    tracing::debug!(
                        total_pages = reported_pages,
                        total_count = first_total,
                        "reading {total} pages: enough for total_count"
                    );
                }
                pages.extend(self.fetch_pages_concurrently(total as u32).await?);
                self.confirm_end(&mut pages, total as u32).await?;
            }
            Some(total) => self.confirm_end(&mut pages, total as u32).await?,
            None => self.fetch_pages_in_turn(&mut pages).await?,
        }
        observer.event(Event::PagesRead);
        Ok((pages, reported_pages))
    }

    /// With `total_pages` but no `total_count`, nothing else vouches that `total_pages` was the
    /// end: the page after it must be empty, as the SDKs' own stopping rule requires.
    async fn confirm_end(&self, pages: &mut Vec<PageData>, total: u32) -> Result<(), ApiError> {
        if pages.iter().any(|p| p.total_count.is_some()) {
            return Ok(());
        }
        let after = self.fetch_page(total.saturating_add(1)).await?;
        if !after.users.is_empty() {
            return Err(ApiError::Inconsistent {
                request: after.request,
                detail: format!(
                    "the API said {total} pages, but page {} has users too",
                    total.saturating_add(1)
                ),
            });
        }
        pages.push(after);
        Ok(())
    }

    /// Pages 2..=`total`, as many at a time as [`super::budget::list_concurrency`] chooses from
    /// `list_concurrency` and the rate budget left. The first error stops the others.
    async fn fetch_pages_concurrently(&self, total: u32) -> Result<Vec<PageData>, ApiError> {
        let next = Arc::new(AtomicU32::new(2));
        let workers = super::budget::list_concurrency(
            self.config.list_concurrency,
            self.budget.left_now(),
            total - 1,
        );
        tracing::debug!(workers, pages = total - 1, "listing the other pages");
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..workers {
            let (client, next) = (self.clone(), Arc::clone(&next));
            set.spawn(async move {
                let mut got = Vec::new();
                loop {
                    let page = next.fetch_add(1, Ordering::Relaxed);
                    if page > total {
                        return Ok(got);
                    }
                    got.push(client.fetch_page(page).await?);
                    client.config.observer.event(Event::PageListed);
                }
            });
        }
        let mut pages = Vec::with_capacity(total as usize);
        while let Some(joined) = set.join_next().await {
            match joined {
                Ok(Ok(got)) => pages.extend(got),
                Ok(Err(e)) => {
                    set.abort_all();
                    return Err(e);
                }
                Err(e) => {
                    set.abort_all();
                    return Err(ApiError::Transport {
                        request: "GET users".into(),
                        detail: format!("a listing task failed: {e}"),
                    });
                }
            }
        }
        pages.sort_by_key(|p| p.page);
        Ok(pages)
    }

    /// Without `total_pages`: page after page until an empty one, or until `total_count`.
    async fn fetch_pages_in_turn(&self, pages: &mut Vec<PageData>) -> Result<(), ApiError> {
        let mut seen: HashSet<String> = HashSet::new();
        let mut records: u64 = 0;
        for page in 1..=MAX_PAGES {
            if page > 1 {
                let data = self.fetch_page(page).await?;
                self.config.observer.event(Event::PageListed);
                pages.push(data);
            }
            let Some(data) = pages.last() else { break };
            if data.users.is_empty() {
                break;
            }
            records += data.users.len() as u64;
            let new = data
                .users
                .iter()
                .filter(|u| u.id.as_ref().is_none_or(|id| seen.insert(id.clone())))
                .count();
            if new == 0 {
                return Err(ApiError::Inconsistent {
                    request: data.request.clone(),
                    detail: format!(
                        "page {page} repeated users already listed and brought no new one"
                    ),
                });
            }
            if data.total_count.is_some_and(|total| records >= total) {
                break;
            }
            if page == MAX_PAGES {
                return Err(ApiError::Inconsistent {
                    request: data.request.clone(),
                    detail: format!("more than {MAX_PAGES} pages"),
                });
            }
        }
        Ok(())
    }
}

/// How many pages to read, from page 1: its `total_pages`, but no more than its `total_count`
/// needs at page 1's size (a huge `total_pages` after the count is met ends the listing).
/// `None`: the API gave no `total_pages`; read until an empty page or the count.
fn pages_to_read(
    first_len: usize,
    total_count: Option<u64>,
    total_pages: Option<u64>,
) -> Option<u64> {
    let total_pages = total_pages?;
    Some(match total_count {
        Some(0) => total_pages.min(1),
        Some(count) if first_len > 0 => total_pages.min(count.div_ceil(first_len as u64)),
        _ => total_pages,
    })
}

/// What is read again, once a listing added up, to catch users moved between pages while it
/// was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SecondLook {
    /// One request: nothing moved under it.
    None,
    /// Page 1 again: with `total_count`, a listing that skipped a user while no user came or
    /// went counts fewer users than the total (merge_pages refuses it), and a change of the
    /// total shows on page 1; page 1 read again catches a removal and an addition that keep
    /// the total, when page 1 sees them.
    PageOne,
    /// Every page again: without `total_count` neither a skipped user nor a changed total
    /// leaves a trace on page 1 (a reorder or a shift after page 1), so only a second whole
    /// read that brings the same users vouches for the first.
    Whole,
}

/// What a listing of `requests` requests, `pages` of them with users, whose page 1 counted
/// `total_count`, reads again. Users on a single page cannot move onto a page already read
/// from one not yet read, so one page of users (and the empty page after it) needs no second
/// whole read, count or not.
fn second_look(total_count: Option<u64>, requests: u32, pages: u32) -> SecondLook {
    match (requests, total_count) {
        (0..=1, _) => SecondLook::None,
        (_, None) if pages > 1 => SecondLook::Whole,
        _ => SecondLook::PageOne,
    }
}

/// Two reads of a listing bring the same users: the same ids, each with the same email, and
/// as many users without an id.
fn same_users(first: &Listing, second: &Listing) -> Result<(), String> {
    let key = |listing: &Listing| {
        let mut users: Vec<(Option<String>, Option<String>)> = listing
            .users
            .iter()
            .map(|u| {
                (
                    u.id.as_ref().map(|id| id.to_ascii_lowercase()),
                    u.email.clone(),
                )
            })
            .collect();
        users.sort_unstable();
        users
    };
    let (a, b) = (key(first), key(second));
    if a == b {
        return Ok(());
    }
    type Key = (Option<String>, Option<String>);
    let only = |x: &[Key], y: &[Key]| {
        let y: HashSet<&Key> = y.iter().collect();
        x.iter().filter(|u| !y.contains(u)).count()
    };
    Err(format!(
        "the API gives no total_count, so every page was read twice, and the two reads differ ({} users only in the first, {} only in the second): users moved between pages while they were read, and one may have been skipped",
        only(&a, &b),
        only(&b, &a)
    ))
}

/// The ids of a page's users, sorted (a user without one counts as `None`).
fn page_ids(page: &PageData) -> Vec<Option<String>> {
    let mut ids: Vec<Option<String>> = page.users.iter().map(|u| u.id.clone()).collect();
    ids.sort_unstable();
    ids
}

/// The pages, in order, have no hole: no empty page before one with users and, when only
/// `total_pages` says where the list ends (no `total_count`), no empty page up to it.
fn check_pages(pages: &[PageData], total_pages: Option<u64>) -> Result<(), ApiError> {
    // A page before the last that came back empty means the list shifted under the read (or
    // the API lost a page): users may be missing.
    let last_full = pages.iter().rposition(|p| !p.users.is_empty()).unwrap_or(0);
    if let Some(gap) = pages[..last_full].iter().find(|p| p.users.is_empty()) {
        return Err(ApiError::Inconsistent {
            request: gap.request.clone(),
            detail: format!("page {} was empty but later pages had users", gap.page),
        });
    }
    if pages.iter().any(|p| p.total_count.is_some()) {
        return Ok(());
    }
    if let Some(total) = total_pages {
        if let Some(hole) = pages
            .iter()
            .find(|p| p.users.is_empty() && u64::from(p.page) <= total)
        {
            return Err(ApiError::Inconsistent {
                request: hole.request.clone(),
                detail: format!(
                    "page {} of {total} was empty (no users, or `result: null`) and the API gave no total_count: users may be missing",
                    hole.page
                ),
            });
        }
    }
    Ok(())
}

/// Put pages together by id, and refuse a listing that does not add up.
fn merge_pages(pages: Vec<PageData>) -> Result<Listing, ApiError> {
    let mut listing = Listing {
        users: Vec::new(),
        pages: 0,
        requests: pages.len() as u32,
        duplicates: 0,
    };
    let Some(first) = pages.first() else {
        return Ok(listing);
    };
    let request = first.request.clone();
    let total = first.total_count;
    let mut by_id: HashMap<String, Option<String>> = HashMap::new();
    for page in pages {
        if page.total_count != total {
            return Err(ApiError::Inconsistent {
                request: page.request,
                detail: format!(
                    "the account changed while it was read: page 1 counted {} users, page {} counts {}",
                    show_count(total),
                    page.page,
                    show_count(page.total_count)
                ),
            });
        }
        if !page.users.is_empty() {
            listing.pages += 1;
        }
        for user in page.users {
            let Some(id) = user.id.clone() else {
                listing.users.push(user.into());
                continue;
            };
            // Ids are UUIDs, which do not differ by letter case: two records whose ids differ
            // only in case are one user listed twice, or a listing that cannot be trusted (a
            // DELETE for one would reach the other). The same record on two pages is
            // byte-identical in its email.
            let id = id.to_ascii_lowercase();
            let email = user.email.clone();
            match by_id.get(&id) {
                Some(seen) if *seen == email => listing.duplicates += 1,
                Some(seen) => {
                    return Err(ApiError::Inconsistent {
                        request: page.request,
                        detail: format!(
                            "user {id} is listed twice with different emails ({} and {})",
                            seen.as_deref().unwrap_or("none"),
                            email.as_deref().unwrap_or("none")
                        ),
                    })
                }
                None => {
                    by_id.insert(id, email);
                    listing.users.push(user.into());
                }
            }
        }
    }
    if total.is_none() && listing.duplicates > 0 {
        return Err(ApiError::Inconsistent {
            request,
            detail: format!(
                "{} users came back on more than one page and the API gives no total_count: the list moved while it was read, and a user may have been skipped",
                listing.duplicates
            ),
        });
    }
    if let Some(total) = total {
        if listing.users.len() as u64 != total {
            return Err(ApiError::Inconsistent {
                request,
                detail: format!(
                    "the pages held {} distinct users but the API counts {total} (the list changed while it was read, or pages were skipped)",
                    listing.users.len()
                ),
            });
        }
    }
    Ok(listing)
}

fn show_count(n: Option<u64>) -> String {
    n.map_or_else(|| "no total".to_string(), |n| n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_total_pages_is_cut_to_what_total_count_needs() {
        // 5 users on page 1 and a count of 5: page 1 is all, whatever total_pages says.
        assert_eq!(pages_to_read(5, Some(5), Some(100_000)), Some(1));
        assert_eq!(pages_to_read(5, Some(5), Some(u64::MAX)), Some(1));
        assert_eq!(pages_to_read(1000, Some(100_000), Some(100_000)), Some(100));
        assert_eq!(pages_to_read(1000, Some(2500), Some(3)), Some(3));
        // total_pages smaller than the count needs: kept (the count check then refuses).
        assert_eq!(pages_to_read(1000, Some(5000), Some(2)), Some(2));
        assert_eq!(pages_to_read(0, Some(0), Some(7)), Some(1));
        assert_eq!(pages_to_read(0, Some(0), Some(0)), Some(0));
        // Without a count nothing vouches for fewer pages.
        assert_eq!(pages_to_read(1000, None, Some(40)), Some(40));
        assert_eq!(pages_to_read(1000, Some(5), None), None);
    }

    fn page(n: u32, users: usize, total_count: Option<u64>) -> PageData {
        PageData {
            page: n,
            request: format!("GET page {n}"),
            users: (0..users)
                .map(|i| User {
                    id: Some(format!("00000000-0000-4000-8000-{n:06}{i:06}")),
                    ..User::default()
                })
                .collect(),
            total_count,
            total_pages: None,
        }
    }

    #[test]
    fn an_empty_page_up_to_total_pages_is_a_hole_unless_a_count_vouches() {
        let pages = |last: usize, count| {
            vec![
                page(1, 2, count),
                page(2, 2, count),
                page(3, last, count),
                page(4, 0, count),
            ]
        };
        assert!(check_pages(&pages(1, None), Some(3)).is_ok());
        let e = check_pages(&pages(0, None), Some(3))
            .unwrap_err()
            .to_string();
        assert!(e.contains("page 3 of 3 was empty"), "{e}");
        // With a count, the count decides (merge_pages checks it).
        assert!(check_pages(&pages(0, Some(4)), Some(3)).is_ok());
        // An empty page before one with users is a hole whatever the totals say.
        let gap = vec![
            page(1, 2, Some(4)),
            page(2, 0, Some(4)),
            page(3, 2, Some(4)),
        ];
        assert!(check_pages(&gap, Some(3)).is_err());
        assert!(check_pages(&gap, None).is_err());
    }

    /// Pages holding these users (by number), then an empty page: as an API may serve them
    /// while the order changes.
    fn pages_of(order: &[&[u32]], total_count: Option<u64>) -> Vec<PageData> {
        let mut pages: Vec<PageData> = order
            .iter()
            .enumerate()
            .map(|(i, users)| PageData {
                page: i as u32 + 1,
                request: format!("GET page {}", i + 1),
                users: users
                    .iter()
                    .map(|u| User {
                        id: Some(format!("00000000-0000-4000-8000-{u:012}")),
                        email: Some(format!("u{u}@example.com")),
                        ..User::default()
                    })
                    .collect(),
                total_count,
                total_pages: None,
            })
            .collect();
        pages.push(PageData {
            page: order.len() as u32 + 1,
            request: "GET empty page".into(),
            users: Vec::new(),
            total_count,
            total_pages: None,
        });
        pages
    }

    #[test]
    fn without_total_count_a_multi_page_listing_is_read_whole_twice() {
        assert_eq!(second_look(None, 1, 1), SecondLook::None);
        assert_eq!(second_look(Some(7), 1, 1), SecondLook::None);
        assert_eq!(second_look(Some(7), 4, 3), SecondLook::PageOne);
        // One page of users and the empty page: nothing to move between pages.
        assert_eq!(second_look(None, 2, 1), SecondLook::PageOne);
        assert_eq!(second_look(None, 3, 2), SecondLook::Whole);
        assert_eq!(second_look(None, 4, 3), SecondLook::Whole);
    }

    #[test]
    fn a_reorder_after_page_1_is_caught_without_a_count_by_the_second_read() {
        // Seven users, three a page. Between pages 2 and 3 the users after page 1 are put in
        // another order: user 7 moves onto page 2 (already read), user 4 onto page 3. Page 1
        // is the same before and after, so reading page 1 again sees nothing.
        let skipped = pages_of(&[&[1, 2, 3], &[4, 5, 6], &[4]], None);
        assert_eq!(
            page_ids(&skipped[0]),
            page_ids(&pages_of(&[&[1, 2, 3]], None)[0])
        );
        assert!(check_pages(&skipped, None).is_ok());
        // The record seen twice gives it away: with no user added or removed, a user seen
        // twice means a user not seen.
        let e = merge_pages(skipped).unwrap_err().to_string();
        assert!(
            e.contains("more than one page") && e.contains("no total_count"),
            "{e}"
        );
        // A shift after page 1 (user 4 removed while page 2 is read, the others move back one
        // place, user 7 never read) shows no duplicate and no count: only the second read,
        // which brings user 7, differs.
        let first = merge_pages(pages_of(&[&[1, 2, 3], &[4, 5, 6]], None)).unwrap();
        let missed = merge_pages(pages_of(&[&[1, 2, 3], &[5, 6, 7]], None)).unwrap();
        let e = same_users(&first, &missed).unwrap_err();
        assert!(
            e.contains("1 users only in the first, 1 only in the second"),
            "{e}"
        );
        // Two reads that agree vouch for each other, in whatever order the users came.
        let again = merge_pages(pages_of(&[&[3, 1, 2], &[6, 4, 5]], None)).unwrap();
        assert!(same_users(&first, &again).is_ok());
    }

    #[test]
    fn with_a_count_a_reorder_that_skips_a_user_is_refused_by_the_count() {
        // Page 1 unchanged, user 4 read twice, user 7 never: 6 distinct users against 7.
        let e = merge_pages(pages_of(&[&[1, 2, 3], &[4, 5, 6], &[4]], Some(7)))
            .unwrap_err()
            .to_string();
        assert!(e.contains("6 distinct users but the API counts 7"), "{e}");
        // The same id under another email is never merged, whatever the totals.
        let mut pages = pages_of(&[&[1, 2]], None);
        pages[0].users[1].id = pages[0].users[0].id.clone();
        assert!(merge_pages(pages).is_err());
    }

    #[test]
    fn a_total_that_changes_between_pages_is_refused() {
        let mut pages = pages_of(&[&[1, 2, 3], &[4, 5, 6], &[7]], Some(7));
        pages[2].total_count = Some(8);
        let e = merge_pages(pages).unwrap_err().to_string();
        assert!(e.contains("page 1 counted 7 users, page 3 counts 8"), "{e}");
    }
}
