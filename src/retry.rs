//! Retry policy, backoff, retry budget and idempotency keys.
//!
//! The transport asks this module one question after every attempt: *retry, and after how long,
//! or stop, and why?* The answer depends on
//!
//! - whether the failure is worth retrying (connection errors, timeouts, 408, 429, 500, 502,
//!   503, 504);
//! - whether retrying is safe: an idempotent method, or a `POST`/`PATCH` carrying an
//!   `Idempotency-Key`, which the SDK generates once per logical request (a UUID v4) and sends
//!   unchanged on every attempt. A request without either is retried only when it never reached
//!   the server, so nothing is ever created twice;
//! - how many attempts the [`RetryPolicy`] allows;
//! - the server's `Retry-After` (capped), or else exponential backoff with full jitter;
//! - a retry budget (sized by [`RetryBudgetConfig`]) shared by clones of a client, so a server
//!   that fails everything receives a bounded number of retries rather than
//!   `attempts × requests`.
//!
//! Time and randomness come in as arguments (`now`, [`RandomSource`]), so every decision is
//! deterministic under test.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use http::{HeaderMap, StatusCode};

use crate::clock::RandomSource;
use crate::ratelimit::parse_retry_after;

/// Name of the header that makes a `POST` or `PATCH` safe to retry.
pub(crate) const IDEMPOTENCY_KEY_HEADER: http::HeaderName =
    http::HeaderName::from_static("idempotency-key");

/// The longest `Idempotency-Key` the API accepts (`openapi.yaml`, parameter `IdempotencyKey`).
pub(crate) const MAX_IDEMPOTENCY_KEY_CHARS: usize = 255;

/// A fresh idempotency key (a random UUID v4), generated once per logical request and sent
/// unchanged on every attempt of it.
pub(crate) fn idempotency_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// How often and how patiently a request is retried.
///
/// The defaults suit interactive use: 3 attempts in total, backoff starting at 200 ms and capped
/// at 20 s, and a server-requested `Retry-After` honoured for up to 60 s.
///
/// ```
/// use marketing_api::retry::RetryPolicy;
/// use std::time::Duration;
///
/// // Patient batch job: more attempts, slower backoff, and tolerate longer server waits.
/// let batch = RetryPolicy::default()
///     .max_attempts(6)
///     .base_delay(Duration::from_millis(500))
///     .max_backoff(Duration::from_secs(30))
///     .max_retry_after(Duration::from_secs(120))
///     .retry_on_timeout(false);
///
/// // Fail fast: exactly one attempt.
/// let once = RetryPolicy::never();
///
/// assert_ne!(batch, once);
/// assert_eq!(RetryPolicy::default().max_attempts(1), once);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    base_delay: Duration,
    max_backoff: Duration,
    max_retry_after: Duration,
    retry_on_timeout: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(200),
            max_backoff: Duration::from_secs(20),
            max_retry_after: Duration::from_secs(60),
            retry_on_timeout: true,
        }
    }
}

impl RetryPolicy {
    /// A policy that makes exactly one attempt and never waits: no retry, no backoff, and no
    /// hold on a request while the rate-limit gate is closed (after a `429` with `Retry-After`
    /// or a spent quota). The request goes out at once and a 429 comes back as the error.
    /// Any policy with one attempt, including a request's own `.max_attempts(1)`, behaves so.
    #[must_use]
    pub fn never() -> Self {
        Self::default().max_attempts(1)
    }

    /// Total attempts including the first (default 3). `0` is read as `1`: a request is always
    /// sent at least once. With one attempt nothing waits, not even for the rate-limit gate (see
    /// [`RetryPolicy::never`]).
    #[must_use]
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The backoff before the first retry, doubled for each further one (default 200 ms). The
    /// actual wait is a random fraction of it ("full jitter") so that many clients failing at
    /// the same moment do not retry at the same moment.
    #[must_use]
    pub fn base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// The largest backoff, before jitter (default 20 s).
    #[must_use]
    pub fn max_backoff(mut self, cap: Duration) -> Self {
        self.max_backoff = cap;
        self
    }

    /// The longest wait honoured when the server asks for one with `Retry-After` or a spent
    /// rate-limit quota (default 60 s). Longer requests are shortened to this.
    #[must_use]
    pub fn max_retry_after(mut self, cap: Duration) -> Self {
        self.max_retry_after = cap;
        self
    }

    /// Whether a request that timed out is retried (default `true`). Turn it off when a slow
    /// answer is better reported than repeated.
    #[must_use]
    pub fn retry_on_timeout(mut self, retry: bool) -> Self {
        self.retry_on_timeout = retry;
        self
    }

    /// Whether requests wait while the shared rate-limit gate is closed: not with one attempt,
    /// which promises no waiting at all.
    pub(crate) fn waits_for_rate_limits(&self) -> bool {
        self.max_attempts > 1
    }

    /// Total attempts allowed, the first included.
    pub(crate) fn attempt_limit(&self) -> u32 {
        self.max_attempts
    }

    /// The cap on server-requested waits, for the shared rate-limit gate.
    pub(crate) fn retry_after_cap(&self) -> Duration {
        self.max_retry_after
    }

    /// Decides what follows the attempt numbered `attempt` (1-based) that ended in `outcome`.
    ///
    /// Checks run cheapest-to-explain first: a final response, a failure kind this policy does
    /// not retry, a request that is unsafe to repeat, the attempt limit; only then the delay.
    /// The retry budget is applied afterwards by [`RetryBudget::settle`].
    pub(crate) fn decide(
        &self,
        attempt: u32,
        safety: RequestSafety,
        outcome: AttemptOutcome<'_>,
        now: SystemTime,
        random: &dyn RandomSource,
    ) -> RetryDecision {
        let attempts = attempt.max(1);
        let failure = match outcome {
            AttemptOutcome::Response { status, .. } => match AttemptFailure::of_status(status) {
                Some(failure) => failure,
                None => {
                    return RetryDecision::Stop {
                        reason: StopReason::FinalResponse { attempts, status },
                    };
                }
            },
            AttemptOutcome::Failed(failure) => failure,
        };
        if failure == AttemptFailure::TimedOut && !self.retry_on_timeout {
            return RetryDecision::Stop {
                reason: StopReason::TimeoutRetryDisabled { attempts },
            };
        }
        if !safety.may_retry_after(failure) {
            return RetryDecision::Stop {
                reason: StopReason::NotSafeToRetry { attempts, failure },
            };
        }
        if attempts >= self.max_attempts {
            return RetryDecision::Stop {
                reason: StopReason::AttemptsExhausted { attempts, failure },
            };
        }

        let requested = match outcome {
            AttemptOutcome::Response { headers, .. } => headers
                .get(http::header::RETRY_AFTER)
                .and_then(|value| parse_retry_after(value, now)),
            _ => None,
        };
        let (delay, wait) = match requested {
            Some(requested) => {
                let delay = requested.min(self.max_retry_after);
                (delay, WaitBasis::RetryAfter { requested })
            }
            None => (self.backoff(attempts, random), WaitBasis::Backoff),
        };
        RetryDecision::Retry {
            delay,
            reason: RetryReason {
                attempt: attempts,
                failure,
                wait,
                delay,
            },
        }
    }

    /// Full jitter: a uniform fraction of `min(max_backoff, base_delay * 2^(attempt - 1))`.
    pub(crate) fn backoff(&self, attempt: u32, random: &dyn RandomSource) -> Duration {
        // 2^31 times any useful base is far past every cap; stopping there avoids overflow.
        let doublings = attempt.saturating_sub(1).min(31);
        let ceiling = self
            .base_delay
            .saturating_mul(1u32 << doublings)
            .min(self.max_backoff);
        // A custom random source might answer NaN or something outside [0, 1).
        let fraction = random.next_unit();
        let fraction = if fraction.is_finite() {
            fraction.clamp(0.0, 1.0)
        } else {
            0.0
        };
        Duration::try_from_secs_f64(ceiling.as_secs_f64() * fraction)
            .map_or(ceiling, |d| d.min(ceiling))
    }
}

/// Whether the server's answer is a transient failure worth another attempt: the one rule for
/// statuses, read by the retry policy and by [`Error::is_retryable`](crate::Error::is_retryable).
pub(crate) fn is_retryable_status(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::REQUEST_TIMEOUT
            | StatusCode::TOO_MANY_REQUESTS
            | StatusCode::INTERNAL_SERVER_ERROR
            | StatusCode::BAD_GATEWAY
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT
    )
}

/// How one attempt ended, as the transport saw it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum AttemptOutcome<'a> {
    /// The server answered.
    Response {
        /// The response status.
        status: StatusCode,
        /// The response headers (for `Retry-After`).
        headers: &'a HeaderMap,
    },
    /// No answer came, for a reason another attempt may cure.
    Failed(AttemptFailure),
}

/// What about a request makes repeating it safe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RequestSafety {
    /// The method is idempotent by definition (GET, HEAD, PUT, DELETE, OPTIONS, TRACE).
    pub(crate) idempotent_method: bool,
    /// The request carries an `Idempotency-Key`, so the server replays rather than repeats it.
    pub(crate) has_idempotency_key: bool,
}

/// The three kinds of request the tests of the policy and of the pipeline decide for.
#[cfg(test)]
impl RequestSafety {
    /// A GET, PUT, DELETE, …
    pub(crate) const IDEMPOTENT: Self = Self {
        idempotent_method: true,
        has_idempotency_key: false,
    };
    /// A POST or PATCH without an `Idempotency-Key`.
    pub(crate) const UNKEYED: Self = Self {
        idempotent_method: false,
        has_idempotency_key: false,
    };
    /// A POST or PATCH with an `Idempotency-Key`.
    pub(crate) const KEYED: Self = Self {
        idempotent_method: false,
        has_idempotency_key: true,
    };
}

impl RequestSafety {
    /// Reads the method and the `Idempotency-Key` header of the request about to be sent.
    #[cfg(test)]
    pub(crate) fn of_request(method: &http::Method, headers: &HeaderMap) -> Self {
        Self {
            idempotent_method: method.is_idempotent(),
            has_idempotency_key: headers
                .get(&IDEMPOTENCY_KEY_HEADER)
                .is_some_and(|key| !key.is_empty()),
        }
    }

    /// A non-idempotent request without a key may be repeated only if the server never saw it.
    fn may_retry_after(self, failure: AttemptFailure) -> bool {
        self.idempotent_method
            || self.has_idempotency_key
            || failure == AttemptFailure::ConnectFailed
    }
}

/// A failure another attempt may cure, kept after the response is gone. Failures that are not
/// here (a TLS refusal, an oversized or undecompressable body, invalid configuration) repeat
/// identically, so they are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AttemptFailure {
    /// The server answered with this retryable status.
    Status(StatusCode),
    /// No connection could be made (DNS, refused, connect timeout): the request never reached the
    /// server.
    ConnectFailed,
    /// No answer in time; the request may have reached the server.
    TimedOut,
    /// The connection broke after the request was (perhaps partly) sent; it may have reached the
    /// server.
    ConnectionDropped,
}

impl AttemptFailure {
    /// The failure a response status stands for, or `None` when the status is final.
    pub(crate) fn of_status(status: StatusCode) -> Option<Self> {
        is_retryable_status(status).then_some(Self::Status(status))
    }
}

impl fmt::Display for AttemptFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status(status) => write!(f, "{status}"),
            Self::ConnectFailed => f.write_str("could not connect"),
            Self::TimedOut => f.write_str("timed out"),
            Self::ConnectionDropped => f.write_str("connection dropped after the request was sent"),
        }
    }
}

/// The answer to "what now?" after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RetryDecision {
    /// Wait `delay`, then send the request again.
    Retry {
        /// How long to wait before the next attempt.
        delay: Duration,
        /// Why, for tracing.
        reason: RetryReason,
    },
    /// Do not send it again.
    Stop {
        /// Why, for tracing and for the final error.
        reason: StopReason,
    },
}

impl fmt::Display for RetryDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Retry { delay, reason } => write!(f, "retrying in {delay:?}: {reason}"),
            Self::Stop { reason } => write!(f, "{reason}"),
        }
    }
}

/// Why a retry was scheduled, and where its delay came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RetryReason {
    /// The attempt that failed (1-based).
    pub(crate) attempt: u32,
    /// How it failed.
    pub(crate) failure: AttemptFailure,
    /// What chose the delay.
    pub(crate) wait: WaitBasis,
    /// The delay chosen.
    pub(crate) delay: Duration,
}

/// What chose a retry delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WaitBasis {
    /// The server's `Retry-After`, as requested (the delay may be capped below it).
    RetryAfter {
        /// The wait the server asked for.
        requested: Duration,
    },
    /// Exponential backoff with full jitter.
    Backoff,
}

impl fmt::Display for RetryReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.wait {
            WaitBasis::RetryAfter { requested } if requested > self.delay => write!(
                f,
                "{}, Retry-After {requested:?} capped to {:?}",
                self.failure, self.delay
            ),
            WaitBasis::RetryAfter { requested } => {
                write!(f, "{}, Retry-After {requested:?}", self.failure)
            }
            WaitBasis::Backoff => write!(f, "{}, backoff with jitter", self.failure),
        }
    }
}

/// Why no further attempt is made. Its `Display` is the tail of the final error:
/// "gave up after 3 attempts: 503 Service Unavailable".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StopReason {
    /// The server's answer is final: a success, or an error that repeating will not fix.
    FinalResponse {
        /// Attempts made, including this one.
        attempts: u32,
        /// The final status.
        status: StatusCode,
    },
    /// The request timed out and the policy does not retry timeouts.
    TimeoutRetryDisabled {
        /// Attempts made.
        attempts: u32,
    },
    /// The request is not idempotent, carries no `Idempotency-Key`, and may have reached the
    /// server, so repeating it could perform it twice.
    NotSafeToRetry {
        /// Attempts made.
        attempts: u32,
        /// How the last attempt failed.
        failure: AttemptFailure,
    },
    /// The policy's `max_attempts` were all used.
    AttemptsExhausted {
        /// Attempts made.
        attempts: u32,
        /// How the last attempt failed.
        failure: AttemptFailure,
    },
    /// The client's shared retry budget is empty: the server has been failing many requests.
    BudgetExhausted {
        /// Attempts made.
        attempts: u32,
        /// How the last attempt failed.
        failure: AttemptFailure,
    },
}

impl StopReason {
    /// Attempts made for the request, including the last one.
    pub(crate) fn attempts(&self) -> u32 {
        match *self {
            Self::FinalResponse { attempts, .. }
            | Self::TimeoutRetryDisabled { attempts }
            | Self::NotSafeToRetry { attempts, .. }
            | Self::AttemptsExhausted { attempts, .. }
            | Self::BudgetExhausted { attempts, .. } => attempts,
        }
    }
}

impl StopReason {
    /// Why the request was not retried, when the final error would not otherwise say so: the
    /// status and attempt count explain a final answer or spent attempts, but not a request that
    /// was unsafe to repeat or a budget that ran dry.
    pub(crate) fn note(&self) -> Option<&'static str> {
        match self {
            Self::NotSafeToRetry { .. } => Some(
                "not retried because the request may have reached the server and is neither \
                 idempotent nor sent with an Idempotency-Key",
            ),
            Self::BudgetExhausted { .. } => Some(
                "not retried because the client's retry budget is exhausted (many requests are \
                 failing)",
            ),
            Self::TimeoutRetryDisabled { .. } => {
                Some("not retried because the retry policy does not retry timeouts")
            }
            Self::FinalResponse { .. } | Self::AttemptsExhausted { .. } => None,
        }
    }
}

fn plural_attempts(attempts: u32) -> &'static str {
    if attempts == 1 { "attempt" } else { "attempts" }
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let attempts = self.attempts();
        let word = plural_attempts(attempts);
        match self {
            Self::FinalResponse { status, .. } => {
                write!(f, "{status} after {attempts} {word}; not retried")
            }
            Self::TimeoutRetryDisabled { .. } => write!(
                f,
                "gave up after {attempts} {word}: timed out (the retry policy does not retry timeouts)"
            ),
            Self::NotSafeToRetry { failure, .. } => write!(
                f,
                "gave up after {attempts} {word}: {failure}; not retried because the request \
                 may have reached the server and is neither idempotent nor sent with an \
                 Idempotency-Key"
            ),
            Self::AttemptsExhausted { failure, .. } => {
                write!(f, "gave up after {attempts} {word}: {failure}")
            }
            Self::BudgetExhausted { failure, .. } => write!(
                f,
                "gave up after {attempts} {word}: {failure}; the client's retry budget is \
                 exhausted because many requests are failing"
            ),
        }
    }
}

/// Sizes of the retry budget: a token bucket that retries draw from and successes refill.
///
/// With the defaults (capacity 500, a retry costs 5, a retry after a timeout 10, a success
/// refunds 1) a client whose every request fails can make at most 100 retries (50 after
/// timeouts) before it stops retrying; each success after that earns back a fifth of a retry.
///
/// ```
/// use marketing_api::retry::RetryBudgetConfig;
///
/// let strict = RetryBudgetConfig::default().capacity(100).retry_cost(10);
/// let off = RetryBudgetConfig::unlimited();
/// assert_ne!(strict, off);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryBudgetConfig {
    capacity: u32,
    retry_cost: u32,
    timeout_retry_cost: u32,
    success_refund: u32,
}

impl Default for RetryBudgetConfig {
    fn default() -> Self {
        Self {
            capacity: 500,
            retry_cost: 5,
            timeout_retry_cost: 10,
            success_refund: 1,
        }
    }
}

impl RetryBudgetConfig {
    /// A budget that never stops a retry (retries cost nothing); the policy's attempt limit
    /// still applies.
    #[must_use]
    pub fn unlimited() -> Self {
        Self::default().retry_cost(0).timeout_retry_cost(0)
    }

    /// Tokens in a full bucket; the bucket starts full (default 500).
    #[must_use]
    pub fn capacity(mut self, tokens: u32) -> Self {
        self.capacity = tokens;
        self
    }

    /// Tokens one retry takes (default 5).
    #[must_use]
    pub fn retry_cost(mut self, tokens: u32) -> Self {
        self.retry_cost = tokens;
        self
    }

    /// Tokens one retry after a timeout takes (default 10): timeouts tie up the server longest.
    #[must_use]
    pub fn timeout_retry_cost(mut self, tokens: u32) -> Self {
        self.timeout_retry_cost = tokens;
        self
    }

    /// Tokens a successful response puts back, up to the capacity (default 1).
    #[must_use]
    pub fn success_refund(mut self, tokens: u32) -> Self {
        self.success_refund = tokens;
        self
    }
}

/// The token bucket behind [`RetryBudgetConfig`], shared by every clone of a client.
///
/// Cloning is cheap (one `Arc`); the bucket is a single atomic, so no lock is ever held, let alone
/// across an `.await`.
#[derive(Debug, Clone)]
pub(crate) struct RetryBudget {
    tokens: Arc<AtomicU32>,
    config: RetryBudgetConfig,
}

impl Default for RetryBudget {
    fn default() -> Self {
        Self::new(RetryBudgetConfig::default())
    }
}

impl RetryBudget {
    /// A full bucket.
    pub(crate) fn new(config: RetryBudgetConfig) -> Self {
        Self {
            tokens: Arc::new(AtomicU32::new(config.capacity)),
            config,
        }
    }

    /// Applies the budget to a decision: a retry is paid for or turned into
    /// [`StopReason::BudgetExhausted`]; a successful response refunds tokens. Other stops,
    /// final error answers (404, 422, …) included, pass through unchanged: only a success is
    /// evidence that the server is healthy again.
    pub(crate) fn settle(&self, decision: RetryDecision) -> RetryDecision {
        match decision {
            RetryDecision::Retry { delay, reason } => {
                let cost = if reason.failure == AttemptFailure::TimedOut {
                    self.config.timeout_retry_cost
                } else {
                    self.config.retry_cost
                };
                if self.try_withdraw(cost) {
                    RetryDecision::Retry { delay, reason }
                } else {
                    RetryDecision::Stop {
                        reason: StopReason::BudgetExhausted {
                            attempts: reason.attempt,
                            failure: reason.failure,
                        },
                    }
                }
            }
            RetryDecision::Stop {
                reason: reason @ StopReason::FinalResponse { status, .. },
            } if status.is_success() => {
                self.deposit(self.config.success_refund);
                RetryDecision::Stop { reason }
            }
            stop @ RetryDecision::Stop { .. } => stop,
        }
    }

    /// Tokens currently in the bucket.
    #[cfg(test)]
    pub(crate) fn available(&self) -> u32 {
        self.tokens.load(Ordering::Acquire)
    }

    /// Pays for one retry that is not an API request (a token request); `false` when the
    /// bucket cannot pay.
    pub(crate) fn withdraw_retry(&self) -> bool {
        self.try_withdraw(self.config.retry_cost)
    }

    fn try_withdraw(&self, cost: u32) -> bool {
        self.tokens
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |tokens| {
                tokens.checked_sub(cost)
            })
            .is_ok()
    }

    fn deposit(&self, refund: u32) {
        let capacity = self.config.capacity;
        // A healthy client refunds into a full bucket on every success: a read settles that
        // without writing the shared cache line, which every thread sending requests would
        // otherwise take in turn.
        if self.tokens.load(Ordering::Acquire) >= capacity {
            return;
        }
        // Returning `None` (full by now) leaves the bucket as it is.
        let _ = self
            .tokens
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |tokens| {
                (tokens < capacity).then(|| tokens.saturating_add(refund).min(capacity))
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedRandom;
    use http::HeaderValue;
    use http::Method;
    use http::header::RETRY_AFTER;
    use std::sync::atomic::AtomicUsize;
    use std::time::UNIX_EPOCH;

    const MID: FixedRandom = FixedRandom(0.5);

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    const GET: RequestSafety = RequestSafety::IDEMPOTENT;
    const POST_NO_KEY: RequestSafety = RequestSafety::UNKEYED;
    const POST_WITH_KEY: RequestSafety = RequestSafety::KEYED;

    fn status(code: u16, headers: &HeaderMap) -> AttemptOutcome<'_> {
        AttemptOutcome::Response {
            status: StatusCode::from_u16(code).expect("test status"),
            headers,
        }
    }

    fn retry_after(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_str(value).expect("test header"),
        );
        headers
    }

    fn delay_of(decision: &RetryDecision) -> Duration {
        match decision {
            RetryDecision::Retry { delay, .. } => *delay,
            RetryDecision::Stop { reason } => panic!("expected a retry, got stop: {reason}"),
        }
    }

    fn stop_of(decision: &RetryDecision) -> StopReason {
        match decision {
            RetryDecision::Stop { reason } => *reason,
            RetryDecision::Retry { reason, .. } => panic!("expected a stop, got retry: {reason}"),
        }
    }

    #[test]
    fn sequence_503_503_200_retries_twice_then_succeeds() {
        let policy = RetryPolicy::default();
        let budget = RetryBudget::default();
        let none = HeaderMap::new();
        let script = [503, 503, 200];
        let mut decisions = Vec::new();
        for (index, code) in script.into_iter().enumerate() {
            let attempt = index as u32 + 1;
            let decision =
                budget.settle(policy.decide(attempt, GET, status(code, &none), now(), &MID));
            decisions.push(decision);
        }
        assert!(matches!(decisions[0], RetryDecision::Retry { .. }));
        assert!(matches!(decisions[1], RetryDecision::Retry { .. }));
        assert_eq!(
            stop_of(&decisions[2]),
            StopReason::FinalResponse {
                attempts: 3,
                status: StatusCode::OK
            }
        );
        // Backoff doubles: half of 200 ms, then half of 400 ms.
        assert_eq!(delay_of(&decisions[0]), Duration::from_millis(100));
        assert_eq!(delay_of(&decisions[1]), Duration::from_millis(200));
        assert_eq!(
            decisions[0].to_string(),
            "retrying in 100ms: 503 Service Unavailable, backoff with jitter"
        );
        // Two retries cost 10 tokens; the success refunded one.
        assert_eq!(budget.available(), 500 - 10 + 1);
    }

    #[test]
    fn three_failures_exhaust_default_attempts() {
        let policy = RetryPolicy::default();
        let none = HeaderMap::new();
        let third = policy.decide(3, GET, status(503, &none), now(), &MID);
        let reason = stop_of(&third);
        assert_eq!(
            reason,
            StopReason::AttemptsExhausted {
                attempts: 3,
                failure: AttemptFailure::Status(StatusCode::SERVICE_UNAVAILABLE)
            }
        );
        assert_eq!(
            reason.to_string(),
            "gave up after 3 attempts: 503 Service Unavailable"
        );
    }

    #[test]
    fn retryable_and_final_statuses() {
        let policy = RetryPolicy::default();
        let none = HeaderMap::new();
        for code in [408, 429, 500, 502, 503, 504] {
            let decision = policy.decide(1, GET, status(code, &none), now(), &MID);
            assert!(
                matches!(decision, RetryDecision::Retry { .. }),
                "{code}: {decision}"
            );
        }
        for code in [
            200, 201, 204, 301, 400, 401, 403, 404, 409, 413, 422, 501, 505,
        ] {
            let decision = policy.decide(1, GET, status(code, &none), now(), &MID);
            assert!(
                matches!(
                    decision,
                    RetryDecision::Stop {
                        reason: StopReason::FinalResponse { .. }
                    }
                ),
                "{code}: {decision}"
            );
        }
        for outcome in [
            AttemptOutcome::Failed(AttemptFailure::ConnectFailed),
            AttemptOutcome::Failed(AttemptFailure::TimedOut),
            AttemptOutcome::Failed(AttemptFailure::ConnectionDropped),
        ] {
            let decision = policy.decide(1, GET, outcome, now(), &MID);
            assert!(
                matches!(decision, RetryDecision::Retry { .. }),
                "{decision}"
            );
        }
    }

    #[test]
    fn retry_after_seconds_wins_over_backoff() {
        let policy = RetryPolicy::default();
        let headers = retry_after("2");
        let decision = policy.decide(1, GET, status(429, &headers), now(), &MID);
        assert_eq!(delay_of(&decision), Duration::from_secs(2));
        let RetryDecision::Retry { reason, .. } = &decision else {
            unreachable!()
        };
        assert_eq!(reason.to_string(), "429 Too Many Requests, Retry-After 2s");
        // Also on a later attempt, where backoff alone would be longer.
        let slow = RetryPolicy::default()
            .max_attempts(10)
            .base_delay(Duration::from_secs(10))
            .max_backoff(Duration::from_secs(100));
        let decision = slow.decide(5, GET, status(503, &headers), now(), &FixedRandom(0.99));
        assert_eq!(delay_of(&decision), Duration::from_secs(2));
    }

    #[test]
    fn retry_after_http_date() {
        let policy = RetryPolicy::default();
        let headers = retry_after(&httpdate::fmt_http_date(now() + Duration::from_secs(5)));
        let decision = policy.decide(1, GET, status(503, &headers), now(), &MID);
        assert_eq!(delay_of(&decision), Duration::from_secs(5));
        // A date already past means "now".
        let past = retry_after(&httpdate::fmt_http_date(now() - Duration::from_secs(5)));
        let decision = policy.decide(1, GET, status(503, &past), now(), &MID);
        assert_eq!(delay_of(&decision), Duration::ZERO);
    }

    #[test]
    fn day_long_retry_after_is_capped() {
        let headers = retry_after("86400");
        let decision = RetryPolicy::default().decide(1, GET, status(503, &headers), now(), &MID);
        assert_eq!(delay_of(&decision), Duration::from_secs(60));
        assert_eq!(
            decision.to_string(),
            "retrying in 60s: 503 Service Unavailable, Retry-After 86400s capped to 60s"
        );
        let custom = RetryPolicy::default().max_retry_after(Duration::from_secs(5));
        let decision = custom.decide(1, GET, status(429, &headers), now(), &MID);
        assert_eq!(delay_of(&decision), Duration::from_secs(5));
        // The cap applies to dates too.
        let far = retry_after("Fri, 31 Dec 9999 23:59:59 GMT");
        let decision = RetryPolicy::default().decide(1, GET, status(503, &far), now(), &MID);
        assert_eq!(delay_of(&decision), Duration::from_secs(60));
    }

    #[test]
    fn garbage_retry_after_falls_back_to_backoff() {
        for value in ["soon", "-3", "1.5", "99999999999999999999999"] {
            let headers = retry_after(value);
            let decision =
                RetryPolicy::default().decide(1, GET, status(503, &headers), now(), &MID);
            assert_eq!(delay_of(&decision), Duration::from_millis(100), "{value:?}");
        }
        let mut headers = HeaderMap::new();
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_bytes(b"\xff2").expect("obs-text"),
        );
        let decision = RetryPolicy::default().decide(1, GET, status(503, &headers), now(), &MID);
        assert_eq!(delay_of(&decision), Duration::from_millis(100));
    }

    #[test]
    fn post_without_key_is_never_retried_once_it_may_have_reached_the_server() {
        let policy = RetryPolicy::default();
        let none = HeaderMap::new();
        let five_oh_three = status(503, &none);
        for outcome in [
            AttemptOutcome::Failed(AttemptFailure::ConnectionDropped),
            AttemptOutcome::Failed(AttemptFailure::TimedOut),
            five_oh_three,
            status(500, &none),
            status(429, &none),
            status(408, &none),
        ] {
            let decision = policy.decide(1, POST_NO_KEY, outcome, now(), &MID);
            let reason = stop_of(&decision);
            assert!(
                matches!(reason, StopReason::NotSafeToRetry { attempts: 1, .. }),
                "{outcome:?}: {reason}"
            );
        }
        let reason = stop_of(&policy.decide(
            1,
            POST_NO_KEY,
            AttemptOutcome::Failed(AttemptFailure::ConnectionDropped),
            now(),
            &MID,
        ));
        assert!(
            reason
                .to_string()
                .starts_with("gave up after 1 attempt: connection dropped after the request was sent; not retried"),
            "{reason}"
        );
    }

    #[test]
    fn post_without_key_is_retried_when_it_never_reached_the_server() {
        let decision = RetryPolicy::default().decide(
            1,
            POST_NO_KEY,
            AttemptOutcome::Failed(AttemptFailure::ConnectFailed),
            now(),
            &MID,
        );
        assert_eq!(delay_of(&decision), Duration::from_millis(100));
    }

    #[test]
    fn post_with_key_is_retried_like_an_idempotent_request() {
        let policy = RetryPolicy::default();
        let none = HeaderMap::new();
        for outcome in [
            AttemptOutcome::Failed(AttemptFailure::ConnectionDropped),
            AttemptOutcome::Failed(AttemptFailure::TimedOut),
            AttemptOutcome::Failed(AttemptFailure::ConnectFailed),
            status(503, &none),
            status(429, &none),
        ] {
            let decision = policy.decide(1, POST_WITH_KEY, outcome, now(), &MID);
            assert!(
                matches!(decision, RetryDecision::Retry { .. }),
                "{outcome:?}: {decision}"
            );
        }
    }

    #[test]
    fn request_safety_from_method_and_headers() {
        let none = HeaderMap::new();
        for method in [
            Method::GET,
            Method::HEAD,
            Method::PUT,
            Method::DELETE,
            Method::OPTIONS,
        ] {
            assert!(
                RequestSafety::of_request(&method, &none).idempotent_method,
                "{method}"
            );
        }
        let post = RequestSafety::of_request(&Method::POST, &none);
        assert_eq!(post, POST_NO_KEY);
        assert!(!RequestSafety::of_request(&Method::PATCH, &none).idempotent_method);

        let mut keyed = HeaderMap::new();
        keyed.insert(
            IDEMPOTENCY_KEY_HEADER,
            HeaderValue::from_str(&idempotency_key()).expect("uuid is a valid header"),
        );
        assert_eq!(
            RequestSafety::of_request(&Method::POST, &keyed),
            POST_WITH_KEY
        );
        let mut empty = HeaderMap::new();
        empty.insert(IDEMPOTENCY_KEY_HEADER, HeaderValue::from_static(""));
        assert_eq!(
            RequestSafety::of_request(&Method::POST, &empty),
            POST_NO_KEY
        );
    }

    #[test]
    fn idempotency_keys_are_uuid_v4_and_distinct() {
        let a = idempotency_key();
        let b = idempotency_key();
        assert_ne!(a, b);
        let parsed = uuid::Uuid::parse_str(&a).expect("a UUID");
        assert_eq!(parsed.get_version(), Some(uuid::Version::Random));
        assert_eq!(a.len(), 36);
    }

    #[test]
    fn jitter_bounds() {
        let policy = RetryPolicy::default()
            .max_attempts(20)
            .base_delay(Duration::from_millis(200))
            .max_backoff(Duration::from_secs(20));
        let low = FixedRandom(0.0);
        let high = FixedRandom(0.999);
        let none = HeaderMap::new();
        for attempt in 1..20 {
            let ceiling =
                (Duration::from_millis(200) * 2u32.pow(attempt - 1)).min(Duration::from_secs(20));
            let at_low = delay_of(&policy.decide(attempt, GET, status(503, &none), now(), &low));
            let at_high = delay_of(&policy.decide(attempt, GET, status(503, &none), now(), &high));
            assert_eq!(at_low, Duration::ZERO, "attempt {attempt}");
            assert!(at_high < ceiling, "attempt {attempt}: {at_high:?}");
            assert!(
                at_high >= ceiling.mul_f64(0.998),
                "attempt {attempt}: {at_high:?}"
            );
        }
        // 200 ms · 2^7 = 25.6 s is past the 20 s cap.
        assert_eq!(
            delay_of(&policy.decide(8, GET, status(503, &none), now(), &high)),
            Duration::from_secs(20).mul_f64(0.999)
        );
    }

    #[test]
    fn backoff_survives_huge_attempts_and_odd_random_sources() {
        #[derive(Debug)]
        struct Odd(f64);
        impl RandomSource for Odd {
            fn next_unit(&self) -> f64 {
                self.0
            }
        }
        let policy = RetryPolicy::default()
            .max_attempts(u32::MAX)
            .base_delay(Duration::MAX)
            .max_backoff(Duration::MAX);
        for random in [f64::NAN, f64::INFINITY, -1.0, 2.0, 0.999_999] {
            let delay = policy.backoff(u32::MAX - 1, &Odd(random));
            assert!(delay <= Duration::MAX, "{random}");
        }
        let normal = RetryPolicy::default();
        assert_eq!(normal.backoff(1, &Odd(f64::NAN)), Duration::ZERO);
        assert_eq!(normal.backoff(1, &Odd(7.0)), Duration::from_millis(200));
    }

    #[test]
    fn never_makes_one_attempt() {
        let none = HeaderMap::new();
        let decision = RetryPolicy::never().decide(1, GET, status(503, &none), now(), &MID);
        assert_eq!(
            stop_of(&decision).to_string(),
            "gave up after 1 attempt: 503 Service Unavailable"
        );
        assert_eq!(RetryPolicy::default().max_attempts(0), RetryPolicy::never());
    }

    #[test]
    fn timeouts_can_be_excluded() {
        let policy = RetryPolicy::default().retry_on_timeout(false);
        let decision = policy.decide(
            1,
            GET,
            AttemptOutcome::Failed(AttemptFailure::TimedOut),
            now(),
            &MID,
        );
        assert_eq!(
            stop_of(&decision),
            StopReason::TimeoutRetryDisabled { attempts: 1 }
        );
        let decision = policy.decide(
            1,
            GET,
            AttemptOutcome::Failed(AttemptFailure::ConnectionDropped),
            now(),
            &MID,
        );
        assert!(matches!(decision, RetryDecision::Retry { .. }));
    }

    #[test]
    fn budget_exhaustion_and_refill() {
        let budget = RetryBudget::new(RetryBudgetConfig::default().capacity(12));
        let policy = RetryPolicy::default().max_attempts(100);
        let none = HeaderMap::new();
        let fail =
            |attempt| budget.settle(policy.decide(attempt, GET, status(503, &none), now(), &MID));
        assert!(matches!(fail(1), RetryDecision::Retry { .. }));
        assert!(matches!(fail(2), RetryDecision::Retry { .. }));
        assert_eq!(budget.available(), 2);
        let reason = stop_of(&fail(3));
        assert_eq!(
            reason,
            StopReason::BudgetExhausted {
                attempts: 3,
                failure: AttemptFailure::Status(StatusCode::SERVICE_UNAVAILABLE)
            }
        );
        assert!(
            reason.to_string().contains("retry budget is exhausted"),
            "{reason}"
        );

        // Three successes refill 3 tokens: 5 in all, one more retry.
        for _ in 0..3 {
            budget.settle(policy.decide(1, GET, status(200, &none), now(), &MID));
        }
        assert_eq!(budget.available(), 5);
        assert!(matches!(fail(1), RetryDecision::Retry { .. }));
        assert_eq!(budget.available(), 0);

        // A final error answer is no sign of a healthy server: it refunds nothing.
        for code in [400, 404, 409, 422, 501] {
            budget.settle(policy.decide(1, GET, status(code, &none), now(), &MID));
        }
        assert_eq!(budget.available(), 0);

        // Refunds stop at capacity.
        for _ in 0..100 {
            budget.settle(policy.decide(1, GET, status(200, &none), now(), &MID));
        }
        assert_eq!(budget.available(), 12);

        // A timeout retry costs 10; a stop for other reasons costs and refunds nothing.
        let timeout = budget.settle(policy.decide(
            1,
            GET,
            AttemptOutcome::Failed(AttemptFailure::TimedOut),
            now(),
            &MID,
        ));
        assert!(matches!(timeout, RetryDecision::Retry { .. }));
        assert_eq!(budget.available(), 2);
        budget.settle(policy.decide(
            1,
            POST_NO_KEY,
            AttemptOutcome::Failed(AttemptFailure::TimedOut),
            now(),
            &MID,
        ));
        assert_eq!(budget.available(), 2);
    }

    #[test]
    fn budget_is_shared_by_clones() {
        let budget = RetryBudget::new(RetryBudgetConfig::default().capacity(5));
        let clone = budget.clone();
        let none = HeaderMap::new();
        let policy = RetryPolicy::default();
        assert!(matches!(
            clone.settle(policy.decide(1, GET, status(503, &none), now(), &MID)),
            RetryDecision::Retry { .. }
        ));
        assert!(matches!(
            budget.settle(policy.decide(1, GET, status(503, &none), now(), &MID)),
            RetryDecision::Stop {
                reason: StopReason::BudgetExhausted { .. }
            }
        ));
    }

    #[test]
    fn unlimited_budget_never_stops_a_retry() {
        let budget = RetryBudget::new(RetryBudgetConfig::unlimited().capacity(0));
        let none = HeaderMap::new();
        let policy = RetryPolicy::default();
        for _ in 0..1000 {
            let decision = budget.settle(policy.decide(1, GET, status(503, &none), now(), &MID));
            assert!(matches!(decision, RetryDecision::Retry { .. }));
        }
    }

    /// 100 requests on 100 threads against a server that fails everything, 3 attempts each:
    /// without a budget that is 200 retries; the default budget (500 tokens, 5 per retry) allows
    /// exactly 100, and 50 when every failure is a timeout (10 per retry).
    #[test]
    fn concurrent_requests_against_failing_server_are_bounded_by_the_budget() {
        fn run(outcome: fn(&HeaderMap) -> AttemptOutcome<'_>) -> (usize, usize) {
            let budget = RetryBudget::default();
            let policy = RetryPolicy::default();
            let retries = AtomicUsize::new(0);
            let attempts = AtomicUsize::new(0);
            std::thread::scope(|scope| {
                for _ in 0..100 {
                    scope.spawn(|| {
                        let none = HeaderMap::new();
                        let mut attempt = 1;
                        loop {
                            attempts.fetch_add(1, Ordering::Relaxed);
                            let decision = budget.settle(policy.decide(
                                attempt,
                                GET,
                                outcome(&none),
                                now(),
                                &MID,
                            ));
                            match decision {
                                RetryDecision::Retry { .. } => {
                                    retries.fetch_add(1, Ordering::Relaxed);
                                    attempt += 1;
                                }
                                RetryDecision::Stop { .. } => break,
                            }
                        }
                    });
                }
            });
            (retries.into_inner(), attempts.into_inner())
        }
        let (retries, attempts) = run(|headers| status(503, headers));
        assert_eq!(retries, 100);
        assert_eq!(attempts, 200);
        let (retries, attempts) = run(|_| AttemptOutcome::Failed(AttemptFailure::TimedOut));
        assert_eq!(retries, 50);
        assert_eq!(attempts, 150);
    }
}
