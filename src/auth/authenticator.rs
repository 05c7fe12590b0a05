//! The runtime side of authentication: which header each request carries, and keeping OAuth2
//! tokens fresh with exactly one token request at a time.
//!
//! Readers of a fresh token only take a short `std::sync::RwLock` read lock (never held across
//! an await). Renewal happens under a `tokio::sync::Mutex`; whoever gets it re-checks whether a
//! task ahead of it already renewed, so however many requests find the token stale at once, one
//! token request is made. The renewal itself runs on a task of its own that owns the lock, so a
//! request dropped mid-refresh cannot abandon a refresh the server has already carried out.

use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use http::{HeaderMap, HeaderName, HeaderValue};

use super::error::{AuthError, StoreOperation};
use super::oauth::{OAuth2, OAuth2Grant};
use super::static_credentials::{bearer_header_value, check_header_credential};
use super::token_endpoint::{Grant, TokenEndpoint, request_token};
use super::{Auth, AuthKind, Secret, TokenSet, TokenStore};
use crate::clock::Clock;

/// The credential attached to one request: a header plus the token generation it came from, to
/// hand back to [`Authenticator::on_unauthorized`] if the server answers 401.
#[derive(Clone)]
pub(crate) struct AppliedCredential {
    name: HeaderName,
    value: HeaderValue,
    generation: u64,
}

#[cfg_attr(not(test), allow(dead_code))] // The accessors exist for tests; the transport calls `apply`.
impl AppliedCredential {
    /// The header to set (`authorization` or `x-api-key`).
    pub(crate) fn header_name(&self) -> &HeaderName {
        &self.name
    }

    /// The header value, marked sensitive so HTTP layers do not log it.
    pub(crate) fn header_value(&self) -> &HeaderValue {
        &self.value
    }

    /// Which token this is: static credentials are generation 0, OAuth2 tokens count from 1.
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

/// Decides the credential of every request. Cheap to clone; clones share one token cache, so all
/// clones of a client share tokens and refreshes.
#[derive(Clone, Debug)]
pub(crate) struct Authenticator {
    inner: Arc<Credentials>,
}

enum Credentials {
    None,
    Static {
        name: HeaderName,
        value: HeaderValue,
    },
    OAuth(Arc<OAuthRuntime>),
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::Static { name, .. } => f.debug_struct("Static").field("header", name).finish(),
            Self::OAuth(runtime) => runtime.fmt(f),
        }
    }
}

impl Authenticator {
    /// Checks the configuration (token URL, client id) and prepares the token cache. No network
    /// traffic happens until the first [`credential`](Self::credential).
    pub(crate) fn new(
        auth: Auth,
        http: reqwest::Client,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, AuthError> {
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
                Credentials::OAuth(Arc::new(OAuthRuntime::new(*oauth, http, clock)?))
            }
        };
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// The credential for the next request, or `None` without authentication. For OAuth2 this
    /// returns the cached token while it is fresh (no waiting on anything but a short read
    /// lock), and otherwise obtains a new one, sharing a single token request with every other
    /// task that needs one at the same time.
    pub(crate) async fn credential(&self) -> Result<Option<AppliedCredential>, AuthError> {
        match &*self.inner {
            Credentials::None => Ok(None),
            Credentials::Static { name, value } => Ok(Some(AppliedCredential {
                name: name.clone(),
                value: value.clone(),
                generation: 0,
            })),
            Credentials::OAuth(runtime) => runtime.credential().await.map(Some),
        }
    }

    /// Called after the server answered 401 to a request sent with `rejected`. Returns whether
    /// the request should be replayed (once) with a new [`credential`](Self::credential):
    /// - OAuth2, `rejected` still current: one token request is made, then `true`;
    /// - OAuth2, a newer token already exists (another request renewed it): `true` at once;
    /// - OAuth2 with no way to renew (no refresh token): `false`, and later requests fail with
    ///   [`AuthError::NoRefreshToken`] instead of sending the rejected token again;
    /// - API key, bearer token, no auth: `false`.
    ///
    /// # Errors
    /// Whatever obtaining the new token failed with.
    pub(crate) async fn on_unauthorized(
        &self,
        rejected: &AppliedCredential,
    ) -> Result<bool, AuthError> {
        match &*self.inner {
            Credentials::None | Credentials::Static { .. } => Ok(false),
            Credentials::OAuth(runtime) => runtime.on_unauthorized(rejected.generation).await,
        }
    }
}

/// A token ready to be attached, and when it stops being good enough to send.
#[derive(Clone)]
struct CachedToken {
    value: HeaderValue,
    /// `None`: the server gave no lifetime; the token is used until a 401.
    renew_at: Option<SystemTime>,
    generation: u64,
}

impl CachedToken {
    fn is_fresh(&self, now: SystemTime) -> bool {
        self.renew_at.is_none_or(|at| now < at)
    }

    fn applied(&self) -> AppliedCredential {
        AppliedCredential {
            name: http::header::AUTHORIZATION,
            value: self.value.clone(),
            generation: self.generation,
        }
    }
}

/// How new access tokens are obtained once the first ones are used up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RenewalGrant {
    ClientCredentials,
    RefreshToken,
}

/// Everything only the task holding the renewal lock touches.
struct RenewalState {
    /// Tokens from the configuration, or from the store, not looked at yet.
    initial: Option<Initial>,
    /// The refresh token to use next. Replaced as soon as the server issues a new one, so a
    /// rotated refresh token is never sent twice.
    refresh_token: Option<Secret>,
    /// Tokens obtained but not saved yet because the store failed. They are newer than anything
    /// else (the refresh token that bought them may be void already), so saving them is the
    /// first thing the next renewal tries.
    held_back: Option<TokenSet>,
    last_generation: u64,
}

enum Initial {
    /// Obtained by the authorization code flow: save, then use.
    Obtained(TokenSet),
    /// Ask the store first; it may hold tokens newer than the configuration.
    LoadFromStore,
}

struct OAuthRuntime {
    endpoint: TokenEndpoint,
    grant: RenewalGrant,
    scopes: Vec<String>,
    skew: Duration,
    store: Arc<dyn TokenStore>,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    current: RwLock<Option<CachedToken>>,
    renewal: Arc<tokio::sync::Mutex<RenewalState>>,
}

impl fmt::Debug for OAuthRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth2")
            .field("client_id", &self.endpoint.client_id)
            .field("token_url", &self.endpoint.token_url.as_str())
            .field("grant", &self.grant)
            .field("generation", &self.current_generation())
            .finish_non_exhaustive()
    }
}

impl OAuthRuntime {
    fn new(
        config: OAuth2,
        http: reqwest::Client,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, AuthError> {
        let endpoint = config.endpoint()?;
        let (grant, initial, refresh_token) = match config.grant {
            OAuth2Grant::ClientCredentials => (
                RenewalGrant::ClientCredentials,
                Initial::LoadFromStore,
                None,
            ),
            OAuth2Grant::RefreshToken(token) => (
                RenewalGrant::RefreshToken,
                Initial::LoadFromStore,
                Some(token),
            ),
            OAuth2Grant::Obtained(tokens) => {
                (RenewalGrant::RefreshToken, Initial::Obtained(tokens), None)
            }
        };
        Ok(Self {
            endpoint,
            grant,
            scopes: config.scopes,
            skew: config.refresh_skew,
            store: config.store,
            http,
            clock,
            current: RwLock::new(None),
            renewal: Arc::new(tokio::sync::Mutex::new(RenewalState {
                initial: Some(initial),
                refresh_token,
                held_back: None,
                last_generation: 0,
            })),
        })
    }

    async fn credential(self: &Arc<Self>) -> Result<AppliedCredential, AuthError> {
        if let Some(fresh) = self.fresh_token() {
            return Ok(fresh);
        }
        let state = Arc::clone(&self.renewal).lock_owned().await;
        // Whoever held the lock before us may have renewed the token already.
        if let Some(fresh) = self.fresh_token() {
            return Ok(fresh);
        }
        self.renew_detached(state).await
    }

    async fn on_unauthorized(
        self: &Arc<Self>,
        rejected_generation: u64,
    ) -> Result<bool, AuthError> {
        if self.current_generation() != rejected_generation {
            return Ok(true);
        }
        let state = Arc::clone(&self.renewal).lock_owned().await;
        if self.current_generation() != rejected_generation {
            return Ok(true);
        }
        let can_renew = self.grant == RenewalGrant::ClientCredentials
            || state.refresh_token.is_some()
            || state.held_back.is_some()
            || state.initial.is_some();
        if !can_renew {
            // The token is known bad and cannot be replaced: stop sending it.
            *self.current.write().unwrap_or_else(|e| e.into_inner()) = None;
            return Ok(false);
        }
        self.renew_detached(state).await?;
        Ok(true)
    }

    /// Runs [`renew`](Self::renew) on its own task, which owns the renewal lock until it is
    /// done. If the request that started it is dropped (a timeout, a cancelled future), the
    /// token request still completes and its tokens are saved and installed: a refresh token the
    /// server has already rotated is never lost half-way, and the next task in line finds the
    /// new token instead of starting a second refresh.
    async fn renew_detached(
        self: &Arc<Self>,
        mut state: tokio::sync::OwnedMutexGuard<RenewalState>,
    ) -> Result<AppliedCredential, AuthError> {
        let runtime = Arc::clone(self);
        let task = tokio::spawn(async move { runtime.renew(&mut state).await });
        match task.await {
            Ok(outcome) => outcome,
            Err(_) => Err(AuthError::TokenRequest(
                "the token renewal task ended without an answer (a panic or a runtime shutdown)"
                    .to_owned(),
            )),
        }
    }

    fn fresh_token(&self) -> Option<AppliedCredential> {
        let now = self.clock.now();
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

    /// Installs a token newer than the current one and fresh; called with the renewal lock held.
    async fn renew(&self, state: &mut RenewalState) -> Result<AppliedCredential, AuthError> {
        if let Some(applied) = self.install_known_tokens(state).await?
            && self.fresh_token().is_some()
        {
            return Ok(applied);
        }
        let now = self.clock.now();
        let tokens = match self.grant {
            RenewalGrant::ClientCredentials => {
                let grant = Grant::ClientCredentials {
                    scopes: &self.scopes,
                };
                request_token(&self.http, &self.endpoint, grant, now).await?
            }
            RenewalGrant::RefreshToken => {
                let refresh_token = state
                    .refresh_token
                    .take()
                    .ok_or(AuthError::NoRefreshToken)?;
                let outcome = request_token(
                    &self.http,
                    &self.endpoint,
                    Grant::RefreshToken(&refresh_token),
                    now,
                )
                .await;
                let tokens = match outcome {
                    Ok(tokens) => tokens,
                    Err(error) => {
                        // Only a refused grant voids the refresh token; after a network error
                        // or a garbled answer it is still the one to try next time.
                        if !error.is_invalid_grant() {
                            state.refresh_token = Some(refresh_token);
                        }
                        return Err(error);
                    }
                };
                match tokens.refresh_token() {
                    // The server rotated the refresh token: the old one is dropped here and
                    // never sent again.
                    Some(_) => tokens,
                    // The server kept it: keep it with the tokens so the store has it too.
                    None => tokens.with_refresh_token(refresh_token),
                }
            }
        };
        state.refresh_token = tokens.refresh_token().cloned();
        self.save_and_install(state, tokens).await
    }

    /// Puts into use tokens obtained without a token request: held back after a failed save, or
    /// given at start (authorization code flow, token store). `None` if there are none.
    async fn install_known_tokens(
        &self,
        state: &mut RenewalState,
    ) -> Result<Option<AppliedCredential>, AuthError> {
        if let Some(tokens) = state.held_back.take() {
            return self.save_and_install(state, tokens).await.map(Some);
        }
        match state.initial.take() {
            None => Ok(None),
            Some(Initial::Obtained(tokens)) => {
                state.refresh_token = tokens.refresh_token().cloned();
                self.save_and_install(state, tokens).await.map(Some)
            }
            Some(Initial::LoadFromStore) => match self.store.load().await {
                Err(source) => {
                    state.initial = Some(Initial::LoadFromStore);
                    Err(AuthError::TokenStore {
                        operation: StoreOperation::Load,
                        source,
                    })
                }
                Ok(None) => Ok(None),
                Ok(Some(tokens)) => {
                    if let Some(refresh_token) = tokens.refresh_token() {
                        state.refresh_token = Some(refresh_token.clone());
                    }
                    self.install(state, &tokens).map(Some)
                }
            },
        }
    }

    /// Saves `tokens` to the store and only then makes them current. If saving fails they are
    /// held back, not used.
    async fn save_and_install(
        &self,
        state: &mut RenewalState,
        tokens: TokenSet,
    ) -> Result<AppliedCredential, AuthError> {
        if let Err(source) = self.store.save(&tokens).await {
            tracing::warn!(error = %source, "token store failed to save tokens; holding them back");
            state.held_back = Some(tokens);
            return Err(AuthError::TokenStore {
                operation: StoreOperation::Save,
                source,
            });
        }
        self.install(state, &tokens)
    }

    fn install(
        &self,
        state: &mut RenewalState,
        tokens: &TokenSet,
    ) -> Result<AppliedCredential, AuthError> {
        let access_token = tokens.access_token().expose_secret();
        check_header_credential(access_token).map_err(|problem| {
            AuthError::TokenResponseInvalidField {
                field: "access_token",
                expected: "a token of visible ASCII characters",
                found: format!("a string where {problem}"),
            }
        })?;
        let now = self.clock.now();
        let renew_at = tokens.expires_at().map(|expires_at| {
            let lifetime = expires_at.duration_since(now).unwrap_or_default();
            // A skew longer than half the lifetime would make a short-lived token stale on
            // arrival and cause a token request per API request.
            expires_at - self.skew.min(lifetime / 2)
        });
        state.last_generation += 1;
        let token = CachedToken {
            value: bearer_header_value(access_token),
            renew_at,
            generation: state.last_generation,
        };
        let applied = token.applied();
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some(token);
        Ok(applied)
    }
}
