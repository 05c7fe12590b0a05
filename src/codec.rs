//! Encoding requests and decoding responses: the small pieces generated code calls.

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::de::{self, DeserializeOwned, Visitor};
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// A value that can be sent as a query or path parameter.
pub trait QueryValue {
    /// The parameter's text form.
    fn to_query_value(&self) -> String;
}

impl QueryValue for String {
    fn to_query_value(&self) -> String {
        self.clone()
    }
}

impl QueryValue for str {
    fn to_query_value(&self) -> String {
        self.to_owned()
    }
}

impl QueryValue for bool {
    fn to_query_value(&self) -> String {
        if *self { "true" } else { "false" }.to_owned()
    }
}

macro_rules! query_value_display {
    ($($t:ty),*) => {$(
        impl QueryValue for $t {
            fn to_query_value(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
query_value_display!(i32, i64, u32, u64, f64);

impl QueryValue for chrono::DateTime<chrono::Utc> {
    fn to_query_value(&self) -> String {
        self.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    }
}

impl<T: QueryValue> QueryValue for Vec<T> {
    fn to_query_value(&self) -> String {
        self.iter()
            .map(QueryValue::to_query_value)
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Characters escaped in a path segment: everything but unreserved characters (RFC 3986).
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A path parameter, percent-encoded so an id can never change the path's shape.
pub(crate) fn path_segment<T: QueryValue + ?Sized>(value: &T) -> String {
    let raw = value.to_query_value();
    match raw.as_str() {
        // `.` and `..` are unreserved but would be resolved as relative path steps.
        "." => "%2E".to_owned(),
        ".." => "%2E%2E".to_owned(),
        // Ids rarely need escaping: keep the string as it is unless something was escaped.
        _ => match Cow::from(utf8_percent_encode(&raw, PATH_SEGMENT)) {
            Cow::Borrowed(_) => raw,
            Cow::Owned(escaped) => escaped,
        },
    }
}

/// A JSON request body, serialized once when the request is built and shared by every attempt.
#[derive(Debug, Clone)]
pub(crate) struct EncodedBody(Result<Bytes, String>);

impl EncodedBody {
    pub(crate) fn bytes(self) -> Result<Bytes, Error> {
        self.0
            .map_err(|e| Error::config(format!("request body cannot be encoded as JSON: {e}")))
    }
}

/// Serializes a request body.
pub(crate) fn encode_body<T: Serialize>(body: &T) -> EncodedBody {
    EncodedBody(
        serde_json::to_vec(body)
            .map(Bytes::from)
            .map_err(|e| e.to_string()),
    )
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
pub(crate) struct Envelope<T> {
    pub(crate) data: T,
    #[serde(default)]
    pub(crate) meta: Meta,
}

/// Decodes JSON, naming the path that failed (`data[2].metrics.ctr`).
///
/// Tracking the path costs on every value decoded, so the body is decoded without it first and
/// only a body that failed is decoded again to find where.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_cannot_escape_their_segment() {
        assert_eq!(path_segment("cmp_1"), "cmp_1");
        assert_eq!(path_segment("a/../b?c#d"), "a%2F..%2Fb%3Fc%23d");
        assert_eq!(path_segment(".."), "%2E%2E");
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
