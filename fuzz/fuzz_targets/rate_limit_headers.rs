//! `Retry-After` and rate-limit header parsing on arbitrary values: never a panic, and every wait
//! the SDK derives stays within its cap.
//!
//! ```text
//! cargo fuzz run rate_limit_headers
//! ```
//!
//! The input is a list of header lines separated by `\n`; the first byte of each line picks the
//! header name and the rest is its value. The first byte of the input also picks the status.

#![no_main]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use libfuzzer_sys::fuzz_target;
use marketing_api::__fuzz;

const NAMES: [&str; 12] = [
    "retry-after",
    "ratelimit",
    "ratelimit-policy",
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "ratelimit",
    "retry-after",
    "x-request-id",
];
const MAX_WAIT: Duration = Duration::from_secs(60);

fuzz_target!(|data: &[u8]| {
    let Some(&first) = data.first() else {
        return;
    };
    let status = match first % 4 {
        0 => StatusCode::TOO_MANY_REQUESTS,
        1 => StatusCode::SERVICE_UNAVAILABLE,
        2 => StatusCode::OK,
        _ => StatusCode::BAD_GATEWAY,
    };
    // A clock anywhere from the epoch to far in the future.
    let now = UNIX_EPOCH + Duration::from_secs(u64::from(first) * 17_000_000);
    let mut headers = HeaderMap::new();
    for line in data[1..].split(|&b| b == b'\n') {
        let Some((&selector, value)) = line.split_first() else {
            continue;
        };
        let name = HeaderName::from_static(NAMES[usize::from(selector) % NAMES.len()]);
        let Ok(value) = HeaderValue::from_bytes(value) else {
            continue;
        };
        let retry_after = __fuzz::parse_retry_after(&value, now);
        if let Ok(text) = value.to_str() {
            let text = text.trim();
            if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
                assert_eq!(
                    retry_after,
                    text.parse::<u64>().ok().map(Duration::from_secs),
                    "delta-seconds are read exactly"
                );
            }
        }
        headers.append(name, value);
    }

    let status_now = __fuzz::rate_limit_status(&headers, now);
    if let Some((_, Some(0), Some(reset))) = status_now
        && reset > now
    {
        // A spent quota closes the gate until the reset, capped.
        let wait = __fuzz::gate_wait_after(status, &headers, now, now, MAX_WAIT);
        assert!(wait.is_some(), "a spent quota holds requests back");
    } else if status != StatusCode::TOO_MANY_REQUESTS {
        // And nothing else does: the gate's cheap screen agrees with the full parse.
        assert_eq!(
            __fuzz::gate_wait_after(status, &headers, now, now, MAX_WAIT),
            None,
            "quota left (or unknown) keeps the gate open"
        );
    }
    for later in [now, now + Duration::from_millis(1500), now + MAX_WAIT] {
        if let Some(wait) = __fuzz::gate_wait_after(status, &headers, now, later, MAX_WAIT) {
            assert!(
                !wait.is_zero() && wait <= MAX_WAIT,
                "wait {wait:?} outside (0, cap]"
            );
        }
    }
    // Past the cap the gate is always open again.
    let reopened = now
        .checked_add(MAX_WAIT + Duration::from_secs(1))
        .unwrap_or(now);
    if reopened > now {
        assert_eq!(
            __fuzz::gate_wait_after(status, &headers, now, reopened, MAX_WAIT),
            None
        );
    }
    let _: Option<SystemTime> = status_now.and_then(|s| s.2);
});
