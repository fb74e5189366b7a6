//! Where a node of a YAML text is, by its path (`environments[1].targetRole`): the line and
//! column an error about the file's meaning points at. The text has been parsed within budgets
//! already (`yaml`); this replays it with an event parser that keeps spans, and gives up
//! (`None`) on whatever it cannot follow (an alias, a complex key, more events than a bound).

use saphyr_parser::{Event, Parser};

/// One step of a path: a mapping's key or a sequence's index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// The value under this key of a mapping.
    Key(String),
    /// The item at this index (from 0) of a sequence.
    Index(usize),
}

/// A node's place in the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located {
    /// From 1.
    pub line: usize,
    /// From 1, in characters.
    pub column: usize,
    /// The scalar as written (unquoted), when the node is one.
    pub scalar: Option<String>,
}

/// The most events replayed (a file within the budgets has far fewer).
const MAX_EVENTS: usize = 2_000_000;

/// A mapping or a sequence being read, and where in it the parser is.
enum Frame {
    /// `key`: the key whose value comes next (`None` while a key is expected, or for a key that
    /// is not a scalar).
    Map {
        expecting_key: bool,
        key: Option<String>,
    },
    Seq {
        index: usize,
    },
}

/// Where the node at `path` starts; with `key_itself`, where the last step's key is written
/// instead of its value (for an error about the key, e.g. an unknown one). `None` when the
/// path is not in the text, or the text cannot be followed.
pub fn locate(text: &str, path: &[Step], key_itself: bool) -> Option<Located> {
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    // The path of the node the next event starts, as far as the stack says.
    let here = |stack: &[Frame]| -> Option<Vec<Step>> {
        stack
            .iter()
            .map(|frame| match frame {
                Frame::Map { key, .. } => key.clone().map(Step::Key),
                Frame::Seq { index } => Some(Step::Index(*index)),
            })
            .collect()
    };
    let located = |span: &saphyr_parser::Span, scalar: Option<String>| Located {
        line: span.start.line(),
        column: span.start.col().saturating_add(1),
        scalar,
    };
    for _ in 0..MAX_EVENTS {
        let (event, span) = parser.next_event()?.ok()?;
        // A key of the innermost mapping, or a value (of a mapping or a sequence)?
        let is_key = matches!(
            stack.last(),
            Some(Frame::Map {
                expecting_key: true,
                ..
            })
        );
        match event {
            Event::StreamEnd | Event::DocumentEnd => return None,
            Event::Alias(_) => {
                if is_key {
                    return None;
                }
                if here(&stack).as_deref() == Some(path) && !key_itself {
                    return Some(located(&span, None));
                }
                ended(&mut stack);
            }
            Event::Scalar(value, ..) => {
                if is_key {
                    if let Some(Frame::Map { expecting_key, key }) = stack.last_mut() {
                        *expecting_key = false;
                        *key = Some(value.to_string());
                    }
                    if key_itself && here(&stack).as_deref() == Some(path) {
                        return Some(located(&span, Some(value.into_owned())));
                    }
                } else {
                    if !key_itself && here(&stack).as_deref() == Some(path) {
                        return Some(located(&span, Some(value.into_owned())));
                    }
                    ended(&mut stack);
                }
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                // A mapping or a sequence as a key: not followed.
                if is_key {
                    return None;
                }
                if !key_itself && here(&stack).as_deref() == Some(path) {
                    return Some(located(&span, None));
                }
                stack.push(match event {
                    Event::MappingStart(..) => Frame::Map {
                        expecting_key: true,
                        key: None,
                    },
                    _ => Frame::Seq { index: 0 },
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
                ended(&mut stack);
            }
            Event::Nothing | Event::StreamStart | Event::DocumentStart(_) => {}
        }
    }
    None
}

/// A value ended: its mapping expects a key next, its sequence the next item.
fn ended(stack: &mut [Frame]) {
    match stack.last_mut() {
        Some(Frame::Map { expecting_key, key }) => {
            *expecting_key = true;
            *key = None;
        }
        Some(Frame::Seq { index }) => *index = index.saturating_add(1),
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str, path: &[Step], key: bool) -> Option<(usize, usize, Option<String>)> {
        locate(text, path, key).map(|l| (l.line, l.column, l.scalar))
    }

    fn k(key: &str) -> Step {
        Step::Key(key.to_owned())
    }

    #[test]
    fn values_and_keys_are_found_in_block_and_flow_style() {
        let text = "connection: abc\nenvironments:\n  - name: a\n    targetSchema: x\n  - name: b\n    targetSchema: true\n    targteRole: X\n    variables: {A: '1', B: 2}\n";
        let second = [k("environments"), Step::Index(1)];
        assert_eq!(
            at(text, &[&second[..], &[k("targetSchema")]].concat(), false),
            Some((6, 19, Some("true".into())))
        );
        assert_eq!(
            at(text, &[&second[..], &[k("targteRole")]].concat(), true),
            Some((7, 5, Some("targteRole".into())))
        );
        assert_eq!(at(text, &second, false), Some((5, 5, None)));
        assert_eq!(
            at(
                text,
                &[&second[..], &[k("variables"), k("B")]].concat(),
                false
            ),
            Some((8, 28, Some("2".into())))
        );
        assert_eq!(
            at(text, &[k("connection")], false),
            Some((1, 13, Some("abc".into())))
        );
        // Not there, or past an alias: no place.
        assert_eq!(at(text, &[k("environments"), Step::Index(5)], false), None);
        assert_eq!(at("a: &x {b: 1}\nc: *x\n", &[k("c"), k("b")], false), None);
        assert_eq!(at("[: broken", &[k("a")], false), None);
    }
}
