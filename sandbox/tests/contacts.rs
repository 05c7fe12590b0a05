//! Contacts, audiences and event ingestion over HTTP.

mod common;

use common::{Api, error, json};
use marketing_api_sandbox::Sandbox;
use serde_json::json;

#[tokio::test]
async fn contact_lifecycle_and_unique_email() {
    let sandbox = Sandbox::start().await.expect("sandbox starts");
    let api = Api::new(&sandbox);
    let contact = json(
        api.post(
            "/contacts",
            json!({"email": "ada@example.com", "first_name": "Ada", "attributes": {"plan": "pro"}}),
        )
        .await,
        201,
    )
    .await;
    let id = contact["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(contact["data"]["status"], "subscribed");
    assert_eq!(contact["data"]["attributes"]["plan"], "pro");
    assert_eq!(sandbox.contact_count(), 1);

    error(
        api.post("/contacts", json!({"email": "ADA@example.com"}))
            .await,
        409,
        "conflict_error",
        "email_taken",
        Some("email"),
    )
    .await;
    error(
        api.post("/contacts", json!({"email": "not-an-email"}))
            .await,
        400,
        "invalid_request_error",
        "invalid_value",
        Some("email"),
    )
    .await;

    let updated = json(
        api.patch(
            &format!("/contacts/{id}"),
            json!({"status": "unsubscribed", "first_name": null}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(updated["data"]["status"], "unsubscribed");
    assert!(updated["data"]["first_name"].is_null());
    assert_eq!(updated["data"]["email"], "ada@example.com");

    let by_email = json(api.get("/contacts?email=Ada@Example.com").await, 200).await;
    assert_eq!(by_email["meta"]["total_count"], 1);
    let subscribed = json(api.get("/contacts?status=subscribed").await, 200).await;
    assert_eq!(subscribed["meta"]["total_count"], 0);

    assert_eq!(api.delete(&format!("/contacts/{id}")).await.status(), 204);
    error(
        api.get(&format!("/contacts/{id}")).await,
        404,
        "not_found_error",
        "resource_missing",
        Some("contact_id"),
    )
    .await;
    // The e-mail is free again.
    json(
        api.post("/contacts", json!({"email": "ada@example.com"}))
            .await,
        201,
    )
    .await;
    sandbox.shutdown().await;
}

#[tokio::test]
async fn audience_membership_and_filter() {
    let sandbox = Sandbox::start().await.expect("sandbox starts");
    let api = Api::new(&sandbox);
    let mut ids = Vec::new();
    for i in 0..3 {
        let c = json(
            api.post("/contacts", json!({"email": format!("c{i}@example.com")}))
                .await,
            201,
        )
        .await;
        ids.push(c["data"]["id"].as_str().unwrap().to_owned());
    }
    let audience = json(
        api.post("/audiences", json!({"name": "VIP", "description": "best"}))
            .await,
        201,
    )
    .await;
    let aid = audience["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(audience["data"]["contact_count"], 0);

    let added = json(
        api.post(
            &format!("/audiences/{aid}/contacts"),
            json!({"contact_ids": [ids[0], ids[2]]}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        added["data"],
        json!({"audience_id": aid, "added": 2, "already_members": 0})
    );
    let again = json(
        api.post(
            &format!("/audiences/{aid}/contacts"),
            json!({"contact_ids": [ids[0]]}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(again["data"]["already_members"], 1);
    error(
        api.post(
            &format!("/audiences/{aid}/contacts"),
            json!({"contact_ids": [ids[1], "ctc_nobody"]}),
        )
        .await,
        400,
        "invalid_request_error",
        "resource_missing",
        Some("contact_ids[1]"),
    )
    .await;
    error(
        api.post(
            &format!("/audiences/{aid}/contacts"),
            json!({"contact_ids": []}),
        )
        .await,
        400,
        "invalid_request_error",
        "invalid_value",
        Some("contact_ids"),
    )
    .await;

    let members = json(api.get(&format!("/audiences/{aid}/contacts")).await, 200).await;
    let member_ids: Vec<&str> = members["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(member_ids, vec![ids[0].as_str(), ids[2].as_str()]);
    let filtered = json(api.get(&format!("/contacts?audience_id={aid}")).await, 200).await;
    assert_eq!(filtered["meta"]["total_count"], 2);

    let got = json(api.get(&format!("/audiences/{aid}")).await, 200).await;
    assert_eq!(got["data"]["contact_count"], 2);
    let big = json(api.get("/audiences?min_contacts=2").await, 200).await;
    assert_eq!(big["data"].as_array().unwrap().len(), 1);

    assert_eq!(
        api.delete(&format!("/audiences/{aid}/contacts/{}", ids[0]))
            .await
            .status(),
        204
    );
    error(
        api.delete(&format!("/audiences/{aid}/contacts/{}", ids[0]))
            .await,
        404,
        "not_found_error",
        "resource_missing",
        Some("contact_id"),
    )
    .await;
    // Deleting a contact removes it from its audiences.
    assert_eq!(
        api.delete(&format!("/contacts/{}", ids[2])).await.status(),
        204
    );
    let got = json(api.get(&format!("/audiences/{aid}")).await, 200).await;
    assert_eq!(got["data"]["contact_count"], 0);

    let renamed = json(
        api.patch(&format!("/audiences/{aid}"), json!({"description": null}))
            .await,
        200,
    )
    .await;
    assert!(renamed["data"]["description"].is_null());
    assert_eq!(renamed["data"]["name"], "VIP");
    assert_eq!(api.delete(&format!("/audiences/{aid}")).await.status(), 204);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn events_are_checked_against_the_schema_then_stored_one_by_one() {
    let sandbox = Sandbox::start().await.expect("sandbox starts");
    let api = Api::new(&sandbox);
    let contact = json(
        api.post("/contacts", json!({"email": "e@example.com"}))
            .await,
        201,
    )
    .await;
    let ctc = contact["data"]["id"].as_str().unwrap().to_owned();
    let campaign = json(
        api.post("/campaigns", json!({"name": "C", "budget_cents": 1}))
            .await,
        201,
    )
    .await;
    let cmp = campaign["data"]["id"].as_str().unwrap().to_owned();

    // An event that breaks the schema makes the whole batch invalid, naming the event.
    for (broken, param) in [
        (
            json!({"type": "teleport", "occurred_at": "2026-01-01T00:00:02Z"}),
            "events[1].type",
        ),
        (
            json!({"occurred_at": "2026-01-01T00:00:04Z"}),
            "events[1].type",
        ),
    ] {
        let batch = json!({"events": [
            {"type": "page_view", "occurred_at": "2026-01-01T00:00:00Z", "campaign_id": cmp},
            broken,
        ]});
        let code = if param.ends_with("type") && broken.get("type").is_none() {
            "missing_field"
        } else {
            "invalid_value"
        };
        error(
            api.post("/events", batch).await,
            400,
            "invalid_request_error",
            code,
            Some(param),
        )
        .await;
    }
    assert_eq!(sandbox.accepted_event_count(), 0);

    // Events that match the schema are stored one by one; one that names a missing contact is
    // rejected on its own.
    let batch = json!({"events": [
        {"type": "page_view", "occurred_at": "2026-01-01T00:00:00Z", "campaign_id": cmp},
        {"type": "ad_click", "occurred_at": "2026-01-01T00:00:01Z", "campaign_id": cmp, "contact_id": ctc},
        {"type": "purchase", "occurred_at": "2026-01-01T00:00:03Z", "contact_id": "ctc_ghost"},
        {"type": "purchase", "occurred_at": "2026-01-01T00:00:05Z", "value_cents": 4200, "campaign_id": cmp},
    ]});
    let result = json(api.post("/events", batch).await, 200).await;
    let data = &result["data"];
    assert_eq!(data["accepted"], 3);
    assert_eq!(data["rejected"], 1);
    let results = data["results"].as_array().unwrap();
    assert_eq!(results[0]["status"], "accepted");
    assert!(results[0]["id"].as_str().unwrap().starts_with("evt_"));
    assert_eq!(results[2]["status"], "rejected");
    assert_eq!(results[2]["error"]["code"], "resource_missing");
    assert_eq!(results[2]["error"]["param"], "events[2].contact_id");
    assert_eq!(sandbox.accepted_event_count(), 3);

    let listed = json(
        api.get("/events?type=purchase&min_value_cents=4000").await,
        200,
    )
    .await;
    assert_eq!(listed["meta"]["total_count"], 1);
    assert_eq!(listed["data"][0]["value_cents"], 4200);
    let all = json(api.get(&format!("/events?campaign_id={cmp}")).await, 200).await;
    assert_eq!(all["meta"]["total_count"], 3);

    let metrics = json(api.get(&format!("/campaigns/{cmp}")).await, 200).await;
    assert_eq!(metrics["data"]["metrics"]["impressions"], 1);
    assert_eq!(metrics["data"]["metrics"]["clicks"], 1);
    assert_eq!(metrics["data"]["metrics"]["conversions"], 1);
    assert_eq!(metrics["data"]["metrics"]["ctr"], 1.0);
    let engaged = json(
        api.get("/campaigns?min_impressions=1&min_ctr=0.5").await,
        200,
    )
    .await;
    assert_eq!(engaged["meta"]["total_count"], 1);

    // A malformed batch as a whole is a 400.
    let event = json!({"type": "page_view", "occurred_at": "2026-01-01T00:00:00Z"});
    let too_many = json!({"events": vec![event.clone(); 501]});
    error(
        api.post("/events", too_many).await,
        400,
        "invalid_request_error",
        "too_many_events",
        Some("events"),
    )
    .await;
    error(
        api.post("/events", json!({"events": []})).await,
        400,
        "invalid_request_error",
        "invalid_value",
        Some("events"),
    )
    .await;
    error(
        api.post("/events", json!({})).await,
        400,
        "invalid_request_error",
        "missing_field",
        Some("events"),
    )
    .await;

    // Over 1 MiB is a 413.
    let padding = "x".repeat(4000);
    let big_event = json!({"type": "custom", "occurred_at": "2026-01-01T00:00:00Z", "properties": {"pad": padding}});
    let big = json!({"events": vec![big_event; 300]});
    error(
        api.post("/events", big).await,
        413,
        "invalid_request_error",
        "payload_too_large",
        None,
    )
    .await;
    assert_eq!(sandbox.accepted_event_count(), 3);
    sandbox.shutdown().await;
}
