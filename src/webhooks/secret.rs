//! Signing secrets: parsing the `whsec_<base64>` form and keeping the key out of logs.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use super::error::{Redacted, WebhookError};

/// The prefix that marks a Standard Webhooks secret.
const PREFIX: &str = "whsec_";

/// Standard base64 that accepts the secret with or without its `=` padding: some dashboards
/// and configuration systems strip it, and the key is the same either way.
pub(crate) const BASE64_ANY_PADDING: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The symmetric key shared by a webhook sender and its receivers.
///
/// Created from the `whsec_<base64>` string the API shows when an endpoint is created (padded
/// or not), from the bare base64 part, or from raw key bytes. Its `Debug` output never shows
/// the key.
///
/// ```
/// use marketing_api::webhooks::WebhookSecret;
/// let secret: WebhookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".parse()?;
/// assert_eq!(secret.len(), 24);
/// assert_eq!(format!("{secret:?}"), "WebhookSecret { key: <redacted>, len: 24 }");
/// # Ok::<(), marketing_api::webhooks::WebhookError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret {
    key: Vec<u8>,
}

impl WebhookSecret {
    /// Parses `whsec_<base64>` or bare base64, with or without `=` padding. Leading and
    /// trailing whitespace (a newline left in an environment variable) is ignored.
    ///
    /// Fails with [`WebhookError::InvalidSecret`] when the text is empty or not base64; a key
    /// that is not base64 text is given as bytes to [`WebhookSecret::from_bytes`] instead.
    pub fn parse(text: &str) -> Result<Self, WebhookError> {
        let text = text.trim();
        let encoded = text.strip_prefix(PREFIX).unwrap_or(text);
        if encoded.is_empty() {
            return Err(WebhookError::InvalidSecret {
                reason: "the secret is empty",
            });
        }
        let key = BASE64_ANY_PADDING
            .decode(encoded)
            .map_err(|_| WebhookError::InvalidSecret {
                reason: "the part after `whsec_` is not valid base64",
            })?;
        Self::from_bytes(key)
    }

    /// Uses `key` as the HMAC key as it is, for secrets not issued in the `whsec_` form.
    ///
    /// Fails with [`WebhookError::InvalidSecret`] when `key` is empty.
    ///
    /// ```
    /// use marketing_api::webhooks::WebhookSecret;
    /// let secret = WebhookSecret::from_bytes(b"a key from another provider".to_vec())?;
    /// assert_eq!(secret.len(), 27);
    /// assert!(WebhookSecret::from_bytes(Vec::new()).is_err());
    /// # Ok::<(), marketing_api::webhooks::WebhookError>(())
    /// ```
    pub fn from_bytes(key: impl Into<Vec<u8>>) -> Result<Self, WebhookError> {
        let key = key.into();
        if key.is_empty() {
            return Err(WebhookError::InvalidSecret {
                reason: "the key is empty",
            });
        }
        Ok(Self { key })
    }

    /// A fresh random 24-byte secret (the size the API issues), for senders and tests.
    ///
    /// # Panics
    ///
    /// If the operating system's random source fails, as `rand::random` would: a secret must
    /// never come from a weaker source.
    pub fn generate() -> Self {
        let mut key = vec![0u8; 24];
        getrandom::fill(&mut key).expect("the operating system's random source failed");
        Self { key }
    }

    /// The key length in bytes.
    pub fn len(&self) -> usize {
        self.key.len()
    }

    /// Always `false`: an empty secret cannot be constructed.
    pub fn is_empty(&self) -> bool {
        self.key.is_empty()
    }

    /// The key in the `whsec_<base64>` form, for handing a generated secret to a receiver.
    /// The name says what it does: the result is the secret itself and must not be logged.
    ///
    /// ```
    /// use marketing_api::webhooks::WebhookSecret;
    /// let text = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    /// assert_eq!(WebhookSecret::parse(text)?.expose_whsec(), text);
    /// # Ok::<(), marketing_api::webhooks::WebhookError>(())
    /// ```
    pub fn expose_whsec(&self) -> String {
        format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(&self.key)
        )
    }

    /// The raw key bytes. They are the secret itself and must not be logged.
    pub fn expose_bytes(&self) -> &[u8] {
        &self.key
    }
}

impl FromStr for WebhookSecret {
    type Err = WebhookError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSecret")
            .field("key", &Redacted)
            .field("len", &self.key.len())
            .finish()
    }
}
