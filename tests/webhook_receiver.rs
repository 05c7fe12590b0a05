//! The example receiver over a real socket: signed, duplicate, forged, stale and malformed
//! requests sent with reqwest, and what the receiver answered and processed.

#[allow(dead_code)] // the example's `main` is not used here
#[path = "../examples/webhook_receiver.rs"]
mod receiver;

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use marketing_api::clock::ManualClock;
use marketing_api::webhooks::{SignedHeaders, Signer, Verifier, WebhookSecret};
use receiver::{HandledEvents, WEBHOOK_PATH, app, app_with_log};

const NOW: i64 = 1_700_000_000;

struct Harness {
    url: String,
    client: reqwest::Client,
    signer: Signer,
    handled: HandledEvents,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Starts the example's router on 127.0.0.1:0 with a verifier whose clock reads `NOW`.
async fn start() -> Harness {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let secret = WebhookSecret::generate();
    let verifier = Verifier::builder()
        .secret(secret.clone())
        .clock(Arc::new(ManualClock::new(
            UNIX_EPOCH + Duration::from_secs(NOW as u64),
        )))
        .build()
        .expect("secret");
    let handled = HandledEvents::default();
    let router = app_with_log(verifier, handled.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "http://{}{WEBHOOK_PATH}",
        listener.local_addr().expect("addr")
    );
    let server = tokio::spawn(async move {
        axum::serve(listener, router).await.expect("serve");
    });
    Harness {
        url,
        client: reqwest::Client::new(),
        signer: Signer::from_secret(&secret),
        handled,
        server,
    }
}

/// A complete contact, as the contract describes it.
fn contact() -> serde_json::Value {
    serde_json::json!({
        "id": "ctc_42",
        "email": "ada@example.com",
        "phone": null,
        "first_name": "Ada",
        "last_name": null,
        "status": "subscribed",
        "attributes": {},
        "created_at": "2025-03-01T12:00:00Z",
        "updated_at": "2025-03-01T12:00:00Z"
    })
}

fn event(id: &str, event_type: &str) -> String {
    serde_json::json!({
        "id": id,
        "type": event_type,
        "created_at": "2025-03-01T12:00:00Z",
        "data": contact()
    })
    .to_string()
}

impl Harness {
    async fn post(&self, headers: &[(&str, &str)], body: &str) -> (u16, String) {
        let mut request = self.client.post(&self.url).body(body.to_owned());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("request reaches the receiver");
        let status = response.status().as_u16();
        (status, response.text().await.expect("body"))
    }

    async fn post_signed(&self, signed: &SignedHeaders, body: &str) -> (u16, String) {
        self.post(&signed.pairs(), body).await
    }
}

#[tokio::test]
async fn a_signed_event_is_processed_once_and_duplicates_are_acknowledged() {
    let h = start().await;
    let body = event("msg_one", "contact.created");
    let signed = h.signer.sign("msg_one", NOW, body.as_bytes());

    let (status, text) = h.post_signed(&signed, &body).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("processed"), "{text}");

    // The same delivery again, then a retry signed later: acknowledged, not processed.
    let (status, text) = h.post_signed(&signed, &body).await;
    assert_eq!((status, text.contains("duplicate")), (200, true), "{text}");
    let retry = h.signer.sign("msg_one", NOW + 60, body.as_bytes());
    let (status, text) = h.post_signed(&retry, &body).await;
    assert_eq!((status, text.contains("duplicate")), (200, true), "{text}");

    assert_eq!(
        h.handled.list(),
        vec![("msg_one".to_owned(), "contact.created".to_owned())]
    );
}

#[tokio::test]
async fn forged_and_tampered_requests_get_401_and_are_not_processed() {
    let h = start().await;
    let body = event("msg_forged", "contact.created");
    let other_secret = Signer::from_secret(&WebhookSecret::generate());
    let forged = other_secret.sign("msg_forged", NOW, body.as_bytes());
    let (status, text) = h.post_signed(&forged, &body).await;
    assert_eq!(status, 401);
    assert!(text.contains("signature"), "{text}");

    let signed = h.signer.sign("msg_forged", NOW, body.as_bytes());
    let tampered = body.replace("ada@example.com", "eve@example.com");
    let (status, _) = h.post_signed(&signed, &tampered).await;
    assert_eq!(status, 401);
    assert!(h.handled.list().is_empty());

    // The forged attempts did not burn the id: the real delivery is still processed.
    let (status, text) = h.post_signed(&signed, &body).await;
    assert_eq!(status, 200);
    assert!(text.contains("processed"), "{text}");
}

#[tokio::test]
async fn stale_and_future_requests_get_401() {
    let h = start().await;
    let body = event("msg_time", "contact.created");
    for timestamp in [NOW - 301, NOW + 301] {
        let signed = h.signer.sign("msg_time", timestamp, body.as_bytes());
        let (status, text) = h.post_signed(&signed, &body).await;
        assert_eq!(status, 401, "{timestamp}: {text}");
        assert!(text.contains("webhook-timestamp"), "{text}");
    }
    assert!(h.handled.list().is_empty());
}

#[tokio::test]
async fn malformed_requests_get_400() {
    let h = start().await;
    let body = event("msg_bad", "contact.created");
    let signed = h.signer.sign("msg_bad", NOW, body.as_bytes());

    let missing = [
        ("webhook-id", "msg_bad"),
        ("webhook-signature", signed.signature()),
    ];
    let (status, text) = h.post(&missing, &body).await;
    assert_eq!(status, 400);
    assert!(text.contains("webhook-timestamp"), "{text}");

    let garbled = [
        ("webhook-id", "msg_bad"),
        ("webhook-timestamp", "yesterday"),
        ("webhook-signature", signed.signature()),
    ];
    assert_eq!(h.post(&garbled, &body).await.0, 400);

    // Authentic, but not an event.
    let not_json = "this is not json";
    let signed = h.signer.sign("msg_text", NOW, not_json.as_bytes());
    let (status, text) = h.post_signed(&signed, not_json).await;
    assert_eq!(status, 400, "{text}");
    assert!(h.handled.list().is_empty());
}

#[tokio::test]
async fn an_unknown_event_type_is_accepted_and_dispatched() {
    let h = start().await;
    let body = event("msg_new_type", "loyalty.tier_changed");
    let signed = h.signer.sign("msg_new_type", NOW, body.as_bytes());
    let (status, text) = h.post_signed(&signed, &body).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        h.handled.list(),
        vec![("msg_new_type".to_owned(), "loyalty.tier_changed".to_owned())]
    );
}

#[tokio::test]
async fn the_plain_app_constructor_serves_with_the_system_clock() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let secret = WebhookSecret::generate();
    let router = app(Verifier::from_secret(secret.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "http://{}{WEBHOOK_PATH}",
        listener.local_addr().expect("addr")
    );
    let server = tokio::spawn(async move {
        axum::serve(listener, router).await.expect("serve");
    });
    let now = std::time::SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64;
    let body = event("msg_sys", "contact.created");
    let signed = Signer::from_secret(&secret).sign("msg_sys", now, body.as_bytes());
    let response = reqwest::Client::new()
        .post(&url)
        .headers(signed.to_header_map().expect("headers"))
        .body(body)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 200);
    server.abort();
}
