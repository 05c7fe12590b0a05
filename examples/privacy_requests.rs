//! Answering a data subject's access request and erasure request, against a sandbox started in
//! this process.
//!
//! ```text
//! cargo run --example privacy_requests
//! ```
//!
//! The example creates a contact with some history (an audience membership and an event),
//! exports everything held about it (GDPR art. 15 / CCPA right to know), erases it (art. 17 /
//! right to delete), and then shows that it is gone while the audit trail still proves the
//! erasure happened — without holding any of the erased data.

use std::error::Error;

use futures::TryStreamExt;
use marketing_api::Client;
use marketing_api::auth::ApiKey;
use marketing_api::models::{
    AudienceMembershipChange, AuditEvent, EventBatch, InteractionEventType, NewAudience,
    NewContact, NewInteractionEvent,
};
use marketing_api_sandbox::Sandbox;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let sandbox = Sandbox::start().await?;
    let client = Client::builder(sandbox.base_url())
        .auth(ApiKey::new(sandbox.api_key())?)
        .build()?;

    // Some history for one person.
    let contact = client
        .contacts()
        .create(
            &NewContact::builder()
                .email("jane.doe@example.com")
                .build()
                .with_first_name("Jane")
                .with_last_name("Doe"),
        )
        .send()
        .await?;
    let audience = client
        .audiences()
        .create(&NewAudience::builder().name("Spring newsletter").build())
        .send()
        .await?;
    client
        .audiences()
        .contacts(&audience.id)
        .add(
            &AudienceMembershipChange::builder()
                .contact_ids(vec![contact.id.clone()])
                .build(),
        )
        .send()
        .await?;
    client
        .events()
        .send_batch(
            &EventBatch::builder()
                .events(vec![
                    NewInteractionEvent::builder()
                        .type_(InteractionEventType::EmailOpen)
                        .occurred_at(chrono::Utc::now())
                        .build()
                        .with_contact_id(contact.id.clone()),
                ])
                .build(),
        )
        .send()
        .await?;

    // 1. The access request: one document with everything held about the contact.
    let export = client.contacts().export(&contact.id).send().await?;
    println!(
        "export of {}: profile ({}), {} event(s), {} audience(s), {} webhook delivery(ies)",
        export.contact.id,
        // An `x-sensitive` field: plaintext unless the account encrypts it and no key is set.
        export
            .contact
            .email
            .expose()
            .map_or("(encrypted)", String::as_str),
        export.events.len(),
        export.audiences.len(),
        export.webhook_deliveries.len()
    );
    println!("{}", serde_json::to_string_pretty(&export)?);

    // 2. The erasure request, and its receipt.
    let receipt = client.contacts().erase(&contact.id).send().await?;
    println!(
        "\nerased {} at {}: {} event(s), {} membership(s), {} webhook delivery(ies) withdrawn",
        receipt.contact_id,
        receipt.erased_at,
        receipt.events_erased,
        receipt.memberships_removed,
        receipt.deliveries_withdrawn
    );

    // 3. Gone everywhere…
    let lookup = client.contacts().get(&contact.id).send().await;
    println!(
        "get after erasure: {}",
        match lookup {
            Err(e) if e.is_not_found() => "404, as it should".to_owned(),
            other => format!("unexpected: {other:?}"),
        }
    );

    // …while the audit trail proves the erasure, with identifiers only.
    let trail: Vec<AuditEvent> = client
        .audit_events()
        .list()
        .resource_id(contact.id.to_string())
        .stream()
        .try_collect()
        .await?;
    println!("\naudit trail of {}:", contact.id);
    for event in &trail {
        println!(
            "  {} {} {} -> {} by {} ({})",
            event.occurred_at,
            event.method,
            event.path_template,
            event.status,
            event.actor.id,
            event.request_id
        );
    }
    sandbox.shutdown().await;
    Ok(())
}
