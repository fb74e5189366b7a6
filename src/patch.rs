//! A tri-state value for a nullable field of a patch body (absent, `null`, value), which the
//! bodies generated from the spec use. Depends on nothing else of the crate.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

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

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    /// `null` is [`Patch::Clear`], a value [`Patch::Set`]; an absent key is the field's
    /// default, [`Patch::Unchanged`].
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Option::<T>::deserialize(deserializer)?.map_or(Patch::Clear, Patch::Set))
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
    use super::Patch;

    /// Keeps [`IntoPatch`](super::IntoPatch) implemented by this crate only, so that it can
    /// grow without breaking anyone.
    pub trait Sealed<T> {}
    impl<T> Sealed<T> for T {}
    impl<T> Sealed<T> for Patch<T> {}
    impl<T> Sealed<T> for Option<T> {}
    impl Sealed<String> for &str {}
    impl Sealed<String> for &String {}
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

impl<T> IntoPatch<T> for T {
    fn into_patch(self) -> Patch<T> {
        Patch::Set(self)
    }
}

impl IntoPatch<String> for &String {
    fn into_patch(self) -> Patch<String> {
        Patch::Set(self.clone())
    }
}
