//! Stage 1, parse: serde structs for the part of OpenAPI 3.1 the generator supports.
//!
//! Every struct denies unknown fields, so a construct the generator does not understand (an
//! `allOf`, a `discriminator`, a cookie parameter…) fails the build with the YAML location of the
//! offending key instead of being silently skipped. Validation keywords that only constrain values
//! (`minLength`, `pattern`, …) are accepted: they matter to validators, not to Rust types.

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::Value;

/// The root document.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Must start with `3.1`.
    pub openapi: String,
    /// Title, version and description.
    pub info: Info,
    /// Default `jsonSchemaDialect`; accepted and ignored.
    #[serde(rename = "jsonSchemaDialect", default)]
    pub json_schema_dialect: Option<String>,
    /// Server URLs; informational for the client.
    #[serde(default)]
    pub servers: Vec<Value>,
    /// Operations by path template.
    #[serde(default)]
    pub paths: IndexMap<String, PathItem>,
    /// Webhook events by event type.
    #[serde(default)]
    pub webhooks: IndexMap<String, PathItem>,
    /// Reusable schemas, parameters, responses, headers, security schemes.
    #[serde(default)]
    pub components: Components,
    /// Default security requirements.
    #[serde(default)]
    pub security: Vec<Value>,
    /// Tag descriptions; used as resource docs.
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// External documentation; ignored.
    #[serde(rename = "externalDocs", default)]
    pub external_docs: Option<Value>,
}

/// `info`.
#[derive(Debug, Deserialize)]
pub struct Info {
    /// API title.
    pub title: String,
    /// API version.
    pub version: String,
    /// API description.
    #[serde(default)]
    pub description: Option<String>,
}

/// A tag with its description.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tag {
    /// Tag name.
    pub name: String,
    /// What the tag groups.
    #[serde(default)]
    pub description: Option<String>,
}

/// `components`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Components {
    /// Named schemas.
    #[serde(default)]
    pub schemas: IndexMap<String, Schema>,
    /// Named parameters.
    #[serde(default)]
    pub parameters: IndexMap<String, Parameter>,
    /// Named responses.
    #[serde(default)]
    pub responses: IndexMap<String, Response>,
    /// Named headers; not used by the generator.
    #[serde(default)]
    pub headers: IndexMap<String, Value>,
    /// Named request bodies.
    #[serde(rename = "requestBodies", default)]
    pub request_bodies: IndexMap<String, RequestBody>,
    /// Security schemes; the runtime implements them.
    #[serde(rename = "securitySchemes", default)]
    pub security_schemes: IndexMap<String, Value>,
    /// Named examples; not used.
    #[serde(default)]
    pub examples: IndexMap<String, Value>,
}

/// A path item: the operations under one path template.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathItem {
    /// Summary of the path.
    #[serde(default)]
    pub summary: Option<String>,
    /// Description of the path.
    #[serde(default)]
    pub description: Option<String>,
    /// Parameters shared by every operation of the path.
    #[serde(default)]
    pub parameters: Vec<Parameter>,
    /// GET.
    #[serde(default)]
    pub get: Option<Operation>,
    /// PUT.
    #[serde(default)]
    pub put: Option<Operation>,
    /// POST.
    #[serde(default)]
    pub post: Option<Operation>,
    /// DELETE.
    #[serde(default)]
    pub delete: Option<Operation>,
    /// PATCH.
    #[serde(default)]
    pub patch: Option<Operation>,
}

/// One operation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Operation {
    /// Unique operation id.
    #[serde(rename = "operationId", default)]
    pub operation_id: Option<String>,
    /// One-line summary.
    #[serde(default)]
    pub summary: Option<String>,
    /// Full description.
    #[serde(default)]
    pub description: Option<String>,
    /// Resource tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Parameters.
    #[serde(default)]
    pub parameters: Vec<Parameter>,
    /// Request body.
    #[serde(rename = "requestBody", default)]
    pub request_body: Option<RequestBody>,
    /// Responses by status code.
    #[serde(default)]
    pub responses: IndexMap<String, Response>,
    /// Whether the operation is deprecated.
    #[serde(default)]
    pub deprecated: bool,
    /// Security requirements; the runtime's concern.
    #[serde(default)]
    pub security: Option<Vec<Value>>,
    /// Overrides the SDK method name.
    #[serde(rename = "x-sdk-method", default)]
    pub sdk_method: Option<String>,
    /// Implemented by the hand-written runtime (OAuth endpoints), not generated.
    #[serde(rename = "x-sdk-runtime", default)]
    pub sdk_runtime: bool,
    /// External documentation; ignored.
    #[serde(rename = "externalDocs", default)]
    pub external_docs: Option<Value>,
}

/// A parameter, or a `$ref` to one.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Parameter {
    /// `#/components/parameters/...`.
    #[serde(rename = "$ref", default)]
    pub reference: Option<String>,
    /// Wire name.
    #[serde(default)]
    pub name: Option<String>,
    /// `path`, `query` or `header` (`cookie` is refused by the model stage).
    #[serde(rename = "in", default)]
    pub location: Option<String>,
    /// What the parameter means.
    #[serde(default)]
    pub description: Option<String>,
    /// Whether it must be sent.
    #[serde(default)]
    pub required: bool,
    /// Whether it is deprecated.
    #[serde(default)]
    pub deprecated: bool,
    /// Its type.
    #[serde(default)]
    pub schema: Option<Schema>,
    /// An example value.
    #[serde(default)]
    pub example: Option<Value>,
    /// Serialization style; only the defaults are supported.
    #[serde(default)]
    pub style: Option<String>,
    /// Explode flag; only the default is supported.
    #[serde(default)]
    pub explode: Option<bool>,
    /// Personal data (e.g. an email filter): kept out of logs.
    #[serde(rename = "x-pii", default)]
    pub pii: bool,
}

/// A request body, or a `$ref` to one.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestBody {
    /// `#/components/requestBodies/...`.
    #[serde(rename = "$ref", default)]
    pub reference: Option<String>,
    /// What the body is.
    #[serde(default)]
    pub description: Option<String>,
    /// Whether a body must be sent.
    #[serde(default)]
    pub required: bool,
    /// Bodies by media type.
    #[serde(default)]
    pub content: IndexMap<String, MediaType>,
}

/// A response, or a `$ref` to one.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Response {
    /// `#/components/responses/...`.
    #[serde(rename = "$ref", default)]
    pub reference: Option<String>,
    /// What the response means.
    #[serde(default)]
    pub description: Option<String>,
    /// Response headers; the runtime reads them.
    #[serde(default)]
    pub headers: IndexMap<String, Value>,
    /// Bodies by media type.
    #[serde(default)]
    pub content: IndexMap<String, MediaType>,
    /// OpenAPI links to follow-up operations; for spec-driven tools, not the SDK.
    #[serde(default)]
    pub links: IndexMap<String, Value>,
}

/// A media type entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaType {
    /// The body schema.
    #[serde(default)]
    pub schema: Option<Schema>,
    /// An example body.
    #[serde(default)]
    pub example: Option<Value>,
    /// Named examples.
    #[serde(default)]
    pub examples: Option<Value>,
    /// Form encoding; not used.
    #[serde(default)]
    pub encoding: Option<Value>,
}

/// `type`: one name or a list (`[string, "null"]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum SchemaType {
    /// `type: string`.
    One(String),
    /// `type: [string, "null"]`.
    Many(Vec<String>),
}

/// `additionalProperties`: a boolean or a schema.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum AdditionalProperties {
    /// `true` / `false`.
    Bool(bool),
    /// A schema for the values.
    Schema(Box<Schema>),
}

/// A JSON Schema (2020-12), restricted to what maps cleanly onto Rust types.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schema {
    /// `#/components/schemas/...`.
    #[serde(rename = "$ref", default)]
    pub reference: Option<String>,
    /// JSON type(s).
    #[serde(rename = "type", default)]
    pub schema_type: Option<SchemaType>,
    /// Format (`int64`, `date-time`, `uri`, `email`, …).
    #[serde(default)]
    pub format: Option<String>,
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
    /// Description; becomes rustdoc.
    #[serde(default)]
    pub description: Option<String>,
    /// Allowed values.
    #[serde(rename = "enum", default)]
    pub enum_values: Option<Vec<Value>>,
    /// A single allowed value.
    #[serde(rename = "const", default)]
    pub const_value: Option<Value>,
    /// Array items.
    #[serde(default)]
    pub items: Option<Box<Schema>>,
    /// Object properties.
    #[serde(default)]
    pub properties: IndexMap<String, Schema>,
    /// Required property names.
    #[serde(default)]
    pub required: Vec<String>,
    /// Map values.
    #[serde(rename = "additionalProperties", default)]
    pub additional_properties: Option<AdditionalProperties>,
    /// Only the `[{$ref}, {type: "null"}]` form is supported.
    #[serde(rename = "anyOf", default)]
    pub any_of: Option<Vec<Schema>>,
    /// Default value.
    #[serde(default)]
    pub default: Option<Value>,
    /// Example value.
    #[serde(default)]
    pub example: Option<Value>,
    /// Example values.
    #[serde(default)]
    pub examples: Option<Vec<Value>>,
    /// Deprecated flag.
    #[serde(default)]
    pub deprecated: bool,
    /// Read-only flag.
    #[serde(rename = "readOnly", default)]
    pub read_only: bool,
    /// Write-only flag.
    #[serde(rename = "writeOnly", default)]
    pub write_only: bool,
    /// Personal data: redacted in `Debug`.
    #[serde(rename = "x-pii", default)]
    pub pii: bool,
    /// A secret: redacted in `Debug`.
    #[serde(rename = "x-secret", default)]
    pub secret: bool,
    /// Validation keyword.
    #[serde(default)]
    pub minimum: Option<Value>,
    /// Validation keyword.
    #[serde(default)]
    pub maximum: Option<Value>,
    /// Validation keyword.
    #[serde(rename = "exclusiveMinimum", default)]
    pub exclusive_minimum: Option<Value>,
    /// Validation keyword.
    #[serde(rename = "exclusiveMaximum", default)]
    pub exclusive_maximum: Option<Value>,
    /// Validation keyword.
    #[serde(rename = "minLength", default)]
    pub min_length: Option<u64>,
    /// Validation keyword.
    #[serde(rename = "maxLength", default)]
    pub max_length: Option<u64>,
    /// Validation keyword.
    #[serde(default)]
    pub pattern: Option<String>,
    /// Validation keyword.
    #[serde(rename = "minItems", default)]
    pub min_items: Option<u64>,
    /// Validation keyword.
    #[serde(rename = "maxItems", default)]
    pub max_items: Option<u64>,
    /// Validation keyword.
    #[serde(rename = "uniqueItems", default)]
    pub unique_items: Option<bool>,
    /// Validation keyword.
    #[serde(rename = "minProperties", default)]
    pub min_properties: Option<u64>,
    /// Validation keyword.
    #[serde(rename = "maxProperties", default)]
    pub max_properties: Option<u64>,
}

impl Schema {
    /// The JSON type names, with `"null"` removed, and whether `"null"` was present.
    pub fn types(&self) -> (Vec<&str>, bool) {
        let all: Vec<&str> = match &self.schema_type {
            None => Vec::new(),
            Some(SchemaType::One(t)) => vec![t.as_str()],
            Some(SchemaType::Many(ts)) => ts.iter().map(String::as_str).collect(),
        };
        let nullable = all.contains(&"null");
        (all.into_iter().filter(|t| *t != "null").collect(), nullable)
    }
}

/// Parses the YAML text of a spec.
pub fn parse(yaml: &str) -> Result<Spec, serde_saphyr::Error> {
    serde_saphyr::from_str(yaml)
}
