//! What the Redis fleet components cost per call, against a real `redis-server` on loopback:
//! the median and 99th percentile latency of the calls made on the request path.
//!
//! `cargo bench --features redis --bench fleet`
//!
//! Needs `redis-server` on the `PATH` (skipped with a loud message otherwise, like the tests).

// Shared with the tests, which also restart the server; the benchmark does not.
#[allow(dead_code)]
#[path = "../tests/fleet/redis_server.rs"]
mod redis_server;

use std::time::{Duration, Instant, SystemTime};

use marketing_api::auth::{RenewalRequest, TokenSet, TokenStore};
use marketing_api::fleet::SharedRateGate;
use marketing_api::fleet::redis::{GcraLimit, RedisFleet};
use marketing_api::webhooks::ReplayGuard;

const SAMPLES: usize = 5_000;

fn main() {
    // `cargo test --benches` runs this binary once with `--bench` absent: do nothing then.
    if !std::env::args().any(|arg| arg == "--bench") {
        return;
    }
    let Some(redis) = redis_server::RedisServer::start_or_skip("benches/fleet") else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let fleet = RedisFleet::builder(redis.url()).build().unwrap();

        let guard = fleet.replay_guard("bench");
        let mut i = 0u64;
        report(
            "replay guard: SET NX PX (new id)",
            measure(|| {
                i += 1;
                let id = format!("msg_{i}");
                let guard = &guard;
                async move {
                    assert!(
                        guard
                            .check_and_remember(&id, SystemTime::now())
                            .await
                            .unwrap()
                    );
                }
            })
            .await,
        );

        let gate = fleet.rate_gate("bench-open");
        report(
            "rate gate: open (closed-until read)",
            measure(|| {
                let gate = &gate;
                async move {
                    assert_eq!(gate.delay_before_send(SystemTime::now()).await, None);
                }
            })
            .await,
        );

        // A rate no single task reaches, so every call takes the limiter's path without waiting.
        let limited = fleet
            .rate_gate("bench-gcra")
            .limit(GcraLimit::new(1_000_000, Duration::from_secs(1)).burst(1_000));
        report(
            "rate gate + GCRA limiter (slot reserved)",
            measure(|| {
                let gate = &limited;
                async move {
                    assert_eq!(gate.delay_before_send(SystemTime::now()).await, None);
                }
            })
            .await,
        );

        let store = fleet.token_store("bench");
        let fresh =
            TokenSet::new("at_new").with_expires_at(SystemTime::now() + Duration::from_secs(3600));
        store.save(&fresh).await.unwrap();
        report(
            "token store: renewal answered by stored tokens",
            measure(|| {
                let store = &store;
                async move {
                    let request = RenewalRequest::new(SystemTime::now(), Some("at_old".into()));
                    store.begin_renewal(request).await.unwrap();
                }
            })
            .await,
        );
    });
}

async fn measure<F, Fut>(mut call: F) -> Vec<Duration>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    for _ in 0..200 {
        call().await;
    }
    let mut samples = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let started = Instant::now();
        call().await;
        samples.push(started.elapsed());
    }
    samples.sort();
    samples
}

fn report(what: &str, samples: Vec<Duration>) {
    let median = samples[samples.len() / 2];
    let p99 = samples[samples.len() * 99 / 100];
    println!(
        "{what:<48} median {:>6.1} µs   p99 {:>6.1} µs   ({} calls)",
        median.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6,
        samples.len()
    );
}
