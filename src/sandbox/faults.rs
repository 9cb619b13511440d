//! The faults a sandbox injects on purpose, decided per request from a seed so that a run can be
//! repeated: errors, dropped connections, malformed bodies, churn and shifts of the user list.

use std::sync::atomic::Ordering;

use serde_json::{Map, Value};

use super::*;

/// A fault picked for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Fault {
    None,
    Error,
    Drop,
    Malformed,
}

impl Inner {
    /// A number in [0, 1) for request `n`, stream `salt`.
    pub(super) fn unit(&self, n: u64, salt: u64) -> f64 {
        let x = seed::mix(self.options.faults.seed ^ n.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ salt);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }

    pub(super) fn fault(&self, n: u64) -> Fault {
        let f = &self.options.faults;
        let u = self.unit(n, 1);
        if u < f.error_rate {
            Fault::Error
        } else if u < f.error_rate + f.drop_rate {
            Fault::Drop
        } else if u < f.error_rate + f.drop_rate + f.malformed_rate {
            Fault::Malformed
        } else {
            Fault::None
        }
    }

    /// After an answer to page 1: remove the first user and add one at the end (see
    /// `Faults::shift`).
    pub(super) fn shift(&self, n: u64) {
        let left = self.shift_left.load(Ordering::Relaxed);
        if left == 0 {
            return;
        }
        if left != u32::MAX {
            self.shift_left.fetch_sub(1, Ordering::Relaxed);
        }
        let mut store = self.store.write().unwrap_or_else(|p| p.into_inner());
        let first = store
            .snapshot()
            .into_iter()
            .next()
            .and_then(|u| u.get("id").and_then(Value::as_str).map(str::to_string));
        if let Some(id) = first {
            store.delete(&id);
        }
        let id = fault_uuid(self.options.faults.seed ^ n ^ 0x5417_F7ED, '9');
        let user = fault_user(
            id,
            &format!("shifted-{n}@churn.example"),
            &format!("Shifted {n}"),
        );
        let end = store.len();
        store.insert(end, user);
    }

    /// Change the users as someone else would while the list is read: add a user at a random
    /// place, or remove one added before.
    pub(super) fn churn(&self, n: u64) {
        let left = self.churn_left.load(Ordering::Relaxed);
        if left == 0 {
            return;
        }
        if left != u32::MAX {
            self.churn_left.fetch_sub(1, Ordering::Relaxed);
        }
        let mut guard = self.churned.lock().unwrap_or_else(|p| p.into_inner());
        let (step, churned) = &mut *guard;
        *step += 1;
        let mut store = self.store.write().unwrap_or_else(|p| p.into_inner());
        let pick = |len: usize, salt: u64| (self.unit(n, salt) * len as f64) as usize;
        if *step % 2 == 0 && !churned.is_empty() {
            let at = pick(churned.len(), 2).min(churned.len() - 1);
            let id = churned.swap_remove(at);
            store.delete(&id);
        } else {
            let id = fault_uuid(self.options.faults.seed ^ n ^ 0xC0FFEE, '8');
            let user = fault_user(
                id.clone(),
                &format!("churn-{n}@churn.example"),
                &format!("Churn {n}"),
            );
            let position = pick(store.len() + 1, 3);
            store.insert(position, user);
            churned.push(id);
        }
    }
}

impl Inner {
    /// After an answer to a list request: put the users in a new order (see `Faults::reorder`).
    pub(super) fn reorder(&self, n: u64) {
        let left = self.reorder_left.load(Ordering::Relaxed);
        if left == 0 {
            return;
        }
        if left != u32::MAX {
            self.reorder_left.fetch_sub(1, Ordering::Relaxed);
        }
        let mut store = self.store.write().unwrap_or_else(|p| p.into_inner());
        store.shuffle(seed::mix(self.options.faults.seed ^ n ^ 0x0E0D_E125));
    }

    /// After a DELETE `path` that was done (202): the user logs in again, as a new user with a
    /// new id, if its address is in `Faults::relogin` or by `Faults::relogin_rate`.
    pub(super) fn relogin(&self, n: u64, path: &str) {
        let faults = &self.options.faults;
        if faults.relogin.is_empty() && faults.relogin_rate <= 0.0 {
            return;
        }
        let Some(segment) = path.rsplit('/').next() else {
            return;
        };
        let id = percent_encoding::percent_decode_str(segment)
            .decode_utf8_lossy()
            .into_owned();
        let mut store = self.store.write().unwrap_or_else(|p| p.into_inner());
        let Some(gone) = store.removed(&id).into_iter().next() else {
            return;
        };
        let email = gone.get("email").and_then(Value::as_str);
        let listed = email.is_some_and(|email| {
            faults
                .relogin
                .iter()
                .any(|want| want.trim().eq_ignore_ascii_case(email.trim()))
        });
        if !listed && self.unit(n, 4) >= faults.relogin_rate {
            return;
        }
        // With the door enforced, only someone a group admits can log in again.
        if faults.door_enforced && !email.is_some_and(|email| self.door_admits(email)) {
            return;
        }
        let now = jiff::Timestamp::now();
        let seconds = u64::try_from(now.as_second()).unwrap_or(0);
        let fraction = now.subsec_nanosecond().unsigned_abs() / 10_000;
        let mut user = gone;
        let salt = self.options.faults.seed ^ n ^ 0x4E10_6100;
        user.insert("id".into(), Value::String(fault_uuid(salt, 'a')));
        user.insert("uid".into(), Value::String(fault_uuid(salt ^ 1, 'a')));
        if user.contains_key("seat_uid") {
            user.insert("seat_uid".into(), Value::String(fault_uuid(salt ^ 2, 'a')));
        }
        user.insert("access_seat".into(), Value::Bool(true));
        let created = Value::String(seed::timestamp(seconds, Some(fraction)));
        user.insert("created_at".into(), created.clone());
        user.insert("updated_at".into(), created);
        user.insert(
            "last_successful_login".into(),
            Value::String(seed::timestamp(seconds, None)),
        );
        let end = store.len();
        store.insert(end, user);
    }
}

/// A UUID for a user a fault adds, from a seed (`variant` is its 17th hex digit).
fn fault_uuid(salt: u64, variant: char) -> String {
    let r = seed::mix(salt);
    format!(
        "{:08x}-{:04x}-4{:03x}-{variant}{:03x}-{:012x}",
        r >> 32,
        (r >> 16) & 0xffff,
        r & 0xfff,
        (r >> 20) & 0xfff,
        seed::mix(r) & 0xffff_ffff_ffff
    )
}

/// A user a fault adds.
fn fault_user(id: String, email: &str, name: &str) -> Map<String, Value> {
    let mut user = Map::new();
    user.insert("id".into(), Value::String(id));
    user.insert("email".into(), Value::String(email.to_string()));
    user.insert("name".into(), Value::String(name.to_string()));
    user
}
