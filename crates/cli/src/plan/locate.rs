//! Where in the environments file an error about its meaning is: `-f FILE:LINE:COLUMN`, found
//! by the key path the error starts with (`omni_dbt_input::locate`), and the fix when it is a
//! common one.

use omni_dbt_input::Step;
use serde_json::Value;

/// An error about the file's meaning as `-f FILE:LINE:COLUMN: path: rule`, located by the
/// path it starts with, and with the fix when it is a common one: a YAML boolean or number
/// where text is wanted (quote it), a misspelt key (the known key it is closest to).
pub fn located(file: &str, text: &str, value: &Value, error: &str) -> String {
    let Some((path, key_itself)) = path_of(error) else {
        return format!("-f {file}: {error}");
    };
    let place = omni_dbt_input::locate(text, &path, key_itself);
    let mut hint = String::new();
    let given = path.iter().try_fold(value, |node, step| match step {
        Step::Key(key) => node.get(key),
        Step::Index(i) => node.get(i),
    });
    if !key_itself
        && error.contains("must be a string")
        && let Some(given @ (Value::Bool(_) | Value::Number(_))) = given
    {
        let written = place
            .as_ref()
            .and_then(|p| p.scalar.clone())
            .unwrap_or_else(|| given.to_string());
        hint = format!(
            " (YAML reads {written} as a {}; quote it: '{written}')",
            match given {
                Value::Bool(_) => "boolean",
                _ => "number",
            }
        );
    }
    if key_itself
        && let Some(Step::Key(unknown)) = path.last()
        && let Some(known) = error
            .split_once("the keys are ")
            .map(|(_, keys)| keys.split(", ").collect::<Vec<_>>())
        && let Some(closest) = closest(unknown, &known)
    {
        hint = format!(" (did you mean `{closest}`?)");
    }
    match place {
        Some(p) => format!("-f {file}:{}:{}: {error}{hint}", p.line, p.column),
        None => format!("-f {file}: {error}{hint}"),
    }
}

/// The path an error message starts with (`environments[1].targetRole: …`,
/// `environments[0]: unknown key `x`…`), and whether the error is about a key itself.
fn path_of(error: &str) -> Option<(Vec<Step>, bool)> {
    let (prefix, rest) = error.split_once(": ")?;
    let mut steps = Vec::new();
    let (top, mut tail) = match prefix.find(['.', '[']) {
        Some(at) => prefix.split_at(at),
        None => (prefix, ""),
    };
    match top {
        // The top-level mapping itself.
        "the file" => {}
        "connection" | "managedBy" | "environments" => steps.push(Step::Key(top.to_owned())),
        _ => return None,
    }
    if let Some(indexed) = tail.strip_prefix('[') {
        let (index, after) = indexed.split_once(']')?;
        steps.push(Step::Index(index.parse().ok()?));
        tail = after;
    }
    if let Some(key) = tail.strip_prefix('.') {
        // A variable's name may hold dots: it is the rest, whole.
        match key.split_once('.') {
            Some((group @ ("variables" | "secretVariables"), name)) => {
                steps.push(Step::Key(group.to_owned()));
                steps.push(Step::Key(name.to_owned()));
            }
            _ => steps.push(Step::Key(key.to_owned())),
        }
    } else if !tail.is_empty() {
        return None;
    }
    match rest
        .strip_prefix("unknown key `")
        .and_then(|r| r.split_once('`'))
    {
        Some((key, _)) => {
            steps.push(Step::Key(key.to_owned()));
            Some((steps, true))
        }
        None => Some((steps, false)),
    }
}

/// The known key nearest to `unknown` by edit distance, when it is near (a typo: at most a
/// third of its length, and at least one edit away).
fn closest<'a>(unknown: &str, known: &[&'a str]) -> Option<&'a str> {
    let distance = |a: &str, b: &str| {
        let b: Vec<char> = b.chars().collect();
        let mut row: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut previous = row[0];
            row[0] = i + 1;
            for (j, cb) in b.iter().enumerate() {
                let substitution = previous + usize::from(ca != *cb);
                previous = row[j + 1];
                row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
            }
        }
        row[b.len()]
    };
    let unknown_lower = unknown.to_ascii_lowercase();
    known
        .iter()
        .map(|k| (distance(&unknown_lower, &k.to_ascii_lowercase()), *k))
        .filter(|(d, _)| *d <= unknown.chars().count().div_ceil(3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::super::file::load;
    use crate::failure::Failure;

    /// The error `load` gives for `text`, as a user reads it.
    fn error_for(text: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("envs.yaml");
        std::fs::write(&path, text).unwrap();
        match load(&path) {
            Err(Failure::Usage(message)) => message.replace(&path.display().to_string(), "F"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn errors_about_the_file_name_line_column_key_and_the_common_fix() {
        let head = "connection: 5b2f8e0c-2a4e-4c47-9a55-0f4a8d6e1b21\nenvironments:\n  - name: a\n    targetSchema: x\n";
        assert_eq!(
            error_for(&format!("{head}  - name: b\n    targetSchema: true\n")),
            "-f F:6:19: environments[1].targetSchema: must be a string (YAML reads true as a \
             boolean; quote it: 'true')"
        );
        assert_eq!(
            error_for(&format!("{head}  - name: b\n    targetSchema: 0x1F\n")),
            "-f F:6:19: environments[1].targetSchema: must be a string (YAML reads 0x1F as a \
             number; quote it: '0x1F')"
        );
        let unknown = error_for(&format!(
            "{head}  - name: b\n    targetSchema: y\n    targteRole: X\n"
        ));
        assert!(
            unknown.starts_with("-f F:7:5: environments[1]: unknown key `targteRole`;")
                && unknown.ends_with("(did you mean `targetRole`?)"),
            "{unknown}"
        );
        // Nothing near enough: no guess.
        let far = error_for(&format!("{head}    colour: red\n"));
        assert!(
            far.starts_with("-f F:5:5: environments[0]: unknown key `colour`;")
                && !far.contains("did you mean"),
            "{far}"
        );
        assert!(
            error_for("conection: x\n").starts_with("-f F:1:1: the file: unknown key `conection`;"),
        );
        // A variable's name with dots, in flow style.
        assert_eq!(
            error_for(&format!("{head}    variables: {{A.B: 1}}\n")),
            "-f F:5:22: environments[0].variables.A.B: must be text; quote it (\"8\", \"true\") \
             to send it as written"
        );
        // Where the path cannot be followed (an alias), the error stays without a place.
        assert_eq!(
            error_for("environments:\n  - &e {name: a, targetSchema: x}\n  - *e\n"),
            "-f F: environments[1].name: \"a\" names an environment given earlier too"
        );
    }
}
