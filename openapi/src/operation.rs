//! The operations of a spec as tools that serve or check HTTP messages read them: method and
//! path template, parameters with the JSON type their text stands for, security, request body.

use crate::Document;
use crate::pointer::escape_token;
use serde_json::Value;

/// The HTTP methods read from a path item, in this order.
pub const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// The schema of a parameter that declares none: anything goes.
static ANY: Value = Value::Bool(true);

/// One operation of the spec: a method under a path, with the means to read its parts.
#[derive(Debug, Clone, Copy)]
pub struct Operation<'a> {
    /// The path template as written (`/campaigns/{campaign_id}`).
    pub path: &'a str,
    /// The method, lowercase as in the spec (`get`).
    pub method: &'static str,
    /// The path item (shared `parameters` live here).
    pub item: &'a Value,
    /// The operation object.
    pub op: &'a Value,
    doc: &'a Document,
}

impl Document {
    /// Every operation under `paths`, path by path in document order and, within a path, in the
    /// order of [`METHODS`]. `None` when the document has no `paths` mapping.
    pub fn operations(&self) -> Option<Vec<Operation<'_>>> {
        let paths = self.root.get("paths")?.as_object()?;
        let mut out = Vec::new();
        for (path, item) in paths {
            // A path item may itself be a `$ref`.
            let item = self.follow(item);
            for method in METHODS {
                if let Some(op) = item.get(method) {
                    out.push(Operation {
                        path,
                        method,
                        item,
                        op,
                        doc: self,
                    });
                }
            }
        }
        Some(out)
    }
}

impl<'a> Operation<'a> {
    /// Its JSON pointer (`/paths/~1campaigns/get`).
    pub fn pointer(&self) -> String {
        format!("/paths/{}/{}", escape_token(self.path), self.method)
    }

    /// `operationId`, if declared.
    pub fn id(&self) -> Option<&'a str> {
        self.op.get("operationId").and_then(Value::as_str)
    }

    /// `deprecated: true`.
    pub fn deprecated(&self) -> bool {
        self.op
            .get("deprecated")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// Its security requirements: its own `security`, else the document's; `None` when neither
    /// declares any. An empty list (`security: []`) means no credential is needed.
    pub fn security(&self) -> Option<&'a [Value]> {
        self.op
            .get("security")
            .or_else(|| self.doc.root.get("security"))
            .and_then(Value::as_array)
            .map(Vec::as_slice)
    }

    /// The path item's parameters, then the operation's own, references followed.
    pub fn parameters(&self) -> Vec<Parameter<'a>> {
        let list = |value: &'a Value| {
            value
                .get("parameters")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default()
        };
        list(self.item)
            .iter()
            .chain(list(self.op))
            .map(|p| Parameter::read(self.doc.follow(p)))
            .collect()
    }

    /// The request body object, its reference followed.
    pub fn request_body(&self) -> Option<&'a Value> {
        self.op.get("requestBody").map(|b| self.doc.follow(b))
    }

    /// The `responses` mapping, status by status, references followed.
    pub fn responses(&self) -> Vec<(&'a str, &'a Value)> {
        self.op
            .get("responses")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(status, response)| (status.as_str(), self.doc.follow(response)))
            .collect()
    }

    /// Its path template, to match request paths with.
    pub fn template(&self) -> PathTemplate {
        PathTemplate::parse(self.path)
    }
}

/// The first media type of a request body or response's `content`, with its schema.
pub fn first_content(body_or_response: &Value) -> Option<(&str, Option<&Value>)> {
    body_or_response
        .get("content")
        .and_then(Value::as_object)
        .and_then(|content| content.iter().next())
        .map(|(media, object)| (media.as_str(), object.get("schema")))
}

/// A parameter (or a header object given its name) as a reader of messages needs it.
#[derive(Debug, Clone, Copy)]
pub struct Parameter<'a> {
    /// `name` (empty when missing).
    pub name: &'a str,
    /// `in`: `query`, `header`, `path` or `cookie` (empty when missing).
    pub location: &'a str,
    /// `required: true`.
    pub required: bool,
    /// `schema`, or the schema `true` when there is none.
    pub schema: &'a Value,
}

impl<'a> Parameter<'a> {
    /// Reads a parameter object (references already followed).
    pub fn read(param: &'a Value) -> Self {
        let text = |key: &str| param.get(key).and_then(Value::as_str).unwrap_or_default();
        Parameter {
            name: text("name"),
            location: text("in"),
            required: param
                .get("required")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            schema: param.get("schema").unwrap_or(&ANY),
        }
    }
}

/// The JSON type the text of a parameter or header stands for, read from its schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    /// Kept as a string.
    String,
    /// A signed integer.
    Integer,
    /// A floating-point number.
    Number,
    /// `true` or `false`.
    Boolean,
}

impl ParamType {
    /// The type `schema` declares (references followed; the first non-null type of a
    /// `type: [T, "null"]` list); a string when it declares none.
    pub fn of(doc: &Document, schema: &Value) -> Self {
        let schema = doc.follow(schema);
        let kind = match schema.get("type") {
            Some(Value::String(t)) => t.as_str(),
            Some(Value::Array(types)) => types
                .iter()
                .filter_map(Value::as_str)
                .find(|t| *t != "null")
                .unwrap_or("string"),
            _ => "string",
        };
        match kind {
            "integer" => Self::Integer,
            "number" => Self::Number,
            "boolean" => Self::Boolean,
            _ => Self::String,
        }
    }

    /// `text` as a JSON value of this type, for a schema validator; `None` when it is not one
    /// (`12x` for an integer, `inf` for a number: JSON has no infinities).
    ///
    /// ```
    /// use marketing_api_openapi::ParamType;
    /// assert_eq!(ParamType::Integer.coerce("-12"), Some(serde_json::json!(-12)));
    /// assert_eq!(ParamType::Number.coerce("inf"), None);
    /// assert_eq!(ParamType::Boolean.coerce("yes"), None);
    /// ```
    pub fn coerce(self, text: &str) -> Option<Value> {
        Some(match self {
            Self::String => Value::String(text.to_owned()),
            Self::Integer => Value::from(text.parse::<i64>().ok()?),
            Self::Number => Value::from(text.parse::<f64>().ok().filter(|n| n.is_finite())?),
            Self::Boolean => Value::Bool(text.parse::<bool>().ok()?),
        })
    }
}

/// A path template split into segments, each a literal or a parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathTemplate {
    /// The segments between slashes; `None` for a `{parameter}`.
    pub segments: Vec<Option<String>>,
}

impl PathTemplate {
    /// Splits `/campaigns/{campaign_id}/ads` into its segments.
    pub fn parse(path: &str) -> Self {
        let segments = path
            .trim_matches('/')
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') && segment.ends_with('}') {
                    None
                } else {
                    Some(segment.to_owned())
                }
            })
            .collect();
        Self { segments }
    }

    /// How many segments are parameters. Templates sorted by it (fewest first) try literal
    /// segments before parameters: `/webhook_deliveries/{id}/replay` is no match for
    /// `/webhook_deliveries/{id}` anyway, but `/x/literal` must win over `/x/{id}`.
    pub fn parameter_count(&self) -> usize {
        self.segments.iter().filter(|s| s.is_none()).count()
    }

    /// Whether a request path, split with [`split_path`], fits: same number of segments, each
    /// literal equal, each parameter non-empty.
    ///
    /// ```
    /// use marketing_api_openapi::{PathTemplate, split_path};
    /// let template = PathTemplate::parse("/campaigns/{campaign_id}/ads");
    /// assert!(template.matches(&split_path("/campaigns/cmp_1/ads")));
    /// assert!(!template.matches(&split_path("/campaigns//ads")));
    /// assert!(!template.matches(&split_path("/campaigns/cmp_1")));
    /// ```
    pub fn matches(&self, segments: &[&str]) -> bool {
        self.segments.len() == segments.len()
            && self
                .segments
                .iter()
                .zip(segments)
                .all(|(template, actual)| match template {
                    Some(literal) => literal == actual,
                    None => !actual.is_empty(),
                })
    }
}

/// A request path split into segments for [`PathTemplate::matches`]: split once, matched against
/// every template.
pub fn split_path(path: &str) -> Vec<&str> {
    path.trim_matches('/').split('/').collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = r##"
openapi: 3.1.0
security: [{oauth2: [read]}]
paths:
  /things/{id}:
    parameters:
      - $ref: '#/components/parameters/Id'
    get:
      operationId: getThing
      parameters:
        - {name: limit, in: query, schema: {$ref: '#/components/schemas/Limit'}}
        - {name: flag, in: query, required: true, schema: {type: [boolean, "null"]}}
        - {name: free, in: query}
      responses:
        '200': {$ref: '#/components/responses/Ok'}
    delete:
      operationId: deleteThing
      deprecated: true
      security: []
      requestBody: {$ref: '#/components/requestBodies/Body'}
components:
  parameters:
    Id: {name: id, in: path, required: true, schema: {type: string}}
  schemas:
    Limit: {type: integer}
  responses:
    Ok: {content: {application/json: {schema: {type: object}}}}
  requestBodies:
    Body: {required: true, content: {application/x-www-form-urlencoded: {}}}
"##;

    #[test]
    fn operations_read_their_parts_through_references() {
        let doc = Document::parse_checked(SPEC).unwrap();
        let ops = doc.operations().unwrap();
        let ids: Vec<_> = ops.iter().map(|o| (o.method, o.id())).collect();
        assert_eq!(
            ids,
            [("get", Some("getThing")), ("delete", Some("deleteThing"))]
        );
        let (get, delete) = (ops[0], ops[1]);
        assert_eq!(get.pointer(), "/paths/~1things~1{id}/get");
        assert_eq!(get.security().map(<[Value]>::len), Some(1));
        assert_eq!(delete.security().map(<[Value]>::len), Some(0));
        assert!(delete.deprecated() && !get.deprecated());

        let params = get.parameters();
        let described: Vec<_> = params
            .iter()
            .map(|p| {
                (
                    p.name,
                    p.location,
                    p.required,
                    ParamType::of(&doc, p.schema),
                )
            })
            .collect();
        assert_eq!(
            described,
            [
                ("id", "path", true, ParamType::String),
                ("limit", "query", false, ParamType::Integer),
                ("flag", "query", true, ParamType::Boolean),
                ("free", "query", false, ParamType::String),
            ]
        );
        assert_eq!(params[3].schema, &Value::Bool(true));

        let responses = get.responses();
        assert_eq!(responses[0].0, "200");
        let (media, schema) = first_content(responses[0].1).unwrap();
        assert_eq!((media, schema.is_some()), ("application/json", true));
        let body = delete.request_body().unwrap();
        assert_eq!(
            first_content(body),
            Some(("application/x-www-form-urlencoded", None))
        );
        assert!(get.request_body().is_none());

        let template = get.template();
        assert_eq!(template.parameter_count(), 1);
        assert!(template.matches(&split_path("/things/t_1")));
        assert!(!template.matches(&split_path("/things")));
    }

    #[test]
    fn a_document_without_paths_has_no_operations() {
        let doc = Document::parse("openapi: 3.0.3\ninfo: {title: t, version: '1'}\n").unwrap();
        assert!(doc.operations().is_none());
    }

    #[test]
    fn texts_coerce_to_their_type_or_nothing() {
        assert_eq!(ParamType::String.coerce("12"), Some(Value::from("12")));
        assert_eq!(ParamType::Integer.coerce("1.5"), None);
        assert_eq!(ParamType::Number.coerce("1.5"), Some(Value::from(1.5)));
        assert_eq!(ParamType::Number.coerce("NaN"), None);
        assert_eq!(ParamType::Boolean.coerce("true"), Some(Value::Bool(true)));
    }
}
