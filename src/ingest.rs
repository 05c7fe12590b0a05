//! Bulk event ingestion: any `Stream` of events in, batches of `POST /events` out, and a report
//! that accounts for every event read.
//!
//! [`Events::ingest`](crate::api::Events::ingest) packs events into batches bounded by count,
//! serialized bytes and a linger time, keeps a bounded number of batches in flight, and reads
//! the input only while it has room for what it reads, so a fast producer is slowed to the pace
//! of the API instead of filling memory. Each batch carries one idempotency key, generated once
//! and reused by every retry of the transport, so a batch whose answer was lost and which is
//! sent again is stored once.
//!
//! Every event read ends in exactly one of three places in the [`IngestReport`]: counted as
//! accepted, listed as rejected (with the server's reason, or the SDK's when it refused to send
//! it), or listed in an undeliverable batch (with the error of its last attempt).

use std::fmt;
use std::future::Future;
use std::pin::{Pin, pin};
use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, Stream, StreamExt};
use tokio::sync::watch;

use crate::api::Events;
use crate::error::Error;
use crate::models::{
    EventBatch, EventBatchResult, EventRejection, EventResult, EventResultStatus,
    NewInteractionEvent,
};

/// Most events one batch may carry (the API's bound).
pub const MAX_BATCH_EVENTS: usize = 500;

/// Largest request body the API accepts (1 MiB).
pub const MAX_BATCH_BYTES: usize = 1024 * 1024;

/// Default bound on a batch's serialized body: 1 KiB under the API's 1 MiB, so a proxy that
/// adds a little framing cannot push a full batch over the limit.
pub const DEFAULT_MAX_BATCH_BYTES: usize = MAX_BATCH_BYTES - 1024;

/// Default time a partly filled batch waits for more events before it is sent.
pub const DEFAULT_LINGER: Duration = Duration::from_millis(50);

/// Default number of batches in flight at once.
pub const DEFAULT_CONCURRENCY: usize = 4;

/// `{"events":[` and `]}` around the comma-separated events of a batch body.
const BATCH_ENVELOPE_BYTES: usize = r#"{"events":[]}"#.len();

/// The smallest byte bound accepted: an envelope and one tiny event.
const MIN_BATCH_BYTES: usize = 64;

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Reason codes of rejections made by the SDK rather than the server.
pub mod local_codes {
    /// The event alone serializes to more bytes than a batch may carry.
    pub const EVENT_TOO_LARGE: &str = "event_too_large";
    /// The event could not be serialized as JSON.
    pub const NOT_SERIALIZABLE: &str = "event_not_serializable";
    /// The server answered the batch but gave no result for this event.
    pub const RESULT_MISSING: &str = "result_missing";
    /// The server gave this event a status this SDK version does not know.
    pub const UNKNOWN_STATUS: &str = "result_status_unknown";
}

/// An item of an ingest input stream: an event, or a `Result` whose error stops the ingest.
///
/// Implemented for [`NewInteractionEvent`] and for `Result<NewInteractionEvent, E>`, so both
/// infallible streams and streams that read from a fallible source (a file, a queue) work.
pub trait IngestItem {
    /// The event, or the source's error.
    fn into_event(self) -> Result<NewInteractionEvent, BoxError>;
}

impl IngestItem for NewInteractionEvent {
    fn into_event(self) -> Result<NewInteractionEvent, BoxError> {
        Ok(self)
    }
}

impl<E> IngestItem for Result<NewInteractionEvent, E>
where
    E: Into<BoxError>,
{
    fn into_event(self) -> Result<NewInteractionEvent, BoxError> {
        self.map_err(Into::into)
    }
}

impl Events {
    /// Ingests every event of `events` in batches, several at once, and reports the fate of
    /// each one. Configure the returned [`Ingest`], then call [`Ingest::run`].
    ///
    /// ```no_run
    /// use futures::{StreamExt, stream};
    /// use marketing_api::Client;
    /// use marketing_api::models::{InteractionEventType, NewInteractionEvent};
    ///
    /// # async fn run(client: Client) -> Result<(), Box<dyn std::error::Error>> {
    /// let now = chrono::Utc::now();
    /// let events = stream::iter(0..100_000)
    ///     .map(move |_| NewInteractionEvent::builder().type_(InteractionEventType::PageView).occurred_at(now).build());
    /// let ingest = client.events().ingest(events).concurrency(8);
    /// let mut progress = ingest.progress();
    /// tokio::spawn(async move {
    ///     while progress.changed().await.is_ok() {
    ///         let p = *progress.borrow();
    ///         eprint!("\r{} accepted, {} rejected", p.accepted, p.rejected);
    ///     }
    /// });
    /// let report = ingest.run().await?;
    /// println!("{} accepted in {:?}", report.accepted, report.elapsed);
    /// for rejected in &report.rejected {
    ///     println!("event #{}: {}", rejected.position, rejected.reason.message);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn ingest<S>(&self, events: S) -> Ingest<S>
    where
        S: Stream,
        S::Item: IngestItem,
    {
        let (progress, _) = watch::channel(IngestProgress::default());
        Ingest {
            events: self.clone(),
            source: events,
            max_batch_events: MAX_BATCH_EVENTS,
            max_batch_bytes: DEFAULT_MAX_BATCH_BYTES,
            linger: DEFAULT_LINGER,
            concurrency: DEFAULT_CONCURRENCY,
            max_attempts: None,
            progress,
            on_progress: None,
        }
    }
}

/// Counters of a running ingest, published after every batch sent or answered.
///
/// `read = accepted + rejected + failed + (events waiting in a batch or in flight)`; once
/// `finished`, nothing is waiting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct IngestProgress {
    /// Events taken from the input stream.
    pub read: u64,
    /// Events handed to the API in a batch (answered or still in flight).
    pub sent: u64,
    /// Events the API stored.
    pub accepted: u64,
    /// Events the API (or the SDK, before sending) refused, with a reason in the report.
    pub rejected: u64,
    /// Events in batches that could not be delivered.
    pub failed: u64,
    /// Batches answered or given up on.
    pub batches: u64,
    /// Batches in flight right now.
    pub in_flight: usize,
    /// The ingest is over; these are the final counts.
    pub finished: bool,
}

/// An event the API (or the SDK) refused, with the reason.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RejectedEvent {
    /// Position of the event in the input stream (0-based).
    pub position: u64,
    /// The event, as read.
    pub event: NewInteractionEvent,
    /// Why it was refused; `param` names the field (`events[3].contact_id`, within its batch).
    pub reason: EventRejection,
    /// `true` when the SDK refused it (see [`local_codes`]), `false` for the server's reason.
    pub local: bool,
}

/// A batch the API could not be made to answer: it ran out of attempts, or was refused as a
/// whole. Its events are handed back so they can be sent again.
///
/// When the last attempt failed after the request left (a lost connection, a timeout), the
/// server may have stored the batch anyway; send it again with the same
/// [`idempotency_key`](Self::idempotency_key) (`send_batch(..).idempotency_key(..)`) and it is
/// stored at most once.
#[derive(Debug)]
#[non_exhaustive]
pub struct UndeliverableBatch {
    /// The events of the batch, in the order they were read.
    pub events: Vec<NewInteractionEvent>,
    /// Their positions in the input stream, one per event.
    pub positions: Vec<u64>,
    /// The key every attempt of this batch carried.
    pub idempotency_key: String,
    /// The error of the last attempt.
    pub error: Error,
}

/// What happened to every event read.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct IngestReport {
    /// Events taken from the input stream.
    pub read: u64,
    /// Events the API stored.
    pub accepted: u64,
    /// Events refused, with the reason, in input order.
    pub rejected: Vec<RejectedEvent>,
    /// Batches that could not be delivered, with their events and error, in input order.
    pub undeliverable: Vec<UndeliverableBatch>,
    /// Batches sent (answered or undeliverable).
    pub batches: u64,
    /// Time from start to the last answer.
    pub elapsed: Duration,
}

impl IngestReport {
    /// Number of events in undeliverable batches.
    pub fn undeliverable_events(&self) -> u64 {
        self.undeliverable
            .iter()
            .map(|b| b.events.len() as u64)
            .sum()
    }

    /// Whether every event read was stored.
    pub fn all_accepted(&self) -> bool {
        self.accepted == self.read
    }
}

/// Why an ingest stopped before reaching the end of its input. The events read until then are
/// accounted for in the carried report.
#[derive(Debug)]
#[non_exhaustive]
pub enum IngestError {
    /// A setting is out of range; nothing was read or sent.
    InvalidConfig(String),
    /// The input stream yielded an error. Events read before it were sent; the rest of the
    /// stream was not read.
    SourceFailed {
        /// The stream's error.
        source: BoxError,
        /// What happened to the events read before it.
        report: Box<IngestReport>,
    },
    /// The API refused the credentials or the client configuration, so every further batch
    /// would fail the same way: reading stopped and the batches already read were finished.
    Aborted {
        /// Index in `report.undeliverable` of the batch whose error stopped the ingest.
        batch: usize,
        /// What happened to the events read until then.
        report: Box<IngestReport>,
    },
}

impl IngestError {
    /// The report of the events read before the ingest stopped (`None` for a setting error).
    pub fn report(&self) -> Option<&IngestReport> {
        match self {
            IngestError::InvalidConfig(_) => None,
            IngestError::SourceFailed { report, .. } | IngestError::Aborted { report, .. } => {
                Some(report)
            }
        }
    }

    /// The report, by value.
    pub fn into_report(self) -> Option<IngestReport> {
        match self {
            IngestError::InvalidConfig(_) => None,
            IngestError::SourceFailed { report, .. } | IngestError::Aborted { report, .. } => {
                Some(*report)
            }
        }
    }

    fn stopping_error(&self) -> Option<&Error> {
        match self {
            IngestError::Aborted { batch, report } => {
                report.undeliverable.get(*batch).map(|b| &b.error)
            }
            _ => None,
        }
    }
}

impl fmt::Display for IngestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IngestError::InvalidConfig(message) => write!(f, "invalid ingest setting: {message}"),
            // The cause is not repeated: `source()` returns it, and chain reporters print it.
            IngestError::SourceFailed { report, .. } => write!(
                f,
                "the event stream failed after {} events; those events were sent, see the report",
                report.read
            ),
            IngestError::Aborted { report, .. } => write!(
                f,
                "ingest stopped after {} events because the API refused a batch in a way that \
                 retrying cannot fix; fix the credentials or client configuration and send again",
                report.read
            ),
        }
    }
}

impl std::error::Error for IngestError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            IngestError::InvalidConfig(_) => None,
            IngestError::SourceFailed { source, .. } => Some(source.as_ref()),
            IngestError::Aborted { .. } => self
                .stopping_error()
                .map(|e| e as &(dyn std::error::Error + 'static)),
        }
    }
}

type ProgressCallback = Box<dyn FnMut(&IngestProgress) + Send>;

/// A configured ingest; created by [`Events::ingest`], started by [`Ingest::run`].
#[must_use = "an ingest does nothing until `.run().await`"]
pub struct Ingest<S> {
    events: Events,
    source: S,
    max_batch_events: usize,
    max_batch_bytes: usize,
    linger: Duration,
    concurrency: usize,
    max_attempts: Option<u32>,
    progress: watch::Sender<IngestProgress>,
    on_progress: Option<ProgressCallback>,
}

impl<S> fmt::Debug for Ingest<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ingest")
            .field("max_batch_events", &self.max_batch_events)
            .field("max_batch_bytes", &self.max_batch_bytes)
            .field("linger", &self.linger)
            .field("concurrency", &self.concurrency)
            .field("max_attempts", &self.max_attempts)
            .finish_non_exhaustive()
    }
}

impl<S> Ingest<S>
where
    S: Stream,
    S::Item: IngestItem,
{
    /// Most events per batch, 1 to [`MAX_BATCH_EVENTS`] (default 500).
    pub fn max_batch_events(mut self, events: usize) -> Self {
        self.max_batch_events = events;
        self
    }

    /// Largest serialized batch body in bytes, up to [`MAX_BATCH_BYTES`] (default
    /// [`DEFAULT_MAX_BATCH_BYTES`]). An event that alone exceeds it is rejected locally with
    /// [`local_codes::EVENT_TOO_LARGE`].
    pub fn max_batch_bytes(mut self, bytes: usize) -> Self {
        self.max_batch_bytes = bytes;
        self
    }

    /// How long a partly filled batch waits for more events before it is sent (default
    /// 50 ms). The end of the input sends the last batch at once.
    pub fn linger(mut self, linger: Duration) -> Self {
        self.linger = linger;
        self
    }

    /// Batches in flight at once, at least 1 (default 4). Events of at most `concurrency + 1`
    /// batches are held in memory.
    pub fn concurrency(mut self, batches: usize) -> Self {
        self.concurrency = batches;
        self
    }

    /// Attempts per batch, overriding the client's retry policy (1 = no retry).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = Some(attempts);
        self
    }

    /// A receiver of the running counts; the last value it sees has `finished` set.
    pub fn progress(&self) -> watch::Receiver<IngestProgress> {
        self.progress.subscribe()
    }

    /// Calls `callback` with the counts after every batch sent or answered, and once at the
    /// end (with `finished` set). Keep it quick: it runs on the ingest's task.
    pub fn on_progress(mut self, callback: impl FnMut(&IngestProgress) + Send + 'static) -> Self {
        self.on_progress = Some(Box::new(callback));
        self
    }

    fn validate(&self) -> Result<(), IngestError> {
        if !(1..=MAX_BATCH_EVENTS).contains(&self.max_batch_events) {
            return Err(IngestError::InvalidConfig(format!(
                "max_batch_events must be 1 to {MAX_BATCH_EVENTS}, got {}",
                self.max_batch_events
            )));
        }
        if !(MIN_BATCH_BYTES..=MAX_BATCH_BYTES).contains(&self.max_batch_bytes) {
            return Err(IngestError::InvalidConfig(format!(
                "max_batch_bytes must be {MIN_BATCH_BYTES} to {MAX_BATCH_BYTES}, got {}",
                self.max_batch_bytes
            )));
        }
        if self.concurrency == 0 {
            return Err(IngestError::InvalidConfig(
                "concurrency must be at least 1".into(),
            ));
        }
        Ok(())
    }

    /// Reads the whole input, sends it and reports the fate of every event read.
    ///
    /// # Errors
    /// [`IngestError::InvalidConfig`] before anything is read; [`IngestError::SourceFailed`]
    /// when the stream yields an error and [`IngestError::Aborted`] when the API refuses the
    /// credentials, both after finishing the batches already read and carrying their report.
    /// Batches that fail for other reasons do not stop the ingest: they are listed in
    /// [`IngestReport::undeliverable`].
    pub async fn run(self) -> Result<IngestReport, IngestError> {
        self.validate()?;
        let Ingest {
            events,
            source,
            max_batch_events,
            max_batch_bytes,
            linger,
            concurrency,
            max_attempts,
            progress,
            on_progress,
        } = self;
        let sleeper = events.client().inner.sleeper.clone();
        let started = Instant::now();
        let mut ledger = Ledger {
            report: IngestReport::default(),
            progress: IngestProgress::default(),
            sender: progress,
            callback: on_progress,
        };
        let mut source = pin!(source);
        let mut packer = Packer::new(max_batch_events, max_batch_bytes);
        let mut in_flight = FuturesUnordered::new();
        let mut linger_timer: Option<Sleep> = None;
        let mut source_done = false;
        let mut stop: Option<Stop> = None;

        loop {
            // Send the open batch when it is due and a slot is free.
            if packer.is_due(source_done || stop.is_some()) && in_flight.len() < concurrency {
                if let Some(batch) = packer.take() {
                    ledger.progress.sent += batch.events.len() as u64;
                    in_flight.push(send(&events, batch, max_attempts));
                    ledger.progress.in_flight = in_flight.len();
                    ledger.publish();
                }
                linger_timer = None;
                continue;
            }
            let reading = !source_done && stop.is_none() && !packer.is_full();
            if !reading && packer.is_empty() && in_flight.is_empty() {
                break;
            }
            if packer.has_open_batch() && linger_timer.is_none() && !packer.lingered {
                linger_timer = Some(sleeper.sleep(linger));
            }

            tokio::select! {
                biased;
                Some(answered) = in_flight.next(), if !in_flight.is_empty() => {
                    ledger.progress.in_flight = in_flight.len();
                    if let Some(batch) = ledger.settle(answered)
                        && stop.is_none()
                    {
                        stop = Some(Stop::Aborted { batch });
                    }
                    ledger.publish();
                }
                item = source.next(), if reading => match item {
                    None => source_done = true,
                    Some(item) => match item.into_event() {
                        Ok(event) => {
                            let position = ledger.progress.read;
                            ledger.progress.read += 1;
                            if let Some(rejected) = packer.push(position, event) {
                                ledger.progress.rejected += 1;
                                ledger.report.rejected.push(rejected);
                            }
                        }
                        // The failed item is not an event, so it is not counted as read.
                        Err(error) => stop = Some(Stop::SourceFailed(error)),
                    },
                },
                // Last: an event that is ready joins the batch before the linger sends it.
                () = wait(&mut linger_timer), if linger_timer.is_some() => {
                    linger_timer = None;
                    packer.lingered = true;
                },
            }
        }

        ledger.report.read = ledger.progress.read;
        // Batches are answered out of order; the report lists events in input order.
        ledger.report.rejected.sort_by_key(|r| r.position);
        ledger
            .report
            .undeliverable
            .sort_by_key(|b| b.positions.first().copied());
        ledger.report.elapsed = started.elapsed();
        ledger.progress.finished = true;
        ledger.progress.in_flight = 0;
        ledger.publish();
        let report = ledger.report;
        tracing::debug!(
            read = report.read,
            accepted = report.accepted,
            rejected = report.rejected.len(),
            undeliverable = report.undeliverable.len(),
            batches = report.batches,
            "ingest finished"
        );
        match stop {
            None => Ok(report),
            Some(Stop::SourceFailed(source)) => Err(IngestError::SourceFailed {
                source,
                report: Box::new(report),
            }),
            Some(Stop::Aborted { batch }) => Err(IngestError::Aborted {
                batch,
                report: Box::new(report),
            }),
        }
    }
}

/// Why reading stopped early.
enum Stop {
    SourceFailed(BoxError),
    /// The undeliverable batch (by index) whose error means every batch will fail.
    Aborted {
        batch: usize,
    },
}

async fn wait(timer: &mut Option<Sleep>) {
    match timer {
        Some(timer) => timer.await,
        None => std::future::pending().await,
    }
}

/// Events of one batch with their input positions.
struct Batch {
    events: Vec<NewInteractionEvent>,
    positions: Vec<u64>,
}

/// Fills batches within the count and byte bounds.
struct Packer {
    max_events: usize,
    max_bytes: usize,
    open: Batch,
    /// Serialized size of the open batch's body.
    open_bytes: usize,
    /// An event that did not fit the open batch (with its size); it starts the next one.
    overflow: Option<(u64, NewInteractionEvent, usize)>,
    /// The open batch has waited its linger time.
    lingered: bool,
}

impl Packer {
    fn new(max_events: usize, max_bytes: usize) -> Self {
        Packer {
            max_events,
            max_bytes,
            open: Batch {
                events: Vec::new(),
                positions: Vec::new(),
            },
            open_bytes: BATCH_ENVELOPE_BYTES,
            overflow: None,
            lingered: false,
        }
    }

    fn is_empty(&self) -> bool {
        self.open.events.is_empty() && self.overflow.is_none()
    }

    fn has_open_batch(&self) -> bool {
        !self.open.events.is_empty()
    }

    /// No further event can join the open batch.
    fn is_full(&self) -> bool {
        self.open.events.len() >= self.max_events || self.overflow.is_some()
    }

    /// The open batch should go now: it is full, has lingered, or nothing more will come.
    fn is_due(&self, input_over: bool) -> bool {
        self.has_open_batch() && (self.is_full() || self.lingered || input_over)
    }

    /// Adds an event; an event that can never fit a batch comes back rejected.
    fn push(&mut self, position: u64, event: NewInteractionEvent) -> Option<RejectedEvent> {
        let size = match serialized_len(&event) {
            Ok(size) => size,
            Err(error) => {
                return Some(local_rejection(
                    position,
                    event,
                    local_codes::NOT_SERIALIZABLE,
                    format!("The event cannot be serialized as JSON: {error}."),
                ));
            }
        };
        if BATCH_ENVELOPE_BYTES + size > self.max_bytes {
            return Some(local_rejection(
                position,
                event,
                local_codes::EVENT_TOO_LARGE,
                format!(
                    "The event serializes to {size} bytes; a batch body may carry at most {} bytes. Shrink its properties.",
                    self.max_bytes
                ),
            ));
        }
        let separator = usize::from(self.has_open_batch());
        if self.open.events.len() < self.max_events
            && self.open_bytes + separator + size <= self.max_bytes
        {
            self.open_bytes += separator + size;
            self.open.events.push(event);
            self.open.positions.push(position);
        } else {
            self.overflow = Some((position, event, size));
        }
        None
    }

    /// Takes the open batch and starts the next one with the overflow event.
    fn take(&mut self) -> Option<Batch> {
        let batch = std::mem::replace(
            &mut self.open,
            Batch {
                events: Vec::new(),
                positions: Vec::new(),
            },
        );
        self.open_bytes = BATCH_ENVELOPE_BYTES;
        self.lingered = false;
        if let Some((position, event, size)) = self.overflow.take() {
            self.open_bytes += size;
            self.open.events.push(event);
            self.open.positions.push(position);
        }
        (!batch.events.is_empty()).then_some(batch)
    }
}

fn local_rejection(
    position: u64,
    event: NewInteractionEvent,
    code: &str,
    message: String,
) -> RejectedEvent {
    RejectedEvent {
        position,
        event,
        reason: EventRejection::builder()
            .code(code)
            .message(message)
            .build(),
        local: true,
    }
}

/// Bytes of the event's JSON, counted without building it.
fn serialized_len(event: &NewInteractionEvent) -> Result<usize, serde_json::Error> {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    serde_json::to_writer(&mut counter, event)?;
    Ok(counter.0)
}

/// A batch that came back, with its answer.
struct Answered {
    batch: Batch,
    idempotency_key: String,
    result: Result<EventBatchResult, Error>,
}

/// Sends one batch under a fresh idempotency key that the transport reuses on every attempt.
fn send(
    events: &Events,
    batch: Batch,
    max_attempts: Option<u32>,
) -> impl Future<Output = Answered> + use<> {
    let idempotency_key = crate::retry::idempotency_key();
    let Batch {
        events: batch_events,
        positions,
    } = batch;
    let body = EventBatch::builder().events(batch_events).build();
    let mut request = events
        .send_batch(&body)
        .idempotency_key(idempotency_key.clone());
    if let Some(attempts) = max_attempts {
        request = request.max_attempts(attempts);
    }
    async move {
        let result = request.send().await;
        Answered {
            batch: Batch {
                events: body.events,
                positions,
            },
            idempotency_key,
            result,
        }
    }
}

/// The report and counters being built, and where progress goes.
struct Ledger {
    report: IngestReport,
    progress: IngestProgress,
    sender: watch::Sender<IngestProgress>,
    callback: Option<ProgressCallback>,
}

impl Ledger {
    fn publish(&mut self) {
        self.sender.send_replace(self.progress);
        if let Some(callback) = &mut self.callback {
            callback(&self.progress);
        }
    }

    /// Records an answered batch; returns the index of its undeliverable entry when its error
    /// means every further batch would fail the same way.
    fn settle(&mut self, answered: Answered) -> Option<usize> {
        let Answered {
            batch,
            idempotency_key,
            result,
        } = answered;
        self.report.batches += 1;
        self.progress.batches += 1;
        match result {
            Ok(result) => {
                self.record_results(batch, result.results);
                None
            }
            Err(error) => {
                let fatal = error.is_auth() || error.is_config();
                tracing::warn!(
                    events = batch.events.len(),
                    %error,
                    "an event batch could not be delivered"
                );
                self.progress.failed += batch.events.len() as u64;
                self.report.undeliverable.push(UndeliverableBatch {
                    events: batch.events,
                    positions: batch.positions,
                    idempotency_key,
                    error,
                });
                fatal.then(|| self.report.undeliverable.len() - 1)
            }
        }
    }

    /// Matches the per-event results to the batch's events by `index`.
    fn record_results(&mut self, batch: Batch, results: Vec<EventResult>) {
        let count = batch.events.len();
        let mut by_index: Vec<Option<EventResult>> = Vec::new();
        by_index.resize_with(count, || None);
        for result in results {
            if let Some(slot) = usize::try_from(result.index)
                .ok()
                .and_then(|i| by_index.get_mut(i))
                && slot.is_none()
            {
                *slot = Some(result);
            }
        }
        for ((event, position), result) in
            batch.events.into_iter().zip(batch.positions).zip(by_index)
        {
            let rejection = match result {
                Some(EventResult {
                    status: EventResultStatus::Accepted,
                    ..
                }) => {
                    self.report.accepted += 1;
                    self.progress.accepted += 1;
                    continue;
                }
                Some(EventResult {
                    status: EventResultStatus::Rejected,
                    error,
                    ..
                }) => RejectedEvent {
                    position,
                    event,
                    reason: error.unwrap_or_else(|| {
                        EventRejection::builder()
                            .code("rejected")
                            .message("The server rejected the event without a reason.")
                            .build()
                    }),
                    local: false,
                },
                Some(EventResult { status, .. }) => local_rejection(
                    position,
                    event,
                    local_codes::UNKNOWN_STATUS,
                    format!(
                        "The server answered this event with status '{status}', which this SDK version does not know; it may or may not have been stored."
                    ),
                ),
                None => local_rejection(
                    position,
                    event,
                    local_codes::RESULT_MISSING,
                    "The server answered the batch without a result for this event; it may or may not have been stored.".into(),
                ),
            };
            self.progress.rejected += 1;
            self.report.rejected.push(rejection);
        }
    }
}
