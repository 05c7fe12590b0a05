//! Integration API keys, the audit trail and usage.

use super::{ApiResult, Path, QueryArgs, created, list, ok};
use crate::app::App;
use crate::audit::{EventFilter, UsageFilter};
use crate::auth::Credential;
use crate::errors::{ApiError, ErrorType};
use crate::pagination::ListBody;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use bytes::Bytes;
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::json;

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/v1/api-keys", get(list_api_keys).post(create_api_key))
        .route("/v1/api-keys/{api_key_id}/revoke", post(revoke_api_key))
        .route("/v1/audit-events", get(list_audit_events))
        .route("/v1/usage", get(get_usage))
}

#[derive(Deserialize)]
struct NewApiKey {
    name: String,
    scopes: Vec<String>,
    rate_tier: Option<String>,
}

async fn create_api_key(
    State(app): State<App>,
    axum::Extension(caller): axum::Extension<Credential>,
    body: Bytes,
) -> ApiResult {
    let new: NewApiKey = super::parse(&body)?;
    // A scoped caller cannot mint a key that may do more than it may itself.
    if let Some(scope) = caller.missing_scope(&new.scopes) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorType::Permission,
            "insufficient_scope",
            format!("A key cannot grant the scope '{scope}', which its creator lacks."),
        )
        .with_param("scopes"));
    }
    let now = app.store().now();
    let (key, secret) = app.auth.api_keys.create(
        new.name,
        new.scopes,
        new.rate_tier.unwrap_or_else(|| "standard".into()),
        now,
    );
    created(json!({ "api_key": key, "secret": secret }))
}

async fn list_api_keys(State(app): State<App>, q: QueryArgs) -> ApiResult {
    let (after, limit) = q.page()?;
    let (page, total) = app
        .auth
        .api_keys
        .page(after.as_ref(), limit, q.str("status"));
    list(ListBody::from_page(page, Clone::clone, Some(total)))
}

async fn revoke_api_key(State(app): State<App>, Path(id): Path<String>) -> ApiResult {
    let now = app.store().now();
    let key = app
        .auth
        .api_keys
        .revoke(&id, now)
        .ok_or_else(|| ApiError::not_found("API key", "api_key_id", &id))?;
    ok(key)
}

async fn list_audit_events(State(app): State<App>, q: QueryArgs) -> ApiResult {
    let (after, limit) = q.page()?;
    let filter = EventFilter {
        actor_id: q.str("actor_id"),
        resource_id: q.str("resource_id"),
        operation: q.str("operation"),
        after: q.time("occurred_after")?,
        before: q.time("occurred_before")?,
    };
    let page = app.audit.page(after.as_ref(), limit, &filter);
    list(ListBody::from_page(page, Clone::clone, None))
}

fn date(q: &QueryArgs, name: &str) -> Result<Option<NaiveDate>, ApiError> {
    q.str(name)
        .map(|v| {
            NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| {
                ApiError::bad_request(
                    "invalid_value",
                    name,
                    format!("'{name}' must be a date such as 2026-11-30."),
                )
            })
        })
        .transpose()
}

async fn get_usage(State(app): State<App>, q: QueryArgs) -> ApiResult {
    let filter = UsageFilter {
        start: date(&q, "start_date")?,
        end: date(&q, "end_date")?,
        operation: q.str("operation"),
        consumer: q.str("consumer"),
    };
    let rows = app.audit.usage(&filter);
    let total: u64 = rows.iter().map(|r| r.requests).sum();
    ok(json!({ "rows": rows, "total_requests": total }))
}
