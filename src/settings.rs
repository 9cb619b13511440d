//! What a run needs, resolved once from the arguments and the environment by `cli`: plain data,
//! no clap types. Commands read it; nothing below the commands does.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::apply::ExecSettings;
use crate::cloudflare::{ClientConfig, Credentials};
use crate::date::Clock;
use crate::model::AccountId;
use crate::plan::Overrides;
use crate::planfile::PlanKey;
use crate::render::{Format, Layout, Palette};
use crate::sandbox::{Faults, RateLimit};
use crate::secret::Secret;

/// Where and how to reach the API, resolved.
#[derive(Debug, Clone)]
pub struct Target {
    pub files: Vec<PathBuf>,
    pub account_id: Option<AccountId>,
    pub api_url: String,
    /// `None` when the environment has none; an error only once the API is needed.
    pub credentials: Option<Credentials>,
    pub client: ClientConfig,
    /// The safety-rail flags of this run.
    pub overrides: Overrides,
    /// Where "now" comes from: whom `hold_active_within` holds, when a saved plan expires.
    pub clock: Clock,
}

/// Where `plan` writes, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanOutput {
    pub format: Format,
    /// `--out`: save the plan here.
    pub save_to: Option<PathBuf>,
    /// `--plan-ttl`.
    pub ttl: Duration,
    /// `GITHUB_STEP_SUMMARY`: append the Markdown plan to this file.
    pub step_summary: Option<PathBuf>,
    /// `--plan-key-file` / `RECONCILE_PLAN_KEY`: seal the saved plan with it.
    pub plan_key: Option<PlanKey>,
    /// `--compact-above`, `--full-diff`: how the human plan is laid out.
    pub layout: Layout,
}

#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // built once per run; size does not matter
pub enum Action {
    Plan {
        target: Target,
        detailed_exitcode: bool,
        output: PlanOutput,
        /// `--history` / `--audit-log`: audit logs to read past deletions from.
        history: Vec<PathBuf>,
    },
    Apply {
        target: Target,
        auto_approve: bool,
        /// `apply PLAN_FILE`: a saved plan to apply.
        saved: Option<PathBuf>,
        exec: ExecSettings,
        /// `--plan-key-file` / `RECONCILE_PLAN_KEY`: the saved plan must be sealed under it.
        plan_key: Option<PlanKey>,
        /// `--history`: audit logs to read past deletions from, besides `--audit-log`.
        history: Vec<PathBuf>,
        /// `--compact-above`, `--full-diff`: how the plan shown before the prompt is laid out.
        layout: Layout,
        /// `GITHUB_STEP_SUMMARY`: append the Markdown apply report to this file.
        step_summary: Option<PathBuf>,
        /// `--format`: how the apply report is written on stdout.
        format: Format,
    },
    Demo {
        auto_approve: bool,
    },
    Validate {
        files: Vec<PathBuf>,
    },
    Explain {
        email: String,
        target: Target,
    },
    Export {
        account_id: Option<AccountId>,
        api_url: String,
        credentials: Option<Credentials>,
        output: Option<PathBuf>,
        /// `--force`: an existing output file may be overwritten.
        force: bool,
        /// `--door-list` / `--door-group`: the `door:` section to write too.
        door: Option<crate::export::DoorNames>,
        client: ClientConfig,
    },
    Schema,
    Completions(clap_complete::Shell),
    Man,
    /// `man --dir DIR`: a page per command, written into DIR.
    ManPages {
        dir: PathBuf,
    },
    Sandbox(SandboxSettings),
    AuditVerify {
        file: PathBuf,
    },
    /// `reconcile check`: the preflight; `json` for `--format json`.
    Check {
        target: Target,
        json: bool,
    },
}

/// `reconcile sandbox`, resolved.
#[derive(Debug, Clone)]
pub struct SandboxSettings {
    pub seed: Option<PathBuf>,
    pub generate: usize,
    pub listen: SocketAddr,
    pub token: Secret,
    /// Every `--token` as given (`TOKEN[:ATTR,…]`), parsed by the command; empty without one.
    pub scoped_tokens: Vec<Secret>,
    pub account_id: Option<AccountId>,
    pub faults: Faults,
    pub rate_limit: Option<RateLimit>,
    /// `--list-capacity`: entries a Zero Trust list may hold.
    pub list_capacity: usize,
}

/// Everything a run needs, resolved once.
#[derive(Debug, Clone)]
pub struct Settings {
    pub action: Action,
    /// Colour for stdout.
    pub palette: Palette,
    /// Whether a person can answer a prompt.
    pub stdin_is_terminal: bool,
    /// -1 quiet, 0 default, 1.. more.
    pub verbosity: i8,
    /// Colour in the logs on stderr.
    pub log_color: bool,
    /// Found while resolving, logged once logging is set up.
    pub warnings: Vec<String>,
}
