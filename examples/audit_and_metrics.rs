//! Wiring an audit log and usage metrics, against a sandbox started in this process.
//!
//! ```text
//! cargo run --example audit_and_metrics --features metrics
//! ```
//!
//! The client gets a JSON-lines audit sink (one line per API call, identifiers only) and the
//! metrics interceptor. A real service installs an exporter as its `metrics` recorder
//! (`metrics-exporter-prometheus`, or OpenTelemetry through its bridge crate); this example
//! installs a small one that keeps counters in memory and prints them, so it needs nothing else.
//! At the end it compares the client's counts with the platform's own (`GET /usage`).

use std::collections::{BTreeMap, HashMap};
use std::error::Error;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use marketing_api::Client;
use marketing_api::audit::JsonLinesSink;
use marketing_api::auth::ApiKey;
use marketing_api::models::{ApiKeyScope, NewApiKey, NewContact};
use marketing_api_sandbox::Sandbox;
use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};

/// Counters by metric and operation; histograms count their samples.
#[derive(Default)]
struct PrintingRecorder {
    series: Mutex<HashMap<Key, Arc<AtomicU64>>>,
}

struct Samples(Arc<AtomicU64>);

impl metrics::HistogramFn for Samples {
    fn record(&self, _: f64) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

impl Recorder for PrintingRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.get(key))
    }

    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(Arc::new(Samples(self.get(key))))
    }
}

impl PrintingRecorder {
    fn get(&self, key: &Key) -> Arc<AtomicU64> {
        let mut series = self.series.lock().unwrap_or_else(|p| p.into_inner());
        series.entry(key.clone()).or_default().clone()
    }

    /// `metric{operation}` → count, summed over the other attributes.
    fn by_operation(&self) -> BTreeMap<(String, String), u64> {
        let mut out = BTreeMap::new();
        let series = self.series.lock().unwrap_or_else(|p| p.into_inner());
        for (key, value) in series.iter() {
            let operation = key
                .labels()
                .find(|l| l.key() == "marketing_api.operation")
                .map_or_else(String::new, |l| l.value().to_owned());
            *out.entry((key.name().to_owned(), operation)).or_default() +=
                value.load(Ordering::Relaxed);
        }
        out
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let recorder: &'static PrintingRecorder = Box::leak(Box::default());
    metrics::set_global_recorder(recorder)?;

    let sandbox = Sandbox::start().await?;
    // An integration key of its own, so the audit trail and usage name this integration.
    let admin = Client::builder(sandbox.base_url())
        .auth(ApiKey::new(sandbox.api_key())?)
        .build()?;
    let key = admin
        .api_keys()
        .create(
            &NewApiKey::builder()
                .name("newsletter sync")
                .scopes(vec![ApiKeyScope::ContactsRead, ApiKeyScope::ContactsWrite])
                .build(),
        )
        .send()
        .await?;

    let path = std::env::temp_dir().join("marketing-api-audit-example.jsonl");
    let _ = std::fs::remove_file(&path);
    let audit = JsonLinesSink::file(&path)?;
    let client = Client::builder(sandbox.base_url())
        .auth(ApiKey::new(key.secret.clone())?)
        // Name the credential by the key's id in every record (never the secret).
        .credential_identity(key.api_key.id.to_string())
        .audit_sink(audit.clone())
        .metrics()
        .build()?;

    for i in 0..5 {
        let contact = client
            .contacts()
            .create(
                &NewContact::builder()
                    .email(format!("reader{i}@example.com"))
                    .build(),
            )
            .send()
            .await?;
        client.contacts().get(&contact.id).send().await?;
    }
    // A refused call is audited and counted too.
    let refused = client.campaigns().list().send().await;
    println!(
        "campaigns without the scope: {}",
        refused
            .map_err(|e| e.report().to_string())
            .err()
            .unwrap_or_default()
    );

    audit.flush();
    println!(
        "\naudit log {} ({} records, {} dropped):",
        path.display(),
        audit.written(),
        audit.dropped()
    );
    for line in std::fs::read_to_string(&path)?.lines().take(3) {
        println!("  {line}");
    }
    println!("  …");

    println!("\nmetrics:");
    for ((name, operation), count) in recorder.by_operation() {
        println!("  {name}{{operation={operation}}} {count}");
    }

    let usage = admin
        .usage()
        .get()
        .consumer(key.api_key.id.to_string())
        .send()
        .await?;
    println!("\nthe platform's own count for this key:");
    for row in &usage.rows {
        println!(
            "  {} {} {}: {} requests, {} errors",
            row.day, row.operation, row.api_version, row.requests, row.errors
        );
    }
    let _ = std::fs::remove_file(&path);
    sandbox.shutdown().await;
    Ok(())
}
