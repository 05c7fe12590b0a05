//! Entry points for the cargo-fuzz targets in `fuzz/`: thin wrappers around the crate-private
//! parsers that read network input, so the targets exercise the real code.
//!
//! Compiled only with `--cfg fuzzing` (set by `cargo fuzz`) and in this crate's unit tests; it is
//! not part of the public API and may change at any time.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode};
use serde::de::DeserializeOwned;

use crate::codec::{self, Envelope};
use crate::error::Error;
use crate::pagination::{self, CursorGuard as InnerGuard, Next};
use crate::ratelimit::{self, RateLimitGate, RateLimitStatus};
use crate::response::Page;
use crate::transport::{self, RawResponse};

/// How many recent cursors a page stream remembers.
pub const REMEMBERED_CURSORS: usize = pagination::REMEMBERED_CURSORS;

/// Decodes a single-entity success body `{"data": T, "meta": {...}}` as an operation does.
pub fn decode_single<T: DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    codec::decode::<Envelope<T>>(body).map(|envelope| envelope.data)
}

/// Decodes a list success body into a page as a list operation does.
pub fn decode_page<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
    cursor: Option<String>,
) -> Result<Page<T>, Error> {
    transport::decode_page(&raw(StatusCode::OK, headers, body), cursor)
}

/// Decodes any JSON body naming the failing path, as every operation does.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    codec::decode(body)
}

/// The error an operation reports for a non-success response.
pub fn api_error(status: StatusCode, headers: &HeaderMap, body: &[u8], now: SystemTime) -> Error {
    transport::api_error(&raw(status, headers, body), now)
}

fn raw(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> RawResponse {
    RawResponse {
        status,
        headers: headers.clone(),
        body: Bytes::copy_from_slice(body),
        attempts: 1,
    }
}

/// Parses a `Retry-After` value.
pub fn parse_retry_after(value: &HeaderValue, now: SystemTime) -> Option<Duration> {
    ratelimit::parse_retry_after(value, now)
}

/// What the rate-limit headers of a response say: `(limit, remaining, reset_at)`.
pub fn rate_limit_status(
    headers: &HeaderMap,
    now: SystemTime,
) -> Option<(Option<u64>, Option<u64>, Option<SystemTime>)> {
    RateLimitStatus::from_headers(headers, now).map(|s| (s.limit, s.remaining, s.reset_at))
}

/// Feeds one response to a fresh rate-limit gate capped at `max_wait` and returns how long the
/// next request would wait at `later`.
pub fn gate_wait_after(
    status: StatusCode,
    headers: &HeaderMap,
    now: SystemTime,
    later: SystemTime,
    max_wait: Duration,
) -> Option<Duration> {
    let gate = RateLimitGate::new(max_wait);
    gate.observe(status, headers, now);
    gate.delay_before_send(later)
}

/// The loop detector of page streams.
pub struct CursorGuard(InnerGuard);

impl CursorGuard {
    /// A guard that has seen nothing.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Self(InnerGuard::new())
    }

    /// Records `cursor`; false if it was already followed.
    pub fn first_visit(&mut self, cursor: &str) -> bool {
        self.0.first_visit(cursor)
    }
}

/// What a page stream does after `page`: `Some(Ok(cursor))` follows `cursor`, `None` stops, and
/// `Some(Err(()))` reports a repeated cursor.
pub fn next_step<T>(page: &Page<T>, guard: &mut CursorGuard) -> Option<Result<String, ()>> {
    match pagination::next_step(page, &mut guard.0) {
        Next::Follow(cursor) => Some(Ok(cursor)),
        Next::Stop => None,
        Next::Loop => Some(Err(())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fuzzing_entry_points_reach_the_real_parsers() {
        let page = decode_page::<serde_json::Value>(
            &HeaderMap::new(),
            br#"{"data":[1,2],"meta":{"next_cursor":"c1","has_more":true}}"#,
            None,
        )
        .expect("a valid page");
        let mut guard = CursorGuard::new();
        assert_eq!(next_step(&page, &mut guard), Some(Ok("c1".to_owned())));
        assert_eq!(next_step(&page, &mut guard), Some(Err(())));
        assert!(decode_single::<u8>(br#"{"data":"x"}"#).is_err());
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            parse_retry_after(&HeaderValue::from_static("3"), now),
            Some(Duration::from_secs(3))
        );
        let error = api_error(StatusCode::BAD_GATEWAY, &HeaderMap::new(), b"<html>", now);
        assert_eq!(error.status(), Some(StatusCode::BAD_GATEWAY));
    }
}
