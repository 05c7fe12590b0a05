//! The OAuth token store over Redis, with the fleet's renewal lease and fencing.

use std::fmt;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;

use super::{FailureMode, FleetError, RedisFleet, bump};
use crate::auth::{
    Renewal, RenewalLease, RenewalRequest, SaveOutcome, TokenSet, TokenStore, TokenStoreError,
};

/// A [`TokenStore`] shared by every process that uses the same name: the fleet makes one token
/// request per expiry, whichever process notices first.
///
/// Redis holds the tokens (with the fencing number of the lease that saved them), the lease
/// (`SET NX PX`, valued with its fencing number) and a counter that numbers the leases. A
/// renewal in one process:
///
/// 1. asks for the lease, and in the same script reads the stored tokens. Tokens newer than the
///    ones being replaced are reused at once (lease or not). Without the lease it polls until
///    newer tokens appear or the lease is free — at most the lease duration plus a second;
/// 2. with the lease, makes the token request with the *stored* refresh token (another process
///    may have rotated it);
/// 3. saves the new tokens only if no other process holds the lease and no tokens saved under
///    a later lease are stored (fencing): a holder that stalled past its lease cannot overwrite
///    newer tokens. Only a saved token is used, so a rotated refresh token is in Redis before
///    its access token is sent;
/// 4. releases the lease (if still its own).
///
/// The lease must outlast one token request (the client's attempt timeout): a holder whose lease
/// expires mid-request is fenced out, and its refresh token may already be spent.
///
/// When Redis fails, [`FailureMode::Fallback`] renews without the lease and keeps the tokens in
/// process memory (each process then renews on its own: processes that hold the same rotating
/// refresh token each present it, all but the first are refused, and a server with reuse
/// detection revokes the first one's new tokens too — choose [`FailureMode::Strict`] there);
/// [`FailureMode::Strict`] fails the renewal with a token-store error, which the client's token
/// retry policy retries.
///
/// Redis may answer again with older tokens than a process holds: after a renewal the fallback
/// kept in memory, or after a failover to a replica that missed the last save. A process whose
/// tokens expire later than Redis's uses its own (their refresh token is the live one) and
/// writes them back, so the spent refresh token is not presented again. Tokens without an expiry
/// cannot be ordered; Redis's are used then.
///
/// See [`RedisFleet`] for how a client is given one.
pub struct RedisTokenStore {
    fleet: RedisFleet,
    tokens_key: String,
    lease_key: String,
    fence_key: String,
    lease: Duration,
    poll: Duration,
    /// The latest tokens this process saw: the fallback while Redis is down.
    local: Mutex<Option<TokenSet>>,
}

impl fmt::Debug for RedisTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisTokenStore")
            .field("key", &self.tokens_key)
            .field("lease", &self.lease)
            .finish_non_exhaustive()
    }
}

/// Takes the lease if it is free and reads the tokens. KEYS: tokens, lease, fence counter.
/// ARGV: lease (ms). Returns {fence or 0, tokens or false}.
const ACQUIRE_SCRIPT: &str = r"
local data = redis.call('HGET', KEYS[1], 'data')
if redis.call('EXISTS', KEYS[2]) == 1 then return {0, data} end
local fence = redis.call('INCR', KEYS[3])
redis.call('SET', KEYS[2], fence, 'PX', ARGV[1])
return {fence, data}
";

/// Saves under a lease, unless fenced out. KEYS: tokens, lease. ARGV: fence, tokens.
const SAVE_FENCED_SCRIPT: &str = r"
local holder = redis.call('GET', KEYS[2])
if holder and holder ~= ARGV[1] then return 0 end
local stored = tonumber(redis.call('HGET', KEYS[1], 'fence') or '0')
if stored > tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'fence', ARGV[1], 'data', ARGV[2])
return 1
";

/// Saves outside a lease, as the newest tokens. KEYS: tokens, fence counter. ARGV: tokens.
const SAVE_SCRIPT: &str = r"
local fence = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'fence', fence, 'data', ARGV[1])
return fence
";

/// Releases the lease if it is still the caller's. KEYS: lease. ARGV: fence.
const RELEASE_SCRIPT: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

static ACQUIRE: LazyLock<::redis::Script> = LazyLock::new(|| ::redis::Script::new(ACQUIRE_SCRIPT));
static SAVE_FENCED: LazyLock<::redis::Script> =
    LazyLock::new(|| ::redis::Script::new(SAVE_FENCED_SCRIPT));
static SAVE: LazyLock<::redis::Script> = LazyLock::new(|| ::redis::Script::new(SAVE_SCRIPT));
static RELEASE: LazyLock<::redis::Script> = LazyLock::new(|| ::redis::Script::new(RELEASE_SCRIPT));

/// The default lease: longer than a token request normally takes, short enough that a crashed
/// holder delays the fleet's renewal by seconds, not minutes.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(15);

impl RedisTokenStore {
    pub(super) fn new(fleet: RedisFleet, name: &str) -> Self {
        Self {
            tokens_key: fleet.key(&["token", name]),
            lease_key: fleet.key(&["token", name, "lease"]),
            fence_key: fleet.key(&["token", name, "fence"]),
            fleet,
            lease: DEFAULT_LEASE,
            poll: Duration::from_millis(20),
            local: Mutex::new(None),
        }
    }

    /// How long a renewal lease lasts (default [`DEFAULT_LEASE`]): more than one token request
    /// takes, since a holder whose lease expires mid-request is fenced out.
    #[must_use]
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease.max(Duration::from_millis(1));
        self
    }

    /// How often a process waiting for another's renewal looks for its tokens (default 20 ms).
    #[must_use]
    pub fn poll_interval(mut self, poll: Duration) -> Self {
        self.poll = poll.max(Duration::from_millis(1));
        self
    }

    fn remember(&self, tokens: &TokenSet) {
        *self.local.lock().unwrap_or_else(|e| e.into_inner()) = Some(tokens.clone());
    }

    fn local(&self) -> Option<TokenSet> {
        self.local.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// What a failed Redis call means: the local answer, or the error in strict mode.
    fn on_failure<T>(
        &self,
        operation: &'static str,
        error: FleetError,
        local: impl FnOnce() -> T,
    ) -> Result<T, TokenStoreError> {
        self.fleet.record_failure(operation, &error);
        match self.fleet.failure_mode() {
            FailureMode::Fallback => Ok(local()),
            FailureMode::Strict => Err(TokenStoreError::new(error)),
        }
    }

    async fn acquire(&self) -> Result<(u64, Option<TokenSet>), FleetError> {
        let lease_ms = u64::try_from(self.lease.as_millis()).unwrap_or(u64::MAX);
        let keys = [&self.tokens_key, &self.lease_key, &self.fence_key];
        let (fence, data): (u64, Option<String>) = self
            .fleet
            .run("token lease", |mut connection| async move {
                ACQUIRE
                    .key(keys[0])
                    .key(keys[1])
                    .key(keys[2])
                    .arg(lease_ms)
                    .invoke_async(&mut connection)
                    .await
            })
            .await?;
        Ok((fence, data.map(|d| decode(&d)).transpose()?))
    }

    async fn release(&self, fence: u64) {
        let key = &self.lease_key;
        let outcome = self
            .fleet
            .run("token lease release", |mut connection| async move {
                let _: i64 = RELEASE
                    .key(key)
                    .arg(fence)
                    .invoke_async(&mut connection)
                    .await?;
                Ok(())
            })
            .await;
        if let Err(error) = outcome {
            // The lease expires by itself; waiting processes only wait longer.
            tracing::debug!(error = %error, "could not release the token lease");
        }
    }

    async fn save_unfenced(&self, tokens: &TokenSet) -> Result<(), FleetError> {
        let data = encode(tokens)?;
        let keys = [&self.tokens_key, &self.fence_key];
        self.fleet
            .run("token save", |mut connection| async move {
                let _: u64 = SAVE
                    .key(keys[0])
                    .key(keys[1])
                    .arg(data)
                    .invoke_async(&mut connection)
                    .await?;
                Ok(())
            })
            .await
    }

    /// Saves encoded tokens if `fence` still holds the lease; `false` when a newer holder has
    /// fenced this one out.
    async fn save_fenced(
        &self,
        what: &'static str,
        fence: u64,
        data: String,
    ) -> Result<bool, FleetError> {
        let keys = [&self.tokens_key, &self.lease_key];
        self.fleet
            .run(what, |mut connection| async move {
                let saved: i64 = SAVE_FENCED
                    .key(keys[0])
                    .key(keys[1])
                    .arg(fence)
                    .arg(data)
                    .invoke_async(&mut connection)
                    .await?;
                Ok(saved == 1)
            })
            .await
    }

    /// What Redis answered, unless this process has seen newer tokens: then those, written back
    /// (under `fence` when this process holds the lease, so its own save stays allowed). The
    /// answer is what this process remembers from now on.
    ///
    /// Redis can be behind a process: after a failover to a replica that had not received the
    /// last save, or when this process renewed while Redis was unreachable (the fallback keeps
    /// those tokens in memory). Its tokens' refresh token may be spent already; presenting it
    /// again would be refused, and a server with reuse detection revokes the whole grant.
    async fn newest(&self, stored: Option<TokenSet>, fence: u64) -> Option<TokenSet> {
        let stored = stored?;
        let Some(local) = self.local().filter(|local| is_newer(local, &stored)) else {
            self.remember(&stored);
            return Some(stored);
        };
        let written = match encode(&local) {
            Ok(data) if fence != 0 => self.save_fenced("token write-back", fence, data).await,
            Ok(_) => self.save_unfenced(&local).await.map(|()| true),
            Err(error) => Err(error),
        };
        match written {
            Ok(true) => tracing::warn!(
                "Redis held older tokens than this process (a failover, or a renewal while it \
                 was unreachable); wrote this process's back"
            ),
            // The lease passed on meanwhile: its holder's save will settle what is stored.
            Ok(false) => {}
            // The newer tokens are still used here, and offered again at the next renewal.
            Err(error) => self.fleet.record_failure("token write-back", &error),
        }
        Some(local)
    }
}

/// Whether `a` was issued after `b`: a different access token that expires later (the tokens of
/// one grant are issued with the same lifetime). Without both expiries nothing can be told.
fn is_newer(a: &TokenSet, b: &TokenSet) -> bool {
    a.access_token() != b.access_token()
        && matches!((a.expires_at(), b.expires_at()), (Some(a), Some(b)) if a > b)
}

fn encode(tokens: &TokenSet) -> Result<String, FleetError> {
    serde_json::to_string(tokens).map_err(|e| FleetError::corrupt(format!("tokens: {e}")))
}

fn decode(data: &str) -> Result<TokenSet, FleetError> {
    serde_json::from_str(data).map_err(|e| FleetError::corrupt(format!("stored tokens: {e}")))
}

impl TokenStore for RedisTokenStore {
    fn save(&self, tokens: &TokenSet) -> BoxFuture<'_, Result<(), TokenStoreError>> {
        let tokens = tokens.clone();
        Box::pin(async move {
            self.remember(&tokens);
            match self.save_unfenced(&tokens).await {
                Ok(()) => Ok(()),
                Err(error) => self.on_failure("token save", error, || ()),
            }
        })
    }

    fn load(&self) -> BoxFuture<'_, Result<Option<TokenSet>, TokenStoreError>> {
        Box::pin(async move {
            let key = &self.tokens_key;
            let outcome = self
                .fleet
                .run("token load", |mut connection| async move {
                    let data: Option<String> = ::redis::cmd("HGET")
                        .arg(key)
                        .arg("data")
                        .query_async(&mut connection)
                        .await?;
                    Ok(data)
                })
                .await
                .and_then(|data| data.map(|d| decode(&d)).transpose());
            match outcome {
                Ok(Some(tokens)) => Ok(self.newest(Some(tokens), 0).await),
                // An empty Redis (a failover, a flush) knows less than this process.
                Ok(None) => Ok(self.local()),
                Err(error) => self.on_failure("token load", error, || self.local()),
            }
        })
    }

    fn begin_renewal(
        &self,
        request: RenewalRequest,
    ) -> BoxFuture<'_, Result<Renewal, TokenStoreError>> {
        Box::pin(async move {
            // Bounded by polls, not by a clock: a holder's lease ends within `lease`, after
            // which the next poll takes it.
            let max_polls = (self.lease.as_millis() / self.poll.as_millis())
                .saturating_add(Duration::from_secs(1).as_millis() / self.poll.as_millis());
            let mut polls = 0u128;
            loop {
                let (fence, stored) = match self.acquire().await {
                    Ok(answer) => answer,
                    Err(error) => {
                        return self.on_failure("token lease", error, || Renewal::Obtain {
                            lease: RenewalLease::new(0),
                            latest: self.local(),
                        });
                    }
                };
                let stored = self.newest(stored, fence).await;
                if let Some(tokens) = stored.as_ref().filter(|t| request.is_answered_by(t)) {
                    if fence != 0 {
                        self.release(fence).await;
                    }
                    bump(&self.fleet.counters().renewals_reused);
                    return Ok(Renewal::Reuse(tokens.clone()));
                }
                if fence != 0 {
                    bump(&self.fleet.counters().renewals_led);
                    // An empty Redis (failover, flush) knows less than this process.
                    let latest = stored.or_else(|| self.local());
                    return Ok(Renewal::Obtain {
                        lease: RenewalLease::new(fence),
                        latest,
                    });
                }
                polls += 1;
                if polls > max_polls {
                    let error = FleetError::corrupt(
                        "the token lease stayed taken longer than its duration",
                    );
                    return self.on_failure("token lease", error, || Renewal::Obtain {
                        lease: RenewalLease::new(0),
                        latest: self.local(),
                    });
                }
                tokio::time::sleep(self.poll).await;
            }
        })
    }

    fn save_renewed<'a>(
        &'a self,
        tokens: &'a TokenSet,
        lease: &'a RenewalLease,
    ) -> BoxFuture<'a, Result<SaveOutcome, TokenStoreError>> {
        Box::pin(async move {
            if lease.fence() == 0 {
                // Renewed without the lease (Redis was down): still the newest tokens.
                self.remember(tokens);
                return match self.save_unfenced(tokens).await {
                    Ok(()) => Ok(SaveOutcome::Saved),
                    Err(error) => self.on_failure("token save", error, || SaveOutcome::Saved),
                };
            }
            let data = encode(tokens).map_err(TokenStoreError::new)?;
            let outcome = self
                .save_fenced("token save under lease", lease.fence(), data)
                .await;
            match outcome {
                Ok(true) => {
                    self.remember(tokens);
                    Ok(SaveOutcome::Saved)
                }
                Ok(false) => {
                    bump(&self.fleet.counters().fenced_writes);
                    Ok(SaveOutcome::Superseded)
                }
                Err(error) => {
                    self.remember(tokens);
                    self.on_failure("token save", error, || SaveOutcome::Saved)
                }
            }
        })
    }

    fn end_renewal(&self, lease: RenewalLease) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if lease.fence() != 0 {
                self.release(lease.fence()).await;
            }
        })
    }
}
