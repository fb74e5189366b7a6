//! Everything the CLI reads from outside, bounded: token files and standard input, secret
//! values, and the environments file (bytes, YAML nodes, nesting depth, duplicate keys).

use std::{
    io::{IsTerminal, Read},
    path::Path,
};

use serde_json::Value;

use crate::failure::Failure;

/// The most bytes a token or a secret value may have.
pub const MAX_SECRET_BYTES: u64 = 64 * 1024;
/// The most bytes an environments file may have.
pub const MAX_FILE_BYTES: u64 = 1 << 20;
/// The most YAML nodes an environments file may expand to (aliases included).
pub const MAX_YAML_NODES: usize = 100_000;
/// The deepest an environments file may nest.
pub const MAX_YAML_DEPTH: usize = 32;

/// A regular file of at most `cap` bytes. Opening never blocks (a FIFO would), and the type is
/// checked on the opened file; `/dev/zero` or a FIFO is refused at once.
pub fn read_small_file(path: &Path, cap: u64) -> Result<String, String> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(|e| e.to_string())?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("must be a regular file".to_owned());
    }
    read_bounded(file, cap)
}

/// At most `cap` bytes of UTF-8 text from `reader`; more is an error, not a truncation.
pub fn read_bounded(reader: impl Read, cap: u64) -> Result<String, String> {
    let mut bytes = Vec::new();
    reader
        .take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > cap {
        return Err(format!("is larger than {cap} bytes"));
    }
    String::from_utf8(bytes).map_err(|_| "is not UTF-8 text".to_owned())
}

/// The token on the first line of `text`.
pub fn token_line(text: &str, flag: &str) -> Result<String, Failure> {
    let token = text.lines().next().unwrap_or_default().trim();
    if token.is_empty() {
        Err(Failure::Usage(format!(
            "{flag}: no token (the first line is empty)"
        )))
    } else {
        Ok(token.to_owned())
    }
}

/// The token from `--token-file`.
pub fn token_file(path: &Path) -> Result<String, Failure> {
    let text = read_small_file(path, MAX_SECRET_BYTES)
        .map_err(|e| Failure::Usage(format!("--token-file {}: {e}", path.display())))?;
    token_line(&text, "--token-file")
}

/// The token from `--token-stdin`: the first line, read up to [`MAX_SECRET_BYTES`].
pub fn token_stdin() -> Result<String, Failure> {
    let text = read_bounded(std::io::stdin().lock(), MAX_SECRET_BYTES)
        .map_err(|e| Failure::Usage(format!("--token-stdin: standard input {e}")))?;
    token_line(&text, "--token-stdin")
}

/// A `--secret-var NAME`'s value: the environment variable `NAME`, else standard input when it
/// is not a terminal (a secret is never typed where it echoes). Never empty: a CI job whose
/// secret is missing must fail, not blank the password.
pub fn secret_var(name: &str, stdin_free: bool) -> Result<String, Failure> {
    let flag = format!("--secret-var {name}");
    match std::env::var(name) {
        Ok(value) if value.is_empty() => Err(Failure::Usage(format!(
            "{flag}: the environment variable {name} is set but empty; refusing to send an empty secret"
        ))),
        Ok(value) => Ok(value),
        Err(std::env::VarError::NotUnicode(_)) => Err(Failure::Usage(format!(
            "{flag}: the environment variable {name} is not UTF-8"
        ))),
        Err(std::env::VarError::NotPresent) => {
            if !stdin_free {
                return Err(Failure::Usage(format!(
                    "{flag}: the environment variable {name} is unset, and standard input is taken"
                )));
            }
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                return Err(Failure::Usage(format!(
                    "{flag}: the environment variable {name} is unset; set it, or pipe the value \
                     on standard input (it is not read from a terminal, where it would echo)"
                )));
            }
            let text = read_bounded(stdin.lock(), MAX_SECRET_BYTES)
                .map_err(|e| Failure::Usage(format!("{flag}: standard input {e}")))?;
            let value = text.strip_suffix('\n').unwrap_or(&text);
            let value = value.strip_suffix('\r').unwrap_or(value);
            if value.is_empty() {
                return Err(Failure::Usage(format!(
                    "{flag}: the environment variable {name} is unset and standard input is empty; \
                     refusing to send an empty secret"
                )));
            }
            Ok(value.to_owned())
        }
    }
}

/// Reads an environments file into JSON: a regular file of at most [`MAX_FILE_BYTES`], YAML
/// (JSON is YAML) of at most [`MAX_YAML_NODES`] nodes and [`MAX_YAML_DEPTH`] levels, with no
/// key given twice in one mapping.
pub fn yaml_file(path: &Path) -> Result<Value, Failure> {
    let shown = path.display();
    let text = read_small_file(path, MAX_FILE_BYTES)
        .map_err(|e| Failure::Usage(format!("-f {shown}: {e}")))?;
    yaml(&text).map_err(|e| Failure::Usage(format!("-f {shown}: {e}")))
}

/// YAML text into JSON, within the budgets of [`yaml_file`].
pub fn yaml(text: &str) -> Result<Value, String> {
    // Flow collections nest without a newline (`[[[[…`); the parser would take minutes on
    // 100,000 levels before the budget below ever sees a node. Count them first.
    flow_depth(text)?;
    let budget = Budget {
        nodes: std::cell::Cell::new(MAX_YAML_NODES),
        failure: std::cell::RefCell::new(None),
    };
    let deserializer = serde_yaml_ng::Deserializer::from_str(text);
    let result = serde::de::DeserializeSeed::deserialize(
        Bounded {
            budget: &budget,
            depth: 0,
        },
        deserializer,
    );
    match (result, budget.failure.into_inner()) {
        (_, Some(failure)) => Err(failure),
        (Ok(value), None) => Ok(value),
        (Err(e), None) => Err(e.to_string()),
    }
}

/// Refuses flow nesting deeper than [`MAX_YAML_DEPTH`], counting `[`/`{` outside quoted
/// scalars. It errs on the side of counting: a quote opens only where YAML starts a quoted
/// scalar (at a line's start, after an indicator `: `, `- `, `? `, or after `[`, `{`, `,`), and
/// no quote outlives its line, so an apostrophe in a plain scalar (`it's`) hides nothing.
fn flow_depth(text: &str) -> Result<(), String> {
    for line in text.lines() {
        let mut depth: usize = 0;
        let mut quoted: Option<char> = None;
        // The previous character, and the last one that was not a space.
        let (mut prev, mut last): (Option<char>, Option<char>) = (None, None);
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match quoted {
                Some('"') if c == '\\' => {
                    chars.next();
                }
                Some(q) if c == q => quoted = None,
                Some(_) => {}
                None => match c {
                    '"' | '\'' => {
                        let after_space = prev.is_none_or(char::is_whitespace);
                        let opens = matches!(prev, Some('[' | '{' | ','))
                            || (after_space
                                && matches!(last, None | Some(':' | '-' | '?' | '[' | '{' | ',')));
                        if opens {
                            quoted = Some(c);
                        }
                    }
                    '[' | '{' => {
                        depth += 1;
                        if depth > MAX_YAML_DEPTH {
                            return Err(format!("nests deeper than {MAX_YAML_DEPTH} levels"));
                        }
                    }
                    ']' | '}' => depth = depth.saturating_sub(1),
                    _ => {}
                },
            }
            prev = Some(c);
            if !c.is_whitespace() {
                last = Some(c);
            }
        }
    }
    Ok(())
}

struct Budget {
    nodes: std::cell::Cell<usize>,
    /// Why the budget stopped the parse (the parser's own message would hide it).
    failure: std::cell::RefCell<Option<String>>,
}

/// Deserializes into JSON, counting nodes (aliases expanded) and depth against the budget.
struct Bounded<'a> {
    budget: &'a Budget,
    depth: usize,
}

impl Bounded<'_> {
    fn take<E: serde::de::Error>(&self) -> Result<(), E> {
        let fail = |why: String| {
            *self.budget.failure.borrow_mut() = Some(why.clone());
            Err(E::custom(why))
        };
        if self.depth > MAX_YAML_DEPTH {
            return fail(format!("nests deeper than {MAX_YAML_DEPTH} levels"));
        }
        match self.budget.nodes.get() {
            0 => fail(format!(
                "expands to more than {MAX_YAML_NODES} YAML nodes (anchors and aliases); refusing it"
            )),
            n => {
                self.budget.nodes.set(n - 1);
                Ok(())
            }
        }
    }

    fn child(&self) -> Bounded<'_> {
        Bounded {
            budget: self.budget,
            depth: self.depth + 1,
        }
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for Bounded<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Bounded<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a YAML value")
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Value, E> {
        self.take()?;
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Value, E> {
        self.take()?;
        Ok(Value::from(v))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Value, E> {
        self.take()?;
        Ok(Value::from(v))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        self.take()?;
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Value, E> {
        self.take()?;
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Value, E> {
        self.take()?;
        Ok(Value::String(v))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Value, E> {
        self.take()?;
        Ok(Value::Null)
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.take()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self.child())? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.take()?;
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key_seed(self.child())? {
            let key = match key {
                Value::String(s) => s,
                other => other.to_string(),
            };
            if out.contains_key(&key) {
                let why = format!("the key {key:?} is given twice in one mapping");
                *self.budget.failure.borrow_mut() = Some(why.clone());
                return Err(serde::de::Error::custom(why));
            }
            let value = map.next_value_seed(self.child())?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alias_bomb_is_refused() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..12 {
            let prev = if i == 0 {
                "a".to_owned()
            } else {
                format!("b{}", i - 1)
            };
            text.push_str(&format!(
                "b{i}: &b{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
        }
        let err = yaml(&text).unwrap_err();
        assert!(err.contains("YAML nodes"), "{err}");
    }

    #[test]
    fn deep_nesting_is_refused_fast() {
        let text = "[".repeat(100_000);
        assert!(yaml(&text).unwrap_err().contains("nests deeper"));
        let mut block = String::new();
        for i in 0..40 {
            block.push_str(&" ".repeat(i * 2));
            block.push_str("k:\n");
        }
        assert!(yaml(&block).unwrap_err().contains("nests deeper"));
    }

    #[test]
    fn an_apostrophe_hides_no_nesting_from_the_count() {
        let deep = "[".repeat(100_000);
        for text in [
            format!("x: it's\ny: {deep}"),
            format!("y: [it's, {deep}"),
            format!("y: [\"a\\\"b\", {deep}"),
        ] {
            let err = yaml(&text).unwrap_err();
            assert!(err.contains("nests deeper"), "{err}");
        }
        // A quoted scalar's brackets are still not nesting, nor an apostrophe's.
        assert_eq!(
            yaml("x: it's [fine]\n").unwrap(),
            serde_json::json!({"x": "it's [fine]"})
        );
    }

    #[test]
    fn a_duplicate_key_is_refused() {
        let err = yaml("environments:\n  - name: a\n    name: b\n").unwrap_err();
        assert!(err.contains("\"name\" is given twice"), "{err}");
    }

    #[test]
    fn a_quoted_bracket_is_not_nesting() {
        let text = format!("x: \"{}\"\n", "[".repeat(100));
        assert_eq!(
            yaml(&text).unwrap(),
            serde_json::json!({"x": "[".repeat(100)})
        );
    }
}
