//! JWE compact serialization (RFC 7516) with one algorithm pair: key agreement `ECDH-ES+A256KW`
//! on P-256 (RFC 7518 §4.6) and content encryption `A256GCM` (§5.3). Every primitive is
//! RustCrypto's; this file only arranges them as the RFCs say.
//!
//! Binding: the protected header carries `fld` (the JSON Pointer, without its leading `/`, from
//! the nearest enclosing object with an `id` to the value: a member name, or a path such as
//! `properties/revenue`) and `obj` (that object's `id`, absent when no enclosing object has
//! one and the pointer starts at the document's root). The protected header
//! is the AES-GCM additional authenticated data (RFC 7516 §5.1 step 14), so neither can be
//! changed without the tag failing, and the decrypting side compares both with where it found
//! the ciphertext: a value moved to another field or another object is refused.

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use aes_kw::KekAes256;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use p256::elliptic_curve::sec1::{FromEncodedPoint, ToEncodedPoint};
use p256::{EncodedPoint, PublicKey};
use rand_core::{OsRng, RngCore};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::error::{DecryptError, DecryptErrorKind};
use super::keys::{EphemeralKey, KeyProvider, SharedSecret};

/// The key management algorithm (`alg`).
pub(crate) const ALG: &str = "ECDH-ES+A256KW";
/// The content encryption algorithm (`enc`).
pub(crate) const ENC: &str = "A256GCM";

/// Where a ciphertext belongs (its `fld` and `obj` header members): the `id` of the nearest
/// object enclosing the value that has one, and the JSON Pointer (RFC 6901, without its leading
/// `/`) from that object to the value — or from the document's root when no enclosing object
/// has an `id`, as in a creation request body.
///
/// | where the value is | `field` | `object` |
/// |---|---|---|
/// | `email` of a contact | `email` | `Some("ctc_9Vx4Jm6q")` |
/// | `properties.revenue` of an event | `properties/revenue` | `Some("evt_2Cz7Nk5p")` |
/// | the same in a `purchase.completed` payload | `data/properties/revenue` | the message id |
/// | `email` of a creation request | `email` | `None` |
/// | `events[0].properties.revenue` of a batch | `events/0/properties/revenue` | `None` |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding<'a> {
    /// The JSON Pointer from the anchoring object without its leading `/` (`email`,
    /// `properties/revenue`); a member name escapes `~` as `~0` and `/` as `~1`.
    pub field: &'a str,
    /// The `id` of the nearest enclosing object that has one (`ctc_9Vx4Jm6q`), if any.
    pub object: Option<&'a str>,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    enc: String,
    kid: Option<String>,
    epk: Option<EpkJwk>,
    fld: Option<String>,
    obj: Option<String>,
}

#[derive(Deserialize)]
struct EpkJwk {
    kty: String,
    crv: String,
    x: String,
    y: String,
}

/// A P-256 public key from its JWK coordinates; `None` when they are not a point on the curve.
pub(crate) fn public_key_from_coordinates(x: &str, y: &str) -> Option<PublicKey> {
    let x = B64.decode(x).ok()?;
    let y = B64.decode(y).ok()?;
    if x.len() != 32 || y.len() != 32 {
        return None;
    }
    let point = EncodedPoint::from_affine_coordinates(
        p256::FieldBytes::from_slice(&x),
        p256::FieldBytes::from_slice(&y),
        false,
    );
    Option::from(PublicKey::from_encoded_point(&point))
}

/// The JWK `x` and `y` of a public key.
pub(crate) fn coordinates(key: &PublicKey) -> (String, String) {
    let point = key.to_encoded_point(false);
    // An uncompressed point of a valid key always has both coordinates.
    let x = point.x().map(|x| B64.encode(x)).unwrap_or_default();
    let y = point.y().map(|y| B64.encode(y)).unwrap_or_default();
    (x, y)
}

/// The key-encryption key: Concat KDF (NIST SP 800-56A) over the ECDH secret, with the
/// `OtherInfo` RFC 7518 §4.6.2 prescribes for `ECDH-ES+A256KW` and no `apu`/`apv`.
fn key_encryption_key(shared: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut other_info = Vec::with_capacity(4 + ALG.len() + 12);
    other_info.extend_from_slice(&(ALG.len() as u32).to_be_bytes());
    other_info.extend_from_slice(ALG.as_bytes());
    other_info.extend_from_slice(&0u32.to_be_bytes()); // PartyUInfo: empty
    other_info.extend_from_slice(&0u32.to_be_bytes()); // PartyVInfo: empty
    other_info.extend_from_slice(&256u32.to_be_bytes()); // SuppPubInfo: key length in bits
    let mut kek = Zeroizing::new([0u8; 32]);
    // 32 bytes from SHA-256 is one round: the KDF cannot fail for this length.
    let _ = concat_kdf::derive_key_into::<sha2::Sha256>(shared, &other_info, kek.as_mut());
    kek
}

/// Encrypts `plaintext` to `recipient` (key id `kid`), bound to `binding`.
pub(crate) fn encrypt(
    recipient: &PublicKey,
    kid: &str,
    binding: Binding<'_>,
    plaintext: &[u8],
) -> Result<String, aes_gcm::Error> {
    let ephemeral = p256::ecdh::EphemeralSecret::random(&mut OsRng);
    let shared = ephemeral.diffie_hellman(recipient);
    let kek = key_encryption_key(shared.raw_secret_bytes());
    let (x, y) = coordinates(&ephemeral.public_key());
    let mut header = serde_json::json!({
        "alg": ALG,
        "enc": ENC,
        "kid": kid,
        "epk": {"kty": "EC", "crv": "P-256", "x": x, "y": y},
        "fld": binding.field,
    });
    if let Some(object) = binding.object {
        header["obj"] = object.into();
    }
    let header = B64.encode(header.to_string());

    let mut cek = Zeroizing::new([0u8; 32]);
    OsRng.fill_bytes(cek.as_mut());
    let wrapped = KekAes256::from(*kek)
        .wrap_vec(cek.as_ref())
        .map_err(|_| aes_gcm::Error)?;
    let mut iv = [0u8; 12];
    OsRng.fill_bytes(&mut iv);
    let cipher = Aes256Gcm::new_from_slice(cek.as_ref()).map_err(|_| aes_gcm::Error)?;
    let sealed = cipher.encrypt(
        Nonce::from_slice(&iv),
        Payload {
            msg: plaintext,
            aad: header.as_bytes(),
        },
    )?;
    let (ciphertext, tag) = sealed.split_at(sealed.len() - 16);
    Ok(format!(
        "{header}.{}.{}.{}.{}",
        B64.encode(wrapped),
        B64.encode(iv),
        B64.encode(ciphertext),
        B64.encode(tag)
    ))
}

/// The `kid` of a JWE's protected header, without decrypting anything.
pub(crate) fn kid(jwe: &str) -> Option<String> {
    let header = jwe.split('.').next()?;
    let header: Header = serde_json::from_slice(&B64.decode(header).ok()?).ok()?;
    header.kid
}

/// Decrypts a JWE made by [`encrypt`] (or any implementation of the same RFCs) with the key the
/// provider holds for its `kid`, and checks that it belongs where it was found.
pub(crate) fn decrypt(
    jwe: &str,
    provider: &dyn KeyProvider,
    expected: Binding<'_>,
) -> Result<Zeroizing<Vec<u8>>, DecryptError> {
    let malformed = |why: &'static str| DecryptError::new(DecryptErrorKind::Malformed, why);
    let parts: Vec<&str> = jwe.split('.').collect();
    let [header_b64, wrapped, iv, ciphertext, tag] = parts[..] else {
        return Err(malformed("not a JWE compact serialization (five segments)"));
    };
    let header_json = B64
        .decode(header_b64)
        .map_err(|_| malformed("the protected header is not base64url"))?;
    let header: Header = serde_json::from_slice(&header_json)
        .map_err(|_| malformed("the protected header is not a JWE header"))?;
    if header.alg != ALG || header.enc != ENC {
        return Err(DecryptError::new(
            DecryptErrorKind::Unsupported,
            "only alg ECDH-ES+A256KW with enc A256GCM is accepted",
        ));
    }
    let kid = header
        .kid
        .ok_or_else(|| malformed("the protected header has no kid"))?;
    let epk = header
        .epk
        .filter(|k| k.kty == "EC" && k.crv == "P-256")
        .and_then(|k| public_key_from_coordinates(&k.x, &k.y))
        .ok_or_else(|| malformed("the ephemeral key is not a P-256 point"))?;
    let decode =
        |segment: &str, what: &'static str| B64.decode(segment).map_err(|_| malformed(what));
    let wrapped = decode(wrapped, "the encrypted key is not base64url")?;
    let iv = decode(iv, "the IV is not base64url")?;
    let mut sealed = decode(ciphertext, "the ciphertext is not base64url")?;
    sealed.extend(decode(tag, "the tag is not base64url")?);
    if iv.len() != 12 || sealed.len() < 16 {
        return Err(malformed("the IV or the tag has the wrong length"));
    }

    let shared: SharedSecret = provider.agree(&kid, &EphemeralKey(epk)).ok_or_else(|| {
        DecryptError::new(DecryptErrorKind::UnknownKid, "no key with this kid").with_kid(&kid)
    })?;
    let kek = key_encryption_key(shared.as_bytes());
    // AES key wrap has its own integrity check: another key (or an altered wrapped key) fails it.
    let cek = Zeroizing::new(KekAes256::from(*kek).unwrap_vec(&wrapped).map_err(|_| {
        DecryptError::new(
            DecryptErrorKind::WrongKey,
            "the key with this kid does not unwrap the content key",
        )
        .with_kid(&kid)
    })?);
    let tampered = || {
        DecryptError::new(
            DecryptErrorKind::Tampered,
            "the authentication tag does not match: the header, IV or ciphertext was altered",
        )
        .with_kid(&kid)
    };
    let cipher = Aes256Gcm::new_from_slice(&cek).map_err(|_| tampered())?;
    let plaintext = cipher
        .decrypt(
            Nonce::from_slice(&iv),
            Payload {
                msg: &sealed,
                aad: header_b64.as_bytes(),
            },
        )
        .map_err(|_| tampered())?;
    let plaintext = Zeroizing::new(plaintext);
    // The header is authenticated now: compare its binding with where the value was found.
    if header.fld.as_deref() != Some(expected.field) || header.obj.as_deref() != expected.object {
        return Err(DecryptError::new(
            DecryptErrorKind::Misbound,
            "the value was encrypted for another field or object",
        )
        .with_kid(&kid));
    }
    Ok(plaintext)
}
