//! Idempotency keys: the first request with a key runs and its answer is stored; a repeat with
//! the same body gets the stored answer back (`Idempotent-Replayed: true`); a repeat with a
//! different body is refused with 422; a repeat while the first is still running is refused with
//! 409 instead of running twice.
//!
//! Keys are scoped to the credential that sent them and expire after the configured time.
//! Answers of 5xx are not stored, so a retry after a server failure runs again.

use axum::http::{HeaderName, HeaderValue, StatusCode};
use bytes::Bytes;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A stored answer.
#[derive(Debug, Clone)]
pub struct StoredResponse {
    /// Its status.
    pub status: StatusCode,
    /// Its headers (content type, request id, deprecation…).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Its body.
    pub body: Bytes,
}

#[derive(Debug)]
enum Entry {
    InFlight {
        fingerprint: [u8; 32],
    },
    Done {
        fingerprint: [u8; 32],
        response: StoredResponse,
        expires_at: Instant,
    },
}

type EntryKey = (String, String);

/// What to do with a request that carries an idempotency key.
#[derive(Debug)]
pub enum Begin {
    /// First use: run it, then hand the answer to the guard.
    Proceed(InFlightGuard),
    /// Seen before with the same body: send this.
    Replay(StoredResponse),
    /// Seen before with a different body.
    Mismatch,
    /// The first request with this key is still running.
    InFlight,
}

/// The idempotency table.
#[derive(Debug, Default)]
pub struct IdempotencyStore {
    entries: Arc<Mutex<HashMap<EntryKey, Entry>>>,
    replays: AtomicU64,
    inserts: AtomicU64,
}

/// Marks a key as in flight; dropping it without [`InFlightGuard::complete`] frees the key
/// (the request failed or its connection went away).
#[derive(Debug)]
pub struct InFlightGuard {
    entries: Arc<Mutex<HashMap<EntryKey, Entry>>>,
    key: Option<EntryKey>,
    fingerprint: [u8; 32],
}

impl InFlightGuard {
    /// Stores the answer (unless it is a 5xx) for `ttl`.
    pub fn complete(mut self, response: StoredResponse, ttl: Duration) {
        let Some(key) = self.key.take() else { return };
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if response.status.is_server_error() {
            entries.remove(&key);
        } else {
            entries.insert(
                key,
                Entry::Done {
                    fingerprint: self.fingerprint,
                    response,
                    expires_at: Instant::now() + ttl,
                },
            );
        }
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            entries.remove(&key);
        }
    }
}

/// A fingerprint of what a request asks for: method, path and exact body bytes.
pub fn fingerprint(method: &str, path: &str, body: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(method.as_bytes());
    hasher.update([0]);
    hasher.update(path.as_bytes());
    hasher.update([0]);
    hasher.update(body);
    hasher.finalize().into()
}

impl IdempotencyStore {
    /// Looks up `key` for `principal`.
    pub fn begin(&self, principal: &str, key: &str, fingerprint: [u8; 32]) -> Begin {
        let entry_key = (principal.to_owned(), key.to_owned());
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if self.inserts.fetch_add(1, Ordering::Relaxed) % 256 == 255 {
            entries
                .retain(|_, e| !matches!(e, Entry::Done { expires_at, .. } if *expires_at <= now));
        }
        match entries.get(&entry_key) {
            Some(Entry::Done {
                fingerprint: stored,
                response,
                expires_at,
            }) if *expires_at > now => {
                return if *stored == fingerprint {
                    self.replays.fetch_add(1, Ordering::Relaxed);
                    Begin::Replay(response.clone())
                } else {
                    Begin::Mismatch
                };
            }
            Some(Entry::InFlight {
                fingerprint: stored,
            }) => {
                return if *stored == fingerprint {
                    Begin::InFlight
                } else {
                    Begin::Mismatch
                };
            }
            _ => {}
        }
        entries.insert(entry_key.clone(), Entry::InFlight { fingerprint });
        Begin::Proceed(InFlightGuard {
            entries: Arc::clone(&self.entries),
            key: Some(entry_key),
            fingerprint,
        })
    }

    /// Forgets every stored answer whose body contains `needle` (an erased contact's id), so a
    /// replay cannot hand erased data back; returns how many. A later request with such a key
    /// runs afresh.
    pub fn forget_mentioning(&self, needle: &str) -> usize {
        let needle = needle.as_bytes();
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let before = entries.len();
        entries.retain(|_, e| match e {
            Entry::Done { response, .. } => !response
                .body
                .windows(needle.len().max(1))
                .any(|w| w == needle),
            Entry::InFlight { .. } => true,
        });
        before - entries.len()
    }

    /// How many stored answers were replayed.
    pub fn replays(&self) -> u64 {
        self.replays.load(Ordering::Relaxed)
    }
}
