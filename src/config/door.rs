//! The `door:` section of one file, validated into a [`DoorSpec`] (docs/door.md): which Zero
//! Trust lists hold the allowlist (by name, created when missing, or by id), how many entries
//! each may hold, and which Access group includes them. Every problem is recorded at its line
//! and column, as for the rest of the file. That one file at most has the section is
//! [`super::super::merge`]'s.

use super::Checker;
use crate::config::yaml::{Node, Value};
use crate::config::{
    DoorGroup, DoorLists, DoorSpec, DEFAULT_LIST_CAPACITY, DOOR_GROUP_KEYS, DOOR_KEYS,
    DOOR_LISTS_KEYS, MAX_GROUP_NAME_CHARS, MAX_LIST_CAPACITY, MAX_LIST_PREFIX_CHARS,
};
use crate::model::door::{refused_in_name, DoorId};

/// A name reconcile writes to the account (a list prefix, `max` [`MAX_LIST_PREFIX_CHARS`], or a
/// group name, `max` [`MAX_GROUP_NAME_CHARS`]), trimmed; or what is wrong with it ("is empty",
/// ...), to follow the key or flag that gave it. The one rule for `door:` and `export`'s flags.
pub(crate) fn door_name(raw: &str, max: usize) -> Result<&str, String> {
    let name = raw.trim();
    if name.is_empty() {
        Err("is empty".to_string())
    } else if name.chars().count() > max {
        Err(format!("is longer than {max} characters"))
    } else {
        match name.chars().find(|&c| refused_in_name(c)) {
            Some(c) => Err(format!(
                "contains U+{:04X}, a character that does not show or breaks a line",
                u32::from(c)
            )),
            None => Ok(name),
        }
    }
}

/// What to do about a name [`door_name`] refused.
pub(crate) fn name_help(max: usize) -> String {
    format!("type the name again by hand: printable characters, at most {max}")
}

impl Checker<'_> {
    /// The mapping's pairs, or an error saying what was expected.
    fn door_map<'n>(
        &mut self,
        node: &'n Node,
        key: &str,
        example: &str,
    ) -> Option<&'n [(Node, Node)]> {
        match &node.value {
            Value::Map(pairs) => Some(pairs),
            _ => {
                self.error(
                    node,
                    format!("`{key}` must be a mapping, found {}", node.kind()),
                    format!("write e.g. `{key}: {example}`"),
                );
                None
            }
        }
    }

    /// A name reconcile writes to the account: trimmed, not empty, at most `max` characters,
    /// and nothing that does not show or breaks a line.
    fn door_name(&mut self, key: &str, node: &Node, max: usize) -> Option<String> {
        let raw = self.string(key, node, "Allowlisted people")?;
        match door_name(raw, max) {
            Err(why) => {
                self.error(node, format!("`{key}` {why}"), name_help(max));
                None
            }
            Ok(name) => Some(name.to_string()),
        }
    }

    fn door_id(&mut self, key: &str, node: &Node) -> Option<DoorId> {
        let raw = self.string(key, node, "aa0a4aab-672b-4bdb-bc33-a59f1130a11f")?;
        let id = DoorId::parse(raw);
        if id.is_none() {
            self.error(
                node,
                format!("`{}` is not a list or group id: it must be a UUID", raw.escape_debug()),
                "copy the id from the dashboard or the API, e.g. aa0a4aab-672b-4bdb-bc33-a59f1130a11f",
            );
        }
        id
    }

    fn door_lists(&mut self, node: &Node) -> Option<(DoorLists, usize)> {
        let pairs = self.door_map(node, "lists", "{ name: reconcile-allowlist }")?;
        let (mut name, mut ids, mut capacity, mut ok) = (None, None, DEFAULT_LIST_CAPACITY, true);
        for (key_name, key, value) in self.pairs(pairs) {
            match key_name {
                "name" => match self.door_name("name", value, MAX_LIST_PREFIX_CHARS) {
                    Some(n) => name = Some((n, self.at(value))),
                    None => ok = false,
                },
                "ids" => {
                    let mut found: Vec<(DoorId, crate::config::Location)> = Vec::new();
                    for item in self.list("ids", value, "aa0a4aab-672b-4bdb-bc33-a59f1130a11f") {
                        match self.door_id("ids", item) {
                            Some(id) => match found.iter().find(|(seen, _)| *seen == id) {
                                Some((_, first)) => {
                                    let first = first.clone();
                                    self.error(
                                        item,
                                        format!("list {id} is given twice (first at {first})"),
                                        "keep one of them",
                                    );
                                    ok = false;
                                }
                                None => found.push((id, self.at(item))),
                            },
                            None => ok = false,
                        }
                    }
                    if found.is_empty() && ok {
                        self.error(
                            value,
                            "`ids` is empty",
                            "give the id of at least one list of type EMAIL",
                        );
                        ok = false;
                    }
                    ids = Some(found);
                }
                "capacity" => match value.as_str().map(|t| t.trim().parse::<usize>()) {
                    Some(Ok(n)) if (1..=MAX_LIST_CAPACITY).contains(&n) => capacity = n,
                    _ => {
                        self.error(
                            value,
                            format!("`capacity` must be a whole number from 1 to {MAX_LIST_CAPACITY}"),
                            "write `capacity: 1000` (Standard plans) or up to `capacity: 5000` (Enterprise)",
                        );
                        ok = false;
                    }
                },
                other => {
                    self.unknown_key(key, other, DOOR_LISTS_KEYS, "of `door.lists`");
                    ok = false;
                }
            }
        }
        let lists = match (name, ids) {
            (Some((name, location)), None) => DoorLists::Named { name, location },
            (None, Some(ids)) => DoorLists::Ids(ids),
            (Some(_), Some(_)) => {
                self.error(
                    node,
                    "`door.lists` has both `name` and `ids`",
                    "keep one: `name` for lists reconcile creates, `ids` for existing lists",
                );
                return None;
            }
            (None, None) => {
                if ok {
                    self.error(
                        node,
                        "`door.lists` has neither `name` nor `ids`",
                        "write `name: reconcile-allowlist`, or `ids: [ID, ...]` for existing lists",
                    );
                }
                return None;
            }
        };
        ok.then_some((lists, capacity))
    }

    fn door_group(&mut self, node: &Node) -> Option<DoorGroup> {
        let pairs = self.door_map(node, "group", "{ name: Allowlisted people }")?;
        let (mut named, mut id, mut ok) = (None, None, true);
        for (key_name, key, value) in self.pairs(pairs) {
            match key_name {
                "name" => match self.door_name("name", value, MAX_GROUP_NAME_CHARS) {
                    Some(n) => {
                        named = Some(DoorGroup::Named {
                            name: n,
                            location: self.at(value),
                        })
                    }
                    None => ok = false,
                },
                "id" => match self.door_id("id", value) {
                    Some(i) => {
                        id = Some(DoorGroup::Id {
                            id: i,
                            location: self.at(value),
                        })
                    }
                    None => ok = false,
                },
                other => {
                    self.unknown_key(key, other, DOOR_GROUP_KEYS, "of `door.group`");
                    ok = false;
                }
            }
        }
        match (named, id) {
            (Some(g), None) | (None, Some(g)) => ok.then_some(g),
            (Some(_), Some(_)) => {
                self.error(
                    node,
                    "`door.group` has both `name` and `id`",
                    "keep one of them",
                );
                None
            }
            (None, None) => {
                if ok {
                    self.error(
                        node,
                        "`door.group` has neither `name` nor `id`",
                        "write `name: Allowlisted people` or `id: ID`",
                    );
                }
                None
            }
        }
    }

    /// The `door:` section whose key is `key`.
    pub(super) fn door(&mut self, key: &Node, node: &Node) -> Option<DoorSpec> {
        let pairs = self.door_map(node, "door", "{ lists: { name: reconcile-allowlist } }")?;
        let (mut lists, mut group, mut ok) = (None, None, true);
        for (name, key, value) in self.pairs(pairs) {
            match name {
                "lists" => match self.door_lists(value) {
                    Some(l) => lists = Some(l),
                    None => ok = false,
                },
                "group" => match self.door_group(value) {
                    Some(g) => group = Some(g),
                    None => ok = false,
                },
                other => {
                    self.unknown_key(key, other, DOOR_KEYS, "of `door`");
                    ok = false;
                }
            }
        }
        let Some((lists, capacity)) = lists else {
            if ok {
                self.error(
                    node,
                    "`door` has no `lists`",
                    "write `lists: { name: reconcile-allowlist }`: the group includes the lists",
                );
            }
            return None;
        };
        ok.then(|| DoorSpec {
            location: self.at(key),
            lists,
            capacity,
            group,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::config::testing::*;
    use crate::config::{parse_str, DoorGroup, DoorLists, DEFAULT_LIST_CAPACITY};

    const ID: &str = "aa0a4aab-672b-4bdb-bc33-a59f1130a11f";
    const ID2: &str = "bb0a4aab-672b-4bdb-bc33-a59f1130a11f";

    #[test]
    fn named_lists_and_group() {
        let d = ok("users: [a@b.co]\ndoor:\n  lists:\n    name: reconcile-allowlist\n  group:\n    name: Allowlisted people\n");
        let door = d.door.unwrap();
        assert_eq!(door.location.to_string(), "users.yaml:2:1");
        assert_eq!(door.capacity, DEFAULT_LIST_CAPACITY);
        assert!(
            matches!(&door.lists, DoorLists::Named { name, location } if name == "reconcile-allowlist" && location.line == 4)
        );
        assert!(
            matches!(&door.group, Some(DoorGroup::Named { name, .. }) if name == "Allowlisted people")
        );
        assert_eq!(door.list_name(3).as_deref(), Some("reconcile-allowlist-3"));
        assert_eq!(door.claims_list("", "reconcile-allowlist-12"), Some(12));
        for other in [
            "reconcile-allowlist",
            "reconcile-allowlist-",
            "reconcile-allowlist-0",
            "reconcile-allowlist-01",
            "reconcile-allowlist-1x",
            "Reconcile-allowlist-1",
            "reconcile-allowlist-1-1",
        ] {
            assert_eq!(door.claims_list("", other), None, "{other}");
        }
        assert!(door.claims_group("", "Allowlisted people"));
        assert!(!door.claims_group("", "allowlisted people"));
    }

    #[test]
    fn ids_and_capacity() {
        let d = ok(&format!("users: [a@b.co]\ndoor:\n  lists: {{ ids: [{ID}, '{}'], capacity: 5000 }}\n  group: {{ id: {ID} }}\n", ID2.to_uppercase()));
        let door = d.door.unwrap();
        assert_eq!(door.capacity, 5000);
        let DoorLists::Ids(ids) = &door.lists else {
            panic!()
        };
        assert_eq!(ids.len(), 2);
        assert_eq!(ids[1].0.as_str(), ID2);
        assert_eq!(door.claims_list(&ID2.to_uppercase(), "whatever"), Some(2));
        assert_eq!(door.claims_list("x", "whatever"), None);
        assert!(door.claims_group(&ID.to_uppercase(), "any"));
    }

    #[test]
    fn problems_are_placed_and_explained() {
        for (text, expected) in [
            ("door: 3\n", "users.yaml:2:7: `door` must be a mapping"),
            ("door: {}\n", "users.yaml:2:7: `door` has no `lists`"),
            (
                "door: { list: {name: x} }\n",
                "users.yaml:2:9: unknown key `list`",
            ),
            (
                "door: { lists: {} }\n",
                "users.yaml:2:16: `door.lists` has neither",
            ),
            (
                "door: { lists: {name: x, size: 3} }\n",
                "users.yaml:2:26: unknown key `size`",
            ),
            (
                "door: { lists: {name: x, capacity: 0} }\n",
                "users.yaml:2:36: `capacity` must be a whole number from 1 to 5000",
            ),
            (
                "door: { lists: {name: x, capacity: 5001} }\n",
                "users.yaml:2:36: `capacity` must be",
            ),
            (
                "door: { lists: {name: x, capacity: lots} }\n",
                "users.yaml:2:36: `capacity` must be",
            ),
            (
                "door: { lists: {name: '  '} }\n",
                "users.yaml:2:23: `name` is empty",
            ),
            (
                "door: { lists: {name: \"a\\u202Eb\"} }\n",
                "users.yaml:2:23: `name` contains U+202E",
            ),
            (
                "door: { lists: {name: \"a\\nb\"} }\n",
                "users.yaml:2:23: `name` contains U+000A",
            ),
            (
                "door: { lists: {name: [x]} }\n",
                "users.yaml:2:23: `name` must be a single value",
            ),
            (
                "door: { lists: {ids: []} }\n",
                "users.yaml:2:22: `ids` is empty",
            ),
            (
                "door: { lists: {ids: [../x]} }\n",
                "users.yaml:2:23: `../x` is not a list or group id",
            ),
            (
                &format!("door: {{ lists: {{ids: [{ID}, {ID}]}} }}\n"),
                "is given twice",
            ),
            (
                &format!("door: {{ lists: {{name: x, ids: [{ID}]}} }}\n"),
                "has both `name` and `ids`",
            ),
            (
                "door: { lists: {name: x}, group: {} }\n",
                "`door.group` has neither",
            ),
            (
                &format!("door: {{ lists: {{name: x}}, group: {{name: g, id: {ID}}} }}\n"),
                "has both `name` and `id`",
            ),
            (
                "door: { lists: {name: x}, group: {owner: me} }\n",
                "unknown key `owner`",
            ),
            (
                "door: { lists: {name: x}, group: {id: 12} }\n",
                "`12` is not a list or group id",
            ),
        ] {
            let e = first_error(&format!("users: [a@b.co]\n{text}"));
            assert!(e.contains(expected), "{text}: {e}");
        }
        let long = format!(
            "users: [a@b.co]\ndoor: {{ lists: {{name: {}}} }}\n",
            "a".repeat(101)
        );
        assert!(first_error(&long).contains("longer than 100"));
        let long = format!(
            "users: [a@b.co]\ndoor: {{ lists: {{name: x}}, group: {{name: {}}} }}\n",
            "g".repeat(351)
        );
        assert!(first_error(&long).contains("longer than 350"));
        assert!(parse_str(
            &format!(
                "users: [a@b.co]\ndoor: {{ lists: {{name: x}}, group: {{name: {}}} }}\n",
                "g".repeat(350)
            ),
            "u.yaml"
        )
        .is_ok());
    }

    #[test]
    fn one_file_at_most_and_the_digest_notices() {
        use crate::config::check::parse_file;
        use crate::config::merge::merge;
        let a = parse_file("users: [a@b.co]\ndoor: { lists: {name: x} }\n", "a.yaml").unwrap();
        let b = parse_file("users: [c@d.co]\n\ndoor: { lists: {name: y} }\n", "b.yaml").unwrap();
        let e = merge(vec![a, b]).unwrap_err().diagnostics[0].to_string();
        assert!(
            e.starts_with("b.yaml:3:1: `door` is set here and at a.yaml:2:1"),
            "{e}"
        );

        let plain = ok("users: [a@b.co]\n");
        // The digest of a desired state without a door is the one saved plans carry already.
        assert_eq!(
            plain.digest(), // The canonical text of the first format, computed by hand: sha256 of
            // "reconcile-desired-v1\naccount_id=\nuser=a@b.co\n".
            "sha256:bc78a80732ff0802102c0efc3c4c1ec3185c563e1bff3974374cb5d8dbe7bc37"
        );
        let base = ok("users: [a@b.co]\ndoor: { lists: {name: x} }\n");
        assert_ne!(plain.digest(), base.digest());
        assert_eq!(
            base.digest(),
            ok("users: [a@b.co]\ndoor:\n  lists:\n    capacity: 1000\n    name: x\n").digest()
        );
        for changed in [
            "users: [a@b.co]\ndoor: { lists: {name: y} }\n",
            "users: [a@b.co]\ndoor: { lists: {name: x, capacity: 999} }\n",
            "users: [a@b.co]\ndoor: { lists: {name: x}, group: {name: g} }\n",
            &format!("users: [a@b.co]\ndoor: {{ lists: {{ids: [{ID}, {ID2}]}} }}\n"),
        ] {
            assert_ne!(base.digest(), ok(changed).digest(), "{changed}");
        }
        // The order of the ids decides which list an entry goes to.
        assert_ne!(
            ok(&format!(
                "users: [a@b.co]\ndoor: {{ lists: {{ids: [{ID}, {ID2}]}} }}\n"
            ))
            .digest(),
            ok(&format!(
                "users: [a@b.co]\ndoor: {{ lists: {{ids: [{ID2}, {ID}]}} }}\n"
            ))
            .digest()
        );
    }
}
