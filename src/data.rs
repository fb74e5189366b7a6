//! The crate's own models beside the generated ones.
//!
//! Two kinds of type live here. Models derived from the spec by `crates/codegen` (patch bodies
//! and the tolerant environment answer) are generated; this module gives them their
//! hand-written extras ([`Patch`], [`IntoPatch`], the one-or-many rule, short names).
//! One schema is replaced by a hand-written model, for a reason generation cannot express:
//!
//! | model | replaces | why |
//! |---|---|---|
//! | [`Variable`] | `DbtEnvironmentResponseVariable` | a secret's value never survives decoding |
//!
//! And the builders' inputs, which convert into generated types when a request is sent:
//! [`NewVariable`], [`VariableUpdate`], [`VariableChange`] (a secret value never shows in
//! `Debug` or `Display`), [`Page`] (one page type for every cursor-paged list),
//! [`SortDirection`] (one name for the per-operation enums), [`Deleted`].
//!
//! `tests/it/drift.rs` fails, naming the property, when the spec gives a replaced schema a
//! property the model does not carry.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::generated::types;
pub use crate::{
    decode::Variable,
    patch::{IntoPatch, Patch},
};

const REDACTED: &str = "<redacted>";

/// A variable to create: a name, a value, and whether the value is secret.
///
/// A secret's value is write-only at Omni and never appears in `Debug` or `Display` output.
///
/// ```
/// use omni_dbt::NewVariable;
///
/// let v = NewVariable::secret("DBT_PASSWORD", "hunter2");
/// assert_eq!(v.to_string(), "DBT_PASSWORD=<redacted> (secret)");
/// assert!(!format!("{v:?}").contains("hunter2"));
/// ```
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewVariable {
    name: String,
    value: String,
    is_secret: bool,
}

impl NewVariable {
    /// A variable whose value Omni returns when read.
    pub fn plain(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
            is_secret: false,
        }
    }

    /// A secret variable: Omni stores the value and returns `null` for it.
    pub fn secret(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
            is_secret: true,
        }
    }

    /// The variable's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The value (shown by neither `Debug` nor `Display` when secret).
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Whether the value is secret.
    pub fn is_secret(&self) -> bool {
        self.is_secret
    }

    fn shown_value(&self) -> &str {
        if self.is_secret {
            REDACTED
        } else {
            &self.value
        }
    }
}

impl NewVariable {
    /// The generated item, through the type that carries the spec's rules for it.
    pub(crate) fn to_generated(
        &self,
    ) -> Result<types::DbtEnvironmentVariable, types::error::ConversionError> {
        Ok(types::DbtEnvironmentVariable {
            name: self.name.as_str().try_into()?,
            value: self.value.clone(),
            is_secret: self.is_secret,
        })
    }
}

impl fmt::Debug for NewVariable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewVariable")
            .field("name", &self.name)
            .field("value", &self.shown_value())
            .field("is_secret", &self.is_secret)
            .finish()
    }
}

impl fmt::Display for NewVariable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.name, self.shown_value())?;
        if self.is_secret {
            f.write_str(" (secret)")?;
        }
        Ok(())
    }
}

/// A change to an existing variable, identified by its id. Its name cannot change.
///
/// ```
/// use omni_dbt::{Uuid, VariableUpdate};
///
/// let id = Uuid::parse_str("8d2e3f4a-5b6c-4d7e-9f8a-0b1c2d3e4f5a").unwrap();
/// let keep = VariableUpdate::keep_secret(id);
/// assert_eq!(keep.id(), id);
/// assert!(!format!("{:?}", VariableUpdate::secret(id, "s3cr3t")).contains("s3cr3t"));
/// ```
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VariableUpdate {
    id: Uuid,
    is_secret: bool,
    // `None` is sent as `null`: keep the stored (secret) value.
    value: Option<String>,
}

impl VariableUpdate {
    /// Give an existing variable a new, non-secret value.
    pub fn plain(id: Uuid, value: impl Into<String>) -> Self {
        Self {
            id,
            is_secret: false,
            value: Some(value.into()),
        }
    }

    /// Give an existing variable a new secret value.
    pub fn secret(id: Uuid, value: impl Into<String>) -> Self {
        Self {
            id,
            is_secret: true,
            value: Some(value.into()),
        }
    }

    /// Keep a secret variable's stored value (sent without a `value`: Omni keeps the stored one).
    pub fn keep_secret(id: Uuid) -> Self {
        Self {
            id,
            is_secret: true,
            value: None,
        }
    }

    /// The id of the variable this changes.
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// Whether the variable is (or becomes) secret.
    pub fn is_secret(&self) -> bool {
        self.is_secret
    }
}

impl fmt::Debug for VariableUpdate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = match &self.value {
            None => "<keep>",
            Some(_) if self.is_secret => REDACTED,
            Some(value) => value,
        };
        f.debug_struct("VariableUpdate")
            .field("id", &self.id)
            .field("value", &value)
            .field("is_secret", &self.is_secret)
            .finish()
    }
}

impl fmt::Display for VariableUpdate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            None => write!(f, "{} keeps its value", self.id),
            Some(_) if self.is_secret => write!(f, "{}={REDACTED} (secret)", self.id),
            Some(value) => write!(f, "{}={value}", self.id),
        }
    }
}

/// One item of an update's `variables`: a new variable or a change to an existing one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum VariableChange {
    /// Create a variable (sent without `id`).
    New(NewVariable),
    /// Change an existing variable (sent with its `id`).
    Existing(VariableUpdate),
}

impl VariableChange {
    /// The generated item, through the types that carry the spec's rules.
    pub(crate) fn to_generated(
        &self,
    ) -> Result<types::DbtEnvironmentVariableUpdateOrNew, types::error::ConversionError> {
        Ok(match self {
            VariableChange::New(v) => v.to_generated()?.into(),
            VariableChange::Existing(u) => types::DbtEnvironmentVariableUpdate {
                id: u.id,
                is_secret: u.is_secret,
                value: u.value.clone(),
            }
            .into(),
        })
    }
}

impl From<NewVariable> for VariableChange {
    fn from(v: NewVariable) -> Self {
        VariableChange::New(v)
    }
}

impl From<VariableUpdate> for VariableChange {
    fn from(v: VariableUpdate) -> Self {
        VariableChange::Existing(v)
    }
}

/// The body of `PUT .../dbt/environments/{environmentId}`, derived from the spec's
/// `DbtEnvironmentUpdateBody`: each optional field is sent only when set, and each nullable one
/// can be absent, `null` or a value. The [`UpdateEnvironment`](crate::UpdateEnvironment)
/// builder fills and validates it; the generated `connections_dbt_environments_update` takes it.
///
/// ```
/// use omni_dbt::{Patch, UpdateBody};
///
/// let mut body = UpdateBody::default();
/// body.target_role = Patch::Clear;
/// assert_eq!(serde_json::to_string(&body).unwrap(), r#"{"targetRole":null}"#);
/// ```
pub type UpdateBody = types::DbtEnvironmentUpdateBody;

impl types::DbtEnvironmentUpdateBody {
    /// Whether the body changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// A dbt environment as Omni returns it: the spec's `DbtEnvironmentItem`, derived by
/// `crates/codegen` so that every property the spec gives it is here.
///
/// Decoding tolerates what Omni sends: `variables` as an array, as a single object (as in
/// Omni's documented example), absent or `null`; a boolean or nullable property left out (an
/// older instance); unknown fields are ignored.
///
/// ```
/// let env: omni_dbt::DbtEnvironment = serde_json::from_str(r#"{
///     "id": "0d6c1f7e-8b7a-4f7e-9d0e-3c8e2a1b4f55", "name": "pr-42",
///     "targetSchema": "dbt_pr_42", "isDefaultEnvironment": false,
///     "variables": {"id": "7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f", "name": "A", "value": "1", "isSecret": false}
/// }"#).unwrap();
/// assert_eq!(env.variables.len(), 1);
/// ```
pub type DbtEnvironment = types::DbtEnvironmentItem;

impl types::DbtEnvironmentItem {
    /// The variable with this name, if any.
    pub fn variable(&self, name: &str) -> Option<&Variable> {
        self.variables.iter().find(|v| v.name == name)
    }
}

/// The list response, in either of the shapes Omni is documented to send (a bare array, or
/// the spec's `{records, pageInfo}` envelope): generated from the correction that says so.
pub type Listing = types::DbtEnvironmentListing;

/// The envelope's `pageInfo`, read leniently: any field may be missing, and the counts are
/// numbers (as Omni's spec types them).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WirePageInfo {
    #[serde(default)]
    has_next_page: Option<bool>,
    #[serde(default)]
    next_cursor: Option<String>,
    #[serde(default)]
    page_size: Option<f64>,
    #[serde(default)]
    total_records: Option<f64>,
}

impl WirePageInfo {
    /// From the generated `PageInfo`, through its JSON form, so that whatever number type the
    /// spec gives the counts (integer or number) reads the same.
    pub(crate) fn from_generated(info: &types::PageInfo) -> Self {
        serde_json::to_value(info)
            .and_then(serde_json::from_value)
            .unwrap_or_default()
    }
}

/// One page of a cursor-paged list: dbt environments (the default) or a model's exposures.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Page<T = DbtEnvironment> {
    /// The records on this page.
    pub records: Vec<T>,
    /// The cursor of the next page, or `None` on the last (or only) page.
    pub next_cursor: Option<String>,
    /// The total across all pages, when Omni says.
    pub total_records: Option<u64>,
    /// The page size Omni used, when it says.
    pub page_size: Option<u64>,
}

/// A count Omni's spec types as `number`: only a whole, non-negative one is a count.
fn whole(n: Option<f64>) -> Option<u64> {
    n.filter(|n| n.is_finite() && *n >= 0.0 && n.fract() == 0.0 && *n <= u64::MAX as f64)
        .map(|n| n as u64)
}

impl<T> Page<T> {
    /// A page from the envelope's parts. A cursor is followed only when Omni does not say
    /// `hasNextPage: false`, and an empty cursor is none.
    pub(crate) fn new(records: Vec<T>, info: WirePageInfo) -> Self {
        let next_cursor = match info.has_next_page {
            Some(false) => None,
            _ => info.next_cursor.filter(|c| !c.is_empty()),
        };
        Page {
            records,
            next_cursor,
            total_records: whole(info.total_records),
            page_size: whole(info.page_size),
        }
    }
}

impl From<Listing> for Page {
    fn from(listing: Listing) -> Self {
        match listing {
            Listing::Array(environments) => Page::new(environments, WirePageInfo::default()),
            Listing::DbtEnvironmentListResponse(envelope) => Page::new(
                envelope.records,
                WirePageInfo::from_generated(&envelope.page_info),
            ),
        }
    }
}

/// The outcome of a delete.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Deleted {
    /// Omni's message, when it sends one.
    pub message: Option<String>,
}

/// Sort order of a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SortDirection {
    /// A to Z.
    Ascending,
    /// Z to A.
    Descending,
}

impl From<SortDirection> for types::ConnectionsDbtEnvironmentsListSortDirection {
    fn from(d: SortDirection) -> Self {
        match d {
            SortDirection::Ascending => Self::Asc,
            SortDirection::Descending => Self::Desc,
        }
    }
}

impl From<SortDirection> for types::ModelsDbtExposuresSortDirection {
    fn from(d: SortDirection) -> Self {
        match d {
            SortDirection::Ascending => Self::Asc,
            SortDirection::Descending => Self::Desc,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{Map, Value};

    use super::*;
    use crate::generated::types::{ApiError, DbtEnvironmentDeleteResponse};

    /// Arbitrary JSON, biased towards the keys these types read so that decoding goes deep.
    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            "\\PC{0,12}".prop_map(Value::String),
            Just(Value::String("0d6c1f7e-8b7a-4f7e-9d0e-3c8e2a1b4f55".into())),
        ];
        let key = prop_oneof![
            Just("id"),
            Just("name"),
            Just("value"),
            Just("isSecret"),
            Just("variables"),
            Just("targetSchema"),
            Just("records"),
            Just("pageInfo"),
            Just("nextCursor"),
            Just("hasNextPage"),
            Just("success"),
            Just("detail"),
            Just("other"),
        ];
        leaf.prop_recursive(4, 64, 8, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((key.clone(), inner), 0..8).prop_map(|kv| Value::Object(
                    kv.into_iter()
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect::<Map<_, _>>()
                )),
            ]
        })
    }

    fn decode_everything(bytes: &[u8]) {
        let _ = serde_json::from_slice::<DbtEnvironment>(bytes);
        let _ = serde_json::from_slice::<Variable>(bytes);
        if let Ok(listing) = serde_json::from_slice::<Listing>(bytes) {
            let _ = Page::from(listing);
        }
        let _ = serde_json::from_slice::<ApiError>(bytes);
        let _ = serde_json::from_slice::<DbtEnvironmentDeleteResponse>(bytes);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            decode_everything(&bytes);
        }

        #[test]
        fn decoding_arbitrary_json_never_panics(value in json()) {
            decode_everything(&serde_json::to_vec(&value).unwrap());
        }

        #[test]
        fn a_decoded_secret_never_keeps_its_value(name in "\\PC{1,8}", value in "\\PC{0,8}", secret in any::<bool>()) {
            let wire = serde_json::json!({"id": Uuid::from_u128(7), "name": name, "value": value, "isSecret": secret});
            let v: Variable = serde_json::from_value(wire).unwrap();
            prop_assert_eq!(v.value.is_none(), secret);
        }
    }
}
