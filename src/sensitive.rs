//! [`Sensitive<T>`]: the type of every field the contract marks `x-sensitive`.
//!
//! A sensitive value is either in the clear (sent by a platform that had no key for this
//! integration, decrypted by the client's key provider, or set by the caller) or sealed: a JWE
//! compact serialization that nothing here could decrypt. Reading a sealed value is an error,
//! never ciphertext passed off as data; `Debug` never shows either form.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A value of a field the contract marks `x-sensitive` (personal or financial data).
///
/// It holds the plaintext or, when the response carried a JWE that no key decrypted, the sealed
/// ciphertext. [`expose`](Self::expose) gives the plaintext or a [`SealedError`]. With the
/// `encryption` feature and a key provider on the client (or the webhook verifier), values
/// arrive decrypted; see the README section "Field-level encryption".
///
/// `Debug` prints `[redacted]` in both states: neither the plaintext nor the ciphertext reaches
/// a log through it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Sensitive<T>(State<T>);

#[derive(Clone, PartialEq, Eq, Hash)]
enum State<T> {
    Clear(T),
    Sealed(String),
}

/// Reading a [`Sensitive`] value that is still encrypted: no key provider was configured, or it
/// had no key for the value. The message names neither the value nor its ciphertext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the value is encrypted (JWE) and was not decrypted: configure a key provider holding the key it was encrypted to"
)]
pub struct SealedError {
    _private: (),
}

impl<T> Sensitive<T> {
    /// A value in the clear.
    pub fn new(value: T) -> Self {
        Self(State::Clear(value))
    }

    /// The plaintext, or [`SealedError`] when the value is still encrypted.
    pub fn expose(&self) -> Result<&T, SealedError> {
        match &self.0 {
            State::Clear(value) => Ok(value),
            State::Sealed(_) => Err(SealedError { _private: () }),
        }
    }

    /// The plaintext by value, or [`SealedError`] when the value is still encrypted.
    pub fn into_inner(self) -> Result<T, SealedError> {
        match self.0 {
            State::Clear(value) => Ok(value),
            State::Sealed(_) => Err(SealedError { _private: () }),
        }
    }

    /// Whether the value is still encrypted.
    pub fn is_sealed(&self) -> bool {
        matches!(self.0, State::Sealed(_))
    }

    /// The JWE compact serialization of a sealed value (to store or to decrypt later); `None`
    /// for a value in the clear.
    pub fn ciphertext(&self) -> Option<&str> {
        match &self.0 {
            State::Clear(_) => None,
            State::Sealed(jwe) => Some(jwe),
        }
    }
}

impl<T> From<T> for Sensitive<T> {
    fn from(value: T) -> Self {
        Self::new(value)
    }
}

impl From<&str> for Sensitive<String> {
    fn from(value: &str) -> Self {
        Self::new(value.to_owned())
    }
}

impl PartialEq<str> for Sensitive<String> {
    fn eq(&self, other: &str) -> bool {
        matches!(&self.0, State::Clear(value) if value == other)
    }
}

impl PartialEq<&str> for Sensitive<String> {
    fn eq(&self, other: &&str) -> bool {
        self == *other
    }
}

impl<T> fmt::Debug for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            State::Clear(_) => f.write_str("[redacted]"),
            State::Sealed(_) => f.write_str("[redacted, encrypted]"),
        }
    }
}

/// Whether `text` has the shape of a JWE compact serialization: five base64url segments, the
/// first a JSON object (`eyJ` is base64url for `{"`). An e-mail address, phone number or name
/// never has it, so a plaintext is not mistaken for a ciphertext.
pub(crate) fn looks_like_jwe(text: &str) -> bool {
    let mut segments = 0;
    for segment in text.split('.') {
        segments += 1;
        if segments > 5
            || !segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return false;
        }
    }
    segments == 5 && text.starts_with("eyJ")
}

impl<T: Serialize> Serialize for Sensitive<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            #[cfg(feature = "encryption")]
            State::Clear(value) if marking::active() => marking::mark(value, serializer),
            State::Clear(value) => value.serialize(serializer),
            State::Sealed(jwe) => serializer.serialize_str(jwe),
        }
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Sensitive<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        if let serde_json::Value::String(text) = &value
            && looks_like_jwe(text)
        {
            return Ok(Self(State::Sealed(text.clone())));
        }
        serde_json::from_value(value)
            .map(Self::new)
            .map_err(serde::de::Error::custom)
    }
}

/// While a request body is serialized for a client that encrypts writes, each clear sensitive
/// value is written as `{MARKER: value}` so the encryption pass finds exactly the fields the
/// contract marks, and their names, without a schema at run time.
#[cfg(feature = "encryption")]
#[cfg_attr(not(feature = "client"), allow(dead_code))] // only requests are marked
pub(crate) mod marking {
    use serde::Serialize;
    use serde::ser::SerializeMap;
    use std::cell::Cell;

    /// The single key of a marked value. No JSON the SDK sends otherwise has it.
    pub(crate) const MARKER: &str = "\u{0}marketing-api:sensitive";

    thread_local! {
        static DEPTH: Cell<u32> = const { Cell::new(0) };
        static MARKED: Cell<u32> = const { Cell::new(0) };
    }

    pub(crate) fn active() -> bool {
        DEPTH.with(Cell::get) > 0
    }

    pub(crate) fn mark<T: Serialize, S: serde::Serializer>(
        value: &T,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        MARKED.with(|m| m.set(m.get() + 1));
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(MARKER, value)?;
        map.end()
    }

    /// Serializes `body` to JSON with sensitive values marked; also says how many were marked.
    /// Synchronous: the thread-local cannot leak into another task.
    pub(crate) fn to_marked_value<T: Serialize + ?Sized>(
        body: &T,
    ) -> Result<(serde_json::Value, u32), serde_json::Error> {
        DEPTH.with(|d| d.set(d.get() + 1));
        let before = MARKED.with(Cell::get);
        let result = serde_json::to_value(body);
        let marked = MARKED.with(Cell::get) - before;
        DEPTH.with(|d| d.set(d.get() - 1));
        result.map(|value| (value, marked))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plaintext_and_ciphertext_decode_to_their_states() {
        let clear: Sensitive<String> = serde_json::from_str("\"ada@example.com\"").unwrap();
        assert_eq!(clear.expose().unwrap(), "ada@example.com");
        let jwe = "eyJhbGciOiJFQ0RILUVTK0EyNTZLVyJ9.a2V5.aXY.Y3Q.dGFn";
        let sealed: Sensitive<String> = serde_json::from_value(jwe.into()).unwrap();
        assert!(sealed.is_sealed());
        assert_eq!(sealed.ciphertext(), Some(jwe));
        assert!(sealed.expose().is_err());
        // Sent back as it came.
        assert_eq!(serde_json::to_value(&sealed).unwrap(), jwe);
        assert_eq!(format!("{sealed:?}"), "[redacted, encrypted]");
        assert_eq!(format!("{clear:?}"), "[redacted]");
    }

    #[test]
    fn only_the_jwe_shape_counts_as_ciphertext() {
        for text in [
            "ada@example.com",
            "+442071838750",
            "a.b.c.d.e",
            "eyJ.a.b.c",
            "eyJ.a.b.c.d.e",
            "eyJ.a b.c.d.e",
        ] {
            assert!(!looks_like_jwe(text), "{text}");
        }
        assert!(looks_like_jwe("eyJhbGc.a-b.c_d..e"));
    }

    #[test]
    fn error_message_names_no_value() {
        let sealed: Sensitive<String> = serde_json::from_value("eyJh.a.b.c.d".into()).unwrap();
        let message = sealed.expose().unwrap_err().to_string();
        assert!(!message.contains("eyJh"), "{message}");
    }
}
