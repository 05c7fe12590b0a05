//! Interaction events: batch ingestion, validated event by event, and listing.

use super::{ApiResult, QueryArgs, emit_all, list, ok, to_json};
use crate::app::App;
use crate::errors::ApiError;
use crate::ids::new_id;
use crate::model::{InteractionEvent, Timestamp};
use crate::pagination::ListBody;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use bytes::Bytes;
use chrono::DateTime;
use serde_json::{Map, Value, json};
use std::sync::atomic::Ordering;

/// Most events one batch may carry.
const MAX_BATCH: usize = 500;

pub(crate) fn routes() -> Router<App> {
    Router::new().route("/v1/events", get(list_events).post(ingest_events))
}

struct Rejection {
    code: String,
    message: String,
    param: Option<String>,
}

impl From<ApiError> for Rejection {
    fn from(error: ApiError) -> Self {
        Rejection {
            code: error.code,
            message: error.message,
            param: error.param,
        }
    }
}

fn batch_events(body: &[u8]) -> Result<Vec<Value>, ApiError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request_plain("invalid_json", format!("The body is not valid JSON: {e}."))
    })?;
    let Value::Object(mut batch) = value else {
        return Err(ApiError::bad_request_plain(
            "invalid_body",
            "The body must be an object with an 'events' array.",
        ));
    };
    match batch.remove("events") {
        None => Err(ApiError::bad_request(
            "missing_field",
            "events",
            "'events' is required.",
        )),
        Some(Value::Array(events)) if events.is_empty() => Err(ApiError::bad_request(
            "invalid_value",
            "events",
            "'events' must contain at least one event.",
        )),
        Some(Value::Array(events)) if events.len() > MAX_BATCH => Err(ApiError::bad_request(
            "too_many_events",
            "events",
            format!(
                "A batch carries at most {MAX_BATCH} events; this one has {}. Split it.",
                events.len()
            ),
        )),
        Some(Value::Array(events)) => Ok(events),
        Some(_) => Err(ApiError::bad_request(
            "invalid_value",
            "events",
            "'events' must be an array.",
        )),
    }
}

async fn ingest_events(State(app): State<App>, body: Bytes) -> ApiResult {
    let mut events = batch_events(&body)?;
    // What the schema can say about an event is checked for the whole batch first: an event
    // that breaks `NewInteractionEvent` makes the request invalid (400 naming the event), as the
    // request schema says. What only the data can tell (an unknown contact or campaign) rejects
    // that event alone, in the 200 answer.
    for (index, raw) in events.iter_mut().enumerate() {
        app.spec.check_event(raw, &format!("events[{index}]"))?;
    }
    let mut results = Vec::with_capacity(events.len());
    let mut webhooks = Vec::new();
    let mut accepted = 0u64;
    let mut store = app.store();
    for (index, raw) in events.into_iter().enumerate() {
        let prefix = format!("events[{index}]");
        let outcome: Result<InteractionEvent, Rejection> = (|| {
            let field = |name: &str| raw.get(name).filter(|v| !v.is_null());
            let text = |name: &str| field(name).and_then(Value::as_str).map(str::to_owned);
            let contact_id = text("contact_id");
            let campaign_id = text("campaign_id");
            if let Some(id) = &contact_id
                && store.contacts.get(id).is_none()
            {
                return Err(Rejection {
                    code: "resource_missing".into(),
                    message: format!("No contact with id '{id}'."),
                    param: Some(format!("{prefix}.contact_id")),
                });
            }
            if let Some(id) = &campaign_id
                && store.campaigns.get(id).is_none()
            {
                return Err(Rejection {
                    code: "resource_missing".into(),
                    message: format!("No campaign with id '{id}'."),
                    param: Some(format!("{prefix}.campaign_id")),
                });
            }
            let occurred_at = text("occurred_at")
                .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                .map(|t| t.to_utc())
                .ok_or_else(|| Rejection {
                    code: "invalid_value".into(),
                    message: "'occurred_at' must be an RFC 3339 date-time.".into(),
                    param: Some(format!("{prefix}.occurred_at")),
                })?;
            let received_at = store.next_timestamp();
            Ok(InteractionEvent {
                id: new_id("evt_"),
                event_type: text("type").unwrap_or_default(),
                contact_id,
                campaign_id,
                occurred_at,
                received_at,
                value_cents: field("value_cents").and_then(Value::as_i64),
                properties: field("properties")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default(),
            })
        })();
        match outcome {
            Ok(event) => {
                accepted += 1;
                if let Some(campaign) = event.campaign_id.as_ref().and_then(|id| store.campaigns.get_mut(id)) {
                    let metrics = &mut campaign.metrics;
                    match event.event_type.as_str() {
                        "page_view" => metrics.impressions += 1,
                        "ad_click" => metrics.clicks += 1,
                        "form_submitted" | "purchase" => metrics.conversions += 1,
                        _ => {}
                    }
                    metrics.refresh_ctr();
                }
                let contact = event.contact_id.as_ref().and_then(|id| store.contacts.get(id)).cloned();
                match event.event_type.as_str() {
                    "form_submitted" => webhooks.push((
                        "form.submitted",
                        json!({
                            "event_id": event.id,
                            "contact": contact,
                            "campaign_id": event.campaign_id,
                            "fields": event.properties,
                            "submitted_at": event.occurred_at,
                        }),
                    )),
                    "purchase" => {
                        let currency = purchase_currency(&event.properties, event.campaign_id.as_ref().and_then(|id| store.campaigns.get(id)).map(|c| c.currency.as_str()));
                        webhooks.push((
                            "purchase.completed",
                            json!({
                                "event_id": event.id,
                                "contact": contact,
                                "campaign_id": event.campaign_id,
                                "value_cents": event.value_cents.unwrap_or(0),
                                "currency": currency,
                                "properties": event.properties,
                                "completed_at": event.occurred_at,
                            }),
                        ));
                    }
                    _ => {}
                }
                results.push(json!({"index": index, "status": "accepted", "id": event.id, "error": null}));
                store.insert_event(event);
            }
            Err(rejection) => results.push(json!({
                "index": index,
                "status": "rejected",
                "id": null,
                "error": {"code": rejection.code, "message": rejection.message, "param": rejection.param},
            })),
        }
    }
    drop(store);
    app.accepted_events.fetch_add(accepted, Ordering::Relaxed);
    emit_all(&app, webhooks);
    let rejected = results.len() as u64 - accepted;
    ok(json!({ "accepted": accepted, "rejected": rejected, "results": results }))
}

fn purchase_currency(properties: &Map<String, Value>, campaign_currency: Option<&str>) -> String {
    properties
        .get("currency")
        .and_then(Value::as_str)
        .filter(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()))
        .or(campaign_currency)
        .unwrap_or("USD")
        .to_owned()
}

async fn list_events(State(app): State<App>, q: QueryArgs) -> ApiResult {
    let (after, limit) = q.page()?;
    let event_type = q.str("type");
    let contact_id = q.str("contact_id");
    let campaign_id = q.str("campaign_id");
    let occurred_after: Option<Timestamp> = q.time("occurred_after")?;
    let occurred_before: Option<Timestamp> = q.time("occurred_before")?;
    let min_value = q.i64("min_value_cents")?;
    let keep = |e: &InteractionEvent| {
        event_type.is_none_or(|t| e.event_type == t)
            && contact_id.is_none_or(|c| e.contact_id.as_deref() == Some(c))
            && campaign_id.is_none_or(|c| e.campaign_id.as_deref() == Some(c))
            && occurred_after.is_none_or(|t| e.occurred_at >= t)
            && occurred_before.is_none_or(|t| e.occurred_at < t)
            && min_value.is_none_or(|m| e.value_cents.is_some_and(|v| v >= m))
    };
    let store = app.store();
    let page = store.events.page(after.as_ref(), limit, keep);
    let total = store.events.count(keep);
    drop(store);
    list(ListBody::from_page(page, |e| to_json(e), Some(total)))
}
