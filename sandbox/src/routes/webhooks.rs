//! Webhook endpoints (with secret rotation) and webhook deliveries (with replay).

use super::Path;
use super::{
    ApiResult, QueryArgs, created, list, no_content, ok, parse, parse_object, patch_field,
    patch_value,
};
use crate::app::App;
use crate::errors::ApiError;
use crate::ids::new_id;
use crate::model::WebhookEndpoint;
use crate::pagination::ListBody;
use crate::store::{EndpointRow, row_key};
use crate::webhook_delivery::{new_secret, start};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route(
            "/v1/webhook_endpoints",
            get(list_endpoints).post(create_endpoint),
        )
        .route(
            "/v1/webhook_endpoints/{endpoint_id}",
            get(get_endpoint)
                .patch(update_endpoint)
                .delete(delete_endpoint),
        )
        .route(
            "/v1/webhook_endpoints/{endpoint_id}/rotate_secret",
            post(rotate_secret),
        )
        .route("/v1/webhook_deliveries", get(list_deliveries))
        .route("/v1/webhook_deliveries/{delivery_id}", get(get_delivery))
        .route(
            "/v1/webhook_deliveries/{delivery_id}/replay",
            post(replay_delivery),
        )
}

#[derive(Deserialize)]
struct NewEndpoint {
    url: String,
    event_types: Vec<String>,
    description: Option<String>,
    enabled: Option<bool>,
}

fn missing(id: &str) -> ApiError {
    ApiError::not_found("webhook endpoint", "endpoint_id", id)
}

fn check_url(url: &str) -> Result<(), ApiError> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "invalid_value",
            "url",
            "'url' must be an http:// or https:// URL.",
        ))
    }
}

async fn list_endpoints(State(app): State<App>, q: QueryArgs) -> ApiResult {
    let (after, limit) = q.page()?;
    let store = app.store();
    let page = store.endpoints.page(after.as_ref(), limit, |_| true);
    drop(store);
    list(ListBody::from_page(page, |row| row.endpoint.clone(), None))
}

async fn create_endpoint(State(app): State<App>, body: Bytes) -> ApiResult {
    let new: NewEndpoint = parse(&body)?;
    check_url(&new.url)?;
    let mut store = app.store();
    let now = store.next_timestamp();
    let endpoint = WebhookEndpoint {
        id: new_id("whe_"),
        url: new.url,
        description: new.description,
        event_types: new.event_types,
        enabled: new.enabled.unwrap_or(true),
        created_at: now,
        updated_at: now,
    };
    let secret = new_secret();
    store.endpoints.insert(
        row_key(now, &endpoint.id),
        EndpointRow {
            endpoint: endpoint.clone(),
            secret: secret.clone(),
            previous_secret: None,
        },
    );
    drop(store);
    let mut data = super::to_json(&endpoint);
    if let Some(map) = data.as_object_mut() {
        map.insert("secret".into(), json!(secret));
    }
    created(data)
}

async fn get_endpoint(State(app): State<App>, Path(id): Path<String>) -> ApiResult {
    let endpoint = app
        .store()
        .endpoints
        .get(&id)
        .map(|r| r.endpoint.clone())
        .ok_or_else(|| missing(&id))?;
    ok(endpoint)
}

async fn update_endpoint(State(app): State<App>, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let patch = parse_object(&body)?;
    let url: Option<String> = patch_value(&patch, "url")?;
    let event_types: Option<Vec<String>> = patch_value(&patch, "event_types")?;
    let description: Option<Option<String>> = patch_field(&patch, "description")?;
    let enabled: Option<bool> = patch_value(&patch, "enabled")?;
    if let Some(url) = &url {
        check_url(url)?;
    }
    let mut store = app.store();
    let now = store.now();
    let row = store.endpoints.get_mut(&id).ok_or_else(|| missing(&id))?;
    let endpoint = &mut row.endpoint;
    if let Some(url) = url {
        endpoint.url = url;
    }
    if let Some(event_types) = event_types {
        endpoint.event_types = event_types;
    }
    if let Some(description) = description {
        endpoint.description = description;
    }
    if let Some(enabled) = enabled {
        endpoint.enabled = enabled;
    }
    endpoint.updated_at = now;
    let endpoint = endpoint.clone();
    drop(store);
    ok(endpoint)
}

async fn delete_endpoint(State(app): State<App>, Path(id): Path<String>) -> ApiResult {
    app.store()
        .endpoints
        .remove(&id)
        .ok_or_else(|| missing(&id))?;
    no_content()
}

async fn rotate_secret(State(app): State<App>, Path(id): Path<String>) -> ApiResult {
    let overlap = app.settings.read(|s| s.secret_rotation_overlap);
    let mut store = app.store();
    let now = store.now();
    let row = store.endpoints.get_mut(&id).ok_or_else(|| missing(&id))?;
    let expires = now + chrono::Duration::from_std(overlap).unwrap_or(chrono::Duration::zero());
    let secret = new_secret();
    let previous = std::mem::replace(&mut row.secret, secret.clone());
    row.previous_secret = Some((previous, expires));
    row.endpoint.updated_at = now;
    drop(store);
    ok(json!({ "endpoint_id": id, "secret": secret, "previous_secret_expires_at": expires }))
}

async fn list_deliveries(State(app): State<App>, q: QueryArgs) -> ApiResult {
    let (after, limit) = q.page()?;
    let status = q.str("status");
    let endpoint_id = q.str("endpoint_id");
    let store = app.store();
    let page = store.deliveries.page(after.as_ref(), limit, |row| {
        status.is_none_or(|s| row.delivery.status == s)
            && endpoint_id.is_none_or(|e| row.delivery.endpoint_id == e)
    });
    drop(store);
    list(ListBody::from_page(page, |row| row.delivery.clone(), None))
}

async fn get_delivery(State(app): State<App>, Path(id): Path<String>) -> ApiResult {
    let delivery = app
        .store()
        .deliveries
        .get(&id)
        .map(|r| r.delivery.clone())
        .ok_or_else(|| ApiError::not_found("webhook delivery", "delivery_id", &id))?;
    ok(delivery)
}

async fn replay_delivery(State(app): State<App>, Path(id): Path<String>) -> ApiResult {
    let mut store = app.store();
    let row = store
        .deliveries
        .get_mut(&id)
        .ok_or_else(|| ApiError::not_found("webhook delivery", "delivery_id", &id))?;
    let delivery = &mut row.delivery;
    if delivery.status != "dead_lettered" && delivery.status != "succeeded" {
        return Err(ApiError::conflict(
            "delivery_in_progress",
            format!(
                "Only a dead_lettered or succeeded delivery can be replayed; this one is {}.",
                delivery.status
            ),
        ));
    }
    delivery.status = "pending".into();
    delivery.next_attempt_at = None;
    let delivery = delivery.clone();
    drop(store);
    start(&app, id);
    super::single(StatusCode::ACCEPTED, delivery)
}
