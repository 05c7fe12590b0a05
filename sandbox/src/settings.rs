//! Everything about the sandbox's behaviour that tests and the binary may tune, at start and
//! while it runs.

use std::sync::{Arc, RwLock};
use std::time::Duration;

/// One rate-limit tier: a token bucket of `limit` requests refilled evenly over `window`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateTier {
    /// Requests allowed per window (the bucket's capacity, `q` in `RateLimit-Policy`).
    pub limit: u32,
    /// The window (`w` in `RateLimit-Policy`).
    pub window: Duration,
}

impl RateTier {
    /// `limit` requests per `window`.
    pub fn new(limit: u32, window: Duration) -> Self {
        RateTier { limit, window }
    }
}

/// Faults the sandbox injects, for retry and soak tests.
///
/// Shares are probabilities in `[0, 1]`, drawn per request in this order: dropped connection,
/// 429, 500, 503 (so their sum should stay at most 1). Latency is added to every request first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultSettings {
    /// Delay added before every request is handled.
    pub latency: Duration,
    /// Share of requests answered `429 rate_limit_error` (with `Retry-After: 1`).
    pub rate_429: f64,
    /// Share of requests answered `500 api_error`.
    pub rate_500: f64,
    /// Share of requests answered `503 api_error` (with `Retry-After: 1`).
    pub rate_503: f64,
    /// Share of requests whose TCP connection is closed without any HTTP answer.
    pub drop_rate: f64,
    /// Whether faults also hit `/v1/oauth/*` (off by default so token fetches stay reliable).
    pub apply_to_oauth: bool,
}

impl FaultSettings {
    /// Whether any fault is configured.
    pub fn is_active(&self) -> bool {
        !self.latency.is_zero()
            || self.rate_429 > 0.0
            || self.rate_500 > 0.0
            || self.rate_503 > 0.0
            || self.drop_rate > 0.0
    }
}

/// The sandbox's tunable behaviour.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Lifetime of OAuth access tokens.
    pub token_ttl: Duration,
    /// Rate tier of the standard API key and of OAuth tokens.
    pub standard_tier: RateTier,
    /// Rate tier of the premium API key.
    pub premium_tier: RateTier,
    /// Waits between webhook delivery attempts; a delivery makes `1 + len` attempts before it is
    /// dead-lettered.
    pub webhook_retry_schedule: Vec<Duration>,
    /// How long one webhook attempt may take before it counts as failed.
    pub webhook_timeout: Duration,
    /// How long a stored idempotent response is kept.
    pub idempotency_ttl: Duration,
    /// How long a rotated-out webhook secret keeps signing.
    pub secret_rotation_overlap: Duration,
    /// Injected faults.
    pub faults: FaultSettings,
    /// Largest creative asset file accepted by `uploadCreativeAsset` (413 beyond); 64 MiB by
    /// default, as the contract documents.
    pub max_asset_bytes: u64,
    /// Largest CSV file accepted by `importContacts` (413 beyond); 256 MiB by default, as the
    /// contract documents.
    pub max_import_bytes: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            token_ttl: Duration::from_secs(3600),
            standard_tier: RateTier::new(100, Duration::from_secs(1)),
            premium_tier: RateTier::new(1000, Duration::from_secs(1)),
            webhook_retry_schedule: vec![
                Duration::from_secs(5),
                Duration::from_secs(30),
                Duration::from_secs(120),
                Duration::from_secs(600),
                Duration::from_secs(3600),
            ],
            webhook_timeout: Duration::from_secs(10),
            idempotency_ttl: Duration::from_secs(24 * 3600),
            secret_rotation_overlap: Duration::from_secs(24 * 3600),
            faults: FaultSettings::default(),
            max_asset_bytes: 64 * 1024 * 1024,
            max_import_bytes: 256 * 1024 * 1024,
        }
    }
}

/// A shared handle to a running sandbox's [`Settings`]; changes apply to the next request.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// let sandbox = marketing_api_sandbox::Sandbox::start().await?;
/// sandbox.settings().update(|s| s.faults.rate_503 = 0.5);
/// sandbox.settings().set_token_ttl(Duration::from_secs(2));
/// assert_eq!(sandbox.settings().get().token_ttl, Duration::from_secs(2));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SettingsHandle {
    inner: Arc<RwLock<Settings>>,
}

impl SettingsHandle {
    pub(crate) fn new(settings: Settings) -> Self {
        SettingsHandle {
            inner: Arc::new(RwLock::new(settings)),
        }
    }

    /// A copy of the current settings.
    pub fn get(&self) -> Settings {
        match self.inner.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Reads one value without copying everything.
    pub fn read<R>(&self, f: impl FnOnce(&Settings) -> R) -> R {
        match self.inner.read() {
            Ok(guard) => f(&guard),
            Err(poisoned) => f(&poisoned.into_inner()),
        }
    }

    /// Changes the settings in place.
    pub fn update(&self, f: impl FnOnce(&mut Settings)) {
        match self.inner.write() {
            Ok(mut guard) => f(&mut guard),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// Replaces the injected faults.
    pub fn set_faults(&self, faults: FaultSettings) {
        self.update(|s| s.faults = faults);
    }

    /// Sets the largest creative asset file accepted.
    pub fn set_max_asset_bytes(&self, bytes: u64) {
        self.update(|s| s.max_asset_bytes = bytes);
    }

    /// Removes every injected fault.
    pub fn clear_faults(&self) {
        self.update(|s| s.faults = FaultSettings::default());
    }

    /// Sets the latency added to every request.
    pub fn set_latency(&self, latency: std::time::Duration) {
        self.update(|s| s.faults.latency = latency);
    }

    /// Sets the lifetime of access tokens issued from now on.
    pub fn set_token_ttl(&self, ttl: std::time::Duration) {
        self.update(|s| s.token_ttl = ttl);
    }
}
