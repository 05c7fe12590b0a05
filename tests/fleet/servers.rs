//! The HTTP servers the fleet tests run in the parent process: a token endpoint with rotating
//! refresh tokens and reuse detection, and an API whose quota is a fixed window per second.
//! Each counts what it saw, so the parent can check what the fleet did as a whole.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

/// What the token endpoint and the token-checking API saw.
#[derive(Debug, Default)]
pub struct TokenLedger {
    /// When each token request that issued tokens was made.
    pub issued_at: Vec<SystemTime>,
    /// Token requests with a refresh token that had been used already (or never issued).
    pub refused_refresh_tokens: u64,
    /// API requests answered 200 / 401.
    pub api_ok: u64,
    pub api_unauthorized: u64,
    access: HashMap<String, SystemTime>,
    live_refresh: HashSet<String>,
    used_refresh: HashSet<String>,
    next: u64,
}

#[derive(Clone)]
struct TokenServer {
    ledger: Arc<Mutex<TokenLedger>>,
    ttl: Duration,
    /// Client credentials (no refresh token) or rotating refresh tokens.
    rotate: bool,
}

/// Serves `POST /oauth/token` and `GET /v1/campaigns` (200 only with a live access token).
/// With `rotate`, `initial_refresh` is the one valid refresh token at the start.
pub async fn token_server(
    ttl: Duration,
    rotate: bool,
    initial_refresh: &str,
) -> (SocketAddr, Arc<Mutex<TokenLedger>>) {
    let ledger = Arc::new(Mutex::new(TokenLedger::default()));
    ledger
        .lock()
        .unwrap()
        .live_refresh
        .insert(initial_refresh.to_owned());
    let state = TokenServer {
        ledger: ledger.clone(),
        ttl,
        rotate,
    };
    let app = Router::new()
        .route("/oauth/token", post(issue))
        .route("/v1/campaigns", get(campaigns))
        .with_state(state);
    (serve(app).await, ledger)
}

async fn issue(State(server): State<TokenServer>, body: String) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let mut ledger = server.ledger.lock().unwrap();
    if server.rotate {
        let presented = form.get("refresh_token").cloned().unwrap_or_default();
        if !ledger.live_refresh.remove(&presented) {
            ledger.refused_refresh_tokens += 1;
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({"error": "invalid_grant"})),
            )
                .into_response();
        }
        ledger.used_refresh.insert(presented);
    }
    ledger.next += 1;
    let access = format!("at_{}", ledger.next);
    let now = SystemTime::now();
    ledger.access.insert(access.clone(), now + server.ttl);
    ledger.issued_at.push(now);
    let mut answer = json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": server.ttl.as_secs(),
    });
    if server.rotate {
        let refresh = format!("rt_{}", ledger.next);
        ledger.live_refresh.insert(refresh.clone());
        answer["refresh_token"] = json!(refresh);
    }
    axum::Json(answer).into_response()
}

async fn campaigns(State(server): State<TokenServer>, headers: HeaderMap) -> Response {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let mut ledger = server.ledger.lock().unwrap();
    let live = ledger
        .access
        .get(token)
        .is_some_and(|expires| SystemTime::now() < *expires);
    if live {
        ledger.api_ok += 1;
        empty_page().into_response()
    } else {
        ledger.api_unauthorized += 1;
        (
            StatusCode::UNAUTHORIZED,
            axum::Json(
                json!({"error": {"type": "authentication_error", "code": "token_expired",
                "message": "expired", "request_id": "req_1"}}),
            ),
        )
            .into_response()
    }
}

fn empty_page() -> axum::Json<serde_json::Value> {
    axum::Json(json!({"data": [], "meta": {"request_id": "req_1", "has_more": false}}))
}

/// What the rate-limited API saw.
#[derive(Debug, Default)]
pub struct QuotaLedger {
    pub ok: u64,
    pub too_many: u64,
    window: u64,
    used: u32,
}

#[derive(Clone)]
struct QuotaServer {
    ledger: Arc<Mutex<QuotaLedger>>,
    limit: u32,
}

/// Serves `GET /v1/campaigns` with a quota of `limit` requests per wall-clock second, announced
/// in `X-RateLimit-*` headers with a fractional reset; a spent quota answers 429.
pub async fn quota_server(limit: u32) -> (SocketAddr, Arc<Mutex<QuotaLedger>>) {
    let ledger = Arc::new(Mutex::new(QuotaLedger::default()));
    let state = QuotaServer {
        ledger: ledger.clone(),
        limit,
    };
    let app = Router::new()
        .route("/v1/campaigns", get(limited))
        .with_state(state);
    (serve(app).await, ledger)
}

async fn limited(State(server): State<QuotaServer>) -> Response {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let window = since_epoch.as_secs();
    let reset = 1.0 - f64::from(since_epoch.subsec_micros()) / 1e6;
    let mut ledger = server.ledger.lock().unwrap();
    if ledger.window != window {
        ledger.window = window;
        ledger.used = 0;
    }
    let allowed = ledger.used < server.limit;
    if allowed {
        ledger.used += 1;
        ledger.ok += 1;
    } else {
        ledger.too_many += 1;
    }
    let remaining = server.limit - ledger.used;
    drop(ledger);
    let headers = [
        ("x-ratelimit-limit", server.limit.to_string()),
        ("x-ratelimit-remaining", remaining.to_string()),
        ("x-ratelimit-reset", format!("{reset:.3}")),
    ];
    if allowed {
        (headers, empty_page()).into_response()
    } else {
        (
            StatusCode::TOO_MANY_REQUESTS,
            headers,
            axum::Json(
                json!({"error": {"type": "rate_limit_error", "code": "rate_limited",
                "message": "slow down", "request_id": "req_1"}}),
            ),
        )
            .into_response()
    }
}

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}
