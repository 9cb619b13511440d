//! The clap definitions: every command, flag and environment twin, with the value parsers that
//! turn text into checked values. Nothing here reads the environment or decides anything.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::cloudflare::RateBudget;
use crate::date::SpanError;
use crate::model::{AccountId, AccountIdError, AddressError, Email};
use crate::plan::Overrides;
use crate::text::printable;

const AFTER_HELP: &str = "\
Examples:
  reconcile demo                                  # the whole flow on a built-in sandbox
  reconcile plan -f desired/users.yaml            # what would change (read-only)
  reconcile apply -f desired/users.yaml           # show the plan, ask, delete
  reconcile plan -f desired/users.yaml --out plan.json --format markdown
                                                  # save a plan for review (pipelines)
  reconcile apply plan.json -f desired/users.yaml # apply exactly the reviewed plan

Credentials come from the environment: CLOUDFLARE_API_TOKEN, or CLOUDFLARE_EMAIL and
CLOUDFLARE_API_KEY. Exit codes: 0 success or nothing to do, 1 error or declined,
2 changes present (plan --detailed-exitcode), 3 apply partly failed.";

#[derive(Debug, Parser)]
#[command(
    name = "reconcile",
    version,
    about = "Keep the users of a Cloudflare Zero Trust (Access) account equal to a reviewed allowlist",
    after_help = AFTER_HELP
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// When to colour the output
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true, overrides_with = "no_color", help_heading = "Global options")]
    pub color: ColorChoice,

    /// The same as --color never
    #[arg(
        long,
        global = true,
        overrides_with = "color",
        help_heading = "Global options"
    )]
    pub no_color: bool,

    /// More log detail on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides
    #[arg(short, long, action = clap::ArgAction::Count, global = true, help_heading = "Global options")]
    pub verbose: u8,

    /// Only errors on stderr
    #[arg(
        short,
        long,
        global = true,
        help_heading = "Global options",
        conflicts_with = "verbose"
    )]
    pub quiet: bool,

    /// Read the API token from this file (instead of CLOUDFLARE_API_TOKEN; never pass a token as a flag value)
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "FILE"
    )]
    pub api_token_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what apply would delete. Read-only: sends only GET requests.
    #[command(
        override_usage = "reconcile plan -f <PATH>... [OPTIONS]",
        after_help = "Example:\n  CLOUDFLARE_API_TOKEN=... reconcile plan -f desired/users.yaml"
    )]
    Plan(PlanArgs),
    /// Show the plan, ask for confirmation, and delete the users who are not allowed.
    #[command(
        after_help = "Example:\n  CLOUDFLARE_API_TOKEN=... reconcile apply -f desired/users.yaml"
    )]
    Apply(ApplyArgs),
    /// Check desired-state files offline: exit 0 when valid, 1 with every problem otherwise.
    #[command(
        override_usage = "reconcile validate -f <PATH>...",
        after_help = "Examples:\n  reconcile validate -f desired/users.yaml\n  reconcile validate -f desired/   # every *.yaml / *.yml in the directory"
    )]
    Validate(ValidateArgs),
    /// Say which rule keeps or deletes an address; with credentials, also what the plan does to it.
    #[command(after_help = "Example:\n  reconcile explain bob@example.com -f desired/")]
    Explain(ExplainArgs),
    /// Write the live users as a desired-state file, to start from today's state.
    #[command(
        after_help = "Example:\n  CLOUDFLARE_API_TOKEN=... reconcile export --account-id 023e105f4ecef8ad9ca31a8372d0c353 -o desired/users.yaml"
    )]
    Export(ExportArgs),
    /// Print the JSON Schema of the desired-state format (for editors).
    #[command(after_help = "Example:\n  reconcile schema > desired-state.schema.json")]
    Schema,
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  reconcile completions bash > /etc/bash_completion.d/reconcile\n  reconcile completions zsh > \"${fpath[1]}/_reconcile\"\n  reconcile completions fish > ~/.config/fish/completions/reconcile.fish"
    )]
    Completions {
        /// The shell
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), or write one page per command into a directory.
    #[command(
        after_help = "Examples:\n  reconcile man > reconcile.1 && man ./reconcile.1\n  reconcile man --dir /usr/local/share/man/man1   # reconcile.1, reconcile-plan.1, ..."
    )]
    Man(ManArgs),
    /// Run plan and apply on a built-in sandbox account: the whole flow with no Cloudflare account.
    #[command(after_help = "Example:\n  reconcile demo")]
    Demo(DemoArgs),
    /// Serve a local emulator of the Cloudflare Access users, groups and Zero Trust lists APIs (for tests and trials).
    #[command(
        after_help = "Example:\n  reconcile sandbox --seed examples/demo/seed.yaml --listen 127.0.0.1:0"
    )]
    Sandbox(SandboxArgs),
    /// Check credentials, account and API before apply: read-only (GET only), a few requests.
    #[command(
        after_help = "Exit 0 when everything it can check is fine, 1 otherwise (the report says what to do).\nIt cannot check the DELETE permission without deleting: see docs/check.md.\n\nExample:\n  reconcile check -f desired/"
    )]
    Check(CheckArgs),
    /// Check an audit log written by `apply --audit-log`.
    #[command(
        subcommand,
        after_help = "Example:\n  reconcile audit verify audit.jsonl"
    )]
    Audit(AuditCommand),
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verify the hash chain of an audit log: exit 0 when intact, 1 with the first broken line.
    #[command(after_help = "Example:\n  reconcile audit verify audit.jsonl")]
    Verify {
        /// The audit log (JSON lines)
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Desired-state YAML file or directory (repeat for several) [env: RECONCILE_FILES] [default: ./desired/ or ./reconcile.yaml]
    #[arg(short = 'f', long = "file", value_name = "PATH")]
    pub files: Vec<PathBuf>,

    /// Cloudflare account id, when the file does not set it [env: CLOUDFLARE_ACCOUNT_ID]
    #[arg(long, value_name = "ID")]
    pub account_id: Option<String>,

    /// Base URL of the Cloudflare API [env: CLOUDFLARE_BASE_URL] [default: https://api.cloudflare.com/client/v4]
    #[arg(long, value_name = "URL")]
    pub api_url: Option<String>,

    #[command(flatten, next_help_heading = "Safety rails (docs/safety.md)")]
    pub rails: RailArgs,

    #[command(flatten, next_help_heading = "API client")]
    pub client: ClientArgs,
}

/// Flags that change the safety rails for one run (docs/safety.md).
#[derive(Debug, Args, Default)]
pub struct RailArgs {
    /// Refuse a plan that deletes more users than N (replaces policy.max_deletes)
    #[arg(long, value_name = "N")]
    pub max_deletes: Option<u64>,

    /// Refuse a plan that deletes more than this fraction of the live users (replaces policy.max_delete_fraction; default 0.25)
    #[arg(long, value_name = "F", value_parser = fraction)]
    pub max_delete_fraction: Option<f64>,

    /// Go ahead with a plan over the thresholds that deletes exactly N users
    #[arg(long, value_name = "N")]
    pub allow_deletes: Option<usize>,

    /// Release a user held as a near miss of an allowlist entry (repeatable)
    #[arg(long, value_name = "EMAIL", value_parser = email_arg)]
    pub allow_near_miss: Vec<Email>,

    /// Release users held by policy.hold_active_within
    #[arg(long)]
    pub include_active: bool,

    /// Release users who share their address with another live user
    #[arg(long)]
    pub allow_duplicate_email: bool,
}

/// Why a flag's value (or an environment variable that stands for a flag) was refused. clap
/// shows a value parser's error after `invalid value 'TEXT' for '--flag'`; `text` is the value as
/// given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgError {
    /// `--allow-near-miss`: not an address.
    #[error("not an email address: {0}")]
    NotAnEmail(AddressError),
    /// `--account-id` or `CLOUDFLARE_ACCOUNT_ID` (`named` says which could have given it).
    #[error("{named}: {error}")]
    Account {
        named: &'static str,
        error: AccountIdError,
    },
    /// `--max-delete-fraction`: not a number from 0 to 1.
    #[error("a number from 0 to 1, e.g. 0.25")]
    NotAFraction { text: String },
    /// `--max-wait`: not a span of time.
    #[error(transparent)]
    NotASpan(#[from] SpanError),
    /// `--max-wait`: a span, but not from a second to a day.
    #[error("`{}`: give from 1s to 24h", printable(.text))]
    WaitOutOfRange { text: String, seconds: u64 },
    /// The sandbox's `--error-rate`, `--drop-rate`, `--malformed-rate`.
    #[error("`{}` is not a probability: give a number from 0 to 1, e.g. 0.1", printable(.text))]
    NotAProbability { text: String },
    /// `--connect-timeout`, `--request-timeout`, the sandbox's `--block`.
    #[error("`{}` is not a number of seconds from 0 to 86400", printable(.text))]
    NotSeconds { text: String },
    /// The sandbox's `--foreign-load`.
    #[error("`{}` is not a rate: give requests per second from 0 to 100000, e.g. 2.5 or 2.5/s", printable(.text))]
    NotARate { text: String },
}

pub(super) fn email_arg(text: &str) -> Result<Email, ArgError> {
    Email::parse(text).map_err(ArgError::NotAnEmail)
}

/// `--account-id` / `CLOUDFLARE_ACCOUNT_ID`, parsed once; unset or empty is `None`.
pub(super) fn account_arg(
    raw: Option<String>,
    named: &'static str,
) -> Result<Option<AccountId>, ArgError> {
    raw.filter(|s| !s.trim().is_empty())
        .map(|raw| AccountId::parse(&raw).map_err(|error| ArgError::Account { named, error }))
        .transpose()
}

pub(super) fn fraction(text: &str) -> Result<f64, ArgError> {
    match text.parse::<f64>() {
        Ok(f) if (0.0..=1.0).contains(&f) => Ok(f),
        _ => Err(ArgError::NotAFraction {
            text: text.to_string(),
        }),
    }
}

impl RailArgs {
    pub(super) fn overrides(self) -> Overrides {
        Overrides {
            max_deletes: self.max_deletes,
            max_delete_fraction: self.max_delete_fraction,
            allow_deletes: self.allow_deletes,
            allow_near_miss: self.allow_near_miss,
            include_active: self.include_active,
            allow_duplicate_email: self.allow_duplicate_email,
        }
    }
}

/// How requests are sent: concurrency, rate budget, retries, timeouts.
#[derive(Debug, Args)]
pub struct ClientArgs {
    /// Pages listed at once after page 1, at most [default: as many as the rate budget has room for, up to 16]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub list_concurrency: Option<u16>,

    /// Client-side rate budget shared by listing and deleting: N requests per SECONDS [default: 1200/300, Cloudflare's limit]
    #[arg(long, value_name = "N/SECONDS")]
    pub rate_limit: Option<RateBudget>,

    /// Retries of a request that failed with 408, 409, 429, 5xx, a timeout or a lost connection
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub max_retries: u32,

    /// First wait before a retry, doubled each time up to 30 s [env: RECONCILE_RETRY_DELAY_MS] [default: 500]
    #[arg(long, value_name = "MS")]
    pub retry_delay_ms: Option<u64>,

    /// Seconds to wait for a connection
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0, value_parser = seconds)]
    pub connect_timeout: f64,

    /// Seconds one attempt of one request may take
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0, value_parser = seconds)]
    pub request_timeout: f64,

    /// The longest wait to start when the API rate-limits (Retry-After, Ratelimit header): 90s, 15m, 1h; a longer one stops the run with an error
    #[arg(long, value_name = "DURATION", default_value = "15m", value_parser = max_wait)]
    pub max_wait: Duration,
}

/// `--max-wait`: `90s`, `15m`, `1h`, `1h30m`; from one second to a day.
pub(super) fn max_wait(raw: &str) -> Result<Duration, ArgError> {
    let total = crate::config::Span::parse(raw)?.seconds;
    if !(1..=86_400).contains(&total) {
        return Err(ArgError::WaitOutOfRange {
            text: raw.to_string(),
            seconds: total,
        });
    }
    Ok(Duration::from_secs(total))
}

/// How apply carries out the plan.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Deletions in flight at once
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallelism: u16,

    /// Append a hash-chained JSON-lines record per planned user to FILE (see `reconcile audit verify`)
    #[arg(long, value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
}

/// Faults the sandbox injects on purpose.
#[derive(Debug, Args)]
pub struct SandboxFaultArgs {
    /// Delay every answer by MS milliseconds
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency: u64,

    /// The legacy key pair may list but not delete (a DELETE answers 403, code 10000)
    #[arg(long)]
    pub legacy_read_only: bool,

    /// Zero Trust Access is not enabled on the account: Access routes answer 403, code 9999
    #[arg(long)]
    pub access_disabled: bool,

    /// Answer an unknown user id with this 404 code: 12130 (not found) or 7003 (could not route)
    #[arg(long, value_name = "CODE", value_parser = clap::builder::TypedValueParser::map(clap::builder::PossibleValuesParser::new(["12130", "7003"]), |s: String| s.parse::<u32>().unwrap_or(12130)))]
    pub not_found_code: Option<u32>,

    /// Enforce N requests per SECONDS like Cloudflare: 429 (code 971), Retry-After, then a block
    #[arg(long, value_name = "N/SECONDS")]
    pub rate_limit: Option<RateBudget>,

    /// How long the block after the limit is exceeded lasts [default: the rate-limit window]
    #[arg(long, value_name = "SECONDS", value_parser = seconds)]
    pub block: Option<f64>,

    /// Probability of a 503 with a failure envelope
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = probability)]
    pub error_rate: f64,

    /// Probability that the connection is closed in the middle of the answer
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = probability)]
    pub drop_rate: f64,

    /// Probability of a 200 whose body is not the envelope
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = probability)]
    pub malformed_rate: f64,

    /// Add and remove users while pages are read (for the first N list requests; every one without N)
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "4294967295")]
    pub churn: Option<u32>,

    /// Seed for the random faults and churn
    #[arg(long, value_name = "SEED", default_value_t = 0)]
    pub fault_seed: u64,

    /// Serve at most N users a page, whatever per_page asks
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub max_per_page: Option<u64>,

    /// Revoke the token after N deletions: every later request gets 403 (code 9109)
    #[arg(long, value_name = "N")]
    pub revoke_after_deletes: Option<u64>,

    /// Do the first N deletions, then cut their answers off (the client's retry finds the user gone)
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub drop_delete_answers: u64,

    /// After each of the first N answers to page 1 (every one without N), remove the first user and add one at the end: users move across pages, the total stays the same
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "4294967295")]
    pub shift: Option<u32>,

    /// Report N as `total_pages` in every list answer, whatever the users
    #[arg(long, value_name = "N")]
    pub total_pages: Option<u64>,

    /// Leave `total_count` out of every list answer
    #[arg(long)]
    pub no_total_count: bool,

    /// Answer an empty page with `"result": null` instead of `[]`
    #[arg(long)]
    pub null_empty_pages: bool,

    /// What `result_info` holds: every field, no total_count/total_pages, or a total_count of the whole account whatever the filters
    #[arg(long, value_enum, value_name = "WHAT", default_value_t = ResultInfoChoice::Full)]
    pub result_info: ResultInfoChoice,

    /// After each of the first N list answers (every one without N), put the users in a new order: the totals stay the same
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "4294967295")]
    pub reorder: Option<u32>,

    /// Once deleted, these addresses log in again: a new user with the same address and a new id appears
    #[arg(long, value_name = "EMAIL", num_args = 1..)]
    pub relogin: Vec<String>,

    /// Probability that any deleted user logs in again (a new user, a new id)
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = probability)]
    pub relogin_rate: f64,

    /// Other traffic (dashboard, other tokens, scripts) spends RATE requests per second from the same rate-limit window
    #[arg(long, value_name = "RATE", default_value_t = 0.0, value_parser = per_second)]
    pub foreign_load: f64,

    /// How list items are answered: flat (2026 spec, paginated) or nested `[[...]]` (2024 spec)
    #[arg(long, value_enum, value_name = "SHAPE", default_value_t = ListItemsShape::Flat)]
    pub list_items_shape: ListItemsShape,

    /// Do the first N writes to lists and groups, then answer every later one 503 (nothing changes)
    #[arg(long, value_name = "N")]
    pub fail_door_writes: Option<u64>,

    /// A deleted user logs in again (--relogin, --relogin-rate) only if some Access group admits the address
    #[arg(long)]
    pub door_enforced: bool,
}

/// `--list-items-shape`: how `GET .../gateway/lists/{id}/items` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListItemsShape {
    // `"result": [{...}]`, paginated (the 2026 spec)
    Flat,
    // `"result": [[{...}]]` (the 2024 spec, cloudflare-go v6)
    Nested,
}

/// `--result-info`: what a list answer's `result_info` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ResultInfoChoice {
    // `total_count` (of the filtered users) and `total_pages`
    Full,
    // neither `total_count` nor `total_pages`
    NoTotals,
    // `total_count` of the whole account, whatever the filters
    Unfiltered,
}

/// Requests per second: `2.5` or `2.5/s`.
pub(super) fn per_second(raw: &str) -> Result<f64, ArgError> {
    let text = raw.trim();
    let number = text.strip_suffix("/s").unwrap_or(text).trim();
    match number.parse::<f64>() {
        Ok(r) if r.is_finite() && (0.0..=100_000.0).contains(&r) => Ok(r),
        _ => Err(ArgError::NotARate {
            text: raw.to_string(),
        }),
    }
}

pub(super) fn probability(raw: &str) -> Result<f64, ArgError> {
    match raw.trim().parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(ArgError::NotAProbability {
            text: raw.to_string(),
        }),
    }
}

pub(super) fn seconds(raw: &str) -> Result<f64, ArgError> {
    match raw.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 && s <= 86_400.0 => Ok(s),
        _ => Err(ArgError::NotSeconds {
            text: raw.to_string(),
        }),
    }
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub target: TargetArgs,

    /// Arguments this command does not take, kept so that resolution can say what was meant
    /// (most often desired-state files without `-f`) rather than clap's "unexpected argument".
    #[arg(hide = true, value_name = "ARG")]
    pub stray: Vec<PathBuf>,

    /// Exit 2 when the plan has changes, 0 when it has none (1 stays an error)
    #[arg(long, help_heading = "Output")]
    pub detailed_exitcode: bool,

    /// How to write the plan on stdout: human, json (docs/output.md) or markdown (PR comment)
    #[arg(long, value_enum, default_value_t = FormatChoice::Human, value_name = "FORMAT", help_heading = "Output")]
    pub format: FormatChoice,

    /// Also save the plan to FILE, for `reconcile apply FILE` after review
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub out: Option<PathBuf>,

    /// How long a saved plan stays valid: 30m, 24h, 7d (at most 30d); needs --out
    #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = crate::planfile::parse_ttl, requires = "out", help_heading = "Output")]
    pub plan_ttl: Duration,

    /// Seal the saved plan with HMAC-SHA256 under the key in FILE (docs/ci.md) [env: RECONCILE_PLAN_KEY]
    #[arg(long, value_name = "FILE", requires = "out", help_heading = "Output")]
    pub plan_key_file: Option<PathBuf>,

    /// Read past deletions from an audit log written by `apply --audit-log` (repeatable) and mark users who came back after one (docs/lock-the-door.md)
    #[arg(
        long = "history",
        visible_alias = "audit-log",
        value_name = "FILE",
        help_heading = "Output"
    )]
    pub history: Vec<PathBuf>,

    #[command(flatten)]
    pub layout: LayoutArgs,
}

/// How the human plan is laid out (docs/output.md).
#[derive(Debug, Args, Default)]
pub struct LayoutArgs {
    /// Show one line per user, and summarise the before/after diff, when more than N users are deleted
    #[arg(long, value_name = "N", default_value_t = 50, help_heading = "Output")]
    pub compact_above: usize,

    /// Show every line of the before/after diff, even when the plan is compact
    #[arg(long, help_heading = "Output")]
    pub full_diff: bool,
}

impl LayoutArgs {
    pub(super) fn layout(&self) -> crate::render::Layout {
        crate::render::Layout {
            compact_above: self.compact_above,
            full_diff: self.full_diff,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatChoice {
    Human,
    Json,
    Markdown,
}

impl FormatChoice {
    pub(super) fn format(self) -> crate::render::Format {
        match self {
            FormatChoice::Human => crate::render::Format::Human,
            FormatChoice::Json => crate::render::Format::Json,
            FormatChoice::Markdown => crate::render::Format::Markdown,
        }
    }
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub target: TargetArgs,

    /// Delete without asking (for pipelines) [env: RECONCILE_AUTO_APPROVE=true]
    #[arg(long, help_heading = "Deleting")]
    pub auto_approve: bool,

    #[command(flatten, next_help_heading = "Deleting")]
    pub exec: ExecArgs,
    /// A plan saved by `plan --out`: apply exactly it, without a prompt (-f is still required:
    /// the reviewed files, which must match the plan)
    #[arg(value_name = "PLAN_FILE", help_heading = "Arguments")]
    pub plan_file: Option<PathBuf>,

    /// Accept only a PLAN_FILE sealed under the key in FILE (docs/ci.md) [env: RECONCILE_PLAN_KEY]
    #[arg(
        long,
        value_name = "FILE",
        requires = "plan_file",
        help_heading = "Deleting"
    )]
    pub plan_key_file: Option<PathBuf>,

    /// Also read past deletions from this audit log (repeatable; --audit-log is always read) and mark users who came back after one (docs/lock-the-door.md)
    #[arg(
        long = "history",
        value_name = "FILE",
        conflicts_with = "plan_file",
        help_heading = "Deleting"
    )]
    pub history: Vec<PathBuf>,

    #[command(flatten)]
    pub layout: LayoutArgs,

    /// How to write the report on stdout: human, json (one document, docs/output.md) or markdown; json and markdown need --auto-approve or a PLAN_FILE
    #[arg(long, value_enum, default_value_t = FormatChoice::Human, value_name = "FORMAT", help_heading = "Output")]
    pub format: FormatChoice,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Desired-state YAML file or directory (repeat for several) [env: RECONCILE_FILES] [default: ./desired/ or ./reconcile.yaml]
    #[arg(short = 'f', long = "file", value_name = "PATH")]
    pub files: Vec<PathBuf>,

    /// Arguments this command does not take, kept so that resolution can say what was meant
    /// (most often desired-state files without `-f`) rather than clap's "unexpected argument".
    #[arg(hide = true, value_name = "ARG")]
    pub stray: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The email address to explain
    pub email: String,

    #[command(flatten)]
    pub target: TargetArgs,

    /// Arguments this command does not take, kept so that resolution can say what was meant
    /// (most often desired-state files without `-f`) rather than clap's "unexpected argument".
    #[arg(hide = true, value_name = "ARG")]
    pub stray: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Cloudflare account id [env: CLOUDFLARE_ACCOUNT_ID]
    #[arg(long, value_name = "ID")]
    pub account_id: Option<String>,

    /// Base URL of the Cloudflare API [env: CLOUDFLARE_BASE_URL] [default: https://api.cloudflare.com/client/v4]
    #[arg(long, value_name = "URL")]
    pub api_url: Option<String>,

    /// Write to this file instead of stdout
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Overwrite the --output file if it exists
    #[arg(long, requires = "output")]
    pub force: bool,

    /// Also write a `door:` section keeping the Zero Trust lists NAME-1, NAME-2, ... (docs/door.md)
    #[arg(long, value_name = "NAME")]
    pub door_list: Option<String>,

    /// With --door-list: the section's Access group, by name
    #[arg(long, value_name = "NAME", requires = "door_list")]
    pub door_group: Option<String>,

    #[command(flatten, next_help_heading = "API client")]
    pub client: ClientArgs,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write reconcile.1 and a page per command (reconcile-plan.1, ...) into DIR, which must exist
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Apply the demo plan without asking [env: RECONCILE_AUTO_APPROVE=true]
    #[arg(long)]
    pub auto_approve: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Desired-state YAML file or directory, read for its account id (repeat for several) [env: RECONCILE_FILES] [default: ./desired/ or ./reconcile.yaml]
    #[arg(short = 'f', long = "file", value_name = "PATH")]
    pub files: Vec<PathBuf>,

    /// Cloudflare account id, when the file does not set it [env: CLOUDFLARE_ACCOUNT_ID]
    #[arg(long, value_name = "ID")]
    pub account_id: Option<String>,

    /// Base URL of the Cloudflare API [env: CLOUDFLARE_BASE_URL] [default: https://api.cloudflare.com/client/v4]
    #[arg(long, value_name = "URL")]
    pub api_url: Option<String>,

    #[command(flatten, next_help_heading = "API client")]
    pub client: ClientArgs,

    /// How to write the report on stdout: human, or json (docs/check.md)
    #[arg(long, value_enum, default_value_t = CheckFormat::Human, value_name = "FORMAT", help_heading = "Output")]
    pub format: CheckFormat,

    /// Arguments this command does not take, kept so that resolution can say what was meant
    /// (most often desired-state files without `-f`) rather than clap's "unexpected argument".
    #[arg(hide = true, value_name = "ARG")]
    pub stray: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    Human,
    Json,
}

#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Seed file (YAML or JSON): `account_id` and `users`, optionally `lists` and `groups`
    #[arg(long, value_name = "FILE")]
    pub seed: Option<PathBuf>,

    /// Add N deterministic synthetic users
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub generate: usize,

    /// Address to listen on; port 0 picks a free port
    #[arg(long, default_value = "127.0.0.1:8787", value_name = "ADDR")]
    pub listen: SocketAddr,

    /// A bearer token the sandbox accepts, repeatable; TOKEN:read may read but not delete or change lists and groups; TOKEN:no-door may not touch lists and groups; TOKEN:token-read may read its own details (policies); also :expired, :disabled, :account, :expires-in=5d (docs/sandbox.md) [env: RECONCILE_SANDBOX_TOKEN] [default: sandbox-token]
    #[arg(long, value_name = "TOKEN")]
    pub token: Vec<String>,

    /// Account id to serve when no seed file is given
    #[arg(long, value_name = "ID")]
    pub account_id: Option<String>,

    /// Entries a Zero Trust list may hold: 1000 (Standard plans) or 5000 (Enterprise)
    #[arg(long, value_name = "N", default_value = "1000", value_parser = clap::builder::TypedValueParser::map(clap::builder::PossibleValuesParser::new(["1000", "5000"]), |s: String| s.parse::<usize>().unwrap_or(1000)))]
    pub list_capacity: usize,

    #[command(flatten, next_help_heading = "Faults (for tests)")]
    pub faults: SandboxFaultArgs,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::date::SpanError;

    #[test]
    fn value_parsers_say_what_is_wrong() {
        assert!(matches!(
            email_arg("not-an-address"),
            Err(ArgError::NotAnEmail(AddressError::Shape(_)))
        ));
        assert!(matches!(
            email_arg("a\u{200b}b@example.com"),
            Err(ArgError::NotAnEmail(AddressError::Character {
                found: '\u{200b}',
                ..
            }))
        ));
        for bad in ["1.5", "-0.1", "x", "", "NaN"] {
            assert_eq!(
                fraction(bad),
                Err(ArgError::NotAFraction { text: bad.into() }),
                "{bad}"
            );
        }
        assert_eq!(fraction("0.25"), Ok(0.25));
        for bad in ["2", "-1", "p", "inf"] {
            assert_eq!(
                probability(bad),
                Err(ArgError::NotAProbability { text: bad.into() }),
                "{bad}"
            );
        }
        assert_eq!(probability(" 0.1 "), Ok(0.1));
        for bad in ["-1", "fast", "2/m", "inf", "NaN", "1e9"] {
            assert_eq!(
                per_second(bad),
                Err(ArgError::NotARate { text: bad.into() }),
                "{bad}"
            );
        }
        assert_eq!(per_second("2.5"), Ok(2.5));
        assert_eq!(per_second(" 3/s"), Ok(3.0));
        for bad in ["0", "-1", "86401", "inf", "NaN", "10s"] {
            assert_eq!(
                seconds(bad),
                Err(ArgError::NotSeconds { text: bad.into() }),
                "{bad}"
            );
        }
        assert_eq!(seconds("2.5"), Ok(2.5));
        assert_eq!(
            max_wait("0s"),
            Err(ArgError::WaitOutOfRange {
                text: "0s".into(),
                seconds: 0
            })
        );
        assert_eq!(
            max_wait("25h"),
            Err(ArgError::WaitOutOfRange {
                text: "25h".into(),
                seconds: 90_000
            })
        );
        assert!(matches!(
            max_wait("90"),
            Err(ArgError::NotASpan(SpanError::NoUnit { .. }))
        ));
        assert!(matches!(
            max_wait("1.5m"),
            Err(ArgError::NotASpan(SpanError::Character { found: '.', .. }))
        ));
    }

    #[test]
    fn account_ids_from_flags_and_the_environment() {
        assert_eq!(account_arg(None, "--account-id"), Ok(None));
        assert_eq!(account_arg(Some("  ".into()), "--account-id"), Ok(None));
        assert!(matches!(
            account_arg(Some("abc".into()), "--account-id"),
            Err(ArgError::Account {
                named: "--account-id",
                error: AccountIdError::Length { length: 3, .. }
            })
        ));
        assert_eq!(
            account_arg(Some("abc".into()), "--account-id")
                .unwrap_err()
                .to_string(),
            "--account-id: `abc` is not a Cloudflare account id: it must be 32 hexadecimal characters"
        );
    }

    #[test]
    fn messages_are_unchanged() {
        let text = |e: ArgError| e.to_string();
        assert_eq!(
            text(fraction("2").unwrap_err()),
            "a number from 0 to 1, e.g. 0.25"
        );
        assert_eq!(
            text(probability("2").unwrap_err()),
            "`2` is not a probability: give a number from 0 to 1, e.g. 0.1"
        );
        assert_eq!(
            text(seconds("0").unwrap_err()),
            "`0` is not a number of seconds from 0 to 86400"
        );
        assert_eq!(
            text(max_wait("25h").unwrap_err()),
            "`25h`: give from 1s to 24h"
        );
        assert_eq!(
            text(max_wait("1x").unwrap_err()),
            crate::date::Span::parse("1x").unwrap_err().to_string()
        );
        assert_eq!(
            text(email_arg("x").unwrap_err()),
            format!("not an email address: {}", Email::parse("x").unwrap_err())
        );
    }

    #[test]
    fn clap_shows_the_message_after_the_value() {
        let err = |args: &[&str]| {
            Cli::try_parse_from(args)
                .map(|_| ())
                .unwrap_err()
                .to_string()
        };
        let e = err(&["reconcile", "plan", "-f", "x", "--max-delete-fraction", "2"]);
        assert!(
            e.contains("invalid value '2' for '--max-delete-fraction <F>': a number from 0 to 1, e.g. 0.25"),
            "{e}"
        );
        let e = err(&[
            "reconcile",
            "plan",
            "-f",
            "x",
            "--out",
            "p",
            "--plan-ttl",
            "31d",
        ]);
        assert!(
            e.contains(
                "'--plan-ttl <DURATION>': `31d` is longer than the longest plan lifetime, 30d"
            ),
            "{e}"
        );
    }
}
