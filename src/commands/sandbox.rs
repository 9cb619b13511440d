//! `reconcile sandbox`: serve the emulated API until interrupted.

use crate::commands::{Error, Exit, Streams};
use crate::model::AccountId;
use crate::sandbox;
use crate::settings::SandboxSettings;

pub(crate) async fn run(s: SandboxSettings, streams: &mut Streams<'_>) -> Result<Exit, Error> {
    let SandboxSettings {
        seed,
        generate,
        listen,
        token,
        account_id,
        faults,
        rate_limit,
    } = s;
    let mut seed = match (seed, account_id) {
        (Some(path), None) => sandbox::Seed::from_file(&path)?,
        (Some(_), Some(_)) => {
            return Err(Error::Usage(
                "--account-id is for a sandbox without --seed; the seed file sets the account"
                    .into(),
            ))
        }
        (None, id) => sandbox::Seed::empty(
            id.as_ref()
                .map_or(sandbox::DEFAULT_ACCOUNT_ID, AccountId::as_str),
        ),
    };
    seed.generate(generate);
    let options = sandbox::Options {
        token: token.expose().to_string(),
        ..sandbox::Options::default()
    }
    .with_faults(faults, rate_limit);
    sandbox::serve_cli(seed, options, listen, streams.stdout).await?;
    Ok(Exit::Success)
}
