//! Stage 2, model: the spec resolved into what the emitters need.
//!
//! References are followed, Rust names chosen, operations grouped into resources and their
//! response shapes (single entity, page, nothing) recognised. Emitters read only this form, so
//! every rule about "what a spec construct means in Rust" lives here, next to the error that
//! names the spec location when a construct is not supported.

use std::collections::{BTreeMap, BTreeSet};

use heck::{ToSnakeCase, ToUpperCamelCase};
use serde_json::Value;

use crate::spec::{self, AdditionalProperties, Parameter, Schema, Spec};

/// A spec construct the generator cannot turn into Rust, with where it is.
#[derive(Debug, thiserror::Error)]
#[error("{location}: {message}")]
pub struct ModelError {
    /// A JSON-pointer-like path into the spec, e.g. `paths./campaigns.get.responses.200`.
    pub location: String,
    /// What is wrong and what is supported instead.
    pub message: String,
}

fn err<T>(location: impl Into<String>, message: impl Into<String>) -> Result<T, ModelError> {
    Err(ModelError {
        location: location.into(),
        message: message.into(),
    })
}

/// The whole API, ready to emit.
#[derive(Debug)]
pub struct Api {
    /// `info.title`.
    pub title: String,
    /// `info.version`.
    pub version: String,
    /// Named types in spec order.
    pub types: Vec<TypeDef>,
    /// Resources, parents before children.
    pub resources: Vec<Resource>,
    /// Webhook events in spec order.
    pub events: Vec<EventDef>,
}

/// A Rust type of a field or parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Ty {
    /// `String`.
    String,
    /// `i32`.
    I32,
    /// `i64`.
    I64,
    /// `f64`.
    F64,
    /// `bool`.
    Bool,
    /// `chrono::DateTime<Utc>`.
    DateTime,
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
}

/// A named type.
#[derive(Debug)]
pub struct TypeDef {
    /// Rust name (the schema name in UpperCamelCase).
    pub name: String,
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
    /// A string newtype (identifiers).
    Id,
}

/// A struct's fields and role.
#[derive(Debug)]
pub struct StructDef {
    /// Fields in spec order.
    pub fields: Vec<Field>,
    /// Used as a PATCH body: optional nullable fields become `Patch<T>`.
    pub patch: bool,
}

/// A struct field.
#[derive(Debug)]
pub struct Field {
    /// JSON name.
    pub wire: String,
    /// Rust name (snake_case, raw identifier when a keyword).
    pub rust: String,
    /// Type without the optional/nullable wrapper.
    pub ty: Ty,
    /// Listed in `required`.
    pub required: bool,
    /// May be `null`.
    pub nullable: bool,
    /// Rustdoc text.
    pub doc: String,
    /// Personal data or secret: redacted in `Debug`.
    pub redacted: bool,
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

/// A group of operations under one path prefix: `client.campaigns()`,
/// `client.campaigns().ads(&id)`.
#[derive(Debug)]
pub struct Resource {
    /// Literal path segments identifying it, e.g. `["campaigns", "ads"]`.
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
}

impl Method {
    /// Upper-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// A parameter.
#[derive(Debug, Clone)]
pub struct Param {
    /// Wire name.
    pub wire: String,
    /// Rust name.
    pub rust: String,
    /// Type.
    pub ty: Ty,
    /// Must be sent.
    pub required: bool,
    /// Rustdoc text.
    pub doc: String,
}

/// What a successful response carries.
#[derive(Debug, Clone, PartialEq)]
pub enum ResponseShape {
    /// No body (204).
    Empty,
    /// `{"data": T, "meta": ResponseMeta}`.
    Single(Ty),
    /// `{"data": [T], "meta": ListMeta}`: a page.
    List(Ty),
}

/// One operation.
#[derive(Debug)]
pub struct Operation {
    /// `operationId`.
    pub id: String,
    /// Method name on the resource.
    pub method_name: String,
    /// Builder type name (operationId in UpperCamelCase).
    pub builder: String,
    /// HTTP method.
    pub method: Method,
    /// Path template relative to the base URL.
    pub path: String,
    /// The item's path parameter taken by the method (`get(&id)`), if any.
    pub item_param: Option<Param>,
    /// Query parameters.
    pub query: Vec<Param>,
    /// Accepts an `Idempotency-Key` header.
    pub idempotency_key: bool,
    /// Request body type.
    pub body: Option<String>,
    /// Success response.
    pub response: ResponseShape,
    /// Success status code.
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
    /// Payload struct name.
    pub payload: String,
    /// Rustdoc text.
    pub doc: String,
}

const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "self", "Self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use",
    "where", "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final",
    "macro", "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen",
];

/// The Rust identifier for a wire name (`raw` identifiers for keywords are marked `r#`).
pub fn rust_field_name(wire: &str) -> String {
    let snake = wire.to_snake_case();
    if KEYWORDS.contains(&snake.as_str()) {
        format!("r#{snake}")
    } else {
        snake
    }
}

fn doc_of(summary: Option<&str>, description: Option<&str>) -> String {
    match (summary, description) {
        (Some(s), Some(d)) if d.trim() != s.trim() => format!("{}\n\n{}", s.trim(), d.trim()),
        (Some(s), _) => s.trim().to_string(),
        (None, Some(d)) => d.trim().to_string(),
        (None, None) => String::new(),
    }
}

fn ref_name<'a>(reference: &'a str, prefix: &str, location: &str) -> Result<&'a str, ModelError> {
    match reference.strip_prefix(prefix) {
        Some(name) if !name.is_empty() && !name.contains('/') => Ok(name),
        _ => err(
            location,
            format!("unsupported $ref `{reference}`: expected `{prefix}<Name>`"),
        ),
    }
}

struct Resolver<'a> {
    spec: &'a Spec,
}

impl<'a> Resolver<'a> {
    fn schema_ref(&self, reference: &str, location: &str) -> Result<String, ModelError> {
        let name = ref_name(reference, "#/components/schemas/", location)?;
        if !self.spec.components.schemas.contains_key(name) {
            return err(location, format!("$ref to unknown schema `{name}`"));
        }
        Ok(name.to_upper_camel_case())
    }

    fn parameter(&self, p: &'a Parameter, location: &str) -> Result<&'a Parameter, ModelError> {
        match &p.reference {
            Some(r) => {
                let name = ref_name(r, "#/components/parameters/", location)?;
                self.spec.components.parameters.get(name).map_or_else(
                    || err(location, format!("$ref to unknown parameter `{name}`")),
                    Ok,
                )
            }
            None => Ok(p),
        }
    }

    fn response(
        &self,
        r: &'a spec::Response,
        location: &str,
    ) -> Result<&'a spec::Response, ModelError> {
        match &r.reference {
            Some(reference) => {
                let name = ref_name(reference, "#/components/responses/", location)?;
                self.spec.components.responses.get(name).map_or_else(
                    || err(location, format!("$ref to unknown response `{name}`")),
                    Ok,
                )
            }
            None => Ok(r),
        }
    }

    fn request_body(
        &self,
        b: &'a spec::RequestBody,
        location: &str,
    ) -> Result<&'a spec::RequestBody, ModelError> {
        match &b.reference {
            Some(reference) => {
                let name = ref_name(reference, "#/components/requestBodies/", location)?;
                self.spec.components.request_bodies.get(name).map_or_else(
                    || err(location, format!("$ref to unknown request body `{name}`")),
                    Ok,
                )
            }
            None => Ok(b),
        }
    }

    /// The Rust type of a property or parameter schema, and whether it admits `null`.
    fn ty(&self, schema: &Schema, location: &str) -> Result<(Ty, bool), ModelError> {
        if let Some(r) = &schema.reference {
            return Ok((Ty::Named(self.schema_ref(r, location)?), false));
        }
        if let Some(any_of) = &schema.any_of {
            let refs: Vec<&Schema> = any_of.iter().filter(|s| s.reference.is_some()).collect();
            let nulls = any_of
                .iter()
                .filter(|s| s.reference.is_none() && s.types() == (vec![], true))
                .count();
            if any_of.len() == 2 && refs.len() == 1 && nulls == 1 {
                let (ty, _) = self.ty(refs[0], location)?;
                return Ok((ty, true));
            }
            return err(
                location,
                "unsupported anyOf: only `[{$ref: ...}, {type: \"null\"}]` is supported",
            );
        }
        let (types, nullable) = schema.types();
        let ty = match types.as_slice() {
            [] => Ty::Json,
            ["string"] => {
                if schema.enum_values.is_some() {
                    return err(
                        location,
                        "inline enums are not supported: make the enum a named component schema",
                    );
                }
                match schema.format.as_deref() {
                    Some("date-time") => Ty::DateTime,
                    _ => Ty::String,
                }
            }
            ["integer"] => match schema.format.as_deref() {
                Some("int32") => Ty::I32,
                Some("int64") | None => Ty::I64,
                Some(other) => return err(location, format!("unsupported integer format `{other}`")),
            },
            ["number"] => Ty::F64,
            ["boolean"] => Ty::Bool,
            ["array"] => match &schema.items {
                Some(items) => {
                    let (item, item_nullable) = self.ty(items, &format!("{location}.items"))?;
                    if item_nullable {
                        return err(location, "arrays of nullable items are not supported");
                    }
                    Ty::List(Box::new(item))
                }
                None => return err(location, "array without `items`"),
            },
            ["object"] => {
                if !schema.properties.is_empty() {
                    return err(
                        location,
                        "inline object schemas are not supported: make it a named component schema",
                    );
                }
                match &schema.additional_properties {
                    None | Some(AdditionalProperties::Bool(true)) => Ty::JsonMap,
                    Some(AdditionalProperties::Schema(values)) => {
                        let (value, _) =
                            self.ty(values, &format!("{location}.additionalProperties"))?;
                        Ty::Map(Box::new(value))
                    }
                    Some(AdditionalProperties::Bool(false)) => {
                        return err(location, "an object with no properties allowed has no Rust type");
                    }
                }
            }
            other => return err(location, format!("unsupported type {other:?}")),
        };
        Ok((ty, nullable))
    }
}

/// Builds the model from a parsed spec.
pub fn build(spec: &Spec) -> Result<Api, ModelError> {
    if !spec.openapi.starts_with("3.1") {
        return err(
            "openapi",
            format!("version `{}` is not supported: expected 3.1.x", spec.openapi),
        );
    }
    let resolver = Resolver { spec };
    let patch_bodies = patch_body_names(spec);
    let mut types = Vec::new();
    for (name, schema) in &spec.components.schemas {
        types.push(type_def(&resolver, name, schema, patch_bodies.contains(name))?);
    }
    let resources = resources(&resolver)?;
    let events = events(&resolver)?;
    Ok(Api {
        title: spec.info.title.clone(),
        version: spec.info.version.clone(),
        types,
        resources,
        events,
    })
}

fn patch_body_names(spec: &Spec) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for item in spec.paths.values() {
        if let Some(body) = item.patch.as_ref().and_then(|op| op.request_body.as_ref()) {
            for media in body.content.values() {
                if let Some(r) = media.schema.as_ref().and_then(|s| s.reference.as_ref())
                    && let Some(name) = r.strip_prefix("#/components/schemas/")
                {
                    names.insert(name.to_string());
                }
            }
        }
    }
    names
}

fn type_def(
    resolver: &Resolver<'_>,
    name: &str,
    schema: &Schema,
    patch: bool,
) -> Result<TypeDef, ModelError> {
    let location = format!("components.schemas.{name}");
    let rust_name = name.to_upper_camel_case();
    let doc = doc_of(schema.title.as_deref(), schema.description.as_deref());
    if doc.is_empty() {
        return err(&location, "every schema needs a description (it becomes the rustdoc)");
    }
    let (types, _) = schema.types();
    let kind = match types.as_slice() {
        ["string"] => match &schema.enum_values {
            Some(values) => {
                let mut variants = Vec::new();
                for value in values {
                    let Some(wire) = value.as_str() else {
                        return err(&location, "enum values must be strings");
                    };
                    let rust = wire.to_upper_camel_case();
                    if rust.is_empty() || rust == "Unknown" {
                        return err(
                            &location,
                            format!("enum value `{wire}` has no usable Rust name"),
                        );
                    }
                    variants.push(Variant {
                        wire: wire.to_string(),
                        rust,
                    });
                }
                TypeKind::Enum(variants)
            }
            None => TypeKind::Id,
        },
        ["object"] => {
            let mut fields = Vec::new();
            for required in &schema.required {
                if !schema.properties.contains_key(required) {
                    return err(
                        &location,
                        format!("`required` names `{required}`, which is not a property"),
                    );
                }
            }
            for (wire, prop) in &schema.properties {
                let prop_location = format!("{location}.properties.{wire}");
                let (ty, nullable) = resolver.ty(prop, &prop_location)?;
                let doc = prop.description.clone().unwrap_or_default();
                if doc.is_empty() {
                    return err(&prop_location, "every property needs a description");
                }
                fields.push(Field {
                    wire: wire.clone(),
                    rust: rust_field_name(wire),
                    ty,
                    required: schema.required.contains(wire),
                    nullable,
                    doc,
                    redacted: prop.pii || prop.secret,
                });
            }
            TypeKind::Struct(StructDef { fields, patch })
        }
        _ => {
            return err(
                &location,
                "named schemas must be objects, string enums or strings (identifiers)",
            );
        }
    };
    Ok(TypeDef {
        name: rust_name,
        doc,
        example: schema.example.clone(),
        kind,
    })
}

/// A path template split into literal and parameter segments.
fn segments(path: &str) -> Vec<Segment<'_>> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(param) => Segment::Param(param),
            None => Segment::Literal(s),
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Segment<'a> {
    Literal(&'a str),
    Param(&'a str),
}

/// Where an operation lives and what its default method name is.
struct Placement {
    key: Vec<String>,
    item_param: Option<String>,
    default_method: Option<String>,
}

fn place(
    path: &str,
    method: Method,
    collections: &BTreeSet<String>,
    location: &str,
) -> Result<Placement, ModelError> {
    let segs = segments(path);
    let mut key = Vec::new();
    let mut expect_literal = true;
    for seg in &segs {
        match (seg, expect_literal) {
            (Segment::Literal(l), true) => key.push(l.to_string()),
            (Segment::Param(_), false) => {}
            _ => {
                return err(
                    location,
                    "path must alternate literal and parameter segments (`/a/{id}/b/{id2}`)",
                );
            }
        }
        expect_literal = !expect_literal;
    }
    match segs.last() {
        None => err(location, "empty path"),
        Some(Segment::Param(p)) => {
            let default = match method {
                Method::Get => Some("get"),
                Method::Put => Some("replace"),
                Method::Patch => Some("update"),
                Method::Delete => Some("delete"),
                Method::Post => None,
            };
            Ok(Placement {
                key,
                item_param: Some(p.to_string()),
                default_method: default.map(str::to_string),
            })
        }
        Some(Segment::Literal(last)) => {
            let is_action = segs.len() >= 3 && !collections.contains(path);
            if is_action {
                let Some(Segment::Param(p)) = segs.get(segs.len() - 2) else {
                    return err(location, "an action must follow an item parameter");
                };
                key.pop();
                Ok(Placement {
                    key,
                    item_param: Some(p.to_string()),
                    default_method: Some(last.to_snake_case()),
                })
            } else {
                let default = match method {
                    Method::Get => Some("list"),
                    Method::Post => Some("create"),
                    _ => None,
                };
                Ok(Placement {
                    key,
                    item_param: None,
                    default_method: default.map(str::to_string),
                })
            }
        }
    }
}

fn operations_of(item: &spec::PathItem) -> Vec<(Method, &spec::Operation)> {
    [
        (Method::Get, &item.get),
        (Method::Post, &item.post),
        (Method::Put, &item.put),
        (Method::Patch, &item.patch),
        (Method::Delete, &item.delete),
    ]
    .into_iter()
    .filter_map(|(m, op)| op.as_ref().map(|op| (m, op)))
    .collect()
}

fn resources(resolver: &Resolver<'_>) -> Result<Vec<Resource>, ModelError> {
    let spec = resolver.spec;
    // A path ending in a literal is a collection (a sub-resource) when some operation on it pages
    // or some other path extends it with an item parameter; otherwise it is an action on the item
    // before it (`/webhook_deliveries/{id}/replay`).
    let mut collections = BTreeSet::new();
    for (path, item) in &spec.paths {
        for other in spec.paths.keys() {
            if other.len() > path.len() && other.starts_with(&format!("{path}/{{")) {
                collections.insert(path.clone());
            }
        }
        for (method, op) in operations_of(item) {
            if method == Method::Get
                && op
                    .responses
                    .iter()
                    .any(|(code, r)| code.starts_with('2') && is_list_response(resolver, r))
            {
                collections.insert(path.clone());
            }
        }
        if segments(path).len() == 1 {
            collections.insert(path.clone());
        }
    }

    let mut by_key: BTreeMap<Vec<String>, Resource> = BTreeMap::new();
    let mut order: Vec<Vec<String>> = Vec::new();
    let mut builders = BTreeSet::new();
    for (path, item) in &spec.paths {
        for (method, op) in operations_of(item) {
            let location = format!("paths.{path}.{}", method.as_str().to_lowercase());
            if op.sdk_runtime {
                continue;
            }
            let placement = place(path, method, &collections, &location)?;
            let method_name = match (&op.sdk_method, &placement.default_method) {
                (Some(name), _) => name.to_snake_case(),
                (None, Some(default)) => default.clone(),
                (None, None) => {
                    return err(
                        &location,
                        "no default SDK method name for this method and path: set `x-sdk-method`",
                    );
                }
            };
            let Some(id) = op.operation_id.clone() else {
                return err(&location, "operationId is required");
            };
            let builder = id.to_upper_camel_case();
            if !builders.insert(builder.clone()) {
                return err(&location, format!("duplicate operationId `{id}`"));
            }
            let mut path_params = BTreeMap::new();
            let mut query = Vec::new();
            let mut idempotency_key = false;
            for p in item.parameters.iter().chain(&op.parameters) {
                let p = resolver.parameter(p, &location)?;
                let (Some(name), Some(loc)) = (&p.name, &p.location) else {
                    return err(&location, "parameter without `name` or `in`");
                };
                let param_location = format!("{location}.parameters.{name}");
                if p.style.is_some() || p.explode.is_some() {
                    return err(&param_location, "only default `style`/`explode` are supported");
                }
                let Some(schema) = &p.schema else {
                    return err(&param_location, "parameter without `schema`");
                };
                let (ty, _) = resolver.ty(schema, &param_location)?;
                let param = Param {
                    wire: name.clone(),
                    rust: rust_field_name(name),
                    ty,
                    required: p.required,
                    doc: p.description.clone().unwrap_or_default(),
                };
                match loc.as_str() {
                    "path" => {
                        path_params.insert(name.clone(), param);
                    }
                    "query" => query.push(param),
                    "header" if name.eq_ignore_ascii_case("Idempotency-Key") => {
                        idempotency_key = true
                    }
                    "header" => {
                        return err(
                            &param_location,
                            "header parameters other than Idempotency-Key are not supported",
                        );
                    }
                    other => {
                        return err(&param_location, format!("parameters `in: {other}` are not supported"));
                    }
                }
            }
            let mut ordered_path_params = Vec::new();
            for seg in segments(path) {
                if let Segment::Param(name) = seg {
                    match path_params.remove(name) {
                        Some(p) => ordered_path_params.push(p),
                        None => {
                            return err(&location, format!("path parameter `{name}` is not declared"));
                        }
                    }
                }
            }
            if let Some((name, _)) = path_params.into_iter().next() {
                return err(&location, format!("declared path parameter `{name}` is not in the path"));
            }
            let body = match &op.request_body {
                None => None,
                Some(b) => {
                    let b = resolver.request_body(b, &location)?;
                    let body_location = format!("{location}.requestBody");
                    if !b.required {
                        return err(&body_location, "optional request bodies are not supported");
                    }
                    let Some(media) = b.content.get("application/json") else {
                        return err(&body_location, "only application/json request bodies are supported");
                    };
                    match media.schema.as_ref().and_then(|s| s.reference.as_ref()) {
                        Some(r) => Some(resolver.schema_ref(r, &body_location)?),
                        None => {
                            return err(&body_location, "request body schema must be a $ref to a component schema");
                        }
                    }
                }
            };
            let (status, response) = success_response(resolver, op, &location)?;
            let item_param = match &placement.item_param {
                Some(name) => ordered_path_params.pop().filter(|p| &p.wire == name),
                None => None,
            };
            if placement.item_param.is_some() && item_param.is_none() {
                return err(&location, "the item parameter must be the last path parameter");
            }
            let operation = Operation {
                id,
                method_name,
                builder,
                method,
                path: path.clone(),
                item_param,
                query,
                idempotency_key,
                body,
                response,
                status,
                deprecated: op.deprecated,
                doc: doc_of(op.summary.as_deref(), op.description.as_deref()),
            };
            let resource = by_key.entry(placement.key.clone()).or_insert_with(|| {
                order.push(placement.key.clone());
                Resource {
                    key: placement.key.clone(),
                    name: String::new(),
                    accessor: String::new(),
                    doc: String::new(),
                    accessor_params: Vec::new(),
                    scope_params: ordered_path_params.clone(),
                    operations: Vec::new(),
                }
            });
            if resource.scope_params.len() != ordered_path_params.len() {
                return err(&location, "operations of one resource must share its parent path parameters");
            }
            if resource.operations.iter().any(|o| o.method_name == operation.method_name) {
                return err(
                    &location,
                    format!("two operations map to `{}`: set `x-sdk-method`", operation.method_name),
                );
            }
            resource.operations.push(operation);
        }
    }
    // Parents first, so emitters can attach accessors in order.
    order.sort_by_key(|k| k.len());
    let last_names: BTreeMap<String, usize> =
        order.iter().fold(BTreeMap::new(), |mut acc, key| {
            if let Some(last) = key.last() {
                *acc.entry(last.clone()).or_default() += 1;
            }
            acc
        });
    let tag_docs: BTreeMap<&str, &str> = spec
        .tags
        .iter()
        .filter_map(|t| t.description.as_deref().map(|d| (t.name.as_str(), d)))
        .collect();
    let mut out = Vec::new();
    for key in order {
        let Some(mut resource) = by_key.remove(&key) else {
            continue;
        };
        let Some(last) = key.last() else { continue };
        if key.len() > 1 && !out.iter().any(|r: &Resource| r.key == key[..key.len() - 1]) {
            return err(
                format!("paths./{}", key.join("/")),
                "a nested resource needs its parent resource to have operations",
            );
        }
        resource.name = if last_names.get(last).copied().unwrap_or(0) > 1 && key.len() > 1 {
            let parent = &key[key.len() - 2];
            format!(
                "{}{}",
                parent.trim_end_matches('s').to_upper_camel_case(),
                last.to_upper_camel_case()
            )
        } else {
            last.to_upper_camel_case()
        };
        resource.accessor = last.to_snake_case();
        let parent_scope = key.len().saturating_sub(1);
        // Parameters introduced by this level (the parent item's id) are taken by the accessor.
        let inherited = out
            .iter()
            .find(|r: &&Resource| r.key == key[..parent_scope])
            .map_or(0, |r| r.scope_params.len());
        resource.accessor_params = resource.scope_params[inherited..].to_vec();
        resource.doc = tag_docs
            .get(last.as_str())
            .map(|d| d.to_string())
            .unwrap_or_else(|| format!("Operations on {}.", key.join(" / ").replace('_', " ")));
        out.push(resource);
    }
    Ok(out)
}

fn is_list_response(resolver: &Resolver<'_>, r: &spec::Response) -> bool {
    let Ok(r) = resolver.response(r, "") else {
        return false;
    };
    r.content
        .get("application/json")
        .and_then(|m| m.schema.as_ref())
        .and_then(|s| s.properties.get("data"))
        .is_some_and(|data| data.types().0 == ["array"])
}

fn success_response(
    resolver: &Resolver<'_>,
    op: &spec::Operation,
    location: &str,
) -> Result<(u16, ResponseShape), ModelError> {
    let mut success = op
        .responses
        .iter()
        .filter(|(code, _)| code.starts_with('2'));
    let Some((code, response)) = success.next() else {
        return err(location, "no 2xx response");
    };
    if success.next().is_some() {
        return err(location, "more than one 2xx response is not supported");
    }
    let location = format!("{location}.responses.{code}");
    let status: u16 = match code.parse() {
        Ok(s) => s,
        Err(_) => return err(&location, "2XX ranges are not supported: give the exact status"),
    };
    let response = resolver.response(response, &location)?;
    let Some(media) = response.content.get("application/json") else {
        if response.content.is_empty() {
            return Ok((status, ResponseShape::Empty));
        }
        return err(&location, "only application/json responses are supported");
    };
    let Some(schema) = &media.schema else {
        return err(&location, "response without schema");
    };
    let (Some(data), Some(meta)) = (schema.properties.get("data"), schema.properties.get("meta"))
    else {
        return err(
            &location,
            "success responses must be the `{data, meta}` envelope",
        );
    };
    let meta_name = meta
        .reference
        .as_deref()
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
        .unwrap_or_default();
    let (data_ty, _) = resolver.ty(data, &format!("{location}.data"))?;
    match (data_ty, meta_name) {
        (Ty::List(item), "ListMeta") => Ok((status, ResponseShape::List(*item))),
        (ty @ Ty::Named(_), "ResponseMeta") => Ok((status, ResponseShape::Single(ty))),
        _ => err(
            &location,
            "envelope must be `data: $ref` with `meta: ResponseMeta` or `data: array` with `meta: ListMeta`",
        ),
    }
}

fn events(resolver: &Resolver<'_>) -> Result<Vec<EventDef>, ModelError> {
    let mut out = Vec::new();
    for (event_type, item) in &resolver.spec.webhooks {
        let location = format!("webhooks.{event_type}");
        let Some(op) = &item.post else {
            return err(&location, "a webhook must be described as a `post`");
        };
        let Some(body) = &op.request_body else {
            return err(&location, "a webhook needs a requestBody");
        };
        let body = resolver.request_body(body, &location)?;
        let payload = match body
            .content
            .get("application/json")
            .and_then(|m| m.schema.as_ref())
            .and_then(|s| s.reference.as_ref())
        {
            Some(r) => resolver.schema_ref(r, &location)?,
            None => return err(&location, "webhook body must be a $ref to a component schema"),
        };
        out.push(EventDef {
            wire: event_type.clone(),
            variant: event_type.replace(['.', '-'], "_").to_upper_camel_case(),
            payload,
            doc: doc_of(op.summary.as_deref(), op.description.as_deref()),
        });
    }
    Ok(out)
}
