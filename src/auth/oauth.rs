//! OAuth2 configuration: client credentials, or a refresh token obtained earlier.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::endpoint_url::parse_server_url;
use super::error::{AuthError, UrlRole};
use super::token_endpoint::TokenEndpoint;
use super::{InMemoryTokenStore, Secret, TokenSet, TokenStore};

/// How long before its announced expiry an access token is replaced, by default.
pub const DEFAULT_REFRESH_SKEW: Duration = Duration::from_secs(30);

/// OAuth2 authentication: the SDK obtains access tokens from the token endpoint, refreshes them
/// before they expire and after a 401, and hands every new token set to a [`TokenStore`].
///
/// Build one with [`OAuth2::client_credentials`] (server-to-server),
/// [`OAuth2::refresh_token`] (a refresh token you stored earlier) or
/// [`AuthorizationCodeFlow::exchange`](super::AuthorizationCodeFlow::exchange) (a user logged
/// in), then pass it to the client builder. The URL and client id are checked when the client
/// is built.
///
/// ```
/// use marketing_api::auth::OAuth2;
/// use std::time::Duration;
///
/// let oauth = OAuth2::client_credentials("cli_123", "s3cr3t", "https://api.example.com/v1/oauth/token")
///     .scopes(["campaigns:read", "campaigns:write"])
///     .refresh_skew(Duration::from_secs(60));
/// assert!(!format!("{oauth:?}").contains("s3cr3t"));
/// ```
#[must_use = "an OAuth2 configuration does nothing until it is given to the client builder"]
#[derive(Clone)]
pub struct OAuth2 {
    pub(crate) client_id: String,
    pub(crate) client_secret: Option<Secret>,
    pub(crate) token_url: String,
    pub(crate) grant: OAuth2Grant,
    pub(crate) scopes: Vec<String>,
    pub(crate) refresh_skew: Duration,
    pub(crate) store: Arc<dyn TokenStore>,
    pub(crate) allow_insecure_http: bool,
}

/// How new access tokens are obtained.
#[derive(Clone)]
pub(crate) enum OAuth2Grant {
    /// `grant_type=client_credentials` every time.
    ClientCredentials,
    /// `grant_type=refresh_token`, starting from this refresh token (a newer one from the store
    /// wins).
    RefreshToken(Secret),
    /// Tokens already obtained (authorization code flow); refreshed with their refresh token.
    Obtained(TokenSet),
}

impl OAuth2 {
    /// The client credentials grant (RFC 6749 §4.4): the application authenticates as itself
    /// with its client id and secret.
    pub fn client_credentials(
        client_id: impl Into<String>,
        client_secret: impl Into<Secret>,
        token_url: impl Into<String>,
    ) -> Self {
        Self::with_grant(
            client_id.into(),
            Some(client_secret.into()),
            token_url.into(),
            OAuth2Grant::ClientCredentials,
        )
    }

    /// Starts from a refresh token obtained earlier (for example by the authorization code flow
    /// in a previous run). Public clients pass `None` as the secret.
    ///
    /// If the [`TokenStore`] holds tokens, those are used instead: they are newer.
    pub fn refresh_token(
        client_id: impl Into<String>,
        client_secret: Option<Secret>,
        token_url: impl Into<String>,
        refresh_token: impl Into<Secret>,
    ) -> Self {
        Self::with_grant(
            client_id.into(),
            client_secret,
            token_url.into(),
            OAuth2Grant::RefreshToken(refresh_token.into()),
        )
    }

    pub(crate) fn with_grant(
        client_id: String,
        client_secret: Option<Secret>,
        token_url: String,
        grant: OAuth2Grant,
    ) -> Self {
        Self {
            client_id,
            client_secret,
            token_url,
            grant,
            scopes: Vec::new(),
            refresh_skew: DEFAULT_REFRESH_SKEW,
            store: Arc::new(InMemoryTokenStore::new()),
            allow_insecure_http: false,
        }
    }

    /// The scopes to request with the client credentials grant (sent space-separated as
    /// `scope`). Refreshes keep the scopes of the original grant.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// How long before its expiry an access token is replaced (default
    /// [`DEFAULT_REFRESH_SKEW`], 30 s), so a request never leaves with a token that expires on
    /// the way. For tokens that live less than twice the skew, half their lifetime is used.
    pub fn refresh_skew(mut self, skew: Duration) -> Self {
        self.refresh_skew = skew;
        self
    }

    /// Where every new token set is saved before use (default: an [`InMemoryTokenStore`]).
    pub fn token_store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.store = store;
        self
    }

    /// Allows a plain `http://` token URL on a non-loopback host. Only for trusted test
    /// networks: the client secret and tokens then travel in clear text. Loopback hosts
    /// (`127.0.0.0/8`, `::1`, `localhost`) are always allowed.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Checks the configuration and returns where and as whom to ask for tokens.
    pub(crate) fn endpoint(&self) -> Result<TokenEndpoint, AuthError> {
        if self.client_id.trim().is_empty() {
            return Err(AuthError::EmptyClientId);
        }
        let token_url =
            parse_server_url(&self.token_url, UrlRole::TokenUrl, self.allow_insecure_http)?;
        Ok(TokenEndpoint {
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
            token_url,
        })
    }
}

impl fmt::Debug for OAuth2 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let grant = match &self.grant {
            OAuth2Grant::ClientCredentials => "client_credentials",
            OAuth2Grant::RefreshToken(_) => "refresh_token",
            OAuth2Grant::Obtained(_) => "authorization_code",
        };
        f.debug_struct("OAuth2")
            .field("grant", &grant)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("token_url", &self.token_url)
            .field("scopes", &self.scopes)
            .field("refresh_skew", &self.refresh_skew)
            .field("store", &self.store)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .finish()
    }
}
