//! Where OAuth2 tokens live between refreshes, and the user hook to persist them.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Mutex;
use std::time::SystemTime;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use super::Secret;

/// The tokens obtained from the authorization server.
///
/// `Debug` shows whether each token is present and when the access token expires, never the
/// tokens themselves.
///
/// ```
/// use marketing_api::auth::TokenSet;
/// let tokens = TokenSet::new("at_123").with_refresh_token("rt_456");
/// assert_eq!(tokens.access_token().expose_secret(), "at_123");
/// assert!(!format!("{tokens:?}").contains("rt_456"));
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSet {
    access_token: Secret,
    refresh_token: Option<Secret>,
    expires_at: Option<SystemTime>,
    scopes: Option<Vec<String>>,
}

impl TokenSet {
    /// A token set holding only an access token that never expires on its own (it is replaced
    /// when the API answers 401).
    pub fn new(access_token: impl Into<Secret>) -> Self {
        Self {
            access_token: access_token.into(),
            refresh_token: None,
            expires_at: None,
            scopes: None,
        }
    }

    /// Adds the refresh token.
    #[must_use]
    pub fn with_refresh_token(mut self, refresh_token: impl Into<Secret>) -> Self {
        self.refresh_token = Some(refresh_token.into());
        self
    }

    /// Sets when the access token expires.
    #[must_use]
    pub fn with_expires_at(mut self, expires_at: SystemTime) -> Self {
        self.expires_at = Some(expires_at);
        self
    }

    /// Sets the scopes the server granted.
    #[must_use]
    pub fn with_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// The access token sent with API requests.
    pub fn access_token(&self) -> &Secret {
        &self.access_token
    }

    /// The refresh token, if the server issued one.
    pub fn refresh_token(&self) -> Option<&Secret> {
        self.refresh_token.as_ref()
    }

    /// When the access token expires, if the server said.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at
    }

    /// The scopes the server granted, if it said (otherwise, those requested).
    pub fn scopes(&self) -> Option<&[String]> {
        self.scopes.as_deref()
    }
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &self.access_token)
            .field("refresh_token", &self.refresh_token)
            .field("expires_at", &self.expires_at)
            .field("scopes", &self.scopes)
            .finish()
    }
}

/// An error from a [`TokenStore`]: wraps whatever the store's backend reported.
#[derive(Debug)]
pub struct TokenStoreError {
    source: Box<dyn StdError + Send + Sync>,
}

impl TokenStoreError {
    /// Wraps the backend's error (anything convertible to a boxed error, including a `String`).
    pub fn new(source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self {
            source: source.into(),
        }
    }
}

impl fmt::Display for TokenStoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The backend's own message is the `source()`, printed by chain reporters.
        f.write_str("the token store backend failed")
    }
}

impl StdError for TokenStoreError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.source)
    }
}

/// Persists OAuth2 tokens, so a rotated refresh token survives a restart.
///
/// The SDK calls [`save`](TokenStore::save) after every successful token request and before the
/// new access token is used: when the server rotates the refresh token, the old one is already
/// invalid, so losing the new one would lock the application out. If `save` fails, the request
/// that needed the token fails with [`AuthError::TokenStore`](super::AuthError::TokenStore), the
/// new tokens are held back in memory and saving is retried on the next request.
///
/// [`load`](TokenStore::load) is called once, before the first token is needed; tokens it
/// returns take precedence over the refresh token given in the configuration (they are newer).
/// Tokens obtained by [`AuthorizationCodeFlow::exchange`](super::AuthorizationCodeFlow::exchange)
/// are saved before first use and `load` is not called.
///
/// Calls never overlap: the SDK serialises them behind its refresh lock.
///
/// ```
/// use futures::future::{BoxFuture, FutureExt};
/// use marketing_api::auth::{TokenSet, TokenStore, TokenStoreError};
///
/// #[derive(Debug)]
/// struct FileStore(std::path::PathBuf);
///
/// impl TokenStore for FileStore {
///     fn save(&self, tokens: &TokenSet) -> BoxFuture<'_, Result<(), TokenStoreError>> {
///         let json = serde_json::to_vec(tokens);
///         async move {
///             let json = json.map_err(TokenStoreError::new)?;
///             std::fs::write(&self.0, json).map_err(TokenStoreError::new)
///         }
///         .boxed()
///     }
///     fn load(&self) -> BoxFuture<'_, Result<Option<TokenSet>, TokenStoreError>> {
///         async move {
///             match std::fs::read(&self.0) {
///                 Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(TokenStoreError::new),
///                 Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
///                 Err(e) => Err(TokenStoreError::new(e)),
///             }
///         }
///         .boxed()
///     }
/// }
/// ```
pub trait TokenStore: Send + Sync + fmt::Debug {
    /// Persists `tokens`, replacing what was stored before.
    fn save(&self, tokens: &TokenSet) -> BoxFuture<'_, Result<(), TokenStoreError>>;

    /// The tokens stored last, or `None` if nothing was stored yet.
    fn load(&self) -> BoxFuture<'_, Result<Option<TokenSet>, TokenStoreError>>;
}

/// The default [`TokenStore`]: keeps the latest tokens in memory only.
#[derive(Debug, Default)]
pub struct InMemoryTokenStore {
    tokens: Mutex<Option<TokenSet>>,
}

impl InMemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The tokens saved last.
    pub fn current(&self) -> Option<TokenSet> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<TokenSet>> {
        // A poisoned lock only means a panic elsewhere; the stored value is still whole.
        self.tokens.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl TokenStore for InMemoryTokenStore {
    fn save(&self, tokens: &TokenSet) -> BoxFuture<'_, Result<(), TokenStoreError>> {
        *self.lock() = Some(tokens.clone());
        Box::pin(std::future::ready(Ok(())))
    }

    fn load(&self) -> BoxFuture<'_, Result<Option<TokenSet>, TokenStoreError>> {
        let tokens = self.lock().clone();
        Box::pin(std::future::ready(Ok(tokens)))
    }
}
