//! A client-side audit log: one record per API call, built on the [interceptors](crate::interceptor).
//!
//! Register an [`AuditSink`] with
//! [`ClientBuilder::audit_sink`](crate::ClientBuilder::audit_sink); when each operation
//! completes, the sink receives an [`AuditRecord`]: the time, the operation, its method and path
//! template, the ids in the path, who the client authenticated as (never the secret), the
//! outcome, the final status, the request id, the attempts made and the duration.
//!
//! A record never holds personal data: no request or response body, no query value (an e-mail
//! filter stays out), no header value — only identifiers the API itself issued.
//!
//! [`JsonLinesSink`] writes records as JSON lines to a file or any [`Write`], on a thread of its
//! own, through a bounded buffer:
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use marketing_api::{Client, audit::JsonLinesSink, auth::ApiKey};
//!
//! let audit = JsonLinesSink::file("audit.jsonl")?;
//! let client = Client::builder("https://api.example.com/v1")
//!     .auth(ApiKey::new("sk_live_…")?)
//!     .audit_sink(audit.clone())
//!     .build()?;
//! // … use the client …
//! audit.flush(); // every record so far is on disk
//! assert_eq!(audit.dropped(), 0);
//! # Ok(()) }
//! ```

use std::fmt;
use std::fs::OpenOptions;
use std::io::Write;
use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::interceptor::{Context, Hook, HookError, HookSet, Interceptor};
pub use crate::resource_ids::ResourceIds;

/// How an audited call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// A 2xx (or 3xx) answer.
    Success,
    /// An error answer, or no answer at all.
    Failure,
}

/// One API call, as an audit sink receives it. Identifiers only: see the [module docs](self).
///
/// It borrows what the request pipeline already holds (the path, the request id, the credential
/// identity), so building one allocates nothing, and the ids are read from the path only when
/// a sink asks ([`ResourceIds`]); a sink that keeps records past [`AuditSink::record`] copies
/// what it needs, or encodes the record with [`write_json_line`](Self::write_json_line) as
/// [`JsonLinesSink`] does.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct AuditRecord<'a> {
    /// When the call completed (RFC 3339 in UTC with microseconds in the JSON-lines form;
    /// `chrono::DateTime::<chrono::Utc>::from(record.time)` for a calendar time).
    #[serde(serialize_with = "as_rfc3339")]
    pub time: SystemTime,
    /// The `operationId`.
    pub operation: &'static str,
    /// The HTTP method.
    pub method: &'static str,
    /// The path template (`/contacts/{contact_id}`).
    pub path_template: &'static str,
    /// The ids in the path, by parameter name, in path order (a JSON object in the JSON-lines
    /// form).
    pub resource_ids: ResourceIds<'a>,
    /// Who the client authenticated as: `api_key:<first characters>`, `oauth_client:<id>`, or
    /// what [`ClientBuilder::credential_identity`](crate::ClientBuilder::credential_identity)
    /// set. Never a secret.
    pub credential: &'a str,
    /// How it ended.
    pub outcome: Outcome,
    /// The final answer's status, if one came.
    pub status: Option<u16>,
    /// The final answer's request id.
    pub request_id: Option<&'a str>,
    /// Attempts made: 1 plus the retries (a replay after a token renewal is not an attempt).
    pub attempts: u32,
    /// The kind of error when it failed (`api`, `transport`, `timeout`, `auth`, …).
    pub error: Option<&'static str>,
    /// How long the call took, retries and waits included, in milliseconds.
    pub duration_ms: u64,
}

impl AuditRecord<'_> {
    /// Appends the record to `out` as one JSON object and a newline, the form
    /// [`JsonLinesSink`] writes: the same fields and values as its `Serialize` output, encoded
    /// without serde's generic machinery (it runs once per API call).
    pub fn write_json_line(&self, out: &mut Vec<u8>) {
        encode_line(self, out, None);
    }
}

/// RFC 3339 in UTC with microseconds (`2026-11-30T23:56:19.123456Z`), written directly: the
/// writer thread formats one per record, and a general-purpose formatter costs several times
/// the rest of the record.
fn as_rfc3339<S: serde::Serializer>(time: &SystemTime, serializer: S) -> Result<S::Ok, S::Error> {
    let mut buf = [0u8; 27];
    let (secs, micros) = unix_micros(*time);
    serializer.serialize_str(rfc3339_micros(secs, micros, &mut buf))
}

/// Seconds since the Unix epoch and microseconds into the second (rounded down, as a clock
/// reads: 0.5 µs before the epoch is second -1, microsecond 999,999).
fn unix_micros(time: SystemTime) -> (i64, u32) {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => (
            i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
            after.subsec_micros(),
        ),
        Err(before) => {
            let before = before.duration();
            let secs = -i64::try_from(before.as_secs()).unwrap_or(i64::MAX);
            match before.subsec_nanos() {
                0 => (secs, 0),
                // Up to the next whole microsecond back: the floor of a negative time.
                nanos => (secs - 1, 1_000_000 - nanos.div_ceil(1_000)),
            }
        }
    }
}

/// Formats Unix seconds and microseconds as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (years 0 to 9999;
/// others are clamped to that range, which no audit record reaches).
fn rfc3339_micros(secs: i64, micros: u32, buf: &mut [u8; 27]) -> &str {
    let secs = secs.clamp(-62_167_219_200, 253_402_300_799);
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's `civil_from_days`).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // Two digits at a time (every value here is in 0..100 once split).
    let mut put2 = |at: usize, value: i64| {
        let value = value as u8;
        buf[at] = b'0' + value / 10;
        buf[at + 1] = b'0' + value % 10;
    };
    put2(0, year / 100);
    put2(2, year % 100);
    put2(5, month);
    put2(8, day);
    put2(11, of_day / 3_600);
    put2(14, of_day % 3_600 / 60);
    put2(17, of_day % 60);
    for (at, byte) in [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'.'),
        (26, b'Z'),
    ] {
        buf[at] = byte;
    }
    write_micros(micros, buf);
    // Only ASCII digits and separators were written.
    std::str::from_utf8(buf).unwrap_or("1970-01-01T00:00:00.000000Z")
}

/// Where audit records go. [`record`](Self::record) is called on the request's task once per
/// completed operation and must not block: encode or copy the record and hand it to a queue
/// (as [`JsonLinesSink`] does).
pub trait AuditSink: Send + Sync + 'static {
    /// Takes one record (borrowed: it lives only for the call).
    fn record(&self, record: &AuditRecord<'_>);
}

impl<S: AuditSink + ?Sized> AuditSink for Arc<S> {
    fn record(&self, record: &AuditRecord<'_>) {
        (**self).record(record);
    }
}

/// The interceptor that turns completed operations into [`AuditRecord`]s for a sink (what
/// [`ClientBuilder::audit_sink`](crate::ClientBuilder::audit_sink) registers).
pub struct AuditInterceptor<S> {
    sink: S,
}

impl<S: AuditSink> AuditInterceptor<S> {
    /// Audits into `sink`.
    pub fn new(sink: S) -> Self {
        AuditInterceptor { sink }
    }
}

impl<S> fmt::Debug for AuditInterceptor<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditInterceptor").finish_non_exhaustive()
    }
}

/// The one hook [`AuditInterceptor`] implements (keep in step with the `impl` below: the
/// client calls only these when it registers one through `audit_sink`).
pub(crate) const AUDIT_HOOKS: HookSet = HookSet::of(&[Hook::OnComplete]);

impl<S: AuditSink> Interceptor for AuditInterceptor<S> {
    fn on_complete(&self, ctx: &Context<'_>) -> Result<(), HookError> {
        let status = ctx.status().map(|s| s.as_u16());
        let failed = ctx.error().is_some() || status.is_some_and(|s| s >= 400);
        self.sink.record(&AuditRecord {
            time: SystemTime::now(),
            operation: ctx.operation_id(),
            method: method_name(ctx.method()),
            path_template: ctx.path_template(),
            resource_ids: ctx.resource_ids_unread(),
            credential: ctx.credential_identity(),
            outcome: if failed {
                Outcome::Failure
            } else {
                Outcome::Success
            },
            status,
            request_id: ctx.request_id(),
            attempts: ctx.attempt(),
            error: ctx.error().map(|e| kind_name(e.kind())),
            duration_ms: u64::try_from(ctx.duration().as_millis()).unwrap_or(u64::MAX),
        });
        Ok(())
    }
}

/// A stable name for an error kind in records.
pub(crate) fn kind_name(kind: crate::ErrorKind) -> &'static str {
    use crate::ErrorKind as K;
    match kind {
        K::Api => "api",
        K::Transport => "transport",
        K::Timeout => "timeout",
        K::Decode => "decode",
        K::Auth => "auth",
        K::Config => "config",
        K::Encode => "encode",
        K::ResponseTooLarge => "response_too_large",
        K::RepeatedCursor => "repeated_cursor",
        K::Tls => "tls",
        K::Decrypt => "decrypt",
    }
}

/// The method as a static string (the API uses only the standard methods).
pub(crate) fn method_name(method: &http::Method) -> &'static str {
    match *method {
        http::Method::GET => "GET",
        http::Method::POST => "POST",
        http::Method::PUT => "PUT",
        http::Method::PATCH => "PATCH",
        http::Method::DELETE => "DELETE",
        http::Method::HEAD => "HEAD",
        http::Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// Records waiting for the writer thread, by default.
pub const DEFAULT_BUFFER: usize = 16_384;

/// How long a record may wait in the queue before the writer takes it (and flushes).
pub const WRITE_INTERVAL: Duration = Duration::from_millis(50);

/// What the request path and the writer thread share, under one mutex.
struct Queue {
    /// The queued records (the bound is in records).
    batch: Batch,
    /// Callers of `flush` waiting for everything queued before them.
    flushes: Vec<SyncSender<()>>,
    closed: bool,
}

/// Records waiting to be written: their fixed fields as they are and their strings copied into
/// one text buffer. Copying is all a request does; the writer thread reads the ids from the
/// paths and encodes the lines a batch at a time, where that code and its tables stay in the
/// cache from one line to the next instead of being fetched again between every two API calls.
#[derive(Default)]
struct Batch {
    records: Vec<QueuedRecord>,
    text: String,
    /// The last credential copied: a client sends the same one call after call, so the next
    /// record shares its copy (and the writer its encoding) when the text is the same.
    last_credential: Option<Range<usize>>,
}

/// An [`AuditRecord`] in a [`Batch`]: its borrowed strings are ranges of the batch's text.
struct QueuedRecord {
    time: SystemTime,
    operation: &'static str,
    method: &'static str,
    path_template: &'static str,
    /// The path as sent, which the ids are read from.
    path: Range<usize>,
    credential: Range<usize>,
    outcome: Outcome,
    status: Option<u16>,
    request_id: Option<Range<usize>>,
    attempts: u32,
    error: Option<&'static str>,
    duration_ms: u64,
}

impl Batch {
    fn len(&self) -> usize {
        self.records.len()
    }

    fn push(&mut self, record: &AuditRecord<'_>) {
        let path = self.copy(record.resource_ids.path());
        let credential = match &self.last_credential {
            Some(last) if self.text(last) == record.credential => last.clone(),
            _ => {
                let copied = self.copy(record.credential);
                self.last_credential = Some(copied.clone());
                copied
            }
        };
        let request_id = record.request_id.map(|id| self.copy(id));
        self.records.push(QueuedRecord {
            time: record.time,
            operation: record.operation,
            method: record.method,
            path_template: record.path_template,
            path,
            credential,
            outcome: record.outcome,
            status: record.status,
            request_id,
            attempts: record.attempts,
            error: record.error,
            duration_ms: record.duration_ms,
        });
    }

    fn copy(&mut self, text: &str) -> Range<usize> {
        let start = self.text.len();
        self.text.push_str(text);
        start..self.text.len()
    }

    /// A copied string back (ranges are whole `&str`s, so always on character boundaries).
    fn text(&self, range: &Range<usize>) -> &str {
        self.text.get(range.clone()).unwrap_or_default()
    }

    /// Appends every record as its JSON line.
    fn encode(&self, out: &mut Vec<u8>, cache: &mut LineCache) {
        // One scan of all the copied text instead of one per string: ids, credentials and
        // request ids almost never hold a character JSON must escape.
        cache.copied_text_is_plain = !needs_escape(self.text.as_bytes());
        for queued in &self.records {
            let record = AuditRecord {
                time: queued.time,
                operation: queued.operation,
                method: queued.method,
                path_template: queued.path_template,
                resource_ids: ResourceIds::new(queued.path_template, self.text(&queued.path)),
                credential: self.text(&queued.credential),
                outcome: queued.outcome,
                status: queued.status,
                request_id: queued.request_id.as_ref().map(|id| self.text(id)),
                attempts: queued.attempts,
                error: queued.error,
                duration_ms: queued.duration_ms,
            };
            encode_line(&record, out, Some(cache));
        }
    }

    fn clear(&mut self) {
        self.records.clear();
        self.text.clear();
        self.last_credential = None;
    }
}

struct Shared {
    queue: Mutex<Queue>,
    /// Wakes the writer early: a flush, the close, or a queue half full.
    wake: Condvar,
    capacity: usize,
    writer: Mutex<Option<JoinHandle<()>>>,
    written: AtomicU64,
    dropped: AtomicU64,
    failed_writes: AtomicU64,
}

impl Shared {
    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Owned by the sink's clones (not by the writer thread): dropping the last clone closes the
/// queue and waits until the writer has written and flushed it.
struct Owner {
    shared: Arc<Shared>,
}

impl Drop for Owner {
    fn drop(&mut self) {
        self.shared.queue().closed = true;
        self.shared.wake.notify_all();
        if let Some(handle) = self
            .shared
            .writer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            let _ = handle.join();
        }
    }
}

/// An [`AuditSink`] writing one JSON object per line to a file or any [`Write`].
///
/// - **Non-blocking.** [`record`](AuditSink::record) copies the record into an in-memory queue
///   under a short lock and returns; it never waits for the writer and never wakes it in the
///   common case. A thread of the sink's own takes the queue every [`WRITE_INTERVAL`] (sooner
///   when it is half full), encodes its records as JSON lines and writes them in one piece, then
///   flushes: one write system call per batch, not per record, and no allocation on either
///   side once the queue has grown to its working size.
/// - **Bounded.** The queue holds [`DEFAULT_BUFFER`] records (or what
///   [`with_buffer`](Self::with_buffer) says). When it is full the record is **dropped, counted
///   and reported**: [`dropped`](Self::dropped) says how many, and a `tracing::warn!` (target
///   `marketing_api::audit`) names the total at the first drop and every 1024th after. Dropping
///   was chosen over back-pressure because the alternative stalls API calls on the audit
///   disk; a deployment that must never lose a record sizes the buffer for its bursts and
///   alerts on `dropped() > 0`.
/// - **Flushed.** [`flush`](Self::flush) returns once every record queued before it is
///   written and flushed; dropping the last clone of the sink does the same and stops the
///   thread. A failed write or flush is counted (its batch's records) in
///   [`failed_writes`](Self::failed_writes) and reported.
///
/// Clones share one queue and one writer.
#[derive(Clone)]
pub struct JsonLinesSink {
    owner: Arc<Owner>,
}

impl fmt::Debug for JsonLinesSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonLinesSink")
            .field("written", &self.written())
            .field("dropped", &self.dropped())
            .finish_non_exhaustive()
    }
}

impl JsonLinesSink {
    /// A sink appending to the file at `path` (created if missing).
    ///
    /// # Errors
    /// The file cannot be opened for appending.
    pub fn file(path: impl AsRef<Path>) -> std::io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Self::new(file))
    }

    /// A sink writing to `writer`, with the default buffer.
    pub fn new(writer: impl Write + Send + 'static) -> Self {
        Self::with_buffer(writer, DEFAULT_BUFFER)
    }

    /// A sink writing to `writer` that queues at most `buffer` records (at least 1).
    pub fn with_buffer(writer: impl Write + Send + 'static, buffer: usize) -> Self {
        let capacity = buffer.max(1);
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                batch: Batch::default(),
                flushes: Vec::new(),
                closed: false,
            }),
            wake: Condvar::new(),
            capacity,
            writer: Mutex::new(None),
            written: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            failed_writes: AtomicU64::new(0),
        });
        let thread = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("marketing-api-audit".into())
                .spawn(move || write_batches(&shared, writer))
        };
        match thread {
            Ok(handle) => *shared.writer.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle),
            Err(error) => {
                // Without a writer nothing could leave the queue: close it, so every record is
                // a counted drop rather than a silent one.
                shared.queue().closed = true;
                tracing::warn!(
                    target: "marketing_api::audit",
                    %error,
                    "the audit writer thread could not start; every record will be counted as dropped"
                );
            }
        }
        JsonLinesSink {
            owner: Arc::new(Owner { shared }),
        }
    }

    fn shared(&self) -> &Shared {
        &self.owner.shared
    }

    /// Records written and flushed so far.
    pub fn written(&self) -> u64 {
        self.shared().written.load(Ordering::Relaxed)
    }

    /// Records dropped because the buffer was full (or the writer had stopped).
    pub fn dropped(&self) -> u64 {
        self.shared().dropped.load(Ordering::Relaxed)
    }

    /// Records whose write or flush failed (an I/O error of the underlying writer): every
    /// record of the batch that failed, as it is unknown how much of it arrived.
    pub fn failed_writes(&self) -> u64 {
        self.shared().failed_writes.load(Ordering::Relaxed)
    }

    /// Waits until every record queued before this call is written and the writer flushed
    /// (at most `timeout`); returns whether that happened in time.
    pub fn flush_within(&self, timeout: Duration) -> bool {
        let (done, wait) = sync_channel(1);
        {
            let mut queue = self.shared().queue();
            if queue.closed {
                return false;
            }
            queue.flushes.push(done);
        }
        self.shared().wake.notify_all();
        wait.recv_timeout(timeout).is_ok()
    }

    /// Waits (up to 30 s) until every record queued before this call is written and flushed.
    pub fn flush(&self) -> bool {
        self.flush_within(Duration::from_secs(30))
    }

    fn count_drop(&self) {
        let dropped = self.shared().dropped.fetch_add(1, Ordering::Relaxed) + 1;
        if dropped == 1 || dropped.is_multiple_of(1024) {
            tracing::warn!(
                target: "marketing_api::audit",
                dropped,
                "audit buffer full: records dropped (enlarge JsonLinesSink::with_buffer)"
            );
        }
    }
}

impl AuditSink for JsonLinesSink {
    fn record(&self, record: &AuditRecord<'_>) {
        let shared = self.shared();
        let mut queue = shared.queue();
        if queue.closed || queue.batch.len() >= shared.capacity {
            drop(queue);
            self.count_drop();
            return;
        }
        // Copied under the lock into the queue itself (no allocation once it has grown to its
        // working size); the writer thread encodes it.
        queue.batch.push(record);
        let half_full = queue.batch.len() == shared.capacity / 2;
        drop(queue);
        if half_full {
            // A burst: take the queue now rather than at the end of the interval.
            shared.wake.notify_one();
        }
    }
}

/// What encoding a line can reuse from the lines before it. The sink's writer thread keeps one:
/// consecutive records share their second, and a client calls the same few operations over and
/// over.
#[derive(Default)]
struct LineCache {
    /// The last second formatted, and its text (`2026-11-30T23:56:19.000000Z`).
    second: Option<(i64, [u8; 27])>,
    /// `"operation":…,"method":…,"path_template":…` of recently seen operations, each in the
    /// slot its operation id's address picks: bounded, and a collision only re-encodes.
    operations: Vec<Option<(StaticStrings, Box<[u8]>)>>,
    /// Whether the strings the records borrow (ids, credential, request id) are known to need
    /// no escaping: the batch being encoded has checked its text in one pass.
    copied_text_is_plain: bool,
}

/// Slots of [`LineCache::operations`].
const OPERATION_SLOTS: usize = 64;

/// The three static strings that name an operation in a record, by address and length: equal
/// keys are the same bytes, so their encoding can be reused.
#[derive(Clone, Copy, PartialEq, Eq)]
struct StaticStrings([(usize, usize); 3]);

impl StaticStrings {
    fn of(record: &AuditRecord<'_>) -> Self {
        let at = |s: &'static str| (s.as_ptr() as usize, s.len());
        StaticStrings([
            at(record.operation),
            at(record.method),
            at(record.path_template),
        ])
    }
}

impl LineCache {
    /// Appends `YYYY-MM-DDTHH:MM:SS.ffffffZ`, formatting the date and time only when the
    /// second changed.
    fn push_time(&mut self, out: &mut Vec<u8>, secs: i64, micros: u32) {
        let mut text = match self.second {
            Some((cached, text)) if cached == secs => text,
            _ => {
                let mut text = [0u8; 27];
                rfc3339_micros(secs, 0, &mut text);
                self.second = Some((secs, text));
                text
            }
        };
        write_micros(micros, &mut text);
        out.extend_from_slice(&text);
    }

    /// Appends the record's operation, method and path template fields.
    fn push_operation(&mut self, out: &mut Vec<u8>, record: &AuditRecord<'_>) {
        let key = StaticStrings::of(record);
        if self.operations.is_empty() {
            self.operations.resize_with(OPERATION_SLOTS, || None);
        }
        // Addresses of string constants are at least byte-aligned and spread; the low bits
        // above the alignment pick the slot.
        let slot = &mut self.operations[(key.0[0].0 >> 3) % OPERATION_SLOTS];
        match slot {
            Some((cached, encoded)) if *cached == key => out.extend_from_slice(encoded),
            _ => {
                let start = out.len();
                push_operation_fields(out, record);
                *slot = Some((key, out[start..].into()));
            }
        }
    }
}

/// One record as a JSON line, exactly as `serde_json` would write the [`AuditRecord`] (a test
/// holds the two to the same output) but without its generic machinery: this runs once per
/// record. `cache` carries what consecutive lines share (see [`LineCache`]).
fn encode_line(record: &AuditRecord<'_>, out: &mut Vec<u8>, cache: Option<&mut LineCache>) {
    let plain = cache.as_deref().is_some_and(|c| c.copied_text_is_plain);
    let push_copied = |out: &mut Vec<u8>, text: &str| {
        if plain {
            push_quoted(out, text);
        } else {
            push_json_str(out, text);
        }
    };
    out.extend_from_slice(b"{\"time\":\"");
    let (secs, micros) = unix_micros(record.time);
    match cache {
        Some(cache) => {
            cache.push_time(out, secs, micros);
            out.extend_from_slice(b"\",");
            cache.push_operation(out, record);
        }
        None => {
            let mut time = [0u8; 27];
            out.extend_from_slice(rfc3339_micros(secs, micros, &mut time).as_bytes());
            out.extend_from_slice(b"\",");
            push_operation_fields(out, record);
        }
    }
    out.extend_from_slice(b",\"resource_ids\":{");
    record.resource_ids.with_each(|ids| {
        for (i, (name, value)) in ids.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            push_json_str(out, name);
            out.push(b':');
            push_copied(out, value);
        }
    });
    out.extend_from_slice(b"},\"credential\":");
    push_copied(out, record.credential);
    out.extend_from_slice(match record.outcome {
        Outcome::Success => b",\"outcome\":\"success\",\"status\":",
        Outcome::Failure => b",\"outcome\":\"failure\",\"status\":",
    });
    match record.status {
        Some(status) => push_u64(out, u64::from(status)),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"request_id\":");
    match record.request_id {
        Some(id) => push_copied(out, id),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"attempts\":");
    push_u64(out, u64::from(record.attempts));
    out.extend_from_slice(b",\"error\":");
    match record.error {
        Some(kind) => push_json_str(out, kind),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"duration_ms\":");
    push_u64(out, record.duration_ms);
    out.extend_from_slice(b"}\n");
}

/// `"operation":…,"method":…,"path_template":…`
fn push_operation_fields(out: &mut Vec<u8>, record: &AuditRecord<'_>) {
    out.extend_from_slice(b"\"operation\":");
    push_json_str(out, record.operation);
    out.extend_from_slice(b",\"method\":");
    push_json_str(out, record.method);
    out.extend_from_slice(b",\"path_template\":");
    push_json_str(out, record.path_template);
}

/// The six digits of microseconds into their place (20..26) of an RFC 3339 time.
fn write_micros(micros: u32, buf: &mut [u8; 27]) {
    let mut rest = micros.min(999_999);
    for digit in buf[20..26].iter_mut().rev() {
        *digit = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
}

/// Bytes a JSON string cannot hold as they are: control characters, `"` and `\`.
const NEEDS_ESCAPE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// Whether any byte of `bytes` needs escaping in a JSON string, eight bytes at a time and
/// without a branch per word (the compiler vectorizes the loop): the writer scans a whole
/// batch's text with it, and a byte-by-byte test was the largest single cost of encoding.
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // The high bit of a byte is set where the byte is zero, or below 0x20 (and possibly next
    // to such a byte): exact as a yes/no answer for the word, which is all that is kept.
    let zero = |x: u64| x.wrapping_sub(ONES) & !x;
    let control = |x: u64| x.wrapping_sub(ONES * 0x20) & !x;
    let (words, rest) = bytes.as_chunks::<8>();
    let found = words.iter().fold(0, |found, word| {
        let x = u64::from_le_bytes(*word);
        found
            | control(x)
            | zero(x ^ (ONES * u64::from(b'"')))
            | zero(x ^ (ONES * u64::from(b'\\')))
    });
    found & HIGH != 0 || rest.iter().any(|&b| NEEDS_ESCAPE[usize::from(b)])
}

/// A JSON string: copied as is when nothing in it needs escaping (ids, templates), else
/// through `serde_json`'s escaping.
fn push_json_str(out: &mut Vec<u8>, text: &str) {
    if !needs_escape(text.as_bytes()) {
        push_quoted(out, text);
    } else if serde_json::to_writer(&mut *out, text).is_err() {
        // Writing a string into a vector cannot fail; keep the line valid JSON regardless.
        out.extend_from_slice(b"null");
    }
}

/// A JSON string known to need no escaping.
fn push_quoted(out: &mut Vec<u8>, text: &str) {
    out.reserve(text.len() + 2);
    out.push(b'"');
    out.extend_from_slice(text.as_bytes());
    out.push(b'"');
}

fn push_u64(out: &mut Vec<u8>, mut value: u64) {
    // Attempts, most durations and every status: one to three digits.
    if value < 10 {
        out.push(b'0' + value as u8);
        return;
    }
    if (100..1000).contains(&value) {
        let v = value as u16;
        out.extend_from_slice(&[
            b'0' + (v / 100) as u8,
            b'0' + (v / 10 % 10) as u8,
            b'0' + (v % 10) as u8,
        ]);
        return;
    }
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// The writer thread: takes the queue in batches until the sink is closed and drained.
fn write_batches(shared: &Shared, mut out: impl Write) {
    // Swapped with the queue's, so both keep their capacity: no allocation once warm.
    let mut batch = Batch::default();
    // The batch's lines, and what encoding them reuses from line to line.
    let mut lines: Vec<u8> = Vec::new();
    let mut cache = LineCache::default();
    let report_failure = |records: usize, error: &dyn fmt::Display| {
        let before = shared
            .failed_writes
            .fetch_add(records as u64, Ordering::Relaxed);
        let failed = before + records as u64;
        // Reported at the first failure and whenever the count passes a multiple of 1024.
        if before == 0 || before / 1024 != failed / 1024 {
            tracing::warn!(target: "marketing_api::audit", failed, %error, "audit records not written");
        }
    };
    loop {
        let (flushes, closed) = {
            let mut queue = shared.queue();
            if queue.batch.len() == 0 && queue.flushes.is_empty() && !queue.closed {
                queue = shared
                    .wake
                    .wait_timeout(queue, WRITE_INTERVAL)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
            std::mem::swap(&mut queue.batch, &mut batch);
            (std::mem::take(&mut queue.flushes), queue.closed)
        };
        let records = batch.len();
        if records > 0 || !flushes.is_empty() {
            batch.encode(&mut lines, &mut cache);
            match out.write_all(&lines).and_then(|()| out.flush()) {
                Ok(()) => {
                    shared.written.fetch_add(records as u64, Ordering::Relaxed);
                }
                Err(error) => report_failure(records, &error),
            }
            batch.clear();
            lines.clear();
            if lines.capacity() > SHRINK_ABOVE {
                // A burst grew them: give the memory back rather than hold it for good.
                lines.shrink_to(SHRINK_ABOVE / 4);
                batch.text.shrink_to(SHRINK_ABOVE / 16);
            }
        }
        for done in flushes {
            let _ = done.send(());
        }
        if closed && shared.queue().batch.len() == 0 {
            break;
        }
    }
}

/// Bytes of encoded lines the writer keeps between batches.
const SHRINK_ABOVE: usize = 4 << 20;

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};
    use std::sync::mpsc::{Receiver, channel};

    fn record(operation: &'static str) -> AuditRecord<'static> {
        AuditRecord {
            time: SystemTime::now(),
            operation,
            method: "GET",
            path_template: "/contacts/{contact_id}",
            resource_ids: ResourceIds::new("/contacts/{contact_id}", "/v1/contacts/ctc_1"),
            credential: "api_key:sk_test",
            outcome: Outcome::Success,
            status: Some(200),
            request_id: Some("req_1"),
            attempts: 1,
            error: None,
            duration_ms: 3,
        }
    }

    /// A writer that hands every write to the test and can be held shut.
    struct Gate {
        open: Receiver<()>,
        out: Arc<Mutex<Vec<u8>>>,
        fail: bool,
    }

    impl Write for Gate {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            // Blocks until the test lets one write through.
            let _ = self.open.recv();
            if self.fail {
                return Err(std::io::Error::other("disk full"));
            }
            self.out.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Lets every pending [`Gate`] write through when dropped.
    struct LetThroughOnDrop(std::sync::mpsc::Sender<()>);

    impl Drop for LetThroughOnDrop {
        fn drop(&mut self) {
            for _ in 0..64 {
                let _ = self.0.send(());
            }
        }
    }

    #[test]
    fn the_line_encoder_writes_what_serde_json_writes() {
        let mut failed = record("listContacts");
        failed.outcome = Outcome::Failure;
        failed.status = None;
        failed.request_id = None;
        failed.error = Some("transport");
        failed.path_template = "/campaigns/{campaign_id}/ads/{ad_id}";
        failed.resource_ids = ResourceIds::new(
            failed.path_template,
            "/v1/campaigns/cmp_1/ads/odd \"id\"\\\n\u{7f}é",
        );
        failed.duration_ms = u64::MAX;
        failed.attempts = 0;
        let mut empty = record("getCampaign");
        empty.path_template = "/campaigns";
        empty.resource_ids = ResourceIds::new(empty.path_template, "/v1/campaigns");
        // Long enough for the eight-byte scan, with an escape at every position of a word and
        // in the tail.
        let long = "cmp_0123456789abcdefghij".to_owned();
        let mut escaped = Vec::new();
        for at in 0..long.len() {
            for special in ["\"", "\\", "\u{1}", "\u{1f}", "\n"] {
                let mut text = long.clone();
                text.replace_range(at..=at, special);
                escaped.push(text);
            }
        }
        let escaped_paths: Vec<String> =
            escaped.iter().map(|t| format!("/campaigns/{t}")).collect();
        let campaign = |path| {
            let mut r = record("getCampaign");
            r.path_template = "/campaigns/{campaign_id}";
            r.resource_ids = ResourceIds::new(r.path_template, path);
            r
        };
        let mut records = vec![record("getContact"), failed, empty];
        records.extend(escaped_paths.iter().map(|path| campaign(path)));
        // Every printable ASCII character but `/` (which would end the path's segment), and
        // DEL and non-ASCII text, which JSON holds as they are.
        let plain_id = "cmp_~\u{7f}\u{80}é0123456789 !#$%&'()*+,-.:;<=>?@[]^_`{|}";
        let plain_path = format!("/campaigns/{plain_id}");
        records.push(campaign(&plain_path));
        // The scan itself: no false alarm on what needs no escape, no miss on what does.
        assert!(!needs_escape(plain_id.as_bytes()));
        assert!(escaped.iter().all(|t| needs_escape(t.as_bytes())));
        let mut cache = LineCache::default();
        for r in records {
            let mut line = Vec::new();
            r.write_json_line(&mut line);
            assert_eq!(line.last(), Some(&b'\n'));
            let ours: serde_json::Value = serde_json::from_slice(&line).unwrap();
            let theirs = serde_json::to_value(&r).unwrap();
            assert_eq!(ours, theirs);
            // The sink's form, reusing what earlier lines encoded, writes the same bytes.
            let mut cached = Vec::new();
            encode_line(&r, &mut cached, Some(&mut cache));
            assert_eq!(String::from_utf8(cached), String::from_utf8(line));
        }
    }

    #[test]
    fn numbers_are_written_as_display_writes_them() {
        for value in (0..2_000).chain([9_999, 10_000, 123_456_789, u64::MAX - 1, u64::MAX]) {
            let mut out = Vec::new();
            push_u64(&mut out, value);
            assert_eq!(String::from_utf8(out).unwrap(), value.to_string());
        }
    }

    #[test]
    fn reused_times_and_operations_encode_as_fresh_ones() {
        // 300 operations (more than the cache has slots, so slots are shared and replaced),
        // visited in a scrambled order, at times that stay within a second, cross seconds and
        // go back.
        let names: Vec<&'static str> = (0..300)
            .map(|i| &*Box::leak(format!("operation{i}").into_boxed_str()))
            .collect();
        let templates: Vec<&'static str> = (0..300)
            .map(|i| &*Box::leak(format!("/things/{i}/{{thing_id}}").into_boxed_str()))
            .collect();
        let base = UNIX_EPOCH + Duration::new(1_796_083_199, 999_998_000);
        let mut cache = LineCache::default();
        for step in 0..3_000_usize {
            let i = step * 7919 % 300;
            let mut r = record(names[i]);
            r.path_template = templates[i];
            r.method = if step % 3 == 0 { "POST" } else { "GET" };
            let offset_micros = [0, 1, 2, 3, 999_999, 1_000_000, 2_500_000, 1][step % 8];
            r.time = base + Duration::from_micros(offset_micros);
            let (mut fresh, mut cached) = (Vec::new(), Vec::new());
            encode_line(&r, &mut fresh, None);
            encode_line(&r, &mut cached, Some(&mut cache));
            assert_eq!(
                String::from_utf8(cached),
                String::from_utf8(fresh),
                "step {step}"
            );
        }
    }

    #[test]
    fn queued_records_encode_as_the_records_themselves() {
        // Records differing in every borrowed string (none, one and several ids; escapes and
        // non-ASCII text; with and without a request id), queued one after the other so each
        // one's ranges start where the last one's ended.
        let paths = [
            ("/contacts", "/v1/contacts"),
            ("/contacts/{contact_id}", "/v1/contacts/ctc_1"),
            (
                "/campaigns/{campaign_id}/ads/{ad_id}",
                "/v1/campaigns/cmp_\"quoted\"/ads/ad_é✓\n",
            ),
        ];
        let mut records = Vec::new();
        for (i, &(template, path)) in paths.iter().enumerate() {
            let mut r = record("getContact");
            r.path_template = template;
            r.resource_ids = ResourceIds::new(template, path);
            r.credential = ["api_key:sk_test", "oauth_client:ünï", ""][i];
            r.request_id = [Some("req_1"), None, Some("req_\\x")][i];
            r.outcome = [Outcome::Success, Outcome::Failure, Outcome::Success][i];
            r.status = [Some(200), None, Some(404)][i];
            r.error = [None, Some("transport"), Some("api")][i];
            records.push(r);
        }
        let mut batch = Batch::default();
        let mut expected = Vec::new();
        // Each twice in a row, as a client's calls share their credential.
        for r in records.iter().flat_map(|r| [r, r]).cycle().take(9) {
            batch.push(r);
            encode_line(r, &mut expected, None);
        }
        let mut encoded = Vec::new();
        batch.encode(&mut encoded, &mut LineCache::default());
        assert_eq!(String::from_utf8(encoded), String::from_utf8(expected));

        // Cleared, the batch holds nothing of its earlier records (and this one's text needs
        // no escaping, which the batch's single scan finds: the other way of encoding).
        assert!(!needs_escape(records[1].credential.as_bytes()));
        batch.clear();
        batch.push(&records[1]);
        let (mut encoded, mut expected) = (Vec::new(), Vec::new());
        batch.encode(&mut encoded, &mut LineCache::default());
        encode_line(&records[1], &mut expected, None);
        assert_eq!(String::from_utf8(encoded), String::from_utf8(expected));
    }

    #[test]
    fn times_are_rfc3339_utc_with_microseconds() {
        let mut buf = [0u8; 27];
        for (secs, micros) in [
            (0, 0),
            (951_782_400, 5),         // 2000-02-29, a leap day
            (1_796_083_200, 123_456), // 2026-12-01
            (4_107_542_399, 999_999), // 2100-02-28T23:59:59
            (-86_400, 1),             // 1969-12-31
        ] {
            let expected = DateTime::from_timestamp(secs, micros * 1_000)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%S%.6fZ")
                .to_string();
            assert_eq!(rfc3339_micros(secs, micros, &mut buf), expected);
        }
    }

    #[test]
    fn system_times_split_into_seconds_and_microseconds_as_chrono_reads_them() {
        let after = |secs, nanos| UNIX_EPOCH + Duration::new(secs, nanos);
        let before = |secs, nanos| UNIX_EPOCH - Duration::new(secs, nanos);
        for time in [
            after(0, 0),
            after(1_796_083_200, 123_456_789),
            after(1_796_083_200, 999_999_999),
            before(0, 1),
            before(0, 500),
            before(0, 1_000),
            before(0, 999_999_999),
            before(86_400, 0),
            before(86_400, 250_000),
        ] {
            let chrono = DateTime::<Utc>::from(time);
            assert_eq!(
                unix_micros(time),
                (chrono.timestamp(), chrono.timestamp_subsec_micros()),
                "{time:?}"
            );
        }
    }

    #[test]
    fn lines_are_json_with_ids_as_an_object_and_flush_waits_for_them() {
        let out = Arc::new(Mutex::new(Vec::new()));
        let (open, gate) = channel();
        for _ in 0..10 {
            open.send(()).unwrap();
        }
        let sink = JsonLinesSink::new(Gate {
            open: gate,
            out: out.clone(),
            fail: false,
        });
        sink.record(&record("getContact"));
        sink.record(&record("getContact"));
        assert!(sink.flush());
        let text = String::from_utf8(out.lock().unwrap().clone()).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            lines[0]["resource_ids"],
            serde_json::json!({"contact_id": "ctc_1"})
        );
        assert_eq!(lines[0]["credential"], "api_key:sk_test");
        assert_eq!(lines[0]["outcome"], "success");
        assert_eq!(sink.written(), 2);
    }

    #[test]
    fn a_full_buffer_drops_and_counts_instead_of_blocking() {
        let out = Arc::new(Mutex::new(Vec::new()));
        let (open, gate) = channel();
        let sink = JsonLinesSink::with_buffer(
            Gate {
                open: gate,
                out: out.clone(),
                fail: false,
            },
            2,
        );
        // Declared after the sink, so dropped before it even when an assertion fails: the
        // sink's drop waits for its writer, which waits for a write to be let through.
        let _let_through_on_exit = LetThroughOnDrop(open.clone());
        // The writer holds the first record or two (whatever the queue had when it woke; its
        // write is blocked); two more fill the queue; the rest are dropped, and none of this
        // blocks the caller.
        for _ in 0..10 {
            sink.record(&record("listContacts"));
        }
        let dropped = sink.dropped();
        assert!((6..=8).contains(&dropped), "dropped {dropped}");
        for _ in 0..10 {
            open.send(()).unwrap();
        }
        assert!(sink.flush());
        assert_eq!(sink.written() + sink.dropped(), 10);
    }

    #[test]
    fn dropping_the_last_clone_writes_everything_queued() {
        let out = Arc::new(Mutex::new(Vec::new()));
        let (open, gate) = channel();
        let sink = JsonLinesSink::new(Gate {
            open: gate,
            out: out.clone(),
            fail: false,
        });
        let clone = sink.clone();
        for _ in 0..5 {
            clone.record(&record("getCampaign"));
        }
        drop(clone);
        for _ in 0..10 {
            open.send(()).unwrap();
        }
        drop(sink);
        let text = String::from_utf8(out.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 5);
    }

    #[test]
    fn a_failing_writer_is_counted_not_fatal() {
        let (open, gate) = channel();
        for _ in 0..10 {
            open.send(()).unwrap();
        }
        let sink = JsonLinesSink::with_buffer(
            Gate {
                open: gate,
                out: Arc::default(),
                fail: true,
            },
            16,
        );
        sink.record(&record("getCampaign"));
        sink.flush();
        assert_eq!(sink.failed_writes(), 1);
        assert_eq!(sink.written(), 0);
    }
}
