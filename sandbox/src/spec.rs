//! The contract itself: `openapi.yaml`, loaded at start-up and turned into per-operation
//! validators.
//!
//! For every operation the sandbox keeps its required scopes, whether it is deprecated, a
//! JSON Schema validator (Draft 2020-12) per query parameter and one for the request body.
//! Reading the spec, following its references and compiling its schemas is
//! `marketing-api-openapi`'s, shared with the SDK's contract tester; what the sandbox adds is
//! routing by method, its error bodies and the integer normalization of request bodies.

use crate::errors::ApiError;
use axum::http::Method;
use marketing_api_openapi::pointer::join_field;
use marketing_api_openapi::validate::{Compiler, Finding, FindingKind, Validator, findings};
use marketing_api_openapi::{Document, Parameter, PathTemplate, first_content, split_path};
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, OnceLock};

pub use marketing_api_openapi::ParamType;

/// The bundled contract.
pub const OPENAPI_YAML: &str = include_str!("../openapi.yaml");

/// Why the spec could not be turned into validators.
#[derive(Debug)]
pub struct SpecError(pub String);

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "openapi.yaml: {}", self.0)
    }
}

impl std::error::Error for SpecError {}

/// One query parameter of an operation.
pub struct QueryParam {
    /// Its name.
    pub name: String,
    /// Whether it must be present.
    pub required: bool,
    /// How the text is coerced.
    pub param_type: ParamType,
    validator: Arc<Validator>,
}

impl fmt::Debug for QueryParam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueryParam")
            .field("name", &self.name)
            .field("required", &self.required)
            .field("param_type", &self.param_type)
            .finish()
    }
}

/// The request body of an operation.
pub struct RequestBody {
    /// Whether a body must be sent.
    pub required: bool,
    /// Its media type (`application/json` or `application/x-www-form-urlencoded`).
    pub media_type: String,
    validator: Option<Arc<Validator>>,
    /// The schema (references rewritten to `#/$defs/...`) and the definitions it refers to.
    schema: Option<(Value, Arc<Value>)>,
    /// When the body is a discriminated `oneOf`: its members by tag value.
    variants: Option<Variants>,
    /// For `multipart/form-data`: a validator per part that is not a file (`format: binary`).
    parts: Vec<(String, Arc<Validator>)>,
}

/// The members of a discriminated `oneOf` body, each with its own validator.
///
/// A body that fits no member of a plain `oneOf` can only be reported as "valid under none of
/// the schemas"; with the discriminator, the sandbox validates against the member the tag
/// selects and names the field to fix, as it does for any other body.
struct Variants {
    tag: String,
    members: Vec<(String, Arc<Validator>)>,
}

impl Variants {
    /// The members of `schema`'s discriminated `oneOf` (following one `$ref`), if it is one.
    fn of(
        doc: &Document,
        compiler: &mut Compiler,
        schema: &Value,
    ) -> Result<Option<Self>, SpecError> {
        let resolved = match schema.get("$ref").and_then(Value::as_str) {
            Some(reference) => match reference
                .strip_prefix('#')
                .and_then(|p| doc.root.pointer(p))
            {
                Some(target) => target,
                None => return Ok(None),
            },
            None => schema,
        };
        let Some(discriminator) = resolved.get("discriminator") else {
            return Ok(None);
        };
        let (Some(tag), Some(mapping)) = (
            discriminator.get("propertyName").and_then(Value::as_str),
            discriminator.get("mapping").and_then(Value::as_object),
        ) else {
            return Ok(None);
        };
        let mut members = Vec::new();
        for (wire, target) in mapping {
            let Some(target) = target.as_str() else {
                continue;
            };
            let validator = compiler
                .compile(&serde_json::json!({ "$ref": target }))
                .map_err(|e| SpecError(format!("discriminator mapping {wire}: {e}")))?;
            members.push((wire.clone(), validator));
        }
        Ok(Some(Variants {
            tag: tag.to_owned(),
            members,
        }))
    }

    /// Validates `body` against the member its tag selects.
    fn validate(&self, body: &Value) -> Result<(), ApiError> {
        let tag = &self.tag;
        let known = || {
            self.members
                .iter()
                .map(|(wire, _)| wire.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match body.get(tag) {
            None if body.is_object() => Err(ApiError::bad_request(
                "missing_field",
                tag,
                format!("'{tag}' is required: one of {}.", known()),
            )),
            None => Ok(()),
            Some(value) => match self
                .members
                .iter()
                .find(|(wire, _)| value.as_str() == Some(wire.as_str()))
            {
                Some((_, validator)) => first_error(validator, body, ""),
                None => Err(ApiError::bad_request(
                    "invalid_value",
                    tag,
                    format!("'{tag}' must be one of {}, not {value}.", known()),
                )),
            },
        }
    }
}

impl fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestBody")
            .field("required", &self.required)
            .field("media_type", &self.media_type)
            .finish()
    }
}

/// What the sandbox needs to know about one operation.
#[derive(Debug)]
pub struct Operation {
    /// `operationId`.
    pub operation_id: String,
    /// The path template (`/contacts/{contact_id}`), as the audit trail names it.
    pub path_template: String,
    /// OAuth scopes it needs; empty with `security: []`.
    pub scopes: Vec<String>,
    /// Whether the operation needs no credential (`security: []`).
    pub public: bool,
    /// `deprecated: true`.
    pub deprecated: bool,
    /// Query parameters.
    pub query: Vec<QueryParam>,
    /// Request body.
    pub body: Option<RequestBody>,
}

#[derive(Debug)]
struct Route {
    template: PathTemplate,
    operations: HashMap<Method, Arc<Operation>>,
}

/// The loaded contract.
pub struct Spec {
    paths: Vec<Route>,
    scopes: BTreeSet<String>,
    event_validator: Arc<Validator>,
    event_schema: Value,
    defs: Arc<Value>,
    deprecation: String,
    sunset: String,
}

impl fmt::Debug for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Spec")
            .field("paths", &self.paths.len())
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// What matching a request against the spec found.
#[derive(Debug, Clone)]
pub enum RouteMatch {
    /// An operation of the spec.
    Operation(Arc<Operation>),
    /// A path of the spec, but not with this method.
    MethodNotAllowed,
    /// No such path.
    NotFound,
}

fn header_example(root: &Value, name: &str) -> Option<String> {
    root.pointer(&format!("/components/headers/{name}/example"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

impl Spec {
    /// The bundled `openapi.yaml`, compiled once per process (compiling every validator takes
    /// a moment, and tests start many sandboxes).
    pub fn bundled() -> Result<Arc<Self>, SpecError> {
        static BUNDLED: OnceLock<Result<Arc<Spec>, String>> = OnceLock::new();
        BUNDLED
            .get_or_init(|| Self::from_yaml(OPENAPI_YAML).map(Arc::new).map_err(|e| e.0))
            .clone()
            .map_err(SpecError)
    }

    /// Loads a spec from YAML (or JSON) text. Every `$ref` must resolve; the error names the
    /// first that does not, with its line.
    pub fn from_yaml(text: &str) -> Result<Self, SpecError> {
        let doc = Document::parse_checked(text).map_err(|e| SpecError(e.to_string()))?;
        let root = &doc.root;
        let mut compiler =
            Compiler::new(&doc).ok_or_else(|| SpecError("components.schemas is missing".into()))?;
        let shared_defs = Arc::new(compiler.defs().clone());

        let scopes: BTreeSet<String> = root
            .pointer("/components/securitySchemes/oauth2/flows")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|flows| flows.values())
            .filter_map(|flow| flow.get("scopes").and_then(Value::as_object))
            .flat_map(|scopes| scopes.keys().cloned())
            .collect();

        let mut paths: Vec<Route> = Vec::new();
        let mut last_path = None;
        let operations = doc
            .operations()
            .ok_or_else(|| SpecError("paths is missing".into()))?;
        for op in operations {
            let operation = Self::operation(&doc, &mut compiler, &shared_defs, &op)?;
            // Operations come path by path: a path's methods share one route.
            let template = op.template();
            let method = Method::from_bytes(op.method.to_ascii_uppercase().as_bytes())
                .map_err(|e| SpecError(format!("{}: {e}", op.pointer())))?;
            match paths.last_mut() {
                Some(route) if last_path == Some(op.path) => {
                    route.operations.insert(method, Arc::new(operation));
                }
                _ => paths.push(Route {
                    template,
                    operations: HashMap::from([(method, Arc::new(operation))]),
                }),
            }
            last_path = Some(op.path);
        }
        // Literal segments win over templated ones (`/webhook_endpoints/x/rotate_secret` is
        // not an id), so try the most literal templates first.
        paths.sort_by_key(|route| route.template.parameter_count());

        let event_schema = root
            .pointer("/components/schemas/NewInteractionEvent")
            .ok_or_else(|| SpecError("components.schemas.NewInteractionEvent is missing".into()))?;
        let event_validator = compiler
            .compile(event_schema)
            .map_err(|e| SpecError(format!("NewInteractionEvent: {e}")))?;
        let mut event_schema = event_schema.clone();
        marketing_api_openapi::validate::rewrite_component_refs(&mut event_schema);
        Ok(Spec {
            paths,
            scopes,
            event_validator,
            event_schema,
            defs: shared_defs,
            deprecation: header_example(root, "Deprecation")
                .unwrap_or_else(|| "@1767225600".into()),
            sunset: header_example(root, "Sunset")
                .unwrap_or_else(|| "Wed, 01 Jul 2026 00:00:00 GMT".into()),
        })
    }

    fn operation(
        doc: &Document,
        compiler: &mut Compiler,
        defs: &Arc<Value>,
        op: &marketing_api_openapi::Operation<'_>,
    ) -> Result<Operation, SpecError> {
        let operation_id = op.id().unwrap_or(op.path).to_owned();
        let requirements = op.security().unwrap_or_default();
        let public = requirements.is_empty();
        let scopes = requirements
            .iter()
            .filter_map(|req| req.get("oauth2").and_then(Value::as_array))
            .flat_map(|scopes| scopes.iter().filter_map(Value::as_str).map(str::to_owned))
            .collect();
        let mut query = Vec::new();
        for Parameter {
            name,
            location,
            required,
            schema,
        } in op.parameters()
        {
            if location != "query" {
                continue;
            }
            let validator = compiler
                .compile(schema)
                .map_err(|e| SpecError(format!("{operation_id} parameter {name}: {e}")))?;
            query.push(QueryParam {
                param_type: ParamType::of(doc, schema),
                required,
                name: name.to_owned(),
                validator,
            });
        }
        let body = match op.request_body() {
            Some(body) => {
                let (media_type, schema) = first_content(body)
                    .map(|(media, schema)| (media.to_owned(), schema))
                    .unwrap_or_else(|| ("application/json".into(), None));
                let spec_schema = schema;
                let (validator, schema, variants) = match schema {
                    Some(schema) if media_type == "application/json" => {
                        let validator = compiler
                            .compile(schema)
                            .map_err(|e| SpecError(format!("{operation_id} request body: {e}")))?;
                        let variants = Variants::of(doc, compiler, schema).map_err(|e| {
                            SpecError(format!("{operation_id} request body: {}", e.0))
                        })?;
                        let mut schema = schema.clone();
                        marketing_api_openapi::validate::rewrite_component_refs(&mut schema);
                        (Some(validator), Some((schema, Arc::clone(defs))), variants)
                    }
                    _ => (None, None, None),
                };
                let mut parts = Vec::new();
                if media_type == "multipart/form-data"
                    && let Some(properties) = spec_schema
                        .and_then(|s| s.get("properties"))
                        .and_then(Value::as_object)
                {
                    for (part, part_schema) in properties {
                        if part_schema.get("format").and_then(Value::as_str) == Some("binary") {
                            continue;
                        }
                        let validator = compiler.compile(part_schema).map_err(|e| {
                            SpecError(format!("{operation_id} multipart part {part}: {e}"))
                        })?;
                        parts.push((part.clone(), validator));
                    }
                }
                Some(RequestBody {
                    required: body
                        .get("required")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                    media_type,
                    validator,
                    schema,
                    variants,
                    parts,
                })
            }
            None => None,
        };
        Ok(Operation {
            operation_id,
            path_template: op.path.to_owned(),
            scopes,
            public,
            deprecated: op.deprecated(),
            query,
            body,
        })
    }

    /// Where the spec marks a property `x-sensitive`, as name paths: `email` for a property
    /// matched by its name wherever it is, `properties/revenue` for a property of an object
    /// schema without an `id` that another schema holds under `properties` (matched only there,
    /// so a free-form `revenue` elsewhere is left alone). What is encrypted field by field
    /// once the account registered a key.
    pub fn sensitive_properties(&self) -> BTreeSet<String> {
        let empty = serde_json::Map::new();
        let defs = self.defs.as_object().unwrap_or(&empty);
        let members = |schema: &Value| -> Vec<(String, Value)> {
            schema
                .get("properties")
                .and_then(Value::as_object)
                .map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default()
        };
        let has_id = |schema: &Value| schema.pointer("/properties/id").is_some();
        let sensitive = |property: &Value| {
            property
                .get("x-sensitive")
                .is_some_and(|x| x.is_object() || x == &Value::Bool(true))
        };
        // The schemas a property refers to: directly, through a nullable `anyOf`, or as items.
        let targets = |property: &Value| -> Vec<String> {
            let mut found = Vec::new();
            let mut look = |node: &Value| {
                if let Some(name) = node
                    .get("$ref")
                    .and_then(Value::as_str)
                    .and_then(|r| r.strip_prefix("#/$defs/"))
                {
                    found.push(name.to_owned());
                }
            };
            look(property);
            for branch in property
                .get("anyOf")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                look(branch);
            }
            if let Some(items) = property.get("items") {
                look(items);
            }
            found
        };
        // Id-less object schemas held by a property: their members are nested, not top-level.
        let mut nested = BTreeSet::new();
        for schema in defs.values() {
            for (_, property) in members(schema) {
                for target in targets(&property) {
                    if defs.get(&target).is_some_and(|t| !has_id(t)) {
                        nested.insert(target);
                    }
                }
            }
        }
        let mut paths = BTreeSet::new();
        for (name, schema) in defs {
            for (member, property) in members(schema) {
                if sensitive(&property) && (has_id(schema) || !nested.contains(name)) {
                    paths.insert(member.clone());
                }
                for target in targets(&property) {
                    let Some(held) = defs.get(&target).filter(|t| !has_id(t)) else {
                        continue;
                    };
                    for (inner, inner_property) in members(held) {
                        if sensitive(&inner_property) {
                            paths.insert(format!("{member}/{inner}"));
                        }
                    }
                }
            }
        }
        paths
    }

    /// Every OAuth scope the spec declares.
    pub fn scopes(&self) -> &BTreeSet<String> {
        &self.scopes
    }

    /// The `Deprecation` and `Sunset` header values of deprecated operations.
    pub fn deprecation_headers(&self) -> (&str, &str) {
        (&self.deprecation, &self.sunset)
    }

    /// Finds the operation for `method` on `path` (relative to `/v1`).
    pub fn find(&self, method: &Method, path: &str) -> RouteMatch {
        let segments = split_path(path);
        let mut path_matched = false;
        // Concrete paths win over templated ones (OpenAPI's path matching rule): once a
        // template matched, one with more parameters is not a candidate, so `PATCH
        // /contacts/import` is 405, not an update of a contact named `import`.
        let mut matched_parameters = None;
        for route in &self.paths {
            let parameters = route.template.parameter_count();
            if matched_parameters.is_some_and(|fewest| parameters > fewest) {
                break;
            }
            if !route.template.matches(&segments) {
                continue;
            }
            if let Some(op) = route.operations.get(method) {
                return RouteMatch::Operation(Arc::clone(op));
            }
            path_matched = true;
            matched_parameters = Some(parameters);
        }
        if path_matched {
            RouteMatch::MethodNotAllowed
        } else {
            RouteMatch::NotFound
        }
    }

    /// Validates one event of a batch against `NewInteractionEvent`; `prefix` is its place in
    /// the batch (`events[3]`).
    pub fn validate_event(&self, event: &Value, prefix: &str) -> Result<(), ApiError> {
        first_error(&self.event_validator, event, prefix)
    }

    /// Reads one event of a batch as the handler will store it: whole numbers written with a
    /// decimal point become integers, integers outside their format are refused (see
    /// [`normalize_integers`]), then the event is validated like [`Spec::validate_event`].
    pub fn check_event(&self, event: &mut Value, prefix: &str) -> Result<(), ApiError> {
        normalize_integers(&self.event_schema, &self.defs, event, prefix)?;
        self.validate_event(event, prefix)
    }
}

impl Operation {
    /// Validates and coerces the query string: every declared parameter is checked against its
    /// schema after the text is turned into the parameter's JSON type.
    pub fn validate_query(&self, pairs: &[(String, String)]) -> Result<(), ApiError> {
        for param in &self.query {
            let value = pairs
                .iter()
                .find(|(k, _)| *k == param.name)
                .map(|(_, v)| v.as_str());
            let Some(text) = value else {
                if param.required {
                    return Err(ApiError::bad_request(
                        "missing_parameter",
                        &param.name,
                        format!("The query parameter '{}' is required.", param.name),
                    ));
                }
                continue;
            };
            let json = param.param_type.coerce(text).ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_value",
                    &param.name,
                    format!(
                        "The query parameter '{}' must be {}.",
                        param.name,
                        match param.param_type {
                            ParamType::Integer => "an integer",
                            ParamType::Number => "a number",
                            ParamType::Boolean => "true or false",
                            ParamType::String => "a string",
                        }
                    ),
                )
            })?;
            if let Some(finding) = findings(&param.validator, &json).first() {
                return Err(ApiError::bad_request(
                    "invalid_value",
                    &param.name,
                    format!(
                        "The query parameter '{}' is invalid: {}.",
                        param.name, finding.message
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Validates the JSON of a `multipart/form-data` part against its schema; errors name the
    /// field as `part.field`. A part the spec does not describe is refused.
    pub fn validate_part(&self, part: &str, value: &Value) -> Result<(), ApiError> {
        match self
            .body
            .as_ref()
            .and_then(|b| b.parts.iter().find(|(name, _)| name == part))
        {
            Some((_, validator)) => first_error(validator, value, part),
            None => Err(ApiError::bad_request(
                "unknown_field",
                part,
                format!("'{part}' is not a part of this form."),
            )),
        }
    }

    /// Validates a JSON body against the operation's request schema.
    pub fn validate_body(&self, body: &Value) -> Result<(), ApiError> {
        if let Some(variants) = self.body.as_ref().and_then(|b| b.variants.as_ref()) {
            variants.validate(body)?;
        }
        match self.body.as_ref().and_then(|b| b.validator.as_ref()) {
            Some(validator) => first_error(validator, body, ""),
            None => Ok(()),
        }
    }

    /// Reads a JSON body as the handler will see it: whole numbers written with a decimal point
    /// become integers where the schema wants an integer, integers outside their format are
    /// refused (see [`normalize_integers`]), then the body is validated like
    /// [`Operation::validate_body`].
    pub fn check_body(&self, body: &mut Value) -> Result<(), ApiError> {
        if let Some((schema, defs)) = self.body.as_ref().and_then(|b| b.schema.as_ref()) {
            normalize_integers(schema, defs, body, "")?;
        }
        self.validate_body(body)
    }
}

/// Where `schema` asks for an integer, turns a whole number written with a decimal point or an
/// exponent (`100.0`, `1e3`) into that integer, as JSON Schema counts it an integer too, and
/// rejects an integer outside its format's range (`int32`, otherwise `int64`) instead of letting
/// it be stored as something else. `prefix` names the place of `value` (`events[3]`).
pub fn normalize_integers(
    schema: &Value,
    defs: &Value,
    value: &mut Value,
    prefix: &str,
) -> Result<(), ApiError> {
    normalize_at(schema, defs, value, prefix, 0)
}

fn normalize_at(
    schema: &Value,
    defs: &Value,
    value: &mut Value,
    at: &str,
    depth: usize,
) -> Result<(), ApiError> {
    // Schemas here are finite and acyclic for data this deep; the bound only guards recursion.
    if depth > 64 {
        return Ok(());
    }
    let Value::Object(schema) = schema else {
        return Ok(());
    };
    if let Some(target) = schema.get("$ref").and_then(Value::as_str)
        && let Some(name) = target.strip_prefix("#/$defs/")
        && let Some(resolved) = defs.get(name)
    {
        normalize_at(resolved, defs, value, at, depth + 1)?;
    }
    for combinator in ["allOf", "anyOf", "oneOf"] {
        if let Some(branches) = schema.get(combinator).and_then(Value::as_array) {
            for branch in branches {
                normalize_at(branch, defs, value, at, depth + 1)?;
            }
        }
    }
    let wants_integer = match schema.get("type") {
        Some(Value::String(t)) => t == "integer",
        Some(Value::Array(types)) => {
            types.iter().any(|t| t == "integer") && !types.iter().any(|t| t == "number")
        }
        _ => false,
    };
    match value {
        Value::Number(number) if wants_integer => {
            let int32 = schema.get("format").and_then(Value::as_str) == Some("int32");
            let (min, max) = if int32 {
                (i64::from(i32::MIN), i64::from(i32::MAX))
            } else {
                (i64::MIN, i64::MAX)
            };
            let whole = if let Some(i) = number.as_i64() {
                Some(i)
            } else if number.is_u64() {
                None
            } else {
                match number.as_f64() {
                    // A fraction is left for the schema validator to report.
                    Some(f) if f.fract() != 0.0 => return Ok(()),
                    // Only integer literals are read exactly; a number with a decimal point or
                    // an exponent (or an integer literal past int64) arrives as a double, exact
                    // only below 2^53. From there on its value is unknown, so it is refused rather
                    // than rounded (`-9223372036854775809` would otherwise become i64::MIN).
                    Some(f) if f.abs() < 9_007_199_254_740_992.0 => Some(f as i64),
                    _ => None,
                }
            };
            match whole.filter(|i| (min..=max).contains(i)) {
                Some(i) => *value = Value::from(i),
                None => {
                    let param = if at.is_empty() { "body" } else { at };
                    let format = if int32 { "int32" } else { "int64" };
                    let error = ApiError::bad_request_plain(
                        "invalid_value",
                        format!(
                            "'{param}' must be a whole number from {min} to {max} ({format}); {number} is out of range (beyond 2^53, write it as an integer literal, without a decimal point or exponent)."
                        ),
                    );
                    return Err(if at.is_empty() {
                        error
                    } else {
                        error.with_param(at)
                    });
                }
            }
        }
        Value::Object(map) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            for (name, item) in map.iter_mut() {
                let item_schema = properties.and_then(|p| p.get(name)).or(additional);
                if let Some(item_schema) = item_schema {
                    normalize_at(item_schema, defs, item, &join_field(at, name), depth + 1)?;
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (index, item) in items.iter_mut().enumerate() {
                    normalize_at(
                        item_schema,
                        defs,
                        item,
                        &format!("{at}[{index}]"),
                        depth + 1,
                    )?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// Why a request body could not be read as JSON.
#[derive(Debug)]
#[non_exhaustive]
pub enum JsonBodyError {
    /// Not JSON at all.
    Syntax(serde_json::Error),
    /// An object names the same key twice; the message says which.
    DuplicateKey(String),
}

/// Parses a JSON body, refusing an object that names a key twice (RFC 8259 leaves the meaning
/// of such an object open, so no reading of it is safe: one rule for every method).
pub fn parse_json_body(bytes: &[u8]) -> Result<Value, JsonBodyError> {
    match serde_json::from_slice::<StrictValue>(bytes) {
        Ok(StrictValue(value)) => Ok(value),
        Err(e) if e.classify() == serde_json::error::Category::Data => {
            Err(JsonBodyError::DuplicateKey(e.to_string()))
        }
        Err(e) => Err(JsonBodyError::Syntax(e)),
    }
}

/// A JSON value whose objects have no repeated keys.
struct StrictValue(Value);

impl<'de> serde::Deserialize<'de> for StrictValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let StrictValue(item) = map.next_value()?;
            if object.contains_key(&key) {
                return Err(serde::de::Error::custom(format_args!(
                    "the key '{key}' appears twice in one object"
                )));
            }
            object.insert(key, item);
        }
        Ok(Value::Object(object))
    }
}

fn error_to_api(prefix: &str, finding: &Finding) -> ApiError {
    let at = finding.field(prefix);
    match &finding.kind {
        FindingKind::Required(name) => {
            let param = join_field(&at, name);
            ApiError::bad_request("missing_field", &param, format!("'{param}' is required."))
        }
        FindingKind::Unknown(names) => {
            let name = names.first().map(String::as_str).unwrap_or_default();
            let param = join_field(&at, name);
            ApiError::bad_request(
                "unknown_field",
                &param,
                format!("'{param}' is not a known field."),
            )
        }
        _ => {
            let (code, param) = if at.is_empty() {
                ("invalid_body", None)
            } else {
                ("invalid_value", Some(at.clone()))
            };
            let shown = if at.is_empty() {
                "The body".to_owned()
            } else {
                format!("'{at}'")
            };
            let error = ApiError::bad_request_plain(
                code,
                format!("{shown} is invalid: {}.", finding.message),
            );
            match param {
                Some(param) => error.with_param(param),
                None => error,
            }
        }
    }
}

fn first_error(validator: &Validator, instance: &Value, prefix: &str) -> Result<(), ApiError> {
    // Report the deepest error: for `anyOf`/`oneOf` failures the innermost one names the field.
    match findings(validator, instance)
        .iter()
        .max_by_key(|f| f.depth())
    {
        Some(finding) => Err(error_to_api(prefix, finding)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_normalized_and_kept_in_range() {
        let defs = serde_json::json!({});
        let schema = serde_json::json!({
            "type": "object",
            "properties": {
                "wide": {"type": ["integer", "null"], "format": "int64"},
                "narrow": {"type": "integer", "format": "int32"},
                "ratio": {"type": "number"},
                "list": {"type": "array", "items": {"type": "integer"}}
            }
        });
        let mut value =
            serde_json::json!({"wide": 1e3, "narrow": 4.0, "ratio": 2.0, "list": [1.0, -2e0]});
        normalize_integers(&schema, &defs, &mut value, "").unwrap();
        assert_eq!(
            value,
            serde_json::json!({"wide": 1000, "narrow": 4, "ratio": 2.0, "list": [1, -2]})
        );
        // A fraction is left for the validator; out of range is refused, naming the place.
        let mut fraction = serde_json::json!({"narrow": 1.5});
        normalize_integers(&schema, &defs, &mut fraction, "").unwrap();
        assert_eq!(fraction["narrow"], 1.5);
        for (body, param) in [
            (r#"{"wide": 9223372036854775808}"#, "wide"),
            (r#"{"wide": -9223372036854775809}"#, "wide"),
            (r#"{"wide": 1e19}"#, "wide"),
            (r#"{"narrow": 2147483648}"#, "narrow"),
            (r#"{"list": [1, 9007199254740993.0]}"#, "list[1]"),
        ] {
            let mut value: Value = serde_json::from_str(body).unwrap();
            let error = normalize_integers(&schema, &defs, &mut value, "").unwrap_err();
            assert_eq!(error.param.as_deref(), Some(param), "{body}");
            assert_eq!(error.code, "invalid_value");
        }
        let mut extremes: Value =
            serde_json::from_str(r#"{"wide": -9223372036854775808, "narrow": -2147483648}"#)
                .unwrap();
        normalize_integers(&schema, &defs, &mut extremes, "").unwrap();
        assert_eq!(extremes["wide"], i64::MIN);
    }

    #[test]
    fn duplicate_keys_are_found_at_any_depth() {
        assert!(parse_json_body(br#"{"a": 1, "b": {"c": [1, {"d": 2}]}}"#).is_ok());
        for body in [
            r#"{"a": 1, "a": 1}"#,
            r#"{"a": {"b": 1, "b": 2}}"#,
            r#"[{"x": 1}, {"y": 1, "y": null}]"#,
        ] {
            assert!(
                matches!(parse_json_body(body.as_bytes()), Err(JsonBodyError::DuplicateKey(m)) if m.contains("twice")),
                "{body}"
            );
        }
        assert!(matches!(
            parse_json_body(b"{\"a\": }"),
            Err(JsonBodyError::Syntax(_))
        ));
    }

    #[test]
    fn sensitive_properties_are_names_or_paths_under_their_holder() {
        let paths = Spec::bundled()
            .expect("the bundled spec compiles")
            .sensitive_properties();
        for expected in [
            "email",
            "phone",
            "properties/revenue",
            "properties/payment_method",
            "properties/card_last4",
        ] {
            assert!(paths.contains(expected), "{expected} in {paths:?}");
        }
        // A property of the id-less `EventProperties` is matched only under `properties`, and a
        // plain property is not sensitive.
        for absent in ["revenue", "card_last4", "properties/currency", "currency"] {
            assert!(!paths.contains(absent), "{absent} in {paths:?}");
        }
    }

    #[test]
    fn bundled_spec_loads_and_routes() {
        let spec = Spec::bundled().expect("the bundled spec compiles");
        assert!(spec.scopes().contains("campaigns:read"));
        match spec.find(&Method::GET, "/campaigns/cmp_1/stats") {
            RouteMatch::Operation(op) => assert!(op.deprecated),
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            spec.find(&Method::PUT, "/contacts"),
            RouteMatch::MethodNotAllowed
        ));
        assert!(matches!(
            spec.find(&Method::GET, "/nope"),
            RouteMatch::NotFound
        ));
    }
}
