//! The sandbox held to `openapi.yaml` where property-based testing and users found it drifting:
//! integers, metrics, error envelopes on every rejection path, redirect URIs and duplicate keys.

mod common;

use common::{Api, client, error, json};
use marketing_api_sandbox::Sandbox;
use reqwest::Method;
use serde_json::{Value, json};

async fn campaign(api: &Api) -> String {
    let created = json(
        api.post("/campaigns", json!({"name": "C", "budget_cents": 1}))
            .await,
        201,
    )
    .await;
    created["data"]["id"].as_str().unwrap().to_owned()
}

async fn body_json(response: reqwest::Response) -> Value {
    let text = response.text().await.expect("a body");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

async fn raw(api: &Api, method: Method, path: &str, body: &str) -> reqwest::Response {
    api.request(method, path)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("answered")
}

#[tokio::test]
async fn event_values_outside_int64_are_rejected_never_dropped() {
    let sandbox = Sandbox::start().await.expect("sandbox starts");
    let api = Api::new(&sandbox);
    for value in ["9223372036854775808", "-9223372036854775809", "1e19", "1.5"] {
        let body = format!(
            r#"{{"events": [{{"type": "purchase", "occurred_at": "2026-01-01T00:00:00Z", "value_cents": {value}}}]}}"#
        );
        let response = raw(&api, Method::POST, "/events", &body).await;
        let body = error(
            response,
            400,
            "invalid_request_error",
            "invalid_value",
            Some("events[0].value_cents"),
        )
        .await;
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("value_cents"),
            "{body}"
        );
    }
    assert_eq!(sandbox.accepted_event_count(), 0);

    // The largest and smallest int64 are kept exactly; `1e3` is the whole number 1000.
    let body = r#"{"events": [
        {"type": "purchase", "occurred_at": "2026-01-01T00:00:00Z", "value_cents": 9223372036854775807},
        {"type": "purchase", "occurred_at": "2026-01-01T00:00:01Z", "value_cents": -9223372036854775808},
        {"type": "purchase", "occurred_at": "2026-01-01T00:00:02Z", "value_cents": 1e3}
    ]}"#;
    let result = json(raw(&api, Method::POST, "/events", body).await, 200).await;
    assert_eq!(result["data"]["accepted"], 3, "{result}");
    let listed = json(api.get("/events?type=purchase").await, 200).await;
    let mut values: Vec<Value> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["value_cents"].clone())
        .collect();
    values.sort_by_key(|v| v.as_i64());
    assert_eq!(
        values,
        vec![json!(i64::MIN), json!(1000), json!(i64::MAX)],
        "{listed}"
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn whole_numbers_with_a_decimal_point_are_integers_on_post_put_and_patch() {
    let sandbox = Sandbox::start().await.expect("sandbox starts");
    let api = Api::new(&sandbox);
    let created = json(
        raw(
            &api,
            Method::POST,
            "/campaigns",
            r#"{"name": "Decimal", "budget_cents": 100.0, "daily_budget_cents": 1e2}"#,
        )
        .await,
        201,
    )
    .await;
    assert_eq!(created["data"]["budget_cents"], 100);
    assert_eq!(created["data"]["daily_budget_cents"], 100);
    let id = created["data"]["id"].as_str().unwrap().to_owned();

    let replaced = json(
        raw(
            &api,
            Method::PUT,
            &format!("/campaigns/{id}"),
            r#"{"name": "Decimal", "budget_cents": 200.0, "objective": "sales", "currency": "USD", "daily_budget_cents": 20.0}"#,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(replaced["data"]["budget_cents"], 200);
    assert_eq!(replaced["data"]["daily_budget_cents"], 20);

    let patched = json(
        raw(
            &api,
            Method::PATCH,
            &format!("/campaigns/{id}"),
            r#"{"budget_cents": 300.0, "daily_budget_cents": 30.0}"#,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(patched["data"]["budget_cents"], 300);
    assert_eq!(patched["data"]["daily_budget_cents"], 30);

    let ad = json(
        api.post(
            &format!("/campaigns/{id}/ads"),
            json!({"name": "A", "headline": "H", "destination_url": "https://shop.example.com/"}),
        )
        .await,
        201,
    )
    .await;
    let ad_id = ad["data"]["id"].as_str().unwrap().to_owned();
    let creative = json(
        raw(
            &api,
            Method::POST,
            &format!("/campaigns/{id}/ads/{ad_id}/creatives"),
            r#"{"kind": "image", "asset_url": "https://cdn.example.com/a.png", "width": 4.0, "height": 3e0, "alt_text": "A"}"#,
        )
        .await,
        201,
    )
    .await;
    assert_eq!(creative["data"]["width"], 4);
    assert_eq!(creative["data"]["height"], 3);

    // A fraction is not an integer, and int32 fields keep to int32.
    error(
        raw(
            &api,
            Method::PATCH,
            &format!("/campaigns/{id}"),
            r#"{"budget_cents": 300.5}"#,
        )
        .await,
        400,
        "invalid_request_error",
        "invalid_value",
        Some("budget_cents"),
    )
    .await;
    error(
        raw(
            &api,
            Method::POST,
            &format!("/campaigns/{id}/ads/{ad_id}/creatives"),
            r#"{"kind": "image", "asset_url": "https://cdn.example.com/a.png", "width": 2147483648, "height": 1, "alt_text": "A"}"#,
        )
        .await,
        400,
        "invalid_request_error",
        "invalid_value",
        Some("width"),
    )
    .await;
    sandbox.shutdown().await;
}

#[tokio::test]
async fn click_through_rate_stays_within_the_schema() {
    let sandbox = Sandbox::start().await.expect("sandbox starts");
    let api = Api::new(&sandbox);
    let id = campaign(&api).await;
    let batch = json!({"events": [
        {"type": "page_view", "occurred_at": "2026-01-01T00:00:00Z", "campaign_id": id},
        {"type": "ad_click", "occurred_at": "2026-01-01T00:00:01Z", "campaign_id": id},
        {"type": "ad_click", "occurred_at": "2026-01-01T00:00:02Z", "campaign_id": id},
    ]});
    json(api.post("/events", batch).await, 200).await;
    let got = json(api.get(&format!("/campaigns/{id}")).await, 200).await;
    let listed = json(api.get("/campaigns").await, 200).await;
    let stats = json(api.get(&format!("/campaigns/{id}/stats")).await, 200).await;
    for metrics in [
        &got["data"]["metrics"],
        &listed["data"][0]["metrics"],
        &stats["data"],
    ] {
        assert_eq!(metrics["impressions"], 1, "{metrics}");
        assert_eq!(metrics["clicks"], 2, "{metrics}");
        assert_eq!(metrics["ctr"], 1.0, "{metrics}");
    }
    // Clicks without any impression: no rate, not infinity.
    let other = campaign(&api).await;
    let batch = json!({"events": [
        {"type": "ad_click", "occurred_at": "2026-01-01T00:00:01Z", "campaign_id": other},
    ]});
    json(api.post("/events", batch).await, 200).await;
    let got = json(api.get(&format!("/campaigns/{other}")).await, 200).await;
    assert_eq!(got["data"]["metrics"]["ctr"], 0.0);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn every_rejection_is_the_json_error_envelope() {
    let sandbox = Sandbox::start().await.expect("sandbox starts");
    let api = Api::new(&sandbox);
    let id = campaign(&api).await;

    // Path parameters that are not UTF-8, on every nesting level.
    error(
        api.get("/campaigns/cmp_%FF").await,
        400,
        "invalid_request_error",
        "invalid_value",
        Some("campaign_id"),
    )
    .await;
    error(
        api.delete(&format!("/campaigns/{id}/ads/ad_%C3%28")).await,
        400,
        "invalid_request_error",
        "invalid_value",
        Some("ad_id"),
    )
    .await;
    error(
        api.get("/contacts/ctc_%FF%FE").await,
        400,
        "invalid_request_error",
        "invalid_value",
        Some("contact_id"),
    )
    .await;
    // Query strings.
    error(
        api.get("/campaigns?limit=%FF").await,
        400,
        "invalid_request_error",
        "invalid_value",
        Some("limit"),
    )
    .await;
    // JSON bodies: malformed, not an object, wrong content type.
    error(
        raw(&api, Method::POST, "/campaigns", "{").await,
        400,
        "invalid_request_error",
        "invalid_json",
        None,
    )
    .await;
    error(
        raw(&api, Method::PATCH, &format!("/campaigns/{id}"), "[1]").await,
        400,
        "invalid_request_error",
        "invalid_body",
        None,
    )
    .await;
    error(
        api.request(Method::POST, "/campaigns")
            .header("content-type", "text/plain")
            .body("name=x")
            .send()
            .await
            .unwrap(),
        400,
        "invalid_request_error",
        "invalid_content_type",
        None,
    )
    .await;
    // Headers that are not visible ASCII.
    let http = client();
    error(
        http.get(format!("{}/campaigns", sandbox.base_url()))
            .header(
                "x-api-key",
                reqwest::header::HeaderValue::from_bytes(b"k\xff").unwrap(),
            )
            .send()
            .await
            .unwrap(),
        401,
        "authentication_error",
        "invalid_api_key",
        None,
    )
    .await;
    error(
        api.request(Method::POST, "/campaigns")
            .header("content-type", "application/json")
            .header(
                "idempotency-key",
                reqwest::header::HeaderValue::from_bytes(b"k\xff").unwrap(),
            )
            .body(r#"{"name": "C", "budget_cents": 1}"#)
            .send()
            .await
            .unwrap(),
        400,
        "invalid_request_error",
        "invalid_value",
        Some("Idempotency-Key"),
    )
    .await;
    // Method not allowed and unknown routes.
    let not_allowed = api.delete("/campaigns").await;
    assert!(not_allowed.headers().contains_key("allow"));
    error(
        not_allowed,
        405,
        "invalid_request_error",
        "method_not_allowed",
        None,
    )
    .await;
    error(
        api.get("/campaigns/x/y/z/w/v/u").await,
        404,
        "not_found_error",
        "route_not_found",
        None,
    )
    .await;
    error(
        api.get("/%FF").await,
        404,
        "not_found_error",
        "route_not_found",
        None,
    )
    .await;

    // The OAuth endpoints answer in the RFC 6749 form, also for bytes that are not UTF-8.
    let response = http
        .post(sandbox.token_url())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(b"grant_type=client_credentials&client_id=%FF\xff".to_vec())
        .send()
        .await
        .unwrap();
    assert!(
        response.status() == 400 || response.status() == 401,
        "{}",
        response.status()
    );
    let body = body_json(response).await;
    assert!(body["error"].is_string(), "{body}");
    sandbox.shutdown().await;
}

fn authorize_url(sandbox: &Sandbox, redirect_uri: &str) -> String {
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    format!(
        "{}/oauth/authorize?response_type=code&client_id={}&redirect_uri={redirect_uri}&state=s1&code_challenge={challenge}&code_challenge_method=S256",
        sandbox.base_url(),
        sandbox.client_id()
    )
}

#[tokio::test]
async fn authorize_redirects_only_to_registered_uris() {
    let sandbox = Sandbox::builder()
        .redirect_uris(["https://app.example.org/callback"])
        .start()
        .await
        .expect("sandbox starts");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for bad in [
        "https://a%20b",
        "https://a%0Ab",
        "https://%C3%A9xample.org/callback",
        "https://app.example.org/callback%0D%0Ax:1",
        "app.example.org/callback",
        "https://app.example.org/callback/",
        "https://app.example.org/callback?x=1",
        "https://evil.example/callback",
        "https://app.example.org/callback%23frag",
    ] {
        let response = http.get(authorize_url(&sandbox, bad)).send().await.unwrap();
        assert_eq!(response.status(), 400, "{bad}");
        assert!(!response.headers().contains_key("location"), "{bad}");
        let body = body_json(response).await;
        assert_eq!(body["error"], "invalid_request", "{bad}: {body}");
    }
    // The registered URI is matched exactly and the Location is a valid URI.
    let response = http
        .get(authorize_url(
            &sandbox,
            "https%3A%2F%2Fapp.example.org%2Fcallback",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    let location = response.headers()["location"].to_str().unwrap();
    let url = reqwest::Url::parse(location).expect("a valid URI");
    assert_eq!(url.path(), "/callback");
    assert!(url.query().unwrap().contains("code="));
    sandbox.shutdown().await;

    // By default loopback redirect URIs (any port, RFC 8252) and the spec's example are registered.
    let sandbox = Sandbox::start().await.expect("sandbox starts");
    for good in [
        "http://127.0.0.1:8910/callback",
        "http://127.0.0.1/callback",
        "http://[::1]:4000/callback",
        "https://app.example.org/callback",
    ] {
        let response = http
            .get(authorize_url(&sandbox, good))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 302, "{good}");
        let location = response.headers()["location"].to_str().unwrap();
        assert!(location.starts_with(good), "{location}");
    }
    for bad in [
        "http://127.0.0.1:8910/other",
        "http://localhost.example:8910/callback",
    ] {
        let response = http.get(authorize_url(&sandbox, bad)).send().await.unwrap();
        assert_eq!(response.status(), 400, "{bad}");
    }
    sandbox.shutdown().await;
}

#[tokio::test]
async fn duplicate_json_keys_are_rejected_by_every_method() {
    let sandbox = Sandbox::start().await.expect("sandbox starts");
    let api = Api::new(&sandbox);
    let id = campaign(&api).await;
    let cases = [
        (
            Method::POST,
            "/campaigns".to_owned(),
            r#"{"name": "a", "name": "b", "budget_cents": 1}"#,
        ),
        (
            Method::PUT,
            format!("/campaigns/{id}"),
            r#"{"name": "a", "budget_cents": 1, "objective": "sales", "currency": "USD", "currency": "EUR"}"#,
        ),
        (
            Method::PATCH,
            format!("/campaigns/{id}"),
            r#"{"name": "a", "name": "b"}"#,
        ),
        (
            Method::POST,
            "/events".to_owned(),
            r#"{"events": [{"type": "page_view", "type": "ad_click", "occurred_at": "2026-01-01T00:00:00Z"}]}"#,
        ),
    ];
    for (method, path, body) in cases {
        let response = raw(&api, method.clone(), &path, body).await;
        let body = error(
            response,
            400,
            "invalid_request_error",
            "duplicate_field",
            None,
        )
        .await;
        assert!(
            body["error"]["message"].as_str().unwrap().contains("twice"),
            "{method} {path}: {body}"
        );
    }
    let unchanged = json(api.get(&format!("/campaigns/{id}")).await, 200).await;
    assert_eq!(unchanged["data"]["name"], "C");
    assert_eq!(sandbox.accepted_event_count(), 0);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn oversized_token_requests_get_an_oauth_error() {
    let sandbox = Sandbox::start().await.expect("sandbox starts");
    let body = format!(
        "grant_type=client_credentials&scope={}",
        "a".repeat(1_100_000)
    );
    let response = client()
        .post(sandbox.token_url())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let body = body_json(response).await;
    assert_eq!(body["error"], "invalid_request", "{body}");
    assert!(body["error_description"].is_string(), "{body}");
    sandbox.shutdown().await;
}
