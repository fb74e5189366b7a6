//! Shell completions at every level, driven through each shell's own completion machinery:
//! bash's completion function with `COMP_WORDS`, fish's `complete -C`, zsh's completion system
//! in a pseudo-terminal (`zsh/zpty`). A shell that is not installed is said and skipped, unless
//! `OMNI_DBT_REQUIRE_SHELLS` is set (CI installs all three and sets it).

use std::{path::Path, process::Command};

/// What each line asks, and a word its completions must include.
const CASES: &[(&str, &str)] = &[
    ("omni-dbt en", "env"),
    ("omni-dbt env pl", "plan"),
    ("omni-dbt env plan --det", "--detailed-exitcode"),
    ("omni-dbt preview up --create", "--create-branch"),
    ("omni-dbt env apply --plan-format ma", "markdown"),
    ("omni-dbt dbt set --rot", "--rotate-keys"),
];

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_omni-dbt"))
}

fn script(shell: &str) -> String {
    let out = Command::new(binary())
        .args(["completions", shell])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// Whether `shell` can be run; when it cannot, the test fails under `OMNI_DBT_REQUIRE_SHELLS`.
fn installed(shell: &str) -> bool {
    let found = Command::new(shell)
        .args(["-c", "exit 0"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("OMNI_DBT_REQUIRE_SHELLS").is_none(),
            "{shell} is required (OMNI_DBT_REQUIRE_SHELLS) but cannot be run"
        );
        eprintln!("{shell} is not installed: its completions are not driven here");
    }
    found
}

#[test]
fn bash_completes_every_level() {
    if !installed("bash") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("omni-dbt.bash");
    std::fs::write(&file, script("bash")).unwrap();
    for (line, want) in CASES {
        let mut words: Vec<&str> = line.split(' ').collect();
        if line.ends_with(' ') {
            words.push("");
        }
        let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
        let program = format!(
            "source '{}'\nCOMP_WORDS=({})\nCOMP_CWORD={}\nCOMP_LINE='{line}'\nCOMP_POINT=${{#COMP_LINE}}\n\
             _omni__dbt omni-dbt \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"\n\
             printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            file.display(),
            quoted.join(" "),
            words.len() - 1
        );
        let out = Command::new("bash")
            .args(["--norc", "--noprofile", "-c", &program])
            .output()
            .unwrap();
        let offered = String::from_utf8_lossy(&out.stdout);
        assert!(
            offered.lines().any(|l| l == *want),
            "bash, {line:?}: offered {offered:?}, {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn fish_completes_every_level() {
    if !installed("fish") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("omni-dbt.fish");
    std::fs::write(&file, script("fish")).unwrap();
    for (line, want) in CASES {
        let program = format!("source '{}'; complete -C '{line}'", file.display());
        let out = Command::new("fish")
            .args(["--no-config", "-c", &program])
            .env("HOME", dir.path())
            .output()
            .unwrap();
        let offered = String::from_utf8_lossy(&out.stdout);
        assert!(
            offered.lines().any(|l| l.split('\t').next() == Some(*want)),
            "fish, {line:?}: offered {offered:?}, {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// zsh completes only in its line editor: an interactive zsh in a pseudo-terminal (zpty) is
/// given each line and a Tab, and the line it shows after must hold the completed word. The
/// cases with one candidate complete in place (a line of several would list them instead).
#[test]
fn zsh_completes_every_level() {
    if !installed("zsh") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("_omni-dbt"), script("zsh")).unwrap();
    let bin_dir = binary().parent().unwrap();
    for (line, want) in CASES {
        let driver = format!(
            r#"zmodload zsh/zpty
zpty -b z 'zsh -f -i'
zpty -w z "PS1='> '; fpath=('{fpath}' \$fpath); autoload -U compinit; compinit -u -D; path=('{bin}' \$path); print ready"
drain() {{ local line; out=''; while zpty -r -t z line; do out+=$line; done }}
for i in {{1..50}}; do sleep 0.1; drain; [[ $out == *ready* ]] && break; done
zpty -w -n z $'{line}\t'
all=''
for i in {{1..30}}; do sleep 0.1; drain; all+=$out; [[ $all == *'{want}'* ]] && break; done
zpty -d z
print -r -- "$all"
"#,
            fpath = dir.path().display(),
            bin = bin_dir.display(),
        );
        let out = Command::new("zsh")
            .args(["-f", "-c", &driver])
            .env("HOME", dir.path())
            .output()
            .unwrap();
        let shown = String::from_utf8_lossy(&out.stdout);
        assert!(
            shown.contains(want),
            "zsh, {line:?}: showed {shown:?}, {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
