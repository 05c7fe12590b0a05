//! Field-level encryption of the fields the contract marks `x-sensitive`.
//!
//! Each sensitive value travels as its own JWE compact serialization (RFC 7516): key agreement
//! `ECDH-ES+A256KW` on P-256, content encryption `A256GCM`, the recipient's key named by `kid`.
//! The plaintext is the field's JSON value (`"ada@example.com"`, quotes included). The protected
//! header — AES-GCM's additional authenticated data — also carries the value's place in its JSON
//! document (response body, webhook payload or request body): `obj`, the `id` of the nearest
//! enclosing object that has one (absent when none has, as in a creation request), and `fld`, the
//! JSON Pointer (RFC 6901) from that object — or from the document's root — to the value, without
//! its leading `/`. A member of an object with an `id` is bound by its name (`email`), a member of
//! a nested object without one by its path (`properties/revenue` under the event's id). The
//! decrypting side computes both from where it found the value, so a ciphertext moved to another
//! field or position, or swapped between two contacts or two events, is refused
//! ([`DecryptErrorKind::Misbound`]), and one altered anywhere fails the tag
//! ([`DecryptErrorKind::Tampered`]).
//!
//! - Reading: a [`Client`](crate::Client) built with
//!   [`key_provider`](crate::ClientBuilder::key_provider) decrypts every JWE in a response before
//!   decoding it, and the webhook [`Verifier`](crate::webhooks::Verifier) with
//!   [`key_provider`](crate::webhooks::VerifierBuilder::key_provider) decrypts event payloads
//!   after verifying the signature. Without a provider the values stay sealed:
//!   [`Sensitive::expose`](crate::Sensitive::expose) is an error.
//! - Writing: with [`encrypt_writes`](crate::ClientBuilder::encrypt_writes), the sensitive
//!   fields of request bodies are encrypted to the platform's key before they leave the process.
//! - Keys: [`KeyProvider`] does ECDH for a `kid` (plug in a KMS or HSM);
//!   [`PrivateKeySet`] keeps keys in memory and generates them.

// Without `client` (and `webhooks`) nothing sends or receives bodies: the walkers are unused.
#![cfg_attr(not(all(feature = "client", feature = "webhooks")), allow(dead_code))]

mod error;
mod jwe;
mod keys;
#[cfg(all(feature = "client", marketing_api_bundled_spec))]
mod register;

pub use error::{DecryptError, DecryptErrorKind, EncryptError, KeyError};
pub use jwe::Binding;
pub use keys::{EphemeralKey, KeyProvider, PlatformKeys, PrivateKeySet, PublicJwk, SharedSecret};

use serde_json::{Map, Value};

use crate::sensitive::looks_like_jwe;

/// Decrypts one JWE found at `binding` and parses its plaintext as JSON.
///
/// ```
/// use marketing_api::encryption::{Binding, PrivateKeySet, decrypt_value};
/// let keys = PrivateKeySet::new();
/// let public = keys.generate("k1")?;
/// let here = Binding { field: "email", object: Some("ctc_1") };
/// let jwe = public.encrypt(&"ada@example.com".into(), here)?;
/// assert_eq!(decrypt_value(&jwe, &keys, here)?, "ada@example.com");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decrypt_value(
    jwe: &str,
    provider: &dyn KeyProvider,
    binding: Binding<'_>,
) -> Result<Value, DecryptError> {
    let plaintext = jwe::decrypt(jwe, provider, binding)?;
    serde_json::from_slice(&plaintext).map_err(|_| {
        DecryptError::new(
            DecryptErrorKind::Malformed,
            "the plaintext is not a JSON value",
        )
    })
}

/// The `kid` a JWE's protected header names, read without decrypting (to pick the key when
/// several keys may apply).
pub fn jwe_kid(jwe: &str) -> Option<String> {
    jwe::kid(jwe)
}

/// Decrypts every JWE in a JSON body, each checked against its place in the body (the `id` of
/// the nearest enclosing object that has one, and the JSON Pointer from there): what the client
/// does to each response and the webhook verifier to each payload, for bodies kept raw (a queue,
/// an archive). Returns the new body, or `None` when it held no JWE (use the bytes you have).
///
/// ```
/// use marketing_api::encryption::{Binding, PrivateKeySet, decrypt_body};
/// let keys = PrivateKeySet::new();
/// let public = keys.generate("k1")?;
/// let here = Binding { field: "email", object: Some("ctc_1") };
/// let body = serde_json::json!({"id": "ctc_1", "email": public.encrypt(&"a@b.example".into(), here)?});
/// let plain = decrypt_body(body.to_string().as_bytes(), &keys)?.expect("it held a JWE");
/// assert_eq!(serde_json::from_slice::<serde_json::Value>(&plain)?["email"], "a@b.example");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decrypt_body(
    body: &[u8],
    provider: &dyn KeyProvider,
) -> Result<Option<Vec<u8>>, DecryptError> {
    // Every JWE starts with `eyJ` (base64url of `{"`): a body without it is left untouched and
    // costs one scan.
    if !body.windows(4).any(|w| w == b"\"eyJ") {
        return Ok(None);
    }
    let Ok(mut value) = serde_json::from_slice::<Value>(body) else {
        // Not JSON: the decoder reports it as it would without encryption.
        return Ok(None);
    };
    let mut path = String::new();
    if decrypt_tree(&mut value, provider, &mut path)? == 0 {
        return Ok(None);
    }
    Ok(serde_json::to_vec(&value).ok())
}

/// Where a walk through a JSON document stands: the `id` of the nearest enclosing object that has
/// one (the binding's `obj`), and the JSON Pointer from that object (or from the document's root
/// when none has an `id`) without its leading `/` (the binding's `fld`).
struct Place {
    anchor: Option<String>,
    pointer: String,
}

impl Place {
    fn root() -> Self {
        Self {
            anchor: None,
            pointer: String::new(),
        }
    }

    /// The place of member or index `token` of the value here.
    fn child(&self, token: &str) -> String {
        // RFC 6901: `~` and `/` inside a reference token are escaped.
        let token = token.replace('~', "~0").replace('/', "~1");
        if self.pointer.is_empty() {
            token
        } else {
            format!("{}/{token}", self.pointer)
        }
    }

    /// The place inside object `map` at `pointer`: an object with an `id` starts a new anchor.
    fn enter(&self, map: &Map<String, Value>, pointer: String) -> Self {
        match map.get("id").and_then(Value::as_str) {
            Some(id) => Self {
                anchor: Some(id.to_owned()),
                pointer: String::new(),
            },
            None => Self {
                anchor: self.anchor.clone(),
                pointer,
            },
        }
    }
}

/// Decrypts every JWE in the document `value`, each checked against its place (see [`Place`]);
/// how many it decrypted. `path` is the dotted path for error messages (`data[3].email`).
pub(crate) fn decrypt_tree(
    value: &mut Value,
    provider: &dyn KeyProvider,
    path: &mut String,
) -> Result<usize, DecryptError> {
    let root = Place::root();
    match value {
        Value::Object(map) => {
            let here = root.enter(map, String::new());
            decrypt_members(map, provider, &here, path)
        }
        Value::Array(items) => decrypt_items(items, provider, &root, path),
        _ => Ok(0),
    }
}

/// Decrypts `value`, found at `pointer` under `place`, or what it holds.
fn decrypt_at(
    value: &mut Value,
    provider: &dyn KeyProvider,
    place: &Place,
    pointer: String,
    path: &mut String,
) -> Result<usize, DecryptError> {
    if let Value::String(text) = &*value
        && looks_like_jwe(text)
    {
        let binding = Binding {
            field: &pointer,
            object: place.anchor.as_deref(),
        };
        *value = decrypt_value(text, provider, binding).map_err(|e| e.at(path.clone()))?;
        return Ok(1);
    }
    match value {
        Value::Object(map) => {
            let here = place.enter(map, pointer);
            decrypt_members(map, provider, &here, path)
        }
        Value::Array(items) => {
            let here = Place {
                anchor: place.anchor.clone(),
                pointer,
            };
            decrypt_items(items, provider, &here, path)
        }
        _ => Ok(0),
    }
}

fn decrypt_members(
    map: &mut Map<String, Value>,
    provider: &dyn KeyProvider,
    here: &Place,
    path: &mut String,
) -> Result<usize, DecryptError> {
    let mut count = 0;
    for (name, member) in map.iter_mut() {
        let len = path.len();
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(name);
        count += decrypt_at(member, provider, here, here.child(name), path)?;
        path.truncate(len);
    }
    Ok(count)
}

fn decrypt_items(
    items: &mut [Value],
    provider: &dyn KeyProvider,
    here: &Place,
    path: &mut String,
) -> Result<usize, DecryptError> {
    let mut count = 0;
    for (i, item) in items.iter_mut().enumerate() {
        let len = path.len();
        path.push_str(&format!("[{i}]"));
        count += decrypt_at(item, provider, here, here.child(&i.to_string()), path)?;
        path.truncate(len);
    }
    Ok(count)
}

/// Replaces each value [`marking`](crate::sensitive::marking) wrapped by its JWE to `key`
/// (`Some`), bound to its place in the document `value` (see [`Place`]), or by the plain value
/// (`None`).
pub(crate) fn seal_marked(value: &mut Value, key: Option<&PublicJwk>) -> Result<(), EncryptError> {
    seal_at(value, key, &Place::root(), String::new())
}

fn seal_at(
    value: &mut Value,
    key: Option<&PublicJwk>,
    place: &Place,
    pointer: String,
) -> Result<(), EncryptError> {
    if let Some(inner) = take_marked(value) {
        *value = match key {
            Some(key) => Value::String(key.encrypt(
                &inner,
                Binding {
                    field: &pointer,
                    object: place.anchor.as_deref(),
                },
            )?),
            None => inner,
        };
        return Ok(());
    }
    match value {
        Value::Object(map) => {
            let here = place.enter(map, pointer);
            for (name, member) in map.iter_mut() {
                seal_at(member, key, &here, here.child(name))?;
            }
            Ok(())
        }
        Value::Array(items) => {
            let here = Place {
                anchor: place.anchor.clone(),
                pointer,
            };
            for (i, item) in items.iter_mut().enumerate() {
                seal_at(item, key, &here, here.child(&i.to_string()))?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn take_marked(value: &mut Value) -> Option<Value> {
    match value {
        Value::Object(map)
            if map.len() == 1 && map.contains_key(crate::sensitive::marking::MARKER) =>
        {
            map.remove(crate::sensitive::marking::MARKER)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests;
