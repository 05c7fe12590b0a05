//! Additive server changes never break this SDK: responses with fields it does not know, enum
//! values added after it was generated, and webhook event types it has never seen all decode.
//!
//! Responses come from a wiremock server on 127.0.0.1 through the real client; webhooks go
//! through the real verifier.

mod support;

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use futures::TryStreamExt;
use marketing_api::Client;
use marketing_api::auth::ApiKey;
use marketing_api::clock::ManualClock;
use marketing_api::models::{
    AdId, CampaignId, CampaignObjective, CampaignStatus, ContactStatus, Creative, DeliveryStatus,
    ErrorType, WebhookDeliveryId, WebhookEventType,
};
use marketing_api::retry::RetryPolicy;
use marketing_api::webhooks::{Event, Signer, Verifier, WebhookSecret};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// A campaign in `status` that has been seen once.
fn campaign(id: &str, status: &str) -> Value {
    let mut campaign = support::campaign(id);
    campaign["status"] = json!(status);
    campaign["metrics"]["impressions"] = json!(1);
    campaign
}

/// Adds `extra` to every object in `value`, recursively: the server grew new fields everywhere.
fn with_extra_fields(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.values_mut().for_each(with_extra_fields);
            map.insert(
                "added_in_v1_7".into(),
                json!({"nested": [1, 2, {"deep": true}], "text": "new"}),
            );
        }
        Value::Array(items) => items.iter_mut().for_each(with_extra_fields),
        _ => {}
    }
}

async fn client(server: &MockServer) -> Client {
    Client::builder(format!("{}/v1", server.uri()))
        .auth(ApiKey::new("mk_test_forward").expect("valid key"))
        .retry_policy(RetryPolicy::never())
        .build()
        .expect("valid configuration")
}

#[tokio::test]
async fn unknown_fields_everywhere_are_ignored() {
    let server = MockServer::start().await;
    let mut body = json!({
        "data": campaign("cmp_1", "active"),
        "meta": {"request_id": "req_1"}
    });
    with_extra_fields(&mut body);
    Mock::given(method("GET"))
        .and(path("/v1/campaigns/cmp_1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&body))
        .expect(1)
        .mount(&server)
        .await;

    let got = client(&server)
        .await
        .campaigns()
        .get(CampaignId::new("cmp_1"))
        .send_with_meta()
        .await
        .expect("extra fields decode");
    assert_eq!(got.data.id.as_str(), "cmp_1");
    assert_eq!(got.data.status, CampaignStatus::Active);
    assert_eq!(got.data.metrics.impressions, 1);
    assert_eq!(got.request_id.as_deref(), Some("req_1"));
}

#[tokio::test]
async fn list_pages_with_extra_meta_fields_and_new_enum_values_stream() {
    let server = MockServer::start().await;
    let mut first = json!({
        "data": [campaign("cmp_1", "active"), campaign("cmp_2", "hibernating")],
        "meta": {"request_id": "req_1", "next_cursor": "c2", "has_more": true, "total_count": 3}
    });
    with_extra_fields(&mut first);
    let mut second = json!({
        "data": [campaign("cmp_3", "paused")],
        "meta": {"request_id": "req_2", "next_cursor": null, "has_more": false}
    });
    second["data"][0]["objective"] = json!("app_installs");
    with_extra_fields(&mut second);
    Mock::given(method("GET"))
        .and(path("/v1/campaigns"))
        .and(query_param("cursor", "c2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&second))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/campaigns"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&first))
        .expect(1)
        .mount(&server)
        .await;

    let items: Vec<_> = client(&server)
        .await
        .campaigns()
        .list()
        .stream()
        .try_collect()
        .await
        .expect("every page decodes");
    assert_eq!(items.len(), 3);
    assert_eq!(
        items[1].status,
        CampaignStatus::Unknown("hibernating".into())
    );
    assert_eq!(items[1].status.as_str(), "hibernating");
    assert_eq!(
        items[2].objective,
        CampaignObjective::Unknown("app_installs".into())
    );
}

#[tokio::test]
async fn new_enum_values_in_every_position_decode_and_re_encode_unchanged() {
    let server = MockServer::start().await;
    let body = json!({
        "data": {
            "id": "whd_1",
            "endpoint_id": "whe_1",
            "event_id": "msg_1",
            "event_type": "loyalty.points_awarded",
            "status": "throttled",
            "attempts": 2,
            "last_attempt_at": null,
            "next_attempt_at": null,
            "response_status": null,
            "created_at": "2026-11-02T09:30:00Z"
        },
        "meta": {"request_id": "req_1"}
    });
    Mock::given(method("GET"))
        .and(path("/v1/webhook_deliveries/whd_1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&body))
        .mount(&server)
        .await;
    let delivery = client(&server)
        .await
        .webhook_deliveries()
        .get(WebhookDeliveryId::new("whd_1"))
        .send()
        .await
        .expect("new enum values decode");
    assert_eq!(
        delivery.event_type,
        WebhookEventType::Unknown("loyalty.points_awarded".into())
    );
    assert_eq!(delivery.status, DeliveryStatus::Unknown("throttled".into()));
    // What the SDK does not know, it hands back unchanged.
    let encoded = serde_json::to_value(&delivery).expect("encodes");
    assert_eq!(encoded["event_type"], "loyalty.points_awarded");
    assert_eq!(encoded["status"], "throttled");
    assert_eq!(
        serde_json::from_value::<ContactStatus>(json!("quarantined")).expect("decodes"),
        ContactStatus::Unknown("quarantined".into())
    );
}

#[tokio::test]
async fn errors_with_a_new_type_and_extra_fields_keep_their_details() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/campaigns/cmp_1"))
        .respond_with(ResponseTemplate::new(409).set_body_json(json!({
            "error": {
                "type": "budget_lock_error",
                "code": "budget_locked",
                "message": "The budget is locked by finance.",
                "request_id": "req_9",
                "documentation_url": "https://example.com/errors/budget_locked"
            },
            "trace": {"region": "eu"}
        })))
        .mount(&server)
        .await;
    let error = client(&server)
        .await
        .campaigns()
        .get(CampaignId::new("cmp_1"))
        .send()
        .await
        .expect_err("409");
    let api = error.api_error().expect("an API error");
    assert_eq!(api.status.as_u16(), 409);
    assert_eq!(
        api.error_type,
        Some(ErrorType::Unknown("budget_lock_error".into()))
    );
    assert_eq!(api.code.as_ref().map(|c| c.as_str()), Some("budget_locked"));
    assert_eq!(api.request_id.as_deref(), Some("req_9"));
}

fn verifier() -> Verifier {
    let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_793_784_312));
    Verifier::builder()
        .secret(WebhookSecret::parse(SECRET).expect("valid secret"))
        .clock(Arc::new(clock))
        .build()
        .expect("one secret")
}

fn signed(body: &[u8]) -> Vec<(&'static str, String)> {
    Signer::new(SECRET)
        .expect("valid secret")
        .sign("msg_2Kq9fJ8Lx", 1_793_784_312, body)
        .pairs()
        .into_iter()
        .map(|(k, v)| (k, v.to_owned()))
        .collect()
}

#[test]
fn a_new_webhook_event_type_verifies_as_unknown_with_its_payload() {
    let body = br#"{
        "id": "msg_2Kq9fJ8Lx",
        "type": "loyalty.points_awarded",
        "created_at": "2026-11-03T14:05:12Z",
        "data": {"contact_id": "ctc_1", "points": 120},
        "schema_version": 3
    }"#;
    let event = verifier()
        .verify_event(&signed(body), body)
        .expect("a new event type still verifies and parses");
    let Event::Unknown(unknown) = &event else {
        panic!("expected Event::Unknown, got {event:?}");
    };
    assert_eq!(event.event_type(), "loyalty.points_awarded");
    assert_eq!(event.id(), "msg_2Kq9fJ8Lx");
    assert_eq!(
        unknown.data().and_then(|d| d.get("points")),
        Some(&json!(120))
    );
}

#[test]
fn a_known_webhook_event_with_extra_fields_and_new_enum_values_stays_typed() {
    let mut body = json!({
        "id": "msg_2Kq9fJ8Lx",
        "type": "campaign.created",
        "created_at": "2026-11-03T14:05:12Z",
        "data": campaign("cmp_1", "hibernating")
    });
    with_extra_fields(&mut body);
    let bytes = serde_json::to_vec(&body).expect("encodes");
    let event = verifier()
        .verify_event(&signed(&bytes), &bytes)
        .expect("verifies and parses");
    match event {
        Event::CampaignCreated(created) => {
            assert_eq!(
                created.data.status,
                CampaignStatus::Unknown("hibernating".into())
            );
        }
        other => panic!("expected CampaignCreated, got {other:?}"),
    }
}

#[test]
fn a_delivery_failure_decodes_by_its_reason_and_an_unknown_reason_is_kept_as_it_is() {
    use marketing_api::models::{
        ConnectionFailure, ConnectionFailureStage, HttpStatusFailure, WebhookDeliveryFailure,
    };
    let known: WebhookDeliveryFailure =
        serde_json::from_value(json!({"reason": "connection", "stage": "tls"})).expect("decodes");
    assert_eq!(
        known,
        WebhookDeliveryFailure::Connection(
            ConnectionFailure::builder()
                .stage(ConnectionFailureStage::Tls)
                .build()
        )
    );
    // The tag is written from the variant, whatever the caller built.
    let encoded = serde_json::to_value(WebhookDeliveryFailure::HttpStatus(
        HttpStatusFailure::builder().status(503).build(),
    ))
    .expect("encodes");
    assert_eq!(encoded, json!({"reason": "http_status", "status": 503}));
    // A reason added to the API later: kept whole, and sent back unchanged.
    let future = json!({"reason": "blocked_by_firewall", "rule": "egress-42"});
    let decoded: WebhookDeliveryFailure =
        serde_json::from_value(future.clone()).expect("an unknown reason still decodes");
    assert_eq!(decoded, WebhookDeliveryFailure::Unknown(future.clone()));
    assert_eq!(serde_json::to_value(&decoded).expect("encodes"), future);
    // A known reason with a wrong shape is an error, not silently unknown.
    let broken = serde_json::from_value::<WebhookDeliveryFailure>(
        json!({"reason": "http_status", "status": "five hundred"}),
    );
    assert!(broken.is_err());
}

#[tokio::test]
async fn creatives_of_a_kind_added_later_decode_as_unknown_next_to_known_kinds() {
    let server = MockServer::start().await;
    let shared = json!({
        "campaign_id": "cmp_1", "ad_id": "ad_1", "created_at": "2026-11-02T09:30:00Z"
    });
    let mut image = shared.clone();
    image.as_object_mut().unwrap().extend(
        json!({"id": "crv_1", "kind": "image", "asset_url": "https://cdn.example.com/a.png",
               "width": 300, "height": 250, "alt_text": "A"})
        .as_object()
        .unwrap()
        .clone(),
    );
    let mut lens = shared.clone();
    lens.as_object_mut().unwrap().extend(
        json!({"id": "crv_2", "kind": "ar_lens", "lens_url": "https://cdn.example.com/l.glb"})
            .as_object()
            .unwrap()
            .clone(),
    );
    Mock::given(method("GET"))
        .and(path("/v1/campaigns/cmp_1/ads/ad_1/creatives"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [image, lens.clone()],
            "meta": {"request_id": "req_1", "has_more": false, "next_cursor": null}
        })))
        .mount(&server)
        .await;
    let page = client(&server)
        .await
        .campaigns()
        .ads(CampaignId::new("cmp_1"))
        .creatives(AdId::new("ad_1"))
        .list()
        .send()
        .await
        .expect("a new kind does not fail the page");
    match page.items.as_slice() {
        [Creative::Image(image), Creative::Unknown(unknown)] => {
            assert_eq!((image.width, image.height), (300, 250));
            assert_eq!(unknown, &lens);
            // Sent back, the unknown creative is the JSON it arrived as.
            assert_eq!(serde_json::to_value(&page.items[1]).unwrap(), lens);
        }
        other => panic!("{other:?}"),
    }
}
