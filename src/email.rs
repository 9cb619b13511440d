//! Email addresses as `reconcile` compares them: one normalisation, applied to the allowlist and to
//! live users alike (trim, lower-case, Unicode NFC), and a deliberately simple validity check.

use unicode_normalization::UnicodeNormalization;

/// Normalise an address for comparison: surrounding white space removed, lower-cased, then put in
/// Unicode normal form C so that precomposed and decomposed spellings compare equal.
pub fn normalize(raw: &str) -> String {
    let trimmed = raw.trim();
    // ASCII is already in NFC, and its lower case is ASCII: one allocation, no tables.
    if trimmed.is_ascii() {
        return trimmed.to_ascii_lowercase();
    }
    trimmed.to_lowercase().nfc().collect()
}

/// Check the shape of an already normalised address. This is not RFC 5322: it catches the
/// mistakes people make in a reviewed file (a missing `@`, a space, a domain without a dot).
pub fn check(normalized: &str) -> Result<(), &'static str> {
    let (local, domain) = normalized
        .split_once('@')
        .ok_or("an email address needs an '@'")?;
    if local.is_empty() {
        return Err("the part before '@' is empty");
    }
    if domain.contains('@') {
        return Err("an email address has exactly one '@'");
    }
    if normalized
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err("an email address cannot contain spaces or control characters");
    }
    if !domain.contains('.') {
        return Err("the domain after '@' needs a dot, e.g. example.com");
    }
    if domain.split('.').any(str::is_empty) {
        return Err(
            "the domain after '@' has an empty label (two dots, or a leading or trailing dot)",
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_and_spaces_are_normalised() {
        assert_eq!(normalize("  Alice@Example.COM \t"), "alice@example.com");
    }

    #[test]
    fn unicode_composition_is_normalised() {
        // "é" precomposed (U+00E9) and decomposed (e + U+0301) compare equal.
        let precomposed = "jos\u{e9}@example.com";
        let decomposed = "jose\u{301}@example.com";
        assert_ne!(precomposed, decomposed);
        assert_eq!(normalize(precomposed), normalize(decomposed));
        // Upper-case decomposed too.
        assert_eq!(normalize("JOSE\u{301}@EXAMPLE.COM"), normalize(precomposed));
    }

    #[test]
    fn ascii_fast_path_agrees_with_the_full_path() {
        for raw in ["  Alice@Example.COM ", "a.b+c@x.io", "\tZ@Q.ORG\n"] {
            let full: String = raw.trim().to_lowercase().nfc().collect();
            assert_eq!(normalize(raw), full);
        }
    }

    #[test]
    fn different_addresses_stay_different() {
        assert_ne!(normalize("j.smith@corp.com"), normalize("jsmith@corp.com"));
    }

    #[test]
    fn valid_addresses_pass() {
        for ok in [
            "a@b.co",
            "first.last+tag@sub.example.org",
            "jos\u{e9}@example.com",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn invalid_addresses_fail_with_a_reason() {
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
        ] {
            assert!(check(bad).is_err(), "{bad} should be rejected");
        }
    }
}
