//! Everything that can go wrong while configuring or obtaining credentials.

use std::fmt;
use std::time::Duration;

use super::token_store::TokenStoreError;

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Which URL of an OAuth2 configuration an [`AuthError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UrlRole {
    /// The token endpoint (`token_url`).
    TokenUrl,
    /// The authorization endpoint the user is sent to (`authorize_url`).
    AuthorizeUrl,
    /// The redirect URI registered for the application (`redirect_uri`).
    RedirectUri,
}

impl fmt::Display for UrlRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::TokenUrl => "token URL",
            Self::AuthorizeUrl => "authorize URL",
            Self::RedirectUri => "redirect URI",
        })
    }
}

/// What is wrong with an API key or a bearer token handed to the SDK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CredentialProblem {
    /// The value is empty or only whitespace.
    Empty,
    /// The value contains a space, tab or line break (often a copy-paste accident).
    Whitespace,
    /// The value contains a control character.
    ControlCharacter,
    /// The value contains characters outside visible ASCII, which cannot go in an HTTP header.
    NonAscii,
}

impl fmt::Display for CredentialProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "it is empty",
            Self::Whitespace => {
                "it contains whitespace (check for a trailing newline or space from copy-paste)"
            }
            Self::ControlCharacter => "it contains a control character",
            Self::NonAscii => "it contains characters outside visible ASCII",
        })
    }
}

/// What a [`TokenStore`](super::TokenStore) was asked to do when it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreOperation {
    /// [`TokenStore::save`](super::TokenStore::save).
    Save,
    /// [`TokenStore::load`](super::TokenStore::load).
    Load,
    /// [`TokenStore::begin_renewal`](super::TokenStore::begin_renewal): the renewal lease.
    Lease,
}

impl fmt::Display for StoreOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Save => "save",
            Self::Load => "load",
            Self::Lease => "coordinate the renewal of",
        })
    }
}

/// The JSON type of a value in a token response, for saying what arrived instead of what was
/// expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum JsonKind {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool,
    /// A number.
    Number,
    /// A string.
    String,
    /// An array.
    Array,
    /// An object.
    Object,
}

impl JsonKind {
    pub(crate) fn of(value: &serde_json::Value) -> Self {
        match value {
            serde_json::Value::Null => Self::Null,
            serde_json::Value::Bool(_) => Self::Bool,
            serde_json::Value::Number(_) => Self::Number,
            serde_json::Value::String(_) => Self::String,
            serde_json::Value::Array(_) => Self::Array,
            serde_json::Value::Object(_) => Self::Object,
        }
    }
}

impl fmt::Display for JsonKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Null => "null",
            Self::Bool => "a boolean",
            Self::Number => "a number",
            Self::String => "a string",
            Self::Array => "an array",
            Self::Object => "an object",
        })
    }
}

/// An error from configuring authentication or from obtaining a token.
///
/// No variant ever carries a secret: tokens, client secrets, API keys, PKCE verifiers and the
/// raw token response body are left out of every message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The API key cannot be used.
    #[error("invalid API key: {problem}; pass the key exactly as shown in the dashboard")]
    InvalidApiKey {
        /// What is wrong with it.
        problem: CredentialProblem,
    },

    /// The static bearer token cannot be used.
    #[error("invalid bearer token: {problem}; pass the token without the `Bearer ` prefix")]
    InvalidBearerToken {
        /// What is wrong with it.
        problem: CredentialProblem,
    },

    /// The OAuth2 client id is empty.
    #[error("the OAuth2 client id is empty; pass the client id issued for your application")]
    EmptyClientId,

    /// A configured URL does not parse or is not allowed where it is used.
    #[error("invalid {role}: {reason}")]
    InvalidUrl {
        /// Which URL.
        role: UrlRole,
        /// Why it was refused, and what to do about it.
        reason: String,
    },

    /// A URL uses plain `http://` on a host that is not loopback.
    #[error(
        "the {role} uses http:// on a non-loopback host, which would send credentials in clear \
         text; use https:// or, for a trusted test network only, allow_insecure_http(true)"
    )]
    InsecureUrl {
        /// Which URL.
        role: UrlRole,
    },

    /// The `state` returned to the redirect URI is not the one issued with the authorize URL.
    #[error(
        "the state returned to the redirect URI does not match the pending authorization \
         (possible cross-site request forgery or a stale login); start the authorization again"
    )]
    StateMismatch,

    /// The token endpoint could not be reached, or the connection failed mid-request.
    #[error("could not reach the token endpoint ({kind}); check the token URL and the network")]
    #[non_exhaustive]
    TokenEndpointUnreachable {
        /// A short description of the failure (`connection failed`, `timed out`, ...).
        kind: &'static str,
        /// The underlying HTTP client error (its URL removed).
        #[source]
        source: BoxError,
    },

    /// The TLS handshake with the token endpoint failed: the certificate was rejected, its key
    /// matched no pin, or no acceptable protocol version was offered. Not transient: the next
    /// attempt would fail the same way.
    #[error("the TLS handshake with the token endpoint failed: {reason}")]
    TokenEndpointTls {
        /// What was refused, naming the presented key for a pin mismatch.
        reason: String,
        /// The underlying HTTP client error (its URL removed).
        #[source]
        source: BoxError,
    },

    /// The token endpoint answered with an OAuth2 error (RFC 6749 §5.2).
    #[error("the token endpoint refused the request with `{error}`{}; {}",
        description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default(),
        oauth_error_hint(error))]
    #[non_exhaustive]
    OAuth {
        /// HTTP status of the answer.
        status: u16,
        /// The OAuth2 error code, such as `invalid_grant` or `invalid_client`.
        error: String,
        /// The server's `error_description`, if any.
        description: Option<String>,
        /// How long the server asked to wait (`Retry-After`), if it said.
        retry_after: Option<Duration>,
    },

    /// The token endpoint answered with a body that is not JSON (an HTML page, plain text, ...).
    #[error(
        "the token endpoint answered HTTP {status} with a body that is not JSON{}; check that the \
         token URL points at the OAuth2 token endpoint and not at a web page or a proxy",
        content_type.as_deref().map(|c| format!(" (Content-Type `{c}`)")).unwrap_or_default()
    )]
    TokenResponseNotJson {
        /// HTTP status of the answer.
        status: u16,
        /// The `Content-Type` the server sent, if any.
        content_type: Option<String>,
    },

    /// The token endpoint answered with an error status and no OAuth2 error body.
    #[error(
        "the token endpoint answered HTTP {status} without an OAuth2 error body; check the token \
         URL and the state of the authorization server"
    )]
    #[non_exhaustive]
    TokenEndpointStatus {
        /// HTTP status of the answer.
        status: u16,
        /// How long the server asked to wait (`Retry-After`), if it said.
        retry_after: Option<Duration>,
    },

    /// The token response lacks a field the SDK needs.
    #[error(
        "the token response has no `{field}` field; the authorization server does not speak \
         RFC 6749 §5.1 at this URL"
    )]
    TokenResponseMissingField {
        /// The missing field.
        field: &'static str,
    },

    /// A field of the token response has the wrong type or an unusable value.
    #[error("the token response field `{field}` is {found}, expected {expected}")]
    TokenResponseInvalidField {
        /// The offending field.
        field: &'static str,
        /// What the SDK expected there.
        expected: &'static str,
        /// What arrived instead (a JSON type or a short description, never the value).
        found: String,
    },

    /// The token response is larger than any sane token response.
    #[error("the token response is larger than {limit} bytes; check the token URL")]
    TokenResponseTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },

    /// The token endpoint issued a token type other than `Bearer`.
    #[error("the token endpoint issued a `{token_type}` token; only `Bearer` tokens are supported")]
    UnsupportedTokenType {
        /// The `token_type` the server sent.
        token_type: String,
    },

    /// A new access token is needed and there is no usable refresh token: none was issued, or
    /// the last one was refused (`invalid_grant`).
    #[error(
        "a new access token is needed but there is no usable refresh token (none was issued, or \
         the server refused the last one); run the authorization code flow again (some servers \
         issue refresh tokens only for the `offline_access` scope)"
    )]
    NoRefreshToken,

    /// The token store failed to save or load tokens. A newly obtained token is not used until it
    /// has been saved; it is held back and saving is tried again on the next request.
    #[error("the token store could not {operation} tokens; {}", match operation {
        StoreOperation::Save => "the new tokens are held back and saving is retried on the next request",
        StoreOperation::Load => "fix the store; loading is retried on the next request",
        StoreOperation::Lease => "no token request was made; the renewal is retried",
    })]
    TokenStore {
        /// What the store was asked to do.
        operation: StoreOperation,
        /// The store's error.
        #[source]
        source: TokenStoreError,
    },

    /// The OAuth2 request could not be built or sent for a reason outside the cases above.
    #[error("the token request failed: {0}")]
    TokenRequest(String),

    /// A [`Credential::header`](super::Credential::header) name or value cannot be sent in an
    /// HTTP header.
    #[error(
        "the credential header `{name}` has an invalid name or a value with characters a header \
         cannot carry"
    )]
    InvalidCredentialHeader {
        /// The header name as given.
        name: String,
    },

    /// A [`CredentialProvider`](super::CredentialProvider) failed.
    #[error("the credential provider failed{}", if *transient { " (transiently)" } else { "" })]
    Provider {
        /// Whether trying again later may succeed: the SDK retries transient failures and
        /// remembers definitive ones for the client's auth cooldown.
        transient: bool,
        /// The provider's own error.
        #[source]
        source: BoxError,
    },

    /// Every attempt to obtain a credential failed transiently (the token endpoint answered
    /// 5xx or 429, could not be reached, ...) until the token retry policy or the client's retry
    /// budget stopped; the source is the last failure. Trying again later may succeed.
    #[error("no credential after {attempts} {}, each failing transiently", if *attempts == 1 { "attempt" } else { "attempts" })]
    GaveUp {
        /// How many times the token endpoint (or provider) was asked.
        attempts: u32,
        /// The last failure.
        #[source]
        last: Box<AuthError>,
    },
}

fn oauth_error_hint(code: &str) -> &'static str {
    match code {
        "invalid_grant" => {
            "the authorization code or refresh token is invalid, expired, already used or \
             revoked: authorize again"
        }
        "invalid_client" => "check the client id and client secret",
        "unauthorized_client" => "this client is not allowed to use this grant type",
        "unsupported_grant_type" => "the server does not support this grant type",
        "invalid_scope" => "check the requested scopes against those granted to the client",
        "invalid_request" => "the server found the token request malformed",
        _ => "see the authorization server's documentation for this error code",
    }
}

impl AuthError {
    /// A definitive failure of a [`CredentialProvider`](super::CredentialProvider): calls within
    /// the client's auth cooldown get this error again without asking the provider.
    pub fn provider(source: impl Into<BoxError>) -> Self {
        Self::Provider {
            transient: false,
            source: source.into(),
        }
    }

    /// A transient failure of a [`CredentialProvider`](super::CredentialProvider): the SDK
    /// retries it with the token retry policy.
    pub fn provider_transient(source: impl Into<BoxError>) -> Self {
        Self::Provider {
            transient: true,
            source: source.into(),
        }
    }

    /// Whether obtaining a token failed because of the network, so trying again later may
    /// succeed.
    pub fn is_unreachable(&self) -> bool {
        match self {
            Self::TokenEndpointUnreachable { .. } => true,
            Self::GaveUp { last, .. } => last.is_unreachable(),
            _ => false,
        }
    }

    /// Whether the failure is transient, so trying again later may succeed: the token endpoint
    /// could not be reached or answered 408, 429, 500, 502, 503 or 504 (or
    /// `temporarily_unavailable`), the token store failed, or a provider said so.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::TokenEndpointUnreachable { .. }
            | Self::TokenStore { .. }
            | Self::GaveUp { .. } => true,
            Self::TokenEndpointStatus { status, .. } => is_transient_status(*status),
            Self::OAuth { status, error, .. } => {
                is_transient_status(*status) || error == "temporarily_unavailable"
            }
            Self::Provider { transient, .. } => *transient,
            _ => false,
        }
    }

    /// How many token requests (or provider calls) were made before giving up, for
    /// [`AuthError::GaveUp`].
    pub fn token_attempts(&self) -> Option<u32> {
        match self {
            Self::GaveUp { attempts, .. } => Some(*attempts),
            _ => None,
        }
    }

    /// How long the token endpoint asked to wait before the next request.
    pub(crate) fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::TokenEndpointStatus { retry_after, .. } | Self::OAuth { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }

    /// Whether the authorization server refused the grant (`invalid_grant`): the refresh token
    /// or code is no longer valid and the user must authorize again.
    pub fn is_invalid_grant(&self) -> bool {
        matches!(self, Self::OAuth { error, .. } if error == "invalid_grant")
    }
}

fn is_transient_status(status: u16) -> bool {
    http::StatusCode::from_u16(status).is_ok_and(crate::retry::is_retryable_status)
}
