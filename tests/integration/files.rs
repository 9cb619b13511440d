//! Desired-state files through the binary: what `-f DIR` reads and what it refuses to pass over
//! in silence, byte-order marks and CRLF, the size cap of every file the user names (desired
//! state, saved plan, token file, seed), and the refusal of pipes and devices, which could make
//! a run wait forever.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::*;

/// Everyone in the demo seed with an address but carol, dave and erin; with
/// [`CAROL_DAVE_ERIN`] the allowlist keeps every user.
const MOST: &str = "account_id: 023e105f4ecef8ad9ca31a8372d0c353\npolicy:\n  max_delete_fraction: 1\nusers:\n  - alice@example.com\n  - bob.martin@example.com\n  - frank@example.com\n";
const CAROL_DAVE_ERIN: &str =
    "users:\n  - carol@example.com\n  - dave.contractor@partner.example\n  - erin@example.com\n";

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A directory `desired/` in the world's directory with `main.yaml` holding [`MOST`].
fn desired_dir(w: &World) -> PathBuf {
    let dir = w.dir.path().join("desired");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("main.yaml"), MOST).unwrap();
    dir
}

/// `apply --auto-approve -f DIR` must refuse, naming `entry`, and delete nobody: the users listed
/// in the entry passed over would otherwise be deleted.
fn assert_refused_and_nobody_deleted(w: &World, dir: &Path, entry: &str) {
    let before = w.live_emails();
    let r = w.run(&["apply", "--auto-approve", "-f", s(dir)]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("the desired state is not valid"), "{r:?}");
    assert!(r.stderr.contains(entry), "the message names {entry}: {r:?}");
    assert!(r.stderr.contains("help: "), "{r:?}");
    assert_eq!(w.deletes(), 0, "{r:?}");
    assert_eq!(w.live_emails(), before);
    let v = w.run(&["validate", "-f", s(dir)]);
    assert_eq!(v.code, 1, "{v:?}");
    assert!(v.stderr.contains(entry), "{v:?}");
}

#[test]
fn a_directory_reads_yaml_files_in_any_letter_case_and_lists_them() {
    let w = World::demo();
    let dir = desired_dir(&w);
    std::fs::write(dir.join("A.YAML"), "users: [carol@example.com]\n").unwrap();
    std::fs::write(dir.join("b.Yml"), "users: [erin@example.com]\n").unwrap();
    std::fs::write(dir.join("README.md"), "# not desired state\n").unwrap();
    std::fs::write(dir.join(".gitkeep"), "").unwrap();
    let r = w.run(&["validate", "-f", s(&dir)]);
    assert_eq!(r.code, 0, "{r:?}");
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "valid: 5 users, 0 domains, 0 protected in 3 files (account 023e105f4ecef8ad9ca31a8372d0c353)",
            &format!("  {}", s(&dir.join("A.YAML"))),
            &format!("  {}", s(&dir.join("b.Yml"))),
            &format!("  {}", s(&dir.join("main.yaml"))),
        ],
        "{r:?}"
    );
    // Applying it keeps carol and erin, whose files are upper- and mixed-case.
    let r = w.run(&["apply", "--auto-approve", "-f", s(&dir)]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.deletes(), 1, "only dave: {r:?}");
    assert!(w.live_emails().contains(&"carol@example.com".to_string()));
    assert!(w.live_emails().contains(&"erin@example.com".to_string()));
}

#[test]
fn a_subdirectory_is_an_error_not_skipped() {
    let w = World::demo();
    let dir = desired_dir(&w);
    std::fs::create_dir(dir.join("team")).unwrap();
    std::fs::write(dir.join("team/more.yaml"), CAROL_DAVE_ERIN).unwrap();
    assert_refused_and_nobody_deleted(&w, &dir, "team` is a directory");
}

#[cfg(unix)]
#[test]
fn a_dangling_symlink_is_an_error_not_skipped() {
    let w = World::demo();
    let dir = desired_dir(&w);
    std::os::unix::fs::symlink("../moved-away.yaml", dir.join("team.yaml")).unwrap();
    assert_refused_and_nobody_deleted(
        &w,
        &dir,
        "team.yaml` is a symbolic link to `../moved-away.yaml`, which does not exist",
    );
}

#[test]
fn a_name_with_a_trailing_space_is_an_error_not_skipped() {
    let w = World::demo();
    let dir = desired_dir(&w);
    std::fs::write(dir.join("team.yaml "), CAROL_DAVE_ERIN).unwrap();
    assert_refused_and_nobody_deleted(&w, &dir, "team.yaml ` looks like a YAML file");
}

#[cfg(unix)]
#[test]
fn a_name_that_is_not_utf8_is_an_error_naming_it_escaped() {
    use std::os::unix::ffi::OsStrExt;
    let w = World::demo();
    let dir = desired_dir(&w);
    let name = std::ffi::OsStr::from_bytes(b"team\xff.yaml");
    std::fs::write(dir.join(name), CAROL_DAVE_ERIN).unwrap();
    assert_refused_and_nobody_deleted(&w, &dir, "team\\xff.yaml` has a name that is not UTF-8");
}

#[test]
fn a_byte_order_mark_and_crlf_line_ends_are_read_with_right_positions() {
    let w = World::demo();
    let good = w.file(
        "bom.yaml",
        "\u{feff}account_id: 023e105f4ecef8ad9ca31a8372d0c353\r\nusers:\r\n  - alice@example.com\r\n  - bob.martin@example.com\r\n",
    );
    let r = w.run(&["validate", "-f", s(&good)]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.starts_with("valid: 2 users"), "{r:?}");
    let bad = w.file(
        "bad.yaml",
        "\u{feff}users:\r\n  - alice@example.com\r\n  - not-an-address\r\nuserz: []\r\n",
    );
    let r = w.run(&["validate", "-f", s(&bad)]);
    assert_eq!(r.code, 1, "{r:?}");
    let at = |line_col: &str| format!("{}:{line_col}: ", s(&bad));
    assert!(r.stderr.contains(&at("3:5")), "{r:?}");
    assert!(
        r.stderr
            .contains(&format!("{}unknown key `userz`", at("4:1"))),
        "{r:?}"
    );
    assert!(!r.stderr.contains("\u{feff}"), "{r:?}");
    assert_eq!(w.deletes(), 0);
}

/// Run to the end, or fail the test (killing the child) after `limit`, a bound no correct run
/// comes near: a file that never ends must be refused after the size cap, not read until memory
/// runs out, and a pipe must be refused, not waited on.
fn run_within(mut cmd: Command, limit: Duration) -> Run {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running after {limit:?}: it is reading or waiting on a file it should have refused");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let output = child.wait_with_output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn run_bounded(cmd: Command) -> Run {
    run_within(cmd, Duration::from_secs(30))
}

/// A regular file of `len` zero bytes that takes no space (sparse).
fn huge_file(w: &World, name: &str, len: u64) -> PathBuf {
    let path = w.dir.path().join(name);
    std::fs::File::create(&path).unwrap().set_len(len).unwrap();
    path
}

#[test]
fn a_huge_desired_state_file_is_refused_at_the_cap() {
    let w = World::demo();
    let file = huge_file(&w, "huge.yaml", 16 * 1024 * 1024 + 1);
    let r = run_bounded(w.cmd(&["apply", "--auto-approve", "-f", s(&file)]));
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains(&format!(
            "{}:1:1: the file holds more than the limit of 16777216 bytes",
            s(&file)
        )),
        "{r:?}"
    );
    assert_eq!(w.requests(), 0, "{r:?}");
}

#[test]
fn a_huge_saved_plan_is_refused_at_the_cap() {
    let w = World::demo();
    let file = w.file("users.yaml", MOST);
    let plan = huge_file(&w, "plan.json", 64 * 1024 * 1024 + 1);
    let r = run_bounded(w.cmd(&["apply", s(&plan), "-f", s(&file)]));
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains(&format!(
            "{}: not a reconcile saved plan (it holds more than the limit of 67108864 bytes)",
            s(&plan)
        )),
        "{r:?}"
    );
    assert_eq!(w.requests(), 0, "{r:?}");
}

#[test]
fn a_huge_token_file_is_refused_at_the_cap() {
    let w = World::demo();
    let file = w.file("users.yaml", MOST);
    let token = huge_file(&w, "token", 65536 + 1);
    let mut cmd = w.cmd(&["plan", "--api-token-file", s(&token), "-f", s(&file)]);
    cmd.env_remove("CLOUDFLARE_API_TOKEN");
    let r = run_bounded(cmd);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains(&format!(
            "--api-token-file {}: it holds more than the limit of 65536 bytes",
            s(&token)
        )),
        "{r:?}"
    );
    assert_eq!(w.requests(), 0, "{r:?}");
}

#[test]
fn a_huge_sandbox_seed_is_refused_at_the_cap() {
    let w = World::demo();
    let seed = huge_file(&w, "seed.yaml", 64 * 1024 * 1024 + 1);
    let r = run_bounded(bare(&[
        "sandbox",
        "--seed",
        s(&seed),
        "--listen",
        "127.0.0.1:0",
    ]));
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains(&format!(
            "could not read the sandbox seed {}: it holds more than the limit of 67108864 bytes",
            s(&seed)
        )),
        "{r:?}"
    );
}

/// A named pipe in the world's directory. Opening one for reading waits until something writes
/// to it, which nothing here ever does.
fn fifo(w: &World, name: &str) -> PathBuf {
    let path = w.dir.path().join(name);
    let made = Command::new("mkfifo").arg(&path).status().unwrap();
    assert!(made.success());
    path
}

const NOT_REGULAR: &str = "a named pipe (FIFO), not a regular file, so it was not read";

#[test]
fn a_pipe_or_a_device_given_as_desired_state_is_refused_not_waited_on() {
    let w = World::demo();
    let pipe = fifo(&w, "p.yaml");
    for args in [
        vec!["validate", "-f", s(&pipe)],
        vec!["apply", "--auto-approve", "-f", s(&pipe)],
    ] {
        let r = run_within(w.cmd(&args), Duration::from_secs(10));
        assert_eq!(r.code, 1, "{r:?}");
        assert!(
            r.stderr
                .contains(&format!("{}:1:1: this is {NOT_REGULAR}", s(&pipe))),
            "{r:?}"
        );
        assert!(r.stderr.contains("help: "), "{r:?}");
    }
    // A device: /dev/zero would never end, /dev/null reads as an empty allowlist.
    for device in ["/dev/zero", "/dev/null"] {
        let r = run_within(
            w.cmd(&["apply", "--auto-approve", "-f", device]),
            Duration::from_secs(10),
        );
        assert_eq!(r.code, 1, "{r:?}");
        assert!(
            r.stderr.contains(&format!(
                "{device}:1:1: this is a character device, not a regular file"
            )),
            "{r:?}"
        );
    }
    assert_eq!(w.requests(), 0);
}

#[test]
fn a_pipe_given_as_a_plan_token_key_or_seed_file_is_refused_not_waited_on() {
    let w = World::demo();
    let file = w.file("users.yaml", MOST);
    let pipe = fifo(&w, "p");
    let out = w.dir.path().join("plan.json");
    let within = |cmd: Command| run_within(cmd, Duration::from_secs(10));
    let r = within(w.cmd(&["apply", s(&pipe), "-f", s(&file)]));
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains(&format!("{}: it is {NOT_REGULAR}", s(&pipe))),
        "{r:?}"
    );
    let mut cmd = w.cmd(&["plan", "--api-token-file", s(&pipe), "-f", s(&file)]);
    cmd.env_remove("CLOUDFLARE_API_TOKEN");
    let r = within(cmd);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains(&format!(
            "--api-token-file {}: it is {NOT_REGULAR}",
            s(&pipe)
        )),
        "{r:?}"
    );
    let r = within(w.cmd(&[
        "plan",
        "--plan-key-file",
        s(&pipe),
        "--out",
        s(&out),
        "-f",
        s(&file),
    ]));
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains(&format!(
            "--plan-key-file {}: it is {NOT_REGULAR}",
            s(&pipe)
        )),
        "{r:?}"
    );
    assert_eq!(w.requests(), 0);
    let r = within(bare(&[
        "sandbox",
        "--seed",
        s(&pipe),
        "--listen",
        "127.0.0.1:0",
    ]));
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains(&format!(
            "could not read the sandbox seed {}: it is {NOT_REGULAR}",
            s(&pipe)
        )),
        "{r:?}"
    );
    // The audit log is opened to append, not read through the bounded reader: refused too,
    // before anything is listed or deleted.
    let allow = w.allowlist(&[
        "alice@example.com",
        "bob.martin@example.com",
        "frank@example.com",
        "grace@example.com",
    ]);
    let before = w.requests();
    let r = within(w.cmd(&[
        "apply",
        "--auto-approve",
        "--audit-log",
        s(&pipe),
        "-f",
        s(&allow),
    ]));
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains(&format!("audit log {}: it is {NOT_REGULAR}", s(&pipe))),
        "{r:?}"
    );
    assert_eq!(w.requests(), before);
    assert_eq!(w.deletes(), 0);
    let r = within(bare(&["audit", "verify", s(&pipe)]));
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains(NOT_REGULAR), "{r:?}");
}

/// Names that show as, or read as, `*.yaml` without being named so: each must refuse the run
/// (naming the entry, escaped) rather than be passed over, which would delete carol, dave and
/// erin, whom only that file allows.
#[test]
fn a_name_that_only_looks_like_yaml_is_an_error_not_skipped() {
    let cases = [
        ("b.yaml\u{ad}", "b.yaml\\u{ad}` has a name holding U+00AD"),
        (
            "b.yaml\u{2066}",
            "b.yaml\\u{2066}` has a name holding U+2066",
        ),
        (
            "b.yaml\u{202e}",
            "b.yaml\\u{202e}` has a name holding U+202E",
        ),
        (
            "b.yaml\u{3164}",
            "b.yaml\\u{3164}` has a name holding U+3164",
        ),
        (
            "b.yaml\u{fe0f}",
            "b.yaml\\u{fe0f}` has a name holding U+FE0F",
        ),
        (
            "x\u{202e}lmay.txt",
            "x\\u{202e}lmay.txt` has a name holding U+202E",
        ),
        (
            "g.yaml.",
            "g.yaml.` looks like a YAML file but is not named .yaml: rename it or remove it",
        ),
        (
            "i.yamI",
            "i.yamI` looks like a YAML file but is not named .yaml",
        ),
        (
            "j.\u{ff59}\u{ff41}\u{ff4d}\u{ff4c}",
            "j.\u{ff59}\u{ff41}\u{ff4d}\u{ff4c}` looks like a YAML file",
        ),
        ("c.y\u{430}ml", "c.y\u{430}ml` looks like a YAML file"),
    ];
    for (name, message) in cases {
        let w = World::demo();
        let dir = desired_dir(&w);
        std::fs::write(dir.join(name), CAROL_DAVE_ERIN).unwrap();
        assert_refused_and_nobody_deleted(&w, &dir, message);
    }
}

#[test]
fn files_with_clearly_other_extensions_are_still_passed_over() {
    let w = World::demo();
    let dir = desired_dir(&w);
    for name in ["users.yaml.bak", "users.yaml~", "notes.txt", "users.json"] {
        std::fs::write(dir.join(name), CAROL_DAVE_ERIN).unwrap();
    }
    let r = w.run(&["validate", "-f", s(&dir)]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains(" in 1 file "), "{r:?}");
}
