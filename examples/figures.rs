//! Measured figures, against the sandbox on loopback (see docs/performance.md):
//!
//! ```text
//! cargo run --release --example figures -- list     # 1. listing 100,000 users, 20 ms latency (and 7.
//!                                                    #    the same through the official Python SDK,
//!                                                    #    when `SDK_PYTHON` or python3 has it)
//! cargo run --release --example figures -- delete   # 2. deleting 600 users at 120 requests / 10 s
//! cargo run --release --example figures -- plan     # 3. planning 1,000,000 users vs 500,000 allowed
//! cargo run --release --example figures -- patterns # 4. planning 100,000 users vs 5,000 unmatched protected patterns
//! cargo build --release && cargo run --release --example figures -- e2e [RUNS]
//!                                                    # 5. the commands end to end, 100,000 users
//! ```
//!
//! Each prints what it measured; nothing here asserts a time (timings are not tests).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use reconcile::apply::{self, AuditContext, ExecSettings};
use reconcile::cloudflare::{Client, ClientConfig, Credentials};
use reconcile::config;
use reconcile::model::LiveUser;
use reconcile::plan;
use reconcile::progress::Progress;
use reconcile::sandbox::{Faults, Options, RateLimit, Sandbox, Seed, DEFAULT_ACCOUNT_ID};
use reconcile::secret::Secret;

fn main() {
    let which = std::env::args().nth(1).unwrap_or_else(|| "all".into());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    match which.as_str() {
        "list" => {
            // The old fixed 4 pages at once, then the budget's choice, in the same run.
            let fixed = runtime.block_on(listing(Some(4)));
            let auto = runtime.block_on(listing(None));
            println!("   adaptive / fixed 4: {:.2}x the wall time", auto / fixed);
            if let Some(sdk) = runtime.block_on(sdk_listing()) {
                println!(
                    "   the official Python SDK / reconcile: {:.1}x the wall time",
                    sdk / auto
                );
            }
        }
        "delete" => runtime.block_on(deleting()),
        "plan" => planning(),
        "patterns" => patterns(),
        "e2e" => end_to_end(&runtime, std::env::args().nth(2)),
        "all" => {
            runtime.block_on(listing(None));
            runtime.block_on(deleting());
            planning();
            patterns();
        }
        other => eprintln!("unknown figure `{other}`: list, delete, plan, patterns, e2e or all"),
    }
}

fn account() -> reconcile::model::AccountId {
    reconcile::model::AccountId::parse(DEFAULT_ACCOUNT_ID).expect("the sandbox's account id")
}

fn client(url: &str, config: ClientConfig) -> Client {
    Client::with_config(
        url,
        Credentials::Token(Secret::new("sandbox-token")),
        &account(),
        ClientConfig {
            observer: Progress::new(reconcile::progress::Mode::Hidden).observer(),
            ..config
        },
    )
    .unwrap()
}

/// The sandbox of figure 1: 100,000 users, 20 ms before each answer.
async fn slow_sandbox(users: usize, latency: Duration) -> reconcile::sandbox::RunningSandbox {
    let mut seed = Seed::empty(DEFAULT_ACCOUNT_ID);
    seed.generate(users);
    let options = Options::default().with_faults(
        Faults {
            latency,
            ..Faults::default()
        },
        None,
    );
    Sandbox::new(seed, options)
        .bind(([127, 0, 0, 1], 0).into())
        .await
        .unwrap()
}

async fn listing(concurrency: Option<usize>) -> f64 {
    let users = 100_000;
    let latency = Duration::from_millis(20);
    let server = slow_sandbox(users, latency).await;
    let c = client(
        &server.base_url(),
        ClientConfig {
            list_concurrency: concurrency,
            ..ClientConfig::default()
        },
    );
    let start = Instant::now();
    let listing = c.list_users().await.unwrap();
    let wall = start.elapsed();
    let requests = server.sandbox().requests().len();
    let pages = users.div_ceil(1000);
    // What the client chooses with a fresh 1200/300 s budget (cloudflare::budget::
    // list_concurrency): the requested figure, or 16 while the budget has 16 left.
    let workers = concurrency.unwrap_or(16).min(pages - 1);
    let asked = concurrency.map_or("not given".to_string(), |n| n.to_string());
    // Page 1 alone, then the rest `workers` at a time; the ideal is
    // ceil(pages / workers) × latency.
    let ideal = latency * pages.div_ceil(workers) as u32;
    println!(
        "1. listing {users} users, {} ms latency per request, --list-concurrency {asked} ({workers} at once)",
        latency.as_millis()
    );
    println!("   users listed:   {}", listing.users.len());
    println!("   wall time:      {:.3} s", wall.as_secs_f64());
    println!("   requests sent:  {requests} ({pages} pages)");
    println!(
        "   ideal:          {:.3} s = ceil({pages} / {workers}) x {} ms",
        ideal.as_secs_f64(),
        latency.as_millis()
    );
    println!(
        "   ratio to ideal: {:.2}x (target <= 1.5x)",
        wall.as_secs_f64() / ideal.as_secs_f64()
    );
    server.shutdown().await;
    wall.as_secs_f64()
}

/// The same listing through the official Python SDK's auto-pagination (`examples/sdk_list.py`),
/// with the Python that `SDK_PYTHON` names (`python3` by default); `None`, said on stdout, when it
/// has no `cloudflare` package (`pip install cloudflare`).
async fn sdk_listing() -> Option<f64> {
    let python = std::env::var("SDK_PYTHON").unwrap_or_else(|_| "python3".into());
    let has_sdk = std::process::Command::new(&python)
        .args(["-c", "import cloudflare"])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_sdk {
        println!("   the official Python SDK: not measured ({python} has no `cloudflare` package: pip install cloudflare, or set SDK_PYTHON to a Python that has it)");
        return None;
    }
    let users = 100_000;
    let server = slow_sandbox(users, Duration::from_millis(20)).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/sdk_list.py");
    let start = Instant::now();
    let mut command = std::process::Command::new(&python);
    command
        .arg(script)
        .arg(server.base_url())
        .arg(DEFAULT_ACCOUNT_ID)
        .env("CLOUDFLARE_API_TOKEN", reconcile::sandbox::DEFAULT_TOKEN);
    // Waited for off the runtime, which serves the sandbox meanwhile.
    let out = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    let wall = start.elapsed().as_secs_f64();
    let requests = server.sandbox().requests().len();
    server.shutdown().await;
    let listed = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        out.status.success() && listed == users.to_string(),
        "the SDK listed {listed:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!("1. the same listing through the official Python SDK (cloudflare, auto-pagination, per_page=1000)");
    println!("   users listed:   {listed}");
    println!("   wall time:      {wall:.3} s");
    println!("   requests sent:  {requests}");
    Some(wall)
}

async fn deleting() {
    let users = 600;
    let limit = RateLimit {
        quota: 120,
        window: Duration::from_secs(10),
    };
    let mut seed = Seed::empty(DEFAULT_ACCOUNT_ID);
    seed.generate(users);
    let options = Options::default().with_faults(Faults::default(), Some(limit));
    let server = Sandbox::new(seed, options)
        .bind(([127, 0, 0, 1], 0).into())
        .await
        .unwrap();
    let c = client(
        &server.base_url(),
        ClientConfig {
            rate_limit: "120/10".parse().unwrap(),
            ..ClientConfig::default()
        },
    );
    let desired = config::parse_str(
        &format!("account_id: {DEFAULT_ACCOUNT_ID}\nusers: [nobody@example.com]\npolicy: {{allow_delete_all: true}}\n"),
        "empty.yaml",
    )
    .unwrap();
    let start = Instant::now();
    let listing = c.list_users().await.unwrap();
    let shown = plan::compute(
        &desired,
        &listing.users,
        &plan::Policy::at(&account(), reconcile::date::Clock::System.unix()),
    );
    let (confirmed, _) = plan::recheck::recheck(
        shown.delete.iter().map(plan::recheck::Reviewed::shown),
        &shown,
    )
    .expect("the bench allowlist allows deleting everyone")
    .split();
    let settings = ExecSettings {
        parallelism: 4,
        ..ExecSettings::default()
    };
    let context = AuditContext::new(&desired, &shown, &settings);
    let (_tx, rx) = tokio::sync::watch::channel(apply::Presses::default());
    let execution = apply::execute_with(confirmed, &c, &settings, None, &context, rx).await;
    let wall = start.elapsed();
    let requests = server.sandbox().requests();
    let sent = requests.len();
    let limited = requests.iter().filter(|r| r.status == 429).count();
    let counts = execution.report.counts();
    let budget_rate = f64::from(limit.quota) / limit.window.as_secs_f64();
    let rate = sent as f64 / wall.as_secs_f64();
    // The fastest any client can send `sent` requests: a full quota at once, then one more
    // quota per window.
    let fastest = limit.window * (sent.div_ceil(limit.quota as usize) as u32 - 1);
    println!("2. deleting {users} users, sandbox enforcing {}/{} s, client --rate-limit 120/10, parallelism 4", limit.quota, limit.window.as_secs());
    println!(
        "   deleted:        {} (already gone {}, failed {}, not attempted {})",
        counts.deleted, counts.already_gone, counts.failed, counts.not_attempted
    );
    println!("   requests sent:  {sent} (listing, deletions, final listing)");
    println!("   429s received:  {limited} (target 0)");
    println!(
        "   wall time:      {:.1} s (the fastest possible for {sent} requests: {:.0} s)",
        wall.as_secs_f64(),
        fastest.as_secs_f64()
    );
    println!(
        "   achieved rate:  {rate:.2} requests/s = {:.2} of the budget's {budget_rate:.0}/s (target >= 0.9)",
        rate / budget_rate
    );
    println!(
        "   vs the fastest possible: {:.2}",
        fastest.as_secs_f64() / wall.as_secs_f64()
    );
    server.shutdown().await;
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn planning() {
    let live_n = 1_000_000usize;
    let allowed_n = 500_000usize;
    let mut yaml = String::with_capacity(allowed_n * 40);
    yaml.push_str(&format!("account_id: {DEFAULT_ACCOUNT_ID}\nusers:\n"));
    // Every other live user is allowed: 500,000 kept, 500,000 deleted.
    for i in 0..allowed_n {
        yaml.push_str(&format!("  - user{:07}@example.com\n", i * 2));
    }
    let desired = config::parse_str(&yaml, "allowlist.yaml").unwrap();
    drop(yaml);
    let user = |i: usize| LiveUser {
        id: Some(format!("00000000-0000-4000-8000-{i:012}")),
        email: Some(format!("User{i:07}@Example.com")),
        name: Some(format!("User {i}")),
        ..LiveUser::default()
    };
    let live: Vec<LiveUser> = (0..live_n).map(user).collect();
    let before_rss = rss_kib();
    // The users move into the plan, as in `reconcile plan` (no copy of the listing).
    let (plan, wall) = plan_timed(&desired, live);
    let peak = peak_rss_kib();
    println!("3. planning {live_n} live users against {allowed_n} allowed (pure plan::compute)");
    println!(
        "   delete {}, keep {}, held {}",
        plan.delete.len(),
        plan.keep.len(),
        plan.held.len()
    );
    println!(
        "   time:           {:.3} s (target < 1 s)",
        wall.as_secs_f64()
    );
    if let (Some(before), Some(peak)) = (before_rss, peak) {
        println!(
            "   peak memory:    {:.0} MiB for the whole process (inputs {:.0} MiB before planning; planning added at most {:.0} MiB) (target < 1 GiB)",
            peak as f64 / 1024.0,
            before as f64 / 1024.0,
            peak.saturating_sub(before) as f64 / 1024.0
        );
    }
    // The API lists users in an order of its own, not by address: the same users listed in a
    // fixed scattered order (i * 7919 mod n, a permutation: 7919 is prime and does not divide
    // n), so that the plan's sorts have work to do. The ratio is to the run above, in order.
    std::mem::forget(plan);
    let scattered: Vec<LiveUser> = (0..live_n).map(|k| user(k * 7919 % live_n)).collect();
    let (plan, scattered_wall) = plan_timed(&desired, scattered);
    println!(
        "   listed in a scattered order: {:.3} s ({:.2}x the run in address order); delete {}",
        scattered_wall.as_secs_f64(),
        scattered_wall.as_secs_f64() / wall.as_secs_f64(),
        plan.delete.len()
    );
    std::mem::forget(plan);
}

/// The plan of `live` now, as `reconcile plan` makes it (the users move into it), and how long
/// it took.
fn plan_timed(desired: &config::Desired, live: Vec<LiveUser>) -> (plan::Plan, Duration) {
    let start = Instant::now();
    let plan = plan::compute_owned(
        desired,
        live,
        &plan::Policy::at(&account(), reconcile::date::Clock::System.unix()),
    );
    (plan, start.elapsed())
}

fn patterns() {
    let live_n = 100_000usize;
    let patterns_n = 5_000usize;
    let mut yaml = format!(
        "account_id: {DEFAULT_ACCOUNT_ID}\npolicy: {{max_delete_fraction: 1}}\nusers: [user0000000@example.com]\nprotected:\n"
    );
    // The common shapes, none matching a live user: `*@domain` and `local@*`.
    for i in 0..patterns_n {
        if i % 2 == 0 {
            yaml.push_str(&format!("  - \"*@team{i}.example\"\n"));
        } else {
            yaml.push_str(&format!("  - \"robot{i}@*\"\n"));
        }
    }
    let desired = config::parse_str(&yaml, "allowlist.yaml").unwrap();
    let live: Vec<LiveUser> = (0..live_n)
        .map(|i| LiveUser {
            id: Some(format!("00000000-0000-4000-8000-{i:012}")),
            email: Some(format!("user{i:07}@example.com")),
            ..LiveUser::default()
        })
        .collect();
    let (plan, wall) = plan_timed(&desired, live);
    println!(
        "4. planning {live_n} live users against {patterns_n} unmatched protected patterns (*@domain and local@*)"
    );
    println!(
        "   delete {}, keep {}, held {}, unmatched protected {}",
        plan.delete.len(),
        plan.keep.len(),
        plan.held.len(),
        plan.unmatched_protected.len()
    );
    println!("   time:           {:.3} s", wall.as_secs_f64());
}

/// One command of the end-to-end figure, as a user types it (after `reconcile`).
struct Flow {
    name: &'static str,
    args: Vec<String>,
    /// Stop at the first DELETE the sandbox receives (it holds them) instead of the end.
    until_first_delete: bool,
    /// Talks to the API (gets `--api-url`).
    api: bool,
}

/// What one run of a flow took.
#[derive(Clone, Copy, Default)]
struct Took {
    wall: f64,
    /// Peak resident memory of the `reconcile` process, KiB.
    peak_kib: u64,
    out_bytes: u64,
    out_lines: u64,
}

/// The real binary against the sandbox: `reconcile export` (list + write) is the baseline, and
/// every `plan` format and `apply --auto-approve` up to its first DELETE are measured against it
/// in the same run. The binary runs as a child process, stdout to a file, so that what is
/// measured is what a user runs (start-up, argument resolution, reading the allowlist, listing,
/// planning, rendering, writing).
fn end_to_end(runtime: &tokio::runtime::Runtime, runs: Option<String>) {
    let runs: usize = runs.and_then(|r| r.parse().ok()).unwrap_or(3).max(1);
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .and_then(|examples| examples.parent())
        .map(|dir| dir.join("reconcile"))
        .unwrap();
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --release` first",
        bin.display()
    );
    let users = 100_000usize;
    println!(
        "5. the commands end to end: {users} generated users in the sandbox (in-process, no latency), \
         {} (median of {runs} run{})",
        std::env::current_dir()
            .ok()
            .and_then(|here| bin.strip_prefix(here).ok())
            .unwrap_or(&bin)
            .display(),
        if runs == 1 { "" } else { "s" }
    );
    for kept in [75_000usize, 50_000] {
        let deletions = users - kept;
        let dir = tempfile::tempdir().unwrap();
        let mut yaml = format!("account_id: {DEFAULT_ACCOUNT_ID}\nusers:\n");
        for i in 1..=kept {
            yaml.push_str(&format!("  - user{i:06}@generated.example\n"));
        }
        let allowlist = dir.path().join("users.yaml");
        std::fs::write(&allowlist, yaml).unwrap();
        let allowlist = allowlist.display().to_string();
        let rails = ["--allow-deletes".to_string(), deletions.to_string()];
        let plan = |extra: &[&str]| {
            let mut args = vec!["plan".to_string(), "-f".into(), allowlist.clone()];
            args.extend(rails.iter().cloned());
            args.extend(extra.iter().map(|s| s.to_string()));
            args
        };
        let flows = [
            Flow {
                name: "export",
                args: vec![
                    "export".into(),
                    "--account-id".into(),
                    DEFAULT_ACCOUNT_ID.into(),
                ],
                until_first_delete: false,
                api: true,
            },
            Flow {
                name: "plan (human)",
                args: plan(&[]),
                until_first_delete: false,
                api: true,
            },
            Flow {
                name: "plan --format json",
                args: plan(&["--format", "json"]),
                until_first_delete: false,
                api: true,
            },
            Flow {
                name: "plan --format markdown",
                args: plan(&["--format", "markdown"]),
                until_first_delete: false,
                api: true,
            },
            Flow {
                name: "apply --auto-approve, to the 1st DELETE",
                args: {
                    let mut args = vec![
                        "apply".to_string(),
                        "-f".into(),
                        allowlist.clone(),
                        "--auto-approve".into(),
                    ];
                    args.extend(rails.iter().cloned());
                    args
                },
                until_first_delete: true,
                api: true,
            },
            Flow {
                // Not a ratio to meet: what reading the allowlist costs on its own, a part of
                // every plan that export does not do.
                name: "(validate -f: reading the allowlist alone)",
                args: vec!["validate".into(), "-f".into(), allowlist.clone()],
                until_first_delete: false,
                api: false,
            },
        ];
        let mut took: Vec<Vec<Took>> = vec![Vec::new(); flows.len()];
        for _ in 0..runs {
            for (i, flow) in flows.iter().enumerate() {
                took[i].push(run_flow(runtime, &bin, flow, users, dir.path()));
            }
        }
        let median = |v: &[Took]| {
            let mut walls: Vec<f64> = v.iter().map(|t| t.wall).collect();
            walls.sort_by(f64::total_cmp);
            let mut peaks: Vec<u64> = v.iter().map(|t| t.peak_kib).collect();
            peaks.sort_unstable();
            Took {
                wall: walls[walls.len() / 2],
                peak_kib: peaks[peaks.len() / 2],
                ..v[0]
            }
        };
        let medians: Vec<Took> = took.iter().map(|v| median(v)).collect();
        // The spread of each command's wall time over the runs, as a ratio to export's median.
        let spread = |v: &[Took], base: f64| {
            let lo = v.iter().map(|t| t.wall).fold(f64::INFINITY, f64::min);
            let hi = v.iter().map(|t| t.wall).fold(0.0, f64::max);
            format!("{:.2}-{:.2}x", lo / base, hi / base)
        };
        let base = medians[0];
        println!();
        println!("   keeping {kept}, deleting {deletions} (--allow-deletes {deletions}):");
        println!(
            "   {:<52} {:>8} {:>9} {:>13} {:>9} {:>8} {:>11} {:>9}",
            "command", "wall", "vs export", "(min-max)", "peak RSS", "vs export", "stdout", "lines"
        );
        for ((flow, t), all) in flows.iter().zip(&medians).zip(&took) {
            println!(
                "   {:<52} {:>6.2} s {:>8.2}x {:>13} {:>5} MiB {:>8.2}x {:>8.1} MB {:>9}",
                flow.name,
                t.wall,
                t.wall / base.wall,
                spread(all, base.wall),
                t.peak_kib / 1024,
                t.peak_kib as f64 / base.peak_kib.max(1) as f64,
                t.out_bytes as f64 / 1e6,
                t.out_lines
            );
        }
    }
}

fn run_flow(
    runtime: &tokio::runtime::Runtime,
    bin: &std::path::Path,
    flow: &Flow,
    users: usize,
    dir: &std::path::Path,
) -> Took {
    use std::process::{Command, Stdio};
    let mut seed = Seed::empty(DEFAULT_ACCOUNT_ID);
    seed.generate(users);
    let options = Options {
        // Every DELETE is held, so apply can be stopped at its first one.
        hold_deletes_after: flow.until_first_delete.then_some(0),
        ..Options::default()
    };
    let server = runtime
        .block_on(Sandbox::new(seed, options).bind(([127, 0, 0, 1], 0).into()))
        .unwrap();
    let stdout_path = dir.join("stdout");
    let time_path = dir.join("time");
    let mut command = if flow.until_first_delete {
        Command::new(bin)
    } else {
        // GNU time reports the child's peak resident set (wait4's ru_maxrss).
        let mut c = Command::new("/usr/bin/time");
        c.arg("-f").arg("%M").arg("-o").arg(&time_path).arg(bin);
        c
    };
    command.args(&flow.args);
    if flow.api {
        command.arg("--api-url").arg(server.base_url());
    }
    command
        .env_clear()
        .env("CLOUDFLARE_API_TOKEN", reconcile::sandbox::DEFAULT_TOKEN)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).unwrap())
        .stderr(Stdio::null());
    let start = Instant::now();
    let mut child = command.spawn().unwrap();
    let (wall, peak_kib) = if flow.until_first_delete {
        // The peak so far, read just before the process is stopped: VmHWM only grows.
        let status = format!("/proc/{}/status", child.id());
        let mut peak = 0;
        while server.sandbox().held() == 0 {
            if let Ok(Some(exit)) = child.try_wait() {
                panic!("{} ended before its first DELETE: {exit}", flow.name);
            }
            peak = hwm(&status).unwrap_or(peak);
            std::thread::sleep(Duration::from_millis(1));
        }
        let wall = start.elapsed().as_secs_f64();
        peak = hwm(&status).unwrap_or(peak);
        child.kill().unwrap();
        child.wait().unwrap();
        (wall, peak)
    } else {
        let exit = child.wait().unwrap();
        let wall = start.elapsed().as_secs_f64();
        assert!(exit.success(), "{} failed: {exit}", flow.name);
        let peak = std::fs::read_to_string(&time_path)
            .ok()
            .and_then(|t| t.lines().last()?.trim().parse().ok())
            .unwrap_or(0);
        (wall, peak)
    };
    runtime.block_on(server.shutdown());
    let out = std::fs::read(&stdout_path).unwrap();
    Took {
        wall,
        peak_kib,
        out_bytes: out.len() as u64,
        out_lines: out.iter().filter(|&&b| b == b'\n').count() as u64,
    }
}

fn hwm(status: &str) -> Option<u64> {
    let status = std::fs::read_to_string(status).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
