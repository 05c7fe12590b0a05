//! The operations of the contract, one file per resource area, and the helpers they share:
//! envelopes, body parsing, query access and pagination arguments.
//!
//! By the time a handler runs, the pipeline has authenticated the caller and validated the query
//! and the body against the spec, so handlers deal with meaning (does the campaign exist, is the
//! e-mail taken), not with shape.

use crate::app::{App, query_pairs};
use crate::errors::{ApiError, current_request_id};
use crate::pagination::{DEFAULT_LIMIT, ListBody, MAX_LIMIT, decode_cursor};
use crate::store::RowKey;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

pub mod ads;
pub mod assets;
pub mod audiences;
pub mod campaigns;
pub mod compliance;
pub mod contacts;
pub mod contacts_csv;
pub mod creatives;
pub mod encryption_keys;
pub mod events;
pub mod oauth;
pub mod webhooks;

/// All routes under `/v1`.
pub(crate) fn router() -> Router<App> {
    Router::new()
        .merge(campaigns::routes())
        .merge(ads::routes())
        .merge(creatives::routes())
        .merge(assets::routes())
        .merge(audiences::routes())
        .merge(contacts::routes())
        .merge(contacts_csv::routes())
        .merge(events::routes())
        .merge(webhooks::routes())
        .merge(encryption_keys::routes())
        .merge(compliance::routes())
        .merge(oauth::routes())
}

/// What handlers return.
pub(crate) type ApiResult = Result<Response, ApiError>;

/// `{"data": ..., "meta": {"request_id"}}` with `status`.
pub(crate) fn single(status: StatusCode, data: impl Serialize) -> ApiResult {
    let data = serde_json::to_value(data)
        .map_err(|e| ApiError::internal(format!("serialization failed: {e}")))?;
    Ok((
        status,
        axum::Json(json!({ "data": data, "meta": { "request_id": current_request_id() } })),
    )
        .into_response())
}

/// 200 with one entity.
pub(crate) fn ok(data: impl Serialize) -> ApiResult {
    single(StatusCode::OK, data)
}

/// 201 with the created entity.
pub(crate) fn created(data: impl Serialize) -> ApiResult {
    single(StatusCode::CREATED, data)
}

/// 204 without a body.
pub(crate) fn no_content() -> ApiResult {
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// 200 with a list envelope.
pub(crate) fn list(body: ListBody) -> ApiResult {
    Ok(axum::Json(body.render(&current_request_id())).into_response())
}

/// Parses an (already schema-validated) JSON body into `T`.
pub(crate) fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        let text = e.to_string();
        // serde names the field only for missing ones: "missing field `name` at line…"
        let field = text
            .split('`')
            .nth(1)
            .filter(|_| text.starts_with("missing field"))
            .map(str::to_owned);
        let error =
            ApiError::bad_request_plain("invalid_body", format!("The body is invalid: {text}."));
        match field {
            Some(field) => ApiError::bad_request(
                "missing_field",
                field.clone(),
                format!("'{field}' is required."),
            ),
            None => error,
        }
    })
}

/// Parses a JSON object body (PATCH), keeping the difference between absent and `null`.
pub(crate) fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if bytes.is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_slice(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(ApiError::bad_request_plain(
            "invalid_body",
            "The body must be a JSON object.",
        )),
    }
}

/// Reads a field of a PATCH body: `None` when absent, `Some(None)` when `null`.
pub(crate) fn patch_field<T: DeserializeOwned>(
    map: &Map<String, Value>,
    name: &str,
) -> Result<Option<Option<T>>, ApiError> {
    match map.get(name) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(value) => serde_json::from_value(value.clone())
            .map(|v| Some(Some(v)))
            .map_err(|_| {
                ApiError::bad_request(
                    "invalid_value",
                    name,
                    format!("'{name}' has the wrong type."),
                )
            }),
    }
}

/// Reads a non-nullable field of a PATCH body.
pub(crate) fn patch_value<T: DeserializeOwned>(
    map: &Map<String, Value>,
    name: &str,
) -> Result<Option<T>, ApiError> {
    match patch_field(map, name)? {
        None => Ok(None),
        Some(Some(value)) => Ok(Some(value)),
        Some(None) => Err(ApiError::bad_request(
            "invalid_value",
            name,
            format!("'{name}' cannot be null."),
        )),
    }
}

/// The path parameters of a route, like axum's `Path`, but a parameter that cannot be read
/// (percent-encoded bytes that are not UTF-8) is a 400 in the error envelope naming it.
#[derive(Debug)]
pub(crate) struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        use axum::extract::path::ErrorKind;
        use axum::extract::rejection::PathRejection;
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(PathRejection::FailedToDeserializePathParams(error)) => Err(match error.kind() {
                ErrorKind::InvalidUtf8InPathParam { key } => ApiError::bad_request(
                    "invalid_value",
                    key.clone(),
                    format!("The path parameter '{key}' must be UTF-8 text once percent-decoded."),
                ),
                _ => ApiError::bad_request_plain(
                    "invalid_value",
                    format!("The path is invalid: {}.", error.body_text()),
                ),
            }),
            Err(other) => Err(ApiError::internal(format!(
                "The path parameters could not be read: {}.",
                other.body_text()
            ))),
        }
    }
}

/// The decoded query string of a list request.
#[derive(Debug, Default)]
pub(crate) struct QueryArgs {
    pairs: Vec<(String, String)>,
}

impl<S: Send + Sync> FromRequestParts<S> for QueryArgs {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(QueryArgs {
            pairs: query_pairs(parts.uri.query())?,
        })
    }
}

impl QueryArgs {
    /// The text of `name`.
    pub fn str(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `name` as an integer.
    pub fn i64(&self, name: &str) -> Result<Option<i64>, ApiError> {
        self.str(name)
            .map(|v| {
                v.parse().map_err(|_| {
                    ApiError::bad_request(
                        "invalid_value",
                        name,
                        format!("'{name}' must be an integer."),
                    )
                })
            })
            .transpose()
    }

    /// `name` as a number.
    pub fn f64(&self, name: &str) -> Result<Option<f64>, ApiError> {
        self.str(name)
            .map(|v| {
                v.parse().map_err(|_| {
                    ApiError::bad_request(
                        "invalid_value",
                        name,
                        format!("'{name}' must be a number."),
                    )
                })
            })
            .transpose()
    }

    /// `name` as an RFC 3339 time.
    pub fn time(&self, name: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
        self.str(name)
            .map(|v| {
                DateTime::parse_from_rfc3339(v).map(|t| t.with_timezone(&Utc)).map_err(|_| {
                    ApiError::bad_request(
                        "invalid_value",
                        name,
                        format!("'{name}' must be an RFC 3339 date-time such as 2026-01-31T12:00:00Z."),
                    )
                })
            })
            .transpose()
    }

    /// The keyset position after which the page starts and the page size.
    pub fn page(&self) -> Result<(Option<RowKey>, usize), ApiError> {
        let after = self.str("cursor").map(decode_cursor).transpose()?;
        let limit = match self.i64("limit")? {
            None => DEFAULT_LIMIT,
            Some(limit) if (1..=MAX_LIMIT as i64).contains(&limit) => limit as usize,
            Some(_) => {
                return Err(ApiError::bad_request(
                    "invalid_value",
                    "limit",
                    format!("'limit' must be between 1 and {MAX_LIMIT}."),
                ));
            }
        };
        Ok((after, limit))
    }
}

/// Checks that `start_at` precedes `end_at`.
pub(crate) fn check_flight(
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
) -> Result<(), ApiError> {
    if let (Some(start), Some(end)) = (start, end)
        && end <= start
    {
        return Err(ApiError::bad_request(
            "invalid_value",
            "end_at",
            "'end_at' must be after 'start_at'.",
        ));
    }
    Ok(())
}

/// Sends the webhook events a change produced (after the store lock is released).
pub(crate) fn emit_all(app: &App, events: Vec<(&'static str, Value)>) {
    for (event_type, data) in events {
        crate::webhook_delivery::emit(app, event_type, data);
    }
}

/// `value` as JSON (entities always serialize).
pub(crate) fn to_json(value: impl Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}
