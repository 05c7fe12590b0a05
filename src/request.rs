//! Per-request settings every operation builder carries.

use std::time::Duration;

/// Overrides set on one operation builder (`.timeout()`, `.max_attempts()`,
/// `.idempotency_key()`); everything unset falls back to the client's configuration.
#[derive(Debug, Clone, Default)]
pub(crate) struct RequestOptions {
    /// Timeout of each attempt.
    pub(crate) timeout: Option<Duration>,
    /// Total attempts, first included.
    pub(crate) max_attempts: Option<u32>,
    /// `Idempotency-Key` for every attempt of a POST; generated when unset.
    pub(crate) idempotency_key: Option<String>,
}
