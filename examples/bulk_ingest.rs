//! Ingests 200,000 interaction events into a sandbox started in this process, with a progress
//! line, then prints the report.
//!
//! ```text
//! cargo run --example bulk_ingest            # 200,000 events
//! cargo run --example bulk_ingest -- 50000   # another count
//! ```
//!
//! Against a real account, build the client from your base URL and credentials instead of the
//! sandbox's; the ingest part stays the same.

use std::io::Write;
use std::time::Duration;

use futures::{StreamExt, stream};
use marketing_api::Client;
use marketing_api::auth::ApiKey;
use marketing_api::models::{ContactId, InteractionEventType, NewContact, NewInteractionEvent};
use marketing_api_sandbox::{RateTier, Sandbox};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let count: u64 = match std::env::args().nth(1) {
        Some(arg) => arg
            .parse()
            .map_err(|_| format!("expected a number of events, got `{arg}`"))?,
        None => 200_000,
    };

    let sandbox = Sandbox::builder()
        .premium_tier(RateTier::new(100_000, Duration::from_secs(1)))
        .start()
        .await?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = Client::builder(sandbox.base_url())
        .auth(ApiKey::new(sandbox.premium_api_key())?)
        .build()?;
    let contact = client
        .contacts()
        .create(&NewContact::builder().email("launch@example.com").build())
        .send()
        .await?;

    // A launch's worth of traffic; one event in 10,000 names a contact that does not exist,
    // to show what a rejection looks like in the report.
    let started_at = chrono::Utc::now();
    let events = stream::iter(0..count).map(move |i| {
        let kind = match i % 10 {
            0..=5 => InteractionEventType::PageView,
            6..=8 => InteractionEventType::AdClick,
            _ => InteractionEventType::EmailOpen,
        };
        let at = started_at + chrono::Duration::milliseconds(i as i64);
        let event = NewInteractionEvent::builder()
            .type_(kind)
            .occurred_at(at)
            .build();
        if i % 10_000 == 9_999 {
            event.with_contact_id(ContactId::new("ctc_unknown"))
        } else {
            event.with_contact_id(contact.id.clone())
        }
    });

    let ingest = client.events().ingest(events).concurrency(4);
    let mut progress = ingest.progress();
    let printer = tokio::spawn(async move {
        while progress.changed().await.is_ok() {
            let p = *progress.borrow_and_update();
            eprint!(
                "\r{:>9} read {:>9} sent {:>9} accepted {:>5} rejected {:>5} failed  ({} batches)",
                p.read, p.sent, p.accepted, p.rejected, p.failed, p.batches
            );
            let _ = std::io::stderr().flush();
            if p.finished {
                break;
            }
            // A terminal does not need more than ten updates a second.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        eprintln!();
    });

    let report = ingest.run().await?;
    let _ = printer.await;

    println!(
        "accepted {} of {} events in {} batches, {:.2?} ({:.0} events/s)",
        report.accepted,
        report.read,
        report.batches,
        report.elapsed,
        report.read as f64 / report.elapsed.as_secs_f64()
    );
    println!("the sandbox stored {}", sandbox.accepted_event_count());
    println!("rejected: {}", report.rejected.len());
    for rejected in report.rejected.iter().take(3) {
        println!(
            "  event #{}: {} ({})",
            rejected.position, rejected.reason.message, rejected.reason.code
        );
    }
    println!("undeliverable batches: {}", report.undeliverable.len());
    for batch in &report.undeliverable {
        println!("  {} events: {}", batch.events.len(), batch.error);
    }
    Ok(())
}
