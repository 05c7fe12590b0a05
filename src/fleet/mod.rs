//! What many processes of one service share: the OAuth token, the API's rate budget and the
//! webhook dedupe.
//!
//! Each has a trait with an in-process default, so a single process needs nothing from here:
//!
//! - tokens: [`TokenStore`](crate::auth::TokenStore), whose renewal lease
//!   ([`TokenStore::begin_renewal`](crate::auth::TokenStore::begin_renewal)) lets one process
//!   of a fleet refresh while the others wait for its token;
//! - the rate budget: [`SharedRateGate`], given to
//!   [`ClientBuilder::shared_rate_gate`](crate::ClientBuilder::shared_rate_gate);
//! - webhook dedupe: [`ReplayGuard`](crate::webhooks::ReplayGuard).
//!
//! With the `redis` feature, [`redis::RedisFleet`] implements all three over one Redis.

use std::fmt;
use std::time::{Duration, SystemTime};

use futures::future::BoxFuture;

#[cfg(feature = "redis")]
pub mod redis;

/// A rate gate shared by the processes of a fleet: when one of them learns that the API's quota
/// is spent, all of them hold their requests until the reset.
///
/// The client keeps its own gate too and consults this one in addition: each request asks
/// [`delay_before_send`](Self::delay_before_send) before it is sent, and a response that says the
/// quota is spent (a `429` with `Retry-After`, `RateLimit` headers with nothing remaining) is
/// reported with [`close_until`](Self::close_until). Both must answer promptly whatever the
/// backend does: an implementation bounds its own I/O and decides what an outage means (let
/// requests through, or hold them for a bounded pause).
///
/// A gate that only shares what the server said:
///
/// ```
/// use std::sync::Mutex;
/// use std::time::{Duration, SystemTime};
/// use futures::future::{BoxFuture, FutureExt};
/// use marketing_api::fleet::SharedRateGate;
///
/// /// Shared by the clients of one process, e.g. several clients with different credentials
/// /// but one quota.
/// #[derive(Debug, Default)]
/// struct ProcessGate(Mutex<Option<SystemTime>>);
///
/// impl SharedRateGate for ProcessGate {
///     fn delay_before_send(&self, now: SystemTime) -> BoxFuture<'_, Option<Duration>> {
///         let until = *self.0.lock().unwrap();
///         async move { until.and_then(|until| until.duration_since(now).ok()) }.boxed()
///     }
///     fn close_until(&self, until: SystemTime) {
///         let mut closed = self.0.lock().unwrap();
///         *closed = Some(closed.map_or(until, |current| current.max(until)));
///     }
/// }
///
/// let client = marketing_api::Client::builder("https://api.example.com/v1")
///     .shared_rate_gate(std::sync::Arc::new(ProcessGate::default()))
///     .build()?;
/// # let _ = client;
/// # Ok::<(), marketing_api::Error>(())
/// ```
pub trait SharedRateGate: Send + Sync + fmt::Debug + 'static {
    /// How long a request about to be sent at `now` must wait first; `None` when it may go.
    /// A client-side limiter answers here too (the wait for its next free slot). The client caps
    /// the wait at its retry policy's `Retry-After` cap.
    fn delay_before_send(&self, now: SystemTime) -> BoxFuture<'_, Option<Duration>>;

    /// Records that the server said the quota is spent until `until`. Called from the response
    /// path, so it must not block: an implementation with I/O starts it and returns.
    fn close_until(&self, until: SystemTime);
}
