//! Fixtures several integration tests need, defined once: the fixed start time, clients whose
//! waits run on a manual clock, a campaign body, OAuth token answers, a sandbox no rate limit
//! gets in the way of, and a router served on 127.0.0.1.
//!
//! Each test file is its own crate and compiles this module with `mod support;`; none uses all of
//! it, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use marketing_api::clock::{FixedRandom, ManualClock};
use marketing_api::{Client, ClientBuilder};
use marketing_api_sandbox::{RateTier, Sandbox};
use serde_json::{Value, json};
use wiremock::{MockServer, Request};

/// The tests' "now": a whole second, so HTTP-dates (second precision) round-trip exactly.
pub const START_SECS: u64 = 1_700_000_000;

/// [`START_SECS`] as a time.
pub fn start() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(START_SECS)
}

/// A Unix time in seconds as a `SystemTime`.
pub fn at(unix: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::try_from(unix).expect("after 1970"))
}

/// The process-wide rustls provider, which a plain `reqwest::Client` of a test needs (the SDK's
/// client and the sandbox choose their own). Installing twice is harmless: the second call is
/// refused.
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A client builder for `base_url` whose waits (backoff, `Retry-After`, the rate gate) advance
/// `clock` instead of sleeping, with jitter fixed at one half: every wait is read back exactly
/// from `clock.sleeps()` and costs no real time.
pub fn on_manual_clock(base_url: impl Into<String>, clock: &ManualClock) -> ClientBuilder {
    Client::builder(base_url)
        .clock(Arc::new(clock.clone()))
        .sleeper(Arc::new(clock.sleeper()))
        .random(Arc::new(FixedRandom(0.5)))
}

/// A complete campaign as the contract describes it: a draft named "Spring launch" with a budget
/// of 100 cents. Tests that care about other values set them on the returned JSON.
pub fn campaign(id: &str) -> Value {
    json!({
        "id": id,
        "name": "Spring launch",
        "status": "draft",
        "objective": "awareness",
        "budget_cents": 100,
        "daily_budget_cents": null,
        "currency": "USD",
        "start_at": null,
        "end_at": null,
        "metrics": {"impressions": 0, "clicks": 0, "conversions": 0, "spend_cents": 0, "ctr": 0.0},
        "created_at": "2026-03-01T12:00:00Z",
        "updated_at": "2026-03-01T12:00:00Z"
    })
}

/// A token endpoint's success body (RFC 6749 §5.1), with a refresh token when given.
pub fn token_body(access: &str, refresh: Option<&str>, expires_in: u64) -> Value {
    let mut body =
        json!({"access_token": access, "token_type": "Bearer", "expires_in": expires_in});
    if let Some(refresh) = refresh {
        body["refresh_token"] = json!(refresh);
    }
    body
}

/// The requests `server` received whose path starts with `path_prefix`.
pub async fn received(server: &MockServer, path_prefix: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .expect("request recording is on")
        .into_iter()
        .filter(|r| r.url.path().starts_with(path_prefix))
        .collect()
}

/// A sandbox whose standard and premium tiers never limit a test (a million requests a
/// second), with a fixed seed so its faults repeat.
pub async fn unlimited_sandbox(seed: u64) -> Sandbox {
    install_crypto();
    let unlimited = || RateTier::new(1_000_000, Duration::from_secs(1));
    Sandbox::builder()
        .standard_tier(unlimited())
        .premium_tier(unlimited())
        .seed(seed)
        .start()
        .await
        .expect("the sandbox starts")
}

/// Serves `router` on a free port of 127.0.0.1 until the test's runtime ends.
pub async fn serve(router: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free loopback port");
    let addr = listener.local_addr().expect("bound");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    addr
}
