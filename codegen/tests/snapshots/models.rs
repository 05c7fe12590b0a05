/// Identifies a widget.
///
/// # Example
///
/// ```json
/// "wdg_1"
/// ```
///
/// A distinct type per kind of identifier, so an ad id cannot be passed where a
/// campaign id is expected.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct WidgetId(String);

impl WidgetId {
    /// Wraps an identifier received from the API or stored earlier.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }
    /// The identifier as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The identifier as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::fmt::Display for WidgetId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for WidgetId {
    fn from(id: String) -> Self {
        Self(id)
    }
}

impl From<&str> for WidgetId {
    fn from(id: &str) -> Self {
        Self(id.to_owned())
    }
}

impl AsRef<str> for WidgetId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(feature = "client")]
impl crate::codec::QueryValue for WidgetId {
    fn to_query_value(&self) -> String {
        self.0.clone()
    }
}

/// A widget's color.
///
/// # Example
///
/// ```json
/// "red"
/// ```
///
/// Values this version of the SDK does not know arrive as
/// [`Unknown`](Self::Unknown) instead of failing to decode.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WidgetColor {
    /// `red`
    Red,
    /// `dark_blue`
    DarkBlue,
    /// A value added to the API after this version of the SDK; holds the wire value.
    Unknown(String),
}

impl WidgetColor {
    /// Every value this version of the SDK knows.
    pub const KNOWN: &'static[WidgetColor] = &[Self::Red, Self::DarkBlue];
    /// The value as sent on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Red => "red",
            Self::DarkBlue => "dark_blue",
            Self::Unknown(other) => other,
        }
    }
    /// Parses a wire value; values this version does not know become `Unknown`.
    pub fn from_wire(value: &str) -> Self {
        match value {
            "red" => Self::Red,
            "dark_blue" => Self::DarkBlue,
            other => Self::Unknown(other.to_owned()),
        }
    }
}

impl std::fmt::Display for WidgetColor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for WidgetColor {
    fn from(value: &str) -> Self {
        Self::from_wire(value)
    }
}

impl AsRef<str> for WidgetColor {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl serde::Serialize for WidgetColor {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok,
    S::Error > {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for WidgetColor {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self,
    D::Error > {
        deserializer.deserialize_str(crate::codec::WireStrVisitor(Self::from_wire))
    }
}

#[cfg(feature = "client")]
impl crate::codec::QueryValue for WidgetColor {
    fn to_query_value(&self) -> String {
        self.as_str().to_owned()
    }
}

/// A widget.
///
/// # Example
///
/// ```json
/// {
///   "id": "wdg_1",
///   "name": "Sprocket",
///   "color": "red",
///   "owner_email": "a@example.com",
///   "retired_at": null,
///   "created_at": "2026-01-01T00:00:00Z"
/// }
/// ```
#[derive(Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Widget {
    /// Its id.
    pub id: crate::models::WidgetId,
    /// Its name.
    pub name: String,
    /// Its color.
    pub color: crate::models::WidgetColor,
    /// Who owns it.
    pub owner_email: String,
    /// When it was retired.
    #[serde(default)]
    pub retired_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Free-form tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Anything else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<serde_json::Map<String,
    serde_json::Value > >,
    /// When it was created.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl Widget {
    /// Creates a value from its required fields (`id`, `name`, `color`, `owner_email`, `created_at`); set the others with the `with_*` methods.
    #[allow(clippy::too_many_arguments)]
    pub fn new(id: impl Into<crate::models::WidgetId>, name: impl Into<String>, color: crate::models::WidgetColor, owner_email: impl Into<String>, created_at: chrono::DateTime<chrono::Utc>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            color,
            owner_email: owner_email.into(),
            retired_at: None,
            tags: None,
            attributes: None,
            created_at,
        }
    }
    /// Sets `retired_at`.
    pub fn with_retired_at(mut self, value: chrono::DateTime<chrono::Utc>) -> Self {
        self.retired_at = Some(value);
        self
    }
    /// Sets `tags`.
    pub fn with_tags(mut self, value: Vec<String>) -> Self {
        self.tags = Some(value);
        self
    }
    /// Sets `attributes`.
    pub fn with_attributes(mut self, value: serde_json::Map<String, serde_json::Value>) -> Self {
        self.attributes = Some(value);
        self
    }
}

impl std::fmt::Debug for Widget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Widget").field("id", &self.id).field("name", &self.name).field("color", &self.color).field("owner_email", &crate::codec::Redacted).field("retired_at", &self.retired_at).field("tags", &self.tags).field("attributes", &self.attributes).field("created_at", &self.created_at).finish()
    }
}

/// A widget to create.
///
/// # Example
///
/// ```json
/// {
///   "name": "Sprocket",
///   "color": "red"
/// }
/// ```
#[derive(Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct NewWidget {
    /// Its name.
    pub name: String,
    /// Its color.
    pub color: crate::models::WidgetColor,
    /// Its weight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_grams: Option<i64>,
}

impl NewWidget {
    /// Creates a value from its required fields (`name`, `color`); set the others with the `with_*` methods.
    #[allow(clippy::too_many_arguments)]
    pub fn new(name: impl Into<String>, color: crate::models::WidgetColor) -> Self {
        Self {
            name: name.into(),
            color,
            weight_grams: None,
        }
    }
    /// Sets `weight_grams`.
    pub fn with_weight_grams(mut self, value: i64) -> Self {
        self.weight_grams = Some(value);
        self
    }
}

impl std::fmt::Debug for NewWidget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewWidget").field("name", &self.name).field("color", &self.color).field("weight_grams", &self.weight_grams).finish()
    }
}

/// Changes to a widget.
///
/// # Example
///
/// ```json
/// {
///   "retired_at": null
/// }
/// ```
#[derive(Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct WidgetPatch {
    /// New name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Retire it; null un-retires it.
    #[serde(default, skip_serializing_if = "crate::Patch::is_absent")]
    pub retired_at: crate::Patch<chrono::DateTime<chrono::Utc>>,
}

impl WidgetPatch {
    /// Creates a value with every field unset.
    #[allow(clippy::too_many_arguments)]
    pub fn new() -> Self {
        Self {
            name: None,
            retired_at: crate::Patch::Absent,
        }
    }
    /// Sets `name`.
    pub fn with_name(mut self, value: impl Into<String>) -> Self {
        self.name = Some(value.into());
        self
    }
    /// Sets `retired_at`.
    pub fn with_retired_at(mut self, value: chrono::DateTime<chrono::Utc>) -> Self {
        self.retired_at = crate::Patch::Value(value);
        self
    }
    /// Sends `retired_at: null`, clearing it on the server.
    pub fn clear_retired_at(mut self) -> Self {
        self.retired_at = crate::Patch::Null;
        self
    }
}

impl Default for WidgetPatch {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for WidgetPatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WidgetPatch").field("name", &self.name).field("retired_at", &self.retired_at).finish()
    }
}

/// A part of a widget.
///
/// # Example
///
/// ```json
/// {
///   "id": "prt_1",
///   "widget_id": "wdg_1"
/// }
/// ```
#[derive(Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Part {
    /// Its id.
    pub id: String,
    /// The widget it belongs to.
    pub widget_id: crate::models::WidgetId,
    /// The spare part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spare: Option<Box<crate::models::Part>>,
}

impl Part {
    /// Creates a value from its required fields (`id`, `widget_id`); set the others with the `with_*` methods.
    #[allow(clippy::too_many_arguments)]
    pub fn new(id: impl Into<String>, widget_id: impl Into<crate::models::WidgetId>) -> Self {
        Self {
            id: id.into(),
            widget_id: widget_id.into(),
            spare: None,
        }
    }
    /// Sets `spare`.
    pub fn with_spare(mut self, value: crate::models::Part) -> Self {
        self.spare = Some(Box::new(value));
        self
    }
}

impl std::fmt::Debug for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Part").field("id", &self.id).field("widget_id", &self.widget_id).field("spare", &self.spare).finish()
    }
}

/// Sent when a widget is created.
///
/// # Example
///
/// ```json
/// {
///   "id": "msg_1",
///   "type": "widget.created",
///   "created_at": "2026-01-01T00:00:00Z",
///   "data": {
///     "id": "wdg_1",
///     "name": "Sprocket",
///     "color": "red",
///     "owner_email": "a@example.com",
///     "retired_at": null,
///     "created_at": "2026-01-01T00:00:00Z"
///   }
/// }
/// ```
#[derive(Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct WidgetCreatedEvent {
    /// The event id.
    pub id: String,
    /// The event type.
    pub r#type: String,
    /// When.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// The widget.
    pub data: crate::models::Widget,
}

impl WidgetCreatedEvent {
    /// Creates a value from its required fields (`id`, `type`, `created_at`, `data`); set the others with the `with_*` methods.
    #[allow(clippy::too_many_arguments)]
    pub fn new(id: impl Into<String>, r#type: impl Into<String>, created_at: chrono::DateTime<chrono::Utc>, data: crate::models::Widget) -> Self {
        Self {
            id: id.into(),
            r#type: r#type.into(),
            created_at,
            data,
        }
    }
}

impl std::fmt::Debug for WidgetCreatedEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WidgetCreatedEvent").field("id", &self.id).field("type", &self.r#type).field("created_at", &self.created_at).field("data", &self.data).finish()
    }
}

/// Response metadata.
///
/// # Example
///
/// ```json
/// {
///   "request_id": "req_1"
/// }
/// ```
#[derive(Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct ResponseMeta {
    /// The request id.
    pub request_id: String,
}

impl ResponseMeta {
    /// Creates a value from its required fields (`request_id`); set the others with the `with_*` methods.
    #[allow(clippy::too_many_arguments)]
    pub fn new(request_id: impl Into<String>) -> Self {
        Self {
            request_id: request_id.into(),
        }
    }
}

impl std::fmt::Debug for ResponseMeta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseMeta").field("request_id", &self.request_id).finish()
    }
}

/// List metadata.
///
/// # Example
///
/// ```json
/// {
///   "request_id": "req_1",
///   "next_cursor": null,
///   "has_more": false
/// }
/// ```
#[derive(Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct ListMeta {
    /// The request id.
    pub request_id: String,
    /// The next cursor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// Whether more follow.
    pub has_more: bool,
}

impl ListMeta {
    /// Creates a value from its required fields (`request_id`, `has_more`); set the others with the `with_*` methods.
    #[allow(clippy::too_many_arguments)]
    pub fn new(request_id: impl Into<String>, has_more: bool) -> Self {
        Self {
            request_id: request_id.into(),
            next_cursor: None,
            has_more,
        }
    }
    /// Sets `next_cursor`.
    pub fn with_next_cursor(mut self, value: impl Into<String>) -> Self {
        self.next_cursor = Some(value.into());
        self
    }
}

impl std::fmt::Debug for ListMeta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListMeta").field("request_id", &self.request_id).field("next_cursor", &self.next_cursor).field("has_more", &self.has_more).finish()
    }
}

/// Every component schema that has a generated model type, by schema name.
#[cfg(feature = "testing")]
#[doc(hidden)]
pub const __MODEL_NAMES: &[&str] = &["WidgetId", "WidgetColor", "Widget", "NewWidget", "WidgetPatch", "Part", "WidgetCreatedEvent", "ResponseMeta", "ListMeta"];

/// Decodes `json` into the model type of component schema `schema` and encodes it
/// back; `None` when no generated type comes from that schema.
#[cfg(feature = "testing")]
#[doc(hidden)]
pub fn __roundtrip_example(schema: &str, json: serde_json::Value,) -> Option<Result<serde_json::Value,
serde_json::Error >> {
    fn roundtrip<T: serde::de::DeserializeOwned + serde::Serialize>(json: serde_json::Value,) -> Result<serde_json::Value,
    serde_json::Error > {
        let typed: T = serde_json::from_value(json)?;
        serde_json::to_value(&typed)
    }
    match schema {
        "WidgetId" => Some(roundtrip::<WidgetId>(json)),
        "WidgetColor" => Some(roundtrip::<WidgetColor>(json)),
        "Widget" => Some(roundtrip::<Widget>(json)),
        "NewWidget" => Some(roundtrip::<NewWidget>(json)),
        "WidgetPatch" => Some(roundtrip::<WidgetPatch>(json)),
        "Part" => Some(roundtrip::<Part>(json)),
        "WidgetCreatedEvent" => Some(roundtrip::<WidgetCreatedEvent>(json)),
        "ResponseMeta" => Some(roundtrip::<ResponseMeta>(json)),
        "ListMeta" => Some(roundtrip::<ListMeta>(json)),
        _ => None,
    }
}
