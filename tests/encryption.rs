//! Field-level encryption end to end, over real sockets: the sandbox encrypts `x-sensitive`
//! fields once a key is registered (the raw bytes show JWE), the SDK decrypts them with its key
//! provider, every way of failing is its own typed error, keys rotate, writes can be encrypted
//! to the platform, and webhook payloads are decrypted after their signature is verified. The
//! same for financial values nested in an event's `properties`, bound to their path.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::HeaderMap;
use marketing_api::encryption::{DecryptErrorKind, PlatformKeys, PrivateKeySet, jwe_kid};
use marketing_api::models::{
    ContactId, EventBatch, InteractionEventType, NewContact, NewInteractionEvent,
    NewWebhookEndpoint, WebhookEventType,
};
use marketing_api::webhooks::{Event, Verifier, WebhookSecret};
use marketing_api::{Client, ErrorKind, auth::ApiKey};
use marketing_api_sandbox::Sandbox;
use serde_json::Value;
use tokio::sync::mpsc;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn client(base_url: &str, api_key: &str, keys: Option<&PrivateKeySet>) -> Client {
    let builder = Client::builder(base_url).auth(ApiKey::new(api_key).expect("key"));
    match keys {
        Some(keys) => builder.key_provider(keys.clone()),
        None => builder,
    }
    .build()
    .expect("a loopback client")
}

/// The raw body of `GET path` as the wire carries it.
async fn raw_get(sandbox: &Sandbox, path: &str) -> String {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
        .get(format!("{}{path}", sandbox.base_url()))
        .header("x-api-key", sandbox.api_key())
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("body")
}

fn is_jwe(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|s| s.starts_with("eyJ") && s.split('.').count() == 5)
}

async fn create(client: &Client, email: &str) -> ContactId {
    client
        .contacts()
        .create(
            &NewContact::builder()
                .email(email)
                .build()
                .with_first_name("Ada")
                .with_phone("+442071838750"),
        )
        .send()
        .await
        .expect("created")
        .id
}

#[tokio::test]
async fn a_contact_travels_as_jwe_and_reads_back_in_plaintext() {
    let sandbox = Sandbox::start().await.expect("sandbox");
    let keys = PrivateKeySet::new();
    let reader = client(&sandbox.base_url(), sandbox.api_key(), Some(&keys));
    let registered = keys
        .generate_and_register(&reader, "k1")
        .await
        .expect("registered");
    assert_eq!(registered.kid, "k1");
    let id = create(&reader, "ada@example.com").await;

    // On the wire: each sensitive field a JWE to k1, nothing in plaintext.
    let raw = raw_get(&sandbox, &format!("/contacts/{id}")).await;
    for plain in ["ada@example.com", "+442071838750", "\"Ada\""] {
        assert!(!raw.contains(plain), "{plain} on the wire: {raw}");
    }
    let body: Value = serde_json::from_str(&raw).expect("json");
    for field in ["email", "phone", "first_name"] {
        let value = &body["data"][field];
        assert!(is_jwe(value), "{field}: {value}");
        assert_eq!(jwe_kid(value.as_str().unwrap()).as_deref(), Some("k1"));
    }
    assert_eq!(body["data"]["last_name"], Value::Null);
    assert_eq!(body["data"]["status"], "subscribed");

    // Through the SDK with the key: plaintext; its Debug shows none of it.
    let contact = reader.contacts().get(&id).send().await.expect("get");
    assert_eq!(
        contact.email.expose().expect("decrypted"),
        "ada@example.com"
    );
    assert_eq!(contact.first_name.as_ref().map(|n| n == "Ada"), Some(true));
    let debug = format!("{contact:?}");
    assert!(!debug.contains("ada@") && !debug.contains("eyJ"), "{debug}");

    // Without a key the values stay sealed, and reading one says so.
    let keyless = client(&sandbox.base_url(), sandbox.api_key(), None);
    let sealed = keyless.contacts().get(&id).send().await.expect("get");
    assert!(sealed.email.is_sealed());
    assert!(sealed.email.expose().is_err());

    // Filters still work: the platform matches the plaintext it holds.
    let page = reader
        .contacts()
        .list()
        .email("ada@example.com")
        .send()
        .await
        .expect("list");
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].email, "ada@example.com");
    sandbox.shutdown().await;
}

/// Serves `body` as the answer to `GET /contacts/{id}` from a mock server on 127.0.0.1: the
/// stand-in for a proxy that altered a real answer of the sandbox.
async fn serve(body: &Value, id: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/contacts/{id}")))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/json")
                .set_body_string(body.to_string()),
        )
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn wrong_key_unknown_kid_tampering_and_swaps_are_distinct_errors() {
    let sandbox = Sandbox::start().await.expect("sandbox");
    let keys = PrivateKeySet::new();
    let owner = client(&sandbox.base_url(), sandbox.api_key(), Some(&keys));
    keys.generate_and_register(&owner, "k1").await.expect("k1");
    let ada = create(&owner, "ada@example.com").await;
    let bob = create(&owner, "bob@example.com").await;
    let ada_raw: Value =
        serde_json::from_str(&raw_get(&sandbox, &format!("/contacts/{ada}")).await).unwrap();
    let bob_raw: Value =
        serde_json::from_str(&raw_get(&sandbox, &format!("/contacts/{bob}")).await).unwrap();

    let kind_for = |keys: PrivateKeySet, body: Value, id: ContactId| async move {
        let server = serve(&body, id.as_str()).await;
        let error = client(&server.uri(), "sk_test", Some(&keys))
            .contacts()
            .get(&id)
            .send()
            .await
            .expect_err("refused");
        assert_eq!(error.kind(), ErrorKind::Decrypt);
        let message = error.to_string();
        assert!(
            !message.contains("@example.com") && !message.contains("eyJ"),
            "{message}"
        );
        error.decrypt_error().expect("the decrypt error").kind()
    };

    // The right kid, another key.
    let impostor = PrivateKeySet::new();
    impostor.generate("k1").unwrap();
    assert_eq!(
        kind_for(impostor, ada_raw.clone(), ada.clone()).await,
        DecryptErrorKind::WrongKey
    );
    // No key with that kid.
    let other = PrivateKeySet::new();
    other.generate("k2").unwrap();
    assert_eq!(
        kind_for(other, ada_raw.clone(), ada.clone()).await,
        DecryptErrorKind::UnknownKid
    );
    // One character of the ciphertext changed.
    let mut tampered = ada_raw.clone();
    let jwe = tampered["data"]["email"].as_str().unwrap().to_owned();
    let mut parts: Vec<String> = jwe.split('.').map(str::to_owned).collect();
    let first = if parts[3].starts_with('A') { "B" } else { "A" };
    parts[3].replace_range(0..1, first);
    tampered["data"]["email"] = parts.join(".").into();
    assert_eq!(
        kind_for(keys.clone(), tampered, ada.clone()).await,
        DecryptErrorKind::Tampered
    );
    // Bob's e-mail ciphertext pasted into Ada.
    let mut swapped = ada_raw.clone();
    swapped["data"]["email"] = bob_raw["data"]["email"].clone();
    assert_eq!(
        kind_for(keys.clone(), swapped, ada.clone()).await,
        DecryptErrorKind::Misbound
    );
    // Ada's phone ciphertext moved into her e-mail.
    let mut moved = ada_raw.clone();
    moved["data"]["email"] = ada_raw["data"]["phone"].clone();
    assert_eq!(
        kind_for(keys.clone(), moved, ada.clone()).await,
        DecryptErrorKind::Misbound
    );
    // The untouched answer decrypts.
    let server = serve(&ada_raw, ada.as_str()).await;
    let contact = client(&server.uri(), "sk_test", Some(&keys))
        .contacts()
        .get(&ada)
        .send()
        .await
        .expect("decrypts");
    assert_eq!(contact.email, "ada@example.com");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn keys_rotate_old_ciphertexts_stay_readable_and_revocation_is_immediate() {
    let sandbox = Sandbox::start().await.expect("sandbox");
    let keys = PrivateKeySet::new();
    let sdk = client(&sandbox.base_url(), sandbox.api_key(), Some(&keys));
    let first = keys
        .generate_and_register(&sdk, "2026-10")
        .await
        .expect("k1");
    let id = create(&sdk, "ada@example.com").await;
    let kid_on_wire = |raw: &str| -> Option<String> {
        let body: Value = serde_json::from_str(raw).unwrap();
        body["data"]["email"].as_str().and_then(jwe_kid)
    };
    // An answer kept from before the rotation (as a consumer's queue or store would).
    let old = raw_get(&sandbox, &format!("/contacts/{id}")).await;
    assert_eq!(kid_on_wire(&old).as_deref(), Some("2026-10"));

    let second = keys
        .generate_and_register(&sdk, "2026-11")
        .await
        .expect("k2");
    let new = raw_get(&sandbox, &format!("/contacts/{id}")).await;
    assert_eq!(
        kid_on_wire(&new).as_deref(),
        Some("2026-11"),
        "the newest key is used"
    );
    let listed = sdk.encryption_keys().list().send().await.expect("list");
    assert_eq!(listed.items.len(), 2);

    // Both keys in the provider: the old answer and the new one decrypt.
    let server = serve(&serde_json::from_str(&old).unwrap(), id.as_str()).await;
    let replayed = client(&server.uri(), "sk_test", Some(&keys));
    let contact = replayed.contacts().get(&id).send().await.expect("old kid");
    assert_eq!(contact.email, "ada@example.com");
    let contact = sdk.contacts().get(&id).send().await.expect("new kid");
    assert_eq!(contact.email, "ada@example.com");

    // Revoking the new key takes effect on the next answer: back to the older active key.
    let revoked = sdk
        .encryption_keys()
        .revoke(&second.id)
        .send()
        .await
        .expect("revoke");
    assert!(revoked.revoked_at.is_some());
    let after = raw_get(&sandbox, &format!("/contacts/{id}")).await;
    assert_eq!(kid_on_wire(&after).as_deref(), Some("2026-10"));
    // Revoking the last active key: plaintext again.
    sdk.encryption_keys()
        .revoke(&first.id)
        .send()
        .await
        .expect("revoke");
    let plain = raw_get(&sandbox, &format!("/contacts/{id}")).await;
    assert!(plain.contains("\"ada@example.com\""), "{plain}");

    // Once the old private key is dropped, what was encrypted to it reads as an unknown kid.
    assert!(keys.remove("2026-10"));
    let error = replayed.contacts().get(&id).send().await.expect_err("gone");
    assert_eq!(
        error.decrypt_error().map(|e| e.kind()),
        Some(DecryptErrorKind::UnknownKid)
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn writes_are_encrypted_to_the_platform_and_accepted() {
    let sandbox = Sandbox::start().await.expect("sandbox");
    let plain = client(&sandbox.base_url(), sandbox.api_key(), None);
    let platform = PlatformKeys::fetch(&plain).await.expect("jwks");

    // What leaves the process: the request as a mock server on 127.0.0.1 receives it.
    let capture = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/contacts"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&capture)
        .await;
    let encrypting = Client::builder(capture.uri())
        .auth(ApiKey::new("sk_test").unwrap())
        .encrypt_writes(&platform)
        .retry_policy(marketing_api::retry::RetryPolicy::never())
        .build()
        .unwrap();
    let new = NewContact::builder()
        .email("grace@example.com")
        .build()
        .with_last_name("Hopper");
    let _ = encrypting.contacts().create(&new).send().await;
    let sent = &capture.received_requests().await.expect("recorded")[0];
    let sent_text = String::from_utf8_lossy(&sent.body).into_owned();
    assert!(
        !sent_text.contains("grace@") && !sent_text.contains("Hopper"),
        "{sent_text}"
    );
    let sent_json: Value = serde_json::from_slice(&sent.body).unwrap();
    assert!(is_jwe(&sent_json["email"]) && is_jwe(&sent_json["last_name"]));
    assert_eq!(sent_json["status"], Value::Null, "unset fields stay unset");

    // The platform decrypts those exact bytes and stores the plaintext.
    let http = reqwest::Client::new();
    let created = http
        .post(format!("{}/contacts", sandbox.base_url()))
        .header("x-api-key", sandbox.api_key())
        .header("content-type", "application/json")
        .body(sent.body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = serde_json::from_slice(&created.bytes().await.unwrap()).unwrap();
    assert_eq!(created["data"]["email"], "grace@example.com");
    assert_eq!(created["data"]["last_name"], "Hopper");

    // A ciphertext bound to another field is refused, naming the field and not the value.
    let mut moved = sent_json.clone();
    moved["email"] = sent_json["last_name"].clone();
    let refused = http
        .post(format!("{}/contacts", sandbox.base_url()))
        .header("x-api-key", sandbox.api_key())
        .header("content-type", "application/json")
        .body(moved.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let refused: Value = serde_json::from_slice(&refused.bytes().await.unwrap()).unwrap();
    assert_eq!(refused["error"]["code"], "undecryptable_field");
    assert_eq!(refused["error"]["param"], "email");

    // And the SDK straight to the sandbox, encrypting: the contact is created as sent.
    let direct = Client::builder(sandbox.base_url())
        .auth(ApiKey::new(sandbox.api_key()).unwrap())
        .encrypt_writes(&platform)
        .build()
        .unwrap();
    let made = direct
        .contacts()
        .create(&NewContact::builder().email("linus@example.com").build())
        .send()
        .await
        .expect("accepted");
    assert_eq!(made.email, "linus@example.com");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn webhook_payloads_are_encrypted_and_the_verifier_decrypts_them() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sandbox = Sandbox::start().await.expect("sandbox");
    let keys = PrivateKeySet::new();
    let sdk = client(&sandbox.base_url(), sandbox.api_key(), Some(&keys));
    keys.generate_and_register(&sdk, "hooks-1")
        .await
        .expect("key");

    // A receiver on 127.0.0.1 that hands over each request's headers and raw body.
    let (tx, mut rx) = mpsc::unbounded_channel::<(HeaderMap, Bytes)>();
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            async move {
                let _ = tx.send((headers, body));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let endpoint = sdk
        .webhook_endpoints()
        .create(
            &NewWebhookEndpoint::builder()
                .url(url)
                .event_types(vec![WebhookEventType::ContactCreated])
                .build(),
        )
        .send()
        .await
        .expect("endpoint");
    let secret = WebhookSecret::parse(endpoint.secret.as_deref().expect("secret")).unwrap();

    let id = create(&sdk, "ada@example.com").await;
    let (headers, body) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("delivered in time")
        .expect("a delivery");
    let raw = String::from_utf8_lossy(&body).into_owned();
    assert!(!raw.contains("ada@example.com"), "{raw}");
    let payload: Value = serde_json::from_slice(&body).unwrap();
    assert!(is_jwe(&payload["data"]["email"]), "{raw}");

    // Verified as signed (over the ciphertext), then decrypted.
    let verifier = Verifier::builder()
        .secret(secret.clone())
        .key_provider(keys.clone())
        .build()
        .unwrap();
    match verifier
        .verify_event(&headers, &body)
        .expect("verified and decrypted")
    {
        Event::ContactCreated(event) => {
            assert_eq!(event.data.id, id);
            assert_eq!(event.data.email, "ada@example.com");
        }
        other => panic!("unexpected {}", other.event_type()),
    }
    // Without the key the event still verifies; its sensitive fields stay sealed.
    let keyless = Verifier::builder().secret(secret.clone()).build().unwrap();
    match keyless.verify_event(&headers, &body).expect("verified") {
        Event::ContactCreated(event) => assert!(event.data.email.is_sealed()),
        other => panic!("unexpected {}", other.event_type()),
    }
    // With the wrong key: a typed error, after the signature passed.
    let wrong = PrivateKeySet::new();
    wrong.generate("hooks-1").unwrap();
    let error = Verifier::builder()
        .secret(secret)
        .key_provider(Arc::new(wrong))
        .build()
        .unwrap()
        .verify_event(&headers, &body)
        .expect_err("wrong key");
    assert_eq!(error.check(), "decrypt");
    server.abort();
    sandbox.shutdown().await;
}

/// A purchase event whose `properties` carry financial data: `revenue`, `payment_method` and
/// `card_last4` (marked `x-sensitive: {class: financial}`) beside `currency` and free keys.
fn purchase(revenue: &str, last4: &str, order: &str) -> NewInteractionEvent {
    NewInteractionEvent::builder()
        .type_(InteractionEventType::Purchase)
        .occurred_at(chrono::Utc::now())
        .build()
        .with_properties(serde_json::json!({
            "revenue": revenue,
            "currency": "EUR",
            "payment_method": "card",
            "card_last4": last4,
            "order_id": order,
        }))
        .expect("a JSON object")
}

#[tokio::test]
async fn financial_event_properties_are_encrypted_at_their_nested_position() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sandbox = Sandbox::start().await.expect("sandbox");
    let keys = PrivateKeySet::new();
    let sdk = client(&sandbox.base_url(), sandbox.api_key(), Some(&keys));
    keys.generate_and_register(&sdk, "fin-1")
        .await
        .expect("key");
    let platform = PlatformKeys::fetch(&sdk).await.expect("jwks");

    // A receiver on 127.0.0.1 for `purchase.completed`.
    let (tx, mut rx) = mpsc::unbounded_channel::<(HeaderMap, Bytes)>();
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            async move {
                let _ = tx.send((headers, body));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let endpoint = sdk
        .webhook_endpoints()
        .create(
            &NewWebhookEndpoint::builder()
                .url(url)
                .event_types(vec![WebhookEventType::PurchaseCompleted])
                .build(),
        )
        .send()
        .await
        .expect("endpoint");
    let secret = WebhookSecret::parse(endpoint.secret.as_deref().expect("secret")).unwrap();

    // Writing: with `encrypt_writes` the nested financial values leave the process as JWE to
    // the platform, bound to their path in the batch; `currency` and free keys stay plain.
    let capture = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/events"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&capture)
        .await;
    let encrypting = |base: String| {
        Client::builder(base)
            .auth(ApiKey::new(sandbox.api_key()).unwrap())
            .encrypt_writes(&platform)
            .retry_policy(marketing_api::retry::RetryPolicy::never())
            .build()
            .unwrap()
    };
    let batch = EventBatch::builder()
        .events(vec![
            purchase("129.99", "4242", "ord_55120"),
            purchase("5.00", "1881", "ord_55121"),
        ])
        .build();
    let _ = encrypting(capture.uri())
        .events()
        .send_batch(&batch)
        .send()
        .await;
    let sent = &capture.received_requests().await.expect("recorded")[0];
    let sent_json: Value = serde_json::from_slice(&sent.body).unwrap();
    let sent_text = String::from_utf8_lossy(&sent.body).into_owned();
    assert!(
        !sent_text.contains("129.99") && !sent_text.contains("4242"),
        "{sent_text}"
    );
    for i in 0..2 {
        let properties = &sent_json["events"][i]["properties"];
        for field in ["revenue", "payment_method", "card_last4"] {
            assert!(is_jwe(&properties[field]), "{field}: {sent_text}");
        }
        assert_eq!(properties["currency"], "EUR");
    }
    // Swapped between the two events of the batch: the platform refuses it, naming the place.
    let mut swapped = sent_json.clone();
    swapped["events"][0]["properties"]["revenue"] =
        sent_json["events"][1]["properties"]["revenue"].clone();
    let http = reqwest::Client::new();
    let refused = http
        .post(format!("{}/events", sandbox.base_url()))
        .header("x-api-key", sandbox.api_key())
        .header("content-type", "application/json")
        .body(swapped.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let refused: Value = serde_json::from_slice(&refused.bytes().await.unwrap()).unwrap();
    assert_eq!(refused["error"]["code"], "undecryptable_field");
    assert_eq!(refused["error"]["param"], "events[0].properties.revenue");
    // The SDK straight to the sandbox: the platform decrypts the nested values and stores them.
    let result = encrypting(sandbox.base_url())
        .events()
        .send_batch(&batch)
        .send()
        .await
        .expect("accepted");
    assert_eq!(result.accepted, 2);

    // Reading: on the wire each financial property is a JWE to the consumer's key.
    let raw = raw_get(&sandbox, "/events?type=purchase").await;
    assert!(
        !raw.contains("4242") && !raw.contains("129.99") && !raw.contains("\"card\""),
        "{raw}"
    );
    let page: Value = serde_json::from_str(&raw).expect("json");
    assert_eq!(page["data"].as_array().map(Vec::len), Some(2));
    for event in page["data"].as_array().unwrap() {
        let properties = &event["properties"];
        for field in ["revenue", "payment_method", "card_last4"] {
            assert!(is_jwe(&properties[field]), "{field}: {raw}");
            assert_eq!(
                jwe_kid(properties[field].as_str().unwrap()).as_deref(),
                Some("fin-1")
            );
        }
        assert_eq!(properties["currency"], "EUR");
        assert!(properties["order_id"].as_str().unwrap().starts_with("ord_"));
    }
    // Through the SDK: plaintext, in the typed members; a filter still selects on the server.
    let events = sdk
        .events()
        .list()
        .type_(InteractionEventType::Purchase)
        .send()
        .await
        .expect("list");
    let mut revenues: Vec<&str> = events
        .items
        .iter()
        .map(|e| {
            e.properties
                .revenue
                .as_ref()
                .expect("present")
                .expose()
                .expect("decrypted")
                .as_str()
        })
        .collect();
    revenues.sort_unstable();
    assert_eq!(revenues, ["129.99", "5.00"]);
    let first = &events.items[0];
    assert_eq!(first.properties.currency.as_deref(), Some("EUR"));
    assert!(
        first
            .properties
            .additional_properties
            .contains_key("order_id")
    );
    let debug = format!("{first:?}");
    assert!(
        !debug.contains("4242") && !debug.contains("1881"),
        "{debug}"
    );

    // Two events' revenue ciphertexts swapped (as a proxy or a store could): a distinct error.
    let mut swapped = page.clone();
    swapped["data"][0]["properties"]["revenue"] = page["data"][1]["properties"]["revenue"].clone();
    swapped["data"][1]["properties"]["revenue"] = page["data"][0]["properties"]["revenue"].clone();
    let mock = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/events"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/json")
                .set_body_string(swapped.to_string()),
        )
        .mount(&mock)
        .await;
    let error = client(&mock.uri(), "sk_test", Some(&keys))
        .events()
        .list()
        .send()
        .await
        .expect_err("refused");
    assert_eq!(error.kind(), ErrorKind::Decrypt);
    let decrypt = error.decrypt_error().expect("the decrypt error");
    assert_eq!(decrypt.kind(), DecryptErrorKind::Misbound);
    assert_eq!(decrypt.path(), Some("data[0].properties.revenue"));
    // Moved to another property of the same event: refused as well.
    let mut moved = page.clone();
    moved["data"][0]["properties"]["card_last4"] =
        page["data"][0]["properties"]["payment_method"].clone();
    let mock = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/events"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/json")
                .set_body_string(moved.to_string()),
        )
        .mount(&mock)
        .await;
    let error = client(&mock.uri(), "sk_test", Some(&keys))
        .events()
        .list()
        .send()
        .await
        .expect_err("refused");
    assert_eq!(
        error.decrypt_error().map(|e| e.kind()),
        Some(DecryptErrorKind::Misbound)
    );

    // The webhook: the nested value is a JWE bound to the message; the Verifier decrypts it
    // after verifying the signature.
    let verifier = Verifier::builder()
        .secret(secret)
        .key_provider(keys.clone())
        .build()
        .unwrap();
    let mut seen = Vec::new();
    for _ in 0..2 {
        let (headers, body) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("delivered in time")
            .expect("a delivery");
        let payload: Value = serde_json::from_slice(&body).unwrap();
        let revenue = &payload["data"]["properties"]["revenue"];
        assert!(is_jwe(revenue), "{payload}");
        assert_eq!(payload["data"]["properties"]["currency"], "EUR");
        match verifier.verify_event(&headers, &body).expect("verified") {
            Event::PurchaseCompleted(event) => {
                let properties = &event.data.properties;
                seen.push(
                    properties
                        .revenue
                        .as_ref()
                        .unwrap()
                        .expose()
                        .unwrap()
                        .clone(),
                );
                assert_eq!(
                    properties
                        .payment_method
                        .as_ref()
                        .unwrap()
                        .expose()
                        .unwrap(),
                    "card"
                );
            }
            other => panic!("unexpected {}", other.event_type()),
        }
    }
    seen.sort_unstable();
    assert_eq!(seen, ["129.99", "5.00"]);
    server.abort();
    sandbox.shutdown().await;
}
