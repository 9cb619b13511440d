//! scripts/install.sh against a fake release served from loopback: the archive of the binary this
//! checkout built, and its SHA256SUMS. The script installs it, and the installed `reconcile`
//! runs; a tampered archive, a SHA256SUMS without the archive's line and a missing release are
//! refused with nothing installed. Nothing here leaves 127.0.0.1: the script is always given
//! `RECONCILE_DOWNLOAD_BASE`, proxies are cleared, and the server records every request.
//!
//! The script is POSIX sh, for Linux and macOS (the Windows runner's Git Bash is not a test
//! target), so this module is Unix only.
#![cfg(unix)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use sha2::{Digest, Sha256};

use crate::harness::{run, Run};

const VERSION: &str = "v0.0.0-test";
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/install.sh");

/// A static file server on an ephemeral loopback port: path → body, 404 for anything else. The
/// listener is bound before `start` returns, so the script can connect at once (no sleep).
struct Release {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Release {
    fn start(files: BTreeMap<String, Vec<u8>>) -> Release {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (requests, stop) = (requests.clone(), stop.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(stream) = stream {
                        serve(stream, &files, &requests);
                    }
                }
            })
        };
        Release {
            addr,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    fn base(&self) -> String {
        format!("http://{}/releases/download", self.addr)
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Release {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept so that the thread sees the flag and ends.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(stream: TcpStream, files: &BTreeMap<String, Vec<u8>>, requests: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(&stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    // Read the headers up to the blank line; the clients send no body.
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) if line == "\r\n" || line == "\n" => break,
            Ok(_) => {}
        }
    }
    let mut words = request_line.split_whitespace();
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    requests.lock().unwrap().push(format!("{method} {path}"));
    let mut stream = &stream;
    let _ = match files.get(path).filter(|_| method == "GET") {
        Some(body) => stream
            .write_all(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
                    body.len()
                )
                .as_bytes(),
            )
            .and_then(|()| stream.write_all(body)),
        None => stream.write_all(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nNot Found",
        ),
    };
}

/// The target triple install.sh picks for this machine (its `detect_target`).
fn host_target() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "x86_64",
        "aarch64" => "aarch64",
        other => panic!("no release target for the processor {other}"),
    };
    match std::env::consts::OS {
        "linux" => format!("{arch}-unknown-linux-musl"),
        "macos" => format!("{arch}-apple-darwin"),
        other => panic!("no release target for the system {other}"),
    }
}

fn archive_name(target: &str) -> String {
    format!("reconcile-{VERSION}-{target}.tar.gz")
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The tools the script needs; a missing one skips the test with the reason (they are on every
/// development machine and CI runner this project uses).
fn tools_missing() -> Option<String> {
    for tool in ["sh", "tar", "gzip", "curl"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !found {
            return Some(format!(
                "skipped: `{tool}` is not installed, and scripts/install.sh needs it"
            ));
        }
    }
    None
}

/// The binary built by this checkout packed as the release workflow packs it
/// (`reconcile-vX.Y.Z-TARGET/reconcile` in a tar.gz), for this machine's target. A debug binary is
/// over 100 MB, so it is packed once (with fast compression) and shared by the tests.
fn packed() -> &'static [u8] {
    static ARCHIVE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    ARCHIVE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let top = format!("reconcile-{VERSION}-{}", host_target());
        let stage = dir.path().join(&top);
        std::fs::create_dir_all(&stage).unwrap();
        std::fs::copy(env!("CARGO_BIN_EXE_reconcile"), stage.join("reconcile")).unwrap();
        let output = Command::new("sh")
            .args(["-c", "tar -cf - -C \"$1\" \"$2\" | gzip -1", "sh"])
            .arg(dir.path())
            .arg(&top)
            .output()
            .unwrap();
        assert!(output.status.success(), "tar failed: {output:?}");
        output.stdout
    })
}

/// A fake release of this machine's archive and a SHA256SUMS with its line.
struct Fake {
    dir: tempfile::TempDir,
    target: String,
    archive: Vec<u8>,
}

impl Fake {
    fn new() -> Fake {
        Fake {
            archive: packed().to_vec(),
            dir: tempfile::tempdir().unwrap(),
            target: host_target(),
        }
    }

    fn sums_line(&self) -> String {
        format!(
            "{}  {}\n",
            sha256_hex(&self.archive),
            archive_name(&self.target)
        )
    }

    /// The release's files, served under /releases/download/VERSION/.
    fn files(&self, archive: &[u8], sums: &str) -> BTreeMap<String, Vec<u8>> {
        let prefix = format!("/releases/download/{VERSION}");
        BTreeMap::from([
            (
                format!("{prefix}/{}", archive_name(&self.target)),
                archive.to_vec(),
            ),
            (format!("{prefix}/SHA256SUMS"), sums.as_bytes().to_vec()),
        ])
    }

    fn bin_dir(&self) -> PathBuf {
        self.dir.path().join("bin")
    }
}

/// `sh scripts/install.sh ARGS` with only loopback to download from.
fn install(base: &str, args: &[&str], extra_env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new("sh");
    cmd.arg(SCRIPT).args(args);
    for var in [
        "http_proxy",
        "https_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "all_proxy",
        "RECONCILE_DOWNLOADER",
        "CURL_HOME",
        "WGETRC",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("RECONCILE_DOWNLOAD_BASE", base)
        .env("NO_PROXY", "127.0.0.1")
        .env("no_proxy", "127.0.0.1");
    for (key, value) in extra_env {
        cmd.env(key, value);
    }
    run(cmd)
}

fn to(dir: &Path) -> &str {
    dir.to_str().unwrap()
}

fn assert_nothing_installed(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir)
        .map(|entries| entries.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "installed despite the refusal: {left:?}");
}

#[test]
fn installs_the_release_for_this_machine_and_it_runs() {
    if let Some(reason) = tools_missing() {
        println!("{reason}");
        return;
    }
    let fake = Fake::new();
    let release = Release::start(fake.files(&fake.archive, &fake.sums_line()));
    let bin = fake.bin_dir();
    let r = install(
        &release.base(),
        &["--version", VERSION, "--to", to(&bin)],
        &[],
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("verified"), "{r:?}");
    assert!(
        r.stderr.contains(&format!(
            "installed reconcile {VERSION} ({})",
            host_target()
        )),
        "{r:?}"
    );

    let output = Command::new(bin.join("reconcile"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap().trim(),
        format!("reconcile {}", env!("CARGO_PKG_VERSION"))
    );
    // The archive and SHA256SUMS, from the fake release and nowhere else.
    let prefix = format!("GET /releases/download/{VERSION}");
    assert_eq!(
        release.requests(),
        [
            format!("{prefix}/{}", archive_name(&host_target())),
            format!("{prefix}/SHA256SUMS"),
        ]
    );
}

#[test]
fn wget_and_a_forced_target_work_too_and_an_installed_binary_is_replaced() {
    if let Some(reason) = tools_missing() {
        println!("{reason}");
        return;
    }
    let wget = Command::new("sh")
        .args(["-c", "command -v wget"])
        .output()
        .unwrap();
    let fake = Fake::new();
    let release = Release::start(fake.files(&fake.archive, &fake.sums_line()));
    let bin = fake.bin_dir();
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::write(bin.join("reconcile"), "old").unwrap();
    let downloader = if wget.status.success() {
        "wget"
    } else {
        println!("wget is not installed: this test uses curl");
        "curl"
    };
    let r = install(
        &release.base(),
        &[
            "--version",
            VERSION,
            "--to",
            to(&bin),
            "--target",
            &host_target(),
        ],
        &[("RECONCILE_DOWNLOADER", downloader)],
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        std::fs::read(bin.join("reconcile")).unwrap(),
        std::fs::read(env!("CARGO_BIN_EXE_reconcile")).unwrap()
    );
    // Only the binary: no temporary file is left next to it.
    let names: Vec<_> = std::fs::read_dir(&bin)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["reconcile"]);
}

#[test]
fn a_tampered_archive_is_refused_and_nothing_is_installed() {
    if let Some(reason) = tools_missing() {
        println!("{reason}");
        return;
    }
    let fake = Fake::new();
    let mut tampered = fake.archive.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    let release = Release::start(fake.files(&tampered, &fake.sums_line()));
    let bin = fake.bin_dir();
    let r = install(
        &release.base(),
        &["--version", VERSION, "--to", to(&bin)],
        &[],
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains(&format!(
            "checksum mismatch for {}",
            archive_name(&host_target())
        )),
        "{r:?}"
    );
    assert!(r.stderr.contains(&sha256_hex(&fake.archive)), "{r:?}");
    assert!(r.stderr.contains(&sha256_hex(&tampered)), "{r:?}");
    assert!(r.stderr.contains("nothing was installed"), "{r:?}");
    assert_nothing_installed(&bin);
}

#[test]
fn sha256sums_without_the_archive_line_is_refused() {
    if let Some(reason) = tools_missing() {
        println!("{reason}");
        return;
    }
    let fake = Fake::new();
    // Lines for the other targets only, and one whose name merely contains the archive's.
    let sums = format!(
        "{}  reconcile-{VERSION}-x86_64-pc-windows-msvc.zip\n{}  old-{}\n",
        "0".repeat(64),
        sha256_hex(&fake.archive),
        archive_name(&host_target()),
    );
    let release = Release::start(fake.files(&fake.archive, &sums));
    let bin = fake.bin_dir();
    let r = install(
        &release.base(),
        &["--version", VERSION, "--to", to(&bin)],
        &[],
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains(&format!(
            "SHA256SUMS of {VERSION} has no line for {}",
            archive_name(&host_target())
        )),
        "{r:?}"
    );
    assert_nothing_installed(&bin);

    // And an empty SHA256SUMS is the same refusal.
    let release = Release::start(fake.files(&fake.archive, ""));
    let r = install(
        &release.base(),
        &["--version", VERSION, "--to", to(&bin)],
        &[],
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("has no line for"), "{r:?}");
    assert_nothing_installed(&bin);
}

#[test]
fn a_missing_release_or_archive_says_what_to_check() {
    if let Some(reason) = tools_missing() {
        println!("{reason}");
        return;
    }
    let fake = Fake::new();
    let release = Release::start(fake.files(&fake.archive, &fake.sums_line()));
    let bin = fake.bin_dir();
    // A version that the release server does not have: 404.
    let r = install(
        &release.base(),
        &["--version", "v9.9.9", "--to", to(&bin)],
        &[],
    );
    assert_eq!(r.code, 1, "{r:?}");
    let url = format!(
        "{}/v9.9.9/reconcile-v9.9.9-{}.tar.gz",
        release.base(),
        host_target()
    );
    assert!(
        r.stderr.contains(&format!("could not download {url}")),
        "{r:?}"
    );
    assert!(
        r.stderr.contains("check that release v9.9.9 exists"),
        "{r:?}"
    );
    assert_nothing_installed(&bin);
    // A target the release has no archive for.
    let r = install(
        &release.base(),
        &[
            "--version",
            VERSION,
            "--to",
            to(&bin),
            "--target",
            "riscv64gc-unknown-linux-musl",
        ],
        &[],
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("has an archive for riscv64gc-unknown-linux-musl"),
        "{r:?}"
    );
    assert_nothing_installed(&bin);
    // Every request went to the loopback server, and no other host was asked.
    assert_eq!(release.requests().len(), 2, "{:?}", release.requests());
}

#[test]
fn bad_arguments_and_unsafe_download_bases_are_refused_before_any_download() {
    if let Some(reason) = tools_missing() {
        println!("{reason}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    let cases: [(&str, Vec<&str>, &str); 7] = [
        (
            "http://127.0.0.1:9/releases",
            vec!["--to", to(&bin)],
            "say which release to install: --version v0.2.0",
        ),
        (
            "http://127.0.0.1:9/releases",
            vec!["--version", "v1.0.0/../x", "--to", to(&bin)],
            "is not a release version",
        ),
        (
            "http://127.0.0.1:9/releases",
            vec![
                "--version",
                VERSION,
                "--target",
                "x86_64;rm",
                "--to",
                to(&bin),
            ],
            "is not a target triple",
        ),
        // Plain http to anything but loopback could be swapped on the way, checksum included.
        (
            "http://example.invalid/releases",
            vec!["--version", VERSION, "--to", to(&bin)],
            "must be an https:// URL",
        ),
        // A host that only starts like loopback is not loopback.
        (
            "http://127.0.0.1.example.invalid/releases",
            vec!["--version", VERSION, "--to", to(&bin)],
            "must be an https:// URL",
        ),
        (
            "http://127.0.0.1@example.invalid/releases",
            vec!["--version", VERSION, "--to", to(&bin)],
            "must be an https:// URL",
        ),
        (
            "http://127.0.0.1:9/releases",
            vec!["--version", VERSION, "--to", to(&bin), "--frobnicate"],
            "unknown argument '--frobnicate'",
        ),
    ];
    for (base, args, expected) in cases {
        let r = install(base, &args, &[]);
        assert_eq!(r.code, 1, "{args:?}: {r:?}");
        assert!(r.stderr.contains(expected), "{args:?}: {r:?}");
        assert!(!r.stderr.contains("downloading"), "{args:?}: {r:?}");
        assert_nothing_installed(&bin);
    }
}

/// The action's run step (scripts/github-action.sh run, as action.yml calls it) against the
/// sandbox, with a stand-in `gh` that records what it is asked: the outputs, the comment with the
/// plan (posted, then updated in place), the comment with the error, and apply of the saved plan.
#[test]
fn the_action_plans_comments_the_plan_or_the_error_and_applies_the_saved_plan() {
    for tool in ["bash", "jq"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !found {
            println!("skipped: `{tool}` is not installed, and scripts/github-action.sh needs it");
            return;
        }
    }
    let w = crate::harness::World::demo();
    let dir = w.dir.path();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/examples/demo/allowlist.yaml"),
        dir.join("users.yaml"),
    )
    .unwrap();
    let fake_bin = dir.join("fake-bin");
    std::fs::create_dir(&fake_bin).unwrap();
    let gh = fake_bin.join("gh");
    std::fs::write(
        &gh,
        r#"#!/bin/sh
printf '%s | MARKER=%s\n' "$*" "${MARKER:-}" >>"$GH_LOG"
for a in "$@"; do
  case "$a" in body=@*) cp "${a#body=@}" "$GH_LOG.body" ;; esac
done
case "$*" in *--paginate*) cat "$GH_LOG.existing" 2>/dev/null ;; esac
exit 0
"#,
    )
    .unwrap();
    std::fs::set_permissions(&gh, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let event = dir.join("event.json");
    std::fs::write(&event, r#"{"pull_request":{"number":7}}"#).unwrap();
    let gh_log = dir.join("gh.log");
    let output = dir.join("github-output");
    let step = |token: &str, inputs: &[(&str, &str)]| {
        let _ = std::fs::remove_file(&output);
        let _ = std::fs::remove_file(&gh_log);
        let mut cmd = Command::new("bash");
        cmd.arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scripts/github-action.sh"
        ))
        .arg("run")
        .current_dir(dir)
        .env_clear()
        .env(
            "PATH",
            format!(
                "{}:{}",
                fake_bin.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("NO_COLOR", "1")
        .env("RECONCILE_BIN", env!("CARGO_BIN_EXE_reconcile"))
        .env("CLOUDFLARE_BASE_URL", w.sandbox.base_url())
        .env("CLOUDFLARE_API_TOKEN", token)
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_STEP_SUMMARY", dir.join("summary.md"))
        .env("GITHUB_EVENT_PATH", &event)
        .env("GITHUB_REPOSITORY", "acme/allowlist")
        .env("RUNNER_TEMP", dir)
        .env("GH_LOG", &gh_log)
        .env("INPUT_FILES", "users.yaml")
        .env("INPUT_COMMENT", "true")
        .env("INPUT_GITHUB_TOKEN", "fake");
        for (key, value) in inputs {
            cmd.env(key, value);
        }
        let r = run(cmd);
        let outputs: BTreeMap<String, String> = std::fs::read_to_string(&output)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let calls = std::fs::read_to_string(&gh_log).unwrap_or_default();
        (r, outputs, calls)
    };
    let marker = format!(
        "<!-- reconcile:plan account={} -->",
        crate::harness::ACCOUNT
    );
    let out = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };

    // A plan with changes: the step passes, the outputs say so, the plan is the new comment.
    let plan = [("INPUT_COMMAND", "plan"), ("INPUT_ARGS", "--plan-ttl 7d")];
    let (r, outputs, calls) = step(crate::harness::TOKEN, &plan);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        outputs,
        out(&[
            ("exitcode", "2"),
            ("changes", "true"),
            ("deletions", "3"),
            ("plan-file", "plan.json"),
        ]),
        "{r:?}"
    );
    assert!(r.stdout.contains("## reconcile plan: 3 to delete"), "{r:?}");
    assert!(
        calls.contains("--paginate repos/acme/allowlist/issues/7/comments"),
        "{calls}"
    );
    assert!(calls.contains(&format!("MARKER={marker}")), "{calls}");
    assert!(
        calls.contains("--method POST repos/acme/allowlist/issues/7/comments"),
        "{calls}"
    );
    let body = std::fs::read_to_string(dir.join("gh.log.body")).unwrap();
    assert!(body.starts_with(&marker), "{body}");
    assert_eq!(w.deletes(), 0);

    // The next run finds that comment by its marker and updates it.
    std::fs::write(dir.join("gh.log.existing"), "4242\n").unwrap();
    let (r, _, calls) = step(crate::harness::TOKEN, &plan);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        calls.contains("--method PATCH repos/acme/allowlist/issues/comments/4242"),
        "{calls}"
    );
    assert!(!calls.contains("--method POST"), "{calls}");

    // No plan (the token is refused): the step fails and the error is the comment, under the
    // same marker, so it replaces the plan comment rather than adding one.
    let (r, outputs, calls) = step("wrong-token", &plan);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(outputs["exitcode"], "1");
    assert_eq!(outputs["changes"], "");
    assert_eq!(outputs["deletions"], "");
    assert!(
        calls.contains("--method PATCH repos/acme/allowlist/issues/comments/4242"),
        "{calls}"
    );
    let body = std::fs::read_to_string(dir.join("gh.log.body")).unwrap();
    assert!(body.starts_with(&marker), "{body}");
    assert!(body.contains("## reconcile plan: failed"), "{body}");
    assert!(body.contains("error:"), "{body}");
    assert_eq!(w.deletes(), 0);

    // Apply the saved plan (made by the first runs): three deletions, no comment.
    let (r, outputs, calls) = step(
        crate::harness::TOKEN,
        &[("INPUT_COMMAND", "apply"), ("INPUT_PLAN_FILE", "plan.json")],
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        outputs,
        out(&[
            ("exitcode", "0"),
            ("changes", "true"),
            ("deletions", "3"),
            ("plan-file", "plan.json"),
        ]),
        "{r:?}"
    );
    assert_eq!(w.deletes(), 3);
    assert_eq!(calls, "", "apply posts no comment");

    // check: read-only, no comment when it passes.
    let (r, outputs, calls) = step(crate::harness::TOKEN, &[("INPUT_COMMAND", "check")]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(outputs["exitcode"], "0");
    assert_eq!(calls, "", "a passing check posts no comment");

    // An unknown command is refused before anything runs.
    let (r, _, _) = step(crate::harness::TOKEN, &[("INPUT_COMMAND", "destroy")]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stdout
            .contains("must be plan, apply or check, not 'destroy'"),
        "{r:?}"
    );
}

/// The three places that name the release archives agree: the release workflow packs them,
/// install.sh downloads them, and cargo-binstall finds them through Cargo.toml.
#[test]
fn the_release_workflow_install_sh_and_binstall_name_the_same_archives() {
    let release = include_str!("../../.github/workflows/release.yml");
    let script = include_str!("../../scripts/install.sh");
    let manifest = include_str!("../../Cargo.toml");
    for (text, needle) in [
        (release, r#"name="reconcile-$TAG-$TARGET""#),
        (release, r#"tar -czf "dist/$name.tar.gz" -C dist "$name""#),
        (release, r#"7z a -tzip -bd "$name.zip" "$name""#),
        (script, r#"archive="reconcile-$version-$target.tar.gz""#),
        (script, r#"archive="reconcile-$version-$target.zip""#),
        (
            script,
            r#"binary="$tmp/unpacked/reconcile-$version-$target/$exe""#,
        ),
        (
            manifest,
            r#"pkg-url = "{ repo }/releases/download/v{ version }/reconcile-v{ version }-{ target }.tar.gz""#,
        ),
        (
            manifest,
            r#"pkg-url = "{ repo }/releases/download/v{ version }/reconcile-v{ version }-{ target }.zip""#,
        ),
        (
            manifest,
            r#"bin-dir = "reconcile-v{ version }-{ target }/{ bin }{ binary-ext }""#,
        ),
    ] {
        assert!(text.contains(needle), "{needle}");
    }
    // The five targets of the release are the five install.sh can pick.
    for target in [
        "x86_64-unknown-linux-musl",
        "aarch64-unknown-linux-musl",
        "x86_64-apple-darwin",
        "aarch64-apple-darwin",
        "x86_64-pc-windows-msvc",
    ] {
        assert!(release.contains(&format!("target: {target},")), "{target}");
        assert!(script.contains(target), "{target}");
    }
}
