//! Every command shown in a code block of the README and docs/ runs, against the sandbox, as
//! written: no flag that does not exist, no crash, the documented outcome. Examples cannot rot.
// Off Unix only the extraction test runs (the commands are shell lines).
#![cfg_attr(not(unix), allow(dead_code))]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::harness::*;

/// One command from a document: where it is, and its arguments after `reconcile`.
#[derive(Debug)]
struct DocCommand {
    at: String,
    args: Vec<String>,
}

/// Split a shell line into words: white space separates, quotes group (no expansion needed).
fn words(line: &str) -> Vec<String> {
    let (mut out, mut word, mut quote, mut any) = (Vec::new(), String::new(), None, false);
    for c in line.chars() {
        match (quote, c) {
            (None, '\'' | '"') => {
                quote = Some(c);
                any = true;
            }
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() => {
                if any {
                    out.push(std::mem::take(&mut word));
                    any = false;
                }
            }
            (_, c) => {
                word.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(word);
    }
    out
}

/// The `reconcile` commands in the fenced code blocks of a Markdown file.
fn commands(path: &Path) -> Vec<DocCommand> {
    let text = std::fs::read_to_string(path).unwrap();
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let (mut out, mut in_block, mut shell, mut pending, mut start) =
        (Vec::new(), false, false, String::new(), 0);
    for (n, raw) in text.lines().enumerate() {
        let trimmed = raw.trim();
        if let Some(lang) = trimmed.strip_prefix("```") {
            in_block = !in_block;
            shell = in_block && matches!(lang, "" | "sh" | "shell" | "bash" | "console");
            continue;
        }
        if !in_block || !shell {
            continue;
        }
        if pending.is_empty() {
            start = n + 1;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
            continue;
        }
        pending.push_str(trimmed);
        let line = std::mem::take(&mut pending);
        let line = line.trim_start_matches("$ ");
        // Drop a trailing comment, a background `&`, and anything after a pipe or redirect.
        let line = line.split(" #").next().unwrap_or("");
        let line = line
            .split(['|', '>'])
            .next()
            .unwrap_or("")
            .trim()
            .trim_end_matches('&')
            .trim();
        let mut w: Vec<String> = words(line)
            .into_iter()
            .skip_while(|t| t.contains('=') && !t.starts_with('-'))
            .collect();
        let args = if w.first().map(String::as_str) == Some("reconcile") {
            w.split_off(1)
        } else if w.starts_with(&[
            "cargo".into(),
            "run".into(),
            "--release".into(),
            "--".into(),
        ]) {
            w.split_off(4)
        } else {
            continue;
        };
        // Synopses with placeholders are not runnable commands.
        let placeholder = |a: &String| {
            a.contains('<') || a.contains('[') || a.contains("...") || a == "FILE" || a == "ID"
        };
        if args.is_empty() || args.iter().any(placeholder) {
            continue;
        }
        out.push(DocCommand {
            at: format!("{name}:{start}"),
            args,
        });
    }
    out
}

fn documents() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    docs.insert(0, root.join("README.md"));
    docs
}

/// `reconcile sandbox ...` as documented, on a free port: it must print its URL and serve.
fn check_sandbox(cmd: &DocCommand, cwd: &Path) {
    let mut args: Vec<String> = cmd.args.clone();
    match args.iter().position(|a| a == "--listen") {
        Some(i) => args[i + 1] = "127.0.0.1:0".into(),
        None => args.extend(["--listen".into(), "127.0.0.1:0".into()]),
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut child = bare(&refs)
        .current_dir(cwd)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        first.starts_with("http://127.0.0.1:") && first.trim_end().ends_with("/client/v4"),
        "{}: {first:?}",
        cmd.at
    );
}

// The documented commands are shell lines, run in a directory that links to examples/.
#[cfg(unix)]
#[test]
fn every_documented_command_runs_against_the_sandbox() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut ran = 0;
    for doc in documents() {
        let cmds = commands(&doc);
        if cmds.is_empty() {
            continue;
        }
        // A fresh account and working directory per document: its commands run in order, so a
        // saved plan written by one is there for the next.
        let w = World::demo();
        let cwd = w.dir.path();
        std::os::unix::fs::symlink(root.join("examples"), cwd.join("examples")).unwrap();
        std::fs::create_dir(cwd.join("desired")).unwrap();
        std::fs::copy(
            root.join("examples/demo/allowlist.yaml"),
            cwd.join("desired/users.yaml"),
        )
        .unwrap();
        for cmd in &cmds {
            ran += 1;
            eprintln!("{}: reconcile {}", cmd.at, cmd.args.join(" "));
            if cmd.args[0] == "sandbox" {
                check_sandbox(cmd, cwd);
                continue;
            }
            let refs: Vec<&str> = cmd.args.iter().map(String::as_str).collect();
            let mut c = w.cmd(&refs);
            c.current_dir(cwd);
            let r = run(c);
            let what = format!("{} `reconcile {}`", cmd.at, cmd.args.join(" "));
            assert!(!r.stderr.contains("panicked"), "{what}: {r:?}");
            for usage in [
                "unexpected argument",
                "unrecognized subcommand",
                "invalid value",
                "required arguments were not provided",
            ] {
                assert!(!r.stderr.contains(usage), "{what} does not parse: {r:?}");
            }
            let interactive_apply = cmd.args[0] == "apply"
                && !cmd
                    .args
                    .iter()
                    .any(|a| a == "--auto-approve" || a.ends_with(".json"));
            if interactive_apply {
                // Documented: without a terminal, apply shows the plan and refuses.
                assert_eq!(r.code, 1, "{what}: {r:?}");
                assert!(
                    r.stderr.contains("stdin is not a terminal"),
                    "{what}: {r:?}"
                );
            } else {
                assert!(r.code == 0 || r.code == 2, "{what}: {r:?}");
            }
        }
    }
    assert!(ran >= 8, "only {ran} documented commands were found");
}

#[test]
fn command_extraction() {
    assert_eq!(
        words("plan -f 'a b.yaml' --x=\"1 2\""),
        ["plan", "-f", "a b.yaml", "--x=1 2"]
    );
    let dir = tempfile::tempdir().unwrap();
    let md = dir.path().join("x.md");
    std::fs::write(
        &md,
        "text `reconcile inline` is not run\n```sh\nCLOUDFLARE_API_TOKEN=x reconcile plan -f a.yaml \\\n   --format json | jq .\ncargo run --release -- demo   # comment\nreconcile apply FILE\n```\n```yaml\nreconcile: no\n```\n",
    )
    .unwrap();
    let got: Vec<Vec<String>> = commands(&md).into_iter().map(|c| c.args).collect();
    assert_eq!(
        got,
        vec![
            vec!["plan", "-f", "a.yaml", "--format", "json"],
            vec!["demo"]
        ]
    );
}
