//! The environment's property flags, made from the spec's table with clap's builder API: one
//! `--<property>` per property the environments file manages (`--target-schema`,
//! `--is-deferral-enabled`, and whatever Omni adds), a `--clear-<property>` for each nullable
//! one on `env update`, the value checked against the spec's rules by clap (so the error names
//! the flag). A `target…` property also answers to its short name (`--schema` for
//! `--target-schema`, `--clear-role` for `--clear-target-role`) unless that is the name of a
//! key with behaviour of its own (`--name`).

use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches};
use omni_dbt::fields::{Kind, Property};
use serde_json::Value;

use crate::plan;

/// How the flags are offered.
pub const CREATE: u8 = 0;
/// `env update`: nothing required, a `--clear-…` for each nullable property.
pub const UPDATE: u8 = 1;
/// `preview up`: like a create, with nothing required (the preview names its own schema).
pub const PREVIEW: u8 = 2;

/// The properties given on the command line, in the table's order: a value, or `null` to clear.
#[derive(Clone, Debug, Default)]
pub struct PropertyArgs<const MODE: u8> {
    pub given: Vec<(&'static Property, Value)>,
}

/// `env create`'s property flags.
pub type CreateProperties = PropertyArgs<CREATE>;
/// `env update`'s property flags.
pub type UpdateProperties = PropertyArgs<UPDATE>;
/// `preview up`'s property flags.
pub type PreviewProperties = PropertyArgs<PREVIEW>;

#[cfg(test)]
impl<const MODE: u8> PropertyArgs<MODE> {
    /// The value given for the property the spec names `json` (`null`: clear).
    pub fn get(&self, json: &str) -> Option<&Value> {
        self.given
            .iter()
            .find(|(p, _)| p.json == json)
            .map(|(_, v)| v)
    }
}

/// The flag a property answers to, in the CLI's words (for errors that name it).
pub fn flag(property: &Property) -> String {
    format!("--{}", property.kebab)
}

/// `schema` for `target-schema` (a property's kebab-case name); none for a property not named
/// `target…`, or whose short name is another key's.
fn short_name(kebab: &str) -> Option<String> {
    let short = kebab.strip_prefix("target-")?;
    (!plan::own_keys().contains(&short)).then(|| short.to_owned())
}

fn clear_id(json: &str) -> String {
    format!("clear:{json}")
}

/// The value of `text` for `property`, checked against the spec's rules.
fn parse(property: &'static Property, text: &str) -> Result<Value, String> {
    let value = value_of(property.kind, text)?;
    if let Some(text) = value.as_str()
        && text.trim().is_empty()
    {
        return Err("must not be empty".to_owned());
    }
    property.check(&value)?;
    Ok(value)
}

/// `text` as a value of `kind`.
fn value_of(kind: Kind, text: &str) -> Result<Value, String> {
    Ok(match kind {
        Kind::Boolean => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err("must be true or false".to_owned()),
        },
        Kind::Integer => text
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| "must be an integer".to_owned())?,
        Kind::Number => text
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| "must be a number".to_owned())?,
        _ => Value::String(text.to_owned()),
    })
}

/// A flag's help: the spec's description, its values when it lists them, and the name `where_`
/// uses (`YAML` for the environments file, `Omni` for the configuration).
fn help_of(property: &Property, where_: &str) -> String {
    let mut help = property.description.trim_end_matches('.').to_owned();
    if !property.values.is_empty() {
        help.push_str(&format!(" (one of: {})", property.values.join(", ")));
    }
    help.push_str(&format!(" ({where_}: {})", property.json));
    help
}

/// A flag's value name: `BOOL`, `N`, or the flag's name in capitals.
fn value_name_of(property: &Property, flag: &str) -> String {
    match property.kind {
        Kind::Boolean => "BOOL".to_owned(),
        Kind::Integer | Kind::Number => "N".to_owned(),
        _ => flag.to_ascii_uppercase().replace('-', "_"),
    }
}

fn augment(mut cmd: Command, mode: u8) -> Command {
    for property in plan::managed() {
        if (mode == UPDATE && !property.in_update) || (mode != UPDATE && !property.in_create) {
            continue;
        }
        let long = property.kebab.to_owned();
        let short = short_name(property.kebab);
        let mut arg = Arg::new(property.json)
            .long(long.clone())
            .value_name(value_name_of(property, short.as_deref().unwrap_or(&long)))
            .help(help_of(property, "YAML"))
            .action(ArgAction::Set)
            .value_parser(move |text: &str| parse(property, text));
        if let Some(short) = &short {
            arg = arg.visible_alias(short.clone());
        }
        if mode == CREATE && property.required {
            arg = arg.required(true);
        }
        let clears = mode == UPDATE && property.nullable;
        if clears {
            arg = arg.conflicts_with(clear_id(property.json));
        }
        cmd = cmd.arg(arg);
        if clears {
            let mut clear = Arg::new(clear_id(property.json))
                .long(format!("clear-{long}"))
                .help(format!("Clear {} (sends null)", property.json))
                .action(ArgAction::SetTrue);
            if let Some(short) = &short {
                clear = clear.visible_alias(format!("clear-{short}"));
            }
            cmd = cmd.arg(clear);
        }
    }
    cmd
}

impl<const MODE: u8> Args for PropertyArgs<MODE> {
    fn augment_args(cmd: Command) -> Command {
        augment(cmd, MODE)
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        augment(cmd, MODE)
    }
}

impl<const MODE: u8> FromArgMatches for PropertyArgs<MODE> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut given = Vec::new();
        for property in plan::managed() {
            if let Ok(Some(value)) = matches.try_get_one::<Value>(property.json) {
                given.push((property, value.clone()));
            } else if MODE == UPDATE
                && matches
                    .try_get_one::<bool>(&clear_id(property.json))
                    .ok()
                    .flatten()
                    .copied()
                    .unwrap_or(false)
            {
                given.push((property, Value::Null));
            }
        }
        Ok(PropertyArgs { given })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

/// `dbt set`'s flags, made from the spec's dbt configuration table the same way: one flag per
/// property `PUT .../dbt` takes (`--ssh-url`, `--branch`, and whatever Omni adds), a switch for
/// a boolean Omni does not read back (an action, like `--rotate-keys`). A name starting
/// `enable-` or ending `-path` also goes without it (`--virtual-schemas`, `--project-root`,
/// today's names), the full name staying an alias. `--replace`'s help names the flags of the
/// properties the spec requires.
#[derive(Clone, Debug, Default)]
pub struct DbtConfigArgs {
    pub given: Vec<(&'static Property, Value)>,
    /// `--replace`: send only what is given.
    pub replace: bool,
}

/// The id of `--replace` (not a property's JSON name: those are camel case).
const REPLACE: &str = "replace";

/// The configuration's properties a `PUT` sets.
fn dbt_config_rows() -> impl Iterator<Item = &'static Property> {
    omni_dbt::fields::dbt_config()
        .iter()
        .filter(|p| p.in_update)
}

/// `virtual-schemas` for `enable-virtual-schemas`, `project-root` for `project-root-path`.
fn dbt_flag_name(kebab: &str) -> &str {
    let name = kebab.strip_prefix("enable-").unwrap_or(kebab);
    name.strip_suffix("-path").unwrap_or(name)
}

/// The flag a dbt configuration property answers to (for errors that name it).
pub fn dbt_flag(property: &Property) -> String {
    format!("--{}", dbt_flag_name(property.kebab))
}

/// A boolean Omni does not read back: an action asked for by a switch.
pub fn is_action(property: &Property) -> bool {
    property.kind == Kind::Boolean && !property.in_answer
}

impl Args for DbtConfigArgs {
    fn augment_args(mut cmd: Command) -> Command {
        for property in dbt_config_rows() {
            let name = dbt_flag_name(property.kebab);
            let mut arg = Arg::new(property.json)
                .long(name.to_owned())
                .help(help_of(property, "Omni"));
            if is_action(property) {
                arg = arg.action(ArgAction::SetTrue);
            } else {
                arg = arg
                    .value_name(value_name_of(property, name))
                    .action(ArgAction::Set)
                    .value_parser(move |text: &str| {
                        let value = value_of(property.kind, text)?;
                        property.check(&value)?;
                        Ok::<_, String>(value)
                    });
            }
            if name != property.kebab {
                arg = arg.alias(property.kebab);
            }
            cmd = cmd.arg(arg);
        }
        let required: Vec<String> = dbt_config_rows()
            .filter(|p| p.required)
            .map(dbt_flag)
            .collect();
        cmd.arg(
            Arg::new(REPLACE)
                .long(REPLACE)
                .action(ArgAction::SetTrue)
                .help(format!(
                    "Send only what is given: the whole configuration is replaced (what Omni \
                     requires must then be given: {})",
                    required.join(", ")
                )),
        )
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

impl FromArgMatches for DbtConfigArgs {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut given = Vec::new();
        for property in dbt_config_rows() {
            if is_action(property) {
                if matches.get_flag(property.json) {
                    given.push((property, Value::Bool(true)));
                }
            } else if let Ok(Some(value)) = matches.try_get_one::<Value>(property.json) {
                given.push((property, value.clone()));
            }
        }
        Ok(DbtConfigArgs {
            given,
            replace: matches.get_flag(REPLACE),
        })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(clap::Parser, Debug)]
    struct Create {
        #[command(flatten)]
        properties: CreateProperties,
    }

    #[derive(clap::Parser, Debug)]
    struct Update {
        #[command(flatten)]
        properties: UpdateProperties,
    }

    #[test]
    fn names_follow_the_spec_and_today_s_aliases_stay() {
        assert_eq!(short_name("target-schema").as_deref(), Some("schema"));
        assert_eq!(short_name("target-role").as_deref(), Some("role"));
        assert_eq!(
            short_name("target-name"),
            None,
            "--name is the environment's name"
        );
        assert_eq!(short_name("targets"), None);
        assert_eq!(short_name("is-deferral-enabled"), None);
    }

    #[test]
    fn flags_parse_set_and_clear_with_the_spec_s_rules() {
        use clap::Parser;
        let create = Create::try_parse_from(["x", "--schema", "dbt_x", "--role", "R"]).unwrap();
        assert_eq!(
            create.properties.get("targetSchema"),
            Some(&Value::from("dbt_x"))
        );
        assert_eq!(create.properties.get("targetRole"), Some(&Value::from("R")));
        let missing = Create::try_parse_from(["x"]).unwrap_err().to_string();
        assert!(missing.contains("--target-schema"), "{missing}");
        let empty = Create::try_parse_from(["x", "--target-schema", ""])
            .unwrap_err()
            .to_string();
        assert!(empty.contains("--target-schema"), "{empty}");
        let update =
            Update::try_parse_from(["x", "--clear-database", "--target-name", "n"]).unwrap();
        assert_eq!(update.properties.get("targetDatabase"), Some(&Value::Null));
        assert_eq!(update.properties.get("targetName"), Some(&Value::from("n")));
        assert_eq!(update.properties.get("targetSchema"), None);
        let both = Update::try_parse_from(["x", "--clear-role", "--role", "R"]).unwrap_err();
        assert_eq!(both.kind(), clap::error::ErrorKind::ArgumentConflict);
        // The schema cannot be cleared: no such flag.
        assert!(Update::try_parse_from(["x", "--clear-target-schema"]).is_err());
    }

    #[derive(clap::Parser, Debug)]
    struct DbtSet {
        #[command(flatten)]
        config: DbtConfigArgs,
    }

    #[test]
    fn dbt_set_flags_come_from_the_spec_with_today_s_names() {
        use clap::Parser;
        assert_eq!(dbt_flag_name("enable-virtual-schemas"), "virtual-schemas");
        assert_eq!(dbt_flag_name("project-root-path"), "project-root");
        assert_eq!(dbt_flag_name("ssh-url"), "ssh-url");
        let set = DbtSet::try_parse_from([
            "x",
            "--virtual-schemas",
            "true",
            "--enable-semantic-layer",
            "false",
            "--project-root",
            "dbt",
            "--rotate-keys",
        ])
        .unwrap();
        let given: Vec<(&str, Value)> = set
            .config
            .given
            .iter()
            .map(|(p, v)| (p.json, v.clone()))
            .collect();
        assert!(given.contains(&("enableVirtualSchemas", Value::Bool(true))));
        assert!(given.contains(&("enableSemanticLayer", Value::Bool(false))));
        assert!(given.contains(&("projectRootPath", Value::from("dbt"))));
        assert!(given.contains(&("rotateKeys", Value::Bool(true))));
        assert_eq!(given.len(), 4);
        assert!(!set.config.replace);
        let replace = DbtSet::try_parse_from(["x", "--replace"]).unwrap();
        assert!(replace.config.replace && replace.config.given.is_empty());
        // The spec's rules, said for the flag.
        let bad = DbtSet::try_parse_from(["x", "--project-root", "/abs"])
            .unwrap_err()
            .to_string();
        assert!(
            bad.contains("--project-root") && bad.contains("pattern"),
            "{bad}"
        );
        let bad = DbtSet::try_parse_from(["x", "--ssh-url", ""])
            .unwrap_err()
            .to_string();
        assert!(
            bad.contains("--ssh-url") && bad.contains("minLength"),
            "{bad}"
        );
        assert!(DbtSet::try_parse_from(["x", "--autogen-relationships", "yes"]).is_err());
        use clap::CommandFactory;
        let help = DbtSet::command().render_help().to_string();
        for shown in [
            "--virtual-schemas <BOOL>",
            "--project-root <PROJECT_ROOT>",
            "--ssh-url <SSH_URL>",
            "(Omni: enableVirtualSchemas)",
            // The required properties' flags, in the table's order.
            "must then be given: --autogen-relationships, --branch, --virtual-schemas, --ssh-url)",
        ] {
            assert!(help.contains(shown), "{shown}: {help}");
        }
        assert!(
            !help.contains("one of"),
            "no property has values to list: {help}"
        );
        assert!(
            !help.contains("--rotate-keys <"),
            "a switch takes no value: {help}"
        );
    }

    #[test]
    fn kinds_are_parsed_as_the_spec_says() {
        assert_eq!(value_of(Kind::Boolean, "true"), Ok(Value::Bool(true)));
        assert_eq!(value_of(Kind::Boolean, "false"), Ok(Value::Bool(false)));
        assert!(value_of(Kind::Boolean, "yes").is_err());
        assert_eq!(value_of(Kind::Integer, " 8"), Ok(Value::from(8)));
        assert!(value_of(Kind::Integer, "8.5").is_err());
        assert_eq!(value_of(Kind::Number, "8.5"), Ok(Value::from(8.5)));
        assert!(value_of(Kind::Number, "NaN").is_err());
        assert_eq!(value_of(Kind::String, "x"), Ok(Value::from("x")));
    }
}
