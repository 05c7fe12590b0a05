//! The public test vectors of the Standard Webhooks reference implementations, positive and
//! negative, run against this SDK's verifier and signer. Passing them is what makes a
//! receiver built on this SDK interoperable with any Standard Webhooks sender, byte for byte.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use marketing_api::clock::ManualClock;
use marketing_api::webhooks::{Signer, Verifier, WebhookError, WebhookSecret};

// The values every reference implementation's test suite uses.
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SECRET_WITHOUT_PREFIX: &str = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const MSG_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const TIMESTAMP: i64 = 1614265330;
const PAYLOAD: &[u8] = br#"{"test": 2432232314}"#;
const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
const TOLERANCE_SECS: i64 = 5 * 60;

fn clock_at(unix: i64) -> Arc<ManualClock> {
    Arc::new(ManualClock::new(
        UNIX_EPOCH + Duration::from_secs(u64::try_from(unix).expect("after 1970")),
    ))
}

/// A verifier for `secret` whose clock reads `now`.
fn verifier_at(secret: &str, now: i64) -> Verifier {
    Verifier::builder()
        .secret(WebhookSecret::parse(secret).expect("valid secret"))
        .clock(clock_at(now))
        .build()
        .expect("one secret")
}

fn headers(id: &str, timestamp: &str, signature: &str) -> Vec<(&'static str, String)> {
    vec![
        ("webhook-id", id.to_owned()),
        ("webhook-timestamp", timestamp.to_owned()),
        ("webhook-signature", signature.to_owned()),
    ]
}

fn without(mut headers: Vec<(&'static str, String)>, name: &str) -> Vec<(&'static str, String)> {
    headers.retain(|(key, _)| *key != name);
    headers
}

fn with(
    mut headers: Vec<(&'static str, String)>,
    name: &'static str,
    value: &str,
) -> Vec<(&'static str, String)> {
    for (key, existing) in &mut headers {
        if *key == name {
            *existing = value.to_owned();
        }
    }
    headers
}

/// The reference suites' `TestPayload`: the default message signed at `timestamp`.
fn signed_at(timestamp: i64) -> Vec<(&'static str, String)> {
    let signed = Signer::new(SECRET)
        .expect("valid secret")
        .sign(MSG_ID, timestamp, PAYLOAD);
    headers(MSG_ID, signed.timestamp(), signed.signature())
}

#[test]
fn sign_function_reproduces_the_published_signature() {
    let signed = Signer::new(SECRET)
        .expect("valid secret")
        .sign(MSG_ID, TIMESTAMP, PAYLOAD);
    assert_eq!(signed.signature(), SIGNATURE);
    assert_eq!(signed.id(), MSG_ID);
    assert_eq!(signed.timestamp(), "1614265330");
}

#[test]
fn sign_reproduces_the_rust_reference_signature() {
    // The second vector of the reference Rust library's own tests.
    let signer = Signer::new("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").expect("valid secret");
    let signed = signer.sign(
        "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
        1649367553,
        br#"{"email":"test@example.com","username":"test_user"}"#,
    );
    assert_eq!(
        signed.signature(),
        "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
    );
}

#[test]
fn valid_signature_is_valid_and_returns_the_body() {
    let verifier = verifier_at(SECRET, TIMESTAMP);
    let request = headers(MSG_ID, "1614265330", SIGNATURE);
    let payload = verifier
        .verify(&request, PAYLOAD)
        .expect("published vector verifies");
    assert_eq!(payload.id(), MSG_ID);
    assert_eq!(payload.timestamp(), TIMESTAMP);
    assert_eq!(payload.body(), PAYLOAD);
    let json: serde_json::Value = payload.json().expect("JSON body");
    assert_eq!(json["test"], 2432232314u64);
}

#[test]
fn valid_signature_verifies_through_an_http_header_map() {
    let verifier = verifier_at(SECRET, TIMESTAMP);
    let mut map = http::HeaderMap::new();
    map.insert("Webhook-Id", http::HeaderValue::from_static(MSG_ID));
    map.insert(
        "Webhook-Timestamp",
        http::HeaderValue::from_static("1614265330"),
    );
    map.insert(
        "Webhook-Signature",
        http::HeaderValue::from_static(SIGNATURE),
    );
    assert!(verifier.verify(&map, PAYLOAD).is_ok());
}

#[test]
fn verification_works_with_and_without_the_secret_prefix() {
    for secret in [SECRET, SECRET_WITHOUT_PREFIX] {
        let verifier = verifier_at(secret, TIMESTAMP);
        verifier
            .verify(&headers(MSG_ID, "1614265330", SIGNATURE), PAYLOAD)
            .unwrap_or_else(|e| panic!("secret form {secret:?}: {e}"));
    }
}

#[test]
fn missing_headers_raise_errors_naming_the_header() {
    let verifier = verifier_at(SECRET, TIMESTAMP);
    let complete = headers(MSG_ID, "1614265330", SIGNATURE);
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        let error = verifier
            .verify(&without(complete.clone(), name), PAYLOAD)
            .expect_err("a header is missing");
        assert!(
            matches!(error, WebhookError::MissingHeader { name: missing } if missing == name),
            "{name}: {error:?}"
        );
    }
}

#[test]
fn invalid_timestamp_raises_error() {
    let verifier = verifier_at(SECRET, TIMESTAMP);
    let request = with(signed_at(TIMESTAMP), "webhook-timestamp", "hello");
    let error = verifier
        .verify(&request, PAYLOAD)
        .expect_err("not a number");
    assert!(matches!(
        error,
        WebhookError::MalformedHeader {
            name: "webhook-timestamp",
            ..
        }
    ));
}

#[test]
fn invalid_signature_raises_error() {
    let verifier = verifier_at(SECRET, TIMESTAMP);
    for forged in [
        // The published signature with its last character changed.
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=",
        // Not even a tag's length.
        "v1,dawfeoifkpqwoekfpqoekf",
        // From the reference Rust library's negative test.
        "v1,R3PTzyfHASBKHH98a7yexTwaJ4yNIcGhFQc1yuN+BPU=",
    ] {
        let request = with(signed_at(TIMESTAMP), "webhook-signature", forged);
        let error = verifier.verify(&request, PAYLOAD).expect_err(forged);
        assert!(
            matches!(error, WebhookError::NoMatchingSignature),
            "{forged}: {error:?}"
        );
    }
}

#[test]
fn partial_signature_raises_error() {
    let verifier = verifier_at(SECRET, TIMESTAMP);
    for partial in [&SIGNATURE[..8], "v1,"] {
        let request = with(signed_at(TIMESTAMP), "webhook-signature", partial);
        let error = verifier.verify(&request, PAYLOAD).expect_err(partial);
        assert!(
            matches!(error, WebhookError::NoMatchingSignature),
            "{partial}: {error:?}"
        );
    }
}

#[test]
fn old_timestamp_fails() {
    let now = 1_700_000_000;
    let verifier = verifier_at(SECRET, now);
    let request = signed_at(now - TOLERANCE_SECS - 1);
    let error = verifier.verify(&request, PAYLOAD).expect_err("stale");
    assert!(
        matches!(error, WebhookError::TimestampTooOld { .. }),
        "{error:?}"
    );
}

#[test]
fn new_timestamp_fails() {
    let now = 1_700_000_000;
    let verifier = verifier_at(SECRET, now);
    let request = signed_at(now + TOLERANCE_SECS + 1);
    let error = verifier
        .verify(&request, PAYLOAD)
        .expect_err("from the future");
    assert!(
        matches!(error, WebhookError::TimestampInFuture { .. }),
        "{error:?}"
    );
}

#[test]
fn the_published_vector_is_stale_outside_its_tolerance() {
    let verifier = verifier_at(SECRET, TIMESTAMP + TOLERANCE_SECS + 1);
    let error = verifier
        .verify(&headers(MSG_ID, "1614265330", SIGNATURE), PAYLOAD)
        .expect_err("stale");
    assert!(matches!(error, WebhookError::TimestampTooOld { .. }));
}

#[test]
fn multi_signature_payload_is_valid() {
    let verifier = verifier_at(SECRET, TIMESTAMP);
    let list = [
        "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
        "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
        SIGNATURE, // the valid one
        "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
    ]
    .join(" ");
    let request = headers(MSG_ID, "1614265330", &list);
    let payload = verifier
        .verify(&request, PAYLOAD)
        .expect("one of the signatures is valid");
    assert_eq!(payload.id(), MSG_ID);
}

#[test]
fn multi_signature_payload_without_a_valid_one_fails() {
    let verifier = verifier_at(SECRET, TIMESTAMP);
    let list = [
        "v1,tFtCZ5RDCPxzWQRWXWPgrCgE2frDBe9gjpbWQxnVfsQ=",
        "v1,Mm7xgUVICxZfQ3bgf0h0Dof65L/IFx+PnZvnDWPCX6Q=",
        "v1,9DfC1c3eeOrXB6w/5dIDydLNQaEyww5KalE5jLBZucE=",
    ]
    .join(" ");
    let error = verifier
        .verify(&headers(MSG_ID, "1614265330", &list), PAYLOAD)
        .expect_err("no valid signature");
    assert!(matches!(error, WebhookError::NoMatchingSignature));
}

#[test]
fn a_valid_signature_under_another_version_prefix_is_ignored() {
    // Only `v1` is symmetric HMAC; the same bytes labelled `v2` must not pass.
    let verifier = verifier_at(SECRET, TIMESTAMP);
    let relabelled = SIGNATURE.replacen("v1,", "v2,", 1);
    let error = verifier
        .verify(&headers(MSG_ID, "1614265330", &relabelled), PAYLOAD)
        .expect_err("wrong version");
    assert!(matches!(error, WebhookError::NoMatchingSignature));
}

#[test]
fn empty_key_raises_error() {
    for empty in ["", "whsec_", "   "] {
        assert!(
            matches!(
                Verifier::new(empty),
                Err(WebhookError::InvalidSecret { .. })
            ),
            "{empty:?}"
        );
        assert!(matches!(
            Signer::new(empty),
            Err(WebhookError::InvalidSecret { .. })
        ));
    }
}

#[test]
fn a_secret_that_is_not_base64_raises_error() {
    for bad in [
        "whsec_not base64!",
        "whsec_%%%%",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS",
    ] {
        assert!(
            matches!(Verifier::new(bad), Err(WebhookError::InvalidSecret { .. })),
            "{bad:?}"
        );
    }
}
