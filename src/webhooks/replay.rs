//! Remembering recent message ids so a receiver processes each event once.

use std::collections::{HashMap, VecDeque};
use std::error::Error as StdError;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// `futures::future::BoxFuture`, spelled out: a webhook-only build has no `futures` crate.
type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Decides whether a verified message is seen for the first time.
///
/// Senders retry until they get a 2xx, with the same `webhook-id` each time, and a captured
/// request can be replayed within the timestamp tolerance; a receiver asks the guard after
/// verifying (never before: an unverified id must not be remembered) and acknowledges a
/// duplicate without processing it again.
///
/// The answer is a future because a guard shared by several receivers asks a store (with the
/// `redis` feature, `marketing_api::fleet::redis::RedisReplayGuard` does `SET NX` with a TTL);
/// [`InMemoryReplayGuard`] serves one process and also answers synchronously through its own
/// [`check_and_remember`](InMemoryReplayGuard::check_and_remember).
///
/// ```
/// use std::sync::Arc;
/// use std::time::{Duration, UNIX_EPOCH};
/// use marketing_api::webhooks::{InMemoryReplayGuard, ReplayGuard};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), marketing_api::webhooks::ReplayGuardError> {
/// let guard: Arc<dyn ReplayGuard> = Arc::new(InMemoryReplayGuard::with_capacity(1_000));
/// let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// assert!(guard.check_and_remember("msg_1", now).await?);
/// assert!(!guard.check_and_remember("msg_1", now).await?);
/// # Ok(()) }
/// ```
pub trait ReplayGuard: Send + Sync {
    /// Records `id` as seen at `now`; `true` when it had not been seen (within the guard's
    /// memory), `false` for a duplicate.
    ///
    /// # Errors
    /// A guard that cannot tell (its store is down and it is configured to fail closed) says
    /// so: answer the sender with a 5xx so it retries later, rather than risk processing the
    /// message twice.
    fn check_and_remember<'a>(
        &'a self,
        id: &'a str,
        now: SystemTime,
    ) -> BoxFuture<'a, Result<bool, ReplayGuardError>>;
}

/// A [`ReplayGuard`] could not tell whether a message id was seen before.
#[derive(Debug)]
pub struct ReplayGuardError {
    source: Box<dyn StdError + Send + Sync>,
}

impl ReplayGuardError {
    /// Wraps the store's error.
    pub fn new(source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self {
            source: source.into(),
        }
    }
}

impl fmt::Display for ReplayGuardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The store's own message is the `source()`, printed by chain reporters.
        f.write_str("the replay guard could not tell whether the message was seen before")
    }
}

impl StdError for ReplayGuardError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.source)
    }
}

/// A bounded, time-limited [`ReplayGuard`] in memory.
///
/// An id is remembered for `ttl` after it is first seen, and at most `capacity` ids are kept:
/// when full, the oldest is forgotten first. Choose `ttl` at least twice the verifier's
/// tolerance (the default is ten minutes, for the five-minute default tolerance), since a
/// replayed request is rejected as stale only after that; and `capacity` above the number of
/// events the endpoint receives in `ttl`.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use marketing_api::webhooks::{InMemoryReplayGuard, ReplayGuard};
/// let guard = InMemoryReplayGuard::new(1_000, Duration::from_secs(600));
/// let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// assert!(guard.check_and_remember("msg_1", now));
/// assert!(!guard.check_and_remember("msg_1", now + Duration::from_secs(5)));
/// assert!(guard.check_and_remember("msg_1", now + Duration::from_secs(601)));
/// ```
pub struct InMemoryReplayGuard {
    capacity: usize,
    ttl: Duration,
    seen: Mutex<Seen>,
}

/// Ids with the time they were first seen, and the same ids in arrival order so expired
/// and surplus entries are dropped from the front without scanning the map.
#[derive(Default)]
struct Seen {
    by_id: HashMap<String, SystemTime>,
    order: VecDeque<(String, SystemTime)>,
}

/// The default time an id is remembered: twice the default verification tolerance.
pub const DEFAULT_REPLAY_TTL: Duration = Duration::from_secs(10 * 60);

impl InMemoryReplayGuard {
    /// A guard keeping at most `capacity` ids (at least one), each for `ttl`.
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            capacity: capacity.max(1),
            ttl,
            seen: Mutex::new(Seen::default()),
        }
    }

    /// A guard keeping up to `capacity` ids for [`DEFAULT_REPLAY_TTL`].
    pub fn with_capacity(capacity: usize) -> Self {
        Self::new(capacity, DEFAULT_REPLAY_TTL)
    }

    /// How many ids are currently remembered (expired ones may still count until the next
    /// check).
    pub fn len(&self) -> usize {
        self.lock().by_id.len()
    }

    /// Whether no id is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Seen> {
        // A poisoned lock only means a panic elsewhere while holding it; the map and queue
        // are updated together below with no panicking step between, so they stay usable.
        self.seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn is_expired(&self, first_seen: SystemTime, now: SystemTime) -> bool {
        // A clock that went backwards gives an error here: treat the entry as fresh.
        now.duration_since(first_seen)
            .is_ok_and(|age| age >= self.ttl)
    }
}

impl ReplayGuard for InMemoryReplayGuard {
    fn check_and_remember<'a>(
        &'a self,
        id: &'a str,
        now: SystemTime,
    ) -> BoxFuture<'a, Result<bool, ReplayGuardError>> {
        let first = InMemoryReplayGuard::check_and_remember(self, id, now);
        Box::pin(std::future::ready(Ok(first)))
    }
}

impl InMemoryReplayGuard {
    /// Records `id` as seen at `now`; `true` when it had not been seen within `ttl` (and not
    /// evicted for capacity since), `false` for a duplicate. The synchronous form of
    /// [`ReplayGuard::check_and_remember`], which never fails for this guard.
    pub fn check_and_remember(&self, id: &str, now: SystemTime) -> bool {
        let mut seen = self.lock();
        let Seen { by_id, order } = &mut *seen;

        // Forget what has expired. The queue is in arrival order; an entry whose id was
        // remembered again later has a newer time in the map and is left there.
        while let Some((front_id, front_time)) = order.front() {
            if !self.is_expired(*front_time, now) {
                break;
            }
            if by_id.get(front_id) == Some(front_time) {
                by_id.remove(front_id);
            }
            order.pop_front();
        }

        if let Some(first_seen) = by_id.get(id)
            && !self.is_expired(*first_seen, now)
        {
            return false;
        }

        by_id.insert(id.to_owned(), now);
        order.push_back((id.to_owned(), now));
        while by_id.len() > self.capacity {
            let Some((oldest_id, oldest_time)) = order.pop_front() else {
                break;
            };
            if by_id.get(&oldest_id) == Some(&oldest_time) {
                by_id.remove(&oldest_id);
            }
        }
        // Stale duplicates of re-remembered ids can pile up in the queue; bound it too.
        if order.len() > self.capacity.saturating_mul(2) {
            order.retain(|(queued_id, queued_time)| by_id.get(queued_id) == Some(queued_time));
        }
        true
    }
}

impl fmt::Debug for InMemoryReplayGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InMemoryReplayGuard")
            .field("capacity", &self.capacity)
            .field("ttl", &self.ttl)
            .field("remembered", &self.len())
            .finish()
    }
}
