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

/// How deep references and combinators may nest before a schema is refused as cyclic.
const MAX_DEPTH: usize = 128;

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

    /// Every way `value` breaks `schema`: one line each, with the JSON pointer of the value.
    pub(crate) fn problems(&self, schema: &Value, value: &Value) -> Vec<String> {
        let mut out = Vec::new();
        self.check(schema, value, &mut String::new(), 0, &mut out);
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
        at: &mut String,
        depth: usize,
        out: &mut Vec<String>,
    ) {
        let Value::Object(s) = schema else {
            // `true`/`false` schemas are JSON Schema, not OpenAPI 3.0; `false` refuses all.
            if schema == &Value::Bool(false) {
                out.push(format!("at \"{at}\": no value is allowed here"));
            }
            return;
        };
        if depth > MAX_DEPTH {
            out.push(format!(
                "at \"{at}\": the schema nests deeper than {MAX_DEPTH} (a reference cycle?)"
            ));
            return;
        }
        if value.is_null() && s.get("nullable") == Some(&Value::Bool(true)) {
            return;
        }
        if let Some(reference) = s.get("$ref").and_then(Value::as_str) {
            match self.resolve(reference) {
                Some(target) => self.check(target, value, at, depth + 1, out),
                None => out.push(format!("at \"{at}\": unresolvable reference {reference}")),
            }
        }
        if let Some(t) = s.get("type").and_then(Value::as_str)
            && !has_type(value, t)
        {
            out.push(format!(
                "at \"{at}\": {} is not of type \"{t}\"",
                show(value)
            ));
            // The keywords below assume the type; JSON Schema applies them only to values of
            // their kind, so nothing more would be found.
        }
        if let Some(Value::Array(allowed)) = s.get("enum")
            && !allowed.iter().any(|a| json_eq(a, value))
        {
            out.push(format!(
                "at \"{at}\": {} is not one of {}",
                show(value),
                show(&Value::Array(allowed.clone()))
            ));
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

    fn check_string(&self, s: &Map<String, Value>, text: &str, at: &str, out: &mut Vec<String>) {
        let length = text.chars().count() as u64;
        if let Some(min) = s.get("minLength").and_then(Value::as_u64)
            && length < min
        {
            out.push(format!(
                "at \"{at}\": {} is shorter than {min} character{}",
                show(&Value::String(text.to_owned())),
                if min == 1 { "" } else { "s" }
            ));
        }
        if let Some(max) = s.get("maxLength").and_then(Value::as_u64)
            && length > max
        {
            out.push(format!(
                "at \"{at}\": {} is longer than {max} character{}",
                show(&Value::String(text.to_owned())),
                if max == 1 { "" } else { "s" }
            ));
        }
        if let Some(pattern) = s.get("pattern").and_then(Value::as_str) {
            match self.patterns.get(pattern) {
                Some(regex) if regex.find(text).is_some() => {}
                Some(_) => out.push(format!(
                    "at \"{at}\": {} does not match {pattern:?}",
                    show(&Value::String(text.to_owned()))
                )),
                None => out.push(format!("at \"{at}\": pattern {pattern:?} was not compiled")),
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
                out.push(format!(
                    "at \"{at}\": {} is not a \"{format}\"",
                    show(&Value::String(text.to_owned()))
                ));
            }
        }
    }

    fn check_array(
        &self,
        s: &Map<String, Value>,
        items: &[Value],
        at: &mut String,
        depth: usize,
        out: &mut Vec<String>,
    ) {
        let count = items.len() as u64;
        if let Some(min) = s.get("minItems").and_then(Value::as_u64)
            && count < min
        {
            out.push(format!("at \"{at}\": has fewer than {min} items"));
        }
        if let Some(max) = s.get("maxItems").and_then(Value::as_u64)
            && count > max
        {
            out.push(format!("at \"{at}\": has more than {max} items"));
        }
        if s.get("uniqueItems") == Some(&Value::Bool(true))
            && items
                .iter()
                .enumerate()
                .any(|(i, a)| items[i + 1..].iter().any(|b| json_eq(a, b)))
        {
            out.push(format!("at \"{at}\": has non-unique elements"));
        }
        if let Some(item_schema) = s.get("items") {
            for (i, item) in items.iter().enumerate() {
                let len = at.len();
                at.push_str(&format!("/{i}"));
                self.check(item_schema, item, at, depth + 1, out);
                at.truncate(len);
            }
        }
    }

    fn check_object(
        &self,
        s: &Map<String, Value>,
        members: &Map<String, Value>,
        at: &mut String,
        depth: usize,
        out: &mut Vec<String>,
    ) {
        let count = members.len() as u64;
        if let Some(min) = s.get("minProperties").and_then(Value::as_u64)
            && count < min
        {
            out.push(format!("at \"{at}\": has fewer than {min} properties"));
        }
        if let Some(max) = s.get("maxProperties").and_then(Value::as_u64)
            && count > max
        {
            out.push(format!("at \"{at}\": has more than {max} properties"));
        }
        if let Some(Value::Array(required)) = s.get("required") {
            for name in required.iter().filter_map(Value::as_str) {
                if !members.contains_key(name) {
                    out.push(format!("at \"{at}\": \"{name}\" is a required property"));
                }
            }
        }
        let properties = s.get("properties").and_then(Value::as_object);
        let pattern_properties = s.get("patternProperties").and_then(Value::as_object);
        let mut unexpected = Vec::new();
        for (name, member) in members {
            let len = at.len();
            at.push('/');
            at.push_str(&name.replace('~', "~0").replace('/', "~1"));
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
                    Some(Value::Bool(false)) => unexpected.push(name.as_str()),
                    Some(extra @ Value::Object(_)) => self.check(extra, member, at, depth + 1, out),
                    _ => {}
                }
            }
            at.truncate(len);
        }
        if !unexpected.is_empty() {
            let names: Vec<String> = unexpected.iter().map(|n| format!("{n:?}")).collect();
            out.push(format!(
                "at \"{at}\": Additional properties are not allowed ({} {} unexpected)",
                names.join(", "),
                if names.len() == 1 { "was" } else { "were" }
            ));
        }
    }

    fn check_combinators(
        &self,
        s: &Map<String, Value>,
        value: &Value,
        at: &mut String,
        depth: usize,
        out: &mut Vec<String>,
    ) {
        if let Some(Value::Array(all)) = s.get("allOf") {
            for sub in all {
                self.check(sub, value, at, depth + 1, out);
            }
        }
        let passes = |sub: &Value| {
            let mut found = Vec::new();
            self.check(sub, value, &mut at.clone(), depth + 1, &mut found);
            found.is_empty()
        };
        if let Some(Value::Array(any)) = s.get("anyOf")
            && !any.iter().any(passes)
        {
            out.push(format!(
                "at \"{at}\": {} is not valid under any of the schemas of `anyOf`",
                show(value)
            ));
        }
        if let Some(Value::Array(one)) = s.get("oneOf") {
            match one.iter().filter(|sub| passes(sub)).count() {
                1 => {}
                0 => out.push(format!(
                    "at \"{at}\": {} is not valid under any of the schemas of `oneOf`",
                    show(value)
                )),
                _ => out.push(format!(
                    "at \"{at}\": {} is valid under more than one of the schemas of `oneOf`",
                    show(value)
                )),
            }
        }
        if let Some(not) = s.get("not")
            && passes(not)
        {
            out.push(format!(
                "at \"{at}\": {} must not be valid under the schema of `not`",
                show(value)
            ));
        }
    }
}

fn check_number(s: &Map<String, Value>, value: &Value, at: &str, out: &mut Vec<String>) {
    let Some(n) = value.as_f64() else { return };
    let exclusive = |flag: &str| s.get(flag) == Some(&Value::Bool(true));
    if let Some(min) = s.get("minimum").and_then(Value::as_f64) {
        let below = if exclusive("exclusiveMinimum") {
            n <= min
        } else {
            n < min
        };
        if below {
            out.push(format!(
                "at \"{at}\": {value} is less than {}the minimum of {min}",
                if exclusive("exclusiveMinimum") {
                    "or equal to "
                } else {
                    ""
                }
            ));
        }
    }
    if let Some(max) = s.get("maximum").and_then(Value::as_f64) {
        let above = if exclusive("exclusiveMaximum") {
            n >= max
        } else {
            n > max
        };
        if above {
            out.push(format!(
                "at \"{at}\": {value} is greater than {}the maximum of {max}",
                if exclusive("exclusiveMaximum") {
                    "or equal to "
                } else {
                    ""
                }
            ));
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
            out.push(format!("at \"{at}\": {value} is not a multiple of {step}"));
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

/// A value as it appears in a message, cut short so that a huge body makes a short line.
fn show(value: &Value) -> String {
    const MAX: usize = 80;
    let text = value.to_string();
    if text.chars().count() <= MAX {
        text
    } else {
        let cut: String = text.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

/// The RFC 4122 text form: 8-4-4-4-12 hexadecimal digits.
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
    use super::*;

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
