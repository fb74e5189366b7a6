//! Keeping only the operations this crate covers, and the components they reach.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// `openapi/operations.json`: which operations the crate covers, by method and path (relative
/// to `basePath`, the part of upstream paths that our server URL already contains).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    pub base_path: String,
    pub operations: Vec<(String, String)>,
}

impl Selection {
    pub fn parse(value: &Value) -> Result<Self, String> {
        let base_path = value
            .get("basePath")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_owned();
        let operations = value
            .get("operations")
            .and_then(Value::as_array)
            .ok_or("operations.json: `operations` must be an array")?
            .iter()
            .map(|op| {
                let method = op
                    .get("method")
                    .and_then(Value::as_str)
                    .map(str::to_lowercase);
                let path = op.get("path").and_then(Value::as_str).map(str::to_owned);
                match (method, path) {
                    (Some(m), Some(p)) if METHODS.contains(&m.as_str()) => Ok((m, p)),
                    _ => Err(format!(
                        "operations.json: {op} needs a `method` (get, put, ...) and a `path`"
                    )),
                }
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Selection {
            base_path,
            operations,
        })
    }

    /// `/api/v1/x` becomes `/v1/x` when the base path is `/api`.
    pub fn rebase<'a>(&self, path: &'a str) -> &'a str {
        match path.strip_prefix(self.base_path.as_str()) {
            Some(rest) if !self.base_path.is_empty() && rest.starts_with('/') => rest,
            _ => path,
        }
    }
}

/// The document reduced to the selected operations (paths rebased), the components they
/// reach transitively, and the security schemes they use. Selected operations that the
/// document lacks are simply absent (a diff reports them as removed).
pub fn select(doc: &Value, selection: &Selection) -> Result<Value, String> {
    let root = doc.as_object().ok_or("the document is not an object")?;
    let mut paths = Map::new();
    for (path, item) in root
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let rebased = selection.rebase(path);
        let mut kept = Map::new();
        for (key, value) in item.as_object().into_iter().flatten() {
            let selected = selection
                .operations
                .iter()
                .any(|(m, p)| m == key && p == rebased);
            if selected
                || (!METHODS.contains(&key.as_str()) && key != "summary" && key != "description")
            {
                kept.insert(key.clone(), value.clone());
            }
        }
        if kept.keys().any(|k| METHODS.contains(&k.as_str())) {
            paths.insert(rebased.to_owned(), Value::Object(kept));
        }
    }

    let mut out = Map::new();
    for key in ["openapi", "info", "servers", "security"] {
        if let Some(v) = root.get(key) {
            out.insert(key.to_owned(), v.clone());
        }
    }
    let paths = Value::Object(paths);

    // Components reached from the kept paths, transitively.
    let components = root
        .get("components")
        .cloned()
        .unwrap_or(Value::Object(Map::new()));
    let mut reached: BTreeSet<String> = BTreeSet::new();
    let mut pending: Vec<String> = refs(&paths);
    while let Some(reference) = pending.pop() {
        if !reached.insert(reference.clone()) {
            continue;
        }
        let target = reference
            .strip_prefix("#/components")
            .and_then(|p| components.pointer(p))
            .ok_or_else(|| format!("$ref {reference} points at nothing in the document"))?;
        pending.extend(refs(target));
    }
    let mut kept_components = Map::new();
    for reference in &reached {
        let Some(rest) = reference.strip_prefix("#/components/") else {
            continue;
        };
        let Some((kind, name)) = rest.split_once('/') else {
            continue;
        };
        let name = name.replace("~1", "/").replace("~0", "~");
        if let Some(value) = components.get(kind).and_then(|k| k.get(&name)) {
            kept_components
                .entry(kind.to_owned())
                .or_insert_with(|| Value::Object(Map::new()))
                .as_object_mut()
                .map(|m| m.insert(name, value.clone()));
        }
    }
    // Security schemes named by the document's or the operations' `security`.
    let mut schemes = BTreeSet::new();
    let mut security_lists: Vec<&Value> = root.get("security").into_iter().collect();
    security_lists.extend(operations(&paths).filter_map(|(_, _, op)| op.get("security")));
    for list in security_lists {
        for requirement in list.as_array().into_iter().flatten() {
            schemes.extend(
                requirement
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, _)| k.clone()),
            );
        }
    }
    for scheme in schemes {
        if let Some(value) = components
            .get("securitySchemes")
            .and_then(|s| s.get(&scheme))
        {
            kept_components
                .entry("securitySchemes")
                .or_insert_with(|| Value::Object(Map::new()))
                .as_object_mut()
                .map(|m| m.insert(scheme, value.clone()));
        }
    }
    // Tags that the kept operations use.
    let used_tags: BTreeSet<String> = operations(&paths)
        .flat_map(|(_, _, op)| {
            op.get("tags")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|t| t.as_str().map(str::to_owned))
        .collect();
    if let Some(tags) = root.get("tags").and_then(Value::as_array) {
        let kept: Vec<Value> = tags
            .iter()
            .filter(|t| {
                t.get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| used_tags.contains(n))
            })
            .cloned()
            .collect();
        if !kept.is_empty() {
            out.insert("tags".into(), Value::Array(kept));
        }
    }
    out.insert("paths".into(), paths);
    if !kept_components.is_empty() {
        out.insert("components".into(), Value::Object(kept_components));
    }
    Ok(Value::Object(out))
}

/// Every operation of a `paths` object: (method, path, operation).
pub fn operations(paths: &Value) -> impl Iterator<Item = (&str, &str, &Value)> {
    paths
        .as_object()
        .into_iter()
        .flatten()
        .flat_map(|(path, item)| {
            item.as_object()
                .into_iter()
                .flatten()
                .filter(|(k, _)| METHODS.contains(&k.as_str()))
                .map(move |(method, op)| (method.as_str(), path.as_str(), op))
        })
}

/// Every `$ref` string inside `value`.
fn refs(value: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![value];
    while let Some(node) = stack.pop() {
        match node {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    found.push(r.clone());
                }
                stack.extend(map.values());
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    found
}
