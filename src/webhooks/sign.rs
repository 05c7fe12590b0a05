//! Producing the Standard Webhooks headers for a payload, for senders and tests.

use std::fmt;

use base64::Engine as _;

use super::error::WebhookError;
use super::headers::{WEBHOOK_ID, WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP, WebhookHeaders};
use super::mac::KeyedMac;
use super::secret::WebhookSecret;

/// Signs payloads the way a Standard Webhooks sender does.
///
/// ```
/// use marketing_api::webhooks::Signer;
/// let signer = Signer::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
/// let headers = signer.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, br#"{"test": 2432232314}"#);
/// assert_eq!(headers.signature(), "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
/// let map: http::HeaderMap = headers.to_header_map()?;
/// assert_eq!(map["webhook-timestamp"], "1614265330");
/// # Ok::<(), marketing_api::webhooks::WebhookError>(())
/// ```
#[derive(Clone)]
pub struct Signer {
    key: KeyedMac,
}

impl Signer {
    /// A signer for a secret given as `whsec_<base64>` (or bare base64).
    ///
    /// Fails with [`WebhookError::InvalidSecret`] when the secret cannot be parsed.
    pub fn new(secret: &str) -> Result<Self, WebhookError> {
        Ok(Self::from_secret(&WebhookSecret::parse(secret)?))
    }

    /// A signer for a parsed secret.
    pub fn from_secret(secret: &WebhookSecret) -> Self {
        Self {
            key: KeyedMac::new(secret),
        }
    }

    /// The three headers for sending `body` as message `id` signed at `timestamp` (Unix
    /// seconds). A retry of the same event keeps its id and gets a new timestamp.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> SignedHeaders {
        let timestamp_text = timestamp.to_string();
        let tag = self.key.tag(id.as_bytes(), timestamp_text.as_bytes(), body);
        let mut signature = String::with_capacity(48);
        signature.push_str("v1,");
        base64::engine::general_purpose::STANDARD.encode_string(tag, &mut signature);
        SignedHeaders {
            id: id.to_owned(),
            timestamp: timestamp_text,
            signature,
        }
    }

    /// A fresh message id in the API's form, `msg_` followed by 32 random hex digits.
    ///
    /// ```
    /// use marketing_api::webhooks::Signer;
    /// let id = Signer::new_message_id();
    /// assert!(id.starts_with("msg_") && id.len() == 36);
    /// assert_ne!(id, Signer::new_message_id());
    /// ```
    pub fn new_message_id() -> String {
        format!("msg_{}", uuid::Uuid::new_v4().simple())
    }
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer").field("key", &self.key).finish()
    }
}

/// The values of the three Standard Webhooks headers for one signed payload.
///
/// They implement [`WebhookHeaders`], so they can be handed straight to a
/// [`Verifier`](super::Verifier) in tests, and convert to an [`http::HeaderMap`] for sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    id: String,
    timestamp: String,
    signature: String,
}

impl SignedHeaders {
    /// The `webhook-id` value.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The `webhook-timestamp` value (Unix seconds as text).
    pub fn timestamp(&self) -> &str {
        &self.timestamp
    }

    /// The `webhook-signature` value, `v1,<base64>`.
    pub fn signature(&self) -> &str {
        &self.signature
    }

    /// The three `(name, value)` pairs, in the order id, timestamp, signature.
    pub fn pairs(&self) -> [(&'static str, &str); 3] {
        [
            (WEBHOOK_ID, &self.id),
            (WEBHOOK_TIMESTAMP, &self.timestamp),
            (WEBHOOK_SIGNATURE, &self.signature),
        ]
    }

    /// The headers as an [`http::HeaderMap`], ready for `reqwest::RequestBuilder::headers`.
    ///
    /// Fails with [`WebhookError::MalformedHeader`] when the message id contains characters a
    /// header value cannot carry (control characters).
    pub fn to_header_map(&self) -> Result<http::HeaderMap, WebhookError> {
        let mut map = http::HeaderMap::with_capacity(3);
        for (name, value) in self.pairs() {
            let value =
                http::HeaderValue::from_str(value).map_err(|_| WebhookError::MalformedHeader {
                    name,
                    reason: "the value contains characters not allowed in a header",
                })?;
            map.insert(name, value);
        }
        Ok(map)
    }
}

impl WebhookHeaders for SignedHeaders {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.pairs()
            .into_iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_bytes())
    }
}
