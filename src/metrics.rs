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

use http::StatusCode;
use metrics::{Label, counter, histogram};

use crate::interceptor::{Context, HookError, Interceptor};

/// The interceptor that reports usage metrics. See the [module docs](self) for what it emits.
#[derive(Debug, Clone, Copy, Default)]
pub struct Metrics {
    _private: (),
}

impl Metrics {
    /// A metrics interceptor.
    pub fn new() -> Self {
        Metrics::default()
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
    let mut labels = Vec::with_capacity(5);
    labels.push(Label::from_static_parts(
        "http.request.method",
        method_label(ctx),
    ));
    labels.push(Label::from_static_parts(
        "url.template",
        ctx.path_template(),
    ));
    if let Some(status) = ctx.status() {
        labels.push(Label::new(
            "http.response.status_code",
            status_label(status),
        ));
    }
    if let Some(error) = error_type(ctx) {
        labels.push(Label::new("error.type", error));
    }
    labels.push(Label::from_static_parts(
        "marketing_api.operation",
        ctx.operation_id(),
    ));
    labels
}

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
        histogram!("http.client.request.duration", request_labels(ctx))
            .record(ctx.duration().as_secs_f64());
    }
}
