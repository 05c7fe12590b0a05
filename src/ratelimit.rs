//! Reading the server's rate-limit headers and holding new requests back while the quota is spent.
//!
//! Three generations of headers are in use and the server may send any of them:
//!
//! - the current IETF draft: `RateLimit-Policy: "default";q=100;w=60` and
//!   `RateLimit: "default";r=0;t=1` (structured-field lists, one member per policy);
//! - the older IETF drafts: `RateLimit: limit=100, remaining=0, reset=1` (a dictionary) or the separate
//!   `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` headers;
//! - the de-facto `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`.
//!
//! Reset values are seconds until the quota refills; a value that can only be a Unix timestamp
//! (above [`EPOCH_RESET_THRESHOLD`]) is read as an absolute time, as several servers send one.
//!
//! The structured `RateLimit` and `RateLimit-Policy` headers are parsed by the `sfv` crate as
//! RFC 9651 says: a field that is not valid as a whole (an upper-case key, a trailing comma) is
//! ignored as a whole rather than half-read. Everything here reads network input: a value that
//! does not parse is ignored, never a panic.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use crate::fleet::SharedRateGate;

/// A reset value above this many seconds (about 31 years, September 2001 as a Unix time) is an
/// absolute Unix timestamp, not a delay: no server asks a client to wait three decades.
pub(crate) const EPOCH_RESET_THRESHOLD: u64 = 1_000_000_000;

/// The longest a spent quota or a `429 Retry-After` holds new requests back unless configured.
pub(crate) const DEFAULT_MAX_GATE_WAIT: Duration = Duration::from_secs(60);

/// Parses a `Retry-After` value (RFC 9110 §10.2.3): delta-seconds or an HTTP-date.
///
/// A date is turned into a wait relative to `now`; a date in the past means "retry now"
/// (`Duration::ZERO`). Anything else — empty, negative, fractional, too large for a `u64`,
/// non-ASCII — is `None`, so the caller falls back to its own backoff.
pub(crate) fn parse_retry_after(value: &HeaderValue, now: SystemTime) -> Option<Duration> {
    let text = value.to_str().ok()?.trim();
    if text.is_empty() {
        return None;
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse::<u64>().ok().map(Duration::from_secs);
    }
    let date = httpdate::parse_http_date(text).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// What one response said about the caller's quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct RateLimitStatus {
    /// Requests allowed per window, when the server said.
    pub(crate) limit: Option<u64>,
    /// Requests left in the current window.
    pub(crate) remaining: Option<u64>,
    /// When the quota refills.
    pub(crate) reset_at: Option<SystemTime>,
}

impl RateLimitStatus {
    /// Reads the rate-limit headers of a response; `None` when there are none the SDK understands.
    ///
    /// The newest header generation present wins; within `RateLimit`, the most restrictive
    /// policy wins (a spent one over one with quota left, then the one that resets last).
    #[cfg(any(test, fuzzing))]
    pub(crate) fn from_headers(headers: &HeaderMap, now: SystemTime) -> Option<Self> {
        Self::read(headers, now, true)
    }

    /// As [`from_headers`](Self::from_headers) but leaves `limit` unset: all the gate needs,
    /// read on every response, without parsing `RateLimit-Policy` too.
    pub(crate) fn remaining_and_reset(headers: &HeaderMap, now: SystemTime) -> Option<Self> {
        Self::read(headers, now, false)
    }

    fn read(headers: &HeaderMap, now: SystemTime, with_limit: bool) -> Option<Self> {
        Self::from_ietf_list(headers, now, with_limit)
            .or_else(|| Self::from_separate_headers(headers, &IETF_DRAFT_HEADERS, now, with_limit))
            .or_else(|| Self::from_separate_headers(headers, &LEGACY_HEADERS, now, with_limit))
    }

    /// The quota is spent and refills in the future.
    pub(crate) fn blocked_until(&self, now: SystemTime) -> Option<SystemTime> {
        match (self.remaining, self.reset_at) {
            (Some(0), Some(reset)) if reset > now => Some(reset),
            _ => None,
        }
    }

    fn from_ietf_list(headers: &HeaderMap, now: SystemTime, with_limit: bool) -> Option<Self> {
        let text = joined_header(headers, &RATELIMIT)?;
        // The two forms cannot be confused: a list member is never `key=value`, and a dictionary
        // key is never a quoted string.
        match sfv::Parser::new(text.as_ref()).parse::<sfv::List>() {
            Ok(policies) => Self::from_policies(&policies, headers, now, with_limit),
            Err(_) => Self::from_dictionary(text.as_ref(), now, with_limit),
        }
    }

    /// Current draft: `RateLimit: "burst";r=0;t=1, "daily";r=900;t=3600`. The most restrictive
    /// policy wins: a spent one over one with quota left, then the one that resets last.
    fn from_policies(
        policies: &sfv::List,
        headers: &HeaderMap,
        now: SystemTime,
        with_limit: bool,
    ) -> Option<Self> {
        let (name, remaining, reset_at) = items(policies)
            .filter_map(|policy| {
                let remaining = as_u64(policy.params.get("r")?)?;
                let reset = policy
                    .params
                    .get("t")
                    .and_then(as_u64)
                    .and_then(|secs| reset_instant(secs, 0, now));
                Some((policy_name(&policy.bare_item), remaining, reset))
            })
            .min_by(|a, b| a.1.cmp(&b.1).then(b.2.cmp(&a.2)))?;
        Some(Self {
            limit: if with_limit {
                policy_quota(headers, name)
            } else {
                None
            },
            remaining: Some(remaining),
            reset_at,
        })
    }

    /// Older drafts: `RateLimit: limit=100, remaining=0, reset=1`.
    fn from_dictionary(text: &str, now: SystemTime, with_limit: bool) -> Option<Self> {
        let members = sfv::Parser::new(text).parse::<sfv::Dictionary>().ok()?;
        let value = |name: &str| match members.get(name)? {
            sfv::ListEntry::Item(item) => as_u64(&item.bare_item),
            sfv::ListEntry::InnerList(_) => None,
        };
        let remaining = value("remaining");
        let reset = value("reset");
        if remaining.is_none() && reset.is_none() {
            return None;
        }
        Some(Self {
            limit: value("limit").filter(|_| with_limit),
            remaining,
            reset_at: reset.and_then(|secs| reset_instant(secs, 0, now)),
        })
    }

    fn from_separate_headers(
        headers: &HeaderMap,
        names: &SeparateHeaders,
        now: SystemTime,
        with_limit: bool,
    ) -> Option<Self> {
        let remaining = headers.get(&names.remaining).and_then(leading_u64);
        let reset_at = headers.get(&names.reset).and_then(|v| parse_reset(v, now));
        if remaining.is_none() && reset_at.is_none() {
            return None;
        }
        Some(Self {
            limit: if with_limit {
                headers.get(&names.limit).and_then(leading_u64)
            } else {
                None
            },
            remaining,
            reset_at,
        })
    }
}

// Header names read on every response: constants spare parsing each name at each lookup.
const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");

/// The names of one generation of separate rate-limit headers.
struct SeparateHeaders {
    limit: HeaderName,
    remaining: HeaderName,
    reset: HeaderName,
}

/// Earlier IETF drafts: `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset`.
const IETF_DRAFT_HEADERS: SeparateHeaders = SeparateHeaders {
    limit: HeaderName::from_static("ratelimit-limit"),
    remaining: HeaderName::from_static("ratelimit-remaining"),
    reset: HeaderName::from_static("ratelimit-reset"),
};

/// The widespread pre-standard `X-RateLimit-*` headers.
const LEGACY_HEADERS: SeparateHeaders = SeparateHeaders {
    limit: HeaderName::from_static("x-ratelimit-limit"),
    remaining: HeaderName::from_static("x-ratelimit-remaining"),
    reset: HeaderName::from_static("x-ratelimit-reset"),
};

/// `q` of the named policy in `RateLimit-Policy` (or of the first one when the name is unknown).
fn policy_quota(headers: &HeaderMap, name: Option<&str>) -> Option<u64> {
    let text = joined_header(headers, &RATELIMIT_POLICY)?;
    let policies = sfv::Parser::new(text.as_ref()).parse::<sfv::List>().ok()?;
    let named = items(&policies).find(|p| name.is_some() && policy_name(&p.bare_item) == name);
    named
        .or_else(|| items(&policies).next())?
        .params
        .get("q")
        .and_then(as_u64)
}

/// The items of a list; inner lists name no policy.
fn items(list: &sfv::List) -> impl Iterator<Item = &sfv::Item> {
    list.iter().filter_map(|entry| match entry {
        sfv::ListEntry::Item(item) => Some(item),
        sfv::ListEntry::InnerList(_) => None,
    })
}

/// A policy name is a string in the current draft; tokens are accepted too.
fn policy_name(item: &sfv::BareItem) -> Option<&str> {
    item.as_string()
        .map(|s| s.as_str())
        .or_else(|| item.as_token().map(|t| t.as_str()))
}

/// A count or a number of seconds: a non-negative integer.
fn as_u64(item: &sfv::BareItem) -> Option<u64> {
    u64::try_from(item.as_integer()?).ok()
}

/// All field lines of a list-valued header joined as one list (RFC 9110 §5.3); `None` when absent
/// or not visible ASCII.
fn joined_header<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Option<Cow<'h, str>> {
    let mut values = headers.get_all(name).iter();
    let first = values.next()?.to_str().ok()?;
    let mut joined = Cow::Borrowed(first);
    // Nearly every response has one field line: borrow it; join only when there are more.
    for value in values {
        let value = value.to_str().ok()?;
        let joined = joined.to_mut();
        if !joined.is_empty() {
            joined.push_str(", ");
        }
        joined.push_str(value);
    }
    (!joined.is_empty()).then_some(joined)
}

/// The first integer of a legacy header value: `100`, or `100, 100;w=60` as some servers send.
fn leading_u64(value: &HeaderValue) -> Option<u64> {
    let text = value.to_str().ok()?;
    let first = text.split([',', ';']).next()?.trim();
    if first.is_empty() || !first.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    first.parse().ok()
}

/// A legacy reset value: seconds (possibly fractional, `1.5`), a Unix timestamp, or an HTTP-date.
fn parse_reset(value: &HeaderValue, now: SystemTime) -> Option<SystemTime> {
    let text = value.to_str().ok()?.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let is_number = !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit());
    if is_number {
        // Nanoseconds from at most the first nine fractional digits; the rest is noise.
        let digits = &fraction[..fraction.len().min(9)];
        let nanos = if digits.is_empty() {
            0
        } else {
            digits.parse::<u32>().ok()? * 10u32.pow(9 - digits.len() as u32)
        };
        return reset_instant(whole.parse().ok()?, nanos, now);
    }
    httpdate::parse_http_date(text).ok()
}

/// Turns a reset number into an instant: an epoch-looking value is absolute, anything else a delay.
fn reset_instant(secs: u64, nanos: u32, now: SystemTime) -> Option<SystemTime> {
    let amount = Duration::new(secs, nanos);
    if secs > EPOCH_RESET_THRESHOLD {
        UNIX_EPOCH.checked_add(amount)
    } else {
        now.checked_add(amount)
    }
}

/// When the quota the headers describe refills, if they say it is spent now.
///
/// Runs on every response, and almost every response has quota left, so a cheap screen comes
/// first: a spent quota needs a remaining count of zero, which in a structured `RateLimit` header
/// is a member or parameter written `=0…` or `=-0…`, and in the separate headers a remaining
/// count of 0. Without either, the headers cannot describe a spent quota and are not parsed.
fn spent_until(headers: &HeaderMap, now: SystemTime) -> Option<SystemTime> {
    let structured_zero = headers
        .get_all(&RATELIMIT)
        .iter()
        .any(|value| has_zero_value(value.as_bytes()));
    let separate_zero = [&IETF_DRAFT_HEADERS.remaining, &LEGACY_HEADERS.remaining]
        .into_iter()
        .any(|name| headers.get(name).and_then(leading_u64) == Some(0));
    if !structured_zero && !separate_zero {
        return None;
    }
    RateLimitStatus::remaining_and_reset(headers, now)?.blocked_until(now)
}

/// Whether some `=` in a structured header is followed by `0` or `-0`.
fn has_zero_value(bytes: &[u8]) -> bool {
    bytes.iter().enumerate().any(|(at, &b)| {
        b == b'='
            && match bytes.get(at + 1) {
                Some(b'0') => true,
                Some(b'-') => bytes.get(at + 2) == Some(&b'0'),
                _ => false,
            }
    })
}

/// Holds new requests back while the server has said the quota is spent, shared by every clone of
/// a client so one response protects all of them.
///
/// The gate is a single atomic "closed until" instant: observing a response can only push it
/// later, and it opens by itself when that instant passes, so it needs no lock and no timer.
/// How long it may stay closed is capped at observation time, so a bogus reset far in the future
/// costs at most one cap's worth of waiting before a request goes out and reads fresh headers.
#[derive(Debug, Clone)]
pub(crate) struct RateLimitGate {
    /// Nanoseconds since the Unix epoch until which new requests wait; 0 when open.
    closed_until_nanos: Arc<AtomicU64>,
    max_wait: Duration,
    /// The fleet's gate, told what this one learns and asked before each request.
    shared: Option<Arc<dyn SharedRateGate>>,
}

impl Default for RateLimitGate {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_GATE_WAIT)
    }
}

impl RateLimitGate {
    /// An open gate that never holds a request back longer than `max_wait`.
    pub(crate) fn new(max_wait: Duration) -> Self {
        Self {
            closed_until_nanos: Arc::new(AtomicU64::new(0)),
            max_wait,
            shared: None,
        }
    }

    /// Also consults, and reports to, a gate shared by a fleet of processes.
    pub(crate) fn with_shared(mut self, shared: Option<Arc<dyn SharedRateGate>>) -> Self {
        self.shared = shared;
        self
    }

    /// How long a request about to be sent must wait: the longer of this gate's wait and the
    /// fleet's (whose I/O is bounded by the shared gate itself), capped like this gate's.
    pub(crate) async fn wait_before_send(&self, now: SystemTime) -> Option<Duration> {
        let local = self.delay_before_send(now);
        let Some(shared) = &self.shared else {
            return local;
        };
        let fleet = shared.delay_before_send(now).await;
        local.max(fleet.map(|wait| wait.min(self.max_wait)))
    }

    /// Records what a response said: a spent quota closes the gate until its reset, and a `429`
    /// with `Retry-After` closes it for that long.
    pub(crate) fn observe(&self, status: StatusCode, headers: &HeaderMap, now: SystemTime) {
        if let Some(until) = spent_until(headers, now) {
            self.close_until(until, now);
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            let retry_after = headers
                .get(http::header::RETRY_AFTER)
                .and_then(|v| parse_retry_after(v, now));
            if let Some(until) = retry_after.and_then(|wait| now.checked_add(wait)) {
                self.close_until(until, now);
            }
        }
    }

    /// How long a request about to be sent must wait first; `None` when it may go now.
    pub(crate) fn delay_before_send(&self, now: SystemTime) -> Option<Duration> {
        let nanos = self.closed_until_nanos.load(Ordering::Acquire);
        if nanos == 0 {
            return None;
        }
        let until = UNIX_EPOCH + Duration::from_nanos(nanos);
        let wait = until.duration_since(now).ok()?;
        // The cap also bounds a wait that grew because the clock went backwards.
        (!wait.is_zero()).then(|| wait.min(self.max_wait))
    }

    fn close_until(&self, until: SystemTime, now: SystemTime) {
        let capped = now
            .checked_add(self.max_wait)
            .map_or(until, |limit| until.min(limit));
        let nanos = capped
            .duration_since(UNIX_EPOCH)
            .ok()
            .and_then(|d| u64::try_from(d.as_nanos()).ok())
            .unwrap_or(0);
        if nanos > 0 {
            let previous = self.closed_until_nanos.fetch_max(nanos, Ordering::AcqRel);
            if let Some(shared) = &self.shared
                && previous < nanos
            {
                shared.close_until(capped);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::{HeaderName, RETRY_AFTER};

    const NOW_SECS: u64 = 1_700_000_000;

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(NOW_SECS)
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).expect("test header name"),
                HeaderValue::from_str(value).expect("test header value"),
            );
        }
        map
    }

    fn value(text: &str) -> HeaderValue {
        HeaderValue::from_str(text).expect("test header value")
    }

    #[test]
    fn retry_after_delta_seconds() {
        assert_eq!(
            parse_retry_after(&value("2"), now()),
            Some(Duration::from_secs(2))
        );
        assert_eq!(parse_retry_after(&value("0"), now()), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after(&value(" 120 "), now()),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after(&value("86400"), now()),
            Some(Duration::from_secs(86_400))
        );
    }

    #[test]
    fn retry_after_http_date_is_relative_to_now() {
        let date = httpdate::fmt_http_date(now() + Duration::from_secs(7));
        assert_eq!(
            parse_retry_after(&value(&date), now()),
            Some(Duration::from_secs(7))
        );
        let past = httpdate::fmt_http_date(now() - Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&value(&past), now()),
            Some(Duration::ZERO)
        );
        // The obsolete RFC 850 form is still a valid HTTP-date.
        assert_eq!(
            parse_retry_after(&value("Tuesday, 14-Nov-23 22:13:27 GMT"), now()),
            Some(Duration::from_secs(7))
        );
    }

    #[test]
    fn retry_after_garbage_is_ignored() {
        let odd = [
            "",
            "   ",
            "-1",
            "+5",
            "1.5",
            "1e3",
            "2 seconds",
            "soon",
            "18446744073709551616", // u64::MAX + 1
            "99999999999999999999999999999999",
            "Fri, 31 Dec 99999 23:59:59 GMT",
            "Fri, 32 Dec 2027 23:59:59 GMT",
            "\t",
        ];
        for text in odd {
            assert_eq!(parse_retry_after(&value(text), now()), None, "{text:?}");
        }
        let non_utf8 = HeaderValue::from_bytes(b"\xff\xfe2").expect("obs-text is a valid value");
        assert_eq!(parse_retry_after(&non_utf8, now()), None);
        // The largest delta that fits is kept; callers cap it.
        assert_eq!(
            parse_retry_after(&value("18446744073709551615"), now()),
            Some(Duration::from_secs(u64::MAX))
        );
    }

    #[test]
    fn retry_after_far_future_date_does_not_overflow() {
        let wait = parse_retry_after(&value("Fri, 31 Dec 9999 23:59:59 GMT"), now())
            .expect("year 9999 is a valid HTTP-date");
        // About 7,976 years from 2023.
        assert!(wait > Duration::from_secs(7_900 * 365 * 86_400));
        // A `now` before the epoch still gives an answer rather than a panic.
        assert!(parse_retry_after(&value("Thu, 01 Jan 1970 00:00:00 GMT"), UNIX_EPOCH).is_some());
    }

    #[test]
    fn ietf_current_draft_with_policy() {
        let map = headers(&[
            ("ratelimit-policy", "\"default\";q=100;w=60"),
            ("ratelimit", "\"default\";r=0;t=1"),
        ]);
        let status = RateLimitStatus::from_headers(&map, now()).expect("parsed");
        assert_eq!(
            status,
            RateLimitStatus {
                limit: Some(100),
                remaining: Some(0),
                reset_at: Some(now() + Duration::from_secs(1)),
            }
        );
        assert_eq!(
            status.blocked_until(now()),
            Some(now() + Duration::from_secs(1))
        );
    }

    #[test]
    fn ietf_most_restrictive_policy_wins() {
        let map = headers(&[
            (
                "ratelimit-policy",
                "\"burst\";q=10;w=1, \"daily\";q=1000;w=86400",
            ),
            ("ratelimit", "\"burst\";r=5;t=1, \"daily\";r=0;t=3600"),
        ]);
        let status = RateLimitStatus::from_headers(&map, now()).expect("parsed");
        assert_eq!(status.remaining, Some(0));
        assert_eq!(status.limit, Some(1000));
        assert_eq!(status.reset_at, Some(now() + Duration::from_secs(3600)));

        // Two policies spent: the later reset is the one that matters.
        let map = headers(&[("ratelimit", "\"a\";r=0;t=2, \"b\";r=0;t=9, \"c\";r=3;t=1")]);
        let status = RateLimitStatus::from_headers(&map, now()).expect("parsed");
        assert_eq!(status.reset_at, Some(now() + Duration::from_secs(9)));
        assert_eq!(status.limit, None);
    }

    #[test]
    fn ietf_list_split_across_field_lines() {
        let map = headers(&[
            ("ratelimit", "\"a\";r=4;t=2"),
            ("ratelimit", "\"b\";r=0;t=5"),
        ]);
        let status = RateLimitStatus::from_headers(&map, now()).expect("parsed");
        assert_eq!(status.remaining, Some(0));
        assert_eq!(status.reset_at, Some(now() + Duration::from_secs(5)));
    }

    #[test]
    fn ietf_older_dictionary_form() {
        let map = headers(&[("ratelimit", "limit=100, remaining=0, reset=3")]);
        let status = RateLimitStatus::from_headers(&map, now()).expect("parsed");
        assert_eq!(
            status,
            RateLimitStatus {
                limit: Some(100),
                remaining: Some(0),
                reset_at: Some(now() + Duration::from_secs(3)),
            }
        );
    }

    #[test]
    fn separate_draft_headers() {
        let map = headers(&[
            ("ratelimit-limit", "100, 100;w=60"),
            ("ratelimit-remaining", "0"),
            ("ratelimit-reset", "4"),
        ]);
        let status = RateLimitStatus::from_headers(&map, now()).expect("parsed");
        assert_eq!(
            status,
            RateLimitStatus {
                limit: Some(100),
                remaining: Some(0),
                reset_at: Some(now() + Duration::from_secs(4)),
            }
        );
    }

    #[test]
    fn x_ratelimit_seconds_epoch_fraction_and_date() {
        let map = headers(&[
            ("x-ratelimit-limit", "60"),
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1700000042"),
        ]);
        let status = RateLimitStatus::from_headers(&map, now()).expect("parsed");
        assert_eq!(status.limit, Some(60));
        assert_eq!(status.reset_at, Some(now() + Duration::from_secs(42)));

        let seconds = headers(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "30")]);
        let status = RateLimitStatus::from_headers(&seconds, now()).expect("parsed");
        assert_eq!(status.reset_at, Some(now() + Duration::from_secs(30)));

        let fraction = headers(&[("x-ratelimit-reset", "1700000001.25")]);
        let status = RateLimitStatus::from_headers(&fraction, now()).expect("parsed");
        assert_eq!(status.reset_at, Some(now() + Duration::from_millis(1250)));
        assert_eq!(status.remaining, None);

        let date = httpdate::fmt_http_date(now() + Duration::from_secs(5));
        let dated = headers(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", &date)]);
        let status = RateLimitStatus::from_headers(&dated, now()).expect("parsed");
        assert_eq!(status.reset_at, Some(now() + Duration::from_secs(5)));
    }

    #[test]
    fn newest_generation_wins() {
        let map = headers(&[
            ("ratelimit", "\"default\";r=7;t=1"),
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "30"),
        ]);
        let status = RateLimitStatus::from_headers(&map, now()).expect("parsed");
        assert_eq!(status.remaining, Some(7));
    }

    #[test]
    fn garbage_rate_limit_headers_are_ignored() {
        let odd_lists = [
            "",
            ",",
            "\"default\";r=0;t=1,",
            "\"unterminated;r=0",
            "\"default\";r=-1;t=1",
            "\"default\";r=0;t=-5",
            "\"default\";r=1234567890123456;t=1",
            "\"default\";R=0;t=1",
            "\"default\";r=0.5;t=1",
            "\"default\" garbage",
            "@@@",
            "remaining=-3",
            "\"default\";r=\"zero\"",
        ];
        for text in odd_lists {
            let map = headers(&[("ratelimit", text)]);
            let status = RateLimitStatus::from_headers(&map, now());
            assert!(
                status.is_none_or(|s| s.blocked_until(now()).is_none()),
                "{text:?} gave {status:?}"
            );
        }
        let odd_values = [
            "",
            "-1",
            "abc",
            "1e9",
            "99999999999999999999999",
            "18446744073709551615",
            "1.",
            ".5",
            "1.2.3",
            "Fri, 31 Dec 99999 23:59:59 GMT",
        ];
        for text in odd_values {
            let map = headers(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", text)]);
            let status = RateLimitStatus::from_headers(&map, now());
            // Either ignored or read as a reset that a gate caps; never a panic.
            if let Some(status) = status {
                let gate = RateLimitGate::new(Duration::from_secs(60));
                gate.observe(StatusCode::OK, &map, now());
                assert!(
                    gate.delay_before_send(now())
                        .is_none_or(|d| d <= Duration::from_secs(60)),
                    "{text:?} gave {status:?}"
                );
            }
        }
        let mut non_utf8 = HeaderMap::new();
        for name in [
            "ratelimit",
            "ratelimit-policy",
            "x-ratelimit-remaining",
            "x-ratelimit-reset",
        ] {
            non_utf8.insert(
                HeaderName::from_static(name),
                HeaderValue::from_bytes(b"\"d\xc3\xa9\";r=0;t=1").expect("obs-text"),
            );
        }
        assert_eq!(RateLimitStatus::from_headers(&non_utf8, now()), None);
    }

    #[test]
    fn sf_parser_never_panics_on_arbitrary_bytes() {
        // A small deterministic generator over the characters that matter to the grammar.
        let alphabet = b" \t,;=\"\\?-.0123456789abrtqwXYZ*:/\x7f";
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            let len = (state % 24) as usize;
            let mut text = String::new();
            for _ in 0..len {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.push(char::from(
                    alphabet[(state % alphabet.len() as u64) as usize],
                ));
            }
            state = state.wrapping_add(1);
            let _ = sfv::Parser::new(&text).parse::<sfv::List>();
            if let Ok(v) = HeaderValue::from_str(&text) {
                let mut map = HeaderMap::new();
                map.insert(HeaderName::from_static("ratelimit"), v.clone());
                map.insert(HeaderName::from_static("x-ratelimit-reset"), v.clone());
                let _ = RateLimitStatus::from_headers(&map, now());
                let _ = parse_retry_after(&v, now());
                let _ = parse_retry_after(&v, UNIX_EPOCH);
            }
        }
    }

    #[test]
    fn policy_names_with_escapes_are_read() {
        // `"q\"a"` is the policy name `q"a`.
        let map = headers(&[
            ("ratelimit-policy", r#""other";q=7, "q\"a";q=5;w=60"#),
            ("ratelimit", r#""q\"a";r=0;t=3, "other";r=4;t=60"#),
        ]);
        let status = RateLimitStatus::from_headers(&map, now()).expect("parsed");
        assert_eq!(status.limit, Some(5));
        assert_eq!(status.remaining, Some(0));
        assert_eq!(status.reset_at, Some(now() + Duration::from_secs(3)));

        // A bad escape invalidates the whole header rather than half-reading it.
        let bad = headers(&[("ratelimit", r#""a\x";r=0;t=3"#)]);
        assert_eq!(RateLimitStatus::from_headers(&bad, now()), None);
    }

    /// What the hand-written parser this module had got wrong, as RFC 9651 reads it.
    #[test]
    fn structured_fields_are_read_as_rfc_9651_says() {
        // Upper-case keys are invalid: the header is ignored, not read with the keys lower-cased.
        let upper = headers(&[("ratelimit", "Limit=10, Remaining=0, Reset=9")]);
        assert_eq!(RateLimitStatus::from_headers(&upper, now()), None);
        let upper_param = headers(&[("ratelimit", "\"d\";R=0;T=9")]);
        assert_eq!(RateLimitStatus::from_headers(&upper_param, now()), None);
        // ...and the separate headers then count.
        let fallback = headers(&[
            ("ratelimit", "Remaining=5"),
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "4"),
        ]);
        let status = RateLimitStatus::from_headers(&fallback, now()).expect("parsed");
        assert_eq!(
            status.blocked_until(now()),
            Some(now() + Duration::from_secs(4))
        );

        // A repeated dictionary key or parameter: the last value wins.
        let repeated = headers(&[("ratelimit", "remaining=5, remaining=0, reset=3")]);
        let status = RateLimitStatus::from_headers(&repeated, now()).expect("parsed");
        assert_eq!(status.remaining, Some(0));
        let repeated_param = headers(&[("ratelimit", "\"d\";r=5;r=0;t=3")]);
        let status = RateLimitStatus::from_headers(&repeated_param, now()).expect("parsed");
        assert_eq!(status.remaining, Some(0));

        // Members and parameters of types the old parser did not know (inner lists, byte
        // sequences, dates, display strings) are valid and do not hide the policy beside them.
        for text in [
            "(\"inner\" \"list\"), \"d\";r=0;t=5",
            "\"d\";r=0;t=5;id=:aGk=:",
            "\"d\";r=0;t=5;at=@1700000000",
            "\"d\";r=0;t=5;note=%\"caf%c3%a9\"",
        ] {
            let map = headers(&[("ratelimit", text)]);
            let status = RateLimitStatus::from_headers(&map, now());
            assert_eq!(
                status.and_then(|s| s.blocked_until(now())),
                Some(now() + Duration::from_secs(5)),
                "{text}"
            );
        }
    }

    #[test]
    fn the_spent_screen_agrees_with_the_full_parse() {
        let cases: &[&[(&str, &str)]] = &[
            &[("ratelimit", "\"default\";r=999;t=60")],
            &[("ratelimit", "\"default\";r=0;t=60")],
            &[("ratelimit", "\"default\";r=00;t=60")],
            &[("ratelimit", "\"default\";r=-0;t=60")],
            &[("ratelimit", "\"default\";r=10;t=0")],
            &[
                ("ratelimit", "\"a\";r=5;t=9"),
                ("ratelimit", "\"b\";r=0;t=4"),
            ],
            &[("ratelimit", "limit=10, remaining=0, reset=3")],
            &[("ratelimit", "limit=10, remaining=1, reset=0")],
            // The structured header wins over the separate ones when it parses...
            &[
                ("ratelimit", "\"default\";r=5;t=9"),
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", "9"),
            ],
            // ...and the separate ones count when it does not.
            &[
                ("ratelimit", "garbage("),
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", "9"),
            ],
            &[("ratelimit-remaining", "0"), ("ratelimit-reset", "2")],
            &[
                ("x-ratelimit-remaining", "0, 0;w=60"),
                ("x-ratelimit-reset", "2"),
            ],
            &[("x-ratelimit-remaining", "3"), ("x-ratelimit-reset", "2")],
            &[],
        ];
        for case in cases {
            let map = headers(case);
            let full =
                RateLimitStatus::from_headers(&map, now()).and_then(|s| s.blocked_until(now()));
            assert_eq!(spent_until(&map, now()), full, "{case:?}");
        }
    }

    #[test]
    fn gate_closed_until_reset_from_ratelimit_header() {
        let gate = RateLimitGate::default();
        assert_eq!(gate.delay_before_send(now()), None);
        let map = headers(&[
            ("ratelimit-policy", "\"default\";q=100;w=60"),
            ("ratelimit", "\"default\";r=0;t=1"),
        ]);
        gate.observe(StatusCode::OK, &map, now());
        assert_eq!(gate.delay_before_send(now()), Some(Duration::from_secs(1)));
        assert_eq!(
            gate.delay_before_send(now() + Duration::from_millis(400)),
            Some(Duration::from_millis(600))
        );
        assert_eq!(gate.delay_before_send(now() + Duration::from_secs(1)), None);
        assert_eq!(gate.delay_before_send(now() + Duration::from_secs(5)), None);
    }

    #[test]
    fn gate_closed_until_epoch_reset() {
        let gate = RateLimitGate::default();
        let map = headers(&[
            ("x-ratelimit-limit", "60"),
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", &(NOW_SECS + 3).to_string()),
        ]);
        gate.observe(StatusCode::OK, &map, now());
        assert_eq!(gate.delay_before_send(now()), Some(Duration::from_secs(3)));
        // An epoch reset already in the past (clock skew) does not close the gate.
        let stale = RateLimitGate::default();
        let past = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", &(NOW_SECS - 3).to_string()),
        ]);
        stale.observe(StatusCode::OK, &past, now());
        assert_eq!(stale.delay_before_send(now()), None);
    }

    #[test]
    fn gate_stays_open_with_quota_left_or_no_reset() {
        let gate = RateLimitGate::default();
        let left = headers(&[("ratelimit", "\"default\";r=3;t=10")]);
        gate.observe(StatusCode::OK, &left, now());
        assert_eq!(gate.delay_before_send(now()), None);
        let unknown_reset = headers(&[("x-ratelimit-remaining", "0")]);
        gate.observe(StatusCode::OK, &unknown_reset, now());
        assert_eq!(gate.delay_before_send(now()), None);
        // A 503 with Retry-After is one server's trouble, not a quota for every request.
        let unavailable = headers(&[("retry-after", "5")]);
        gate.observe(StatusCode::SERVICE_UNAVAILABLE, &unavailable, now());
        assert_eq!(gate.delay_before_send(now()), None);
    }

    #[test]
    fn gate_closed_by_429_retry_after() {
        let gate = RateLimitGate::default();
        let mut map = HeaderMap::new();
        map.insert(RETRY_AFTER, value("2"));
        gate.observe(StatusCode::TOO_MANY_REQUESTS, &map, now());
        assert_eq!(gate.delay_before_send(now()), Some(Duration::from_secs(2)));
        assert_eq!(gate.delay_before_send(now() + Duration::from_secs(2)), None);
    }

    #[test]
    fn gate_wait_is_capped_and_only_extends() {
        let gate = RateLimitGate::new(Duration::from_secs(60));
        let mut day = HeaderMap::new();
        day.insert(RETRY_AFTER, value("86400"));
        gate.observe(StatusCode::TOO_MANY_REQUESTS, &day, now());
        assert_eq!(gate.delay_before_send(now()), Some(Duration::from_secs(60)));
        // The cap was applied when observed: after it passes, requests flow again.
        assert_eq!(
            gate.delay_before_send(now() + Duration::from_secs(60)),
            None
        );

        // A shorter wait observed later does not reopen a longer closure.
        let gate = RateLimitGate::default();
        gate.observe(
            StatusCode::OK,
            &headers(&[("ratelimit", "\"d\";r=0;t=10")]),
            now(),
        );
        gate.observe(
            StatusCode::OK,
            &headers(&[("ratelimit", "\"d\";r=0;t=1")]),
            now(),
        );
        assert_eq!(gate.delay_before_send(now()), Some(Duration::from_secs(10)));
        // A clock that jumped backwards still waits no longer than the cap.
        assert_eq!(
            gate.delay_before_send(now() - Duration::from_secs(3600)),
            Some(Duration::from_secs(60))
        );
    }

    #[test]
    fn gate_is_shared_by_clones() {
        let gate = RateLimitGate::default();
        let clone = gate.clone();
        clone.observe(
            StatusCode::OK,
            &headers(&[("ratelimit", "\"d\";r=0;t=4")]),
            now(),
        );
        assert_eq!(gate.delay_before_send(now()), Some(Duration::from_secs(4)));
    }

    #[test]
    fn gate_ignores_times_before_the_epoch() {
        let gate = RateLimitGate::default();
        let before_epoch = UNIX_EPOCH - Duration::from_secs(100);
        gate.observe(
            StatusCode::OK,
            &headers(&[("ratelimit", "\"d\";r=0;t=4")]),
            before_epoch,
        );
        assert_eq!(gate.delay_before_send(before_epoch), None);
    }

    /// A fleet gate that records what it is told and answers a fixed wait.
    #[derive(Debug, Default)]
    struct RecordingFleetGate {
        wait: Option<Duration>,
        closed: std::sync::Mutex<Vec<SystemTime>>,
    }

    impl SharedRateGate for RecordingFleetGate {
        fn delay_before_send(
            &self,
            _now: SystemTime,
        ) -> futures::future::BoxFuture<'_, Option<Duration>> {
            Box::pin(std::future::ready(self.wait))
        }

        fn close_until(&self, until: SystemTime) {
            self.closed.lock().unwrap().push(until);
        }
    }

    #[tokio::test]
    async fn a_shared_gate_is_told_each_later_reset_once_and_its_wait_is_capped() {
        let fleet = Arc::new(RecordingFleetGate {
            wait: Some(Duration::from_secs(600)),
            ..RecordingFleetGate::default()
        });
        let gate = RateLimitGate::new(Duration::from_secs(60)).with_shared(Some(fleet.clone()));
        // The fleet's wait wins over an open local gate, capped like the local one.
        assert_eq!(
            gate.wait_before_send(now()).await,
            Some(Duration::from_secs(60))
        );
        let spent = headers(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "2")]);
        gate.observe(StatusCode::OK, &spent, now());
        gate.observe(StatusCode::OK, &spent, now());
        let earlier = headers(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "1")]);
        gate.observe(StatusCode::OK, &earlier, now());
        assert_eq!(
            *fleet.closed.lock().unwrap(),
            [now() + Duration::from_secs(2)],
            "only a reset later than the known one is reported"
        );

        let open_fleet = Arc::new(RecordingFleetGate::default());
        let gate = RateLimitGate::new(Duration::from_secs(60)).with_shared(Some(open_fleet));
        gate.observe(StatusCode::OK, &spent, now());
        assert_eq!(
            gate.wait_before_send(now()).await,
            Some(Duration::from_secs(2)),
            "the local gate's wait wins over an open fleet"
        );
    }
}
