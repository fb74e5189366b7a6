//! Validation of JSON values against OpenAPI 3.0 Schema Objects, read as they are written (no
//! translation): `nullable`, boolean `exclusiveMinimum`/`exclusiveMaximum`, local `$ref`s,
//! and `pattern`s in ECMAScript syntax (by `regress`, compiled as the generated client compiles
//! them).
//!
//! This is the subset of JSON Schema that OpenAPI 3.0 defines, and no more: `type`, `enum`,
//! `format` (`uuid`, `date`, `date-time`, `email` as an RFC 5321 mailbox with a dot-atom local
//! part and a domain name; other formats are annotations, as JSON Schema allows), `multipleOf`, `minimum`, `maximum`, `minLength`, `maxLength`, `pattern`, `items`,
//! `minItems`, `maxItems`, `uniqueItems`, `properties`, `additionalProperties`, `required`,
//! `minProperties`, `maxProperties`, `allOf`, `anyOf`, `oneOf`, `not`. `$ref` siblings apply
//! (as in JSON Schema 2020-12, which the earlier translation to `jsonschema` used). The tests
//! check it against the `jsonschema` crate, on the translation [`crate::to_json_schema`].

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::problem::{Kind, Location, Problem, Step};

/// How deep references and combinators may nest before a schema is refused as cyclic.
const MAX_DEPTH: usize = 128;

/// The most problems one check collects: a hostile value (300,000 items that each break a rule)
/// costs no more than one that breaks a hundred, and a report or a 400's detail needs only the
/// first.
pub(crate) const MAX_PROBLEMS: usize = 100;

/// A document's `#/components/schemas` and every `pattern` in it, compiled once.
#[derive(Debug, Default)]
pub(crate) struct Definitions {
    schemas: Map<String, Value>,
    patterns: HashMap<String, regress::Regex>,
}

impl Definitions {
    /// The component schemas of `doc`, with their patterns compiled.
    pub(crate) fn of(doc: &Value) -> Result<Self, String> {
        let schemas = doc
            .pointer("/components/schemas")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut defs = Definitions {
            schemas,
            patterns: HashMap::new(),
        };
        let all: Vec<Value> = defs.schemas.values().cloned().collect();
        for schema in &all {
            defs.compile_patterns(schema)?;
        }
        Ok(defs)
    }

    /// Compiles every `pattern` (and `patternProperties` key) of `schema`, so that a check
    /// never meets one that does not compile.
    pub(crate) fn compile_patterns(&mut self, schema: &Value) -> Result<(), String> {
        match schema {
            Value::Object(map) => {
                if let Some(Value::String(p)) = map.get("pattern") {
                    self.compile_pattern(p)?;
                }
                for (key, value) in map {
                    if key == "example" || key == "default" || key == "enum" {
                        continue;
                    }
                    if key == "patternProperties"
                        && let Value::Object(props) = value
                    {
                        for p in props.keys() {
                            self.compile_pattern(p)?;
                        }
                    }
                    self.compile_patterns(value)?;
                }
                Ok(())
            }
            Value::Array(items) => items.iter().try_for_each(|i| self.compile_patterns(i)),
            _ => Ok(()),
        }
    }

    /// No schemas and no patterns.
    pub(crate) fn is_empty(&self) -> bool {
        self.schemas.is_empty() && self.patterns.is_empty()
    }

    /// These definitions with `extra`'s patterns (and schemas) added.
    pub(crate) fn with(&self, extra: Definitions) -> Definitions {
        let mut schemas = self.schemas.clone();
        schemas.extend(extra.schemas);
        let mut patterns = self.patterns.clone();
        patterns.extend(extra.patterns);
        Definitions { schemas, patterns }
    }

    fn compile_pattern(&mut self, pattern: &str) -> Result<(), String> {
        if !self.patterns.contains_key(pattern) {
            let regex = regress::Regex::new(pattern)
                .map_err(|e| format!("pattern {pattern:?} does not compile: {e}"))?;
            self.patterns.insert(pattern.to_owned(), regex);
        }
        Ok(())
    }

    /// Every way `value` breaks `schema`, each with the location of the value.
    /// At most [`MAX_PROBLEMS`] are collected.
    pub(crate) fn problems(&self, schema: &Value, value: &Value) -> Vec<Problem> {
        let mut out = Vec::new();
        self.check(schema, value, &mut Location::default(), 0, &mut out);
        out.truncate(MAX_PROBLEMS);
        out
    }

    fn resolve(&self, reference: &str) -> Option<&Value> {
        let name = reference.strip_prefix("#/components/schemas/")?;
        // JSON pointer escapes in a component name.
        let name = name.replace("~1", "/").replace("~0", "~");
        self.schemas.get(&name)
    }

    fn check(
        &self,
        schema: &Value,
        value: &Value,
        at: &mut Location,
        depth: usize,
        out: &mut Vec<Problem>,
    ) {
        let push = |out: &mut Vec<Problem>, at: &Location, kind| {
            out.push(Problem {
                at: at.clone(),
                kind,
            })
        };
        if out.len() >= MAX_PROBLEMS {
            return;
        }
        let Value::Object(s) = schema else {
            // `true`/`false` schemas are JSON Schema, not OpenAPI 3.0; `false` refuses all.
            if schema == &Value::Bool(false) {
                push(out, at, Kind::NothingAllowed);
            }
            return;
        };
        if depth > MAX_DEPTH {
            push(out, at, Kind::TooDeep(MAX_DEPTH));
            return;
        }
        let nullable = s.get("nullable") == Some(&Value::Bool(true));
        if value.is_null() && nullable {
            return;
        }
        if let Some(reference) = s.get("$ref").and_then(Value::as_str) {
            match self.resolve(reference) {
                Some(target) => self.check(target, value, at, depth + 1, out),
                None => push(out, at, Kind::Unresolvable(reference.to_owned())),
            }
        }
        if let Some(t) = s.get("type").and_then(Value::as_str)
            && !has_type(value, t)
        {
            let kind = Kind::Type {
                expected: t.to_owned(),
                nullable,
                got: value.clone(),
            };
            push(out, at, kind);
            // The keywords below assume the type; JSON Schema applies them only to values of
            // their kind, so nothing more would be found.
        }
        if let Some(Value::Array(allowed)) = s.get("enum")
            && !allowed.iter().any(|a| json_eq(a, value))
        {
            let kind = Kind::NotInEnum {
                got: value.clone(),
                allowed: allowed.clone(),
            };
            push(out, at, kind);
        }
        match value {
            Value::String(text) => self.check_string(s, text, at, out),
            Value::Number(_) => check_number(s, value, at, out),
            Value::Array(items) => self.check_array(s, items, at, depth, out),
            Value::Object(members) => self.check_object(s, members, at, depth, out),
            Value::Null | Value::Bool(_) => {}
        }
        self.check_combinators(s, value, at, depth, out);
    }

    fn check_string(
        &self,
        s: &Map<String, Value>,
        text: &str,
        at: &Location,
        out: &mut Vec<Problem>,
    ) {
        let mut push = |kind| {
            out.push(Problem {
                at: at.clone(),
                kind,
            })
        };
        let length = text.chars().count() as u64;
        if let Some(min) = s.get("minLength").and_then(Value::as_u64)
            && length < min
        {
            push(Kind::TooShort {
                got: text.to_owned(),
                min,
            });
        }
        if let Some(max) = s.get("maxLength").and_then(Value::as_u64)
            && length > max
        {
            push(Kind::TooLong {
                got: text.to_owned(),
                max,
            });
        }
        if let Some(pattern) = s.get("pattern").and_then(Value::as_str) {
            match self.patterns.get(pattern) {
                Some(regex) if regex.find(text).is_some() => {}
                Some(_) => push(Kind::NoMatch {
                    got: text.to_owned(),
                    pattern: pattern.to_owned(),
                }),
                None => push(Kind::PatternNotCompiled(pattern.to_owned())),
            }
        }
        if let Some(format) = s.get("format").and_then(Value::as_str) {
            let valid = match format {
                "uuid" => is_uuid(text),
                "date" => is_date(text),
                "date-time" => is_date_time(text),
                "email" => is_email(text),
                _ => true,
            };
            if !valid {
                push(Kind::Format {
                    got: text.to_owned(),
                    format: format.to_owned(),
                });
            }
        }
    }

    fn check_array(
        &self,
        s: &Map<String, Value>,
        items: &[Value],
        at: &mut Location,
        depth: usize,
        out: &mut Vec<Problem>,
    ) {
        let mut push = |at: &Location, kind| {
            out.push(Problem {
                at: at.clone(),
                kind,
            })
        };
        let count = items.len() as u64;
        if let Some(min) = s.get("minItems").and_then(Value::as_u64)
            && count < min
        {
            push(at, Kind::FewItems(min));
        }
        if let Some(max) = s.get("maxItems").and_then(Value::as_u64)
            && count > max
        {
            push(at, Kind::ManyItems(max));
        }
        if s.get("uniqueItems") == Some(&Value::Bool(true)) && has_duplicates(items) {
            push(at, Kind::NotUnique);
        }
        if let Some(item_schema) = s.get("items") {
            for (i, item) in items.iter().enumerate() {
                if out.len() >= MAX_PROBLEMS {
                    break;
                }
                at.0.push(Step::Index(i));
                self.check(item_schema, item, at, depth + 1, out);
                at.0.pop();
            }
        }
    }

    fn check_object(
        &self,
        s: &Map<String, Value>,
        members: &Map<String, Value>,
        at: &mut Location,
        depth: usize,
        out: &mut Vec<Problem>,
    ) {
        let push = |out: &mut Vec<Problem>, at: &Location, kind| {
            out.push(Problem {
                at: at.clone(),
                kind,
            })
        };
        let count = members.len() as u64;
        if let Some(min) = s.get("minProperties").and_then(Value::as_u64)
            && count < min
        {
            push(out, at, Kind::FewProperties(min));
        }
        if let Some(max) = s.get("maxProperties").and_then(Value::as_u64)
            && count > max
        {
            push(out, at, Kind::ManyProperties(max));
        }
        if let Some(Value::Array(required)) = s.get("required") {
            for name in required.iter().filter_map(Value::as_str) {
                if !members.contains_key(name) {
                    push(out, at, Kind::Required(name.to_owned()));
                }
            }
        }
        let properties = s.get("properties").and_then(Value::as_object);
        let pattern_properties = s.get("patternProperties").and_then(Value::as_object);
        let mut unexpected = Vec::new();
        for (name, member) in members {
            if out.len() >= MAX_PROBLEMS {
                break;
            }
            at.0.push(Step::Key(name.clone()));
            let mut matched = false;
            if let Some(property) = properties.and_then(|p| p.get(name)) {
                matched = true;
                self.check(property, member, at, depth + 1, out);
            }
            for (pattern, property) in pattern_properties.into_iter().flatten() {
                if self
                    .patterns
                    .get(pattern)
                    .is_some_and(|r| r.find(name).is_some())
                {
                    matched = true;
                    self.check(property, member, at, depth + 1, out);
                }
            }
            if !matched {
                match s.get("additionalProperties") {
                    Some(Value::Bool(false)) => unexpected.push(name.clone()),
                    Some(extra @ Value::Object(_)) => self.check(extra, member, at, depth + 1, out),
                    _ => {}
                }
            }
            at.0.pop();
        }
        if !unexpected.is_empty() {
            push(out, at, Kind::Unexpected(unexpected));
        }
    }

    fn check_combinators(
        &self,
        s: &Map<String, Value>,
        value: &Value,
        at: &mut Location,
        depth: usize,
        out: &mut Vec<Problem>,
    ) {
        if let Some(Value::Array(all)) = s.get("allOf") {
            for sub in all {
                self.check(sub, value, at, depth + 1, out);
            }
        }
        let problems_of = |sub: &Value| {
            let mut found = Vec::new();
            self.check(sub, value, &mut at.clone(), depth + 1, &mut found);
            found
        };
        // The problems of the branch that came closest, when none holds.
        let closest = |branches: &[Value]| -> Option<Vec<Problem>> {
            let mut best: Option<Vec<Problem>> = None;
            for sub in branches {
                let found = problems_of(sub);
                if found.is_empty() {
                    return None;
                }
                if best.as_ref().is_none_or(|b| found.len() < b.len()) {
                    best = Some(found);
                }
            }
            Some(best.unwrap_or_default())
        };
        let mut push = |kind| {
            out.push(Problem {
                at: at.clone(),
                kind,
            })
        };
        if let Some(Value::Array(any)) = s.get("anyOf")
            && let Some(closest) = closest(any)
        {
            push(Kind::NoBranch {
                got: value.clone(),
                combinator: "anyOf",
                closest,
            });
        }
        if let Some(Value::Array(one)) = s.get("oneOf") {
            let holding = one.iter().filter(|sub| problems_of(sub).is_empty()).count();
            match holding {
                1 => {}
                0 => push(Kind::NoBranch {
                    got: value.clone(),
                    combinator: "oneOf",
                    closest: closest(one).unwrap_or_default(),
                }),
                _ => push(Kind::ManyBranches(value.clone())),
            }
        }
        if let Some(not) = s.get("not")
            && problems_of(not).is_empty()
        {
            push(Kind::NotNot(value.clone()));
        }
    }
}

fn check_number(s: &Map<String, Value>, value: &Value, at: &Location, out: &mut Vec<Problem>) {
    let Some(n) = value.as_f64() else { return };
    let mut push = |kind| {
        out.push(Problem {
            at: at.clone(),
            kind,
        })
    };
    let exclusive = |flag: &str| s.get(flag) == Some(&Value::Bool(true));
    if let Some(min) = s.get("minimum").and_then(Value::as_f64) {
        let exclusive = exclusive("exclusiveMinimum");
        if if exclusive { n <= min } else { n < min } {
            push(Kind::Below {
                got: value.clone(),
                min,
                exclusive,
            });
        }
    }
    if let Some(max) = s.get("maximum").and_then(Value::as_f64) {
        let exclusive = exclusive("exclusiveMaximum");
        if if exclusive { n >= max } else { n > max } {
            push(Kind::Above {
                got: value.clone(),
                max,
                exclusive,
            });
        }
    }
    if let Some(step) = s.get("multipleOf").and_then(Value::as_f64)
        && step > 0.0
    {
        let multiple = match (value.as_i64(), s.get("multipleOf").and_then(Value::as_i64)) {
            (Some(v), Some(m)) if m != 0 => v % m == 0,
            _ => {
                let q = n / step;
                q.is_finite() && (q - q.round()).abs() < 1e-9
            }
        };
        if !multiple {
            push(Kind::NotMultiple {
                got: value.clone(),
                step,
            });
        }
    }
}

fn has_type(value: &Value, t: &str) -> bool {
    match t {
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "number" => value.is_number(),
        "integer" => {
            value.is_i64()
                || value.is_u64()
                || value
                    .as_f64()
                    .is_some_and(|f| f.is_finite() && f.fract() == 0.0)
        }
        // An unknown type name matches nothing.
        _ => false,
    }
}

/// Whether two items are equal by [`json_eq`]'s rule, in one pass: each item's
/// [`canonical`] text goes into a set (a pairwise comparison is quadratic, and a 1 MiB body
/// holds some 500,000 items).
fn has_duplicates(items: &[Value]) -> bool {
    let mut seen = std::collections::HashSet::with_capacity(items.len());
    items.iter().any(|item| {
        let mut key = String::new();
        canonical(item, &mut key);
        !seen.insert(key)
    })
}

/// A text that two values share when [`json_eq`] finds them equal: numbers by value (an
/// integral float as the integer), object members in key order, strings as JSON writes them.
fn canonical(value: &Value, out: &mut String) {
    use std::fmt::Write as _;
    // Writing to a String cannot fail.
    match value {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                let _ = write!(out, "{i}");
            } else if let Some(u) = n.as_u64() {
                let _ = write!(out, "{u}");
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                // Integral and in i64's range (the bounds are exact in f64): the integer.
                if f.fract() == 0.0
                    && (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&f)
                {
                    #[allow(clippy::cast_possible_truncation)]
                    let _ = write!(out, "{}", f as i64);
                } else if f.fract() == 0.0 && (0.0..18_446_744_073_709_551_616.0).contains(&f) {
                    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                    let _ = write!(out, "{}", f as u64);
                } else {
                    let _ = write!(out, "{f:?}");
                }
            }
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        Value::Object(members) => {
            let mut keys: Vec<&String> = members.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                canonical(&members[key], out);
            }
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// JSON equality, with numbers compared by value (`1` equals `1.0`).
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => match (x.as_u64(), y.as_u64()) {
                (Some(x), Some(y)) => x == y,
                _ => x.as_f64() == y.as_f64(),
            },
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, a)| y.get(k).is_some_and(|b| json_eq(a, b)))
        }
        _ => a == b,
    }
}

/// `local@domain`: a dot-atom local part (RFC 5322 atext, dots between atoms, at most 64
/// octets) and a domain of letter-digit-hyphen labels (at most 63 octets each, 255 in all).
/// Quoted local parts and address literals are not accepted.
fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.rsplit_once('@') else {
        return false;
    };
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local
            .split('.')
            .all(|atom| !atom.is_empty() && atom.chars().all(atext));
    let domain_ok = !domain.is_empty()
        && domain.len() <= 255
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    local_ok && domain_ok
}

/// The RFC 4122 text form: 8-4-4-4-12 hexadecimal digits.
fn is_uuid(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

fn digits(text: &str, count: usize) -> Option<u32> {
    (text.len() == count && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

/// RFC 3339 `full-date`.
fn is_date(text: &str) -> bool {
    let mut parts = text.split('-');
    let (Some(y), Some(m), Some(d), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let (Some(year), Some(month), Some(day)) = (digits(y, 4), digits(m, 2), digits(d, 2)) else {
        return false;
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

/// RFC 3339 `date-time` (`T` or `t`, `Z`/`z` or a numeric offset, fractional seconds, and a
/// leap second allowed as `:60`).
fn is_date_time(text: &str) -> bool {
    let Some((date, time)) = text.split_once(['T', 't']) else {
        return false;
    };
    if !is_date(date) {
        return false;
    }
    let (clock, offset) = if let Some(clock) = time.strip_suffix(['Z', 'z']) {
        (clock, None)
    } else {
        match time.rfind(['+', '-']) {
            Some(i) => (&time[..i], Some(&time[i + 1..])),
            None => return false,
        }
    };
    if let Some(offset) = offset {
        let Some((h, m)) = offset.split_once(':') else {
            return false;
        };
        match (digits(h, 2), digits(m, 2)) {
            (Some(h), Some(m)) if h < 24 && m < 60 => {}
            _ => return false,
        }
    }
    let (whole, fraction) = match clock.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (clock, None),
    };
    if fraction.is_some_and(|f| f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit())) {
        return false;
    }
    let mut parts = whole.split(':');
    let (Some(h), Some(m), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    matches!(
        (digits(h, 2), digits(m, 2), digits(s, 2)),
        (Some(h), Some(m), Some(s)) if h < 24 && m < 60 && s <= 60
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The problems `value` has under `schema` (compiled as a document's component `S`).
    fn found(schema: Value, value: Value) -> Vec<String> {
        let doc = json!({"components": {"schemas": {"S": schema}}});
        let defs = Definitions::of(&doc).unwrap();
        defs.problems(&json!({"$ref": "#/components/schemas/S"}), &value)
            .iter()
            .map(Problem::to_string)
            .collect()
    }

    /// Each keyword at its bounds: the value on the bound holds, one past it does not.
    #[test]
    fn each_keyword_at_its_bounds() {
        let cases = [
            (json!({"maxLength": 2}), json!("ab"), json!("abc")),
            (json!({"minLength": 2}), json!("ab"), json!("a")),
            (json!({"minItems": 2}), json!([1, 2]), json!([1])),
            (json!({"maxItems": 2}), json!([1, 2]), json!([1, 2, 3])),
            (json!({"uniqueItems": true}), json!([1, 2]), json!([1, 1.0])),
            (json!({"minProperties": 1}), json!({"a": 1}), json!({})),
            (
                json!({"maxProperties": 1}),
                json!({"a": 1}),
                json!({"a": 1, "b": 2}),
            ),
            (
                json!({"format": "date"}),
                json!("2024-02-29"),
                json!("2023-02-29"),
            ),
            (
                json!({"format": "date-time"}),
                json!("2026-05-04T10:00:00Z"),
                json!("2026-05-04 10:00:00"),
            ),
            (
                json!({"type": "string", "nullable": true}),
                json!(null),
                json!(1),
            ),
            (json!({"type": "string"}), json!("x"), json!(null)),
            (
                json!({"items": {"type": "integer"}}),
                json!([1, 2]),
                json!([1, "2"]),
            ),
            (
                json!({"properties": {"a": {"type": "integer"}}}),
                json!({"a": 1}),
                json!({"a": "1"}),
            ),
            (
                json!({"additionalProperties": {"type": "integer"}}),
                json!({"a": 1}),
                json!({"a": "1"}),
            ),
            // Numbers, their bounds exclusive or not, and whole numbers written with a point.
            (json!({"minimum": 1}), json!(1), json!(0.5)),
            (
                json!({"minimum": 1, "exclusiveMinimum": true}),
                json!(1.5),
                json!(1),
            ),
            (json!({"maximum": 2}), json!(2), json!(2.5)),
            (
                json!({"maximum": 2, "exclusiveMaximum": true}),
                json!(1.5),
                json!(2),
            ),
            (json!({"multipleOf": 3}), json!(-6), json!(7)),
            (json!({"multipleOf": 0.5}), json!(1.5), json!(1.25)),
            (json!({"type": "integer"}), json!(2.0), json!(2.5)),
            (json!({"multipleOf": 2.5}), json!(7.5), json!(6.0)),
            // Whole numbers are compared as whole numbers, beyond what a float holds exactly.
            (
                json!({"multipleOf": 2}),
                json!(9_007_199_254_740_994_i64),
                json!(9_007_199_254_740_993_i64),
            ),
            (
                json!({"enum": [-9_007_199_254_740_993_i64]}),
                json!(-9_007_199_254_740_993_i64),
                json!(-9_007_199_254_740_992_i64),
            ),
            (
                json!({"enum": [{"a": 1}]}),
                json!({"a": 1.0}),
                json!({"b": 1}),
            ),
            (
                json!({"properties": {"a": false}}),
                json!({}),
                json!({"a": 1}),
            ),
            (
                json!({"format": "date"}),
                json!("2023-02-28"),
                json!("2023-02-29"),
            ),
            (
                json!({"format": "date-time"}),
                json!("2026-05-04T10:00:00.5Z"),
                json!("2026-05-04T10:00:00.5aZ"),
            ),
            // `enum` compares as JSON: numbers by value, lists and objects member by member.
            (json!({"enum": [1]}), json!(1.0), json!(2)),
            (
                json!({"enum": [u64::MAX]}),
                json!(u64::MAX),
                json!(u64::MAX - 1),
            ),
            (
                json!({"enum": [[1, {"a": 1}]]}),
                json!([1.0, {"a": 1}]),
                json!([1, {"a": 2}]),
            ),
            (json!({"enum": [[1, 2]]}), json!([1, 2]), json!([1])),
            (
                json!({"enum": [{"a": 1}]}),
                json!({"a": 1}),
                json!({"a": 1, "b": 2}),
            ),
            (
                json!({"enum": [{"a": 1}]}),
                json!({"a": 1}),
                json!({"b": 1}),
            ),
            // Formats at their edges.
            (
                json!({"format": "date"}),
                json!("2000-02-29"),
                json!("1900-02-29"),
            ),
            (
                json!({"format": "date"}),
                json!("2024-04-30"),
                json!("2024-04-31"),
            ),
            (
                json!({"format": "date"}),
                json!("2024-12-31"),
                json!("2024-13-01"),
            ),
            (
                json!({"format": "date"}),
                json!("2024-01-31"),
                json!("2024-1-31"),
            ),
            (
                json!({"format": "date-time"}),
                json!("2026-05-04T23:59:60+23:59"),
                json!("2026-05-04T23:59:60+24:00"),
            ),
            (
                json!({"format": "date-time"}),
                json!("2026-05-04T23:59:59.5-01:00"),
                json!("2026-05-04T23:59:59.5-01:60"),
            ),
            (
                json!({"format": "date-time"}),
                json!("2026-05-04t10:00:00z"),
                json!("2026-05-04T10:00:00."),
            ),
            (
                json!({"format": "email"}),
                json!(format!("{}@x", "a".repeat(64))),
                json!(format!("{}@x", "a".repeat(65))),
            ),
            (
                json!({"format": "email"}),
                json!("a.b@x-y.example"),
                json!("a.b@x-.example"),
            ),
            (json!({"format": "email"}), json!("a@b"), json!("a@-b")),
            (json!({"format": "email"}), json!("a@b"), json!("a@b_c")),
            (
                json!({"format": "email"}),
                json!(format!("a@{}", "b".repeat(63))),
                json!(format!("a@{}", "b".repeat(64))),
            ),
            (json!({"format": "email"}), json!("a@b"), json!("a b@b")),
            // Combinators.
            (
                json!({"anyOf": [{"type": "string"}, {"type": "integer"}]}),
                json!(1),
                json!(true),
            ),
            (
                json!({"oneOf": [{"type": "integer"}, {"minimum": 0}]}),
                json!(-1),
                json!(1),
            ),
            (json!({"not": {"type": "string"}}), json!(1), json!("x")),
            // A pattern inside a list of schemas, and a patternProperties key, are compiled.
            (
                json!({"allOf": [{"pattern": "^a"}]}),
                json!("ab"),
                json!("ba"),
            ),
            (
                json!({"patternProperties": {"^x": {"type": "integer"}}}),
                json!({"x1": 1, "y": "y"}),
                json!({"x1": "1"}),
            ),
        ];
        for (schema, holds, breaks) in cases {
            assert_eq!(
                found(schema.clone(), holds.clone()),
                Vec::<String>::new(),
                "{schema} {holds}"
            );
            let problems = found(schema.clone(), breaks.clone());
            assert_eq!(problems.len(), 1, "{schema} {breaks}: {problems:?}");
            assert!(!problems[0].contains("was not compiled"), "{problems:?}");
        }
        assert!(found(json!({"uniqueItems": false}), json!([1, 1])).is_empty());
        assert!(found(json!({"multipleOf": 0}), json!(5)).is_empty());
        // No branch holds, two as close: Omni's wording reports the first.
        let doc = json!({"components": {"schemas": {}}});
        let defs = Definitions::of(&doc).unwrap();
        let union = json!({"oneOf": [
            {"type": "object", "required": ["a"]},
            {"type": "object", "required": ["b"]}
        ]});
        let problems = defs.problems(&union, &json!({}));
        assert_eq!(problems[0].omni().as_deref(), Some("a: Required"));
        // Annotations are not schemas: a pattern in an example or a default is not compiled.
        let doc = json!({"components": {"schemas": {
            "S": {"example": {"pattern": "("}, "default": {"pattern": "("}}
        }}});
        assert!(Definitions::of(&doc).is_ok());
    }

    /// A reference cycle is reported, not followed for ever; nested values have their paths.
    #[test]
    fn unique_items_compares_by_value_in_one_pass() {
        let unique = json!({"type": "array", "uniqueItems": true});
        for duplicated in [
            json!([1, 2, 1.0]),
            json!([{"a": 1, "b": [1, "x"]}, 3, {"b": [1.0, "x"], "a": 1}]),
            json!(["1", "1"]),
            json!([-0.0, 0]),
            json!([18446744073709551615u64, 1, 18446744073709551615u64]),
            json!([null, true, null]),
            json!([-2, -2.0]),
        ] {
            assert_eq!(
                found(unique.clone(), duplicated.clone()).len(),
                1,
                "{duplicated}"
            );
        }
        for distinct in [
            json!([1, "1", [1], {"1": 1}, 1.5, true, null]),
            json!([{"a": 1}, {"a": 1, "b": 1}, {"b": 1}]),
            json!([9007199254740993u64, 9007199254740992u64]),
            json!(["a,b", ["a", "b"]]),
            json!([[1, 2], [12], [1], [2]]),
        ] {
            assert!(
                found(unique.clone(), distinct.clone()).is_empty(),
                "{distinct}"
            );
        }
        // The same answer as the pairwise rule for every pair of a mixed set of values.
        let values = [
            json!(0),
            json!(0.0),
            json!(-1),
            json!(1e300),
            json!("0"),
            json!([0]),
            json!([0.0]),
            json!({"k": 0}),
            json!({"k": 0.0}),
            json!({"k": "0"}),
            json!(u64::MAX),
            json!(i64::MIN),
        ];
        for a in &values {
            for b in &values {
                let pair = [a.clone(), b.clone()];
                assert_eq!(has_duplicates(&pair), json_eq(a, b), "{a} {b}");
            }
        }
    }

    #[test]
    fn a_check_stops_at_the_cap() {
        let items = vec![json!("x"); 300_000];
        let problems = found(json!({"items": {"type": "integer"}}), Value::Array(items));
        assert_eq!(problems.len(), MAX_PROBLEMS);
        assert!(problems[0].starts_with("at \"/0\": "), "{problems:?}");
        let members: Map<String, Value> = (0..1000).map(|i| (format!("k{i}"), json!(1))).collect();
        let problems = found(
            json!({"additionalProperties": {"type": "string"}}),
            Value::Object(members),
        );
        assert_eq!(problems.len(), MAX_PROBLEMS);
        // Under the cap, every problem.
        let problems = found(json!({"items": {"type": "integer"}}), json!(["a", "b", 3]));
        assert_eq!(problems.len(), 2, "{problems:?}");
    }

    #[test]
    fn cycles_end_and_paths_nest() {
        let doc = json!({"components": {"schemas": {
            "A": {"$ref": "#/components/schemas/B"},
            "B": {"$ref": "#/components/schemas/A"}
        }}});
        let defs = Definitions::of(&doc).unwrap();
        let problems = defs.problems(&json!({"$ref": "#/components/schemas/A"}), &json!(1));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].to_string().contains("nests deeper than 128"),
            "{problems:?}"
        );
        let nested = found(
            json!({"properties": {"a": {"items": {"properties": {"b": {"type": "integer"}}}}}}),
            json!({"a": [{"b": 1}, {"b": "x"}]}),
        );
        assert_eq!(nested, ["at \"/a/1/b\": \"x\" is not of type \"integer\""]);
    }

    #[test]
    fn formats() {
        assert!(is_uuid("8d2e3f4a-5b6c-4d7e-9f8a-0b1c2d3e4f5a"));
        assert!(!is_uuid("8d2e3f4a5b6c4d7e9f8a0b1c2d3e4f5a"));
        assert!(!is_uuid("8d2e3f4a-5b6c-4d7e-9f8a-0b1c2d3e4f5g"));
        assert!(is_date("2024-02-29"));
        assert!(!is_date("2023-02-29"));
        assert!(!is_date("2023-13-01"));
        assert!(is_date_time("2026-05-04T10:00:00Z"));
        assert!(is_date_time("2026-05-04T10:00:00.123+02:00"));
        assert!(!is_date_time("2026-05-04 10:00:00Z"));
        assert!(!is_date_time("2026-05-04T25:00:00Z"));
        assert!(!is_date_time("2026-05-04T10:00:00"));
    }
}
