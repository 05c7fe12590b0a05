//! Cursor pagination: a stream of pages and a stream of items over any list operation.
//!
//! Every page is requested with the same filters and page size; only `cursor` changes. The
//! streams stop when the server says there is no more (`has_more: false` or no cursor), and
//! end with [`ErrorKind::RepeatedCursor`](crate::ErrorKind::RepeatedCursor) if the server hands
//! back a cursor already followed, so a server bug cannot become an endless loop. An error ends
//! the stream after it is yielded once; retries happen below, in the transport.
//!
//! ```no_run
//! use futures::TryStreamExt;
//! # async fn run(client: marketing_api::Client) -> Result<(), marketing_api::Error> {
//! let mut contacts = client.contacts().list().limit(100).stream();
//! while let Some(contact) = contacts.try_next().await? {
//!     println!("{}", contact.id);
//! }
//! # Ok(()) }
//! ```

use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures::Stream;
use futures::stream::StreamExt;
use serde::de::DeserializeOwned;
use tracing::Instrument;

use crate::client::Client;
use crate::error::Error;
use crate::response::Page;
use crate::transport::Request;

/// How many recent cursors a stream remembers to detect a loop. A cycle longer than this many
/// pages goes unnoticed, but memory stays constant however long the stream runs.
pub(crate) const REMEMBERED_CURSORS: usize = 1024;

type BoxedPages<T> = Pin<Box<dyn Stream<Item = Result<Page<T>, Error>> + Send>>;

/// A stream of pages (`Stream<Item = Result<Page<T>, Error>>`), from
/// `.pages()` on any list operation builder.
///
/// Prefetch is off by default: with it on, the next page is requested while the caller works on
/// the current one (at most one page ahead), which hides server latency but may spend one extra
/// request when the caller stops early and doubles the burst against the rate limit. Dropping
/// the stream aborts the page being fetched ahead, retries and all.
#[must_use = "streams do nothing unless polled"]
pub struct Pages<T> {
    state: PagesState<T>,
}

enum PagesState<T> {
    Configured {
        client: Client,
        request: Request,
        prefetch: bool,
    },
    Running(BoxedPages<T>),
    Taken,
}

impl<T> std::fmt::Debug for Pages<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.state {
            PagesState::Configured { request, .. } => request.operation.id,
            PagesState::Running(_) => "running",
            PagesState::Taken => "taken",
        };
        f.debug_tuple("Pages").field(&state).finish()
    }
}

impl<T: DeserializeOwned + Send + 'static> Pages<T> {
    pub(crate) fn new(client: Client, request: Request) -> Self {
        Self {
            state: PagesState::Configured {
                client,
                request,
                prefetch: false,
            },
        }
    }

    /// Requests page n+1 while the caller consumes page n (one page ahead at most). Has an effect
    /// only before the first poll.
    pub fn prefetch(mut self, enabled: bool) -> Self {
        if let PagesState::Configured { prefetch, .. } = &mut self.state {
            *prefetch = enabled;
        }
        self
    }

    /// A stream of the items of every page.
    pub fn items(self) -> Items<T> {
        Items {
            pages: self,
            current: Vec::new().into_iter(),
            page_cursor: None,
            next_cursor: None,
            finished: false,
        }
    }

    fn start(&mut self) -> &mut BoxedPages<T> {
        if let PagesState::Configured { .. } = self.state {
            let PagesState::Configured {
                client,
                request,
                prefetch,
            } = std::mem::replace(&mut self.state, PagesState::Taken)
            else {
                unreachable!("checked just above")
            };
            self.state = PagesState::Running(if prefetch {
                Box::pin(prefetching_pages(client, request))
            } else {
                Box::pin(sequential_pages(client, request))
            });
        }
        match &mut self.state {
            PagesState::Running(stream) => stream,
            // `start` turns every other state into `Running` above.
            _ => unreachable!("pages stream started"),
        }
    }
}

impl<T: DeserializeOwned + Send + 'static> Stream for Pages<T> {
    type Item = Result<Page<T>, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.start().as_mut().poll_next(cx)
    }
}

/// Remembers recent cursors in constant memory.
pub(crate) struct CursorGuard {
    hasher: RandomState,
    recent: VecDeque<u64>,
    seen: HashSet<u64>,
}

impl CursorGuard {
    pub(crate) fn new() -> Self {
        Self {
            hasher: RandomState::new(),
            recent: VecDeque::with_capacity(REMEMBERED_CURSORS),
            seen: HashSet::with_capacity(REMEMBERED_CURSORS),
        }
    }

    /// Records `cursor`; false if it was already followed.
    pub(crate) fn first_visit(&mut self, cursor: &str) -> bool {
        let hash = self.hasher.hash_one(cursor);
        if !self.seen.insert(hash) {
            return false;
        }
        if self.recent.len() == REMEMBERED_CURSORS
            && let Some(old) = self.recent.pop_front()
        {
            self.seen.remove(&old);
        }
        self.recent.push_back(hash);
        true
    }
}

/// What to do after a page arrived.
pub(crate) enum Next {
    Follow(String),
    Stop,
    Loop,
}

pub(crate) fn next_step<T>(page: &Page<T>, guard: &mut CursorGuard) -> Next {
    match (&page.next_cursor, page.has_more) {
        (Some(cursor), true) if guard.first_visit(cursor) => Next::Follow(cursor.clone()),
        (Some(_), true) => Next::Loop,
        _ => Next::Stop,
    }
}

fn sequential_pages<T: DeserializeOwned + Send + 'static>(
    client: Client,
    mut request: Request,
) -> impl Stream<Item = Result<Page<T>, Error>> + Send {
    async_stream::stream! {
        let mut guard = CursorGuard::new();
        if let Some(start) = request.query_value("cursor") {
            guard.first_visit(start);
        }
        let op = request.operation.id;
        loop {
            let page = match client.execute_page::<T>(request.clone()).await {
                Ok(response) => response.data,
                Err(e) => {
                    yield Err(e);
                    return;
                }
            };
            let next = next_step(&page, &mut guard);
            yield Ok(page);
            match next {
                Next::Follow(cursor) => request.set_query("cursor", Some(cursor)),
                Next::Stop => return,
                Next::Loop => {
                    yield Err(Error::repeated_cursor().with_operation(op));
                    return;
                }
            }
        }
    }
}

fn prefetching_pages<T: DeserializeOwned + Send + 'static>(
    client: Client,
    mut request: Request,
) -> impl Stream<Item = Result<Page<T>, Error>> + Send {
    async_stream::stream! {
        let mut guard = CursorGuard::new();
        if let Some(start) = request.query_value("cursor") {
            guard.first_visit(start);
        }
        let op = request.operation.id;
        let fetch = |client: Client, request: Request| {
            // In the caller's span, so the prefetched page is traced like any other.
            PrefetchTask(tokio::spawn(
                async move { client.execute_page::<T>(request).await.map(|r| r.data) }
                    .in_current_span(),
            ))
        };
        let mut in_flight = Some(fetch(client.clone(), request.clone()));
        while let Some(mut task) = in_flight.take() {
            let page = match (&mut task.0).await {
                Ok(Ok(page)) => page,
                Ok(Err(e)) => {
                    yield Err(e);
                    return;
                }
                Err(join) => {
                    yield Err(Error::transport(join).with_operation(op));
                    return;
                }
            };
            let next = next_step(&page, &mut guard);
            if let Next::Follow(cursor) = &next {
                request.set_query("cursor", Some(cursor.clone()));
                // Ask for the next page before handing this one over.
                in_flight = Some(fetch(client.clone(), request.clone()));
            }
            yield Ok(page);
            if let Next::Loop = next {
                yield Err(Error::repeated_cursor().with_operation(op));
                return;
            }
        }
    }
}

/// The spawned fetch of the next page, aborted when dropped: a caller that stops reading (or
/// drops the stream) must not leave a request, with its retries and backoff, running on in the
/// background.
struct PrefetchTask<T>(tokio::task::JoinHandle<Result<Page<T>, Error>>);

impl<T> Drop for PrefetchTask<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A stream of items across pages (`Stream<Item = Result<T, Error>>`), from `.stream()` on any
/// list operation builder. Memory holds one page at a time.
///
/// For a long export, checkpoint [`Items::page_cursor`] together with how many items of that
/// page were handled, or use `.pages()` and checkpoint whole pages with
/// [`Page::resume_cursor`].
#[must_use = "streams do nothing unless polled"]
pub struct Items<T> {
    pages: Pages<T>,
    current: std::vec::IntoIter<T>,
    page_cursor: Option<String>,
    next_cursor: Option<String>,
    finished: bool,
}

impl<T> std::fmt::Debug for Items<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Items")
            .field("pages", &self.pages)
            .field("buffered", &self.current.len())
            .finish_non_exhaustive()
    }
}

impl<T> Items<T> {
    /// The cursor the current page was requested with (`None` for the first page). Resuming a
    /// list with `.cursor(saved)` re-reads this page from its first item.
    pub fn page_cursor(&self) -> Option<&str> {
        self.page_cursor.as_deref()
    }

    /// The cursor of the page after the current one, once the current page has arrived.
    pub fn next_cursor(&self) -> Option<&str> {
        self.next_cursor.as_deref()
    }

    /// How many items of the current page have not been yielded yet.
    pub fn remaining_in_page(&self) -> usize {
        self.current.len()
    }
}

impl<T: DeserializeOwned + Send + 'static> Items<T> {
    /// Requests page n+1 while items of page n are consumed (see [`Pages::prefetch`]).
    pub fn prefetch(mut self, enabled: bool) -> Self {
        self.pages = self.pages.prefetch(enabled);
        self
    }
}

// Items never pins `T` in place: the page buffer is moved, not pinned.
impl<T> Unpin for Items<T> {}

impl<T: DeserializeOwned + Send + 'static> Stream for Items<T> {
    type Item = Result<T, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(item) = this.current.next() {
                return Poll::Ready(Some(Ok(item)));
            }
            if this.finished {
                return Poll::Ready(None);
            }
            match ready!(this.pages.poll_next_unpin(cx)) {
                Some(Ok(page)) => {
                    this.page_cursor = page.cursor;
                    this.next_cursor = page.next_cursor;
                    this.current = page.items.into_iter();
                }
                Some(Err(e)) => {
                    this.finished = true;
                    return Poll::Ready(Some(Err(e)));
                }
                None => {
                    this.finished = true;
                    return Poll::Ready(None);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cursor_guard_spots_repeats_in_constant_memory() {
        let mut guard = CursorGuard::new();
        assert!(guard.first_visit("a"));
        assert!(!guard.first_visit("a"));
        for i in 0..(REMEMBERED_CURSORS * 3) {
            assert!(guard.first_visit(&format!("c{i}")));
        }
        assert_eq!(guard.recent.len(), REMEMBERED_CURSORS);
        assert_eq!(guard.seen.len(), REMEMBERED_CURSORS);
        // The most recent cursors are still remembered.
        assert!(!guard.first_visit(&format!("c{}", REMEMBERED_CURSORS * 3 - 1)));
    }
}
