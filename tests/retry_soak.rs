//! Soak: 10,000 logical `createCampaign` calls through the public client against a server on
//! 127.0.0.1 that fails about 30% of attempts with 429, 503 or a dropped TCP connection, some of
//! them after it has already created the campaign. Every call must end in a campaign or a typed
//! error, and no campaign may be created twice.
//!
//! The server is an axum router served connection by connection with hyper, so a handler can
//! ask for the connection to be closed without an answer: a real socket close the client sees as
//! "connection closed before message completed", not a simulated error status.
//!
//! Failures are drawn from a seeded generator keyed by the campaign name and the attempt number
//! at the server, so the counts do not depend on how the 64 concurrent calls interleave.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures::StreamExt;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use marketing_api::ErrorKind;
use marketing_api::clock::ManualClock;
use marketing_api::models::NewCampaign;
use marketing_api::retry::{RetryBudgetConfig, RetryPolicy};
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use support::{campaign, start};

const LOGICAL_REQUESTS: usize = 10_000;
const CONCURRENCY: usize = 64;
const SEED: u64 = 0x5eed_2026;
/// Every tenth call allows only 2 attempts, so some calls run out of attempts and the typed
/// errors and the "created, but the answer was lost" accounting are exercised, not just hoped for.
const SHORT_EVERY: usize = 10;
const SHORT_ATTEMPTS: u32 = 2;
const MAX_ATTEMPTS: u32 = 8;

/// What the server does with one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Fate {
    /// Create (or replay) and answer 201.
    Serve,
    /// 429 with `Retry-After: 0`, before doing anything.
    RateLimited,
    /// 503, before doing anything.
    Unavailable,
    /// Close the connection without an answer, before doing anything.
    DropBefore,
    /// Create (or replay), then close the connection without an answer.
    DropAfterCreate,
    /// Create (or replay), then answer 503: the client never sees the 201.
    LostAfterCreate,
}

/// One attempt out of ten each for 429, 503 and a dropped connection (split three ways).
fn fate(name: &str, attempt: u64) -> Fate {
    let index: u64 = name
        .strip_prefix("soak-")
        .and_then(|n| n.parse().ok())
        .unwrap_or(u64::MAX / 64);
    let mut rng = rand::rngs::StdRng::seed_from_u64(SEED ^ (index << 6 | attempt));
    let roll: f64 = rng.random();
    match roll {
        r if r < 0.10 => Fate::RateLimited,
        r if r < 0.20 => Fate::Unavailable,
        r if r < 0.20 + 0.10 / 3.0 => Fate::DropBefore,
        r if r < 0.20 + 0.20 / 3.0 => Fate::DropAfterCreate,
        r if r < 0.30 => Fate::LostAfterCreate,
        _ => Fate::Serve,
    }
}

/// Marks a response the connection layer must replace by closing the socket.
#[derive(Clone, Copy)]
struct CloseConnection;

#[derive(Default)]
struct Store {
    /// Idempotency key → the stored 201 body, replayed for every later attempt with that key.
    by_key: HashMap<String, Value>,
    /// Idempotency key → how many times it created a campaign (must stay 1).
    creates_per_key: HashMap<String, u32>,
    /// Campaign name → how many campaigns were created under it (must stay ≤ 1).
    creates_per_name: HashMap<String, u32>,
    /// Campaign name → the id created for it.
    id_per_name: HashMap<String, String>,
    /// Campaign name → attempts received.
    attempts_per_name: HashMap<String, u64>,
    fates: BTreeMap<Fate, u64>,
    replays: u64,
}

#[derive(Clone, Default)]
struct Server {
    store: Arc<Mutex<Store>>,
    next_id: Arc<AtomicU64>,
}

fn error_body(status: StatusCode, error_type: &str, code: &str) -> Response {
    let body = json!({"error": {
        "type": error_type,
        "code": code,
        "message": "injected failure",
        "request_id": "req_soak"
    }});
    (status, axum::Json(body)).into_response()
}

fn close_connection() -> Response {
    let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
    response.extensions_mut().insert(CloseConnection);
    response
}

async fn create_campaign(
    State(server): State<Server>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(key) = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
    else {
        return error_body(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "missing_idempotency_key",
        );
    };
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return error_body(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "invalid_json",
        );
    };
    let name = request["name"].as_str().unwrap_or_default().to_owned();
    let budget_cents = request["budget_cents"].as_i64().unwrap_or_default();

    let mut store = server.store.lock().unwrap_or_else(|e| e.into_inner());
    let attempt = {
        let n = store.attempts_per_name.entry(name.clone()).or_default();
        *n += 1;
        *n
    };
    let fate = fate(&name, attempt);
    *store.fates.entry(fate).or_default() += 1;
    match fate {
        Fate::RateLimited => {
            let mut response = error_body(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limit_error",
                "rate_limited",
            );
            response
                .headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from_static("0"));
            return response;
        }
        Fate::Unavailable => {
            return error_body(StatusCode::SERVICE_UNAVAILABLE, "api_error", "unavailable");
        }
        Fate::DropBefore => return close_connection(),
        Fate::Serve | Fate::DropAfterCreate | Fate::LostAfterCreate => {}
    }

    let store = &mut *store;
    let stored = match store.by_key.get(&key) {
        Some(stored) => {
            store.replays += 1;
            stored.clone()
        }
        None => {
            let id = format!("cmp_{}", server.next_id.fetch_add(1, Ordering::Relaxed));
            let mut data = campaign(&id);
            data["name"] = json!(name);
            data["budget_cents"] = json!(budget_cents);
            let body = json!({"data": data, "meta": {"request_id": "req_soak"}});
            store.by_key.insert(key.clone(), body.clone());
            *store.creates_per_key.entry(key).or_default() += 1;
            *store.creates_per_name.entry(name.clone()).or_default() += 1;
            store.id_per_name.insert(name, id);
            body
        }
    };
    match fate {
        Fate::DropAfterCreate => close_connection(),
        Fate::LostAfterCreate => {
            error_body(StatusCode::SERVICE_UNAVAILABLE, "api_error", "unavailable")
        }
        _ => (StatusCode::CREATED, axum::Json(stored)).into_response(),
    }
}

/// Serves `router` on 127.0.0.1:0; a response marked [`CloseConnection`] makes the connection's
/// service fail, and hyper then drops the socket without writing anything.
async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let base = format!("http://{}", listener.local_addr().expect("local address"));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let app = TowerToHyperService::new(router.clone());
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request| {
                    let answer = hyper::service::Service::call(&app, request);
                    async move {
                        let response: Response = match answer.await {
                            Ok(response) => response,
                            Err(never) => match never {},
                        };
                        if response.extensions().get::<CloseConnection>().is_some() {
                            Err("closing the connection without an answer")
                        } else {
                            Ok::<_, &str>(response)
                        }
                    }
                });
                // The error is the deliberate close; nothing to report.
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    base
}

#[derive(Debug, Default)]
struct Outcomes {
    /// Campaign name → id returned to the caller.
    succeeded: HashMap<String, String>,
    /// Campaign name → how the call failed (kind and status).
    failed: HashMap<String, String>,
    /// Calls that ended in something other than a campaign or a typed API/transport error.
    untyped: Vec<String>,
    /// Attempts the SDK reports for failed calls.
    failed_attempts: u64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_creates_through_failures_create_nothing_twice() {
    let started = Instant::now();
    let server = Server::default();
    let router = Router::new()
        .route("/v1/campaigns", post(create_campaign))
        .with_state(server.clone());
    let base = serve(router).await;

    // The manual clock makes every backoff instant and records it: one entry per retry.
    let clock = ManualClock::new(start());
    let client = support::on_manual_clock(format!("{base}/v1"), &clock)
        .retry_policy(
            RetryPolicy::default()
                .max_attempts(MAX_ATTEMPTS)
                .base_delay(Duration::from_millis(1))
                .max_backoff(Duration::from_millis(1)),
        )
        .retry_budget(RetryBudgetConfig::unlimited())
        .timeout(Duration::from_secs(10))
        .build()
        .expect("valid client configuration");

    let results: Vec<(String, Result<String, marketing_api::Error>)> =
        futures::stream::iter(0..LOGICAL_REQUESTS)
            .map(|i| {
                let client = client.clone();
                async move {
                    let name = format!("soak-{i}");
                    let mut call = client.campaigns().create(
                        &NewCampaign::builder()
                            .name(name.clone())
                            .budget_cents(100 + i as i64)
                            .build(),
                    );
                    if i.is_multiple_of(SHORT_EVERY) {
                        call = call.max_attempts(SHORT_ATTEMPTS);
                    }
                    let result = call.send().await.map(|c| {
                        assert_eq!(c.name, name, "the answer belongs to the request");
                        c.id.as_str().to_owned()
                    });
                    (name, result)
                }
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
    let elapsed = started.elapsed();

    let mut outcomes = Outcomes::default();
    for (name, result) in results {
        match result {
            Ok(id) => {
                outcomes.succeeded.insert(name, id);
            }
            Err(e) => {
                let label = match (e.kind(), e.status()) {
                    (ErrorKind::Api, Some(status)) => format!("api {}", status.as_u16()),
                    (ErrorKind::Transport, _) => "transport (connection dropped)".to_owned(),
                    (kind, _) => {
                        outcomes.untyped.push(format!("{name}: {kind:?}: {e}"));
                        format!("{kind:?}")
                    }
                };
                assert!(e.is_retryable(), "{name}: {e}");
                assert!(
                    e.to_string()
                        .contains(&format!("after {} attempts", e.attempts())),
                    "{name}: {e}"
                );
                outcomes.failed_attempts += u64::from(e.attempts());
                outcomes.failed.insert(name, label);
            }
        }
    }

    let store = server.store.lock().unwrap_or_else(|e| e.into_inner());
    let server_attempts: u64 = store.attempts_per_name.values().sum();
    let server_creates = store.by_key.len();
    let retries = clock.sleeps().len();
    let mut failed_by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for label in outcomes.failed.values() {
        *failed_by_kind.entry(label.as_str()).or_default() += 1;
    }
    // Failed calls whose campaign exists anyway: the server created it, every answer after
    // that was lost (a drop or a 503 after the create) until the attempts ran out.
    let created_but_failed = outcomes
        .failed
        .keys()
        .filter(|name| store.creates_per_name.contains_key(*name))
        .count();

    println!("soak: {LOGICAL_REQUESTS} logical creates, concurrency {CONCURRENCY}, {elapsed:?}");
    println!(
        "  succeeded {}, failed {} {:?}",
        outcomes.succeeded.len(),
        outcomes.failed.len(),
        failed_by_kind
    );
    println!(
        "  server: {server_attempts} attempts ({} retries by the SDK), {server_creates} creates, \
         {} replays, fates {:?}",
        retries, store.replays, store.fates
    );
    println!(
        "  creates = {} successes + {created_but_failed} failed calls whose create went through",
        outcomes.succeeded.len()
    );

    // Every call ended in a campaign or a typed, retryable API or transport error.
    assert!(outcomes.untyped.is_empty(), "{:?}", outcomes.untyped);
    assert_eq!(
        outcomes.succeeded.len() + outcomes.failed.len(),
        LOGICAL_REQUESTS
    );
    // Nothing was created twice: not under one key, and not under one logical call (which would
    // mean an attempt carried a fresh key).
    assert!(store.creates_per_key.values().all(|&n| n == 1));
    assert!(store.creates_per_name.values().all(|&n| n == 1));
    assert_eq!(store.creates_per_name.len(), server_creates);
    // Every success is the one campaign the server created for that call, replayed or not.
    for (name, id) in &outcomes.succeeded {
        assert_eq!(store.id_per_name.get(name), Some(id), "{name}");
    }
    // Creates are exactly the successes plus the failed calls whose answer was lost.
    assert_eq!(
        server_creates,
        outcomes.succeeded.len() + created_but_failed
    );
    // Every attempt the SDK made reached the server, and nothing else did: one per call plus one
    // per retry.
    assert_eq!(server_attempts, (LOGICAL_REQUESTS + retries) as u64);
    // The failed calls used all their attempts (nothing stopped them early).
    for name in outcomes.failed.keys() {
        let index: usize = name["soak-".len()..].parse().expect("soak name");
        let allowed = if index.is_multiple_of(SHORT_EVERY) {
            SHORT_ATTEMPTS
        } else {
            MAX_ATTEMPTS
        };
        assert_eq!(store.attempts_per_name[name], u64::from(allowed), "{name}");
    }
    // The mix is what was asked for: close to 30% of attempts failed, and some calls failed.
    let injected = server_attempts - store.fates.get(&Fate::Serve).copied().unwrap_or(0);
    let share = injected as f64 / server_attempts as f64;
    assert!((0.27..0.33).contains(&share), "failure share {share}");
    assert!(!outcomes.failed.is_empty());
    assert!(created_but_failed > 0, "the lost-answer path was exercised");
    assert!(store.replays > 0);
    // Reported attempts of failed calls match what the server saw for them.
    let failed_server_attempts: u64 = outcomes
        .failed
        .keys()
        .map(|name| store.attempts_per_name[name])
        .sum();
    assert_eq!(outcomes.failed_attempts, failed_server_attempts);
}
