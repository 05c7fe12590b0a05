//! The rate gate over Redis: a shared "closed until" instant, and optionally a GCRA limiter.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, SystemTime};

use futures::future::BoxFuture;

use super::{FailureMode, RedisFleet, bump, from_millis, millis};
use crate::fleet::SharedRateGate;

/// A rate for the client-side limiter: `requests` per `period`, with bursts of up to `burst`
/// requests sent back to back.
///
/// ```
/// use std::time::Duration;
/// use marketing_api::fleet::redis::GcraLimit;
/// // 90 requests per second for the whole fleet, never more than 5 at once.
/// let limit = GcraLimit::new(90, Duration::from_secs(1)).burst(5);
/// # let _ = limit;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GcraLimit {
    requests: u32,
    period: Duration,
    burst: u32,
}

impl GcraLimit {
    /// `requests` (at least 1) per `period`, bursts of 1.
    pub fn new(requests: u32, period: Duration) -> Self {
        Self {
            requests: requests.max(1),
            period,
            burst: 1,
        }
    }

    /// How many requests may go back to back (at least 1).
    #[must_use]
    pub fn burst(mut self, burst: u32) -> Self {
        self.burst = burst.max(1);
        self
    }

    /// Microseconds between two requests at the limit.
    fn interval_us(&self) -> u64 {
        u64::try_from(self.period.as_micros() / u128::from(self.requests)).unwrap_or(u64::MAX)
    }
}

/// A [`SharedRateGate`] over Redis, for every process that uses the same name.
///
/// - **Spent quota**: a process that reads a spent quota (a `429` with `Retry-After`, a
///   `RateLimit` header with nothing remaining) writes the reset instant to Redis (only ever
///   later, by a Lua script); every request of every process reads it before it is sent and
///   waits until then.
/// - **Limiter** (optional, [`limit`](Self::limit)): a GCRA in one Lua script, timed by
///   Redis's own clock so the processes' clocks need not agree. Each request reserves the next
///   free slot of the fleet's rate and waits for it, so the fleet stays under the rate before
///   the server has to say no.
///
/// When Redis fails, [`FailureMode::Fallback`] lets requests through (each client's own gate
/// still holds them while its own responses say the quota is spent); [`FailureMode::Strict`]
/// holds each request for the fleet's strict pause instead.
///
/// See [`RedisFleet`] for how a client is given one.
pub struct RedisRateGate {
    fleet: RedisFleet,
    closed_key: String,
    tat_key: String,
    limit: Option<GcraLimit>,
    /// The latest reset this process published, so a burst of 429s writes once.
    published_ms: Arc<AtomicU64>,
}

impl fmt::Debug for RedisRateGate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisRateGate")
            .field("key", &self.closed_key)
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

/// Returns the wait in milliseconds: until the closed-until instant, else (with a limiter) until
/// the reserved slot. KEYS: closed-until, GCRA theoretical arrival time. ARGV: now (ms, the
/// caller's clock, for closed-until), interval (µs, 0 = no limiter), burst tolerance (µs).
const GATE_SCRIPT: &str = r"
local closed = tonumber(redis.call('GET', KEYS[1]) or '0')
local now_ms = tonumber(ARGV[1])
if closed > now_ms then return closed - now_ms end
local interval = tonumber(ARGV[2])
if interval == 0 then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[2]) or '0')
if tat < now then tat = now end
local wait = tat - tonumber(ARGV[3]) - now
redis.call('SET', KEYS[2], tat + interval, 'PX', math.floor((tat + interval - now) / 1000) + 1000)
if wait <= 0 then return 0 end
return math.ceil(wait / 1000)
";

/// Moves closed-until later, never earlier. KEYS: closed-until. ARGV: until (ms), TTL (ms).
const CLOSE_SCRIPT: &str = r"
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
";

static GATE: LazyLock<::redis::Script> = LazyLock::new(|| ::redis::Script::new(GATE_SCRIPT));
static CLOSE: LazyLock<::redis::Script> = LazyLock::new(|| ::redis::Script::new(CLOSE_SCRIPT));

impl RedisRateGate {
    pub(super) fn new(fleet: RedisFleet, name: &str) -> Self {
        Self {
            closed_key: fleet.key(&["gate", name, "closed-until"]),
            tat_key: fleet.key(&["gate", name, "gcra"]),
            fleet,
            limit: None,
            published_ms: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Adds the client-side limiter: the fleet together sends at most at `limit`'s rate.
    #[must_use]
    pub fn limit(mut self, limit: GcraLimit) -> Self {
        self.limit = Some(limit);
        self
    }
}

impl SharedRateGate for RedisRateGate {
    fn delay_before_send(&self, now: SystemTime) -> BoxFuture<'_, Option<Duration>> {
        Box::pin(async move {
            let (interval, tolerance) = self.limit.map_or((0, 0), |limit| {
                let interval = limit.interval_us();
                (
                    interval,
                    interval.saturating_mul(u64::from(limit.burst - 1)),
                )
            });
            let keys = [self.closed_key.clone(), self.tat_key.clone()];
            let outcome = self
                .fleet
                .run("rate gate", |mut connection| async move {
                    let wait_ms: u64 = GATE
                        .key(&keys[0])
                        .key(&keys[1])
                        .arg(millis(now))
                        .arg(interval)
                        .arg(tolerance)
                        .invoke_async(&mut connection)
                        .await?;
                    Ok(wait_ms)
                })
                .await;
            match outcome {
                Ok(0) => None,
                Ok(wait_ms) => {
                    bump(&self.fleet.counters().gate_waits);
                    Some(Duration::from_millis(wait_ms))
                }
                Err(error) => {
                    self.fleet.record_failure("rate gate", &error);
                    match self.fleet.failure_mode() {
                        FailureMode::Fallback => None,
                        FailureMode::Strict => Some(self.fleet.strict_pause()),
                    }
                }
            }
        })
    }

    fn close_until(&self, until: SystemTime) {
        let until_ms = millis(until);
        if self.published_ms.fetch_max(until_ms, Ordering::AcqRel) >= until_ms {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let fleet = self.fleet.clone();
        let key = self.closed_key.clone();
        // The key outlives the reset by a margin, then disappears by itself.
        let ttl_ms = until
            .duration_since(fleet.now())
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .saturating_add(1_000);
        runtime.spawn(async move {
            let outcome = fleet
                .run("rate gate close", |mut connection| async move {
                    let _: i64 = CLOSE
                        .key(&key)
                        .arg(until_ms)
                        .arg(ttl_ms)
                        .invoke_async(&mut connection)
                        .await?;
                    Ok(())
                })
                .await;
            if let Err(error) = outcome {
                // Only the other processes miss out: this one's own gate is closed already.
                fleet.record_failure("rate gate close", &error);
            }
        });
        tracing::debug!(until = ?from_millis(until_ms), "quota spent; closing the fleet's gate");
    }
}
