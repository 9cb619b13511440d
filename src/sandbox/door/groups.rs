//! Access groups (API-additions §3): list, create, get, update (PUT) and delete.

use serde_json::{json, Map, Value};

use super::super::api::{self, codes, ApiError, Reply};
use super::super::store::MAX_PER_PAGE;
use super::{invalid, ok, stamp, Door, Group};

/// Groups per account, rules per group, emails per rule, characters in a name (§3.5).
pub(crate) const MAX_GROUPS: usize = 300;
pub(crate) const MAX_RULES: usize = 1000;
pub(crate) const MAX_EMAILS_PER_RULE: usize = 1000;
pub(crate) const MAX_NAME_CHARS: usize = 350;

/// A group as the API serves it (`access_groups-2`); `is_default` a boolean, as observed.
pub(super) fn object(g: &Group) -> Value {
    json!({
        "id": g.id,
        "name": g.name,
        "include": g.include,
        "exclude": g.exclude,
        "require": g.require,
        "is_default": g.is_default,
        "created_at": g.created_at,
        "updated_at": g.updated_at,
    })
}

fn not_found() -> ApiError {
    ApiError::new(404, codes::NOT_FOUND, "access.api.error.not_found")
}

/// `GET …/access/groups`: `name` (case-insensitive, exact), `search` (substring of the name),
/// `page`, `per_page` (default and maximum 1000).
pub(super) fn list(door: &Door, query: Option<&str>) -> Result<Reply, ApiError> {
    let (mut page, mut per_page) = (1u64, MAX_PER_PAGE);
    let (mut name, mut search) = (None, None);
    let mut seen = Vec::new();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (key, value) = (api::decode_query(key), api::decode_query(value));
        let key: &'static str = match key.as_str() {
            "page" => "page",
            "per_page" => "per_page",
            "name" => "name",
            "search" => "search",
            _ => continue,
        };
        if seen.contains(&key) {
            return Err(invalid(format!(
                "Invalid query parameter {key}: given more than once"
            )));
        }
        seen.push(key);
        let lower = (!value.is_empty()).then(|| value.to_lowercase());
        match key {
            "page" => page = api::parse_count(key, &value, u64::MAX)?,
            "per_page" => per_page = api::parse_count(key, &value, MAX_PER_PAGE)?,
            "name" => name = lower,
            _ => search = lower,
        }
    }
    let matching: Vec<&Group> = door
        .groups
        .iter()
        .filter(|g| name.as_ref().is_none_or(|n| g.name.to_lowercase() == *n))
        .filter(|g| {
            search
                .as_ref()
                .is_none_or(|s| g.name.to_lowercase().contains(s.as_str()))
        })
        .collect();
    let total = matching.len() as u64;
    let start = (page - 1).saturating_mul(per_page).min(total) as usize;
    let end = (start as u64).saturating_add(per_page).min(total) as usize;
    let result: Vec<Value> = matching[start..end].iter().map(|g| object(g)).collect();
    Ok(Reply {
        status: 200,
        body: json!({
            "success": true, "errors": [], "messages": [], "result": result,
            "result_info": {
                "page": page, "per_page": per_page, "count": end - start,
                "total_count": total, "total_pages": total.div_ceil(per_page),
            },
        })
        .to_string(),
        allow: None,
    })
}

/// A checked body of POST and PUT.
struct Body {
    name: String,
    include: Vec<Value>,
    exclude: Vec<Value>,
    require: Vec<Value>,
    is_default: bool,
}

fn parse(body: &Map<String, Value>) -> Result<Body, ApiError> {
    let name = match body.get("name") {
        Some(Value::String(n)) if !n.trim().is_empty() => n.clone(),
        _ => return Err(invalid("`name` is required: the Access group's name")),
    };
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(invalid(format!(
            "A group name has at most {MAX_NAME_CHARS} characters"
        )));
    }
    let rules = |key: &str, required: bool| -> Result<Vec<Value>, ApiError> {
        match body.get(key) {
            None | Some(Value::Null) if !required => Ok(Vec::new()),
            Some(Value::Array(rules)) => {
                for rule in rules {
                    check_rule(key, rule)?;
                }
                let emails = rules.iter().filter(|r| r.get("email").is_some()).count();
                if emails > MAX_EMAILS_PER_RULE {
                    return Err(invalid(format!(
                        "`{key}` holds {emails} email rules; at most {MAX_EMAILS_PER_RULE} email addresses per rule"
                    )));
                }
                Ok(rules.clone())
            }
            _ if required => Err(invalid(format!(
                "`{key}` is required: an array of rules, e.g. [{{\"email\": {{\"email\": \"jdoe@example.com\"}}}}]"
            ))),
            _ => Err(invalid(format!("`{key}` must be an array of rules"))),
        }
    };
    let include = rules("include", true)?;
    let exclude = rules("exclude", false)?;
    let require = rules("require", false)?;
    let total = include.len() + exclude.len() + require.len();
    if total > MAX_RULES {
        return Err(invalid(format!(
            "A group holds at most {MAX_RULES} rules (include, exclude and require together); this one has {total}"
        )));
    }
    let is_default = match body.get("is_default") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(invalid("`is_default` must be a boolean")),
    };
    Ok(Body {
        name,
        include,
        exclude,
        require,
        is_default,
    })
}

/// A rule is an object with exactly one key whose value is an object (every variant of
/// `access_rule`); its kind is not checked, so unknown kinds round-trip.
fn check_rule(key: &str, rule: &Value) -> Result<(), ApiError> {
    match rule {
        Value::Object(map) if map.len() == 1 && map.values().all(Value::is_object) => Ok(()),
        _ => Err(invalid(format!(
            "Each rule of `{key}` is an object with one key, e.g. {{\"email_list\": {{\"id\": \"…\"}}}}; got {}",
            api::truncate(&rule.to_string(), 120)
        ))),
    }
}

/// `POST …/access/groups` (201). `id` given and `limits` off for a seed's group.
pub(crate) fn create(
    door: &mut Door,
    body: &Map<String, Value>,
    id: Option<String>,
    limits: bool,
    now: &str,
) -> Result<Reply, ApiError> {
    let body = parse(body)?;
    if limits && door.groups.len() >= MAX_GROUPS {
        return Err(invalid(format!(
            "An account holds at most {MAX_GROUPS} Access groups"
        )));
    }
    let id = match id {
        Some(id) => id,
        None => door.mint(),
    };
    if door.groups.iter().any(|g| g.id == id) {
        return Err(invalid(format!("A group with id {id:?} exists already")));
    }
    let group = Group {
        id,
        name: body.name,
        include: body.include,
        exclude: body.exclude,
        require: body.require,
        is_default: body.is_default,
        created_at: now.to_string(),
        updated_at: now.to_string(),
    };
    let reply = ok(201, object(&group));
    door.groups.push(group);
    Ok(reply)
}

/// `GET …/access/groups/{id}`.
pub(super) fn get(door: &Door, id: &str) -> Result<Reply, ApiError> {
    let g = door
        .groups
        .iter()
        .find(|g| g.id == id)
        .ok_or_else(not_found)?;
    Ok(ok(200, object(g)))
}

/// `PUT …/access/groups/{id}`: the whole group is replaced (rules left out become empty,
/// `is_default` false); `id` and `created_at` stay.
pub(super) fn update(
    door: &mut Door,
    id: &str,
    body: &Map<String, Value>,
) -> Result<Reply, ApiError> {
    let body = parse(body)?;
    let g = door
        .groups
        .iter_mut()
        .find(|g| g.id == id)
        .ok_or_else(not_found)?;
    g.name = body.name;
    g.include = body.include;
    g.exclude = body.exclude;
    g.require = body.require;
    g.is_default = body.is_default;
    g.updated_at = stamp();
    Ok(ok(200, object(g)))
}

/// `DELETE …/access/groups/{id}`: 202 with `{"id": …}` (`access_id_response`).
pub(super) fn delete(door: &mut Door, id: &str) -> Result<Reply, ApiError> {
    let at = door
        .groups
        .iter()
        .position(|g| g.id == id)
        .ok_or_else(not_found)?;
    let g = door.groups.remove(at);
    Ok(ok(202, json!({"id": g.id})))
}
