//! Three-state fields for PATCH bodies: leave alone, clear, or set.

/// A field of a partial update (`PATCH`): absent (leave the server's value alone), `null` (clear
/// it) or a value (set it). `Option` cannot say all three, so PATCH bodies use this for every
/// field the server allows to be null.
///
/// ```
/// use marketing_api::Patch;
/// use marketing_api::models::CampaignPatch;
///
/// let patch = CampaignPatch::new().with_name("Spring sale").clear_end_at();
/// let json = serde_json::to_value(&patch).unwrap();
/// assert_eq!(json, serde_json::json!({"name": "Spring sale", "end_at": null}));
/// assert!(matches!(patch.daily_budget_cents, Patch::Absent));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum Patch<T> {
    /// Not sent: the server keeps its value.
    #[default]
    Absent,
    /// Sent as `null`: the server clears the value.
    Null,
    /// Sent as this value.
    Value(T),
}

impl<T> Patch<T> {
    /// Whether the field will be left out of the body.
    pub fn is_absent(&self) -> bool {
        matches!(self, Patch::Absent)
    }

    /// The value, if one is set.
    pub fn as_value(&self) -> Option<&T> {
        match self {
            Patch::Value(v) => Some(v),
            _ => None,
        }
    }
}

impl<T> From<Option<T>> for Patch<T> {
    /// `Some(v)` sets the value, `None` clears it.
    fn from(value: Option<T>) -> Self {
        value.map_or(Patch::Null, Patch::Value)
    }
}

impl<T: serde::Serialize> serde::Serialize for Patch<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            // Absent fields are skipped by `skip_serializing_if`; if one is serialized anyway
            // (e.g. inside a container), `null` is the closest honest encoding.
            Patch::Absent | Patch::Null => serializer.serialize_none(),
            Patch::Value(v) => serializer.serialize_some(v),
        }
    }
}

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Patch<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // A missing field never reaches here (`#[serde(default)]` gives `Absent`).
        Ok(Option::<T>::deserialize(deserializer)?.map_or(Patch::Null, Patch::Value))
    }
}
