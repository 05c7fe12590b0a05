//! Rate limits, idempotency keys and fault injection over HTTP.

mod common;

use common::{Api, error, json};
use marketing_api_sandbox::{FaultSettings, RateTier, Sandbox};
use serde_json::json;
use std::time::Duration;

fn header(response: &reqwest::Response, name: &str) -> String {
    response.headers()[name].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn rate_limit_headers_count_down_then_429() {
    let sandbox = Sandbox::builder()
        .standard_tier(RateTier::new(3, Duration::from_secs(10)))
        .start()
        .await
        .expect("sandbox starts");
    let api = Api::new(&sandbox);
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let response = api.get("/campaigns").await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            header(&response, "ratelimit-policy"),
            "\"default\";q=3;w=10"
        );
        assert_eq!(header(&response, "x-ratelimit-limit"), "3");
        let r: u32 = header(&response, "x-ratelimit-remaining").parse().unwrap();
        assert!(header(&response, "ratelimit").starts_with(&format!("\"default\";r={r};t=")));
        assert!(
            header(&response, "x-ratelimit-reset")
                .parse::<u64>()
                .unwrap()
                <= 10
        );
        remaining.push(r);
    }
    assert_eq!(remaining, vec![2, 1, 0]);
    let limited = api.get("/campaigns").await;
    let retry_after: u64 = header(&limited, "retry-after").parse().unwrap();
    assert!(
        (1..=4).contains(&retry_after),
        "one token refills in ~3.4 s, got {retry_after}"
    );
    assert_eq!(header(&limited, "x-ratelimit-remaining"), "0");
    error(limited, 429, "rate_limit_error", "rate_limited", None).await;
    // The premium key has its own bucket.
    let premium = api
        .http
        .get(format!("{}/campaigns", api.base))
        .header("x-api-key", sandbox.premium_api_key())
        .send()
        .await
        .unwrap();
    assert_eq!(premium.status(), 200);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn idempotent_replay_and_mismatch() {
    let sandbox = Sandbox::start().await.expect("sandbox starts");
    let api = Api::new(&sandbox);
    let body = json!({"name": "Once", "budget_cents": 100});
    let send = |body: serde_json::Value, key: &'static str| {
        api.request(reqwest::Method::POST, "/campaigns")
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(body.to_string())
            .send()
    };
    let first = send(body.clone(), "key-1").await.unwrap();
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first_id = header(&first, "x-request-id");
    let first = json(first, 201).await;
    let second = send(body.clone(), "key-1").await.unwrap();
    assert_eq!(header(&second, "idempotent-replayed"), "true");
    assert_eq!(header(&second, "x-request-id"), first_id);
    let second = json(second, 201).await;
    assert_eq!(first, second);
    assert_eq!(sandbox.campaign_count(), 1);
    assert_eq!(sandbox.idempotent_replays(), 1);

    let mismatch = send(json!({"name": "Twice", "budget_cents": 100}), "key-1")
        .await
        .unwrap();
    error(
        mismatch,
        422,
        "idempotency_error",
        "idempotency_key_reused",
        Some("Idempotency-Key"),
    )
    .await;
    assert_eq!(sandbox.campaign_count(), 1);

    // Concurrent duplicates never both run.
    let (a, b) = tokio::join!(send(body.clone(), "key-2"), send(body.clone(), "key-2"));
    let statuses = [a.unwrap().status().as_u16(), b.unwrap().status().as_u16()];
    assert!(statuses.contains(&201), "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 409),
        "{statuses:?}"
    );
    assert_eq!(sandbox.campaign_count(), 2);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn idempotency_keys_expire() {
    let sandbox = Sandbox::builder()
        .idempotency_ttl(Duration::from_millis(100))
        .start()
        .await
        .expect("sandbox starts");
    let api = Api::new(&sandbox);
    let send = || {
        api.request(reqwest::Method::POST, "/audiences")
            .header("content-type", "application/json")
            .header("idempotency-key", "k")
            .body(r#"{"name":"A"}"#)
            .send()
    };
    json(send().await.unwrap(), 201).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    let again = send().await.unwrap();
    assert!(again.headers().get("idempotent-replayed").is_none());
    json(again, 201).await;
    sandbox.shutdown().await;
}

#[tokio::test]
async fn injected_faults() {
    let sandbox = Sandbox::builder()
        .seed(42)
        .start()
        .await
        .expect("sandbox starts");
    let api = Api::new(&sandbox);

    sandbox.settings().set_faults(FaultSettings {
        drop_rate: 1.0,
        ..FaultSettings::default()
    });
    let dropped = api.request(reqwest::Method::GET, "/campaigns").send().await;
    let err = dropped.expect_err("the connection is closed without an answer");
    assert!(err.status().is_none());
    assert!(err.is_request() || err.is_connect(), "{err:?}");

    sandbox.settings().set_faults(FaultSettings {
        rate_503: 1.0,
        ..FaultSettings::default()
    });
    let unavailable = api.get("/campaigns").await;
    assert_eq!(header(&unavailable, "retry-after"), "1");
    error(unavailable, 503, "api_error", "service_unavailable", None).await;
    sandbox.settings().set_faults(FaultSettings {
        rate_500: 1.0,
        ..FaultSettings::default()
    });
    error(
        api.get("/campaigns").await,
        500,
        "api_error",
        "internal",
        None,
    )
    .await;
    sandbox.settings().set_faults(FaultSettings {
        rate_429: 1.0,
        ..FaultSettings::default()
    });
    error(
        api.get("/campaigns").await,
        429,
        "rate_limit_error",
        "rate_limited",
        None,
    )
    .await;

    // OAuth endpoints are spared unless asked.
    let token = api
        .http
        .post(format!("{}/oauth/token", api.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            sandbox.client_id(),
            sandbox.client_secret()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 200);

    // A seeded share is repeatable.
    let pattern = |seed: u64| {
        let api = &api;
        let sandbox = &sandbox;
        async move {
            sandbox.reseed_faults(seed);
            let mut out = Vec::new();
            for _ in 0..20 {
                out.push(api.get("/campaigns").await.status().as_u16());
            }
            out
        }
    };
    sandbox.settings().set_faults(FaultSettings {
        rate_500: 0.5,
        ..FaultSettings::default()
    });
    let first = pattern(7).await;
    let second = pattern(7).await;
    assert_eq!(first, second);
    assert!(first.contains(&500) && first.contains(&200), "{first:?}");

    sandbox.settings().clear_faults();
    sandbox.settings().set_latency(Duration::from_millis(150));
    let started = std::time::Instant::now();
    assert_eq!(api.get("/campaigns").await.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(150));
    sandbox.shutdown().await;
}
