//! The one error type of webhook verification, signing and parsing.

use std::fmt;

/// Why a webhook was rejected, or why a secret could not be used.
///
/// Every variant names the check that failed and what to look at. None of them carries a
/// secret, a signature or the body: errors end up in logs, and a logged signature or secret
/// would help whoever is forging requests.
///
/// [`WebhookError::status`] maps each variant to the HTTP status a receiver should answer with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// A required header is absent.
    #[error(
        "the `{name}` header is missing: the request was not sent by a Standard Webhooks sender, \
         or a proxy dropped the header"
    )]
    MissingHeader {
        /// The header that is missing (`webhook-id`, `webhook-timestamp` or `webhook-signature`).
        name: &'static str,
    },

    /// A header is present but its value cannot be read.
    #[error("the `{name}` header is malformed: {reason}")]
    MalformedHeader {
        /// The header whose value is malformed.
        name: &'static str,
        /// What is wrong with the value.
        reason: &'static str,
    },

    /// No `v1` signature in `webhook-signature` matches the body under any configured secret.
    #[error(
        "no signature in the `webhook-signature` header matches the request under any configured \
         secret: check that the secret is the one of this endpoint and that the body is passed \
         exactly as received (not parsed and re-serialized)"
    )]
    NoMatchingSignature,

    /// `webhook-timestamp` is further in the past than the tolerance allows.
    #[error(
        "the `webhook-timestamp` {timestamp} is {age_secs} s older than the current time {now}, \
         beyond the tolerance of {tolerance_secs} s: the request is stale or replayed, or this \
         machine's clock is wrong"
    )]
    TimestampTooOld {
        /// The timestamp the request carried, in Unix seconds.
        timestamp: i64,
        /// The receiver's current time, in Unix seconds.
        now: i64,
        /// How far in the past the timestamp is, in seconds.
        age_secs: u64,
        /// The configured tolerance, in seconds.
        tolerance_secs: u64,
    },

    /// `webhook-timestamp` is further in the future than the tolerance allows.
    #[error(
        "the `webhook-timestamp` {timestamp} is {ahead_secs} s ahead of the current time {now}, \
         beyond the tolerance of {tolerance_secs} s: the sender's or this machine's clock is wrong"
    )]
    TimestampInFuture {
        /// The timestamp the request carried, in Unix seconds.
        timestamp: i64,
        /// The receiver's current time, in Unix seconds.
        now: i64,
        /// How far in the future the timestamp is, in seconds.
        ahead_secs: u64,
        /// The configured tolerance, in seconds.
        tolerance_secs: u64,
    },

    /// A signing secret could not be used.
    #[error(
        "invalid webhook secret: {reason}; expected `whsec_` followed by base64, as shown when \
         the endpoint was created, or the raw key bytes"
    )]
    InvalidSecret {
        /// What is wrong with the secret (never the secret itself).
        reason: &'static str,
    },

    /// The body is authentic but is not the JSON of a webhook event.
    #[error("the webhook body is not a valid event")]
    InvalidPayload {
        /// Where the JSON is wrong (line and column).
        #[source]
        source: PayloadError,
    },

    /// An encrypted (`x-sensitive`) field of an authentic payload could not be decrypted: no key
    /// for its `kid`, the wrong key, altered, or moved from another field or object.
    #[cfg(feature = "encryption")]
    #[cfg_attr(docsrs, doc(cfg(feature = "encryption")))]
    #[error("an encrypted field of the payload cannot be decrypted")]
    Decrypt {
        /// Which field, and why.
        #[source]
        source: crate::encryption::DecryptError,
    },
}

/// Why a webhook body is not an event: not JSON, or JSON missing or mistyping a field. `Display`
/// gives the position; `source()` has the JSON parser's own message.
///
/// ```
/// use marketing_api::webhooks::Event;
/// let error = Event::from_slice(b"{\"id\": 1}").unwrap_err();
/// assert_eq!(error.line(), 1);
/// assert!(error.to_string().starts_with("invalid event JSON at line 1"));
/// ```
#[derive(Debug)]
pub struct PayloadError {
    source: serde_json::Error,
}

impl PayloadError {
    pub(crate) fn new(source: serde_json::Error) -> Self {
        Self { source }
    }

    /// The line (1-based) where the problem was found.
    pub fn line(&self) -> usize {
        self.source.line()
    }

    /// The column (1-based) where the problem was found.
    pub fn column(&self) -> usize {
        self.source.column()
    }

    /// Whether the body is not JSON at all (or is cut short), as opposed to JSON of the wrong
    /// shape.
    pub fn is_syntax(&self) -> bool {
        matches!(
            self.source.classify(),
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof
        )
    }
}

impl fmt::Display for PayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid event JSON at line {}, column {}",
            self.line(),
            self.column()
        )
    }
}

impl std::error::Error for PayloadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

impl WebhookError {
    /// The HTTP status a receiver should answer with: `400 Bad Request` when the request is
    /// malformed (missing or unreadable headers, a body that is not an event), `401
    /// Unauthorized` when it is well formed but not authentic or not fresh, and `500 Internal
    /// Server Error` for a bad secret, which is the receiver's configuration problem.
    ///
    /// ```
    /// use marketing_api::webhooks::WebhookError;
    /// let err = WebhookError::MissingHeader { name: "webhook-id" };
    /// assert_eq!(err.status(), http::StatusCode::BAD_REQUEST);
    /// assert_eq!(WebhookError::NoMatchingSignature.status(), http::StatusCode::UNAUTHORIZED);
    /// ```
    pub fn status(&self) -> http::StatusCode {
        match self {
            Self::MissingHeader { .. }
            | Self::MalformedHeader { .. }
            | Self::InvalidPayload { .. } => http::StatusCode::BAD_REQUEST,
            Self::NoMatchingSignature
            | Self::TimestampTooOld { .. }
            | Self::TimestampInFuture { .. } => http::StatusCode::UNAUTHORIZED,
            Self::InvalidSecret { .. } => http::StatusCode::INTERNAL_SERVER_ERROR,
            // The receiver lacks the key (or has the wrong one): its configuration, and a retry
            // after it is fixed succeeds.
            #[cfg(feature = "encryption")]
            Self::Decrypt { .. } => http::StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Whether the request was rejected because it is not authentic or not fresh (a bad
    /// signature or a timestamp outside the tolerance), as opposed to malformed.
    pub fn is_unauthenticated(&self) -> bool {
        self.status() == http::StatusCode::UNAUTHORIZED
    }

    /// A short, stable name of the failed check, for metrics labels and log fields.
    ///
    /// ```
    /// use marketing_api::webhooks::WebhookError;
    /// assert_eq!(WebhookError::NoMatchingSignature.check(), "signature");
    /// ```
    pub fn check(&self) -> &'static str {
        match self {
            Self::MissingHeader { .. } => "missing_header",
            Self::MalformedHeader { .. } => "malformed_header",
            Self::NoMatchingSignature => "signature",
            Self::TimestampTooOld { .. } => "timestamp_too_old",
            Self::TimestampInFuture { .. } => "timestamp_in_future",
            Self::InvalidSecret { .. } => "secret",
            Self::InvalidPayload { .. } => "payload",
            #[cfg(feature = "encryption")]
            Self::Decrypt { .. } => "decrypt",
        }
    }
}

/// Formats a redacted placeholder; shared by the `Debug` impls of secret-holding types.
pub(crate) struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}
