//! The sandbox's user state: the seeded users in seed order, deletions, filters and paging.
//!
//! Each user is kept as its serialised JSON (the bytes a list response carries) plus the few
//! fields the filters and DELETE need, so a page is served by copying its users' JSON, never
//! by cloning or re-serialising the whole list. Deleted users are tombstoned in place: order is
//! stable and a delete costs O(1).

use std::collections::HashMap;

use serde_json::{Map, Value};

/// The parameters of a list request, already validated.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ListQuery {
    /// 1-based page number.
    pub page: u64,
    /// Users per page, 1..=1000.
    pub per_page: u64,
    /// Lower-cased; case-insensitive exact match on `email`.
    pub email: Option<String>,
    /// Lower-cased; case-insensitive substring of `name`.
    pub name: Option<String>,
    /// Lower-cased; case-insensitive substring of `email` or `name`.
    pub search: Option<String>,
}

impl Default for ListQuery {
    fn default() -> Self {
        ListQuery {
            page: 1,
            per_page: MAX_PER_PAGE,
            email: None,
            name: None,
            search: None,
        }
    }
}

/// The spec's `per_page` default and maximum.
pub(crate) const MAX_PER_PAGE: u64 = 1000;

impl ListQuery {
    fn is_filtered(&self) -> bool {
        self.email.is_some() || self.name.is_some() || self.search.is_some()
    }

    fn matches(&self, entry: &Entry) -> bool {
        let email = entry.email_lc.as_deref();
        let name = entry.name_lc.as_deref();
        if let Some(want) = &self.email {
            if email != Some(want.as_str()) {
                return false;
            }
        }
        if let Some(want) = &self.name {
            if !name.is_some_and(|n| n.contains(want.as_str())) {
                return false;
            }
        }
        if let Some(want) = &self.search {
            let hit = |field: Option<&str>| field.is_some_and(|f| f.contains(want.as_str()));
            if !hit(email) && !hit(name) {
                return false;
            }
        }
        true
    }
}

struct Entry {
    /// The user object as served.
    json: Box<str>,
    email_lc: Option<Box<str>>,
    name_lc: Option<Box<str>>,
    deleted: bool,
}

impl Entry {
    fn from_user(user: Map<String, Value>) -> (Entry, Option<String>) {
        let text = |key: &str| user.get(key).and_then(Value::as_str).map(str::to_string);
        let email_lc = text("email").map(|e| e.to_lowercase().into_boxed_str());
        let name_lc = text("name").map(|n| n.to_lowercase().into_boxed_str());
        let id = text("id");
        let entry = Entry {
            json: Value::Object(user).to_string().into_boxed_str(),
            email_lc,
            name_lc,
            deleted: false,
        };
        (entry, id)
    }
}

/// One page of a listing: the users' JSON texts and the totals for `result_info`.
pub(crate) struct Page<'a> {
    pub users: Vec<&'a str>,
    /// Users matching the filters, on every page.
    pub total_count: u64,
}

pub(crate) struct Store {
    entries: Vec<Entry>,
    /// Live entries by `id`. A seed may repeat an id; a DELETE removes every copy.
    by_id: HashMap<Box<str>, Vec<usize>>,
    /// Deleted entries by `id`, for a user who logs in again (`Faults::relogin`).
    gone: HashMap<Box<str>, Vec<usize>>,
    live: usize,
}

impl Store {
    pub(super) fn new(users: Vec<Map<String, Value>>) -> Store {
        let mut entries = Vec::with_capacity(users.len());
        let mut by_id: HashMap<Box<str>, Vec<usize>> = HashMap::with_capacity(users.len());
        for (index, user) in users.into_iter().enumerate() {
            let (entry, id) = Entry::from_user(user);
            if let Some(id) = id {
                by_id.entry(id.into_boxed_str()).or_default().push(index);
            }
            entries.push(entry);
        }
        let live = entries.len();
        Store {
            entries,
            by_id,
            gone: HashMap::new(),
            live,
        }
    }

    /// Insert `user` at `position` among the live users (clamped to the end), as if it had been
    /// created while the list was read. O(n): meant for churn on small accounts.
    pub(super) fn insert(&mut self, position: usize, user: Map<String, Value>) {
        let index = self
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| !e.deleted)
            .nth(position)
            .map_or(self.entries.len(), |(i, _)| i);
        let (entry, _) = Entry::from_user(user);
        self.entries.insert(index, entry);
        self.live += 1;
        self.reindex();
    }

    fn reindex(&mut self) {
        self.by_id.clear();
        self.gone.clear();
        for (index, entry) in self.entries.iter().enumerate() {
            if let Some(id) = serde_json::from_str::<Value>(&entry.json)
                .ok()
                .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_string))
            {
                let map = if entry.deleted {
                    &mut self.gone
                } else {
                    &mut self.by_id
                };
                map.entry(id.into_boxed_str()).or_default().push(index);
            }
        }
    }

    /// Put the entries in a new order, the same for the same `seed` (Fisher–Yates over
    /// splitmix64). O(n), and every id is indexed again: meant for small accounts.
    pub(super) fn shuffle(&mut self, seed: u64) {
        let mut state = seed;
        for i in (1..self.entries.len()).rev() {
            state = super::seed::mix(state);
            let j = (state % (i as u64 + 1)) as usize;
            self.entries.swap(i, j);
        }
        self.reindex();
    }

    /// The users deleted with this `id`, as they were served.
    pub(super) fn removed(&self, id: &str) -> Vec<Map<String, Value>> {
        self.gone
            .get(id)
            .into_iter()
            .flatten()
            .filter_map(
                |&i| match serde_json::from_str(&self.entries.get(i)?.json) {
                    Ok(Value::Object(map)) => Some(map),
                    _ => None,
                },
            )
            .collect()
    }

    /// Number of users not deleted.
    pub(super) fn len(&self) -> usize {
        self.live
    }

    /// The requested page, in seed order, deleted users left out. A page past the end is empty.
    pub(super) fn page(&self, query: &ListQuery) -> Page<'_> {
        let per_page = query.per_page.max(1);
        // A page so large that its offset overflows is past the end of any list.
        let offset = (query.page.max(1) - 1).checked_mul(per_page);
        let wanted =
            |position: u64| offset.is_some_and(|o| position >= o && position - o < per_page);

        if !query.is_filtered() {
            let total_count = self.live as u64;
            let mut users = Vec::new();
            if let Some(offset) = offset.filter(|&o| o < total_count) {
                if self.live == self.entries.len() {
                    // No deletions yet: the page is a slice.
                    let start = offset as usize;
                    let end = (offset + per_page).min(total_count) as usize;
                    users.extend(self.entries[start..end].iter().map(|e| &*e.json));
                } else {
                    users.extend(
                        self.entries
                            .iter()
                            .filter(|e| !e.deleted)
                            .skip(offset as usize)
                            .take(per_page as usize)
                            .map(|e| &*e.json),
                    );
                }
            }
            return Page { users, total_count };
        }

        let mut total_count = 0u64;
        let mut users = Vec::new();
        for entry in self.entries.iter().filter(|e| !e.deleted) {
            if query.matches(entry) {
                if wanted(total_count) {
                    users.push(&*entry.json);
                }
                total_count += 1;
            }
        }
        Page { users, total_count }
    }

    /// Delete every live user whose `id` is `id`. Returns false if there was none.
    pub(super) fn delete(&mut self, id: &str) -> bool {
        let Some(indices) = self.by_id.remove(id) else {
            return false;
        };
        for &index in &indices {
            if let Some(entry) = self.entries.get_mut(index) {
                entry.deleted = true;
                self.live -= 1;
            }
        }
        self.gone.entry(id.into()).or_default().extend(indices);
        true
    }

    /// The live users, in order, as JSON objects.
    pub(super) fn snapshot(&self) -> Vec<Map<String, Value>> {
        self.entries
            .iter()
            .filter(|e| !e.deleted)
            .filter_map(|e| match serde_json::from_str(&e.json) {
                Ok(Value::Object(map)) => Some(map),
                _ => None,
            })
            .collect()
    }

    /// The live user with this id (the first, if a seed repeats it), found through the index:
    /// one lookup, whatever the account's size.
    pub(super) fn get(&self, id: &str) -> Option<Map<String, Value>> {
        let index = *self.by_id.get(id)?.first()?;
        match serde_json::from_str(&self.entries.get(index)?.json) {
            Ok(Value::Object(map)) => Some(map),
            _ => None,
        }
    }

    /// True if a live user has this id (used in tests and by later fault injection).
    #[cfg(test)]
    pub(super) fn contains(&self, id: &str) -> bool {
        self.by_id.contains_key(id)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(id: &str, email: &str, name: &str) -> Map<String, Value> {
        match json!({"id": id, "email": email, "name": name}) {
            Value::Object(map) => map,
            _ => unreachable!(),
        }
    }

    fn store(n: usize) -> Store {
        Store::new(
            (0..n)
                .map(|i| {
                    user(
                        &format!("id{i}"),
                        &format!("u{i}@x.example"),
                        &format!("User {i}"),
                    )
                })
                .collect(),
        )
    }

    fn ids(page: &Page<'_>) -> Vec<String> {
        page.users
            .iter()
            .map(|u| {
                serde_json::from_str::<Value>(u).unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    }

    fn q(page: u64, per_page: u64) -> ListQuery {
        ListQuery {
            page,
            per_page,
            ..ListQuery::default()
        }
    }

    #[test]
    fn pages_split_the_list_in_order() {
        let s = store(7);
        let p = s.page(&q(1, 3));
        assert_eq!(ids(&p), ["id0", "id1", "id2"]);
        assert_eq!(p.total_count, 7);
        assert_eq!(ids(&s.page(&q(3, 3))), ["id6"]);
        assert!(s.page(&q(4, 3)).users.is_empty());
        assert_eq!(s.page(&q(4, 3)).total_count, 7);
        assert_eq!(s.page(&ListQuery::default()).users.len(), 7);
        // Offsets that overflow are past the end, not a panic.
        assert!(s.page(&q(u64::MAX, 1000)).users.is_empty());
        assert!(Store::new(vec![]).page(&q(1, 10)).users.is_empty());
    }

    #[test]
    fn deletes_remove_users_and_keep_order() {
        let mut s = store(6);
        assert!(s.delete("id1"));
        assert!(!s.delete("id1"));
        assert!(!s.delete("nope"));
        assert!(s.delete("id4"));
        assert_eq!(s.len(), 4);
        assert_eq!(ids(&s.page(&q(1, 2))), ["id0", "id2"]);
        assert_eq!(ids(&s.page(&q(2, 2))), ["id3", "id5"]);
        assert!(s.page(&q(3, 2)).users.is_empty());
        assert_eq!(s.snapshot().len(), 4);
        assert!(!s.contains("id4"));
    }

    #[test]
    fn inserted_users_shift_the_pages_and_can_be_deleted() {
        let mut s = store(4);
        assert!(s.delete("id0"));
        s.insert(1, user("new", "n@x", "N"));
        assert_eq!(ids(&s.page(&q(1, 2))), ["id1", "new"]);
        assert_eq!(ids(&s.page(&q(2, 2))), ["id2", "id3"]);
        assert!(s.delete("new"));
        assert!(s.delete("id3"), "indices stay right after an insert");
        s.insert(99, user("end", "e@x", "E"));
        assert_eq!(ids(&s.page(&q(1, 10))), ["id1", "id2", "end"]);
    }

    #[test]
    fn duplicate_ids_are_deleted_together_and_users_without_id_stay() {
        let mut s = Store::new(vec![
            user("a", "1@x", "x"),
            user("a", "2@x", "y"),
            Map::new(),
        ]);
        assert!(s.delete("a"));
        assert_eq!(s.len(), 1);
        assert_eq!(s.snapshot(), vec![Map::new()]);
    }

    #[test]
    fn shuffling_keeps_every_user_and_deletes_still_reach_them() {
        let mut s = store(20);
        s.shuffle(7);
        let order = ids(&s.page(&q(1, 20)));
        assert_ne!(order, ids(&store(20).page(&q(1, 20))), "a new order");
        let mut sorted = order.clone();
        sorted.sort();
        let mut want: Vec<String> = (0..20).map(|i| format!("id{i}")).collect();
        want.sort();
        assert_eq!(sorted, want);
        let mut again = store(20);
        again.shuffle(7);
        assert_eq!(ids(&again.page(&q(1, 20))), order, "seeded");
        assert!(s.delete("id3"));
        s.shuffle(8);
        assert_eq!(s.len(), 19);
        assert!(!s.contains("id3"));
        assert!(s.delete("id4"), "indices stay right after a shuffle");
    }

    #[test]
    fn one_user_is_found_by_id_until_deleted() {
        let mut s = store(3);
        let id = ids(&s.page(&q(1, 10)))[1].clone();
        assert_eq!(s.get(&id).unwrap()["id"], Value::String(id.clone()));
        assert!(s.get("00000000-0000-4000-8000-999999999999").is_none());
        assert!(s.delete(&id));
        assert!(s.get(&id).is_none());
    }

    #[test]
    fn a_deleted_user_is_remembered_for_a_login_again() {
        let mut s = store(3);
        assert!(s.removed("id1").is_empty());
        assert!(s.delete("id1"));
        assert_eq!(s.removed("id1")[0]["email"], "u1@x.example");
        s.insert(0, user("new", "n@x", "N"));
        assert_eq!(
            s.removed("id1")[0]["email"],
            "u1@x.example",
            "after an insert"
        );
        assert!(s.removed("id0").is_empty());
    }

    #[test]
    fn filters_are_case_insensitive() {
        let s = Store::new(vec![
            user("1", "Alice@Example.com", "Alice Ng"),
            user("2", "bob@example.com", "Bob Alison"),
            user("3", "carol@other.example", "Carol"),
        ]);
        let f = |email: Option<&str>, name: Option<&str>, search: Option<&str>| {
            let query = ListQuery {
                email: email.map(str::to_lowercase),
                name: name.map(str::to_lowercase),
                search: search.map(str::to_lowercase),
                ..ListQuery::default()
            };
            let page = s.page(&query);
            (ids(&page), page.total_count)
        };
        assert_eq!(
            f(Some("alice@EXAMPLE.com"), None, None),
            (vec!["1".into()], 1)
        );
        assert_eq!(f(Some("alice"), None, None), (vec![], 0));
        assert_eq!(
            f(None, Some("ALI"), None),
            (vec!["1".into(), "2".into()], 2)
        );
        assert_eq!(f(None, None, Some("other")), (vec!["3".into()], 1));
        assert_eq!(f(None, None, Some("bob")), (vec!["2".into()], 1));
        assert_eq!(f(Some("bob@example.com"), Some("carol"), None), (vec![], 0));
    }

    #[test]
    fn filtered_pages_count_matches_only() {
        let s = store(25);
        let query = ListQuery {
            page: 2,
            per_page: 3,
            search: Some("user 1".into()), // User 1, User 10..User 19
            ..ListQuery::default()
        };
        let page = s.page(&query);
        assert_eq!(page.total_count, 11);
        assert_eq!(ids(&page), ["id12", "id13", "id14"]);
    }
}
