//! OAuth2 as a [`CredentialProvider`]: token requests, refresh-token rotation and the token
//! store. Caching, single flight and retries are the credential cache's job
//! ([`super::authenticator`]); this module only knows how to get the next token set.

use std::fmt;
use std::sync::Arc;

use futures::future::BoxFuture;

use super::error::{AuthError, StoreOperation};
use super::oauth::{OAuth2, OAuth2Grant};
use super::provider::{Credential, CredentialProvider, CredentialReason, CredentialRequest};
use super::token_endpoint::{Grant, TokenEndpoint, request_token};
use super::token_store::{Renewal, RenewalRequest, SaveOutcome};
use super::{Secret, TokenSet, TokenStore};

/// How many times a renewal starts over after its save was refused by fencing (the lease passed
/// to another process, whose tokens are then reused) before the attempt fails.
const MAX_SUPERSEDED_ROUNDS: u32 = 3;

/// How new access tokens are obtained once the first ones are used up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RenewalGrant {
    ClientCredentials,
    RefreshToken,
}

/// What only one provider call at a time touches.
struct RenewalState {
    /// Tokens from the configuration, or from the store, not looked at yet.
    initial: Option<Initial>,
    /// The refresh token to use next. Replaced as soon as the server issues a new one, so a
    /// rotated refresh token is never sent twice.
    refresh_token: Option<Secret>,
    /// Tokens obtained but not saved yet because the store failed. They are newer than anything
    /// else (the refresh token that bought them may be void already), so saving them is the
    /// first thing the next call tries.
    held_back: Option<TokenSet>,
    /// The access token returned last: a shared store's tokens are newer only if they differ.
    last_access: Option<Secret>,
}

enum Initial {
    /// Obtained by the authorization code flow: save, then use.
    Obtained(TokenSet),
    /// Ask the store first; it may hold tokens newer than the configuration.
    LoadFromStore,
}

/// The OAuth2 client of one SDK client: obtains, rotates and stores tokens.
pub(crate) struct OAuthProvider {
    endpoint: TokenEndpoint,
    grant: RenewalGrant,
    scopes: Vec<String>,
    store: Arc<dyn TokenStore>,
    http: reqwest::Client,
    // The credential cache never overlaps calls; the lock makes that a guarantee of this type
    // too, so the refresh token cannot be used twice whoever calls.
    state: tokio::sync::Mutex<RenewalState>,
}

impl fmt::Debug for OAuthProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth2")
            .field("client_id", &self.endpoint.client_id)
            .field("token_url", &self.endpoint.token_url.as_str())
            .field("grant", &self.grant)
            .finish_non_exhaustive()
    }
}

impl CredentialProvider for OAuthProvider {
    fn credential(
        &self,
        request: CredentialRequest,
    ) -> BoxFuture<'_, Result<Credential, AuthError>> {
        Box::pin(async move {
            let mut state = self.state.lock().await;
            let tokens = self.next_tokens(&mut state, request).await?;
            state.last_access = Some(tokens.access_token().clone());
            credential_from(&tokens)
        })
    }
}

impl OAuthProvider {
    pub(crate) fn new(config: OAuth2, http: reqwest::Client) -> Result<Self, AuthError> {
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
            store: config.store,
            http,
            state: tokio::sync::Mutex::new(RenewalState {
                initial: Some(initial),
                refresh_token,
                held_back: None,
                last_access: None,
            }),
        })
    }

    /// The token set to use next: tokens already known (held back, obtained by the code flow,
    /// in the store and not expired), else a token request. Saved to the store before returned.
    async fn next_tokens(
        &self,
        state: &mut RenewalState,
        request: CredentialRequest,
    ) -> Result<TokenSet, AuthError> {
        if let Some(tokens) = self.known_tokens(state, request).await? {
            return Ok(tokens);
        }
        let mut superseded = 0;
        loop {
            let renewal = RenewalRequest::new(request.now(), state.last_access.clone());
            let lease = match self.store.begin_renewal(renewal).await {
                Err(source) => {
                    return Err(AuthError::TokenStore {
                        operation: StoreOperation::Lease,
                        source,
                    });
                }
                Ok(Renewal::Reuse(tokens)) => {
                    // Another process renewed: its refresh token is the current one.
                    if let Some(refresh_token) = tokens.refresh_token() {
                        state.refresh_token = Some(refresh_token.clone());
                    }
                    return Ok(tokens);
                }
                Ok(Renewal::Obtain { lease, latest }) => {
                    // The store's refresh token is the fleet's newest: another process may have
                    // rotated the one this process knows.
                    if let Some(refresh_token) = latest.as_ref().and_then(TokenSet::refresh_token) {
                        state.refresh_token = Some(refresh_token.clone());
                    }
                    lease
                }
            };
            let tokens = match self.request_tokens(state, request).await {
                Ok(tokens) => tokens,
                Err(error) => {
                    self.store.end_renewal(lease).await;
                    return Err(error);
                }
            };
            state.refresh_token = tokens.refresh_token().cloned();
            let saved = self.store.save_renewed(&tokens, &lease).await;
            self.store.end_renewal(lease).await;
            match saved {
                Ok(SaveOutcome::Saved) => return Ok(tokens),
                Ok(SaveOutcome::Superseded) => {
                    superseded += 1;
                    tracing::warn!(
                        "the renewal lease passed to another process before the new tokens were \
                         saved; using that process's tokens instead"
                    );
                    if superseded >= MAX_SUPERSEDED_ROUNDS {
                        return Err(AuthError::TokenStore {
                            operation: StoreOperation::Save,
                            source: super::TokenStoreError::new(
                                "the renewal lease kept passing to other processes",
                            ),
                        });
                    }
                }
                Err(source) => {
                    tracing::warn!(error = %source, "token store failed to save tokens; holding them back");
                    state.held_back = Some(tokens);
                    return Err(AuthError::TokenStore {
                        operation: StoreOperation::Save,
                        source,
                    });
                }
            }
        }
    }

    /// One token request with the configured grant (client credentials, or the refresh token
    /// known now, which is then spent).
    async fn request_tokens(
        &self,
        state: &mut RenewalState,
        request: CredentialRequest,
    ) -> Result<TokenSet, AuthError> {
        Ok(match self.grant {
            RenewalGrant::ClientCredentials => {
                let grant = Grant::ClientCredentials {
                    scopes: &self.scopes,
                };
                request_token(&self.http, &self.endpoint, grant, request.now()).await?
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
                    request.now(),
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
        })
    }

    /// Tokens obtained without a token request: held back after a failed save, given at start
    /// (authorization code flow), or in the token store. `None` if there are none worth using.
    async fn known_tokens(
        &self,
        state: &mut RenewalState,
        request: CredentialRequest,
    ) -> Result<Option<TokenSet>, AuthError> {
        if let Some(tokens) = state.held_back.take() {
            return self.save(state, tokens).await.map(Some);
        }
        match state.initial.take() {
            None => Ok(None),
            Some(Initial::Obtained(tokens)) => {
                state.refresh_token = tokens.refresh_token().cloned();
                self.save(state, tokens).await.map(Some)
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
                    // An expired stored token, or one the API just refused, is not worth
                    // sending: its refresh token is what the store was good for.
                    let usable = request.reason() != CredentialReason::Rejected
                        && tokens.expires_at().is_none_or(|at| request.now() < at);
                    Ok(usable.then_some(tokens))
                }
            },
        }
    }

    /// Saves `tokens` to the store and only then returns them. If saving fails they are held
    /// back, not used.
    async fn save(
        &self,
        state: &mut RenewalState,
        tokens: TokenSet,
    ) -> Result<TokenSet, AuthError> {
        if let Err(source) = self.store.save(&tokens).await {
            tracing::warn!(error = %source, "token store failed to save tokens; holding them back");
            state.held_back = Some(tokens);
            return Err(AuthError::TokenStore {
                operation: StoreOperation::Save,
                source,
            });
        }
        Ok(tokens)
    }
}

/// The bearer credential of a token set, expiring with its access token.
fn credential_from(tokens: &TokenSet) -> Result<Credential, AuthError> {
    let credential =
        Credential::bearer(tokens.access_token().expose_secret()).map_err(|error| match error {
            AuthError::InvalidBearerToken { problem } => AuthError::TokenResponseInvalidField {
                field: "access_token",
                expected: "a token of visible ASCII characters",
                found: format!("a string where {problem}"),
            },
            other => other,
        })?;
    Ok(match tokens.expires_at() {
        Some(at) => credential.expires_at(at),
        None => credential,
    })
}
