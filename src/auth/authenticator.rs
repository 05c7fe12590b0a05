//! The runtime side of authentication: which header each request carries, and keeping
//! credentials from a provider (OAuth2 or the user's own) fresh, one provider call at a time.
//!
//! Readers of a fresh credential only take a short `std::sync::RwLock` read lock. A renewal is
//! one task that owns the provider call, its retries and the installation of the result; every
//! request that needs a credential meanwhile awaits a shared handle to that task, so its
//! outcome — success or failure — is shared, and a request dropped mid-renewal cannot abandon a
//! renewal the server has already carried out (a rotated refresh token is never lost).
//!
//! Three rules keep a misconfigured or failing setup from hammering the authorization server:
//! - **Token retry**: a transient failure (connection error, 408/429/5xx, a provider's transient
//!   error) is retried with full-jitter backoff or the server's `Retry-After`, up to the token
//!   retry policy's attempts, each retry paid from the client's shared retry budget. Giving up is
//!   [`AuthError::GaveUp`] with the attempt count.
//! - **Negative cache**: a definitive failure (`invalid_client`, `invalid_grant`, another 4xx,
//!   a malformed answer, a provider's definitive error) is remembered for the auth cooldown;
//!   requests within it get the same error without a new token request.
//! - **Suspect credential**: when a request replayed with a renewed credential is rejected with
//!   401 again (or the provider has nothing newer to offer), that credential is suspect for the
//!   auth cooldown: further 401s to it go to the caller without a renewal. So an API that answers
//!   401 forever costs at most one renewal per cooldown, not one per request.

use std::fmt;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use http::{HeaderMap, HeaderName, HeaderValue};

use super::error::AuthError;
use super::oauth_runtime::OAuthProvider;
use super::provider::{Credential, CredentialProvider, CredentialReason, CredentialRequest};
use super::{Auth, AuthKind};
use crate::clock::{Clock, RandomSource, Sleeper};
use crate::retry::{RetryBudget, RetryPolicy};

/// How long a definitive failure is remembered and a twice-rejected credential stays suspect,
/// unless the client builder says otherwise.
pub const DEFAULT_AUTH_COOLDOWN: Duration = Duration::from_secs(10);

/// The credential attached to one request: a header plus the generation it came from, to hand
/// back to [`Authenticator::on_unauthorized`] if the server answers 401.
#[derive(Clone)]
pub(crate) struct AppliedCredential {
    name: HeaderName,
    value: HeaderValue,
    generation: u64,
}

#[cfg_attr(not(test), allow(dead_code))] // The accessors exist for tests; the transport calls `apply`.
impl AppliedCredential {
    /// The header to set (`authorization`, `x-api-key`, or a provider's own).
    pub(crate) fn header_name(&self) -> &HeaderName {
        &self.name
    }

    /// The header value, marked sensitive so HTTP layers do not log it.
    pub(crate) fn header_value(&self) -> &HeaderValue {
        &self.value
    }

    /// Which credential this is: static credentials are generation 0, provided ones count from 1.
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    /// Sets the header on a request, replacing any value already there.
    pub(crate) fn apply(&self, headers: &mut HeaderMap) {
        headers.insert(self.name.clone(), self.value.clone());
    }
}

impl fmt::Debug for AppliedCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppliedCredential")
            .field("header", &self.name)
            .field("value", &"[redacted]")
            .field("generation", &self.generation)
            .finish()
    }
}

/// What the authenticator borrows from the client: its HTTP stack (for token requests), time,
/// randomness, the shared retry budget, and the auth settings of the builder.
#[derive(Clone)]
pub(crate) struct AuthRuntime {
    pub(crate) http: reqwest::Client,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) sleeper: Arc<dyn Sleeper>,
    pub(crate) random: Arc<dyn RandomSource>,
    pub(crate) budget: RetryBudget,
    /// The token retry policy (attempts, backoff, cap on `Retry-After`).
    pub(crate) retry: RetryPolicy,
    pub(crate) cooldown: Duration,
}

/// The token retry policy unless the client builder sets one: three attempts, backoff from
/// 200 ms up to 5 s, `Retry-After` honoured up to 10 s — a request waiting for a token should
/// not wait a minute.
pub(crate) fn default_token_retry_policy() -> RetryPolicy {
    RetryPolicy::default()
        .max_attempts(3)
        .base_delay(Duration::from_millis(200))
        .max_backoff(Duration::from_secs(5))
        .max_retry_after(Duration::from_secs(10))
}

/// Decides the credential of every request. Cheap to clone; clones share one credential cache,
/// so all clones of a client share credentials and renewals.
#[derive(Clone, Debug)]
pub(crate) struct Authenticator {
    inner: Arc<Credentials>,
}

enum Credentials {
    None,
    /// An API key or a static bearer token: nothing to renew, so no cache to consult.
    Static {
        name: HeaderName,
        value: HeaderValue,
    },
    Provided(Arc<CredentialCache>),
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::Static { name, .. } => f.debug_struct("Static").field("header", name).finish(),
            Self::Provided(cache) => cache.fmt(f),
        }
    }
}

impl Authenticator {
    /// Checks the configuration (token URL, client id) and prepares the credential cache. No
    /// network traffic happens until the first [`credential`](Self::credential).
    pub(crate) fn new(auth: Auth, runtime: AuthRuntime) -> Result<Self, AuthError> {
        let inner = match auth.kind {
            AuthKind::None => Credentials::None,
            AuthKind::ApiKey(key) => {
                let (name, value) = key.header();
                Credentials::Static { name, value }
            }
            AuthKind::Bearer(token) => {
                let (name, value) = token.header();
                Credentials::Static { name, value }
            }
            AuthKind::OAuth2(oauth) => {
                let skew = oauth.refresh_skew;
                let provider = OAuthProvider::new(*oauth, runtime.http.clone())?;
                Credentials::Provided(Arc::new(CredentialCache::new(
                    Arc::new(provider),
                    skew,
                    runtime,
                )))
            }
            AuthKind::Provider { provider, skew } => {
                Credentials::Provided(Arc::new(CredentialCache::new(provider, skew, runtime)))
            }
        };
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// The credential for the next request, or `None` without authentication. A fresh cached
    /// credential costs a short read lock; otherwise this waits for the one renewal in flight
    /// (starting it if there is none), or answers a remembered definitive failure at once.
    pub(crate) async fn credential(&self) -> Result<Option<AppliedCredential>, Arc<AuthError>> {
        match &*self.inner {
            Credentials::None => Ok(None),
            Credentials::Static { name, value } => Ok(Some(AppliedCredential {
                name: name.clone(),
                value: value.clone(),
                generation: 0,
            })),
            Credentials::Provided(cache) => cache.credential().await.map(Some),
        }
    }

    /// Called after the server answered 401 to a request sent with `rejected`. Returns whether
    /// the request should be replayed (once) with a new [`credential`](Self::credential):
    /// - a newer credential already exists (another request renewed it): `true` at once;
    /// - `rejected` is suspect (see the module docs): `false`, without asking anyone;
    /// - otherwise one renewal (shared with concurrent 401s) is made: `true` if it brought a
    ///   different credential, `false` if the provider had nothing newer (it is then suspect);
    /// - API key, bearer token, no auth: `false`.
    ///
    /// # Errors
    /// Whatever the renewal failed with.
    pub(crate) async fn on_unauthorized(
        &self,
        rejected: &AppliedCredential,
    ) -> Result<bool, Arc<AuthError>> {
        match &*self.inner {
            Credentials::None | Credentials::Static { .. } => Ok(false),
            Credentials::Provided(cache) => cache.on_unauthorized(rejected.generation).await,
        }
    }

    /// Called when a request replayed after a 401 with a renewed credential was rejected with
    /// 401 again: the credential is marked suspect for the cooldown.
    pub(crate) fn on_replay_rejected(&self, rejected: &AppliedCredential) {
        if let Credentials::Provided(cache) = &*self.inner {
            cache.mark_suspect(rejected.generation);
        }
    }
}

/// A credential ready to be attached, and when it stops being good enough to send.
#[derive(Clone)]
struct CachedToken {
    name: HeaderName,
    value: HeaderValue,
    /// `None`: no expiry was given; the credential is used until a 401.
    renew_at: Option<SystemTime>,
    generation: u64,
}

impl CachedToken {
    fn is_fresh(&self, now: SystemTime) -> bool {
        self.renew_at.is_none_or(|at| now < at)
    }

    fn applied(&self) -> AppliedCredential {
        AppliedCredential {
            name: self.name.clone(),
            value: self.value.clone(),
            generation: self.generation,
        }
    }
}

type Outcome = Result<AppliedCredential, Arc<AuthError>>;

/// The renewal in flight, the remembered failure and the suspect credential; guarded by one
/// `std::sync::Mutex` that is never held across an await.
#[derive(Default)]
struct Flight {
    running: Option<Shared<BoxFuture<'static, Outcome>>>,
    /// A definitive failure and until when it is answered without asking again.
    failure: Option<(Arc<AuthError>, SystemTime)>,
    /// A credential generation rejected after renewal, and until when 401s to it are final.
    suspect: Option<(u64, SystemTime)>,
    last_generation: u64,
}

/// Caches the credentials of one provider and renews them: ahead of expiry, after a 401, one
/// renewal at a time, with the token retry policy, the negative cache and the suspect rule.
struct CredentialCache {
    provider: Arc<dyn CredentialProvider>,
    skew: Duration,
    runtime: AuthRuntime,
    current: RwLock<Option<CachedToken>>,
    flight: Mutex<Flight>,
}

impl fmt::Debug for CredentialCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialCache")
            .field("provider", &self.provider)
            .field("generation", &self.current_generation())
            .finish_non_exhaustive()
    }
}

impl CredentialCache {
    fn new(provider: Arc<dyn CredentialProvider>, skew: Duration, runtime: AuthRuntime) -> Self {
        Self {
            provider,
            skew,
            runtime,
            current: RwLock::new(None),
            flight: Mutex::new(Flight::default()),
        }
    }

    fn flight(&self) -> std::sync::MutexGuard<'_, Flight> {
        self.flight.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn credential(self: &Arc<Self>) -> Outcome {
        if let Some(fresh) = self.fresh_token() {
            return Ok(fresh);
        }
        self.renew(None).await
    }

    async fn on_unauthorized(self: &Arc<Self>, rejected: u64) -> Result<bool, Arc<AuthError>> {
        if self.is_suspect(rejected) {
            tracing::debug!(
                generation = rejected,
                "401 to a credential already rejected after renewal; not renewing again"
            );
            return Ok(false);
        }
        let renewed = self.renew(Some(rejected)).await?;
        if renewed.generation == rejected {
            // The provider had nothing newer: replaying would be rejected the same way.
            self.mark_suspect(rejected);
            return Ok(false);
        }
        Ok(true)
    }

    fn is_suspect(&self, generation: u64) -> bool {
        let now = self.runtime.clock.now();
        self.flight()
            .suspect
            .is_some_and(|(suspect, until)| suspect == generation && now < until)
    }

    fn mark_suspect(&self, generation: u64) {
        let until = self.runtime.clock.now() + self.runtime.cooldown;
        self.flight().suspect = Some((generation, until));
    }

    /// Joins the renewal in flight or starts one. `rejected` is the generation a 401 refused
    /// (`None`: the credential is missing or stale).
    async fn renew(self: &Arc<Self>, rejected: Option<u64>) -> Outcome {
        let pending = {
            let mut flight = self.flight();
            // Re-checked under the lock: a renewal installs its credential before it leaves
            // `running`, so a caller that saw a stale credential a moment ago finds the new one
            // here instead of starting a second renewal.
            let current = self.current_token();
            match (rejected, &current) {
                (None, Some(token)) if token.is_fresh(self.runtime.clock.now()) => {
                    return Ok(token.applied());
                }
                (Some(generation), Some(token)) if token.generation != generation => {
                    return Ok(token.applied());
                }
                _ => {}
            }
            let now = self.runtime.clock.now();
            if let Some((error, until)) = &flight.failure
                && now < *until
            {
                return Err(Arc::clone(error));
            }
            match &flight.running {
                Some(running) => running.clone(),
                None => {
                    let reason = match (rejected, current) {
                        (Some(_), _) => CredentialReason::Rejected,
                        (None, Some(_)) => CredentialReason::Expiring,
                        (None, None) => CredentialReason::Initial,
                    };
                    let cache = Arc::clone(self);
                    let task = tokio::spawn(async move { cache.obtain(reason).await });
                    let running = async move {
                        task.await.unwrap_or_else(|_| {
                            Err(Arc::new(AuthError::TokenRequest(
                                "the credential renewal ended without an answer (a panic or a \
                                 runtime shutdown)"
                                    .to_owned(),
                            )))
                        })
                    }
                    .boxed()
                    .shared();
                    flight.running = Some(running.clone());
                    running
                }
            }
        };
        pending.await
    }

    /// The renewal itself, on its own task: asks the provider, retrying transient failures,
    /// then installs the result and leaves `running`.
    async fn obtain(self: Arc<Self>, reason: CredentialReason) -> Outcome {
        let mut attempts = 0u32;
        let result = loop {
            attempts += 1;
            let request = CredentialRequest::new(reason, self.runtime.clock.now());
            match self.provider.credential(request).await {
                Ok(credential) => break Ok(credential),
                Err(error) if error.is_transient() => match self.retry_delay(attempts, &error) {
                    Some(delay) => {
                        tracing::info!(
                            attempt = attempts,
                            delay_ms = delay.as_millis() as u64,
                            error = %error,
                            "credential request failed transiently; retrying"
                        );
                        self.runtime.sleeper.sleep(delay).await;
                    }
                    None => {
                        break Err(AuthError::GaveUp {
                            attempts,
                            last: Box::new(error),
                        });
                    }
                },
                Err(error) => break Err(error),
            }
        };
        let mut flight = self.flight();
        flight.running = None;
        match result {
            Ok(credential) => {
                flight.failure = None;
                Ok(self.install(&mut flight, credential))
            }
            Err(error) => {
                let error = Arc::new(error);
                if !error.is_transient() {
                    let until = self.runtime.clock.now() + self.runtime.cooldown;
                    flight.failure = Some((Arc::clone(&error), until));
                    if reason == CredentialReason::Rejected {
                        // Known bad and not replaceable: stop sending it.
                        *self.current.write().unwrap_or_else(|e| e.into_inner()) = None;
                    }
                }
                Err(error)
            }
        }
    }

    /// The wait before retrying after the `attempts`-th transient failure, or `None` when the
    /// token retry policy's attempts or the client's retry budget are used up.
    fn retry_delay(&self, attempts: u32, error: &AuthError) -> Option<Duration> {
        let policy = &self.runtime.retry;
        if attempts >= policy.attempt_limit() {
            return None;
        }
        if !self.runtime.budget.withdraw_retry() {
            tracing::warn!(
                "the client's retry budget is exhausted; not retrying the token request"
            );
            return None;
        }
        Some(match error.retry_after() {
            Some(requested) => requested.min(policy.retry_after_cap()),
            None => policy.backoff(attempts, &*self.runtime.random),
        })
    }

    /// Makes `credential` current, with its renewal time. The same value as the current one
    /// keeps its generation: nothing new was obtained.
    fn install(&self, flight: &mut Flight, credential: Credential) -> AppliedCredential {
        let now = self.runtime.clock.now();
        let renew_at = credential.expires_at.map(|expires_at| {
            let lifetime = expires_at.duration_since(now).unwrap_or_default();
            // A skew longer than half the lifetime would make a short-lived credential stale on
            // arrival and cause a renewal per request.
            expires_at - self.skew.min(lifetime / 2)
        });
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        let generation = match &*current {
            Some(token) if token.name == credential.name && token.value == credential.value => {
                token.generation
            }
            _ => {
                flight.last_generation += 1;
                flight.last_generation
            }
        };
        let token = CachedToken {
            name: credential.name,
            value: credential.value,
            renew_at,
            generation,
        };
        let applied = token.applied();
        *current = Some(token);
        applied
    }

    fn current_token(&self) -> Option<CachedToken> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn fresh_token(&self) -> Option<AppliedCredential> {
        let now = self.runtime.clock.now();
        let current = self.current.read().unwrap_or_else(|e| e.into_inner());
        current
            .as_ref()
            .filter(|token| token.is_fresh(now))
            .map(CachedToken::applied)
    }

    fn current_generation(&self) -> u64 {
        let current = self.current.read().unwrap_or_else(|e| e.into_inner());
        current.as_ref().map_or(0, |token| token.generation)
    }
}
