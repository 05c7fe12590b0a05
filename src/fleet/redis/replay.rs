//! The webhook replay guard over Redis: `SET key 1 NX PX ttl` per message id.

use std::fmt;
use std::time::{Duration, SystemTime};

use futures::future::BoxFuture;

use super::{FailureMode, RedisFleet, bump};
use crate::webhooks::{DEFAULT_REPLAY_TTL, InMemoryReplayGuard, ReplayGuard, ReplayGuardError};

/// A [`ReplayGuard`] shared by every receiver of an endpoint: the first receiver to record an
/// id gets `true`, every other receiver (and every later retry) `false`, for the guard's TTL.
///
/// Redis does the check and the write in one `SET NX PX`, so two receivers handed the same
/// delivery at the same instant cannot both win. When Redis fails, [`FailureMode::Fallback`]
/// asks a process-local [`InMemoryReplayGuard`] instead (a delivery retried to another receiver
/// during the outage can then be processed twice); [`FailureMode::Strict`] returns an error,
/// to be answered with a 5xx so the sender retries later.
///
/// ```no_run
/// use std::time::SystemTime;
/// use marketing_api::fleet::redis::RedisFleet;
/// use marketing_api::webhooks::ReplayGuard;
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let guard = RedisFleet::builder("redis://127.0.0.1:6379").build()?.replay_guard("orders");
/// if guard.check_and_remember("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", SystemTime::now()).await? {
///     // first delivery anywhere in the fleet: process it
/// }
/// # Ok(()) }
/// ```
pub struct RedisReplayGuard {
    fleet: RedisFleet,
    prefix: String,
    ttl: Duration,
    local: InMemoryReplayGuard,
}

impl fmt::Debug for RedisReplayGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisReplayGuard")
            .field("prefix", &self.prefix)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// How many ids the process-local fallback remembers.
const LOCAL_CAPACITY: usize = 100_000;

impl RedisReplayGuard {
    pub(super) fn new(fleet: RedisFleet, name: &str) -> Self {
        let prefix = fleet.key(&["webhook-seen", name]);
        Self {
            fleet,
            prefix,
            ttl: DEFAULT_REPLAY_TTL,
            local: InMemoryReplayGuard::new(LOCAL_CAPACITY, DEFAULT_REPLAY_TTL),
        }
    }

    /// How long an id is remembered (default [`DEFAULT_REPLAY_TTL`]): at least twice the
    /// verifier's tolerance, since a replay is rejected as stale only after that.
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self.local = InMemoryReplayGuard::new(LOCAL_CAPACITY, ttl);
        self
    }
}

impl ReplayGuard for RedisReplayGuard {
    fn check_and_remember<'a>(
        &'a self,
        id: &'a str,
        now: SystemTime,
    ) -> BoxFuture<'a, Result<bool, ReplayGuardError>> {
        Box::pin(async move {
            let key = format!("{}:{id}", self.prefix);
            let ttl_ms = u64::try_from(self.ttl.as_millis())
                .unwrap_or(u64::MAX)
                .max(1);
            let outcome = self
                .fleet
                .run("replay SET NX", |mut connection| async move {
                    let set: Option<String> = ::redis::cmd("SET")
                        .arg(&key)
                        .arg(1)
                        .arg("NX")
                        .arg("PX")
                        .arg(ttl_ms)
                        .query_async(&mut connection)
                        .await?;
                    Ok(set.is_some())
                })
                .await;
            match outcome {
                Ok(first) => {
                    if !first {
                        bump(&self.fleet.counters().replay_duplicates);
                    }
                    // Remembered locally too, so a fallback during an outage still knows the
                    // ids this receiver saw.
                    self.local.check_and_remember(id, now);
                    Ok(first)
                }
                Err(error) => {
                    self.fleet.record_failure("replay guard", &error);
                    match self.fleet.failure_mode() {
                        FailureMode::Strict => Err(ReplayGuardError::new(error)),
                        FailureMode::Fallback => Ok(self.local.check_and_remember(id, now)),
                    }
                }
            }
        })
    }
}
