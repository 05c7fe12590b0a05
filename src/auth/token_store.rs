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
/// A store shared by several processes can also coordinate their renewals, so a fleet makes one
/// token request per expiry instead of one per process: before a token request the SDK calls
/// [`begin_renewal`](TokenStore::begin_renewal), which either hands back tokens another process
/// obtained meanwhile ([`Renewal::Reuse`]) or grants this process a [`RenewalLease`]
/// ([`Renewal::Obtain`]) with the latest stored tokens, whose refresh token is the one to use;
/// the new tokens are then saved with [`save_renewed`](TokenStore::save_renewed), which a
/// store refuses ([`SaveOutcome::Superseded`]) when the lease has passed to another process
/// meanwhile, so a stalled holder never overwrites newer tokens; and the lease ends with
/// [`end_renewal`](TokenStore::end_renewal). The defaults grant every renewal at once and save
/// with [`save`](TokenStore::save): right for a store that only one process uses.
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

    /// Called before a token request: either tokens newer than the ones being replaced, obtained
    /// by another process ([`Renewal::Reuse`]), or the lease to make the request
    /// ([`Renewal::Obtain`]). A shared store waits here while another process holds the lease,
    /// for a bounded time. The default grants a lease at once.
    fn begin_renewal(
        &self,
        request: RenewalRequest,
    ) -> BoxFuture<'_, Result<Renewal, TokenStoreError>> {
        let _ = request;
        Box::pin(std::future::ready(Ok(Renewal::Obtain {
            lease: RenewalLease::new(0),
            latest: None,
        })))
    }

    /// Saves the tokens obtained under `lease`, unless the lease has passed to another process
    /// ([`SaveOutcome::Superseded`]: the tokens are then not used, and the SDK asks
    /// [`begin_renewal`](TokenStore::begin_renewal) again). The default is
    /// [`save`](TokenStore::save).
    fn save_renewed<'a>(
        &'a self,
        tokens: &'a TokenSet,
        lease: &'a RenewalLease,
    ) -> BoxFuture<'a, Result<SaveOutcome, TokenStoreError>> {
        let _ = lease;
        Box::pin(async move { self.save(tokens).await.map(|()| SaveOutcome::Saved) })
    }

    /// Ends `lease`, saved or not, so waiting processes need not wait for it to expire. Errors
    /// are the store's to log: the lease expires anyway. The default does nothing.
    fn end_renewal(&self, lease: RenewalLease) -> BoxFuture<'_, ()> {
        let _ = lease;
        Box::pin(std::future::ready(()))
    }
}

/// What [`TokenStore::begin_renewal`] is asked: the time, and the access token the caller wants
/// replaced (tokens with that access token are not newer).
#[derive(Debug, Clone)]
pub struct RenewalRequest {
    now: SystemTime,
    replacing: Option<Secret>,
}

impl RenewalRequest {
    /// A request at `now` to replace `replacing` (`None`: the caller has no token yet).
    pub fn new(now: SystemTime, replacing: Option<Secret>) -> Self {
        Self { now, replacing }
    }

    /// The current time by the client's clock.
    pub fn now(&self) -> SystemTime {
        self.now
    }

    /// The access token to replace.
    pub fn replacing(&self) -> Option<&Secret> {
        self.replacing.as_ref()
    }

    /// Whether `tokens` can answer this request instead of a token request: a different access
    /// token than the one being replaced, not expired at [`now`](Self::now).
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use marketing_api::auth::{RenewalRequest, TokenSet};
    /// let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    /// let request = RenewalRequest::new(now, Some("at_old".into()));
    /// assert!(!request.is_answered_by(&TokenSet::new("at_old")));
    /// assert!(request.is_answered_by(&TokenSet::new("at_new").with_expires_at(now + Duration::from_secs(60))));
    /// assert!(!request.is_answered_by(&TokenSet::new("at_new").with_expires_at(now)));
    /// ```
    pub fn is_answered_by(&self, tokens: &TokenSet) -> bool {
        self.replacing.as_ref() != Some(tokens.access_token())
            && tokens.expires_at().is_none_or(|at| self.now < at)
    }
}

/// The answer of [`TokenStore::begin_renewal`].
#[derive(Debug)]
#[non_exhaustive]
pub enum Renewal {
    /// Another process obtained these tokens meanwhile: use them, make no token request.
    Reuse(TokenSet),
    /// This process makes the token request under `lease`. `latest` is what the store holds now
    /// (its refresh token is the one to use: another process may have rotated it).
    Obtain {
        /// The lease to hand to [`TokenStore::save_renewed`] and [`TokenStore::end_renewal`].
        lease: RenewalLease,
        /// The tokens the store holds, if any.
        latest: Option<TokenSet>,
    },
}

/// The right to renew tokens for a while, identified by a fencing number that grows with every
/// lease granted, so a store can refuse a save from a holder whose lease has passed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenewalLease {
    fence: u64,
}

impl RenewalLease {
    /// A lease with fencing number `fence` (0: a store that does not fence).
    pub fn new(fence: u64) -> Self {
        Self { fence }
    }

    /// The fencing number.
    pub fn fence(&self) -> u64 {
        self.fence
    }
}

/// The answer of [`TokenStore::save_renewed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SaveOutcome {
    /// Saved: the tokens may be used.
    Saved,
    /// Refused: the lease passed to another process, whose tokens are (or will be) newer.
    Superseded,
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
