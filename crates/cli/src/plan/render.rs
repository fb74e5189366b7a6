//! The plan as people read it: text like terraform's, and Markdown for a pull-request comment
//! or a job summary. The JSON plan is the plan's own serialisation. Every value that came from
//! the server or the file is shown escaped.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::diff::{Change, Plan};
use crate::output::{markdown_cell, markdown_code, shown};

/// Serialises a step's changes as their views (`{field, from, to}`).
pub fn views<S: serde::Serializer>(changes: &[Change], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(changes.iter().map(Change::view))
}

impl Plan {
    /// The plan as people read it, like terraform's. Names from the server are shown escaped.
    pub fn human(&self) -> String {
        let mut out = String::new();
        let show = |v: &Value| match v {
            Value::Null => "(none)".to_owned(),
            Value::String(s) => shown(s),
            other => other.to_string(),
        };
        for (sign, verb, steps) in [
            ('+', "create", &self.create),
            ('~', "update", &self.update),
            ('-', "delete", &self.delete),
        ] {
            for step in steps {
                match (sign, step.id) {
                    ('-', Some(id)) => {
                        let _ = writeln!(out, "{sign} {verb} {} ({id})", shown(&step.name));
                    }
                    _ => {
                        let _ = writeln!(out, "{sign} {verb} {}", shown(&step.name));
                    }
                }
                for mut c in step.changes.iter().map(Change::view) {
                    // Who owns it, in Omni's words: a personal environment or a shared one.
                    if c.field == "ownerId" {
                        let say = |v: &Value| match v {
                            Value::Null => json!("shared"),
                            other => {
                                json!(format!("personal ({})", other.as_str().unwrap_or_default()))
                            }
                        };
                        c.from = if sign == '+' {
                            Value::Null
                        } else {
                            say(&c.from)
                        };
                        c.to = say(&c.to);
                    }
                    if sign == '+' {
                        let _ = writeln!(out, "    {}: {}", shown(&c.field), show(&c.to));
                    } else if sign == '-' {
                        let _ = writeln!(out, "    {}: {}", shown(&c.field), show(&c.from));
                    } else {
                        let _ = writeln!(
                            out,
                            "    {}: {} -> {}",
                            shown(&c.field),
                            show(&c.from),
                            show(&c.to)
                        );
                    }
                }
                for note in &step.notes {
                    let _ = writeln!(out, "    ! {}", shown(note));
                }
            }
        }
        for step in &self.unchanged {
            for note in &step.notes {
                let _ = writeln!(out, "  {}: ! {}", shown(&step.name), shown(note));
            }
        }
        for kept in &self.kept {
            let _ = writeln!(
                out,
                "  kept {} ({}): {}",
                shown(&kept.name),
                kept.id,
                shown(&kept.why)
            );
        }
        if self.has_changes() {
            let _ = writeln!(out, "{}", self.summary());
        } else {
            let _ = writeln!(out, "No changes. The environments match the file.");
        }
        out
    }

    /// The plan as Markdown, for a pull-request comment or a job summary: a heading with the
    /// summary, a table of the changes, and what is kept. Every text that came from the server
    /// or the file is a code span ([`markdown_code`]): never HTML, a link, an image, a heading
    /// or a mention, and no table cell or `<details>` block can be broken out of.
    pub fn markdown(&self) -> String {
        let cell = |text: &str| markdown_cell(text);
        let code = |text: &str| markdown_code(text);
        let value = |v: &Value| match v {
            Value::Null => "*(none)*".to_owned(),
            Value::String(s) => cell(s),
            other => cell(&other.to_string()),
        };
        let mut out = String::new();
        let _ = writeln!(out, "### omni-dbt plan: {}\n", code(&self.marker));
        if self.has_changes() {
            let _ = writeln!(out, "**{}**\n", self.summary());
            let _ = writeln!(out, "| | environment | field | from | to |");
            let _ = writeln!(out, "|---|---|---|---|---|");
            for (sign, steps) in [
                ("➕ create", &self.create),
                ("✏️ update", &self.update),
                ("🗑️ delete", &self.delete),
            ] {
                for step in steps {
                    // A delete names the id that goes, and shows each value going.
                    let (name, to) = match (sign, step.id) {
                        ("🗑️ delete", Some(id)) => (
                            format!("{} (`{id}`)", cell(&step.name)),
                            Some("*(deleted)*"),
                        ),
                        _ => (cell(&step.name), None),
                    };
                    if step.changes.is_empty() {
                        let _ = writeln!(out, "| {sign} | {name} | | | {} |", to.unwrap_or(""));
                    }
                    for c in step.changes.iter().map(Change::view) {
                        let _ = writeln!(
                            out,
                            "| {sign} | {name} | {} | {} | {} |",
                            cell(&c.field),
                            value(&c.from),
                            to.map_or_else(|| value(&c.to), str::to_owned)
                        );
                    }
                }
            }
        } else {
            let _ = writeln!(out, "**No changes.** The environments match the file.");
        }
        let notes: Vec<String> = self
            .create
            .iter()
            .chain(&self.update)
            .chain(&self.delete)
            .chain(&self.unchanged)
            .flat_map(|s| {
                s.notes
                    .iter()
                    .map(move |n| format!("- {}: {}", code(&s.name), code(n)))
            })
            .collect();
        if !notes.is_empty() {
            let _ = writeln!(
                out,
                "\n<details><summary>Notes ({})</summary>\n\n{}\n</details>",
                notes.len(),
                notes.join("\n")
            );
        }
        if !self.kept.is_empty() {
            let kept: Vec<String> = self
                .kept
                .iter()
                .map(|k| format!("- {} (`{}`): {}", code(&k.name), k.id, code(&k.why)))
                .collect();
            let _ = writeln!(
                out,
                "\n<details><summary>Kept ({})</summary>\n\n{}\n</details>",
                kept.len(),
                kept.join("\n")
            );
        }
        out
    }
}
