//! Response decoding on arbitrary bodies: success envelopes of every entity, list pages and error
//! answers. It must never panic, every failure must be a typed error that names where it failed,
//! and whatever decodes must survive being sent back (serialize, then decode again).
//!
//! ```text
//! cargo fuzz run decode_response
//! ```
//!
//! The first byte picks the model, the second how the body is read (single entity, page, error
//! answer and its status); the rest is the body.

#![no_main]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderValue, StatusCode};
use libfuzzer_sys::fuzz_target;
use marketing_api::__fuzz;
use marketing_api::models::*;
use marketing_api::webhooks::Event;
use marketing_api::{ErrorKind, Page};
use serde::Serialize;
use serde::de::DeserializeOwned;

const NOW: Duration = Duration::from_secs(1_700_000_000);

fn now() -> SystemTime {
    UNIX_EPOCH + NOW
}

/// Decodes `body` as `T` the way `mode` says and checks what came out.
fn check<T: DeserializeOwned + Serialize>(mode: u8, body: &[u8]) {
    match mode % 3 {
        0 => match __fuzz::decode_single::<T>(body) {
            Ok(value) => round_trip(&value),
            Err(error) => expect_decode_error(&error),
        },
        1 => {
            let mut headers = HeaderMap::new();
            headers.insert("x-request-id", HeaderValue::from_static("req_fuzz"));
            let cursor = (mode & 8 != 0).then(|| "cur_start".to_owned());
            match __fuzz::decode_page::<T>(&headers, body, cursor.clone()) {
                Ok(page) => check_page(&page, cursor),
                Err(error) => expect_decode_error(&error),
            }
        }
        _ => {
            // 400..=599, from the mode's high bits.
            let status = StatusCode::from_u16(400 + u16::from(mode) * 199 / 255 / 3 * 3)
                .unwrap_or(StatusCode::BAD_GATEWAY);
            let mut headers = HeaderMap::new();
            if mode & 16 != 0 {
                headers.insert("retry-after", HeaderValue::from_static("7"));
            }
            let error = __fuzz::api_error(status, &headers, body, now());
            assert_eq!(error.kind(), ErrorKind::Api);
            let api = error.api_error().expect("an API error carries its answer");
            assert_eq!(api.status, status);
            assert!(
                !api.message.is_empty(),
                "an API error always says something"
            );
            if mode & 16 != 0 {
                assert_eq!(api.retry_after, Some(Duration::from_secs(7)));
            }
            let _ = (error.to_string(), format!("{error:?}"));
        }
    }
}

fn expect_decode_error(error: &marketing_api::Error) {
    assert_eq!(error.kind(), ErrorKind::Decode, "{error}");
    assert!(
        error.decode_path().is_some(),
        "a decode error names its path: {error}"
    );
    assert!(std::error::Error::source(error).is_some());
    let _ = (error.to_string(), format!("{error:?}"));
}

/// What the SDK accepted from the server, it must be able to send back and read again.
fn round_trip<T: DeserializeOwned + Serialize>(value: &T) {
    let data = serde_json::to_value(value).expect("a decoded model serializes");
    let body = serde_json::to_vec(&serde_json::json!({ "data": data })).expect("JSON");
    if let Err(error) = __fuzz::decode_single::<T>(&body) {
        panic!(
            "a decoded value does not decode again: {error}\n{}",
            String::from_utf8_lossy(&body)
        );
    }
}

fn check_page<T: DeserializeOwned + Serialize>(page: &Page<T>, cursor: Option<String>) {
    assert_eq!(page.cursor, cursor);
    if !page.has_more {
        assert_eq!(page.resume_cursor(), None);
    }
    if page.resume_cursor().is_some() {
        assert!(page.has_more && page.next_cursor.is_some());
    }
    assert!(
        page.request_id.is_some(),
        "the header request id is the fallback"
    );
    for item in &page.items {
        round_trip(item);
    }
}

fuzz_target!(|data: &[u8]| {
    let [model, mode, body @ ..] = data else {
        return;
    };
    match model % 24 {
        0 => check::<Campaign>(*mode, body),
        1 => check::<Ad>(*mode, body),
        2 => check::<Creative>(*mode, body),
        3 => check::<Contact>(*mode, body),
        4 => check::<Audience>(*mode, body),
        5 => check::<InteractionEvent>(*mode, body),
        6 => check::<EventBatchResult>(*mode, body),
        7 => check::<WebhookEndpoint>(*mode, body),
        8 => check::<WebhookDelivery>(*mode, body),
        9 => check::<WebhookSecret>(*mode, body),
        10 => check::<AudienceMembershipResult>(*mode, body),
        11 => check::<TokenResponse>(*mode, body),
        12 => check::<CampaignMetrics>(*mode, body),
        13 => check::<CampaignPatch>(*mode, body),
        14 => check::<ContactPatch>(*mode, body),
        15 => check::<NewCampaign>(*mode, body),
        16 => check::<FormSubmission>(*mode, body),
        17 => check::<Purchase>(*mode, body),
        18 => check::<CampaignStatus>(*mode, body),
        19 => check::<WebhookEventType>(*mode, body),
        20 => check::<ErrorResponse>(*mode, body),
        21 => check::<CampaignStatusChangedEvent>(*mode, body),
        22 => check::<PurchaseCompletedEvent>(*mode, body),
        _ => {
            // A webhook payload outside the envelope, as receivers read it.
            if let Ok(event) = Event::from_slice(body) {
                let _ = (event.id(), event.event_type(), format!("{event:?}"));
            }
        }
    }
});
