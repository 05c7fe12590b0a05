//! What can go wrong decrypting or encrypting a sensitive field. Messages name the field's JSON
//! path and the key id, never a value or a ciphertext.

use std::fmt;

/// Why a sensitive value could not be decrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecryptErrorKind {
    /// The JWE names a `kid` the key provider has no key for (not registered here, or removed).
    UnknownKid,
    /// The provider's key for the `kid` is not the one the value was encrypted to: the AES key
    /// wrap's integrity check failed.
    WrongKey,
    /// The content key unwrapped, but the AES-GCM tag did not match: the header, IV or
    /// ciphertext was altered.
    Tampered,
    /// The value decrypted, but it was encrypted for another field or another object (its
    /// `fld`/`obj` header does not match where it was found): moved or swapped.
    Misbound,
    /// The value is not a well-formed JWE compact serialization, or the plaintext is not JSON.
    Malformed,
    /// A JWE with an algorithm other than `ECDH-ES+A256KW` / `A256GCM`.
    Unsupported,
}

/// A sensitive value that could not be decrypted: its [`kind`](Self::kind), where it was
/// ([`path`](Self::path)) and the key id the JWE named. Never the value or its ciphertext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecryptError {
    kind: DecryptErrorKind,
    reason: &'static str,
    kid: Option<String>,
    path: Option<String>,
}

impl DecryptError {
    pub(crate) fn new(kind: DecryptErrorKind, reason: &'static str) -> Self {
        Self {
            kind,
            reason,
            kid: None,
            path: None,
        }
    }

    pub(crate) fn with_kid(mut self, kid: &str) -> Self {
        // A kid is an identifier the consumer chose, not a secret; it is capped so a hostile
        // header cannot fill a log line.
        self.kid = Some(kid.chars().take(64).collect());
        self
    }

    #[cfg_attr(not(any(feature = "client", feature = "webhooks")), allow(dead_code))]
    pub(crate) fn at(mut self, path: String) -> Self {
        self.path = Some(path);
        self
    }

    /// Why it failed.
    pub fn kind(&self) -> DecryptErrorKind {
        self.kind
    }

    /// The `kid` the JWE named, when it got that far.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The JSON path of the field (`data[3].email`), when known.
    pub fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }
}

impl fmt::Display for DecryptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cannot decrypt sensitive field")?;
        if let Some(path) = &self.path {
            write!(f, " `{path}`")?;
        }
        if let Some(kid) = &self.kid {
            write!(f, " (kid `{kid}`)")?;
        }
        write!(f, ": {}", self.reason)
    }
}

impl std::error::Error for DecryptError {}

/// A key that cannot be used: a JWK that is not a P-256 key, a JWKS with no usable key, a kid
/// already taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unusable encryption key: {0}")]
pub struct KeyError(pub(crate) String);

/// A sensitive value that could not be encrypted (its plaintext could not be serialized, or the
/// cipher refused it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot encrypt sensitive field `{field}`")]
pub struct EncryptError {
    pub(crate) field: String,
}
