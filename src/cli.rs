//! The command line: clap definitions, and their resolution — with the environment and the
//! terminal — into a [`Settings`] value, once. Deeper modules get `Settings`, never clap types.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::apply::ExecSettings;
use crate::audit::Actor;
use crate::cloudflare::{header_value_problem, Credentials, DEFAULT_BASE_URL};
use crate::cloudflare::{ClientConfig, RateBudget, RetryPolicy};
use crate::model::{AccountId, Email};
use crate::plan::Overrides;
use crate::planfile::PlanKey;
use crate::progress::Progress;
use crate::render::{Format, Palette};
use crate::sandbox::{Faults, RateLimit};
use crate::secret::Secret;
pub use crate::settings::{Action, PlanOutput, Settings, Target};

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
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true, help_heading = "Global options")]
    pub color: ColorChoice,

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
    /// Print the manual page (roff).
    #[command(after_help = "Example:\n  reconcile man > reconcile.1 && man ./reconcile.1")]
    Man,
    /// Run plan and apply on a built-in sandbox account: the whole flow with no Cloudflare account.
    #[command(after_help = "Example:\n  reconcile demo")]
    Demo(DemoArgs),
    /// Serve a local emulator of the Cloudflare Access users API (for tests and trials).
    #[command(
        after_help = "Example:\n  reconcile sandbox --seed examples/demo/seed.yaml --listen 127.0.0.1:0"
    )]
    Sandbox(SandboxArgs),
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
    /// Desired-state YAML file or directory (repeat for several)
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

fn email_arg(text: &str) -> Result<Email, String> {
    Email::parse(text).map_err(|why| format!("not an email address: {why}"))
}

/// `--account-id` / `CLOUDFLARE_ACCOUNT_ID`, parsed once; unset or empty is `None`.
fn account_arg(raw: Option<String>, named: &str) -> Result<Option<AccountId>, String> {
    raw.filter(|s| !s.trim().is_empty())
        .map(|raw| AccountId::parse(&raw).map_err(|e| format!("{named}: {e}")))
        .transpose()
}

fn fraction(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(f) if (0.0..=1.0).contains(&f) => Ok(f),
        _ => Err("a number from 0 to 1, e.g. 0.25".into()),
    }
}

impl RailArgs {
    fn overrides(self) -> Overrides {
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
    /// Pages listed at once after page 1
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub list_concurrency: u16,

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
fn max_wait(raw: &str) -> Result<Duration, String> {
    let total = crate::config::Span::parse(raw)?.seconds;
    if !(1..=86_400).contains(&total) {
        return Err(format!("`{raw}`: give from 1s to 24h"));
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
}

fn probability(raw: &str) -> Result<f64, String> {
    match raw.trim().parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(format!(
            "`{raw}` is not a probability: give a number from 0 to 1, e.g. 0.1"
        )),
    }
}

fn seconds(raw: &str) -> Result<f64, String> {
    match raw.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 && s <= 86_400.0 => Ok(s),
        _ => Err(format!(
            "`{raw}` is not a number of seconds from 0 to 86400"
        )),
    }
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub target: TargetArgs,

    /// Exit 2 when the plan has changes, 0 when it has none (1 stays an error)
    #[arg(long, help_heading = "Output")]
    pub detailed_exitcode: bool,

    /// How to write the plan on stdout: human, json (docs/output.md) or markdown (PR comment)
    #[arg(long, value_enum, default_value_t = FormatChoice::Human, value_name = "FORMAT", help_heading = "Output")]
    pub format: FormatChoice,

    /// Also save the plan to FILE, for `reconcile apply FILE` after review
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub out: Option<PathBuf>,

    /// How long a saved plan stays valid: 30m, 24h, 7d (at most 30d)
    #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = crate::planfile::parse_ttl, requires = "out", help_heading = "Output")]
    pub plan_ttl: Duration,

    /// Seal the saved plan with HMAC-SHA256 under the key in FILE (docs/ci.md) [env: RECONCILE_PLAN_KEY]
    #[arg(long, value_name = "FILE", requires = "out", help_heading = "Output")]
    pub plan_key_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatChoice {
    Human,
    Json,
    Markdown,
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
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Desired-state YAML file or directory (repeat for several)
    #[arg(short = 'f', long = "file", value_name = "PATH", required = true)]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The email address to explain
    pub email: String,

    #[command(flatten)]
    pub target: TargetArgs,
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

    #[command(flatten, next_help_heading = "API client")]
    pub client: ClientArgs,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Apply the demo plan without asking [env: RECONCILE_AUTO_APPROVE=true]
    #[arg(long)]
    pub auto_approve: bool,
}

#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Seed file (YAML or JSON): `account_id` and `users`
    #[arg(long, value_name = "FILE")]
    pub seed: Option<PathBuf>,

    /// Add N deterministic synthetic users
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub generate: usize,

    /// Address to listen on; port 0 picks a free port
    #[arg(long, default_value = "127.0.0.1:8787", value_name = "ADDR")]
    pub listen: SocketAddr,

    /// The bearer token the sandbox accepts [env: RECONCILE_SANDBOX_TOKEN] [default: sandbox-token]
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,

    /// Account id to serve when no seed file is given
    #[arg(long, value_name = "ID")]
    pub account_id: Option<String>,

    #[command(flatten, next_help_heading = "Faults (for tests)")]
    pub faults: SandboxFaultArgs,
}

/// Facts about the process, read once by `main` and passed in (tests pass their own).
pub struct Environment<'a> {
    pub var: &'a dyn Fn(&str) -> Option<String>,
    pub stdin_is_terminal: bool,
    pub stdout_is_terminal: bool,
    pub stderr_is_terminal: bool,
}

/// A token file holds one token of a few dozen bytes; anything far larger is the wrong file.
pub const MAX_TOKEN_FILE_BYTES: u64 = 64 * 1024;

/// Read the API token from a file (through the shared bounded reader): the first line, trimmed. Refuses an empty file, and warns when
/// others may read it.
pub fn token_from_file(
    path: &std::path::Path,
    warnings: &mut Vec<String>,
) -> Result<Secret, String> {
    let shown = crate::fsread::display_path(path);
    // The error never quotes the file's content: it is a secret.
    let text = crate::fsread::read_text(path, MAX_TOKEN_FILE_BYTES).map_err(|e| {
        format!("--api-token-file {shown}: {e}; put the API token alone on the file's first line")
    })?;
    let token = text.lines().next().unwrap_or("").trim();
    if token.is_empty() {
        return Err(format!(
            "--api-token-file {shown}: the file is empty; put the API token on its first line"
        ));
    }
    if let Some(problem) = header_value_problem(token) {
        return Err(format!(
            "--api-token-file {}: the token on its first line contains {problem}, which cannot be sent in an HTTP header; nothing was sent\n  help: write the token again, alone on the first line",
            path.display()
        ));
    }
    warn_if_others_may_read(path, &shown, warnings);
    Ok(Secret::new(token))
}

/// The plan key: from `--plan-key-file` (the first line, trimmed, through the shared bounded
/// reader), else from `RECONCILE_PLAN_KEY`. Warns when the file may be read by others, and when
/// both are set (the file is used). No message quotes the key.
pub fn plan_key(
    file: Option<&std::path::Path>,
    var: &dyn Fn(&str) -> Option<String>,
    warnings: &mut Vec<String>,
) -> Result<Option<PlanKey>, String> {
    let from_env = var("RECONCILE_PLAN_KEY").filter(|v| !v.trim().is_empty());
    let Some(path) = file else {
        return from_env
            .map(|key| PlanKey::new(&key, "RECONCILE_PLAN_KEY"))
            .transpose();
    };
    let shown = crate::fsread::display_path(path);
    if from_env.is_some() {
        warnings.push(format!(
            "both --plan-key-file and RECONCILE_PLAN_KEY are set; the key in {shown} is used"
        ));
    }
    let text = crate::fsread::read_text(path, MAX_TOKEN_FILE_BYTES).map_err(|e| {
        format!("--plan-key-file {shown}: {e}; put the plan key alone on the file's first line")
    })?;
    warn_if_others_may_read(path, &shown, warnings);
    let first = text.lines().next().unwrap_or("");
    PlanKey::new(first, &format!("--plan-key-file {shown}")).map(Some)
}

#[cfg(unix)]
fn warn_if_others_may_read(path: &std::path::Path, shown: &str, warnings: &mut Vec<String>) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.permissions().mode() & 0o077 != 0 {
            warnings.push(format!(
                "{shown} can be read by other users; restrict it with: chmod 600 {shown}"
            ));
        }
    }
}

#[cfg(not(unix))]
fn warn_if_others_may_read(_: &std::path::Path, _: &str, _: &mut Vec<String>) {}

/// Read credentials from the environment, as Cloudflare's own tools name them.
pub fn credentials(var: &dyn Fn(&str) -> Option<String>) -> Result<Option<Credentials>, String> {
    let get = |name: &str| {
        var(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    // A value that cannot go into an HTTP header is refused here, before any request and
    // without showing it: sent as is, it would break the request (or go as an empty header).
    let checked = |name: &str, value: String| -> Result<String, String> {
        match header_value_problem(&value) {
            None => Ok(value),
            Some(problem) => Err(format!(
                "{name} contains {problem}, which cannot be sent in an HTTP header; nothing was sent\n  help: set {name} again without it (a value copied with a line break or an invisible character?)"
            )),
        }
    };
    if let Some(token) = get("CLOUDFLARE_API_TOKEN") {
        let token = checked("CLOUDFLARE_API_TOKEN", token)?;
        return Ok(Some(Credentials::Token(Secret::new(token))));
    }
    match (get("CLOUDFLARE_EMAIL"), get("CLOUDFLARE_API_KEY")) {
        (Some(email), Some(key)) => Ok(Some(Credentials::Global {
            email: checked("CLOUDFLARE_EMAIL", email)?,
            key: Secret::new(checked("CLOUDFLARE_API_KEY", key)?),
        })),
        (Some(_), None) => Err("CLOUDFLARE_EMAIL is set but CLOUDFLARE_API_KEY is not: set both, or use CLOUDFLARE_API_TOKEN".into()),
        (None, Some(_)) => Err("CLOUDFLARE_API_KEY is set but CLOUDFLARE_EMAIL is not: set both, or use CLOUDFLARE_API_TOKEN".into()),
        (None, None) => Ok(None),
    }
}

/// The shell completion script for `shell`.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn std::io::Write) {
    let mut command = <Cli as clap::CommandFactory>::command();
    clap_complete::generate(shell, &mut command, "reconcile", out);
}

/// The manual page, in roff: the main page, then a section for each command with its options
/// and example.
pub fn man_page(out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let command = <Cli as clap::CommandFactory>::command();
    clap_mangen::Man::new(command.clone()).render(out)?;
    for sub in command.get_subcommands() {
        let name = sub.get_name().to_uppercase();
        writeln!(out, ".SH \"RECONCILE {name}\"")?;
        if let Some(about) = sub.get_about() {
            writeln!(out, "{}", about.to_string().replace('\\', "\\\\"))?;
        }
        let man = clap_mangen::Man::new(sub.clone());
        let mut options = Vec::new();
        man.render_options_section(&mut options)?;
        // Demote the options heading so it sits under the command's section.
        let options = String::from_utf8_lossy(&options).replacen(".SH OPTIONS", ".SS Options", 1);
        out.write_all(options.as_bytes())?;
        if let Some(after) = sub.get_after_help() {
            writeln!(
                out,
                ".SS Example\n.nf\n{}\n.fi",
                after.to_string().replace('\\', "\\\\")
            )?;
        }
    }
    Ok(())
}

impl Settings {
    /// Progress bars when stderr is a terminal (read once, by `main`), unless `-q`.
    pub fn with_stderr_terminal(mut self, stderr_is_terminal: bool) -> Settings {
        let quiet = self.verbosity < 0;
        let progress = Progress::for_stderr(stderr_is_terminal, quiet);
        match &mut self.action {
            Action::Plan { target, .. } => target.client.observer = progress.observer(),
            Action::Apply { target, exec, .. } => {
                target.client.observer = progress.observer();
                exec.progress = progress;
            }
            _ => {}
        }
        self
    }

    pub fn resolve(cli: Cli, env: &Environment) -> Result<Settings, String> {
        let no_color = (env.var)("NO_COLOR").is_some_and(|v| !v.is_empty());
        let colour = |terminal: bool| match cli.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => terminal && !no_color,
        };
        let palette = Palette {
            enabled: colour(env.stdout_is_terminal),
        };
        let log_color = colour(env.stderr_is_terminal);
        let var = |name: &str| (env.var)(name).filter(|v| !v.trim().is_empty());
        let auto_approve = |flag: bool| -> Result<bool, String> {
            if flag {
                return Ok(true);
            }
            match var("RECONCILE_AUTO_APPROVE")
                .map(|v| v.trim().to_ascii_lowercase())
                .as_deref()
            {
                None | Some("0" | "false" | "no" | "off") => Ok(false),
                Some("1" | "true" | "yes" | "on") => Ok(true),
                Some(other) => Err(format!(
                    "RECONCILE_AUTO_APPROVE is `{}`: set it to true or false",
                    crate::text::printable(other)
                )),
            }
        };
        let mut warnings = Vec::new();
        let token_file = cli
            .api_token_file
            .as_deref()
            .map(|path| token_from_file(path, &mut warnings))
            .transpose()?;
        let credentials = || -> Result<Option<Credentials>, String> {
            match &token_file {
                Some(token) => Ok(Some(Credentials::Token(token.clone()))),
                None => credentials(env.var),
            }
        };
        // Plain progress lines until `with_stderr_terminal` says stderr is a terminal.
        let progress = Progress::for_stderr(false, cli.quiet);
        let client_config = |c: ClientArgs| -> Result<ClientConfig, String> {
            let delay = match c.retry_delay_ms {
                Some(ms) => ms,
                None => match var("RECONCILE_RETRY_DELAY_MS") {
                    Some(v) => v.trim().parse().map_err(|_| {
                        format!(
                            "RECONCILE_RETRY_DELAY_MS is `{}`: give milliseconds, e.g. 500",
                            crate::text::printable(&v)
                        )
                    })?,
                    None => 500,
                },
            };
            if delay > 60_000 {
                return Err(format!(
                    "the first retry delay is {delay} ms: give at most 60000 (a minute), with --retry-delay-ms or RECONCILE_RETRY_DELAY_MS"
                ));
            }
            Ok(ClientConfig {
                list_concurrency: usize::from(c.list_concurrency),
                rate_limit: c.rate_limit.unwrap_or_default(),
                retry: RetryPolicy {
                    max_retries: c.max_retries,
                    initial_delay: Duration::from_millis(delay),
                    ..RetryPolicy::default()
                },
                connect_timeout: Duration::from_secs_f64(c.connect_timeout),
                request_timeout: Duration::from_secs_f64(c.request_timeout),
                max_wait: c.max_wait,
                observer: progress.observer(),
            })
        };
        let target = |t: TargetArgs| -> Result<Target, String> {
            Ok(Target {
                files: t.files,
                account_id: account_arg(
                    t.account_id.or_else(|| var("CLOUDFLARE_ACCOUNT_ID")),
                    "--account-id / CLOUDFLARE_ACCOUNT_ID",
                )?,
                api_url: t
                    .api_url
                    .or_else(|| var("CLOUDFLARE_BASE_URL"))
                    .unwrap_or_else(|| DEFAULT_BASE_URL.to_string()),
                credentials: credentials()?,
                overrides: t.rails.overrides(),
                client: client_config(t.client)?,
            })
        };
        let action = match cli.command {
            Command::Plan(a) => Action::Plan {
                target: target(a.target)?,
                detailed_exitcode: a.detailed_exitcode,
                output: PlanOutput {
                    format: match a.format {
                        FormatChoice::Human => Format::Human,
                        FormatChoice::Json => Format::Json,
                        FormatChoice::Markdown => Format::Markdown,
                    },
                    // Read only when a plan is saved: without --out there is nothing to seal.
                    plan_key: match &a.out {
                        Some(_) => plan_key(a.plan_key_file.as_deref(), &var, &mut warnings)?,
                        None => None,
                    },
                    save_to: a.out,
                    ttl: a.plan_ttl,
                    step_summary: var("GITHUB_STEP_SUMMARY").map(PathBuf::from),
                },
            },
            Command::Apply(a) => Action::Apply {
                target: target(a.target)?,
                auto_approve: auto_approve(a.auto_approve)?,
                // Read only for a saved plan: an apply that plans afresh has no seal to check.
                plan_key: match &a.plan_file {
                    Some(_) => plan_key(a.plan_key_file.as_deref(), &var, &mut warnings)?,
                    None => None,
                },
                saved: a.plan_file,
                exec: ExecSettings {
                    parallelism: usize::from(a.exec.parallelism),
                    audit_log: a.exec.audit_log,
                    actor: Actor::from_env(env.var),
                    progress,
                    verify: true,
                },
            },
            Command::Validate(a) => Action::Validate { files: a.files },
            Command::Explain(a) => Action::Explain {
                email: a.email,
                target: target(a.target)?,
            },
            Command::Export(a) => Action::Export {
                account_id: account_arg(
                    a.account_id.or_else(|| var("CLOUDFLARE_ACCOUNT_ID")),
                    "--account-id / CLOUDFLARE_ACCOUNT_ID",
                )?,
                api_url: a
                    .api_url
                    .or_else(|| var("CLOUDFLARE_BASE_URL"))
                    .unwrap_or_else(|| DEFAULT_BASE_URL.to_string()),
                credentials: credentials()?,
                output: a.output,
                client: client_config(a.client)?,
            },
            Command::Schema => Action::Schema,
            Command::Completions { shell } => Action::Completions(shell),
            Command::Man => Action::Man,
            Command::Demo(a) => Action::Demo {
                auto_approve: auto_approve(a.auto_approve)?,
            },
            Command::Sandbox(a) => Action::Sandbox {
                seed: a.seed,
                generate: a.generate,
                listen: a.listen,
                token: Secret::new(
                    a.token
                        .or_else(|| var("RECONCILE_SANDBOX_TOKEN"))
                        .unwrap_or_else(|| "sandbox-token".to_string()),
                ),
                account_id: account_arg(a.account_id, "--account-id")?,
                faults: Faults {
                    latency: Duration::from_millis(a.faults.latency),
                    enforce_rate_limit: a.faults.rate_limit.is_some(),
                    block: a.faults.block.map(Duration::from_secs_f64),
                    error_rate: a.faults.error_rate,
                    drop_rate: a.faults.drop_rate,
                    malformed_rate: a.faults.malformed_rate,
                    churn: a.faults.churn.unwrap_or(0),
                    seed: a.faults.fault_seed,
                    max_per_page: a.faults.max_per_page,
                    revoke_after_deletes: a.faults.revoke_after_deletes,
                    drop_delete_answers: a.faults.drop_delete_answers,
                    shift: a.faults.shift.unwrap_or(0),
                    total_pages: a.faults.total_pages,
                    no_total_count: a.faults.no_total_count,
                    null_empty_pages: a.faults.null_empty_pages,
                },
                rate_limit: a.faults.rate_limit.map(|r| RateLimit {
                    quota: r.quota,
                    window: r.window,
                }),
            },
            Command::Audit(AuditCommand::Verify { file }) => Action::AuditVerify { file },
        };
        Ok(Settings {
            action,
            palette,
            stdin_is_terminal: env.stdin_is_terminal,
            verbosity: if cli.quiet {
                -1
            } else {
                cli.verbose.min(3) as i8
            },
            log_color,
            warnings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn resolve(args: &[&str], vars: &[(&str, &str)], stdout_tty: bool) -> Result<Settings, String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let var = move |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let cli = Cli::try_parse_from(args).map_err(|e| e.to_string())?;
        Settings::resolve(
            cli,
            &Environment {
                var: &var,
                stdin_is_terminal: false,
                stdout_is_terminal: stdout_tty,
                stderr_is_terminal: stdout_tty,
            },
        )
    }

    #[test]
    fn clap_definition_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn token_is_preferred_and_redacted() {
        let s = resolve(
            &["reconcile", "plan", "-f", "x.yaml"],
            &[
                ("CLOUDFLARE_API_TOKEN", "tok-123"),
                ("CLOUDFLARE_EMAIL", "a@b.co"),
                ("CLOUDFLARE_API_KEY", "k"),
            ],
            false,
        )
        .unwrap();
        let Action::Plan { target, .. } = &s.action else {
            panic!()
        };
        assert!(
            matches!(&target.credentials, Some(Credentials::Token(t)) if t.expose() == "tok-123")
        );
        assert!(!format!("{s:?}").contains("tok-123"));
    }

    #[test]
    fn plan_key_from_the_environment_or_a_file_only_where_a_plan_is_sealed_or_read() {
        const KEY: &str = "0123456789abcdef0123456789abcdef";
        let key_of = |s: Settings| match s.action {
            Action::Plan { output, .. } => output.plan_key,
            Action::Apply { plan_key, .. } => plan_key,
            _ => panic!(),
        };
        let env = [("RECONCILE_PLAN_KEY", KEY)];
        let sealed = resolve(
            &["reconcile", "plan", "-f", "x", "--out", "p.json"],
            &env,
            false,
        );
        assert!(key_of(sealed.unwrap()).is_some());
        // Without --out or PLAN_FILE there is nothing to seal or check: a short key is no error.
        let short = [("RECONCILE_PLAN_KEY", "short")];
        assert!(
            key_of(resolve(&["reconcile", "plan", "-f", "x"], &short, false).unwrap()).is_none()
        );
        assert!(
            key_of(resolve(&["reconcile", "apply", "-f", "x"], &short, false).unwrap()).is_none()
        );
        let err = resolve(&["reconcile", "apply", "p.json", "-f", "x"], &short, false).unwrap_err();
        assert!(
            err.contains("RECONCILE_PLAN_KEY: the plan key is 5 bytes"),
            "{err}"
        );
        assert!(!err.contains("short"), "{err}");
        // The file wins over the variable, with a warning; neither is ever in Debug.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("k");
        std::fs::write(&file, format!("\u{feff}{KEY}\r\nsecond line\n")).unwrap();
        let f = file.to_str().unwrap();
        let s = resolve(
            &[
                "reconcile",
                "apply",
                "p.json",
                "-f",
                "x",
                "--plan-key-file",
                f,
            ],
            &short,
            false,
        )
        .unwrap();
        assert!(
            s.warnings.iter().any(|w| w.contains("the key in")),
            "{:?}",
            s.warnings
        );
        assert!(!format!("{s:?}").contains(KEY));
        assert_eq!(key_of(s), Some(PlanKey::new(KEY, "t").unwrap()));
        // The flag needs what it is for.
        assert!(resolve(
            &["reconcile", "plan", "-f", "x", "--plan-key-file", f],
            &[],
            false
        )
        .is_err());
        assert!(resolve(
            &["reconcile", "apply", "-f", "x", "--plan-key-file", f],
            &[],
            false
        )
        .is_err());
    }

    #[test]
    fn legacy_pair_needs_both_halves() {
        let err = resolve(
            &["reconcile", "plan", "-f", "x"],
            &[("CLOUDFLARE_EMAIL", "a@b.co")],
            false,
        )
        .unwrap_err();
        assert!(err.contains("CLOUDFLARE_API_KEY is not"), "{err}");
        let s = resolve(
            &["reconcile", "plan", "-f", "x"],
            &[("CLOUDFLARE_EMAIL", "a@b.co"), ("CLOUDFLARE_API_KEY", "k")],
            false,
        )
        .unwrap();
        let Action::Plan { target, .. } = &s.action else {
            panic!()
        };
        assert!(
            matches!(&target.credentials, Some(Credentials::Global { email, .. }) if email == "a@b.co")
        );
    }

    #[test]
    fn colour_resolution() {
        let p = |args: &[&str], vars: &[(&str, &str)], tty| {
            resolve(args, vars, tty).unwrap().palette.enabled
        };
        assert!(p(&["reconcile", "demo"], &[], true));
        assert!(!p(&["reconcile", "demo"], &[], false));
        assert!(!p(&["reconcile", "demo"], &[("NO_COLOR", "1")], true));
        assert!(p(
            &["reconcile", "--color", "always", "demo"],
            &[("NO_COLOR", "1")],
            false
        ));
        assert!(!p(&["reconcile", "demo", "--color=never"], &[], true));
    }

    #[test]
    fn auto_approve_from_flag_or_environment() {
        let approve =
            |args: &[&str], vars: &[(&str, &str)]| match resolve(args, vars, false).unwrap().action
            {
                Action::Apply { auto_approve, .. } => auto_approve,
                _ => panic!(),
            };
        assert!(!approve(&["reconcile", "apply", "-f", "x"], &[]));
        assert!(approve(
            &["reconcile", "apply", "-f", "x", "--auto-approve"],
            &[]
        ));
        assert!(approve(
            &["reconcile", "apply", "-f", "x"],
            &[("RECONCILE_AUTO_APPROVE", "true")]
        ));
        assert!(!approve(
            &["reconcile", "apply", "-f", "x"],
            &[("RECONCILE_AUTO_APPROVE", "false")]
        ));
        assert!(resolve(
            &["reconcile", "apply", "-f", "x"],
            &[("RECONCILE_AUTO_APPROVE", "maybe")],
            false
        )
        .is_err());
    }

    #[test]
    fn max_wait_takes_durations_with_units() {
        assert_eq!(max_wait("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(max_wait("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(max_wait(" 1h30m "), Ok(Duration::from_secs(5400)));
        for bad in [
            "",
            "90",
            "m",
            "1x",
            "0s",
            "25h",
            "-1s",
            "1.5m",
            "99999999999999999999h",
        ] {
            assert!(max_wait(bad).is_err(), "{bad}");
        }
        let s = resolve(&["reconcile", "plan", "-f", "x"], &[], false).unwrap();
        let Action::Plan { target, .. } = s.action else {
            panic!()
        };
        assert_eq!(target.client.max_wait, Duration::from_secs(900));
    }

    #[test]
    fn retry_delay_is_bounded() {
        let err = resolve(
            &["reconcile", "plan", "-f", "x"],
            &[("RECONCILE_RETRY_DELAY_MS", "20000000000000")],
            false,
        )
        .unwrap_err();
        assert!(err.contains("at most 60000"), "{err}");
        assert!(resolve(
            &["reconcile", "plan", "-f", "x", "--retry-delay-ms", "60001"],
            &[],
            false
        )
        .is_err());
        assert!(resolve(
            &["reconcile", "plan", "-f", "x", "--retry-delay-ms", "10"],
            &[],
            false
        )
        .is_ok());
    }

    #[test]
    fn flags_override_environment() {
        let s = resolve(
            &[
                "reconcile",
                "plan",
                "-f",
                "x",
                "--api-url",
                "http://127.0.0.1:1/client/v4",
            ],
            &[
                ("CLOUDFLARE_BASE_URL", "https://elsewhere"),
                ("CLOUDFLARE_ACCOUNT_ID", "023E105F4ECEF8AD9CA31A8372D0C353"),
            ],
            false,
        )
        .unwrap();
        let Action::Plan { target, .. } = s.action else {
            panic!()
        };
        assert_eq!(target.api_url, "http://127.0.0.1:1/client/v4");
        assert_eq!(
            target.account_id.as_ref().map(AccountId::as_str),
            Some("023e105f4ecef8ad9ca31a8372d0c353")
        );
        let s = resolve(&["reconcile", "plan", "-f", "x"], &[], false).unwrap();
        let Action::Plan { target, .. } = s.action else {
            panic!()
        };
        assert_eq!(target.api_url, DEFAULT_BASE_URL);
        assert!(target.credentials.is_none());
    }
}
