//! Keys: the [`KeyProvider`] trait the SDK decrypts through, the in-memory [`PrivateKeySet`]
//! that ships, public JWKs, and the platform's [`PlatformKeys`] that writes are encrypted to.

use std::fmt;
use std::sync::{Arc, RwLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use p256::{PublicKey, SecretKey};
use rand_core::OsRng;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use super::error::{EncryptError, KeyError};
use super::jwe::{self, Binding};

/// The sender's ephemeral P-256 public key from a JWE header, handed to a [`KeyProvider`].
pub struct EphemeralKey(pub(crate) PublicKey);

impl EphemeralKey {
    /// The point in SEC1 uncompressed form (`0x04 || x || y`, 65 bytes), the form KMS and HSM
    /// key-agreement APIs take.
    pub fn to_sec1_bytes(&self) -> Vec<u8> {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        self.0.to_encoded_point(false).as_bytes().to_vec()
    }

    /// The point as a public JWK (`{"kty":"EC","crv":"P-256","x":…,"y":…}`).
    pub fn to_jwk(&self) -> Value {
        let (x, y) = jwe::coordinates(&self.0);
        json!({"kty": "EC", "crv": "P-256", "x": x, "y": y})
    }
}

impl fmt::Debug for EphemeralKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EphemeralKey(P-256)")
    }
}

/// The result of ECDH: the x-coordinate of `d·Q`, 32 bytes. Zeroed when dropped.
pub struct SharedSecret(Zeroizing<[u8; 32]>);

impl SharedSecret {
    /// Wraps the 32-byte x-coordinate a key-agreement API returned.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.0.as_ref()
    }
}

impl fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedSecret([redacted])")
    }
}

/// Where the private keys live. The SDK never asks for a private key, only for the ECDH
/// agreement with a JWE's ephemeral key, so an implementation can keep its keys in a KMS, an HSM
/// or a vault; [`PrivateKeySet`] keeps them in memory.
///
/// Rotation is by `kid`: every JWE names the key it was encrypted to, so a provider holding the
/// old and the new key reads values encrypted to either.
pub trait KeyProvider: Send + Sync {
    /// ECDH on P-256 between the private key `kid` and `ephemeral`; `None` when the provider
    /// has no key with that id.
    fn agree(&self, kid: &str, ephemeral: &EphemeralKey) -> Option<SharedSecret>;
}

impl<P: KeyProvider + ?Sized> KeyProvider for Arc<P> {
    fn agree(&self, kid: &str, ephemeral: &EphemeralKey) -> Option<SharedSecret> {
        (**self).agree(kid, ephemeral)
    }
}

/// A public P-256 encryption key as a JWK, with its `kid`: what is registered with the platform
/// (`POST /encryption-keys`).
#[derive(Clone, PartialEq, Eq)]
pub struct PublicJwk {
    kid: String,
    key: PublicKey,
}

impl PublicJwk {
    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The JWK: `kty`, `crv`, `x`, `y`, `kid`, `use: enc`, `alg: ECDH-ES+A256KW`.
    pub fn to_json(&self) -> Value {
        let (x, y) = jwe::coordinates(&self.key);
        json!({
            "kty": "EC", "crv": "P-256", "x": x, "y": y,
            "kid": self.kid, "use": "enc", "alg": jwe::ALG,
        })
    }

    /// Reads a public JWK (a P-256 `EC` key with a `kid`).
    pub fn from_json(jwk: &Value) -> Result<Self, KeyError> {
        let field = |name: &str| jwk.get(name).and_then(Value::as_str);
        if field("kty") != Some("EC") || field("crv") != Some("P-256") {
            return Err(KeyError("only EC keys on P-256 are supported".into()));
        }
        let kid = field("kid")
            .filter(|k| !k.is_empty())
            .ok_or_else(|| KeyError("the JWK has no kid".into()))?;
        let key = match (field("x"), field("y")) {
            (Some(x), Some(y)) => jwe::public_key_from_coordinates(x, y),
            _ => None,
        }
        .ok_or_else(|| KeyError("x and y are not a point on P-256".into()))?;
        Ok(Self {
            kid: kid.to_owned(),
            key,
        })
    }

    /// Encrypts `value` (as its JSON text) to this key, bound to `binding`.
    pub fn encrypt(&self, value: &Value, binding: Binding<'_>) -> Result<String, EncryptError> {
        let failed = || EncryptError {
            field: binding.field.to_owned(),
        };
        let plaintext = Zeroizing::new(serde_json::to_vec(value).map_err(|_| failed())?);
        jwe::encrypt(&self.key, &self.kid, binding, &plaintext).map_err(|_| failed())
    }
}

impl fmt::Debug for PublicJwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicJwk").field("kid", &self.kid).finish()
    }
}

/// Private P-256 keys held in memory, by `kid`: the [`KeyProvider`] that ships. Clones share
/// the same set, so a key added (rotation) or removed is seen by every client and verifier
/// holding a clone.
///
/// ```
/// use marketing_api::encryption::PrivateKeySet;
/// let keys = PrivateKeySet::new();
/// let public = keys.generate("2026-11")?;   // register public.to_json() with the platform
/// assert_eq!(public.kid(), "2026-11");
/// # Ok::<(), marketing_api::encryption::KeyError>(())
/// ```
#[derive(Clone, Default)]
pub struct PrivateKeySet {
    keys: Arc<RwLock<Vec<(String, SecretKey)>>>,
}

impl PrivateKeySet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<(String, SecretKey)>> {
        self.keys.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Vec<(String, SecretKey)>> {
        self.keys.write().unwrap_or_else(|p| p.into_inner())
    }

    fn add(&self, kid: &str, key: SecretKey) -> Result<(), KeyError> {
        if kid.is_empty() {
            return Err(KeyError("a kid must not be empty".into()));
        }
        let mut keys = self.write();
        if keys.iter().any(|(k, _)| k == kid) {
            return Err(KeyError(format!("the kid `{kid}` is already in the set")));
        }
        keys.push((kid.to_owned(), key));
        Ok(())
    }

    /// Generates a new key pair from the OS random source, keeps the private key under `kid`
    /// and returns the public key to register.
    pub fn generate(&self, kid: impl Into<String>) -> Result<PublicJwk, KeyError> {
        let kid = kid.into();
        let key = SecretKey::random(&mut OsRng);
        let public = PublicJwk {
            kid: kid.clone(),
            key: key.public_key(),
        };
        self.add(&kid, key)?;
        Ok(public)
    }

    /// Adds a private JWK (`kty: EC`, `crv: P-256`, `x`, `y`, `d`, `kid`); returns its kid.
    pub fn insert_jwk(&self, jwk: &Value) -> Result<String, KeyError> {
        let public = PublicJwk::from_json(jwk)?;
        let d = jwk
            .get("d")
            .and_then(Value::as_str)
            .and_then(|d| B64.decode(d).ok())
            .map(Zeroizing::new)
            .ok_or_else(|| KeyError("the JWK has no private part `d`".into()))?;
        let key = SecretKey::from_slice(&d)
            .map_err(|_| KeyError("`d` is not a P-256 private key".into()))?;
        if key.public_key() != public.key {
            return Err(KeyError("`d` does not belong to `x` and `y`".into()));
        }
        self.add(&public.kid, key)?;
        Ok(public.kid)
    }

    /// The private JWK of `kid`, to store it (in a vault, not a log). Zeroed when dropped.
    pub fn export_private_jwk(&self, kid: &str) -> Option<Zeroizing<String>> {
        let keys = self.read();
        let (_, key) = keys.iter().find(|(k, _)| k == kid)?;
        let mut jwk = PublicJwk {
            kid: kid.to_owned(),
            key: key.public_key(),
        }
        .to_json();
        jwk["d"] = B64.encode(key.to_bytes()).into();
        Some(Zeroizing::new(jwk.to_string()))
    }

    /// The public key of `kid`.
    pub fn public_jwk(&self, kid: &str) -> Option<PublicJwk> {
        self.read()
            .iter()
            .find(|(k, _)| k == kid)
            .map(|(kid, key)| PublicJwk {
                kid: kid.clone(),
                key: key.public_key(),
            })
    }

    /// Removes the key `kid` (after the platform revoked it and nothing encrypted to it is
    /// left); whether it was there.
    pub fn remove(&self, kid: &str) -> bool {
        let mut keys = self.write();
        let before = keys.len();
        keys.retain(|(k, _)| k != kid);
        keys.len() != before
    }

    /// The key ids in the set, oldest first.
    pub fn kids(&self) -> Vec<String> {
        self.read().iter().map(|(k, _)| k.clone()).collect()
    }
}

impl KeyProvider for PrivateKeySet {
    fn agree(&self, kid: &str, ephemeral: &EphemeralKey) -> Option<SharedSecret> {
        let keys = self.read();
        let (_, key) = keys.iter().find(|(k, _)| k == kid)?;
        let shared = p256::ecdh::diffie_hellman(key.to_nonzero_scalar(), ephemeral.0.as_affine());
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(shared.raw_secret_bytes());
        Some(SharedSecret::from_bytes(bytes))
    }
}

impl fmt::Debug for PrivateKeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKeySet")
            .field("kids", &self.kids())
            .finish_non_exhaustive()
    }
}

/// The platform's public encryption keys (its JWKS, `GET /encryption-keys/platform`): what
/// sensitive fields of requests are encrypted to when the client is built with
/// [`ClientBuilder::encrypt_writes`](crate::ClientBuilder::encrypt_writes).
#[derive(Debug, Clone)]
pub struct PlatformKeys {
    keys: Vec<PublicJwk>,
}

impl PlatformKeys {
    /// Reads a JWKS (`{"keys": [...]}`); keys that are not P-256 encryption keys are skipped,
    /// and a set with none left is an error. The first usable key is the one encrypted to.
    pub fn from_jwks(jwks: &Value) -> Result<Self, KeyError> {
        let keys: Vec<PublicJwk> = jwks
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| KeyError("a JWKS is an object with a `keys` array".into()))?
            .iter()
            .filter(|k| {
                k.get("use")
                    .and_then(Value::as_str)
                    .is_none_or(|u| u == "enc")
            })
            .filter_map(|k| PublicJwk::from_json(k).ok())
            .collect();
        if keys.is_empty() {
            return Err(KeyError("the JWKS has no P-256 encryption key".into()));
        }
        Ok(Self { keys })
    }

    /// The key writes are encrypted to.
    pub fn current(&self) -> &PublicJwk {
        &self.keys[0]
    }
}
