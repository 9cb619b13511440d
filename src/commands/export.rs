//! `reconcile export`: today's users as a desired-state file; with `--door-list NAME` (and
//! `--door-group NAME`) also a `door:` section naming the lists and the group, after reading
//! (GETs only) which of them exist.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::cloudflare::{Client, ClientConfig, Credentials, GroupQuery};
use crate::commands::shared::{leave_to_exit, no_credentials};
use crate::commands::{Error, Exit, Streams};
use crate::config::DoorGroup;
use crate::date::Date;
use crate::export::{self, DoorNames};
use crate::fsread;
use crate::model::AccountId;

/// Where the export goes: `path`, or stdout; `force`: an existing file may be replaced.
pub(crate) struct Output {
    pub path: Option<PathBuf>,
    pub force: bool,
}

pub(crate) async fn run(
    account_id: Option<AccountId>,
    api_url: String,
    credentials: Option<Credentials>,
    Output {
        path: output,
        force,
    }: Output,
    door: Option<DoorNames>,
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
    let (mut yaml, warnings) = export::to_yaml(account.as_str(), &listing.users, Date::today_utc());
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    if let Some(names) = &door {
        let section = export::door_yaml(names, None);
        let capacity = say_what_exists(&format!("{yaml}{section}"), &client).await?;
        yaml.push_str(&match capacity {
            Some(capacity) => export::door_yaml(names, Some(capacity)),
            None => section,
        });
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
    leave_to_exit((listing, yaml));
    Ok(Exit::Success)
}

/// Read the lists and the group the exported `door:` section names (GETs only) and say on
/// stderr which exist: the section is written either way, and `plan` shows what it would
/// create. The section is read back from the exported text, so what is checked is what was
/// written. A door that cannot be read is a warning: the users' export stands. Returns the
/// `capacity:` to write when the fullest door list holds more than the default (up to the
/// most a list may hold), so that planning the export moves nobody.
async fn say_what_exists(yaml: &str, client: &Client) -> Result<Option<usize>, Error> {
    let desired = crate::config::parse_str(yaml, "the export")?;
    let Some(spec) = &desired.door else {
        return Ok(None);
    };
    let group = spec.group.as_ref().map(|g| match g {
        DoorGroup::Named { name, .. } => GroupQuery::Name(name.clone()),
        DoorGroup::Id { id, .. } => GroupQuery::Id(id.clone()),
    });
    let prefix = spec.list_name(1).unwrap_or_default();
    let live = match client
        .read_door(
            |id, name| spec.claims_list(id, name).is_some(),
            group.as_ref(),
        )
        .await
    {
        Ok(live) => live,
        Err(e) => {
            tracing::warn!("{e}\nthe door could not be read: the `door:` section was written as asked; run `reconcile check -f FILE` to see what the token may read");
            return Ok(None);
        }
    };
    let fullest = live.lists.iter().map(|l| l.items.len()).max().unwrap_or(0);
    let capacity = if fullest <= spec.capacity {
        None
    } else if fullest <= crate::config::MAX_LIST_CAPACITY {
        Some(fullest)
    } else {
        tracing::warn!(
            "door: a door list holds {fullest} entries, more than a list may hold ({}): `reconcile plan` will move the rest to other lists",
            crate::config::MAX_LIST_CAPACITY
        );
        None
    };
    match live.lists.len() {
        0 => tracing::warn!(
            "door: no Zero Trust list is named {} (or -2, -3, ...): the section names lists that do not exist yet; `reconcile plan` shows them to create and `apply` creates them",
            crate::text::printable(&prefix)
        ),
        n => tracing::info!(
            "door: {n} existing Zero Trust list(s) named like {} are the door's",
            crate::text::printable(&prefix)
        ),
    }
    if let Some(DoorGroup::Named { name, .. }) = &spec.group {
        match live.groups.len() {
            0 => tracing::warn!(
                "door: no Access group is named \"{}\": `reconcile plan` shows it to create and `apply` creates it",
                crate::text::printable(name)
            ),
            1 => tracing::info!(
                "door: the Access group \"{}\" exists",
                crate::text::printable(name)
            ),
            n => tracing::warn!(
                "door: {n} Access groups are named \"{}\": `reconcile plan` refuses a name two groups carry; rename all but one in the dashboard",
                crate::text::printable(name)
            ),
        }
    }
    Ok(capacity)
}

fn refuse_overwrite(path: &Path) -> Error {
    Error::File {
        path: fsread::display_path(path),
        doing: "write the export",
        source: std::io::Error::new(std::io::ErrorKind::AlreadyExists, "the file exists"),
        help: Some("pass --force to overwrite it, or choose another --output"),
    }
}
