//! Dynamic audiences through the SDK against the sandbox on 127.0.0.1: a depth-6 rule over
//! 100,000 contacts previewed and paged (each member once, the same ones the rule's own
//! definition picks out of the seed data), refused rules with the JSON pointer of each fault,
//! and membership that follows events and attribute changes.

mod support;

use std::collections::HashSet;

use futures::TryStreamExt;
use marketing_api::Client;
use marketing_api::auth::ApiKey;
use marketing_api::models::{
    AllRule, AnyRule, AudienceKind, AudiencePatch, AudiencePreviewRequest, AudienceRule,
    ContactPatch, EventBatch, EventPropertyCondition, EventRule, FieldRule, InteractionEventType,
    MembershipRule, NewAudience, NewContact, NewInteractionEvent, NotRule, RuleOperator,
};
use marketing_api::serde_json::{Value, json};
use marketing_api_sandbox::Sandbox;
use marketing_api_sandbox::model::{Contact, InteractionEvent};

const CONTACTS: usize = 100_000;
const COUNTRIES: [&str; 5] = ["GB", "IE", "FR", "DE", "US"];
const PLANS: [&str; 3] = ["free", "pro", "team"];

fn client(sandbox: &Sandbox) -> Client {
    Client::builder(sandbox.base_url())
        .auth(ApiKey::new(sandbox.api_key()).expect("the sandbox key is valid"))
        .build()
        .expect("a loopback client")
}

fn field(name: &str, operator: RuleOperator, value: Value) -> AudienceRule {
    let exists = operator == RuleOperator::Exists;
    let rule = FieldRule::builder().field(name).operator(operator).build();
    AudienceRule::Field(if exists { rule } else { rule.with_value(value) })
}

fn all(rules: Vec<AudienceRule>) -> AudienceRule {
    AudienceRule::All(AllRule::builder().all(rules).build())
}

fn any(rules: Vec<AudienceRule>) -> AudienceRule {
    AudienceRule::Any(AnyRule::builder().any(rules).build())
}

fn not(rule: AudienceRule) -> AudienceRule {
    AudienceRule::Not(Box::new(NotRule::builder().not(rule).build()))
}

fn shoe_purchases(min_count: i32) -> AudienceRule {
    AudienceRule::Event(
        EventRule::builder()
            .event_type(InteractionEventType::Purchase)
            .build()
            .with_min_count(min_count)
            .with_within_days(30)
            .with_property(
                EventPropertyCondition::builder()
                    .key("category")
                    .operator(RuleOperator::Eq)
                    .build()
                    .with_value(json!("shoes")),
            ),
    )
}

fn membership(audience_id: impl Into<marketing_api::models::AudienceId>) -> AudienceRule {
    AudienceRule::Membership(MembershipRule::builder().audience_id(audience_id).build())
}

/// Six levels: all → any → all → not → any → field.
fn depth_six_rule() -> AudienceRule {
    all(vec![
        any(vec![
            all(vec![
                field("attributes.country", RuleOperator::In, json!(["GB", "IE"])),
                not(any(vec![
                    field("attributes.plan", RuleOperator::Eq, json!("free")),
                    field("status", RuleOperator::Eq, json!("unsubscribed")),
                ])),
            ]),
            shoe_purchases(2),
        ]),
        field("attributes.ltv", RuleOperator::Gt, json!(100)),
    ])
}

/// The seed: contact `n` has a country, plan, lifetime value and status cycling at different
/// periods, and every seventh one bought shoes `n % 3` times in the last week.
struct Seed {
    contacts: Vec<Contact>,
    events: Vec<InteractionEvent>,
    expected: Vec<String>,
}

fn seed() -> Seed {
    let start = chrono::Utc::now() - chrono::Duration::days(1);
    let mut contacts = Vec::with_capacity(CONTACTS);
    let mut events = Vec::new();
    let mut expected = Vec::new();
    for n in 0..CONTACTS {
        let country = COUNTRIES[n % COUNTRIES.len()];
        let plan = PLANS[n % PLANS.len()];
        let ltv = (n % 11) * 20;
        let status = if n % 13 == 0 {
            "unsubscribed"
        } else {
            "subscribed"
        };
        let created_at = start + chrono::Duration::microseconds(n as i64);
        let id = format!("ctc_seed{n:06}");
        let purchases = if n % 7 == 0 { n % 3 } else { 0 };
        for p in 0..purchases {
            events.push(InteractionEvent {
                id: format!("evt_seed{n:06}x{p}"),
                event_type: "purchase".into(),
                contact_id: Some(id.clone()),
                campaign_id: None,
                occurred_at: chrono::Utc::now() - chrono::Duration::days(p as i64 + 1),
                received_at: created_at,
                value_cents: Some(5_000),
                properties: json!({"category": "shoes"})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            });
        }
        // The rule, written out: the sandbox must agree with it on every contact.
        let local =
            ["GB", "IE"].contains(&country) && !(plan == "free" || status == "unsubscribed");
        if (local || purchases >= 2) && ltv > 100 {
            expected.push(id.clone());
        }
        contacts.push(Contact {
            id,
            email: format!("seed{n}@example.com"),
            phone: None,
            first_name: None,
            last_name: None,
            status: status.into(),
            attributes: json!({"country": country, "plan": plan, "ltv": ltv})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            created_at,
            updated_at: created_at,
        });
    }
    Seed {
        contacts,
        events,
        expected,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_depth_six_rule_over_100_000_contacts_previews_and_pages_each_member_once() {
    let sandbox = support::unlimited_sandbox(0x5e6).await;
    let Seed {
        contacts,
        events,
        expected,
    } = seed();
    let event_count = events.len();
    assert_eq!(sandbox.insert_contacts(contacts), CONTACTS);
    assert_eq!(sandbox.insert_events(events), event_count);
    let client = client(&sandbox);

    let started = std::time::Instant::now();
    let preview = client
        .audiences()
        .preview(
            &AudiencePreviewRequest::builder()
                .rule(depth_six_rule())
                .build()
                .with_limit(25),
        )
        .send()
        .await
        .expect("the preview is answered");
    eprintln!(
        "preview of a depth-6 rule over {CONTACTS} contacts: {} matches in {:?}",
        preview.count,
        started.elapsed()
    );
    assert_eq!(preview.count, expected.len() as i64);
    assert!(preview.has_more);
    let first: Vec<String> = preview.contacts.iter().map(|c| c.id.to_string()).collect();
    assert_eq!(first, expected[..25]);

    // Saved, it has the same members, and a stream pages through each exactly once.
    let audience = client
        .audiences()
        .create(
            &NewAudience::builder()
                .name("Local loyal or shoe buyers, high value")
                .build()
                .with_kind(AudienceKind::Dynamic)
                .with_rule(depth_six_rule()),
        )
        .send()
        .await
        .expect("the audience is created");
    assert_eq!(audience.kind, AudienceKind::Dynamic);
    assert_eq!(audience.contact_count, expected.len() as i64);
    let members: Vec<String> = client
        .audiences()
        .contacts(&audience.id)
        .list()
        .limit(100)
        .stream()
        .map_ok(|c| c.id.to_string())
        .try_collect()
        .await
        .expect("the members stream");
    let unique: HashSet<&String> = members.iter().collect();
    assert_eq!(unique.len(), members.len(), "a member was served twice");
    assert_eq!(members, expected);
}

async fn refused(
    result: Result<impl std::fmt::Debug, marketing_api::Error>,
) -> Vec<(String, String)> {
    let error = result.expect_err("the rule is refused");
    let api = error.api_error().expect("an API error");
    assert_eq!(api.status.as_u16(), 422, "{error}");
    assert_eq!(
        api.code.as_ref().map(ToString::to_string).as_deref(),
        Some("invalid_rule")
    );
    assert_eq!(api.param.as_deref(), Some("rule"));
    api.details()
        .into_iter()
        .map(|d| (d.pointer, d.code))
        .collect()
}

fn faults(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(p, c)| ((*p).to_owned(), (*c).to_owned()))
        .collect()
}

#[tokio::test]
async fn refused_rules_name_each_fault_by_its_pointer() {
    let sandbox = support::unlimited_sandbox(0x5e7).await;
    let client = client(&sandbox);
    let dynamic = |name: &str, rule: AudienceRule| {
        NewAudience::builder()
            .name(name)
            .build()
            .with_kind(AudienceKind::Dynamic)
            .with_rule(rule)
    };

    // An unknown field and an unknown audience, deep in the tree.
    let rule = all(vec![
        field("status", RuleOperator::Eq, json!("subscribed")),
        field("attributes.plan", RuleOperator::Exists, Value::Null),
        not(field("favourite_colour", RuleOperator::Eq, json!("red"))),
        any(vec![membership(marketing_api::models::AudienceId::new(
            "aud_doesnotexist",
        ))]),
    ]);
    let answer = client
        .audiences()
        .create(&dynamic("Broken", rule))
        .send()
        .await;
    assert_eq!(
        refused(answer).await,
        faults(&[
            ("/rule/all/2/not/field", "unknown_field"),
            ("/rule/all/3/any/0/audience_id", "unknown_audience"),
        ])
    );

    // Nine levels: one too many.
    let mut deep = field("email", RuleOperator::Exists, Value::Null);
    for _ in 1..9 {
        deep = not(deep);
    }
    let answer = client
        .audiences()
        .create(&dynamic("Deep", deep))
        .send()
        .await;
    let ninth = format!("/rule{}", "/not".repeat(8));
    assert_eq!(refused(answer).await, faults(&[(&ninth, "too_deep")]));

    // A refers to B; making B refer to A closes a cycle, refused at B's reference.
    let everyone = field("email", RuleOperator::Exists, Value::Null);
    let a = client
        .audiences()
        .create(&dynamic("A", everyone.clone()))
        .send()
        .await
        .expect("A is created");
    let b = client
        .audiences()
        .create(&dynamic("B", membership(&a.id)))
        .send()
        .await
        .expect("B is created");
    let closing = AudiencePatch::new().with_rule(any(vec![everyone, membership(&b.id)]));
    let answer = client.audiences().update(&a.id, &closing).send().await;
    assert_eq!(
        refused(answer).await,
        faults(&[("/rule/any/1/audience_id", "cyclic_rule")])
    );

    // Static audiences keep their hand-made membership; a dynamic one refuses it.
    let contact = client
        .contacts()
        .create(&NewContact::builder().email("ada@example.com").build())
        .send()
        .await
        .expect("a contact");
    let answer = client
        .audiences()
        .contacts(&b.id)
        .remove(&contact.id)
        .send()
        .await
        .expect_err("a dynamic audience's membership is computed");
    let api = answer.api_error().expect("an API error");
    assert_eq!(api.status.as_u16(), 409);
    assert_eq!(
        api.code.as_ref().map(ToString::to_string).as_deref(),
        Some("audience_kind_mismatch")
    );
}

#[tokio::test]
async fn membership_changes_when_an_event_arrives_and_when_an_attribute_changes() {
    let sandbox = support::unlimited_sandbox(0x5e8).await;
    let client = client(&sandbox);
    let contact = client
        .contacts()
        .create(
            &NewContact::builder()
                .email("grace@example.com")
                .build()
                .with_attributes(json!({"country": "FR"}))
                .expect("an object"),
        )
        .send()
        .await
        .expect("a contact");
    let audience = client
        .audiences()
        .create(
            &NewAudience::builder()
                .name("Shoe buyers in the UK")
                .build()
                .with_kind(AudienceKind::Dynamic)
                .with_rule(all(vec![
                    shoe_purchases(1),
                    field("attributes.country", RuleOperator::Eq, json!("GB")),
                ])),
        )
        .send()
        .await
        .expect("the audience is created");
    let members = || async {
        client
            .audiences()
            .contacts(&audience.id)
            .list()
            .stream()
            .map_ok(|c| c.id.to_string())
            .try_collect::<Vec<String>>()
            .await
            .expect("the members stream")
    };
    assert!(members().await.is_empty());

    let purchase = NewInteractionEvent::builder()
        .type_(InteractionEventType::Purchase)
        .occurred_at(chrono::Utc::now())
        .build()
        .with_contact_id(contact.id.clone())
        .with_properties(json!({"category": "shoes"}))
        .expect("an object");
    client
        .events()
        .send_batch(&EventBatch::builder().events(vec![purchase]).build())
        .send()
        .await
        .expect("the event is accepted");
    assert!(members().await.is_empty(), "the country does not match yet");

    client
        .contacts()
        .update(
            &contact.id,
            &ContactPatch::new()
                .with_attributes(json!({"country": "GB"}))
                .expect("an object"),
        )
        .send()
        .await
        .expect("the contact is updated");
    assert_eq!(members().await, [contact.id.to_string()]);
    let counted = client
        .audiences()
        .get(&audience.id)
        .send()
        .await
        .expect("the audience");
    assert_eq!(counted.contact_count, 1);
}
