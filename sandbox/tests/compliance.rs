//! Integration API keys, the audit trail, usage, and the privacy requests (export, erasure)
//! over HTTP.

mod common;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use common::{Api, error, json};
use marketing_api_sandbox::Sandbox;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn with_key(api: &Api, key: &str) -> Api {
    Api {
        http: api.http.clone(),
        base: api.base.clone(),
        key: key.to_owned(),
    }
}

async fn create_key(api: &Api, scopes: Value) -> (String, String) {
    let created = json(
        api.post("/api-keys", json!({"name": "CRM sync", "scopes": scopes}))
            .await,
        201,
    )
    .await;
    let secret = created["data"]["secret"].as_str().unwrap().to_owned();
    let id = created["data"]["api_key"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        created["data"]["api_key"]["prefix"].as_str().unwrap(),
        &secret[..11]
    );
    (id, secret)
}

#[tokio::test]
async fn integration_keys_are_scoped_listed_without_secret_and_revoked_at_once() {
    let sandbox = Sandbox::start().await.expect("sandbox starts");
    let admin = Api::new(&sandbox);
    let (crm_id, crm_secret) = create_key(&admin, json!(["contacts:read", "contacts:write"])).await;
    let (_, bi_secret) = create_key(&admin, json!(["contacts:read"])).await;
    let crm = with_key(&admin, &crm_secret);
    let bi = with_key(&admin, &bi_secret);

    // The listing never shows a secret, only its prefix.
    let listed = admin.get("/api-keys").await.text().await.unwrap();
    assert!(!listed.contains(&crm_secret) && !listed.contains(&bi_secret));
    assert!(listed.contains(&crm_secret[..11]));

    // Scopes hold: the read-only key cannot write, nor mint a key that could.
    json(
        crm.post("/contacts", json!({"email": "a@example.com"}))
            .await,
        201,
    )
    .await;
    error(
        bi.post("/contacts", json!({"email": "b@example.com"}))
            .await,
        403,
        "permission_error",
        "insufficient_scope",
        None,
    )
    .await;
    error(
        crm.get("/api-keys").await,
        403,
        "permission_error",
        "insufficient_scope",
        None,
    )
    .await;

    let revoked = json(
        admin
            .post(&format!("/api-keys/{crm_id}/revoke"), json!({}))
            .await,
        200,
    )
    .await;
    assert_eq!(revoked["data"]["status"], "revoked");
    assert!(revoked["data"]["revoked_at"].is_string());
    error(
        crm.get("/contacts").await,
        401,
        "authentication_error",
        "api_key_revoked",
        None,
    )
    .await;
    json(bi.get("/contacts").await, 200).await;
    let active = json(admin.get("/api-keys?status=active").await, 200).await;
    assert_eq!(active["meta"]["total_count"], 1);
    error(
        admin.post("/api-keys/apk_missing/revoke", json!({})).await,
        404,
        "not_found_error",
        "resource_missing",
        Some("api_key_id"),
    )
    .await;
}

#[tokio::test]
async fn a_scoped_key_cannot_grant_more_than_it_holds() {
    let sandbox = Sandbox::start().await.expect("sandbox starts");
    let admin = Api::new(&sandbox);
    let (_, secret) = create_key(&admin, json!(["api_keys:write", "contacts:read"])).await;
    let manager = with_key(&admin, &secret);
    json(
        manager
            .post(
                "/api-keys",
                json!({"name": "ro", "scopes": ["contacts:read"]}),
            )
            .await,
        201,
    )
    .await;
    error(
        manager
            .post(
                "/api-keys",
                json!({"name": "rw", "scopes": ["contacts:write"]}),
            )
            .await,
        403,
        "permission_error",
        "insufficient_scope",
        Some("scopes"),
    )
    .await;
}

#[tokio::test]
async fn every_access_is_audited_by_actor_and_counted_in_usage() {
    let sandbox = Sandbox::start().await.expect("sandbox starts");
    let admin = Api::new(&sandbox);
    let (key_id, secret) = create_key(&admin, json!(["contacts:read", "contacts:write"])).await;
    let crm = with_key(&admin, &secret);
    let contact = json(
        crm.post(
            "/contacts",
            json!({"email": "grace@example.com", "first_name": "Grace"}),
        )
        .await,
        201,
    )
    .await;
    let contact_id = contact["data"]["id"].as_str().unwrap().to_owned();
    json(crm.get(&format!("/contacts/{contact_id}")).await, 200).await;
    json(crm.get("/contacts?email=grace@example.com").await, 200).await;
    // An unauthenticated call is audited too.
    let anonymous = with_key(&admin, "sk_wrong");
    anonymous.get("/contacts").await;

    let trail = json(
        admin.get(&format!("/audit-events?actor_id={key_id}")).await,
        200,
    )
    .await;
    let events = trail["data"].as_array().unwrap();
    let operations: Vec<&str> = events
        .iter()
        .map(|e| e["operation"].as_str().unwrap())
        .collect();
    assert_eq!(operations, ["createContact", "getContact", "listContacts"]);
    assert_eq!(events[1]["resource_id"], contact_id.as_str());
    assert_eq!(events[1]["path_template"], "/contacts/{contact_id}");
    assert_eq!(events[1]["actor"], json!({"type": "api_key", "id": key_id}));
    // Identifiers only: no e-mail, no name, no secret anywhere in the trail.
    let all = admin
        .get("/audit-events?limit=100")
        .await
        .text()
        .await
        .unwrap();
    for needle in [
        "grace@example.com",
        "Grace",
        secret.as_str(),
        sandbox.api_key(),
    ] {
        assert!(!all.contains(needle), "the trail holds {needle}");
    }
    let failed = json(admin.get("/audit-events?actor_id=anonymous").await, 200).await;
    assert_eq!(failed["data"][0]["status"], 401);
    assert_eq!(failed["data"][0]["outcome"], "failure");

    let usage = json(admin.get(&format!("/usage?consumer={key_id}")).await, 200).await;
    assert_eq!(usage["data"]["total_requests"], 3);
    let rows = usage["data"]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert!(
        rows.iter()
            .all(|r| r["requests"] == 1 && r["api_version"] == "v1")
    );
    error(
        admin.get("/usage?start_date=yesterday").await,
        400,
        "invalid_request_error",
        "invalid_value",
        Some("start_date"),
    )
    .await;
}

#[derive(Default)]
struct Receiver {
    fail: AtomicBool,
    bodies: Mutex<Vec<String>>,
}

async fn receive(State(receiver): State<Arc<Receiver>>, body: Bytes) -> StatusCode {
    receiver
        .bodies
        .lock()
        .unwrap()
        .push(String::from_utf8_lossy(&body).into_owned());
    if receiver.fail.load(Ordering::SeqCst) {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::NO_CONTENT
    }
}

#[tokio::test]
async fn erasure_removes_the_contact_everywhere_and_withdraws_its_webhooks() {
    let sandbox = Sandbox::builder()
        // Deliveries keep failing, so the contact's events sit in the retry queue at erasure.
        .webhook_retry_schedule(vec![Duration::from_millis(300); 3])
        .start()
        .await
        .expect("sandbox starts");
    let api = Api::new(&sandbox);
    let receiver = Arc::new(Receiver::default());
    receiver.fail.store(true, Ordering::SeqCst);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    let app = Router::new()
        .route("/hooks", post(receive))
        .with_state(receiver.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    json(
        api.post(
            "/webhook_endpoints",
            json!({"url": url, "event_types": ["contact.created", "contact.updated", "audience.updated"]}),
        )
        .await,
        201,
    )
    .await;

    let email = "ada.lovelace@example.com";
    let contact = json(
        api.post("/contacts", json!({"email": email, "first_name": "Ada"}))
            .await,
        201,
    )
    .await;
    let id = contact["data"]["id"].as_str().unwrap().to_owned();
    let audience = json(api.post("/audiences", json!({"name": "VIP"})).await, 201).await;
    let audience_id = audience["data"]["id"].as_str().unwrap().to_owned();
    json(
        api.post(
            &format!("/audiences/{audience_id}/contacts"),
            json!({"contact_ids": [id]}),
        )
        .await,
        200,
    )
    .await;
    json(
        api.post(
            "/events",
            json!({"events": [{"type": "page_view", "contact_id": id, "occurred_at": "2026-11-02T10:00:00Z"}]}),
        )
        .await,
        200,
    )
    .await;

    let export = json(
        api.post(&format!("/contacts/{id}/export"), json!({})).await,
        200,
    )
    .await;
    assert_eq!(export["data"]["contact"]["email"], email);
    assert_eq!(export["data"]["events"].as_array().unwrap().len(), 1);
    assert_eq!(export["data"]["audiences"][0]["id"], audience_id.as_str());
    assert!(
        !export["data"]["webhook_deliveries"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let receipt = json(
        api.post(&format!("/contacts/{id}/erase"), json!({})).await,
        200,
    )
    .await;
    assert_eq!(receipt["data"]["contact_id"], id.as_str());
    assert_eq!(receipt["data"]["events_erased"], 1);
    assert_eq!(receipt["data"]["memberships_removed"], 1);
    assert!(receipt["data"]["deliveries_withdrawn"].as_u64().unwrap() >= 1);
    let seen_before = receiver.bodies.lock().unwrap().len();

    // No endpoint returns the contact's data any more.
    error(
        api.get(&format!("/contacts/{id}")).await,
        404,
        "not_found_error",
        "resource_missing",
        Some("contact_id"),
    )
    .await;
    for path in [
        "/contacts?limit=100".to_owned(),
        format!("/events?contact_id={id}"),
        "/events?limit=100".to_owned(),
        format!("/audiences/{audience_id}/contacts"),
        "/webhook_deliveries?limit=100".to_owned(),
    ] {
        let body = api.get(&path).await.text().await.unwrap();
        assert!(
            !body.contains(email) && !body.contains(&id),
            "{path} still shows the contact: {body}"
        );
    }
    error(
        api.post(&format!("/contacts/{id}/erase"), json!({})).await,
        404,
        "not_found_error",
        "resource_missing",
        Some("contact_id"),
    )
    .await;

    // Later webhooks do not carry it: the receiver recovers and the retry schedule runs out.
    receiver.fail.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let bodies = receiver.bodies.lock().unwrap().clone();
    assert!(
        bodies[seen_before..]
            .iter()
            .all(|b| !b.contains(email) && !b.contains(&id)),
        "a webhook after the erasure carried the contact"
    );

    // The audit trail shows the erasure, and nothing of the erased data.
    let trail = json(
        api.get(&format!(
            "/audit-events?resource_id={id}&operation=eraseContact"
        ))
        .await,
        200,
    )
    .await;
    assert_eq!(trail["data"][0]["status"], 200);
    let all = api
        .get("/audit-events?limit=100")
        .await
        .text()
        .await
        .unwrap();
    assert!(!all.contains(email) && !all.contains("Ada"));
}
