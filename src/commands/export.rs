//! `reconcile export`: today's users as a desired-state file.

use std::path::PathBuf;

use crate::cloudflare::{Client, ClientConfig, Credentials};
use crate::commands::shared::no_credentials;
use crate::commands::{Error, Exit, Streams};
use crate::date::Date;
use crate::export;
use crate::fsread;
use crate::model::AccountId;

pub(crate) async fn run(
    account_id: Option<AccountId>,
    api_url: String,
    credentials: Option<Credentials>,
    output: Option<PathBuf>,
    client: ClientConfig,
    streams: &mut Streams<'_>,
) -> Result<Exit, Error> {
    let account = account_id.ok_or_else(|| {
        Error::Usage("no account id: pass --account-id (or set CLOUDFLARE_ACCOUNT_ID)".into())
    })?;
    let credentials = credentials.ok_or_else(no_credentials)?;
    let client = Client::with_config(&api_url, credentials, &account, client)?;
    let listing = client.list_users().await?;
    let (yaml, warnings) = export::to_yaml(account.as_str(), &listing.users, Date::today_utc());
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    match output {
        Some(path) => {
            std::fs::write(&path, yaml).map_err(|e| Error::File {
                path: fsread::display_path(&path),
                doing: "write the export",
                source: e,
                help: Some("check that its directory exists and is writable"),
            })?;
            tracing::info!(file = %fsread::display_path(&path), users = listing.users.len(), "exported");
        }
        None => streams.stdout.write_all(yaml.as_bytes())?,
    }
    Ok(Exit::Success)
}
