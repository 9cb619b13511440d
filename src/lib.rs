//! `reconcile`: keep the users of a Cloudflare Zero Trust (Access) account equal to a reviewed
//! allowlist. The flow goes one way: config → cloudflare (list) → plan → render → apply.
//! See docs/design.md.

// Library code returns data and writes through the writers it is given; only `main` prints.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod apply;
pub mod audit;
pub mod cli;
pub mod cloudflare;
pub mod commands;
pub mod config;
pub mod confirm;
pub mod date;
pub mod digest;
pub mod distance;
pub mod explain;
pub mod export;
pub mod fsread;
pub mod logging;
pub mod model;
pub mod plan;
pub mod planfile;
pub mod progress;
pub mod render;
pub mod run;
pub mod sandbox;
pub mod secret;
pub mod settings;
pub mod text;
