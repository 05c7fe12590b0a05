//! The authorization code flow with PKCE (RFC 6749 §4.1, RFC 7636): send the user to the
//! authorization server, then exchange the code it returns for tokens.

use std::fmt;
use std::sync::Arc;

use oauth2::basic::BasicClient;
use oauth2::{AuthUrl, ClientId, CsrfToken, PkceCodeChallenge, RedirectUrl, Scope};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use url::Url;

use super::Secret;
use super::endpoint_url::{parse_redirect_uri, parse_server_url};
use super::error::{AuthError, UrlRole};
use super::oauth::{OAuth2, OAuth2Grant};
use super::token_endpoint::{Grant, request_token};
use crate::clock::{Clock, SystemClock};

/// The authorization code flow with PKCE (S256), for acting on behalf of a user.
///
/// 1. [`authorize_url`](Self::authorize_url) gives the URL to send the user's browser to and a
///    [`PendingAuthorization`] to keep (in the session, for example: it is `Serialize`).
/// 2. The authorization server redirects to `redirect_uri?code=...&state=...`.
/// 3. [`exchange`](Self::exchange) checks `state`, exchanges the code and returns an
///    [`OAuth2`] that uses the obtained tokens and refreshes them with the refresh token.
///
/// ```
/// use marketing_api::auth::AuthorizationCodeFlow;
///
/// let flow = AuthorizationCodeFlow::new(
///     "cli_123",
///     None,
///     "https://api.example.com/v1/oauth/authorize",
///     "https://api.example.com/v1/oauth/token",
///     "https://app.example.com/callback",
/// )
/// .scopes(["contacts:read"]);
/// let (url, pending) = flow.authorize_url()?;
/// assert!(url.query_pairs().any(|(k, v)| k == "code_challenge_method" && v == "S256"));
/// let stash = serde_json::to_string(&pending).expect("serializable");
/// # let _ = stash;
/// # Ok::<(), marketing_api::auth::AuthError>(())
/// ```
#[must_use = "the flow does nothing until authorize_url() is called"]
#[derive(Clone)]
pub struct AuthorizationCodeFlow {
    client_id: String,
    client_secret: Option<Secret>,
    authorize_url: String,
    token_url: String,
    redirect_uri: String,
    scopes: Vec<String>,
    allow_insecure_http: bool,
    clock: Arc<dyn Clock>,
}

impl AuthorizationCodeFlow {
    /// Configures the flow. Public clients (mobile, desktop, single-page apps) pass `None` as the
    /// secret and rely on PKCE. The URLs are checked by [`authorize_url`](Self::authorize_url)
    /// and [`exchange`](Self::exchange).
    pub fn new(
        client_id: impl Into<String>,
        client_secret: Option<Secret>,
        authorize_url: impl Into<String>,
        token_url: impl Into<String>,
        redirect_uri: impl Into<String>,
    ) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret,
            authorize_url: authorize_url.into(),
            token_url: token_url.into(),
            redirect_uri: redirect_uri.into(),
            scopes: Vec::new(),
            allow_insecure_http: false,
            clock: Arc::new(SystemClock),
        }
    }

    /// The scopes to ask the user for.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Allows plain `http://` authorize and token URLs on non-loopback hosts (trusted test
    /// networks only). Carried over to the [`OAuth2`] that [`exchange`](Self::exchange) returns.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// The clock that turns the token's `expires_in` into an expiry time; give the same clock as
    /// the client's (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The URL to send the user to, with a fresh random `state` and PKCE challenge, and the
    /// [`PendingAuthorization`] holding the matching secrets, to keep until the user comes back.
    ///
    /// # Errors
    /// [`AuthError::InvalidUrl`] or [`AuthError::InsecureUrl`] if a configured URL is unusable,
    /// [`AuthError::EmptyClientId`] if the client id is empty.
    pub fn authorize_url(&self) -> Result<(Url, PendingAuthorization), AuthError> {
        if self.client_id.trim().is_empty() {
            return Err(AuthError::EmptyClientId);
        }
        let authorize_url = parse_server_url(
            &self.authorize_url,
            UrlRole::AuthorizeUrl,
            self.allow_insecure_http,
        )?;
        // Checked now so a bad token URL is reported before the user is sent away.
        parse_server_url(&self.token_url, UrlRole::TokenUrl, self.allow_insecure_http)?;
        let redirect_uri = parse_redirect_uri(&self.redirect_uri)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state) = BasicClient::new(ClientId::new(self.client_id.clone()))
            .set_auth_uri(AuthUrl::from_url(authorize_url))
            .set_redirect_uri(RedirectUrl::from_url(redirect_uri))
            .authorize_url(CsrfToken::new_random)
            .add_scopes(self.scopes.iter().cloned().map(Scope::new))
            .set_pkce_challenge(challenge)
            .url();
        Ok((
            url,
            PendingAuthorization {
                state: Secret::new(state.secret().as_str()),
                pkce_verifier: Secret::new(verifier.secret().as_str()),
            },
        ))
    }

    /// Checks the `state` the user came back with against `pending`, exchanges `code` (with the
    /// PKCE verifier) for tokens, and returns an [`OAuth2`] that starts with the obtained access
    /// token and refreshes it with the obtained refresh token. Configure it further (token store,
    /// skew) before giving it to the client builder; the tokens are saved to the store before
    /// their first use.
    ///
    /// The token request goes through `client`'s HTTP stack: its TLS settings (minimum version,
    /// pins, extra roots), timeouts and connection pool. Any client works, including one built
    /// without authentication for the purpose (`Client::builder(url).build()?`); its own
    /// credentials are not sent to the token endpoint.
    ///
    /// # Errors
    /// [`AuthError::StateMismatch`] if `returned_state` is not the pending one (the code is then
    /// not sent anywhere); any token endpoint error (`invalid_grant` for a used or expired code,
    /// unreachable endpoint, malformed response).
    pub async fn exchange(
        &self,
        client: &crate::Client,
        code: &str,
        returned_state: &str,
        pending: PendingAuthorization,
    ) -> Result<OAuth2, AuthError> {
        let expected = pending.state.expose_secret().as_bytes();
        if !bool::from(expected.ct_eq(returned_state.as_bytes())) {
            return Err(AuthError::StateMismatch);
        }
        let mut oauth = OAuth2::with_grant(
            self.client_id.clone(),
            self.client_secret.clone(),
            self.token_url.clone(),
            OAuth2Grant::ClientCredentials,
        )
        .scopes(self.scopes.clone())
        .allow_insecure_http(self.allow_insecure_http);
        let endpoint = oauth.endpoint()?;
        let redirect_uri = parse_redirect_uri(&self.redirect_uri)?;
        let grant = Grant::AuthorizationCode {
            code,
            pkce_verifier: &pending.pkce_verifier,
            redirect_uri: &redirect_uri,
        };
        let tokens = request_token(client.http(), &endpoint, grant, self.clock.now()).await?;
        oauth.grant = OAuth2Grant::Obtained(tokens);
        Ok(oauth)
    }
}

impl fmt::Debug for AuthorizationCodeFlow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationCodeFlow")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("authorize_url", &self.authorize_url)
            .field("token_url", &self.token_url)
            .field("redirect_uri", &self.redirect_uri)
            .field("scopes", &self.scopes)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .finish_non_exhaustive()
    }
}

/// What the application must keep between [`AuthorizationCodeFlow::authorize_url`] and
/// [`AuthorizationCodeFlow::exchange`]: the CSRF `state` and the PKCE verifier.
///
/// It is `Serialize`/`Deserialize` so a web application can keep it in the user's server-side
/// session; the serialized form contains the secrets, so do not put it in a URL or an unsigned,
/// unencrypted cookie. `Debug` shows neither. Use it once.
#[derive(Clone, Serialize, Deserialize)]
pub struct PendingAuthorization {
    state: Secret,
    pkce_verifier: Secret,
}

impl PendingAuthorization {
    /// The `state` sent with the authorize URL, to find the pending authorization when the user
    /// comes back (for example as a key in a server-side map).
    pub fn state(&self) -> &Secret {
        &self.state
    }
}

impl fmt::Debug for PendingAuthorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingAuthorization")
            .field("state", &self.state)
            .field("pkce_verifier", &self.pkce_verifier)
            .finish()
    }
}
