//! Plans against random existing states: whatever the connection holds (previews, hand-made
//! environments, other files', duplicates, the default), a plan never deletes or changes what
//! the file does not manage, and applying it then planning again says "No changes".

use std::collections::BTreeMap;

use omni_dbt::DbtEnvironment;
use proptest::prelude::*;
use serde_json::{Value, json};

use super::{
    diff::{Change, Options, Plan, plan},
    file::{Desired, File, Loaded, load, managed},
};
use crate::owned::{MARKER, Owner};
use omni_dbt::Uuid;

const NAMES: [&str; 6] = ["a", "b", "staging", "preview-x", "dev", "Default"];
const THIS: &str = "envs.yaml";

/// One environment as the fake would hold it.
#[derive(Clone, Debug)]
struct Env {
    id: Uuid,
    name: String,
    default: bool,
    schema: String,
    database: Option<String>,
    role: Option<String>,
    /// name -> (id, value, secret)
    vars: BTreeMap<String, (Uuid, String, bool)>,
}

impl Env {
    fn decoded(&self) -> DbtEnvironment {
        let vars: Vec<Value> = self
            .vars
            .iter()
            .map(|(name, (id, value, secret))| {
                json!({"id": id, "name": name, "isSecret": secret,
                       "value": if *secret { Value::Null } else { json!(value) }})
            })
            .collect();
        serde_json::from_value(json!({
            "id": self.id, "name": self.name, "targetSchema": self.schema,
            "targetDatabase": self.database, "targetRole": self.role, "targetName": null,
            "ownerId": null, "isDefaultEnvironment": self.default, "variables": vars,
        }))
        .unwrap()
    }
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(0x1000_0000_0000_4000_8000_0000_0000_0000 + n)
}

prop_compose! {
    fn env_strategy()(
        name in 0..NAMES.len(),
        marker in 0..5usize,
        schema in 0..3usize,
        database in proptest::option::of(0..2usize),
        role in proptest::option::of(0..2usize),
        plain in proptest::option::of(0..2usize),
        secret in any::<bool>(),
    ) -> Env {
        let mut vars = BTreeMap::new();
        let marker = match marker {
            0 => None,
            1 => Some(format!("file:{THIS}")),
            2 => Some("file:other.yaml".to_owned()),
            3 => Some("preview:x".to_owned()),
            _ => Some("hand-written".to_owned()),
        };
        if let Some(m) = marker {
            vars.insert(MARKER.to_owned(), (id(900), m, false));
        }
        if let Some(v) = plain {
            vars.insert("A".to_owned(), (id(901), format!("v{v}"), false));
        }
        if secret {
            vars.insert("S".to_owned(), (id(902), String::new(), true));
        }
        Env {
            id: Uuid::nil(),
            name: NAMES[name].to_owned(),
            default: false,
            schema: format!("s{schema}"),
            database: database.map(|d| format!("d{d}")),
            role: role.map(|r| format!("r{r}")),
            vars,
        }
    }
}

prop_compose! {
    fn state_strategy()(mut envs in proptest::collection::vec(env_strategy(), 0..8), default in 0..9usize) -> Vec<Env> {
        for (i, env) in envs.iter_mut().enumerate() {
            env.id = id(i as u128 + 1);
            env.default = i == default;
        }
        envs
    }
}

prop_compose! {
    fn desired_strategy()(
        schema in 0..3usize,
        database in proptest::option::of(proptest::option::of(0..2usize)),
        role in proptest::option::of(proptest::option::of(0..2usize)),
        plain in proptest::option::of(0..2usize),
        secret in any::<bool>(),
    ) -> (String, Option<Option<String>>, Option<Option<String>>, Option<String>, bool) {
        (
            format!("s{schema}"),
            database.map(|d| d.map(|d| format!("d{d}"))),
            role.map(|r| r.map(|r| format!("r{r}"))),
            plain.map(|v| format!("v{v}")),
            secret,
        )
    }
}

prop_compose! {
    fn file_strategy()(picked in proptest::collection::btree_map(0..NAMES.len(), desired_strategy(), 0..4)) -> Loaded {
        let environments = picked
            .into_iter()
            .map(|(name, (schema, database, role, plain, secret))| {
                let mut want = Desired::named(NAMES[name]).with("targetSchema", json!(schema));
                if let Some(database) = database {
                    want = want.with("targetDatabase", json!(database));
                }
                if let Some(role) = role {
                    want = want.with("targetRole", json!(role));
                }
                want.variables = plain.into_iter().map(|v| ("A".to_owned(), v)).collect();
                if secret {
                    want.secret_variables = [("S".to_owned(), "${SECRET_S}".to_owned())].into();
                }
                want
            })
            .collect();
        Loaded {
            file: File { connection: None, managed_by: Some(THIS.to_owned()), environments },
            owner: Owner::File(THIS.to_owned()),
        }
    }
}

/// What applying `plan` does to the state, as Omni would.
fn simulate(state: &mut Vec<Env>, loaded: &Loaded, plan: &Plan) {
    let mut next = 1000;
    let mut fresh = || {
        next += 1;
        id(next)
    };
    for step in &plan.create {
        let mut env = Env {
            id: fresh(),
            name: step.name.clone(),
            default: false,
            schema: String::new(),
            database: None,
            role: None,
            vars: [(MARKER.to_owned(), (fresh(), loaded.owner.marker(), false))].into(),
        };
        apply_changes(&mut env, &step.changes, &mut fresh);
        state.push(env);
    }
    for step in &plan.update {
        let env = state.iter_mut().find(|e| Some(e.id) == step.id).unwrap();
        apply_changes(env, &step.changes, &mut fresh);
    }
    state.retain(|e| !plan.delete.iter().any(|s| s.id == Some(e.id)));
}

fn apply_changes(env: &mut Env, changes: &[Change], fresh: &mut impl FnMut() -> Uuid) {
    for change in changes {
        match change {
            Change::Property { property, to, .. } => {
                let text = to.as_str().map(str::to_owned);
                match property.json {
                    "targetSchema" => env.schema = text.unwrap(),
                    "targetDatabase" => env.database = text,
                    "targetRole" => env.role = text,
                    other => panic!("the file set {other}"),
                }
            }
            Change::OwnerId { .. } => {}
            Change::Variable { name, to, .. } => {
                let id = env.vars.get(name).map(|v| v.0).unwrap_or_else(&mut *fresh);
                env.vars.insert(name.clone(), (id, to.clone(), false));
            }
            Change::Secret { name, .. } => {
                let id = env.vars.get(name).map(|v| v.0).unwrap_or_else(&mut *fresh);
                env.vars.insert(name.clone(), (id, String::new(), true));
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn a_plan_touches_only_what_the_file_manages(
        state in state_strategy(),
        loaded in file_strategy(),
        prune in any::<bool>(),
    ) {
        let current: Vec<DbtEnvironment> = state.iter().map(Env::decoded).collect();
        let named = |name: &str| loaded.file.environments.iter().any(|w| w.name == name);
        let marker = |e: &Env| e.vars.get(MARKER).map(|v| v.1.clone());
        let ours = |e: &Env| !e.default && marker(e) == Some(format!("file:{THIS}"));
        let conflicted = loaded.file.environments.iter().any(|w| {
            let same: Vec<&Env> = state.iter().filter(|e| e.name == w.name).collect();
            // Copies all of this file's are not a conflict: the lowest id is kept.
            (same.len() > 1 && !same.iter().all(|e| ours(e)))
                || same.iter().any(|e| {
                    marker(e).and_then(|m| Owner::parse(&m)).is_some_and(|o| o != loaded.owner)
                })
        });
        let planned = match plan(&loaded, &current, &Options { prune, allow_empty: true, ..Options::default() }) {
            Err(_) => {
                prop_assert!(conflicted, "refused without a conflict");
                return Ok(());
            }
            Ok(p) => p,
        };
        prop_assert!(!conflicted, "planned over a conflict");
        for step in &planned.delete {
            let env = state.iter().find(|e| Some(e.id) == step.id).unwrap();
            prop_assert!(!env.default, "deletes the default");
            prop_assert_eq!(marker(env), Some(format!("file:{THIS}")), "deletes what it does not own");
            if named(&env.name) {
                // A copy: never the lowest id of its name.
                let lowest = state.iter().filter(|e| e.name == env.name).map(|e| e.id).min();
                prop_assert!(lowest != Some(env.id), "deletes the copy that is kept");
            } else {
                prop_assert!(prune);
            }
        }
        for step in &planned.update {
            let env = state.iter().find(|e| Some(e.id) == step.id).unwrap();
            prop_assert!(named(&env.name));
            let want = loaded.file.environments.iter().find(|w| w.name == env.name).unwrap();
            for change in &step.changes {
                match change {
                    // A property the file leaves out is never cleared.
                    Change::Property { property, .. } => prop_assert!(want.get(property.json).is_some()),
                    Change::OwnerId { .. } => prop_assert!(want.owner_id.is_some()),
                    Change::Variable { name, .. } => prop_assert!(want.variables.contains_key(name)),
                    Change::Secret { name, .. } => prop_assert!(want.secret_variables.contains_key(name)),
                }
            }
        }
        // Everything else is kept (listed), and the default is never in a delete.
        let touched = planned.update.len() + planned.delete.len() + planned.unchanged.len() + planned.kept.len();
        prop_assert_eq!(touched, state.len());

        let mut after = state.clone();
        simulate(&mut after, &loaded, &planned);
        let current: Vec<DbtEnvironment> = after.iter().map(Env::decoded).collect();
        let again = plan(&loaded, &current, &Options { prune, allow_empty: true, ..Options::default() }).unwrap();
        prop_assert!(!again.has_changes(), "a second plan changes things:\n{}", again.human());
    }
}

/// The hand mutations the suite must catch, as behaviour (not a snapshot).
#[test]
fn a_nullable_field_left_out_is_not_cleared_and_the_default_is_never_pruned() {
    let state = [
        Env {
            id: id(1),
            name: "Default".into(),
            default: true,
            schema: "s0".into(),
            database: Some("d0".into()),
            role: None,
            vars: [(MARKER.to_owned(), (id(9), format!("file:{THIS}"), false))].into(),
        },
        Env {
            id: id(2),
            name: "a".into(),
            default: false,
            schema: "s0".into(),
            database: Some("kept".into()),
            role: Some("kept".into()),
            vars: BTreeMap::new(),
        },
    ];
    let loaded = Loaded {
        file: File {
            connection: None,
            managed_by: Some(THIS.into()),
            environments: vec![Desired::named("a").with("targetSchema", json!("s1"))],
        },
        owner: Owner::File(THIS.into()),
    };
    let current: Vec<DbtEnvironment> = state.iter().map(Env::decoded).collect();
    let planned = plan(
        &loaded,
        &current,
        &Options {
            prune: true,
            ..Options::default()
        },
    )
    .unwrap();
    assert!(
        planned.delete.is_empty(),
        "the default is never pruned, marked or not"
    );
    assert_eq!(planned.update.len(), 1);
    assert_eq!(
        planned.update[0].changes,
        vec![Change::Property {
            property: managed().find(|p| p.json == "targetSchema").unwrap(),
            from: json!("s0"),
            to: json!("s1")
        }],
        "targetDatabase and targetRole, left out, are not cleared"
    );
}

/// The JSON Schema and the reference document the file's every key, and the loader accepts
/// exactly those keys: the example with every key loads, and a key the schema lacks is refused.
#[test]
fn the_schema_and_the_loader_agree_on_every_key() {
    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs");
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(docs.join("environments.schema.json")).unwrap(),
    )
    .unwrap();
    let reference = std::fs::read_to_string(docs.join("environments-file.md")).unwrap();
    let example = std::fs::read_to_string(docs.join("environments.example.yaml")).unwrap();
    let top: Vec<&String> = schema["properties"].as_object().unwrap().keys().collect();
    let env: Vec<&String> = schema["$defs"]["environment"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    for key in top.iter().chain(&env) {
        assert!(
            reference.contains(&format!("| `{key}` |")),
            "{key} is not in the reference"
        );
        assert!(
            example.contains(&format!("{key}:")),
            "{key} is not in the example"
        );
    }
    let loaded = load(&docs.join("environments.example.yaml")).unwrap();
    assert_eq!(loaded.owner, Owner::File("analytics-envs".into()));
    assert_eq!(loaded.file.environments.len(), 2);
    let dir = tempfile::tempdir().unwrap();
    for (at, extra) in [
        ("top", "colour: blue\n"),
        ("environment", "    colour: blue\n"),
    ] {
        let text = match at {
            "top" => format!("{example}{extra}"),
            _ => example.replacen(
                "    targetSchema: dbt_staging\n",
                &format!("    targetSchema: dbt_staging\n{extra}"),
                1,
            ),
        };
        let path = dir.path().join("x.yaml");
        std::fs::write(&path, text).unwrap();
        let err = load(&path).unwrap_err().to_string();
        assert!(err.contains("unknown key `colour`"), "{at}: {err}");
    }
}

#[test]
fn the_plan_says_personal_or_shared() {
    let have = Env {
        id: id(2),
        name: "a".into(),
        default: false,
        schema: "s0".into(),
        database: None,
        role: None,
        vars: BTreeMap::new(),
    };
    let mut decoded = serde_json::to_value(have.decoded()).unwrap();
    decoded["ownerId"] = json!(id(7));
    let current: Vec<DbtEnvironment> = vec![serde_json::from_value(decoded).unwrap()];
    let want = |name: &str, owner: Option<Option<Uuid>>| Desired {
        owner_id: owner,
        ..Desired::named(name).with("targetSchema", json!("s0"))
    };
    let loaded = Loaded {
        file: File {
            connection: None,
            managed_by: Some(THIS.into()),
            environments: vec![want("a", Some(None)), want("b", Some(Some(id(8))))],
        },
        owner: Owner::File(THIS.into()),
    };
    let text = plan(&loaded, &current, &Options::default())
        .unwrap()
        .human();
    assert!(
        text.contains(&format!("ownerId: personal ({}) -> shared", id(7))),
        "{text}"
    );
    assert!(
        text.contains(&format!("ownerId: personal ({})", id(8))),
        "{text}"
    );
}

/// Server and file text in the Markdown plan, rendered as GitHub renders a pull-request comment
/// (cmark-gfm, through comrak, raw HTML allowed so that any that got through shows): no image,
/// link, heading, emphasis or mention comes from it, and no `<details>` block is closed early.
#[test]
fn hostile_names_render_as_text_in_the_markdown_plan() {
    let hostile_env = "<img src=https://evil.example/t.png> [click](https://evil.example/login) @octocat **b** | `x` \n::error::y";
    let hostile_var = "</details><h1>Plan: 0 to delete</h1><!--";
    let have = Env {
        id: id(2),
        name: hostile_env.into(),
        default: false,
        schema: "s0".into(),
        database: None,
        role: None,
        vars: [(
            hostile_var.to_owned(),
            (id(3), "www.evil.example".to_owned(), false),
        )]
        .into(),
    };
    let other = Env {
        id: id(4),
        name: "<h2>kept</h2> https://evil.example".into(),
        vars: [(
            MARKER.to_owned(),
            (id(5), "preview:<h2>x</h2>@octocat".to_owned(), false),
        )]
        .into(),
        ..have.clone()
    };
    let current: Vec<DbtEnvironment> = [&have, &other].iter().map(|e| e.decoded()).collect();
    let loaded = Loaded {
        file: File {
            connection: None,
            managed_by: Some("<h2>file</h2>".into()),
            environments: vec![
                Desired::named(hostile_env)
                    .with("targetSchema", json!("[x](https://evil.example)")),
            ],
        },
        owner: Owner::File("<h2>file</h2>".into()),
    };
    let planned = plan(&loaded, &current, &Options::default()).unwrap();
    assert!(planned.has_changes());
    let markdown = planned.markdown();
    let mut options = comrak::Options::default();
    options.extension.table = true;
    options.extension.autolink = true;
    options.extension.strikethrough = true;
    options.render.r#unsafe = true;
    let html = comrak::markdown_to_html(&markdown, &options);
    for tag in ["<img", "<a ", "<h1", "<h2", "<em", "<!--"] {
        assert!(!html.contains(tag), "{tag} in:\n{html}\nfrom:\n{markdown}");
    }
    // Ours: one summary in bold, two blocks (notes, kept), one heading.
    assert_eq!(html.matches("<strong>").count(), 1, "{html}");
    assert_eq!(html.matches("</details>").count(), 2, "{html}");
    assert_eq!(html.matches("<h3>").count(), 1, "{html}");
    // A mention or a bare URL is text only inside code spans.
    let mut outside = html.clone();
    while let (Some(start), Some(end)) = (outside.find("<code>"), outside.find("</code>")) {
        outside.replace_range(start..end + "</code>".len(), "");
    }
    for text in ["@octocat", "evil.example", "::error::"] {
        assert!(!outside.contains(text), "{text} outside code: {outside}");
    }
}
