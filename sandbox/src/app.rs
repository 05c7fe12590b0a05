//! The shared state of a running sandbox and the request pipeline every request passes:
//! request id → faults → route lookup in the spec → authentication → rate limit → scope →
//! query and body validation → idempotency → handler → response headers.

use crate::audit::{Access, AuditLog};
use crate::auth::{Actor, Auth, Credential, Tier};
use crate::errors::{ApiError, ErrorType, current_request_id, with_request_id};
use crate::faults::{ConnectionDropper, Fault, FaultInjector};
use crate::idempotency::{Begin, IdempotencyStore, StoredResponse, fingerprint};
use crate::ids::new_id;
use crate::ratelimit::{RateDecision, RateLimiter};
use crate::settings::SettingsHandle;
use crate::spec::{JsonBodyError, RouteMatch, Spec};
use crate::store::Store;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::watch;

/// Largest request body accepted (1 MiB), but for `multipart/form-data` uploads.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What a multipart upload may carry besides its file: boundaries, part headers and the JSON
/// parts. The body limit of an upload is the file limit plus this.
pub const MULTIPART_OVERHEAD_BYTES: usize = 64 * 1024;

/// Everything a running sandbox shares between requests and background deliveries.
#[derive(Debug)]
pub struct AppState {
    pub(crate) spec: Arc<Spec>,
    pub(crate) encryption: crate::encryption::Encryption,
    pub(crate) store: Mutex<Store>,
    pub(crate) auth: Auth,
    pub(crate) settings: SettingsHandle,
    pub(crate) limiter: RateLimiter,
    pub(crate) idempotency: IdempotencyStore,
    pub(crate) faults: FaultInjector,
    pub(crate) accepted_events: AtomicU64,
    pub(crate) audit: AuditLog,
    pub(crate) webhook_client: Option<reqwest::Client>,
    pub(crate) shutdown: watch::Receiver<bool>,
}

/// A handle to the shared state.
pub type App = Arc<AppState>;

impl AppState {
    /// Locks the store; callers keep the guard only for the mutation at hand.
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Query pairs of a request, decoded.
pub(crate) fn query_pairs(query: Option<&str>) -> Result<Vec<(String, String)>, ApiError> {
    let Some(query) = query.filter(|q| !q.is_empty()) else {
        return Ok(Vec::new());
    };
    serde_urlencoded_pairs(query)
}

fn serde_urlencoded_pairs(query: &str) -> Result<Vec<(String, String)>, ApiError> {
    let uri: axum::http::Uri = format!("/?{query}").parse().map_err(|_| {
        ApiError::bad_request_plain("invalid_query", "The query string is malformed.")
    })?;
    axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&uri)
        .map(|q| q.0)
        .map_err(|e| {
            ApiError::bad_request_plain(
                "invalid_query",
                format!("The query string is malformed: {e}."),
            )
        })
}

/// The request pipeline (an axum middleware around every route and the fallback).
pub(crate) async fn pipeline(State(app): State<App>, request: Request, next: Next) -> Response {
    let request_id = new_id("req_");
    let header_id = request_id.clone();
    let mut response = with_request_id(request_id, async {
        let response = handle(app, request, next).await;
        envelope_stray_errors(response)
    })
    .await;
    if !response.headers().contains_key("x-request-id")
        && let Ok(value) = HeaderValue::from_str(&header_id)
    {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

async fn handle(app: App, request: Request, next: Next) -> Response {
    let received_at = chrono::Utc::now();
    let path = request.uri().path().to_owned();
    let method = request.method().clone();
    let is_oauth = path.starts_with("/v1/oauth/");

    let faults = app.settings.read(|s| s.faults.clone());
    if faults.is_active() && (!is_oauth || faults.apply_to_oauth) {
        if !faults.latency.is_zero() {
            tokio::time::sleep(faults.latency).await;
        }
        match app.faults.choose(&faults) {
            Some(Fault::DropConnection) => {
                if let Some(dropper) = request.extensions().get::<ConnectionDropper>() {
                    dropper.drop_connection();
                    // The connection task drops this future together with the socket.
                    std::future::pending::<()>().await;
                }
                return ApiError::internal("The connection would have been dropped.")
                    .into_response();
            }
            Some(fault) => {
                if let Some(error) = fault.error() {
                    return error.into_response();
                }
            }
            None => {}
        }
    }

    let Some(api_path) = path.strip_prefix("/v1") else {
        return next.run(request).await;
    };
    let operation = match app.spec.find(&method, api_path) {
        RouteMatch::Operation(op) => op,
        RouteMatch::MethodNotAllowed | RouteMatch::NotFound => return next.run(request).await,
    };

    // Every request that reached an operation enters the audit trail once its answer is known,
    // whatever the answer (a refused credential and a 429 included).
    let audit = |actor: Actor, response: Response| {
        app.audit.record(Access {
            received_at,
            actor,
            operation: &operation.operation_id,
            method: method.as_str(),
            path_template: &operation.path_template,
            path: api_path,
            status: response.status().as_u16(),
            request_id: current_request_id(),
        });
        response
    };

    // Who is calling decides the rate bucket; the OAuth endpoints share one bucket.
    let credential = if operation.public {
        Credential {
            principal: "oauth-endpoints".into(),
            tier: Tier::Standard,
            scopes: None,
            actor: Actor::anonymous(),
        }
    } else {
        match app.auth.authenticate(request.headers()) {
            Ok(credential) => credential,
            Err(error) => {
                let actor = app.auth.claimed_actor(request.headers());
                let tier = app.settings.read(|s| s.standard_tier);
                let decision = app.limiter.check("unauthenticated", tier);
                return audit(actor, with_rate_headers(error.into_response(), &decision));
            }
        }
    };
    let tier = app.settings.read(|s| match credential.tier {
        Tier::Standard => s.standard_tier,
        Tier::Premium => s.premium_tier,
    });
    let decision = app.limiter.check(&credential.principal, tier);
    if !decision.allowed {
        let error = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorType::RateLimit,
            "rate_limited",
            format!(
                "Rate limit of {} requests per {} s exceeded; retry after {} s.",
                decision.limit, decision.window_secs, decision.retry_after_secs
            ),
        );
        return audit(
            credential.actor.clone(),
            with_rate_headers(error.into_response(), &decision),
        );
    }
    let mut response = checked(&app, &credential, &operation, request, next).await;
    if response.status().is_success() {
        response = seal_response(&app, response).await;
    }
    if operation.deprecated {
        let (deprecation, sunset) = app.spec.deprecation_headers();
        for (name, value) in [("deprecation", deprecation), ("sunset", sunset)] {
            if let Ok(value) = HeaderValue::from_str(value) {
                response.headers_mut().insert(name, value);
            }
        }
    }
    let response = with_rate_headers(response, &decision);
    audit(credential.actor, response)
}

/// Every error answer is JSON: one that is not (a rejection from the framework's own
/// extractors) is turned into the error envelope with a code for its status.
fn envelope_stray_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (kind, code) = match status {
        StatusCode::NOT_FOUND => (ErrorType::NotFound, "route_not_found"),
        StatusCode::METHOD_NOT_ALLOWED => (ErrorType::InvalidRequest, "method_not_allowed"),
        StatusCode::PAYLOAD_TOO_LARGE => (ErrorType::InvalidRequest, "payload_too_large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (ErrorType::InvalidRequest, "invalid_content_type"),
        s if s.is_server_error() => (ErrorType::Api, "internal"),
        _ => (ErrorType::InvalidRequest, "invalid_request"),
    };
    let reason = status.canonical_reason().unwrap_or("Error");
    let (mut parts, _) = response.into_parts();
    let mut enveloped = ApiError::new(status, kind, code, format!("{reason}.")).into_response();
    // Keep what the original answer said besides its body (`Allow`, rate-limit headers).
    parts.headers.remove(header::CONTENT_TYPE);
    parts.headers.remove(header::CONTENT_LENGTH);
    for (name, value) in parts.headers.drain().filter_map(|(n, v)| n.map(|n| (n, v))) {
        enveloped.headers_mut().entry(name).or_insert(value);
    }
    enveloped
}

fn with_rate_headers(mut response: Response, decision: &RateDecision) -> Response {
    decision.write_headers(response.headers_mut());
    response
}

async fn checked(
    app: &App,
    credential: &Credential,
    operation: &Arc<crate::spec::Operation>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(scope) = credential.missing_scope(&operation.scopes) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorType::Permission,
            "insufficient_scope",
            format!(
                "The access token lacks the scope '{scope}' that {} needs.",
                operation.operation_id
            ),
        )
        .into_response();
    }
    // The OAuth endpoints answer bad input in RFC 6749 form, so they check their own input.
    if !operation.public {
        let pairs = match query_pairs(request.uri().query()) {
            Ok(pairs) => pairs,
            Err(error) => return error.into_response(),
        };
        if let Err(error) = operation.validate_query(&pairs) {
            return error.into_response();
        }
    }

    let (mut parts, body) = request.into_parts();
    // Handlers that act on the caller's own rights (creating an API key) read who it is.
    parts.extensions.insert(credential.clone());
    // A form with a file may be as large as the file limit; other bodies keep the small one.
    let multipart = operation
        .body
        .as_ref()
        .is_some_and(|b| b.media_type.starts_with("multipart/"));
    // A CSV import may be a large file, sent as it is or as a form's file part.
    let import = operation.operation_id == crate::routes::contacts_csv::IMPORT_OPERATION;
    let limit = if import {
        let files = app.settings.read(|s| s.max_import_bytes);
        let form = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("multipart/")
            });
        usize::try_from(files)
            .unwrap_or(usize::MAX)
            .saturating_add(if form { MULTIPART_OVERHEAD_BYTES } else { 0 })
    } else if multipart {
        let files = app.settings.read(|s| s.max_asset_bytes);
        usize::try_from(files)
            .unwrap_or(usize::MAX)
            .saturating_add(MULTIPART_OVERHEAD_BYTES)
    } else {
        MAX_BODY_BYTES
    };
    // Handlers of forms validate their JSON parts with the operation's part schemas.
    if multipart {
        parts.extensions.insert(Arc::clone(operation));
    }
    let bytes = match read_body(&parts, body, limit, multipart || import).await {
        Ok(bytes) => bytes,
        // The OAuth endpoints answer in RFC 6749 form, this too.
        Err(error) if operation.public => return crate::routes::oauth::oauth_error_from(error),
        Err(error) => return error.into_response(),
    };
    let mut handler_bytes = None;
    if let Some(spec_body) = &operation.body
        && spec_body.media_type == "application/json"
        && !operation.public
    {
        if bytes.is_empty() {
            if spec_body.required {
                return ApiError::bad_request_plain(
                    "missing_body",
                    "A JSON request body is required.",
                )
                .into_response();
            }
        } else {
            let is_json = parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(|v| {
                    let media = v
                        .split(';')
                        .next()
                        .unwrap_or("")
                        .trim()
                        .to_ascii_lowercase();
                    media == "application/json" || media.ends_with("+json")
                })
                .unwrap_or(false);
            if !is_json {
                return ApiError::bad_request_plain(
                    "invalid_content_type",
                    "Send the body as JSON with Content-Type: application/json.",
                )
                .into_response();
            }
            let mut json = match crate::spec::parse_json_body(&bytes) {
                Ok(json) => json,
                Err(JsonBodyError::Syntax(e)) => {
                    return ApiError::bad_request_plain(
                        "invalid_json",
                        format!("The body is not valid JSON: {e}."),
                    )
                    .into_response();
                }
                Err(JsonBodyError::DuplicateKey(message)) => {
                    return ApiError::bad_request_plain(
                        "duplicate_field",
                        format!("The body is ambiguous: {message}. Send each field once."),
                    )
                    .into_response();
                }
            };
            // Sensitive properties, at any depth, may come as a JWE to the platform's key:
            // validation and the handler see the plaintext.
            let path_id = parts.uri.path().rsplit('/').next();
            let opened = match app.encryption.open_body(&mut json, path_id) {
                Ok(opened) => opened,
                Err((field, why)) => return undecryptable(&field, why).into_response(),
            };
            // Event batches are validated event by event by their handler, so the reasons name
            // the event at fault; it still reads the opened plaintext.
            if operation.operation_id == "ingestEvents" {
                if opened > 0
                    && let Ok(opened) = serde_json::to_vec(&json)
                {
                    handler_bytes = Some(bytes::Bytes::from(opened));
                }
            } else {
                if let Err(error) = operation.check_body(&mut json) {
                    return error.into_response();
                }
                // Handlers read the body as validated: whole numbers as integers.
                if let Ok(normalized) = serde_json::to_vec(&json) {
                    handler_bytes = Some(bytes::Bytes::from(normalized));
                }
            }
        }
    }

    let idempotency_key = if parts.method == Method::POST {
        match parts.headers.get("idempotency-key") {
            Some(value) => match value.to_str() {
                // Visible ASCII and inner spaces (HTTP strips outer ones), as the spec's pattern.
                Ok(key)
                    if (1..=255).contains(&key.len())
                        && key.bytes().all(|b| (b' '..=b'~').contains(&b)) =>
                {
                    Some(key.to_owned())
                }
                _ => {
                    return ApiError::bad_request(
                        "invalid_value",
                        "Idempotency-Key",
                        "Idempotency-Key must be 1 to 255 visible ASCII characters.",
                    )
                    .into_response();
                }
            },
            None => None,
        }
    } else {
        None
    };
    let print = idempotency_key.as_ref().map(|_| {
        // A form is the same request whatever boundary frames it: a client repeating an upload
        // builds the form again, with a new random boundary.
        let boundary = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .filter(|_| multipart || import)
            .and_then(|ct| multer::parse_boundary(ct).ok());
        match boundary {
            Some(boundary) => {
                let framed = without_boundary(&bytes, boundary.as_bytes());
                fingerprint(parts.method.as_str(), parts.uri.path(), &framed)
            }
            None => fingerprint(parts.method.as_str(), parts.uri.path(), &bytes),
        }
    });
    let request = Request::from_parts(parts, Body::from(handler_bytes.unwrap_or(bytes)));
    let (Some(key), Some(print)) = (idempotency_key, print) else {
        return next.run(request).await;
    };
    let guard = match app.idempotency.begin(&credential.principal, &key, print) {
        Begin::Proceed(guard) => guard,
        Begin::Replay(stored) => return replay(stored),
        Begin::Mismatch => {
            return ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorType::Idempotency,
                "idempotency_key_reused",
                "This Idempotency-Key was used with a different request; use a new key for a new request.",
            )
            .with_param("Idempotency-Key")
            .into_response();
        }
        Begin::InFlight => {
            return ApiError::conflict(
                "idempotency_key_in_use",
                "A request with this Idempotency-Key is still being processed; retry shortly.",
            )
            .into_response();
        }
    };
    let response = next.run(request).await;
    let (mut parts, body) = response.into_parts();
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(body) => body,
        Err(_) => return ApiError::internal("The response could not be buffered.").into_response(),
    };
    if let Ok(value) = HeaderValue::from_str(&current_request_id()) {
        parts.headers.insert("x-request-id", value);
    }
    let stored = StoredResponse {
        status: parts.status,
        headers: parts
            .headers
            .iter()
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect(),
        body: body.clone(),
    };
    let ttl = app.settings.read(|s| s.idempotency_ttl);
    guard.complete(stored, ttl);
    Response::from_parts(parts, Body::from(body))
}

fn undecryptable(field: &str, why: crate::encryption::OpenError) -> ApiError {
    use crate::encryption::OpenError;
    let reason = match why {
        OpenError::Malformed => "is not a JWE with alg ECDH-ES+A256KW and enc A256GCM",
        OpenError::UnknownKid => {
            "is encrypted to a key that is not the platform's (see GET /platform_keys)"
        }
        OpenError::Undecryptable => "does not decrypt: wrong key, or the JWE was altered",
        OpenError::Misbound => "is bound (fld/obj) to another property, position or object",
    };
    ApiError::bad_request(
        "undecryptable_field",
        field,
        format!("The encrypted value of '{field}' {reason}."),
    )
}

/// Encrypts the sensitive properties of a success body (its `data`) to the account's newest active
/// key; the body is left alone when there is none. Done after the idempotency store, so a
/// replayed answer is encrypted to the key active at the time of the replay.
async fn seal_response(app: &App, response: Response) -> Response {
    let Some(recipient) = app.store().encryption_recipient() else {
        return response;
    };
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return ApiError::internal("The response could not be buffered.").into_response();
    };
    let mut json: serde_json::Value = match serde_json::from_slice(&bytes) {
        Ok(json) => json,
        Err(_) => return Response::from_parts(parts, Body::from(bytes)),
    };
    // The whole body is the document bindings are relative to (`meta` holds nothing sensitive).
    if json.get("data").is_some() {
        app.encryption.seal_tree(&mut json, &recipient);
    }
    let body = serde_json::to_vec(&json).unwrap_or_else(|_| bytes.to_vec());
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}

/// `body` with every occurrence of `boundary` removed: what a form says, not how it is framed.
fn without_boundary(body: &[u8], boundary: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut rest = body;
    while !boundary.is_empty() {
        match rest.windows(boundary.len()).position(|w| w == boundary) {
            Some(at) => {
                out.extend_from_slice(&rest[..at]);
                rest = &rest[at + boundary.len()..];
            }
            None => break,
        }
    }
    out.extend_from_slice(rest);
    out
}

fn replay(stored: StoredResponse) -> Response {
    let mut response = Response::new(Body::from(stored.body));
    *response.status_mut() = stored.status;
    for (name, value) in stored.headers {
        response.headers_mut().insert(name, value);
    }
    response
        .headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}

async fn read_body(
    parts: &axum::http::request::Parts,
    body: Body,
    limit: usize,
    drain: bool,
) -> Result<bytes::Bytes, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorType::InvalidRequest,
            "payload_too_large",
            format!("The request body exceeds {limit} bytes; split it into smaller requests."),
        )
    };
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if !drain && declared.is_some_and(|len| len > limit) {
        return Err(too_large());
    }
    if !drain {
        return axum::body::to_bytes(body, limit)
            .await
            .map_err(|_| too_large());
    }
    // An upload over the limit is read to its end (up to a bound) before the 413: a client
    // still writing a large file when the answer comes would otherwise see a reset connection
    // instead of the error that says what is wrong.
    use futures::StreamExt;
    let mut stream = body.into_data_stream();
    let mut kept = bytes::BytesMut::new();
    let mut seen: usize = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| too_large())?;
        seen = seen.saturating_add(chunk.len());
        if seen <= limit {
            kept.extend_from_slice(&chunk);
        } else if seen > limit.saturating_mul(4) {
            break;
        }
    }
    if seen > limit {
        return Err(too_large());
    }
    Ok(kept.freeze())
}
