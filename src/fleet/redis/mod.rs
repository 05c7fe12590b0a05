//! One Redis shared by the processes of a fleet: the token store with its renewal lease, the
//! rate gate (with an optional GCRA limiter) and the webhook replay guard.
//!
//! Every command runs with a timeout on a small pool of auto-reconnecting multiplexed
//! connections, so Redis trouble costs at most one timeout per call, never a hang. What a failed
//! call then means is the [`FailureMode`]: by default the call is served by process-local state
//! instead ([`FailureMode::Fallback`]), logged at `warn` and counted in [`FleetStats`]; with
//! [`FailureMode::Strict`] it fails closed. After a failed connection attempt a pool slot waits
//! [`RedisFleetBuilder::reconnect_pause`] before trying again, so an outage is not a connection
//! storm; the first call that succeeds afterwards logs the return to shared mode.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::clock::{Clock, SystemClock};

mod gate;
mod replay;
mod token_store;

pub use gate::{GcraLimit, RedisRateGate};
pub use replay::RedisReplayGuard;
pub use token_store::{DEFAULT_LEASE, RedisTokenStore};

/// What a fleet component does when Redis cannot answer in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FailureMode {
    /// Serve the call from process-local state, as a single process would (the token from this
    /// process's own renewal, the local rate gate, a local replay guard), report it through
    /// tracing and [`FleetStats`], and use Redis again as soon as it answers.
    #[default]
    Fallback,
    /// Fail closed: a token renewal fails with a token-store error (the client's token retry
    /// policy retries it), the rate gate holds requests for
    /// [`RedisFleetBuilder::strict_pause`] instead of letting them through, and the replay guard
    /// returns an error instead of accepting the message.
    Strict,
}

/// An error from Redis, or Redis not answering within the command timeout.
#[derive(Debug)]
pub struct FleetError {
    kind: FleetErrorKind,
}

#[derive(Debug)]
enum FleetErrorKind {
    Timeout(Duration),
    Unavailable,
    Redis(::redis::RedisError),
    Corrupt(String),
}

impl FleetError {
    /// Whether Redis did not answer within the command timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self.kind, FleetErrorKind::Timeout(_))
    }

    fn corrupt(what: impl Into<String>) -> Self {
        Self {
            kind: FleetErrorKind::Corrupt(what.into()),
        }
    }
}

impl fmt::Display for FleetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            FleetErrorKind::Timeout(after) => write!(f, "Redis did not answer within {after:?}"),
            FleetErrorKind::Unavailable => {
                f.write_str("Redis is unreachable (waiting before the next connection attempt)")
            }
            FleetErrorKind::Redis(_) => f.write_str("the Redis command failed"),
            FleetErrorKind::Corrupt(what) => write!(f, "unexpected data in Redis: {what}"),
        }
    }
}

impl StdError for FleetError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match &self.kind {
            FleetErrorKind::Redis(e) => Some(e),
            _ => None,
        }
    }
}

impl From<::redis::RedisError> for FleetError {
    fn from(error: ::redis::RedisError) -> Self {
        Self {
            kind: FleetErrorKind::Redis(error),
        }
    }
}

/// Counters of what the fleet components did, for metrics. Monotonic since the
/// [`RedisFleet`] was built; read with [`RedisFleet::stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct FleetStats {
    /// Calls that Redis answered.
    pub redis_ok: u64,
    /// Calls that failed (error, timeout, unreachable).
    pub redis_errors: u64,
    /// Calls served by process-local state because Redis failed ([`FailureMode::Fallback`]).
    pub fallbacks: u64,
    /// Calls that failed closed because Redis failed ([`FailureMode::Strict`]).
    pub strict_failures: u64,
    /// Token renewals this process carried out holding the fleet's lease.
    pub renewals_led: u64,
    /// Token renewals answered with a token another process obtained.
    pub renewals_reused: u64,
    /// Token saves refused by fencing: the lease had passed to another process meanwhile.
    pub fenced_writes: u64,
    /// Requests held by the shared rate gate or the limiter.
    pub gate_waits: u64,
    /// Webhook ids refused as already seen by some receiver.
    pub replay_duplicates: u64,
}

#[derive(Debug, Default)]
struct Counters {
    redis_ok: AtomicU64,
    redis_errors: AtomicU64,
    fallbacks: AtomicU64,
    strict_failures: AtomicU64,
    renewals_led: AtomicU64,
    renewals_reused: AtomicU64,
    fenced_writes: AtomicU64,
    gate_waits: AtomicU64,
    replay_duplicates: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// A handle on one Redis shared by a fleet, and the factory of its components. Cheap to clone;
/// clones share the connections and the [`FleetStats`].
///
/// Building it does no I/O: connections are opened on first use, so a process starts (and
/// falls back) even while Redis is down.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use marketing_api::fleet::redis::{FailureMode, RedisFleet};
/// use marketing_api::{Client, auth::OAuth2};
///
/// let fleet = RedisFleet::builder("redis://127.0.0.1:6379")
///     .key_prefix("billing-svc")
///     .command_timeout(Duration::from_millis(250))
///     .failure_mode(FailureMode::Fallback)
///     .build()?;
/// let client = Client::builder("https://api.example.com/v1")
///     .auth(
///         OAuth2::client_credentials("cli_123", "secret", "https://api.example.com/v1/oauth/token")
///             .token_store(Arc::new(fleet.token_store("cli_123"))),
///     )
///     .shared_rate_gate(Arc::new(fleet.rate_gate("api")))
///     .build()?;
/// let guard = fleet.replay_guard("orders-endpoint");
/// # let _ = (client, guard);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct RedisFleet {
    inner: Arc<FleetInner>,
}

struct FleetInner {
    client: ::redis::Client,
    prefix: String,
    mode: FailureMode,
    command_timeout: Duration,
    connect_timeout: Duration,
    reconnect_pause: Duration,
    strict_pause: Duration,
    clock: Arc<dyn Clock>,
    slots: Vec<Slot>,
    next_slot: AtomicUsize,
    counters: Counters,
    /// Set when a call failed, cleared (and logged) by the next call that succeeds.
    degraded: AtomicBool,
    /// Until when (Unix nanoseconds by the fleet's clock) calls fail at once after a failure:
    /// a Redis that times out would otherwise cost every request a full command timeout.
    skip_until_nanos: AtomicU64,
}

/// One pooled connection, opened on demand.
struct Slot {
    connection: tokio::sync::Mutex<Option<ConnectionManager>>,
    /// Another slot's connection dropped (Redis restarted or failed over), so this one most
    /// likely did too: probe it before the next command.
    suspect: AtomicBool,
    /// Until when (Unix nanoseconds by the fleet's clock) no new connection is attempted.
    retry_at_nanos: AtomicU64,
}

impl fmt::Debug for RedisFleet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The connection info may hold a password: only the prefix and settings are shown.
        f.debug_struct("RedisFleet")
            .field("prefix", &self.inner.prefix)
            .field("mode", &self.inner.mode)
            .field("pool_size", &self.inner.slots.len())
            .field("command_timeout", &self.inner.command_timeout)
            .field("degraded", &self.is_degraded())
            .finish_non_exhaustive()
    }
}

/// Configures a [`RedisFleet`]; see [`RedisFleet::builder`].
#[must_use]
pub struct RedisFleetBuilder {
    url: String,
    prefix: String,
    mode: FailureMode,
    pool_size: usize,
    command_timeout: Duration,
    connect_timeout: Duration,
    reconnect_pause: Duration,
    strict_pause: Duration,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for RedisFleetBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisFleetBuilder")
            .field("prefix", &self.prefix)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl RedisFleetBuilder {
    /// Prefix of every key (default `marketing-api`), so several services or environments can
    /// share one Redis.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// What a component does when Redis fails (default [`FailureMode::Fallback`]).
    pub fn failure_mode(mut self, mode: FailureMode) -> Self {
        self.mode = mode;
        self
    }

    /// How many multiplexed connections to spread calls over (default 4, at least 1).
    pub fn pool_size(mut self, size: usize) -> Self {
        self.pool_size = size.max(1);
        self
    }

    /// The longest one Redis call may take, connecting included (default 500 ms).
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout;
        self
    }

    /// The longest a connection attempt may take (default 250 ms).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long calls fail at once after a failed call (or a pool slot after a failed connection
    /// attempt) before Redis is tried again (default 1 s).
    pub fn reconnect_pause(mut self, pause: Duration) -> Self {
        self.reconnect_pause = pause;
        self
    }

    /// In [`FailureMode::Strict`], how long the rate gate holds a request when Redis cannot say
    /// whether the fleet's quota is spent (default 1 s).
    pub fn strict_pause(mut self, pause: Duration) -> Self {
        self.strict_pause = pause;
        self
    }

    /// The clock for expiries, leases and reconnect pauses (default the system clock); use the
    /// client's clock in tests.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Checks the URL; opens no connection.
    ///
    /// # Errors
    /// A [`FleetError`] if the URL is not a Redis URL.
    pub fn build(self) -> Result<RedisFleet, FleetError> {
        let client = ::redis::Client::open(self.url.as_str())?;
        let slots = (0..self.pool_size)
            .map(|_| Slot {
                connection: tokio::sync::Mutex::new(None),
                suspect: AtomicBool::new(false),
                retry_at_nanos: AtomicU64::new(0),
            })
            .collect();
        Ok(RedisFleet {
            inner: Arc::new(FleetInner {
                client,
                prefix: self.prefix,
                mode: self.mode,
                command_timeout: self.command_timeout,
                connect_timeout: self.connect_timeout,
                reconnect_pause: self.reconnect_pause,
                strict_pause: self.strict_pause,
                clock: self.clock,
                slots,
                next_slot: AtomicUsize::new(0),
                counters: Counters::default(),
                degraded: AtomicBool::new(false),
                skip_until_nanos: AtomicU64::new(0),
            }),
        })
    }
}

impl RedisFleet {
    /// Starts configuring a fleet on the Redis at `url` (`redis://[:password@]host:port[/db]`).
    pub fn builder(url: impl Into<String>) -> RedisFleetBuilder {
        RedisFleetBuilder {
            url: url.into(),
            prefix: "marketing-api".to_owned(),
            mode: FailureMode::Fallback,
            pool_size: 4,
            command_timeout: Duration::from_millis(500),
            connect_timeout: Duration::from_millis(250),
            reconnect_pause: Duration::from_secs(1),
            strict_pause: Duration::from_secs(1),
            clock: Arc::new(SystemClock),
        }
    }

    /// A token store shared by every process that uses the same `name` (e.g. the OAuth client
    /// id): one of them renews under the fleet's lease, the others reuse its tokens.
    pub fn token_store(&self, name: &str) -> RedisTokenStore {
        RedisTokenStore::new(self.clone(), name)
    }

    /// A rate gate shared by every process that uses the same `name` (one per API quota).
    pub fn rate_gate(&self, name: &str) -> RedisRateGate {
        RedisRateGate::new(self.clone(), name)
    }

    /// A webhook replay guard shared by every receiver that uses the same `name` (one per
    /// endpoint), remembering ids for [`DEFAULT_REPLAY_TTL`](crate::webhooks::DEFAULT_REPLAY_TTL).
    pub fn replay_guard(&self, name: &str) -> RedisReplayGuard {
        RedisReplayGuard::new(self.clone(), name)
    }

    /// What the components did so far, e.g. to export as metrics.
    ///
    /// ```
    /// use marketing_api::fleet::redis::RedisFleet;
    /// let fleet = RedisFleet::builder("redis://127.0.0.1:6379").build()?;
    /// let stats = fleet.stats();
    /// assert_eq!((stats.redis_ok, stats.fallbacks), (0, 0)); // nothing asked yet
    /// assert!(!fleet.is_degraded());
    /// # Ok::<(), marketing_api::fleet::redis::FleetError>(())
    /// ```
    pub fn stats(&self) -> FleetStats {
        let c = &self.inner.counters;
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        FleetStats {
            redis_ok: read(&c.redis_ok),
            redis_errors: read(&c.redis_errors),
            fallbacks: read(&c.fallbacks),
            strict_failures: read(&c.strict_failures),
            renewals_led: read(&c.renewals_led),
            renewals_reused: read(&c.renewals_reused),
            fenced_writes: read(&c.fenced_writes),
            gate_waits: read(&c.gate_waits),
            replay_duplicates: read(&c.replay_duplicates),
        }
    }

    /// Whether the last Redis call failed (the components are then serving from local state
    /// or failing closed).
    pub fn is_degraded(&self) -> bool {
        self.inner.degraded.load(Ordering::Relaxed)
    }

    /// The failure mode the fleet was built with.
    pub fn failure_mode(&self) -> FailureMode {
        self.inner.mode
    }

    pub(crate) fn key(&self, parts: &[&str]) -> String {
        let mut key = self.inner.prefix.clone();
        for part in parts {
            key.push(':');
            key.push_str(part);
        }
        key
    }

    pub(crate) fn now(&self) -> SystemTime {
        self.inner.clock.now()
    }

    fn counters(&self) -> &Counters {
        &self.inner.counters
    }

    pub(crate) fn strict_pause(&self) -> Duration {
        self.inner.strict_pause
    }

    /// Runs `command` on a pooled connection within the command timeout, and records the
    /// outcome (the degraded flag, the counters, the log line when the mode changes).
    pub(crate) async fn run<T, F, Fut>(
        &self,
        what: &'static str,
        command: F,
    ) -> Result<T, FleetError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = Result<T, ::redis::RedisError>>,
    {
        let timeout = self.inner.command_timeout;
        if nanos(self.now()) < self.inner.skip_until_nanos.load(Ordering::Relaxed) {
            bump(&self.inner.counters.redis_errors);
            return Err(FleetError {
                kind: FleetErrorKind::Unavailable,
            });
        }
        let outcome = match tokio::time::timeout(timeout, async {
            let (slot, connection) = self.connection().await?;
            if slot.suspect.swap(false, Ordering::Relaxed) {
                // Unlike the command (a script that takes a lease, a SET NX), a PING can be
                // repeated safely: the first finds a dropped connection and makes the manager
                // reconnect, the second waits for the new connection.
                if ping(connection.clone()).await.is_err() {
                    ping(connection.clone()).await?;
                }
            }
            let outcome = command(connection).await;
            if let Err(error) = &outcome
                && (error.is_connection_dropped() || error.is_io_error())
            {
                for slot in &self.inner.slots {
                    slot.suspect.store(true, Ordering::Relaxed);
                }
            }
            outcome.map_err(FleetError::from)
        })
        .await
        {
            Ok(outcome) => outcome,
            Err(_) => Err(FleetError {
                kind: FleetErrorKind::Timeout(timeout),
            }),
        };
        match &outcome {
            Ok(_) => {
                bump(&self.inner.counters.redis_ok);
                if self.inner.degraded.swap(false, Ordering::Relaxed) {
                    tracing::warn!(
                        command = what,
                        "Redis answers again; fleet state is shared again"
                    );
                }
            }
            Err(error) => {
                bump(&self.inner.counters.redis_errors);
                let pause = nanos(self.now() + self.inner.reconnect_pause);
                self.inner.skip_until_nanos.store(pause, Ordering::Relaxed);
                if !self.inner.degraded.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        command = what,
                        error = %error,
                        mode = ?self.inner.mode,
                        "Redis failed; fleet state is process-local until it answers again"
                    );
                }
            }
        }
        outcome
    }

    /// Counts a call served locally or failed closed, with a debug line per call (the mode
    /// change itself is logged once at `warn` by [`run`](Self::run)).
    pub(crate) fn record_failure(&self, component: &'static str, error: &FleetError) {
        match self.inner.mode {
            FailureMode::Fallback => {
                bump(&self.inner.counters.fallbacks);
                tracing::debug!(component, error = %error, "Redis failed; served by local state");
            }
            FailureMode::Strict => {
                bump(&self.inner.counters.strict_failures);
                tracing::debug!(component, error = %error, "Redis failed; failing closed");
            }
        }
    }

    async fn connection(&self) -> Result<(&Slot, ConnectionManager), FleetError> {
        let index = self.inner.next_slot.fetch_add(1, Ordering::Relaxed) % self.inner.slots.len();
        let slot = &self.inner.slots[index];
        let mut connection = slot.connection.lock().await;
        if let Some(existing) = &*connection {
            // The manager reconnects by itself after a dropped connection.
            return Ok((slot, existing.clone()));
        }
        let now = nanos(self.now());
        if now < slot.retry_at_nanos.load(Ordering::Relaxed) {
            return Err(FleetError {
                kind: FleetErrorKind::Unavailable,
            });
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.inner.connect_timeout))
            .set_response_timeout(Some(self.inner.command_timeout))
            // One quick retry: the command timeout bounds the call anyway, and a longer
            // reconnection loop would only hold the slot's lock.
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(100));
        match ConnectionManager::new_with_config(self.inner.client.clone(), config).await {
            Ok(manager) => {
                *connection = Some(manager.clone());
                // A new connection has nothing to probe.
                slot.suspect.store(false, Ordering::Relaxed);
                Ok((slot, manager))
            }
            Err(error) => {
                let pause = nanos(self.now() + self.inner.reconnect_pause);
                slot.retry_at_nanos.store(pause, Ordering::Relaxed);
                Err(error.into())
            }
        }
    }
}

async fn ping(mut connection: ConnectionManager) -> Result<(), ::redis::RedisError> {
    ::redis::cmd("PING").query_async(&mut connection).await
}

fn nanos(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .ok()
        .and_then(|d| u64::try_from(d.as_nanos()).ok())
        .unwrap_or(0)
}

fn millis(at: SystemTime) -> u64 {
    nanos(at) / 1_000_000
}

fn from_millis(ms: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(ms)
}
