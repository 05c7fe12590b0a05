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
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::interceptor::{Context, HookError, Interceptor};

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
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct AuditRecord {
    /// When the call completed (UTC; RFC 3339 with microseconds in the JSON-lines form).
    #[serde(serialize_with = "as_rfc3339")]
    pub time: DateTime<Utc>,
    /// The `operationId`.
    pub operation: &'static str,
    /// The HTTP method.
    pub method: &'static str,
    /// The path template (`/contacts/{contact_id}`).
    pub path_template: &'static str,
    /// The ids in the path, by parameter name (a JSON object in the JSON-lines form).
    #[serde(serialize_with = "as_object")]
    pub resource_ids: Vec<(&'static str, String)>,
    /// Who the client authenticated as: `api_key:<first characters>`, `oauth_client:<id>`, or
    /// what [`ClientBuilder::credential_identity`](crate::ClientBuilder::credential_identity)
    /// set. Never a secret.
    #[serde(serialize_with = "as_str")]
    pub credential: Arc<str>,
    /// How it ended.
    pub outcome: Outcome,
    /// The final answer's status, if one came.
    pub status: Option<u16>,
    /// The final answer's request id.
    pub request_id: Option<String>,
    /// Attempts made: 1 plus the retries (a replay after a token renewal is not an attempt).
    pub attempts: u32,
    /// The kind of error when it failed (`api`, `transport`, `timeout`, `auth`, …).
    pub error: Option<&'static str>,
    /// How long the call took, retries and waits included, in milliseconds.
    pub duration_ms: u64,
}

fn as_object<S: serde::Serializer>(
    ids: &[(&'static str, String)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_map(ids.iter().map(|(name, value)| (*name, value)))
}

/// RFC 3339 in UTC with microseconds (`2026-11-30T23:56:19.123456Z`), written directly: the
/// writer thread formats one per record, and a general-purpose formatter costs several times
/// the rest of the record.
fn as_rfc3339<S: serde::Serializer>(
    time: &DateTime<Utc>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut buf = [0u8; 27];
    let text = rfc3339_micros(time.timestamp(), time.timestamp_subsec_micros(), &mut buf);
    serializer.serialize_str(text)
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
    let mut put = |at: usize, value: i64, width: usize| {
        let mut value = value;
        for i in (0..width).rev() {
            buf[at + i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, year, 4);
    put(5, month, 2);
    put(8, day, 2);
    put(11, of_day / 3_600, 2);
    put(14, of_day % 3_600 / 60, 2);
    put(17, of_day % 60, 2);
    put(20, i64::from(micros.min(999_999)), 6);
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
    // Only ASCII digits and separators were written.
    std::str::from_utf8(buf).unwrap_or("1970-01-01T00:00:00.000000Z")
}

fn as_str<S: serde::Serializer>(value: &Arc<str>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(value)
}

/// Where audit records go. [`record`](Self::record) is called on the request's task once per
/// completed operation and must not block: hand the record to a queue (as [`JsonLinesSink`]
/// does).
pub trait AuditSink: Send + Sync + 'static {
    /// Takes one record.
    fn record(&self, record: AuditRecord);
}

impl<S: AuditSink + ?Sized> AuditSink for Arc<S> {
    fn record(&self, record: AuditRecord) {
        (**self).record(record);
    }
}

/// The interceptor that turns completed operations into [`AuditRecord`]s for a sink (what
/// [`ClientBuilder::audit_sink`](crate::ClientBuilder::audit_sink) registers).
pub struct AuditInterceptor<S> {
    sink: S,
    credential: std::sync::OnceLock<Arc<str>>,
}

impl<S: AuditSink> AuditInterceptor<S> {
    /// Audits into `sink`.
    pub fn new(sink: S) -> Self {
        AuditInterceptor {
            sink,
            credential: std::sync::OnceLock::new(),
        }
    }

    /// The identity as a shared string, made once: every record points at the same one (an
    /// interceptor shared by clients with other identities makes theirs per record).
    fn credential(&self, identity: &str) -> Arc<str> {
        let first = self.credential.get_or_init(|| identity.into());
        if &**first == identity {
            first.clone()
        } else {
            identity.into()
        }
    }
}

impl<S> fmt::Debug for AuditInterceptor<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditInterceptor").finish_non_exhaustive()
    }
}

impl<S: AuditSink> Interceptor for AuditInterceptor<S> {
    fn on_complete(&self, ctx: &Context<'_>) -> Result<(), HookError> {
        let status = ctx.status().map(|s| s.as_u16());
        let failed = ctx.error().is_some() || status.is_some_and(|s| s >= 400);
        self.sink.record(AuditRecord {
            time: Utc::now(),
            operation: ctx.operation_id(),
            method: method_name(ctx.method()),
            path_template: ctx.path_template(),
            resource_ids: ctx
                .resource_ids()
                .into_iter()
                .map(|(name, value)| (name, value.to_owned()))
                .collect(),
            credential: self.credential(ctx.credential_identity()),
            outcome: if failed {
                Outcome::Failure
            } else {
                Outcome::Success
            },
            status,
            request_id: ctx.request_id().map(str::to_owned),
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
    records: Vec<AuditRecord>,
    /// Callers of `flush` waiting for everything queued before them.
    flushes: Vec<SyncSender<()>>,
    closed: bool,
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
/// - **Non-blocking.** [`record`](AuditSink::record) appends to an in-memory queue under a
///   short lock and returns; it never waits for the writer and never wakes it in the common
///   case. A thread of the sink's own takes the queue every [`WRITE_INTERVAL`] (sooner when it
///   is half full), serializes the records and writes them in one batch through a
///   `BufWriter`, then flushes: one write system call per batch, not per record, which keeps
///   the per-request cost to building the record.
/// - **Bounded.** The queue holds [`DEFAULT_BUFFER`] records (or what
///   [`with_buffer`](Self::with_buffer) says). When it is full the record is **dropped, counted
///   and reported**: [`dropped`](Self::dropped) says how many, and a `tracing::warn!` (target
///   `marketing_api::audit`) names the total at the first drop and every 1024th after. Dropping
///   was chosen over back-pressure because the alternative stalls API calls on the audit
///   disk; a deployment that must never lose a record sizes the buffer for its bursts and
///   alerts on `dropped() > 0`.
/// - **Flushed.** [`flush`](Self::flush) returns once every record queued before it is
///   written and flushed; dropping the last clone of the sink does the same and stops the
///   thread. A failed write is counted in [`failed_writes`](Self::failed_writes) and reported.
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
                records: Vec::new(),
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

    /// Records handed to the writer so far (a failure of its later flush counts in
    /// [`failed_writes`](Self::failed_writes)).
    pub fn written(&self) -> u64 {
        self.shared().written.load(Ordering::Relaxed)
    }

    /// Records dropped because the buffer was full (or the writer had stopped).
    pub fn dropped(&self) -> u64 {
        self.shared().dropped.load(Ordering::Relaxed)
    }

    /// Records whose write failed (an I/O error of the underlying writer).
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
    fn record(&self, record: AuditRecord) {
        let shared = self.shared();
        let mut queue = shared.queue();
        if queue.closed || queue.records.len() >= shared.capacity {
            drop(queue);
            self.count_drop();
            return;
        }
        queue.records.push(record);
        let half_full = queue.records.len() == shared.capacity / 2;
        drop(queue);
        if half_full {
            // A burst: take the queue now rather than at the end of the interval.
            shared.wake.notify_one();
        }
    }
}

/// One record as a JSON line, exactly as `serde_json` would write the [`AuditRecord`] (a test
/// holds the two to the same output) but without its generic machinery: this runs once per
/// record and was most of the writer thread's time.
fn encode_line(record: &AuditRecord, out: &mut Vec<u8>) {
    let mut time = [0u8; 27];
    out.extend_from_slice(b"{\"time\":\"");
    out.extend_from_slice(
        rfc3339_micros(
            record.time.timestamp(),
            record.time.timestamp_subsec_micros(),
            &mut time,
        )
        .as_bytes(),
    );
    out.extend_from_slice(b"\",\"operation\":");
    push_json_str(out, record.operation);
    out.extend_from_slice(b",\"method\":");
    push_json_str(out, record.method);
    out.extend_from_slice(b",\"path_template\":");
    push_json_str(out, record.path_template);
    out.extend_from_slice(b",\"resource_ids\":{");
    for (i, (name, value)) in record.resource_ids.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_json_str(out, name);
        out.push(b':');
        push_json_str(out, value);
    }
    out.extend_from_slice(b"},\"credential\":");
    push_json_str(out, &record.credential);
    out.extend_from_slice(match record.outcome {
        Outcome::Success => b",\"outcome\":\"success\",\"status\":",
        Outcome::Failure => b",\"outcome\":\"failure\",\"status\":",
    });
    match record.status {
        Some(status) => push_u64(out, u64::from(status)),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"request_id\":");
    match &record.request_id {
        Some(id) => push_json_str(out, id),
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

/// A JSON string: copied as is when nothing in it needs escaping (ids, templates), else
/// through `serde_json`'s escaping.
fn push_json_str(out: &mut Vec<u8>, text: &str) {
    if !text.bytes().any(|b| NEEDS_ESCAPE[usize::from(b)]) {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else if serde_json::to_writer(&mut *out, text).is_err() {
        // Writing a string into a vector cannot fail; keep the line valid JSON regardless.
        out.extend_from_slice(b"null");
    }
}

fn push_u64(out: &mut Vec<u8>, mut value: u64) {
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
fn write_batches(shared: &Shared, writer: impl Write) {
    let mut out = BufWriter::with_capacity(64 * 1024, writer);
    let mut line = Vec::with_capacity(512);
    let mut batch: Vec<AuditRecord> = Vec::new();
    let report_failure = |error: &dyn fmt::Display| {
        let failed = shared.failed_writes.fetch_add(1, Ordering::Relaxed) + 1;
        if failed == 1 || failed.is_multiple_of(1024) {
            tracing::warn!(target: "marketing_api::audit", failed, %error, "audit record not written");
        }
    };
    loop {
        let (flushes, closed) = {
            let mut queue = shared.queue();
            if queue.records.is_empty() && queue.flushes.is_empty() && !queue.closed {
                queue = shared
                    .wake
                    .wait_timeout(queue, WRITE_INTERVAL)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
            // Swap rather than drain: the request path keeps pushing into a vector that
            // already has its capacity.
            std::mem::swap(&mut queue.records, &mut batch);
            (std::mem::take(&mut queue.flushes), queue.closed)
        };
        if !batch.is_empty() {
            for record in batch.drain(..) {
                line.clear();
                encode_line(&record, &mut line);
                match out.write_all(&line) {
                    Ok(()) => {
                        shared.written.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(error) => report_failure(&error),
                }
            }
            if let Err(error) = out.flush() {
                report_failure(&error);
            }
        } else if !flushes.is_empty()
            && let Err(error) = out.flush()
        {
            report_failure(&error);
        }
        for done in flushes {
            let _ = done.send(());
        }
        if closed && shared.queue().records.is_empty() {
            break;
        }
    }
    if let Err(error) = out.flush() {
        report_failure(&error);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::{Receiver, channel};

    fn record(operation: &'static str) -> AuditRecord {
        AuditRecord {
            time: Utc::now(),
            operation,
            method: "GET",
            path_template: "/contacts/{contact_id}",
            resource_ids: vec![("contact_id", "ctc_1".to_owned())],
            credential: "api_key:sk_test".into(),
            outcome: Outcome::Success,
            status: Some(200),
            request_id: Some("req_1".into()),
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

    #[test]
    fn the_line_encoder_writes_what_serde_json_writes() {
        let mut failed = record("listContacts");
        failed.outcome = Outcome::Failure;
        failed.status = None;
        failed.request_id = None;
        failed.error = Some("transport");
        failed.resource_ids = vec![
            ("campaign_id", "cmp_1".into()),
            ("ad_id", "odd \"id\"\\\n\u{7f}é".into()),
        ];
        failed.duration_ms = u64::MAX;
        failed.attempts = 0;
        let mut empty = record("getCampaign");
        empty.resource_ids.clear();
        for r in [record("getContact"), failed, empty] {
            let mut line = Vec::new();
            encode_line(&r, &mut line);
            assert_eq!(line.last(), Some(&b'\n'));
            let ours: serde_json::Value = serde_json::from_slice(&line).unwrap();
            let theirs = serde_json::to_value(&r).unwrap();
            assert_eq!(ours, theirs);
        }
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
        sink.record(record("getContact"));
        sink.record(record("getContact"));
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
        // The writer holds the first record (its write is blocked); two more fill the queue;
        // the rest are dropped, and none of this blocks the caller.
        for _ in 0..10 {
            sink.record(record("listContacts"));
        }
        let dropped = sink.dropped();
        assert!((7..=8).contains(&dropped), "dropped {dropped}");
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
            clone.record(record("getCampaign"));
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
        sink.record(record("getCampaign"));
        // The BufWriter holds the line until the flush, whose write then fails.
        sink.flush();
        assert!(sink.failed_writes() >= 1);
        assert_eq!(sink.written(), 1, "the record reached the buffer");
    }
}
