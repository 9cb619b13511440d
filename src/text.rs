//! Text from outside (the API, files) made safe to show.

/// Text from outside (the API, file names, YAML keys and values, audit logs) made safe for a
/// terminal: control characters (an escape sequence could move the cursor and hide lines of the
/// plan being approved), the line and paragraph separators U+2028 / U+2029 (which some terminals
/// and editors break lines at, so a value could pass for two lines), the bidirectional marks,
/// embeddings, overrides and isolates (which reorder what is shown), and every character that
/// does not show: format characters (Cf) and the other default-ignorable code points
/// (`break\u{200b}glass` must not pass for `breakglass`). They are written as escapes
/// (`\u{202e}`); everything else is kept as it is. The joiners U+200C / U+200D are escaped too:
/// an emoji sequence in a name then shows its parts (`👩\u{200d}💻`), the price of never showing
/// an address that looks like another. The result never contains any of them, so escaping twice
/// changes nothing.
pub fn printable(text: &str) -> String {
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

fn hostile(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}')
        || (!c.is_ascii() && crate::model::is_invisible(c))
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
        // Line separators, the Arabic letter mark, the C1 controls (NEL) and isolates.
        assert_eq!(
            printable("a\u{2028}b\u{2029}c\u{61c}d\u{85}e\u{2067}f"),
            "a\\u{2028}b\\u{2029}c\\u{61c}d\\u{85}e\\u{2067}f"
        );
        assert_eq!(
            printable("a.yaml\u{200b}\u{2060}\u{feff}"),
            "a.yaml\\u{200b}\\u{2060}\\u{feff}"
        );
        assert_eq!(
            printable("\u{1f469}\u{200d}\u{1f4bb}"),
            "\u{1f469}\\u{200d}\u{1f4bb}"
        );
        // Every bidirectional control is escaped.
        for c in [
            '\u{200e}', '\u{200f}', '\u{202a}', '\u{202d}', '\u{2066}', '\u{2069}',
        ] {
            assert_eq!(printable(&c.to_string()), c.escape_unicode().to_string());
        }
        // Escaping is idempotent: what it writes holds nothing to escape.
        let once = printable("\u{1b}]8;;x\u{7}\u{202e}");
        assert_eq!(printable(&once), once);
    }
}
