//! `reconcile export`: the live users as a desired-state file, so a team can start from today's
//! state. Every exported address is allowed and the rest are held, so planning the file right after deletes nobody. Pure:
//! users in, YAML text out.

use std::collections::BTreeMap;

use crate::date::Date;
use crate::model::Email;
use crate::model::LiveUser;
use crate::text::printable;

/// A YAML double-quoted scalar (JSON string escapes are valid YAML).
fn quoted(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// Text from the API made safe inside a `#` comment, through the escaping the terminal gets
/// ([`printable`]): a newline (or U+2028, which some editors break at) cannot end the comment and
/// start a line of YAML, and a bidirectional control cannot reorder the line it is on, so what a
/// reviewer reads is what the file says.
fn comment(s: &str) -> String {
    printable(s)
}

/// The file, and warnings about users it could not list.
pub(crate) fn to_yaml(account_id: &str, users: &[LiveUser], today: Date) -> (String, Vec<String>) {
    let mut allowed: BTreeMap<Email, Vec<&LiveUser>> = BTreeMap::new();
    let mut unlisted: Vec<String> = Vec::new();
    let mut warnings = Vec::new();
    for user in users {
        let raw = user.email.as_deref().map(str::trim).unwrap_or("");
        if raw.is_empty() {
            unlisted.push(format!(
                "id {}, name {} (no email: reconcile never deletes it)",
                user.id.as_deref().unwrap_or("(none)"),
                quoted(user.name.as_deref().unwrap_or("(none)"))
            ));
            continue;
        }
        match Email::parse(raw) {
            Ok(address) => allowed.entry(address).or_default().push(user),
            Err(why) => {
                unlisted.push(format!(
                    "{} ({why}): not exported; reconcile never deletes it (held back), fix the address in the identity provider or remove the user by hand",
                    quoted(raw)
                ));
                warnings.push(format!(
                    "`{}` is not an address a desired-state file accepts ({why}); it was left out of the export (plan holds such users back, it never deletes them)",
                    printable(raw)
                ));
            }
        }
    }
    let mut out = String::new();
    out.push_str(&format!(
        "# Exported by reconcile {} from account {account_id} on {today}: {} users.\n",
        env!("CARGO_PKG_VERSION"),
        users.len()
    ));
    out.push_str("# Every user below is allowed. Review the list, remove who should go, and keep the file in git.\n");
    out.push_str("version: 1\n");
    out.push_str(&format!("account_id: {account_id}\n"));
    out.push_str("users:\n");
    for (address, same) in &allowed {
        let about: Vec<String> = same
            .iter()
            .map(|u| {
                let name = u
                    .name
                    .as_deref()
                    .map(comment)
                    .unwrap_or_else(|| "(no name)".into());
                let login = u
                    .last_successful_login
                    .as_deref()
                    .map(|l| format!("last login {}", comment(l)))
                    .unwrap_or_else(|| "never logged in".into());
                format!("{name}, {login}")
            })
            .collect();
        out.push_str(&format!(
            "  - {}  # {}\n",
            quoted(address.as_str()),
            about.join("; ")
        ));
    }
    if !unlisted.is_empty() {
        out.push_str("# Live users not listed above:\n");
        for line in unlisted {
            out.push_str(&format!("#   {}\n", comment(&line)));
        }
    }
    (out, warnings)
}

/// The names of `export --door-list NAME [--door-group NAME]`, checked as the `door:` section
/// checks them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoorNames {
    /// The lists' prefix: the lists `NAME-1`, `NAME-2`, ...
    pub list: String,
    /// The Access group, by name.
    pub group: Option<String>,
}

/// The `door:` section naming `names`, to follow [`to_yaml`]'s text: the lists by their name
/// prefix and the group by name; `capacity` when not the default (lists that exist and hold
/// more entries than the default keep them: a plan would move the rest).
pub(crate) fn door_yaml(names: &DoorNames, capacity: Option<usize>) -> String {
    let mut out = String::from(
        "# The door (docs/door.md): reconcile keeps these Zero Trust lists, and the group, equal to the users above.\n",
    );
    out.push_str("door:\n  lists:\n");
    out.push_str(&format!("    name: {}\n", quoted(&names.list)));
    if let Some(capacity) = capacity {
        out.push_str(&format!(
            "    capacity: {capacity}  # the fullest existing door list holds this many\n"
        ));
    }
    if let Some(group) = &names.group {
        out.push_str(&format!("  group:\n    name: {}\n", quoted(group)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;
    use crate::plan::{compute, Policy};

    fn user(id: &str, email: Option<&str>, name: Option<&str>) -> LiveUser {
        LiveUser {
            id: Some(id.into()),
            email: email.map(Into::into),
            name: name.map(Into::into),
            last_successful_login: Some("2026-11-27T17:45:00Z".into()),
            ..LiveUser::default()
        }
    }

    #[test]
    fn the_door_section_reads_back_as_the_names_given() {
        let names = DoorNames {
            list: "team: door #1".into(),
            group: Some("Say \"hi\" # not a comment".into()),
        };
        let (mut yaml, _) = to_yaml(
            "023e105f4ecef8ad9ca31a8372d0c353",
            &[user("1", Some("a@example.com"), None)],
            Date::parse("2026-12-01").unwrap(),
        );
        yaml.push_str(&door_yaml(&names, Some(1500)));
        let desired = config::parse_str(&yaml, "export.yaml").unwrap();
        let door = desired.door.unwrap();
        assert_eq!(door.list_name(1).as_deref(), Some("team: door #1-1"));
        assert!(door.claims_group("", "Say \"hi\" # not a comment"));
        assert_eq!(door.capacity, 1500);
    }

    #[test]
    fn export_is_sorted_commented_valid_and_plans_nothing() {
        let users = vec![
            user(
                "f174e90a-fafe-4643-bbbc-4a0ed4fc8415",
                Some("Zed@Example.com"),
                Some("Zed\nInjected: key"),
            ),
            user(
                "2a7c3f0e-5b1d-4d6e-9f8a-1c2b3d4e5f60",
                Some("alice@example.com"),
                Some("Alice # Ng"),
            ),
            user("5d6e7f80-91a2-4b3c-8d4e-5f60718293a4", None, Some("robot")),
            user(
                "8f9a0b1c-2d3e-4f50-a617-28394a5b6c7d",
                Some("odd\"quote'#@example.com"),
                None,
            ),
        ];
        let account = "023e105f4ecef8ad9ca31a8372d0c353";
        let today = Date::parse("2026-11-28").unwrap();
        let (yaml, warnings) = to_yaml(account, &users, today);
        assert!(warnings.is_empty(), "{warnings:?}");
        let lines: Vec<&str> = yaml.lines().collect();
        assert_eq!(
            lines[5],
            "  - \"alice@example.com\"  # Alice # Ng, last login 2026-11-27T17:45:00Z"
        );
        assert!(
            lines[7].starts_with("  - \"zed@example.com\"  # Zed\\u{a}Injected: key"),
            "{yaml}"
        );
        assert!(
            yaml.contains("#   id 5d6e7f80-91a2-4b3c-8d4e-5f60718293a4, name \"robot\" (no email")
        );

        let desired =
            config::parse_str(&yaml, "export.yaml").unwrap_or_else(|e| panic!("{e}\n{yaml}"));
        let account = crate::model::AccountId::parse(account).unwrap();
        assert_eq!(desired.account(), Some(&account));
        let plan = compute(&desired, &users, &Policy::at(&account, 1_795_867_200));
        assert!(plan.delete.is_empty(), "{:?}", plan.delete);
    }

    #[test]
    fn addresses_validate_would_refuse_are_left_out_with_a_warning() {
        let users = vec![
            user(
                "f174e90a-fafe-4643-bbbc-4a0ed4fc8415",
                Some("ok@example.com"),
                None,
            ),
            user(
                "2a7c3f0e-5b1d-4d6e-9f8a-1c2b3d4e5f60",
                Some("root@localhost"),
                None,
            ),
        ];
        let (yaml, warnings) = to_yaml(
            "023e105f4ecef8ad9ca31a8372d0c353",
            &users,
            Date::parse("2026-11-28").unwrap(),
        );
        assert_eq!(warnings.len(), 1);
        assert!(yaml.contains("#   \"root@localhost\""), "{yaml}");
        let desired = config::parse_str(&yaml, "e.yaml").unwrap();
        // ... and planning the export deletes nobody: root@localhost is held, not deleted.
        let plan = compute(
            &desired,
            &users,
            &Policy::at(&crate::model::AccountId::example(), 1_795_867_200),
        );
        assert!(plan.delete.is_empty(), "{:?}", plan.delete);
        assert_eq!(plan.held[0].reason.kind(), "unusable_address");
    }
}
