//! A webhook receiver: verifies each request, drops duplicates and dispatches typed events.
//!
//! ```text
//! cargo run --example webhook_receiver --features axum
//! ```
//!
//! `main` starts the receiver on a free local port, then plays the sender: it signs and posts
//! a valid event, the same delivery again, a retry of it, a forged one and a stale one, and
//! prints how the receiver answered each. In an application, [`app`] is the part to copy: mount
//! it, give it the endpoint's `whsec_…` secret, and replace the bodies of the `match` arms.

use std::error::Error;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use marketing_api::webhooks::axum::VerifiedEvent;
use marketing_api::webhooks::{
    Event, InMemoryReplayGuard, ReplayGuard, Signer, Verifier, WebhookSecret,
};
use serde_json::{Value, json};

/// The path the receiver listens on.
pub const WEBHOOK_PATH: &str = "/webhooks";

/// What the handler needs: the verifier (read by the extractor through [`FromRef`]), the
/// replay guard and a record of what was processed.
#[derive(Clone)]
pub struct ReceiverState {
    verifier: Verifier,
    guard: Arc<dyn ReplayGuard>,
    handled: HandledEvents,
}

impl FromRef<ReceiverState> for Verifier {
    fn from_ref(state: &ReceiverState) -> Verifier {
        state.verifier.clone()
    }
}

/// The events the receiver processed, as `(webhook-id, event type)` in order. Stands in for
/// whatever the application does with an event, and lets a test check each was done once.
#[derive(Clone, Debug, Default)]
pub struct HandledEvents(Arc<Mutex<Vec<(String, String)>>>);

impl HandledEvents {
    /// A snapshot of what was processed so far.
    pub fn list(&self) -> Vec<(String, String)> {
        self.0.lock().map(|list| list.clone()).unwrap_or_default()
    }

    fn record(&self, id: &str, event_type: &str) {
        if let Ok(mut list) = self.0.lock() {
            list.push((id.to_owned(), event_type.to_owned()));
        }
    }
}

/// The receiver as a router with one route, `POST /webhooks`.
pub fn app(verifier: Verifier) -> Router {
    app_with_log(verifier, HandledEvents::default())
}

/// [`app`], recording processed events into `handled`.
pub fn app_with_log(verifier: Verifier, handled: HandledEvents) -> Router {
    let state = ReceiverState {
        verifier,
        // Remember ids for twice the verifier's tolerance: a replay older than that is
        // already rejected as stale.
        guard: Arc::new(InMemoryReplayGuard::with_capacity(100_000)),
        handled,
    };
    Router::new()
        .route(WEBHOOK_PATH, post(receive))
        .with_state(state)
}

/// Runs only for authentic, fresh requests: `VerifiedEvent` has already answered 400 or 401
/// to anything else.
async fn receive(
    State(state): State<ReceiverState>,
    webhook: VerifiedEvent,
) -> (StatusCode, Json<Value>) {
    // Deduplicate after verifying, so a forged request cannot burn a real event's id. A
    // duplicate still gets a 2xx: the sender retries until it does.
    let now = state.verifier.clock().now();
    let first_time = match state.guard.check_and_remember(webhook.id(), now).await {
        Ok(first_time) => first_time,
        // A shared guard that cannot reach its store: a 5xx makes the sender retry later
        // instead of the event being processed twice.
        Err(error) => {
            tracing::error!(error = %error, "replay guard unavailable");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "retry later" })),
            );
        }
    };
    if !first_time {
        return (
            StatusCode::OK,
            Json(json!({ "status": "duplicate", "id": webhook.id() })),
        );
    }

    match webhook.event() {
        Event::ContactCreated(_created) => {
            // `_created.data` is the complete contact: send the welcome email from it.
            tracing::info!(id = webhook.id(), "welcome the new contact");
        }
        Event::Unknown(unknown) => {
            // Newer than this build of the SDK: keep the raw JSON for later.
            tracing::info!(
                id = webhook.id(),
                event_type = unknown.event_type(),
                "stored for later"
            );
        }
        other => {
            tracing::info!(
                id = webhook.id(),
                event_type = other.event_type(),
                "not handled"
            );
        }
    }
    state
        .handled
        .record(webhook.id(), webhook.event().event_type());
    (
        StatusCode::OK,
        Json(json!({ "status": "processed", "id": webhook.id() })),
    )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let _ = rustls::crypto::ring::default_provider().install_default();

    // The endpoint's secret, as the API returns it when the endpoint is created.
    let secret = WebhookSecret::generate();
    let handled = HandledEvents::default();
    let receiver = app_with_log(Verifier::from_secret(secret.clone()), handled.clone());

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}{WEBHOOK_PATH}", listener.local_addr()?);
    let server = tokio::spawn(async move { axum::serve(listener, receiver).await });
    println!("receiver listening on {url}");

    let client = reqwest::Client::new();
    let signer = Signer::from_secret(&secret);
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() as i64;
    let id = Signer::new_message_id();
    let body = json!({
        "id": id,
        "type": "contact.created",
        "created_at": "2025-03-01T12:00:00Z",
        "data": {
            "id": "ctc_42",
            "email": "ada@example.com",
            "phone": null,
            "first_name": "Ada",
            "last_name": null,
            "status": "subscribed",
            "attributes": {},
            "created_at": "2025-03-01T12:00:00Z",
            "updated_at": "2025-03-01T12:00:00Z"
        }
    })
    .to_string();

    let valid = signer.sign(&id, now, body.as_bytes());
    let retry = signer.sign(&id, now + 30, body.as_bytes());
    let forged = Signer::from_secret(&WebhookSecret::generate()).sign(&id, now, body.as_bytes());
    let stale = signer.sign(&Signer::new_message_id(), now - 3_600, body.as_bytes());

    for (label, headers) in [
        ("valid", &valid),
        ("same delivery again", &valid),
        ("retry, new timestamp", &retry),
        ("forged (other secret)", &forged),
        ("stale (an hour old)", &stale),
    ] {
        let response = client
            .post(&url)
            .headers(headers.to_header_map()?)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await?;
        let status = response.status();
        let text = response.text().await?;
        println!("{label:>24}: {status} {text}");
    }

    println!("processed: {:?}", handled.list());
    server.abort();
    Ok(())
}
