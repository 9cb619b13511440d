//! Text from outside (the API, files) made safe to show: one predicate, [`is_hostile`], decides
//! which characters never reach a terminal raw, and every writer uses it — [`printable`] for
//! human text, the Markdown renderer's `escape`, and [`write_json_pretty`] for JSON documents.

use std::borrow::Cow;
use std::io;

use serde::Serialize;

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
pub(crate) fn printable(text: &str) -> String {
    printable_cow(text).into_owned()
}

/// [`printable`], borrowing `text` when nothing in it needs escaping (nearly always): for the
/// writers of 100,000 lines, which need no copy of each address.
pub(crate) fn printable_cow(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_hostile) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_hostile(c) {
            escaped.extend(c.escape_unicode());
        } else {
            escaped.push(c);
        }
    }
    Cow::Owned(escaped)
}

/// Whether `c` must not reach a terminal raw (see [`printable`] for the classes and why): the
/// controls (C0, DEL and C1), the line and paragraph separators, and every invisible or
/// bidirectional character. The one definition, so that no writer keeps a shorter list.
pub(crate) fn is_hostile(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}')
        || (!c.is_ascii() && crate::model::is_invisible(c))
}

/// `value` as pretty-printed JSON (as `serde_json::to_writer_pretty` writes it), except that
/// every [`is_hostile`] character inside a string is written as a `\uXXXX` escape (a surrogate
/// pair above U+FFFF). serde_json escapes only `"`, `\` and U+0000..U+001F, so C1 controls
/// (U+009B is a one-byte CSI on many terminals), DEL, bidirectional overrides and zero-width
/// characters would otherwise reach a terminal or a CI log raw when the JSON is printed. The
/// document is still valid JSON and parses to exactly the same strings.
pub(crate) fn write_json_pretty<W: io::Write, T: Serialize + ?Sized>(
    out: W,
    value: &T,
) -> serde_json::Result<()> {
    write_json_pretty_at(out, value, 0)
}

/// [`write_json_pretty`] for a value that sits `depth` levels deep in a document written in
/// pieces: its inner lines are indented as they would be there (the first line is not: the
/// caller writes what comes before it).
pub(crate) fn write_json_pretty_at<W: io::Write, T: Serialize + ?Sized>(
    out: W,
    value: &T,
    depth: usize,
) -> serde_json::Result<()> {
    let mut serializer = serde_json::Serializer::with_formatter(out, EscapingFormatter::at(depth));
    value.serialize(&mut serializer)
}

/// [`write_json_pretty`] into a `String`.
pub(crate) fn to_json_pretty<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let mut bytes = Vec::new();
    write_json_pretty(&mut bytes, value)?;
    // The serializer writes UTF-8 only; the escapes are ASCII.
    String::from_utf8(bytes).map_err(|e| serde_json::Error::io(io::Error::other(e)))
}

/// A line break and the indentation of `depth` levels (two spaces each), after a comma when
/// `comma`: one write for what serde_json's pretty layout writes in `1 + depth` (a JSON plan of
/// 100,000 users is two million lines).
pub(crate) fn write_json_break<W: ?Sized + io::Write>(
    w: &mut W,
    comma: bool,
    depth: usize,
) -> io::Result<()> {
    const BREAK: [u8; 2 + 2 * 32] = {
        let mut b = [b' '; 2 + 2 * 32];
        b[0] = b',';
        b[1] = b'\n';
        b
    };
    let from = usize::from(!comma);
    if depth <= 32 {
        return w.write_all(&BREAK[from..2 + 2 * depth]);
    }
    w.write_all(&BREAK[from..2])?;
    for _ in 0..depth {
        w.write_all(b"  ")?;
    }
    Ok(())
}

/// serde_json's pretty layout (two spaces a level, `": "` after a key), with [`is_hostile`]
/// characters escaped in strings. serde_json hands a string to the formatter as fragments that
/// need no escaping by JSON's rules, and the characters JSON requires escaped separately; only
/// the fragments are examined here. The layout is serde_json's `PrettyFormatter`'s, written
/// here so that a value can start deeper than the top
/// (`text::tests::the_layout_is_serde_jsons_pretty_one`).
struct EscapingFormatter {
    depth: usize,
    has_value: bool,
}

impl EscapingFormatter {
    fn at(depth: usize) -> EscapingFormatter {
        EscapingFormatter {
            depth,
            has_value: false,
        }
    }

    fn open<W: ?Sized + io::Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(bracket)
    }

    fn close<W: ?Sized + io::Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            write_json_break(w, false, self.depth)?;
        }
        w.write_all(bracket)
    }
}

impl serde_json::ser::Formatter for EscapingFormatter {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // Printable ASCII, nearly every fragment, holds nothing hostile: one pass over the bytes
        // instead of a char-by-char lookup (a JSON plan of 100,000 users is millions of them).
        if fragment.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return writer.write_all(fragment.as_bytes());
        }
        let mut rest = fragment;
        while let Some((at, c)) = rest.char_indices().find(|&(_, c)| is_hostile(c)) {
            writer.write_all(&rest.as_bytes()[..at])?;
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                write!(writer, "\\u{unit:04x}")?;
            }
            rest = &rest[at + c.len_utf8()..];
        }
        writer.write_all(rest.as_bytes())
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"[")
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"]")
    }
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        write_json_break(w, !first, self.depth)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"{")
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"}")
    }
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        write_json_break(w, !first, self.depth)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// A path as it may be shown on a terminal: bytes that are not UTF-8 are written `\xNN`, and
/// control and bidirectional characters are escaped (see [`crate::text::printable`]), so that a
/// file name cannot move the cursor, reorder a line, or pass for another name.
pub(crate) fn display_path(path: &std::path::Path) -> String {
    display_bytes(path.as_os_str().as_encoded_bytes())
}

/// [`display_path`] for the bytes of a name.
pub(crate) fn display_bytes(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.utf8_chunks() {
        out.push_str(&printable(chunk.valid()));
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// `"s"` unless `n` is one: "1 user", "2 users".
pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// "3 users", "1 file".
pub(crate) fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", plural(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layout_is_serde_jsons_pretty_one() {
        let deep = (0..40).fold(
            serde_json::json!("leaf"),
            |v, i| serde_json::json!({ format!("k{i}"): [v, i] }),
        );
        let value = serde_json::json!({
            "a": 1, "b": [], "c": {}, "d": [1, [2, []], {"e": null, "f": [{}]}],
            "s": "plain \" quote", "deep": deep,
        });
        let mut ours = Vec::new();
        write_json_pretty(&mut ours, &value).unwrap();
        assert_eq!(
            String::from_utf8(ours).unwrap(),
            serde_json::to_string_pretty(&value).unwrap()
        );
        // A value written deeper is indented as it is inside the document.
        let doc = serde_json::json!({ "x": { "y": value.clone() } });
        let whole = serde_json::to_string_pretty(&doc).unwrap();
        let mut inner = Vec::new();
        write_json_pretty_at(&mut inner, &value, 2).unwrap();
        let inner = String::from_utf8(inner).unwrap();
        assert!(
            whole.contains(&format!("\"y\": {inner}\n  }}\n}}")),
            "{inner}"
        );
    }

    #[test]
    fn escapes_only_what_is_hostile() {
        assert_eq!(printable("plain Jos\u{e9}"), "plain Jos\u{e9}");
        assert!(matches!(printable_cow("plain Jos\u{e9}"), Cow::Borrowed(_)));
        assert!(matches!(printable_cow("a\u{1b}b"), Cow::Owned(ref s) if s == "a\\u{1b}b"));
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

    #[test]
    fn json_escapes_what_is_hostile_and_parses_back_to_the_same_text() {
        let text = "a\u{85}b\u{9b}2J\u{7f}\u{202e}x\u{200b}\u{3164}\u{fe0f}\u{e0041}\u{1b}\"\\ Jos\u{e9} \u{1f469}";
        let value = serde_json::json!({ "name": text, "k\u{2028}": [text] });
        let json = to_json_pretty(&value).unwrap();
        for raw in [
            '\u{85}',
            '\u{9b}',
            '\u{7f}',
            '\u{202e}',
            '\u{200b}',
            '\u{3164}',
            '\u{fe0f}',
            '\u{e0041}',
            '\u{1b}',
            '\u{2028}',
        ] {
            assert!(!json.contains(raw), "{raw:?} raw in {json}");
        }
        for escape in [
            "\\u0085",
            "\\u009b",
            "\\u007f",
            "\\u202e",
            "\\u200b",
            "\\u3164",
            "\\ufe0f",
            "\\udb40\\udc41",
            "\\u001b",
            "\\u2028",
        ] {
            assert!(json.contains(escape), "{escape} not in {json}");
        }
        // Everything else is as serde_json writes it: the layout, the letters, the emoji.
        assert!(json.contains("Jos\u{e9} \u{1f469}"), "{json}");
        let back: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back, value);
        let plain = serde_json::json!({ "a": [1, "b"], "c": {} });
        assert_eq!(
            to_json_pretty(&plain).unwrap(),
            serde_json::to_string_pretty(&plain).unwrap()
        );
    }
}
