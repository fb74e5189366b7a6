//! Models the generator cannot express, each replacing a generated type for one reason:
//!
//! | model | replaces | why |
//! |---|---|---|
//! | [`Patch`], `UpdateBody` | `DbtEnvironmentUpdateBody` | three states per nullable field (absent, `null`, value) |
//! | [`NewVariable`], [`VariableUpdate`], [`VariableChange`] | the update body's variable items | a secret value never shows in `Debug` or `Display` |
//! | [`DbtEnvironment`] | `DbtEnvironmentItem` | Omni's documented answer sends `variables` as one object |
//! | [`Variable`] | `DbtEnvironmentResponseVariable` | a secret's value never survives decoding |
//! | [`Page`], `Listing` | `DbtEnvironmentListing`, the list envelopes | two documented list shapes; one page type for every cursor-paged list |
//! | [`SortDirection`] | the per-operation `…SortDirection` enums | one name for the same two values |
//! | [`Deleted`] | `DbtEnvironmentDeleteResponse` | only a confirmed delete (`success: true`, or gone after a retry) |
//!
//! `tests/it/drift.rs` fails, naming the property, when the spec gives one of these schemas a
//! property the model does not carry.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use crate::generated::types;

/// A change to one nullable field of an update: leave it alone, clear it, or set it.
///
/// On the wire `Unchanged` leaves the key out of the JSON body, `Clear` sends `null`, and
/// `Set(v)` sends the value.
///
/// ```
/// use omni_dbt::Patch;
///
/// let p: Patch<String> = Patch::Set("TRANSFORMER".into());
/// assert!(!p.is_unchanged());
/// assert_eq!(Patch::<String>::default(), Patch::Unchanged);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum Patch<T> {
    /// The field is absent from the body; Omni keeps the current value.
    #[default]
    Unchanged,
    /// The field is sent as JSON `null`; Omni clears the value.
    Clear,
    /// The field is sent with this value.
    Set(T),
}

impl<T> Patch<T> {
    /// Whether the field is left out of the body.
    pub fn is_unchanged(&self) -> bool {
        matches!(self, Patch::Unchanged)
    }
}

impl<T: Serialize> Serialize for Patch<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            // Bodies skip `Unchanged` fields; should one be serialised anyway, `null` is the
            // only JSON it could be, and it is never reached through the public builders.
            Patch::Unchanged | Patch::Clear => serializer.serialize_none(),
            Patch::Set(value) => value.serialize(serializer),
        }
    }
}

/// Conversion into a [`Patch`], so that builder methods take a value, `None`, or a `Patch`.
///
/// `Some(v)` and a bare value set the field, `None` clears it:
///
/// ```
/// use omni_dbt::{IntoPatch, Patch};
///
/// assert_eq!("x".into_patch(), Patch::Set("x".to_string()));
/// assert_eq!(IntoPatch::<String>::into_patch(None::<String>), Patch::<String>::Clear);
/// ```
pub trait IntoPatch<T>: sealed::Sealed<T> {
    /// Converts `self` into a patch of a `T` field.
    fn into_patch(self) -> Patch<T>;
}

mod sealed {
    use uuid::Uuid;

    use super::Patch;

    /// Keeps [`IntoPatch`](super::IntoPatch) implemented by this crate only, so that it can
    /// grow without breaking anyone.
    pub trait Sealed<T> {}
    impl<T> Sealed<T> for Patch<T> {}
    impl<T> Sealed<T> for Option<T> {}
    impl Sealed<String> for &str {}
    impl Sealed<String> for String {}
    impl Sealed<String> for &String {}
    impl Sealed<Uuid> for Uuid {}
}

impl<T> IntoPatch<T> for Patch<T> {
    fn into_patch(self) -> Patch<T> {
        self
    }
}

impl<T> IntoPatch<T> for Option<T> {
    fn into_patch(self) -> Patch<T> {
        self.map_or(Patch::Clear, Patch::Set)
    }
}

impl IntoPatch<String> for &str {
    fn into_patch(self) -> Patch<String> {
        Patch::Set(self.to_owned())
    }
}

impl IntoPatch<String> for String {
    fn into_patch(self) -> Patch<String> {
        Patch::Set(self)
    }
}

impl IntoPatch<String> for &String {
    fn into_patch(self) -> Patch<String> {
        Patch::Set(self.clone())
    }
}

impl IntoPatch<Uuid> for Uuid {
    fn into_patch(self) -> Patch<Uuid> {
        Patch::Set(self)
    }
}

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

    /// Keep a secret variable's stored value (sent as `"value": null`).
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

/// The body of `PUT .../dbt/environments/{environmentId}`; replaces the generated type so that
/// each nullable field can be absent, `null`, or a value. The generated
/// `connections_dbt_environments_update` takes it; the
/// [`UpdateEnvironment`](crate::UpdateEnvironment) builder fills and validates it.
///
/// ```
/// use omni_dbt::{Patch, UpdateBody};
///
/// let mut body = UpdateBody::default();
/// body.target_role = Patch::Clear;
/// assert_eq!(serde_json::to_string(&body).unwrap(), r#"{"targetRole":null}"#);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct UpdateBody {
    /// New name (minLength 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New target schema (minLength 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_schema: Option<String>,
    /// New owner; only valid with an Organization API key.
    #[serde(skip_serializing_if = "Patch::is_unchanged")]
    pub owner_id: Patch<Uuid>,
    /// Target database override.
    #[serde(skip_serializing_if = "Patch::is_unchanged")]
    pub target_database: Patch<String>,
    /// dbt target name override.
    #[serde(skip_serializing_if = "Patch::is_unchanged")]
    pub target_name: Patch<String>,
    /// Target role override.
    #[serde(skip_serializing_if = "Patch::is_unchanged")]
    pub target_role: Patch<String>,
    /// Variables to create or change.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub variables: Vec<VariableChange>,
}

impl UpdateBody {
    /// Whether the body changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == UpdateBody::default()
    }
}

/// A dbt environment as Omni returns it.
///
/// Decoding tolerates what Omni sends: `variables` as an array, as a single object (as in
/// Omni's documented example), absent or `null`; unknown fields are ignored.
///
/// ```
/// let env: omni_dbt::DbtEnvironment = serde_json::from_str(r#"{
///     "id": "0d6c1f7e-8b7a-4f7e-9d0e-3c8e2a1b4f55", "name": "pr-42",
///     "targetSchema": "dbt_pr_42", "isDefaultEnvironment": false,
///     "variables": {"id": "7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f", "name": "A", "value": "1", "isSecret": false}
/// }"#).unwrap();
/// assert_eq!(env.variables.len(), 1);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DbtEnvironment {
    /// The environment's id.
    pub id: Uuid,
    /// The environment's name.
    pub name: String,
    /// Whether this is the connection's default environment.
    #[serde(default)]
    pub is_default_environment: bool,
    /// The owning user, or `None` for an organization-wide environment.
    #[serde(default)]
    pub owner_id: Option<Uuid>,
    /// Target database override.
    #[serde(default)]
    pub target_database: Option<String>,
    /// dbt target name override.
    #[serde(default)]
    pub target_name: Option<String>,
    /// Target role override.
    #[serde(default)]
    pub target_role: Option<String>,
    /// The schema dbt builds into.
    pub target_schema: String,
    /// The environment's variables.
    #[serde(default, deserialize_with = "one_or_many")]
    pub variables: Vec<Variable>,
}

impl DbtEnvironment {
    /// The variable with this name, if any.
    pub fn variable(&self, name: &str) -> Option<&Variable> {
        self.variables.iter().find(|v| v.name == name)
    }
}

fn one_or_many<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Variable>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        Many(Vec<Variable>),
        One(Variable),
    }
    Ok(match Option::<OneOrMany>::deserialize(deserializer)? {
        None => Vec::new(),
        Some(OneOrMany::Many(all)) => all,
        Some(OneOrMany::One(one)) => vec![one],
    })
}

/// A variable of a dbt environment. A secret's `value` is always `None`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", from = "WireVariable")]
#[non_exhaustive]
pub struct Variable {
    /// The variable's id, used to change it later.
    pub id: Uuid,
    /// The variable's name.
    pub name: String,
    /// The value; `None` for a secret.
    pub value: Option<String>,
    /// Whether the value is secret (write-only).
    pub is_secret: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireVariable {
    id: Uuid,
    name: String,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    is_secret: bool,
}

impl From<WireVariable> for Variable {
    fn from(w: WireVariable) -> Self {
        // Should a server ever echo a secret, it still goes no further than this.
        let value = if w.is_secret { None } else { w.value };
        Variable {
            id: w.id,
            name: w.name,
            value,
            is_secret: w.is_secret,
        }
    }
}

/// The list response, in either of the shapes Omni is documented to send.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Listing {
    /// A bare array (Omni's documentation).
    Bare(Vec<DbtEnvironment>),
    /// The `{records, pageInfo}` envelope (Omni's published spec).
    Paged {
        /// The environments on this page.
        records: Vec<DbtEnvironment>,
        /// Paging information, when sent.
        #[serde(rename = "pageInfo", default)]
        page_info: Option<WirePageInfo>,
    },
}

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
            Listing::Bare(environments) => Page::new(environments, WirePageInfo::default()),
            Listing::Paged { records, page_info } => {
                Page::new(records, page_info.unwrap_or_default())
            }
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
