//! The one request pipeline every generated operation goes through. A request is prepared once
//! (URL, headers, body, idempotency key), then each attempt runs
//! wait (rate gate) → authenticate → attempt → classify → decide, and the decision is done,
//! retry after a wait, or stop with the attempt's error; a success is then decoded.
//!
//! Each step is a small function that asks one part for its answer — the
//! [`RateLimitGate`](crate::ratelimit) for waits, the [`Authenticator`](crate::auth) for
//! credentials, [`RetryPolicy`] and [`RetryBudget`] for retries — so `run_attempts` only
//! sequences them. Failures are classified where they happen, from the `reqwest::Error` itself,
//! and the [`Error`] remembers whether another attempt may cure it. One `tracing` span per
//! operation carries the operation id, method, path template, resends, status, error type and
//! request id, under OpenTelemetry's HTTP client attribute names (`http.request.method`,
//! `url.template`, `http.request.resend_count`, `http.response.status_code`, `error.type`).
//! Registered [interceptors](crate::interceptor) are called at the points their docs name.

use std::borrow::Cow;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use futures::FutureExt;
use futures::future::Either;
use http::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tracing::{Instrument, Span, field};

use crate::auth::AppliedCredential;
use crate::body::Payload;
use crate::client::Client;
use crate::clock::RandomSource;
use crate::codec::{self, EncodedBody, Envelope};
use crate::error::{ApiError, Error};
#[cfg(not(marketing_api_bundled_spec))]
use crate::error::{ErrorCode, ErrorType};
use crate::interceptor::{Context, Hook};
#[cfg(marketing_api_bundled_spec)]
use crate::models::{ErrorCode, ErrorType};
use crate::ratelimit::parse_retry_after;
use crate::request::RequestOptions;
use crate::response::{ByteStream, Page, Response};
use crate::retry::{
    self, AttemptFailure, AttemptOutcome, RequestSafety, RetryBudget, RetryDecision, RetryPolicy,
    StopReason,
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
    /// The operation declares an `Idempotency-Key` header: a POST gets one per logical
    /// request and is then safe to retry.
    pub(crate) idempotency_key: bool,
    /// What the operation's `Accept` header says when its answer is not JSON (text or
    /// binary); `None` leaves the client's default, `application/json`.
    pub(crate) accept: Option<HeaderValue>,
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
    /// How many attempts it took to get this answer (set when the pipeline returns it).
    pub(crate) attempts: u32,
}

impl RawResponse {
    /// A decode failure of this answer, with the attempts that led to it (it was sent and
    /// answered) and, when the answer does not say it is JSON, its content type: an HTML page
    /// from a proxy is better named than described by a JSON parser.
    pub(crate) fn decode_failure(&self, error: Error, op: &'static str) -> Error {
        let error = error.with_operation(op).with_attempts(self.attempts);
        let content_type = self
            .headers
            .get(http::header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        match content_type {
            Some(ct) if !codec::is_json_media_type(&ct) => {
                error.with_message(format!("the response's Content-Type is `{ct}`, not JSON"))
            }
            None if !self.body.is_empty() => error.with_message("the response has no Content-Type"),
            _ => error,
        }
    }

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

// The layers between an operation's `.send()` and the attempt loop are plain functions that
// return futures built from combinators, not `async fn`s: an `async fn` keeps its arguments (the
// whole `Request`) in its state for as long as it runs, and each layer would add another copy.
// Here the request is checked and encoded synchronously, dropped, and only the prepared request
// and the loop's state travel on: the future of a small call stays a fraction of the size, which
// is fewer bytes to move and, with many requests in flight, fewer cache misses per request.
impl Client {
    /// Sends a request whose success body is `{"data": T, "meta": ...}`.
    pub(crate) fn execute_single<T: DeserializeOwned>(
        &self,
        request: Request,
    ) -> impl Future<Output = Result<Response<T>, Error>> + Send + '_ {
        let op = request.operation.id;
        self.execute(request).map(move |raw| {
            let raw = raw?;
            let envelope: Envelope<T> =
                codec::decode(&raw.body).map_err(|e| raw.decode_failure(e, op))?;
            let request_id = envelope.meta.request_id.or_else(|| raw.header_request_id());
            Ok(Response {
                data: envelope.data,
                status: raw.status,
                request_id,
                headers: raw.headers,
            })
        })
    }

    /// Sends a list request and returns the page with the response metadata.
    pub(crate) fn execute_page<T: DeserializeOwned>(
        &self,
        request: Request,
    ) -> impl Future<Output = Result<Response<Page<T>>, Error>> + Send + '_ {
        let op = request.operation.id;
        let cursor = request.query_value("cursor").map(str::to_owned);
        self.execute(request).map(move |raw| {
            let raw = raw?;
            let page = decode_page(&raw, cursor).map_err(|e| raw.decode_failure(e, op))?;
            Ok(Response {
                request_id: page.request_id.clone(),
                data: page,
                status: raw.status,
                headers: raw.headers,
            })
        })
    }

    /// Sends a request whose success body is plain JSON (no envelope).
    #[allow(dead_code)] // used by code generated from specs with such parameters, bodies or responses
    pub(crate) fn execute_json<T: DeserializeOwned>(
        &self,
        request: Request,
    ) -> impl Future<Output = Result<Response<T>, Error>> + Send + '_ {
        let op = request.operation.id;
        self.execute(request).map(move |raw| {
            let raw = raw?;
            let data: T = codec::decode(&raw.body).map_err(|e| raw.decode_failure(e, op))?;
            Ok(raw.answer(data))
        })
    }

    /// Sends a request whose success body is text.
    #[allow(dead_code)] // used by code generated from specs with such parameters, bodies or responses
    pub(crate) fn execute_text(
        &self,
        request: Request,
    ) -> impl Future<Output = Result<Response<String>, Error>> + Send + '_ {
        let op = request.operation.id;
        self.execute(request).map(move |raw| {
            let raw = raw?;
            let data = String::from_utf8(raw.body.to_vec()).map_err(|e| {
                Error::decode_text(e.utf8_error().valid_up_to())
                    .with_operation(op)
                    .with_attempts(raw.attempts)
            })?;
            Ok(raw.answer(data))
        })
    }

    /// Sends a request and hands over the success body's bytes as they are.
    #[allow(dead_code)] // used by code generated from specs with such parameters, bodies or responses
    pub(crate) fn execute_raw(
        &self,
        request: Request,
    ) -> impl Future<Output = Result<Response<Bytes>, Error>> + Send + '_ {
        self.execute(request).map(|raw| {
            let raw = raw?;
            let body = raw.body.clone();
            Ok(raw.answer(body))
        })
    }

    /// Sends a request whose success has no body (204).
    pub(crate) fn execute_empty(
        &self,
        request: Request,
    ) -> impl Future<Output = Result<Response<()>, Error>> + Send + '_ {
        self.execute(request).map(|raw| Ok(raw?.answer(())))
    }

    /// Runs the pipeline for one logical request, within the operation timeout.
    pub(crate) fn execute(
        &self,
        request: Request,
    ) -> impl Future<Output = Result<RawResponse, Error>> + Send + '_ {
        #[cfg(feature = "encryption")]
        let op = request.operation.id;
        self.execute_with(request, false).map(move |answer| {
            #[allow(unused_mut)] // changed only with the `encryption` feature
            let (mut raw, _) = answer?;
            #[cfg(feature = "encryption")]
            if let Some(provider) = &self.inner.key_provider {
                // Decrypted once, before any decoding, so every kind of answer sees plaintext.
                match crate::encryption::decrypt_body(&raw.body, &**provider) {
                    Ok(Some(plain)) => raw.body = Bytes::from(plain),
                    Ok(None) => {}
                    Err(e) => {
                        return Err(Error::decrypt(e)
                            .with_operation(op)
                            .with_attempts(raw.attempts));
                    }
                }
            }
            Ok(raw)
        })
    }

    /// The body as sent: with `encrypt_writes`, its sensitive fields encrypted to the platform
    /// once per logical request, so every attempt (and the idempotency key) sends the same bytes.
    fn seal_body(&self, body: EncodedBody) -> Result<EncodedBody, Error> {
        #[cfg(feature = "encryption")]
        return body.sealed(self.inner.write_key.as_ref());
        #[cfg(not(feature = "encryption"))]
        Ok(body)
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
                Some(*response),
                move |state| async move {
                    let mut response = state?;
                    match response.chunk().await {
                        Ok(Some(chunk)) => Some((Ok(chunk), Some(response))),
                        Ok(None) => None,
                        // After an error the stream ends.
                        Err(e) => Some((Err(classify_reqwest(e).with_operation(op)), None)),
                    }
                },
            )),
            None => ByteStream::new(futures::stream::iter([Ok(raw.body.clone())])),
        };
        Ok(raw.answer(stream))
    }

    /// Runs the pipeline; with `stream`, a success answer's body is left unread and returned live.
    ///
    /// The request is checked and encoded here, before the returned future is first polled; a
    /// request that fails the checks yields its error when polled, having sent nothing.
    ///
    /// The operation timeout waits on the client's [`Sleeper`](crate::clock::Sleeper), like every
    /// other wait of the SDK, so a test can expire it on cue instead of waiting for it. Only a
    /// client with an operation timeout pays for it (one allocation per request).
    fn execute_with(
        &self,
        request: Request,
        stream: bool,
    ) -> impl Future<Output = Result<Answer, Error>> + Send + '_ {
        // Interceptors' `on_complete` sees every way the operation ends: the attempts' end in
        // `run_attempts`, a request refused before sending and the operation timeout here. No
        // wrapper future and no copy of the path: an observed call costs what its hooks cost.
        let op = request.operation;
        let observed = self.inner.interceptors.is_active();
        let prepared = self.prepare(&request, stream);
        let path = request.path;
        let (pipeline, path) = match prepared {
            Ok(prepared) => {
                // Attribute names from OpenTelemetry's HTTP client conventions where one exists.
                let span = tracing::info_span!(
                    "marketing_api.operation",
                    marketing_api.operation = op.id,
                    http.request.method = %op.method,
                    url.template = op.path_template,
                    http.request.resend_count = field::Empty,
                    http.response.status_code = field::Empty,
                    marketing_api.request_id = field::Empty,
                    error.type = field::Empty,
                );
                let pipeline = self.run_attempts(prepared, span.clone()).instrument(span);
                (Either::Left(pipeline), path)
            }
            Err(error) => {
                let refused = async move {
                    let result = Err(error);
                    if observed {
                        self.complete(op, &path, &result, Duration::ZERO);
                    }
                    result
                };
                (Either::Right(refused), String::new())
            }
        };
        let Some(limit) = self.inner.operation_timeout else {
            return Either::Left(pipeline);
        };
        let sleeper = self.inner.sleeper.clone();
        // Boxed so the `select!` below moves a pointer, not the pipeline.
        let pipeline = Box::pin(pipeline);
        Either::Right(async move {
            let started = observed.then(Instant::now);
            let expired = sleeper.sleep(limit);
            tokio::select! {
                biased;
                result = pipeline => result,
                () = expired => {
                    let result = Err(Error::timeout(format!(
                        "the operation did not finish within {limit:?} (ClientBuilder::operation_timeout)"
                    ))
                    .with_operation(op.id));
                    // The attempts were cut short, so `run_attempts` reported nothing.
                    if let Some(started) = started {
                        self.complete(op, &path, &result, started.elapsed());
                    }
                    result
                }
            }
        })
    }

    /// Attempts until one is final: wait for the rate gate → authenticate → attempt → classify →
    /// decide (done, retry after a wait, or stop with the error); then the interceptors'
    /// `on_complete`, when there are interceptors.
    ///
    /// An `async` block rather than an `async fn`: the block uses the prepared request where it
    /// was captured, while an `async fn` would move its argument into a second slot of its state.
    ///
    /// `span` is the operation's span the future runs in, handed over rather than looked up.
    #[allow(clippy::manual_async_fn)] // deliberately not an `async fn`: see above
    fn run_attempts<'c>(
        &'c self,
        prepared: Prepared<'c>,
        span: Span,
    ) -> impl Future<Output = Result<Answer, Error>> + Send + 'c {
        async move {
            // `on_complete` is called once the loop below has its result, when there are
            // interceptors: every exit of the loop goes through the `break` with its result.
            let observed = self.inner.interceptors.is_active();
            let started = observed.then(Instant::now);
            let op = prepared.op.id;
            let rules = RetryRules {
                policy: &prepared.policy,
                budget: &self.inner.budget,
                safety: prepared.safety,
                random: &*self.inner.random,
            };
            let mut attempt: u32 = 0;
            let mut replayed_after_401 = false;
            let result = 'attempts: loop {
                attempt += 1;
                span.record("http.request.resend_count", attempt - 1);
                if let Some(wait) = self.rate_gate_wait(&prepared.policy).await {
                    if observed {
                        let ctx = self.hook_context(&prepared, attempt);
                        self.inner
                            .interceptors
                            .call(Hook::OnRateLimitWait(wait), &ctx);
                    }
                    self.inner.sleeper.sleep(wait).await;
                }
                let credential = match self.credential(op, attempt - 1).await {
                    Ok(credential) => credential,
                    Err(error) => break 'attempts Err(error),
                };
                if observed {
                    self.notice_renewal(&prepared, attempt, credential.as_ref());
                }
                let sent_at = observed.then(Instant::now);
                let outcome = self.attempt(&prepared, credential.as_ref(), attempt).await;
                if let Some(sent_at) = sent_at {
                    self.after_attempt(&prepared, attempt, &outcome, sent_at.elapsed());
                }
                let now = self.inner.clock.now();
                if let Ok((raw, _)) = &outcome {
                    self.observe(&span, raw, now);
                    if raw.status == StatusCode::UNAUTHORIZED
                        && replayed_after_401
                        && let Some(credential) = &credential
                    {
                        // Rejected even after renewal: 401s to it stop renewing for a while.
                        self.inner.auth.on_replay_rejected(credential);
                    }
                    if raw.status == StatusCode::UNAUTHORIZED && !replayed_after_401 {
                        match self
                            .replay_after_401(op, credential.as_ref(), attempt)
                            .await
                        {
                            Ok(true) => {
                                replayed_after_401 = true;
                                // The replay is not a retry: it does not count against the
                                // policy.
                                attempt -= 1;
                                continue;
                            }
                            Ok(false) => {}
                            Err(error) => break 'attempts Err(error),
                        }
                    }
                }
                match rules.next(attempt, classify(&outcome), now) {
                    Next::Done => {
                        let mut outcome = outcome;
                        if let Ok((raw, _)) = &mut outcome {
                            raw.attempts = attempt;
                            self.warn_if_deprecated(prepared.op, &raw.headers);
                        }
                        break 'attempts outcome;
                    }
                    Next::Retry(delay) => {
                        if observed {
                            let (status, error) = match &outcome {
                                Ok((raw, _)) => (Some(raw.status), None),
                                Err(e) => (None, Some(e)),
                            };
                            let ctx = Context {
                                status,
                                error,
                                retry_delay: Some(delay),
                                ..self.hook_context(&prepared, attempt)
                            };
                            self.inner.interceptors.call(Hook::OnRetry, &ctx);
                        }
                        self.inner.sleeper.sleep(delay).await
                    }
                    Next::Stop(reason) => {
                        let error = final_error(outcome, reason, now)
                            .with_operation(op)
                            .with_attempts(attempt);
                        if error.status().is_none() {
                            // No answer: the conventions' `error.type` is the kind of failure.
                            span.record("error.type", crate::audit::kind_name(error.kind()));
                        }
                        break 'attempts Err(error);
                    }
                }
            };
            if let Some(started) = started {
                self.complete(prepared.op, prepared.url.path(), &result, started.elapsed());
            }
            result
        }
    }

    /// Checks and encodes what every attempt of `request` sends the same, once, before the first.
    fn prepare(&self, request: &Request, stream: bool) -> Result<Prepared<'_>, Error> {
        let op = request.operation;
        let checked = || -> Result<Prepared<'_>, Error> {
            let idempotency_key = idempotency_key_for(request)?;
            let body = request
                .body
                .clone()
                .map(|body| self.seal_body(body))
                .transpose()?
                .map(encoded_body)
                .transpose()?;
            // A body read from a caller's reader cannot be sent a second time.
            let one_shot = body.as_ref().is_some_and(|(b, _)| !b.is_replayable());
            Ok(Prepared {
                op,
                url: self.url_for(request)?,
                parameter_headers: parameter_headers(&request.headers)?,
                body,
                safety: RequestSafety {
                    idempotent_method: op.method.is_idempotent(),
                    has_idempotency_key: idempotency_key.is_some(),
                },
                idempotency_key,
                policy: match request.options.max_attempts {
                    _ if one_shot => Cow::Owned(self.inner.retry.clone().max_attempts(1)),
                    Some(n) => Cow::Owned(self.inner.retry.clone().max_attempts(n)),
                    None => Cow::Borrowed(&self.inner.retry),
                },
                timeout: request.options.timeout.or(self.inner.attempt_timeout),
                stream,
            })
        };
        checked().map_err(|e| e.with_operation(op.id))
    }

    /// How long to hold the request while the server has said the quota is spent (the caller
    /// sleeps), unless the policy promises no waiting (one attempt).
    async fn rate_gate_wait(&self, policy: &RetryPolicy) -> Option<Duration> {
        if !policy.waits_for_rate_limits() {
            return None;
        }
        let wait = self
            .inner
            .gate
            .wait_before_send(self.inner.clock.now())
            .await?;
        tracing::debug!(
            wait_ms = wait.as_millis() as u64,
            "rate limit spent; waiting for the reset"
        );
        Some(wait)
    }

    // The interceptors' calls in the pipeline, side by side. Each is reached only when an
    // interceptor is registered.

    /// `on_complete`: the final answer or error, the attempts made and the whole duration.
    fn complete(
        &self,
        op: &'static OperationInfo,
        url_path: &str,
        result: &Result<Answer, Error>,
        duration: Duration,
    ) {
        let interceptors = &self.inner.interceptors;
        let (status, headers, error, attempts) = match result {
            Ok((raw, _)) => (Some(raw.status), Some(&raw.headers), None, raw.attempts),
            Err(e) => (e.status(), None, Some(e), e.attempts()),
        };
        let ctx = Context {
            op,
            url_path,
            credential: interceptors.identity(),
            attempt: attempts,
            status,
            headers,
            error,
            duration,
            retry_delay: None,
        };
        interceptors.call(Hook::OnComplete, &ctx);
    }

    /// A context for the attempt hooks.
    fn hook_context<'a>(&'a self, prepared: &'a Prepared<'_>, attempt: u32) -> Context<'a> {
        Context {
            op: prepared.op,
            url_path: prepared.url.path(),
            credential: self.inner.interceptors.identity(),
            attempt,
            status: None,
            headers: None,
            error: None,
            duration: Duration::ZERO,
            retry_delay: None,
        }
    }

    /// `on_credential_renewed` when this attempt's credential is newer than any this client
    /// sent before (generations only grow; static credentials stay at 0).
    fn notice_renewal(
        &self,
        prepared: &Prepared<'_>,
        attempt: u32,
        credential: Option<&AppliedCredential>,
    ) {
        let Some(generation) = credential.map(AppliedCredential::generation) else {
            return;
        };
        let seen = &self.inner.credential_generation;
        // Read before writing: the generation rarely changes, and a read leaves the shared
        // cache line where it is, where a read-modify-write on every request would pull it
        // from core to core.
        if generation <= seen.load(Ordering::Relaxed) {
            return;
        }
        // The first credential of a client is not a renewal; a later, higher one is, once.
        let previous = seen.fetch_max(generation, Ordering::Relaxed);
        if generation > previous && previous > 0 {
            let ctx = self.hook_context(prepared, attempt);
            self.inner
                .interceptors
                .call(Hook::OnCredentialRenewed, &ctx);
        }
    }

    /// `after_response` or `on_error` for an attempt that took `duration`.
    fn after_attempt(
        &self,
        prepared: &Prepared<'_>,
        attempt: u32,
        outcome: &Result<Answer, Error>,
        duration: Duration,
    ) {
        let base = self.hook_context(prepared, attempt);
        match outcome {
            Ok((raw, _)) => {
                let ctx = Context {
                    status: Some(raw.status),
                    headers: Some(&raw.headers),
                    duration,
                    ..base
                };
                self.inner.interceptors.call(Hook::AfterResponse, &ctx);
            }
            Err(error) => {
                let ctx = Context {
                    error: Some(error),
                    duration,
                    ..base
                };
                self.inner.interceptors.call(Hook::OnError, &ctx);
            }
        }
    }

    // The authenticator's two calls in the pipeline, side by side: the credential for an
    // attempt, and after a 401 whether to replay once with a renewed one.

    /// The credential for the next attempt; `attempts_made` goes on its error.
    async fn credential(
        &self,
        op: &'static str,
        attempts_made: u32,
    ) -> Result<Option<AppliedCredential>, Error> {
        self.inner.auth.credential().await.map_err(|e| {
            Error::auth(e)
                .with_operation(op)
                .with_attempts(attempts_made)
        })
    }

    /// Whether a 401 to `attempt`, sent with `credential`, is replayed (the authenticator renewed
    /// a token that may have been stale).
    async fn replay_after_401(
        &self,
        op: &'static str,
        credential: Option<&AppliedCredential>,
        attempt: u32,
    ) -> Result<bool, Error> {
        let Some(credential) = credential else {
            return Ok(false);
        };
        let replay = self
            .inner
            .auth
            .on_unauthorized(credential)
            .await
            .map_err(|e| Error::auth(e).with_operation(op).with_attempts(attempt))?;
        if replay {
            tracing::debug!("401 with a token that may be stale; refreshed once, replaying");
        }
        Ok(replay)
    }

    /// Sends one attempt and reads its answer (a success's body left unread when streaming), within
    /// the attempt timeout. A failure comes back already classified by [`classify_reqwest`].
    ///
    /// The timeout is a `tokio::time::timeout` around sending and reading, rather than reqwest's
    /// per-request timeout, which costs an allocation, an extension map on the request and a
    /// wrapper around the body on every request. A streamed body is read after this returns, so
    /// a stream keeps reqwest's timeout (set in [`http_request`](Self::http_request)), which
    /// covers the body as the caller reads it.
    async fn attempt(
        &self,
        prepared: &Prepared<'_>,
        credential: Option<&AppliedCredential>,
        attempt: u32,
    ) -> Result<Answer, Error> {
        let exchange = self.exchange(prepared, credential, attempt);
        let Some(limit) = prepared.timeout.filter(|_| !prepared.stream) else {
            return exchange.await;
        };
        match tokio::time::timeout(limit, exchange).await {
            Ok(answer) => answer,
            Err(elapsed) => Err(Error::timeout_from(AttemptFailure::TimedOut, elapsed)
                .with_message(format!(
                    "no answer within {limit:?} (the attempt timeout, ClientBuilder::timeout)"
                ))),
        }
    }

    /// Sends the request of one attempt and reads the answer.
    async fn exchange(
        &self,
        prepared: &Prepared<'_>,
        credential: Option<&AppliedCredential>,
        attempt: u32,
    ) -> Result<Answer, Error> {
        let request = self.http_request(prepared, credential);
        if self.inner.interceptors.wants(Hook::BeforeSend) {
            let ctx = Context {
                headers: Some(request.headers()),
                ..self.hook_context(prepared, attempt)
            };
            self.inner.interceptors.call(Hook::BeforeSend, &ctx);
        }
        let mut response = self
            .inner
            .http
            .execute(request)
            .await
            .map_err(classify_reqwest)?;
        let status = response.status();
        if prepared.stream && status.is_success() {
            let raw = RawResponse {
                status,
                headers: response.headers().clone(),
                body: Bytes::new(),
                attempts: 0,
            };
            return Ok((raw, Some(Box::new(response))));
        }
        // The body is read through a borrow: handing the response itself to another `async fn`
        // would keep a second copy of it in this future's state.
        let body = self.read_body(&mut response).await?;
        let raw = RawResponse {
            status,
            headers: std::mem::take(response.headers_mut()),
            body,
            attempts: 0,
        };
        Ok((raw, None))
    }

    /// The wire request of one attempt.
    fn http_request(
        &self,
        prepared: &Prepared<'_>,
        credential: Option<&AppliedCredential>,
    ) -> reqwest::Request {
        // Built directly rather than through `RequestBuilder`: the headers go straight into
        // the request's own map, with no intermediate map to allocate and merge.
        let mut request = reqwest::Request::new(prepared.op.method.clone(), prepared.url.clone());
        let headers = request.headers_mut();
        if let Some(credential) = credential {
            credential.apply(headers);
        }
        if let Some(accept) = &prepared.op.accept {
            headers.insert(ACCEPT, accept.clone());
        }
        if let Some(key) = &prepared.idempotency_key {
            headers.insert(retry::IDEMPOTENCY_KEY_HEADER, key.clone());
        }
        for (name, value) in &prepared.parameter_headers {
            headers.append(name.clone(), value.clone());
        }
        if let Some((body, content_type)) = &prepared.body {
            headers.insert(CONTENT_TYPE, content_type.clone());
            if let Some(len) = body.streamed_len() {
                headers.insert(http::header::CONTENT_LENGTH, HeaderValue::from(len));
            }
            *request.body_mut() = Some(body.to_reqwest());
        }
        if prepared.stream {
            // Only a stream: other attempts run within `attempt`'s own timeout.
            *request.timeout_mut() = prepared.timeout;
        }
        request
    }

    /// Records an answer on the operation's span and in the shared rate-limit gate.
    fn observe(&self, span: &Span, raw: &RawResponse, now: SystemTime) {
        // Without a subscriber that wants the span, there is nothing to record: skip the lookup.
        if !span.is_disabled() {
            span.record("http.response.status_code", raw.status.as_u16());
            if raw.status.as_u16() >= 400 {
                // The conventions' `error.type` for an error answer is its status code.
                span.record("error.type", raw.status.as_u16());
            }
            if let Some(id) = raw.headers.get(&X_REQUEST_ID).and_then(|v| v.to_str().ok()) {
                span.record("marketing_api.request_id", id);
            }
        }
        self.inner.gate.observe(raw.status, &raw.headers, now);
    }

    /// Reads the body (bounded by `max_response_bytes`).
    async fn read_body(&self, response: &mut reqwest::Response) -> Result<Bytes, Error> {
        let limit = self.inner.max_response_bytes;
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
        while let Some(chunk) = response.chunk().await.map_err(classify_reqwest)? {
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
        Ok(match (first, rest) {
            (_, Some(buf)) => buf.freeze(),
            (Some(only), None) => only,
            (None, None) => Bytes::new(),
        })
    }

    fn url_for(&self, request: &Request) -> Result<url::Url, Error> {
        // `path_segment` writes the ids `.` and `..` as `%2E` and `%2E%2E`, but URL parsing still
        // resolves those as dot segments (`/campaigns/%2E%2E/ads` is `/ads`): the request would
        // go to another path. No id can be either, so the request is refused.
        // (A substring search first: almost no path has `%2E` at all.)
        if request.path.contains("%2E")
            && request
                .path
                .split('/')
                .any(|segment| segment == "%2E" || segment == "%2E%2E")
        {
            return Err(Error::config(
                "a path parameter (an id) is `.` or `..`, which no resource has; the URL would resolve it to another path",
            )
            .with_operation(request.operation.id));
        }
        // An empty id (or an empty list of them) leaves an empty segment: `/campaigns/` or
        // `/campaigns//ads` names another resource, or none, and a server may route it to one
        // (a `DELETE` of the collection). No id is empty, so the request is refused.
        let template = request.operation.path_template;
        if (request.path.ends_with('/') && !template.ends_with('/'))
            || (request.path.contains("//") && !template.contains("//"))
        {
            return Err(Error::config(
                "a path parameter (an id) is empty; the URL would name another path",
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

/// A successful answer: status, headers and body; with streaming, the live response whose body
/// is still to be read (boxed: only streams have one, and every attempt's state carries the slot).
type Answer = (RawResponse, Option<Box<reqwest::Response>>);

/// What every attempt of one logical request sends the same, checked once before the first.
struct Prepared<'c> {
    op: &'static OperationInfo,
    url: url::Url,
    parameter_headers: Vec<(HeaderName, HeaderValue)>,
    /// Encoded body and its content type.
    body: Option<(Payload, HeaderValue)>,
    /// One key per logical request, reused by every attempt, so the server can replay instead of
    /// acting twice.
    idempotency_key: Option<HeaderValue>,
    safety: RequestSafety,
    policy: Cow<'c, RetryPolicy>,
    /// Timeout of each attempt.
    timeout: Option<Duration>,
    /// Hand a success's body over unread.
    stream: bool,
}

fn encoded_body(body: EncodedBody) -> Result<(Payload, HeaderValue), Error> {
    let content_type = HeaderValue::from_str(body.content_type()).map_err(|_| {
        Error::config("the request body's content type is not a valid header value")
    })?;
    Ok((body.payload()?, content_type))
}

fn parameter_headers(pairs: &codec::Pairs) -> Result<Vec<(HeaderName, HeaderValue)>, Error> {
    pairs
        .iter()
        .map(|(name, value)| {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| Error::config(format!("`{name}` is not a valid header name")))?;
            let value = HeaderValue::from_str(value).map_err(|_| {
                Error::config(format!(
                    "the `{name}` header parameter holds characters not allowed in a header"
                ))
            })?;
            Ok((name, value))
        })
        .collect()
}

/// The `Idempotency-Key` of a POST whose operation declares one: the caller's, or a fresh one.
fn idempotency_key_for(request: &Request) -> Result<Option<HeaderValue>, Error> {
    let op = request.operation;
    if op.method != Method::POST || !op.idempotency_key {
        return Ok(None);
    }
    let key = match &request.options.idempotency_key {
        Some(key) => Cow::Borrowed(key.as_str()),
        None => Cow::Owned(retry::idempotency_key()),
    };
    // An empty key reads as no key to the server, which would then act on every attempt the SDK
    // retries as if it were safe; an over-long one is refused.
    let length = key.chars().count();
    if !(1..=retry::MAX_IDEMPOTENCY_KEY_CHARS).contains(&length) {
        return Err(Error::config(format!(
            "idempotency key must be 1 to {} characters, got {length}",
            retry::MAX_IDEMPOTENCY_KEY_CHARS
        )));
    }
    HeaderValue::from_str(&key)
        .map(Some)
        .map_err(|_| Error::config("idempotency key contains characters not allowed in a header"))
}

/// What an attempt's result means for retrying: an answer by its status, a failure by what was
/// recorded when its error was made; `None` for a failure that would repeat on every attempt.
fn classify(outcome: &Result<Answer, Error>) -> Option<AttemptOutcome<'_>> {
    match outcome {
        Ok((raw, _)) => Some(AttemptOutcome::Response {
            status: raw.status,
            headers: &raw.headers,
        }),
        Err(error) => error.transient_failure().map(AttemptOutcome::Failed),
    }
}

/// What the pipeline does after an attempt.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    /// Hand the (successful) answer over.
    Done,
    /// Wait this long, then attempt again.
    Retry(Duration),
    /// Report the attempt's error; the reason, when there is one, says why it was not retried.
    Stop(Option<StopReason>),
}

/// The retry policy, the shared budget and the request's safety: everything that decides what
/// follows an attempt.
struct RetryRules<'a> {
    policy: &'a RetryPolicy,
    budget: &'a RetryBudget,
    safety: RequestSafety,
    random: &'a dyn RandomSource,
}

impl RetryRules<'_> {
    /// Decides what follows attempt number `attempt` (1-based), which ended in `outcome`
    /// (`None`: a failure that would repeat). A retry is paid from the budget; a success refunds it.
    fn next(&self, attempt: u32, outcome: Option<AttemptOutcome<'_>>, now: SystemTime) -> Next {
        let Some(outcome) = outcome else {
            return Next::Stop(None);
        };
        let decision =
            self.budget.settle(
                self.policy
                    .decide(attempt, self.safety, outcome, now, self.random),
            );
        match decision {
            RetryDecision::Retry { delay, reason } => {
                tracing::info!(attempt, delay_ms = delay.as_millis() as u64, %reason, "retrying");
                Next::Retry(delay)
            }
            RetryDecision::Stop {
                reason: StopReason::FinalResponse { status, .. },
            } if status.is_success() => Next::Done,
            RetryDecision::Stop { reason } => {
                tracing::debug!(attempt, %reason, "not retrying");
                Next::Stop(Some(reason))
            }
        }
    }
}

/// The error of the last attempt. Status and attempt count do not explain an unsafe request, an
/// empty budget or how a connection failed; the message says so, or the caller cannot tell why
/// it stopped. (A timeout says what happened itself.)
fn final_error(
    outcome: Result<Answer, Error>,
    reason: Option<StopReason>,
    now: SystemTime,
) -> Error {
    let (error, how) = match outcome {
        Ok((raw, _)) => (api_error(&raw, now), None),
        Err(error) => {
            let how = error
                .transient_failure()
                .filter(|_| !error.is_timeout())
                .map(|failure| failure.to_string());
            (error, how)
        }
    };
    let note = reason.as_ref().and_then(StopReason::note);
    match (how, note) {
        (Some(how), Some(note)) => error.with_message(format!("{how}; {note}")),
        (Some(how), None) => error.with_message(how),
        (None, Some(note)) => error.with_message(note),
        (None, None) => error,
    }
}

/// Classifies a failed send or body read while the `reqwest::Error` is at hand, then wraps it:
/// the error remembers whether another attempt may cure it (see [`AttemptFailure`]).
fn classify_reqwest(e: reqwest::Error) -> Error {
    // A TLS refusal (certificate, pin, protocol version) repeats on every attempt.
    if let Some(message) = crate::tls::describe_handshake_failure(&e) {
        return Error::tls(message, e);
    }
    // So does a body that does not decompress: the server or a proxy sent it so. (reqwest removes
    // `Content-Encoding` from the headers it hands over when it decompresses.)
    if e.is_decode() {
        return Error::transport(e).with_message(
            "the response body does not decompress as its Content-Encoding says (truncated or corrupt compressed data, probably from a proxy)",
        );
    }
    // A connect timeout never reached the server: check for it before timeouts.
    let failure = if e.is_connect() {
        AttemptFailure::ConnectFailed
    } else if e.is_timeout() {
        AttemptFailure::TimedOut
    } else {
        AttemptFailure::ConnectionDropped
    };
    if e.is_timeout() {
        Error::timeout_from(failure, e)
    } else {
        Error::connection(failure, e)
    }
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
    code: Option<ErrorCode>,
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
            headers: http::HeaderMap::new(),
            body: Bytes::new(),
        },
        Err(_) => ApiError {
            status: raw.status,
            error_type: None,
            code: None,
            message: describe_foreign_body(raw),
            param: None,
            request_id: header_request_id,
            retry_after,
            headers: http::HeaderMap::new(),
            body: Bytes::new(),
        },
    };
    Error::api(api.with_answer(raw.headers.clone(), raw.body.clone()))
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
    use crate::error::ErrorKind;
    use futures::TryStreamExt;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    static DOWNLOAD: OperationInfo = OperationInfo {
        id: "downloadExport",
        method: Method::GET,
        path_template: "/exports/{id}",
        deprecated: false,
        idempotency_key: false,
        accept: None,
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
            error
                .api_error()
                .and_then(|a| a.code.as_ref().map(|c| c.as_str())),
            Some("resource_missing")
        );
    }
}

/// The pipeline's steps, each on its own: classify, decide, the final error, preparation, the
/// reqwest classification (over real sockets) and the operation timeout.
#[cfg(test)]
mod step_tests {
    use super::*;
    use crate::clock::{FixedRandom, ManualClock, Sleeper};
    use crate::error::ErrorKind;
    use crate::retry::RetryBudgetConfig;
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::time::UNIX_EPOCH;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    static GET_CAMPAIGN: OperationInfo = OperationInfo {
        id: "getCampaign",
        method: Method::GET,
        path_template: "/campaigns/{id}",
        deprecated: false,
        idempotency_key: false,
        accept: None,
    };
    static CREATE_CAMPAIGN: OperationInfo = OperationInfo {
        id: "createCampaign",
        method: Method::POST,
        path_template: "/campaigns",
        deprecated: false,
        idempotency_key: true,
        accept: None,
    };

    fn request(operation: &'static OperationInfo) -> Request {
        Request {
            operation,
            path: "/campaigns/cmp_1".into(),
            query: Vec::new(),
            headers: Vec::new(),
            body: None,
            options: RequestOptions::default(),
        }
    }

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    fn answer(code: u16) -> Result<Answer, Error> {
        Ok((
            RawResponse {
                status: StatusCode::from_u16(code).unwrap_or_else(|e| panic!("{e}")),
                headers: HeaderMap::new(),
                body: Bytes::new(),
                attempts: 1,
            },
            None,
        ))
    }

    fn dropped() -> Error {
        Error::connection(
            AttemptFailure::ConnectionDropped,
            std::io::Error::other("reset by peer"),
        )
    }

    #[test]
    fn classify_reads_answers_by_status_and_errors_by_their_record() {
        let ok = answer(503);
        assert!(matches!(
            classify(&ok),
            Some(AttemptOutcome::Response { status, .. }) if status == StatusCode::SERVICE_UNAVAILABLE
        ));
        assert!(matches!(
            classify(&Err(dropped())),
            Some(AttemptOutcome::Failed(AttemptFailure::ConnectionDropped))
        ));
        // Failures that would repeat are final: nothing for the policy to weigh.
        assert!(classify(&Err(Error::too_large(10))).is_none());
        assert!(classify(&Err(Error::transport(std::io::Error::other("gzip")))).is_none());
    }

    #[test]
    fn next_retries_stops_and_refunds_the_budget_on_success_only() {
        let policy = RetryPolicy::default();
        let budget = RetryBudget::new(RetryBudgetConfig::default().capacity(12));
        let rules = |safety| RetryRules {
            policy: &policy,
            budget: &budget,
            safety,
            random: &FixedRandom(0.5),
        };
        let outcome = |result: &Result<Answer, Error>, attempt| {
            rules(RequestSafety::IDEMPOTENT).next(attempt, classify(result), now())
        };
        assert_eq!(
            outcome(&answer(503), 1),
            Next::Retry(Duration::from_millis(100))
        );
        assert_eq!(budget.available(), 7);
        // A final error answer stops and refunds nothing.
        assert!(matches!(
            outcome(&answer(404), 1),
            Next::Stop(Some(StopReason::FinalResponse { .. }))
        ));
        assert_eq!(budget.available(), 7);
        // A success is done and refunds one token.
        assert_eq!(outcome(&answer(200), 2), Next::Done);
        assert_eq!(budget.available(), 8);
        // A failure that would repeat stops with no reason of the policy's.
        assert_eq!(outcome(&Err(Error::too_large(1)), 1), Next::Stop(None));
        // An unsafe request that may have reached the server is not repeated.
        assert!(matches!(
            rules(RequestSafety::UNKEYED).next(1, classify(&Err(dropped())), now()),
            Next::Stop(Some(StopReason::NotSafeToRetry { .. }))
        ));
        // The attempt limit.
        assert!(matches!(
            outcome(&answer(503), 3),
            Next::Stop(Some(StopReason::AttemptsExhausted { .. }))
        ));
    }

    #[test]
    fn the_final_error_says_how_the_attempt_failed_and_why_it_was_not_retried() {
        let not_safe = StopReason::NotSafeToRetry {
            attempts: 1,
            failure: AttemptFailure::ConnectionDropped,
        };
        let error = final_error(Err(dropped()), Some(not_safe), now());
        let text = error.to_string();
        assert!(
            text.contains("connection dropped after the request was sent; not retried because"),
            "{text}"
        );
        assert!(error.is_retryable());

        // An answer becomes the API error; spent attempts need no note.
        let exhausted = StopReason::AttemptsExhausted {
            attempts: 3,
            failure: AttemptFailure::Status(StatusCode::SERVICE_UNAVAILABLE),
        };
        let error = final_error(answer(503), Some(exhausted), now());
        assert_eq!(error.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
        assert_eq!(
            error.to_string(),
            "503 Service Unavailable: empty 503 response"
        );

        // A timeout says what happened itself; only the policy's note is added.
        let timed_out = Error::timeout_from(AttemptFailure::TimedOut, std::io::Error::other("t"));
        let error = final_error(
            Err(timed_out),
            Some(StopReason::TimeoutRetryDisabled { attempts: 1 }),
            now(),
        );
        assert_eq!(
            error.to_string(),
            "timed out: not retried because the retry policy does not retry timeouts"
        );

        // A final failure is reported as it is.
        let error = final_error(Err(Error::too_large(7)), None, now());
        assert_eq!(error.kind(), ErrorKind::ResponseTooLarge);
        assert!(error.to_string().contains("limit of 7 bytes"), "{error}");
    }

    #[test]
    fn idempotency_keys_are_checked_once_and_only_for_posts_that_declare_them() {
        assert_eq!(
            idempotency_key_for(&request(&GET_CAMPAIGN)).ok(),
            Some(None)
        );
        let fresh = idempotency_key_for(&request(&CREATE_CAMPAIGN))
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("a POST that declares the header gets a key"));
        assert_eq!(fresh.len(), 36);
        for (key, needle) in [
            (String::new(), "1 to 255 characters, got 0"),
            ("k".repeat(256), "got 256"),
            ("line\nbreak".to_owned(), "not allowed in a header"),
        ] {
            let mut post = request(&CREATE_CAMPAIGN);
            post.options.idempotency_key = Some(key);
            let error = idempotency_key_for(&post)
                .err()
                .unwrap_or_else(|| panic!("{needle}: refused"));
            assert!(
                error.is_config() && error.to_string().contains(needle),
                "{error}"
            );
        }
        let mut mine = request(&CREATE_CAMPAIGN);
        mine.options.idempotency_key = Some("order-42".into());
        assert_eq!(
            idempotency_key_for(&mine).ok().flatten(),
            Some(HeaderValue::from_static("order-42"))
        );
    }

    #[test]
    fn header_parameters_are_checked_before_anything_is_sent() {
        let good = vec![(Cow::Borrowed("x-trace"), "abc".to_owned())];
        assert_eq!(parameter_headers(&good).map(|h| h.len()).ok(), Some(1));
        let bad_name = vec![(Cow::Borrowed("bad name"), "v".to_owned())];
        assert!(parameter_headers(&bad_name).is_err_and(|e| e.is_config()));
        let bad_value = vec![(Cow::Borrowed("x-trace"), "a\nb".to_owned())];
        assert!(parameter_headers(&bad_value).is_err_and(|e| e.is_config()));
    }

    /// A GET on the SDK's own HTTP client (its TLS setup, its decompression).
    async fn get(url: String) -> Result<reqwest::Response, reqwest::Error> {
        let client = Client::builder("http://127.0.0.1:9/v1")
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let http = client.inner.http.clone();
        http.get(url)
            .timeout(Duration::from_millis(200))
            .send()
            .await
    }

    /// The classified error of a GET that fails before an answer arrives.
    async fn failed_get(url: String) -> Error {
        classify_reqwest(get(url).await.err().unwrap_or_else(|| panic!("fails")))
    }

    #[tokio::test]
    async fn reqwest_failures_are_classified_before_they_are_wrapped() {
        // Refused: nothing listens on a port just released.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("{e}"));
        let error = failed_get(format!("http://127.0.0.1:{port}/")).await;
        assert_eq!(error.kind(), ErrorKind::Transport);
        assert_eq!(
            error.transient_failure(),
            Some(AttemptFailure::ConnectFailed)
        );

        // No answer within the attempt timeout.
        let server = MockServer::start().await;
        Mock::given(path("/slow"))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(30)))
            .mount(&server)
            .await;
        let error = failed_get(format!("{}/slow", server.uri())).await;
        assert_eq!(error.kind(), ErrorKind::Timeout);
        assert_eq!(error.transient_failure(), Some(AttemptFailure::TimedOut));

        // A body that does not decompress as its Content-Encoding says is final.
        Mock::given(path("/gzip"))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("content-encoding", "gzip")
                    .set_body_bytes(b"this is not gzip".to_vec()),
            )
            .mount(&server)
            .await;
        let response = get(format!("{}/gzip", server.uri()))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let corrupt = response
            .bytes()
            .await
            .err()
            .unwrap_or_else(|| panic!("corrupt gzip"));
        let error = classify_reqwest(corrupt);
        assert_eq!(error.kind(), ErrorKind::Transport);
        assert_eq!(error.transient_failure(), None);
        assert!(!error.is_retryable());
        assert!(error.to_string().contains("does not decompress"), "{error}");
    }

    /// Completes sleeps shorter than `long` at once, and those of `long` or more only on cue.
    #[derive(Debug)]
    struct CuedSleeper {
        long: Duration,
        cue: Arc<tokio::sync::Notify>,
    }

    impl Sleeper for CuedSleeper {
        fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
            let cue = self.cue.clone();
            if duration >= self.long {
                Box::pin(async move { cue.notified().await })
            } else {
                Box::pin(async {})
            }
        }
    }

    async fn campaign_client(server: &MockServer, sleeper: Arc<dyn Sleeper>) -> Client {
        let clock = ManualClock::new(now());
        Client::builder(format!("{}/v1", server.uri()))
            .auth(crate::auth::ApiKey::new("k_test").unwrap_or_else(|e| panic!("{e}")))
            .clock(Arc::new(clock))
            .sleeper(sleeper)
            .random(Arc::new(FixedRandom(0.5)))
            .operation_timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[tokio::test]
    async fn the_operation_timeout_expires_when_the_sleeper_says_so() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v1/campaigns/cmp_1"))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(60)))
            .mount(&server)
            .await;
        let cue = Arc::new(tokio::sync::Notify::new());
        let sleeper = Arc::new(CuedSleeper {
            long: Duration::from_secs(10),
            cue: cue.clone(),
        });
        let client = campaign_client(&server, sleeper).await;
        let pending = tokio::spawn(async move { client.execute(request(&GET_CAMPAIGN)).await });
        // The request is out (the server holds it) before the deadline passes.
        while server
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
        {
            tokio::task::yield_now().await;
        }
        cue.notify_one();
        let error = pending
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .err()
            .unwrap_or_else(|| panic!("the operation timed out"));
        assert!(error.is_timeout(), "{error}");
        assert_eq!(error.operation(), Some("getCampaign"));
        assert!(error.to_string().contains("operation_timeout"), "{error}");
    }

    #[tokio::test]
    async fn an_operation_timeout_that_has_not_expired_lets_retries_finish() {
        let server = MockServer::start().await;
        // Two 503s, a 404, then 200s: wiremock answers with the first mock not yet used up.
        for (status, times) in [(503, 2), (404, 1), (200, u64::MAX)] {
            Mock::given(method("GET"))
                .and(path("/v1/campaigns/cmp_1"))
                .respond_with(ResponseTemplate::new(status))
                .up_to_n_times(times)
                .mount(&server)
                .await;
        }
        let sleeper = Arc::new(CuedSleeper {
            long: Duration::from_secs(10),
            cue: Arc::new(tokio::sync::Notify::new()),
        });
        let client = campaign_client(&server, sleeper).await;
        let budget = client.inner.budget.clone();
        let start = budget.available();

        // 503, 503 (two retries, 5 tokens each), then a final 404: nothing refunded.
        let error = client
            .execute(request(&GET_CAMPAIGN))
            .await
            .err()
            .unwrap_or_else(|| panic!("a 404"));
        assert!(error.is_not_found(), "{error}");
        assert_eq!(error.attempts(), 3);
        assert_eq!(budget.available(), start - 10);

        // A success refunds one token.
        let raw = client
            .execute(request(&GET_CAMPAIGN))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(raw.status, StatusCode::OK);
        assert_eq!(budget.available(), start - 9);
    }
}
