//! Checking that a webhook request is authentic and fresh.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq as _;

use super::error::{PayloadError, WebhookError};
use super::events::Event;
use super::headers::{WEBHOOK_ID, WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP, WebhookHeaders};
use super::mac::{KeyedMac, TAG_LEN};
use super::secret::WebhookSecret;
use crate::clock::{Clock, SystemClock};

/// The tolerance the Standard Webhooks specification recommends: five minutes either way.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// The only signature version this verifier checks; entries with any other prefix (such as the
/// asymmetric `v1a`) are skipped, as the specification asks.
const SIGNATURE_VERSION: &[u8] = b"v1,";

/// The length of a tag in base64 without its padding.
const ENCODED_TAG_LEN: usize = 43;

/// Verifies Standard Webhooks requests: the signature over `{id}.{timestamp}.{body}` under one
/// of the configured secrets, and the timestamp against a tolerance.
///
/// Cloning is cheap (the configuration is shared), so one verifier can sit in an application
/// state and be handed to every request.
///
/// ```
/// use marketing_api::webhooks::{Signer, Verifier};
/// let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// let body = br#"{"test": 2432232314}"#;
/// let now = std::time::SystemTime::now()
///     .duration_since(std::time::UNIX_EPOCH)?
///     .as_secs() as i64;
/// let headers = Signer::new(secret)?.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", now, body);
///
/// let verifier = Verifier::new(secret)?;
/// let payload = verifier.verify(&headers, body)?;
/// assert_eq!(payload.id(), "msg_p5jXN8AQM9LWM0D4loKWxJek");
/// assert_eq!(payload.body(), body);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Verifier {
    config: Arc<VerifierConfig>,
}

struct VerifierConfig {
    keys: Vec<KeyedMac>,
    tolerance: Duration,
    clock: Arc<dyn Clock>,
    #[cfg(feature = "encryption")]
    key_provider: Option<Arc<dyn crate::encryption::KeyProvider>>,
}

impl Verifier {
    /// A verifier for one secret given as `whsec_<base64>` (or bare base64), with the default
    /// tolerance and the system clock.
    ///
    /// Fails with [`WebhookError::InvalidSecret`] when the secret cannot be parsed.
    pub fn new(secret: &str) -> Result<Self, WebhookError> {
        Ok(Self::from_secret(WebhookSecret::parse(secret)?))
    }

    /// A verifier for one parsed secret, with the default tolerance and the system clock.
    pub fn from_secret(secret: WebhookSecret) -> Self {
        Self {
            config: Arc::new(VerifierConfig {
                keys: vec![KeyedMac::new(&secret)],
                tolerance: DEFAULT_TOLERANCE,
                clock: Arc::new(SystemClock),
                #[cfg(feature = "encryption")]
                key_provider: None,
            }),
        }
    }

    /// A builder for several secrets (rotation), another tolerance or another clock.
    ///
    /// ```
    /// use std::time::Duration;
    /// use marketing_api::webhooks::{Verifier, WebhookSecret};
    /// let verifier = Verifier::builder()
    ///     .secret(WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?)
    ///     .secret(WebhookSecret::generate())
    ///     .tolerance(Duration::from_secs(60))
    ///     .build()?;
    /// assert_eq!(verifier.secret_count(), 2);
    /// # Ok::<(), marketing_api::webhooks::WebhookError>(())
    /// ```
    pub fn builder() -> VerifierBuilder {
        VerifierBuilder::default()
    }

    /// How far the timestamp may be from the current time, either way.
    pub fn tolerance(&self) -> Duration {
        self.config.tolerance
    }

    /// The clock the timestamp is compared with; a receiver deduplicating with a
    /// [`ReplayGuard`](super::ReplayGuard) should use the same one.
    pub fn clock(&self) -> &dyn Clock {
        self.config.clock.as_ref()
    }

    /// How many secrets are accepted.
    pub fn secret_count(&self) -> usize {
        self.config.keys.len()
    }

    /// Checks that the request is authentic and fresh and returns its id, timestamp and body.
    ///
    /// `body` must be the raw bytes as received: the signature covers those bytes, so a body
    /// parsed and serialized again will not match. Checks run in this order, and the first to
    /// fail is reported: the three headers are present and readable, the timestamp is within
    /// the tolerance, and one `v1` signature of the header matches one configured secret
    /// (compared in constant time).
    pub fn verify<'a, H>(
        &self,
        headers: &'a H,
        body: &'a [u8],
    ) -> Result<VerifiedPayload<'a>, WebhookError>
    where
        H: WebhookHeaders + ?Sized,
    {
        let id = read_id(headers)?;
        let (timestamp_text, timestamp) = read_timestamp(headers)?;
        let signatures = read_signatures(headers)?;

        self.check_timestamp(timestamp)?;

        let id_bytes = id.as_bytes();
        let matched = self.config.keys.iter().any(|key| {
            let expected = key.tag(id_bytes, timestamp_text, body);
            signatures_match(signatures, &expected)
        });
        if !matched {
            return Err(WebhookError::NoMatchingSignature);
        }
        Ok(VerifiedPayload {
            id,
            timestamp,
            body,
        })
    }

    /// [`verify`](Self::verify), then parses the body into the typed [`Event`]. An event type
    /// this SDK does not know yet parses into [`Event::Unknown`] with its raw JSON. With a key
    /// provider ([`VerifierBuilder::key_provider`], feature `encryption`), the payload's
    /// JWE-encrypted sensitive fields are decrypted after the signature is verified.
    ///
    /// Fails with [`WebhookError::InvalidPayload`] when the authentic body is not an event, and
    /// with `WebhookError::Decrypt` when an encrypted field does not decrypt.
    pub fn verify_event<H>(&self, headers: &H, body: &[u8]) -> Result<Event, WebhookError>
    where
        H: WebhookHeaders + ?Sized,
    {
        let payload = self.verify(headers, body)?;
        #[cfg(feature = "encryption")]
        if let Some(provider) = &self.config.key_provider
            && let Some(plain) = crate::encryption::decrypt_body(payload.body(), &**provider)
                .map_err(|source| WebhookError::Decrypt { source })?
        {
            return Event::from_slice(&plain)
                .map_err(|source| WebhookError::InvalidPayload { source });
        }
        payload.event()
    }

    fn check_timestamp(&self, timestamp: i64) -> Result<(), WebhookError> {
        let now = unix_seconds(self.config.clock.now());
        let tolerance_secs = self.config.tolerance.as_secs();
        // i128 so that no pair of i64 values can overflow the difference.
        let age = i128::from(now) - i128::from(timestamp);
        let limit = i128::from(tolerance_secs);
        if age > limit {
            Err(WebhookError::TimestampTooOld {
                timestamp,
                now,
                age_secs: u64::try_from(age).unwrap_or(u64::MAX),
                tolerance_secs,
            })
        } else if -age > limit {
            Err(WebhookError::TimestampInFuture {
                timestamp,
                now,
                ahead_secs: u64::try_from(-age).unwrap_or(u64::MAX),
                tolerance_secs,
            })
        } else {
            Ok(())
        }
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field(
                "secrets",
                &format_args!("<{} redacted>", self.config.keys.len()),
            )
            .field("tolerance", &self.config.tolerance)
            .field("clock", &self.config.clock)
            .finish()
    }
}

/// Configures a [`Verifier`]; see [`Verifier::builder`].
#[must_use]
pub struct VerifierBuilder {
    secrets: Vec<WebhookSecret>,
    tolerance: Duration,
    clock: Arc<dyn Clock>,
    #[cfg(feature = "encryption")]
    key_provider: Option<Arc<dyn crate::encryption::KeyProvider>>,
}

impl Default for VerifierBuilder {
    fn default() -> Self {
        Self {
            secrets: Vec::new(),
            tolerance: DEFAULT_TOLERANCE,
            clock: Arc::new(SystemClock),
            #[cfg(feature = "encryption")]
            key_provider: None,
        }
    }
}

impl VerifierBuilder {
    /// Accepts signatures made with `secret`. Add the new and the previous secret while an
    /// endpoint's secret is being rotated: a signature under either passes.
    pub fn secret(mut self, secret: WebhookSecret) -> Self {
        self.secrets.push(secret);
        self
    }

    /// Accepts signatures made with any of `secrets`.
    pub fn secrets(mut self, secrets: impl IntoIterator<Item = WebhookSecret>) -> Self {
        self.secrets.extend(secrets);
        self
    }

    /// How far the timestamp may be from the current time, either way (default five minutes).
    /// A timestamp exactly at the limit passes; one second further fails.
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// The clock timestamps are compared with (default [`SystemClock`]).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Decrypts the JWE-encrypted `x-sensitive` fields of event payloads with `provider` in
    /// [`Verifier::verify_event`], after the signature is verified (the signature covers the
    /// body as sent, ciphertext included). Default: none; they stay sealed.
    #[cfg(feature = "encryption")]
    #[cfg_attr(docsrs, doc(cfg(feature = "encryption")))]
    pub fn key_provider(mut self, provider: impl crate::encryption::KeyProvider + 'static) -> Self {
        self.key_provider = Some(Arc::new(provider));
        self
    }

    /// The verifier. Fails with [`WebhookError::InvalidSecret`] when no secret was given.
    pub fn build(self) -> Result<Verifier, WebhookError> {
        if self.secrets.is_empty() {
            return Err(WebhookError::InvalidSecret {
                reason: "no secret was configured",
            });
        }
        Ok(Verifier {
            config: Arc::new(VerifierConfig {
                keys: self.secrets.iter().map(KeyedMac::new).collect(),
                tolerance: self.tolerance,
                clock: self.clock,
                #[cfg(feature = "encryption")]
                key_provider: self.key_provider,
            }),
        })
    }
}

impl fmt::Debug for VerifierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifierBuilder")
            .field(
                "secrets",
                &format_args!("<{} redacted>", self.secrets.len()),
            )
            .field("tolerance", &self.tolerance)
            .field("clock", &self.clock)
            .finish()
    }
}

/// An authentic, fresh webhook: what [`Verifier::verify`] returns. It borrows from the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedPayload<'a> {
    id: &'a str,
    timestamp: i64,
    body: &'a [u8],
}

impl<'a> VerifiedPayload<'a> {
    /// The `webhook-id`: unique per event and the same on every retry, so the key to
    /// deduplicate on.
    pub fn id(&self) -> &'a str {
        self.id
    }

    /// The `webhook-timestamp`, in Unix seconds: when this delivery attempt was signed.
    pub fn timestamp(&self) -> i64 {
        self.timestamp
    }

    /// The raw body, exactly as received and signed.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// Parses the body into the typed [`Event`]; unknown event types become
    /// [`Event::Unknown`].
    pub fn event(&self) -> Result<Event, WebhookError> {
        Event::from_slice(self.body).map_err(|source| WebhookError::InvalidPayload { source })
    }

    /// Parses the body into any deserializable type, for callers with their own event types.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, WebhookError> {
        serde_json::from_slice(self.body).map_err(|source| WebhookError::InvalidPayload {
            source: PayloadError::new(source),
        })
    }
}

fn read_id<H: WebhookHeaders + ?Sized>(headers: &H) -> Result<&str, WebhookError> {
    let raw = headers
        .header(WEBHOOK_ID)
        .ok_or(WebhookError::MissingHeader { name: WEBHOOK_ID })?;
    let id = std::str::from_utf8(raw).map_err(|_| WebhookError::MalformedHeader {
        name: WEBHOOK_ID,
        reason: "the value is not UTF-8",
    })?;
    if id.is_empty() {
        return Err(WebhookError::MalformedHeader {
            name: WEBHOOK_ID,
            reason: "the value is empty",
        });
    }
    Ok(id)
}

/// The timestamp both as sent (it is signed as text) and as a number.
fn read_timestamp<H: WebhookHeaders + ?Sized>(headers: &H) -> Result<(&[u8], i64), WebhookError> {
    let raw = headers
        .header(WEBHOOK_TIMESTAMP)
        .ok_or(WebhookError::MissingHeader {
            name: WEBHOOK_TIMESTAMP,
        })?;
    // Digits only: no sign, no spaces, no fraction, no leading zero. Other implementations
    // sign the number formatted back to text, so only the canonical form signs the same
    // bytes everywhere. At most 18 digits, so the value fits an i64 without an overflow check
    // (that is still year 31 billion).
    let canonical = match raw {
        [] => false,
        [b'0'] => true,
        [b'0', ..] => false,
        _ => raw.len() <= 18 && raw.iter().all(u8::is_ascii_digit),
    };
    if !canonical {
        return Err(WebhookError::MalformedHeader {
            name: WEBHOOK_TIMESTAMP,
            reason: "the value is not a Unix timestamp in whole seconds",
        });
    }
    let value = raw
        .iter()
        .fold(0i64, |acc, digit| acc * 10 + i64::from(digit - b'0'));
    Ok((raw, value))
}

fn read_signatures<H: WebhookHeaders + ?Sized>(headers: &H) -> Result<&[u8], WebhookError> {
    let raw = headers
        .header(WEBHOOK_SIGNATURE)
        .ok_or(WebhookError::MissingHeader {
            name: WEBHOOK_SIGNATURE,
        })?;
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(WebhookError::MalformedHeader {
            name: WEBHOOK_SIGNATURE,
            reason: "the value lists no signature",
        });
    }
    Ok(raw)
}

/// Whether any `v1,<base64>` entry of the space-separated list equals `expected`.
///
/// The expected tag is encoded once and compared with each candidate as text, in constant
/// time, so how much of a forged signature is right never shows in the response time.
/// Comparing text is the same as comparing decoded bytes because base64 of 32 bytes has one
/// canonical form (43 characters; the trailing `=` is optional here, as some senders drop
/// it). Entries of other versions, or of another length, simply do not match.
fn signatures_match(list: &[u8], expected: &[u8; TAG_LEN]) -> bool {
    let mut encoded_expected = [0u8; ENCODED_TAG_LEN];
    if STANDARD_NO_PAD.encode_slice(expected, &mut encoded_expected) != Ok(ENCODED_TAG_LEN) {
        return false;
    }
    let mut matched = false;
    for entry in list.split(u8::is_ascii_whitespace) {
        let Some(encoded) = entry.strip_prefix(SIGNATURE_VERSION) else {
            continue;
        };
        let encoded = encoded.strip_suffix(b"=").unwrap_or(encoded);
        // No early exit: every entry is looked at whatever the outcome.
        matched |= constant_time_equal(encoded, &encoded_expected);
    }
    matched
}

/// Compares a candidate with the expected value in constant time (for a given length): the
/// differences of all bytes are OR-ed together with no branch on the data, and only the
/// result is turned into a `bool`, through `subtle` so the compiler cannot short-circuit
/// the reduction. Lengths are public (every tag has the same), so they may exit early.
fn constant_time_equal(candidate: &[u8], expected: &[u8]) -> bool {
    if candidate.len() != expected.len() {
        return false;
    }
    let difference = candidate
        .iter()
        .zip(expected)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    bool::from(difference.ct_eq(&0))
}

/// Whole Unix seconds, rounded down (also before 1970).
fn unix_seconds(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => {
            let before = before.duration();
            let secs = i64::try_from(before.as_secs()).unwrap_or(i64::MAX);
            let partial = i64::from(before.subsec_nanos() > 0);
            (-secs).saturating_sub(partial)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_seconds_rounds_down_on_both_sides_of_the_epoch() {
        assert_eq!(unix_seconds(UNIX_EPOCH + Duration::from_millis(1_500)), 1);
        assert_eq!(unix_seconds(UNIX_EPOCH - Duration::from_millis(1_500)), -2);
        assert_eq!(unix_seconds(UNIX_EPOCH - Duration::from_secs(3)), -3);
    }

    #[test]
    fn constant_time_equal_sees_a_difference_in_any_byte() {
        let expected = [0xa5u8; ENCODED_TAG_LEN];
        assert!(constant_time_equal(&expected, &expected));
        for index in 0..ENCODED_TAG_LEN {
            for bit in 0..8 {
                let mut candidate = expected;
                candidate[index] ^= 1 << bit;
                assert!(
                    !constant_time_equal(&candidate, &expected),
                    "byte {index} bit {bit}"
                );
            }
        }
        assert!(!constant_time_equal(&expected[..42], &expected));
    }

    #[test]
    fn padding_is_optional_but_the_encoding_must_be_canonical() {
        let tag = [0x5au8; TAG_LEN];
        let padded = base64::engine::general_purpose::STANDARD.encode(tag);
        assert!(padded.ends_with('='));
        let unpadded = padded.trim_end_matches('=');
        assert!(signatures_match(format!("v1,{padded}").as_bytes(), &tag));
        assert!(signatures_match(format!("v1,{unpadded}").as_bytes(), &tag));
        assert!(!signatures_match(format!("v1,{padded}=").as_bytes(), &tag));
        // The last character carries two unused bits; setting them is another string for
        // the same bytes, which strict decoders refuse too.
        let mut non_canonical = unpadded.as_bytes().to_vec();
        let last = non_canonical.len() - 1;
        non_canonical[last] = if non_canonical[last] == b'o' {
            b'p'
        } else {
            b'o'
        };
        let non_canonical = String::from_utf8(non_canonical).expect("ascii");
        assert!(!signatures_match(
            format!("v1,{non_canonical}").as_bytes(),
            &tag
        ));
    }

    #[test]
    fn signature_list_skips_other_versions_and_garbage() {
        let tag = [7u8; TAG_LEN];
        let encoded = base64::engine::general_purpose::STANDARD.encode(tag);
        let list = format!("v2,{encoded} v1a,{encoded} nonsense v1, v1,!!!  v1,{encoded}");
        assert!(signatures_match(list.as_bytes(), &tag));
        let without = format!("v2,{encoded} v1a,{encoded}");
        assert!(!signatures_match(without.as_bytes(), &tag));
    }
}
