//! Dynamic segments: an audience defined by a rule instead of a list, against a sandbox started
//! in this process.
//!
//! ```text
//! cargo run --example segments
//! ```
//!
//! The example creates a few contacts, previews a rule ("in the UK or Ireland, not on the free
//! plan, or bought shoes twice in the last 30 days") before saving it, saves it as a dynamic
//! audience, streams its members, and shows membership changing when a purchase event arrives —
//! no one adds or removes anybody. A rule with a mistake in it is refused with the JSON pointer
//! of the mistake.

use std::error::Error;

use futures::TryStreamExt;
use marketing_api::Client;
use marketing_api::auth::ApiKey;
use marketing_api::models::{
    AllRule, AnyRule, AudienceKind, AudiencePreviewRequest, AudienceRule, EventBatch,
    EventPropertyCondition, EventRule, FieldRule, InteractionEventType, NewAudience, NewContact,
    NewInteractionEvent, NotRule, RuleOperator,
};
use marketing_api::serde_json::json;
use marketing_api_sandbox::Sandbox;

/// A condition on a contact field or on `attributes.<key>`.
fn field(
    name: &str,
    operator: RuleOperator,
    value: marketing_api::serde_json::Value,
) -> AudienceRule {
    AudienceRule::Field(
        FieldRule::builder()
            .field(name)
            .operator(operator)
            .build()
            .with_value(value),
    )
}

/// A contact's e-mail, an `x-sensitive` field: plaintext unless the account encrypts it.
fn email(contact: &marketing_api::models::Contact) -> String {
    contact
        .email
        .expose()
        .map_or_else(|_| "(encrypted)".to_owned(), String::clone)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let sandbox = Sandbox::start().await?;
    let client = Client::builder(sandbox.base_url())
        .auth(ApiKey::new(sandbox.api_key())?)
        .build()?;

    let people = [
        ("ada@example.com", "GB", "pro"),
        ("brendan@example.com", "IE", "free"),
        ("chloe@example.com", "FR", "pro"),
        ("dieter@example.com", "DE", "team"),
    ];
    let mut ids = Vec::new();
    for (email, country, plan) in people {
        let contact = client
            .contacts()
            .create(
                &NewContact::builder()
                    .email(email)
                    .build()
                    .with_attributes(json!({ "country": country, "plan": plan }))?,
            )
            .send()
            .await?;
        ids.push(contact.id);
    }

    // (UK or Ireland, and not on the free plan) or (bought shoes twice in the last 30 days).
    let shoe_buyer = AudienceRule::Event(
        EventRule::builder()
            .event_type(InteractionEventType::Purchase)
            .build()
            .with_min_count(2)
            .with_within_days(30)
            .with_property(
                EventPropertyCondition::builder()
                    .key("category")
                    .operator(RuleOperator::Eq)
                    .build()
                    .with_value(json!("shoes")),
            ),
    );
    let local_paying = AudienceRule::All(
        AllRule::builder()
            .all(vec![
                field("attributes.country", RuleOperator::In, json!(["GB", "IE"])),
                AudienceRule::Not(Box::new(
                    NotRule::builder()
                        .not(field("attributes.plan", RuleOperator::Eq, json!("free")))
                        .build(),
                )),
            ])
            .build(),
    );
    let rule = AudienceRule::Any(
        AnyRule::builder()
            .any(vec![local_paying, shoe_buyer])
            .build(),
    );

    // Try the rule before saving it.
    let preview = client
        .audiences()
        .preview(&AudiencePreviewRequest::builder().rule(rule.clone()).build())
        .send()
        .await?;
    let emails: Vec<String> = preview.contacts.iter().map(email).collect();
    println!("preview: {} contact(s) match: {emails:?}", preview.count);

    let audience = client
        .audiences()
        .create(
            &NewAudience::builder()
                .name("Paying locals and shoe lovers")
                .build()
                .with_kind(AudienceKind::Dynamic)
                .with_rule(rule),
        )
        .send()
        .await?;
    println!(
        "saved dynamic audience {} ({} members)",
        audience.id, audience.contact_count
    );

    // Members stream the same way as a static audience's.
    let members = |client: Client, id| async move {
        client
            .audiences()
            .contacts(&id)
            .list()
            .stream()
            .map_ok(|c| email(&c))
            .try_collect::<Vec<String>>()
            .await
    };
    println!(
        "members: {:?}",
        members(client.clone(), audience.id.clone()).await?
    );

    // Chloe (France) buys shoes twice: the next read of the audience includes her.
    let purchase = || -> Result<NewInteractionEvent, Box<dyn Error>> {
        Ok(NewInteractionEvent::builder()
            .type_(InteractionEventType::Purchase)
            .occurred_at(chrono::Utc::now())
            .build()
            .with_contact_id(ids[2].clone())
            .with_value_cents(8_900)
            .with_properties(json!({ "category": "shoes" }))?)
    };
    client
        .events()
        .send_batch(
            &EventBatch::builder()
                .events(vec![purchase()?, purchase()?])
                .build(),
        )
        .send()
        .await?;
    let after = members(client.clone(), audience.id.clone()).await?;
    println!("after two shoe purchases: {after:?}");
    assert!(after.iter().any(|e| e == "chloe@example.com"));

    // A mistake is refused with where it is.
    let typo = field("attributes.country", RuleOperator::Gt, json!(true));
    let refused = client
        .audiences()
        .preview(&AudiencePreviewRequest::builder().rule(typo).build())
        .send()
        .await
        .expect_err("a boolean has no order");
    if let Some(api) = refused.api_error() {
        for detail in api.details() {
            println!(
                "refused: {} at {}: {}",
                detail.code, detail.pointer, detail.message
            );
        }
    }

    sandbox.shutdown().await;
    Ok(())
}
