//! A YAML reader that keeps positions. serde_yaml cannot say on which line a value stood once it
//! has been deserialised, and every config error and every plan reason must name `file:line:col`,
//! so the desired-state file is read into this small tree of nodes that carry their own position.
//!
//! It is also where hostile input stops: aliases are refused (no alias bombs), nesting is capped,
//! and only one document is allowed.

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::TScalarStyle;

/// Deeper than any real desired-state file; deep enough to refuse a nesting bomb quickly.
const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    /// 1-based line and column where the node starts.
    pub line: usize,
    pub col: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar as written; `plain` is false for quoted and block scalars.
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The scalar's text, if this node is a scalar that is not null.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } if !self.is_null() => Some(text),
            _ => None,
        }
    }

    /// YAML's null: an empty plain scalar, `~` or `null`.
    pub fn is_null(&self) -> bool {
        matches!(&self.value, Value::Scalar { text, plain: true }
            if text.is_empty() || text == "~" || text.eq_ignore_ascii_case("null"))
    }

    pub fn kind(&self) -> &'static str {
        match &self.value {
            _ if self.is_null() => "nothing (null)",
            Value::Scalar { .. } => "a single value",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct YamlError {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

/// Parse one YAML document. `Ok(None)` for a file with no document (empty or only comments).
pub fn parse(text: &str) -> Result<Option<Node>, YamlError> {
    let mut parser = Parser::new_from_str(text);
    // Each open collection: its node (with position) and, for maps, a pending key.
    let mut stack: Vec<(Node, Option<Node>)> = Vec::new();
    let mut root: Option<Node> = None;
    let mut documents = 0usize;
    loop {
        let (event, mark) = parser.next_token().map_err(|e| YamlError {
            line: e.marker().line(),
            col: e.marker().col() + 1,
            message: e.info().to_string(),
        })?;
        let (line, col) = (mark.line(), mark.col() + 1);
        let error = |message: String| YamlError { line, col, message };
        let finished = match event {
            Event::StreamEnd => return Ok(root),
            Event::DocumentStart => {
                documents += 1;
                if documents > 1 {
                    return Err(error(
                        "a desired-state file holds one YAML document; split the others into files of their own"
                            .into(),
                    ));
                }
                None
            }
            Event::Alias(_) => {
                return Err(error(
                    "YAML aliases (*name) are not supported in desired-state files; write the entries out in full"
                        .into(),
                ))
            }
            Event::Scalar(text, style, _, _) => Some(Node {
                value: Value::Scalar {
                    text,
                    plain: style == TScalarStyle::Plain,
                },
                line,
                col,
            }),
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(error(format!(
                        "the file is nested more than {MAX_DEPTH} levels deep; a desired-state file needs only a few"
                    )));
                }
                let value = if matches!(event, Event::SequenceStart(..)) {
                    Value::Seq(Vec::new())
                } else {
                    Value::Map(Vec::new())
                };
                stack.push((Node { value, line, col }, None));
                None
            }
            Event::SequenceEnd | Event::MappingEnd => stack.pop().map(|(mut node, _)| {
                // A block mapping's start mark can fall after its first key; the mapping starts
                // where its first key does.
                if let Value::Map(entries) = &node.value {
                    if let Some((key, _)) = entries.first() {
                        if (key.line, key.col) < (node.line, node.col) {
                            (node.line, node.col) = (key.line, key.col);
                        }
                    }
                }
                node
            }),
            Event::StreamStart | Event::DocumentEnd | Event::Nothing => None,
        };
        if let Some(node) = finished {
            match stack.last_mut() {
                None => root = Some(node),
                Some((parent, pending_key)) => match &mut parent.value {
                    Value::Seq(items) => items.push(node),
                    Value::Map(entries) => match pending_key.take() {
                        None => *pending_key = Some(node),
                        Some(key) => entries.push((key, node)),
                    },
                    Value::Scalar { .. } => {
                        unreachable!("only collections are pushed on the stack")
                    }
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(node: &Node) -> &str {
        node.as_str().unwrap()
    }

    #[test]
    fn positions_are_one_based() {
        let root = parse("account_id: abc\nusers:\n  - a@b.co\n  - \"c@d.co\"\n")
            .unwrap()
            .unwrap();
        let Value::Map(entries) = &root.value else {
            panic!("not a map")
        };
        assert_eq!(scalar(&entries[0].0), "account_id");
        assert_eq!((entries[0].0.line, entries[0].0.col), (1, 1));
        assert_eq!((entries[0].1.line, entries[0].1.col), (1, 13));
        let Value::Seq(items) = &entries[1].1.value else {
            panic!("not a seq")
        };
        assert_eq!(scalar(&items[0]), "a@b.co");
        assert_eq!((items[0].line, items[0].col), (3, 5));
        assert_eq!(scalar(&items[1]), "c@d.co");
        assert_eq!(items[1].line, 4);
    }

    #[test]
    fn empty_document_is_none() {
        assert_eq!(parse("").unwrap(), None);
        assert_eq!(parse("# only a comment\n").unwrap(), None);
    }

    #[test]
    fn nulls() {
        let root = parse("a: ~\nb:\nc: null\nd: 'null'\n").unwrap().unwrap();
        let Value::Map(entries) = &root.value else {
            panic!()
        };
        assert!(entries[0].1.is_null());
        assert!(entries[1].1.is_null());
        assert!(entries[2].1.is_null());
        assert!(!entries[3].1.is_null(), "a quoted 'null' is a string");
    }

    #[test]
    fn aliases_are_refused() {
        let err = parse("a: &x [1, 2]\nb: *x\n").unwrap_err();
        assert!(err.message.contains("aliases"), "{err:?}");
        assert_eq!(err.line, 2);
    }

    #[test]
    fn alias_bomb_is_refused_quickly() {
        let mut bomb = String::from(
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        for i in 0..9u8 {
            let (prev, next) = ((b'a' + i) as char, (b'b' + i) as char);
            bomb.push_str(&format!("{next}: &{next} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"));
        }
        assert!(parse(&bomb).is_err());
    }

    #[test]
    fn deep_nesting_is_refused() {
        // Flow style: the scanner's own recursion limit stops it.
        assert!(parse(&"[".repeat(100_000)).is_err());
        // Block style: our depth cap stops it.
        let mut deep = String::new();
        for depth in 0..40 {
            deep.push_str(&format!("{}k{depth}:\n", "  ".repeat(depth)));
        }
        let err = parse(&deep).unwrap_err();
        assert!(err.message.contains("nested"), "{err:?}");
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = parse("users:\n  - a@b.co\n - c@d.co\n").unwrap_err();
        assert!(err.line >= 2, "{err:?}");
    }

    #[test]
    fn two_documents_are_refused() {
        let err = parse("a: 1\n---\nb: 2\n").unwrap_err();
        assert!(err.message.contains("one YAML document"), "{err:?}");
    }
}
