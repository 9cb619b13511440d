//! The `lists:` and `groups:` of a seed file: a door that exists before the first request.
//!
//! Each entry is read with `deny_unknown_fields` (so a typo is reported with its line), becomes
//! the JSON body a POST would send (plus its `id`, when given), and goes through the same
//! checks as a POST: a seed cannot hold what the API would refuse, except the limits (a seed may
//! hold more lists, groups or entries than the API lets a client create).

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{groups, lists, stamp, Door};

/// A list as a seed writes it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::sandbox) struct RawList {
    #[serde(default)]
    id: Option<String>,
    name: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    items: Vec<RawItem>,
}

/// An entry: its value alone, or `{value, description}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawItem {
    Value(String),
    Full {
        value: String,
        #[serde(default)]
        description: Option<String>,
    },
}

/// A group as a seed writes it; rules as the API's JSON.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::sandbox) struct RawGroup {
    #[serde(default)]
    id: Option<String>,
    name: String,
    include: Vec<Value>,
    #[serde(default)]
    exclude: Vec<Value>,
    #[serde(default)]
    require: Vec<Value>,
    #[serde(default)]
    is_default: Option<bool>,
}

impl RawList {
    pub(in crate::sandbox) fn into_value(self) -> Value {
        let items: Vec<Value> = self
            .items
            .into_iter()
            .map(|i| match i {
                RawItem::Value(value) => json!({"value": value}),
                RawItem::Full { value, description } => {
                    json!({"value": value, "description": description})
                }
            })
            .collect();
        let mut v = json!({"name": self.name, "type": self.kind, "items": items});
        put(&mut v, "id", self.id.map(Value::String));
        put(&mut v, "description", self.description.map(Value::String));
        v
    }
}

impl RawGroup {
    pub(in crate::sandbox) fn into_value(self) -> Value {
        let mut v = json!({
            "name": self.name,
            "include": self.include,
            "exclude": self.exclude,
            "require": self.require,
        });
        put(&mut v, "id", self.id.map(Value::String));
        put(&mut v, "is_default", self.is_default.map(Value::Bool));
        v
    }
}

fn put(v: &mut Value, key: &str, value: Option<Value>) {
    if let (Some(value), Some(map)) = (value, v.as_object_mut()) {
        map.insert(key.to_string(), value);
    }
}

impl Door {
    /// The door a seed describes (`lists` and `groups` as [`RawList::into_value`] and
    /// [`RawGroup::into_value`] give them); the first entry the API would refuse is the error,
    /// as `lists[2]: …`.
    pub(crate) fn from_seed(lists: &[Value], groups: &[Value], salt: u64) -> Result<Door, String> {
        let mut door = Door::new(salt);
        let now = stamp();
        let split = |v: &Value| -> (Map<String, Value>, Option<String>) {
            let mut map = v.as_object().cloned().unwrap_or_default();
            let id = match map.remove("id") {
                Some(Value::String(id)) => Some(id),
                _ => None,
            };
            (map, id)
        };
        for (i, list) in lists.iter().enumerate() {
            let (body, id) = split(list);
            lists::create(&mut door, &body, id, None, &now)
                .map_err(|e| format!("lists[{i}]: {}", e.message))?;
        }
        for (i, group) in groups.iter().enumerate() {
            let (body, id) = split(group);
            groups::create(&mut door, &body, id, false, &now)
                .map_err(|e| format!("groups[{i}]: {}", e.message))?;
        }
        Ok(door)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_seeded_door_goes_through_the_api_checks() {
        let lists = vec![
            json!({"id": "L1", "name": "allow", "type": "EMAIL", "items": [{"value": "a@x.example"}]}),
        ];
        let groups = vec![
            json!({"name": "g", "include": [{"email_list": {"id": "L1"}}], "exclude": [], "require": []}),
        ];
        let door = Door::from_seed(&lists, &groups, 0).unwrap();
        assert_eq!(door.lists[0].id, "L1");
        assert_eq!(door.groups[0].id.len(), 36);
        assert!(door.admits("A@x.example"));
        let dup = vec![
            json!({"name": "d", "type": "EMAIL", "items": [{"value": "a@x.example"}, {"value": "A@X.example"}]}),
        ];
        let e = Door::from_seed(&dup, &[], 0).unwrap_err();
        assert!(
            e.starts_with("lists[0]: Lists cannot have duplicate entries"),
            "{e}"
        );
        let bad = vec![json!({"name": "g", "include": [{"email": "a@x"}]})];
        assert!(Door::from_seed(&[], &bad, 0)
            .unwrap_err()
            .starts_with("groups[0]: Each rule"));
    }
}
