//! Raw request bodies (`text/csv`, `application/octet-stream`, any non-JSON, non-form media
//! type): bytes in memory, or streamed when the request is sent from a file, an `AsyncRead` or
//! a `Stream` of bytes, so a large file is never held whole in memory.
//!
//! Operations whose spec takes such a body accept `impl Into<Upload>`: a `String`, `&str`,
//! `Vec<u8>` or [`Bytes`] converts as it is; the constructors below stream.
//!
//! ```no_run
//! # async fn run(client: marketing_api::Client) -> Result<(), marketing_api::Error> {
//! use marketing_api::upload::Upload;
//!
//! // Read from disk as it is sent; retried like any request (the file is read again).
//! let job = client.contacts().import_csv(Upload::file("contacts.csv")).send().await?;
//! println!("import {} is {:?}", job.id, job.status);
//! # Ok(()) }
//! ```

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::{Stream, TryStreamExt};
use tokio::io::AsyncRead;

pub use crate::body::Progress;
use crate::body::{ProgressFn, ReaderSlot, Segment, StreamBody};
use crate::codec::EncodedBody;

/// A raw request body: bytes in memory, a file, a reader or a stream of bytes.
///
/// A body of bytes or a file is sent again by every attempt, so the request is retried like
/// any other; a reader or a stream can be read once, so a request with one makes a single
/// attempt (and is sent chunked, its length unknown).
#[must_use]
pub struct Upload {
    source: Source,
    progress: Option<ProgressFn>,
}

enum Source {
    Bytes(Bytes),
    File(PathBuf),
    Reader(ReaderSlot),
}

impl fmt::Debug for Upload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = match &self.source {
            Source::Bytes(bytes) => format!("Bytes({} bytes)", bytes.len()),
            Source::File(path) => format!("File({})", path.display()),
            Source::Reader(_) => "Reader".to_owned(),
        };
        f.debug_struct("Upload")
            .field("source", &source)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

impl Upload {
    /// A body held in memory.
    pub fn bytes(data: impl Into<Bytes>) -> Self {
        Upload {
            source: Source::Bytes(data.into()),
            progress: None,
        }
    }

    /// A body streamed from the file at `path` when the request is sent. Each attempt reads the
    /// file afresh; its size is declared as `Content-Length`, so a server can refuse an
    /// oversized file at once. A file that cannot be read is an
    /// [`ErrorKind::Encode`](crate::ErrorKind::Encode) error from `.send()`, before anything is
    /// sent.
    pub fn file(path: impl AsRef<Path>) -> Self {
        Upload {
            source: Source::File(path.as_ref().to_path_buf()),
            progress: None,
        }
    }

    /// A body streamed from `reader` when the request is sent (once: no retry).
    pub fn reader<R>(reader: R) -> Self
    where
        R: AsyncRead + Send + 'static,
    {
        Upload {
            source: Source::Reader(Arc::new(Mutex::new(Some(Box::pin(reader))))),
            progress: None,
        }
    }

    /// A body streamed from `stream`'s chunks when the request is sent (once: no retry). An
    /// error from the stream ends the request with that error.
    pub fn stream<S, E>(stream: S) -> Self
    where
        S: Stream<Item = Result<Bytes, E>> + Send + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
    {
        let stream = stream.map_err(io::Error::other);
        Self::reader(tokio_util::io::StreamReader::new(stream))
    }

    /// Calls `progress` as the body is sent, after each chunk, with the bytes sent so far and
    /// the total when known. It runs on the task sending the request: keep it quick.
    pub fn on_progress(mut self, progress: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(progress));
        self
    }

    /// The body for the request, sent as `content_type`.
    #[allow(dead_code)] // used by code generated from specs with such bodies
    pub(crate) fn encode(self, content_type: &'static str) -> EncodedBody {
        let (segment, len) = match self.source {
            Source::Bytes(bytes) if self.progress.is_none() => {
                return EncodedBody::raw(bytes, content_type);
            }
            Source::Bytes(bytes) => {
                let len = bytes.len() as u64;
                (Segment::Bytes(bytes), Some(len))
            }
            Source::File(path) => match std::fs::metadata(&path) {
                Ok(meta) if meta.is_file() => (Segment::File(path), Some(meta.len())),
                Ok(_) => {
                    return EncodedBody::failed(
                        format!("{} is not a file", path.display()),
                        content_type.to_owned(),
                    );
                }
                Err(e) => {
                    return EncodedBody::failed(
                        format!("cannot read {}: {e}", path.display()),
                        content_type.to_owned(),
                    );
                }
            },
            Source::Reader(slot) => (Segment::Reader(slot), None),
        };
        EncodedBody::streamed(
            StreamBody::new(vec![segment], len, self.progress),
            content_type.to_owned(),
        )
    }
}

impl From<Bytes> for Upload {
    fn from(data: Bytes) -> Self {
        Upload::bytes(data)
    }
}

impl From<Vec<u8>> for Upload {
    fn from(data: Vec<u8>) -> Self {
        Upload::bytes(data)
    }
}

impl From<String> for Upload {
    fn from(text: String) -> Self {
        Upload::bytes(text)
    }
}

impl From<&str> for Upload {
    fn from(text: &str) -> Self {
        Upload::bytes(Bytes::copy_from_slice(text.as_bytes()))
    }
}

impl From<&[u8]> for Upload {
    fn from(data: &[u8]) -> Self {
        Upload::bytes(Bytes::copy_from_slice(data))
    }
}
