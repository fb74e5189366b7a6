//! The spec's properties as data: one row per property of a resource, derived at build time
//! from Omni's spec (`crates/codegen/src/derive.rs`), so that tools driven by the spec — the
//! `omni-dbt` CLI's environments file, its plan, its export and its flags — handle a property
//! Omni adds with no hand edit.
//!
//! ```
//! use omni_dbt::fields;
//!
//! let schema = fields::dbt_environment()
//!     .iter()
//!     .find(|p| p.json == "targetSchema")
//!     .unwrap();
//! assert!(schema.required);
//! assert!(schema.check(&serde_json::json!("")).is_err()); // minLength 1
//! assert!(schema.check(&serde_json::json!("dbt_pr_42")).is_ok());
//! ```

use serde_json::Value;

/// What kind of value a property holds (nullability aside).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// Text.
    String,
    /// A UUID, as text.
    Uuid,
    /// `true` or `false`.
    Boolean,
    /// A whole number.
    Integer,
    /// Any number.
    Number,
    /// A list.
    List,
    /// Anything else (an object, or a schema the table does not describe further).
    Object,
}

impl Kind {
    /// The kind in words, for error messages (`a string`, `a boolean`, ...).
    pub fn describe(self) -> &'static str {
        match self {
            Kind::String => "a string",
            Kind::Uuid => "a UUID",
            Kind::Boolean => "a boolean (true or false)",
            Kind::Integer => "an integer",
            Kind::Number => "a number",
            Kind::List => "a list",
            Kind::Object => "a value",
        }
    }
}

/// One property of a resource, as the spec states it.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct Property {
    /// Its name in JSON (Omni's camelCase, e.g. `targetSchema`).
    pub json: &'static str,
    /// Its Rust name (the generated setter's, e.g. `target_schema`).
    pub rust: &'static str,
    /// Its name in kebab case (`target-schema`), e.g. for a command-line flag.
    pub kebab: &'static str,
    /// What kind of value it holds.
    pub kind: Kind,
    /// Whether it may be `null` (which clears it in an update).
    pub nullable: bool,
    /// Whether a create must give it.
    pub required: bool,
    /// Whether a create body has it.
    pub in_create: bool,
    /// Whether an update body has it.
    pub in_update: bool,
    /// Whether an answer has it (so that the current value can be read back and compared).
    pub in_answer: bool,
    /// `minLength`.
    pub min_length: Option<u64>,
    /// `maxLength`.
    pub max_length: Option<u64>,
    /// `pattern` (ECMAScript syntax).
    pub pattern: Option<&'static str>,
    /// `minimum`.
    pub minimum: Option<f64>,
    /// `maximum`.
    pub maximum: Option<f64>,
    /// The allowed values (`enum`), empty when any value of the kind is allowed.
    pub values: &'static [&'static str],
    /// The spec's description.
    pub description: &'static str,
    /// Whether the value is a secret (`writeOnly`, or `format: password`).
    pub secret: bool,
}

/// Every property of a dbt environment that a create or an update sets (`name`,
/// `targetSchema`, `ownerId`, `targetDatabase`, ..., `variables`, and whatever Omni adds).
pub fn dbt_environment() -> &'static [Property] {
    crate::generated::types::DBT_ENVIRONMENT_PROPERTIES
}

/// Every property of a connection's dbt configuration that `PUT .../dbt` sets (`sshUrl`,
/// `branch`, `autogenRelationships`, ..., `rotateKeys`, and whatever Omni adds); `in_answer`
/// tells which of them `GET .../dbt` reads back (`rotateKeys` is an action, not a setting).
///
/// ```
/// let rotate = omni_dbt::fields::dbt_config()
///     .iter()
///     .find(|p| p.json == "rotateKeys")
///     .unwrap();
/// assert!(rotate.in_update && !rotate.in_answer);
/// ```
pub fn dbt_config() -> &'static [Property] {
    crate::generated::types::DBT_CONFIG_PROPERTIES
}

impl Property {
    /// Checks `value` against the spec's rules for this property: its kind, `null` only when
    /// nullable, `minLength`/`maxLength`, `pattern`, `minimum`/`maximum` and `enum`. The error
    /// is the broken rule, in words (`must be at least 1 character(s) long (minLength 1)`).
    pub fn check(&self, value: &Value) -> Result<(), String> {
        if value.is_null() {
            return if self.nullable {
                Ok(())
            } else {
                Err(format!("must be {}, not null", self.kind.describe()))
            };
        }
        let fits = match self.kind {
            Kind::String => value.is_string(),
            Kind::Uuid => value
                .as_str()
                .is_some_and(|s| uuid::Uuid::parse_str(s).is_ok()),
            Kind::Boolean => value.is_boolean(),
            Kind::Integer => value.is_i64() || value.is_u64(),
            Kind::Number => value.is_number(),
            Kind::List => value.is_array(),
            Kind::Object => true,
        };
        if !fits {
            return Err(format!("must be {}", self.kind.describe()));
        }
        if let Some(text) = value.as_str() {
            let length = text.chars().count() as u64;
            if let Some(min) = self.min_length
                && length < min
            {
                return Err(format!(
                    "must be at least {min} character(s) long (minLength {min})"
                ));
            }
            if let Some(max) = self.max_length
                && length > max
            {
                return Err(format!(
                    "must be at most {max} character(s) long (maxLength {max})"
                ));
            }
            if let Some(pattern) = self.pattern {
                match regress::Regex::new(pattern) {
                    Ok(regex) if regex.find(text).is_some() => {}
                    Ok(_) => return Err(format!("must match the pattern {pattern}")),
                    Err(_) => {
                        return Err(format!(
                            "has a pattern the client cannot compile: {pattern}"
                        ));
                    }
                }
            }
            if !self.values.is_empty() && !self.values.contains(&text) {
                return Err(format!("must be one of {}", self.values.join(", ")));
            }
        }
        if let Some(number) = value.as_f64() {
            if let Some(min) = self.minimum
                && number < min
            {
                return Err(format!("must be at least {min} (minimum)"));
            }
            if let Some(max) = self.maximum
                && number > max
            {
                return Err(format!("must be at most {max} (maximum)"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn row() -> Property {
        Property {
            json: "retries",
            rust: "retries",
            kebab: "retries",
            kind: Kind::Integer,
            nullable: true,
            required: false,
            in_create: true,
            in_update: true,
            in_answer: true,
            min_length: None,
            max_length: None,
            pattern: None,
            minimum: Some(1.0),
            maximum: Some(10.0),
            values: &[],
            description: "",
            secret: false,
        }
    }

    #[test]
    fn kinds_nulls_and_bounds_are_checked() {
        let p = row();
        assert_eq!(p.check(&json!(null)), Ok(()));
        assert_eq!(p.check(&json!(3)), Ok(()));
        assert_eq!(p.check(&json!(1)), Ok(()));
        assert_eq!(p.check(&json!(10)), Ok(()));
        assert_eq!(
            p.check(&json!(0)).unwrap_err(),
            "must be at least 1 (minimum)"
        );
        assert_eq!(
            p.check(&json!(11)).unwrap_err(),
            "must be at most 10 (maximum)"
        );
        assert_eq!(p.check(&json!(1.5)).unwrap_err(), "must be an integer");
        let unbounded = Property {
            minimum: None,
            maximum: None,
            ..row()
        };
        assert_eq!(
            unbounded.check(&json!(-3)),
            Ok(()),
            "a negative integer is an integer"
        );
        assert_eq!(
            unbounded.check(&json!(u64::MAX)),
            Ok(()),
            "so is a large one"
        );
        assert_eq!(p.check(&json!("3")).unwrap_err(), "must be an integer");
        let p = Property {
            nullable: false,
            ..row()
        };
        assert!(p.check(&json!(null)).is_err());
    }

    #[test]
    fn text_rules_are_checked() {
        let p = Property {
            kind: Kind::String,
            min_length: Some(2),
            max_length: Some(4),
            pattern: Some("^[a-z]+$"),
            values: &[],
            minimum: None,
            maximum: None,
            ..row()
        };
        assert_eq!(p.check(&json!("ab")), Ok(()));
        assert_eq!(p.check(&json!("abcd")), Ok(()));
        assert!(p.check(&json!("a")).unwrap_err().contains("minLength 2"));
        assert!(
            p.check(&json!("abcde"))
                .unwrap_err()
                .contains("maxLength 4")
        );
        assert!(p.check(&json!("AB")).unwrap_err().contains("pattern"));
        let p = Property {
            kind: Kind::String,
            values: &["asc", "desc"],
            minimum: None,
            maximum: None,
            ..row()
        };
        assert_eq!(p.check(&json!("asc")), Ok(()));
        assert_eq!(
            p.check(&json!("up")).unwrap_err(),
            "must be one of asc, desc"
        );
        let p = Property {
            kind: Kind::Uuid,
            ..row()
        };
        assert!(p.check(&json!("not-a-uuid")).is_err());
        assert!(p.check(&json!(uuid::Uuid::nil())).is_ok());
        let p = Property {
            kind: Kind::Boolean,
            ..row()
        };
        assert!(p.check(&json!(true)).is_ok());
        assert!(p.check(&json!("true")).is_err());
    }

    #[test]
    fn the_environment_table_follows_the_spec() {
        let names: Vec<&str> = dbt_environment().iter().map(|p| p.json).collect();
        // Required to create first.
        assert_eq!(&names[..2], ["name", "targetSchema"]);
        for name in [
            "ownerId",
            "targetDatabase",
            "targetName",
            "targetRole",
            "variables",
        ] {
            assert!(names.contains(&name), "{names:?}");
        }
        let role = dbt_environment()
            .iter()
            .find(|p| p.json == "targetRole")
            .unwrap();
        assert_eq!(
            (role.kind, role.nullable, role.required, role.rust),
            (Kind::String, true, false, "target_role")
        );
        assert!(role.in_create && role.in_update && role.in_answer);
        let owner = dbt_environment()
            .iter()
            .find(|p| p.json == "ownerId")
            .unwrap();
        assert_eq!(owner.kind, Kind::Uuid);
        let schema = dbt_environment()
            .iter()
            .find(|p| p.json == "targetSchema")
            .unwrap();
        assert_eq!(schema.min_length, Some(1));
    }
}
