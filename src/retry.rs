//! Retry policy, backoff, retry budget and rate-limit awareness.
