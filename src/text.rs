//! Text from outside (the API, files) made safe to show.

/// Text from the API made safe for a terminal: control characters (an escape sequence could
/// move the cursor and hide lines of the plan being approved), bidirectional overrides (which
/// reorder what is shown), invisible characters (`break\u{200b}glass` must not look like
/// `breakglass`) and line separators are written as escapes; everything else is kept as it is.
pub fn printable(text: &str) -> String {
    let hostile = |c: char| {
        c.is_control()
            || (!c.is_ascii() && crate::model::is_invisible(c))
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}')
    };
    if !text.chars().any(hostile) {
        return text.to_string();
    }
    text.chars()
        .map(|c| {
            if hostile(c) {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_only_what_is_hostile() {
        assert_eq!(printable("plain Jos\u{e9}"), "plain Jos\u{e9}");
        assert_eq!(printable("a\u{1b}[2Kb"), "a\\u{1b}[2Kb");
        assert_eq!(printable("x\u{202e}y\n"), "x\\u{202e}y\\u{a}");
        assert_eq!(printable("break\u{200b}glass"), "break\\u{200b}glass");
        assert_eq!(
            printable("a\u{ad}b\u{feff}c\u{2028}"),
            "a\\u{ad}b\\u{feff}c\\u{2028}"
        );
        assert_eq!(printable("\u{3164}x\u{fe0f}"), "\\u{3164}x\\u{fe0f}");
    }
}
