//! `reconcile`: keep the users of a Cloudflare Zero Trust (Access) account equal to a reviewed
//! allowlist. The flow goes one way: config → cloudflare (list) → plan → render → apply.
//! See docs/design.md.

// Library code returns data and writes through the writers it is given; only `main` prints.
#![deny(clippy::print_stdout, clippy::print_stderr)]
// `pub` only for what the binary, the tests and the examples use: the compiler then reports dead code.
#![deny(unreachable_pub)]

pub mod apply;
pub(crate) mod audit;
pub mod cli;
pub mod cloudflare;
pub(crate) mod commands;
pub mod config;
pub(crate) mod confirm;
pub mod date;
pub(crate) mod digest;
pub(crate) mod distance;
pub(crate) mod explain;
pub(crate) mod export;
pub(crate) mod fsread;
pub(crate) mod history;
pub mod logging;
pub mod model;
pub(crate) mod parallel;
pub mod plan;
pub mod planfile;
pub mod progress;
pub(crate) mod render;
pub mod run;
pub mod sandbox;
pub mod secret;
pub(crate) mod settings;
pub(crate) mod text;
