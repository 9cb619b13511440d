//! Integration tests: the real `reconcile` binary against the sandbox on loopback.
//! One test binary (`autotests = false`), one module per area.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod apply_end;
mod apply_format;
mod architecture;
mod audit_lock;
mod check;
mod commands;
mod confusables;
mod docs;
mod door_plan;
mod escaping;
mod faults;
mod files;
mod first_contact;
mod first_contact_auth;
mod gitops;
mod harness;
mod help;
mod hints;
mod install;
mod listing;
mod manners;
mod plan_apply;
mod plan_key;
mod prompt;
mod pull_request;
mod rails;
mod returned;
mod sandbox;
mod sandbox_door;
mod scale;
mod secrets;
mod transport;
mod trust;
mod waits;
