//! Email addresses and domains as `reconcile` compares them. There is one way to get an
//! [`Email`] or a [`Domain`]: the normalisation (surrounding white space trimmed, lower-cased,
//! Unicode NFC, the domain in its Unicode form per UTS 46 so that `xn--bcher-kva.example` and
//! `bücher.example` are one domain) and the shape check. Both refuse what no mailbox should
//! contain: invisible and format characters (`break\u{200b}glass@` looks like `breakglass@` and
//! is not), controls, unassigned and private-use code points, and spaces.
//!
//! The allowlist and the live users go through the same constructor, so a spelling that one side
//! accepts and the other reads differently cannot exist.

use std::fmt;

use icu_properties::props::{DefaultIgnorableCodePoint, GeneralCategory};
use icu_properties::{CodePointMapData, CodePointSetData};
use unicode_normalization::UnicodeNormalization;

/// Why text is not an address (or a domain, or a pattern).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressError {
    /// A character no address contains; `position` counts characters from 1 in the trimmed text.
    Character {
        found: char,
        position: usize,
        what: &'static str,
    },
    /// The shape is wrong: a missing `@`, a domain without a dot...
    Shape(&'static str),
}

impl fmt::Display for AddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddressError::Character {
                found,
                position,
                what,
            } => write!(
                f,
                "it contains U+{:04X} at character {position}, {what}",
                u32::from(*found)
            ),
            AddressError::Shape(why) => f.write_str(why),
        }
    }
}

/// What is wrong with a character, if it may not appear in an address.
fn refused(c: char) -> Option<&'static str> {
    if c.is_ascii() {
        // ASCII spaces get the shape check's message; other ASCII is fine but for controls.
        return c
            .is_ascii_control()
            .then_some("a control character (Unicode category Cc)");
    }
    let category = match CodePointMapData::<GeneralCategory>::new().get(c) {
        GeneralCategory::Control => Some("a control character (Unicode category Cc)"),
        GeneralCategory::Format => Some("an invisible format character (Unicode category Cf)"),
        GeneralCategory::Unassigned => Some("an unassigned code point (Unicode category Cn)"),
        GeneralCategory::PrivateUse => Some("a private-use character (Unicode category Co)"),
        GeneralCategory::Surrogate => Some("a surrogate code point (Unicode category Cs)"),
        GeneralCategory::SpaceSeparator
        | GeneralCategory::LineSeparator
        | GeneralCategory::ParagraphSeparator => {
            Some("a space character (Unicode category Zs, Zl or Zp)")
        }
        _ => None,
    };
    // Invisible without being Cf: the Hangul fillers, variation selectors...
    category.or_else(|| {
        CodePointSetData::new::<DefaultIgnorableCodePoint>()
            .contains(c)
            .then_some("an invisible character (Unicode Default_Ignorable_Code_Point)")
    })
}

/// Whether `c` does not show (or shows as something else): format characters (Cf) and the
/// default-ignorable code points. For escaping text before it reaches a terminal.
pub fn is_invisible(c: char) -> bool {
    matches!(
        CodePointMapData::<GeneralCategory>::new().get(c),
        GeneralCategory::Format
    ) || CodePointSetData::new::<DefaultIgnorableCodePoint>().contains(c)
}

fn check_characters(text: &str) -> Result<(), AddressError> {
    // Printable ASCII (nearly every address) has nothing to refuse: one pass over the bytes
    // instead of a character walk with a lookup each.
    if text.bytes().all(|b| b.is_ascii() && !b.is_ascii_control()) {
        return Ok(());
    }
    match text
        .chars()
        .enumerate()
        .find_map(|(i, c)| refused(c).map(|what| (i, c, what)))
    {
        Some((i, found, what)) => Err(AddressError::Character {
            found,
            position: i + 1,
            what,
        }),
        None => Ok(()),
    }
}

/// The longest address accepted (RFC 5321's path limit, in characters): longer text is no
/// mailbox, and bounds the work every rail does per address.
pub(super) const MAX_ADDRESS_CHARS: usize = 254;

/// Trim, and refuse what no address contains; nothing is folded yet.
fn checked(raw: &str) -> Result<&str, AddressError> {
    let trimmed = raw.trim();
    check_characters(trimmed)?;
    // In ASCII a byte is a character: no need to walk the text again to count.
    let chars = if trimmed.is_ascii() {
        trimmed.len()
    } else {
        trimmed.chars().count()
    };
    if chars > MAX_ADDRESS_CHARS {
        return Err(AddressError::Shape(
            "it is longer than 254 characters, the most an email address can have",
        ));
    }
    Ok(trimmed)
}

/// Lower-case and NFC: the form of a local part (and of a pattern's parts with `*`).
fn fold(text: &str) -> String {
    // ASCII is already in NFC, and its lower case is ASCII: one allocation, no tables.
    if text.is_ascii() {
        return text.to_ascii_lowercase();
    }
    text.to_lowercase().nfc().collect()
}

fn is_punycode(label: &str) -> bool {
    label.len() >= 4 && label.as_bytes()[..4].eq_ignore_ascii_case(b"xn--")
}

/// A domain (or one label) in its Unicode form. An ASCII name without punycode is only
/// lower-cased; anything else goes through UTS 46 as written, which maps case itself (a Rust
/// lower-case first would apply the Greek final-sigma rule, which IDNA does not, and `ΟΔΟΣ`
/// would then differ from its own punycode).
fn to_unicode(domain: &str) -> Result<String, AddressError> {
    if domain.is_ascii() && !domain.split('.').any(is_punycode) {
        return Ok(domain.to_ascii_lowercase());
    }
    let (unicode, result) = idna::uts46::Uts46::new().to_unicode(
        domain.as_bytes(),
        idna::uts46::AsciiDenyList::URL,
        idna::uts46::Hyphens::Allow,
    );
    // UTS 46 maps compatibility forms (a fullwidth `＠` becomes `@`): what comes out must still
    // be a domain.
    if result.is_err() || unicode.contains(['@', '/', '\\', ':', '%', '?', '#']) {
        return Err(AddressError::Shape(
            "the domain is not a valid internationalised domain name (IDNA)",
        ));
    }
    // Decoded punycode could name what the check refuses in the Unicode form.
    check_characters(&unicode)?;
    Ok(unicode.into_owned())
}

/// The checks on a domain as written, before any of it is mapped.
fn domain_shape(domain: &str) -> Result<(), AddressError> {
    if domain.chars().any(char::is_whitespace) {
        return Err(AddressError::Shape(
            "an email address cannot contain spaces or control characters",
        ));
    }
    if !domain.contains('.') {
        return Err(AddressError::Shape(
            "the domain after '@' needs a dot, e.g. example.com",
        ));
    }
    let empty_label = AddressError::Shape(
        "the domain after '@' has an empty label (two dots, or a leading or trailing dot)",
    );
    if domain.split('.').any(str::is_empty) {
        return Err(empty_label);
    }
    Ok(())
}

fn domain_form(domain: &str) -> Result<String, AddressError> {
    domain_shape(domain)?;
    let empty_label = AddressError::Shape(
        "the domain after '@' has an empty label (two dots, or a leading or trailing dot)",
    );
    let unicode = to_unicode(domain)?;
    if !unicode.contains('.') || unicode.split('.').any(str::is_empty) {
        return Err(empty_label);
    }
    Ok(unicode)
}

/// A normalised, checked email address. Compare, hash and sort it as it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

impl Email {
    /// The address for `raw`, or why `raw` is not one. This is not RFC 5322: it catches the
    /// mistakes people make in a reviewed file (a missing `@`, a space, a domain without a dot)
    /// and the characters that make two different addresses look alike.
    pub fn parse(raw: &str) -> Result<Email, AddressError> {
        let text = checked(raw)?;
        let (local, domain) = text
            .split_once('@')
            .ok_or(AddressError::Shape("an email address needs an '@'"))?;
        if local.is_empty() {
            return Err(AddressError::Shape("the part before '@' is empty"));
        }
        if domain.contains('@') {
            return Err(AddressError::Shape("an email address has exactly one '@'"));
        }
        if local.chars().any(char::is_whitespace) {
            return Err(AddressError::Shape(
                "an email address cannot contain spaces or control characters",
            ));
        }
        // Nearly every address is plain ASCII without punycode: its normal form is its lower
        // case (what `fold` and `to_unicode` give each part), built in one allocation instead of
        // three.
        if text.is_ascii() && !domain.split('.').any(is_punycode) {
            domain_shape(domain)?;
            return Ok(Email(text.to_ascii_lowercase()));
        }
        let domain = domain_form(domain)?;
        Ok(Email(format!("{}@{domain}", fold(local))))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after `@`.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, d)| d)
    }
}

/// Read-only access to the normalised text (`email.as_deref()`, comparisons in tests); there is
/// no way back from `str` to `Email` but [`Email::parse`].
impl std::ops::Deref for Email {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<&str> for Email {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A normalised, checked domain (what `domains:` lists), in its Unicode form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Domain(String);

impl Domain {
    pub fn parse(raw: &str) -> Result<Domain, AddressError> {
        let text = checked(raw)?;
        if text.contains('@') {
            return Err(AddressError::Shape("a domain has no '@'"));
        }
        domain_form(text).map(Domain)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl PartialEq<&str> for Domain {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A `protected:` pattern (`*` stands for any run of characters) in the form addresses are
/// compared in: the same character check and normalisation as [`Email::parse`], each label of
/// the domain without a `*` in its Unicode form. A pattern has exactly one `@`.
pub fn normalize_pattern(raw: &str) -> Result<String, AddressError> {
    let text = checked(raw)?;
    if text.matches('@').count() != 1 {
        return Err(AddressError::Shape("a pattern has exactly one '@'"));
    }
    if text.chars().any(char::is_whitespace) {
        return Err(AddressError::Shape(
            "a pattern cannot contain spaces or control characters",
        ));
    }
    let (local, domain) = text.split_once('@').unwrap_or((text, ""));
    let labels: Result<Vec<String>, AddressError> = domain
        .split('.')
        .map(|label| {
            if label.contains('*') || label.is_empty() {
                Ok(fold(label))
            } else {
                to_unicode(label)
            }
        })
        .collect();
    Ok(format!("{}@{}", fold(local), labels?.join(".")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(raw: &str) -> String {
        Email::parse(raw).unwrap().as_str().to_string()
    }

    fn refused_at(raw: &str) -> (char, usize) {
        match Email::parse(raw) {
            Err(AddressError::Character {
                found, position, ..
            }) => (found, position),
            other => panic!("{raw:?}: {other:?}"),
        }
    }

    #[test]
    fn case_and_spaces_are_normalised() {
        assert_eq!(email("  Alice@Example.COM \t"), "alice@example.com");
    }

    /// `Email::parse` through the general route only: fold the local part, map the domain.
    fn general_route(raw: &str) -> Result<String, AddressError> {
        let text = checked(raw)?;
        let (local, domain) = text.split_once('@').unwrap();
        Ok(format!("{}@{}", fold(local), domain_form(domain)?))
    }

    #[test]
    fn the_ascii_shortcut_gives_what_the_general_route_gives() {
        let cases = [
            "Alice@Example.COM",
            "a.b+c@x.io",
            "a@b",
            "a@.b.c",
            "a@b.c.",
            "a@b..c",
            "A@XN--BCHER-KVA.example",
            "a@xn--.example",
            "ops@sub.Example.org",
        ];
        for raw in cases {
            let fast = Email::parse(raw).map(|e| e.as_str().to_string());
            assert_eq!(fast, general_route(raw), "{raw:?}");
        }
        assert_eq!(email("A@XN--BCHER-KVA.example"), "a@b\u{fc}cher.example");
    }

    #[test]
    fn printable_ascii_is_never_refused_and_controls_always_are() {
        assert!(check_characters("a!#$%&'*+/=?^_`{|}~-@example.com").is_ok());
        for b in (0u8..0x20).chain([0x7f]) {
            let text = format!("a{}b@example.com", b as char);
            assert!(check_characters(&text).is_err(), "{b:#x}");
        }
    }

    #[test]
    fn unicode_composition_is_normalised() {
        // "é" precomposed (U+00E9) and decomposed (e + U+0301) compare equal.
        let precomposed = "jos\u{e9}@example.com";
        let decomposed = "jose\u{301}@example.com";
        assert_ne!(precomposed, decomposed);
        assert_eq!(email(precomposed), email(decomposed));
        assert_eq!(email("JOSE\u{301}@EXAMPLE.COM"), email(precomposed));
    }

    #[test]
    fn ascii_fast_path_agrees_with_the_full_path() {
        for raw in ["  Alice@Example.COM ", "a.b+c@x.io", "\tZ@Q.ORG\n"] {
            let full: String = raw.trim().to_lowercase().nfc().collect();
            assert_eq!(email(raw), full);
        }
    }

    #[test]
    fn different_addresses_stay_different() {
        assert_ne!(email("j.smith@corp.com"), email("jsmith@corp.com"));
    }

    #[test]
    fn valid_addresses_pass() {
        for ok in [
            "a@b.co",
            "first.last+tag@sub.example.org",
            "jos\u{e9}@example.com",
            "\u{1f600}@example.com",
        ] {
            assert!(Email::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn invalid_shapes_fail_with_a_reason() {
        for bad in [
            "alice",
            "@example.com",
            "a@@example.com",
            "a@b@example.com",
            "a b@example.com",
            "a@localhost",
            "a@example..com",
            "a@.example.com",
            "a@example.com.",
            "a@xn--zz-invalid-punycode-.example",
        ] {
            assert!(
                matches!(Email::parse(bad), Err(AddressError::Shape(_))),
                "{bad} should be rejected for its shape"
            );
        }
    }

    #[test]
    fn invisible_and_format_characters_are_refused_by_code_point() {
        // Cf: zero-width space, soft hyphen, word joiner, byte-order mark inside, bidi marks.
        for (raw, c, at) in [
            ("break\u{200b}glass@example.com", '\u{200b}', 6),
            ("break\u{ad}glass@example.com", '\u{ad}', 6),
            ("break\u{2060}glass@example.com", '\u{2060}', 6),
            ("break\u{feff}glass@example.com", '\u{feff}', 6),
            ("a\u{200e}@example.com", '\u{200e}', 2),
            ("a@exa\u{202e}mple.com", '\u{202e}', 6),
            // In the domain too, where IDNA would silently drop a soft hyphen.
            ("a@exam\u{ad}ple.com", '\u{ad}', 7),
            // Default-ignorable but not Cf: Hangul filler, a variation selector.
            ("\u{3164}@example.com", '\u{3164}', 1),
            ("a\u{fe0f}@example.com", '\u{fe0f}', 2),
        ] {
            assert_eq!(refused_at(raw), (c, at), "{raw:?}");
        }
        let e = Email::parse("break\u{200b}glass@example.com").unwrap_err();
        assert_eq!(
            e.to_string(),
            "it contains U+200B at character 6, an invisible format character (Unicode category Cf)"
        );
    }

    #[test]
    fn controls_unassigned_private_use_and_odd_spaces_are_refused() {
        for (raw, c) in [
            ("a\u{7}b@example.com", '\u{7}'),
            ("a\u{85}b@example.com", '\u{85}'),
            ("a\u{378}b@example.com", '\u{378}'),
            ("a\u{e000}b@example.com", '\u{e000}'),
            ("a\u{a0}b@example.com", '\u{a0}'),
            ("a\u{2028}b@example.com", '\u{2028}'),
            ("a\u{3000}b@example.com", '\u{3000}'),
        ] {
            assert_eq!(refused_at(raw).0, c, "{raw:?}");
        }
        // Trailing white space is trimmed, not refused.
        assert!(Email::parse("a@example.com\u{3000}").is_ok());
    }

    #[test]
    fn internationalised_domains_compare_in_unicode_and_punycode() {
        let unicode = email("anna@b\u{fc}cher.example");
        assert_eq!(unicode, "anna@b\u{fc}cher.example");
        assert_eq!(email("anna@xn--bcher-kva.example"), unicode);
        assert_eq!(email("Anna@XN--BCHER-KVA.Example"), unicode);
        assert_eq!(email("anna@BU\u{308}CHER.example"), unicode);
        assert_eq!(
            Domain::parse("xn--bcher-kva.example").unwrap(),
            Domain::parse("B\u{fc}cher.Example").unwrap()
        );
        // Punycode that decodes to an invisible character (U+200D) is refused.
        assert!(Email::parse("a@xn--1ug.example").is_err());
        assert!(Email::parse("a@b\u{fc}cher.example").is_ok());
    }

    #[test]
    fn a_greek_domain_equals_its_own_punycode_whatever_its_case() {
        // A Rust lower-case would write the final capital sigma as ς; UTS 46 maps Σ to σ.
        let upper = Domain::parse("\u{39f}\u{394}\u{39f}\u{3a3}-1.gr").unwrap();
        let lower = Domain::parse("\u{3bf}\u{3b4}\u{3bf}\u{3c3}-1.gr").unwrap();
        let puny = Domain::parse("xn---1-k9b7bby.gr").unwrap();
        assert_eq!(upper, lower);
        assert_eq!(upper, puny);
        assert_eq!(
            email("maria@\u{39f}\u{394}\u{39f}\u{3a3}-1.gr"),
            email("maria@xn---1-k9b7bby.gr")
        );
        assert_eq!(
            normalize_pattern("*@\u{39f}\u{394}\u{39f}\u{3a3}-1.gr").unwrap(),
            normalize_pattern("*@xn---1-k9b7bby.gr").unwrap()
        );
    }

    #[test]
    fn a_domain_that_maps_to_another_shape_is_refused() {
        // UTS 46 maps the fullwidth commercial at to `@`: that is no domain.
        for bad in [
            "x@evil.com\u{ff20}corp.com",
            "x@evil.com\u{ff0f}corp.com",
            "x@b\u{fc}cher.example\u{ff1a}80",
        ] {
            assert!(
                matches!(Email::parse(bad), Err(AddressError::Shape(_))),
                "{bad:?}: {:?}",
                Email::parse(bad)
            );
        }
        assert!(Domain::parse("evil.com\u{ff20}corp.com").is_err());
    }

    #[test]
    fn addresses_longer_than_a_mailbox_are_refused() {
        let local = "a".repeat(MAX_ADDRESS_CHARS - "@example.com".len());
        assert!(Email::parse(&format!("{local}@example.com")).is_ok());
        let e = Email::parse(&format!("{local}x@example.com")).unwrap_err();
        assert!(e.to_string().contains("longer than 254"), "{e}");
        assert!(normalize_pattern(&format!("{local}xx*@example.com")).is_err());
        assert!(Domain::parse(&format!("{}.com", "d".repeat(300))).is_err());
    }

    #[test]
    fn domains_and_patterns_go_through_the_same_checks() {
        assert_eq!(
            Domain::parse(" Example.COM ").unwrap().as_str(),
            "example.com"
        );
        assert!(Domain::parse("exa\u{200b}mple.com").is_err());
        assert!(Domain::parse("a@example.com").is_err());
        assert!(Domain::parse("localhost").is_err());
        assert_eq!(
            normalize_pattern("*@XN--BCHER-KVA.example").unwrap(),
            "*@b\u{fc}cher.example"
        );
        assert_eq!(normalize_pattern("BreakGlass@*").unwrap(), "breakglass@*");
        assert_eq!(normalize_pattern("*@*.Corp").unwrap(), "*@*.corp");
        assert!(matches!(
            normalize_pattern("break\u{200b}*@example.com"),
            Err(AddressError::Character {
                found: '\u{200b}',
                position: 6,
                ..
            })
        ));
        assert!(normalize_pattern("*@a@b").is_err());
        assert!(normalize_pattern("* @example.com").is_err());
    }
}
