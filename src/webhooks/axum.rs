//! An axum extractor that verifies a webhook and yields its typed event.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRef, FromRequest, Request};
use axum::response::{IntoResponse, Response};

use super::error::WebhookError;
use super::events::Event;
use super::verify::Verifier;

/// A verified webhook event, extracted from the request in an axum handler.
///
/// The [`Verifier`] comes from the router state through [`FromRef`], so the state is either a
/// `Verifier` or a struct with one (`impl FromRef<AppState> for Verifier`). The extractor reads
/// the raw body (within axum's body limit), verifies it, then parses it; it must be the last
/// extractor of the handler since it consumes the body.
///
/// Rejections ([`WebhookRejection`]): `400 Bad Request` for missing or malformed headers and
/// a body that is not an event, `401 Unauthorized` for a signature that does not match or a
/// timestamp outside the tolerance.
///
/// ```
/// use axum::{Router, routing::post};
/// use marketing_api::webhooks::{Event, Verifier, axum::VerifiedEvent};
///
/// async fn receive(webhook: VerifiedEvent) -> &'static str {
///     match webhook.event() {
///         Event::ContactCreated(_) => tracing::info!(id = webhook.id(), "new contact"),
///         other => tracing::info!(event_type = other.event_type(), "ignored"),
///     }
///     "ok"
/// }
///
/// # fn main() -> Result<(), marketing_api::webhooks::WebhookError> {
/// let verifier = Verifier::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
/// let app: Router = Router::new().route("/webhooks", post(receive)).with_state(verifier);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct VerifiedEvent {
    id: String,
    timestamp: i64,
    event: Event,
}

impl VerifiedEvent {
    /// The `webhook-id`: the key to deduplicate on (see [`ReplayGuard`](super::ReplayGuard)).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The `webhook-timestamp`, in Unix seconds.
    pub fn timestamp(&self) -> i64 {
        self.timestamp
    }

    /// The typed event.
    pub fn event(&self) -> &Event {
        &self.event
    }

    /// The typed event, by value.
    pub fn into_event(self) -> Event {
        self.event
    }
}

impl<S> FromRequest<S> for VerifiedEvent
where
    Verifier: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = WebhookRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let body = VerifiedBody::from_request(req, state).await?;
        let event = Event::from_slice(&body.body)
            .map_err(|source| reject(WebhookError::InvalidPayload { source }))?;
        Ok(Self {
            id: body.id,
            timestamp: body.timestamp,
            event,
        })
    }
}

/// A verified webhook whose body is left unparsed, for handlers that deduplicate before
/// parsing or use their own event types. Rejects like [`VerifiedEvent`], except that the body
/// is not looked at beyond its signature.
#[derive(Debug, Clone)]
pub struct VerifiedBody {
    id: String,
    timestamp: i64,
    body: Bytes,
}

impl VerifiedBody {
    /// The `webhook-id`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The `webhook-timestamp`, in Unix seconds.
    pub fn timestamp(&self) -> i64 {
        self.timestamp
    }

    /// The raw body, as received and signed.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// Parses the body into the typed [`Event`].
    pub fn event(&self) -> Result<Event, WebhookError> {
        Event::from_slice(&self.body).map_err(|source| WebhookError::InvalidPayload { source })
    }
}

impl<S> FromRequest<S> for VerifiedBody
where
    Verifier: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = WebhookRejection;

    async fn from_request(mut req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let verifier = Verifier::from_ref(state);
        // The headers are moved out rather than cloned; reading the body needs only the
        // request's extensions (where axum keeps the body limit) and the body itself.
        let headers = std::mem::take(req.headers_mut());
        let body = Bytes::from_request(req, state)
            .await
            .map_err(WebhookRejection::Body)?;
        let payload = verifier.verify(&headers, &body).map_err(reject)?;
        Ok(Self {
            id: payload.id().to_owned(),
            timestamp: payload.timestamp(),
            body: body.clone(),
        })
    }
}

fn reject(error: WebhookError) -> WebhookRejection {
    tracing::debug!(check = error.check(), %error, "webhook rejected");
    WebhookRejection::Invalid(error)
}

/// Why [`VerifiedEvent`] or [`VerifiedBody`] rejected a request; answers with the matching
/// status and the reason as plain text (never a secret or a signature).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookRejection {
    /// The body could not be read (too large, connection closed); axum's own status.
    #[error(transparent)]
    Body(BytesRejection),
    /// The request failed verification or parsing; see [`WebhookError::status`].
    #[error(transparent)]
    Invalid(WebhookError),
}

impl WebhookRejection {
    /// The verification error, if that is why the request was rejected.
    pub fn webhook_error(&self) -> Option<&WebhookError> {
        match self {
            Self::Invalid(error) => Some(error),
            Self::Body(_) => None,
        }
    }
}

impl IntoResponse for WebhookRejection {
    fn into_response(self) -> Response {
        match self {
            Self::Body(rejection) => rejection.into_response(),
            Self::Invalid(error) => (error.status(), error.to_string()).into_response(),
        }
    }
}
