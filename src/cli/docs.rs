//! Shell completions and the manual pages, generated from the clap definitions so that they
//! cannot drift from the real flags. The sections clap knows nothing of (environment, exit
//! status, files) are written here, next to the definitions they describe.

use std::io::{self, Write};

use super::args::Cli;

/// The shell completion script for `shell`. clap_complete panics when its writer fails (a closed
/// pipe), so it writes into a buffer and the buffer goes out as one write that can fail.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn Write) -> io::Result<()> {
    let mut command = <Cli as clap::CommandFactory>::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "reconcile", &mut script);
    out.write_all(&script)?;
    out.flush()
}

/// One manual page: its file name (`reconcile-plan.1`) and its roff text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManPage {
    pub file_name: String,
    pub text: Vec<u8>,
}

/// The manual in one page, `reconcile(1)`: every command under COMMANDS with its options and
/// example. Its SEE ALSO names the documentation files only: the per-command pages exist only
/// where `reconcile man --dir` wrote them.
pub fn man_page(out: &mut dyn Write) -> io::Result<()> {
    let command = <Cli as clap::CommandFactory>::command();
    let mut text = Vec::new();
    main_page(&command, Commands::Inline, &mut text)?;
    out.write_all(&text)?;
    out.flush()
}

/// `reconcile.1`, whose COMMANDS name the other pages, then a page per command and
/// subcommand (`reconcile-plan.1`, `reconcile-audit-verify.1`), each with SEE ALSO naming
/// `reconcile(1)` and its parent: pages that are all written together.
pub fn man_pages() -> io::Result<Vec<ManPage>> {
    let mut command = <Cli as clap::CommandFactory>::command();
    // Built, so that each command carries the global options and its full name.
    command.build();
    let mut main = Vec::new();
    main_page(&command, Commands::Pages, &mut main)?;
    let mut pages = vec![ManPage {
        file_name: "reconcile.1".into(),
        text: main,
    }];
    for sub in commands(&command) {
        command_pages(sub, &["reconcile"], &mut pages)?;
    }
    Ok(pages)
}

/// Whether the main page holds every command, or points at their pages.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Commands {
    Inline,
    Pages,
}

fn main_page(command: &clap::Command, mode: Commands, out: &mut dyn Write) -> io::Result<()> {
    let man = clap_mangen::Man::new(command.clone())
        .title("RECONCILE")
        .source(source());
    man.render_title(out)?;
    write!(out, "{}", fragment(|w| man.render_name_section(w))?)?;
    writeln!(
        out,
        ".SH SYNOPSIS\n\\fBreconcile\\fR [\\fIGLOBAL OPTIONS\\fR] \\fICOMMAND\\fR [\\fIOPTIONS\\fR]"
    )?;
    writeln!(out, ".SH DESCRIPTION\n{}", roff(DESCRIPTION))?;
    writeln!(out, ".SH COMMANDS")?;
    for sub in commands(command) {
        let name = sub.get_name();
        let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
        match mode {
            Commands::Pages => writeln!(
                out,
                ".TP\n\\fBreconcile {name}\\fR\n{}\nSee \\fBreconcile\\-{name}\\fR(1).",
                roff(&about)
            )?,
            Commands::Inline => inline_command(sub, &about, out)?,
        }
    }
    writeln!(out, ".SH OPTIONS")?;
    write_options(&man, Heading::Sub, out)?;
    writeln!(out, ".SH ENVIRONMENT")?;
    for (name, meaning) in ENVIRONMENT {
        writeln!(out, ".TP\n\\fB{}\\fR\n{}", roff(name), roff(meaning))?;
    }
    writeln!(out, ".SH \"EXIT STATUS\"")?;
    for (code, meaning) in EXIT_STATUS {
        writeln!(out, ".TP\n\\fB{code}\\fR\n{}", roff(meaning))?;
    }
    writeln!(out, ".SH FILES")?;
    for (name, meaning) in FILES {
        writeln!(out, ".TP\n\\fI{}\\fR\n{}", roff(name), roff(meaning))?;
    }
    writeln!(out, ".SH EXAMPLES\n.nf\n{}\n.fi", roff(EXAMPLES))?;
    writeln!(out, ".SH \"SEE ALSO\"")?;
    if mode == Commands::Pages {
        let names: Vec<String> = commands(command)
            .map(|s| format!("\\fBreconcile\\-{}\\fR(1)", s.get_name()))
            .collect();
        writeln!(out, "{}.", names.join(",\n"))?;
        writeln!(out, ".PP")?;
    }
    writeln!(out, "{}", roff(SEE_ALSO))?;
    Ok(())
}

/// A command's section of the one-page manual.
fn inline_command(sub: &clap::Command, about: &str, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, ".SS \"reconcile {}\"\n{}", sub.get_name(), roff(about))?;
    write_options(&clap_mangen::Man::new(sub.clone()), Heading::Paragraph, out)?;
    for nested in commands(sub) {
        let about = nested
            .get_about()
            .map(|a| a.to_string())
            .unwrap_or_default();
        writeln!(
            out,
            ".TP\n\\fBreconcile {} {}\\fR\n{}",
            sub.get_name(),
            nested.get_name(),
            roff(&about)
        )?;
    }
    if let Some(after) = sub.get_after_help() {
        writeln!(out, ".PP\n.nf\n{}\n.fi", roff(&after.to_string()))?;
    }
    Ok(())
}

/// The page of `sub` (named after `parents` and itself), then those of its own subcommands.
fn command_pages(
    sub: &clap::Command,
    parents: &[&str],
    pages: &mut Vec<ManPage>,
) -> io::Result<()> {
    let mut path: Vec<&str> = parents.to_vec();
    path.push(sub.get_name());
    let page_name = path.join("-");
    let man = clap_mangen::Man::new(sub.clone())
        .title(page_name.to_uppercase())
        .source(source());
    let mut text = Vec::new();
    man.render_title(&mut text)?;
    write!(text, "{}", fragment(|w| man.render_name_section(w))?)?;
    write!(text, "{}", fragment(|w| man.render_synopsis_section(w))?)?;
    write!(text, "{}", fragment(|w| man.render_description_section(w))?)?;
    // The headings (Output, Safety rails...) become subsections of one OPTIONS section.
    writeln!(text, ".SH OPTIONS")?;
    write_options(&man, Heading::Sub, &mut text)?;
    if commands(sub).next().is_some() {
        writeln!(text, ".SH COMMANDS")?;
        for nested in commands(sub) {
            let about = nested
                .get_about()
                .map(|a| a.to_string())
                .unwrap_or_default();
            writeln!(
                text,
                ".TP\n\\fB{} {}\\fR\n{}\nSee \\fB{}\\-{}\\fR(1).",
                path.join(" "),
                nested.get_name(),
                roff(&about),
                roff(&page_name),
                nested.get_name()
            )?;
        }
    }
    if let Some(after) = sub.get_after_help() {
        let after = after.to_string();
        writeln!(text, ".SH EXAMPLES\n.nf\n{}\n.fi", roff(examples(&after)))?;
    }
    writeln!(
        text,
        ".SH \"SEE ALSO\"\n\\fB{}\\fR(1)",
        roff(&parents.join("-"))
    )?;
    pages.push(ManPage {
        file_name: format!("{page_name}.1"),
        text,
    });
    for nested in commands(sub) {
        command_pages(nested, &path, pages)?;
    }
    Ok(())
}

/// A part of a page rendered by clap_mangen, without the preamble it puts before every part
/// (the page has it once, from its title).
fn fragment(render: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<String> {
    let mut text = Vec::new();
    render(&mut text)?;
    Ok(String::from_utf8_lossy(&text)
        .lines()
        .filter(|line| !line.starts_with(".ie \\n(.g .ds Aq") && !line.starts_with(".el .ds Aq"))
        .map(|line| format!("{line}\n"))
        .collect())
}

/// The version in every page's footer.
fn source() -> String {
    format!("reconcile {}", env!("CARGO_PKG_VERSION"))
}

/// A command's example text without its "Example:" line (the section says it).
fn examples(after_help: &str) -> &str {
    match after_help.split_once('\n') {
        Some((first, rest)) if first.starts_with("Example") && first.ends_with(':') => rest,
        _ => after_help,
    }
}

/// The commands a page lists: clap's generated `help` is not one.
fn commands(command: &clap::Command) -> impl Iterator<Item = &clap::Command> {
    command.get_subcommands().filter(|s| s.get_name() != "help")
}

/// What a clap_mangen options heading (`.SH "SAFETY RAILS"`) becomes.
#[derive(Clone, Copy)]
enum Heading {
    /// A subsection of the OPTIONS section.
    Sub,
    /// A paragraph title inside a command's subsection.
    Paragraph,
}

/// clap_mangen's options sections, re-headed: a page has one OPTIONS section, and the groups of
/// the help (Output, Safety rails...) sit under it.
fn write_options(man: &clap_mangen::Man, heading: Heading, out: &mut dyn Write) -> io::Result<()> {
    let text = fragment(|w| man.render_options_section(w))?;
    for line in text.lines() {
        match line.strip_prefix(".SH ").map(|t| t.trim_matches('"')) {
            // The ungrouped options come first, under the section's own heading.
            Some("OPTIONS") => {}
            Some(title) => match heading {
                Heading::Sub => writeln!(out, ".SS \"{title}\"")?,
                Heading::Paragraph => writeln!(out, ".PP\n\\fI{title}\\fR")?,
            },
            None => writeln!(out, "{line}")?,
        }
    }
    Ok(())
}

/// Plain text as roff: backslashes and hyphens escaped, and no line that starts with a control
/// character (`.` or `'`).
fn roff(text: &str) -> String {
    text.lines()
        .map(|line| {
            let line = line.replace('\\', "\\e").replace('-', "\\-");
            if line.starts_with('.') || line.starts_with('\'') {
                format!("\\&{line}")
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

const DESCRIPTION: &str = "reconcile keeps the users of a Cloudflare Zero Trust (Access) account equal to a reviewed allowlist: a set of YAML files that name the users and domains allowed, and the users protected from deletion. plan lists every live user (read-only) and shows who would be deleted and why; apply shows the same plan, asks, lists again and deletes only the users that were in the plan shown and are still not allowed. Safety rails hold back near misses of allowlist entries, recently active users, users without an address, and plans that delete too many users; each says how to go ahead on purpose.

A plan can be saved for review (plan --out) and applied exactly as reviewed (apply PLAN_FILE). reconcile demo runs the whole flow on a built-in sandbox, with no Cloudflare account.

The plan and the reports go to standard output; prompts, progress, warnings and errors to standard error.";

const ENVIRONMENT: &[(&str, &str)] = &[
    ("RECONCILE_FILES", "The desired-state files and directories when no -f is given, separated as in PATH (: on Unix, ; on Windows); without it, ./desired/ or ./reconcile.yaml in the working directory."),
    ("CLOUDFLARE_API_TOKEN", "The API token (preferred), sent as a bearer token. --api-token-file reads it from a file instead."),
    ("CLOUDFLARE_EMAIL, CLOUDFLARE_API_KEY", "The legacy global key pair, used when no token is set: both or neither."),
    ("CLOUDFLARE_ACCOUNT_ID", "The account, when the desired-state files do not name one (--account-id). When both are set they must agree."),
    ("CLOUDFLARE_BASE_URL", "The API's base URL (--api-url); default https://api.cloudflare.com/client/v4."),
    ("RECONCILE_AUTO_APPROVE", "true (or 1, yes, on): apply and demo delete without asking, as --auto-approve."),
    ("RECONCILE_PLAN_KEY", "The key that seals saved plans and that apply PLAN_FILE requires (--plan-key-file wins)."),
    ("RECONCILE_RETRY_DELAY_MS", "The first wait before a retry, in milliseconds (--retry-delay-ms); default 500."),
    ("RECONCILE_SANDBOX_TOKEN", "The token reconcile sandbox accepts, when no --token is given."),
    ("GITHUB_STEP_SUMMARY", "When set, plan appends its Markdown plan to this file (GitHub Actions' job summary), and apply its Markdown report."),
    ("NO_COLOR", "When set and not empty, no colour under --color auto."),
    ("RUST_LOG", "The log filter on standard error, overriding -v and -q (e.g. reconcile=debug)."),
    ("USER, LOGNAME, USERNAME", "Who ran apply, for the audit log (the first set); without any, the effective user id."),
    ("GITHUB_ACTIONS, GITHUB_SERVER_URL, GITHUB_REPOSITORY, GITHUB_RUN_ID, GITHUB_JOB, GITHUB_ACTOR", "With GITHUB_ACTIONS=true, the audit log records the GitHub Actions run, job, repository and actor."),
    ("GITLAB_CI, CI_PIPELINE_ID, CI_JOB_ID, CI_PROJECT_PATH, GITLAB_USER_LOGIN, CI_JOB_URL", "With GITLAB_CI=true, the audit log records the GitLab CI pipeline, job, project and user."),
    ("CI", "Set (and not 0 or false) elsewhere: the audit log records that a CI system ran apply."),
    ("HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY", "The proxy for requests to the API (and their lower-case forms); never used for a loopback host such as the sandbox."),
];

const EXIT_STATUS: &[(&str, &str)] = &[
    ("0", "Success, or nothing to do (plan without --detailed-exitcode also when there are changes)."),
    ("1", "An error: invalid desired state, an API error, a refused or declined plan, a usage error (not 2, which --detailed-exitcode gives to changes); nothing more was deleted."),
    ("2", "plan --detailed-exitcode: the plan has changes."),
    ("3", "apply did not finish, or its result is unverified: a deletion failed or was not attempted, the run was interrupted, or the final listing did not confirm it (the report says which)."),
    ("141", "Standard output (or error) was closed before everything was written, as by | head: the run ends quietly, as a program ended by SIGPIPE would."),
];

const FILES: &[(&str, &str)] = &[
    ("desired/*.yaml", "Desired-state files given with -f: a file, or a directory whose *.yaml and *.yml files are read (docs/config.md; reconcile schema prints their JSON Schema)."),
    ("plan.json", "A plan saved by plan --out, for apply PLAN_FILE; it expires (--plan-ttl) and is sealed (--plan-key-file)."),
    ("audit.jsonl", "The hash-chained audit log appended by apply --audit-log; reconcile audit verify checks it."),
];

const EXAMPLES: &str = "\
reconcile demo                                   # the whole flow on a built-in sandbox
reconcile validate -f desired/                   # check the files, offline
reconcile plan -f desired/                       # what would change (read-only)
reconcile apply -f desired/                      # show the plan, ask, delete
reconcile plan -f desired/ --out plan.json --format markdown
reconcile apply plan.json -f desired/            # apply exactly the reviewed plan
reconcile man --dir /usr/local/share/man/man1    # a page per command";

const SEE_ALSO: &str = "The documentation beside the source: docs/cli.md (every command, flag and exit code), docs/config.md (the desired-state format), docs/safety.md (the safety rails), docs/ci.md (pipelines and saved plans), docs/sandbox.md (the emulator).";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roff_text_cannot_start_a_request() {
        assert_eq!(roff(".SH x\n'y\nz-w \\n"), "\\&.SH x\n\\&'y\nz\\-w \\en");
    }
}
