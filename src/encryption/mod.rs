//! Field-level encryption of the fields the contract marks `x-sensitive`.
//!
//! Each sensitive value travels as its own JWE compact serialization (RFC 7516): key agreement
//! `ECDH-ES+A256KW` on P-256, content encryption `A256GCM`, the recipient's key named by `kid`.
//! The plaintext is the field's JSON value (`"ada@example.com"`, quotes included). The protected
//! header — AES-GCM's additional authenticated data — also carries `fld`, the field's JSON member
//! name, and `obj`, the `id` of the object that holds it (absent when that object has none, as
//! in a creation request); the decrypting side checks both against where it found the value, so
//! a ciphertext moved to another field or swapped between two contacts is refused
//! ([`DecryptErrorKind::Misbound`]), and one altered anywhere fails the tag
//! ([`DecryptErrorKind::Tampered`]).
//!
//! - Reading: a [`Client`](crate::Client) built with
//!   [`key_provider`](crate::ClientBuilder::key_provider) decrypts every JWE in a response before
//!   decoding it, and the webhook [`Verifier`](crate::webhooks::Verifier) with
//!   [`with_key_provider`](crate::webhooks::Verifier::with_key_provider) decrypts event payloads
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

/// Decrypts every JWE in a JSON body, each checked against the member name it sits under and
/// the `id` of its object: what the client does to each response, for bodies kept raw (a queue,
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
    if decrypt_tree(&mut value, provider, None, &mut path)? == 0 {
        return Ok(None);
    }
    Ok(serde_json::to_vec(&value).ok())
}

/// Decrypts every JWE under `value`; how many it decrypted. `field` is the member name `value`
/// sits under (array items inherit it).
pub(crate) fn decrypt_tree(
    value: &mut Value,
    provider: &dyn KeyProvider,
    field: Option<&str>,
    path: &mut String,
) -> Result<usize, DecryptError> {
    match value {
        Value::Object(map) => decrypt_object(map, provider, path),
        Value::Array(items) => {
            let mut count = 0;
            for (i, item) in items.iter_mut().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                let sealed = match &*item {
                    Value::String(text) if looks_like_jwe(text) => field.map(|field| {
                        let binding = Binding {
                            field,
                            object: None,
                        };
                        decrypt_value(text, provider, binding).map_err(|e| e.at(path.clone()))
                    }),
                    _ => None,
                };
                match sealed {
                    Some(plain) => {
                        *item = plain?;
                        count += 1;
                    }
                    None => count += decrypt_tree(item, provider, field, path)?,
                }
                path.truncate(len);
            }
            Ok(count)
        }
        _ => Ok(0),
    }
}

fn decrypt_object(
    map: &mut Map<String, Value>,
    provider: &dyn KeyProvider,
    path: &mut String,
) -> Result<usize, DecryptError> {
    let id = map.get("id").and_then(Value::as_str).map(str::to_owned);
    let mut count = 0;
    for (name, member) in map.iter_mut() {
        let len = path.len();
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(name);
        let sealed = match &*member {
            Value::String(text) if looks_like_jwe(text) => {
                let binding = Binding {
                    field: name,
                    object: id.as_deref(),
                };
                Some(decrypt_value(text, provider, binding).map_err(|e| e.at(path.clone()))?)
            }
            _ => None,
        };
        match sealed {
            Some(plain) => {
                *member = plain;
                count += 1;
            }
            None => count += decrypt_tree(member, provider, Some(name), path)?,
        }
        path.truncate(len);
    }
    Ok(count)
}

/// Replaces each value [`marking`](crate::sensitive::marking) wrapped by its JWE to `key`
/// (`Some`), or by the plain value (`None`).
pub(crate) fn seal_marked(value: &mut Value, key: Option<&PublicJwk>) -> Result<(), EncryptError> {
    match value {
        Value::Object(map) => {
            let id = map.get("id").and_then(Value::as_str).map(str::to_owned);
            for (name, member) in map.iter_mut() {
                if let Some(inner) = take_marked(member) {
                    *member = match key {
                        Some(key) => Value::String(key.encrypt(
                            &inner,
                            Binding {
                                field: name,
                                object: id.as_deref(),
                            },
                        )?),
                        None => inner,
                    };
                } else {
                    seal_marked(member, key)?;
                }
            }
            Ok(())
        }
        Value::Array(items) => items.iter_mut().try_for_each(|item| seal_marked(item, key)),
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
