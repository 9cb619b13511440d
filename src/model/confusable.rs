//! Look-alikes: the confusable skeleton and mixed-script detection of Unicode UTS 39, through
//! `unicode-security` (the unicode-rs crate behind rustc's confusable-identifier lint, so its
//! tables follow Unicode releases). Two addresses with one skeleton look the same to a reviewer
//! (`аlicе@` with Cyrillic а and е, `ﬁona@` with the ligature U+FB01), though no normalisation
//! makes them equal: the plan compares skeletons to hold such a deletion, and the config warns
//! about an address whose letters come from more than one script.

use unicode_security::{skeleton as uts39_skeleton, MixedScript};

/// The UTS 39 skeleton of `text`: what it looks like, not what it says.
pub fn skeleton(text: &str) -> String {
    uts39_skeleton(text).collect()
}

/// When `text` mixes scripts (UTS 39 mixed-script detection: `Common` and `Inherited`
/// characters such as `@`, `.` and digits go with any script, Han with kana is Japanese), the
/// names of the scripts its letters come from, the one with most letters first (then in order of
/// first appearance): `аlicе` is "Latin and Cyrillic", Cyrillic letters in a Latin word.
pub fn mixed_scripts(text: &str) -> Option<Vec<&'static str>> {
    // ASCII is Latin letters and Common characters: one script, without a table lookup per
    // character (an allowlist of 100,000 addresses is checked entry by entry).
    if text.is_ascii() || text.is_single_script() {
        return None;
    }
    let mut counts: Vec<(&'static str, usize)> = Vec::new();
    for c in text.chars() {
        let set = c.to_string().as_str().resolve_script_set();
        if set.is_all() {
            continue;
        }
        for script in set.base.iter() {
            let name = script.full_name();
            match counts.iter_mut().find(|(n, _)| *n == name) {
                Some((_, count)) => *count += 1,
                None => counts.push((name, 1)),
            }
        }
    }
    // A stable sort keeps the order of first appearance among equal counts.
    counts.sort_by_key(|(_, count)| std::cmp::Reverse(*count));
    Some(counts.into_iter().map(|(name, _)| name).collect())
}

/// `["Latin", "Cyrillic", "Greek"]` as "Latin, Cyrillic and Greek".
pub fn and_list(names: &[&str]) -> String {
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => last.to_string(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alikes_share_a_skeleton() {
        // Cyrillic а (U+0430) and е (U+0435); the ligature ﬁ (U+FB01); ĳ (U+0133).
        assert_eq!(
            skeleton("\u{430}lic\u{435}@corp.com"),
            skeleton("alice@corp.com")
        );
        assert_eq!(skeleton("\u{fb01}ona@corp.com"), skeleton("fiona@corp.com"));
        assert_eq!(
            skeleton("\u{133}ssel@corp.com"),
            skeleton("ijssel@corp.com")
        );
        assert_eq!(skeleton("\u{441}\u{43e}rp.com"), skeleton("corp.com"));
        assert_ne!(skeleton("alice@corp.com"), skeleton("alicia@corp.com"));
    }

    #[test]
    fn mixed_scripts_are_named() {
        assert_eq!(
            mixed_scripts("\u{430}lic\u{435}@corp.com"),
            Some(vec!["Latin", "Cyrillic"])
        );
        assert_eq!(mixed_scripts("alice@corp.com"), None);
        assert_eq!(mixed_scripts("jos\u{e9}@b\u{fc}cher.example"), None);
        assert_eq!(mixed_scripts("\u{438}\u{432}\u{430}\u{43d}@"), None);
        assert_eq!(and_list(&["Latin", "Cyrillic"]), "Latin and Cyrillic");
        assert_eq!(and_list(&["A", "B", "C"]), "A, B and C");
    }
}
