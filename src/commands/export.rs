//! `reconcile export`: today's users as a desired-state file.

use std::io::Write as _;
use std::path::{Path, PathBuf};

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
    force: bool,
    client: ClientConfig,
    streams: &mut Streams<'_>,
) -> Result<Exit, Error> {
    // Before any request: an export that would replace a file (perhaps the reviewed desired
    // state itself) stops here, with the file as it was.
    if let Some(path) = output.as_ref().filter(|p| !force && p.exists()) {
        return Err(refuse_overwrite(path));
    }
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
            // `create_new` as well as the check above: a file that appeared during the listing
            // is not replaced either.
            let written = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .create_new(!force)
                .open(&path)
                .and_then(|mut f| f.write_all(yaml.as_bytes()));
            match written {
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    return Err(refuse_overwrite(&path))
                }
                Err(e) => {
                    return Err(Error::File {
                        path: fsread::display_path(&path),
                        doing: "write the export",
                        source: e,
                        help: Some("check that its directory exists and is writable"),
                    })
                }
                Ok(()) => {}
            }
            tracing::info!(file = %fsread::display_path(&path), users = listing.users.len(), "exported");
        }
        None => streams.stdout.write_all(yaml.as_bytes())?,
    }
    Ok(Exit::Success)
}

fn refuse_overwrite(path: &Path) -> Error {
    Error::File {
        path: fsread::display_path(path),
        doing: "write the export",
        source: std::io::Error::new(std::io::ErrorKind::AlreadyExists, "the file exists"),
        help: Some("pass --force to overwrite it, or choose another --output"),
    }
}
