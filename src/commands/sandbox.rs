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
        scoped_tokens,
        account_id,
        faults,
        rate_limit,
        list_capacity,
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
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let parse = |raw: &crate::secret::Secret| {
        sandbox::TokenSpec::parse(raw.expose(), now)
            .map_err(|why| Error::Usage(format!("--token: {why} (see docs/sandbox.md)")))
    };
    let mut tokens = scoped_tokens
        .iter()
        .map(parse)
        .collect::<Result<Vec<_>, Error>>()?;
    if tokens.is_empty() {
        // RECONCILE_SANDBOX_TOKEN may carry attributes too.
        tokens.push(parse(&token)?);
    }
    let options = sandbox::Options {
        // The first token (or the default) is the one a plain `--token T` always meant; its
        // attributes, if any, come from `tokens`, which is looked at first.
        token: parse(&token)?.token,
        tokens,
        list_capacity,
        ..sandbox::Options::default()
    }
    .with_faults(faults, rate_limit);
    sandbox::serve_cli(seed, options, listen, streams.stdout).await?;
    Ok(Exit::Success)
}
