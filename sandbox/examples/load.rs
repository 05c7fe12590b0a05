//! Loopback throughput of the sandbox: many keep-alive clients hammer one simple GET.
//!
//! ```text
//! cargo run --release -p marketing-api-sandbox --example load -- [connections] [seconds]
//! ```
//!
//! The rate limit of the key used is raised out of the way so every answer is a real 200.

use marketing_api_sandbox::{RateTier, Sandbox};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let connections: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(32);
    let seconds: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(10);
    let _ = rustls::crypto::ring::default_provider().install_default();

    let sandbox = Sandbox::builder()
        .premium_tier(RateTier::new(u32::MAX, Duration::from_secs(1)))
        .start()
        .await?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()?;
    let created = http
        .post(format!("{}/campaigns", sandbox.base_url()))
        .header("x-api-key", sandbox.premium_api_key())
        .header("content-type", "application/json")
        .body(r#"{"name":"Load","budget_cents":100}"#)
        .send()
        .await?
        .text()
        .await?;
    let id = serde_json::from_str::<serde_json::Value>(&created)?["data"]["id"]
        .as_str()
        .ok_or("no campaign id")?
        .to_owned();
    let url = format!("{}/campaigns/{id}", sandbox.base_url());

    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..connections {
        let (http, url, key) = (
            http.clone(),
            url.clone(),
            sandbox.premium_api_key().to_owned(),
        );
        let (ok, failed) = (ok.clone(), failed.clone());
        workers.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                match http.get(&url).header("x-api-key", &key).send().await {
                    Ok(response) if response.status().is_success() => {
                        let _ = response.bytes().await;
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for worker in workers {
        worker.await?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let ok = ok.load(Ordering::Relaxed);
    println!(
        "GET /v1/campaigns/{{id}}: {ok} ok, {} failed in {elapsed:.1} s with {connections} connections = {:.0} requests/s",
        failed.load(Ordering::Relaxed),
        ok as f64 / elapsed
    );
    sandbox.shutdown().await;
    Ok(())
}
