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

/// Every id parameter takes `impl Into<` this type `>`, so an id or a reference to one
/// fits; a plain string does not (wrap one read from storage with `new`).
impl From<&WidgetId> for WidgetId {
    fn from(id: &WidgetId) -> Self {
        id.clone()
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
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for WidgetColor {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
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
    pub attributes: Option<serde_json::Map<String, serde_json::Value>>,
    /// When it was created.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl Widget {
    /// Starts a [`Widget`] from its required fields (`id`, `name`, `color`, `owner_email`, `created_at`): call each one's setter, in any order, then `build()`. `build` exists only once every required field is set, so a missing one is a compile error; the others are set afterwards with the `with_*` methods.
    pub fn builder() -> WidgetBuilder {
        WidgetBuilder(crate::models::unset::Id, crate::models::unset::Name, crate::models::unset::Color, crate::models::unset::OwnerEmail, crate::models::unset::CreatedAt)
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
    ///
    /// Takes any value that serializes to a JSON object (`json!({..})`, a map, a struct deriving `Serialize`); anything else is a [`crate::NotAJsonObject`] error.
    pub fn with_attributes(mut self, value: impl serde::Serialize) -> Result<Self, crate::NotAJsonObject> {
        let object = crate::json_object::to_json_object("attributes", value)?;
        self.attributes = Some(object);
        Ok(self)
    }
}

/// The builder of a [`Widget`], from [`Widget::builder`]. Its type parameters record which required fields are set: one still shown as `unset::…` has not been.
#[derive(Clone)]
#[must_use = "a builder does nothing until `build()` is called"]
pub struct WidgetBuilder<F0 = crate::models::unset::Id, F1 = crate::models::unset::Name, F2 = crate::models::unset::Color, F3 = crate::models::unset::OwnerEmail, F4 = crate::models::unset::CreatedAt>(F0, F1, F2, F3, F4);

/// Field values are left out: a required field may be a secret.
impl<F0, F1, F2, F3, F4> std::fmt::Debug for WidgetBuilder<F0, F1, F2, F3, F4> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WidgetBuilder").finish_non_exhaustive()
    }
}

impl<F1, F2, F3, F4> WidgetBuilder<crate::models::unset::Id, F1, F2, F3, F4> {
    /// Sets `id` (required).
    ///
    /// Its id.
    pub fn id(self, value: impl Into<crate::models::WidgetId>) -> WidgetBuilder<crate::models::WidgetId, F1, F2, F3, F4> {
        WidgetBuilder(value.into(), self.1, self.2, self.3, self.4)
    }
}

impl<F0, F2, F3, F4> WidgetBuilder<F0, crate::models::unset::Name, F2, F3, F4> {
    /// Sets `name` (required).
    ///
    /// Its name.
    pub fn name(self, value: impl Into<String>) -> WidgetBuilder<F0, String, F2, F3, F4> {
        WidgetBuilder(self.0, value.into(), self.2, self.3, self.4)
    }
}

impl<F0, F1, F3, F4> WidgetBuilder<F0, F1, crate::models::unset::Color, F3, F4> {
    /// Sets `color` (required).
    ///
    /// Its color.
    pub fn color(self, value: crate::models::WidgetColor) -> WidgetBuilder<F0, F1, crate::models::WidgetColor, F3, F4> {
        WidgetBuilder(self.0, self.1, value, self.3, self.4)
    }
}

impl<F0, F1, F2, F4> WidgetBuilder<F0, F1, F2, crate::models::unset::OwnerEmail, F4> {
    /// Sets `owner_email` (required).
    ///
    /// Who owns it.
    pub fn owner_email(self, value: impl Into<String>) -> WidgetBuilder<F0, F1, F2, String, F4> {
        WidgetBuilder(self.0, self.1, self.2, value.into(), self.4)
    }
}

impl<F0, F1, F2, F3> WidgetBuilder<F0, F1, F2, F3, crate::models::unset::CreatedAt> {
    /// Sets `created_at` (required).
    ///
    /// When it was created.
    pub fn created_at(self, value: chrono::DateTime<chrono::Utc>) -> WidgetBuilder<F0, F1, F2, F3, chrono::DateTime<chrono::Utc>> {
        WidgetBuilder(self.0, self.1, self.2, self.3, value)
    }
}

impl WidgetBuilder<crate::models::WidgetId, String, crate::models::WidgetColor, String, chrono::DateTime<chrono::Utc>> {
    /// The value, with every optional field unset.
    pub fn build(self) -> Widget {
        Widget {
            id: self.0,
            name: self.1,
            color: self.2,
            owner_email: self.3,
            retired_at: None,
            tags: None,
            attributes: None,
            created_at: self.4,
        }
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
    /// Starts a [`NewWidget`] from its required fields (`name`, `color`): call each one's setter, in any order, then `build()`. `build` exists only once every required field is set, so a missing one is a compile error; the others are set afterwards with the `with_*` methods.
    pub fn builder() -> NewWidgetBuilder {
        NewWidgetBuilder(crate::models::unset::Name, crate::models::unset::Color)
    }
    /// Sets `weight_grams`.
    pub fn with_weight_grams(mut self, value: i64) -> Self {
        self.weight_grams = Some(value);
        self
    }
}

/// The builder of a [`NewWidget`], from [`NewWidget::builder`]. Its type parameters record which required fields are set: one still shown as `unset::…` has not been.
#[derive(Clone)]
#[must_use = "a builder does nothing until `build()` is called"]
pub struct NewWidgetBuilder<F0 = crate::models::unset::Name, F1 = crate::models::unset::Color>(F0, F1);

/// Field values are left out: a required field may be a secret.
impl<F0, F1> std::fmt::Debug for NewWidgetBuilder<F0, F1> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewWidgetBuilder").finish_non_exhaustive()
    }
}

impl<F1> NewWidgetBuilder<crate::models::unset::Name, F1> {
    /// Sets `name` (required).
    ///
    /// Its name.
    pub fn name(self, value: impl Into<String>) -> NewWidgetBuilder<String, F1> {
        NewWidgetBuilder(value.into(), self.1)
    }
}

impl<F0> NewWidgetBuilder<F0, crate::models::unset::Color> {
    /// Sets `color` (required).
    ///
    /// Its color.
    pub fn color(self, value: crate::models::WidgetColor) -> NewWidgetBuilder<F0, crate::models::WidgetColor> {
        NewWidgetBuilder(self.0, value)
    }
}

impl NewWidgetBuilder<String, crate::models::WidgetColor> {
    /// The value, with every optional field unset.
    pub fn build(self) -> NewWidget {
        NewWidget {
            name: self.0,
            color: self.1,
            weight_grams: None,
        }
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
    /// Starts a [`Part`] from its required fields (`id`, `widget_id`): call each one's setter, in any order, then `build()`. `build` exists only once every required field is set, so a missing one is a compile error; the others are set afterwards with the `with_*` methods.
    pub fn builder() -> PartBuilder {
        PartBuilder(crate::models::unset::Id, crate::models::unset::WidgetId)
    }
    /// Sets `spare`.
    pub fn with_spare(mut self, value: crate::models::Part) -> Self {
        self.spare = Some(Box::new(value));
        self
    }
}

/// The builder of a [`Part`], from [`Part::builder`]. Its type parameters record which required fields are set: one still shown as `unset::…` has not been.
#[derive(Clone)]
#[must_use = "a builder does nothing until `build()` is called"]
pub struct PartBuilder<F0 = crate::models::unset::Id, F1 = crate::models::unset::WidgetId>(F0, F1);

/// Field values are left out: a required field may be a secret.
impl<F0, F1> std::fmt::Debug for PartBuilder<F0, F1> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartBuilder").finish_non_exhaustive()
    }
}

impl<F1> PartBuilder<crate::models::unset::Id, F1> {
    /// Sets `id` (required).
    ///
    /// Its id.
    pub fn id(self, value: impl Into<String>) -> PartBuilder<String, F1> {
        PartBuilder(value.into(), self.1)
    }
}

impl<F0> PartBuilder<F0, crate::models::unset::WidgetId> {
    /// Sets `widget_id` (required).
    ///
    /// The widget it belongs to.
    pub fn widget_id(self, value: impl Into<crate::models::WidgetId>) -> PartBuilder<F0, crate::models::WidgetId> {
        PartBuilder(self.0, value.into())
    }
}

impl PartBuilder<String, crate::models::WidgetId> {
    /// The value, with every optional field unset.
    pub fn build(self) -> Part {
        Part {
            id: self.0,
            widget_id: self.1,
            spare: None,
        }
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
    #[serde(rename = "type",)]
    pub type_: String,
    /// When.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// The widget.
    pub data: crate::models::Widget,
}

impl WidgetCreatedEvent {
    /// Starts a [`WidgetCreatedEvent`] from its required fields (`id`, `type`, `created_at`, `data`): call each one's setter, in any order, then `build()`. `build` exists only once every required field is set, so a missing one is a compile error; the others are set afterwards with the `with_*` methods.
    pub fn builder() -> WidgetCreatedEventBuilder {
        WidgetCreatedEventBuilder(crate::models::unset::Id, crate::models::unset::Type, crate::models::unset::CreatedAt, crate::models::unset::Data)
    }
}

/// The builder of a [`WidgetCreatedEvent`], from [`WidgetCreatedEvent::builder`]. Its type parameters record which required fields are set: one still shown as `unset::…` has not been.
#[derive(Clone)]
#[must_use = "a builder does nothing until `build()` is called"]
pub struct WidgetCreatedEventBuilder<F0 = crate::models::unset::Id, F1 = crate::models::unset::Type, F2 = crate::models::unset::CreatedAt, F3 = crate::models::unset::Data>(F0, F1, F2, F3);

/// Field values are left out: a required field may be a secret.
impl<F0, F1, F2, F3> std::fmt::Debug for WidgetCreatedEventBuilder<F0, F1, F2, F3> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WidgetCreatedEventBuilder").finish_non_exhaustive()
    }
}

impl<F1, F2, F3> WidgetCreatedEventBuilder<crate::models::unset::Id, F1, F2, F3> {
    /// Sets `id` (required).
    ///
    /// The event id.
    pub fn id(self, value: impl Into<String>) -> WidgetCreatedEventBuilder<String, F1, F2, F3> {
        WidgetCreatedEventBuilder(value.into(), self.1, self.2, self.3)
    }
}

impl<F0, F2, F3> WidgetCreatedEventBuilder<F0, crate::models::unset::Type, F2, F3> {
    /// Sets `type` (required).
    ///
    /// The event type.
    pub fn type_(self, value: impl Into<String>) -> WidgetCreatedEventBuilder<F0, String, F2, F3> {
        WidgetCreatedEventBuilder(self.0, value.into(), self.2, self.3)
    }
}

impl<F0, F1, F3> WidgetCreatedEventBuilder<F0, F1, crate::models::unset::CreatedAt, F3> {
    /// Sets `created_at` (required).
    ///
    /// When.
    pub fn created_at(self, value: chrono::DateTime<chrono::Utc>) -> WidgetCreatedEventBuilder<F0, F1, chrono::DateTime<chrono::Utc>, F3> {
        WidgetCreatedEventBuilder(self.0, self.1, value, self.3)
    }
}

impl<F0, F1, F2> WidgetCreatedEventBuilder<F0, F1, F2, crate::models::unset::Data> {
    /// Sets `data` (required).
    ///
    /// The widget.
    pub fn data(self, value: crate::models::Widget) -> WidgetCreatedEventBuilder<F0, F1, F2, crate::models::Widget> {
        WidgetCreatedEventBuilder(self.0, self.1, self.2, value)
    }
}

impl WidgetCreatedEventBuilder<String, String, chrono::DateTime<chrono::Utc>, crate::models::Widget> {
    /// The value, with every optional field unset.
    pub fn build(self) -> WidgetCreatedEvent {
        WidgetCreatedEvent {
            id: self.0,
            type_: self.1,
            created_at: self.2,
            data: self.3,
        }
    }
}

impl std::fmt::Debug for WidgetCreatedEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WidgetCreatedEvent").field("id", &self.id).field("type_", &self.type_).field("created_at", &self.created_at).field("data", &self.data).finish()
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
    /// Starts a [`ResponseMeta`] from its required fields (`request_id`): call each one's setter, in any order, then `build()`. `build` exists only once every required field is set, so a missing one is a compile error; the others are set afterwards with the `with_*` methods.
    pub fn builder() -> ResponseMetaBuilder {
        ResponseMetaBuilder(crate::models::unset::RequestId)
    }
}

/// The builder of a [`ResponseMeta`], from [`ResponseMeta::builder`]. Its type parameters record which required fields are set: one still shown as `unset::…` has not been.
#[derive(Clone)]
#[must_use = "a builder does nothing until `build()` is called"]
pub struct ResponseMetaBuilder<F0 = crate::models::unset::RequestId>(F0);

/// Field values are left out: a required field may be a secret.
impl<F0> std::fmt::Debug for ResponseMetaBuilder<F0> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseMetaBuilder").finish_non_exhaustive()
    }
}

impl<> ResponseMetaBuilder<crate::models::unset::RequestId> {
    /// Sets `request_id` (required).
    ///
    /// The request id.
    pub fn request_id(self, value: impl Into<String>) -> ResponseMetaBuilder<String> {
        ResponseMetaBuilder(value.into())
    }
}

impl ResponseMetaBuilder<String> {
    /// The value, with every optional field unset.
    pub fn build(self) -> ResponseMeta {
        ResponseMeta {
            request_id: self.0,
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
    /// Starts a [`ListMeta`] from its required fields (`request_id`, `has_more`): call each one's setter, in any order, then `build()`. `build` exists only once every required field is set, so a missing one is a compile error; the others are set afterwards with the `with_*` methods.
    pub fn builder() -> ListMetaBuilder {
        ListMetaBuilder(crate::models::unset::RequestId, crate::models::unset::HasMore)
    }
    /// Sets `next_cursor`.
    pub fn with_next_cursor(mut self, value: impl Into<String>) -> Self {
        self.next_cursor = Some(value.into());
        self
    }
}

/// The builder of a [`ListMeta`], from [`ListMeta::builder`]. Its type parameters record which required fields are set: one still shown as `unset::…` has not been.
#[derive(Clone)]
#[must_use = "a builder does nothing until `build()` is called"]
pub struct ListMetaBuilder<F0 = crate::models::unset::RequestId, F1 = crate::models::unset::HasMore>(F0, F1);

/// Field values are left out: a required field may be a secret.
impl<F0, F1> std::fmt::Debug for ListMetaBuilder<F0, F1> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListMetaBuilder").finish_non_exhaustive()
    }
}

impl<F1> ListMetaBuilder<crate::models::unset::RequestId, F1> {
    /// Sets `request_id` (required).
    ///
    /// The request id.
    pub fn request_id(self, value: impl Into<String>) -> ListMetaBuilder<String, F1> {
        ListMetaBuilder(value.into(), self.1)
    }
}

impl<F0> ListMetaBuilder<F0, crate::models::unset::HasMore> {
    /// Sets `has_more` (required).
    ///
    /// Whether more follow.
    pub fn has_more(self, value: bool) -> ListMetaBuilder<F0, bool> {
        ListMetaBuilder(self.0, value)
    }
}

impl ListMetaBuilder<String, bool> {
    /// The value, with every optional field unset.
    pub fn build(self) -> ListMeta {
        ListMeta {
            request_id: self.0,
            next_cursor: None,
            has_more: self.1,
        }
    }
}

impl std::fmt::Debug for ListMeta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListMeta").field("request_id", &self.request_id).field("next_cursor", &self.next_cursor).field("has_more", &self.has_more).finish()
    }
}

/// Markers for required fields a builder has not been given yet (see any type's
/// `builder()`): a compile error that mentions `unset::Name` means `name` is missing.
pub mod unset {
    /// A required field of this name, not set yet.
    #[derive(Debug, Clone, Copy)]
    pub struct Color;
    /// A required field of this name, not set yet.
    #[derive(Debug, Clone, Copy)]
    pub struct CreatedAt;
    /// A required field of this name, not set yet.
    #[derive(Debug, Clone, Copy)]
    pub struct Data;
    /// A required field of this name, not set yet.
    #[derive(Debug, Clone, Copy)]
    pub struct HasMore;
    /// A required field of this name, not set yet.
    #[derive(Debug, Clone, Copy)]
    pub struct Id;
    /// A required field of this name, not set yet.
    #[derive(Debug, Clone, Copy)]
    pub struct Name;
    /// A required field of this name, not set yet.
    #[derive(Debug, Clone, Copy)]
    pub struct OwnerEmail;
    /// A required field of this name, not set yet.
    #[derive(Debug, Clone, Copy)]
    pub struct RequestId;
    /// A required field of this name, not set yet.
    #[derive(Debug, Clone, Copy)]
    pub struct Type;
    /// A required field of this name, not set yet.
    #[derive(Debug, Clone, Copy)]
    pub struct WidgetId;
}

/// Every component schema that has a generated model type, by schema name.
#[cfg(feature = "testing")]
#[doc(hidden)]
pub const __MODEL_NAMES: &[&str] = &["WidgetId", "WidgetColor", "Widget", "NewWidget", "WidgetPatch", "Part", "WidgetCreatedEvent", "ResponseMeta", "ListMeta"];

/// Decodes `json` into the model type of component schema `schema` and encodes it
/// back; `None` when no generated type comes from that schema.
#[cfg(feature = "testing")]
#[doc(hidden)]
pub fn __roundtrip_example(schema: &str, json: serde_json::Value,) -> Option<Result<serde_json::Value, serde_json::Error>> {
    fn roundtrip<T: serde::de::DeserializeOwned + serde::Serialize>(json: serde_json::Value,) -> Result<serde_json::Value, serde_json::Error> {
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
