//! Webhook delivery: every change becomes a signed POST to each enabled endpoint subscribed to
//! its type, retried on failure along the configured schedule, then dead-lettered.
//!
//! Messages use the Standard Webhooks format: `webhook-id` (`msg_…`, the body's `id`),
//! `webhook-timestamp` (Unix seconds of the attempt) and `webhook-signature`
//! (`v1,<base64 HMAC-SHA256 over "{id}.{timestamp}.{body}">`, keyed with the base64-decoded part
//! of the secret after `whsec_`; one signature per active secret during a rotation).

use crate::app::App;
use crate::ids::new_id;
use crate::model::{DeliveryFailure, WebhookDelivery};
use crate::store::{DeliveryRow, row_key};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::Utc;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde_json::{Value, json};
use sha2::Sha256;
use std::time::Duration;

/// A new endpoint secret: `whsec_` and the base64 of 24 random bytes.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    format!("whsec_{}", STANDARD.encode(bytes))
}

/// The `webhook-signature` value for one secret.
pub fn sign(secret: &str, msg_id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(format!("{msg_id}.{timestamp}.{body}").as_bytes());
    Some(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// Records a delivery of `data` as event `event_type` to every subscribed endpoint and starts
/// sending them.
pub(crate) fn emit(app: &App, event_type: &str, data: Value) {
    let msg_id = new_id("msg_");
    let mut payload = json!({
        "id": msg_id,
        "type": event_type,
        "created_at": Utc::now(),
        "data": data,
    });
    // Sensitive properties go out encrypted to the key active now, bound to their place in the
    // whole payload (what has no nearer `id` is anchored to the message's); the payload is
    // signed as sent.
    let recipient = app.store().encryption_recipient();
    if let Some(recipient) = recipient {
        app.encryption.seal_tree(&mut payload, &recipient);
    }
    let payload = payload.to_string();
    let mut started = Vec::new();
    {
        let mut store = app.store();
        let endpoints: Vec<String> = store
            .endpoints
            .iter()
            .filter(|row| {
                row.endpoint.enabled && row.endpoint.event_types.iter().any(|t| t == event_type)
            })
            .map(|row| row.endpoint.id.clone())
            .collect();
        for endpoint_id in endpoints {
            let now = store.next_timestamp();
            let delivery = WebhookDelivery {
                id: new_id("whd_"),
                endpoint_id,
                event_id: msg_id.clone(),
                event_type: event_type.to_owned(),
                status: "pending".into(),
                attempts: 0,
                last_attempt_at: None,
                next_attempt_at: None,
                response_status: None,
                last_failure: None,
                created_at: now,
            };
            started.push(delivery.id.clone());
            store.deliveries.insert(
                row_key(now, &delivery.id),
                DeliveryRow {
                    delivery,
                    payload: payload.clone(),
                },
            );
        }
    }
    for delivery_id in started {
        start(app, delivery_id);
    }
}

/// Starts (or restarts, for a replay) the attempts of a delivery in the background.
pub(crate) fn start(app: &App, delivery_id: String) {
    let app = app.clone();
    tokio::spawn(async move {
        let mut shutdown = app.shutdown.clone();
        tokio::select! {
            _ = deliver(&app, &delivery_id) => {}
            _ = shutdown.wait_for(|stopped| *stopped) => {}
        }
    });
}

enum Attempt {
    Delivered(u16),
    Failed(DeliveryFailure),
    EndpointGone,
}

async fn deliver(app: &App, delivery_id: &str) {
    let mut attempt_in_cycle = 0usize;
    loop {
        attempt_in_cycle += 1;
        let outcome = attempt(app, delivery_id).await;
        let schedule = app.settings.read(|s| s.webhook_retry_schedule.clone());
        let now = Utc::now();
        let next_wait = {
            let mut store = app.store();
            let Some(row) = store.deliveries.get_mut(delivery_id) else {
                return;
            };
            let delivery = &mut row.delivery;
            delivery.attempts += 1;
            delivery.last_attempt_at = Some(now);
            let wait = match outcome {
                Attempt::Delivered(status) => {
                    delivery.status = "succeeded".into();
                    delivery.response_status = Some(i32::from(status));
                    delivery.last_failure = None;
                    delivery.next_attempt_at = None;
                    return;
                }
                Attempt::EndpointGone => None,
                Attempt::Failed(failure) => {
                    delivery.response_status = match &failure {
                        DeliveryFailure::HttpStatus { status } => Some(*status),
                        _ => None,
                    };
                    delivery.last_failure = Some(failure);
                    schedule.get(attempt_in_cycle - 1).copied()
                }
            };
            match wait {
                Some(wait) => {
                    delivery.status = "retrying".into();
                    delivery.next_attempt_at = Some(
                        now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX),
                    );
                }
                None => {
                    delivery.status = "dead_lettered".into();
                    delivery.next_attempt_at = None;
                    tracing::debug!(delivery_id, "webhook delivery dead-lettered");
                }
            }
            wait
        };
        match next_wait {
            Some(wait) => tokio::time::sleep(wait).await,
            None => return,
        }
    }
}

async fn attempt(app: &App, delivery_id: &str) -> Attempt {
    let (url, secrets, msg_id, payload) = {
        let store = app.store();
        let Some(row) = store.deliveries.get(delivery_id) else {
            return Attempt::EndpointGone;
        };
        let Some(endpoint) = store.endpoints.get(&row.delivery.endpoint_id) else {
            return Attempt::EndpointGone;
        };
        (
            endpoint.endpoint.url.clone(),
            endpoint.signing_secrets(Utc::now()),
            row.delivery.event_id.clone(),
            row.payload.clone(),
        )
    };
    let Some(client) = &app.webhook_client else {
        return Attempt::Failed(DeliveryFailure::Connection {
            stage: "other".into(),
        });
    };
    let timestamp = Utc::now().timestamp();
    let signature = secrets
        .iter()
        .filter_map(|secret| sign(secret, &msg_id, timestamp, &payload))
        .collect::<Vec<_>>()
        .join(" ");
    let timeout: Duration = app.settings.read(|s| s.webhook_timeout);
    let sent = client
        .post(&url)
        .header("content-type", "application/json")
        .header("user-agent", "marketing-api-sandbox-webhooks/1")
        .header("webhook-id", &msg_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .timeout(timeout)
        .body(payload)
        .send()
        .await;
    match sent {
        Ok(response) if response.status().is_success() => {
            Attempt::Delivered(response.status().as_u16())
        }
        Ok(response) => Attempt::Failed(DeliveryFailure::HttpStatus {
            status: i32::from(response.status().as_u16()),
        }),
        Err(error) => {
            tracing::debug!(delivery_id, %error, "webhook attempt failed");
            Attempt::Failed(classify_failure(&error, timeout))
        }
    }
}

/// Says where an attempt that got no answer failed, as the spec's `WebhookDeliveryFailure`.
fn classify_failure(error: &reqwest::Error, timeout: Duration) -> DeliveryFailure {
    if error.is_timeout() {
        return DeliveryFailure::Timeout {
            after_ms: i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX),
        };
    }
    let text = format!("{error:?}").to_ascii_lowercase();
    let stage = if error.is_connect() {
        if text.contains("tls") || text.contains("certificate") || text.contains("handshake") {
            "tls"
        } else {
            "connect"
        }
    } else if error.is_request() || error.is_body() {
        "reset"
    } else {
        "other"
    };
    DeliveryFailure::Connection {
        stage: stage.into(),
    }
}
