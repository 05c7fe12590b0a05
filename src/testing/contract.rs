//! The API contract (`openapi.yaml`) turned into validators, so a test can check any request or
//! response against what the spec states, independently of the generated types.
//!
//! Every schema is compiled as JSON Schema 2020-12 with format validation on, by
//! `marketing-api-openapi` (the spec reader the generator and the sandbox use too), which also
//! follows the spec's references; this module turns what the validators find into
//! [`ContractViolation`]s per message part.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, OnceLock};

use http::{HeaderMap, Method};
use marketing_api_openapi::pointer::join_field;
use marketing_api_openapi::validate::{Compiler, FindingKind, Validator, findings};
use marketing_api_openapi::{
    Document, ParamType, Parameter, PathTemplate, first_content, split_path,
};
use serde_json::{Map, Value};

/// The contract the SDK was generated from, as bundled in this crate.
pub const OPENAPI_YAML: &str = include_str!("../../openapi.yaml");

/// Why a spec could not be turned into validators.
#[derive(Debug, Clone, thiserror::Error)]
#[error("openapi.yaml cannot be loaded as a contract: {0}")]
pub struct ContractError(String);

/// One thing that does not match the spec: where it is and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The field or parameter, e.g. `name`, `data.budget_cents`, `events[3].type`, or
    /// `query limit`; empty when the whole message or body is concerned.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// A request or response that does not match the spec, naming the operation, the part of the
/// message and every field at fault.
///
/// ```text
/// createCampaign: request body does not match the spec: `name`: required field is missing
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ContractViolation {
    /// The `operationId` (or the schema name, for [`Contract::validate_schema`]).
    pub operation: String,
    /// Which part: `request`, `request body`, `query`, `response 201`, `schema`…
    pub part: String,
    /// Every problem found, at least one.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ContractViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} does not match the spec: ",
            self.operation, self.part
        )?;
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            if problem.field.is_empty() {
                f.write_str(&problem.message)?;
            } else {
                write!(f, "`{}`: {}", problem.field, problem.message)?;
            }
        }
        Ok(())
    }
}

impl ContractViolation {
    fn new(operation: &str, part: impl Into<String>, problems: Vec<Problem>) -> Self {
        Self {
            operation: operation.to_owned(),
            part: part.into(),
            problems,
        }
    }

    /// `Ok` when nothing was found, else the violation listing `problems`.
    fn check(
        operation: &str,
        part: impl Into<String>,
        problems: Vec<Problem>,
    ) -> Result<(), ContractViolation> {
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Self::new(operation, part, problems))
        }
    }

    fn one(
        operation: &str,
        part: impl Into<String>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self::new(
            operation,
            part,
            vec![Problem {
                field: field.into(),
                message: message.into(),
            }],
        )
    }

    /// Whether some problem concerns `field` (exactly, or a field under it).
    pub fn names_field(&self, field: &str) -> bool {
        self.problems.iter().any(|p| {
            p.field == field
                || p.field.ends_with(&format!(".{field}"))
                || p.field.starts_with(&format!("{field}."))
        })
    }
}

struct TextValidator {
    name: String,
    required: bool,
    kind: ParamType,
    validator: Arc<Validator>,
}

struct BodyContract {
    required: bool,
    /// Each declared media type with its schema, in the spec's order; a request is checked
    /// against the one its `Content-Type` names (an import takes `text/csv` or a form).
    contents: Vec<(String, Option<Arc<Validator>>)>,
}

struct ResponseContract {
    /// `application/json` body schema; `None` when the response declares no content.
    body: Option<Arc<Validator>>,
    /// Declared media type, if any.
    media_type: Option<String>,
    headers: Vec<TextValidator>,
}

/// What the spec states about one operation.
pub struct OperationContract {
    id: String,
    method: Method,
    path_template: String,
    template: PathTemplate,
    runtime: bool,
    deprecated: bool,
    secured: bool,
    query: Vec<TextValidator>,
    idempotency_key: Option<Arc<Validator>>,
    body: Option<BodyContract>,
    responses: BTreeMap<String, ResponseContract>,
}

impl fmt::Debug for OperationContract {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OperationContract")
            .field("id", &self.id)
            .field("method", &self.method)
            .field("path_template", &self.path_template)
            .finish_non_exhaustive()
    }
}

/// The whole spec as validators: operations matched by method and path, component schemas by
/// name, webhook bodies by event type.
///
/// ```
/// use marketing_api::testing::Contract;
///
/// let contract = Contract::bundled()?;
/// let op = contract.operation("createCampaign").expect("in the spec");
/// let violation = op
///     .validate_request_body(br#"{"budget_cents": 500}"#)
///     .unwrap_err();
/// assert!(violation.names_field("name"));
/// # Ok::<(), marketing_api::testing::ContractError>(())
/// ```
pub struct Contract {
    operations: Vec<OperationContract>,
    schemas: BTreeMap<String, Arc<Validator>>,
    examples: Vec<(String, Value)>,
    webhooks: BTreeMap<String, Arc<Validator>>,
}

impl fmt::Debug for Contract {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Contract")
            .field("operations", &self.operations.len())
            .field("schemas", &self.schemas.len())
            .finish_non_exhaustive()
    }
}

/// Every schema error as a problem, deepest first, duplicates removed.
fn schema_problems(validator: &Validator, instance: &Value) -> Vec<Problem> {
    let mut problems: Vec<(usize, Problem)> = findings(validator, instance)
        .into_iter()
        .flat_map(|finding| {
            let depth = finding.depth();
            let at = finding.field("");
            let found: Vec<Problem> = match finding.kind {
                FindingKind::Required(property) => vec![Problem {
                    field: join_field(&at, &property),
                    message: "required field is missing".into(),
                }],
                FindingKind::Unknown(unexpected) => unexpected
                    .iter()
                    .map(|name| Problem {
                        field: join_field(&at, name),
                        message: "field is not declared by the schema".into(),
                    })
                    .collect(),
                _ => vec![Problem {
                    field: at,
                    message: finding.message,
                }],
            };
            found.into_iter().map(move |p| (depth, p))
        })
        .collect();
    // The deepest errors name the field; the `anyOf` wrappers around them add only noise.
    problems.sort_by_key(|(depth, _)| std::cmp::Reverse(*depth));
    let deepest = problems.first().map_or(0, |(d, _)| *d);
    let mut out: Vec<Problem> = Vec::new();
    for (depth, problem) in problems {
        let is_wrapper = depth < deepest && out.iter().any(|p| p.field.starts_with(&problem.field));
        if !is_wrapper && !out.contains(&problem) {
            out.push(problem);
        }
    }
    out
}

fn media_type_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
}

/// The parts of a `multipart/form-data` body as one JSON object, so the form's schema can
/// validate it: a part sent as `application/json` is its JSON, any other part a string (its
/// text, or for a file a placeholder: a schema says nothing about a file's bytes).
fn multipart_fields(body: &[u8]) -> Result<Value, String> {
    fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
        haystack.windows(needle.len()).position(|w| w == needle)
    }
    let first_line = find(body, b"\r\n").ok_or("no boundary line")?;
    let boundary = body[..first_line]
        .strip_prefix(b"--")
        .filter(|b| !b.is_empty())
        .ok_or("the body does not start with a boundary")?;
    let delimiter = [b"\r\n--".as_slice(), boundary].concat();
    let mut rest = &body[first_line + 2..];
    let mut fields = serde_json::Map::new();
    loop {
        let end = find(rest, &delimiter).ok_or("a part is not closed by the boundary")?;
        let (part, after) = (&rest[..end], &rest[end + delimiter.len()..]);
        let split = find(part, b"\r\n\r\n").ok_or("a part has no blank line after its headers")?;
        let headers = String::from_utf8_lossy(&part[..split]);
        let content = &part[split + 4..];
        let mut name = None;
        let mut filename = false;
        let mut json = false;
        for line in headers.split("\r\n") {
            let (header, value) = line.split_once(':').unwrap_or((line, ""));
            if header.eq_ignore_ascii_case("content-disposition") {
                name = value
                    .split(';')
                    .filter_map(|p| p.trim().strip_prefix("name="))
                    .map(|n| n.trim_matches('"').to_owned())
                    .next();
                filename = value.contains("filename=");
            } else if header.eq_ignore_ascii_case("content-type") {
                json = value
                    .trim()
                    .to_ascii_lowercase()
                    .starts_with("application/json");
            }
        }
        let name = name.ok_or("a part has no Content-Disposition name")?;
        let value = if json {
            serde_json::from_slice(content)
                .map_err(|e| format!("part `{name}` is not JSON: {e}"))?
        } else if filename {
            Value::String(format!("<{} bytes>", content.len()))
        } else {
            Value::String(String::from_utf8_lossy(content).into_owned())
        };
        fields.insert(name, value);
        if after.starts_with(b"--") {
            return Ok(Value::Object(fields));
        }
        rest = after
            .strip_prefix(b"\r\n")
            .ok_or("a boundary is not followed by a line break")?;
    }
}

/// A problem when the `Content-Type` sent is not the `declared` media type.
fn content_type_problem(headers: &HeaderMap, declared: &str) -> Option<Problem> {
    let sent = media_type_of(headers);
    (sent.as_deref() != Some(declared)).then(|| Problem {
        field: "header Content-Type".into(),
        message: format!(
            "is {}, the spec declares {declared}",
            sent.as_deref().unwrap_or("absent")
        ),
    })
}

impl Contract {
    /// The bundled `openapi.yaml`, compiled once per process.
    ///
    /// # Errors
    /// [`ContractError`] if the bundled spec cannot be compiled (a build of a broken spec).
    pub fn bundled() -> Result<&'static Contract, ContractError> {
        static BUNDLED: OnceLock<Result<Contract, ContractError>> = OnceLock::new();
        BUNDLED
            .get_or_init(|| Contract::from_yaml(OPENAPI_YAML))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Loads a contract from the YAML text of a spec.
    ///
    /// # Errors
    /// [`ContractError`] naming the part of the spec that is not valid YAML or whose schema
    /// does not compile.
    pub fn from_yaml(text: &str) -> Result<Contract, ContractError> {
        let doc = Document::parse_checked(text).map_err(|e| ContractError(e.to_string()))?;
        let root = &doc.root;
        let mut compiler = Compiler::new(&doc)
            .ok_or_else(|| ContractError("components.schemas is missing".into()))?;

        let mut schemas = BTreeMap::new();
        let mut examples = Vec::new();
        if let Some(map) = root
            .pointer("/components/schemas")
            .and_then(Value::as_object)
        {
            for (name, schema) in map {
                let reference = Value::Object(Map::from_iter([(
                    "$ref".to_owned(),
                    Value::String(format!("#/components/schemas/{name}")),
                )]));
                schemas.insert(
                    name.clone(),
                    compile(
                        &mut compiler,
                        &reference,
                        &format!("components.schemas.{name}"),
                    )?,
                );
                if let Some(example) = schema.get("example") {
                    examples.push((name.clone(), example.clone()));
                }
                if let Some(Value::Array(list)) = schema.get("examples") {
                    examples.extend(list.iter().map(|e| (name.clone(), e.clone())));
                }
            }
        }

        let mut operations = doc
            .operations()
            .ok_or_else(|| ContractError("paths is missing".into()))?
            .iter()
            .map(|op| operation(&doc, &mut compiler, op))
            .collect::<Result<Vec<_>, _>>()?;
        // Literal segments win over parameters (`/x/{id}/replay` is not an id).
        operations.sort_by_key(|op| op.template.parameter_count());

        let mut webhooks = BTreeMap::new();
        if let Some(map) = root.get("webhooks").and_then(Value::as_object) {
            for (event, item) in map {
                let schema = item
                    .pointer("/post/requestBody/content/application~1json/schema")
                    .ok_or_else(|| {
                        ContractError(format!("webhooks.{event}: no application/json body"))
                    })?;
                webhooks.insert(
                    event.clone(),
                    compile(&mut compiler, schema, &format!("webhooks.{event}"))?,
                );
            }
        }
        Ok(Contract {
            operations,
            schemas,
            examples,
            webhooks,
        })
    }

    /// Every operation of the spec, the OAuth endpoints (`x-sdk-runtime`) included.
    pub fn operations(&self) -> impl Iterator<Item = &OperationContract> {
        self.operations.iter()
    }

    /// The operation with this `operationId`.
    pub fn operation(&self, id: &str) -> Option<&OperationContract> {
        self.operations.iter().find(|op| op.id == id)
    }

    /// The operation a request for `method` on `path` (relative to the server URL, e.g.
    /// `/campaigns/cmp_1`) is for.
    pub fn find(&self, method: &Method, path: &str) -> Option<&OperationContract> {
        let segments = split_path(path);
        // A concrete path wins over a templated one that also matches (`/contacts/export`
        // over `/contacts/{contact_id}`), whatever their order in the spec.
        self.operations
            .iter()
            .filter(|op| op.method == method && op.template.matches(&segments))
            .min_by_key(|op| op.template.parameter_count())
    }

    /// Every component schema name.
    pub fn schema_names(&self) -> impl Iterator<Item = &str> {
        self.schemas.keys().map(String::as_str)
    }

    /// Every `example` (and `examples` entry) of every component schema, with the schema name.
    pub fn schema_examples(&self) -> &[(String, Value)] {
        &self.examples
    }

    /// Validates a JSON value against the component schema `name`.
    ///
    /// # Errors
    /// A [`ContractViolation`] (operation = the schema name, part `schema`) listing every field
    /// at fault, or naming the schema if it does not exist.
    pub fn validate_schema(&self, name: &str, value: &Value) -> Result<(), ContractViolation> {
        let Some(validator) = self.schemas.get(name) else {
            return Err(ContractViolation::one(
                name,
                "schema",
                "",
                "no such component schema in the spec",
            ));
        };
        let problems = schema_problems(validator, value);
        ContractViolation::check(name, "schema", problems)
    }

    /// Validates a webhook body against the schema of its event type (`contact.created`).
    ///
    /// # Errors
    /// A [`ContractViolation`] (operation = the event type) for a body that does not match,
    /// that is not JSON, or whose event type the spec does not declare.
    pub fn validate_webhook(&self, event_type: &str, body: &[u8]) -> Result<(), ContractViolation> {
        let Some(validator) = self.webhooks.get(event_type) else {
            return Err(ContractViolation::one(
                event_type,
                "webhook",
                "type",
                "event type is not declared under `webhooks`",
            ));
        };
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            ContractViolation::one(event_type, "webhook body", "", format!("not JSON: {e}"))
        })?;
        let problems = schema_problems(validator, &value);
        ContractViolation::check(event_type, "webhook body", problems)
    }
}

/// Compiles `schema`, naming `what` (its place in the spec) if it does not compile.
fn compile(
    compiler: &mut Compiler,
    schema: &Value,
    what: &str,
) -> Result<Arc<Validator>, ContractError> {
    compiler
        .compile(schema)
        .map_err(|e| ContractError(format!("{what}: {e}")))
}

fn text_validators(
    doc: &Document,
    compiler: &mut Compiler,
    params: &[Parameter<'_>],
    location: &str,
    what: &str,
) -> Result<Vec<TextValidator>, ContractError> {
    params
        .iter()
        .map(|param| {
            Ok(TextValidator {
                name: param.name.to_owned(),
                required: param.required,
                kind: ParamType::of(doc, param.schema),
                validator: compile(
                    compiler,
                    param.schema,
                    &format!("{location} {what} {}", param.name),
                )?,
            })
        })
        .collect()
}

fn operation(
    doc: &Document,
    compiler: &mut Compiler,
    op: &marketing_api_openapi::Operation<'_>,
) -> Result<OperationContract, ContractError> {
    let location = format!("paths.{}.{}", op.path, op.method);
    let id = op
        .id()
        .ok_or_else(|| ContractError(format!("{location}: operationId is missing")))?
        .to_owned();
    let all = op.parameters();
    let located = |place: &str| -> Vec<Parameter<'_>> {
        all.iter()
            .copied()
            .filter(|p| p.location == place)
            .collect()
    };
    let query = text_validators(doc, compiler, &located("query"), &location, "query")?;
    let idempotency_key = match located("header")
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case("Idempotency-Key"))
    {
        Some(param) => Some(compile(
            compiler,
            param.schema,
            &format!("{location} Idempotency-Key"),
        )?),
        None => None,
    };
    let secured = op
        .security()
        .is_some_and(|requirements| !requirements.is_empty());
    let body = match op.request_body() {
        None => None,
        Some(body) => {
            let mut contents = Vec::new();
            for (media_type, media) in body
                .get("content")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                let validator = match media.get("schema") {
                    Some(schema) => Some(compile(
                        compiler,
                        schema,
                        &format!("{location} request body {media_type}"),
                    )?),
                    None => None,
                };
                contents.push((media_type.clone(), validator));
            }
            if contents.is_empty() {
                return Err(ContractError(format!(
                    "{location}: requestBody has no content"
                )));
            }
            Some(BodyContract {
                required: body
                    .get("required")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                contents,
            })
        }
    };
    let mut responses = BTreeMap::new();
    for (status, response) in op.responses() {
        let (media_type, body) = match first_content(response) {
            Some((media, schema)) => {
                let validator = match schema {
                    Some(schema) if media == "application/json" => Some(compile(
                        compiler,
                        schema,
                        &format!("{location} response {status}"),
                    )?),
                    _ => None,
                };
                (Some(media.to_owned()), validator)
            }
            None => (None, None),
        };
        // A header object is a parameter without `name` and `in`: its key is the name.
        let header_params: Vec<Parameter<'_>> = response
            .get("headers")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(name, header)| Parameter {
                name,
                ..Parameter::read(doc.follow(header))
            })
            .collect();
        let headers = text_validators(
            doc,
            compiler,
            &header_params,
            &location,
            &format!("response {status} header"),
        )?;
        responses.insert(
            status.to_owned(),
            ResponseContract {
                body,
                media_type,
                headers,
            },
        );
    }
    let method = Method::from_bytes(op.method.to_ascii_uppercase().as_bytes())
        .map_err(|e| ContractError(format!("{location}: {e}")))?;
    Ok(OperationContract {
        id,
        template: op.template(),
        path_template: op.path.to_owned(),
        method,
        runtime: op
            .op
            .get("x-sdk-runtime")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        deprecated: op.deprecated(),
        secured,
        query,
        idempotency_key,
        body,
        responses,
    })
}

fn validate_text(
    label: &str,
    declared: &[TextValidator],
    sent: &[(String, String)],
) -> Vec<Problem> {
    let mut problems = Vec::new();
    for param in declared {
        let values: Vec<&str> = sent
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(&param.name))
            .map(|(_, v)| v.as_str())
            .collect();
        let field = format!("{label} {}", param.name);
        match values.as_slice() {
            [] if param.required => problems.push(Problem {
                field,
                message: format!("required {label} is missing"),
            }),
            [] => {}
            [text] => match param.kind.coerce(text) {
                None => problems.push(Problem {
                    field,
                    message: format!("`{text}` is not a {:?}", param.kind).to_lowercase(),
                }),
                Some(json) => {
                    for problem in schema_problems(&param.validator, &json) {
                        problems.push(Problem {
                            field: field.clone(),
                            message: problem.message,
                        });
                    }
                }
            },
            _ => problems.push(Problem {
                field,
                message: format!("sent {} times; the spec declares one value", values.len()),
            }),
        }
    }
    problems
}

impl OperationContract {
    /// The `operationId`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The HTTP method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The path template relative to the server URL, e.g. `/campaigns/{campaign_id}`.
    pub fn path_template(&self) -> &str {
        &self.path_template
    }

    /// Implemented by the SDK's auth runtime rather than generated (`x-sdk-runtime: true`).
    pub fn is_runtime(&self) -> bool {
        self.runtime
    }

    /// Marked `deprecated: true`.
    pub fn is_deprecated(&self) -> bool {
        self.deprecated
    }

    /// The status codes the spec declares for it (`"200"`, `"4XX"`, `"default"`…).
    pub fn statuses(&self) -> impl Iterator<Item = &str> {
        self.responses.keys().map(String::as_str)
    }

    /// Validates a whole request: query string, headers (credentials, `Idempotency-Key`,
    /// `Content-Type`) and body.
    ///
    /// # Errors
    /// A [`ContractViolation`] listing every problem found.
    pub fn validate_request(
        &self,
        query: Option<&str>,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), ContractViolation> {
        let mut problems = Vec::new();
        let sent: Vec<(String, String)> =
            url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
        for (name, _) in &sent {
            if !self.query.iter().any(|p| &p.name == name) {
                problems.push(Problem {
                    field: format!("query {name}"),
                    message: "query parameter is not declared by the operation".into(),
                });
            }
        }
        problems.extend(validate_text("query", &self.query, &sent));

        if self.secured
            && !headers.contains_key("x-api-key")
            && !headers
                .get(http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.len() > 7 && v[..7].eq_ignore_ascii_case("bearer "))
        {
            problems.push(Problem {
                field: "header Authorization".into(),
                message: "no credential: the operation requires `oauth2` (Bearer) or `apiKey` (X-Api-Key)".into(),
            });
        }
        if let Some(key) = headers.get("idempotency-key") {
            match &self.idempotency_key {
                None => problems.push(Problem {
                    field: "header Idempotency-Key".into(),
                    message: "sent, but the operation does not declare it".into(),
                }),
                Some(validator) => {
                    let text = Value::String(String::from_utf8_lossy(key.as_bytes()).into_owned());
                    for problem in schema_problems(validator, &text) {
                        problems.push(Problem {
                            field: "header Idempotency-Key".into(),
                            message: problem.message,
                        });
                    }
                }
            }
        }
        match (&self.body, body.is_empty()) {
            (None, true) => {}
            (None, false) => problems.push(Problem {
                field: String::new(),
                message: "a body was sent, but the operation declares no requestBody".into(),
            }),
            (Some(contract), true) => {
                if contract.required {
                    problems.push(Problem {
                        field: String::new(),
                        message: "the required request body is missing".into(),
                    });
                }
            }
            (Some(contract), false) => {
                let sent = media_type_of(headers);
                match contract
                    .contents
                    .iter()
                    .find(|(media, _)| Some(media.as_str()) == sent.as_deref())
                {
                    Some(content) => {
                        if let Err(violation) = self.validate_body_as(content, body) {
                            problems.extend(violation.problems);
                        }
                    }
                    None => {
                        let declared: Vec<&str> =
                            contract.contents.iter().map(|(m, _)| m.as_str()).collect();
                        problems.push(Problem {
                            field: "header Content-Type".into(),
                            message: format!(
                                "is {}, the spec declares {}",
                                sent.as_deref().unwrap_or("absent"),
                                declared.join(" or ")
                            ),
                        });
                    }
                }
            }
        }
        ContractViolation::check(&self.id, "request", problems)
    }

    /// Validates a request body alone against the operation's request schema. Form bodies
    /// (`application/x-www-form-urlencoded`) are checked field by field as strings;
    /// `multipart/form-data` bodies part by part: JSON parts as JSON, the others as strings.
    ///
    /// # Errors
    /// A [`ContractViolation`] (part `request body`) naming every field at fault.
    pub fn validate_request_body(&self, body: &[u8]) -> Result<(), ContractViolation> {
        let Some(content) = self.body.as_ref().and_then(|c| c.contents.first()) else {
            return Err(ContractViolation::one(
                &self.id,
                "request body",
                "",
                "the operation declares no requestBody",
            ));
        };
        self.validate_body_as(content, body)
    }

    /// Validates a request body as the media type `content` declares, against its schema.
    /// Text bodies (`text/csv`) are checked as one string; other non-JSON media types
    /// (binary files) only by their content type.
    fn validate_body_as(
        &self,
        (media_type, validator): &(String, Option<Arc<Validator>>),
        body: &[u8],
    ) -> Result<(), ContractViolation> {
        let part = "request body";
        let json = media_type == "application/json" || media_type.ends_with("+json");
        let value: Value = if media_type == "application/x-www-form-urlencoded" {
            Value::Object(
                url::form_urlencoded::parse(body)
                    .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
                    .collect(),
            )
        } else if media_type == "multipart/form-data" {
            multipart_fields(body).map_err(|message| {
                ContractViolation::one(
                    &self.id,
                    part,
                    "",
                    format!("not multipart/form-data: {message}"),
                )
            })?
        } else if json {
            serde_json::from_slice(body)
                .map_err(|e| ContractViolation::one(&self.id, part, "", format!("not JSON: {e}")))?
        } else if media_type.starts_with("text/") {
            let text = std::str::from_utf8(body).map_err(|e| {
                ContractViolation::one(&self.id, part, "", format!("not UTF-8 text: {e}"))
            })?;
            Value::String(text.to_owned())
        } else {
            return Ok(());
        };
        let problems = validator
            .as_ref()
            .map(|v| schema_problems(v, &value))
            .unwrap_or_default();
        ContractViolation::check(&self.id, part, problems)
    }

    /// Validates a response: the status must be declared, the declared headers present and
    /// valid, and the body must match the schema of that status (or be empty when the status
    /// declares no content).
    ///
    /// # Errors
    /// A [`ContractViolation`] (part `response <status>`) listing every problem found.
    pub fn validate_response(
        &self,
        status: u16,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), ContractViolation> {
        let part = format!("response {status}");
        let code = status.to_string();
        let range = format!("{}XX", status / 100);
        let Some(contract) = self
            .responses
            .get(&code)
            .or_else(|| self.responses.get(&range))
            .or_else(|| self.responses.get("default"))
        else {
            return Err(ContractViolation::one(
                &self.id,
                part,
                "status",
                format!("{status} is not a status the spec declares for this operation"),
            ));
        };
        let sent: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut problems = validate_text("header", &contract.headers, &sent);
        match (&contract.media_type, body.is_empty()) {
            (None, true) => {}
            (None, false) => problems.push(Problem {
                field: String::new(),
                message: "a body was sent, but the status declares no content".into(),
            }),
            (Some(media), true) => problems.push(Problem {
                field: String::new(),
                message: format!("the body is empty; the spec declares {media}"),
            }),
            (Some(media), false) => {
                problems.extend(content_type_problem(headers, media));
                if let Some(validator) = &contract.body {
                    match serde_json::from_slice::<Value>(body) {
                        Ok(value) => problems.extend(schema_problems(validator, &value)),
                        Err(e) => problems.push(Problem {
                            field: String::new(),
                            message: format!("the body is not JSON: {e}"),
                        }),
                    }
                }
            }
        }
        ContractViolation::check(&self.id, part, problems)
    }

    /// The media type the spec declares for the answer with `status`, if it has a body.
    pub(crate) fn response_media_type(&self, status: u16) -> Option<&str> {
        let range = format!("{}XX", status / 100);
        self.responses
            .get(&status.to_string())
            .or_else(|| self.responses.get(&range))
            .or_else(|| self.responses.get("default"))
            .and_then(|r| r.media_type.as_deref())
    }

    /// Validates a response body alone (no header checks) against the schema of `status`.
    ///
    /// # Errors
    /// As [`validate_response`](Self::validate_response), without the header checks.
    pub fn validate_response_body(
        &self,
        status: u16,
        body: &[u8],
    ) -> Result<(), ContractViolation> {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        match self.validate_response(status, &headers, body) {
            Ok(()) => Ok(()),
            Err(mut violation) => {
                violation
                    .problems
                    .retain(|p| !p.field.starts_with("header "));
                if violation.problems.is_empty() {
                    Ok(())
                } else {
                    Err(violation)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multipart_form_is_validated_part_by_part() -> Result<(), ContractError> {
        let op = Contract::bundled()?
            .operation("uploadCreativeAsset")
            .expect("in the spec");
        let form = |metadata: &str| {
            format!(
                "--b1\r\nContent-Disposition: form-data; name=\"metadata\"\r\nContent-Type: application/json\r\n\r\n{metadata}\r\n\
                 --b1\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\nPNG\r\n--b1--\r\n"
            )
        };
        op.validate_request_body(form(r#"{"name": "Hero"}"#).as_bytes())
            .expect("a valid form");
        let violation = op
            .validate_request_body(form(r#"{"name": ""}"#).as_bytes())
            .expect_err("an empty name");
        assert!(
            violation
                .problems
                .iter()
                .any(|p| p.field == "metadata.name"),
            "{violation}"
        );
        let violation = op
            .validate_request_body(
                b"--b1\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n",
            )
            .expect_err("not closed");
        assert!(violation.to_string().contains("not closed"), "{violation}");
        Ok(())
    }

    #[test]
    fn a_content_type_other_than_the_declared_one_is_named() -> Result<(), ContractError> {
        let op = Contract::bundled()?
            .operation("createCampaign")
            .expect("in the spec");
        let body = br#"{"name": "n", "budget_cents": 1}"#;
        let mut headers = HeaderMap::new();
        headers.insert("x-api-key", http::HeaderValue::from_static("k"));
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        let violation = op
            .validate_request(None, &headers, body)
            .expect_err("text/plain is not declared");
        let problem = violation
            .problems
            .iter()
            .find(|p| p.field == "header Content-Type")
            .expect("the Content-Type is named");
        assert_eq!(
            problem.message,
            "is text/plain, the spec declares application/json"
        );
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("Application/JSON"),
        );
        let violation = op.validate_request(None, &headers, body).err();
        assert!(
            !violation.is_some_and(|v| v.names_field("header Content-Type")),
            "media types compare without case"
        );
        headers.remove(http::header::CONTENT_TYPE);
        let violation = op
            .validate_response(422, &headers, br#"{"error": {}}"#)
            .expect_err("no Content-Type on a JSON response");
        assert!(violation.problems.iter().any(|p| {
            p.field == "header Content-Type"
                && p.message
                    .starts_with("is absent, the spec declares application/")
        }));
        Ok(())
    }

    #[test]
    fn routes_prefer_literal_segments() -> Result<(), ContractError> {
        let contract = Contract::bundled()?;
        let op = contract.find(&Method::POST, "/webhook_deliveries/whd_1/replay");
        assert_eq!(op.map(|o| o.id()), Some("replayWebhookDelivery"));
        let op = contract.find(&Method::GET, "/campaigns/cmp_1");
        assert_eq!(op.map(|o| o.id()), Some("getCampaign"));
        assert!(contract.find(&Method::PUT, "/contacts").is_none());
        Ok(())
    }
}
