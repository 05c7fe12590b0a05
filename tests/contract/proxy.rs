//! A recording, validating proxy between the SDK and the sandbox.
//!
//! Every request is matched to its operation by method and path template, validated against
//! the operation's schemas (query, headers, body), forwarded to the sandbox unchanged, and the
//! answer validated against the schema of its status before it goes back to the SDK. Each
//! exchange is recorded with the operation it matched and every violation found.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use marketing_api::testing::{Contract, ContractViolation};

/// One request and its answer, as seen by the proxy.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The operation the request matched; `None` when no operation of the spec matches.
    pub operation: Option<String>,
    /// `METHOD /path?query`.
    pub line: String,
    /// The status the sandbox answered with.
    pub status: u16,
    /// Everything in the request or response that does not match the spec.
    pub violations: Vec<ContractViolation>,
}

/// Rewrites JSON bodies in flight, to simulate a regression on either side: `request` as if the
/// SDK had sent the rewritten body, `response` as if the sandbox had answered it.
#[derive(Clone, Copy, Default)]
pub struct Tamper {
    /// Applied to JSON request bodies before validation and forwarding.
    pub request: Option<fn(&mut serde_json::Value)>,
    /// Applied to JSON response bodies before validation and delivery to the SDK.
    pub response: Option<fn(&mut serde_json::Value)>,
}

fn rewrite(body: bytes::Bytes, edit: Option<fn(&mut serde_json::Value)>) -> bytes::Bytes {
    let Some(edit) = edit else { return body };
    match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(mut value) => {
            edit(&mut value);
            bytes::Bytes::from(value.to_string())
        }
        Err(_) => body,
    }
}

struct ProxyState {
    tamper: Tamper,
    upstream: String,
    http: reqwest::Client,
    contract: &'static Contract,
    exchanges: Mutex<Vec<Exchange>>,
}

/// The running proxy; dropping it stops nothing (tests end with the runtime).
pub struct Proxy {
    addr: SocketAddr,
    state: Arc<ProxyState>,
}

/// Hop-by-hop headers (RFC 9110 §7.6.1) and those the HTTP stacks recompute.
fn forwarded(name: &http::HeaderName) -> bool {
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
            | "accept-encoding"
    )
}

impl Proxy {
    /// Starts the proxy on 127.0.0.1 in front of `upstream` (`http://127.0.0.1:port`).
    pub async fn start(upstream: &str, contract: &'static Contract) -> Proxy {
        Self::start_tampering(upstream, contract, Tamper::default()).await
    }

    /// Starts a proxy that rewrites bodies in flight (see [`Tamper`]).
    pub async fn start_tampering(
        upstream: &str,
        contract: &'static Contract,
        tamper: Tamper,
    ) -> Proxy {
        crate::support::install_crypto();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_gzip()
            .build()
            .expect("a plain HTTP client builds");
        let state = Arc::new(ProxyState {
            tamper,
            upstream: upstream.trim_end_matches('/').to_owned(),
            http,
            contract,
            exchanges: Mutex::new(Vec::new()),
        });
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(state.clone());
        let addr = crate::support::serve(app).await;
        Proxy { addr, state }
    }

    /// The API base URL through the proxy, e.g. `http://127.0.0.1:41234/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Takes the exchanges recorded since the last call.
    pub fn take(&self) -> Vec<Exchange> {
        std::mem::take(
            &mut *self
                .state
                .exchanges
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }
}

async fn forward(State(state): State<Arc<ProxyState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 16 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let body = rewrite(body, state.tamper.request);
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_owned(), |pq| pq.as_str().to_owned());
    let line = format!("{} {}", parts.method, path_and_query);
    let relative = parts.uri.path().strip_prefix("/v1").unwrap_or("");
    let operation = state.contract.find(&parts.method, relative);
    let mut violations = Vec::new();
    match operation {
        Some(op) => {
            if let Err(violation) = op.validate_request(parts.uri.query(), &parts.headers, &body) {
                violations.push(violation);
            }
        }
        None => violations.push(ContractViolation {
            operation: "(none)".into(),
            part: "request".into(),
            problems: vec![marketing_api::testing::Problem {
                field: String::new(),
                message: format!("no operation of the spec matches {line}"),
            }],
        }),
    }

    let mut upstream = state
        .http
        .request(
            parts.method.clone(),
            format!("{}{path_and_query}", state.upstream),
        )
        .body(body.clone());
    for (name, value) in &parts.headers {
        if forwarded(name) {
            upstream = upstream.header(name, value);
        }
    }
    let (status, headers, bytes) = match upstream.send().await {
        Ok(answer) => {
            let status = answer.status();
            let headers = answer.headers().clone();
            let bytes = answer.bytes().await.unwrap_or_default();
            (status, headers, rewrite(bytes, state.tamper.response))
        }
        Err(error) => {
            // The SDK sees a gateway error; the suite sees the cause.
            let message = format!("the sandbox did not answer: {error}");
            (
                http::StatusCode::BAD_GATEWAY,
                http::HeaderMap::new(),
                bytes::Bytes::from(message),
            )
        }
    };
    if let Some(op) = operation
        && let Err(violation) = op.validate_response(status.as_u16(), &headers, &bytes)
    {
        violations.push(violation);
    }
    state
        .exchanges
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Exchange {
            operation: operation.map(|op| op.id().to_owned()),
            line,
            status: status.as_u16(),
            violations,
        });

    let mut response = Response::builder().status(status);
    for (name, value) in &headers {
        if forwarded(name) {
            response = response.header(name, value);
        }
    }
    response
        .body(Body::from(bytes))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}
