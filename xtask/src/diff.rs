//! What changed between two versions of the spec, for a client of this crate: every change
//! to the covered operations, classified as breaking or not (in the manner of oasdiff).
//! Descriptions, examples and titles are ignored.

use std::{collections::BTreeSet, fmt};

use serde_json::{Value, json};

use crate::select::operations;

/// How a change affects a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Breaking,
    NonBreaking,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Breaking => "BREAKING",
            Level::NonBreaking => "non-breaking",
        })
    }
}

/// One classified change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// `PUT /v1/...`.
    pub operation: String,
    pub level: Level,
    pub message: String,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} {}", self.operation, self.level, self.message)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Request,
    Response,
}

struct Differ<'a> {
    old: &'a Value,
    new: &'a Value,
    operation: String,
    changes: Vec<Change>,
    /// (old $ref, new $ref, label) pairs already compared: recursion stops there.
    seen: BTreeSet<(String, String, String)>,
    /// The `$ref` pairs being compared right now (ancestors of the current schema), so that a
    /// self-referencing schema ends the descent instead of recursing forever.
    stack: Vec<(String, String)>,
}

/// Compares two documents that are already selected, rebased and in OpenAPI 3.0 form.
pub fn diff(old: &Value, new: &Value) -> Vec<Change> {
    let old_ops: Vec<(String, &Value)> = operations(&old["paths"])
        .map(|(m, p, op)| (format!("{} {p}", m.to_uppercase()), op))
        .collect();
    let new_ops: Vec<(String, &Value)> = operations(&new["paths"])
        .map(|(m, p, op)| (format!("{} {p}", m.to_uppercase()), op))
        .collect();
    let mut changes = Vec::new();
    for (key, old_op) in &old_ops {
        let mut d = Differ {
            old,
            new,
            operation: key.clone(),
            changes: Vec::new(),
            seen: BTreeSet::new(),
            stack: Vec::new(),
        };
        match new_ops.iter().find(|(k, _)| k == key) {
            None => d.push(Level::Breaking, "operation removed".into()),
            Some((_, new_op)) => d.operation(old_op, new_op),
        }
        changes.extend(d.changes);
    }
    for (key, _) in &new_ops {
        if !old_ops.iter().any(|(k, _)| k == key) {
            changes.push(Change {
                operation: key.clone(),
                level: Level::NonBreaking,
                message: "operation added".into(),
            });
        }
    }
    changes.sort_by(|a, b| a.operation.cmp(&b.operation).then(a.level.cmp(&b.level)));
    changes
}

impl<'a> Differ<'a> {
    fn push(&mut self, level: Level, message: String) {
        let change = Change {
            operation: self.operation.clone(),
            level,
            message,
        };
        if !self.changes.contains(&change) {
            self.changes.push(change);
        }
    }

    fn operation(&mut self, old_op: &'a Value, new_op: &'a Value) {
        self.parameters(old_op, new_op);
        self.request_body(old_op, new_op);
        self.responses(old_op, new_op);
        let security = |doc: &Value, op: &Value| -> Value {
            let mut names: Vec<String> = op
                .get("security")
                .or_else(|| doc.get("security"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .flat_map(|req| {
                    req.as_object()
                        .into_iter()
                        .flatten()
                        .map(|(k, _)| k.clone())
                })
                .collect();
            names.sort();
            let schemes: Vec<Value> = names
                .iter()
                .map(|n| {
                    let s = doc.pointer(&format!("/components/securitySchemes/{n}")).cloned().unwrap_or(Value::Null);
                    json!({"name": n, "type": s.get("type"), "scheme": s.get("scheme"), "in": s.get("in")})
                })
                .collect();
            Value::Array(schemes)
        };
        if security(self.old, old_op) != security(self.new, new_op) {
            self.push(Level::Breaking, "security requirements changed".into());
        }
    }

    fn parameters(&mut self, old_op: &'a Value, new_op: &'a Value) {
        let params = |doc: &'a Value, op: &'a Value| -> Vec<&'a Value> {
            op.get("parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|p| resolve(doc, p))
                .collect()
        };
        let (old_params, new_params) = (params(self.old, old_op), params(self.new, new_op));
        let key = |p: &Value| {
            (
                p["in"].as_str().unwrap_or_default().to_owned(),
                p["name"].as_str().unwrap_or_default().to_owned(),
            )
        };
        let required = |p: &Value| p.get("required").and_then(Value::as_bool).unwrap_or(false);
        for new_p in &new_params {
            let (location, name) = key(new_p);
            match old_params.iter().find(|o| key(o) == key(new_p)) {
                None if required(new_p) => self.push(
                    Level::Breaking,
                    format!("required {location} parameter '{name}' added"),
                ),
                None => self.push(
                    Level::NonBreaking,
                    format!("optional {location} parameter '{name}' added"),
                ),
                Some(old_p) => {
                    if required(new_p) && !required(old_p) {
                        self.push(
                            Level::Breaking,
                            format!("{location} parameter '{name}' became required"),
                        );
                    }
                    if let (Some(o), Some(n)) = (old_p.get("schema"), new_p.get("schema")) {
                        self.schema(
                            o,
                            n,
                            Side::Request,
                            &format!("{location} parameter '{name}'"),
                            "",
                        );
                    }
                }
            }
        }
        for old_p in &old_params {
            if !new_params.iter().any(|n| key(n) == key(old_p)) {
                let (location, name) = key(old_p);
                self.push(
                    Level::NonBreaking,
                    format!("{location} parameter '{name}' removed"),
                );
            }
        }
    }

    fn request_body(&mut self, old_op: &'a Value, new_op: &'a Value) {
        let body = |doc: &'a Value, op: &'a Value| op.get("requestBody").map(|b| resolve(doc, b));
        let required = |b: &Value| b.get("required").and_then(Value::as_bool).unwrap_or(false);
        match (body(self.old, old_op), body(self.new, new_op)) {
            (None, Some(n)) if required(n) => {
                self.push(Level::Breaking, "required request body added".into())
            }
            (None, Some(_)) => self.push(Level::NonBreaking, "optional request body added".into()),
            (Some(_), None) => self.push(Level::NonBreaking, "request body removed".into()),
            (Some(o), Some(n)) => {
                if required(n) && !required(o) {
                    self.push(Level::Breaking, "request body became required".into());
                }
                self.content(o, n, Side::Request, "request");
            }
            (None, None) => {}
        }
    }

    fn responses(&mut self, old_op: &'a Value, new_op: &'a Value) {
        let success = |op: &'a Value| -> Vec<(&'a String, &'a Value)> {
            op.get("responses")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .filter(|(status, _)| status.starts_with('2'))
                .collect()
        };
        let (old_success, new_success) = (success(old_op), success(new_op));
        for (status, old_response) in &old_success {
            let Some((_, new_response)) = new_success.iter().find(|(s, _)| s == status) else {
                self.push(Level::Breaking, format!("success status {status} removed"));
                continue;
            };
            let (o, n) = (
                resolve(self.old, old_response),
                resolve(self.new, new_response),
            );
            self.content(o, n, Side::Response, &format!("response {status}"));
        }
        for (status, _) in &new_success {
            if !old_success.iter().any(|(s, _)| s == status) {
                self.push(Level::NonBreaking, format!("success status {status} added"));
            }
        }
    }

    /// Compares the media types of a request body or a response (`place`: `request`,
    /// `response 200`): a removed media type is breaking, a kept one has its schema compared.
    fn content(&mut self, o: &Value, n: &Value, side: Side, place: &str) {
        for (media, old_media) in o
            .get("content")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            match n.get("content").and_then(|c| c.get(media)) {
                None => self.push(
                    Level::Breaking,
                    format!("{place} media type {media} removed"),
                ),
                Some(new_media) => {
                    if let (Some(os), Some(ns)) = (old_media.get("schema"), new_media.get("schema"))
                    {
                        let body = if side == Side::Request {
                            "request body".to_owned()
                        } else {
                            format!("{place} body")
                        };
                        self.schema(os, ns, side, &body, "");
                    }
                }
            }
        }
    }

    /// Compares two schemas. `place` says where the schema sits (`request body`,
    /// `response 200 body`, `query parameter 'pageSize'`); `path` is the property path inside
    /// it (`variables[].name`), empty at the top.
    fn schema(&mut self, old: &Value, new: &Value, side: Side, place: &str, path: &str) {
        let old_ref = old
            .get("$ref")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let new_ref = new
            .get("$ref")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let pair = (old_ref.clone(), new_ref.clone());
        let recursive = !old_ref.is_empty() && self.stack.contains(&pair);
        if recursive
            || self.stack.len() > MAX_DEPTH
            || (!old_ref.is_empty()
                && !self
                    .seen
                    .insert((old_ref.clone(), new_ref, format!("{place}:{path}"))))
        {
            return;
        }
        self.stack.push(pair);
        self.schema_inner(old, new, side, place, path);
        self.stack.pop();
    }

    fn schema_inner(&mut self, old: &Value, new: &Value, side: Side, place: &str, path: &str) {
        let o = flatten_all_of(self.old, resolve(self.old, old));
        let n = flatten_all_of(self.new, resolve(self.new, new));
        let (kind, side_name) = match side {
            Side::Request => ("request body property", "request"),
            Side::Response => ("response property", "response"),
        };
        let what = if path.is_empty() {
            place.to_owned()
        } else {
            format!("{kind} '{path}'")
        };

        match (o.get("default"), n.get("default")) {
            (Some(a), Some(b)) if a != b => self.push(
                Level::NonBreaking,
                format!(
                    "{what} default changed from {a} to {b} (what Omni does when the {side_name} leaves it out)"
                ),
            ),
            _ => {}
        }
        for key in ["type", "format"] {
            let (ov, nv) = (o.get(key), n.get(key));
            let show = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("?").to_owned();
            if ov.is_some() && nv.is_some() && ov != nv {
                self.push(
                    Level::Breaking,
                    format!("{what} {key} changed from {} to {}", show(ov), show(nv)),
                );
            } else if ov.is_none() && nv.is_some() && side == Side::Request && key == "format" {
                self.push(Level::Breaking, format!("{what} format {} added", show(nv)));
            }
        }
        let nullable = |s: &Value| s.get("nullable").and_then(Value::as_bool).unwrap_or(false);
        match (nullable(&o), nullable(&n), side) {
            (false, true, Side::Response) => {
                self.push(Level::Breaking, format!("{what} became nullable"))
            }
            (true, false, Side::Request) => {
                self.push(Level::Breaking, format!("{what} no longer accepts null"))
            }
            (false, true, Side::Request) => {
                self.push(Level::NonBreaking, format!("{what} now accepts null"))
            }
            _ => {}
        }
        let values = |s: &Value| -> Vec<Value> {
            s.get("enum")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        let (oe, ne) = (values(&o), values(&n));
        for removed in oe.iter().filter(|v| !ne.is_empty() && !ne.contains(v)) {
            let level = if side == Side::Request {
                Level::Breaking
            } else {
                Level::NonBreaking
            };
            self.push(
                level,
                format!("{side_name} enum value {removed} removed from {what}"),
            );
        }
        for added in ne.iter().filter(|v| !oe.is_empty() && !oe.contains(v)) {
            let level = if side == Side::Response {
                Level::Breaking
            } else {
                Level::NonBreaking
            };
            self.push(
                level,
                format!("{side_name} enum value {added} added to {what}"),
            );
        }
        if side == Side::Request {
            let number = |s: &Value, k: &str| s.get(k).and_then(Value::as_u64);
            match (number(&o, "maxLength"), number(&n, "maxLength")) {
                (Some(a), Some(b)) if b < a => self.push(
                    Level::Breaking,
                    format!("{what} maxLength decreased from {a} to {b}"),
                ),
                (None, Some(b)) => {
                    self.push(Level::Breaking, format!("{what} maxLength {b} added"))
                }
                _ => {}
            }
            let (a, b) = (
                number(&o, "minLength").unwrap_or(0),
                number(&n, "minLength").unwrap_or(0),
            );
            if b > a {
                self.push(
                    Level::Breaking,
                    format!("{what} minLength increased from {a} to {b}"),
                );
            }
        }
        self.properties(&o, &n, side, place, path);
        if let (Some(oi), Some(ni)) = (o.get("items"), n.get("items")) {
            self.schema(oi, ni, side, place, &format!("{path}[]"));
        }
        for key in ["oneOf", "anyOf"] {
            let (Some(ov), Some(nv)) = (
                o.get(key).and_then(Value::as_array),
                n.get(key).and_then(Value::as_array),
            ) else {
                continue;
            };
            let (pairs, lost, gained) = match_variants(self.old, ov, self.new, nv);
            for (a, b) in pairs {
                self.schema(a, b, side, place, path);
            }
            if lost > 0 {
                let level = if side == Side::Request {
                    Level::Breaking
                } else {
                    Level::NonBreaking
                };
                self.push(level, format!("{what} lost {lost} {key} variant(s)"));
            }
            if gained > 0 {
                let level = if side == Side::Response {
                    Level::Breaking
                } else {
                    Level::NonBreaking
                };
                self.push(level, format!("{what} gained {gained} {key} variant(s)"));
            }
        }
    }

    fn properties(&mut self, o: &Value, n: &Value, side: Side, place: &str, path: &str) {
        let props = |s: &Value| {
            s.get("properties")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default()
        };
        let required = |s: &Value| -> BTreeSet<String> {
            s.get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        };
        let (op, np, or, nr) = (props(o), props(n), required(o), required(n));
        let closed = n.get("additionalProperties") == Some(&Value::Bool(false));
        let kind = if side == Side::Request {
            "request body property"
        } else {
            "response property"
        };
        let child = |name: &str| {
            if path.is_empty() {
                name.to_owned()
            } else {
                format!("{path}.{name}")
            }
        };
        for (name, new_schema) in &np {
            let at = child(name);
            let Some(old_schema) = op.get(name) else {
                match side {
                    Side::Request if nr.contains(name) => {
                        self.push(Level::Breaking, format!("new required {kind} '{at}'"))
                    }
                    Side::Request => {
                        let note = match resolve(self.new, new_schema).get("default") {
                            Some(default) => format!(
                                " with default {default}: a client that writes defaults out would send {default} on every request (omni-dbt sends it only when set)"
                            ),
                            None => String::new(),
                        };
                        self.push(
                            Level::NonBreaking,
                            format!("optional {kind} '{at}' added{note}"),
                        )
                    }
                    Side::Response => self.push(Level::NonBreaking, format!("{kind} '{at}' added")),
                }
                continue;
            };
            match (or.contains(name), nr.contains(name), side) {
                (false, true, Side::Request) => {
                    self.push(Level::Breaking, format!("{kind} '{at}' became required"))
                }
                (true, false, Side::Response) => self.push(
                    Level::Breaking,
                    format!("required {kind} '{at}' became optional"),
                ),
                (true, false, Side::Request) => {
                    self.push(Level::NonBreaking, format!("{kind} '{at}' became optional"))
                }
                (false, true, Side::Response) => {
                    self.push(Level::NonBreaking, format!("{kind} '{at}' became required"))
                }
                _ => {}
            }
            self.schema(old_schema, new_schema, side, place, &at);
        }
        for name in op.keys().filter(|k| !np.contains_key(*k)) {
            let at = child(name);
            match side {
                Side::Response if or.contains(name) => {
                    self.push(Level::Breaking, format!("required {kind} '{at}' removed"))
                }
                Side::Request if closed => self.push(
                    Level::Breaking,
                    format!("{kind} '{at}' removed (no longer accepted)"),
                ),
                _ => self.push(Level::NonBreaking, format!("{kind} '{at}' removed")),
            }
        }
    }
}

/// Follows local `$ref`s.
fn resolve<'x>(doc: &'x Value, node: &'x Value) -> &'x Value {
    let mut node = node;
    for _ in 0..16 {
        match node
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
        {
            Some(pointer) => match doc.pointer(pointer) {
                Some(target) => node = target,
                None => break,
            },
            None => break,
        }
    }
    node
}

/// How deep a comparison descends before it stops (no real schema nests this deep; a
/// recursive one would go on forever).
const MAX_DEPTH: usize = 64;

/// Pairs the variants of two `oneOf`/`anyOf` lists by meaning, not position: the same `$ref`
/// target first, then the same `title`, then the same structure (a component renamed, or a
/// variant moved, pairs with itself), then the closest structure of the same type. Returns the
/// pairs and how many old variants were lost and new ones gained.
fn match_variants<'x>(
    old_doc: &'x Value,
    old: &'x [Value],
    new_doc: &'x Value,
    new: &'x [Value],
) -> (Vec<(&'x Value, &'x Value)>, usize, usize) {
    let reference = |v: &Value| v.get("$ref").and_then(Value::as_str).map(str::to_owned);
    let title = |doc: &Value, v: &Value| {
        resolve(doc, v)
            .get("title")
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let shape = |doc: &'x Value, v: &'x Value| structure(doc, resolve(doc, v), 0);
    let mut free: Vec<usize> = (0..new.len()).collect();
    let mut pairs: Vec<Option<usize>> = vec![None; old.len()];
    let keys: [&dyn Fn(&'x Value, &'x Value) -> Option<Value>; 3] = [
        &|_, v| reference(v).map(Value::String),
        &|doc, v| title(doc, v).map(Value::String),
        &|doc, v| Some(shape(doc, v)),
    ];
    for key in keys {
        for (i, o) in old.iter().enumerate() {
            if pairs[i].is_some() {
                continue;
            }
            let Some(wanted) = key(old_doc, o) else {
                continue;
            };
            if let Some(pos) = free
                .iter()
                .position(|&j| key(new_doc, &new[j]) == Some(wanted.clone()))
            {
                pairs[i] = Some(free.remove(pos));
            }
        }
    }
    // What is left: pair by type and the most shared property names.
    for (i, o) in old.iter().enumerate() {
        if pairs[i].is_some() {
            continue;
        }
        let o_resolved = flatten_all_of(old_doc, resolve(old_doc, o));
        let best = free
            .iter()
            .enumerate()
            .filter_map(|(pos, &j)| {
                let n = flatten_all_of(new_doc, resolve(new_doc, &new[j]));
                (o_resolved.get("type") == n.get("type"))
                    .then(|| (pos, shared_properties(&o_resolved, &n)))
            })
            .max_by_key(|(_, shared)| *shared);
        if let Some((pos, _)) = best {
            pairs[i] = Some(free.remove(pos));
        }
    }
    let lost = pairs.iter().filter(|p| p.is_none()).count();
    let matched = pairs
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.map(|j| (&old[i], &new[j])))
        .collect();
    (matched, lost, free.len())
}

fn shared_properties(a: &Value, b: &Value) -> usize {
    let names = |s: &Value| -> BTreeSet<String> {
        s.get("properties")
            .and_then(Value::as_object)
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default()
    };
    names(a).intersection(&names(b)).count()
}

/// A schema's structure for comparison: references followed (to a bounded depth) and
/// annotations (`description`, `title`, `example`, `examples`) dropped, so that a renamed
/// component compares equal to itself.
fn structure(doc: &Value, schema: &Value, depth: usize) -> Value {
    if depth > 8 {
        return Value::Null;
    }
    match schema {
        Value::Object(map) => {
            if map.contains_key("$ref") {
                return structure(doc, resolve(doc, schema), depth + 1);
            }
            Value::Object(
                map.iter()
                    .filter(|(k, _)| {
                        !matches!(k.as_str(), "description" | "title" | "example" | "examples")
                    })
                    .map(|(k, v)| (k.clone(), structure(doc, v, depth + 1)))
                    .collect(),
            )
        }
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| structure(doc, v, depth + 1)).collect())
        }
        other => other.clone(),
    }
}

/// Merges `allOf` members (after resolving) into one schema, for comparison. A member already
/// being merged (an `allOf` cycle) is skipped.
fn flatten_all_of(doc: &Value, schema: &Value) -> Value {
    flatten_all_of_within(doc, schema, &mut Vec::new())
}

fn flatten_all_of_within(doc: &Value, schema: &Value, merging: &mut Vec<*const Value>) -> Value {
    let Some(members) = schema.get("allOf").and_then(Value::as_array) else {
        return schema.clone();
    };
    let mut out = schema.as_object().cloned().unwrap_or_default();
    out.remove("allOf");
    if merging.contains(&(schema as *const Value)) || merging.len() > MAX_DEPTH {
        return Value::Object(out);
    }
    merging.push(schema as *const Value);
    for member in members {
        let member = flatten_all_of_within(doc, resolve(doc, member), merging);
        for (key, value) in member.as_object().into_iter().flatten() {
            match (out.get_mut(key), value) {
                (Some(Value::Object(existing)), Value::Object(more)) => {
                    existing.extend(more.clone())
                }
                (Some(Value::Array(existing)), Value::Array(more)) if key == "required" => {
                    existing.extend(more.clone())
                }
                (Some(_), _) => {}
                (None, v) => {
                    out.insert(key.clone(), v.clone());
                }
            }
        }
    }
    merging.pop();
    Value::Object(out)
}
