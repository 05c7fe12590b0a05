//! Credentials that never change: an API key and a static bearer token.

use std::fmt;

use http::{HeaderName, HeaderValue};

use super::Secret;
use super::error::{AuthError, CredentialProblem};

/// The header an [`ApiKey`] is sent in, as declared by the API's `apiKey` security scheme.
pub const API_KEY_HEADER: &str = "x-api-key";

/// An API key, sent on every request in the `X-Api-Key` header.
///
/// ```
/// use marketing_api::auth::ApiKey;
/// let key = ApiKey::new("mk_live_51H8")?;
/// assert_eq!(format!("{key:?}"), "ApiKey([redacted])");
/// assert!(ApiKey::new("  ").is_err());
/// # Ok::<(), marketing_api::auth::AuthError>(())
/// ```
#[derive(Clone)]
pub struct ApiKey {
    key: Secret,
}

impl ApiKey {
    /// Checks and wraps an API key.
    ///
    /// # Errors
    /// [`AuthError::InvalidApiKey`] if the key is empty or contains whitespace, control
    /// characters or non-ASCII characters.
    pub fn new(key: impl Into<String>) -> Result<Self, AuthError> {
        let key = key.into();
        check_header_credential(&key).map_err(|problem| AuthError::InvalidApiKey { problem })?;
        Ok(Self {
            key: Secret::new(key),
        })
    }

    /// The key's first characters: at most 11 and at most a third of the key (the key is
    /// checked to be ASCII, so any length is a character boundary).
    pub(crate) fn public_prefix(&self) -> &str {
        let key = self.key.expose_secret();
        &key[..key.len().div_euclid(3).min(11)]
    }

    pub(crate) fn header(&self) -> (HeaderName, HeaderValue) {
        (
            HeaderName::from_static(API_KEY_HEADER),
            sensitive_header_value(self.key.expose_secret()),
        )
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ApiKey").field(&self.key).finish()
    }
}

/// A bearer token obtained outside the SDK, sent as `Authorization: Bearer <token>` on every
/// request and never refreshed.
///
/// ```
/// use marketing_api::auth::BearerToken;
/// let token = BearerToken::new("eyJhbGciOi")?;
/// assert!(!format!("{token:?}").contains("eyJ"));
/// # Ok::<(), marketing_api::auth::AuthError>(())
/// ```
#[derive(Clone)]
pub struct BearerToken {
    token: Secret,
}

impl BearerToken {
    /// Checks and wraps a bearer token (without the `Bearer ` prefix).
    ///
    /// # Errors
    /// [`AuthError::InvalidBearerToken`] if the token is empty or contains whitespace, control
    /// characters or non-ASCII characters.
    pub fn new(token: impl Into<String>) -> Result<Self, AuthError> {
        let token = token.into();
        check_header_credential(&token)
            .map_err(|problem| AuthError::InvalidBearerToken { problem })?;
        Ok(Self {
            token: Secret::new(token),
        })
    }

    pub(crate) fn header(&self) -> (HeaderName, HeaderValue) {
        (
            http::header::AUTHORIZATION,
            bearer_header_value(self.token.expose_secret()),
        )
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("BearerToken").field(&self.token).finish()
    }
}

/// Whether `value` can travel in an HTTP header as a credential: visible ASCII, no whitespace.
pub(crate) fn check_header_credential(value: &str) -> Result<(), CredentialProblem> {
    if value.trim().is_empty() {
        return Err(CredentialProblem::Empty);
    }
    for c in value.chars() {
        if c.is_whitespace() {
            return Err(CredentialProblem::Whitespace);
        }
        if c.is_control() {
            return Err(CredentialProblem::ControlCharacter);
        }
        if !c.is_ascii() {
            return Err(CredentialProblem::NonAscii);
        }
    }
    Ok(())
}

/// `Bearer <token>` as a sensitive header value. The token must have passed
/// [`check_header_credential`].
pub(crate) fn bearer_header_value(token: &str) -> HeaderValue {
    sensitive_header_value(&format!("Bearer {token}"))
}

pub(crate) fn sensitive_header_value(value: &str) -> HeaderValue {
    // Every caller checked the value with `check_header_credential`, so this cannot fail; the
    // fallback keeps the SDK panic-free all the same.
    let mut header = HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static(""));
    header.set_sensitive(true);
    header
}
