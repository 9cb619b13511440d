//! Writing the door with minimal changes (API-additions §3.2, §4.2): a new EMAIL list (POST,
//! 200), a list's items appended and removed (PATCH, never a full rewrite), a new group (POST,
//! 201), a group's rules replaced (PUT, `exclude`, `require` and `is_default` sent back as
//! they were).
//!
//! Retries. A write the API refused (429, its own 5xx envelope, a failed connection) changed
//! nothing, and is sent again by the usual rules. A write whose answer was lost (a timeout or a
//! cut after sending, a gateway's 502/504/520/524, a garbled success) may have taken effect:
//! - the PUT of a group is idempotent, so it is retried, and resolved as below if no answer
//!   came back in the end;
//! - a POST or a PATCH is not sent again: a second POST would make a second list or group, a
//!   second PATCH would be refused as a duplicate (400) or hide what happened. The outcome is
//!   resolved by reading back instead, as a DELETE's is: the change found made (for a POST, the
//!   one list or group of that name holding exactly what was sent, so that another of that name
//!   is never taken for it) is a success with [`Written::answer_lost`]; not found is [`ApiError::Unconfirmed`], saying what the
//!   read showed, and nothing is sent again (the next run plans from what is there).
//!
//! So for every write: `Ok` is done; [`ApiError::Unconfirmed`] is "may have been changed"; any
//! other error means this call changed nothing ([`ApiError::request_sent`] says whether a
//! request went out at all).

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::door_wire::{create_list_body, group_body, patch_body, WireGroup, WireList};
use super::error::ApiError;
use super::transport::{Detailed, Sending};
use super::wire::Envelope;
use super::Client;
use crate::model::door::{DoorId, LiveGroup, LiveItem, LiveList, Rule};

/// A write that was done.
#[derive(Debug, Clone, PartialEq)]
pub struct Written<T> {
    /// What the API answered (or, after a lost answer, what reading back found).
    pub value: T,
    /// An answer was lost: reading back found the change made (or, for the idempotent PUT, a
    /// later attempt made it).
    pub answer_lost: bool,
}

fn done<T>(value: T) -> Written<T> {
    Written {
        value,
        answer_lost: false,
    }
}

fn unconfirmed(answer: ApiError, found: String) -> ApiError {
    ApiError::Unconfirmed {
        answer: Box::new(answer),
        found,
    }
}

impl Client {
    /// Send one write; its detailed end, the request as named, and the body's bytes kept.
    async fn write<T: DeserializeOwned>(
        &self,
        method: Method,
        url: reqwest::Url,
        body: &Value,
        lists: bool,
        idempotent: bool,
    ) -> (String, Detailed<(reqwest::StatusCode, Envelope<T>)>) {
        let request = self.describe(&method, &url);
        let bytes = body.to_string().into_bytes();
        let sending = Sending {
            body: Some(&bytes),
            lists,
            once_if_unanswered: !idempotent,
        };
        (request, self.call_sending::<T>(method, url, sending).await)
    }

    /// Create an EMAIL list with these items (`(value, description)`). The list as the API
    /// answered it; its items as sent when the answer leaves them out.
    pub async fn create_list(
        &self,
        name: &str,
        description: Option<&str>,
        items: &[(String, Option<String>)],
    ) -> Result<Written<LiveList>, ApiError> {
        let url = self.account_url(&["gateway", "lists"], &[]);
        let body = create_list_body(name, description, items);
        let (request, d) = self
            .write::<WireList>(Method::POST, url, &body, true, false)
            .await;
        let sent_items = || -> Vec<LiveItem> {
            items
                .iter()
                .map(|(value, description)| LiveItem {
                    value: value.clone(),
                    description: description.clone(),
                })
                .collect()
        };
        match d.result {
            Ok((status, envelope)) => {
                let status = status.as_u16();
                let wire = envelope.result.unwrap_or_default();
                let id = wire.id.as_deref().and_then(DoorId::parse).ok_or_else(|| {
                    ApiError::Malformed {
                        request: request.clone(),
                        status,
                        detail: "the new list's `id` is missing or not a UUID: the list may exist, but cannot be used".into(),
                    }
                })?;
                let items = match wire.items {
                    Some(items) => items
                        .into_iter()
                        .map(super::door_wire::WireItem::into_live)
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|detail| super::door::malformed(&request, status, detail))?,
                    None => sent_items(),
                };
                Ok(done(LiveList {
                    id: id.as_str().to_string(),
                    name: wire.name.unwrap_or_else(|| name.to_string()),
                    kind: wire.kind,
                    items,
                }))
            }
            Err(e) if d.unanswered == 0 => Err(e),
            Err(e) => {
                // Was it created? A list of that name now, and only one, holding exactly the
                // items sent, is the one: another of that name (made by someone else while the
                // answer was lost) is not taken for it.
                let read = self.read_door(|_, n| n == name, None).await;
                let shown = crate::text::printable(name);
                let values = |items: &mut dyn Iterator<Item = &str>| {
                    let mut v: Vec<String> = items.map(str::to_lowercase).collect();
                    v.sort();
                    v
                };
                let sent = values(&mut items.iter().map(|(v, _)| v.as_str()));
                match read {
                    Ok(door)
                        if door.lists.len() == 1
                            && door.lists[0].kind.as_deref().is_none_or(|k| k == "EMAIL")
                            && values(&mut door.lists[0].items.iter().map(|i| i.value.as_str()))
                                == sent =>
                    {
                        let list = door.lists.into_iter().next().unwrap_or_default();
                        Ok(Written {
                            value: list,
                            answer_lost: true,
                        })
                    }
                    Ok(door) if door.lists.len() == 1 => Err(unconfirmed(e, format!("the one list named `{shown}` now is not of type EMAIL or holds other items than were sent: not made by this request, as far as a read shows; not sent again"))),
                    Ok(door) if door.lists.is_empty() => Err(unconfirmed(e, format!("no list named `{shown}` exists now: not created, as far as a read shows; not sent again"))),
                    Ok(door) => Err(unconfirmed(e, format!("{} lists are named `{shown}` now: which one this request made is not known; not sent again", door.lists.len()))),
                    Err(read) => Err(unconfirmed(e, format!("reading the lists back failed too ({read}): whether the list was created is not known"))),
                }
            }
        }
    }

    /// Append and remove items of a list in one PATCH: `append` as `(value, description)`,
    /// `remove` as values; an empty part is left out, and with both empty nothing is sent.
    pub async fn patch_list(
        &self,
        id: &DoorId,
        append: &[(String, Option<String>)],
        remove: &[String],
    ) -> Result<Written<()>, ApiError> {
        if append.is_empty() && remove.is_empty() {
            return Ok(done(()));
        }
        let url = self.account_url(&["gateway", "lists", id.as_str()], &[]);
        let body = patch_body(append, remove);
        let (_, d) = self
            .write::<Value>(Method::PATCH, url, &body, true, false)
            .await;
        match d.result {
            Ok(_) => Ok(done(())),
            Err(e) if d.unanswered == 0 => Err(e),
            Err(e) => match self.list_items(id).await {
                Ok(items) => {
                    let held: std::collections::HashSet<String> =
                        items.iter().map(|i| i.value.to_lowercase()).collect();
                    let appended = append
                        .iter()
                        .filter(|(v, _)| held.contains(&v.to_lowercase()))
                        .count();
                    let still = remove
                        .iter()
                        .filter(|v| held.contains(&v.to_lowercase()))
                        .count();
                    if appended == append.len() && still == 0 {
                        Ok(Written {
                            value: (),
                            answer_lost: true,
                        })
                    } else {
                        Err(unconfirmed(e, format!("reading the list back shows the change not made ({appended} of {} values to append present, {still} of {} to remove still there); not sent again", append.len(), remove.len())))
                    }
                }
                Err(read) => Err(unconfirmed(e, format!("reading the list back failed too ({read}): whether it was changed is not known"))),
            },
        }
    }

    /// Create a group whose `include` is these rules (nothing excluded or required).
    pub async fn create_group(
        &self,
        name: &str,
        include: &[Rule],
    ) -> Result<Written<LiveGroup>, ApiError> {
        let url = self.account_url(&["access", "groups"], &[]);
        let body = group_body(name, include, None);
        let (request, d) = self
            .write::<WireGroup>(Method::POST, url, &body, false, false)
            .await;
        match d.result {
            Ok((status, envelope)) => {
                let live = envelope
                    .result
                    .unwrap_or_default()
                    .into_live()
                    .map_err(|detail| super::door::malformed(&request, status.as_u16(), detail))?;
                Ok(done(live))
            }
            Err(e) if d.unanswered == 0 => Err(e),
            Err(e) => {
                let shown = crate::text::printable(name);
                // Only a group as sent is the one made: another of that name is not taken for it.
                let as_sent = |g: &LiveGroup| {
                    g.include == include && g.exclude.is_empty() && g.require.is_empty()
                };
                match self.groups_named(name).await {
                    Ok(mut groups) if groups.len() == 1 && as_sent(&groups[0]) => Ok(Written {
                        value: groups.remove(0),
                        answer_lost: true,
                    }),
                    Ok(groups) if groups.len() == 1 => Err(unconfirmed(e, format!("the one group named `{shown}` now has other rules than were sent: not made by this request, as far as a read shows; not sent again"))),
                    Ok(groups) if groups.is_empty() => Err(unconfirmed(e, format!("no group named `{shown}` exists now: not created, as far as a read shows; not sent again"))),
                    Ok(groups) => Err(unconfirmed(e, format!("{} groups are named `{shown}` now: which one this request made is not known; not sent again", groups.len()))),
                    Err(read) => Err(unconfirmed(e, format!("reading the groups back failed too ({read}): whether the group was created is not known"))),
                }
            }
        }
    }

    /// Replace a group's `name` and `include`; `exclude` and `require` are sent back as the
    /// caller read them. The PUT replaces the whole group, so its `is_default` is read first
    /// (a GET) and sent back as it is: the door's model does not carry it. A failed read sends
    /// nothing.
    pub async fn put_group(
        &self,
        id: &DoorId,
        name: &str,
        include: &[Rule],
        exclude: &[Value],
        require: &[Value],
    ) -> Result<Written<LiveGroup>, ApiError> {
        let (_, is_default) = self.get_group(id).await?;
        let url = self.account_url(&["access", "groups", id.as_str()], &[]);
        let body = group_body(name, include, Some((exclude, require, is_default)));
        let (request, d) = self
            .write::<WireGroup>(Method::PUT, url, &body, false, true)
            .await;
        let wanted = |g: &LiveGroup| {
            g.name == name && g.include == include && g.exclude == exclude && g.require == require
        };
        match d.result {
            Ok((status, envelope)) => {
                let live = envelope
                    .result
                    .unwrap_or_default()
                    .into_live()
                    .map_err(|detail| super::door::malformed(&request, status.as_u16(), detail))?;
                Ok(Written {
                    value: live,
                    answer_lost: d.unanswered > 0,
                })
            }
            Err(e) if d.unanswered == 0 => Err(e),
            Err(e) => match self.get_group(id).await {
                Ok((g, _)) if wanted(&g) => Ok(Written {
                    value: g,
                    answer_lost: true,
                }),
                Ok(_) => Err(unconfirmed(e, "reading the group back shows it not as sent: not changed by this request, as far as a read shows".into())),
                Err(read) => Err(unconfirmed(e, format!("reading the group back failed too ({read}): whether it was changed is not known"))),
            },
        }
    }
}
