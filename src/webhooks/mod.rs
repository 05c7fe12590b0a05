//! Webhook verification, signing and typed events.
//!
//! The API delivers events in the [Standard Webhooks] format: three headers,
//!
//! - `webhook-id`: the message id, unique per event and the same on every retry;
//! - `webhook-timestamp`: when this attempt was signed, in Unix seconds;
//! - `webhook-signature`: space-separated `v1,<base64>` entries, each an HMAC-SHA256 of
//!   `{id}.{timestamp}.{body}` under an endpoint secret (several while a secret rotates),
//!
//! and a JSON body carrying the complete state of the entity the event is about.
//!
//! A receiver trusts an event only when a [`Verifier`] accepts it: one signature matches one
//! configured secret (compared in constant time over the raw body bytes) and the timestamp is
//! within the tolerance (five minutes either way by default). It then deduplicates on the id
//! with a [`ReplayGuard`], since senders retry, and handles the typed [`Event`]. Event types
//! added to the API after this SDK was built still verify and arrive as [`Event::Unknown`].
//!
//! ```
//! use marketing_api::webhooks::{Event, InMemoryReplayGuard, Signer, Verifier};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
//! # let body = br#"{"id":"msg_1","type":"loyalty.tier_changed","data":{}}"#;
//! # let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs() as i64;
//! # let headers: http::HeaderMap = Signer::new(secret)?.sign("msg_1", now, body).to_header_map()?;
//! let verifier = Verifier::new(secret)?;
//! let guard = InMemoryReplayGuard::with_capacity(10_000);
//!
//! // In the handler, with the request's headers and raw body:
//! let payload = verifier.verify(&headers, body)?;               // 401 / 400 on error
//! if guard.check_and_remember(payload.id(), verifier.clock().now()) {
//!     match payload.event()? {
//!         Event::ContactCreated(created) => println!("new contact, event {}", created.id),
//!         other => println!("not handled: {}", other.event_type()),
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! With the `axum` feature, [`axum::VerifiedEvent`] does the verification as an extractor.
//!
//! [Standard Webhooks]: https://www.standardwebhooks.com/

mod error;
mod headers;
mod mac;
mod replay;
mod secret;
mod sign;
mod unknown;
mod verify;

pub mod events;

#[cfg(feature = "axum")]
pub mod axum;

pub use error::{PayloadError, WebhookError};
pub use events::Event;
pub use headers::{HeaderFn, WEBHOOK_ID, WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP, WebhookHeaders};
pub use replay::{DEFAULT_REPLAY_TTL, InMemoryReplayGuard, ReplayGuard, ReplayGuardError};
pub use secret::WebhookSecret;
pub use sign::{SignedHeaders, Signer};
pub use unknown::UnknownEvent;
pub use verify::{DEFAULT_TOLERANCE, VerifiedPayload, Verifier, VerifierBuilder};
