//! Request bodies that are streamed rather than held in memory: a file read from disk or any
//! `AsyncRead`, framed by in-memory pieces (a multipart form's boundaries and part headers).
//!
//! A body made only of bytes and files is read afresh for every attempt, so it is retried like
//! any other body; a body with a reader can be sent once (the transport then makes one attempt).

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::{Bytes, BytesMut};
use futures::Stream;
use tokio::io::{AsyncRead, AsyncReadExt};

/// How much of a file or reader one chunk of the body holds.
const CHUNK_BYTES: usize = 64 * 1024;

/// How far an upload has got, handed to the callback of [`Multipart::on_progress`](crate::multipart::Multipart::on_progress).
///
/// `sent` counts the bytes of the body (file contents and the form's framing) handed to the
/// connection in the current attempt; a retried upload starts again from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Bytes of the body sent so far.
    pub sent: u64,
    /// Size of the whole body, when every streamed part's size is known (files; not readers).
    pub total: Option<u64>,
}

/// The progress callback.
pub(crate) type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

/// A reader that can be taken once.
pub(crate) type ReaderSlot = Arc<Mutex<Option<Pin<Box<dyn AsyncRead + Send>>>>>;

/// One piece of a streamed body.
#[derive(Clone)]
pub(crate) enum Segment {
    /// Bytes in memory.
    Bytes(Bytes),
    /// A file, opened when the body is sent.
    File(PathBuf),
    /// A reader, taken by the first attempt.
    Reader(ReaderSlot),
}

impl fmt::Debug for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Segment::Bytes(bytes) => write!(f, "Bytes({} bytes)", bytes.len()),
            Segment::File(path) => f.debug_tuple("File").field(path).finish(),
            Segment::Reader(_) => f.write_str("Reader"),
        }
    }
}

/// A body sent as a stream of chunks, never whole. One pointer wide: requests carry it in
/// their (cloned, moved) encoded body next to the bytes most requests send.
#[derive(Clone)]
pub(crate) struct StreamBody(Arc<StreamParts>);

struct StreamParts {
    segments: Arc<[Segment]>,
    len: Option<u64>,
    progress: Option<ProgressFn>,
}

impl fmt::Debug for StreamBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamBody")
            .field("segments", &self.0.segments)
            .field("len", &self.0.len)
            .field("progress", &self.0.progress.is_some())
            .finish()
    }
}

/// Where the stream of one attempt is.
struct Cursor {
    segments: Arc<[Segment]>,
    next: usize,
    reader: Option<Pin<Box<dyn AsyncRead + Send>>>,
    sent: u64,
    total: Option<u64>,
    progress: Option<ProgressFn>,
    done: bool,
}

impl Cursor {
    fn advance(&mut self, chunk: Bytes) -> Bytes {
        self.sent += chunk.len() as u64;
        if let Some(progress) = &self.progress {
            progress(Progress {
                sent: self.sent,
                total: self.total,
            });
        }
        chunk
    }

    fn fail(&mut self, error: io::Error) -> io::Error {
        self.done = true;
        self.reader = None;
        error
    }

    async fn next_chunk(&mut self) -> Option<io::Result<Bytes>> {
        loop {
            if self.done {
                return None;
            }
            if let Some(reader) = &mut self.reader {
                let mut buf = BytesMut::with_capacity(CHUNK_BYTES);
                match reader.read_buf(&mut buf).await {
                    Ok(0) => {
                        self.reader = None;
                        self.next += 1;
                        continue;
                    }
                    Ok(_) => return Some(Ok(self.advance(buf.freeze()))),
                    Err(e) => return Some(Err(self.fail(e))),
                }
            }
            let Some(segment) = self.segments.get(self.next).cloned() else {
                self.done = true;
                return None;
            };
            match segment {
                Segment::Bytes(bytes) => {
                    self.next += 1;
                    if !bytes.is_empty() {
                        return Some(Ok(self.advance(bytes)));
                    }
                }
                Segment::File(path) => match tokio::fs::File::open(&path).await {
                    Ok(file) => self.reader = Some(Box::pin(file)),
                    Err(e) => {
                        let error =
                            io::Error::new(e.kind(), format!("opening {}: {e}", path.display()));
                        return Some(Err(self.fail(error)));
                    }
                },
                Segment::Reader(slot) => {
                    let taken = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
                    match taken {
                        Some(reader) => self.reader = Some(reader),
                        None => {
                            let error = io::Error::other(
                                "the body's reader was consumed by an earlier attempt; a reader can be sent once",
                            );
                            return Some(Err(self.fail(error)));
                        }
                    }
                }
            }
        }
    }
}

impl StreamBody {
    /// A body of `segments`, `len` bytes long when known.
    pub(crate) fn new(
        segments: Vec<Segment>,
        len: Option<u64>,
        progress: Option<ProgressFn>,
    ) -> Self {
        StreamBody(Arc::new(StreamParts {
            segments: segments.into(),
            len,
            progress,
        }))
    }

    /// Its length, sent as `Content-Length` so a server can refuse an oversized upload before
    /// reading it.
    pub(crate) fn len(&self) -> Option<u64> {
        self.0.len
    }

    /// Whether every attempt can send it again (no reader in it).
    pub(crate) fn is_replayable(&self) -> bool {
        !self
            .0
            .segments
            .iter()
            .any(|segment| matches!(segment, Segment::Reader(_)))
    }

    /// The chunks of one attempt.
    pub(crate) fn stream(&self) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
        let cursor = Cursor {
            segments: Arc::clone(&self.0.segments),
            next: 0,
            reader: None,
            sent: 0,
            total: self.0.len,
            progress: self.0.progress.clone(),
            done: false,
        };
        futures::stream::unfold(cursor, |mut cursor| async move {
            cursor.next_chunk().await.map(|chunk| (chunk, cursor))
        })
    }
}

/// What a request sends: bytes, or a stream.
#[derive(Debug, Clone)]
pub(crate) enum Payload {
    /// The whole body, in memory.
    Bytes(Bytes),
    /// A body read as it is sent.
    Stream(StreamBody),
}

impl Payload {
    /// The body of one attempt.
    pub(crate) fn to_reqwest(&self) -> reqwest::Body {
        match self {
            Payload::Bytes(bytes) => bytes.clone().into(),
            Payload::Stream(stream) => reqwest::Body::wrap_stream(stream.stream()),
        }
    }

    /// The `Content-Length` to declare for a streamed body (reqwest declares it for bytes).
    pub(crate) fn streamed_len(&self) -> Option<u64> {
        match self {
            Payload::Bytes(_) => None,
            Payload::Stream(stream) => stream.len(),
        }
    }

    /// Whether another attempt can send the body again.
    pub(crate) fn is_replayable(&self) -> bool {
        match self {
            Payload::Bytes(_) => true,
            Payload::Stream(stream) => stream.is_replayable(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::TryStreamExt;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[tokio::test]
    async fn a_file_body_is_read_again_for_each_attempt_and_reports_progress() {
        let path =
            std::env::temp_dir().join(format!("marketing-api-body-{}.bin", std::process::id()));
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).expect("temp file");
        let last = Arc::new(AtomicU64::new(0));
        let seen = Arc::clone(&last);
        let body = StreamBody::new(
            vec![
                Segment::Bytes(Bytes::from_static(b"<")),
                Segment::File(path.clone()),
                Segment::Bytes(Bytes::from_static(b">")),
            ],
            Some(200_002),
            Some(Arc::new(move |p: Progress| {
                assert_eq!(p.total, Some(200_002));
                seen.store(p.sent, Ordering::SeqCst);
            })),
        );
        assert!(body.is_replayable());
        for _ in 0..2 {
            let chunks: Vec<Bytes> = body.stream().try_collect().await.expect("readable");
            assert!(chunks.len() > 3, "the file arrives in chunks");
            assert!(chunks.iter().all(|c| c.len() <= CHUNK_BYTES));
            let whole = chunks.concat();
            assert_eq!(whole.len(), 200_002);
            assert_eq!(&whole[1..200_001], &data[..]);
            assert_eq!(last.load(Ordering::SeqCst), 200_002);
        }
        std::fs::remove_file(&path).ok();
    }

    #[tokio::test]
    async fn a_reader_is_sent_once_and_a_missing_file_names_itself() {
        let reader: Pin<Box<dyn AsyncRead + Send>> = Box::pin(&b"abc"[..]);
        let body = StreamBody::new(
            vec![Segment::Reader(Arc::new(Mutex::new(Some(reader))))],
            None,
            None,
        );
        assert!(!body.is_replayable());
        let first: Vec<Bytes> = body.stream().try_collect().await.expect("first attempt");
        assert_eq!(first.concat(), b"abc");
        let again = body.stream().try_collect::<Vec<Bytes>>().await;
        assert!(again.unwrap_err().to_string().contains("sent once"));

        let missing = StreamBody::new(
            vec![Segment::File(PathBuf::from(
                "/nonexistent/marketing-api.png",
            ))],
            None,
            None,
        );
        let error = missing
            .stream()
            .try_collect::<Vec<Bytes>>()
            .await
            .unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
        assert!(error.to_string().contains("/nonexistent/marketing-api.png"));
    }
}
