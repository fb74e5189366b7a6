//! What commands print: a table for people, JSON for scripts (stable: the API's own field names).

use omni_dbt::DbtEnvironment;
use serde::Serialize;

use crate::cli::Output;

/// Prints `value` as pretty JSON, or `table` as aligned columns.
pub fn emit<T: Serialize>(output: Output, value: &T, table: impl FnOnce() -> Vec<Vec<String>>) {
    match output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".to_owned())
        ),
        Output::Table => print_table(&table()),
    }
}

/// Aligned columns; the first row is the header.
pub fn print_table(rows: &[Vec<String>]) {
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
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, cell)| format!("{cell:<width$}", width = widths[c]))
            .collect();
        println!("{}", line.join("  ").trim_end());
    }
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
