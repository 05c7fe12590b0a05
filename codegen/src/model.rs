//! Stage 2, model: the spec resolved into what the emitters need.
//!
//! This file holds the model's data types; [`crate::types`] fills in the named Rust types from
//! schemas and [`crate::operations`] the resources, operations and webhook events. Emitters read
//! only this form, so every rule about "what a spec construct means in Rust" lives in those two,
//! next to the warning that names the spec location when a construct is not supported.

use serde_json::Value;

/// Something the generator left out or typed loosely, with where it is in the spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// A JSON pointer into the spec, e.g. `/paths/~1pets/get/requestBody`.
    pub location: String,
    /// What was done instead and why.
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let location = if self.location.is_empty() {
            "#"
        } else {
            &self.location
        };
        write!(f, "{location}: {}", self.message)
    }
}

/// The whole API, ready to emit.
#[derive(Debug)]
pub struct Api {
    /// `info.title`.
    pub title: String,
    /// Named types in spec order (component schemas first, then the inline types they need).
    pub types: Vec<TypeDef>,
    /// Resources, parents before children.
    pub resources: Vec<Resource>,
    /// Webhook events in spec order.
    pub events: Vec<EventDef>,
    /// Operations the spec declares (generated or not).
    pub operations_in_spec: usize,
    /// What was left out or loosened.
    pub warnings: Vec<Warning>,
}

/// A Rust type of a field, parameter or body.
#[derive(Debug, Clone, PartialEq)]
pub enum Ty {
    /// `String`.
    String,
    /// `i32`.
    I32,
    /// `i64`.
    I64,
    /// `u64`.
    U64,
    /// `f64`.
    F64,
    /// `bool`.
    Bool,
    /// `chrono::DateTime<Utc>`.
    DateTime,
    /// `chrono::NaiveDate`.
    Date,
    /// `uuid::Uuid`.
    Uuid,
    /// Any JSON value.
    Json,
    /// A JSON object with arbitrary values.
    JsonMap,
    /// A generated type.
    Named(String),
    /// `Vec<T>`.
    List(Box<Ty>),
    /// `BTreeMap<String, T>`.
    Map(Box<Ty>),
    /// `Option<T>` inside a list or map (`items: {type: [T, "null"]}`).
    Nullable(Box<Ty>),
}

/// A named type.
#[derive(Debug)]
pub struct TypeDef {
    /// Rust name, unique in `models`.
    pub name: String,
    /// The component schema it was generated from (`components.schemas.<origin>`), if any.
    pub origin: Option<String>,
    /// Rustdoc text.
    pub doc: String,
    /// The spec's example, if any.
    pub example: Option<Value>,
    /// What it is.
    pub kind: TypeKind,
}

/// The kinds of named types.
#[derive(Debug)]
pub enum TypeKind {
    /// A struct.
    Struct(StructDef),
    /// A string enum with an `Unknown` fallback.
    Enum(Vec<Variant>),
    /// A string newtype (identifiers: a string schema whose name ends in `Id`).
    Id,
    /// `pub type Name = T;` (named arrays, scalars, maps).
    Alias(Ty),
    /// `oneOf` with a `discriminator`: chosen by the tag property, unknown tags kept as JSON.
    Tagged(TaggedUnion),
    /// `oneOf`/`anyOf` without one: the first variant that decodes, in a sound order.
    Untagged(Vec<UnionVariant>),
}

/// A struct's fields and role.
#[derive(Debug)]
pub struct StructDef {
    /// Fields in spec order.
    pub fields: Vec<Field>,
    /// Used as a PATCH body: optional nullable fields become `Patch<T>`.
    pub patch: bool,
    /// `additionalProperties` beside named fields: a flattened map of the other keys.
    pub additional: Option<Ty>,
}

/// A struct field.
#[derive(Debug)]
pub struct Field {
    /// JSON name.
    pub wire: String,
    /// Rust name (snake_case, raw identifier when a keyword), unique in the struct.
    pub rust: String,
    /// Type without the optional/nullable wrapper.
    pub ty: Ty,
    /// Always present (listed in `required` and neither read- nor write-only).
    pub required: bool,
    /// May be `null`.
    pub nullable: bool,
    /// Rustdoc text.
    pub doc: String,
    /// Personal data or secret: redacted in `Debug`.
    pub redacted: bool,
    /// Marked `x-sensitive`: encrypted field by field (JWE) when the consumer registered a key,
    /// so the field's type is `Sensitive<T>`.
    pub sensitive: bool,
    /// Held in a `Box` to break a cycle of types containing each other.
    pub boxed: bool,
    /// The one value the schema allows (`const: "image"`), for a required string field: the
    /// constructor fills it in instead of asking for it.
    pub constant: Option<String>,
}

impl Field {
    /// How the field is represented.
    pub fn repr(&self, patch: bool) -> FieldRepr {
        match (self.required, self.nullable, patch) {
            (true, false, _) => FieldRepr::Plain,
            (true, true, _) => FieldRepr::NullableRequired,
            (false, true, true) => FieldRepr::Patch,
            (false, _, _) => FieldRepr::Optional,
        }
    }
}

/// How a field maps onto Rust.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldRepr {
    /// `T`, always present.
    Plain,
    /// `Option<T>`, always sent (as `null` when `None`).
    NullableRequired,
    /// `Option<T>`, omitted when `None`.
    Optional,
    /// `Patch<T>`: absent, `null` or a value.
    Patch,
}

/// An enum variant.
#[derive(Debug)]
pub struct Variant {
    /// Wire value.
    pub wire: String,
    /// Rust name.
    pub rust: String,
}

/// A discriminated union.
#[derive(Debug)]
pub struct TaggedUnion {
    /// The discriminator property.
    pub tag: String,
    /// The known variants.
    pub variants: Vec<TaggedVariant>,
}

/// One variant of a discriminated union.
#[derive(Debug)]
pub struct TaggedVariant {
    /// Tag values that select it (the first is written when encoding).
    pub wire: Vec<String>,
    /// Rust variant name.
    pub rust: String,
    /// The payload type.
    pub ty: Ty,
    /// Boxed to break a cycle.
    pub boxed: bool,
}

/// One variant of an untagged union.
#[derive(Debug)]
pub struct UnionVariant {
    /// Rust variant name.
    pub rust: String,
    /// The payload type.
    pub ty: Ty,
    /// Boxed to break a cycle.
    pub boxed: bool,
}

/// A group of operations: `client.campaigns()`, `client.campaigns().ads(&id)`.
#[derive(Debug)]
pub struct Resource {
    /// Identifies it: the literal path segments (`["campaigns", "ads"]`) for REST-shaped paths,
    /// or one tag name for operations grouped by tag.
    pub key: Vec<String>,
    /// Rust type name, e.g. `Ads`.
    pub name: String,
    /// Accessor method name on the parent (or on `Client`), e.g. `ads`.
    pub accessor: String,
    /// Rustdoc text.
    pub doc: String,
    /// Path parameters the accessor takes (the parent item's id), in path order.
    pub accessor_params: Vec<Param>,
    /// Path parameters held from all ancestors, in path order (accessor_params included last).
    pub scope_params: Vec<Param>,
    /// Operations.
    pub operations: Vec<Operation>,
}

/// An HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET.
    Get,
    /// POST.
    Post,
    /// PUT.
    Put,
    /// PATCH.
    Patch,
    /// DELETE.
    Delete,
    /// HEAD.
    Head,
    /// OPTIONS.
    Options,
    /// TRACE.
    Trace,
}

impl Method {
    /// Every method, in the order operations are read from a path item.
    pub const ALL: [Method; 8] = [
        Method::Get,
        Method::Post,
        Method::Put,
        Method::Patch,
        Method::Delete,
        Method::Head,
        Method::Options,
        Method::Trace,
    ];

    /// Upper-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Head => "HEAD",
            Method::Options => "OPTIONS",
            Method::Trace => "TRACE",
        }
    }

    /// Lower-case name, as a path item key.
    pub fn key(self) -> &'static str {
        match self {
            Method::Get => "get",
            Method::Post => "post",
            Method::Put => "put",
            Method::Patch => "patch",
            Method::Delete => "delete",
            Method::Head => "head",
            Method::Options => "options",
            Method::Trace => "trace",
        }
    }
}

/// How a parameter is written into the URL or a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamStyle {
    /// `form`: `a=1&a=2` when exploded, `a=1,2` when not.
    Form {
        /// Repeat the name per item.
        explode: bool,
    },
    /// `spaceDelimited` (`a=1%202`).
    SpaceDelimited,
    /// `pipeDelimited` (`a=1|2`).
    PipeDelimited,
    /// `deepObject` (`a[key]=value`).
    DeepObject,
    /// `simple` (`1,2`), for path and header parameters.
    Simple,
}

/// A parameter.
#[derive(Debug, Clone)]
pub struct Param {
    /// Wire name.
    pub wire: String,
    /// Rust name, unique in its operation.
    pub rust: String,
    /// Type.
    pub ty: Ty,
    /// Must be sent.
    pub required: bool,
    /// Rustdoc text.
    pub doc: String,
    /// Serialization style.
    pub style: ParamStyle,
}

/// A request body.
#[derive(Debug, Clone)]
pub struct Body {
    /// The media type sent as `Content-Type`.
    pub content_type: String,
    /// What the user hands in.
    pub kind: BodyKind,
    /// Whether the operation needs one.
    pub required: bool,
}

/// The kinds of request bodies.
#[derive(Debug, Clone, PartialEq)]
pub enum BodyKind {
    /// JSON of a type.
    Json(Ty),
    /// `application/x-www-form-urlencoded` fields of a type.
    Form(Ty),
    /// Text (`text/plain`, `text/csv`, …).
    Text,
    /// Raw bytes (`application/octet-stream`, images, …).
    Bytes,
    /// `multipart/form-data`, built with the runtime's `Multipart` form builder; the parts the
    /// spec names are listed in the docs.
    Multipart(Vec<String>),
}

/// What a successful response carries.
#[derive(Debug, Clone, PartialEq)]
pub enum ResponseShape {
    /// No body.
    Empty,
    /// The house envelope `{"data": T, "meta": {...}}`.
    Single(Ty),
    /// The house envelope with a cursor page: `{"data": [T], "meta": {"next_cursor", ...}}`.
    List(Ty),
    /// A plain JSON body.
    Json(Ty),
    /// A text body.
    Text,
    /// A binary body, handed over as a byte stream.
    Bytes,
    /// Several 2xx answers with different bodies: an enum by status.
    ByStatus(Vec<(u16, ResponseShape)>),
}

/// One operation.
#[derive(Debug)]
pub struct Operation {
    /// `operationId` (or one derived from method and path when the spec has none).
    pub id: String,
    /// Method name on the resource.
    pub method_name: String,
    /// Builder type name, unique in `api`.
    pub builder: String,
    /// HTTP method.
    pub method: Method,
    /// Path template relative to the base URL.
    pub path: String,
    /// The item's path parameter taken by the method (`get(&id)`), if any.
    pub item_param: Option<Param>,
    /// Other path parameters the method takes, in path order (operations grouped by tag).
    pub path_args: Vec<Param>,
    /// Path parameters the resource holds (its ancestors' item ids), in path order.
    pub scope: Vec<Param>,
    /// Query parameters.
    pub query: Vec<Param>,
    /// Header parameters (not `Idempotency-Key`).
    pub headers: Vec<Param>,
    /// Cookie parameters.
    pub cookies: Vec<Param>,
    /// Accepts an `Idempotency-Key` header.
    pub idempotency_key: bool,
    /// Request body.
    pub body: Option<Body>,
    /// Success response.
    pub response: ResponseShape,
    /// The `Accept` header the operation sends instead of the client's `application/json`
    /// (its answer is text or binary), e.g. `text/csv, application/json;q=0.9`.
    pub accept: Option<String>,
    /// Name of the enum of answers by status (used by `ResponseShape::ByStatus`).
    pub response_type: String,
    /// Success status code (the first 2xx).
    pub status: u16,
    /// `deprecated: true`.
    pub deprecated: bool,
    /// Rustdoc text.
    pub doc: String,
}

/// A webhook event type.
#[derive(Debug)]
pub struct EventDef {
    /// Wire `type`, e.g. `contact.created`.
    pub wire: String,
    /// Enum variant name, e.g. `ContactCreated`.
    pub variant: String,
    /// Payload type name.
    pub payload: String,
    /// Rustdoc text.
    pub doc: String,
    /// The payload has a required string `id`.
    pub has_id: bool,
    /// The payload has a required string `type`.
    pub has_type: bool,
}

/// Joins a summary and a description into one documentation text.
pub fn doc_of(summary: Option<&str>, description: Option<&str>) -> String {
    let summary = summary.map(str::trim).filter(|s| !s.is_empty());
    let description = description.map(str::trim).filter(|s| !s.is_empty());
    match (summary, description) {
        (Some(s), Some(d)) if d != s => format!("{s}\n\n{d}"),
        (Some(s), _) => s.to_string(),
        (None, Some(d)) => d.to_string(),
        (None, None) => String::new(),
    }
}
