//! Authentication: API keys, static bearer tokens and OAuth2 that refreshes itself.
//!
//! Pick one and give it to the client builder as an [`Auth`] (every credential type converts
//! into it):
//!
//! - [`ApiKey`]: sent as `X-Api-Key` on every request.
//! - [`BearerToken`]: a token obtained elsewhere, sent as `Authorization: Bearer ...`.
//! - [`OAuth2`]: the client credentials grant, or a stored refresh token; the SDK obtains access
//!   tokens, renews them shortly before they expire (and once after a 401), and hands every new
//!   token set to a [`TokenStore`] before using it.
//! - [`AuthorizationCodeFlow`]: a user logs in (with PKCE); the code is exchanged for an
//!   [`OAuth2`] that runs on the user's refresh token.
//! - [`Auth::provider`]: your own [`CredentialProvider`] (a vault, a sidecar's token file, a
//!   cloud workload identity); the SDK caches and renews what it returns like OAuth2 tokens.
//!
//! However many requests find the credential expired at the same moment, exactly one token
//! request (or provider call) is made and all of them share its outcome, success or failure.
//! Clones of a client share the credentials. Transient failures of the token endpoint (connection
//! errors, 408, 429, 5xx) are retried with backoff and `Retry-After`
//! ([`ClientBuilder::token_retry_policy`](crate::ClientBuilder::token_retry_policy)); definitive
//! ones (`invalid_client`, `invalid_grant`, other 4xx) are answered again without a new request
//! for the auth cooldown ([`ClientBuilder::auth_cooldown`](crate::ClientBuilder::auth_cooldown),
//! default [`DEFAULT_AUTH_COOLDOWN`]). A credential that the API rejects with 401 is renewed once
//! and the request replayed; if the replay is rejected too, the credential is suspect for the
//! cooldown and further 401s are reported without renewing, so an API that refuses everything
//! costs one renewal per cooldown, not one per request.
//!
//! Secrets (API keys, tokens, client secrets, PKCE verifiers) are wrapped in [`Secret`] and
//! never appear in `Debug`, `Display`, logs or errors.
//!
//! ```
//! use marketing_api::auth::{ApiKey, Auth, OAuth2};
//!
//! let by_key: Auth = ApiKey::new("mk_live_51H8")?.into();
//! let by_oauth: Auth = OAuth2::client_credentials(
//!     "cli_123",
//!     "client-secret",
//!     "https://api.example.com/v1/oauth/token",
//! )
//! .scopes(["campaigns:read"])
//! .into();
//! # let _ = (by_key, by_oauth);
//! # Ok::<(), marketing_api::auth::AuthError>(())
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

mod authenticator;
mod code_flow;
mod endpoint_url;
mod error;
mod oauth;
mod oauth_runtime;
mod provider;
mod secret;
mod static_credentials;
mod token_endpoint;
mod token_store;

#[cfg(test)]
mod lease_tests;
#[cfg(test)]
mod tests;

pub use authenticator::DEFAULT_AUTH_COOLDOWN;
#[allow(unused_imports)] // Used by the transport.
pub(crate) use authenticator::{
    AppliedCredential, AuthRuntime, Authenticator, default_token_retry_policy,
};
pub use code_flow::{AuthorizationCodeFlow, PendingAuthorization};
pub use error::{AuthError, CredentialProblem, JsonKind, StoreOperation, UrlRole};
pub use oauth::{DEFAULT_REFRESH_SKEW, OAuth2};
pub use provider::{Credential, CredentialProvider, CredentialReason, CredentialRequest};
pub use secret::Secret;
pub use static_credentials::{API_KEY_HEADER, ApiKey, BearerToken};
pub use token_store::{
    InMemoryTokenStore, Renewal, RenewalLease, RenewalRequest, SaveOutcome, TokenSet, TokenStore,
    TokenStoreError,
};

/// How the client authenticates its requests: built from an [`ApiKey`], a [`BearerToken`] or an
/// [`OAuth2`] configuration (`.into()`), or [`Auth::none`].
///
/// ```
/// use marketing_api::auth::{Auth, BearerToken};
/// let auth = Auth::from(BearerToken::new("tok_abc")?);
/// assert_eq!(format!("{auth:?}"), "Auth::Bearer(BearerToken([redacted]))");
/// # Ok::<(), marketing_api::auth::AuthError>(())
/// ```
#[derive(Clone)]
pub struct Auth {
    kind: AuthKind,
}

#[derive(Clone)]
enum AuthKind {
    None,
    ApiKey(ApiKey),
    Bearer(BearerToken),
    OAuth2(Box<OAuth2>),
    Provider {
        provider: Arc<dyn CredentialProvider>,
        skew: Duration,
    },
}

impl Auth {
    /// Who requests authenticate as, for audit records and interceptors; never the secret. An
    /// API key is named by its first characters — at most 11, the length of the prefix the
    /// platform lists keys by, and never more than a third of the key — so a record can be
    /// matched to its key without revealing it.
    pub(crate) fn identity(&self) -> String {
        match &self.kind {
            AuthKind::None => "none".into(),
            AuthKind::ApiKey(key) => format!("api_key:{}", key.public_prefix()),
            AuthKind::Bearer(_) => "bearer".into(),
            AuthKind::OAuth2(oauth) => format!("oauth_client:{}", oauth.client_id),
            AuthKind::Provider { .. } => "provider".into(),
        }
    }

    /// No authentication: requests carry no credential.
    pub fn none() -> Self {
        Self {
            kind: AuthKind::None,
        }
    }

    /// Credentials from your own [`CredentialProvider`]: the SDK caches them, asks again
    /// [`DEFAULT_REFRESH_SKEW`] before they expire (at most half their remaining lifetime
    /// before) and after a 401, one call at a time, retrying transient failures. See
    /// [`CredentialProvider`] for an example.
    pub fn provider(provider: impl CredentialProvider) -> Self {
        Self::provider_with_skew(provider, DEFAULT_REFRESH_SKEW)
    }

    /// [`Auth::provider`] with another refresh skew: how long before a credential's expiry the
    /// provider is asked for the next one.
    pub fn provider_with_skew(provider: impl CredentialProvider, skew: Duration) -> Self {
        Self {
            kind: AuthKind::Provider {
                provider: Arc::new(provider),
                skew,
            },
        }
    }

    /// Whether this is [`Auth::none`].
    pub fn is_none(&self) -> bool {
        matches!(self.kind, AuthKind::None)
    }
}

impl Default for Auth {
    fn default() -> Self {
        Self::none()
    }
}

impl From<ApiKey> for Auth {
    fn from(key: ApiKey) -> Self {
        Self {
            kind: AuthKind::ApiKey(key),
        }
    }
}

impl From<BearerToken> for Auth {
    fn from(token: BearerToken) -> Self {
        Self {
            kind: AuthKind::Bearer(token),
        }
    }
}

impl From<OAuth2> for Auth {
    fn from(oauth: OAuth2) -> Self {
        Self {
            kind: AuthKind::OAuth2(Box::new(oauth)),
        }
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            AuthKind::None => f.write_str("Auth::None"),
            AuthKind::ApiKey(key) => write!(f, "Auth::ApiKey({key:?})"),
            AuthKind::Bearer(token) => write!(f, "Auth::Bearer({token:?})"),
            AuthKind::OAuth2(oauth) => write!(f, "Auth::OAuth2({oauth:?})"),
            AuthKind::Provider { provider, skew } => {
                write!(f, "Auth::Provider({provider:?}, skew: {skew:?})")
            }
        }
    }
}
