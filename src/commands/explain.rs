//! `reconcile explain EMAIL`: which rule decides for an address, and with credentials what the
//! plan does to the live users with it.

use crate::commands::shared::{client_for, compute};
use crate::commands::{Error, Exit, Streams};
use crate::date::Date;
use crate::explain;
use crate::render::Palette;
use crate::settings::Target;

pub(crate) async fn run(
    email: String,
    target: Target,
    palette: Palette,
    streams: &mut Streams<'_>,
) -> Result<Exit, Error> {
    // A `door:` section does not change who is kept or deleted, so explain reads the files
    // with it; it says that the door is not explained here.
    let desired = crate::config::load(&target.files)?;
    if let Some(door) = &desired.door {
        tracing::warn!(
            "{}: the `door:` section is not explained here (explain says who is kept or deleted, which the door does not change): `reconcile plan` shows the door's plan",
            door.location
        );
    }
    let explanation = explain::explain(&desired, &email, Date::today_utc());
    let no_account = desired.account().is_none() && target.account_id.is_none();
    let explanation = match &target.credentials {
        None => explanation,
        Some(_) if no_account => explain::Explanation {
            live: explain::Live::NotChecked(
                "no account id: set `account_id:` in the file, or pass --account-id".into(),
            ),
            ..explanation
        },
        // An account mismatch or a malformed id is an error here as in `plan`.
        Some(_) => {
            let client = client_for(&desired, &target)?;
            explanation
                .with_plan(&compute(&desired, &client, &target.overrides, target.clock).await?)
        }
    };
    explanation.render(streams.stdout, palette)?;
    Ok(Exit::Success)
}
