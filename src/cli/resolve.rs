//! Arguments and the environment resolved into [`Settings`], once.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::args::*;
use super::secrets::*;
use super::Environment;
use crate::apply::ExecSettings;
use crate::audit::Actor;
use crate::cloudflare::{check_base_url, ApiError, Credentials, DEFAULT_BASE_URL};
use crate::cloudflare::{ClientConfig, RetryPolicy};
use crate::date::Clock;
use crate::progress::Progress;
use crate::render::{Format, Palette};
use crate::sandbox::{Faults, RateLimit};
use crate::sandbox::{ItemsShape, ResultInfo};
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

    /// [`Settings::resolve_in`] the working directory of the process.
    pub fn resolve(cli: Cli, env: &Environment) -> Result<Settings, UsageError> {
        Settings::resolve_in(cli, env, Path::new("."))
    }

    /// Resolve, looking for `desired/` and `reconcile.yaml` in `cwd` when no `-f` is given.
    pub(crate) fn resolve_in(
        cli: Cli,
        env: &Environment,
        cwd: &Path,
    ) -> Result<Settings, UsageError> {
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
        let api_url = |flag: Option<String>| -> Result<String, UsageError> {
            let url = flag
                .or_else(|| var("CLOUDFLARE_BASE_URL"))
                .unwrap_or_else(|| DEFAULT_BASE_URL.to_string());
            // The shape of the URL is known before any request: refused here, not after one.
            check_base_url(&url)?;
            Ok(url)
        };
        // Which files were found without -f, said once logging is set up.
        let discovered = std::cell::Cell::new(None);
        let files = |given: Vec<PathBuf>, needed: Option<Reads>| {
            if !given.is_empty() {
                return Ok(given);
            }
            match discover(&var, cwd)? {
                Some((from, files)) => {
                    discovered.set(Some(from));
                    Ok(files)
                }
                None => match needed {
                    Some(command) => Err(UsageError::NoFiles { command }),
                    None => Ok(Vec::new()),
                },
            }
        };
        let target = |t: TargetArgs, needed: Option<Reads>| -> Result<Target, UsageError> {
            Ok(Target {
                files: files(t.files, needed)?,
                account_id: account_arg(
                    t.account_id.or_else(|| var("CLOUDFLARE_ACCOUNT_ID")),
                    "--account-id / CLOUDFLARE_ACCOUNT_ID",
                )?,
                api_url: api_url(t.api_url)?,
                credentials: credentials()?,
                overrides: t.rails.overrides(),
                clock: Clock::System,
                client: client_config(t.client)?,
            })
        };
        let action = match cli.command {
            Command::Plan(a) => Action::Plan {
                target: {
                    refuse_arguments(Reads::Plan, &a.stray)?;
                    target(a.target, Some(Reads::Plan))?
                },
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
                target: {
                    if let Some(path) = &a.plan_file {
                        refuse_desired_state_as_plan(path)?;
                    }
                    // A saved plan is checked first (expired, edited, another account), and
                    // then says itself that it needs the files.
                    let needed = if a.plan_file.is_some() {
                        None
                    } else {
                        Some(Reads::Apply)
                    };
                    target(a.target, needed)?
                },
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
                step_summary: var("GITHUB_STEP_SUMMARY").map(PathBuf::from),
                format: a.format.format(),
            },
            Command::Validate(a) => Action::Validate {
                files: {
                    refuse_arguments(Reads::Validate, &a.stray)?;
                    files(a.files, Some(Reads::Validate))?
                },
            },
            Command::Explain(a) => {
                // `explain users.yaml`: the file where the address goes.
                let email = Path::new(&a.email);
                if !a.email.contains('@') && looks_like_desired_state(email) {
                    refuse_arguments(Reads::Explain, &[email.to_path_buf()])?;
                }
                refuse_arguments(Reads::Explain, &a.stray)?;
                Action::Explain {
                    target: target(a.target, Some(Reads::Explain))?,
                    email: a.email,
                }
            }
            Command::Export(a) => Action::Export {
                account_id: account_arg(
                    a.account_id.or_else(|| var("CLOUDFLARE_ACCOUNT_ID")),
                    "--account-id / CLOUDFLARE_ACCOUNT_ID",
                )?,
                api_url: api_url(a.api_url)?,
                credentials: credentials()?,
                output: a.output,
                force: a.force,
                door: door_names(a.door_list.as_deref(), a.door_group.as_deref())?,
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
                    list_items_shape: match a.faults.list_items_shape {
                        ListItemsShape::Flat => ItemsShape::Flat,
                        ListItemsShape::Nested => ItemsShape::Nested,
                    },
                    fail_door_writes_after: a.faults.fail_door_writes,
                    drop_door_answers: 0,
                    door_enforced: a.faults.door_enforced,
                },
                rate_limit: a.faults.rate_limit.map(|r| RateLimit {
                    quota: r.quota,
                    window: r.window,
                }),
                list_capacity: a.list_capacity,
            }),
            Command::Audit(AuditCommand::Verify { file }) => Action::AuditVerify { file },
            Command::Check(a) => Action::Check {
                target: {
                    refuse_arguments(Reads::Check, &a.stray)?;
                    // The files are optional here: a check needs only the account id.
                    target(
                        TargetArgs {
                            files: a.files,
                            account_id: a.account_id,
                            api_url: a.api_url,
                            rails: RailArgs::default(),
                            client: a.client,
                        },
                        None,
                    )?
                },
                json: a.format == CheckFormat::Json,
            },
        };
        if let Some(from) = discovered.into_inner() {
            warnings.push(from.to_string());
        }
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

/// The variable that names the desired-state files when no `-f` is given: paths separated as in
/// `PATH` (`:` on Unix, `;` on Windows), so that a path may hold a comma or a space.
pub(crate) const FILES_VAR: &str = "RECONCILE_FILES";

/// Where the desired-state files came from when no `-f` named them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FilesFrom {
    /// `RECONCILE_FILES`, as set.
    Variable(String),
    /// `desired/` in the working directory.
    Directory(PathBuf),
    /// `reconcile.yaml` in the working directory.
    File(PathBuf),
}

/// Said on stderr, so that the person sees which allowlist a run compares the account with.
impl std::fmt::Display for FilesFrom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FilesFrom::Variable(value) => write!(
                f,
                "no -f given: reading the desired state from {FILES_VAR} ({})",
                crate::text::printable(value)
            ),
            FilesFrom::Directory(path) => write!(
                f,
                "no -f given: reading the desired state from {}/ (found in the working directory)",
                crate::fsread::display_path(path)
            ),
            FilesFrom::File(path) => write!(
                f,
                "no -f given: reading the desired state from {} (found in the working directory)",
                crate::fsread::display_path(path)
            ),
        }
    }
}

/// Without `-f`: `RECONCILE_FILES` if set, else `desired/` or `reconcile.yaml` in `cwd`, else
/// nothing. Both in one directory is an error: reading one would delete the users only the
/// other allows.
fn discover(
    var: &dyn Fn(&str) -> Option<String>,
    cwd: &Path,
) -> Result<Option<(FilesFrom, Vec<PathBuf>)>, UsageError> {
    if let Some(value) = var(FILES_VAR) {
        let files: Vec<PathBuf> = std::env::split_paths(&value)
            .filter(|p| !p.as_os_str().is_empty())
            .collect();
        if !files.is_empty() {
            return Ok(Some((FilesFrom::Variable(value), files)));
        }
    }
    let (dir, file) = (cwd.join("desired"), cwd.join("reconcile.yaml"));
    match (dir.is_dir(), file.is_file()) {
        (true, true) => Err(UsageError::TwoDefaults),
        (true, false) => Ok(Some((FilesFrom::Directory(dir.clone()), vec![dir]))),
        (false, true) => Ok(Some((FilesFrom::File(file.clone()), vec![file]))),
        (false, false) => Ok(None),
    }
}

/// A path that holds desired state rather than a saved plan: a directory, or a `.yaml` /
/// `.yml` file that does not open like the JSON a saved plan is (`plan --out plan.yaml` writes
/// JSON under that name, and stays a plan).
fn looks_like_desired_state(path: &Path) -> bool {
    if path.is_dir() {
        return true;
    }
    let yaml = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
    yaml && !opens_like_json(path)
}

fn opens_like_json(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 64];
    let Ok(mut file) = std::fs::File::open(path) else {
        return false;
    };
    let n = file.read(&mut head).unwrap_or(0);
    let text = String::from_utf8_lossy(&head[..n]);
    text.trim_start_matches('\u{feff}')
        .trim_start()
        .starts_with('{')
}

/// `apply users.yaml`: the desired state where the saved plan goes, caught before any request.
fn refuse_desired_state_as_plan(path: &Path) -> Result<(), UsageError> {
    if looks_like_desired_state(path) {
        return Err(UsageError::DesiredStateAsPlan {
            path: crate::fsread::display_path(path),
        });
    }
    Ok(())
}

/// `export --door-list NAME [--door-group NAME]`, each name checked as the `door:` section
/// checks it (trimmed; refused when empty, too long, or holding what does not show).
fn door_names(
    list: Option<&str>,
    group: Option<&str>,
) -> Result<Option<crate::export::DoorNames>, UsageError> {
    let checked = |flag: &'static str, raw: &str, max: usize| {
        crate::config::door_name(raw, max)
            .map(str::to_string)
            .map_err(|why| UsageError::DoorName {
                flag,
                why,
                help: crate::config::door_name_help(max),
            })
    };
    let Some(list) = list else {
        return Ok(None);
    };
    Ok(Some(crate::export::DoorNames {
        list: checked("--door-list", list, crate::config::MAX_LIST_PREFIX_CHARS)?,
        group: group
            .map(|g| checked("--door-group", g, crate::config::MAX_GROUP_NAME_CHARS))
            .transpose()?,
    }))
}

/// Positional arguments of a command that takes none (clap would say only "unexpected
/// argument"): most often desired-state files without `-f`.
fn refuse_arguments(command: Reads, stray: &[PathBuf]) -> Result<(), UsageError> {
    if stray.is_empty() {
        return Ok(());
    }
    let shown: Vec<String> = stray
        .iter()
        .map(|p| crate::fsread::display_path(p))
        .collect();
    if stray.iter().all(|p| looks_like_desired_state(p)) {
        Err(UsageError::DesiredStateAsArgument {
            command,
            paths: shown,
        })
    } else {
        Err(UsageError::UnexpectedArgument {
            command,
            argument: shown.into_iter().next().unwrap_or_default(),
        })
    }
}

/// A command that reads desired-state files: what its usage errors name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reads {
    Plan,
    Apply,
    Validate,
    Explain,
    Check,
}

impl Reads {
    fn name(self) -> &'static str {
        match self {
            Reads::Plan => "plan",
            Reads::Apply => "apply",
            Reads::Validate => "validate",
            Reads::Explain => "explain",
            Reads::Check => "check",
        }
    }

    /// The positional arguments it takes, in words.
    fn takes(self) -> &'static str {
        match self {
            Reads::Explain => "one address",
            Reads::Apply => "at most a saved plan",
            _ => "no arguments",
        }
    }

    /// Its usage line, as clap prints one after an error.
    fn usage(self) -> String {
        let line = match self {
            Reads::Plan => "reconcile plan -f <PATH>... [OPTIONS]",
            Reads::Apply => "reconcile apply [PLAN_FILE] -f <PATH>... [OPTIONS]",
            Reads::Validate => "reconcile validate -f <PATH>...",
            Reads::Explain => "reconcile explain <EMAIL> -f <PATH>... [OPTIONS]",
            Reads::Check => "reconcile check [-f <PATH>...] [OPTIONS]",
        };
        format!(
            "\n\nUsage: {line}\n\nFor more information, try 'reconcile {} --help'.",
            self.name()
        )
    }
}

fn dash_f(paths: &[String]) -> String {
    paths
        .iter()
        .map(|p| format!("-f {p}"))
        .collect::<Vec<_>>()
        .join(" ")
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
    /// A command that reads the desired state found none: no `-f`, no `RECONCILE_FILES`, no
    /// `desired/` or `reconcile.yaml` here.
    #[error("no desired-state file: pass -f FILE or -f DIRECTORY (e.g. -f desired/), or set {FILES_VAR}, or run where desired/ or reconcile.yaml is{}", .command.usage())]
    NoFiles { command: Reads },
    /// `desired/` and `reconcile.yaml` both in the working directory, and no `-f`.
    #[error("no -f given, and both desired/ and reconcile.yaml are in the working directory: say which with -f desired/ or -f reconcile.yaml")]
    TwoDefaults,
    /// `plan users.yaml`: desired-state files given without `-f` (`paths` as shown).
    #[error("{} {}: use {}{}", .paths.join(" "), if .paths.len() == 1 { "is a desired-state file" } else { "are desired-state files" }, dash_f(.paths), .command.usage())]
    DesiredStateAsArgument { command: Reads, paths: Vec<String> },
    /// `plan x`: a positional argument a command does not take (`argument` as shown).
    #[error("unexpected argument `{argument}`: {} takes {}; name the desired-state files with -f{}", .command.name(), .command.takes(), .command.usage())]
    UnexpectedArgument { command: Reads, argument: String },
    /// `apply users.yaml`: the desired state where a saved plan goes (`path` as shown).
    #[error("{path} is a desired-state file, not a saved plan: use -f {path}\n  help: `reconcile apply -f {path}` plans and asks; `reconcile apply PLAN_FILE -f {path}` applies a plan saved by `plan --out PLAN_FILE`; nothing was sent")]
    DesiredStateAsPlan { path: String },
    /// `export --door-list` / `--door-group`: a name the `door:` section would refuse.
    #[error("{flag}: the name {why}; nothing was sent\n  help: {help}")]
    DoorName {
        flag: &'static str,
        why: String,
        help: String,
    },
    /// `--api-url` / `CLOUDFLARE_BASE_URL` is not a base URL of the API.
    #[error(transparent)]
    ApiUrl(#[from] ApiError),
}

#[cfg(test)]
mod tests;
