pub use crate::models::WidgetCreatedEvent;

/// A webhook event, typed by its `type`.
///
/// Event types added to the API after this version of the SDK still verify and arrive as
/// [`Event::Unknown`] with their raw JSON.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// `widget.created`: A widget was created.
    WidgetCreated(crate::models::WidgetCreatedEvent),
    /// An event type this version of the SDK does not know.
    Unknown(crate::webhooks::UnknownEvent),
}

impl Event {
    /// Every event type this version of the SDK knows.
    pub const KNOWN_TYPES: &'static[&'static str] = &["widget.created"];
    /// Parses an event body (already verified) into its typed form.
    pub fn from_slice(body: &[u8]) -> Result<Event, crate::webhooks::PayloadError> {
        use crate::webhooks::PayloadError;
        let peek: crate::codec::EventTypePeek<'_> = serde_json::from_slice(body).map_err(PayloadError::new)?;
        Ok(match peek.event_type.as_ref() {
            "widget.created" => Event::WidgetCreated(serde_json::from_slice(body).map_err(PayloadError::new)?),
            _ => Event::Unknown(crate::webhooks::UnknownEvent::from_value(serde_json::from_slice(body).map_err(PayloadError::new)?,)?),
        })
    }
    /// The event type, e.g. `contact.created`.
    pub fn event_type(&self) -> &str {
        match self {
            Event::WidgetCreated(e) => AsRef::<str>::as_ref(&e.type_),
            Event::Unknown(e) => e.event_type(),
        }
    }
    /// The event id (the `webhook-id` it was delivered with).
    pub fn id(&self) -> &str {
        match self {
            Event::WidgetCreated(e) => AsRef::<str>::as_ref(&e.id),
            Event::Unknown(e) => e.id(),
        }
    }
}
