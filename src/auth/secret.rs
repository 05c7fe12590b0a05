//! A string that never shows itself in `Debug`, `Display` or logs.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A secret string: an API key, a token, a client secret, a PKCE verifier.
///
/// `Debug` and `Display` print `[redacted]`, so a secret can sit inside any configuration or
/// error type without leaking into logs. Read the value with [`Secret::expose_secret`], which is
/// easy to grep for. Serialization (for a [`TokenStore`](super::TokenStore) or for stashing a
/// [`PendingAuthorization`](super::PendingAuthorization)) writes the real value: store it where
/// secrets belong.
///
/// ```
/// use marketing_api::auth::Secret;
/// let s = Secret::new("sk_live_123");
/// assert_eq!(format!("{s:?} {s}"), "[redacted] [redacted]");
/// assert_eq!(s.expose_secret(), "sk_live_123");
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value itself. Call this only where the value must go on the wire or into a
    /// store.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}
