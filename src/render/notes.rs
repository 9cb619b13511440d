//! The short texts of the commands: what `validate` read, what `audit verify` found, where a plan
//! was saved, the demo's banner. Renderers over any writer, like the rest of `render`.

use std::io::{self, Write};

use crate::apply::Signal;
use crate::config::Desired;
use crate::text::printable;

use crate::text::count;

/// `validate`: the summary line, then the files read, one a line, so that a file left out is
/// seen (docs/cli.md).
pub(crate) fn validated(desired: &Desired, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "valid: {}, {}, {} protected in {}{}",
        count(desired.entries.len(), "user"),
        count(desired.domains.len(), "domain"),
        desired.protected.len(),
        count(desired.files.len(), "file"),
        desired
            .account()
            .map(|a| format!(" (account {a})"))
            .unwrap_or_default()
    )?;
    for file in &desired.files {
        writeln!(out, "  {}", printable(file))?;
    }
    Ok(())
}

/// `audit verify`: the chain is intact.
pub(crate) fn audit_verified(
    shown_path: &str,
    records: usize,
    head: &str,
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(
        out,
        "{shown_path}: {}, chain intact; head {}",
        count(records, "record"),
        printable(head)
    )
}

/// `plan --out`: where the plan went, and the command that applies it: a saved plan is applied
/// against the desired state it was made from, so the command names the same `-f` files, quoted
/// for a POSIX shell where they need it, and can be pasted as it is.
pub(crate) fn plan_saved(
    shown_path: &str,
    files: &[String],
    deletions: usize,
    expires_at: &str,
    keyed: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    let sealed = if keyed {
        "sealed with the plan key"
    } else {
        "unkeyed digest"
    };
    writeln!(
        out,
        "Saved the plan to {shown_path} ({}, expires {expires_at}, {sealed}). Apply it with: reconcile apply {}{}",
        count(deletions, "deletion"),
        shell_word(shown_path),
        files
            .iter()
            .map(|f| format!(" -f {}", shell_word(f)))
            .collect::<String>(),
    )
}

/// `text` as one word of a POSIX shell: as it is when every character is plain, else in single
/// quotes (a quote inside written `'\''`).
pub(crate) fn shell_word(text: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./:@%+=,".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// `apply` with nothing to delete.
pub(crate) fn nothing_to_delete(out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "\nNothing to delete.")
}

/// The demo's first words.
pub(crate) fn demo_started(url: &str, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "Demo: a sandbox Cloudflare account is running at {url} (examples/demo/seed.yaml);\nthe allowlist is examples/demo/allowlist.yaml.\n"
    )
}

/// The demo without a terminal and without `--auto-approve`: the plan only.
pub(crate) fn demo_plan_only(out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "\nThis was the plan. Run `reconcile demo` in a terminal, or `reconcile demo --auto-approve`, to apply it to the sandbox."
    )
}

/// The demo, before it plans again after apply.
pub(crate) fn demo_again(out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "\nPlanning again after apply:\n")
}

/// Apply, at a first Ctrl-C or SIGTERM: what happens now, and how to stop at once.
pub(crate) fn stopping(by: Signal, in_flight: usize) -> String {
    format!("{by}: no new deletions; waiting for the {in_flight} in flight ({by} again to stop at once)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_notes() {
        assert_eq!(count(1, "file"), "1 file");
        assert_eq!(count(0, "file"), "0 files");
        assert_eq!(crate::text::plural(2), "s");
        let mut out = Vec::new();
        let files = ["desired/".to_string(), "my users.yaml".to_string()];
        plan_saved("p.json", &files, 1, "2026-12-02T00:00:00Z", false, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "Saved the plan to p.json (1 deletion, expires 2026-12-02T00:00:00Z, unkeyed digest). Apply it with: reconcile apply p.json -f desired/ -f 'my users.yaml'\n"
        );
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word(""), "''");
        assert_eq!(
            stopping(Signal::Terminate, 3),
            "SIGTERM: no new deletions; waiting for the 3 in flight (SIGTERM again to stop at once)"
        );
    }
}
