//! Identifiers that go into URLs: a user's id (a UUID, as the spec gives it) and an account id
//! (32 hexadecimal characters). Anything else is refused where it enters, so no text from a file
//! or from the API can ever change a request's path.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

/// A user id as the API wrote it, known to be a UUID (`8-4-4-4-12` hexadecimal digits). Two ids
/// that differ only in letter case are the same id (UUIDs are case-insensitive); the text the API
/// sent is kept, and is what a DELETE URL carries. Compared, ordered and hashed by the 128-bit
/// value its digits spell (for lower-case digits at fixed places, the order of the text): the
/// plan and the re-check index 100,000s of ids.
#[derive(Clone)]
pub struct UserId {
    text: String,
    value: u128,
}

impl UserId {
    /// The id, if `raw` has the spec's shape.
    pub fn parse(raw: &str) -> Option<UserId> {
        let bytes = raw.as_bytes();
        if bytes.len() != 36 {
            return None;
        }
        let mut value = 0u128;
        for (i, &b) in bytes.iter().enumerate() {
            if matches!(i, 8 | 13 | 18 | 23) {
                if b != b'-' {
                    return None;
                }
                continue;
            }
            let digit = char::from(b).to_digit(16)?;
            // The shift leaves the low four bits zero: `|` and `^` are the same here.
            value = (value << 4) | u128::from(digit);
        }
        Some(UserId {
            text: raw.to_string(),
            value,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Debug for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("UserId").field(&self.text).finish()
    }
}

impl PartialEq for UserId {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl Eq for UserId {}

impl Hash for UserId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Consistent with `eq` (the value); a hash that ignored it would only be slower (maps
        // compare with `eq`), so its mutant is equivalent in behaviour.
        state.write_u128(self.value);
    }
}

impl PartialOrd for UserId {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for UserId {
    fn cmp(&self, other: &Self) -> Ordering {
        self.value.cmp(&other.value)
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A Cloudflare account id: 32 hexadecimal characters (the spec's `maxLength: 32` and example),
/// kept lower-cased so that two spellings compare equal.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(String);

impl AccountId {
    /// Surrounding white space is ignored; the message says what an account id looks like.
    pub fn parse(raw: &str) -> Result<AccountId, AccountIdError> {
        let id = raw.trim();
        let length = id.chars().count();
        if length != 32 {
            return Err(AccountIdError::Length {
                text: id.to_string(),
                length,
            });
        }
        if !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(AccountIdError::NotHex {
                text: id.to_string(),
            });
        }
        Ok(AccountId(id.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why text is not an [`AccountId`]. The text is kept as given (trimmed); the message escapes it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountIdError {
    /// Not 32 characters long.
    #[error("`{}` is not a Cloudflare account id: it must be 32 hexadecimal characters", crate::text::printable(.text))]
    Length { text: String, length: usize },
    /// 32 characters, but not all of them hexadecimal digits.
    #[error("`{}` is not a Cloudflare account id: it must be 32 hexadecimal characters", crate::text::printable(.text))]
    NotHex { text: String },
}

#[cfg(test)]
impl AccountId {
    /// The spec's example account id, for tests.
    pub(crate) fn example() -> AccountId {
        AccountId("023e105f4ecef8ad9ca31a8372d0c353".to_string())
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn user_ids_must_be_uuids() {
        assert!(UserId::parse("f174e90a-fafe-4643-bbbc-4a0ed4fc8415").is_some());
        assert!(UserId::parse("F174E90A-FAFE-4643-BBBC-4A0ED4FC8415").is_some());
        for bad in [
            "",
            "uid",
            "f174e90a-fafe-4643-bbbc-4a0ed4fc841",
            "f174e90a-fafe-4643-bbbc-4a0ed4fc84150",
            "f174e90a/fafe-4643-bbbc-4a0ed4fc8415",
            "../../../../../../../../../../../../x",
            "f174e90a-fafe-4643-bbbc-4a0ed4fc841g",
            " f174e90a-fafe-4643-bbbc-4a0ed4fc8415",
            "f174e90a-fafe-4643-bbbc-4a0ed4fc841\u{e9}",
        ] {
            assert!(UserId::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn user_ids_compare_without_case_and_keep_their_text() {
        let lower = UserId::parse("f174e90a-fafe-4643-bbbc-4a0ed4fc8415").unwrap();
        let upper = UserId::parse("F174E90A-FAFE-4643-BBBC-4A0ED4FC8415").unwrap();
        assert_eq!(lower, upper);
        assert_eq!(lower.cmp(&upper), Ordering::Equal);
        assert_eq!(HashSet::from([lower.clone(), upper.clone()]).len(), 1);
        assert_eq!(upper.as_str(), "F174E90A-FAFE-4643-BBBC-4A0ED4FC8415");
        let other = UserId::parse("f174e90a-fafe-4643-bbbc-4a0ed4fc8416").unwrap();
        assert_ne!(lower, other);
        assert_eq!(lower.cmp(&other), Ordering::Less);
        // Equal, ordered and hashed as their lower-cased text is, whatever the digits.
        let ids = [
            "00000000-0000-0000-0000-000000000000",
            "00000000-0000-0000-0000-00000000000a",
            "00000000-0000-0000-0000-000000000009",
            "10000000-0000-0000-0000-000000000000",
            "0FFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
            "ffffffff-ffff-ffff-ffff-ffffffffffff",
            "a0000000-0000-0000-0000-000000000000",
            "9fffffff-ffff-ffff-ffff-ffffffffffff",
            "f174e90a-fafe-4643-bbbc-4a0ed4fc8415",
            "F174E90A-FAFE-4643-BBBC-4A0ED4FC8415",
            "f174e90a-fafe-4643-bbbc-4a0ed4fc8416",
            "f174e90a-fafe-4643-bbbd-4a0ed4fc8415",
        ];
        for a in ids {
            for b in ids {
                let (x, y) = (UserId::parse(a).unwrap(), UserId::parse(b).unwrap());
                let text = a.to_ascii_lowercase().cmp(&b.to_ascii_lowercase());
                assert_eq!(x.cmp(&y), text, "{a} {b}");
                assert_eq!(x == y, text == Ordering::Equal, "{a} {b}");
                assert_eq!(HashSet::from([x.clone(), y.clone()]).len() == 1, x == y);
            }
        }
        assert_eq!(
            format!("{upper:?}"),
            "UserId(\"F174E90A-FAFE-4643-BBBC-4A0ED4FC8415\")"
        );
        // Shown as the API wrote it; ordered with `<` as with `cmp`.
        assert_eq!(upper.to_string(), "F174E90A-FAFE-4643-BBBC-4A0ED4FC8415");
        assert!(upper < other && other > lower && lower <= upper);
        assert_eq!(lower.partial_cmp(&other), Some(Ordering::Less));
    }

    #[test]
    fn account_ids_are_lower_cased_and_checked() {
        let id = AccountId::parse(" 023E105F4ECEF8AD9CA31A8372D0C353\n").unwrap();
        assert_eq!(id.as_str(), "023e105f4ecef8ad9ca31a8372d0c353");
        for bad in [
            "",
            "abc",
            "023e105f4ecef8ad9ca31a8372d0c35/",
            "../../../../users/0000000000000",
            "023e105f4ecef8ad9ca31a8372d0c353x",
            "023e105f4ecef8ad9ca31a8372d0c35\u{e9}",
        ] {
            let e = AccountId::parse(bad).unwrap_err().to_string();
            assert!(e.contains("32 hexadecimal"), "{e}");
        }
        let e = AccountId::parse("\u{1b}[2Kx").unwrap_err().to_string();
        assert!(!e.contains('\u{1b}'), "{e}");
        assert_eq!(
            AccountId::parse(" abc ").unwrap_err().to_string(),
            "`abc` is not a Cloudflare account id: it must be 32 hexadecimal characters"
        );
    }

    #[test]
    fn account_id_errors_say_what_is_wrong() {
        let length = |text: &str, length| AccountIdError::Length {
            text: text.into(),
            length,
        };
        assert_eq!(AccountId::parse(""), Err(length("", 0)));
        assert_eq!(AccountId::parse(" abc\n"), Err(length("abc", 3)));
        assert_eq!(
            AccountId::parse("023e105f4ecef8ad9ca31a8372d0c353x"),
            Err(length("023e105f4ecef8ad9ca31a8372d0c353x", 33))
        );
        // Counted in characters: 31 ASCII digits and an é are 32 characters, not hexadecimal.
        assert_eq!(
            AccountId::parse("023e105f4ecef8ad9ca31a8372d0c35\u{e9}"),
            Err(AccountIdError::NotHex {
                text: "023e105f4ecef8ad9ca31a8372d0c35\u{e9}".into()
            })
        );
        assert_eq!(
            AccountId::parse("023e105f4ecef8ad9ca31a8372d0c35/"),
            Err(AccountIdError::NotHex {
                text: "023e105f4ecef8ad9ca31a8372d0c35/".into()
            })
        );
    }
}
