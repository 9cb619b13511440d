//! Saved plans: `reconcile plan --out plan.json` writes one, `reconcile apply plan.json` applies it
//! later without a prompt (the reviewed plan is the approval).
//!
//! A saved plan carries what it was computed from (the account, a digest of the normalised desired
//! state, a fingerprint of the live users), an expiry, and the deletions, each with id, email and
//! reason. A seal over a canonical serialisation of that content detects edits:
//!
//! - without a plan key, a SHA-256 digest (`sha256:…`). It detects corruption and edits by hand,
//!   but it is not a signature: anyone who can write the file can recompute it, so the file must
//!   travel through a channel the pipeline trusts (a build artifact), as a Terraform plan does;
//! - with a plan key ([`PlanKey`]: `RECONCILE_PLAN_KEY` or `--plan-key-file`), an HMAC-SHA256
//!   under the key (`hmac-sha256:…`). Only a job that holds the key can seal a plan, and `apply`
//!   with the key refuses any plan whose seal does not verify under it, and any unkeyed plan.
//!
//! Everything here is pure: serialise, parse and verify, and [`check`] a saved plan against a fresh
//! listing. Only `run` reads and writes files and talks to the API.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::Desired;
use crate::date::SpanError;
use crate::model::AccountId;
use crate::model::LiveUser;
use crate::plan::recheck::{recheck, Recheck, Reviewed};
use crate::plan::{self, Plan, Refusal};
use crate::secret::Secret;

/// The version of the saved-plan format this build writes and reads.
pub(crate) const FORMAT_VERSION: u32 = 1;
/// What a saved plan says it is, so that another JSON file is not mistaken for one.
pub(crate) const KIND: &str = "reconcile-saved-plan";
/// `--plan-ttl` when none is given (the flag's `default_value`).
#[cfg(test)]
pub(crate) const DEFAULT_TTL: Duration = Duration::from_secs(24 * 3600);
/// The longest `--plan-ttl` accepted: a reviewed plan should not wait for weeks.
pub(crate) const MAX_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
/// A saved plan created this far in the future is refused (clock skew between the machine that
/// planned and the one that applies is allowed up to this much).
pub(crate) const MAX_CLOCK_SKEW_SECS: u64 = 300;
/// Plan files larger than this are refused before they are parsed.
pub(crate) const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// The shortest plan key accepted: a sealed plan is public to whoever can read the artifact, and a
/// short key could be guessed offline from it (`openssl rand -hex 32` prints 64 bytes).
pub(crate) const MIN_KEY_BYTES: usize = 32;
/// The prefix of a keyed seal; an unkeyed one starts with `sha256:`.
const HMAC_PREFIX: &str = "hmac-sha256:";

/// The key that seals saved plans (HMAC-SHA256). A [`Secret`]: never printed, never written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanKey(Secret);

impl PlanKey {
    /// The key as given (leading and trailing white space dropped); `source` names where it came
    /// from in the message when it is too short. The message never quotes the key.
    pub fn new(text: &str, source: &str) -> Result<PlanKey, PlanKeyError> {
        let key = text.trim();
        if key.len() < MIN_KEY_BYTES {
            return Err(PlanKeyError::TooShort {
                origin: source.to_string(),
                length: key.len(),
            });
        }
        Ok(PlanKey(Secret::new(key)))
    }

    fn mac(&self, canonical: &[u8]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.0.expose().as_bytes())
            .expect("HMAC takes a key of any length");
        mac.update(canonical);
        mac
    }
}

/// Why text is not a [`PlanKey`]. Never holds the key, nor any part of it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanKeyError {
    /// Shorter than [`MIN_KEY_BYTES`] once trimmed; `origin` names where it came from
    /// (`RECONCILE_PLAN_KEY`, `--plan-key-file FILE`), `length` is its length in bytes.
    #[error("{origin}: the plan key is {length} bytes long; give a random key of at least {MIN_KEY_BYTES} bytes, e.g. the output of `openssl rand -hex 32`")]
    TooShort { origin: String, length: usize },
}

/// The content of a saved plan: everything the digest covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedPlan {
    /// The `reconcile` version that wrote it (informational).
    pub tool_version: String,
    /// RFC 3339, UTC, whole seconds.
    pub created_at: String,
    /// RFC 3339, UTC, whole seconds; `apply` refuses the plan after this.
    pub expires_at: String,
    pub account_id: String,
    /// [`Desired::digest`] of the desired state the plan was computed from.
    pub desired_digest: String,
    /// [`plan::fingerprint`] of the live users the plan saw.
    pub live_fingerprint: String,
    /// How many live users the plan saw.
    pub live_count: u64,
    /// The reviewed deletions, in plan order.
    pub deletions: Vec<SavedDeletion>,
    /// With a `door:` section: the door as it was read and the writes that were reviewed. Absent
    /// (not written at all) without one, so that a plan without a door is sealed as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub door: Option<SavedDoor>,
}

/// The door in a saved plan: `apply` refuses the plan when the door read then differs from this
/// fingerprint (someone changed a list or the group since the review), or when the door's plan
/// made then differs from these writes (an entry expired in between, say): only the reviewed
/// door writes are ever sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedDoor {
    /// `DoorPlan::live_fingerprint`: the lists and the group as read.
    pub fingerprint: String,
    /// The reviewed writes, in the order they are sent; empty when the door needed none.
    pub writes: Vec<SavedDoorWrite>,
}

/// One reviewed door write (see [`crate::apply::door::DoorWrite`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedDoorWrite {
    /// `create_list`, `change_list`, `create_group` or `change_group`.
    pub action: String,
    pub name: String,
    pub id: Option<String>,
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// The group's include as it will be sent (lists still to create left out).
    pub include: Vec<serde_json::Value>,
}

impl SavedDoorWrite {
    fn of(w: &crate::apply::door::DoorWrite) -> SavedDoorWrite {
        SavedDoorWrite {
            action: w.action.kind().to_string(),
            name: w.name.clone(),
            id: w.id.clone(),
            added: w.added.clone(),
            removed: w.removed.clone(),
            include: w.include.clone(),
        }
    }
}

impl SavedDoor {
    /// The saved door for the door's plan.
    pub fn of(door: &crate::plan::door::DoorPlan) -> SavedDoor {
        SavedDoor {
            fingerprint: door.live_fingerprint.clone(),
            writes: crate::apply::door::planned_writes(door)
                .iter()
                .map(SavedDoorWrite::of)
                .collect(),
        }
    }
}

/// One reviewed deletion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedDeletion {
    pub id: String,
    /// The address as the API wrote it; compared after normalisation.
    pub email: String,
    pub reason: SavedReason,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedReason {
    /// [`Reason::kind`].
    pub kind: String,
    /// [`Reason::describe`].
    pub text: String,
}

/// The file: a version and a kind that are read before anything else, the content, and the digest
/// over the content.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    format_version: u32,
    kind: String,
    digest: String,
    plan: SavedPlan,
}

/// Why a saved plan cannot be used. Every message says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanFileError {
    #[error("{path}: not a reconcile saved plan ({detail})\n  help: pass the file written by `reconcile plan --out FILE`")]
    NotAPlan { path: String, detail: String },
    #[error("{path}: saved plan format version {found}, but this reconcile ({tool}) reads version {FORMAT_VERSION}\n  help: apply it with the reconcile version that wrote it, or run `reconcile plan --out` again with this one")]
    UnknownVersion {
        path: String,
        found: String,
        tool: String,
    },
    #[error("{path}: the saved plan was edited or is corrupt: its digest does not match its content; nothing was deleted\n  help: do not edit saved plans; run `reconcile plan --out` again and review the new plan")]
    Tampered { path: String },
    #[error("{path}: the saved plan's seal does not verify under the plan key: it was edited, re-sealed without the key, or sealed with another key; nothing was deleted\n  help: do not edit saved plans; run `reconcile plan --out` again in the job that holds the plan key (RECONCILE_PLAN_KEY or --plan-key-file), review it, and apply the new plan")]
    BadSeal { path: String },
    #[error("{path}: the saved plan is sealed with a plan key, and none was given, so its seal cannot be checked; nothing was deleted\n  help: give apply the key the plan job used: set RECONCILE_PLAN_KEY, or pass --plan-key-file FILE")]
    KeyNeeded { path: String },
    #[error("{path}: a plan key was given, but the saved plan is not sealed with one: its unkeyed digest can be recomputed by anyone who can write the file; nothing was deleted\n  help: run `reconcile plan --out` again with the plan key set (RECONCILE_PLAN_KEY or --plan-key-file), review it, and apply the new plan")]
    Unkeyed { path: String },
    #[error("{path}: the saved plan expired at {expires_at} (it is now {now}); nothing was deleted\n  help: run `reconcile plan --out` again, review it, and apply the new plan")]
    Expired {
        path: String,
        expires_at: String,
        now: String,
    },
    #[error("{path}: the saved plan was created at {created_at}, in the future (it is now {now}); nothing was deleted\n  help: check the clocks of the machines that plan and apply, then run `reconcile plan --out` again")]
    FromTheFuture {
        path: String,
        created_at: String,
        now: String,
    },
    #[error("{path}: the saved plan is for account {plan}, but {given_by} says {other}; nothing was deleted\n  help: apply it to the account it was made for, or run `reconcile plan --out` for account {other}")]
    OtherAccount {
        path: String,
        plan: String,
        given_by: String,
        other: String,
    },
    #[error("{path}: {what}: the plan is stale; nothing was sent to the lists or the group and nothing was deleted\n  help: run `reconcile plan --out` again, review the door and the deletions, and apply the new plan")]
    DoorChanged { path: String, what: &'static str },
    #[error("{path}: the desired-state files changed since the plan was reviewed (their digest is {now}, the plan's is {planned}); nothing was deleted\n  help: run `reconcile plan --out` again with the current files, review it, and apply the new plan")]
    DesiredChanged {
        path: String,
        planned: String,
        now: String,
    },
}

impl SavedPlan {
    /// The saved plan for `plan`, computed from `desired` and the live users `live`, created at
    /// `now` (seconds since the Unix epoch) and valid for `ttl`.
    pub fn new(desired: &Desired, plan: &Plan, now: u64, ttl: Duration) -> SavedPlan {
        SavedPlan {
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            created_at: format_rfc3339(now),
            expires_at: format_rfc3339(now.saturating_add(ttl.as_secs())),
            account_id: plan.account_id.to_string(),
            desired_digest: desired.digest(),
            live_fingerprint: plan.live_fingerprint(),
            live_count: plan.live_count as u64,
            deletions: plan
                .delete
                .iter()
                .map(|d| SavedDeletion {
                    id: d.id_text().to_string(),
                    email: d.user.email.clone().unwrap_or_default(),
                    reason: SavedReason {
                        kind: d.reason.kind().to_string(),
                        text: crate::render::words::reason(&d.reason),
                    },
                })
                .collect(),
            door: plan.door.as_ref().map(SavedDoor::of),
        }
    }

    /// The door read and planned at apply time (`None`: the desired state has no `door:`
    /// section) is the one reviewed: the same lists and group as read then, and the same writes.
    /// Only then may the door be written; nothing is sent otherwise.
    pub(crate) fn check_door(
        &self,
        name: &str,
        fresh: Option<&crate::plan::door::DoorPlan>,
    ) -> Result<(), PlanFileError> {
        let path = name.to_string();
        match (&self.door, fresh) {
            (None, None) => Ok(()),
            (Some(_), None) | (None, Some(_)) => Err(PlanFileError::DoorChanged {
                path,
                what: "the saved plan and the desired-state files do not agree on a `door:` section",
            }),
            (Some(saved), Some(fresh)) if saved.fingerprint != fresh.live_fingerprint => {
                Err(PlanFileError::DoorChanged {
                    path,
                    what: "the door's lists or group changed since the plan was reviewed",
                })
            }
            (Some(saved), Some(fresh)) if SavedDoor::of(fresh) != *saved => {
                Err(PlanFileError::DoorChanged {
                    path,
                    what: "the door's plan is not the one reviewed (an entry's `expires:` date passed since, or the lists' order changed)",
                })
            }
            (Some(_), Some(fresh)) if fresh.is_refused() => Err(PlanFileError::DoorChanged {
                path,
                what: "the door's plan is refused now",
            }),
            (Some(_), Some(_)) => Ok(()),
        }
    }

    /// What the seal covers: a tag and the compact JSON of the content, whose field order is
    /// fixed by the struct, so the same content always gives the same bytes.
    fn canonical(&self) -> Vec<u8> {
        let mut canonical = format!("{KIND}-v{FORMAT_VERSION}\n").into_bytes();
        // Serialising plain strings, integers and vectors cannot fail.
        canonical.extend(serde_json::to_vec(self).unwrap_or_default());
        canonical
    }

    /// The unkeyed seal: the SHA-256 digest of [`SavedPlan::canonical`] (`sha256:…`).
    pub fn digest(&self) -> String {
        crate::digest::sha256(&self.canonical())
    }

    /// The seal: the HMAC-SHA256 of the canonical content under `key` (`hmac-sha256:…`), or the
    /// unkeyed [`SavedPlan::digest`] without a key.
    pub fn seal(&self, key: Option<&PlanKey>) -> String {
        match key {
            None => self.digest(),
            Some(key) => {
                let tag = key.mac(&self.canonical()).finalize().into_bytes();
                let mut out = String::from(HMAC_PREFIX);
                for b in tag {
                    out.push_str(&format!("{b:02x}"));
                }
                out
            }
        }
    }

    /// The file's text with the unkeyed digest: see [`SavedPlan::to_json_sealed`].
    pub fn to_json(&self) -> String {
        self.to_json_sealed(None)
    }

    /// The file's text: pretty JSON, with the seal ([`SavedPlan::seal`]) in `digest`, ending in
    /// a newline. The key itself is never written.
    pub(crate) fn to_json_sealed(&self, key: Option<&PlanKey>) -> String {
        let file = File {
            format_version: FORMAT_VERSION,
            kind: KIND.to_string(),
            digest: self.seal(key),
            plan: self.clone(),
        };
        // Escaped like the JSON plan (see `text::to_json_pretty`): a reviewer reads this file.
        // The digest covers `canonical`, not this text, so the escapes change no seal.
        let mut text = crate::text::to_json_pretty(&file).unwrap_or_default();
        text.push('\n');
        text
    }

    /// [`SavedPlan::parse_sealed`] without a plan key.
    pub fn parse(text: &str, path: &str) -> Result<SavedPlan, PlanFileError> {
        SavedPlan::parse_sealed(text, path, None)
    }

    /// Parse a saved plan and check its version and seal. With `key`, only a plan sealed under
    /// that key is accepted (compared in constant time); without, an unkeyed digest must match,
    /// and a keyed plan is refused (its seal cannot be checked). `path` names it in messages.
    /// Does not check the expiry or the account: see [`SavedPlan::check_usable`].
    pub(crate) fn parse_sealed(
        text: &str,
        path: &str,
        key: Option<&PlanKey>,
    ) -> Result<SavedPlan, PlanFileError> {
        let not_a_plan = |detail: String| PlanFileError::NotAPlan {
            path: path.to_string(),
            detail,
        };
        // The version and kind first, so that a plan of another version gets the version message
        // rather than a complaint about its fields.
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| not_a_plan(format!("invalid JSON: {e}")))?;
        let serde_json::Value::Object(map) = &value else {
            return Err(not_a_plan("expected a JSON object".into()));
        };
        if map.get("kind").and_then(|k| k.as_str()) != Some(KIND) {
            return Err(not_a_plan(format!("it has no `\"kind\": \"{KIND}\"`")));
        }
        match map.get("format_version") {
            Some(v) if v.as_u64() == Some(FORMAT_VERSION as u64) => {}
            other => {
                return Err(PlanFileError::UnknownVersion {
                    path: path.to_string(),
                    // The file's own text, shown in a message: escaped like any text from outside.
                    found: other.map_or_else(
                        || "(none)".to_string(),
                        |v| crate::text::printable(&v.to_string()),
                    ),
                    tool: env!("CARGO_PKG_VERSION").to_string(),
                });
            }
        }
        let file: File = serde_json::from_value(value).map_err(|_| PlanFileError::Tampered {
            path: path.to_string(),
        })?;
        let path = path.to_string();
        match (file.digest.strip_prefix(HMAC_PREFIX), key) {
            (Some(_), None) => return Err(PlanFileError::KeyNeeded { path }),
            (Some(hex), Some(key)) => {
                let verified = decode_hex(hex)
                    .is_some_and(|tag| key.mac(&file.plan.canonical()).verify_slice(&tag).is_ok());
                if !verified {
                    return Err(PlanFileError::BadSeal { path });
                }
            }
            (None, Some(_)) => return Err(PlanFileError::Unkeyed { path }),
            (None, None) => {
                if file.digest != file.plan.digest() {
                    return Err(PlanFileError::Tampered { path });
                }
            }
        }
        Ok(file.plan)
    }

    /// Refuse a plan that expired, that claims to come from the future, or whose lifetime is
    /// longer than `--plan-ttl` allows (an edit that a recomputed digest would hide).
    pub(crate) fn check_usable(&self, now: u64, path: &str) -> Result<(), PlanFileError> {
        let (Some(created), Some(expires)) = (
            parse_rfc3339(&self.created_at),
            parse_rfc3339(&self.expires_at),
        ) else {
            return Err(PlanFileError::NotAPlan {
                path: path.to_string(),
                detail: "its created_at or expires_at is not an RFC 3339 UTC time".into(),
            });
        };
        if created > now.saturating_add(MAX_CLOCK_SKEW_SECS) {
            return Err(PlanFileError::FromTheFuture {
                path: path.to_string(),
                created_at: self.created_at.clone(),
                now: format_rfc3339(now),
            });
        }
        if expires < created || expires - created > MAX_TTL.as_secs() {
            return Err(PlanFileError::NotAPlan {
                path: path.to_string(),
                detail: format!(
                    "its lifetime ({} to {}) is not between 0 and the longest --plan-ttl, {}",
                    self.created_at,
                    self.expires_at,
                    format_duration(MAX_TTL)
                ),
            });
        }
        if now >= expires {
            return Err(PlanFileError::Expired {
                path: path.to_string(),
                expires_at: self.expires_at.clone(),
                now: format_rfc3339(now),
            });
        }
        Ok(())
    }
}

/// The bytes of a 64-digit lower-case hex string (an HMAC-SHA256 tag); `None` for anything else.
fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
        .collect()
}

impl SavedPlan {
    /// The account the plan is for; `--account-id` (if given) must name the same one. `name` is
    /// the plan's path as shown.
    pub fn account(
        &self,
        name: &str,
        flag: Option<&AccountId>,
    ) -> Result<AccountId, PlanFileError> {
        let account = AccountId::parse(&self.account_id).map_err(|e| PlanFileError::NotAPlan {
            path: name.to_string(),
            detail: format!("its account_id: {e}"),
        })?;
        match flag.filter(|f| **f != account) {
            Some(other) => {
                Err(self.other_account(name, "--account-id / CLOUDFLARE_ACCOUNT_ID", other))
            }
            None => Ok(account),
        }
    }

    /// The desired-state files given with `-f` are the ones reviewed: the same account, and the
    /// same digest.
    pub(crate) fn check_desired(
        &self,
        name: &str,
        account: &AccountId,
        desired: &Desired,
    ) -> Result<(), PlanFileError> {
        if let Some(file_account) = desired.account().filter(|a| *a != account) {
            return Err(self.other_account(name, "the desired-state files", file_account));
        }
        let now = desired.digest();
        if now != self.desired_digest {
            return Err(PlanFileError::DesiredChanged {
                path: name.to_string(),
                planned: self.desired_digest.clone(),
                now,
            });
        }
        Ok(())
    }

    fn other_account(&self, name: &str, given_by: &str, other: &AccountId) -> PlanFileError {
        PlanFileError::OtherAccount {
            path: name.to_string(),
            plan: self.account_id.clone(),
            given_by: given_by.to_string(),
            other: other.to_string(),
        }
    }
}

pub use crate::plan::recheck::Skip;

/// A saved plan checked against a fresh listing: the deletions borrow the fresh plan `'f`.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedCheck<'f> {
    /// What [`crate::plan::recheck::recheck`] made of the saved deletions: the planned users
    /// still present with the same id and email and still extras (the only ones deleted), those
    /// skipped and why, and the extras now that the plan did not include (never deleted).
    pub recheck: Recheck<'f>,
    /// The live users differ from those the plan saw (fingerprint).
    pub account_changed: bool,
}

/// Check `saved` against the users listed now. `fresh` is the plan computed now from the same
/// desired state (the files given with `-f`, their digest already checked), so every rail runs
/// again on the fresh listing: a planned user is deleted only if still an extra, and the plan is
/// refused as a whole when the whole-plan rails refuse what would now be deleted.
pub fn check<'f>(saved: &SavedPlan, fresh: &'f Plan) -> Result<SavedCheck<'f>, Refusal> {
    let reviewed = saved.deletions.iter().map(|d| Reviewed {
        id: &d.id,
        email: &d.email,
    });
    Ok(SavedCheck {
        recheck: recheck(reviewed, fresh)?,
        account_changed: !unchanged_but_for_the_plan(saved, fresh),
    })
}

/// Whether the live users are those the plan saw, less some of its own deletions (so that a
/// second apply of the same plan does not report a changed account).
fn unchanged_but_for_the_plan(saved: &SavedPlan, fresh: &Plan) -> bool {
    if fresh.live_fingerprint() == saved.live_fingerprint {
        return true;
    }
    let present: std::collections::HashSet<&str> =
        fresh.users().filter_map(|u| u.id.as_deref()).collect();
    let gone: Vec<LiveUser> = saved
        .deletions
        .iter()
        .filter(|d| !present.contains(d.id.as_str()))
        .map(|d| LiveUser {
            id: Some(d.id.clone()),
            email: Some(d.email.clone()),
            ..LiveUser::default()
        })
        .collect();
    plan::fingerprint(fresh.users().chain(&gone)) == saved.live_fingerprint
}

/// Parse `--plan-ttl`: a [`crate::config::Span`] (`30m`, `24h`, `7d`, `1w`, `1h30m`), at least
/// one second, at most [`MAX_TTL`].
pub(crate) fn parse_ttl(raw: &str) -> Result<Duration, TtlError> {
    let ttl = Duration::from_secs(crate::config::Span::parse(raw)?.seconds);
    if ttl.is_zero() {
        return Err(TtlError::Zero {
            text: raw.to_string(),
        });
    }
    if ttl > MAX_TTL {
        return Err(TtlError::TooLong {
            text: raw.to_string(),
            ttl,
        });
    }
    Ok(ttl)
}

/// Why text is not a `--plan-ttl`. `text` is the flag's value as given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TtlError {
    /// Not a span of time at all.
    #[error(transparent)]
    Span(#[from] SpanError),
    /// A span of zero seconds.
    #[error("`{text}`: a saved plan must live at least 1s")]
    Zero { text: String },
    /// Longer than [`MAX_TTL`].
    #[error("`{text}` is longer than the longest plan lifetime, {}: a reviewed plan should be applied soon", format_duration(MAX_TTL))]
    TooLong { text: String, ttl: Duration },
}

/// `30d`, `24h`, `1h30m`, `45s`.
pub(crate) fn format_duration(d: Duration) -> String {
    crate::date::Span {
        seconds: d.as_secs(),
    }
    .compound()
}

/// Seconds since the Unix epoch as RFC 3339 in UTC: `2026-11-28T09:15:00Z`.
pub fn format_rfc3339(secs: u64) -> String {
    crate::date::format_timestamp(secs.min(i64::MAX as u64) as i64, None)
}

/// The inverse of [`format_rfc3339`]; exactly that form (UTC, `Z`, whole seconds, a real
/// calendar day, from 1970 on) is accepted.
pub(crate) fn parse_rfc3339(text: &str) -> Option<u64> {
    let secs = crate::date::parse_timestamp(text)?;
    (secs >= 0 && format_rfc3339(secs as u64) == text).then_some(secs as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;

    const ACCOUNT: &str = "023e105f4ecef8ad9ca31a8372d0c353";
    const NOW: u64 = 1_795_000_000; // 2026-11-18T...

    fn user(n: u32, email: &str) -> LiveUser {
        LiveUser {
            id: Some(format!("00000000-0000-4000-8000-{n:012}")),
            email: Some(email.to_string()),
            ..LiveUser::default()
        }
    }

    fn desired(emails: &[&str]) -> Desired {
        let mut text = format!("account_id: {ACCOUNT}\nusers:\n");
        for e in emails {
            text.push_str(&format!("  - {e}\n"));
        }
        config::parse_str(&text, "users.yaml").unwrap()
    }

    fn saved(desired: &Desired, live: &[LiveUser]) -> SavedPlan {
        let plan = plan::compute(
            desired,
            live,
            &plan::Policy::at(&crate::model::AccountId::example(), 1_795_867_200),
        );
        SavedPlan::new(desired, &plan, NOW, DEFAULT_TTL)
    }

    fn live() -> Vec<LiveUser> {
        vec![
            user(1, "alice@example.com"),
            user(2, "bob@example.com"),
            user(3, "carol@example.com"),
        ]
    }

    fn emails(list: &[crate::plan::Decision]) -> Vec<String> {
        list.iter().map(|d| d.label()).collect()
    }

    fn confirmed(c: &SavedCheck) -> Vec<String> {
        c.recheck
            .confirmed
            .iter()
            .map(|d| d.decision().label())
            .collect()
    }

    fn skipped(c: &SavedCheck) -> Vec<Skip> {
        c.recheck.dropped.iter().map(|d| d.skip.clone()).collect()
    }

    #[test]
    fn round_trip_and_digest() {
        let s = saved(&desired(&["alice@example.com"]), &live());
        assert_eq!(s.deletions.len(), 2);
        assert_eq!(s.deletions[0].reason.kind, "not_allowed");
        assert_eq!(s.expires_at, format_rfc3339(NOW + 86400));
        let text = s.to_json();
        assert_eq!(SavedPlan::parse(&text, "p.json").unwrap(), s);
        // Whitespace does not matter; content does.
        let compact =
            serde_json::to_string(&serde_json::from_str::<serde_json::Value>(&text).unwrap())
                .unwrap();
        assert_eq!(SavedPlan::parse(&compact, "p.json").unwrap(), s);
    }

    #[test]
    fn edits_unknown_versions_and_junk_are_refused_cleanly() {
        let text = saved(&desired(&["alice@example.com"]), &live()).to_json();
        let edited = text.replace("bob@example.com", "alice@example.com");
        assert!(matches!(
            SavedPlan::parse(&edited, "p.json"),
            Err(PlanFileError::Tampered { .. })
        ));
        let extra_field = text.replacen("\"plan\": {", "\"plan\": {\"x\": 1,", 1);
        assert!(matches!(
            SavedPlan::parse(&extra_field, "p.json"),
            Err(PlanFileError::Tampered { .. })
        ));
        let v2 = text.replacen("\"format_version\": 1", "\"format_version\": 2", 1);
        let err = SavedPlan::parse(&v2, "p.json").unwrap_err();
        assert!(matches!(err, PlanFileError::UnknownVersion { .. }), "{err}");
        assert!(err.to_string().contains("version 2"), "{err}");
        for junk in ["", "[]", "null", "{", "{\"kind\": 5}", "\u{0}\u{ff}"] {
            assert!(
                matches!(
                    SavedPlan::parse(junk, "p.json"),
                    Err(PlanFileError::NotAPlan { .. })
                ),
                "{junk:?}"
            );
        }
        let wrong_shape =
            format!("{{\"kind\": \"{KIND}\", \"format_version\": 1, \"digest\": 3, \"plan\": []}}");
        assert!(SavedPlan::parse(&wrong_shape, "p.json").is_err());
    }

    fn key(text: &str) -> PlanKey {
        PlanKey::new(text, "test").unwrap()
    }

    #[test]
    fn a_keyed_seal_verifies_only_under_its_key() {
        let s = saved(&desired(&["alice@example.com"]), &live());
        let k = key("0123456789abcdef0123456789abcdef");
        let text = s.to_json_sealed(Some(&k));
        assert!(text.contains("\"digest\": \"hmac-sha256:"), "{text}");
        assert!(!text.contains("0123456789abcdef0123456789abcdef"), "{text}");
        assert_eq!(SavedPlan::parse_sealed(&text, "p", Some(&k)).unwrap(), s);
        // Another key, no key, an unkeyed plan under a key, an edited plan re-sealed without it.
        let other = key("fedcba9876543210fedcba9876543210");
        assert!(matches!(
            SavedPlan::parse_sealed(&text, "p", Some(&other)),
            Err(PlanFileError::BadSeal { .. })
        ));
        assert!(matches!(
            SavedPlan::parse_sealed(&text, "p", None),
            Err(PlanFileError::KeyNeeded { .. })
        ));
        assert!(matches!(
            SavedPlan::parse_sealed(&s.to_json(), "p", Some(&k)),
            Err(PlanFileError::Unkeyed { .. })
        ));
        let edited = text.replace("bob@example.com", "alice@example.com");
        assert!(matches!(
            SavedPlan::parse_sealed(&edited, "p", Some(&k)),
            Err(PlanFileError::BadSeal { .. })
        ));
        // A seal that is not 64 hex digits.
        let seal = s.seal(Some(&k));
        for bad in [
            format!("{seal}0"),
            seal[..seal.len() - 1].to_string(),
            seal.to_uppercase().replace("HMAC-SHA256:", "hmac-sha256:"),
        ] {
            let garbled = text.replace(&seal, &bad);
            assert!(matches!(
                SavedPlan::parse_sealed(&garbled, "p", Some(&k)),
                Err(PlanFileError::BadSeal { .. })
            ));
        }
        // The HMAC of RFC 4231's test case 2 key and data, to pin the algorithm.
        let tag = <Hmac<Sha256> as Mac>::new_from_slice(b"Jefe")
            .unwrap()
            .chain_update(b"what do ya want for nothing?")
            .finalize()
            .into_bytes();
        assert_eq!(
            tag.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn short_keys_are_refused_without_quoting_them() {
        let err = PlanKey::new(" short-key \n", "RECONCILE_PLAN_KEY").unwrap_err();
        assert_eq!(
            err,
            PlanKeyError::TooShort {
                origin: "RECONCILE_PLAN_KEY".into(),
                length: 9
            }
        );
        assert!(!format!("{err:?}").contains("short-key"), "{err:?}");
        let err = err.to_string();
        assert!(
            err.contains("RECONCILE_PLAN_KEY: the plan key is 9 bytes long"),
            "{err}"
        );
        assert!(!err.contains("short-key"), "{err}");
        let k = key("  0123456789abcdef0123456789abcdef\n");
        assert_eq!(format!("{k:?}"), "PlanKey((redacted))");
    }

    #[test]
    fn expiry_and_clock_checks() {
        let s = saved(&desired(&["alice@example.com"]), &live());
        assert!(s.check_usable(NOW, "p").is_ok());
        assert!(s.check_usable(NOW + 86399, "p").is_ok());
        let err = s.check_usable(NOW + 86400, "p").unwrap_err();
        assert!(matches!(err, PlanFileError::Expired { .. }));
        assert!(err.to_string().contains("run `reconcile plan --out` again"));
        assert!(matches!(
            s.check_usable(NOW - 3600, "p"),
            Err(PlanFileError::FromTheFuture { .. })
        ));
        let mut forever = s.clone();
        forever.expires_at = format_rfc3339(NOW + 365 * 86400);
        assert!(matches!(
            forever.check_usable(NOW, "p"),
            Err(PlanFileError::NotAPlan { .. })
        ));
        let mut garbled = s;
        garbled.expires_at = "tomorrow".into();
        assert!(garbled.check_usable(NOW, "p").is_err());
    }

    #[test]
    fn the_clock_and_lifetime_limits_are_inclusive() {
        let s = saved(&desired(&["alice@example.com"]), &live());
        let at = |created: u64, expires: u64| {
            let mut p = s.clone();
            p.created_at = format_rfc3339(created);
            p.expires_at = format_rfc3339(expires);
            p.check_usable(NOW, "p")
        };
        let day = 86_400;
        // Made up to MAX_CLOCK_SKEW_SECS ahead of this machine's clock: accepted; a second more
        // is a plan from the future.
        assert!(at(NOW + MAX_CLOCK_SKEW_SECS, NOW + day).is_ok());
        assert!(matches!(
            at(NOW + MAX_CLOCK_SKEW_SECS + 1, NOW + day),
            Err(PlanFileError::FromTheFuture { .. })
        ));
        // A lifetime of exactly the longest --plan-ttl is allowed; a second more is not.
        let ttl = MAX_TTL.as_secs();
        assert!(at(NOW - 10, NOW - 10 + ttl).is_ok());
        assert!(matches!(
            at(NOW - 10, NOW - 9 + ttl),
            Err(PlanFileError::NotAPlan { .. })
        ));
        // A lifetime of zero is a lifetime (still to come within the skew), a negative one is not.
        assert!(at(NOW + 100, NOW + 100).is_ok());
        assert!(matches!(
            at(NOW + 100, NOW + 99),
            Err(PlanFileError::NotAPlan { .. })
        ));
    }

    #[test]
    fn unchanged_account_confirms_every_planned_user() {
        let d = desired(&["alice@example.com"]);
        let s = saved(&d, &live());
        let fresh_for = |users: &[LiveUser]| {
            plan::compute(
                &d,
                users,
                &plan::Policy::at(&crate::model::AccountId::example(), 1_795_867_200),
            )
        };
        // Applied once: the planned users are gone, and that alone is not a changed account.
        let fresh = fresh_for(&live()[..1]);
        let c = check(&s, &fresh).unwrap();
        assert!(c.recheck.confirmed.is_empty());
        assert_eq!(skipped(&c), [Skip::Gone, Skip::Gone]);
        assert!(!c.account_changed);
        let fresh = fresh_for(&live());
        let c = check(&s, &fresh).unwrap();
        assert_eq!(confirmed(&c), ["bob@example.com", "carol@example.com"]);
        assert!(c.recheck.dropped.is_empty() && c.recheck.unconfirmed.is_empty());
        assert!(!c.account_changed);
    }

    #[test]
    fn gone_changed_new_and_invalid_users_are_never_deleted() {
        let d = desired(&["alice@example.com"]);
        let mut s = saved(&d, &live());
        // A tampered plan (digest recomputed) naming an id that is not a UUID.
        s.deletions.push(SavedDeletion {
            id: "../../evil".into(),
            email: "x@example.com".into(),
            reason: s.deletions[0].reason.clone(),
        });
        // Since the plan: carol left, bob's id carries another address, dave arrived.
        let now = vec![
            user(1, "alice@example.com"),
            user(2, "robert@example.com"),
            user(4, "dave@example.com"),
        ];
        let fresh = plan::compute(
            &d,
            &now,
            &plan::Policy::at(&crate::model::AccountId::example(), 1_795_867_200),
        );
        let c = check(&s, &fresh).unwrap();
        assert!(c.recheck.confirmed.is_empty());
        assert_eq!(c.recheck.dropped.len(), 3);
        assert_eq!(
            skipped(&c),
            [
                Skip::EmailChanged {
                    now: "robert@example.com".into()
                },
                Skip::Gone,
                Skip::InvalidId
            ]
        );
        assert!(c.account_changed);
        assert_eq!(
            emails(&c.recheck.unconfirmed),
            ["dave@example.com", "robert@example.com"]
        );
        assert!(c.recheck.confirmed.is_empty());
    }

    #[test]
    fn same_email_in_other_case_is_the_same_user() {
        let d = desired(&["alice@example.com"]);
        let s = saved(&d, &live());
        let now = vec![
            user(1, "alice@example.com"),
            user(2, " BOB@example.com"),
            user(3, "carol@example.com"),
        ];
        let fresh = plan::compute(
            &d,
            &now,
            &plan::Policy::at(&crate::model::AccountId::example(), 1_795_867_200),
        );
        let c = check(&s, &fresh).unwrap();
        assert_eq!(c.recheck.confirmed.len(), 2);
    }

    #[test]
    fn with_the_desired_state_a_planned_user_that_is_now_kept_is_not_deleted() {
        let d = desired(&["alice@example.com"]);
        let mut s = saved(&d, &live());
        // A tampered plan (digest recomputed) that also names alice, who is allowed.
        s.deletions.push(SavedDeletion {
            id: live()[0].id.clone().unwrap(),
            email: "alice@example.com".into(),
            reason: s.deletions[0].reason.clone(),
        });
        let fresh = plan::compute(
            &d,
            &live(),
            &plan::Policy::at(&crate::model::AccountId::example(), 1_795_867_200),
        );
        let c = check(&s, &fresh).unwrap();
        assert_eq!(confirmed(&c), ["bob@example.com", "carol@example.com"]);
        assert!(matches!(&skipped(&c)[..], [Skip::NotAnExtra { now }] if now.kind() == "allowed"));
    }

    #[test]
    fn ttl_parsing() {
        assert_eq!(parse_ttl("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_ttl("24h"), Ok(DEFAULT_TTL));
        assert_eq!(parse_ttl("7d"), Ok(Duration::from_secs(7 * 86400)));
        assert_eq!(parse_ttl("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_ttl(" 45s "), Ok(Duration::from_secs(45)));
        assert_eq!(parse_ttl("1w"), Ok(Duration::from_secs(7 * 86400)));
        // The longest lifetime is accepted; a second more is not.
        assert_eq!(parse_ttl("30d"), Ok(MAX_TTL));
        assert!(parse_ttl("30d1s").is_err());
        for bad in [
            "",
            "0s",
            "10",
            "h",
            "5w",
            "31d",
            "-1h",
            "99999999999999999999d",
        ] {
            assert!(parse_ttl(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_ttl("0s"), Err(TtlError::Zero { text: "0s".into() }));
        assert_eq!(
            parse_ttl(" 0d0h "),
            Err(TtlError::Zero {
                text: " 0d0h ".into()
            })
        );
        assert_eq!(
            parse_ttl("31d"),
            Err(TtlError::TooLong {
                text: "31d".into(),
                ttl: Duration::from_secs(31 * 86400)
            })
        );
        assert!(matches!(
            parse_ttl("10"),
            Err(TtlError::Span(SpanError::NoUnit { .. }))
        ));
        assert!(matches!(
            parse_ttl("-1h"),
            Err(TtlError::Span(SpanError::Character { found: '-', .. }))
        ));
        assert_eq!(
            parse_ttl("0s").unwrap_err().to_string(),
            "`0s`: a saved plan must live at least 1s"
        );
        assert_eq!(
            parse_ttl("5w").unwrap_err().to_string(),
            "`5w` is longer than the longest plan lifetime, 30d: a reviewed plan should be applied soon"
        );
        assert_eq!(
            parse_ttl("h").unwrap_err().to_string(),
            crate::date::Span::parse("h").unwrap_err().to_string()
        );
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format_duration(MAX_TTL), "30d");
    }

    #[test]
    fn rfc3339_round_trip() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_rfc3339(1_798_761_599), "2026-12-31T23:59:59Z");
        for t in [0, 951_782_400, 1_798_761_599, NOW, 4_102_444_800] {
            assert_eq!(parse_rfc3339(&format_rfc3339(t)), Some(t));
        }
        for bad in [
            "2026-02-30T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01 00:00:00Z",
            "2026-01-01T00:00:00+01:00",
            "+026-01-01T00:00:00Z",
            "",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    /// A door plan for these users on `today`, against lists that hold `held`.
    fn door_plan(users: &str, held: &[&str], today: &str) -> crate::plan::door::DoorPlan {
        use crate::model::door::{LiveDoor, LiveItem, LiveList};
        let desired = config::parse_str(
            &format!("users:\n{users}door:\n  lists: {{ name: allow }}\n"),
            "users.yaml",
        )
        .unwrap();
        let live = LiveDoor {
            lists: vec![LiveList {
                id: "00000000-0000-4000-8000-000000000001".into(),
                name: "allow-1".into(),
                kind: Some("EMAIL".into()),
                items: held
                    .iter()
                    .map(|v| LiveItem {
                        value: v.to_string(),
                        description: None,
                    })
                    .collect(),
            }],
            account_lists: 1,
            groups: Vec::new(),
        };
        crate::plan::door::compute(&desired, &live, crate::date::Date::parse(today).unwrap())
            .unwrap()
    }

    #[test]
    fn the_door_must_be_the_one_reviewed_as_read_and_as_planned() {
        let users = "  - a@example.com\n  - { email: b@example.com, expires: 2026-12-03 }\n";
        let reviewed = door_plan(users, &["a@example.com"], "2026-12-01");
        let base = saved(&desired(&["alice@example.com"]), &live());
        let reviewed_plan = SavedPlan {
            door: Some(SavedDoor::of(&reviewed)),
            ..base
        };
        assert_eq!(reviewed_plan.door.as_ref().unwrap().writes.len(), 1);
        assert_eq!(
            reviewed_plan.door.as_ref().unwrap().writes[0].added,
            ["b@example.com"]
        );
        // The same door, read and planned again on the same day: applied.
        let again = door_plan(users, &["a@example.com"], "2026-12-01");
        assert_eq!(reviewed_plan.check_door("p.json", Some(&again)), Ok(()));
        // Someone added an item since: the lists as read differ.
        let edited = door_plan(users, &["a@example.com", "x@example.com"], "2026-12-01");
        let err = reviewed_plan
            .check_door("p.json", Some(&edited))
            .unwrap_err();
        assert!(err.to_string().contains("lists or group changed"), "{err}");
        // The same lists, but b's entry expired since the review: another plan of the door.
        let later = door_plan(users, &["a@example.com"], "2026-12-04");
        assert_eq!(later.live_fingerprint, reviewed.live_fingerprint);
        let err = reviewed_plan
            .check_door("p.json", Some(&later))
            .unwrap_err();
        assert!(err.to_string().contains("not the one reviewed"), "{err}");
        assert!(err.to_string().contains("nothing was sent"), "{err}");
        // A door section on one side only.
        assert!(reviewed_plan.check_door("p.json", None).is_err());
        let without = saved(&desired(&["alice@example.com"]), &live());
        assert!(without.check_door("p.json", Some(&again)).is_err());
        assert_eq!(without.check_door("p.json", None), Ok(()));
    }

    #[test]
    fn a_door_refused_now_is_not_applied_though_it_reads_and_plans_the_same() {
        use crate::model::door::LiveDoor;
        let files = config::parse_str(
            "users:\n  - a@example.com\ndoor:\n  lists: { name: allow }\n",
            "users.yaml",
        )
        .unwrap();
        let today = crate::date::Date::parse("2026-12-01").unwrap();
        // The account's other lists are not part of the door's fingerprint, but they count
        // towards its limit of 100 lists.
        let door = |account_lists| {
            let live = LiveDoor {
                lists: Vec::new(),
                account_lists,
                groups: Vec::new(),
            };
            crate::plan::door::compute(&files, &live, today).unwrap()
        };
        let reviewed = door(99);
        assert!(!reviewed.is_refused(), "{:?}", reviewed.errors);
        let plan = SavedPlan {
            door: Some(SavedDoor::of(&reviewed)),
            ..saved(&desired(&["alice@example.com"]), &live())
        };
        assert_eq!(plan.check_door("p.json", Some(&door(99))), Ok(()));
        // Someone made a list elsewhere since: the list to create would be the 101st.
        let now = door(100);
        assert_eq!(now.live_fingerprint, reviewed.live_fingerprint);
        assert_eq!(SavedDoor::of(&now), *plan.door.as_ref().unwrap());
        assert!(now.is_refused());
        let err = plan.check_door("p.json", Some(&now)).unwrap_err();
        assert!(err.to_string().contains("refused now"), "{err}");
    }

    #[test]
    fn a_plan_without_a_door_is_sealed_as_before_and_one_with_a_door_is_covered() {
        let plain = saved(&desired(&["alice@example.com"]), &live());
        let text = plain.to_json();
        assert!(!text.contains("\"door\""), "{text}");
        let mut with_door = plain.clone();
        with_door.door = Some(SavedDoor::of(&door_plan(
            "  - a@example.com\n",
            &[],
            "2026-12-01",
        )));
        assert_ne!(with_door.digest(), plain.digest());
        let text = with_door.to_json();
        let parsed = SavedPlan::parse(&text, "p.json").unwrap();
        assert_eq!(parsed, with_door);
        // An edit of a reviewed door write breaks the seal.
        let edited = text.replace("a@example.com", "z@example.com");
        assert!(matches!(
            SavedPlan::parse(&edited, "p.json"),
            Err(PlanFileError::Tampered { .. })
        ));
    }

    #[test]
    fn the_account_and_the_files_must_be_the_reviewed_ones() {
        let files = desired(&["alice@example.com"]);
        let plan = saved(&files, &live());
        let account = AccountId::parse(ACCOUNT).unwrap();
        let other = AccountId::parse("ffffffffffffffffffffffffffffffff").unwrap();
        assert_eq!(plan.account("p.json", None), Ok(account.clone()));
        assert_eq!(plan.account("p.json", Some(&account)), Ok(account.clone()));
        assert!(matches!(
            plan.account("p.json", Some(&other)),
            Err(PlanFileError::OtherAccount { .. })
        ));
        assert_eq!(plan.check_desired("p.json", &account, &files), Ok(()));
        let changed = desired(&["alice@example.com", "bob@example.com"]);
        assert!(matches!(
            plan.check_desired("p.json", &account, &changed),
            Err(PlanFileError::DesiredChanged { .. })
        ));
        let elsewhere = config::parse_str(
            "account_id: ffffffffffffffffffffffffffffffff\nusers:\n  - alice@example.com\n",
            "users.yaml",
        )
        .unwrap();
        assert!(matches!(
            plan.check_desired("p.json", &account, &elsewhere),
            Err(PlanFileError::OtherAccount { .. })
        ));
    }
}
