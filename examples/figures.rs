//! Measured figures, against the sandbox on loopback (see docs/performance.md):
//!
//! ```text
//! cargo run --release --example figures -- list     # 1. listing 100,000 users, 20 ms latency
//! cargo run --release --example figures -- delete   # 2. deleting 600 users at 120 requests / 10 s
//! cargo run --release --example figures -- plan     # 3. planning 1,000,000 users vs 500,000 allowed
//! cargo run --release --example figures -- patterns # 4. planning 100,000 users vs 5,000 unmatched protected patterns
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
        "list" => runtime.block_on(listing(4)),
        "delete" => runtime.block_on(deleting()),
        "plan" => planning(),
        "patterns" => patterns(),
        "all" => {
            runtime.block_on(listing(4));
            runtime.block_on(deleting());
            planning();
            patterns();
        }
        other => eprintln!("unknown figure `{other}`: list, delete, plan, patterns or all"),
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

async fn listing(concurrency: usize) {
    let users = 100_000;
    let latency = Duration::from_millis(20);
    let mut seed = Seed::empty(DEFAULT_ACCOUNT_ID);
    seed.generate(users);
    let options = Options::default().with_faults(
        Faults {
            latency,
            ..Faults::default()
        },
        None,
    );
    let server = Sandbox::new(seed, options)
        .bind(([127, 0, 0, 1], 0).into())
        .await
        .unwrap();
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
    // Page 1 alone, then the rest `concurrency` at a time; the issue's ideal is
    // ceil(pages / concurrency) × latency.
    let ideal = latency * pages.div_ceil(concurrency) as u32;
    println!(
        "1. listing {users} users, {} ms latency per request, list concurrency {concurrency}",
        latency.as_millis()
    );
    println!("   users listed:   {}", listing.users.len());
    println!("   wall time:      {:.3} s", wall.as_secs_f64());
    println!("   requests sent:  {requests} ({pages} pages)");
    println!(
        "   ideal:          {:.3} s = ceil({pages} / {concurrency}) x {} ms",
        ideal.as_secs_f64(),
        latency.as_millis()
    );
    println!(
        "   ratio to ideal: {:.2}x (target <= 1.5x)",
        wall.as_secs_f64() / ideal.as_secs_f64()
    );
    server.shutdown().await;
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
    let live: Vec<LiveUser> = (0..live_n)
        .map(|i| LiveUser {
            id: Some(format!("00000000-0000-4000-8000-{i:012}")),
            email: Some(format!("User{i:07}@Example.com")),
            name: Some(format!("User {i}")),
            ..LiveUser::default()
        })
        .collect();
    let before_rss = rss_kib();
    let start = Instant::now();
    // The users move into the plan, as in `reconcile plan` (no copy of the listing).
    let plan = plan::compute_owned(
        &desired,
        live,
        &plan::Policy::at(&account(), reconcile::date::Clock::System.unix()),
    );
    let wall = start.elapsed();
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
    let start = Instant::now();
    let plan = plan::compute_owned(
        &desired,
        live,
        &plan::Policy::at(&account(), reconcile::date::Clock::System.unix()),
    );
    let wall = start.elapsed();
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
