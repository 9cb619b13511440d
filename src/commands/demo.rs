//! `reconcile demo`: a sandbox in-process, and the whole flow against it.

use crate::apply;
use crate::cloudflare::{Client, ClientConfig, Credentials};
use crate::commands::apply::{apply_flow, ApplyRun};
use crate::commands::shared::{account_for, compute, warn_about, Approval};
use crate::commands::{Error, Exit, Streams};
use crate::config;
use crate::date::Clock;
use crate::plan;
use crate::progress::Progress;
use crate::render::{self, Palette};
use crate::sandbox;
use crate::secret::Secret;

const DEMO_SEED: &str = include_str!("../../examples/demo/seed.yaml");
const DEMO_ALLOWLIST: &str = include_str!("../../examples/demo/allowlist.yaml");
const DEMO_TOKEN: &str = "demo-token";

/// Start a sandbox in-process, then plan and apply the demo allowlist against it.
pub(crate) async fn run(
    approval: Approval,
    palette: Palette,
    streams: &mut Streams<'_>,
) -> Result<Exit, Error> {
    let seed = sandbox::Seed::from_str(DEMO_SEED, "examples/demo/seed.yaml")?;
    let desired = config::parse_str(DEMO_ALLOWLIST, "examples/demo/allowlist.yaml")?;
    let options = sandbox::Options {
        token: DEMO_TOKEN.to_string(),
        ..sandbox::Options::default()
    };
    let server = sandbox::Sandbox::new(seed, options)
        .bind(([127, 0, 0, 1], 0).into())
        .await?;
    // The banner names the URL; a log line saying it again would be the same words twice.
    render::notes::demo_started(&server.base_url(), streams.notes)?;
    let account = account_for(&desired, None)?;
    let client = Client::with_config(
        &server.base_url(),
        Credentials::Token(Secret::new(DEMO_TOKEN)),
        &account,
        ClientConfig {
            observer: Progress::lines().observer(),
            ..ClientConfig::default()
        },
    )?;
    let exit = match approval {
        // Without a terminal and without --auto-approve, show the plan and stop, as apply would
        // refuse.
        Approval::Impossible => {
            let plan = compute(
                &desired,
                &client,
                &plan::Overrides::default(),
                Clock::System,
            )
            .await?;
            warn_about(&desired, &plan);
            render::human(&plan, streams.stdout, palette)?;
            render::notes::demo_plan_only(streams.notes)?;
            return Ok(Exit::Success);
        }
        approval => {
            let overrides = plan::Overrides::default();
            let exec = apply::ExecSettings {
                observer: Progress::lines().deletions(),
                ..apply::ExecSettings::default()
            };
            let run = ApplyRun {
                overrides: &overrides,
                approval,
                exec: &exec,
                history: &[],
                layout: render::Layout::default(),
                step_summary: None,
                format: render::Format::Human,
            };
            apply_flow(&desired, &client, run, palette, streams).await?
        }
    };
    render::notes::demo_again(streams.stdout)?;
    let after = compute(
        &desired,
        &client,
        &plan::Overrides::default(),
        Clock::System,
    )
    .await?;
    render::human(&after, streams.stdout, palette)?;
    Ok(exit)
}
