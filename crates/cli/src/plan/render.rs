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
        cut(out, MAX_MARKDOWN_BYTES)
    }
}

/// The most bytes of the Markdown plan: under GitHub's 65,536 characters for a pull-request
/// comment, with room for what a workflow adds around it.
pub const MAX_MARKDOWN_BYTES: usize = 60_000;

/// `markdown` cut at a line below `max` bytes when longer, with a note saying how much was
/// left out and where the whole plan is; a `<details>` block left open by the cut is closed.
pub fn cut(markdown: String, max: usize) -> String {
    if markdown.len() <= max {
        return markdown;
    }
    let lines: Vec<&str> = markdown.lines().collect();
    // Room for the note and the closing tags.
    let budget = max.saturating_sub(400);
    let mut kept = String::new();
    let mut count = 0;
    for line in &lines {
        if kept.len() + line.len() + 1 > budget {
            break;
        }
        kept.push_str(line);
        kept.push('\n');
        count += 1;
    }
    let open = kept.matches("<details>").count();
    let closed = kept.matches("</details>").count();
    for _ in closed..open {
        kept.push_str("\n</details>\n");
    }
    let _ = writeln!(
        kept,
        "\n> **The plan is cut here** to fit a pull-request comment: {} more line(s) are in \
         the job's log (`omni-dbt env plan` prints the whole plan).",
        lines.len() - count
    );
    kept
}

#[cfg(test)]
mod cut_tests {
    use super::*;

    #[test]
    fn a_long_markdown_plan_is_cut_at_a_line_with_a_note_and_closed_details() {
        let mut markdown = String::from("### plan\n\n| a | b |\n|---|---|\n");
        for i in 0..3_000 {
            markdown.push_str(&format!("| row {i} | `value` |\n"));
        }
        markdown.push_str("\n<details><summary>Notes</summary>\n\n");
        for i in 0..3_000 {
            markdown.push_str(&format!("- note {i}\n"));
        }
        markdown.push_str("</details>\n");
        let short = cut(markdown.clone(), 100_000);
        assert!(short.len() <= 100_000);
        assert!(short.contains("<details>") && short.ends_with("prints the whole plan).\n"));
        assert_eq!(
            short.matches("<details>").count(),
            short.matches("</details>").count()
        );
        // Every line kept is a whole line of the original.
        let original: std::collections::BTreeSet<&str> = markdown.lines().collect();
        let kept = short
            .lines()
            .take_while(|l| !l.starts_with("> **The plan is cut"));
        assert!(
            kept.filter(|l| !l.is_empty() && *l != "</details>")
                .all(|l| original.contains(l))
        );
        // Under the cap: unchanged.
        assert_eq!(cut("short\n".to_owned(), 100), "short\n");
        let cut_at_rows = cut(markdown, 5_000);
        assert!(cut_at_rows.len() <= 5_000 && !cut_at_rows.contains("<details>"));
        assert!(cut_at_rows.contains("more line(s) are in the job's log"));
    }
}
