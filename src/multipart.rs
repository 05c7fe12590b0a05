//! `multipart/form-data` request bodies: a small form builder for operations that upload files.

use bytes::{BufMut, Bytes, BytesMut};

use crate::codec::EncodedBody;

/// A `multipart/form-data` body: text fields and file parts, in order.
///
/// Operations whose spec takes a multipart body accept one; their docs list the parts the API
/// expects. The body is built in memory once and reused by every retry.
///
/// ```
/// use marketing_api::multipart::Multipart;
///
/// let form = Multipart::new()
///     .text("name", "Spring banner")
///     .file("file", "banner.png", "image/png", vec![0x89, b'P', b'N', b'G']);
/// assert_eq!(form.len(), 2);
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct Multipart {
    parts: Vec<Part>,
}

#[derive(Debug, Clone)]
#[allow(dead_code)] // used by code generated from specs with such parameters, bodies or responses
struct Part {
    name: String,
    filename: Option<String>,
    content_type: Option<String>,
    data: Bytes,
}

impl Multipart {
    /// An empty form.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a text field.
    pub fn text(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.parts.push(Part {
            name: name.into(),
            filename: None,
            content_type: None,
            data: Bytes::from(value.into()),
        });
        self
    }

    /// Adds a field holding JSON (`Content-Type: application/json`).
    pub fn json<T: serde::Serialize>(
        mut self,
        name: impl Into<String>,
        value: &T,
    ) -> Result<Self, crate::Error> {
        let name = name.into();
        let data = serde_json::to_vec(value).map_err(|e| {
            crate::Error::encode(std::sync::Arc::new(e))
                .with_message(format!("the JSON of multipart part `{name}`"))
        })?;
        self.parts.push(Part {
            name,
            filename: None,
            content_type: Some("application/json".into()),
            data: Bytes::from(data),
        });
        Ok(self)
    }

    /// Adds a file part.
    pub fn file(
        mut self,
        name: impl Into<String>,
        filename: impl Into<String>,
        content_type: impl Into<String>,
        data: impl Into<Bytes>,
    ) -> Self {
        self.parts.push(Part {
            name: name.into(),
            filename: Some(filename.into()),
            content_type: Some(content_type.into()),
            data: data.into(),
        });
        self
    }

    /// How many parts the form has.
    pub fn len(&self) -> usize {
        self.parts.len()
    }

    /// Whether the form has no parts.
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// Encodes the form with a boundary that occurs in none of its parts.
    #[allow(dead_code)] // used by code generated from specs with such parameters, bodies or responses
    pub(crate) fn encode(self) -> EncodedBody {
        let boundary = loop {
            let candidate = format!("marketing-api-{:032x}", rand::random::<u128>());
            let occurs = self.parts.iter().any(|p| {
                p.data
                    .windows(candidate.len())
                    .any(|w| w == candidate.as_bytes())
            });
            if !occurs {
                break candidate;
            }
        };
        let mut out = BytesMut::new();
        for part in &self.parts {
            out.put_slice(format!("--{boundary}\r\n").as_bytes());
            let mut disposition = format!(
                "Content-Disposition: form-data; name=\"{}\"",
                quote(&part.name)
            );
            if let Some(filename) = &part.filename {
                disposition.push_str(&format!("; filename=\"{}\"", quote(filename)));
            }
            out.put_slice(disposition.as_bytes());
            out.put_slice(b"\r\n");
            if let Some(content_type) = &part.content_type {
                out.put_slice(
                    format!("Content-Type: {}\r\n", strip_breaks(content_type)).as_bytes(),
                );
            }
            out.put_slice(b"\r\n");
            out.put_slice(&part.data);
            out.put_slice(b"\r\n");
        }
        out.put_slice(format!("--{boundary}--\r\n").as_bytes());
        EncodedBody::with_owned_type(
            out.freeze(),
            format!("multipart/form-data; boundary={boundary}"),
        )
    }
}

/// Escapes a quoted header parameter (RFC 7578: `"` and line breaks must not end it early).
#[allow(dead_code)] // used by code generated from specs with such parameters, bodies or responses
fn quote(text: &str) -> String {
    strip_breaks(text)
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
}

#[allow(dead_code)] // used by code generated from specs with such parameters, bodies or responses
fn strip_breaks(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_part_that_cannot_be_serialized_is_an_encode_error_with_its_source() {
        // JSON object keys must be strings.
        let map: std::collections::BTreeMap<(u8, u8), u8> = [((1, 2), 3)].into();
        let error = Multipart::new()
            .json("meta", &map)
            .expect_err("not JSON-serializable");
        assert_eq!(error.kind(), crate::ErrorKind::Encode);
        assert!(
            error.to_string().contains("multipart part `meta`"),
            "{error}"
        );
        let source = std::error::Error::source(&error).expect("the serializer's error");
        assert!(
            source.to_string().contains("key must be a string"),
            "{source}"
        );
    }

    #[test]
    fn parts_are_framed_by_a_boundary_absent_from_the_data() {
        let body = Multipart::new()
            .text("a \"quoted\"\r\nname", "value")
            .file("file", "x.csv", "text/csv", "a,b\n1,2\n")
            .encode();
        let content_type = body.content_type().to_owned();
        let bytes = body.bytes().unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        let boundary = content_type
            .strip_prefix("multipart/form-data; boundary=")
            .unwrap_or_default();
        assert!(!boundary.is_empty());
        assert_eq!(text.matches(&format!("--{boundary}\r\n")).count(), 2);
        assert!(text.ends_with(&format!("--{boundary}--\r\n")));
        assert!(text.contains("name=\"a \\\"quoted\\\"  name\""));
        assert!(
            text.contains("filename=\"x.csv\"\r\nContent-Type: text/csv\r\n\r\na,b\n1,2\n\r\n")
        );
    }
}
