//! A small builder that keeps each test short: a sandbox on an ephemeral loopback port, a temp
//! directory for desired-state files, and the real binary run with a clean environment.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use reconcile::sandbox::{Options, Sandbox, SandboxThread, Seed};

pub const ACCOUNT: &str = "023e105f4ecef8ad9ca31a8372d0c353";
pub const TOKEN: &str = "test-token-Zq8XbK2v";
pub const DEMO_SEED: &str = include_str!("../../examples/demo/seed.yaml");

pub struct World {
    pub sandbox: SandboxThread,
    pub dir: tempfile::TempDir,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

impl World {
    /// A sandbox seeded with examples/demo/seed.yaml.
    pub fn demo() -> World {
        World::with_seed(Seed::from_str(DEMO_SEED, "seed.yaml").unwrap())
    }

    pub fn with_seed(seed: Seed) -> World {
        let options = Options {
            token: TOKEN.to_string(),
            ..Options::default()
        };
        let sandbox = Sandbox::new(seed, options)
            .spawn_thread("127.0.0.1:0".parse().unwrap())
            .unwrap();
        World {
            sandbox,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// An allowlist file for the sandbox's account.
    pub fn allowlist(&self, emails: &[&str]) -> PathBuf {
        let mut text = format!("account_id: {ACCOUNT}\nusers:\n");
        for e in emails {
            text.push_str(&format!("  - {e}\n"));
        }
        self.file("users.yaml", &text)
    }

    /// An allowlist whose policy lets a plan delete any share of the account (tests of the
    /// executor, where the mass-deletion rail is beside the point).
    pub fn permissive_allowlist(&self, emails: &[&str]) -> PathBuf {
        let mut text =
            format!("account_id: {ACCOUNT}\npolicy:\n  max_delete_fraction: 1\nusers:\n");
        for e in emails {
            text.push_str(&format!("  - {e}\n"));
        }
        self.file("permissive.yaml", &text)
    }

    /// The binary, pointed at the sandbox with a valid token, and nothing else from the
    /// environment of the test run.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = bare(args);
        cmd.env("CLOUDFLARE_BASE_URL", self.sandbox.base_url())
            .env("CLOUDFLARE_API_TOKEN", TOKEN);
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Run {
        run(self.cmd(args))
    }

    /// Emails of the users the sandbox holds now, sorted.
    pub fn live_emails(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .sandbox
            .sandbox()
            .users()
            .iter()
            .map(|u| {
                u.get("email")
                    .and_then(|e| e.as_str())
                    .unwrap_or("(none)")
                    .to_string()
            })
            .collect();
        v.sort();
        v
    }

    /// DELETE requests the sandbox has received.
    pub fn deletes(&self) -> usize {
        self.sandbox
            .sandbox()
            .requests()
            .iter()
            .filter(|r| r.method == "DELETE")
            .count()
    }

    /// GET requests received so far (listings, verifications).
    pub fn gets(&self) -> usize {
        self.sandbox
            .sandbox()
            .requests()
            .iter()
            .filter(|r| r.method == "GET")
            .count()
    }

    pub fn requests(&self) -> usize {
        self.sandbox.sandbox().requests().len()
    }
}

/// The binary with a clean environment (no CLOUDFLARE_* or RECONCILE_* from the test runner).
pub fn bare(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_reconcile"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        // Retries back off from 10 ms, not 500 ms, so fault tests stay fast.
        .env("RECONCILE_RETRY_DELAY_MS", "10")
        .stdin(Stdio::null());
    cmd
}

pub fn run(mut cmd: Command) -> Run {
    Run::from(cmd.output().unwrap())
}

/// Run with `input` on stdin (a pipe, not a terminal).
pub fn run_with_stdin(mut cmd: Command, input: &str) -> Run {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    Run::from(child.wait_with_output().unwrap())
}

// Sandboxes with faults, and waiting on what the sandbox saw.
impl World {
    /// A sandbox with these options (the token is always [`TOKEN`]).
    pub fn with_options(seed: Seed, options: Options) -> World {
        let options = Options {
            token: TOKEN.to_string(),
            ..options
        };
        let sandbox = Sandbox::new(seed, options)
            .spawn_thread("127.0.0.1:0".parse().unwrap())
            .unwrap();
        World {
            sandbox,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Requests with this method answered with this status.
    pub fn count(&self, method: &str, status: u16) -> usize {
        self.sandbox
            .sandbox()
            .requests()
            .iter()
            .filter(|r| r.method == method && r.status == status)
            .count()
    }

    /// DELETE requests the sandbox holds now, received and not answered (see
    /// `Options::hold_deletes_after`).
    pub fn held(&self) -> usize {
        self.sandbox.sandbox().held()
    }

    /// Poll until `done` holds (every 10 ms, for at most 60 s).
    pub fn wait_until(&self, what: &str, done: impl Fn(&World) -> bool) {
        let start = std::time::Instant::now();
        while !done(self) {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(60),
                "timed out waiting for {what}"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

/// Send `GET path` with the test token straight to the sandbox, outside the client; the status.
pub fn raw_get(addr: std::net::SocketAddr, path: &str) -> u16 {
    use std::io::Read;
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap()
}

/// A loopback HTTP server for the cases the sandbox does not emulate: `answer` gets the request
/// line and returns the status line and the JSON body. Serves at most `max` connections.
pub fn loopback_api(
    max: usize,
    answer: impl Fn(&str) -> (&'static str, String) + Send + 'static,
) -> String {
    use std::io::{BufRead, BufReader, Read};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/client/v4", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(max) {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let (status, body) = answer(&request_line);
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

/// Send `signal` (`"INT"`, `"TERM"`) to a child process, as a person's Ctrl-C or a CI runner's
/// stop would.
pub fn signal(child: &std::process::Child, signal: &str) {
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal} failed");
}

/// Wait for a child started with piped stdout and stderr, as a [`Run`].
pub fn finish(child: std::process::Child) -> Run {
    Run::from(child.wait_with_output().unwrap())
}

/// A child whose stderr is read line by line as it comes, so that a test can wait for what the
/// run says before acting (a Ctrl-C once the previous one is acknowledged, say).
pub struct Watched {
    pub child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    reader: std::thread::JoinHandle<String>,
}

impl Watched {
    /// Spawn `cmd` with stdout and stderr piped.
    pub fn spawn(mut cmd: Command) -> Watched {
        use std::io::{BufRead, BufReader};
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut all = String::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                all.push_str(&line);
                all.push('\n');
                let _ = tx.send(line);
            }
            all
        });
        Watched {
            child,
            lines,
            reader,
        }
    }

    /// Wait (at most 60 s) for a line of stderr that contains `text`.
    pub fn wait_for_stderr(&self, text: &str) {
        let limit = std::time::Duration::from_secs(60);
        let start = std::time::Instant::now();
        loop {
            let left = limit.saturating_sub(start.elapsed());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(text) => return,
                Ok(_) => {}
                Err(e) => panic!("no line of stderr contains {text:?}: {e}"),
            }
        }
    }

    /// Wait for the child to end, as a [`Run`] (stderr whole, the lines already waited for
    /// included).
    pub fn finish(self) -> Run {
        let output = self.child.wait_with_output().unwrap();
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: self.reader.join().unwrap(),
        }
    }
}

/// The records of an audit log, one JSON value a line.
pub fn records(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Seven users, three a page: the world of the listing and first-contact tests.
pub mod seven {
    use super::*;
    use reconcile::sandbox::{Faults, Options, Seed};

    pub const ALLOWED: &[&str] = &["alice@example.com", "bob@example.com", "frank@example.com"];

    /// Seven users in this order: first (an extra), alice, bob, carol, dave, erin, frank.
    pub fn seed() -> Seed {
        let names = ["first", "alice", "bob", "carol", "dave", "erin", "frank"];
        let mut text = format!("account_id: {ACCOUNT}\nusers:\n");
        for (i, name) in names.iter().enumerate() {
            text.push_str(&format!(
                "  - id: 00000000-0000-4000-8000-00000000000{i}\n    email: {name}@example.com\n    name: {name}\n"
            ));
        }
        Seed::from_str(&text, "seed.yaml").unwrap()
    }

    /// Three users a page: pages [first alice bob] [carol dave erin] [frank].
    pub fn world(faults: Faults) -> World {
        World::with_options(
            seed(),
            Options {
                faults: Faults {
                    max_per_page: Some(3),
                    ..faults
                },
                ..Options::default()
            },
        )
    }

    pub fn apply(w: &World) -> Run {
        let file = w.permissive_allowlist(ALLOWED);
        w.run(&["apply", "--auto-approve", "-f", file.to_str().unwrap()])
    }

    /// List requests for page `n`.
    pub fn page_requests(w: &World, n: u32) -> usize {
        let want = format!("page={n}&");
        w.sandbox
            .sandbox()
            .requests()
            .iter()
            .filter(|r| {
                r.method == "GET" && r.query.as_deref().is_some_and(|q| q.starts_with(&want))
            })
            .count()
    }
}

// The door: writes to Zero Trust lists and Access groups.
impl World {
    /// Every write (POST, PUT, PATCH, DELETE) to a list or group the sandbox received, any
    /// status, in order, with its JSON body.
    pub fn door_writes(&self) -> Vec<reconcile::sandbox::DoorWrite> {
        self.sandbox.sandbox().door_writes()
    }

    /// DELETE requests of users the sandbox has received ([`World::deletes`] counts those of
    /// lists and groups too).
    pub fn user_deletes(&self) -> usize {
        self.sandbox
            .sandbox()
            .requests()
            .iter()
            .filter(|r| r.method == "DELETE" && r.path.contains("/access/users/"))
            .count()
    }

    /// Writes to lists or groups with this method that were done (answered 2xx).
    pub fn door_writes_done(&self, method: &str) -> usize {
        self.door_writes()
            .iter()
            .filter(|w| w.method == method && (200..300).contains(&w.status))
            .count()
    }
}

/// Whether util-linux's `script` is here: the terminal tests run the binary in its
/// pseudo-terminal with `script -qec CMD /dev/null`, which BSD's `script` (macOS) does not take.
pub fn util_linux_script() -> bool {
    Command::new("script")
        .arg("--version")
        .output()
        .map(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("util-linux"))
        .unwrap_or(false)
}

/// The GET requests one `plan` of `allowed` makes on a fresh demo account: one listing's worth,
/// to count the listings of another command against.
pub fn gets_of_one_plan(allowed: &[&str]) -> usize {
    let w = World::demo();
    let file = w.allowlist(allowed);
    let r = w.run(&["plan", "-f", file.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    w.gets()
}

/// Run `reconcile ARGS` in-process against the world's sandbox with a stdin that counts as a
/// terminal (the test runner has none to give the real binary), answering the prompt from
/// `stdin`. The result, stdout and what was prompted (stderr's prompt).
pub fn run_on_a_terminal(
    w: &World,
    args: &[&str],
    stdin: &mut (dyn std::io::BufRead + Send),
) -> (
    Result<reconcile::run::Exit, reconcile::run::Error>,
    String,
    String,
) {
    use reconcile::cli::{Cli, Environment, Settings};
    let cli = <Cli as clap::Parser>::try_parse_from(
        std::iter::once("reconcile").chain(args.iter().copied()),
    )
    .unwrap();
    let base = w.sandbox.base_url();
    let var = move |name: &str| match name {
        "CLOUDFLARE_API_TOKEN" => Some(TOKEN.to_string()),
        "CLOUDFLARE_BASE_URL" => Some(base.clone()),
        _ => None,
    };
    let settings = Settings::resolve(
        cli,
        &Environment {
            var: &var,
            stdin_is_terminal: true,
            stdout_is_terminal: false,
            stderr_is_terminal: false,
        },
    )
    .unwrap();
    let (mut stdout, mut prompt) = (Vec::new(), Vec::new());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let result = runtime.block_on(reconcile::run::run(
        settings,
        &mut reconcile::run::Streams {
            stdout: &mut stdout,
            prompt: &mut prompt,
            stdin,
            notes: &mut std::io::sink(),
        },
    ));
    (
        result,
        String::from_utf8(stdout).unwrap(),
        String::from_utf8(prompt).unwrap(),
    )
}

/// Send a raw request to the sandbox and wait for its answer: the status, the headers and the
/// body, which must be JSON (the sandbox answers nothing else).
pub fn send_raw(
    runtime: &tokio::runtime::Runtime,
    request: reqwest::RequestBuilder,
) -> (u16, reqwest::header::HeaderMap, serde_json::Value) {
    runtime.block_on(async {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {text}"));
        (status, headers, body)
    })
}

/// The id of the door list the door tests seed, `reconcile-allowlist-1` (the sandbox's first).
pub const LIST_1: &str = "aa0a4aab-672b-4bdb-bc33-a59f1130a11f";

/// The values of a sandbox list's items, lower-cased and sorted.
pub fn values(list: &serde_json::Value) -> Vec<String> {
    let mut v: Vec<String> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["value"].as_str().unwrap().to_lowercase())
        .collect();
    v.sort();
    v
}

/// The sandbox's list of this name, as it holds it now.
pub fn list_named(w: &World, name: &str) -> serde_json::Value {
    w.sandbox
        .sandbox()
        .lists()
        .into_iter()
        .find(|l| l["name"] == name)
        .unwrap_or_else(|| panic!("no list {name}"))
}

/// The sandbox's one group, as it holds it now.
pub fn the_group(w: &World) -> serde_json::Value {
    let groups = w.sandbox.sandbox().groups();
    assert_eq!(groups.len(), 1, "{groups:?}");
    groups[0].clone()
}

/// Every address of the demo seed, in its normal form.
pub const EVERYONE: &[&str] = &[
    "alice@example.com",
    "bob.martin@example.com",
    "carol@example.com",
    "dave.contractor@partner.example",
    "erin@example.com",
    "frank@example.com",
];

/// The door section the door tests use most: lists named `reconcile-allowlist-N`, and the
/// group "Allowlisted people".
pub const NAMED: &str =
    "  lists:\n    name: reconcile-allowlist\n  group:\n    name: Allowlisted people\n";

/// The users of the demo seed that keep their account: carol, dave and erin are deleted.
pub const KEPT: &[&str] = &[
    "alice@example.com",
    "bob.martin@example.com",
    "frank@example.com",
];

/// A desired state for the demo account: these users (YAML items) and, if given, this `door:`
/// section (YAML, indented by two).
pub fn door_desired(w: &World, users: &[&str], door: Option<&str>) -> String {
    let mut text = format!("account_id: {ACCOUNT}\nusers:\n");
    for e in users {
        text.push_str(&format!("  - {e}\n"));
    }
    if let Some(door) = door {
        text.push_str("door:\n");
        text.push_str(door);
    }
    let path = w.file("door.yaml", &text);
    path.to_str().unwrap().to_string()
}

/// The demo seed with these `lists:` and `groups:` (YAML, top level), and these faults.
pub fn door_world(door: &str, faults: reconcile::sandbox::Faults) -> World {
    World::with_options(
        reconcile::sandbox::Seed::from_str(&format!("{DEMO_SEED}{door}"), "seed.yaml").unwrap(),
        reconcile::sandbox::Options::default().with_faults(faults, None),
    )
}
