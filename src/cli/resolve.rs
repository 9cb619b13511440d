//! Arguments and the environment resolved into [`Settings`], once.

use std::path::PathBuf;
use std::time::Duration;

use super::args::*;
use super::secrets::*;
use super::Environment;
use crate::apply::ExecSettings;
use crate::audit::Actor;
use crate::cloudflare::{ClientConfig, RetryPolicy};
use crate::cloudflare::{Credentials, DEFAULT_BASE_URL};
use crate::date::Clock;
use crate::progress::Progress;
use crate::render::{Format, Palette};
use crate::sandbox::ResultInfo;
use crate::sandbox::{Faults, RateLimit};
use crate::secret::Secret;
use crate::settings::SandboxSettings;
pub(super) use crate::settings::{Action, PlanOutput, Settings, Target};

impl Settings {
    /// Progress bars when stderr is a terminal (read once, by `main`), unless `-q`.
    pub fn with_stderr_terminal(mut self, stderr_is_terminal: bool) -> Settings {
        let quiet = self.verbosity < 0;
        let progress = Progress::for_stderr(stderr_is_terminal, quiet);
        match &mut self.action {
            Action::Plan { target, .. } => target.client.observer = progress.observer(),
            Action::Apply { target, exec, .. } => {
                target.client.observer = progress.observer();
                exec.observer = progress.deletions();
            }
            _ => {}
        }
        self
    }

    pub fn resolve(cli: Cli, env: &Environment) -> Result<Settings, UsageError> {
        let no_color = (env.var)("NO_COLOR").is_some_and(|v| !v.is_empty());
        let choice = if cli.no_color {
            ColorChoice::Never
        } else {
            cli.color
        };
        let colour = |terminal: bool| match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => terminal && !no_color,
        };
        let palette = Palette {
            enabled: colour(env.stdout_is_terminal),
        };
        let log_color = colour(env.stderr_is_terminal);
        let var = |name: &str| (env.var)(name).filter(|v| !v.trim().is_empty());
        let auto_approve = |flag: bool| -> Result<bool, UsageError> {
            if flag {
                return Ok(true);
            }
            match var("RECONCILE_AUTO_APPROVE")
                .map(|v| v.trim().to_ascii_lowercase())
                .as_deref()
            {
                None | Some("0" | "false" | "no" | "off") => Ok(false),
                Some("1" | "true" | "yes" | "on") => Ok(true),
                Some(other) => Err(UsageError::AutoApprove {
                    value: other.to_string(),
                }),
            }
        };
        let mut warnings = Vec::new();
        let token_file = cli
            .api_token_file
            .as_deref()
            .map(|path| token_from_file(path, &mut warnings))
            .transpose()?;
        let credentials = || -> Result<Option<Credentials>, CredentialsError> {
            match &token_file {
                Some(token) => Ok(Some(Credentials::Token(token.clone()))),
                None => credentials(env.var),
            }
        };
        // Plain progress lines until `with_stderr_terminal` says stderr is a terminal.
        let progress = Progress::for_stderr(false, cli.quiet);
        let client_config = |c: ClientArgs| -> Result<ClientConfig, UsageError> {
            let delay = match c.retry_delay_ms {
                Some(ms) => ms,
                None => match var("RECONCILE_RETRY_DELAY_MS") {
                    Some(v) => v
                        .trim()
                        .parse()
                        .map_err(|_| UsageError::RetryDelay { value: v })?,
                    None => 500,
                },
            };
            if delay > 60_000 {
                return Err(UsageError::RetryDelayTooLong { ms: delay });
            }
            Ok(ClientConfig {
                list_concurrency: c.list_concurrency.map(usize::from),
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
        let target = |t: TargetArgs| -> Result<Target, UsageError> {
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
                clock: Clock::System,
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
                    layout: a.layout.layout(),
                },
                history: a.history,
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
                    observer: progress.deletions(),
                    clock: Clock::System,
                },
                history: a.history,
                layout: a.layout.layout(),
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
            Command::Man(ManArgs { dir: None }) => Action::Man,
            Command::Man(ManArgs { dir: Some(dir) }) => Action::ManPages { dir },
            Command::Demo(a) => Action::Demo {
                auto_approve: auto_approve(a.auto_approve)?,
            },
            Command::Sandbox(a) => Action::Sandbox(SandboxSettings {
                seed: a.seed,
                generate: a.generate,
                listen: a.listen,
                token: Secret::new(
                    a.token
                        .first()
                        .cloned()
                        .or_else(|| var("RECONCILE_SANDBOX_TOKEN"))
                        .unwrap_or_else(|| "sandbox-token".to_string()),
                ),
                scoped_tokens: a.token.iter().map(|t| Secret::new(t.clone())).collect(),
                account_id: account_arg(a.account_id, "--account-id")?,
                faults: Faults {
                    latency: Duration::from_millis(a.faults.latency),
                    legacy_read_only: a.faults.legacy_read_only,
                    access_disabled: a.faults.access_disabled,
                    not_found_code: a.faults.not_found_code,
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
                    result_info: match a.faults.result_info {
                        ResultInfoChoice::Full => ResultInfo::Full,
                        ResultInfoChoice::NoTotals => ResultInfo::NoTotals,
                        ResultInfoChoice::Unfiltered => ResultInfo::Unfiltered,
                    },
                    reorder: a.faults.reorder.unwrap_or(0),
                    relogin: a.faults.relogin,
                    relogin_rate: a.faults.relogin_rate,
                    foreign_load: a.faults.foreign_load,
                },
                rate_limit: a.faults.rate_limit.map(|r| RateLimit {
                    quota: r.quota,
                    window: r.window,
                }),
            }),
            Command::Audit(AuditCommand::Verify { file }) => Action::AuditVerify { file },
            Command::Check(a) => Action::Check {
                target: target(TargetArgs {
                    files: a.files,
                    account_id: a.account_id,
                    api_url: a.api_url,
                    rails: RailArgs::default(),
                    client: a.client,
                })?,
                json: a.format == CheckFormat::Json,
            },
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

/// Why the arguments and the environment do not make a [`Settings`]: shown by `main` as
/// `error: MESSAGE`, exit code 1. The variants that wrap a parser's error show its message
/// unchanged.
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    /// `--account-id` or `CLOUDFLARE_ACCOUNT_ID`.
    #[error(transparent)]
    Arg(#[from] ArgError),
    /// `--api-token-file`.
    #[error(transparent)]
    TokenFile(#[from] TokenFileError),
    /// `CLOUDFLARE_API_TOKEN`, `CLOUDFLARE_EMAIL`, `CLOUDFLARE_API_KEY`.
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    /// `--plan-key-file` or `RECONCILE_PLAN_KEY`.
    #[error(transparent)]
    PlanKey(#[from] PlanKeySourceError),
    /// `RECONCILE_AUTO_APPROVE` is neither true nor false (`value` trimmed and lower-cased).
    #[error("RECONCILE_AUTO_APPROVE is `{}`: set it to true or false", crate::text::printable(.value))]
    AutoApprove { value: String },
    /// `RECONCILE_RETRY_DELAY_MS` is not a whole number of milliseconds (`value` as set).
    #[error("RECONCILE_RETRY_DELAY_MS is `{}`: give milliseconds, e.g. 500", crate::text::printable(.value))]
    RetryDelay { value: String },
    /// The first retry delay (flag or variable) is over a minute.
    #[error("the first retry delay is {ms} ms: give at most 60000 (a minute), with --retry-delay-ms or RECONCILE_RETRY_DELAY_MS")]
    RetryDelayTooLong { ms: u64 },
}

#[cfg(test)]
mod tests;
