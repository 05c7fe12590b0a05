//! Webhook endpoints and deliveries: signed delivery to a real receiver, failure, retries,
//! dead letter, replay and secret rotation.

mod common;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{Api, error, json};
use hmac::{Hmac, Mac};
use marketing_api_sandbox::Sandbox;
use serde_json::{Value, json};
use sha2::Sha256;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default)]
struct Receiver {
    fail: AtomicBool,
    received: Mutex<Vec<(HeaderMap, Bytes)>>,
}

async fn receive(
    State(receiver): State<Arc<Receiver>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    receiver.received.lock().unwrap().push((headers, body));
    if receiver.fail.load(Ordering::SeqCst) {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::NO_CONTENT
    }
}

async fn start_receiver() -> (Arc<Receiver>, String) {
    let receiver = Arc::new(Receiver::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    let app = Router::new()
        .route("/hooks", post(receive))
        .with_state(receiver.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (receiver, url)
}

/// Verifies a Standard Webhooks signature with HMAC directly; returns how many of the sent
/// signatures `secret` matches.
fn matching_signatures(headers: &HeaderMap, body: &[u8], secret: &str) -> usize {
    let id = headers["webhook-id"].to_str().unwrap();
    let timestamp = headers["webhook-timestamp"].to_str().unwrap();
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    assert_eq!(key.len(), 24);
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    headers["webhook-signature"]
        .to_str()
        .unwrap()
        .split(' ')
        .filter(|s| *s == expected)
        .count()
}

async fn wait_for<T>(mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    for _ in 0..300 {
        if let Some(value) = probe().await {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("condition not reached within 3 s");
}

/// The first dead-lettered delivery, once there is one.
async fn first_dead_lettered(api: &Api) -> Value {
    wait_for(async || {
        let list = json(
            api.get("/webhook_deliveries?status=dead_lettered").await,
            200,
        )
        .await;
        list["data"].as_array().unwrap().first().cloned()
    })
    .await
}

#[tokio::test]
async fn an_unreachable_endpoint_is_a_connection_failure_without_a_status() {
    // A port that was just free: nothing listens there, so connecting is refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks", closed.local_addr().unwrap());
    drop(closed);
    let sandbox = Sandbox::builder()
        .webhook_retry_schedule(vec![Duration::from_millis(10)])
        .start()
        .await
        .expect("sandbox starts");
    let api = Api::new(&sandbox);
    json(
        api.post(
            "/webhook_endpoints",
            json!({"url": url, "event_types": ["campaign.created"]}),
        )
        .await,
        201,
    )
    .await;
    json(
        api.post("/campaigns", json!({"name": "Nowhere", "budget_cents": 5}))
            .await,
        201,
    )
    .await;
    let dead = first_dead_lettered(&api).await;
    assert_eq!(dead["attempts"], 2);
    assert!(dead["response_status"].is_null());
    assert_eq!(
        dead["last_failure"],
        json!({"reason": "connection", "stage": "connect"})
    );
}

#[tokio::test]
async fn delivery_failure_dead_letter_and_replay() {
    let (receiver, url) = start_receiver().await;
    let sandbox = Sandbox::builder()
        .webhook_retry_schedule(vec![Duration::from_millis(10), Duration::from_millis(20)])
        .start()
        .await
        .expect("sandbox starts");
    let api = Api::new(&sandbox);

    let endpoint = json(
        api.post(
            "/webhook_endpoints",
            json!({"url": url, "event_types": ["campaign.created", "form.submitted"], "description": "test"}),
        )
        .await,
        201,
    )
    .await;
    let endpoint_id = endpoint["data"]["id"].as_str().unwrap().to_owned();
    let secret = endpoint["data"]["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    let got = json(
        api.get(&format!("/webhook_endpoints/{endpoint_id}")).await,
        200,
    )
    .await;
    assert!(
        got["data"].get("secret").is_none(),
        "the secret is only shown on creation"
    );
    assert_eq!(got["data"]["enabled"], true);
    error(
        api.post(
            "/webhook_endpoints",
            json!({"url": url, "event_types": ["nothing.happened"]}),
        )
        .await,
        400,
        "invalid_request_error",
        "invalid_value",
        Some("event_types[0]"),
    )
    .await;

    // Success: signed, full entity.
    let campaign = json(
        api.post("/campaigns", json!({"name": "Hooked", "budget_cents": 5}))
            .await,
        201,
    )
    .await;
    let (headers, body) =
        wait_for(async || receiver.received.lock().unwrap().first().cloned()).await;
    assert_eq!(matching_signatures(&headers, &body, &secret), 1);
    let event: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(event["type"], "campaign.created");
    assert_eq!(event["id"], headers["webhook-id"].to_str().unwrap());
    assert_eq!(event["data"], campaign["data"]);
    let delivered = wait_for(async || {
        sandbox
            .deliveries()
            .into_iter()
            .find(|d| d.status == "succeeded")
    })
    .await;
    assert_eq!(delivered.attempts, 1);
    assert_eq!(delivered.response_status, Some(204));
    assert_eq!(delivered.last_failure, None);

    // Failure: three attempts (one plus two retries), then dead-lettered.
    receiver.fail.store(true, Ordering::SeqCst);
    json(
        api.post("/campaigns", json!({"name": "Unlucky", "budget_cents": 5}))
            .await,
        201,
    )
    .await;
    let dead = first_dead_lettered(&api).await;
    assert_eq!(dead["attempts"], 3);
    assert_eq!(dead["response_status"], 500);
    assert_eq!(
        dead["last_failure"],
        json!({"reason": "http_status", "status": 500})
    );
    assert!(dead["next_attempt_at"].is_null());
    assert_eq!(receiver.received.lock().unwrap().len(), 4);
    let dead_id = dead["id"].as_str().unwrap().to_owned();
    let message_id = dead["event_id"].as_str().unwrap().to_owned();

    // Replay once the receiver is healthy again: same webhook-id, then succeeded.
    receiver.fail.store(false, Ordering::SeqCst);
    let replayed = json(
        api.post(&format!("/webhook_deliveries/{dead_id}/replay"), json!({}))
            .await,
        202,
    )
    .await;
    assert_eq!(replayed["data"]["status"], "pending");
    let done = wait_for(async || {
        let d = json(
            api.get(&format!("/webhook_deliveries/{dead_id}")).await,
            200,
        )
        .await;
        (d["data"]["status"] == "succeeded").then_some(d)
    })
    .await;
    assert_eq!(done["data"]["attempts"], 4);
    let last = receiver.received.lock().unwrap().last().cloned().unwrap();
    assert_eq!(last.0["webhook-id"], message_id.as_str());

    // A delivery still retrying cannot be replayed.
    sandbox
        .settings()
        .update(|s| s.webhook_retry_schedule = vec![Duration::from_secs(60)]);
    receiver.fail.store(true, Ordering::SeqCst);
    json(
        api.post("/campaigns", json!({"name": "Later", "budget_cents": 5}))
            .await,
        201,
    )
    .await;
    let retrying = wait_for(async || {
        let list = json(
            api.get(&format!(
                "/webhook_deliveries?status=retrying&endpoint_id={endpoint_id}"
            ))
            .await,
            200,
        )
        .await;
        list["data"].as_array().unwrap().first().cloned()
    })
    .await;
    error(
        api.post(
            &format!(
                "/webhook_deliveries/{}/replay",
                retrying["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await,
        409,
        "conflict_error",
        "delivery_in_progress",
        None,
    )
    .await;
    error(
        api.get("/webhook_deliveries/whd_nothing").await,
        404,
        "not_found_error",
        "resource_missing",
        Some("delivery_id"),
    )
    .await;
    sandbox.shutdown().await;
}

#[tokio::test]
async fn secret_rotation_signs_with_both_secrets_and_events_trigger_webhooks() {
    let (receiver, url) = start_receiver().await;
    let sandbox = Sandbox::start().await.expect("sandbox starts");
    let api = Api::new(&sandbox);
    let endpoint = json(
        api.post(
            "/webhook_endpoints",
            json!({"url": url, "event_types": ["form.submitted", "purchase.completed"]}),
        )
        .await,
        201,
    )
    .await;
    let endpoint_id = endpoint["data"]["id"].as_str().unwrap().to_owned();
    let old_secret = endpoint["data"]["secret"].as_str().unwrap().to_owned();

    let rotated = json(
        api.post(
            &format!("/webhook_endpoints/{endpoint_id}/rotate_secret"),
            json!({}),
        )
        .await,
        200,
    )
    .await;
    let new_secret = rotated["data"]["secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, old_secret);
    assert_eq!(rotated["data"]["endpoint_id"], endpoint_id.as_str());
    assert!(rotated["data"]["previous_secret_expires_at"].is_string());

    let contact = json(
        api.post("/contacts", json!({"email": "form@example.com"}))
            .await,
        201,
    )
    .await;
    let batch = json!({"events": [
        {"type": "form_submitted", "occurred_at": "2026-01-01T00:00:00Z", "contact_id": contact["data"]["id"], "properties": {"field": "value"}},
        {"type": "purchase", "occurred_at": "2026-01-01T00:00:01Z", "value_cents": 999, "properties": {"currency": "EUR"}},
    ]});
    json(api.post("/events", batch).await, 200).await;
    let messages = wait_for(async || {
        let received = receiver.received.lock().unwrap();
        (received.len() == 2).then(|| received.clone())
    })
    .await;
    let mut types = Vec::new();
    for (headers, body) in &messages {
        assert_eq!(matching_signatures(headers, body, &new_secret), 1);
        assert_eq!(matching_signatures(headers, body, &old_secret), 1);
        let event: Value = serde_json::from_slice(body).unwrap();
        match event["type"].as_str().unwrap() {
            "form.submitted" => {
                assert_eq!(event["data"]["contact"], contact["data"]);
                assert_eq!(event["data"]["fields"]["field"], "value");
            }
            "purchase.completed" => {
                assert_eq!(event["data"]["value_cents"], 999);
                assert_eq!(event["data"]["currency"], "EUR");
                assert!(event["data"]["contact"].is_null());
            }
            other => panic!("unexpected {other}"),
        }
        types.push(event["type"].as_str().unwrap().to_owned());
    }
    types.sort();
    assert_eq!(types, vec!["form.submitted", "purchase.completed"]);

    // Disabled endpoints get nothing; deleted ones are gone.
    let disabled = json(
        api.patch(
            &format!("/webhook_endpoints/{endpoint_id}"),
            json!({"enabled": false, "description": null}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(disabled["data"]["enabled"], false);
    let list = json(api.get("/webhook_endpoints").await, 200).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    json(
        api.post(
            "/events",
            json!({"events": [{"type": "form_submitted", "occurred_at": "2026-01-01T00:00:00Z"}]}),
        )
        .await,
        200,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(receiver.received.lock().unwrap().len(), 2);
    assert_eq!(
        api.delete(&format!("/webhook_endpoints/{endpoint_id}"))
            .await
            .status(),
        204
    );
    error(
        api.get(&format!("/webhook_endpoints/{endpoint_id}")).await,
        404,
        "not_found_error",
        "resource_missing",
        Some("endpoint_id"),
    )
    .await;
    sandbox.shutdown().await;
}
