//! Usage metrics through the [`metrics`](https://docs.rs/metrics) facade (feature `metrics`).
//!
//! [`Metrics`] is an [interceptor](crate::interceptor): register it with
//! [`ClientBuilder::metrics`](crate::ClientBuilder::metrics) and install any `metrics` recorder
//! in the application (Prometheus, StatsD, OpenTelemetry through an exporter crate, …). Without
//! a recorder every measurement is a no-op.
//!
//! Names and attributes follow OpenTelemetry's HTTP client semantic conventions where one
//! exists, and live under `marketing_api.client.` where none does:
//!
//! | metric | kind | unit | per | attributes |
//! |---|---|---|---|---|
//! | `http.client.request.duration` | histogram | s | HTTP request (each attempt) | `http.request.method`, `url.template`, `http.response.status_code`¹, `error.type`², `marketing_api.operation` |
//! | `marketing_api.client.retries` | counter | {retry} | retry decided | `http.request.method`, `url.template`, `marketing_api.operation` |
//! | `marketing_api.client.rate_limit.waits` | counter | {wait} | wait for a spent quota | `url.template`, `marketing_api.operation` |
//! | `marketing_api.client.rate_limit.wait_duration` | histogram | s | wait for a spent quota | `url.template`, `marketing_api.operation` |
//! | `marketing_api.client.credential.renewals` | counter | {renewal} | renewed credential first sent (token refresh) | `marketing_api.operation` |
//!
//! The request count is the histogram's count (as with OpenTelemetry, where
//! `http.client.request.duration` is the HTTP client metric): a separate counter would cost a
//! second registry lookup on every request for a figure every backend already derives.
//!
//! ¹ when an answer came. ² on failure: the status code for an error answer (as the
//! conventions say), else `timeout`, `transport`, `tls`, `auth`, `decode`,
//! `response_too_large`, ….
//!
//! Attribute values are bounded: the operation id and path template come from the spec, never
//! a filled path, so no id and no personal data becomes a label.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use http::StatusCode;
use metrics::{Histogram, Label, counter, histogram};

use crate::interceptor::{Context, Hook, HookError, HookSet, Interceptor};

/// The interceptor that reports usage metrics. See the [module docs](self) for what it emits.
///
/// The request-duration histogram is recorded on every HTTP request, so its handles are kept:
/// one per series (operation, status, error type) and recorder, registered with the recorder
/// the first time the series is seen. A recorder installed later (or a thread-local one) gets
/// its own handles, so nothing is recorded into a recorder that is no longer current.
pub struct Metrics {
    /// Names this interceptor in the per-thread handle caches (unique for the process).
    id: u64,
}

impl Default for Metrics {
    fn default() -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        Metrics {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        }
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// A metrics interceptor.
    pub fn new() -> Self {
        Metrics::default()
    }
}

/// Handles kept per thread and not in the interceptor: finding one then takes no lock and
/// writes no memory another thread reads, so requests completing on two cores at once do not
/// pull a shared cache line back and forth (a shared lock cost more than the lookup itself).
type Handles = HashMap<(u64, SeriesKey), Histogram, BuildHasherDefault<SeriesHasher>>;

thread_local! {
    static HANDLES: RefCell<Handles> = RefCell::default();
}

/// Series a thread keeps handles for before it starts over: the API has a few dozen
/// operations and statuses, and clients that come and go must not grow the cache for good.
const MAX_KEPT_SERIES: usize = 1024;

/// A series of `http.client.request.duration` under one recorder. The operation is named by
/// the address of its id (a `&'static str` from the generated code, one per operation), the
/// error type by its label text or the status.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct SeriesKey {
    recorder: usize,
    operation: usize,
    status: u16,
    error: usize,
}

/// A multiply-rotate hasher for [`SeriesKey`]'s few integers: the default SipHash would cost
/// more than the rest of the lookup.
#[derive(Default)]
struct SeriesHasher(u64);

impl Hasher for SeriesHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn write_u16(&mut self, n: u16) {
        self.write_u64(u64::from(n));
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The status as a label value; the statuses the API uses without an allocation.
fn status_label(status: StatusCode) -> metrics::SharedString {
    let text: &'static str = match status.as_u16() {
        200 => "200",
        201 => "201",
        202 => "202",
        204 => "204",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        409 => "409",
        413 => "413",
        422 => "422",
        429 => "429",
        500 => "500",
        502 => "502",
        503 => "503",
        504 => "504",
        other => return metrics::SharedString::from(other.to_string()),
    };
    metrics::SharedString::const_str(text)
}

fn error_type(ctx: &Context<'_>) -> Option<metrics::SharedString> {
    match (ctx.status(), ctx.error()) {
        (Some(status), _) if status.as_u16() >= 400 => Some(status_label(status)),
        (_, Some(error)) => Some(metrics::SharedString::const_str(crate::audit::kind_name(
            error.kind(),
        ))),
        _ => None,
    }
}

fn method_label(ctx: &Context<'_>) -> &'static str {
    crate::audit::method_name(ctx.method())
}

/// The request attributes: method, template, status (if any), error type (if failed),
/// operation.
fn request_labels(ctx: &Context<'_>) -> Vec<Label> {
    // In name order, as the recorder's key keeps them: nothing to reorder.
    let mut labels = Vec::with_capacity(5);
    if let Some(error) = error_type(ctx) {
        labels.push(Label::new("error.type", error));
    }
    labels.push(Label::from_static_parts(
        "http.request.method",
        method_label(ctx),
    ));
    if let Some(status) = ctx.status() {
        labels.push(Label::new(
            "http.response.status_code",
            status_label(status),
        ));
    }
    labels.push(Label::from_static_parts(
        "marketing_api.operation",
        ctx.operation_id(),
    ));
    labels.push(Label::from_static_parts(
        "url.template",
        ctx.path_template(),
    ));
    labels
}

/// The hooks [`Metrics`] implements (keep in step with the `impl` below: the client calls
/// only these when it registers one through `metrics()`).
pub(crate) const METRICS_HOOKS: HookSet = HookSet::of(&[
    Hook::AfterResponse,
    Hook::OnError,
    Hook::OnRetry,
    Hook::OnRateLimitWait(std::time::Duration::ZERO),
    Hook::OnCredentialRenewed,
]);

impl Interceptor for Metrics {
    fn after_response(&self, ctx: &Context<'_>) -> Result<(), HookError> {
        self.attempt_done(ctx);
        Ok(())
    }

    fn on_error(&self, ctx: &Context<'_>) -> Result<(), HookError> {
        self.attempt_done(ctx);
        Ok(())
    }

    fn on_retry(&self, ctx: &Context<'_>) -> Result<(), HookError> {
        counter!(
            "marketing_api.client.retries",
            "http.request.method" => method_label(ctx),
            "url.template" => ctx.path_template(),
            "marketing_api.operation" => ctx.operation_id(),
        )
        .increment(1);
        Ok(())
    }

    fn on_rate_limit_wait(
        &self,
        ctx: &Context<'_>,
        wait: std::time::Duration,
    ) -> Result<(), HookError> {
        counter!(
            "marketing_api.client.rate_limit.waits",
            "url.template" => ctx.path_template(),
            "marketing_api.operation" => ctx.operation_id(),
        )
        .increment(1);
        histogram!(
            "marketing_api.client.rate_limit.wait_duration",
            "url.template" => ctx.path_template(),
            "marketing_api.operation" => ctx.operation_id(),
        )
        .record(wait.as_secs_f64());
        Ok(())
    }

    fn on_credential_renewed(&self, ctx: &Context<'_>) -> Result<(), HookError> {
        counter!(
            "marketing_api.client.credential.renewals",
            "marketing_api.operation" => ctx.operation_id(),
        )
        .increment(1);
        Ok(())
    }
}

impl Metrics {
    fn attempt_done(&self, ctx: &Context<'_>) {
        let seconds = ctx.duration().as_secs_f64();
        let key = SeriesKey {
            // The current recorder (global or thread-local) by address.
            recorder: metrics::with_recorder(|r| std::ptr::from_ref(r).cast::<()>() as usize),
            operation: ctx.operation_id().as_ptr() as usize,
            status: ctx.status().map_or(0, |s| s.as_u16()),
            error: ctx
                .error()
                .filter(|_| ctx.status().is_none())
                .map_or(0, |e| crate::audit::kind_name(e.kind()).as_ptr() as usize),
        };
        let key = (self.id, key);
        // `try_with`: a hook running while the thread's locals are torn down still records,
        // through the recorder directly.
        let kept = HANDLES.try_with(|handles| {
            let handles = handles.borrow();
            handles.get(&key).map(|histogram| histogram.record(seconds))
        });
        if let Ok(Some(())) = kept {
            return;
        }
        // Registered outside the borrow: the recorder runs code of its own.
        let histogram = histogram!("http.client.request.duration", request_labels(ctx));
        histogram.record(seconds);
        let _ = HANDLES.try_with(|handles| {
            let mut handles = handles.borrow_mut();
            if handles.len() >= MAX_KEPT_SERIES {
                handles.clear();
            }
            handles.insert(key, histogram);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::OperationInfo;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    static OP: OperationInfo = OperationInfo {
        id: "getCampaign",
        method: http::Method::GET,
        path_template: "/campaigns/{campaign_id}",
        deprecated: false,
        idempotency_key: false,
        accept: None,
    };

    /// Counts histogram samples, whatever the series.
    #[derive(Default)]
    struct Samples(Arc<AtomicU64>);

    impl metrics::HistogramFn for Samples {
        fn record(&self, _: f64) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[derive(Default)]
    struct Counting(Arc<AtomicU64>);

    impl metrics::Recorder for Counting {
        fn describe_counter(
            &self,
            _: metrics::KeyName,
            _: Option<metrics::Unit>,
            _: metrics::SharedString,
        ) {
        }
        fn describe_gauge(
            &self,
            _: metrics::KeyName,
            _: Option<metrics::Unit>,
            _: metrics::SharedString,
        ) {
        }
        fn describe_histogram(
            &self,
            _: metrics::KeyName,
            _: Option<metrics::Unit>,
            _: metrics::SharedString,
        ) {
        }
        fn register_counter(
            &self,
            _: &metrics::Key,
            _: &metrics::Metadata<'_>,
        ) -> metrics::Counter {
            metrics::Counter::noop()
        }
        fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
            metrics::Gauge::noop()
        }
        fn register_histogram(
            &self,
            _: &metrics::Key,
            _: &metrics::Metadata<'_>,
        ) -> metrics::Histogram {
            metrics::Histogram::from_arc(Arc::new(Samples(self.0.clone())))
        }
    }

    fn ctx(status: u16) -> Context<'static> {
        Context {
            op: &OP,
            url_path: "/v1/campaigns/cmp_1",
            credential: "none",
            attempt: 1,
            status: Some(StatusCode::from_u16(status).unwrap()),
            headers: None,
            error: None,
            duration: Duration::from_millis(3),
            retry_delay: None,
        }
    }

    #[test]
    fn kept_handles_follow_the_current_recorder() {
        let metrics = Metrics::new();
        let (first, second) = (Counting::default(), Counting::default());
        metrics::with_local_recorder(&first, || {
            metrics.attempt_done(&ctx(200));
            metrics.attempt_done(&ctx(200));
            metrics.attempt_done(&ctx(404));
        });
        // Before any recorder and under another one: nothing goes to the first.
        metrics.attempt_done(&ctx(200));
        metrics::with_local_recorder(&second, || metrics.attempt_done(&ctx(200)));
        assert_eq!(first.0.load(Ordering::Relaxed), 3);
        assert_eq!(second.0.load(Ordering::Relaxed), 1);
    }
}
