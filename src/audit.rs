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
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
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
    /// When the call completed (UTC).
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
    credential: Mutex<Option<Arc<str>>>,
}

impl<S: AuditSink> AuditInterceptor<S> {
    /// Audits into `sink`.
    pub fn new(sink: S) -> Self {
        AuditInterceptor {
            sink,
            credential: Mutex::new(None),
        }
    }

    /// The identity as a shared string, made once: every record points at the same one.
    fn credential(&self, identity: &str) -> Arc<str> {
        let mut cached = self.credential.lock().unwrap_or_else(|p| p.into_inner());
        match &*cached {
            Some(c) if &**c == identity => c.clone(),
            _ => {
                let c: Arc<str> = identity.into();
                *cached = Some(c.clone());
                c
            }
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
pub const DEFAULT_BUFFER: usize = 4096;

enum Message {
    Record(Box<AuditRecord>),
    Flush(SyncSender<()>),
}

struct Shared {
    sender: Mutex<Option<SyncSender<Message>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    written: Arc<AtomicU64>,
    dropped: AtomicU64,
    failed_writes: Arc<AtomicU64>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Closing the channel ends the writer thread once it has written and flushed the
        // queue; joining it makes "dropped" mean "on disk".
        self.sender.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(handle) = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = handle.join();
        }
    }
}

/// An [`AuditSink`] writing one JSON object per line to a file or any [`Write`].
///
/// - **Non-blocking.** [`record`](AuditSink::record) only queues; a thread of the sink's own
///   serializes and writes (through a `BufWriter`), so a slow disk never holds a request.
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
    shared: Arc<Shared>,
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
        let (sender, receiver) = sync_channel(buffer.max(1));
        let written = Arc::new(AtomicU64::new(0));
        let failed_writes = Arc::new(AtomicU64::new(0));
        let writer = {
            let written = written.clone();
            let failed_writes = failed_writes.clone();
            std::thread::Builder::new()
                .name("marketing-api-audit".into())
                .spawn(move || write_lines(receiver, writer, &written, &failed_writes))
                .ok()
        };
        if writer.is_none() {
            tracing::warn!(
                target: "marketing_api::audit",
                "the audit writer thread could not start; every record will be counted as dropped"
            );
        }
        JsonLinesSink {
            shared: Arc::new(Shared {
                sender: Mutex::new(writer.is_some().then_some(sender)),
                writer: Mutex::new(writer),
                written,
                dropped: AtomicU64::new(0),
                failed_writes,
            }),
        }
    }

    /// Records handed to the writer so far (a failure of its later flush counts in
    /// [`failed_writes`](Self::failed_writes)).
    pub fn written(&self) -> u64 {
        self.shared.written.load(Ordering::Relaxed)
    }

    /// Records dropped because the buffer was full (or the writer had stopped).
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Records whose write failed (an I/O error of the underlying writer).
    pub fn failed_writes(&self) -> u64 {
        self.shared.failed_writes.load(Ordering::Relaxed)
    }

    /// Waits until every record queued before this call is written and the writer flushed
    /// (at most `timeout`); returns whether that happened in time.
    pub fn flush_within(&self, timeout: Duration) -> bool {
        let (done, wait) = sync_channel(1);
        let Some(sender) = self.sender() else {
            return false;
        };
        // Blocking send: a flush must queue behind the records, not be dropped like one.
        if sender.send(Message::Flush(done)).is_err() {
            return false;
        }
        wait.recv_timeout(timeout).is_ok()
    }

    /// Waits (up to 30 s) until every record queued before this call is written and flushed.
    pub fn flush(&self) -> bool {
        self.flush_within(Duration::from_secs(30))
    }

    fn sender(&self) -> Option<SyncSender<Message>> {
        self.shared
            .sender
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn count_drop(&self) {
        let dropped = self.shared.dropped.fetch_add(1, Ordering::Relaxed) + 1;
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
        let guard = self.shared.sender.lock().unwrap_or_else(|p| p.into_inner());
        let Some(sender) = guard.as_ref() else {
            drop(guard);
            self.count_drop();
            return;
        };
        match sender.try_send(Message::Record(Box::new(record))) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                drop(guard);
                self.count_drop();
            }
        }
    }
}

fn write_lines(
    receiver: Receiver<Message>,
    writer: impl Write,
    written: &AtomicU64,
    failed_writes: &AtomicU64,
) {
    let mut out = BufWriter::new(writer);
    let mut line = Vec::with_capacity(512);
    let report_failure = |error: &dyn fmt::Display| {
        let failed = failed_writes.fetch_add(1, Ordering::Relaxed) + 1;
        if failed == 1 || failed.is_multiple_of(1024) {
            tracing::warn!(target: "marketing_api::audit", failed, %error, "audit record not written");
        }
    };
    loop {
        // Flush whenever the queue runs dry: records reach the file promptly, without a write
        // system call per record while a burst is queued.
        let message = match receiver.try_recv() {
            Ok(message) => message,
            Err(TryRecvError::Empty) => {
                if let Err(error) = out.flush() {
                    report_failure(&error);
                }
                match receiver.recv() {
                    Ok(message) => message,
                    Err(_) => break,
                }
            }
            Err(TryRecvError::Disconnected) => break,
        };
        match message {
            Message::Record(record) => {
                line.clear();
                let encoded = serde_json::to_writer(&mut line, &*record);
                line.push(b'\n');
                match encoded
                    .map_err(std::io::Error::from)
                    .and_then(|()| out.write_all(&line))
                {
                    Ok(()) => {
                        written.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(error) => report_failure(&error),
                }
            }
            Message::Flush(done) => {
                if let Err(error) = out.flush() {
                    report_failure(&error);
                }
                let _ = done.send(());
            }
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
