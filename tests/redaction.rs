//! Personal data and secrets never reach `Debug` output: the generated models redact the fields
//! the spec marks `x-pii` / `x-secret`, and the client, its builder and every credential type
//! print `[redacted]` (or nothing) in place of a secret.
//!
//! Each check formats a value holding distinctive strings with `{:?}` and `{:#?}` and asserts
//! that none of them appears.

use std::fmt::Debug;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use marketing_api::auth::{ApiKey, Auth, BearerToken, OAuth2, Secret, TokenSet};
use marketing_api::models::{
    Contact, ContactId, ContactStatus, EventId, FormSubmission, NewContact, TokenResponse,
    WebhookEndpoint, WebhookEndpointId, WebhookEventType, WebhookSecret as WebhookSecretModel,
};
use marketing_api::webhooks::{Signer, Verifier, WebhookSecret};
use marketing_api::{Client, SpkiPin};
use serde_json::{Map, json};

const EMAIL: &str = "ada.lovelace@example.com";
const PHONE: &str = "+442071838750";
const FIRST: &str = "Augusta";
const LAST: &str = "Byron-King";
const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const API_KEY: &str = "mk_live_5f1d8c0a9e7b4d2c";
const BEARER: &str = "tok_9b7e3f2a1c5d4e6f";
const CLIENT_SECRET: &str = "cs_live_7c4e1a9f3b2d";
const REFRESH: &str = "rt_2a8c6e4f0b1d";

/// Formats `value` both ways and checks that no secret is in it and `[redacted]` is, when
/// `expect_marker`.
fn assert_redacted(value: &impl Debug, secrets: &[&str], expect_marker: bool) -> String {
    let compact = format!("{value:?}");
    let pretty = format!("{value:#?}");
    for text in [&compact, &pretty] {
        for secret in secrets {
            assert!(!text.contains(secret), "`{secret}` leaked in: {text}");
        }
        if expect_marker {
            assert!(
                text.contains("[redacted]"),
                "no redaction marker in: {text}"
            );
        }
    }
    compact
}

fn when() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 9, 30, 0)
        .single()
        .expect("valid date")
}

fn contact() -> Contact {
    let mut attributes = Map::new();
    attributes.insert("plan".into(), json!("pro"));
    Contact::builder()
        .id(ContactId::new("ctc_9Vx4Jm6q"))
        .email(EMAIL)
        .status(ContactStatus::Subscribed)
        .attributes(attributes)
        .created_at(when())
        .updated_at(when())
        .build()
        .with_phone(PHONE)
        .with_first_name(FIRST)
        .with_last_name(LAST)
}

#[test]
fn contacts_redact_email_phone_and_names() {
    let shown = assert_redacted(&contact(), &[EMAIL, PHONE, FIRST, LAST], true);
    // What is not personal stays visible, so the output is still useful.
    assert!(shown.contains("ctc_9Vx4Jm6q"), "{shown}");
    assert!(shown.contains("plan"), "{shown}");
    assert_eq!(shown.matches("[redacted]").count(), 4, "{shown}");

    let new = NewContact::builder()
        .email(EMAIL)
        .build()
        .with_phone(PHONE)
        .with_first_name(FIRST)
        .with_last_name(LAST);
    assert_redacted(&new, &[EMAIL, PHONE, FIRST, LAST], true);

    // Nested: a webhook payload carrying the contact.
    let form = FormSubmission::builder()
        .event_id(EventId::new("evt_1"))
        .fields(Map::new())
        .submitted_at(when())
        .build()
        .with_contact(contact());
    assert_redacted(&form, &[EMAIL, PHONE, FIRST, LAST], true);

    // Decoded from the wire, the same.
    let decoded: Contact = serde_json::from_value(json!({
        "id": "ctc_1", "email": EMAIL, "phone": PHONE, "first_name": FIRST, "last_name": LAST,
        "status": "subscribed", "attributes": {}, "created_at": "2026-11-02T09:30:00Z",
        "updated_at": "2026-11-02T09:30:00Z"
    }))
    .expect("a contact");
    assert_redacted(&decoded, &[EMAIL, PHONE, FIRST, LAST], true);
}

#[test]
fn webhook_endpoint_secrets_are_redacted() {
    let endpoint = WebhookEndpoint::builder()
        .id(WebhookEndpointId::new("whe_4Gs1Yt8d"))
        .url("https://hooks.example.org/marketing")
        .event_types(vec![WebhookEventType::ContactCreated])
        .enabled(true)
        .created_at(when())
        .updated_at(when())
        .build()
        .with_secret(WHSEC);
    let shown = assert_redacted(
        &endpoint,
        &[WHSEC, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
        true,
    );
    assert!(shown.contains("hooks.example.org"), "{shown}");

    let rotated = WebhookSecretModel::builder()
        .endpoint_id(WebhookEndpointId::new("whe_4Gs1Yt8d"))
        .secret(WHSEC)
        .previous_secret_expires_at(when())
        .build();
    assert_redacted(&rotated, &[WHSEC], true);

    let tokens = TokenResponse::builder()
        .access_token(BEARER)
        .token_type("Bearer")
        .expires_in(3600)
        .build()
        .with_refresh_token(REFRESH);
    assert_redacted(&tokens, &[BEARER, REFRESH], true);
}

#[test]
fn credentials_never_print_their_secret() {
    let key = ApiKey::new(API_KEY).expect("key");
    assert_redacted(&key, &[API_KEY], true);
    let bearer = BearerToken::new(BEARER).expect("token");
    assert_redacted(&bearer, &[BEARER], true);
    let oauth = OAuth2::client_credentials(
        "cli_123",
        CLIENT_SECRET,
        "https://api.example.com/v1/oauth/token",
    )
    .scopes(["contacts:read"]);
    let shown = assert_redacted(&oauth, &[CLIENT_SECRET], true);
    assert!(
        shown.contains("cli_123"),
        "the client id is not secret: {shown}"
    );
    let refresh = OAuth2::refresh_token(
        "cli_123",
        Some(Secret::new(CLIENT_SECRET)),
        "https://api.example.com/v1/oauth/token",
        REFRESH,
    );
    assert_redacted(&refresh, &[CLIENT_SECRET, REFRESH], true);
    for auth in [Auth::from(key), Auth::from(bearer), Auth::from(oauth)] {
        assert_redacted(&auth, &[API_KEY, BEARER, CLIENT_SECRET], true);
    }
    assert_redacted(&Secret::new(CLIENT_SECRET), &[CLIENT_SECRET], true);
    let set = TokenSet::new(BEARER).with_refresh_token(REFRESH);
    assert_redacted(&set, &[BEARER, REFRESH], true);

    // Webhook keys: the secret type, the signer and the verifier.
    let secret = WebhookSecret::parse(WHSEC).expect("secret");
    assert_redacted(&secret, &[WHSEC, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"], false);
    let signer = Signer::new(WHSEC).expect("signer");
    assert_redacted(&signer, &[WHSEC, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"], false);
    let verifier = Verifier::new(WHSEC).expect("verifier");
    assert_redacted(
        &verifier,
        &[WHSEC, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
        false,
    );
}

#[test]
fn client_and_builder_hide_credentials_and_header_values() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let pin = SpkiPin::from_sha256([9; 32]);
    let builder = Client::builder("https://api.example.com/v1")
        .auth(ApiKey::new(API_KEY).expect("key"))
        .default_header("x-partner-token", CLIENT_SECRET)
        .tls_pins([pin]);
    let shown = assert_redacted(&builder, &[API_KEY, CLIENT_SECRET], true);
    assert!(
        shown.contains("x-partner-token"),
        "header names stay: {shown}"
    );

    let client = builder.build().expect("client");
    // The client prints no credential at all, only which header carries it.
    let shown = assert_redacted(&client, &[API_KEY, CLIENT_SECRET], false);
    assert!(shown.contains("x-api-key"), "{shown}");

    let oauth_client = Client::builder("https://api.example.com/v1")
        .auth(
            OAuth2::refresh_token(
                "cli_123",
                Some(Secret::new(CLIENT_SECRET)),
                "https://api.example.com/v1/oauth/token",
                REFRESH,
            )
            .token_store(Arc::new(marketing_api::auth::InMemoryTokenStore::new())),
        )
        .build()
        .expect("client");
    assert_redacted(&oauth_client, &[CLIENT_SECRET, REFRESH], false);
}

#[test]
fn configuration_errors_do_not_echo_secrets() {
    // A key with a newline cannot be a header value; the error must not quote the key.
    let error = ApiKey::new(format!("{API_KEY}\n")).expect_err("invalid key");
    assert!(!error.to_string().contains(API_KEY), "{error}");
    assert!(!format!("{error:?}").contains(API_KEY), "{error:?}");
    let error = Client::builder(format!("https://user:{CLIENT_SECRET}@api.example.com/v1"))
        .build()
        .expect_err("credentials in the URL");
    assert!(!error.to_string().contains(CLIENT_SECRET), "{error}");
    assert!(!format!("{error:?}").contains(CLIENT_SECRET), "{error:?}");
}
