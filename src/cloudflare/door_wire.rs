//! The door's JSON as it comes (API-additions §3.3, §4.2, §4.4): a Zero Trust list, its items
//! (the 2026 flat `result` or the 2024 nested one), an Access group (with `is_default` a boolean
//! or, as the spec's response schema has it by mistake, an array), and the bodies the client
//! sends. Every field is optional, as in the spec; what the door cannot do without (an id, a
//! name, an item's value) is an error where it is converted, never a guess. Values are kept as
//! the API wrote them: they are data, and whoever shows them escapes them.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::model::door::{LiveGroup, LiveItem, Rule};

/// A Zero Trust list as `GET …/gateway/lists` and the writes answer it (`zero-trust-gateway_lists`).
#[derive(Debug, Default, Deserialize)]
pub(super) struct WireList {
    #[serde(default)]
    pub(super) id: Option<String>,
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default, rename = "type")]
    pub(super) kind: Option<String>,
    /// Only in a POST's answer (and optional there).
    #[serde(default)]
    pub(super) items: Option<Vec<WireItem>>,
}

/// One item (`zero-trust-gateway_items`): `value`, `description`, `created_at` (not read).
#[derive(Debug, Default, Deserialize)]
pub(super) struct WireItem {
    #[serde(default)]
    pub(super) value: Option<String>,
    #[serde(default)]
    pub(super) description: Option<String>,
}

impl WireItem {
    /// The domain's item; an item without a value is one the door could neither compare nor
    /// remove: an error.
    pub(super) fn into_live(self) -> Result<LiveItem, String> {
        match self.value {
            Some(value) => Ok(LiveItem {
                value,
                description: self.description,
            }),
            None => Err("an item has no `value`".into()),
        }
    }
}

/// One page of items, from either shape: `[{…}, …]` (2026) or `[[{…}, …]]` (2024, one inner
/// array; several are accepted and read in order). `null` is an empty page. A page that mixes
/// the two, or holds anything but objects, is an error: the items cannot be known.
pub(super) fn page_items(result: Option<Vec<Value>>) -> Result<Vec<LiveItem>, String> {
    let result = result.unwrap_or_default();
    let nested = !result.is_empty() && result.iter().all(Value::is_array);
    let values: Vec<Value> = if nested {
        result
            .into_iter()
            .flat_map(|inner| match inner {
                Value::Array(items) => items,
                _ => Vec::new(),
            })
            .collect()
    } else {
        result
    };
    values
        .into_iter()
        .map(|v| {
            if !v.is_object() {
                return Err("the items `result` holds something that is not an item".to_string());
            }
            serde_json::from_value::<WireItem>(v)
                .map_err(|e| format!("an item is not the documented shape: {e}"))?
                .into_live()
        })
        .collect()
}

/// An Access group as the API answers it (`access_groups-2`).
#[derive(Debug, Default, Deserialize)]
pub(super) struct WireGroup {
    #[serde(default)]
    pub(super) id: Option<String>,
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) include: Option<Vec<Value>>,
    #[serde(default)]
    pub(super) exclude: Option<Vec<Value>>,
    #[serde(default)]
    pub(super) require: Option<Vec<Value>>,
    /// A boolean (observed), or an array (the spec's response schema, a documented bug).
    #[serde(default)]
    pub(super) is_default: Option<Value>,
}

impl WireGroup {
    /// `is_default` read leniently: a boolean as it is; anything else (an array, as the spec's
    /// schema says, or nothing) is not known.
    pub(super) fn is_default(&self) -> Option<bool> {
        self.is_default.as_ref().and_then(Value::as_bool)
    }

    /// The domain's group. A group without an id or a name cannot be the door's: an error. An
    /// absent `include`, `exclude` or `require` is read as empty (every field is optional in
    /// the spec).
    pub(super) fn into_live(self) -> Result<LiveGroup, String> {
        let id = self.id.ok_or("a group has no `id`")?;
        let name = self.name.ok_or("a group has no `name`")?;
        Ok(LiveGroup {
            id,
            name,
            include: self
                .include
                .unwrap_or_default()
                .into_iter()
                .map(Rule::from_json)
                .collect(),
            exclude: self.exclude.unwrap_or_default(),
            require: self.require.unwrap_or_default(),
        })
    }
}

/// `{"value": …, "description": …}`, the description left out when there is none.
fn item_input(value: &str, description: Option<&str>) -> Value {
    match description {
        Some(d) => json!({"value": value, "description": d}),
        None => json!({"value": value}),
    }
}

/// The POST body of a new EMAIL list.
pub(super) fn create_list_body(
    name: &str,
    description: Option<&str>,
    items: &[(String, Option<String>)],
) -> Value {
    let mut body = json!({"name": name, "type": crate::model::door::EMAIL_LIST_TYPE});
    if let Some(d) = description {
        body["description"] = json!(d);
    }
    if !items.is_empty() {
        body["items"] = items
            .iter()
            .map(|(v, d)| item_input(v, d.as_deref()))
            .collect();
    }
    body
}

/// The PATCH body: `append` and `remove`, each left out when empty.
pub(super) fn patch_body(append: &[(String, Option<String>)], remove: &[String]) -> Value {
    let mut body = json!({});
    if !append.is_empty() {
        body["append"] = append
            .iter()
            .map(|(v, d)| item_input(v, d.as_deref()))
            .collect();
    }
    if !remove.is_empty() {
        body["remove"] = json!(remove);
    }
    body
}

/// The POST and PUT body of a group (they are the same, §3.2).
pub(super) fn group_body(
    name: &str,
    include: &[Rule],
    rest: Option<(&[Value], &[Value], Option<bool>)>,
) -> Value {
    let mut body = json!({
        "name": name,
        "include": include.iter().map(Rule::to_json).collect::<Vec<_>>(),
    });
    if let Some((exclude, require, is_default)) = rest {
        body["exclude"] = json!(exclude);
        body["require"] = json!(require);
        if let Some(d) = is_default {
            body["is_default"] = json!(d);
        }
    }
    body
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn items(raw: &str) -> Result<Vec<LiveItem>, String> {
        page_items(serde_json::from_str::<Option<Vec<Value>>>(raw).unwrap())
    }

    #[test]
    fn both_item_shapes_read_the_same() {
        let flat = items(
            r#"[{"value":"a@x.example","description":"reconcile: u.yaml:3","created_at":"2026-01-01T00:00:00Z"},{"value":"B@x.example"}]"#,
        )
        .unwrap();
        let nested = items(r#"[[{"value":"a@x.example","description":"reconcile: u.yaml:3"},{"value":"B@x.example"}]]"#).unwrap();
        assert_eq!(flat, nested);
        assert_eq!(flat[1].description, None);
        assert_eq!(flat[1].value, "B@x.example", "kept as written");
        assert_eq!(items("[]").unwrap(), vec![]);
        assert_eq!(items("[[]]").unwrap(), vec![]);
        assert_eq!(items("null").unwrap(), vec![]);
    }

    #[test]
    fn items_the_door_cannot_know_are_errors() {
        for bad in [
            r#"[{"description":"no value"}]"#,
            r#"[{"value":3}]"#,
            r#"["a@x.example"]"#,
            r#"[[{"value":"a@x.example"}], {"value":"b@x.example"}]"#,
            r#"[[["a@x.example"]]]"#,
        ] {
            assert!(items(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hostile_values_are_kept_as_data() {
        let hostile = "a@x.example\u{1b}[2J\u{202e}\n";
        let raw =
            serde_json::to_string(&json!([{"value": hostile, "description": "\u{0}"}])).unwrap();
        let got = items(&raw).unwrap();
        assert_eq!(got[0].value, hostile);
        assert_eq!(got[0].description.as_deref(), Some("\u{0}"));
    }

    fn group(raw: &str) -> WireGroup {
        serde_json::from_str(raw).unwrap()
    }

    #[test]
    fn is_default_is_read_leniently() {
        assert_eq!(group(r#"{"is_default":true}"#).is_default(), Some(true));
        assert_eq!(group(r#"{"is_default":false}"#).is_default(), Some(false));
        assert_eq!(group(r#"{"is_default":[]}"#).is_default(), None);
        assert_eq!(
            group(r#"{"is_default":[{"everyone":{}}]}"#).is_default(),
            None
        );
        assert_eq!(group("{}").is_default(), None);
    }

    #[test]
    fn unknown_rules_round_trip_and_missing_fields_are_empty() {
        let okta = json!({"okta": {"name": "eng", "identity_provider_id": "x"}});
        let raw = json!({
            "id": "6b2a1f1e-3c4d-4e5f-8a9b-0c1d2e3f4a5b", "name": "Allowlisted people",
            "include": [{"email_list": {"id": "aa0a4aab-672b-4bdb-bc33-a59f1130a11f"}}, okta.clone(),
                        {"email_domain": {"domain": "example.com"}}],
            "require": [{"geo": {"country_code": "US"}}],
            "future_field": 1,
        });
        let g: WireGroup = serde_json::from_value(raw).unwrap();
        let live = g.into_live().unwrap();
        assert_eq!(live.include[1], Rule::Other(okta.clone()));
        assert!(live.exclude.is_empty());
        let body = group_body(
            &live.name,
            &live.include,
            Some((&live.exclude, &live.require, None)),
        );
        assert_eq!(body["include"][1], okta);
        assert_eq!(body["require"], json!([{"geo": {"country_code": "US"}}]));
        assert_eq!(body["exclude"], json!([]));
        assert!(body.get("is_default").is_none());
        assert!(group(r#"{"name":"x"}"#).into_live().is_err());
        assert!(group(r#"{"id":"x"}"#).into_live().is_err());
    }

    #[test]
    fn bodies_leave_empty_parts_out() {
        assert_eq!(
            patch_body(&[], &["a@x.example".into()]),
            json!({"remove": ["a@x.example"]})
        );
        assert_eq!(
            patch_body(&[("a@x.example".into(), Some("d".into()))], &[]),
            json!({"append": [{"value": "a@x.example", "description": "d"}]})
        );
        assert_eq!(
            create_list_body("n-1", None, &[("a@x.example".into(), None)]),
            json!({"name": "n-1", "type": "EMAIL", "items": [{"value": "a@x.example"}]})
        );
        assert_eq!(
            group_body("g", &[], None),
            json!({"name": "g", "include": []})
        );
    }

    #[test]
    fn lists_parse_with_missing_fields() {
        let l: WireList = serde_json::from_str(r#"{"id":"x","count":2.0}"#).unwrap();
        assert_eq!(l.name, None);
        assert_eq!(l.id.as_deref(), Some("x"));
        assert!(l.items.is_none());
    }
}
