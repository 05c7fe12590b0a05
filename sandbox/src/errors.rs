//! The error envelope every 4xx/5xx answer carries, and the request id that ties an answer to
//! its logs.
//!
//! Handlers return [`ApiError`]; its `IntoResponse` renders
//! `{"error": {"type", "code", "message", "param", "request_id"}}`. The request id is the one the
//! request pipeline chose for the request being served (a task-local set around each request), so
//! an error built deep inside a handler still carries the same id as the `X-Request-Id` header.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::fmt;

tokio::task_local! {
    /// The id of the request the current task is serving.
    static REQUEST_ID: String;
}

/// Runs `fut` with `request_id` as the current request id.
pub(crate) async fn with_request_id<F: std::future::Future>(
    request_id: String,
    fut: F,
) -> F::Output {
    REQUEST_ID.scope(request_id, fut).await
}

/// The id of the request being served, or a fresh one outside a request.
pub(crate) fn current_request_id() -> String {
    REQUEST_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| crate::ids::new_id("req_"))
}

/// The `type` of an error, as the contract enumerates it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    /// The request is malformed or a value is invalid (400, 413).
    InvalidRequest,
    /// Missing, unknown or expired credentials (401).
    Authentication,
    /// The credential lacks a scope the operation needs (403).
    Permission,
    /// The resource or route does not exist (404).
    NotFound,
    /// The request conflicts with the current state (409).
    Conflict,
    /// An idempotency key was reused with a different request (422).
    Idempotency,
    /// The credential's quota is spent (429).
    RateLimit,
    /// The server failed (500, 503).
    Api,
}

impl ErrorType {
    /// The wire name of the type.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::InvalidRequest => "invalid_request_error",
            ErrorType::Authentication => "authentication_error",
            ErrorType::Permission => "permission_error",
            ErrorType::NotFound => "not_found_error",
            ErrorType::Conflict => "conflict_error",
            ErrorType::Idempotency => "idempotency_error",
            ErrorType::RateLimit => "rate_limit_error",
            ErrorType::Api => "api_error",
        }
    }
}

/// An error answer: status, type, code, message and the offending parameter.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The error type.
    pub kind: ErrorType,
    /// A machine-readable code such as `missing_field`.
    pub code: String,
    /// A message that says what to fix.
    pub message: String,
    /// The field or query parameter at fault.
    pub param: Option<String>,
    /// Extra headers (`Retry-After`, `WWW-Authenticate`).
    pub headers: Vec<(&'static str, String)>,
    /// Each fault, when a body can have several (an audience rule): the envelope's `details`.
    /// A boxed slice: errors travel in every handler's `Result`, so they stay small.
    pub details: Box<[ErrorDetail]>,
}

/// One fault in a request body: the contract's `ErrorDetail`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ErrorDetail {
    /// Where, as a JSON pointer into the request body (`/rule/all/2/not/field`).
    pub pointer: String,
    /// What is wrong there (`unknown_field`, `cyclic_rule`, ...).
    pub code: &'static str,
    /// A message that says what to fix.
    pub message: String,
}

impl ApiError {
    /// A new error.
    pub fn new(
        status: StatusCode,
        kind: ErrorType,
        code: &str,
        message: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            kind,
            code: code.to_owned(),
            message: message.into(),
            param: None,
            headers: Vec::new(),
            details: Box::default(),
        }
    }

    /// Lists the faults found (the envelope's `details`).
    pub fn with_details(mut self, details: Vec<ErrorDetail>) -> Self {
        self.details = details.into_boxed_slice();
        self
    }

    /// Names the field or query parameter at fault.
    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    /// Adds a response header.
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// 400 `invalid_request_error` with `code` and `param`.
    pub fn bad_request(code: &str, param: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorType::InvalidRequest,
            code,
            message,
        )
        .with_param(param)
    }

    /// 400 `invalid_request_error` without a parameter.
    pub fn bad_request_plain(code: &str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorType::InvalidRequest,
            code,
            message,
        )
    }

    /// 404 `not_found_error`/`resource_missing` for `what` with id `id`.
    pub fn not_found(what: &str, param: &str, id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorType::NotFound,
            "resource_missing",
            format!("No {what} with id '{id}'."),
        )
        .with_param(param)
    }

    /// 409 `conflict_error`.
    pub fn conflict(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, ErrorType::Conflict, code, message)
    }

    /// 500 `api_error`/`internal`.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorType::Api,
            "internal",
            message,
        )
    }

    /// The JSON body of this error for the given request id.
    pub fn body(&self, request_id: &str) -> serde_json::Value {
        let mut error = json!({
            "type": self.kind.as_str(),
            "code": self.code,
            "message": self.message,
            "request_id": request_id,
        });
        // `param` is an optional string in the spec, not a nullable one: leave it out when no
        // single field is to blame.
        if let (Some(param), Some(map)) = (&self.param, error.as_object_mut()) {
            map.insert("param".into(), json!(param));
        }
        if let (false, Some(map)) = (self.details.is_empty(), error.as_object_mut()) {
            map.insert("details".into(), json!(self.details));
        }
        json!({ "error": error })
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let request_id = current_request_id();
        let mut response = (self.status, axum::Json(self.body(&request_id))).into_response();
        for (name, value) in &self.headers {
            if let Ok(value) = HeaderValue::from_str(value) {
                response.headers_mut().insert(*name, value);
            }
        }
        response
    }
}

/// Unknown route: 404 in the error envelope.
pub(crate) async fn route_not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorType::NotFound,
        "route_not_found",
        format!("No route for '{}'. Paths start with /v1.", uri.path()),
    )
}

/// Known route, wrong method: 405 in the error envelope.
pub(crate) async fn method_not_allowed(method: axum::http::Method) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorType::InvalidRequest,
        "method_not_allowed",
        format!("Method {method} is not allowed on this path."),
    )
}
