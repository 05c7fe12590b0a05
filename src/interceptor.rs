//! Interceptors: hooks the request pipeline calls at fixed points of every operation, for audit
//! logs, metrics and anything else that must see each request without changing it.
//!
//! Register them with [`ClientBuilder::interceptor`](crate::ClientBuilder::interceptor); they
//! run in registration order at each point. The points, modelled on the read-only hooks of the
//! AWS Smithy runtime (`read_before_transmit`, `read_after_transmit`, `read_after_execution`…):
//!
//! | hook | when | per |
//! |---|---|---|
//! | [`before_send`](Interceptor::before_send) | the attempt's request is complete (credential applied) and about to be sent | attempt |
//! | [`after_response`](Interceptor::after_response) | an answer's status and headers arrived (its body read, unless streamed) | attempt |
//! | [`on_error`](Interceptor::on_error) | an attempt ended without an answer (connection, timeout, body over the size limit) | attempt |
//! | [`on_retry`](Interceptor::on_retry) | the retry policy decided to try again, before the backoff wait | retry |
//! | [`on_rate_limit_wait`](Interceptor::on_rate_limit_wait) | the rate gate holds the request until the quota resets, before the wait | wait |
//! | [`on_credential_renewed`](Interceptor::on_credential_renewed) | the attempt carries a credential renewed since the previous one this client saw (an OAuth token refresh) | renewal |
//! | [`on_complete`](Interceptor::on_complete) | the operation finished, successfully or not — including failures before anything was sent | operation |
//!
//! A 401 answered to a token that the client then renews is replayed once; the replay is a
//! second `before_send` with the same attempt number, not a retry.
//!
//! # Interceptors observe; they cannot corrupt a request
//!
//! Every hook gets a shared [`Context`]: headers are readable, never writable, and credential
//! headers (`Authorization`, `X-Api-Key`, `Cookie`, `Proxy-Authorization`) are hidden from it.
//! A hook that returns an error, or panics, does not fail or alter the request: the failure is
//! caught, reported with `tracing::warn!` (target `marketing_api::interceptor`, naming the hook
//! and the interceptor's position) and counted in
//! [`Client::interceptor_failures`](crate::Client::interceptor_failures); the following
//! interceptors still run, and so does the same interceptor's next hook. A hook runs on the
//! request's task, so a slow hook slows the request: hand heavy work to a channel (as
//! [`JsonLinesSink`](crate::audit::JsonLinesSink) does).
//!
//! With no interceptor registered the pipeline pays one branch per hook point and reads no
//! clock.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};

use crate::resource_ids::ResourceIds;

use crate::error::Error;
use crate::transport::OperationInfo;

/// What a hook may return as its failure (it is reported and counted, see the module docs).
pub type HookError = Box<dyn std::error::Error + Send + Sync>;

/// Hooks into the request pipeline. Every method has an empty default, so an implementation
/// overrides only the points it cares about. See the [module docs](self) for when each runs
/// and what happens when one fails.
pub trait Interceptor: Send + Sync + 'static {
    /// An attempt is about to be sent.
    fn before_send(&self, ctx: &Context<'_>) -> Result<(), HookError> {
        let _ = ctx;
        Ok(())
    }

    /// An attempt got an answer (any status).
    fn after_response(&self, ctx: &Context<'_>) -> Result<(), HookError> {
        let _ = ctx;
        Ok(())
    }

    /// An attempt ended without an answer; [`Context::error`] says why.
    fn on_error(&self, ctx: &Context<'_>) -> Result<(), HookError> {
        let _ = ctx;
        Ok(())
    }

    /// The attempt in [`Context::attempt`] will be retried after [`Context::retry_delay`].
    fn on_retry(&self, ctx: &Context<'_>) -> Result<(), HookError> {
        let _ = ctx;
        Ok(())
    }

    /// The request waits `wait` for the rate-limit window to reset before it is sent.
    fn on_rate_limit_wait(&self, ctx: &Context<'_>, wait: Duration) -> Result<(), HookError> {
        let _ = (ctx, wait);
        Ok(())
    }

    /// The attempt carries a credential renewed since the last one this client used.
    fn on_credential_renewed(&self, ctx: &Context<'_>) -> Result<(), HookError> {
        let _ = ctx;
        Ok(())
    }

    /// The operation finished; [`Context::status`] or [`Context::error`] say how, and
    /// [`Context::duration`] is its whole duration.
    fn on_complete(&self, ctx: &Context<'_>) -> Result<(), HookError> {
        let _ = ctx;
        Ok(())
    }
}

/// What a hook sees: the operation, the attempt and, depending on the hook, the answer or the
/// error. Read-only by construction.
pub struct Context<'a> {
    pub(crate) op: &'static OperationInfo,
    pub(crate) url_path: &'a str,
    pub(crate) credential: &'a str,
    pub(crate) attempt: u32,
    pub(crate) status: Option<StatusCode>,
    pub(crate) headers: Option<&'a HeaderMap>,
    pub(crate) error: Option<&'a Error>,
    pub(crate) duration: Duration,
    pub(crate) retry_delay: Option<Duration>,
}

impl fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("operation", &self.op.id)
            .field("attempt", &self.attempt)
            .field("status", &self.status)
            .field("request_id", &self.request_id())
            .field("duration", &self.duration)
            .finish_non_exhaustive()
    }
}

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Credential headers a hook never sees.
const HIDDEN: [&str; 4] = [
    "authorization",
    "x-api-key",
    "cookie",
    "proxy-authorization",
];

fn hidden(name: &HeaderName) -> bool {
    HIDDEN.contains(&name.as_str())
}

impl<'a> Context<'a> {
    /// The `operationId` (`getCampaign`).
    pub fn operation_id(&self) -> &'static str {
        self.op.id
    }

    /// The HTTP method.
    pub fn method(&self) -> &Method {
        &self.op.method
    }

    /// The path template (`/campaigns/{campaign_id}`): no ids, so it is safe as a metric label.
    pub fn path_template(&self) -> &'static str {
        self.op.path_template
    }

    /// The ids in the request's path, by parameter name (`[("campaign_id", "cmp_1")]`), as
    /// sent (percent-encoded if they needed it).
    pub fn resource_ids(&self) -> Vec<(&'static str, &'a str)> {
        self.resource_ids_unread().to_vec()
    }

    /// The ids in the path, not yet read from it (what an audit record carries).
    pub(crate) fn resource_ids_unread(&self) -> ResourceIds<'a> {
        ResourceIds::new(self.op.path_template, self.url_path)
    }

    /// Who the request authenticates as, never a secret: `api_key:` and the key's first
    /// characters (what the platform shows as its `prefix`), `oauth_client:` and the client id,
    /// `bearer`, `provider`, `none`, or what
    /// [`ClientBuilder::credential_identity`](crate::ClientBuilder::credential_identity) set.
    pub fn credential_identity(&self) -> &'a str {
        self.credential
    }

    /// The attempt, from 1 (on `on_complete`, how many were made).
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The answer's status (`after_response`; `on_retry` and `on_complete` when there was one).
    pub fn status(&self) -> Option<StatusCode> {
        self.status
    }

    /// The answer's `X-Request-Id` (or the error's request id).
    pub fn request_id(&self) -> Option<&'a str> {
        self.headers
            .filter(|_| self.status.is_some())
            .and_then(|h| h.get(&X_REQUEST_ID))
            // Any UTF-8 (the JSON-lines sink escapes what needs it); `str::from_utf8` checks
            // a word at a time where `HeaderValue::to_str` checks byte by byte.
            .and_then(|v| std::str::from_utf8(v.as_bytes()).ok())
            .or_else(|| self.error.and_then(Error::request_id))
    }

    /// The error (`on_error`; `on_retry` and `on_complete` when the attempt or the operation
    /// failed).
    pub fn error(&self) -> Option<&'a Error> {
        self.error
    }

    /// How long the attempt took (`after_response`, `on_error`), or the whole operation
    /// (`on_complete`); zero elsewhere.
    pub fn duration(&self) -> Duration {
        self.duration
    }

    /// The wait before the next attempt (`on_retry`).
    pub fn retry_delay(&self) -> Option<Duration> {
        self.retry_delay
    }

    /// A header of the request (`before_send`) or of the answer (`after_response`,
    /// `on_complete`); credential headers read as absent.
    pub fn header(&self, name: &str) -> Option<&'a HeaderValue> {
        let headers = self.headers?;
        let value = headers.get(name)?;
        match HeaderName::from_bytes(name.as_bytes()) {
            Ok(name) if !hidden(&name) => Some(value),
            _ => None,
        }
    }

    /// Every header of the request or answer, credential headers left out.
    pub fn headers(&self) -> impl Iterator<Item = (&'a HeaderName, &'a HeaderValue)> + 'a {
        self.headers
            .into_iter()
            .flat_map(HeaderMap::iter)
            .filter(|(name, _)| !hidden(name))
    }
}

/// The interceptors of a client, in registration order, and their failure count.
#[derive(Clone, Default)]
pub(crate) struct Interceptors {
    list: Arc<[(Arc<dyn Interceptor>, HookSet)]>,
    /// The hooks at least one interceptor wants.
    wanted: HookSet,
    failures: Arc<AtomicU64>,
    identity: Arc<str>,
}

/// The hooks an interceptor implements. A user's interceptor gets every hook; the SDK's own
/// (audit, metrics) name theirs, so the pipeline does not call their empty defaults, and does
/// not even build a hook's context when nobody wants the hook.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub(crate) struct HookSet(u8);

impl HookSet {
    /// Every hook.
    pub(crate) const ALL: HookSet = HookSet(u8::MAX);

    /// The set of `hooks`.
    pub(crate) const fn of(hooks: &[Hook]) -> HookSet {
        let mut bits = 0;
        let mut i = 0;
        while i < hooks.len() {
            bits |= hooks[i].bit();
            i += 1;
        }
        HookSet(bits)
    }

    fn contains(self, hook: Hook) -> bool {
        self.0 & hook.bit() != 0
    }
}

impl fmt::Debug for Interceptors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interceptors")
            .field("count", &self.list.len())
            .finish()
    }
}

/// The hook being called, for reports.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Hook {
    BeforeSend,
    AfterResponse,
    OnError,
    OnRetry,
    OnRateLimitWait(Duration),
    OnCredentialRenewed,
    OnComplete,
}

impl Hook {
    const fn bit(self) -> u8 {
        1 << match self {
            Hook::BeforeSend => 0,
            Hook::AfterResponse => 1,
            Hook::OnError => 2,
            Hook::OnRetry => 3,
            Hook::OnRateLimitWait(_) => 4,
            Hook::OnCredentialRenewed => 5,
            Hook::OnComplete => 6,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Hook::BeforeSend => "before_send",
            Hook::AfterResponse => "after_response",
            Hook::OnError => "on_error",
            Hook::OnRetry => "on_retry",
            Hook::OnRateLimitWait(_) => "on_rate_limit_wait",
            Hook::OnCredentialRenewed => "on_credential_renewed",
            Hook::OnComplete => "on_complete",
        }
    }
}

impl Interceptors {
    pub(crate) fn new(list: Vec<(Arc<dyn Interceptor>, HookSet)>, identity: String) -> Self {
        Interceptors {
            wanted: HookSet(list.iter().fold(0, |bits, (_, hooks)| bits | hooks.0)),
            list: list.into(),
            failures: Arc::default(),
            identity: identity.into(),
        }
    }

    /// Whether any interceptor is registered: the pipeline's one branch per hook point.
    #[inline]
    pub(crate) fn is_active(&self) -> bool {
        !self.list.is_empty()
    }

    /// Whether some interceptor wants `hook`.
    #[inline]
    pub(crate) fn wants(&self, hook: Hook) -> bool {
        self.wanted.contains(hook)
    }

    pub(crate) fn identity(&self) -> &str {
        &self.identity
    }

    pub(crate) fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// Calls `hook` on every interceptor in order; a failure of one is reported and counted,
    /// and the others still run.
    pub(crate) fn call(&self, hook: Hook, ctx: &Context<'_>) {
        for (position, (interceptor, hooks)) in self.list.iter().enumerate() {
            if !hooks.contains(hook) {
                continue;
            }
            let outcome = catch_unwind(AssertUnwindSafe(|| match hook {
                Hook::BeforeSend => interceptor.before_send(ctx),
                Hook::AfterResponse => interceptor.after_response(ctx),
                Hook::OnError => interceptor.on_error(ctx),
                Hook::OnRetry => interceptor.on_retry(ctx),
                Hook::OnRateLimitWait(wait) => interceptor.on_rate_limit_wait(ctx, wait),
                Hook::OnCredentialRenewed => interceptor.on_credential_renewed(ctx),
                Hook::OnComplete => interceptor.on_complete(ctx),
            }));
            let failure = match outcome {
                Ok(Ok(())) => continue,
                Ok(Err(error)) => error.to_string(),
                Err(_) => "the hook panicked".to_owned(),
            };
            self.failures.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                target: "marketing_api::interceptor",
                hook = hook.name(),
                interceptor = position,
                operation = ctx.op.id,
                failure = %failure,
                "an interceptor failed; the request continues unchanged"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::OperationInfo;

    #[test]
    fn the_request_id_is_read_when_it_is_utf8() {
        let op: &'static OperationInfo = Box::leak(Box::new(OperationInfo {
            id: "op",
            method: Method::GET,
            path_template: "/x",
            deprecated: false,
            idempotency_key: false,
            accept: None,
        }));
        let read = |value: &[u8]| {
            let mut headers = HeaderMap::new();
            headers.insert(X_REQUEST_ID, HeaderValue::from_bytes(value).unwrap());
            let ctx = Context {
                op,
                url_path: "/x",
                credential: "none",
                attempt: 1,
                status: Some(StatusCode::OK),
                headers: Some(&headers),
                error: None,
                duration: Duration::ZERO,
                retry_delay: None,
            };
            ctx.request_id().map(str::to_owned)
        };
        assert_eq!(read(b"req_123").as_deref(), Some("req_123"));
        assert_eq!(
            read("req_caf\u{e9}".as_bytes()).as_deref(),
            Some("req_caf\u{e9}")
        );
        assert_eq!(read(b"req_\xff"), None);
    }
}
