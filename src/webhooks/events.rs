//! Typed webhook events.
//!
//! STAND-IN: this file is replaced by the module the code generator emits from the
//! `webhooks:` section of `openapi.yaml` (one struct per event type, `data` typed with the
//! entity model, and one [`Event`] variant per type). It carries a single known event so the
//! verification layer and its tests can be built against the interface the generated module
//! keeps: `Event::from_slice`, `Event::event_type`, `Event::id` and the `Unknown` fallback.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use super::unknown::UnknownEvent;

/// A contact was created (`contact.created`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactCreatedEvent {
    /// The event id (the `webhook-id` it was delivered with).
    pub id: String,
    /// Always `"contact.created"`.
    pub r#type: String,
    /// When the event happened.
    pub created_at: DateTime<Utc>,
    /// The created contact, complete.
    pub data: serde_json::Value,
}

/// A webhook event, by type.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// `contact.created`
    ContactCreated(ContactCreatedEvent),
    /// An event type this version of the SDK does not know.
    Unknown(UnknownEvent),
}

impl Event {
    /// Parses an event from its JSON body, choosing the variant by its `type` field.
    pub fn from_slice(body: &[u8]) -> Result<Event, serde_json::Error> {
        #[derive(Deserialize)]
        struct TypeOnly<'a> {
            #[serde(rename = "type", borrow)]
            event_type: Cow<'a, str>,
        }
        let peek: TypeOnly<'_> = serde_json::from_slice(body)?;
        Ok(match &*peek.event_type {
            "contact.created" => Event::ContactCreated(serde_json::from_slice(body)?),
            _ => Event::Unknown(serde_json::from_slice(body)?),
        })
    }

    /// The event type string, e.g. `"contact.created"`.
    pub fn event_type(&self) -> &str {
        match self {
            Event::ContactCreated(event) => &event.r#type,
            Event::Unknown(event) => event.event_type(),
        }
    }

    /// The event id (the `webhook-id` it was delivered with).
    pub fn id(&self) -> &str {
        match self {
            Event::ContactCreated(event) => &event.id,
            Event::Unknown(event) => event.id(),
        }
    }
}
