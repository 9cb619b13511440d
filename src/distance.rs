//! Edit distance, for "did you mean" hints and the typo rail.

/// Levenshtein distance over Unicode scalar values (characters, not bytes: `é` to `e` is one
/// edit), from `strsim`, which clap already brings.
pub(crate) fn levenshtein(a: &str, b: &str) -> usize {
    strsim::levenshtein(a, b)
}

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub(crate) fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (levenshtein(word, c), *c))
        .filter(|(d, c)| *d <= (c.len() / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(levenshtein("", ""), 0);
        assert_eq!(levenshtein("abc", ""), 3);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("jsmith@corp.com", "j.smith@corp.com"), 1);
    }

    #[test]
    fn closest_suggests_only_near_words() {
        assert_eq!(closest("user", &["users", "account_id"]), Some("users"));
        assert_eq!(
            closest("acount_id", &["users", "account_id"]),
            Some("account_id")
        );
        assert_eq!(closest("zzzzzz", &["users", "account_id"]), None);
    }
}
