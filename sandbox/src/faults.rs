//! Fault injection: added latency, a share of 429/500/503 answers and dropped connections.
//!
//! Draws come from one RNG that can be seeded, so a test that fixes the seed and sends requests
//! one at a time sees the same sequence of faults on every run.

use crate::errors::{ApiError, ErrorType};
use crate::settings::FaultSettings;
use axum::http::StatusCode;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// A fault chosen for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Close the TCP connection without answering.
    DropConnection,
    /// Answer 429 with `Retry-After: 1`.
    TooManyRequests,
    /// Answer 500.
    InternalError,
    /// Answer 503 with `Retry-After: 1`.
    ServiceUnavailable,
}

impl Fault {
    /// The answer of an error fault (`None` for a dropped connection).
    pub fn error(self) -> Option<ApiError> {
        match self {
            Fault::DropConnection => None,
            Fault::TooManyRequests => Some(
                ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    ErrorType::RateLimit,
                    "rate_limited",
                    "Too many requests (injected fault). Retry after the Retry-After delay.",
                )
                .with_header("retry-after", "1"),
            ),
            Fault::InternalError => Some(ApiError::internal(
                "The server failed (injected fault). The request may be retried.",
            )),
            Fault::ServiceUnavailable => Some(
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorType::Api,
                    "service_unavailable",
                    "The service is unavailable (injected fault). Retry after the Retry-After delay.",
                )
                .with_header("retry-after", "1"),
            ),
        }
    }
}

/// Chooses faults with a (possibly seeded) RNG.
#[derive(Debug)]
pub struct FaultInjector {
    rng: Mutex<StdRng>,
}

impl FaultInjector {
    /// An injector seeded with `seed`, or from the OS when `None`.
    pub fn new(seed: Option<u64>) -> Self {
        let rng = match seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        FaultInjector {
            rng: Mutex::new(rng),
        }
    }

    /// Restarts the sequence from `seed`.
    pub fn reseed(&self, seed: u64) {
        *self.rng.lock().unwrap_or_else(|p| p.into_inner()) = StdRng::seed_from_u64(seed);
    }

    /// Draws the fault (if any) for one request.
    pub fn choose(&self, faults: &FaultSettings) -> Option<Fault> {
        let shares = [
            (faults.drop_rate, Fault::DropConnection),
            (faults.rate_429, Fault::TooManyRequests),
            (faults.rate_500, Fault::InternalError),
            (faults.rate_503, Fault::ServiceUnavailable),
        ];
        if shares.iter().all(|(share, _)| *share <= 0.0) {
            return None;
        }
        let draw: f64 = self.rng.lock().unwrap_or_else(|p| p.into_inner()).random();
        let mut bound = 0.0;
        for (share, fault) in shares {
            bound += share.clamp(0.0, 1.0);
            if draw < bound {
                return Some(fault);
            }
        }
        None
    }
}

/// Lets a request close the TCP connection it arrived on.
///
/// The server puts one into every request's extensions; the connection task waits on it next
/// to the HTTP connection and drops the socket when it fires, so the client sees the connection
/// close with no response at all.
#[derive(Debug, Clone, Default)]
pub struct ConnectionDropper {
    signal: Arc<Notify>,
}

impl ConnectionDropper {
    /// Asks the connection task to drop the connection.
    pub fn drop_connection(&self) {
        self.signal.notify_one();
    }

    /// Completes once a drop was asked for.
    pub async fn dropped(&self) {
        self.signal.notified().await;
    }
}
