//! CSV response bodies read as rows while they arrive: [`ByteStream::csv_rows`] turns a
//! streamed `text/csv` answer (a contact export) into a [`Stream`] of [`CsvRow`]s, parsed by
//! `csv-async` (RFC 4180 quoting) chunk by chunk, so memory stays flat however many rows flow.
//!
//! ```no_run
//! # async fn run(client: marketing_api::Client) -> Result<(), marketing_api::Error> {
//! use futures::TryStreamExt;
//! use marketing_api::models::ContactStatus;
//!
//! let mut rows = client
//!     .contacts()
//!     .export_csv()
//!     .status(ContactStatus::Subscribed)
//!     .send()
//!     .await?
//!     .csv_rows();
//! while let Some(row) = rows.try_next().await? {
//!     println!("{} {:?}", row.get("id").unwrap_or(""), row.get("email"));
//! }
//! # Ok(()) }
//! ```

use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use futures::{Stream, StreamExt};

use crate::{ByteStream, Error};

/// One data row of a CSV body, with the header row that names its fields.
#[derive(Clone)]
pub struct CsvRow {
    header: Arc<csv_async::StringRecord>,
    record: csv_async::StringRecord,
}

impl CsvRow {
    /// The field of `column` (a name of the header row); `None` when the header has no such
    /// column. An empty field is `Some("")`.
    pub fn get(&self, column: &str) -> Option<&str> {
        let index = self.header.iter().position(|name| name == column)?;
        self.record.get(index)
    }

    /// The field at `index`, in header order.
    pub fn field(&self, index: usize) -> Option<&str> {
        self.record.get(index)
    }

    /// The header row's column names.
    pub fn columns(&self) -> impl Iterator<Item = &str> {
        self.header.iter()
    }

    /// `(column, field)` pairs in header order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.header.iter().zip(self.record.iter())
    }

    /// How many fields the row has.
    pub fn len(&self) -> usize {
        self.record.len()
    }

    /// Whether the row has no fields.
    pub fn is_empty(&self) -> bool {
        self.record.is_empty()
    }
}

impl fmt::Debug for CsvRow {
    // Rows of an export hold personal data (email, names): only their shape is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CsvRow")
            .field("fields", &self.record.len())
            .finish_non_exhaustive()
    }
}

/// The rows of a CSV body, as they arrive: a [`Stream`] of `Result<CsvRow, Error>`. A body
/// that is not CSV (a field count that differs from the header's, invalid UTF-8) ends it with
/// an [`ErrorKind::Decode`](crate::ErrorKind::Decode) error naming the line; a failure of the
/// connection ends it with that error.
pub struct CsvRows {
    inner: Pin<Box<dyn Stream<Item = Result<CsvRow, Error>> + Send>>,
}

impl fmt::Debug for CsvRows {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CsvRows").finish_non_exhaustive()
    }
}

impl Stream for CsvRows {
    type Item = Result<CsvRow, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl ByteStream {
    /// The body parsed as CSV with a header row, row by row as it arrives (see [`CsvRows`]).
    pub fn csv_rows(self) -> CsvRows {
        // The reader sees I/O errors; the SDK error that caused one is kept to hand back as is.
        let failure: Arc<Mutex<Option<Error>>> = Arc::default();
        let seen = Arc::clone(&failure);
        let chunks = self.map(move |chunk| {
            chunk.map_err(|error| {
                let message = error.to_string();
                *seen.lock().unwrap_or_else(PoisonError::into_inner) = Some(error);
                io::Error::other(message)
            })
        });
        let reader = tokio_util::io::StreamReader::new(chunks);
        let csv = csv_async::AsyncReaderBuilder::new()
            .has_headers(false)
            .flexible(false)
            .create_reader(reader);
        let state = Parse {
            csv,
            header: None,
            failure,
            done: false,
        };
        let stream = futures::stream::unfold(state, |mut state| async move {
            let item = state.next().await?;
            Some((item, state))
        });
        CsvRows {
            inner: Box::pin(stream),
        }
    }
}

struct Parse<R> {
    csv: csv_async::AsyncReader<R>,
    header: Option<Arc<csv_async::StringRecord>>,
    failure: Arc<Mutex<Option<Error>>>,
    done: bool,
}

impl<R: tokio::io::AsyncRead + Unpin + Send> Parse<R> {
    async fn next(&mut self) -> Option<Result<CsvRow, Error>> {
        loop {
            if self.done {
                return None;
            }
            let mut record = csv_async::StringRecord::new();
            match self.csv.read_record(&mut record).await {
                Ok(false) => {
                    self.done = true;
                    return None;
                }
                Ok(true) => match &self.header {
                    None => {
                        self.header = Some(Arc::new(record));
                        continue;
                    }
                    Some(header) => {
                        return Some(Ok(CsvRow {
                            header: Arc::clone(header),
                            record,
                        }));
                    }
                },
                Err(error) => {
                    self.done = true;
                    let cause = self
                        .failure
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .take();
                    return Some(Err(match cause {
                        Some(cause) => cause,
                        None => Error::decode_csv(error.position().map(|p| p.line()), error),
                    }));
                }
            }
        }
    }
}
