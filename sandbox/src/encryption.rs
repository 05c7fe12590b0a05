//! Field-level encryption: the account's registered public keys, the platform's own key pair,
//! and the JWE compact serialization (RFC 7516, `ECDH-ES+A256KW` on P-256 with `A256GCM`) that
//! every property the spec marks `x-sensitive` travels in once the account has an active key.
//!
//! This is the sandbox's own implementation, written from the RFCs and independent of the SDK's;
//! the primitives are RustCrypto's. The protected header carries the value's place in its JSON
//! document: `obj`, the `id` of the nearest enclosing object that has one (absent when none has),
//! and `fld`, the JSON Pointer from that object (or from the document's root) to the value without
//! its leading `/` (`email`, `properties/revenue`). Being the AES-GCM additional data, both
//! are authenticated, and the receiver compares them with where it found the value.

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use aes_kw::KekAes256;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use p256::elliptic_curve::sec1::{FromEncodedPoint, ToEncodedPoint};
use p256::{EncodedPoint, PublicKey, SecretKey};
use rand_core::{OsRng, RngCore};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::fmt;

const ALG: &str = "ECDH-ES+A256KW";
const ENC: &str = "A256GCM";

/// The platform's key pair and where the sensitive properties are (name paths, see
/// [`Spec::sensitive_properties`](crate::spec::Spec::sensitive_properties)).
pub struct Encryption {
    platform: SecretKey,
    platform_kid: String,
    sensitive: BTreeSet<String>,
}

impl fmt::Debug for Encryption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Encryption")
            .field("platform_kid", &self.platform_kid)
            .field("sensitive", &self.sensitive)
            .finish_non_exhaustive()
    }
}

/// A registered key's public half, ready to encrypt to.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub(crate) kid: String,
    pub(crate) key: PublicKey,
}

/// Why a JWE in a request body was refused (the message names the field, never the value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenError {
    /// Not a JWE of the supported algorithms.
    Malformed,
    /// Encrypted to a key that is not the platform's current one.
    UnknownKid,
    /// The wrapped key or the tag did not verify.
    Undecryptable,
    /// Bound to another property or object.
    Misbound,
}

/// A P-256 public key from base64url JWK coordinates; `None` unless it is a point on the curve.
pub fn public_key(x: &str, y: &str) -> Option<PublicKey> {
    let x = B64.decode(x).ok().filter(|x| x.len() == 32)?;
    let y = B64.decode(y).ok().filter(|y| y.len() == 32)?;
    let point = EncodedPoint::from_affine_coordinates(
        p256::FieldBytes::from_slice(&x),
        p256::FieldBytes::from_slice(&y),
        false,
    );
    Option::from(PublicKey::from_encoded_point(&point))
}

fn coordinates(key: &PublicKey) -> (String, String) {
    let point = key.to_encoded_point(false);
    (
        point.x().map(|x| B64.encode(x)).unwrap_or_default(),
        point.y().map(|y| B64.encode(y)).unwrap_or_default(),
    )
}

/// Concat KDF (SHA-256, one round) with RFC 7518 §4.6.2's OtherInfo for `ECDH-ES+A256KW`.
fn kek(shared: &[u8]) -> [u8; 32] {
    let mut info = Vec::new();
    info.extend_from_slice(&(ALG.len() as u32).to_be_bytes());
    info.extend_from_slice(ALG.as_bytes());
    info.extend_from_slice(&[0; 8]); // empty PartyUInfo and PartyVInfo
    info.extend_from_slice(&256u32.to_be_bytes());
    let mut out = [0u8; 32];
    let _ = concat_kdf::derive_key_into::<sha2::Sha256>(shared, &info, &mut out);
    out
}

/// Encrypts the JSON `value` to `to`, bound to property `field` of the object with id `object`.
pub fn seal(to: &Recipient, field: &str, object: Option<&str>, value: &Value) -> Option<String> {
    let ephemeral = p256::ecdh::EphemeralSecret::random(&mut OsRng);
    let kek = kek(ephemeral.diffie_hellman(&to.key).raw_secret_bytes());
    let (x, y) = coordinates(&ephemeral.public_key());
    let mut header = json!({
        "alg": ALG, "enc": ENC, "kid": to.kid,
        "epk": {"kty": "EC", "crv": "P-256", "x": x, "y": y},
        "fld": field,
    });
    if let Some(object) = object {
        header["obj"] = object.into();
    }
    let protected = B64.encode(header.to_string());
    let mut cek = [0u8; 32];
    OsRng.fill_bytes(&mut cek);
    let mut iv = [0u8; 12];
    OsRng.fill_bytes(&mut iv);
    let wrapped = KekAes256::from(kek).wrap_vec(&cek).ok()?;
    let plaintext = serde_json::to_vec(value).ok()?;
    let sealed = Aes256Gcm::new_from_slice(&cek)
        .ok()?
        .encrypt(
            Nonce::from_slice(&iv),
            Payload {
                msg: &plaintext,
                aad: protected.as_bytes(),
            },
        )
        .ok()?;
    let (ciphertext, tag) = sealed.split_at(sealed.len() - 16);
    Some(format!(
        "{protected}.{}.{}.{}.{}",
        B64.encode(wrapped),
        B64.encode(iv),
        B64.encode(ciphertext),
        B64.encode(tag)
    ))
}

/// Whether `text` has the shape of a JWE compact serialization.
pub fn is_jwe(text: &str) -> bool {
    text.starts_with("eyJ")
        && text.split('.').count() == 5
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

impl Encryption {
    /// A fresh platform key pair; `sensitive` names the properties to encrypt.
    pub fn new(sensitive: BTreeSet<String>) -> Self {
        let mut id = [0u8; 6];
        OsRng.fill_bytes(&mut id);
        Self {
            platform: SecretKey::random(&mut OsRng),
            platform_kid: format!("platform-{}", B64.encode(id)),
            sensitive,
        }
    }

    /// The platform's JWKS.
    pub fn platform_jwks(&self) -> Value {
        let (x, y) = coordinates(&self.platform.public_key());
        json!({"keys": [{
            "kty": "EC", "crv": "P-256", "x": x, "y": y,
            "kid": self.platform_kid, "use": "enc", "alg": ALG,
        }]})
    }

    /// Encrypts every sensitive property of the document `value` (a whole response body or
    /// webhook payload) to `to`, each bound to its place. `null` stays `null` (nothing to hide,
    /// and clearing must stay visible).
    pub fn seal_tree(&self, value: &mut Value, to: &Recipient) {
        let mut walk = Walk::default();
        let sealed = self.walk(value, None, String::new(), &mut walk, &mut |at, value| {
            if !value.is_null()
                && !is_sealed(value)
                && let Some(jwe) = seal(to, at.pointer, at.anchor, value)
            {
                *value = Value::String(jwe);
            }
            Ok(())
        });
        // Sealing never refuses anything.
        debug_assert!(sealed.is_ok());
    }

    /// Decrypts, in a request body, every sensitive property (at any depth) sent as a JWE to
    /// the platform's key. `path_id` is the id the request's path names: where no enclosing
    /// object has an `id`, a JWE's `obj` may name it. Returns the property that could not be
    /// decrypted (`events[0].properties.revenue`), and why; otherwise how many it decrypted.
    pub fn open_body(
        &self,
        body: &mut Value,
        path_id: Option<&str>,
    ) -> Result<usize, (String, OpenError)> {
        let mut walk = Walk::default();
        let mut opened = 0;
        self.walk(body, None, String::new(), &mut walk, &mut |at, value| {
            let Value::String(text) = &*value else {
                return Ok(());
            };
            if !is_jwe(text) {
                return Ok(());
            }
            let plain = self
                .open(text, at, path_id)
                .map_err(|error| (at.display.to_owned(), error))?;
            *value = plain;
            opened += 1;
            Ok(())
        })?;
        Ok(opened)
    }

    /// Calls `visit` on every sensitive position under `value`, which sits at `pointer` below
    /// the object with id `anchor` (or the root).
    fn walk(
        &self,
        value: &mut Value,
        anchor: Option<&str>,
        pointer: String,
        walk: &mut Walk,
        visit: &mut Visit<'_>,
    ) -> Result<(), (String, OpenError)> {
        match value {
            Value::Object(map) => {
                // An object with an `id` anchors what it holds: pointers start again from it.
                let own = map.get("id").and_then(Value::as_str).map(str::to_owned);
                let (anchor, pointer) = match &own {
                    Some(id) => (Some(id.as_str()), String::new()),
                    None => (anchor, pointer),
                };
                for (name, member) in map.iter_mut() {
                    let child = pointer_child(&pointer, name);
                    let len = walk.display.len();
                    if !walk.display.is_empty() {
                        walk.display.push('.');
                    }
                    walk.display.push_str(name);
                    walk.names.push(name.clone());
                    if self.is_sensitive(&walk.names) {
                        let at = At {
                            pointer: &child,
                            anchor,
                            display: &walk.display,
                        };
                        visit(&at, member)?;
                    } else {
                        self.walk(member, anchor, child, walk, visit)?;
                    }
                    walk.names.pop();
                    walk.display.truncate(len);
                }
                Ok(())
            }
            Value::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    let len = walk.display.len();
                    walk.display.push_str(&format!("[{i}]"));
                    let child = pointer_child(&pointer, &i.to_string());
                    self.walk(item, anchor, child, walk, visit)?;
                    walk.display.truncate(len);
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Whether the member at the end of `names` is sensitive: some suffix of the name path is a
    /// sensitive name path.
    fn is_sensitive(&self, names: &[String]) -> bool {
        (0..names.len()).rev().any(|start| {
            let suffix = names[start..].join("/");
            self.sensitive.contains(&suffix)
        })
    }

    fn open(&self, jwe: &str, at: &At<'_>, path_id: Option<&str>) -> Result<Value, OpenError> {
        use OpenError::*;
        let parts: Vec<&str> = jwe.split('.').collect();
        let [protected, wrapped, iv, ciphertext, tag] = parts[..] else {
            return Err(Malformed);
        };
        let header: Value = B64
            .decode(protected)
            .ok()
            .and_then(|h| serde_json::from_slice(&h).ok())
            .ok_or(Malformed)?;
        let text = |name: &str| header.get(name).and_then(Value::as_str);
        if text("alg") != Some(ALG) || text("enc") != Some(ENC) {
            return Err(Malformed);
        }
        if text("kid") != Some(self.platform_kid.as_str()) {
            return Err(UnknownKid);
        }
        let epk = header.get("epk").ok_or(Malformed)?;
        let epk_text = |name: &str| epk.get(name).and_then(Value::as_str);
        if epk_text("kty") != Some("EC") || epk_text("crv") != Some("P-256") {
            return Err(Malformed);
        }
        let epk = public_key(
            epk_text("x").ok_or(Malformed)?,
            epk_text("y").ok_or(Malformed)?,
        )
        .ok_or(Malformed)?;
        let shared = p256::ecdh::diffie_hellman(self.platform.to_nonzero_scalar(), epk.as_affine());
        let kek = kek(shared.raw_secret_bytes());
        let decode = |s: &str| B64.decode(s).map_err(|_| Malformed);
        let cek = KekAes256::from(kek)
            .unwrap_vec(&decode(wrapped)?)
            .map_err(|_| Undecryptable)?;
        let iv = decode(iv)?;
        if iv.len() != 12 {
            return Err(Malformed);
        }
        let mut sealed = decode(ciphertext)?;
        sealed.extend(decode(tag)?);
        let plaintext = Aes256Gcm::new_from_slice(&cek)
            .map_err(|_| Undecryptable)?
            .decrypt(
                Nonce::from_slice(&iv),
                Payload {
                    msg: &sealed,
                    aad: protected.as_bytes(),
                },
            )
            .map_err(|_| Undecryptable)?;
        let object_ok = match (text("obj"), at.anchor) {
            (obj, Some(anchor)) => obj == Some(anchor),
            (None, None) => true,
            (Some(obj), None) => Some(obj) == path_id,
        };
        if text("fld") != Some(at.pointer) || !object_ok {
            return Err(Misbound);
        }
        serde_json::from_slice(&plaintext).map_err(|_| Malformed)
    }
}

/// What [`Encryption::walk`] does at each sensitive position; an error names the place.
type Visit<'v> = dyn FnMut(&At<'_>, &mut Value) -> Result<(), (String, OpenError)> + 'v;

/// A sensitive position found by [`Encryption::walk`].
struct At<'a> {
    /// The JSON Pointer from the anchoring object (or the root), without its leading `/`.
    pointer: &'a str,
    /// The `id` of the nearest enclosing object that has one.
    anchor: Option<&'a str>,
    /// The dotted path from the root, for error messages (`events[0].properties.revenue`).
    display: &'a str,
}

/// What [`Encryption::walk`] carries down: the member names from the root (array indices left
/// out, for matching name paths) and the dotted path for error messages.
#[derive(Default)]
struct Walk {
    names: Vec<String>,
    display: String,
}

/// `pointer` extended by the reference token `token` (RFC 6901: `~` is `~0`, `/` is `~1`).
fn pointer_child(pointer: &str, token: &str) -> String {
    let token = token.replace('~', "~0").replace('/', "~1");
    if pointer.is_empty() {
        token
    } else {
        format!("{pointer}/{token}")
    }
}

fn is_sealed(value: &Value) -> bool {
    value.as_str().is_some_and(is_jwe)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn platform() -> Encryption {
        Encryption::new(
            ["email", "properties/revenue"]
                .into_iter()
                .map(str::to_owned)
                .collect(),
        )
    }

    fn to_platform(encryption: &Encryption) -> Recipient {
        Recipient {
            kid: encryption.platform_kid.clone(),
            key: encryption.platform.public_key(),
        }
    }

    #[test]
    fn nested_values_are_sealed_at_their_place_and_opened_only_there() {
        let encryption = platform();
        let to = to_platform(&encryption);
        let mut page = json!({"data": [
            {"id": "evt_1", "properties": {"revenue": "1.00", "currency": "USD"}},
            {"id": "evt_2", "properties": {"revenue": "2.00"}, "attributes": {"revenue": "x"}},
        ]});
        encryption.seal_tree(&mut page, &to);
        assert!(is_sealed(&page["data"][0]["properties"]["revenue"]));
        assert_eq!(page["data"][0]["properties"]["currency"], "USD");
        // Only under `properties`: the name alone elsewhere is not sensitive.
        assert_eq!(page["data"][1]["attributes"]["revenue"], "x");

        // A request body carrying the sealed values at the same places opens; swapped, it is
        // refused naming the place.
        let first = page["data"][0]["properties"]["revenue"].clone();
        let second = page["data"][1]["properties"]["revenue"].clone();
        let mut body = json!({"data": [
            {"id": "evt_1", "properties": {"revenue": first.clone()}},
            {"id": "evt_2", "properties": {"revenue": second.clone()}},
        ]});
        assert_eq!(encryption.open_body(&mut body, None), Ok(2));
        assert_eq!(body["data"][1]["properties"]["revenue"], "2.00");
        let mut swapped = json!({"data": [
            {"id": "evt_1", "properties": {"revenue": second}},
            {"id": "evt_2", "properties": {"revenue": first}},
        ]});
        assert_eq!(
            encryption.open_body(&mut swapped, None),
            Err(("data[0].properties.revenue".to_owned(), OpenError::Misbound))
        );
    }

    #[test]
    fn a_member_name_with_a_slash_or_tilde_is_escaped_in_the_pointer() {
        assert_eq!(pointer_child("", "a/b~c"), "a~1b~0c");
        assert_eq!(
            pointer_child("events/0", "properties"),
            "events/0/properties"
        );
    }
}
