//! Interoperability of the field encryption with an independent JOSE implementation, Python's
//! jwcrypto (installed by `.ci/jose-interop` in a private virtualenv): what the SDK encrypts,
//! jwcrypto decrypts, and the reverse; the same for the sandbox's own implementation, over its
//! real socket. A failure to install or run jwcrypto fails the test: nothing is skipped.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use marketing_api::encryption::{Binding, PrivateKeySet, PublicJwk, decrypt_value};
use marketing_api_sandbox::Sandbox;
use serde_json::{Value, json};

fn root() -> &'static str {
    env!("CARGO_MANIFEST_DIR")
}

/// The virtualenv's Python, installed on first use.
fn python() -> &'static str {
    static PYTHON: OnceLock<String> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let out = Command::new("bash")
            .arg(format!("{}/.ci/jose-interop", root()))
            .output()
            .expect("bash runs .ci/jose-interop");
        assert!(
            out.status.success(),
            ".ci/jose-interop failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .expect("a path")
            .trim()
            .to_owned()
    })
}

/// One request to `.ci/jose/interop.py`.
fn jwcrypto(request: Value) -> Value {
    let mut child = Command::new(python())
        .arg(format!("{}/.ci/jose/interop.py", root()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(request.to_string().as_bytes())
        .expect("request written");
    let out = child.wait_with_output().expect("python ends");
    assert!(
        out.status.success(),
        "interop.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("interop.py answers JSON")
}

fn bound<'a>(field: &'a str, object: Option<&'a str>) -> Binding<'a> {
    Binding { field, object }
}

#[test]
fn jwcrypto_decrypts_what_the_sdk_encrypts() {
    let pair = jwcrypto(json!({"op": "generate", "kid": "py-1"}));
    let public = PublicJwk::from_json(&pair["public"]).expect("jwcrypto's public JWK");
    for (field, object, value) in [
        ("email", Some("ctc_1"), json!("ada@example.com")),
        ("phone", None, json!("+442071838750")),
        ("value_cents", Some("evt_9"), json!(48200)),
        ("first_name", Some("ctc_2"), json!("Zoë 🎉")),
    ] {
        let jwe = public
            .encrypt(&value, bound(field, object))
            .expect("encrypts");
        let answer = jwcrypto(json!({
            "op": "decrypt", "jwk": pair["private"], "jwe": jwe, "field": field, "object": object,
        }));
        assert_eq!(answer, json!({"value": value}), "{field}");
    }
    // jwcrypto checks the binding too: the same ciphertext under another object is refused.
    let jwe = public
        .encrypt(&json!("ada@example.com"), bound("email", Some("ctc_1")))
        .expect("encrypts");
    let answer = jwcrypto(json!({
        "op": "decrypt", "jwk": pair["private"], "jwe": jwe, "field": "email", "object": "ctc_2",
    }));
    assert!(answer.get("error").is_some(), "{answer}");
}

#[test]
fn the_sdk_decrypts_what_jwcrypto_encrypts() {
    let keys = PrivateKeySet::new();
    let public = keys.generate("rust-1").expect("a key").to_json();
    for (field, object, value) in [
        ("email", Some("ctc_1"), json!("ada@example.com")),
        ("last_name", None, json!(null)),
        ("properties", Some("evt_1"), json!({"card_last4": "4242"})),
    ] {
        let answer = jwcrypto(json!({
            "op": "encrypt", "jwk": public, "value": value, "field": field, "object": object,
        }));
        let jwe = answer["jwe"].as_str().expect("a JWE");
        assert_eq!(
            decrypt_value(jwe, &keys, bound(field, object)).expect("decrypts"),
            value,
            "{field}"
        );
    }
    // And the SDK refuses jwcrypto's ciphertext where it does not belong.
    let answer = jwcrypto(json!({
        "op": "encrypt", "jwk": public, "value": "x", "field": "email", "object": "ctc_1",
    }));
    let jwe = answer["jwe"].as_str().expect("a JWE");
    assert!(decrypt_value(jwe, &keys, bound("phone", Some("ctc_1"))).is_err());
}

#[tokio::test]
async fn the_sandbox_interoperates_with_jwcrypto_both_ways() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sandbox = Sandbox::start().await.expect("sandbox");
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", sandbox.base_url());
    let key = sandbox.api_key().to_owned();

    // jwcrypto encrypts the e-mail to the platform's published key; the sandbox decrypts it.
    let jwks: Value = serde_json::from_slice(
        &http
            .get(url("/platform_keys"))
            .header("x-api-key", &key)
            .send()
            .await
            .expect("jwks")
            .bytes()
            .await
            .expect("body"),
    )
    .expect("json");
    let platform = &jwks["data"]["keys"][0];
    let sealed = jwcrypto(json!({
        "op": "encrypt", "jwk": platform, "value": "ada@example.com", "field": "email", "object": null,
    }));
    let created = http
        .post(url("/contacts"))
        .header("x-api-key", &key)
        .header("content-type", "application/json")
        .body(json!({"email": sealed["jwe"], "first_name": "Ada"}).to_string())
        .send()
        .await
        .expect("create");
    assert_eq!(created.status(), 201);
    let created: Value =
        serde_json::from_slice(&created.bytes().await.expect("body")).expect("json");
    assert_eq!(created["data"]["email"], "ada@example.com");
    let id = created["data"]["id"].as_str().expect("id").to_owned();

    // The sandbox encrypts to a key jwcrypto made; jwcrypto decrypts the raw response.
    let pair = jwcrypto(json!({"op": "generate", "kid": "py-sandbox"}));
    let registered = http
        .post(url("/encryption_keys"))
        .header("x-api-key", &key)
        .header("content-type", "application/json")
        .body(json!({"jwk": pair["public"]}).to_string())
        .send()
        .await
        .expect("register");
    assert_eq!(registered.status(), 201);
    let raw = http
        .get(url(&format!("/contacts/{id}")))
        .header("x-api-key", &key)
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("body");
    assert!(!raw.contains("ada@example.com"), "{raw}");
    let body: Value = serde_json::from_str(&raw).expect("json");
    for (field, value) in [
        ("email", json!("ada@example.com")),
        ("first_name", json!("Ada")),
    ] {
        let answer = jwcrypto(json!({
            "op": "decrypt", "jwk": pair["private"], "jwe": body["data"][field],
            "field": field, "object": id,
        }));
        assert_eq!(answer, json!({"value": value}), "{field}");
    }
    // `null` stays `null`: there is nothing to hide, and clearing stays visible.
    assert_eq!(body["data"]["phone"], Value::Null);
    sandbox.shutdown().await;
}

/// Nested values: jwcrypto's side computes each binding itself from where it finds the value
/// (`.ci/jose/interop.py`, `decrypt_document` and `encrypt_document`), by the rule the spec
/// states; the SDK and the sandbox must agree with it both ways.
#[tokio::test]
async fn nested_bindings_agree_with_jwcrypto_both_ways() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    // The SDK seals by the documented rule; jwcrypto derives the same binding from the place.
    let pair = jwcrypto(json!({"op": "generate", "kid": "py-nested"}));
    let public = PublicJwk::from_json(&pair["public"]).expect("jwcrypto's public JWK");
    let seal = |value: Value, field: &str, object: Option<&str>| {
        Value::String(
            public
                .encrypt(&value, bound(field, object))
                .expect("encrypts"),
        )
    };
    let page = json!({
        "data": [
            {"id": "evt_1", "properties": {
                "revenue": seal(json!("129.99"), "properties/revenue", Some("evt_1")),
                "currency": "USD",
            }},
            {"id": "evt_2", "properties": {
                "revenue": seal(json!("5.00"), "properties/revenue", Some("evt_2")),
            }},
        ],
        "meta": {"has_more": false},
    });
    let webhook = json!({
        "id": "msg_1",
        "type": "purchase.completed",
        "data": {"event_id": "evt_1", "properties": {
            "card_last4": seal(json!("4242"), "data/properties/card_last4", Some("msg_1")),
        }},
    });
    let answer =
        jwcrypto(json!({"op": "decrypt_document", "jwk": pair["private"], "document": page}));
    assert_eq!(
        answer["document"]["data"][0]["properties"]["revenue"], "129.99",
        "{answer}"
    );
    assert_eq!(
        answer["document"]["data"][1]["properties"]["revenue"], "5.00",
        "{answer}"
    );
    let answer =
        jwcrypto(json!({"op": "decrypt_document", "jwk": pair["private"], "document": webhook}));
    assert_eq!(
        answer["document"]["data"]["properties"]["card_last4"], "4242",
        "{answer}"
    );
    // Swapped between the two events: jwcrypto's side refuses it too.
    let mut swapped = page.clone();
    swapped["data"][0]["properties"]["revenue"] = page["data"][1]["properties"]["revenue"].clone();
    let answer =
        jwcrypto(json!({"op": "decrypt_document", "jwk": pair["private"], "document": swapped}));
    assert!(answer.get("error").is_some(), "{answer}");

    // jwcrypto seals at a place; the SDK decrypts the document, and refuses the value moved.
    let keys = PrivateKeySet::new();
    let rust_public = keys.generate("rust-nested").expect("a key").to_json();
    let plain = json!({
        "data": [{"id": "evt_7", "properties": {"revenue": "42.00", "payment_method": "card"}}],
    });
    let answer = jwcrypto(json!({
        "op": "encrypt_document", "jwk": rust_public, "document": plain,
        "at": ["/data/0/properties/revenue", "/data/0/properties/payment_method"],
    }));
    let sealed = &answer["document"];
    assert!(
        sealed["data"][0]["properties"]["revenue"]
            .as_str()
            .is_some_and(|s| s.starts_with("eyJ")),
        "{answer}"
    );
    let opened = marketing_api::encryption::decrypt_body(sealed.to_string().as_bytes(), &keys)
        .expect("decrypts")
        .expect("held JWE");
    let opened: Value = serde_json::from_slice(&opened).expect("json");
    assert_eq!(opened, plain);
    let mut moved = sealed.clone();
    moved["data"][0]["properties"]["revenue"] =
        sealed["data"][0]["properties"]["payment_method"].clone();
    assert!(marketing_api::encryption::decrypt_body(moved.to_string().as_bytes(), &keys).is_err());

    // The sandbox: it opens a batch jwcrypto sealed to the platform key at a nested place, and
    // what it then serves sealed to jwcrypto's key, jwcrypto's side opens by the same rule.
    let sandbox = Sandbox::start().await.expect("sandbox");
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", sandbox.base_url());
    let key = sandbox.api_key().to_owned();
    let jwks: Value = serde_json::from_slice(
        &http
            .get(url("/platform_keys"))
            .header("x-api-key", &key)
            .send()
            .await
            .expect("jwks")
            .bytes()
            .await
            .expect("body"),
    )
    .expect("json");
    let batch = json!({"events": [{
        "type": "purchase", "occurred_at": "2026-11-02T09:30:00Z",
        "properties": {"revenue": "129.99", "currency": "USD", "card_last4": "4242"},
    }]});
    let answer = jwcrypto(json!({
        "op": "encrypt_document", "jwk": jwks["data"]["keys"][0], "document": batch,
        "at": ["/events/0/properties/revenue", "/events/0/properties/card_last4"],
    }));
    let stored = http
        .post(url("/events"))
        .header("x-api-key", &key)
        .header("content-type", "application/json")
        .body(answer["document"].to_string())
        .send()
        .await
        .expect("ingest");
    assert_eq!(stored.status(), 200);
    let stored: Value = serde_json::from_slice(&stored.bytes().await.expect("body")).expect("json");
    assert_eq!(stored["data"]["accepted"], 1, "{stored}");
    let registered = http
        .post(url("/encryption_keys"))
        .header("x-api-key", &key)
        .header("content-type", "application/json")
        .body(json!({"jwk": pair["public"]}).to_string())
        .send()
        .await
        .expect("register");
    assert_eq!(registered.status(), 201);
    let raw = http
        .get(url("/events"))
        .header("x-api-key", &key)
        .send()
        .await
        .expect("list")
        .text()
        .await
        .expect("body");
    assert!(!raw.contains("4242") && !raw.contains("129.99"), "{raw}");
    let body: Value = serde_json::from_str(&raw).expect("json");
    let answer =
        jwcrypto(json!({"op": "decrypt_document", "jwk": pair["private"], "document": body}));
    let properties = &answer["document"]["data"][0]["properties"];
    assert_eq!(properties["revenue"], "129.99", "{answer}");
    assert_eq!(properties["card_last4"], "4242", "{answer}");
    assert_eq!(properties["currency"], "USD", "{answer}");
    sandbox.shutdown().await;
}
