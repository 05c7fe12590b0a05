//! The open end of authentication: anything that can produce a credential.
//!
//! API keys, bearer tokens and OAuth2 are built in; a [`CredentialProvider`] plugs in anything
//! else: a vault, a sidecar that rewrites a token file, a cloud workload identity, a token that
//! another process manages. The SDK caches what the provider returns, asks again shortly before
//! it expires (or after the API rejected it), makes one call at a time however many requests
//! wait, retries transient failures and remembers definitive ones for a short while.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use futures::future::BoxFuture;
use http::{HeaderName, HeaderValue};

use super::error::AuthError;
use super::static_credentials::{
    API_KEY_HEADER, ApiKey, BearerToken, bearer_header_value, check_header_credential,
    sensitive_header_value,
};

/// A source of credentials, plugged in with [`Auth::provider`](super::Auth::provider).
///
/// The SDK calls [`credential`](Self::credential) when it has no credential yet, when the
/// cached one is within the refresh skew of its expiry, and after the API answered 401 to it.
/// Calls never overlap: one call serves every request waiting at that moment, and a dropped
/// request does not cancel it. Return errors made with [`AuthError::provider`] (definitive: the
/// SDK remembers it for the client's auth cooldown instead of calling again) or
/// [`AuthError::provider_transient`] (retried with backoff, like a token endpoint answering
/// 503).
///
/// A provider that reads a token file which a sidecar rewrites:
///
/// ```
/// use std::path::PathBuf;
/// use std::time::Duration;
/// use futures::future::BoxFuture;
/// use marketing_api::auth::{Auth, AuthError, Credential, CredentialProvider, CredentialRequest};
///
/// #[derive(Debug)]
/// struct TokenFile(PathBuf);
///
/// impl CredentialProvider for TokenFile {
///     fn credential(&self, request: CredentialRequest) -> BoxFuture<'_, Result<Credential, AuthError>> {
///         Box::pin(async move {
///             let token = tokio::fs::read_to_string(&self.0)
///                 .await
///                 .map_err(AuthError::provider_transient)?;
///             // The sidecar rewrites the file every 5 minutes with a 10-minute token.
///             Ok(Credential::bearer(token.trim())?.expires_at(request.now() + Duration::from_secs(300)))
///         })
///     }
/// }
///
/// let auth = Auth::provider(TokenFile(PathBuf::from("/var/run/secrets/api-token")));
/// # let _ = auth;
/// ```
pub trait CredentialProvider: Send + Sync + fmt::Debug + 'static {
    /// Produces a credential for `request`'s reason. Called at most once at a time per client
    /// (clones of a client share the calls and the cached credential).
    fn credential(
        &self,
        request: CredentialRequest,
    ) -> BoxFuture<'_, Result<Credential, AuthError>>;
}

/// Why the SDK asks a [`CredentialProvider`] for a credential, and the client clock's time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CredentialRequest {
    reason: CredentialReason,
    now: SystemTime,
}

impl CredentialRequest {
    /// A request for `reason` at `now` (useful to test a provider on its own).
    pub fn new(reason: CredentialReason, now: SystemTime) -> Self {
        Self { reason, now }
    }

    /// Why a credential is needed.
    pub fn reason(&self) -> CredentialReason {
        self.reason
    }

    /// The current time by the client's [`Clock`](crate::clock::Clock): base expiry times on
    /// it so tests with a manual clock stay deterministic.
    pub fn now(&self) -> SystemTime {
        self.now
    }
}

/// Why a credential is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CredentialReason {
    /// The client has no credential yet.
    Initial,
    /// The cached credential expires within the refresh skew.
    Expiring,
    /// The API answered 401 to the cached credential: return a different one if there is one.
    /// Returning the same value again tells the SDK there is nothing newer; the 401 then goes
    /// to the caller without a replay.
    Rejected,
}

/// A credential to attach to requests: one header, and optionally when it stops being valid.
///
/// `Debug` never shows the value.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use marketing_api::auth::Credential;
///
/// let credential = Credential::bearer("tok_abc")?.expires_at(SystemTime::now() + Duration::from_secs(600));
/// assert!(!format!("{credential:?}").contains("tok_abc"));
/// assert!(Credential::bearer("has space").is_err());
/// # Ok::<(), marketing_api::auth::AuthError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub(crate) name: HeaderName,
    pub(crate) value: HeaderValue,
    pub(crate) expires_at: Option<SystemTime>,
}

impl Credential {
    /// `Authorization: Bearer <token>`.
    ///
    /// # Errors
    /// [`AuthError::InvalidBearerToken`] if the token is empty or has characters a header
    /// cannot carry.
    pub fn bearer(token: impl AsRef<str>) -> Result<Self, AuthError> {
        let token = token.as_ref();
        check_header_credential(token)
            .map_err(|problem| AuthError::InvalidBearerToken { problem })?;
        Ok(Self {
            name: http::header::AUTHORIZATION,
            value: bearer_header_value(token),
            expires_at: None,
        })
    }

    /// `X-Api-Key: <key>`.
    ///
    /// # Errors
    /// [`AuthError::InvalidApiKey`] if the key is empty or has characters a header cannot
    /// carry.
    pub fn api_key(key: impl AsRef<str>) -> Result<Self, AuthError> {
        let key = key.as_ref();
        check_header_credential(key).map_err(|problem| AuthError::InvalidApiKey { problem })?;
        Ok(Self {
            name: HeaderName::from_static(API_KEY_HEADER),
            value: sensitive_header_value(key),
            expires_at: None,
        })
    }

    /// Any other header, sent with exactly `value`.
    ///
    /// # Errors
    /// [`AuthError::InvalidCredentialHeader`] if `name` is not a header name or `value` has
    /// characters a header cannot carry (the value is never quoted).
    pub fn header(name: &str, value: impl AsRef<str>) -> Result<Self, AuthError> {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            AuthError::InvalidCredentialHeader {
                name: name.to_owned(),
            }
        })?;
        let mut value = HeaderValue::from_str(value.as_ref()).map_err(|_| {
            AuthError::InvalidCredentialHeader {
                name: name.as_str().to_owned(),
            }
        })?;
        value.set_sensitive(true);
        Ok(Self {
            name,
            value,
            expires_at: None,
        })
    }

    /// When the credential stops being valid. The SDK asks for a new one the refresh skew
    /// before (at most half the remaining lifetime before). Without an expiry, the credential is
    /// used until the API answers 401.
    #[must_use]
    pub fn expires_at(mut self, at: SystemTime) -> Self {
        self.expires_at = Some(at);
        self
    }

    /// The expiry set with [`expires_at`](Self::expires_at).
    pub fn expiry(&self) -> Option<SystemTime> {
        self.expires_at
    }

    /// The name of the header this credential is sent in (lowercase).
    pub fn header_name(&self) -> &str {
        self.name.as_str()
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("header", &self.name)
            .field("value", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// A shared provider: keep an `Arc` to it (to inspect it, or to give it to several clients)
/// and hand the client a clone.
impl<P: CredentialProvider + ?Sized> CredentialProvider for Arc<P> {
    fn credential(
        &self,
        request: CredentialRequest,
    ) -> BoxFuture<'_, Result<Credential, AuthError>> {
        (**self).credential(request)
    }
}

impl CredentialProvider for ApiKey {
    fn credential(&self, _: CredentialRequest) -> BoxFuture<'_, Result<Credential, AuthError>> {
        unchanging(self.header())
    }
}

impl CredentialProvider for BearerToken {
    fn credential(&self, _: CredentialRequest) -> BoxFuture<'_, Result<Credential, AuthError>> {
        unchanging(self.header())
    }
}

/// A credential that never expires, ready at once.
fn unchanging<'a>(
    (name, value): (HeaderName, HeaderValue),
) -> BoxFuture<'a, Result<Credential, AuthError>> {
    Box::pin(std::future::ready(Ok(Credential {
        name,
        value,
        expires_at: None,
    })))
}
