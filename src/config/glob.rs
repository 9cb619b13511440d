//! The `*` of `protected:` patterns (`*@svc.example.com`, `breakglass@*`): `*` stands for any
//! run of characters, everything else for itself, matched against a normalised address.
//!
//! Hand-written rather than a glob crate (`glob`, `globset`, `wildmatch`): those match paths, so
//! `?`, `[...]`, `{a,b}`, `**` and `/` mean something to them, and an address pattern written with
//! one of those characters would silently match more or less than it says. The one operator here
//! is twenty lines, matches each literal part at its leftmost place (no backtracking), and the
//! tests below pin its edge cases.

/// `*` matches any run of characters (including none); everything else matches itself.
pub(super) fn glob_match(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob() {
        assert!(glob_match("*@svc.example.com", "a@svc.example.com"));
        assert!(glob_match("*@svc.example.com", "@svc.example.com"));
        assert!(!glob_match("*@svc.example.com", "a@svc.example.com.evil"));
        assert!(glob_match("ops-*@*.example.com", "ops-1@eu.example.com"));
        assert!(!glob_match("ops-*@*.example.com", "dev-1@eu.example.com"));
        assert!(glob_match("a*a", "aa"));
        assert!(!glob_match("a*a", "a"));
        assert!(glob_match("breakglass@*", "breakglass@anything"));
        assert!(glob_match("exact@example.com", "exact@example.com"));
        assert!(!glob_match("exact@example.com", "exact@example.comx"));
    }
}
