//! The one request pipeline every generated operation goes through:
//! rate gate → authenticate → send → classify → (retry | decode).
//!
//! Each step asks a small part for its decision — [`RateLimitGate`](crate::ratelimit) for
//! waits, the [`Authenticator`](crate::auth) for credentials, [`RetryPolicy`] and
//! [`RetryBudget`](crate::retry) for retries — so this file only sequences them. One `tracing`
//! span per operation carries the operation id, method, path template, attempt, status and
//! request id.

use bytes::{Bytes, BytesMut};
use http::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tracing::{Instrument, Span, field};

use crate::client::Client;
use crate::codec::{self, EncodedBody, Envelope};
#[cfg(not(marketing_api_bundled_spec))]
use crate::error::ErrorType;
use crate::error::{ApiError, Error, ErrorKind};
#[cfg(marketing_api_bundled_spec)]
use crate::models::ErrorType;
use crate::ratelimit::parse_retry_after;
use crate::request::RequestOptions;
use crate::response::{ByteStream, Page, Response};
use crate::retry::{
    self, AttemptFailure, AttemptOutcome, RequestSafety, RetryDecision, RetryPolicy,
};

/// Static facts about one operation, generated from the spec.
#[derive(Debug)]
pub(crate) struct OperationInfo {
    /// `operationId`.
    pub(crate) id: &'static str,
    /// HTTP method.
    pub(crate) method: Method,
    /// Path template, e.g. `/campaigns/{campaign_id}` (traced instead of the filled path).
    pub(crate) path_template: &'static str,
    /// Marked `deprecated` in the spec.
    pub(crate) deprecated: bool,
    /// The success status the spec states.
    #[allow(dead_code)]
    pub(crate) success_status: u16,
    /// The operation declares an `Idempotency-Key` header: a POST gets one per logical
    /// request and is then safe to retry.
    pub(crate) idempotency_key: bool,
}

/// One logical request, as built by an operation builder.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) operation: &'static OperationInfo,
    /// Filled path relative to the base URL, starting with `/`.
    pub(crate) path: String,
    pub(crate) query: codec::Pairs,
    /// Header (and cookie) parameters, names in lower case.
    pub(crate) headers: codec::Pairs,
    pub(crate) body: Option<EncodedBody>,
    pub(crate) options: RequestOptions,
}

impl Request {
    /// Replaces (or removes) a query parameter; used by pagination to move the cursor.
    pub(crate) fn set_query(&mut self, name: &'static str, value: Option<String>) {
        self.query.retain(|(n, _)| n != name);
        if let Some(value) = value {
            self.query.push((std::borrow::Cow::Borrowed(name), value));
        }
    }

    /// The value of a query parameter.
    pub(crate) fn query_value(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A successful response with its body read.
pub(crate) struct RawResponse {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl RawResponse {
    /// The decoded `data` with this response's status, request id (header) and headers.
    fn answer<T>(self, data: T) -> Response<T> {
        let request_id = self.header_request_id();
        Response {
            data,
            status: self.status,
            request_id,
            headers: self.headers,
        }
    }

    fn header_request_id(&self) -> Option<String> {
        self.headers
            .get(&X_REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
}

/// Decodes the body of a list response into a [`Page`]; `cursor` is the one it was asked for.
pub(crate) fn decode_page<T: DeserializeOwned>(
    raw: &RawResponse,
    cursor: Option<String>,
) -> Result<Page<T>, Error> {
    let envelope: Envelope<Vec<T>> = codec::decode(&raw.body)?;
    let meta = envelope.meta;
    let request_id = meta.request_id.or_else(|| raw.header_request_id());
    Ok(Page {
        has_more: meta.has_more.unwrap_or(meta.next_cursor.is_some()),
        items: envelope.data,
        next_cursor: meta.next_cursor,
        total_count: meta.total_count,
        request_id,
        cursor,
    })
}

// Header names looked up on every response: constants skip parsing the name each time.
const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const DEPRECATION: HeaderName = HeaderName::from_static("deprecation");
const SUNSET: HeaderName = HeaderName::from_static("sunset");

impl Client {
    /// Sends a request whose success body is `{"data": T, "meta": ...}`.
    pub(crate) async fn execute_single<T: DeserializeOwned>(
        &self,
        request: Request,
    ) -> Result<Response<T>, Error> {
        let op = request.operation.id;
        let raw = self.execute(request).await?;
        let envelope: Envelope<T> = codec::decode(&raw.body).map_err(|e| e.with_operation(op))?;
        let request_id = envelope.meta.request_id.or_else(|| raw.header_request_id());
        Ok(Response {
            data: envelope.data,
            status: raw.status,
            request_id,
            headers: raw.headers,
        })
    }

    /// Sends a list request and returns the page.
    pub(crate) async fn execute_page<T: DeserializeOwned>(
        &self,
        request: Request,
    ) -> Result<Page<T>, Error> {
        let op = request.operation.id;
        let cursor = request.query_value("cursor").map(str::to_owned);
        let raw = self.execute(request).await?;
        decode_page(&raw, cursor).map_err(|e| e.with_operation(op))
    }

    /// Sends a request whose success body is plain JSON (no envelope).
    #[allow(dead_code)] // used by code generated from specs with such parameters, bodies or responses
    pub(crate) async fn execute_json<T: DeserializeOwned>(
        &self,
        request: Request,
    ) -> Result<Response<T>, Error> {
        let op = request.operation.id;
        let raw = self.execute(request).await?;
        let data: T = codec::decode(&raw.body).map_err(|e| e.with_operation(op))?;
        Ok(raw.answer(data))
    }

    /// Sends a request whose success body is text.
    #[allow(dead_code)] // used by code generated from specs with such parameters, bodies or responses
    pub(crate) async fn execute_text(&self, request: Request) -> Result<Response<String>, Error> {
        let op = request.operation.id;
        let raw = self.execute(request).await?;
        let data = String::from_utf8(raw.body.to_vec())
            .map_err(|e| Error::decode_text(e.utf8_error().valid_up_to()).with_operation(op))?;
        Ok(raw.answer(data))
    }

    /// Sends a request and hands over the success body's bytes as they are.
    #[allow(dead_code)] // used by code generated from specs with such parameters, bodies or responses
    pub(crate) async fn execute_raw(&self, request: Request) -> Result<Response<Bytes>, Error> {
        let raw = self.execute(request).await?;
        let body = raw.body.clone();
        Ok(raw.answer(body))
    }

    /// Sends a request whose success has no body (204).
    pub(crate) async fn execute_empty(&self, request: Request) -> Result<Response<()>, Error> {
        let raw = self.execute(request).await?;
        Ok(raw.answer(()))
    }

    /// Runs the pipeline for one logical request, within the operation timeout.
    pub(crate) async fn execute(&self, request: Request) -> Result<RawResponse, Error> {
        self.execute_with(request, false).await.map(|(raw, _)| raw)
    }

    /// Sends a request and hands over a success body as a stream, never holding it whole: the
    /// pipeline (retries, auth, rate gate) runs until a success status arrives, then the body
    /// is read as the caller polls. `ClientBuilder::max_response_bytes` does not apply to it; the
    /// per-attempt timeout covers the whole body.
    #[allow(dead_code)] // used by code generated from specs with such parameters, bodies or responses
    pub(crate) async fn execute_stream(
        &self,
        request: Request,
    ) -> Result<Response<ByteStream>, Error> {
        let op = request.operation.id;
        let (raw, live) = self.execute_with(request, true).await?;
        let stream = match live {
            Some(response) => ByteStream::new(futures::stream::unfold(
                Some(response),
                move |state| async move {
                    let mut response = state?;
                    match response.chunk().await {
                        Ok(Some(chunk)) => Some((Ok(chunk), Some(response))),
                        Ok(None) => None,
                        // After an error the stream ends.
                        Err(e) => Some((Err(body_error(e).with_operation(op)), None)),
                    }
                },
            )),
            None => ByteStream::new(futures::stream::iter([Ok(raw.body.clone())])),
        };
        Ok(raw.answer(stream))
    }

    /// Runs the pipeline; with `stream`, a success answer's body is left unread and returned live.
    async fn execute_with(
        &self,
        request: Request,
        stream: bool,
    ) -> Result<(RawResponse, Option<reqwest::Response>), Error> {
        let op = request.operation;
        let span = tracing::info_span!(
            "marketing_api.operation",
            operation = op.id,
            method = %op.method,
            path = op.path_template,
            attempt = field::Empty,
            status = field::Empty,
            request_id = field::Empty,
        );
        let pipeline = self.run_attempts(request, stream).instrument(span);
        match self.inner.operation_timeout {
            Some(limit) => tokio::time::timeout(limit, pipeline).await.unwrap_or_else(|_| {
                Err(Error::timeout(format!(
                    "the operation did not finish within {limit:?} (ClientBuilder::operation_timeout)"
                ))
                .with_operation(op.id))
            }),
            None => pipeline.await,
        }
    }

    async fn run_attempts(
        &self,
        request: Request,
        stream: bool,
    ) -> Result<(RawResponse, Option<reqwest::Response>), Error> {
        let inner = &*self.inner;
        let op = request.operation;
        let url = self.url_for(&request)?;
        let body = match request.body {
            Some(body) => {
                let content_type = HeaderValue::from_str(body.content_type()).map_err(|_| {
                    Error::config("the request body's content type is not a valid header value")
                        .with_operation(op.id)
                })?;
                Some((
                    body.bytes().map_err(|e| e.with_operation(op.id))?,
                    content_type,
                ))
            }
            None => None,
        };
        let mut parameter_headers = Vec::with_capacity(request.headers.len());
        for (name, value) in &request.headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                Error::config(format!("`{name}` is not a valid header name")).with_operation(op.id)
            })?;
            let value = HeaderValue::from_str(value).map_err(|_| {
                Error::config(format!(
                    "the `{name}` header parameter holds characters not allowed in a header"
                ))
                .with_operation(op.id)
            })?;
            parameter_headers.push((name, value));
        }
        // One key per logical request, reused by every attempt, so the server can replay
        // instead of acting twice.
        let idempotency_key = if op.method == Method::POST && op.idempotency_key {
            let key = request
                .options
                .idempotency_key
                .clone()
                .unwrap_or_else(retry::idempotency_key);
            // An empty key reads as no key to the server, which would then act on every
            // attempt the SDK retries as if it were safe; an over-long one is refused.
            let length = key.chars().count();
            if !(1..=retry::MAX_IDEMPOTENCY_KEY_CHARS).contains(&length) {
                return Err(Error::config(format!(
                    "idempotency key must be 1 to {} characters, got {length}",
                    retry::MAX_IDEMPOTENCY_KEY_CHARS
                ))
                .with_operation(op.id));
            }
            Some(HeaderValue::from_str(&key).map_err(|_| {
                Error::config("idempotency key contains characters not allowed in a header")
                    .with_operation(op.id)
            })?)
        } else {
            None
        };
        let safety = RequestSafety {
            idempotent_method: op.method.is_idempotent(),
            has_idempotency_key: idempotency_key.is_some(),
        };
        let policy: std::borrow::Cow<'_, RetryPolicy> = match request.options.max_attempts {
            Some(n) => std::borrow::Cow::Owned(inner.retry.clone().max_attempts(n)),
            None => std::borrow::Cow::Borrowed(&inner.retry),
        };
        let attempt_timeout = request.options.timeout.or(inner.attempt_timeout);
        let span = Span::current();
        let mut attempt: u32 = 0;
        let mut replayed_after_401 = false;
        loop {
            attempt += 1;
            span.record("attempt", attempt);
            if let Some(wait) = policy
                .waits_for_rate_limits()
                .then(|| inner.gate.delay_before_send(inner.clock.now()))
                .flatten()
            {
                tracing::debug!(
                    wait_ms = wait.as_millis() as u64,
                    "rate limit spent; waiting for the reset"
                );
                inner.sleeper.sleep(wait).await;
            }
            let credential = inner.auth.credential().await.map_err(|e| {
                Error::auth(e)
                    .with_operation(op.id)
                    .with_attempts(attempt - 1)
            })?;

            // Built directly rather than through `RequestBuilder`: the headers go straight into
            // the request's own map, with no intermediate map to allocate and merge.
            let mut http_request = reqwest::Request::new(op.method.clone(), url.clone());
            let headers = http_request.headers_mut();
            if let Some(credential) = &credential {
                credential.apply(headers);
            }
            if let Some(key) = &idempotency_key {
                headers.insert(retry::IDEMPOTENCY_KEY_HEADER, key.clone());
            }
            for (name, value) in &parameter_headers {
                headers.append(name.clone(), value.clone());
            }
            if let Some((body, content_type)) = &body {
                headers.insert(CONTENT_TYPE, content_type.clone());
                *http_request.body_mut() = Some(body.clone().into());
            }
            *http_request.timeout_mut() = attempt_timeout;

            let mut live = None;
            let outcome = match inner.http.execute(http_request).await {
                Ok(response) if stream && response.status().is_success() => {
                    let raw = RawResponse {
                        status: response.status(),
                        headers: response.headers().clone(),
                        body: Bytes::new(),
                    };
                    live = Some(response);
                    Ok(raw)
                }
                Ok(response) => self.read_response(response).await,
                Err(e) => Err(reqwest_error(e)),
            };
            let now = inner.clock.now();
            match outcome {
                Ok(raw) => {
                    span.record("status", raw.status.as_u16());
                    if let Some(id) = raw.headers.get(&X_REQUEST_ID).and_then(|v| v.to_str().ok()) {
                        span.record("request_id", id);
                    }
                    inner.gate.observe(raw.status, &raw.headers, now);
                    if raw.status == StatusCode::UNAUTHORIZED
                        && replayed_after_401
                        && let Some(credential) = &credential
                    {
                        // Rejected even after renewal: 401s to it stop renewing for a while.
                        inner.auth.on_replay_rejected(credential);
                    }
                    if raw.status == StatusCode::UNAUTHORIZED
                        && !replayed_after_401
                        && let Some(credential) = &credential
                    {
                        let replay = inner.auth.on_unauthorized(credential).await.map_err(|e| {
                            Error::auth(e).with_operation(op.id).with_attempts(attempt)
                        })?;
                        if replay {
                            tracing::debug!(
                                "401 with a token that may be stale; refreshed once, replaying"
                            );
                            replayed_after_401 = true;
                            // The replay is not a retry: it does not count against the policy.
                            attempt -= 1;
                            continue;
                        }
                    }
                    if raw.status.is_success() {
                        // A success refunds the retry budget.
                        let _ = inner.budget.settle(policy.decide(
                            attempt,
                            safety,
                            AttemptOutcome::Response {
                                status: raw.status,
                                headers: &raw.headers,
                            },
                            now,
                            &*inner.random,
                        ));
                        self.warn_if_deprecated(op, &raw.headers);
                        return Ok((raw, live));
                    }
                    let decision = inner.budget.settle(policy.decide(
                        attempt,
                        safety,
                        AttemptOutcome::Response {
                            status: raw.status,
                            headers: &raw.headers,
                        },
                        now,
                        &*inner.random,
                    ));
                    match decision {
                        RetryDecision::Retry { delay, reason } => {
                            tracing::info!(attempt, delay_ms = delay.as_millis() as u64, %reason, "retrying");
                            inner.sleeper.sleep(delay).await;
                        }
                        RetryDecision::Stop { reason } => {
                            tracing::debug!(attempt, %reason, "not retrying");
                            let error = api_error(&raw, now)
                                .with_operation(op.id)
                                .with_attempts(attempt);
                            // Status and attempt count do not explain an unsafe request or an
                            // empty budget; say it, or the caller cannot tell why it stopped.
                            return Err(match reason.note() {
                                Some(note) => error.with_message(note),
                                None => error,
                            });
                        }
                    }
                }
                Err(failure) => {
                    // Neither is transient: the same request gets the same refusal or the same
                    // oversized answer, so it is reported as it is, not retried.
                    // A TLS refusal (certificate, pin, protocol version) is as final.
                    // So is a body that does not decompress: the server or a proxy sent it so.
                    if failure.is_config()
                        || matches!(failure.kind(), ErrorKind::ResponseTooLarge | ErrorKind::Tls)
                        || is_body_decoding_failure(&failure)
                    {
                        return Err(failure.with_operation(op.id).with_attempts(attempt));
                    }
                    // A connect timeout never reached the server: check for it before timeouts.
                    let kind = if is_connect_failure(&failure) {
                        AttemptOutcome::ConnectFailed
                    } else if failure.is_timeout() {
                        AttemptOutcome::TimedOut
                    } else {
                        AttemptOutcome::ConnectionDropped
                    };
                    let decision = inner.budget.settle(policy.decide(
                        attempt,
                        safety,
                        kind,
                        now,
                        &*inner.random,
                    ));
                    match decision {
                        RetryDecision::Retry { delay, reason } => {
                            tracing::info!(attempt, delay_ms = delay.as_millis() as u64, %reason, "retrying");
                            inner.sleeper.sleep(delay).await;
                        }
                        RetryDecision::Stop { reason } => {
                            tracing::debug!(attempt, %reason, "not retrying");
                            // The error already counts the attempts; add how the connection
                            // failed (a timeout says so itself) and why it was not retried.
                            let how = (!failure.is_timeout())
                                .then(|| AttemptFailure::from(kind).to_string());
                            let message = match (how, reason.note()) {
                                (Some(how), Some(note)) => Some(format!("{how}; {note}")),
                                (Some(how), None) => Some(how),
                                (None, Some(note)) => Some(note.to_owned()),
                                (None, None) => None,
                            };
                            let error = failure.with_operation(op.id).with_attempts(attempt);
                            return Err(match message {
                                Some(message) => error.with_message(message),
                                None => error,
                            });
                        }
                    }
                }
            }
        }
    }

    /// Reads status, headers and the body (bounded by `max_response_bytes`).
    async fn read_response(&self, mut response: reqwest::Response) -> Result<RawResponse, Error> {
        let limit = self.inner.max_response_bytes;
        let status = response.status();
        let headers = std::mem::take(response.headers_mut());
        if response
            .content_length()
            .is_some_and(|len| len > limit as u64)
        {
            return Err(Error::too_large(limit));
        }
        // Most bodies arrive in one chunk: keep it without copying.
        let mut first: Option<Bytes> = None;
        let mut rest: Option<BytesMut> = None;
        let mut total = 0usize;
        while let Some(chunk) = response.chunk().await.map_err(body_error)? {
            total = total.saturating_add(chunk.len());
            if total > limit {
                return Err(Error::too_large(limit));
            }
            match (&mut first, &mut rest) {
                (None, _) => first = Some(chunk),
                (Some(head), None) => {
                    let mut buf = BytesMut::with_capacity(total.max(2 * head.len()));
                    buf.extend_from_slice(head);
                    buf.extend_from_slice(&chunk);
                    rest = Some(buf);
                }
                (Some(_), Some(buf)) => buf.extend_from_slice(&chunk),
            }
        }
        let body = match (first, rest) {
            (_, Some(buf)) => buf.freeze(),
            (Some(only), None) => only,
            (None, None) => Bytes::new(),
        };
        Ok(RawResponse {
            status,
            headers,
            body,
        })
    }

    fn url_for(&self, request: &Request) -> Result<url::Url, Error> {
        // `path_segment` writes the ids `.` and `..` as `%2E` and `%2E%2E`, but URL parsing still
        // resolves those as dot segments (`/campaigns/%2E%2E/ads` is `/ads`): the request would
        // go to another path. No id can be either, so the request is refused.
        if request
            .path
            .split('/')
            .any(|segment| segment == "%2E" || segment == "%2E%2E")
        {
            return Err(Error::config(
                "a path parameter (an id) is `.` or `..`, which no resource has; the URL would resolve it to another path",
            )
            .with_operation(request.operation.id));
        }
        // Scheme and host were parsed once, when the client was built; only the path and the
        // query are parsed here.
        let mut url = self.inner.base.clone();
        let mut path = String::with_capacity(url.path().len() + request.path.len());
        path.push_str(url.path().trim_end_matches('/'));
        path.push_str(&request.path);
        url.set_path(&path);
        if !request.query.is_empty() {
            url.query_pairs_mut().extend_pairs(
                request
                    .query
                    .iter()
                    .map(|(name, value)| (name.as_ref(), value.as_str())),
            );
        }
        Ok(url)
    }

    fn warn_if_deprecated(&self, op: &'static OperationInfo, headers: &HeaderMap) {
        let deprecation = headers.get(&DEPRECATION);
        if deprecation.is_none() && !op.deprecated {
            return;
        }
        let first_time = self
            .inner
            .deprecation_warned
            .lock()
            .map(|mut seen| seen.insert(op.id))
            .unwrap_or(false);
        if first_time {
            let text =
                |v: Option<&HeaderValue>| v.and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
            tracing::warn!(
                operation = op.id,
                deprecation = %text(deprecation),
                sunset = %text(headers.get(&SUNSET)),
                "this operation is deprecated by the API"
            );
        }
    }
}

fn reqwest_error(e: reqwest::Error) -> Error {
    if let Some(message) = crate::tls::describe_handshake_failure(&e) {
        Error::tls(message, e)
    } else if e.is_timeout() {
        Error::timeout_from(e)
    } else {
        Error::transport(e)
    }
}

/// An error while reading the body; one that comes from decompressing it says so. (reqwest
/// removes `Content-Encoding` from the headers it hands over when it decompresses.)
fn body_error(e: reqwest::Error) -> Error {
    if e.is_decode() {
        Error::transport(e).with_message(
            "the response body does not decompress as its Content-Encoding says (truncated or corrupt compressed data, probably from a proxy)",
        )
    } else {
        reqwest_error(e)
    }
}

fn is_body_decoding_failure(error: &Error) -> bool {
    error.kind() == ErrorKind::Transport
        && std::error::Error::source(error)
            .and_then(|s| s.downcast_ref::<reqwest::Error>())
            .is_some_and(reqwest::Error::is_decode)
}

fn is_connect_failure(error: &Error) -> bool {
    std::error::Error::source(error)
        .and_then(|s| s.downcast_ref::<reqwest::Error>())
        .is_some_and(reqwest::Error::is_connect)
}

/// The API's error envelope; every field optional so a half-formed body still yields what it has.
#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorBody,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(rename = "type", default)]
    error_type: Option<ErrorType>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    param: Option<String>,
    #[serde(default)]
    request_id: Option<String>,
}

/// Builds the [`ApiError`] of a non-success response, whatever its body is.
pub(crate) fn api_error(raw: &RawResponse, now: std::time::SystemTime) -> Error {
    let retry_after = raw
        .headers
        .get(http::header::RETRY_AFTER)
        .and_then(|v| parse_retry_after(v, now));
    let header_request_id = raw.header_request_id();
    let api = match serde_json::from_slice::<ErrorEnvelope>(&raw.body) {
        Ok(ErrorEnvelope { error }) => ApiError {
            status: raw.status,
            error_type: error.error_type,
            code: error.code,
            // An empty or blank message would print as an error that says nothing.
            message: error
                .message
                .filter(|m| !m.trim().is_empty())
                .unwrap_or_else(|| "the API gave no message".to_owned()),
            param: error.param,
            request_id: error.request_id.or(header_request_id),
            retry_after,
        },
        Err(_) => ApiError {
            status: raw.status,
            error_type: None,
            code: None,
            message: describe_foreign_body(raw),
            param: None,
            request_id: header_request_id,
            retry_after,
        },
    };
    Error::api(api)
}

/// Says what a non-envelope error body is, without dumping it (it may be large or hostile).
fn describe_foreign_body(raw: &RawResponse) -> String {
    let content_type = raw
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("no content type");
    if raw.body.is_empty() {
        return format!("empty {} response", raw.status.as_u16());
    }
    let preview: String = String::from_utf8_lossy(&raw.body[..raw.body.len().min(120)])
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    format!(
        "the response is not the API's error envelope ({content_type}, {} bytes; starts with `{}`), probably from a proxy or load balancer",
        raw.body.len(),
        preview.trim()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::TryStreamExt;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    static DOWNLOAD: OperationInfo = OperationInfo {
        id: "downloadExport",
        method: Method::GET,
        path_template: "/exports/{id}",
        deprecated: false,
        success_status: 200,
        idempotency_key: false,
    };

    fn download() -> Request {
        Request {
            operation: &DOWNLOAD,
            path: "/exports/exp_1".into(),
            query: Vec::new(),
            headers: Vec::new(),
            body: None,
            options: RequestOptions::default(),
        }
    }

    async fn client(server: &MockServer) -> Client {
        Client::builder(format!("{}/v1", server.uri()))
            .auth(crate::auth::ApiKey::new("k_test").unwrap_or_else(|e| panic!("{e}")))
            .retry_policy(
                crate::retry::RetryPolicy::default()
                    .base_delay(std::time::Duration::from_millis(1)),
            )
            .max_response_bytes(1024)
            .build()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[tokio::test]
    async fn a_streamed_body_is_read_as_it_arrives_past_the_buffering_limit_after_a_retry() {
        let server = MockServer::start().await;
        let body: Vec<u8> = (0..1_048_576u32).map(|i| (i % 251) as u8).collect();
        Mock::given(method("GET"))
            .and(path("/v1/exports/exp_1"))
            .respond_with(ResponseTemplate::new(503))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/v1/exports/exp_1"))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("content-type", "application/octet-stream")
                    .set_body_bytes(body.clone()),
            )
            .mount(&server)
            .await;
        let client = client(&server).await;

        // Buffered, the same body is refused: it is over `max_response_bytes`.
        let buffered = client.execute_raw(download()).await;
        assert!(buffered.is_err_and(|e| e.kind() == ErrorKind::ResponseTooLarge));

        let answer = client
            .execute_stream(download())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(answer.status, StatusCode::OK);
        let chunks: Vec<Bytes> = answer
            .data
            .try_collect()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            chunks.len() > 1,
            "the body arrived in {} chunk(s)",
            chunks.len()
        );
        assert_eq!(chunks.concat(), body);
        // One 503 answered with a retry, then two successful downloads.
        let requests = server.received_requests().await.unwrap_or_default();
        assert_eq!(requests.len(), 3);
    }

    #[tokio::test]
    async fn an_error_answer_to_a_streamed_request_is_the_usual_api_error() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v1/exports/exp_1"))
            .respond_with(ResponseTemplate::new(404).set_body_json(serde_json::json!({
                "error": {"type": "not_found_error", "code": "resource_missing", "message": "no such export", "request_id": "req_1"}
            })))
            .mount(&server)
            .await;
        let error = client(&server)
            .await
            .execute_stream(download())
            .await
            .err()
            .unwrap_or_else(|| panic!("a 404 is an error"));
        assert_eq!(error.status(), Some(StatusCode::NOT_FOUND));
        assert_eq!(
            error.api_error().and_then(|a| a.code.as_deref()),
            Some("resource_missing")
        );
    }
}
