//! The HTTP servers the fleet tests run in the parent process: a token endpoint with rotating
//! refresh tokens and reuse detection, and a proxy that counts what the sandbox answers. Each
//! counts what it saw, so the parent can check what the fleet did as a whole.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Request, State};
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

/// What the counting proxy answered: when (Unix milliseconds) and with which status.
#[derive(Debug, Default)]
pub struct ProxyLedger {
    pub answers: Vec<(u64, u16)>,
}

impl ProxyLedger {
    /// Answers given in `[from, to)` (Unix milliseconds): with `status`, or all of them.
    pub fn count(&self, from: u64, to: u64, status: Option<u16>) -> u64 {
        self.answers
            .iter()
            .filter(|(at, s)| (from..to).contains(at) && status.is_none_or(|want| *s == want))
            .count() as u64
    }
}

#[derive(Clone)]
struct CountingProxy {
    ledger: Arc<Mutex<ProxyLedger>>,
    upstream: String,
    http: reqwest::Client,
}

/// Forwards every request to `upstream` (`http://host:port`) unchanged and its answer back
/// unchanged, noting the answer's status and time: what reached the server and what it said,
/// counted by neither the server nor the clients under test.
pub async fn counting_proxy(upstream: SocketAddr) -> (SocketAddr, Arc<Mutex<ProxyLedger>>) {
    // reqwest's rustls needs a process-wide provider; the parent builds no SDK client that
    // would install one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ledger = Arc::new(Mutex::new(ProxyLedger::default()));
    let state = CountingProxy {
        ledger: ledger.clone(),
        upstream: format!("http://{upstream}"),
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_gzip()
            .build()
            .unwrap(),
    };
    let app = Router::new().fallback(forward).with_state(state);
    (serve(app).await, ledger)
}

/// Hop-by-hop headers (RFC 9110 §7.6.1) and those the HTTP stacks recompute.
fn end_to_end(name: &axum::http::HeaderName) -> bool {
    !matches!(
        name.as_str(),
        "host"
            | "connection"
            | "keep-alive"
            | "transfer-encoding"
            | "te"
            | "trailer"
            | "upgrade"
            | "proxy-connection"
            | "content-length"
    )
}

async fn forward(State(proxy): State<CountingProxy>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let path = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let mut upstream = proxy
        .http
        .request(parts.method.clone(), format!("{}{path}", proxy.upstream))
        .body(body);
    for (name, value) in parts.headers.iter().filter(|(name, _)| end_to_end(name)) {
        upstream = upstream.header(name, value);
    }
    let (status, headers, body) = match upstream.send().await {
        Ok(answer) => {
            let status = answer.status();
            let headers = answer.headers().clone();
            (status, headers, answer.bytes().await.unwrap_or_default())
        }
        // Not counted: the server never answered.
        Err(error) => return (StatusCode::BAD_GATEWAY, error.to_string()).into_response(),
    };
    let at = u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    proxy
        .ledger
        .lock()
        .unwrap()
        .answers
        .push((at, status.as_u16()));
    let mut response = Response::new(axum::body::Body::from(body));
    *response.status_mut() = status;
    for (name, value) in headers.iter().filter(|(name, _)| end_to_end(name)) {
        response.headers_mut().append(name, value.clone());
    }
    response
}

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}
