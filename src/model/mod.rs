//! Checked values: each type here has one constructor, and that constructor is the check, so a
//! value that exists has been normalised and validated. No I/O.
//!
//! - [`Email`] and [`Domain`]: one normalisation (trim, lower-case, NFC, IDNA for the domain),
//!   and a refusal of what no mailbox contains (invisible and format characters, controls,
//!   unassigned code points);
//! - [`UserId`]: a UUID, the only thing a DELETE URL accepts; compared without regard to case;
//! - [`AccountId`]: 32 hexadecimal characters, lower-cased, parsed once.

mod confusable;
pub mod door;
mod email;
mod id;
mod live;

pub use confusable::{and_list, mixed_scripts, skeleton};
pub use email::{is_invisible, normalize_pattern, AddressError, Domain, Email};
pub use id::{AccountId, AccountIdError, UserId};
pub use live::LiveUser;
