//! What a successful operation hands back besides the entity.

use http::{HeaderMap, StatusCode};

/// An entity with the metadata of the response that carried it.
///
/// Returned by `.send_with_meta()`; `.send()` returns only [`Response::data`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Response<T> {
    /// The decoded entity.
    pub data: T,
    /// The HTTP status.
    pub status: StatusCode,
    /// The request id (`meta.request_id`, or the `X-Request-Id` header).
    pub request_id: Option<String>,
    /// The response headers (rate-limit state, `Idempotent-Replayed`, deprecation…).
    pub headers: HeaderMap,
}

impl<T> Response<T> {
    /// Whether the server replayed a stored response for a repeated `Idempotency-Key`.
    pub fn is_idempotent_replay(&self) -> bool {
        self.headers
            .get("idempotent-replayed")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"))
    }
}

/// One page of a list operation.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Page<T> {
    /// The items of this page, in the server's order.
    pub items: Vec<T>,
    /// The cursor of the next page; `None` on the last page.
    pub next_cursor: Option<String>,
    /// Whether more items follow.
    pub has_more: bool,
    /// The total number of matching items, when the server counts them.
    pub total_count: Option<i64>,
    /// The request id of the response.
    pub request_id: Option<String>,
    /// The cursor this page was requested with (`None` for the first page): save it to re-read
    /// this page, or save [`Page::next_cursor`] to resume after it.
    pub cursor: Option<String>,
}

impl<T> Page<T> {
    /// The cursor to resume from after this page, if there is a next page.
    pub fn resume_cursor(&self) -> Option<&str> {
        if self.has_more {
            self.next_cursor.as_deref()
        } else {
            None
        }
    }
}

impl<T> IntoIterator for Page<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

/// A response body read as it arrives, for binary and other non-JSON downloads: a
/// [`Stream`](futures::Stream) of chunks, so a large file never sits whole in memory.
///
/// ```no_run
/// # async fn run(body: marketing_api::ByteStream) -> Result<(), marketing_api::Error> {
/// use futures::TryStreamExt;
///
/// let mut body = body;
/// let mut total = 0;
/// while let Some(chunk) = body.try_next().await? {
///     total += chunk.len(); // write it somewhere instead
/// }
/// # Ok(()) }
/// ```
pub struct ByteStream {
    inner:
        std::pin::Pin<Box<dyn futures::Stream<Item = Result<bytes::Bytes, crate::Error>> + Send>>,
}

impl ByteStream {
    pub(crate) fn new(
        stream: impl futures::Stream<Item = Result<bytes::Bytes, crate::Error>> + Send + 'static,
    ) -> Self {
        ByteStream {
            inner: Box::pin(stream),
        }
    }

    /// Reads the whole body into memory (for bodies known to be small).
    pub async fn collect(mut self) -> Result<bytes::Bytes, crate::Error> {
        let mut all = bytes::BytesMut::new();
        while let Some(chunk) = futures::StreamExt::next(&mut self).await {
            all.extend_from_slice(&chunk?);
        }
        Ok(all.freeze())
    }
}

impl futures::Stream for ByteStream {
    type Item = Result<bytes::Bytes, crate::Error>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl std::fmt::Debug for ByteStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ByteStream").finish_non_exhaustive()
    }
}
