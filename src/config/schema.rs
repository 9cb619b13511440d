//! The desired-state format as a JSON Schema (draft 2020-12), for editors that validate YAML as
//! people type (`reconcile schema > desired-state.schema.json`). It describes one file; `validate`
//! also checks what a schema cannot (real calendar dates, agreement between files, entries listed
//! twice). Tests keep the two in step.

use serde_json::{json, Value};

use super::{
    DEFAULT_LIST_CAPACITY, DOOR_GROUP_KEYS, DOOR_KEYS, DOOR_LISTS_KEYS, ENTRY_KEYS, FORMAT_VERSION,
    MAX_GROUP_NAME_CHARS, MAX_LIST_CAPACITY, MAX_LIST_PREFIX_CHARS, POLICY_KEYS, TOP_KEYS,
};

/// An address: one `@`, no spaces, a domain with a dot and no empty labels.
const EMAIL: &str = r"^\s*[^@\s]+@[^@\s.]+(\.[^@\s.]+)+\s*$";
const DOMAIN: &str = r"^\s*[^@\s*.]+(\.[^@\s*.]+)+\s*$";
const DATE: &str = r"^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}\s*$";
const ACCOUNT_ID: &str = r"^\s*[0-9a-fA-F]{32}\s*$";
const UUID: &str =
    r"^\s*[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\s*$";

pub(crate) fn json_schema() -> Value {
    debug_assert_eq!(TOP_KEYS.len(), 7);
    debug_assert_eq!(
        (
            DOOR_KEYS.len(),
            DOOR_LISTS_KEYS.len(),
            DOOR_GROUP_KEYS.len()
        ),
        (2, 3, 2)
    );
    debug_assert_eq!(ENTRY_KEYS.len(), 3);
    debug_assert_eq!(POLICY_KEYS.len(), 4);
    let non_empty_list = |key: &str| json!({ "required": [key], "properties": { key: { "type": "array", "minItems": 1 } } });
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "reconcile desired state",
        "description": format!("The allowlist of a Cloudflare Zero Trust (Access) account, format version {FORMAT_VERSION}. Users not allowed here are deleted by `reconcile apply`."),
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "version": {
                "description": "Format version; may be left out (it then means 1).",
                "const": FORMAT_VERSION
            },
            "account_id": {
                "description": "The Cloudflare account id: 32 hexadecimal characters. --account-id / CLOUDFLARE_ACCOUNT_ID may supply it instead, and must agree when both are set.",
                "type": "string",
                "pattern": ACCOUNT_ID
            },
            "users": {
                "description": "The allowlist: addresses that may stay. Compared after trimming, Unicode NFC and lower-casing.",
                "type": ["array", "null"],
                "items": {
                    "oneOf": [
                        { "$ref": "#/$defs/email" },
                        { "$ref": "#/$defs/entry" }
                    ]
                }
            },
            "domains": {
                "description": "Every address at exactly these domains is allowed (subdomains are not included).",
                "type": ["array", "null"],
                "items": { "$ref": "#/$defs/domain" }
            },
            "protected": {
                "description": "Never deleted, whatever the rest says: an address, or a pattern where * stands for any characters (quote it in YAML).",
                "type": ["array", "null"],
                "items": { "$ref": "#/$defs/pattern" }
            },
            "policy": {
                "description": "Safety rails; see docs/safety.md. Flags override max_deletes and max_delete_fraction.",
                "type": ["object", "null"],
                "additionalProperties": false,
                "properties": {
                    "max_deletes": {
                        "description": "Refuse a plan that deletes more users than this.",
                        "type": "integer",
                        "minimum": 0
                    },
                    "max_delete_fraction": {
                        "description": "Refuse a plan that deletes more than this fraction of the live users (accounts of 10 users or more). Default 0.25.",
                        "type": "number",
                        "minimum": 0,
                        "maximum": 1
                    },
                    "allow_delete_all": {
                        "description": "Allow a plan that deletes every live user (refused otherwise, whatever the thresholds).",
                        "type": "boolean"
                    },
                    "hold_active_within": {
                        "description": "Hold users whose last login is this recent (e.g. 7d) until --include-active.",
                        "type": "string",
                        "pattern": "^\\s*[0-9]+[smhdw]\\s*$"
                    }
                }
            },
            "door": {
                "description": "The door (docs/door.md): Zero Trust lists of type EMAIL kept equal to the unexpired users: entries, and optionally an Access group that includes them and the domains:. In one file at most.",
                "type": "object",
                "additionalProperties": false,
                "required": ["lists"],
                "properties": {
                    "lists": {
                        "description": "The lists: by name (NAME-1, NAME-2, ... created when missing) or the ids of existing lists, in order.",
                        "type": "object",
                        "additionalProperties": false,
                        "oneOf": [{ "required": ["name"] }, { "required": ["ids"] }],
                        "properties": {
                            "name": { "type": "string", "minLength": 1, "maxLength": MAX_LIST_PREFIX_CHARS },
                            "ids": { "type": "array", "minItems": 1, "uniqueItems": true, "items": { "$ref": "#/$defs/uuid" } },
                            "capacity": {
                                "description": format!("Entries per list: 1000 on Standard plans, up to 5000 on Enterprise. Default {DEFAULT_LIST_CAPACITY}."),
                                "type": "integer",
                                "minimum": 1,
                                "maximum": MAX_LIST_CAPACITY
                            }
                        }
                    },
                    "group": {
                        "description": "The Access group whose include reconcile keeps: by name (created when missing) or id.",
                        "type": "object",
                        "additionalProperties": false,
                        "oneOf": [{ "required": ["name"] }, { "required": ["id"] }],
                        "properties": {
                            "name": { "type": "string", "minLength": 1, "maxLength": MAX_GROUP_NAME_CHARS },
                            "id": { "$ref": "#/$defs/uuid" }
                        }
                    }
                }
            }
        },
        "anyOf": [non_empty_list("users"), non_empty_list("domains")],
        "$defs": {
            "email": {
                "description": "An email address.",
                "type": "string",
                "pattern": EMAIL
            },
            "entry": {
                "description": "An address with settings.",
                "type": "object",
                "additionalProperties": false,
                "required": ["email"],
                "properties": {
                    "email": { "$ref": "#/$defs/email" },
                    "note": {
                        "description": "Free text for reviewers, shown by `explain` and in the plan.",
                        "type": "string"
                    },
                    "expires": {
                        "description": "From this date (UTC, YYYY-MM-DD) the user counts as an extra.",
                        "type": "string",
                        "format": "date",
                        "pattern": DATE
                    }
                }
            },
            "domain": {
                "description": "A domain such as example.com, without @ or wildcards.",
                "type": "string",
                "pattern": DOMAIN
            },
            "uuid": {
                "description": "The id of a Zero Trust list or an Access group (a UUID).",
                "type": "string",
                "pattern": UUID
            },
            "pattern": {
                "description": "An address, or an address pattern with * wildcards such as *@svc.example.com.",
                "type": "string",
                "pattern": EMAIL
            }
        }
    })
}
