//! One way a value breaks a schema, said two ways: with the JSON pointer of the value (the
//! checker's own wording, for reports) and as Omni's server says it in a 400's `detail`
//! (`name: String must contain at least 1 character(s)`: zod's messages, the path dotted,
//! indices in brackets), for the fake.

use std::fmt;

use serde_json::Value;

/// One step from the body's root to a value: a member's name or an item's index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    Key(String),
    Index(usize),
}

/// The steps from the body's root to a value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Location(pub(crate) Vec<Step>);

impl Location {
    /// RFC 6901: `/variables/0/name`, `~` and `/` in a name escaped; the root is `""`.
    fn pointer(&self) -> String {
        let mut out = String::new();
        for step in &self.0 {
            out.push('/');
            match step {
                Step::Key(name) => out.push_str(&name.replace('~', "~0").replace('/', "~1")),
                Step::Index(i) => out.push_str(&i.to_string()),
            }
        }
        out
    }

    /// Omni's way: `variables[0].name`; the root is `""`.
    fn dotted(&self) -> String {
        let mut out = String::new();
        for step in &self.0 {
            match step {
                Step::Key(name) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(name);
                }
                Step::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    }

    fn with(&self, name: &str) -> Location {
        let mut steps = self.0.clone();
        steps.push(Step::Key(name.to_owned()));
        Location(steps)
    }
}

/// What is wrong (the schema's keyword and what it met).
#[derive(Clone, Debug)]
pub(crate) enum Kind {
    /// A `false` schema.
    NothingAllowed,
    TooDeep(usize),
    Unresolvable(String),
    Type {
        expected: String,
        nullable: bool,
        got: Value,
    },
    NotInEnum {
        got: Value,
        allowed: Vec<Value>,
    },
    TooShort {
        got: String,
        min: u64,
    },
    TooLong {
        got: String,
        max: u64,
    },
    NoMatch {
        got: String,
        pattern: String,
    },
    PatternNotCompiled(String),
    Format {
        got: String,
        format: String,
    },
    FewItems(u64),
    ManyItems(u64),
    NotUnique,
    FewProperties(u64),
    ManyProperties(u64),
    /// The named member is missing (the location is the object's).
    Required(String),
    Unexpected(Vec<String>),
    Below {
        got: Value,
        min: f64,
        exclusive: bool,
    },
    Above {
        got: Value,
        max: f64,
        exclusive: bool,
    },
    NotMultiple {
        got: Value,
        step: f64,
    },
    /// No branch of `anyOf`/`oneOf` holds; `closest` is what the branch with the fewest
    /// problems found (Omni reports that branch's first).
    NoBranch {
        got: Value,
        combinator: &'static str,
        closest: Vec<Problem>,
    },
    /// More than one branch of a `oneOf` holds. Omni's validator (zod) takes the first branch
    /// that holds, so this is no problem in Omni's wording.
    ManyBranches(Value),
    NotNot(Value),
}

/// A value at `at` that breaks its schema.
#[derive(Clone, Debug)]
pub(crate) struct Problem {
    pub(crate) at: Location,
    pub(crate) kind: Kind,
}

impl fmt::Display for Problem {
    /// The checker's wording: `at "/variables/0": …`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = self.at.pointer();
        write!(f, "at \"{at}\": ")?;
        let plural = |n: u64| if n == 1 { "" } else { "s" };
        let or_equal = |exclusive: bool| if exclusive { "or equal to " } else { "" };
        match &self.kind {
            Kind::NothingAllowed => write!(f, "no value is allowed here"),
            Kind::TooDeep(max) => {
                write!(f, "the schema nests deeper than {max} (a reference cycle?)")
            }
            Kind::Unresolvable(reference) => write!(f, "unresolvable reference {reference}"),
            Kind::Type { expected, got, .. } => {
                write!(f, "{} is not of type \"{expected}\"", show(got))
            }
            Kind::NotInEnum { got, allowed } => write!(
                f,
                "{} is not one of {}",
                show(got),
                show(&Value::Array(allowed.clone()))
            ),
            Kind::TooShort { got, min } => write!(
                f,
                "{} is shorter than {min} character{}",
                show_text(got),
                plural(*min)
            ),
            Kind::TooLong { got, max } => write!(
                f,
                "{} is longer than {max} character{}",
                show_text(got),
                plural(*max)
            ),
            Kind::NoMatch { got, pattern } => {
                write!(f, "{} does not match {pattern:?}", show_text(got))
            }
            Kind::PatternNotCompiled(pattern) => write!(f, "pattern {pattern:?} was not compiled"),
            Kind::Format { got, format } => {
                write!(f, "{} is not a \"{format}\"", show_text(got))
            }
            Kind::FewItems(min) => write!(f, "has fewer than {min} items"),
            Kind::ManyItems(max) => write!(f, "has more than {max} items"),
            Kind::NotUnique => write!(f, "has non-unique elements"),
            Kind::FewProperties(min) => write!(f, "has fewer than {min} properties"),
            Kind::ManyProperties(max) => write!(f, "has more than {max} properties"),
            Kind::Required(name) => write!(f, "\"{name}\" is a required property"),
            Kind::Unexpected(names) => {
                let names: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
                write!(
                    f,
                    "Additional properties are not allowed ({} {} unexpected)",
                    names.join(", "),
                    if names.len() == 1 { "was" } else { "were" }
                )
            }
            Kind::Below {
                got,
                min,
                exclusive,
            } => write!(
                f,
                "{got} is less than {}the minimum of {min}",
                or_equal(*exclusive)
            ),
            Kind::Above {
                got,
                max,
                exclusive,
            } => write!(
                f,
                "{got} is greater than {}the maximum of {max}",
                or_equal(*exclusive)
            ),
            Kind::NotMultiple { got, step } => write!(f, "{got} is not a multiple of {step}"),
            Kind::NoBranch {
                got, combinator, ..
            } => write!(
                f,
                "{} is not valid under any of the schemas of `{combinator}`",
                show(got)
            ),
            Kind::ManyBranches(got) => write!(
                f,
                "{} is valid under more than one of the schemas of `oneOf`",
                show(got)
            ),
            Kind::NotNot(got) => write!(
                f,
                "{} must not be valid under the schema of `not`",
                show(got)
            ),
        }
    }
}

impl Problem {
    /// Omni's wording (`variables[0].isSecret: Required`), or `None` for what Omni's
    /// validator accepts ([`Kind::ManyBranches`]).
    pub(crate) fn omni(&self) -> Option<String> {
        let (at, message) = match &self.kind {
            Kind::ManyBranches(_) => return None,
            Kind::NoBranch { closest, .. } => {
                // zod's unions report the branch that came closest.
                if let Some(inner) = closest.iter().find_map(Problem::omni) {
                    return Some(inner);
                }
                (self.at.clone(), "Invalid input".to_owned())
            }
            Kind::Required(name) => (self.at.with(name), "Required".to_owned()),
            kind => (self.at.clone(), omni_message(kind)),
        };
        let at = at.dotted();
        Some(if at.is_empty() {
            message
        } else {
            format!("{at}: {message}")
        })
    }
}

fn omni_message(kind: &Kind) -> String {
    let number = |x: f64| Value::from(x).to_string().trim_end_matches(".0").to_owned();
    match kind {
        Kind::Type {
            expected,
            nullable,
            got,
        } => format!(
            "Expected {expected}{}, received {}",
            if *nullable { " or null" } else { "" },
            kind_of(got)
        ),
        Kind::NotInEnum { got, allowed } => {
            let quoted: Vec<String> = allowed.iter().map(quote).collect();
            format!(
                "Invalid enum value. Expected {}, received {}",
                quoted.join(" | "),
                quote(got)
            )
        }
        Kind::Required(_) => "Required".to_owned(),
        Kind::TooShort { min, .. } => format!("String must contain at least {min} character(s)"),
        Kind::TooLong { max, .. } => format!("String must contain at most {max} character(s)"),
        Kind::NoMatch { .. } => "Invalid".to_owned(),
        Kind::Format { format, .. } => match format.as_str() {
            "date-time" => "Invalid datetime".to_owned(),
            other => format!("Invalid {other}"),
        },
        Kind::FewItems(min) => format!("Array must contain at least {min} element(s)"),
        Kind::ManyItems(max) => format!("Array must contain at most {max} element(s)"),
        Kind::NotUnique => "Array items must be unique".to_owned(),
        Kind::FewProperties(min) => format!("Object must contain at least {min} key(s)"),
        Kind::ManyProperties(max) => format!("Object must contain at most {max} key(s)"),
        Kind::Unexpected(names) => {
            format!("Unrecognized key(s) in object: '{}'", names.join("', '"))
        }
        Kind::Below { min, exclusive, .. } => format!(
            "Number must be greater than {}{}",
            if *exclusive { "" } else { "or equal to " },
            number(*min)
        ),
        Kind::Above { max, exclusive, .. } => format!(
            "Number must be less than {}{}",
            if *exclusive { "" } else { "or equal to " },
            number(*max)
        ),
        Kind::NotMultiple { step, .. } => format!("Number must be a multiple of {}", number(*step)),
        Kind::NotNot(_) | Kind::NoBranch { .. } | Kind::ManyBranches(_) => {
            "Invalid input".to_owned()
        }
        // Faults of the schema, not of the value: said as the checker says them.
        Kind::NothingAllowed
        | Kind::TooDeep(_)
        | Kind::Unresolvable(_)
        | Kind::PatternNotCompiled(_) => Problem {
            at: Location::default(),
            kind: kind.clone(),
        }
        .to_string()
        .trim_start_matches("at \"\": ")
        .to_owned(),
    }
}

/// zod's names of a value's type.
fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// An enum value as zod quotes it: a string in single quotes, anything else as JSON.
fn quote(value: &Value) -> String {
    match value {
        Value::String(s) => format!("'{}'", cut(s)),
        other => show(other),
    }
}

fn show_text(text: &str) -> String {
    show(&Value::String(text.to_owned()))
}

/// A value as it appears in a message, cut short so that a huge body makes a short line.
pub(crate) fn show(value: &Value) -> String {
    cut(&value.to_string())
}

fn cut(text: &str) -> String {
    const MAX: usize = 80;
    if text.chars().count() <= MAX {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn at(steps: &[Step]) -> Location {
        Location(steps.to_vec())
    }

    #[test]
    fn locations_as_pointer_and_dotted() {
        let loc = at(&[
            Step::Key("variables".into()),
            Step::Index(0),
            Step::Key("a/b~c".into()),
        ]);
        assert_eq!(loc.pointer(), "/variables/0/a~1b~0c");
        assert_eq!(loc.dotted(), "variables[0].a/b~c");
        assert_eq!(Location::default().dotted(), "");
    }

    #[test]
    fn pointer_wording_shows_the_value_cut_short() {
        let short = |got: &str, min| Problem {
            at: at(&[Step::Key("name".into())]),
            kind: Kind::TooShort {
                got: got.to_owned(),
                min,
            },
        };
        assert_eq!(
            short("", 1).to_string(),
            "at \"/name\": \"\" is shorter than 1 character"
        );
        assert_eq!(
            short("a", 2).to_string(),
            "at \"/name\": \"a\" is shorter than 2 characters"
        );
        let long = "x".repeat(200);
        let shown = short(&long, 300).to_string();
        assert!(
            shown.contains(&format!("\"{}…", "x".repeat(79))),
            "a value is cut at 80 characters: {shown}"
        );
        assert!(shown.len() < 150, "{shown}");
    }

    #[test]
    fn omni_wording() {
        let p = |steps: &[Step], kind| Problem {
            at: at(steps),
            kind,
        };
        let name = [Step::Key("name".into())];
        assert_eq!(
            p(&[], Kind::Required("name".into())).omni().unwrap(),
            "name: Required"
        );
        assert_eq!(
            p(
                &name,
                Kind::TooShort {
                    got: String::new(),
                    min: 1
                }
            )
            .omni()
            .unwrap(),
            "name: String must contain at least 1 character(s)"
        );
        assert_eq!(
            p(
                &name,
                Kind::Type {
                    expected: "string".into(),
                    nullable: true,
                    got: json!(1)
                }
            )
            .omni()
            .unwrap(),
            "name: Expected string or null, received number"
        );
        assert_eq!(
            p(
                &name,
                Kind::NotInEnum {
                    got: json!("x"),
                    allowed: vec![json!("asc"), json!("desc")]
                }
            )
            .omni()
            .unwrap(),
            "name: Invalid enum value. Expected 'asc' | 'desc', received 'x'"
        );
        assert_eq!(
            p(
                &name,
                Kind::Below {
                    got: json!(0),
                    min: 1.0,
                    exclusive: false
                }
            )
            .omni()
            .unwrap(),
            "name: Number must be greater than or equal to 1"
        );
        assert_eq!(
            p(
                &name,
                Kind::Above {
                    got: json!(9),
                    max: 8.5,
                    exclusive: true
                }
            )
            .omni()
            .unwrap(),
            "name: Number must be less than 8.5"
        );
        assert_eq!(p(&name, Kind::ManyBranches(json!({}))).omni(), None);
        let inner = p(
            &[Step::Index(0), Step::Key("isSecret".into())],
            Kind::Required("x".into()),
        );
        let union = p(
            &[Step::Index(0)],
            Kind::NoBranch {
                got: json!({}),
                combinator: "oneOf",
                closest: vec![inner],
            },
        );
        assert_eq!(union.omni().unwrap(), "[0].isSecret.x: Required");
        assert_eq!(
            p(&[], Kind::Unexpected(vec!["a".into(), "b".into()]))
                .omni()
                .unwrap(),
            "Unrecognized key(s) in object: 'a', 'b'"
        );
    }
}
