//! Tiered rate limiting: one token bucket per credential, announced in the IETF
//! `RateLimit-Policy` / `RateLimit` headers and the older `X-RateLimit-*` ones.

use crate::settings::RateTier;
use axum::http::{HeaderMap, HeaderValue};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    refilled_at: Instant,
}

/// Token buckets keyed by credential principal.
#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
}

/// The outcome of one request's check, and what its headers say.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateDecision {
    /// Whether the request may proceed.
    pub allowed: bool,
    /// The bucket capacity (`q`).
    pub limit: u32,
    /// The window in whole seconds (`w`).
    pub window_secs: u64,
    /// Requests left right now (`r`).
    pub remaining: u32,
    /// Seconds until the bucket is full again (`t`).
    pub reset_secs: u64,
    /// Seconds until the next request would be allowed.
    pub retry_after_secs: u64,
}

impl RateDecision {
    /// Writes the rate-limit headers (and `Retry-After` when refused).
    pub fn write_headers(&self, headers: &mut HeaderMap) {
        let mut put = |name: &'static str, value: String| {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        };
        put(
            "ratelimit-policy",
            format!("\"default\";q={};w={}", self.limit, self.window_secs),
        );
        put(
            "ratelimit",
            format!("\"default\";r={};t={}", self.remaining, self.reset_secs),
        );
        put("x-ratelimit-limit", self.limit.to_string());
        put("x-ratelimit-remaining", self.remaining.to_string());
        put("x-ratelimit-reset", self.reset_secs.to_string());
        if !self.allowed {
            put("retry-after", self.retry_after_secs.to_string());
        }
    }
}

impl RateLimiter {
    /// Takes one token from `principal`'s bucket under `tier`.
    pub fn check(&self, principal: &str, tier: RateTier) -> RateDecision {
        let limit = tier.limit.max(1);
        let capacity = f64::from(limit);
        let window = tier.window.as_secs_f64().max(0.001);
        let per_second = capacity / window;
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let bucket = buckets.entry(principal.to_owned()).or_insert(Bucket {
            tokens: capacity,
            refilled_at: now,
        });
        let elapsed = now.duration_since(bucket.refilled_at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(capacity);
        bucket.refilled_at = now;
        let allowed = bucket.tokens >= 1.0;
        if allowed {
            bucket.tokens -= 1.0;
        }
        let tokens = bucket.tokens;
        drop(buckets);
        RateDecision {
            allowed,
            limit,
            window_secs: window.ceil() as u64,
            remaining: tokens.floor() as u32,
            reset_secs: ((capacity - tokens) / per_second).ceil() as u64,
            retry_after_secs: (((1.0 - tokens) / per_second).ceil() as u64).max(1),
        }
    }
}
