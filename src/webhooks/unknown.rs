//! The generic event: what a webhook of a type this SDK does not know parses into.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::error::PayloadError;

/// An authentic event whose `type` this version of the SDK does not know.
///
/// The API adds event types without a new major version; an older receiver still verifies
/// them and gets this value with the common envelope fields and the complete raw JSON, so it
/// can log, forward or handle them by hand instead of failing.
///
/// ```
/// use marketing_api::webhooks::UnknownEvent;
/// let event: UnknownEvent = serde_json::from_str(
///     r#"{"id":"msg_1","type":"loyalty.tier_changed","created_at":"2025-01-01T00:00:00Z","data":{"tier":"gold"}}"#,
/// )?;
/// assert_eq!(event.event_type(), "loyalty.tier_changed");
/// assert_eq!(event.data().and_then(|d| d.get("tier")), Some(&serde_json::json!("gold")));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct UnknownEvent {
    id: String,
    event_type: String,
    created_at: Option<String>,
    raw: serde_json::Value,
}

/// The envelope fields every event shares; the rest stays in the raw JSON.
#[derive(Deserialize)]
struct Envelope {
    id: String,
    #[serde(rename = "type")]
    event_type: String,
    #[serde(default)]
    created_at: Option<String>,
}

impl UnknownEvent {
    /// Reads the envelope (`id`, `type`, optional `created_at`) from an event's JSON and keeps
    /// the whole value. Fails when `id` or `type` is missing or not a string.
    pub fn from_value(raw: serde_json::Value) -> Result<Self, PayloadError> {
        let envelope = Envelope::deserialize(&raw).map_err(PayloadError::new)?;
        Ok(Self {
            id: envelope.id,
            event_type: envelope.event_type,
            created_at: envelope.created_at,
            raw,
        })
    }

    /// The event id (the `webhook-id` it was delivered with).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The event type string, e.g. `"loyalty.tier_changed"`.
    pub fn event_type(&self) -> &str {
        &self.event_type
    }

    /// The `created_at` field as sent, if present (kept as text: an unknown event's fields
    /// are not interpreted).
    pub fn created_at(&self) -> Option<&str> {
        self.created_at.as_deref()
    }

    /// The `data` field: the entity the event is about, if present.
    pub fn data(&self) -> Option<&serde_json::Value> {
        self.raw.get("data")
    }

    /// The complete event JSON.
    pub fn raw(&self) -> &serde_json::Value {
        &self.raw
    }

    /// The complete event JSON, by value.
    pub fn into_raw(self) -> serde_json::Value {
        self.raw
    }
}

impl<'de> Deserialize<'de> for UnknownEvent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = serde_json::Value::deserialize(deserializer)?;
        Self::from_value(raw).map_err(serde::de::Error::custom)
    }
}

impl Serialize for UnknownEvent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.raw.serialize(serializer)
    }
}
