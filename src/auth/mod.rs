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
//!
//! However many requests find the access token expired at the same moment, exactly one token
//! request is made and all of them wait for it. Clones of a client share the tokens.
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

mod authenticator;
mod code_flow;
mod endpoint_url;
mod error;
mod oauth;
mod secret;
mod static_credentials;
mod token_endpoint;
mod token_store;

#[cfg(test)]
mod tests;

#[allow(unused_imports)] // Used by the transport.
pub(crate) use authenticator::{AppliedCredential, Authenticator};
pub use code_flow::{AuthorizationCodeFlow, PendingAuthorization};
pub use error::{AuthError, CredentialProblem, JsonKind, StoreOperation, UrlRole};
pub use oauth::{DEFAULT_REFRESH_SKEW, OAuth2};
pub use secret::Secret;
pub use static_credentials::{API_KEY_HEADER, ApiKey, BearerToken};
pub use token_store::{InMemoryTokenStore, TokenSet, TokenStore, TokenStoreError};

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
}

impl Auth {
    /// No authentication: requests carry no credential.
    pub fn none() -> Self {
        Self {
            kind: AuthKind::None,
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
        }
    }
}
