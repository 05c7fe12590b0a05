//! Campaigns, ads and creatives over HTTP.

mod common;

use common::{Api, error, json};
use marketing_api_sandbox::Sandbox;
use serde_json::json;

#[tokio::test]
async fn campaign_lifecycle() {
    let sandbox = Sandbox::start().await.expect("sandbox starts");
    let api = Api::new(&sandbox);

    let response = api
        .post(
            "/campaigns",
            json!({"name": "Black Friday", "budget_cents": 500000}),
        )
        .await;
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let created = json(response, 201).await;
    assert_eq!(created["meta"]["request_id"], request_id.as_str());
    let campaign = &created["data"];
    let id = campaign["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("cmp_"));
    assert_eq!(campaign["status"], "draft");
    assert_eq!(campaign["objective"], "awareness");
    assert_eq!(campaign["currency"], "USD");
    assert_eq!(campaign["daily_budget_cents"], serde_json::Value::Null);
    assert_eq!(campaign["metrics"]["impressions"], 0);
    assert_eq!(sandbox.campaign_count(), 1);

    let got = json(api.get(&format!("/campaigns/{id}")).await, 200).await;
    assert_eq!(got["data"], *campaign);

    let patched = json(
        api.patch(
            &format!("/campaigns/{id}"),
            json!({"status": "active", "daily_budget_cents": 1000}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(patched["data"]["status"], "active");
    assert_eq!(patched["data"]["daily_budget_cents"], 1000);
    assert_eq!(patched["data"]["name"], "Black Friday");

    // null clears a nullable field; absence leaves it alone.
    let cleared = json(
        api.patch(
            &format!("/campaigns/{id}"),
            json!({"daily_budget_cents": null}),
        )
        .await,
        200,
    )
    .await;
    assert!(cleared["data"]["daily_budget_cents"].is_null());
    assert_eq!(cleared["data"]["status"], "active");

    let replaced = json(
        api.put(
            &format!("/campaigns/{id}"),
            json!({"name": "Cyber Monday", "budget_cents": 1, "objective": "sales", "currency": "EUR"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(replaced["data"]["name"], "Cyber Monday");
    assert_eq!(replaced["data"]["currency"], "EUR");
    assert_eq!(replaced["data"]["status"], "active", "PUT keeps the status");

    let list = json(api.get("/campaigns?status=active").await, 200).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert_eq!(list["meta"]["total_count"], 1);
    assert_eq!(list["meta"]["has_more"], false);
    assert!(list["meta"]["next_cursor"].is_null());
    let none = json(api.get("/campaigns?status=paused").await, 200).await;
    assert_eq!(none["meta"]["total_count"], 0);

    let deleted = api.delete(&format!("/campaigns/{id}")).await;
    assert_eq!(deleted.status(), 204);
    assert!(deleted.text().await.unwrap().is_empty());
    error(
        api.get(&format!("/campaigns/{id}")).await,
        404,
        "not_found_error",
        "resource_missing",
        Some("campaign_id"),
    )
    .await;
    sandbox.shutdown().await;
}

#[tokio::test]
async fn campaign_validation_names_the_param() {
    let sandbox = Sandbox::start().await.expect("sandbox starts");
    let api = Api::new(&sandbox);
    error(
        api.post("/campaigns", json!({"name": "x"})).await,
        400,
        "invalid_request_error",
        "missing_field",
        Some("budget_cents"),
    )
    .await;
    error(
        api.post("/campaigns", json!({"name": "x", "budget_cents": -1}))
            .await,
        400,
        "invalid_request_error",
        "invalid_value",
        Some("budget_cents"),
    )
    .await;
    error(
        api.post(
            "/campaigns",
            json!({"name": "x", "budget_cents": 1, "status": "active"}),
        )
        .await,
        400,
        "invalid_request_error",
        "invalid_value",
        Some("status"),
    )
    .await;
    error(
        api.get("/campaigns?limit=0").await,
        400,
        "invalid_request_error",
        "invalid_value",
        Some("limit"),
    )
    .await;
    error(
        api.get("/campaigns?limit=abc").await,
        400,
        "invalid_request_error",
        "invalid_value",
        Some("limit"),
    )
    .await;
    error(
        api.get("/campaigns?created_after=yesterday").await,
        400,
        "invalid_request_error",
        "invalid_value",
        Some("created_after"),
    )
    .await;
    error(
        api.get("/campaigns?cursor=garbage").await,
        400,
        "invalid_request_error",
        "invalid_cursor",
        Some("cursor"),
    )
    .await;
    let bad_json = api
        .request(reqwest::Method::POST, "/campaigns")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    error(bad_json, 400, "invalid_request_error", "invalid_json", None).await;
    let wrong_type = api
        .request(reqwest::Method::POST, "/campaigns")
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    error(
        wrong_type,
        400,
        "invalid_request_error",
        "invalid_content_type",
        None,
    )
    .await;
    error(
        api.get("/nowhere").await,
        404,
        "not_found_error",
        "route_not_found",
        None,
    )
    .await;
    sandbox.shutdown().await;
}
