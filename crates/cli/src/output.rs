//! What commands print: a table for people, JSON for scripts (stable: the API's own field
//! names). Standard output closed early (`omni-dbt env list | head -1`) ends the printing
//! quietly, never in a panic; names that come from the server are escaped in every human line,
//! so that a name cannot start a CI workflow command (`::error::`) or carry terminal escapes.

use std::io::Write;

use omni_dbt::DbtEnvironment;
use serde::Serialize;

use crate::{cli::Output, failure::Failure};

/// `text` safe for one line of a CI log: control and format characters (newlines, ANSI
/// escapes, bidirectional overrides) escaped as `\u{…}`, and a leading `::` (a GitHub Actions
/// workflow command) quoted.
pub fn shown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let unsafe_char = c.is_control()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}');
        if unsafe_char {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    if out.trim_start().starts_with("::") {
        format!("\"{out}\"")
    } else {
        out
    }
}

/// `text` as a Markdown code span, for a pull-request comment or a job summary: nothing in it
/// is read as HTML, a link, an image, emphasis, a heading or an `@mention` (GitHub leaves code
/// spans alone), it stays on one line (control characters escaped as by [`shown`]), and it
/// cannot close the span (a backtick becomes `'`).
pub fn markdown_code(text: &str) -> String {
    let inner = shown(text).replace('`', "'");
    if inner.trim().is_empty() {
        format!("`\"{inner}\"`")
    } else {
        format!("`{inner}`")
    }
}

/// [`markdown_code`] for a table cell: a `|` cannot end the cell either (GFM reads `\|` inside
/// a code span in a table as `|`).
pub fn markdown_cell(text: &str) -> String {
    markdown_code(text).replace('|', "\\|")
}

/// Writes `text` to standard output. A closed pipe (`| head -1`) is not an error of this
/// command: the rest is dropped and the command ends as it would have (exit 0). Any other write
/// error (a full disk, an I/O error) is: nothing may be lost silently.
pub fn stdout(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    written(out.write_all(text.as_bytes()).and_then(|()| out.flush()))
}

/// A write's outcome, a closed pipe counting as done.
fn written(result: std::io::Result<()>) -> Result<(), Failure> {
    match result {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Failure::Output(format!(
            "cannot write to standard output: {e}"
        ))),
        _ => Ok(()),
    }
}

/// Writes lines to standard error (what was done, warnings, errors), each made safe for a CI
/// log by [`shown`]: whatever a server or a file put into the text (a `detail` with a newline
/// and `::error::`, ANSI or OSC escapes, BEL), no line starts a workflow command or carries a
/// control character. A closed stderr is ignored (there is nowhere left to say so).
pub fn say(text: &str) {
    let mut lines = log_lines(text);
    if *STDERR_COLOUR {
        lines = painted(&lines);
    }
    let write = || {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(lines.as_bytes());
    };
    // Above a progress bar, not through it (the lock is let go before writing).
    let bar = BAR.lock().ok().and_then(|bar| bar.clone());
    match bar {
        Some(bar) => bar.suspend(write),
        None => write(),
    }
}

/// Whether to colour a stream: a terminal, `NO_COLOR` unset or empty (no-color.org), and a
/// `TERM` other than `dumb`.
pub fn colour_wanted(
    terminal: bool,
    no_color: Option<std::ffi::OsString>,
    term: Option<std::ffi::OsString>,
) -> bool {
    terminal && no_color.is_none_or(|v| v.is_empty()) && term.is_none_or(|t| t != "dumb")
}

/// Whether standard error is coloured ([`colour_wanted`]), decided once.
static STDERR_COLOUR: std::sync::LazyLock<bool> = std::sync::LazyLock::new(|| {
    use std::io::IsTerminal;
    colour_wanted(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR"),
        std::env::var_os("TERM"),
    )
});

/// Whether standard output is coloured ([`colour_wanted`]), decided once.
pub static STDOUT_COLOUR: std::sync::LazyLock<bool> = std::sync::LazyLock::new(|| {
    use std::io::IsTerminal;
    colour_wanted(
        std::io::stdout().is_terminal(),
        std::env::var_os("NO_COLOR"),
        std::env::var_os("TERM"),
    )
});

/// `text` (lines already made safe by [`shown`]: no escape of the server's or the file's can
/// be in them) with what each line says coloured by how it starts: `ok:` green, `failed:` and
/// `error:` red, a plan's `+ create` green, `~ update` yellow, `- delete` red, its summary bold.
pub fn painted(text: &str) -> String {
    use anstyle::{AnsiColor, Style};
    let green = AnsiColor::Green.on_default();
    let red = AnsiColor::Red.on_default();
    let yellow = AnsiColor::Yellow.on_default();
    let bold = Style::new().bold();
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.split_inclusive('\n') {
        let (body, end) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        // The part coloured: a leading word, or the whole line.
        let (style, len) = if body.starts_with("ok:") {
            (green, 3)
        } else if body.starts_with("failed:") {
            (red, 7)
        } else if body.starts_with("error:") {
            (red.bold(), 6)
        } else if body.starts_with("+ create ") {
            (green, body.len())
        } else if body.starts_with("~ update ") {
            (yellow, body.len())
        } else if body.starts_with("- delete ") {
            (red, body.len())
        } else if body.starts_with("Plan: ") || body.starts_with("No changes.") {
            (bold, body.len())
        } else {
            out.push_str(line);
            continue;
        };
        let (coloured, rest) = body.split_at(len);
        out.push_str(&format!("{style}{coloured}{style:#}{rest}{end}"));
    }
    out
}

/// The progress bar shown while it lives, on a terminal only; [`say`] writes above it.
static BAR: std::sync::Mutex<Option<indicatif::ProgressBar>> = std::sync::Mutex::new(None);

/// A progress bar for `total` steps on standard error, when it is a terminal (a CI log gets
/// each step's line instead, and no bar); gone when dropped.
pub struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    /// Shown only on a terminal, and only for more than a few steps.
    pub fn start(total: usize) -> Progress {
        use std::io::IsTerminal;
        if total < 3 || !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let bar = indicatif::ProgressBar::new(u64::try_from(total).unwrap_or(u64::MAX));
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{bar:30} {pos}/{len} change(s), {elapsed} (about {eta} left)",
        ) {
            bar.set_style(style);
        }
        if let Ok(mut slot) = BAR.lock() {
            *slot = Some(bar.clone());
        }
        Progress(Some(bar))
    }

    /// `done` steps have finished.
    pub fn set(&self, done: usize) {
        if let Some(bar) = &self.0 {
            bar.set_position(u64::try_from(done).unwrap_or(u64::MAX));
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = self.0.take() {
            if let Ok(mut slot) = BAR.lock() {
                *slot = None;
            }
            bar.finish_and_clear();
        }
    }
}

/// Standard error for the library's `tracing` events, each made CI-log safe like [`say`] (a
/// warning may quote what a store or a server said). The formatter writes one whole event
/// per `write`.
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        say(text.strip_suffix('\n').unwrap_or(&text));
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `text`, each of its lines passed through [`shown`], each ended by a newline.
fn log_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 1);
    for line in text.split('\n') {
        out.push_str(&shown(line));
        out.push('\n');
    }
    out
}

/// The file GitHub Actions reads a step's outputs from (`GITHUB_OUTPUT`), checked before
/// anything is sent: `--github-output` outside a workflow step is a usage error.
pub fn github_output_file() -> Result<std::path::PathBuf, Failure> {
    std::env::var_os("GITHUB_OUTPUT")
        .filter(|p| !p.is_empty())
        .map(std::path::PathBuf::from)
        .ok_or_else(|| {
            Failure::Usage(
                "--github-output: GITHUB_OUTPUT is not set (GitHub Actions sets it in a step)"
                    .to_owned(),
            )
        })
}

/// Appends step outputs to `file` (`GITHUB_OUTPUT`), each in GitHub's multi-line form with a
/// random delimiter that occurs in no value: a value from the server with a newline in it
/// cannot write an output of its own. A write error is an error.
pub fn github_output(file: &std::path::Path, outputs: &[(&str, String)]) -> Result<(), Failure> {
    let mut text = String::new();
    for (name, value) in outputs {
        let delimiter = loop {
            let candidate = format!("OMNI_DBT_EOF_{:016x}", fastrand::u64(..));
            if !value.contains(&candidate) {
                break candidate;
            }
        };
        text.push_str(&format!("{name}<<{delimiter}\n{value}\n{delimiter}\n"));
    }
    let written = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(file)
        .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|()| f.flush()));
    written.map_err(|e| {
        Failure::Output(format!(
            "--github-output: cannot write {}: {e}",
            file.display()
        ))
    })
}

/// Prints `value` as pretty JSON, or `table` as aligned columns.
pub fn emit<T: Serialize>(
    output: Output,
    value: &T,
    table: impl FnOnce() -> Vec<Vec<String>>,
) -> Result<(), Failure> {
    match output {
        Output::Json => {
            let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".to_owned());
            stdout(&format!("{text}\n"))
        }
        Output::Table => stdout(&table_text(&table())),
    }
}

/// Aligned columns; the first row is the header. Every cell is escaped.
pub fn table_text(rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| shown(c)).collect())
        .collect();
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in &rows {
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, cell)| format!("{cell:<width$}", width = widths[c]))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// The table rows of environments.
pub fn environment_rows(environments: &[DbtEnvironment]) -> Vec<Vec<String>> {
    let mut rows = vec![vec![
        "NAME".to_owned(),
        "ID".to_owned(),
        "SCHEMA".to_owned(),
        "DEFAULT".to_owned(),
        "VARIABLES".to_owned(),
    ]];
    for e in environments {
        let variables: Vec<String> = e
            .variables
            .iter()
            .map(|v| match (&v.value, v.is_secret) {
                (_, true) => format!("{}=<secret>", v.name),
                (Some(value), false) => format!("{}={value}", v.name),
                (None, false) => v.name.clone(),
            })
            .collect();
        rows.push(vec![
            e.name.clone(),
            e.id.to_string(),
            e.target_schema.clone(),
            if e.is_default_environment { "yes" } else { "" }.to_owned(),
            variables.join(", "),
        ]);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_no_color_or_a_dumb_terminal() {
        let os = |s: &str| Some(std::ffi::OsString::from(s));
        assert!(colour_wanted(true, None, os("xterm-256color")));
        assert!(
            colour_wanted(true, os(""), None),
            "an empty NO_COLOR is unset"
        );
        assert!(!colour_wanted(false, None, os("xterm")));
        assert!(!colour_wanted(true, os("1"), os("xterm")));
        assert!(!colour_wanted(true, None, os("dumb")));
    }

    #[test]
    fn lines_are_coloured_by_how_they_start_and_nothing_else_changes() {
        let text = "ok: created a (1 of 2)\nfailed: create b: 400\n+ create c\n    targetSchema: x\n~ update d\n- delete e (id)\nPlan: 1 to create, 1 to update, 1 to delete.\nplain\n";
        let coloured = painted(text);
        assert_eq!(
            coloured,
            "\u{1b}[32mok:\u{1b}[0m created a (1 of 2)\n\u{1b}[31mfailed:\u{1b}[0m create b: 400\n\
             \u{1b}[32m+ create c\u{1b}[0m\n    targetSchema: x\n\u{1b}[33m~ update d\u{1b}[0m\n\
             \u{1b}[31m- delete e (id)\u{1b}[0m\n\u{1b}[1mPlan: 1 to create, 1 to update, 1 to delete.\u{1b}[0m\nplain\n"
        );
        // Without the escapes, the text is as it was.
        let stripped = coloured
            .replace("\u{1b}[32m", "")
            .replace("\u{1b}[31m", "")
            .replace("\u{1b}[33m", "")
            .replace("\u{1b}[1m", "")
            .replace("\u{1b}[0m", "");
        assert_eq!(stripped, text);
        // A name with an escape of its own was escaped before colouring: it stays text.
        assert!(painted(&log_lines("ok: created \u{1b}[31mx")).contains("\\u{1b}[31mx"));
    }

    #[test]
    fn no_line_said_can_start_a_workflow_command_or_carry_escapes() {
        let said =
            log_lines("error: bad request (400): bad\n::error::X\u{1b}]0;T\u{7}\n  ::warning::w");
        assert_eq!(
            said,
            "error: bad request (400): bad\n\"::error::X\\u{1b}]0;T\\u{7}\"\n\"  ::warning::w\"\n"
        );
        for line in said.lines() {
            assert!(!line.trim_start().starts_with("::"), "{line}");
            assert!(!line.chars().any(char::is_control), "{line:?}");
        }
        assert_eq!(log_lines("ok: created a"), "ok: created a\n");
    }

    #[test]
    fn a_closed_pipe_is_quiet_and_any_other_write_error_fails() {
        use std::io::{Error, ErrorKind};
        assert!(written(Ok(())).is_ok());
        assert!(written(Err(Error::from(ErrorKind::BrokenPipe))).is_ok());
        let full = written(Err(Error::from_raw_os_error(28))).unwrap_err();
        assert_eq!(full.exit_code(), 1);
        assert!(
            full.to_string().contains("cannot write to standard output"),
            "{full}"
        );
    }

    #[test]
    fn names_cannot_inject_workflow_commands_or_escapes() {
        assert_eq!(shown("pr-42"), "pr-42");
        assert_eq!(shown("a\n::error::x"), "a\\u{a}::error::x");
        assert_eq!(shown("::error::x"), "\"::error::x\"");
        assert_eq!(shown("\u{1b}[31mred"), "\\u{1b}[31mred");
        assert_eq!(shown("a\u{202e}b"), "a\\u{202e}b");
        assert_eq!(shown("Ünïcode"), "Ünïcode");
    }
}
