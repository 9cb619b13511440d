//! Zero Trust lists (API-additions §4): list, create, details, update (PUT), patch, delete and
//! the items of a list.

use serde_json::{json, Map, Value};

use super::super::api::{self, ApiError, Reply};
use super::super::options::ItemsShape;
use super::{invalid, ok, stamp, Door, Item, List};

/// The spec's `type` enum (2026).
pub(crate) const TYPES: [&str; 9] = [
    "SERIAL", "URL", "DOMAIN", "EMAIL", "IP", "CATEGORY", "LOCATION", "DEVICE", "AAGUID",
];

/// Lists an account may hold (API-additions §4.5).
pub(crate) const MAX_LISTS: usize = 100;

/// `GET …/items`: `per_page` default and maximum (§4.1).
const ITEMS_PER_PAGE: u64 = 50;
const ITEMS_MAX_PER_PAGE: u64 = 1000;

/// A test a list passes to be listed.
type Keep = Box<dyn Fn(&List) -> bool>;

/// What a list object carries besides its fields: its `items`, or its `count`.
pub(super) enum Items {
    Listed,
    Count,
}

/// A list as the API serves it: `count` (details, collection, PUT, PATCH) or `items` (POST).
pub(super) fn object(list: &List, items: Items) -> Value {
    let mut v = json!({
        "id": list.id,
        "name": list.name,
        "type": list.kind,
        "created_at": list.created_at,
        "updated_at": list.updated_at,
    });
    if let Some(d) = &list.description {
        v["description"] = json!(d);
    }
    match items {
        Items::Listed => v["items"] = items_json(&list.items),
        Items::Count => v["count"] = json!(list.items.len()),
    }
    v
}

pub(super) fn items_json(items: &[Item]) -> Value {
    Value::Array(
        items
            .iter()
            .map(|i| {
                let mut v = json!({"value": i.value, "created_at": i.created_at});
                if let Some(d) = &i.description {
                    v["description"] = json!(d);
                }
                v
            })
            .collect(),
    )
}

/// `GET …/gateway/lists`: every list in creation order, no paging; `filter` (repeatable) and
/// `search` narrow it.
pub(super) fn list(door: &Door, query: Option<&str>) -> Result<Reply, ApiError> {
    let mut keep: Vec<Keep> = Vec::new();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (key, value) = (api::decode_query(key), api::decode_query(value));
        match key.as_str() {
            "filter" => keep.push(filter(&value)?),
            "type" => {
                let kind = check_type(&value)?;
                keep.push(Box::new(move |l| l.kind == kind));
            }
            "search" if !value.is_empty() => {
                let want = value.to_lowercase();
                keep.push(Box::new(move |l| {
                    l.name.to_lowercase().contains(&want)
                        || l.description
                            .as_deref()
                            .is_some_and(|d| d.to_lowercase().contains(&want))
                }));
            }
            _ => {}
        }
    }
    let result: Vec<Value> = door
        .lists
        .iter()
        .filter(|l| keep.iter().all(|k| k(l)))
        .map(|l| object(l, Items::Count))
        .collect();
    let n = result.len();
    Ok(Reply {
        status: 200,
        body: json!({
            "success": true, "errors": [], "messages": [], "result": result,
            "result_info": {"page": 1, "per_page": n, "count": n, "total_count": n},
        })
        .to_string(),
        allow: None,
    })
}

/// One `filter=field:value` (§4.1's patterns).
fn filter(value: &str) -> Result<Keep, ApiError> {
    let bad = || {
        invalid(format!(
            "Invalid filter {:?}: use name:TEXT, id:TEXT, type:EMAIL (or another list type) or item_count:N",
            api::truncate(value, 64)
        ))
    };
    let (field, want) = value.split_once(':').ok_or_else(bad)?;
    let want = want.to_string();
    Ok(match field {
        "name" => {
            let want = want.to_lowercase();
            Box::new(move |l| l.name.to_lowercase().contains(&want))
        }
        "id" => {
            let want = want.replace('-', "").to_lowercase();
            Box::new(move |l| l.id.replace('-', "").to_lowercase().contains(&want))
        }
        "type" if TYPES.contains(&want.as_str()) => Box::new(move |l| l.kind == want),
        "item_count" => {
            let n: usize = want.parse().map_err(|_| bad())?;
            Box::new(move |l| l.items.len() == n)
        }
        _ => return Err(bad()),
    })
}

fn check_type(kind: &str) -> Result<String, ApiError> {
    if TYPES.contains(&kind) {
        Ok(kind.to_string())
    } else {
        Err(invalid(format!(
            "Invalid list type {:?}: one of {}",
            api::truncate(kind, 64),
            TYPES.join(", ")
        )))
    }
}

/// An optional string field.
fn text(body: &Map<String, Value>, key: &str) -> Result<Option<String>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(format!("`{key}` must be a string"))),
    }
}

fn name(body: &Map<String, Value>) -> Result<String, ApiError> {
    match text(body, "name")? {
        Some(n) if !n.trim().is_empty() => Ok(n),
        _ => Err(invalid("`name` is required: the list's name")),
    }
}

/// Two values are the same entry: EMAIL values compared case-insensitively, others exactly.
fn same(kind: &str, a: &str, b: &str) -> bool {
    if kind == "EMAIL" {
        a.to_lowercase() == b.to_lowercase()
    } else {
        a == b
    }
}

/// A value fit for a list of `kind`: not empty; for EMAIL, one `@` between a non-empty local
/// part and a domain with a dot, and no spaces.
fn check_value(kind: &str, value: &str) -> Result<(), ApiError> {
    let shown = api::truncate(value, 80);
    if value.trim().is_empty() {
        return Err(invalid("An item's `value` must not be empty"));
    }
    if kind == "EMAIL" {
        let shaped = value.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
        }) && !value.chars().any(char::is_whitespace);
        if !shaped {
            return Err(invalid(format!(
                "Invalid email address {shown:?} for a list of type EMAIL"
            )));
        }
    }
    Ok(())
}

/// Parse `items` (or PATCH's `append`): an array of `{value, description?}`.
fn parse_items(kind: &str, raw: &Value, key: &str, now: &str) -> Result<Vec<Item>, ApiError> {
    let Value::Array(raw) = raw else {
        return Err(invalid(format!(
            "`{key}` must be an array of {{\"value\": …}}"
        )));
    };
    let mut items = Vec::with_capacity(raw.len());
    for item in raw {
        let value = item.get("value").and_then(Value::as_str).ok_or_else(|| {
            invalid(format!(
                "Each of `{key}` needs a string `value`, as {{\"value\": \"jdoe@example.com\"}}"
            ))
        })?;
        check_value(kind, value)?;
        let description = match item.get("description") {
            None | Some(Value::Null) => None,
            Some(Value::String(d)) => Some(d.clone()),
            Some(_) => return Err(invalid("An item's `description` must be a string")),
        };
        items.push(Item {
            value: value.to_string(),
            description,
            created_at: now.to_string(),
        });
    }
    Ok(items)
}

/// "Lists cannot have duplicate entries" (docs; 400 observed).
fn check_unique(kind: &str, items: &[Item]) -> Result<(), ApiError> {
    for (i, a) in items.iter().enumerate() {
        if items[..i].iter().any(|b| same(kind, &a.value, &b.value)) {
            return Err(invalid(format!(
                "Lists cannot have duplicate entries: {:?}",
                api::truncate(&a.value, 80)
            )));
        }
    }
    Ok(())
}

fn check_capacity(items: &[Item], capacity: Option<usize>) -> Result<(), ApiError> {
    match capacity {
        Some(cap) if items.len() > cap => Err(invalid(format!(
            "A list holds at most {cap} entries on this plan; this one would hold {}",
            items.len()
        ))),
        _ => Ok(()),
    }
}

/// `POST …/gateway/lists` (200). `id` and no `capacity` for a seed's list.
pub(crate) fn create(
    door: &mut Door,
    body: &Map<String, Value>,
    id: Option<String>,
    capacity: Option<usize>,
    now: &str,
) -> Result<Reply, ApiError> {
    let name = name(body)?;
    let kind = match body.get("type") {
        Some(Value::String(t)) => check_type(t)?,
        _ => {
            return Err(invalid(
                "`type` is required: one of the list types, e.g. EMAIL",
            ))
        }
    };
    let description = text(body, "description")?;
    let items = match body.get("items") {
        None | Some(Value::Null) => Vec::new(),
        Some(raw) => parse_items(&kind, raw, "items", now)?,
    };
    check_unique(&kind, &items)?;
    check_capacity(&items, capacity)?;
    if capacity.is_some() && door.lists.len() >= MAX_LISTS {
        return Err(invalid(format!(
            "An account holds at most {MAX_LISTS} lists"
        )));
    }
    let id = match id {
        Some(id) => id,
        None => door.mint(),
    };
    if door.lists.iter().any(|l| l.id == id) {
        return Err(invalid(format!("A list with id {id:?} exists already")));
    }
    let list = List {
        id,
        name,
        description,
        kind,
        items,
        created_at: now.to_string(),
        updated_at: now.to_string(),
    };
    let reply = ok(200, object(&list, Items::Listed));
    door.lists.push(list);
    Ok(reply)
}

fn find<'a>(door: &'a mut Door, path: &str, id: &str) -> Result<&'a mut List, ApiError> {
    door.lists
        .iter_mut()
        .find(|l| l.id == id)
        .ok_or_else(|| api::could_not_route(path))
}

/// `GET …/gateway/lists/{id}`: the list with its `count`, without `items`.
pub(super) fn details(door: &Door, path: &str, id: &str) -> Result<Reply, ApiError> {
    let list = door
        .lists
        .iter()
        .find(|l| l.id == id)
        .ok_or_else(|| api::could_not_route(path))?;
    Ok(ok(200, object(list, Items::Count)))
}

/// `PUT …/gateway/lists/{id}`: `name` required; `description` kept when absent; `items`
/// absent or `[]` keeps the items, a non-empty one replaces them.
pub(super) fn update(
    door: &mut Door,
    path: &str,
    id: &str,
    body: &Map<String, Value>,
    capacity: usize,
) -> Result<Reply, ApiError> {
    let now = stamp();
    let list = find(door, path, id)?;
    let name = name(body)?;
    let description = text(body, "description")?;
    let items = match body.get("items") {
        None | Some(Value::Null) => None,
        Some(raw) => {
            let items = parse_items(&list.kind, raw, "items", &now)?;
            check_unique(&list.kind, &items)?;
            check_capacity(&items, Some(capacity))?;
            (!items.is_empty()).then_some(items)
        }
    };
    list.name = name;
    if description.is_some() {
        list.description = description;
    }
    if let Some(items) = items {
        list.items = items;
    }
    list.updated_at = now;
    Ok(ok(200, object(list, Items::Count)))
}

/// `PATCH …/gateway/lists/{id}` `{append, remove}`: the removals, then the appends, all or
/// nothing. A value both appended and removed is refused (400); removing a value the list does
/// not hold is not an error; appending one it holds (after the removals) is a duplicate (400).
pub(super) fn patch(
    door: &mut Door,
    path: &str,
    id: &str,
    body: &Map<String, Value>,
    capacity: usize,
) -> Result<Reply, ApiError> {
    let now = stamp();
    let list = find(door, path, id)?;
    let append = match body.get("append") {
        None | Some(Value::Null) => Vec::new(),
        Some(raw) => parse_items(&list.kind, raw, "append", &now)?,
    };
    let remove: Vec<String> = match body.get("remove") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(values)) => values
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<_>>()
            .ok_or_else(|| invalid("`remove` must be an array of item values (strings)"))?,
        Some(_) => {
            return Err(invalid(
                "`remove` must be an array of item values (strings)",
            ))
        }
    };
    let kind = list.kind.clone();
    if let Some(both) = append
        .iter()
        .find(|a| remove.iter().any(|r| same(&kind, &a.value, r)))
    {
        return Err(invalid(format!(
            "{:?} is both appended and removed: send one or the other",
            api::truncate(&both.value, 80)
        )));
    }
    let mut items: Vec<Item> = list
        .items
        .iter()
        .filter(|i| !remove.iter().any(|r| same(&kind, &i.value, r)))
        .cloned()
        .collect();
    let changed = items.len() != list.items.len() || !append.is_empty();
    items.extend(append);
    check_unique(&kind, &items)?;
    check_capacity(&items, Some(capacity))?;
    list.items = items;
    if changed {
        list.updated_at = now;
    }
    Ok(ok(200, object(list, Items::Count)))
}

/// `DELETE …/gateway/lists/{id}`: 200 with an empty result.
pub(super) fn delete(door: &mut Door, path: &str, id: &str) -> Result<Reply, ApiError> {
    let at = door
        .lists
        .iter()
        .position(|l| l.id == id)
        .ok_or_else(|| api::could_not_route(path))?;
    door.lists.remove(at);
    Ok(ok(200, json!({})))
}

/// `GET …/gateway/lists/{id}/items`: a page of items, flat (2026) or nested (2024).
pub(super) fn items(
    door: &Door,
    path: &str,
    id: &str,
    query: Option<&str>,
    shape: ItemsShape,
) -> Result<Reply, ApiError> {
    let list = door
        .lists
        .iter()
        .find(|l| l.id == id)
        .ok_or_else(|| api::could_not_route(path))?;
    let (mut page, mut per_page) = (1, ITEMS_PER_PAGE);
    let mut seen = Vec::new();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (key, value) = (api::decode_query(key), api::decode_query(value));
        let name = match key.as_str() {
            "page" => "page",
            "per_page" => "per_page",
            _ => continue,
        };
        if seen.contains(&name) {
            return Err(invalid(format!(
                "Invalid query parameter {name}: given more than once"
            )));
        }
        seen.push(name);
        if name == "page" {
            page = api::parse_count(name, &value, u64::MAX)?;
        } else {
            per_page = api::parse_count(name, &value, ITEMS_MAX_PER_PAGE)?;
        }
    }
    let total = list.items.len() as u64;
    let start = (page - 1).saturating_mul(per_page).min(total) as usize;
    let end = (start as u64).saturating_add(per_page).min(total) as usize;
    let slice = items_json(&list.items[start..end]);
    let count = end - start;
    let result = match shape {
        ItemsShape::Flat => slice,
        ItemsShape::Nested => Value::Array(vec![slice]),
    };
    Ok(Reply {
        status: 200,
        body: json!({
            "success": true, "errors": [], "messages": [], "result": result,
            "result_info": {
                "page": page, "per_page": per_page, "count": count,
                "total_count": total, "total_pages": total.div_ceil(per_page),
            },
        })
        .to_string(),
        allow: None,
    })
}
