//! The HMAC-SHA256 of a message's signed content, keyed once per secret.

use std::fmt;

use hmac::{Hmac, Mac as _, digest::KeyInit};
use sha2::{Digest as _, Sha256};

use super::error::Redacted;
use super::secret::WebhookSecret;

/// The length of an HMAC-SHA256 tag in bytes.
pub(crate) const TAG_LEN: usize = 32;

/// SHA-256's block size: HMAC pads (or first hashes) the key to this length.
const BLOCK_LEN: usize = 64;

/// An HMAC-SHA256 state with the key already absorbed.
///
/// Keying costs two SHA-256 compressions (the inner and outer padded key). Doing it once per
/// secret and cloning the keyed state for each message leaves only the message's own blocks
/// to hash, which is what keeps verification at the cost of a bare HMAC.
#[derive(Clone)]
pub(crate) struct KeyedMac {
    keyed: Hmac<Sha256>,
}

impl KeyedMac {
    pub(crate) fn new(secret: &WebhookSecret) -> Self {
        // RFC 2104: a key longer than the block is replaced by its hash, a shorter one is
        // padded with zeros. Doing that here gives the fixed-size key `Hmac::new` takes, which
        // (unlike `new_from_slice`) has no error case to handle.
        let key = secret.expose_bytes();
        let mut block = [0u8; BLOCK_LEN];
        if key.len() > BLOCK_LEN {
            block[..TAG_LEN].copy_from_slice(&Sha256::digest(key));
        } else {
            block[..key.len()].copy_from_slice(key);
        }
        Self {
            keyed: <Hmac<Sha256> as KeyInit>::new(&block.into()),
        }
    }

    /// The tag of the signed content `{id}.{timestamp}.{body}`.
    ///
    /// The parts are fed to the hash one after another instead of being joined first, so the
    /// body is never copied and nothing is allocated whatever its size.
    pub(crate) fn tag(&self, id: &[u8], timestamp: &[u8], body: &[u8]) -> [u8; TAG_LEN] {
        let mut mac = self.keyed.clone();
        mac.update(id);
        mac.update(b".");
        mac.update(timestamp);
        mac.update(b".");
        mac.update(body);
        mac.finalize().into_bytes().into()
    }
}

impl fmt::Debug for KeyedMac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedMac").field("key", &Redacted).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(key: &[u8], message: &[u8]) -> [u8; TAG_LEN] {
        let mut mac =
            <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length");
        mac.update(message);
        mac.finalize().into_bytes().into()
    }

    #[test]
    fn keying_matches_hmac_for_short_block_sized_and_long_keys() {
        for len in [1, 24, 32, 63, 64, 65, 100, 200] {
            let key: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let secret = WebhookSecret::from_bytes(key.clone()).expect("non-empty key");
            assert_eq!(
                KeyedMac::new(&secret).tag(b"msg_1", b"1700000000", b"{\"a\":1}"),
                reference(&key, b"msg_1.1700000000.{\"a\":1}"),
                "key length {len}"
            );
        }
    }
}
