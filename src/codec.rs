//! Encoding requests and decoding responses: the small pieces generated code calls.
//!
//! The models use a few of them whatever the features (enum visitors, tagged unions, the
//! redaction placeholder, and the event-type peek with `webhooks`); parameters, bodies and
//! decoding with errors belong to the `client` feature, so a webhook-only build compiles no part
//! of the HTTP pipeline.

#[cfg(any(feature = "client", feature = "webhooks"))]
use std::borrow::Cow;
use std::fmt;

#[cfg(feature = "client")]
use bytes::Bytes;
#[cfg(feature = "client")]
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
#[cfg(any(feature = "client", feature = "webhooks"))]
use serde::Deserialize;
use serde::Serialize;
use serde::de::{self, DeserializeOwned, Visitor};

#[cfg(feature = "client")]
use crate::error::Error;

/// A value that can be sent as a query or path parameter.
#[cfg(feature = "client")]
pub trait QueryValue {
    /// The parameter's text form.
    fn to_query_value(&self) -> String;
}

#[cfg(feature = "client")]
impl QueryValue for String {
    fn to_query_value(&self) -> String {
        self.clone()
    }
}

#[cfg(feature = "client")]
impl QueryValue for str {
    fn to_query_value(&self) -> String {
        self.to_owned()
    }
}

#[cfg(feature = "client")]
impl QueryValue for bool {
    fn to_query_value(&self) -> String {
        if *self { "true" } else { "false" }.to_owned()
    }
}

#[cfg(feature = "client")]
macro_rules! query_value_display {
    ($($t:ty),*) => {$(
        impl QueryValue for $t {
            fn to_query_value(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
#[cfg(feature = "client")]
query_value_display!(i32, i64, u32, u64, f64);

#[cfg(feature = "client")]
impl QueryValue for chrono::DateTime<chrono::Utc> {
    fn to_query_value(&self) -> String {
        self.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    }
}

#[cfg(feature = "client")]
impl QueryValue for chrono::NaiveDate {
    fn to_query_value(&self) -> String {
        self.format("%Y-%m-%d").to_string()
    }
}

#[cfg(feature = "client")]
impl QueryValue for uuid::Uuid {
    fn to_query_value(&self) -> String {
        self.to_string()
    }
}

#[cfg(feature = "client")]
impl<T: QueryValue> QueryValue for Vec<T> {
    fn to_query_value(&self) -> String {
        self.iter()
            .map(QueryValue::to_query_value)
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Characters escaped in a path segment: everything but unreserved characters (RFC 3986).
#[cfg(feature = "client")]
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The bytes [`PATH_SEGMENT`] leaves as they are (RFC 3986 unreserved characters).
#[cfg(feature = "client")]
fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

/// A path parameter, percent-encoded so an id can never change the path's shape.
#[cfg(feature = "client")]
pub(crate) fn path_segment<T: QueryValue + ?Sized>(value: &T) -> String {
    let raw = value.to_query_value();
    match raw.as_str() {
        // `.` and `..` are unreserved but would be resolved as relative path steps.
        "." => "%2E".to_owned(),
        ".." => "%2E%2E".to_owned(),
        // Ids rarely need escaping: one pass over the bytes settles that, cheaper than running
        // the encoder to find out; only an id with something to escape is encoded.
        _ if raw.bytes().all(is_unreserved) => raw,
        _ => utf8_percent_encode(&raw, PATH_SEGMENT).to_string(),
    }
}

/// A list path parameter (style `simple`): every item escaped as its own segment text, joined
/// by a literal `,`, so an item can neither change the path's shape nor split into two items.
#[allow(dead_code)] // used by code generated from specs with such parameters
#[cfg(feature = "client")]
pub(crate) fn path_list_segment<T: QueryValue>(items: &[T]) -> String {
    items
        .iter()
        .map(|item| path_segment(item))
        .collect::<Vec<_>>()
        .join(",")
}

/// How a list or map parameter is written (OpenAPI `style` and `explode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(dead_code)] // used by code generated from specs with such parameters, bodies or responses
#[cfg(feature = "client")]
pub(crate) enum ParamStyle {
    /// `a=1&a=2` (exploded) or `a=1,2`.
    Form { explode: bool },
    /// `a=1%202`.
    SpaceDelimited,
    /// `a=1|2`.
    PipeDelimited,
    /// `a[key]=value`.
    DeepObject,
    /// `1,2` (headers and paths).
    Simple,
}

/// A parameter list: query pairs, or header name/value pairs.
#[cfg(feature = "client")]
pub(crate) type Pairs = Vec<(Cow<'static, str>, String)>;

/// Appends a scalar parameter when it is set.
#[cfg(feature = "client")]
pub(crate) fn push_value<T: QueryValue + ?Sized>(
    out: &mut Pairs,
    name: &'static str,
    value: Option<&T>,
) {
    if let Some(value) = value {
        out.push((Cow::Borrowed(name), value.to_query_value()));
    }
}

/// Appends a list parameter in its style.
#[allow(dead_code)] // used by code generated from specs with such parameters, bodies or responses
#[cfg(feature = "client")]
pub(crate) fn push_list<T: QueryValue>(
    out: &mut Pairs,
    name: &'static str,
    style: ParamStyle,
    items: &[T],
) {
    let joined = |separator: &str| {
        items
            .iter()
            .map(QueryValue::to_query_value)
            .collect::<Vec<_>>()
            .join(separator)
    };
    match style {
        ParamStyle::Form { explode: true } | ParamStyle::DeepObject => {
            out.extend(
                items
                    .iter()
                    .map(|i| (Cow::Borrowed(name), i.to_query_value())),
            );
        }
        ParamStyle::SpaceDelimited => out.push((Cow::Borrowed(name), joined(" "))),
        ParamStyle::PipeDelimited => out.push((Cow::Borrowed(name), joined("|"))),
        ParamStyle::Form { explode: false } | ParamStyle::Simple => {
            out.push((Cow::Borrowed(name), joined(",")))
        }
    }
}

/// Appends an object parameter in its style (`deepObject`: `name[key]=value`; exploded form:
/// `key=value`; otherwise `name=key,value,…`).
#[allow(dead_code)] // used by code generated from specs with such parameters, bodies or responses
#[cfg(feature = "client")]
pub(crate) fn push_map<T: QueryValue>(
    out: &mut Pairs,
    name: &'static str,
    style: ParamStyle,
    map: &std::collections::BTreeMap<String, T>,
) {
    match style {
        ParamStyle::DeepObject => out.extend(
            map.iter()
                .map(|(k, v)| (Cow::Owned(format!("{name}[{k}]")), v.to_query_value())),
        ),
        ParamStyle::Form { explode: true } => out.extend(
            map.iter()
                .map(|(k, v)| (Cow::Owned(k.clone()), v.to_query_value())),
        ),
        _ => out.push((
            Cow::Borrowed(name),
            map.iter()
                .flat_map(|(k, v)| [k.clone(), v.to_query_value()])
                .collect::<Vec<_>>()
                .join(","),
        )),
    }
}

/// Appends a query parameter typed as any JSON (a union of scalars and objects, say): scalars as
/// their text, arrays like a list, objects like a map, in the parameter's style; nested values as
/// JSON text; `null` not at all.
#[allow(dead_code)] // used by code generated from specs with such parameters, bodies or responses
#[cfg(feature = "client")]
pub(crate) fn push_json(
    out: &mut Pairs,
    name: &'static str,
    style: ParamStyle,
    value: &serde_json::Value,
) {
    fn text(value: &serde_json::Value) -> String {
        match value {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }
    match value {
        serde_json::Value::Null => {}
        serde_json::Value::Array(items) => {
            let items: Vec<String> = items.iter().map(text).collect();
            push_list(out, name, style, &items);
        }
        serde_json::Value::Object(fields) => {
            let map: std::collections::BTreeMap<String, String> =
                fields.iter().map(|(k, v)| (k.clone(), text(v))).collect();
            push_map(out, name, style, &map);
        }
        scalar => out.push((Cow::Borrowed(name), text(scalar))),
    }
}

/// Joins cookie parameters into one `Cookie` header.
#[allow(dead_code)] // used by code generated from specs with such parameters, bodies or responses
#[cfg(feature = "client")]
pub(crate) fn push_cookies(headers: &mut Pairs, cookies: Pairs) {
    if cookies.is_empty() {
        return;
    }
    let value = cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    headers.push((Cow::Borrowed("cookie"), value));
}

/// A request body, encoded once when the request is built and shared by every attempt.
#[derive(Debug, Clone)]
#[cfg(feature = "client")]
pub(crate) struct EncodedBody {
    /// The failure is kept, not reported here: building a request cannot fail, `.send()` can.
    bytes: Result<Bytes, EncodeFailure>,
    content_type: Cow<'static, str>,
    /// The body with its sensitive values marked, when it has any: what a client that encrypts
    /// writes seals before sending (`bytes` holds them in plaintext).
    #[cfg(feature = "encryption")]
    pub(crate) marked: Option<std::sync::Arc<serde_json::Value>>,
    /// A body sent as a stream (a file upload) instead of `bytes`.
    stream: Option<crate::body::StreamBody>,
}

#[allow(dead_code)] // used by code generated from specs with such parameters, bodies or responses
#[cfg(feature = "client")]
impl EncodedBody {
    /// A body that is already bytes, sent with `content_type`.
    pub(crate) fn raw(bytes: Bytes, content_type: &'static str) -> Self {
        EncodedBody {
            bytes: Ok(bytes),
            content_type: Cow::Borrowed(content_type),
            #[cfg(feature = "encryption")]
            marked: None,
            stream: None,
        }
    }

    /// A body with its own content type (multipart carries its boundary).
    pub(crate) fn with_owned_type(bytes: Bytes, content_type: String) -> Self {
        EncodedBody {
            bytes: Ok(bytes),
            content_type: Cow::Owned(content_type),
            #[cfg(feature = "encryption")]
            marked: None,
            stream: None,
        }
    }

    /// A body streamed from `stream`, with its own content type.
    pub(crate) fn streamed(stream: crate::body::StreamBody, content_type: String) -> Self {
        EncodedBody {
            bytes: Ok(Bytes::new()),
            content_type: Cow::Owned(content_type),
            #[cfg(feature = "encryption")]
            marked: None,
            stream: Some(stream),
        }
    }

    /// A body that could not be encoded: `.send()` reports `source` as an encode error.
    pub(crate) fn failed(
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
        content_type: String,
    ) -> Self {
        EncodedBody {
            bytes: Err(EncodeFailure::new(source)),
            content_type: Cow::Owned(content_type),
            #[cfg(feature = "encryption")]
            marked: None,
            stream: None,
        }
    }

    pub(crate) fn content_type(&self) -> &str {
        &self.content_type
    }

    /// With `key`, the body with its sensitive values encrypted to it (when it has any).
    #[cfg(feature = "encryption")]
    pub(crate) fn sealed(
        mut self,
        key: Option<&crate::encryption::PublicJwk>,
    ) -> Result<Self, Error> {
        if let (Some(key), Some(marked)) = (key, self.marked.take()) {
            let mut value = (*marked).clone();
            crate::encryption::seal_marked(&mut value, Some(key))
                .map_err(|e| Error::encode(std::sync::Arc::new(e)))?;
            let bytes =
                serde_json::to_vec(&value).map_err(|e| Error::encode(std::sync::Arc::new(e)))?;
            self.bytes = Ok(Bytes::from(bytes));
        }
        Ok(self)
    }

    pub(crate) fn bytes(self) -> Result<Bytes, Error> {
        self.bytes
            .map_err(|EncodeFailure(source)| Error::encode(source))
    }

    /// What the request sends: the bytes, or the stream.
    pub(crate) fn payload(self) -> Result<crate::body::Payload, Error> {
        match self.stream {
            Some(stream) => Ok(crate::body::Payload::Stream(stream)),
            None => self.bytes().map(crate::body::Payload::Bytes),
        }
    }
}

/// Why a body could not be encoded; shared by the clones of a request.
#[cfg(feature = "client")]
#[derive(Debug, Clone)]
struct EncodeFailure(std::sync::Arc<dyn std::error::Error + Send + Sync>);

#[cfg(feature = "client")]
impl EncodeFailure {
    fn new(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self(std::sync::Arc::from(source.into()))
    }
}

/// Serializes a JSON request body.
#[cfg(feature = "client")]
pub(crate) fn encode_body<T: Serialize + ?Sized>(body: &T) -> EncodedBody {
    encode_json_as(body, "application/json")
}

/// Serializes a JSON request body sent as another JSON media type (`application/vnd.api+json`).
#[cfg(feature = "client")]
pub(crate) fn encode_json_as<T: Serialize + ?Sized>(
    body: &T,
    content_type: &'static str,
) -> EncodedBody {
    EncodedBody {
        bytes: serde_json::to_vec(body)
            .map(Bytes::from)
            .map_err(EncodeFailure::new),
        content_type: Cow::Borrowed(content_type),
        // A second pass finds the `Sensitive` values and their member names; the bytes above stay
        // exactly what the body serializes to.
        #[cfg(feature = "encryption")]
        marked: match crate::sensitive::marking::to_marked_value(body) {
            Ok((value, marked)) if marked > 0 => Some(std::sync::Arc::new(value)),
            _ => None,
        },
        stream: None,
    }
}

/// Serializes a body as `application/x-www-form-urlencoded`: each top-level property a field;
/// arrays repeat the field; nested objects are sent as JSON text.
#[allow(dead_code)] // used by code generated from specs with such parameters, bodies or responses
#[cfg(feature = "client")]
pub(crate) fn encode_form<T: Serialize + ?Sized>(body: &T) -> EncodedBody {
    let encoded = serde_json::to_value(body)
        .map_err(EncodeFailure::new)
        .and_then(|value| match value {
            serde_json::Value::Object(fields) => {
                let mut form = url::form_urlencoded::Serializer::new(String::new());
                for (name, value) in &fields {
                    let items: Vec<&serde_json::Value> = match value {
                        serde_json::Value::Array(items) => items.iter().collect(),
                        serde_json::Value::Null => Vec::new(),
                        other => vec![other],
                    };
                    for item in items {
                        let text = match item {
                            serde_json::Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        form.append_pair(name, &text);
                    }
                }
                Ok(Bytes::from(form.finish()))
            }
            other => Err(EncodeFailure::new(format!(
                "a form body must be an object with fields, not {other}"
            ))),
        });
    EncodedBody {
        bytes: encoded,
        content_type: Cow::Borrowed("application/x-www-form-urlencoded"),
        #[cfg(feature = "encryption")]
        marked: None,
        stream: None,
    }
}

/// Serializes one variant of a discriminated union, writing its tag when the payload lacks it.
#[allow(dead_code)] // used by code generated from specs with such parameters, bodies or responses
pub(crate) fn serialize_tagged<S: serde::Serializer, T: Serialize>(
    serializer: S,
    tag: &str,
    wire: &str,
    value: &T,
) -> Result<S::Ok, S::Error> {
    let mut json = serde_json::to_value(value).map_err(serde::ser::Error::custom)?;
    if let serde_json::Value::Object(fields) = &mut json
        && !fields.contains_key(tag)
    {
        fields.insert(tag.to_owned(), serde_json::Value::String(wire.to_owned()));
    }
    json.serialize(serializer)
}

/// Decodes one variant of a discriminated union from the JSON it was peeked in.
#[allow(dead_code)] // used by code generated from specs with such parameters, bodies or responses
pub(crate) fn decode_variant<T: DeserializeOwned, E: de::Error>(
    value: serde_json::Value,
) -> Result<T, E> {
    serde_json::from_value(value).map_err(E::custom)
}

/// Decodes a plain JSON body.
#[allow(dead_code)] // used by code generated from specs with such parameters, bodies or responses
#[cfg(feature = "client")]
pub(crate) fn decode_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    decode(body)
}

/// Decodes the `data` of an enveloped body.
#[allow(dead_code)] // used by code generated from specs with such parameters, bodies or responses
#[cfg(feature = "client")]
pub(crate) fn decode_envelope_data<T: DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    decode::<Envelope<T>>(body).map(|e| e.data)
}

/// Deserializes a string-valued enum from a borrowed string when the format allows it.
pub(crate) struct WireStrVisitor<T>(pub(crate) fn(&str) -> T);

impl<T> Visitor<'_> for WireStrVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        Ok((self.0)(v))
    }
}

/// Reads only the `type` of a webhook event, borrowing it from the body when possible.
#[derive(Deserialize)]
#[cfg(feature = "webhooks")]
pub(crate) struct EventTypePeek<'a> {
    #[serde(rename = "type", borrow)]
    pub(crate) event_type: Cow<'a, str>,
}

/// Stands in for personal data and secrets in `Debug` output.
pub(crate) struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// `meta` of every success envelope; fields the server adds later are ignored.
#[derive(Debug, Default, Deserialize)]
#[cfg(feature = "client")]
pub(crate) struct Meta {
    #[serde(default)]
    pub(crate) request_id: Option<String>,
    #[serde(default)]
    pub(crate) next_cursor: Option<String>,
    #[serde(default)]
    pub(crate) has_more: Option<bool>,
    #[serde(default)]
    pub(crate) total_count: Option<i64>,
}

/// `{"data": T, "meta": {...}}`.
#[derive(Deserialize)]
#[cfg(feature = "client")]
pub(crate) struct Envelope<T> {
    pub(crate) data: T,
    #[serde(default)]
    pub(crate) meta: Meta,
}

/// Decodes JSON, naming the path that failed (`data[2].metrics.ctr`).
///
/// Tracking the path costs on every value decoded, so the body is decoded without it first and
/// only a body that failed is decoded again to find where.
#[cfg(feature = "client")]
pub(crate) fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    match serde_json::from_slice(body) {
        Ok(value) => Ok(value),
        Err(error) => Err(locate_decode_error::<T>(body).unwrap_or_else(|| {
            // Decoding is deterministic, so the second pass fails too; should a visitor with
            // state ever make it succeed, the first error still stands, reported at the root.
            Error::decode(".".into(), error)
        })),
    }
}

/// Decodes `body` again, tracking the path, and returns the error with the failing path.
#[cold]
#[cfg(feature = "client")]
fn locate_decode_error<T: DeserializeOwned>(body: &[u8]) -> Option<Error> {
    let mut de = serde_json::Deserializer::from_slice(body);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Err(e) => {
            let path = e.path().to_string();
            Some(Error::decode(path, e.into_inner()))
        }
        Ok(_) => de.end().err().map(|e| Error::decode(".".into(), e)),
    }
}

/// Whether a `Content-Type` names JSON: `application/json` or any `+json` type, parameters
/// ignored.
#[cfg(feature = "client")]
pub(crate) fn is_json_media_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json" || essence.ends_with("+json")
}

#[cfg(test)]
#[cfg(feature = "client")]
mod tests {
    use super::*;

    fn pairs(list: &Pairs) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn owned(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn list_parameters_are_written_in_their_style() {
        let items = vec!["a".to_owned(), "b c".to_owned()];
        for (style, expected) in [
            (
                ParamStyle::Form { explode: true },
                owned(&[("tag", "a"), ("tag", "b c")]),
            ),
            (
                ParamStyle::Form { explode: false },
                owned(&[("tag", "a,b c")]),
            ),
            (ParamStyle::SpaceDelimited, owned(&[("tag", "a b c")])),
            (ParamStyle::PipeDelimited, owned(&[("tag", "a|b c")])),
            (ParamStyle::Simple, owned(&[("tag", "a,b c")])),
        ] {
            let mut out = Pairs::new();
            push_list(&mut out, "tag", style, &items);
            assert_eq!(pairs(&out), expected, "{style:?}");
        }
    }

    #[test]
    fn object_parameters_are_written_in_their_style() {
        let map: std::collections::BTreeMap<String, i64> =
            [("min".to_owned(), 1), ("max".to_owned(), 9)].into();
        let mut deep = Pairs::new();
        push_map(&mut deep, "range", ParamStyle::DeepObject, &map);
        assert_eq!(
            pairs(&deep),
            owned(&[("range[max]", "9"), ("range[min]", "1")])
        );
        let mut exploded = Pairs::new();
        push_map(
            &mut exploded,
            "range",
            ParamStyle::Form { explode: true },
            &map,
        );
        assert_eq!(pairs(&exploded), owned(&[("max", "9"), ("min", "1")]));
        let mut flat = Pairs::new();
        push_map(
            &mut flat,
            "range",
            ParamStyle::Form { explode: false },
            &map,
        );
        assert_eq!(pairs(&flat), owned(&[("range", "max,9,min,1")]));
    }

    #[test]
    fn json_parameters_take_the_shape_of_their_value() {
        let mut out = Pairs::new();
        push_json(
            &mut out,
            "created",
            ParamStyle::DeepObject,
            &serde_json::json!({"gte": 5, "lt": 9}),
        );
        push_json(
            &mut out,
            "created",
            ParamStyle::DeepObject,
            &serde_json::json!(7),
        );
        push_json(
            &mut out,
            "ids",
            ParamStyle::Form { explode: true },
            &serde_json::json!([1, "b"]),
        );
        push_json(
            &mut out,
            "gone",
            ParamStyle::Form { explode: true },
            &serde_json::Value::Null,
        );
        assert_eq!(
            pairs(&out),
            owned(&[
                ("created[gte]", "5"),
                ("created[lt]", "9"),
                ("created", "7"),
                ("ids", "1"),
                ("ids", "b")
            ])
        );
    }

    #[test]
    fn cookies_become_one_header() {
        let mut headers = Pairs::new();
        push_cookies(&mut headers, Pairs::new());
        assert!(headers.is_empty());
        push_cookies(
            &mut headers,
            vec![
                (Cow::Borrowed("session"), "s1".into()),
                (Cow::Borrowed("lang"), "en".into()),
            ],
        );
        assert_eq!(pairs(&headers), owned(&[("cookie", "session=s1; lang=en")]));
    }

    #[test]
    fn form_bodies_encode_fields_arrays_and_refuse_non_objects() {
        let body = encode_form(&serde_json::json!({
            "name": "a b&c", "tags": ["x", "y"], "count": 3, "gone": null, "nested": {"k": 1}
        }));
        assert_eq!(body.content_type(), "application/x-www-form-urlencoded");
        let bytes = body.bytes().unwrap_or_default();
        // Field order follows serde_json's map order, which a workspace build may change.
        let mut fields: Vec<&str> = std::str::from_utf8(&bytes)
            .unwrap_or_default()
            .split('&')
            .collect();
        fields.sort_unstable();
        assert_eq!(
            fields,
            [
                "count=3",
                "name=a+b%26c",
                "nested=%7B%22k%22%3A1%7D",
                "tags=x",
                "tags=y"
            ]
        );
        let refused = encode_form(&serde_json::json!([1, 2])).bytes();
        assert!(refused.is_err_and(|e| {
            e.kind() == crate::ErrorKind::Encode
                && e.report()
                    .to_string()
                    .contains("a form body must be an object")
        }));
    }

    #[test]
    fn tagged_variants_carry_their_tag_and_decode_back() {
        #[derive(Debug, PartialEq, Serialize, Deserialize)]
        struct Image {
            width: u32,
        }
        let json = serde_json::to_value(TagWriter("image", Image { width: 4 })).unwrap_or_default();
        assert_eq!(json, serde_json::json!({"kind": "image", "width": 4}));
        let back: Result<Image, serde_json::Error> = decode_variant(json);
        assert_eq!(back.ok(), Some(Image { width: 4 }));
        let wrong: Result<Image, serde_json::Error> =
            decode_variant(serde_json::json!({"kind": "image", "width": "x"}));
        assert!(wrong.is_err());

        struct TagWriter<T>(&'static str, T);
        impl<T: Serialize> Serialize for TagWriter<T> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                serialize_tagged(s, "kind", self.0, &self.1)
            }
        }
    }

    #[test]
    fn the_unreserved_check_agrees_with_the_path_encoder() {
        for byte in 0..=u8::MAX {
            let text = [byte];
            let encoded =
                utf8_percent_encode(std::str::from_utf8(&text).unwrap_or("%"), PATH_SEGMENT)
                    .to_string();
            let untouched = byte.is_ascii() && encoded.as_bytes() == [byte];
            assert_eq!(is_unreserved(byte), untouched, "byte {byte:#04x}");
        }
        assert_eq!(path_segment("ünï cødé"), "%C3%BCn%C3%AF%20c%C3%B8d%C3%A9");
    }

    #[test]
    fn path_segments_cannot_escape_their_segment() {
        assert_eq!(path_segment("cmp_1"), "cmp_1");
        assert_eq!(path_segment("a/../b?c#d"), "a%2F..%2Fb%3Fc%23d");
        assert_eq!(path_segment(".."), "%2E%2E");
    }

    #[test]
    fn path_list_items_are_escaped_one_by_one_and_joined_by_a_comma() {
        let texts = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(path_list_segment(&texts(&["a", "b"])), "a,b");
        assert_eq!(path_list_segment(&texts(&["x,y", "../z"])), "x%2Cy,..%2Fz");
        assert_eq!(path_list_segment(&texts(&[".."])), "%2E%2E");
        assert_eq!(path_list_segment(&[1_i64, 2]), "1,2");
        assert_eq!(path_list_segment::<String>(&[]), "");
    }

    #[test]
    fn decode_names_the_failing_path() {
        #[derive(Debug, Deserialize)]
        struct Inner {
            #[allow(dead_code)]
            ctr: f64,
        }
        let err =
            decode::<Envelope<Vec<Inner>>>(br#"{"data":[{"ctr":1.0},{"ctr":"x"}],"meta":{}}"#)
                .err()
                .map(|e| e.decode_path().map(str::to_owned));
        assert_eq!(err, Some(Some("data[1].ctr".to_owned())));
    }

    #[test]
    fn decode_reports_trailing_garbage_at_the_root() {
        let err = decode::<Envelope<u32>>(br#"{"data":1,"meta":{}} trailing"#)
            .err()
            .map(|e| (e.is_decode(), e.decode_path().map(str::to_owned)));
        assert_eq!(err, Some((true, Some(".".to_owned()))));
    }
}
