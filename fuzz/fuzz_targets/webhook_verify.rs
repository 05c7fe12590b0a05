//! Webhook verification on arbitrary headers and bodies: it must never panic, never accept a
//! request it did not sign, and always accept one it did.
//!
//! ```text
//! cargo +nightly fuzz run webhook_verify
//! ```
//!
//! The input is split at its first three newlines into `webhook-id`, `webhook-timestamp`,
//! `webhook-signature` and the body; the first byte, when it is not a newline, also decides
//! which headers are left out.

#![no_main]

use std::sync::{Arc, LazyLock};
use std::time::{Duration, UNIX_EPOCH};

use libfuzzer_sys::fuzz_target;
use marketing_api::clock::ManualClock;
use marketing_api::webhooks::{Event, Signer, Verifier, WebhookError, WebhookSecret};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SECOND_KEY: &[u8] = b"a second key";
const NOW: i64 = 1_700_000_000;

static VERIFIER: LazyLock<Verifier> = LazyLock::new(|| {
    Verifier::builder()
        .secret(WebhookSecret::parse(SECRET).expect("valid secret"))
        .secret(WebhookSecret::from_bytes(SECOND_KEY.to_vec()).expect("non-empty"))
        .clock(Arc::new(ManualClock::new(
            UNIX_EPOCH + Duration::from_secs(NOW as u64),
        )))
        .build()
        .expect("secrets")
});

/// One signer per secret the verifier accepts.
static SIGNERS: LazyLock<[Signer; 2]> = LazyLock::new(|| {
    [
        Signer::new(SECRET).expect("valid secret"),
        Signer::from_secret(&WebhookSecret::from_bytes(SECOND_KEY.to_vec()).expect("non-empty")),
    ]
});

fuzz_target!(|data: &[u8]| {
    let mask = data.first().copied().unwrap_or(0);
    let mut parts = data.splitn(4, |&byte| byte == b'\n');
    let id = parts.next().unwrap_or_default();
    let timestamp = parts.next().unwrap_or_default();
    let signature = parts.next().unwrap_or_default();
    let body = parts.next().unwrap_or_default();

    let mut headers: Vec<(&str, &[u8])> = Vec::with_capacity(3);
    if mask & 1 == 0 {
        headers.push(("webhook-id", id));
    }
    if mask & 2 == 0 {
        headers.push(("webhook-timestamp", timestamp));
    }
    if mask & 4 == 0 {
        headers.push(("webhook-signature", signature));
    }

    // Arbitrary input: any error, no panic, and never a forgery accepted.
    match VERIFIER.verify_event(&headers, body) {
        Ok(event) => {
            let _ = (event.id(), event.event_type());
            // Passing means the input carried a real signature; recompute it to be sure.
            let id = std::str::from_utf8(id).expect("verified ids are UTF-8");
            let timestamp: i64 = std::str::from_utf8(timestamp)
                .expect("verified timestamps are digits")
                .parse()
                .expect("verified timestamps are numbers");
            // Compared without `=` padding, which the verifier does not require.
            let listed: Vec<&[u8]> = signature
                .split(|b| b.is_ascii_whitespace())
                .map(|entry| {
                    entry
                        .strip_suffix(b"==")
                        .or(entry.strip_suffix(b"="))
                        .unwrap_or(entry)
                })
                .collect();
            let made_by_us = SIGNERS.iter().any(|signer| {
                let expected = signer.sign(id, timestamp, body);
                let expected = expected.signature().trim_end_matches('=').as_bytes();
                listed.contains(&expected)
            });
            assert!(made_by_us, "accepted a signature it did not make");
        }
        Err(error) => {
            let _ = (error.to_string(), error.status(), error.check());
        }
    }

    // The same bytes, signed properly, must verify, whatever they are.
    if let Ok(id) = std::str::from_utf8(id)
        && !id.is_empty()
    {
        let signed = SIGNERS[0].sign(id, NOW, body);
        match VERIFIER.verify(&signed, body) {
            Ok(payload) => assert_eq!(payload.body(), body),
            Err(error) => panic!("a signed request was refused: {error}"),
        }
        if let Ok(map) = signed.to_header_map() {
            assert!(VERIFIER.verify(&map, body).is_ok());
        }
        assert!(
            matches!(
                VERIFIER.verify_event(&signed, body),
                Ok(_) | Err(WebhookError::InvalidPayload { .. })
            ),
            "a signed request failed for another reason than its payload"
        );
    }

    // The other parsers that see network or configuration input.
    let _ = Event::from_slice(body);
    let _ = WebhookSecret::parse(&String::from_utf8_lossy(signature));
    if let Ok(value) = http::HeaderValue::from_bytes(signature) {
        let mut map = http::HeaderMap::new();
        map.insert("webhook-signature", value);
        let _ = VERIFIER.verify(&map, body);
    }
});
