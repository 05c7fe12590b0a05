//! `multipart/form-data` request bodies: a small form builder for operations that upload files.
//!
//! A file part holds bytes in memory ([`Multipart::file`]), or is streamed when the request is
//! sent: from a path ([`Multipart::file_path`], read afresh by each attempt, so the upload is
//! retried like any request) or from any `AsyncRead` ([`Multipart::file_reader`], sent once).
//! A streamed form is never held whole in memory; [`Multipart::on_progress`] reports how much
//! of it has been sent.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::AsyncRead;

pub use crate::body::Progress;
use crate::body::{ProgressFn, ReaderSlot, Segment, StreamBody};
use crate::codec::EncodedBody;

/// A `multipart/form-data` body: text fields and file parts, in order.
///
/// Operations whose spec takes a multipart body accept one; their docs list the parts the API
/// expects. A form of in-memory parts is built once and reused by every retry; a form with
/// streamed parts is read as it is sent.
///
/// ```
/// use marketing_api::multipart::Multipart;
///
/// let form = Multipart::new()
///     .text("name", "Spring banner")
///     .file("file", "banner.png", "image/png", vec![0x89, b'P', b'N', b'G']);
/// assert_eq!(form.len(), 2);
/// ```
#[derive(Clone, Default)]
#[must_use]
pub struct Multipart {
    parts: Vec<Part>,
    progress: Option<ProgressFn>,
}

impl std::fmt::Debug for Multipart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Multipart")
            .field("parts", &self.parts)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

#[derive(Debug, Clone)]
#[allow(dead_code)] // used by code generated from specs with such parameters, bodies or responses
struct Part {
    name: String,
    filename: Option<String>,
    content_type: Option<String>,
    data: Data,
}

/// The content of a part.
#[derive(Debug, Clone)]
enum Data {
    Bytes(Bytes),
    /// Streamed from this file.
    File(PathBuf),
    /// Streamed from a reader (`Segment::Reader`).
    Reader(Segment),
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
            data: Data::Bytes(Bytes::from(value.into())),
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
            data: Data::Bytes(Bytes::from(data)),
        });
        Ok(self)
    }

    /// Adds a file part held in memory.
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
            data: Data::Bytes(data.into()),
        });
        self
    }

    /// Adds a file part streamed from the file at `path` when the request is sent, named by the
    /// path's last component. Each attempt reads the file afresh, so the upload is retried like
    /// any request; the file's size is declared as `Content-Length`, so a server can refuse an
    /// oversized upload at once. A file that cannot be read is an
    /// [`ErrorKind::Encode`](crate::ErrorKind::Encode) error from `.send()`, before anything is
    /// sent.
    ///
    /// ```no_run
    /// # async fn run(client: marketing_api::Client) -> Result<(), marketing_api::Error> {
    /// use marketing_api::models::NewCreativeAsset;
    /// use marketing_api::multipart::Multipart;
    ///
    /// let form = Multipart::new()
    ///     .file_path("file", "hero.png", "image/png")
    ///     .json("metadata", &NewCreativeAsset::builder().name("Hero").build())?
    ///     .on_progress(|p| eprintln!("{} of {:?} bytes", p.sent, p.total));
    /// let asset = client.creatives().upload_creative_asset(form).send().await?;
    /// println!("{} ({} bytes)", asset.id, asset.size_bytes);
    /// # Ok(()) }
    /// ```
    pub fn file_path(
        mut self,
        name: impl Into<String>,
        path: impl AsRef<Path>,
        content_type: impl Into<String>,
    ) -> Self {
        let path = path.as_ref().to_path_buf();
        let filename = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "file".into());
        self.parts.push(Part {
            name: name.into(),
            filename: Some(filename),
            content_type: Some(content_type.into()),
            data: Data::File(path),
        });
        self
    }

    /// Adds a file part streamed from `reader` when the request is sent. A reader can be read
    /// once: a request with one makes a single attempt (no retry), and its length is unknown,
    /// so the body is sent chunked.
    pub fn file_reader<R>(
        mut self,
        name: impl Into<String>,
        filename: impl Into<String>,
        content_type: impl Into<String>,
        reader: R,
    ) -> Self
    where
        R: AsyncRead + Send + 'static,
    {
        let slot: ReaderSlot = Arc::new(Mutex::new(Some(Box::pin(reader))));
        self.parts.push(Part {
            name: name.into(),
            filename: Some(filename.into()),
            content_type: Some(content_type.into()),
            data: Data::Reader(Segment::Reader(slot)),
        });
        self
    }

    /// Calls `progress` as the body is sent, after each chunk, with the bytes sent so far and
    /// the total when known. It runs on the task sending the request: keep it quick.
    pub fn on_progress(mut self, progress: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(progress));
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

    /// Encodes the form with a boundary that occurs in none of its in-memory parts (a streamed
    /// part cannot be searched before it is sent: its boundary has 128 random bits, which a
    /// file does not contain by chance).
    #[allow(dead_code)] // used by code generated from specs with such parameters, bodies or responses
    pub(crate) fn encode(self) -> EncodedBody {
        let boundary = loop {
            let candidate = format!("marketing-api-{:032x}", rand::random::<u128>());
            let occurs = self.parts.iter().any(|p| match &p.data {
                Data::Bytes(data) => data
                    .windows(candidate.len())
                    .any(|w| w == candidate.as_bytes()),
                Data::File(_) | Data::Reader(_) => false,
            });
            if !occurs {
                break candidate;
            }
        };
        let content_type = format!("multipart/form-data; boundary={boundary}");
        let streamed =
            self.progress.is_some() || self.parts.iter().any(|p| !matches!(p.data, Data::Bytes(_)));
        let mut segments = Vec::new();
        let mut out = BytesMut::new();
        let mut len: Option<u64> = Some(0);
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
            match &part.data {
                Data::Bytes(data) => out.put_slice(data),
                Data::File(path) => {
                    let size = match std::fs::metadata(path) {
                        Ok(meta) if meta.is_file() => meta.len(),
                        Ok(_) => {
                            return EncodedBody::failed(
                                format!(
                                    "multipart part `{}`: {} is not a file",
                                    part.name,
                                    path.display()
                                ),
                                content_type,
                            );
                        }
                        Err(e) => {
                            return EncodedBody::failed(
                                format!(
                                    "multipart part `{}`: cannot read {}: {e}",
                                    part.name,
                                    path.display()
                                ),
                                content_type,
                            );
                        }
                    };
                    segments.push(Segment::Bytes(out.split().freeze()));
                    segments.push(Segment::File(path.clone()));
                    len = len.map(|l| l + size);
                }
                Data::Reader(reader) => {
                    segments.push(Segment::Bytes(out.split().freeze()));
                    segments.push(reader.clone());
                    len = None;
                }
            }
            out.put_slice(b"\r\n");
        }
        out.put_slice(format!("--{boundary}--\r\n").as_bytes());
        if !streamed {
            return EncodedBody::with_owned_type(out.freeze(), content_type);
        }
        segments.push(Segment::Bytes(out.freeze()));
        let len = len.map(|l| {
            l + segments
                .iter()
                .map(|s| match s {
                    Segment::Bytes(b) => b.len() as u64,
                    _ => 0,
                })
                .sum::<u64>()
        });
        EncodedBody::streamed(StreamBody::new(segments, len, self.progress), content_type)
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
