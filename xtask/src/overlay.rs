//! OpenAPI Overlay 1.0: the one reviewed file of local corrections. An action whose target
//! matches nothing is an error ("stale correction"), never silently ignored.
//!
//! `update` merges into every object the target selects (objects recursively; other values,
//! arrays included, replace) and is appended to every array it selects; `remove: true`
//! deletes what the target selects.

use serde_json::Value;
use serde_json_path::JsonPath;

/// A parsed overlay.
#[derive(Clone, Debug)]
pub struct Overlay {
    actions: Vec<Action>,
}

#[derive(Clone, Debug)]
struct Action {
    index: usize,
    target: String,
    path: JsonPath,
    description: String,
    change: Change,
}

#[derive(Clone, Debug)]
enum Change {
    Update(Value),
    Remove,
}

impl Overlay {
    pub fn parse(doc: &Value) -> Result<Self, String> {
        let version = doc
            .get("overlay")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !version.starts_with("1.0.") {
            return Err(format!("overlay: version {version:?} is not 1.0.x"));
        }
        let actions = doc
            .get("actions")
            .and_then(Value::as_array)
            .ok_or("overlay: `actions` must be an array")?;
        let actions = actions
            .iter()
            .enumerate()
            .map(|(index, action)| {
                let target = action
                    .get("target")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("overlay action {index}: `target` is required"))?
                    .to_owned();
                let path = JsonPath::parse(&target)
                    .map_err(|e| format!("overlay action {index}: bad JSONPath {target:?}: {e}"))?;
                let change = match (action.get("update"), action.get("remove")) {
                    (_, Some(Value::Bool(true))) => Change::Remove,
                    (Some(update), _) => Change::Update(update.clone()),
                    _ => {
                        return Err(format!(
                            "overlay action {index} ({target}): needs `update` or `remove: true`"
                        ));
                    }
                };
                let description = action
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                Ok(Action {
                    index,
                    target,
                    path,
                    description,
                    change,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Overlay { actions })
    }

    /// How many actions there are.
    pub fn len(&self) -> usize {
        self.actions.len()
    }

    /// Applies every action in order.
    pub fn apply(&self, doc: &mut Value) -> Result<(), String> {
        for action in &self.actions {
            action.apply(doc)?;
        }
        Ok(())
    }

    /// The actions (by description and target) that change nothing when applied in order to
    /// `doc`: upstream now says what they say. A stale action (matching nothing) is not
    /// redundant; `apply` reports it.
    pub fn redundant(&self, doc: &Value) -> Vec<String> {
        let mut doc = doc.clone();
        let mut out = Vec::new();
        for action in &self.actions {
            let before = doc.clone();
            if action.apply(&mut doc).is_ok() && doc == before {
                out.push(format!(
                    "overlay action {} (target {}): {}",
                    action.index, action.target, action.description
                ));
            }
        }
        out
    }
}

impl Action {
    fn apply(&self, doc: &mut Value) -> Result<(), String> {
        let action = self;
        {
            let pointers: Vec<String> = action
                .path
                .query_located(doc)
                .locations()
                .map(|l| l.to_json_pointer())
                .collect();
            if pointers.is_empty() {
                return Err(format!(
                    "stale correction: overlay action {} (target {}{}) matches nothing; update or delete it",
                    action.index,
                    action.target,
                    if action.description.is_empty() {
                        String::new()
                    } else {
                        format!(", \"{}\"", action.description)
                    }
                ));
            }
            // Deepest first, so that removing one match never moves another.
            for pointer in pointers.iter().rev() {
                match &action.change {
                    Change::Remove => remove(doc, pointer),
                    Change::Update(update) => {
                        if let Some(node) = doc.pointer_mut(pointer) {
                            match node {
                                Value::Array(items) => match update {
                                    Value::Array(more) => items.extend(more.iter().cloned()),
                                    one => items.push(one.clone()),
                                },
                                other => merge(other, update),
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

fn merge(target: &mut Value, update: &Value) {
    match (target, update) {
        (Value::Object(t), Value::Object(u)) => {
            for (key, value) in u {
                match t.get_mut(key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        t.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (t, u) => *t = u.clone(),
    }
}

fn remove(doc: &mut Value, pointer: &str) {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return;
    };
    let key = last.replace("~1", "/").replace("~0", "~");
    match doc.pointer_mut(parent) {
        Some(Value::Object(map)) => {
            map.remove(&key);
        }
        Some(Value::Array(items)) => {
            if let Ok(i) = key.parse::<usize>()
                && i < items.len()
            {
                items.remove(i);
            }
        }
        _ => {}
    }
}
