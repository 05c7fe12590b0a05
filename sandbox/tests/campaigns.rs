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

#[tokio::test]
async fn ads_and_creatives_nest_under_their_campaign() {
    let sandbox = Sandbox::start().await.expect("sandbox starts");
    let api = Api::new(&sandbox);
    let campaign = json(
        api.post("/campaigns", json!({"name": "C", "budget_cents": 10}))
            .await,
        201,
    )
    .await;
    let cid = campaign["data"]["id"].as_str().unwrap().to_owned();

    let ad = json(
        api.post(
            &format!("/campaigns/{cid}/ads"),
            json!({"name": "A", "headline": "Buy now", "destination_url": "https://shop.example.com/"}),
        )
        .await,
        201,
    )
    .await;
    let aid = ad["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(ad["data"]["campaign_id"], cid.as_str());
    assert_eq!(ad["data"]["status"], "draft");
    error(
        api.post(
            &format!("/campaigns/{cid}/ads"),
            json!({"name": "A", "headline": "x", "destination_url": "not a url"}),
        )
        .await,
        400,
        "invalid_request_error",
        "invalid_value",
        Some("destination_url"),
    )
    .await;
    error(
        api.post(
            "/campaigns/cmp_missing/ads",
            json!({"name": "A", "headline": "x", "destination_url": "https://a.example/"}),
        )
        .await,
        404,
        "not_found_error",
        "resource_missing",
        Some("campaign_id"),
    )
    .await;

    let patched = json(
        api.patch(
            &format!("/campaigns/{cid}/ads/{aid}"),
            json!({"status": "active"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(patched["data"]["status"], "active");
    let ads = json(
        api.get(&format!("/campaigns/{cid}/ads?status=active"))
            .await,
        200,
    )
    .await;
    assert_eq!(ads["data"][0]["id"], aid.as_str());

    let creative = json(
        api.post(
            &format!("/campaigns/{cid}/ads/{aid}/creatives"),
            json!({"kind": "image", "asset_url": "https://cdn.example.com/a.png", "width": 300, "height": 250, "alt_text": "A"}),
        )
        .await,
        201,
    )
    .await;
    let crid = creative["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(creative["data"]["ad_id"], aid.as_str());
    assert_eq!(creative["data"]["kind"], "image");
    assert_eq!(creative["data"]["alt_text"], "A");
    let got = json(
        api.get(&format!("/campaigns/{cid}/ads/{aid}/creatives/{crid}"))
            .await,
        200,
    )
    .await;
    assert_eq!(got["data"], creative["data"]);
    let videos = json(
        api.get(&format!("/campaigns/{cid}/ads/{aid}/creatives?kind=video"))
            .await,
        200,
    )
    .await;
    assert_eq!(videos["data"].as_array().unwrap().len(), 0);
    error(
        api.post(
            &format!("/campaigns/{cid}/ads/{aid}/creatives"),
            json!({"kind": "hologram"}),
        )
        .await,
        400,
        "invalid_request_error",
        "invalid_value",
        Some("kind"),
    )
    .await;
    assert_eq!(
        api.delete(&format!("/campaigns/{cid}/ads/{aid}/creatives/{crid}"))
            .await
            .status(),
        204
    );

    // Deleting the campaign takes its ads with it.
    assert_eq!(api.delete(&format!("/campaigns/{cid}")).await.status(), 204);
    error(
        api.get(&format!("/campaigns/{cid}/ads/{aid}")).await,
        404,
        "not_found_error",
        "resource_missing",
        Some("campaign_id"),
    )
    .await;
    sandbox.shutdown().await;
}

#[tokio::test]
async fn deprecated_stats_carry_deprecation_headers_and_archived_is_final() {
    let sandbox = Sandbox::start().await.expect("sandbox starts");
    let api = Api::new(&sandbox);
    let campaign = json(
        api.post("/campaigns", json!({"name": "C", "budget_cents": 10}))
            .await,
        201,
    )
    .await;
    let cid = campaign["data"]["id"].as_str().unwrap().to_owned();
    let stats = api.get(&format!("/campaigns/{cid}/stats")).await;
    assert_eq!(stats.headers()["deprecation"], "@1767225600");
    assert_eq!(stats.headers()["sunset"], "Wed, 01 Jul 2026 00:00:00 GMT");
    let body = json(stats, 200).await;
    assert_eq!(body["data"]["ctr"], 0.0);
    let plain = api.get(&format!("/campaigns/{cid}")).await;
    assert!(plain.headers().get("deprecation").is_none());

    json(
        api.patch(&format!("/campaigns/{cid}"), json!({"status": "archived"}))
            .await,
        200,
    )
    .await;
    error(
        api.patch(&format!("/campaigns/{cid}"), json!({"status": "active"}))
            .await,
        409,
        "conflict_error",
        "invalid_status_transition",
        Some("status"),
    )
    .await;
    sandbox.shutdown().await;
}

#[tokio::test]
async fn pagination_is_stable_under_concurrent_inserts() {
    let sandbox = Sandbox::start().await.expect("sandbox starts");
    let api = Api::new(&sandbox);
    let mut created = Vec::new();
    for i in 0..25 {
        let c = json(
            api.post(
                "/campaigns",
                json!({"name": format!("c{i}"), "budget_cents": i}),
            )
            .await,
            201,
        )
        .await;
        created.push(c["data"]["id"].as_str().unwrap().to_owned());
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/campaigns?limit=7&cursor={c}"),
            None => "/campaigns?limit=7".to_owned(),
        };
        let page = json(api.get(&path).await, 200).await;
        pages += 1;
        for item in page["data"].as_array().unwrap() {
            seen.push(item["id"].as_str().unwrap().to_owned());
        }
        // Insert while paging: new rows sort after every existing one.
        if pages <= 2 {
            let c = json(
                api.post("/campaigns", json!({"name": "late", "budget_cents": 1}))
                    .await,
                201,
            )
            .await;
            created.push(c["data"]["id"].as_str().unwrap().to_owned());
        }
        if page["meta"]["has_more"] == false {
            assert!(page["meta"]["next_cursor"].is_null());
            break;
        }
        cursor = Some(page["meta"]["next_cursor"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        seen, created,
        "every campaign exactly once, in creation order"
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn each_creative_kind_is_validated_by_its_own_shape() {
    let sandbox = Sandbox::start().await.expect("sandbox starts");
    let api = Api::new(&sandbox);
    let campaign = json(
        api.post("/campaigns", json!({"name": "C", "budget_cents": 10}))
            .await,
        201,
    )
    .await;
    let cid = campaign["data"]["id"].as_str().unwrap().to_owned();
    let ad = json(
        api.post(
            &format!("/campaigns/{cid}/ads"),
            json!({"name": "A", "headline": "H", "destination_url": "https://shop.example.com/"}),
        )
        .await,
        201,
    )
    .await;
    let aid = ad["data"]["id"].as_str().unwrap().to_owned();
    let path = format!("/campaigns/{cid}/ads/{aid}/creatives");

    let video = json(
        api.post(
            &path,
            json!({"kind": "video", "asset_url": "https://cdn.example.com/v.mp4", "duration_ms": 15000}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(video["data"]["duration_ms"], 15000);
    assert!(video["data"]["poster_url"].is_null());
    let html5 = json(
        api.post(
            &path,
            json!({"kind": "html5", "markup": "<p>Sale</p>", "width": 300, "height": 250}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(html5["data"]["markup"], "<p>Sale</p>");
    assert!(html5["data"]["bundle_url"].is_null());
    let card = json!({"asset_url": "https://cdn.example.com/c.png", "headline": "Boots", "destination_url": "https://shop.example.com/boots"});
    let carousel = json(
        api.post(
            &path,
            json!({"kind": "carousel", "cards": [card, card, card]}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(carousel["data"]["cards"].as_array().unwrap().len(), 3);
    let listed = json(api.get(&format!("{path}?kind=carousel")).await, 200).await;
    assert_eq!(listed["data"][0]["cards"][2]["headline"], "Boots");

    // A field of another kind, a carousel of one card or of eleven, an html5 creative with
    // both or neither of its sources, a card without its headline: each names what to fix.
    error(
        api.post(
            &path,
            json!({"kind": "video", "asset_url": "https://cdn.example.com/v.mp4"}),
        )
        .await,
        400,
        "invalid_request_error",
        "missing_field",
        Some("duration_ms"),
    )
    .await;
    for cards in [vec![card.clone()], vec![card.clone(); 11]] {
        error(
            api.post(&path, json!({"kind": "carousel", "cards": cards}))
                .await,
            400,
            "invalid_request_error",
            "invalid_value",
            Some("cards"),
        )
        .await;
    }
    error(
        api.post(
            &path,
            json!({"kind": "carousel", "cards": [card, {"asset_url": "https://cdn.example.com/c.png", "destination_url": "https://shop.example.com/"}]}),
        )
        .await,
        400,
        "invalid_request_error",
        "missing_field",
        Some("cards[1].headline"),
    )
    .await;
    for body in [
        json!({"kind": "html5", "width": 300, "height": 250}),
        json!({"kind": "html5", "markup": "<p/>", "bundle_url": "https://cdn.example.com/b.zip", "width": 300, "height": 250}),
    ] {
        error(
            api.post(&path, body).await,
            400,
            "invalid_request_error",
            "invalid_value",
            Some("markup"),
        )
        .await;
    }
    sandbox.shutdown().await;
}
