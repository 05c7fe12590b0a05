//! Behaviour of webhook verification beyond the reference vectors: every error variant,
//! secret rotation, tolerance edges, typed and unknown events, non-UTF-8 bodies, secret forms,
//! redaction, header adapters, the replay guard, and arbitrary input.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hmac::{Hmac, Mac as _};
use marketing_api::clock::ManualClock;
use marketing_api::webhooks::{
    Event, HeaderFn, InMemoryReplayGuard, ReplayGuard, SignedHeaders, Signer, Verifier,
    WebhookError, WebhookHeaders, WebhookSecret,
};
use rand::{Rng as _, SeedableRng as _};
use sha2::Sha256;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const NOW: i64 = 1_700_000_000;

/// A complete `contact.created` event, as the contract describes it.
const CONTACT_CREATED: &[u8] = br#"{
  "id": "msg_2b7Yw9",
  "type": "contact.created",
  "created_at": "2025-03-01T12:00:00Z",
  "data": {
    "id": "ctc_42",
    "email": "ada@example.com",
    "phone": null,
    "first_name": "Ada",
    "last_name": null,
    "status": "subscribed",
    "attributes": {"plan": "pro"},
    "created_at": "2025-03-01T12:00:00Z",
    "updated_at": "2025-03-01T12:00:00Z"
  }
}"#;

fn at(unix: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::try_from(unix).expect("after 1970"))
}

fn secret(text: &str) -> WebhookSecret {
    WebhookSecret::parse(text).expect("valid secret")
}

fn verifier_with_clock(clock: &ManualClock) -> Verifier {
    Verifier::builder()
        .secret(secret(SECRET))
        .clock(Arc::new(clock.clone()))
        .build()
        .expect("one secret")
}

fn verifier_at(now: i64) -> Verifier {
    verifier_with_clock(&ManualClock::new(at(now)))
}

fn sign(id: &str, timestamp: i64, body: &[u8]) -> SignedHeaders {
    Signer::new(SECRET)
        .expect("valid secret")
        .sign(id, timestamp, body)
}

/// The signed headers as owned pairs, so single values can be replaced.
fn pairs(signed: &SignedHeaders) -> Vec<(&'static str, Vec<u8>)> {
    signed
        .pairs()
        .into_iter()
        .map(|(name, value)| (name, value.as_bytes().to_vec()))
        .collect()
}

fn replace(
    mut headers: Vec<(&'static str, Vec<u8>)>,
    name: &str,
    value: &[u8],
) -> Vec<(&'static str, Vec<u8>)> {
    for (key, existing) in &mut headers {
        if *key == name {
            *existing = value.to_vec();
        }
    }
    headers
}

/// An independent HMAC-SHA256 signature over the concatenated signed content.
fn reference_signature(key: &[u8], id: &str, timestamp: &str, body: &[u8]) -> String {
    let mut content = format!("{id}.{timestamp}.").into_bytes();
    content.extend_from_slice(body);
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    mac.update(&content);
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

// ---- every WebhookError variant -------------------------------------------------------

#[test]
fn missing_header_names_each_header_and_answers_400() {
    let signed = sign("msg_1", NOW, b"{}");
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        let mut headers = pairs(&signed);
        headers.retain(|(key, _)| *key != name);
        let error = verifier_at(NOW)
            .verify(&headers, b"{}")
            .expect_err("missing header");
        match &error {
            WebhookError::MissingHeader { name: missing } => assert_eq!(*missing, name),
            other => panic!("{name}: {other:?}"),
        }
        assert_eq!(error.status(), http::StatusCode::BAD_REQUEST);
        assert_eq!(error.check(), "missing_header");
        assert!(error.to_string().contains(name), "{error}");
    }
}

#[test]
fn malformed_headers_are_reported_with_their_name() {
    let signed = sign("msg_1", NOW, b"{}");
    let cases: [(&str, &[u8]); 12] = [
        ("webhook-id", b"\xff\xfe"),
        ("webhook-id", b""),
        ("webhook-timestamp", b"hello"),
        ("webhook-timestamp", b""),
        ("webhook-timestamp", b"-1700000000"),
        ("webhook-timestamp", b"+1700000000"),
        ("webhook-timestamp", b" 1700000000"),
        ("webhook-timestamp", b"1700000000.5"),
        ("webhook-timestamp", b"01700000000"),
        ("webhook-timestamp", b"1700000000000000000000"),
        ("webhook-signature", b""),
        ("webhook-signature", b"   "),
    ];
    for (name, value) in cases {
        let headers = replace(pairs(&signed), name, value);
        let error = verifier_at(NOW)
            .verify(&headers, b"{}")
            .expect_err("malformed header");
        match &error {
            WebhookError::MalformedHeader { name: reported, .. } => {
                assert_eq!(*reported, name, "{value:?}")
            }
            other => panic!("{name}={value:?}: {other:?}"),
        }
        assert_eq!(error.status(), http::StatusCode::BAD_REQUEST);
    }
}

#[test]
fn no_matching_signature_answers_401_and_reveals_nothing() {
    let signed = sign("msg_1", NOW, b"{\"a\":1}");
    // Same headers, a body changed by one byte.
    let error = verifier_at(NOW)
        .verify(&signed, b"{\"a\":2}")
        .expect_err("tampered body");
    assert!(matches!(error, WebhookError::NoMatchingSignature));
    assert_eq!(error.status(), http::StatusCode::UNAUTHORIZED);
    assert!(error.is_unauthenticated());
    let message = error.to_string();
    assert!(!message.contains(signed.signature()), "{message}");
    assert!(!message.contains(&signed.signature()[3..]), "{message}");
    assert!(!message.contains("MfKQ9r8G"), "{message}");
}

#[test]
fn timestamp_too_old_reports_age_and_tolerance() {
    let signed = sign("msg_1", NOW - 1_000, b"{}");
    let error = verifier_at(NOW).verify(&signed, b"{}").expect_err("stale");
    match error {
        WebhookError::TimestampTooOld {
            timestamp,
            now,
            age_secs,
            tolerance_secs,
        } => {
            assert_eq!(
                (timestamp, now, age_secs, tolerance_secs),
                (NOW - 1_000, NOW, 1_000, 300)
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn timestamp_in_future_reports_skew_and_tolerance() {
    let signed = sign("msg_1", NOW + 1_000, b"{}");
    let error = verifier_at(NOW).verify(&signed, b"{}").expect_err("future");
    assert_eq!(error.status(), http::StatusCode::UNAUTHORIZED);
    match error {
        WebhookError::TimestampInFuture {
            timestamp,
            now,
            ahead_secs,
            tolerance_secs,
        } => {
            assert_eq!(
                (timestamp, now, ahead_secs, tolerance_secs),
                (NOW + 1_000, NOW, 1_000, 300)
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn invalid_secret_covers_empty_non_base64_and_no_secret() {
    for text in ["", "whsec_", "whsec_***", "whsec_a"] {
        let error = WebhookSecret::parse(text).expect_err(text);
        assert!(
            matches!(error, WebhookError::InvalidSecret { .. }),
            "{text}"
        );
        assert_eq!(error.status(), http::StatusCode::INTERNAL_SERVER_ERROR);
    }
    assert!(matches!(
        WebhookSecret::from_bytes(Vec::new()),
        Err(WebhookError::InvalidSecret { .. })
    ));
    assert!(matches!(
        Verifier::builder().build(),
        Err(WebhookError::InvalidSecret { .. })
    ));
    // The message shows what is expected, never the text that was given.
    let error = WebhookSecret::parse("whsec_secret!value").expect_err("not base64");
    assert!(!error.to_string().contains("secret!value"), "{error}");
}

#[test]
fn invalid_payload_is_reported_after_the_signature_passed() {
    for body in [&b"not json"[..], b"{\"id\":\"msg_1\"}", b"[1,2,3]", b""] {
        let signed = sign("msg_1", NOW, body);
        let verifier = verifier_at(NOW);
        assert!(verifier.verify(&signed, body).is_ok(), "authentic {body:?}");
        let error = verifier
            .verify_event(&signed, body)
            .expect_err("not an event");
        assert!(
            matches!(error, WebhookError::InvalidPayload { .. }),
            "{error:?}"
        );
        assert_eq!(error.status(), http::StatusCode::BAD_REQUEST);
        assert!(std::error::Error::source(&error).is_some());
    }
}

// ---- rotation --------------------------------------------------------------------------

#[test]
fn rotation_accepts_either_secret_and_nothing_else() {
    let old = WebhookSecret::generate();
    let new = WebhookSecret::generate();
    let other = WebhookSecret::generate();
    let verifier = Verifier::builder()
        .secrets([old.clone(), new.clone()])
        .clock(Arc::new(ManualClock::new(at(NOW))))
        .build()
        .expect("two secrets");
    assert_eq!(verifier.secret_count(), 2);

    for (label, key, ok) in [
        ("old", &old, true),
        ("new", &new, true),
        ("other", &other, false),
    ] {
        let signed = Signer::from_secret(key).sign("msg_rot", NOW, b"{}");
        assert_eq!(verifier.verify(&signed, b"{}").is_ok(), ok, "{label}");
    }
}

#[test]
fn a_sender_in_rotation_lists_both_signatures_and_either_receiver_accepts() {
    let old = WebhookSecret::generate();
    let new = WebhookSecret::generate();
    let by_old = Signer::from_secret(&old).sign("msg_r", NOW, b"{}");
    let by_new = Signer::from_secret(&new).sign("msg_r", NOW, b"{}");
    let both = format!("{} {}", by_old.signature(), by_new.signature());
    let headers = [
        ("webhook-id", "msg_r"),
        ("webhook-timestamp", by_old.timestamp()),
        ("webhook-signature", &both),
    ];
    for key in [old, new] {
        let verifier = Verifier::builder()
            .secret(key)
            .clock(Arc::new(ManualClock::new(at(NOW))))
            .build()
            .expect("secret");
        assert!(verifier.verify(&headers, b"{}").is_ok());
    }
}

// ---- tolerance edges -------------------------------------------------------------------

#[test]
fn tolerance_limit_passes_and_one_second_past_fails_in_both_directions() {
    let clock = ManualClock::new(at(NOW));
    let verifier = verifier_with_clock(&clock);
    let cases = [
        (NOW - 300, Ok(())),
        (NOW - 301, Err("old")),
        (NOW + 300, Ok(())),
        (NOW + 301, Err("future")),
    ];
    for (timestamp, expected) in cases {
        let signed = sign("msg_edge", timestamp, b"{}");
        let result = verifier.verify(&signed, b"{}");
        match (expected, result) {
            (Ok(()), Ok(_)) => {}
            (Err("old"), Err(WebhookError::TimestampTooOld { .. })) => {}
            (Err("future"), Err(WebhookError::TimestampInFuture { .. })) => {}
            (expected, result) => panic!("timestamp {timestamp}: {expected:?} vs {result:?}"),
        }
    }
}

#[test]
fn the_limit_counts_whole_seconds_of_the_clock() {
    // 300.999 s after signing is still "300 seconds old".
    let clock = ManualClock::new(at(NOW + 300) + Duration::from_millis(999));
    let verifier = verifier_with_clock(&clock);
    assert!(verifier.verify(&sign("msg_1", NOW, b"{}"), b"{}").is_ok());
    clock.advance(Duration::from_millis(1));
    assert!(matches!(
        verifier.verify(&sign("msg_1", NOW, b"{}"), b"{}"),
        Err(WebhookError::TimestampTooOld { .. })
    ));
}

#[test]
fn a_configured_tolerance_is_used_and_the_clock_is_read_on_each_call() {
    let clock = ManualClock::new(at(NOW));
    let verifier = Verifier::builder()
        .secret(secret(SECRET))
        .tolerance(Duration::from_secs(10))
        .clock(Arc::new(clock.clone()))
        .build()
        .expect("secret");
    assert_eq!(verifier.tolerance(), Duration::from_secs(10));
    let signed = sign("msg_t", NOW, b"{}");
    assert!(verifier.verify(&signed, b"{}").is_ok());
    clock.advance(Duration::from_secs(10));
    assert!(verifier.verify(&signed, b"{}").is_ok());
    clock.advance(Duration::from_secs(1));
    assert!(matches!(
        verifier.verify(&signed, b"{}"),
        Err(WebhookError::TimestampTooOld {
            tolerance_secs: 10,
            age_secs: 11,
            ..
        })
    ));
}

#[test]
fn the_default_verifier_uses_the_system_clock() {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64;
    let verifier = Verifier::new(SECRET).expect("secret");
    assert!(verifier.verify(&sign("msg_now", now, b"{}"), b"{}").is_ok());
    assert!(
        verifier
            .verify(&sign("msg_old", now - 3_600, b"{}"), b"{}")
            .is_err()
    );
}

// ---- typed and unknown events ------------------------------------------------------------

#[test]
fn a_known_event_type_parses_into_its_variant() {
    let signed = sign("msg_2b7Yw9", NOW, CONTACT_CREATED);
    let event = verifier_at(NOW)
        .verify_event(&signed, CONTACT_CREATED)
        .expect("authentic event");
    assert!(matches!(event, Event::ContactCreated(_)), "{event:?}");
    assert_eq!(event.event_type(), "contact.created");
    assert_eq!(event.id(), "msg_2b7Yw9");
}

#[test]
fn an_unknown_event_type_still_verifies_and_keeps_its_raw_json() {
    let body = br#"{"id":"msg_new","type":"loyalty.tier_changed","created_at":"2030-01-01T00:00:00Z","data":{"tier":"gold","points":1200},"extra":[1,2]}"#;
    let signed = sign("msg_new", NOW, body);
    let event = verifier_at(NOW)
        .verify_event(&signed, body)
        .expect("unknown types still verify");
    assert_eq!(event.event_type(), "loyalty.tier_changed");
    assert_eq!(event.id(), "msg_new");
    let Event::Unknown(unknown) = event else {
        panic!("expected the generic event");
    };
    assert_eq!(unknown.created_at(), Some("2030-01-01T00:00:00Z"));
    assert_eq!(
        unknown.data().map(|d| &d["points"]),
        Some(&serde_json::json!(1200))
    );
    assert_eq!(unknown.raw()["extra"], serde_json::json!([1, 2]));
    let raw: serde_json::Value = serde_json::from_slice(body).expect("json");
    assert_eq!(unknown.into_raw(), raw);
}

#[test]
fn an_unknown_event_without_created_at_or_data_is_still_an_event() {
    let body = br#"{"id":"msg_min","type":"something.new"}"#;
    let event = verifier_at(NOW)
        .verify_event(&sign("msg_min", NOW, body), body)
        .expect("minimal envelope");
    let Event::Unknown(unknown) = event else {
        panic!("expected the generic event");
    };
    assert_eq!(unknown.created_at(), None);
    assert_eq!(unknown.data(), None);
}

#[test]
fn verified_payload_parses_events_and_custom_types() {
    let signed = sign("msg_2b7Yw9", NOW, CONTACT_CREATED);
    let verifier = verifier_at(NOW);
    let payload = verifier
        .verify(&signed, CONTACT_CREATED)
        .expect("authentic");
    assert_eq!(payload.event().expect("event").id(), "msg_2b7Yw9");

    #[derive(serde::Deserialize)]
    struct Mine {
        data: HashMap<String, serde_json::Value>,
    }
    let mine: Mine = payload.json().expect("custom type");
    assert_eq!(mine.data["id"], "ctc_42");
}

// ---- raw bytes ------------------------------------------------------------------------

#[test]
fn non_utf8_bodies_verify_over_their_exact_bytes() {
    let body: Vec<u8> = (0..=255u8).rev().chain([0xc3, 0x28, 0xa0, 0xa1]).collect();
    assert!(std::str::from_utf8(&body).is_err());
    let signed = sign("msg_bin", NOW, &body);
    let verifier = verifier_at(NOW);
    let payload = verifier.verify(&signed, &body).expect("binary body");
    assert_eq!(payload.body(), &body[..]);

    // An independent HMAC over the concatenated bytes gives the same signature.
    let key = secret(SECRET);
    assert_eq!(
        signed.signature(),
        reference_signature(key.expose_bytes(), "msg_bin", &NOW.to_string(), &body)
    );

    // One flipped bit fails; parsing as an event fails as a payload error.
    let mut flipped = body.clone();
    flipped[100] ^= 1;
    assert!(matches!(
        verifier.verify(&signed, &flipped),
        Err(WebhookError::NoMatchingSignature)
    ));
    assert!(matches!(
        verifier.verify_event(&signed, &body),
        Err(WebhookError::InvalidPayload { .. })
    ));
}

#[test]
fn a_reserialized_body_does_not_verify() {
    // The classic receiver mistake: parse, then serialize again before verifying.
    let signed = sign("msg_2b7Yw9", NOW, CONTACT_CREATED);
    let value: serde_json::Value = serde_json::from_slice(CONTACT_CREATED).expect("json");
    let reserialized = serde_json::to_vec(&value).expect("json");
    assert!(matches!(
        verifier_at(NOW).verify(&signed, &reserialized),
        Err(WebhookError::NoMatchingSignature)
    ));
}

// ---- secret forms -------------------------------------------------------------------------

#[test]
fn secrets_with_and_without_padding_are_the_same_key() {
    // 25 bytes encode to base64 with `==` padding.
    let key = b"0123456789abcdefghijklmno".to_vec();
    let padded = WebhookSecret::from_bytes(key.clone())
        .expect("key")
        .expose_whsec();
    assert!(padded.ends_with("=="), "{padded}");
    let unpadded = padded.trim_end_matches('=').to_owned();
    let bare = unpadded.trim_start_matches("whsec_").to_owned();

    let signature = reference_signature(&key, "msg_p", "1700000000", b"{}");
    let headers = [
        ("webhook-id", "msg_p"),
        ("webhook-timestamp", "1700000000"),
        ("webhook-signature", signature.as_str()),
    ];
    for form in [
        padded.as_str(),
        unpadded.as_str(),
        bare.as_str(),
        &format!("{padded}\n"),
    ] {
        let parsed = secret(form);
        assert_eq!(parsed.expose_bytes(), &key[..], "{form:?}");
        let verifier = Verifier::builder()
            .secret(parsed)
            .clock(Arc::new(ManualClock::new(at(NOW))))
            .build()
            .expect("secret");
        assert!(verifier.verify(&headers, b"{}").is_ok(), "{form:?}");
    }
}

#[test]
fn raw_byte_secrets_are_used_as_the_key_as_they_are() {
    let key = b"plain text key from another provider";
    let signature = reference_signature(key, "msg_raw", "1700000000", b"{\"x\":1}");
    let headers = [
        ("webhook-id", "msg_raw"),
        ("webhook-timestamp", "1700000000"),
        ("webhook-signature", signature.as_str()),
    ];
    let verifier = Verifier::builder()
        .secret(WebhookSecret::from_bytes(key.to_vec()).expect("key"))
        .clock(Arc::new(ManualClock::new(at(NOW))))
        .build()
        .expect("secret");
    assert!(verifier.verify(&headers, b"{\"x\":1}").is_ok());
    // The same text parsed as `whsec_` would be a different (or invalid) key.
    assert!(WebhookSecret::parse("plain text key from another provider").is_err());
}

#[test]
fn long_keys_are_hashed_as_hmac_requires() {
    let key = vec![0x5a; 131];
    let signature = reference_signature(&key, "msg_long", "1700000000", b"{}");
    let headers = [
        ("webhook-id", "msg_long"),
        ("webhook-timestamp", "1700000000"),
        ("webhook-signature", signature.as_str()),
    ];
    let verifier = Verifier::builder()
        .secret(WebhookSecret::from_bytes(key).expect("key"))
        .clock(Arc::new(ManualClock::new(at(NOW))))
        .build()
        .expect("secret");
    assert!(verifier.verify(&headers, b"{}").is_ok());
}

// ---- redaction ------------------------------------------------------------------------------

#[test]
fn debug_output_never_shows_the_secret() {
    let key = secret(SECRET);
    let raw = WebhookSecret::from_bytes(b"raw-key-material-xyz".to_vec()).expect("key");
    let verifier = Verifier::builder()
        .secret(key.clone())
        .secret(raw.clone())
        .build()
        .expect("secrets");
    let builder = Verifier::builder().secret(key.clone());
    let signer = Signer::from_secret(&key);
    let outputs = [
        format!("{key:?}"),
        format!("{key:#?}"),
        format!("{raw:?}"),
        format!("{verifier:?}"),
        format!("{verifier:#?}"),
        format!("{builder:?}"),
        format!("{signer:?}"),
    ];
    let needles = [
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned(),
        "raw-key-material".to_owned(),
        format!("{:?}", key.expose_bytes()),
        format!("{:?}", raw.expose_bytes()),
    ];
    for output in &outputs {
        for needle in &needles {
            assert!(!output.contains(needle.as_str()), "{output} shows {needle}");
        }
        assert!(output.contains("redacted"), "{output}");
    }
    assert!(format!("{verifier:?}").contains("tolerance"));
}

// ---- header adapters -------------------------------------------------------------------------

#[test]
fn headers_are_found_through_every_adapter() {
    let signed = sign("msg_h", NOW, b"{}");
    let verifier = verifier_at(NOW);

    let map = signed.to_header_map().expect("valid header values");
    assert!(verifier.verify(&map, b"{}").is_ok());

    let upper: Vec<(String, String)> = signed
        .pairs()
        .iter()
        .map(|(name, value)| (name.to_uppercase(), (*value).to_owned()))
        .collect();
    assert!(verifier.verify(&upper, b"{}").is_ok());

    let owned: HashMap<String, String> = signed
        .pairs()
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
    let lookup = HeaderFn::new(|name: &str| owned.get(name).map(|v| v.as_bytes()));
    let payload = verifier.verify(&lookup, b"{}").expect("closure lookup");
    assert_eq!(payload.id(), "msg_h");
    assert_eq!(lookup.header("webhook-id"), Some(&b"msg_h"[..]));
}

#[test]
fn a_message_id_that_cannot_be_a_header_value_is_refused_when_building_the_map() {
    let signed = sign("msg\n1", NOW, b"{}");
    assert!(matches!(
        signed.to_header_map(),
        Err(WebhookError::MalformedHeader {
            name: "webhook-id",
            ..
        })
    ));
}

#[test]
fn new_message_ids_are_distinct_and_prefixed() {
    let ids: std::collections::HashSet<String> =
        (0..1_000).map(|_| Signer::new_message_id()).collect();
    assert_eq!(ids.len(), 1_000);
    assert!(ids.iter().all(|id| id.starts_with("msg_")));
}

// ---- replay guard ------------------------------------------------------------------------------

#[test]
fn replay_guard_drops_duplicates_until_the_ttl_passes() {
    let clock = ManualClock::new(at(NOW));
    let guard = InMemoryReplayGuard::new(100, Duration::from_secs(600));
    use marketing_api::clock::Clock as _;
    assert!(guard.check_and_remember("msg_a", clock.now()));
    assert!(!guard.check_and_remember("msg_a", clock.now()));
    assert!(guard.check_and_remember("msg_b", clock.now()));
    clock.advance(Duration::from_secs(599));
    assert!(!guard.check_and_remember("msg_a", clock.now()));
    clock.advance(Duration::from_secs(1));
    assert!(
        guard.check_and_remember("msg_a", clock.now()),
        "expired after the ttl"
    );
    // msg_b expired too and was dropped on that call; msg_a is remembered again.
    assert_eq!(guard.len(), 1);
    assert!(!guard.check_and_remember("msg_a", clock.now()));
}

#[tokio::test]
async fn replay_guard_as_a_trait_object_shares_the_memory_of_the_concrete_guard() {
    let concrete = Arc::new(InMemoryReplayGuard::new(100, Duration::from_secs(600)));
    let shared: Arc<dyn ReplayGuard> = concrete.clone();
    let now = at(NOW);
    assert!(shared.check_and_remember("msg_a", now).await.unwrap());
    assert!(!concrete.check_and_remember("msg_a", now));
    assert!(concrete.check_and_remember("msg_b", now));
    assert!(!shared.check_and_remember("msg_b", now).await.unwrap());
}

#[test]
fn replay_guard_forgets_the_oldest_beyond_its_capacity() {
    let guard = InMemoryReplayGuard::new(3, Duration::from_secs(600));
    let now = at(NOW);
    for id in ["m1", "m2", "m3", "m4"] {
        assert!(guard.check_and_remember(id, now));
    }
    assert_eq!(guard.len(), 3);
    assert!(!guard.check_and_remember("m4", now));
    assert!(!guard.check_and_remember("m2", now));
    assert!(guard.check_and_remember("m1", now), "m1 was evicted");
}

#[test]
fn replay_guard_stays_bounded_under_many_ids_and_reinsertions() {
    let guard = InMemoryReplayGuard::new(50, Duration::from_secs(10));
    let mut now = at(NOW);
    for round in 0..2_000u32 {
        now += Duration::from_millis(37);
        guard.check_and_remember(&format!("msg_{}", round % 120), now);
        assert!(guard.len() <= 50);
    }
    assert!(format!("{guard:?}").contains("capacity: 50"));
}

#[test]
fn replay_guard_admits_an_id_once_across_threads() {
    let guard = Arc::new(InMemoryReplayGuard::with_capacity(1_000));
    let now = at(NOW);
    let firsts: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let guard = Arc::clone(&guard);
                scope.spawn(move || {
                    (0..100)
                        .filter(|i| guard.check_and_remember(&format!("msg_{i}"), now))
                        .count()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("no panic"))
            .sum()
    });
    assert_eq!(firsts, 100);
}

// ---- arbitrary input ------------------------------------------------------------------------

#[test]
fn arbitrary_headers_and_bodies_never_panic_and_never_pass() {
    let verifier = verifier_at(NOW);
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
    let alphabet: &[u8] = b"v1,2a+/=. 0123456789msg_\xff\x00-";
    let random_bytes = |rng: &mut rand::rngs::StdRng, max: usize| -> Vec<u8> {
        let len = rng.random_range(0..=max);
        (0..len)
            .map(|_| {
                if rng.random_bool(0.7) {
                    alphabet[rng.random_range(0..alphabet.len())]
                } else {
                    rng.random()
                }
            })
            .collect()
    };
    let valid = sign("msg_fuzz", NOW, b"{}");
    for _ in 0..20_000 {
        let mut headers = pairs(&valid);
        for (_, value) in &mut headers {
            if rng.random_bool(0.5) {
                *value = random_bytes(&mut rng, 80);
            }
        }
        if rng.random_bool(0.1) {
            headers.pop();
        }
        let body = random_bytes(&mut rng, 64);
        let result = verifier.verify_event(&headers, &body);
        assert!(
            result.is_err() || body == b"{}",
            "forged input passed: {headers:?}"
        );
        let _ = Event::from_slice(&body);
        let _ = WebhookSecret::parse(&String::from_utf8_lossy(&body));
    }
}
