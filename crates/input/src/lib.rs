//! Bounded reads of what comes from outside, shared by the `omni-dbt` CLI (environments files,
//! token files, standard input) and `cargo xtask` (spec documents): a regular file only (a FIFO
//! or a device such as `/dev/zero` is refused at once, and opening never blocks), at most a
//! given number of bytes; YAML within budgets of nodes, bytes and depth, counted with aliases
//! expanded, and no key given twice in one mapping.
//!
//! ```
//! let limits = omni_dbt_input::Limits { bytes: 1 << 20, nodes: 10_000, depth: 16, text_keys: true };
//! let value = omni_dbt_input::yaml("a: [1, 2]\n", limits).unwrap();
//! assert_eq!(value["a"][1], 2);
//! let bomb = format!("big: &a \"{}\"\nall: [{}]\n", "x".repeat(1000), ["*a"; 2000].join(", "));
//! assert!(omni_dbt_input::yaml(&bomb, limits).unwrap_err().contains("bytes"));
//! ```

mod locate;
pub use locate::{Located, Step, locate};
use std::{io::Read, path::Path};

use serde_json::Value;

/// The budgets of one YAML document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The most bytes of scalar text it may expand to (aliases expanded).
    pub bytes: usize,
    /// The most nodes it may expand to (aliases expanded).
    pub nodes: usize,
    /// The deepest it may nest.
    pub depth: usize,
    /// Keys must be text as written: a key YAML reads as a number, a boolean or null (`0x1F:`
    /// is 31, `1e3:` 1000.0, `~:` null) is refused rather than silently renamed. (An OpenAPI
    /// document in YAML writes status codes as numbers: `200:`.)
    pub text_keys: bool,
}

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

/// YAML text (JSON is YAML) into JSON, within `limits`: nodes and bytes counted with aliases
/// expanded (a few kilobytes of anchors cannot stand for gigabytes), nesting depth, and no key
/// given twice in one mapping.
pub fn yaml(text: &str, limits: Limits) -> Result<Value, String> {
    // Flow collections nest without a newline (`[[[[…`); the parser would take minutes on
    // 100,000 levels before the budget below ever sees a node. Count them first.
    flow_depth(text, limits.depth)?;
    let budget = Budget {
        limits,
        nodes: std::cell::Cell::new(limits.nodes),
        bytes: std::cell::Cell::new(limits.bytes),
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

/// Refuses flow nesting deeper than `max_depth`, counting `[`/`{` outside quoted
/// scalars. It errs on the side of counting: a quote opens only where YAML starts a quoted
/// scalar (at a line's start, after an indicator `: `, `- `, `? `, or after `[`, `{`, `,`), and
/// no quote outlives its line, so an apostrophe in a plain scalar (`it's`) hides nothing.
fn flow_depth(text: &str, max_depth: usize) -> Result<(), String> {
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
                        if depth > max_depth {
                            return Err(format!("nests deeper than {max_depth} levels"));
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
    limits: Limits,
    nodes: std::cell::Cell<usize>,
    bytes: std::cell::Cell<usize>,
    /// Why the budget stopped the parse (the parser's own message would hide it).
    failure: std::cell::RefCell<Option<String>>,
}

/// Deserializes into JSON, counting nodes (aliases expanded) and depth against the budget.
struct Bounded<'a> {
    budget: &'a Budget,
    depth: usize,
}

impl Bounded<'_> {
    /// Counts one node of `bytes` bytes (a scalar's text; 0 for a collection).
    fn take<E: serde::de::Error>(&self, bytes: usize) -> Result<(), E> {
        let fail = |why: String| {
            *self.budget.failure.borrow_mut() = Some(why.clone());
            Err(E::custom(why))
        };
        let limits = self.budget.limits;
        if self.depth > limits.depth {
            return fail(format!("nests deeper than {} levels", limits.depth));
        }
        let Some(nodes) = self.budget.nodes.get().checked_sub(1) else {
            return fail(format!(
                "expands to more than {} YAML nodes (anchors and aliases); refusing it",
                limits.nodes
            ));
        };
        let Some(left) = self.budget.bytes.get().checked_sub(bytes) else {
            return fail(format!(
                "expands to more than {} bytes of text (anchors and aliases); refusing it",
                limits.bytes
            ));
        };
        self.budget.nodes.set(nodes);
        self.budget.bytes.set(left);
        Ok(())
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
        self.take(0)?;
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Value, E> {
        self.take(0)?;
        Ok(Value::from(v))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Value, E> {
        self.take(0)?;
        Ok(Value::from(v))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        self.take(0)?;
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Value, E> {
        self.take(v.len())?;
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Value, E> {
        self.take(v.len())?;
        Ok(Value::String(v))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Value, E> {
        self.take(0)?;
        Ok(Value::Null)
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.take(0)?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self.child())? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.take(0)?;
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key_seed(self.child())? {
            let key = match key {
                Value::String(s) => s,
                other if self.budget.limits.text_keys => {
                    let why = format!(
                        "the key {other} is not text (YAML reads it as a number, a boolean or \
                         null, and would rename it); quote it"
                    );
                    *self.budget.failure.borrow_mut() = Some(why.clone());
                    return Err(serde::de::Error::custom(why));
                }
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

    const LIMITS: Limits = Limits {
        bytes: 1 << 20,
        nodes: 100_000,
        depth: 32,
        text_keys: true,
    };

    #[test]
    fn keys_yaml_would_rename_are_refused_unless_allowed() {
        for text in ["0x1F: a\n", "1e3: a\n", "~: a\n", "true: a\n", "200: ok\n"] {
            let err = yaml(text, LIMITS).unwrap_err();
            assert!(err.contains("is not text"), "{text}: {err}");
        }
        assert_eq!(
            yaml("'0x1F': a\n", LIMITS).unwrap(),
            serde_json::json!({"0x1F": "a"})
        );
        let lax = Limits {
            text_keys: false,
            ..LIMITS
        };
        assert_eq!(
            yaml("200: ok\n", lax).unwrap(),
            serde_json::json!({"200": "ok"})
        );
    }

    #[test]
    fn an_alias_amplification_of_text_is_refused_by_bytes() {
        // Under 1 MiB written, 30 GB expanded: few nodes, many bytes.
        let text = format!(
            "big: &a \"{}\"\nall: [{}]\n",
            "x".repeat(500_000),
            ["*a"; 60_000].join(", ")
        );
        assert!(text.len() < 1 << 20);
        let limits = Limits {
            nodes: 2_000_000,
            ..LIMITS
        };
        let err = yaml(&text, limits).unwrap_err();
        assert!(err.contains("bytes of text"), "{err}");
    }

    #[test]
    fn fifos_and_devices_are_refused_at_once_and_files_are_capped() {
        assert!(read_small_file(Path::new("/dev/zero"), 10).is_err());
        let dir = std::env::temp_dir().join(format!("omni-dbt-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("f");
        std::fs::write(&file, "12345").unwrap();
        assert_eq!(read_small_file(&file, 5).unwrap(), "12345");
        assert!(
            read_small_file(&file, 4)
                .unwrap_err()
                .contains("larger than 4 bytes")
        );
        #[cfg(unix)]
        {
            let fifo = dir.join("fifo");
            let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
            // SAFETY: a valid NUL-terminated path.
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
            assert!(
                read_small_file(&fifo, 10)
                    .unwrap_err()
                    .contains("regular file")
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

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
        let err = yaml(&text, LIMITS).unwrap_err();
        assert!(err.contains("YAML nodes"), "{err}");
    }

    #[test]
    fn deep_nesting_is_refused_fast() {
        let text = "[".repeat(100_000);
        assert!(yaml(&text, LIMITS).unwrap_err().contains("nests deeper"));
        let mut block = String::new();
        for i in 0..40 {
            block.push_str(&" ".repeat(i * 2));
            block.push_str("k:\n");
        }
        assert!(yaml(&block, LIMITS).unwrap_err().contains("nests deeper"));
    }

    #[test]
    fn an_apostrophe_hides_no_nesting_from_the_count() {
        let deep = "[".repeat(100_000);
        for text in [
            format!("x: it's\ny: {deep}"),
            format!("y: [it's, {deep}"),
            format!("y: [\"a\\\"b\", {deep}"),
        ] {
            let err = yaml(&text, LIMITS).unwrap_err();
            assert!(err.contains("nests deeper"), "{err}");
        }
        // A quoted scalar's brackets are still not nesting, nor an apostrophe's.
        assert_eq!(
            yaml("x: it's [fine]\n", LIMITS).unwrap(),
            serde_json::json!({"x": "it's [fine]"})
        );
    }

    #[test]
    fn a_duplicate_key_is_refused() {
        let err = yaml("environments:\n  - name: a\n    name: b\n", LIMITS).unwrap_err();
        assert!(err.contains("\"name\" is given twice"), "{err}");
    }

    #[test]
    fn a_quoted_bracket_is_not_nesting() {
        let text = format!("x: \"{}\"\n", "[".repeat(100));
        assert_eq!(
            yaml(&text, LIMITS).unwrap(),
            serde_json::json!({"x": "[".repeat(100)})
        );
    }
}
