//! Time and randomness as small injectable parts.
//!
//! Everything in the SDK that depends on the wall clock (token expiry, webhook tolerance,
//! `Retry-After` dates, rate-limit resets), on sleeping (backoff) or on randomness (jitter) asks
//! one of these traits instead of the operating system, so tests can run a day of retries in
//! milliseconds and get the same answer every time.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// A source of the current wall-clock time.
///
/// ```
/// use marketing_api::clock::{Clock, SystemClock};
/// let now = SystemClock.now();
/// assert!(now > std::time::UNIX_EPOCH);
/// ```
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// A way to wait: the SDK sleeps only through this trait.
pub trait Sleeper: Send + Sync + fmt::Debug + 'static {
    /// A future that completes after `duration`.
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

/// A source of uniform random numbers in `[0, 1)`, used for backoff jitter.
pub trait RandomSource: Send + Sync + fmt::Debug + 'static {
    /// A uniformly distributed number in `[0, 1)`.
    fn next_unit(&self) -> f64;
}

/// The operating system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// Sleeps on the tokio timer.
#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSleeper;

#[cfg(feature = "client")]
impl Sleeper for TokioSleeper {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// Thread-local fast random numbers from the `rand` crate.
#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
#[derive(Debug, Clone, Copy, Default)]
pub struct ThreadRandom;

#[cfg(feature = "client")]
impl RandomSource for ThreadRandom {
    fn next_unit(&self) -> f64 {
        rand::random::<f64>()
    }
}

/// A clock that only moves when told to; [`ManualClock::sleeper`] gives a [`Sleeper`] that
/// advances it instead of waiting, so code under test "sleeps" instantly and the test can read
/// back every delay it chose.
///
/// ```
/// use marketing_api::clock::{Clock, ManualClock, Sleeper};
/// use std::time::{Duration, UNIX_EPOCH};
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
/// clock.sleeper().sleep(Duration::from_secs(2)).await;
/// assert_eq!(clock.now(), UNIX_EPOCH + Duration::from_secs(1_700_000_002));
/// assert_eq!(clock.sleeps(), vec![Duration::from_secs(2)]);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    inner: Arc<Mutex<ManualState>>,
}

#[derive(Debug)]
struct ManualState {
    now: SystemTime,
    sleeps: Vec<Duration>,
}

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: SystemTime) -> Self {
        Self {
            inner: Arc::new(Mutex::new(ManualState {
                now: start,
                sleeps: Vec::new(),
            })),
        }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut state = self.lock();
        state.now += by;
    }

    /// Sets the clock to `to` (it may go backwards, to test skew).
    pub fn set(&self, to: SystemTime) {
        self.lock().now = to;
    }

    /// Every duration slept through [`ManualClock::sleeper`], in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.lock().sleeps.clone()
    }

    /// A [`Sleeper`] that advances this clock by the requested duration and returns at once.
    #[cfg(feature = "client")]
    #[cfg_attr(docsrs, doc(cfg(feature = "client")))]
    pub fn sleeper(&self) -> ManualSleeper {
        ManualSleeper {
            clock: self.clone(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ManualState> {
        // A poisoned lock only means another test thread panicked; the time value is still valid.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        self.lock().now
    }
}

/// The [`Sleeper`] of a [`ManualClock`]: advances the clock instead of waiting.
#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
#[derive(Debug, Clone)]
pub struct ManualSleeper {
    clock: ManualClock,
}

#[cfg(feature = "client")]
impl Sleeper for ManualSleeper {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        {
            let mut state = self.clock.lock();
            state.now += duration;
            state.sleeps.push(duration);
        }
        Box::pin(tokio::task::yield_now())
    }
}

/// A [`RandomSource`] that always answers the same number; for deterministic jitter in tests.
#[derive(Debug, Clone, Copy)]
pub struct FixedRandom(pub f64);

impl RandomSource for FixedRandom {
    fn next_unit(&self) -> f64 {
        self.0.clamp(0.0, 1.0 - f64::EPSILON)
    }
}
