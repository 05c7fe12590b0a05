//! Event ingestion throughput and memory against the in-process sandbox on 127.0.0.1.
//!
//! `cargo bench --bench ingest` prints one table:
//!
//! - events/s of `Events::ingest` (batches of up to 500) and of one `send_batch` request per
//!   event, both with 4 requests in flight, on the same sandbox in the same run, and their ratio;
//! - peak RSS (`VmHWM`) of a fresh child process that ingests 1,000,000 events into a sandbox
//!   living in this process (so the sandbox's own memory is not counted), next to a child that
//!   ingests one event, and the sandbox's count of the million;
//! - 1,000,000 events with the sandbox answering 20% of requests 503 and dropping 5% of
//!   connections: accepted, sandbox count, and what was rejected or undeliverable.
//!
//! Sizes can be changed with `INGEST_BENCH_BATCHED`, `INGEST_BENCH_SINGLE`, `INGEST_BENCH_RSS`
//! and `INGEST_BENCH_FAULTY` (0 skips a row).

use std::process::Command;
use std::time::{Duration, Instant};

use futures::{Stream, StreamExt, stream};
use marketing_api::Client;
use marketing_api::auth::ApiKey;
use marketing_api::models::{EventBatch, InteractionEventType, NewInteractionEvent};
use marketing_api::retry::RetryBudgetConfig;
use marketing_api_sandbox::{FaultSettings, RateTier, Sandbox};

// Only the peak-RSS reader is used here, not the serving child.
#[allow(dead_code)]
#[path = "support/process.rs"]
mod process;

const CONCURRENCY: usize = 4;
const CHILD_ENV: &str = "INGEST_BENCH_CHILD";

fn size(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn events(count: u64) -> impl Stream<Item = NewInteractionEvent> + Send + 'static {
    let at = chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default();
    stream::iter(0..count).map(move |i| {
        let kind = match i % 3 {
            0 => InteractionEventType::PageView,
            1 => InteractionEventType::EmailOpen,
            _ => InteractionEventType::AdClick,
        };
        NewInteractionEvent::builder()
            .type_(kind)
            .occurred_at(at + chrono::Duration::milliseconds(i as i64))
            .build()
    })
}

fn client(base_url: &str, key: &str) -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder(base_url)
        .auth(ApiKey::new(key).expect("valid key"))
        .retry_budget(RetryBudgetConfig::unlimited())
        .build()
        .expect("client builds")
}

async fn sandbox() -> Sandbox {
    Sandbox::builder()
        .premium_tier(RateTier::new(10_000_000, Duration::from_secs(1)))
        .start()
        .await
        .expect("sandbox starts")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// The child: ingest `count` events into the parent's sandbox, print the peak RSS.
fn child(url: &str, key: &str, count: u64) {
    let accepted = runtime().block_on(async {
        let report = client(url, key)
            .events()
            .ingest(events(count))
            .concurrency(CONCURRENCY)
            .run()
            .await
            .expect("ingest runs");
        report.accepted
    });
    println!("accepted={accepted} vm_hwm_kib={}", process::peak_rss_kib());
}

fn spawn_child(url: &str, key: &str, count: u64) -> (u64, u64) {
    let exe = std::env::current_exe().expect("own path");
    let output = Command::new(exe)
        .env(CHILD_ENV, format!("{url} {key} {count}"))
        .output()
        .expect("child runs");
    let text = String::from_utf8_lossy(&output.stdout);
    let field = |name: &str| {
        text.split_whitespace()
            .find_map(|kv| kv.strip_prefix(name))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("child printed no {name}: {text} {:?}", output.status))
    };
    (field("accepted="), field("vm_hwm_kib="))
}

fn rate(count: u64, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64()
}

fn main() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        let parts: Vec<&str> = spec.split(' ').collect();
        let count = parts.get(2).and_then(|c| c.parse().ok()).unwrap_or(0);
        child(parts[0], parts[1], count);
        return;
    }
    let batched = size("INGEST_BENCH_BATCHED", 300_000);
    let single = size("INGEST_BENCH_SINGLE", 20_000);
    let rss = size("INGEST_BENCH_RSS", 1_000_000);
    let faulty = size("INGEST_BENCH_FAULTY", 1_000_000);

    let rt = runtime();
    println!("ingest benchmark: loopback sandbox in-process, {CONCURRENCY} requests in flight");
    println!();
    println!("| mode                            |    events |  elapsed |   events/s |");
    println!("|---------------------------------|-----------|----------|------------|");
    let (batched_rate, single_rate) = rt.block_on(async {
        let sandbox = sandbox().await;
        let client = client(&sandbox.base_url(), sandbox.premium_api_key());
        // Warm the connection pool and the sandbox's allocations.
        let _ = client.events().ingest(events(5_000)).run().await;

        let started = Instant::now();
        let report = client
            .events()
            .ingest(events(batched))
            .concurrency(CONCURRENCY)
            .run()
            .await
            .expect("ingest runs");
        let batched_elapsed = started.elapsed();
        assert_eq!(report.accepted, batched);
        let batched_rate = rate(batched, batched_elapsed);
        println!(
            "| ingest (batches of 500)         | {batched:>9} | {:>7.2}s | {batched_rate:>10.0} |",
            batched_elapsed.as_secs_f64()
        );

        let started = Instant::now();
        let accepted: i64 = events(single)
            .map(|event| {
                let request = client
                    .events()
                    .send_batch(&EventBatch::builder().events(vec![event]).build());
                async move { request.send().await.map(|r| r.accepted).unwrap_or(0) }
            })
            .buffer_unordered(CONCURRENCY)
            .fold(0, |sum, n| async move { sum + n })
            .await;
        let single_elapsed = started.elapsed();
        assert_eq!(accepted as u64, single);
        let single_rate = rate(single, single_elapsed);
        println!(
            "| one request per event           | {single:>9} | {:>7.2}s | {single_rate:>10.0} |",
            single_elapsed.as_secs_f64()
        );
        assert_eq!(sandbox.accepted_event_count(), 5_000 + batched + single);
        (batched_rate, single_rate)
    });
    println!();
    println!(
        "ratio ingest / one-per-event: {:.1}x",
        batched_rate / single_rate
    );

    if rss > 0 {
        println!();
        println!("| peak RSS of a child process     |    events | VmHWM MiB | sandbox count |");
        println!("|---------------------------------|-----------|-----------|---------------|");
        rt.block_on(async {
            for count in [1, rss] {
                let sandbox = sandbox().await;
                let url = sandbox.base_url();
                let key = sandbox.premium_api_key().to_owned();
                let (accepted, hwm) =
                    tokio::task::spawn_blocking(move || spawn_child(&url, &key, count))
                        .await
                        .expect("child task");
                assert_eq!(accepted, count);
                assert_eq!(sandbox.accepted_event_count(), accepted);
                let label = if count == 1 {
                    "baseline (one event)"
                } else {
                    "ingest"
                };
                println!(
                    "| {label:<31} | {count:>9} | {:>9.1} | {:>13} |",
                    hwm as f64 / 1024.0,
                    sandbox.accepted_event_count()
                );
                sandbox.shutdown().await;
            }
        });
    }

    if faulty > 0 {
        println!();
        println!(
            "| 20% 503 + 5% dropped connections | events | accepted | sandbox count | rejected | undeliverable | replays | elapsed |"
        );
        println!(
            "|----------------------------------|--------|----------|---------------|----------|---------------|---------|---------|"
        );
        rt.block_on(async {
            let sandbox = sandbox().await;
            sandbox.settings().set_faults(FaultSettings {
                rate_503: 0.20,
                drop_rate: 0.05,
                ..FaultSettings::default()
            });
            let client = client(&sandbox.base_url(), sandbox.premium_api_key());
            let started = Instant::now();
            // Each injected 503 asks for a one-second wait, so more batches in flight keep
            // the line busy while some wait.
            let report = client
                .events()
                .ingest(events(faulty))
                .concurrency(16)
                .max_attempts(12)
                .run()
                .await
                .expect("ingest runs");
            let elapsed = started.elapsed();
            let undeliverable = report.undeliverable_events();
            assert_eq!(
                report.accepted + report.rejected.len() as u64 + undeliverable,
                faulty
            );
            assert_eq!(sandbox.accepted_event_count(), report.accepted);
            println!(
                "| concurrency 16, 12 attempts      | {faulty:>6} | {:>8} | {:>13} | {:>8} | {undeliverable:>13} | {:>7} | {:>6.1}s |",
                report.accepted,
                sandbox.accepted_event_count(),
                report.rejected.len(),
                sandbox.idempotent_replays(),
                elapsed.as_secs_f64()
            );
        });
    }
}
