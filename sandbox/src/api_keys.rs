//! Integration API keys: one per integration, each with its own scopes and rate tier, so one
//! integration can be audited and revoked without touching the others.
//!
//! Only a SHA-256 digest of each secret is kept (the secret is shown once, when the key is
//! created), so the registry can say whether a presented key is valid without being able to
//! reveal one. Revocation flips the key's status under the registry's lock; every request
//! authenticates afresh, so the next request with the key — a retry of a request already in
//! flight included — is refused.

use crate::ids::{new_id, random_token};
use crate::model::Timestamp;
use crate::store::{Page, Table, row_key};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

/// Characters of the secret shown as `prefix` (`sk_int_` and four random ones).
const PREFIX_LEN: usize = 11;

/// An integration key as the contract's `ApiKey` schema shows it (never the secret).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ApiKey {
    /// `apk_…`
    pub id: String,
    /// What the key is for.
    pub name: String,
    /// The first characters of the secret.
    pub prefix: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// `standard` or `premium`.
    pub rate_tier: String,
    /// `active` or `revoked`.
    pub status: String,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last request made with the key.
    pub last_used_at: Option<Timestamp>,
    /// Revocation time.
    pub revoked_at: Option<Timestamp>,
}

/// What authenticating with an integration key found.
#[derive(Debug, Clone)]
pub enum KeyLookup {
    /// An active key: its id, scopes and tier name.
    Active {
        /// The key's id.
        id: String,
        /// Its scopes.
        scopes: BTreeSet<String>,
        /// Its tier (`standard` or `premium`).
        tier: String,
    },
    /// A key that was revoked.
    Revoked,
    /// No integration key has this secret.
    Unknown,
}

#[derive(Debug, Default)]
struct Tables {
    keys: Table<ApiKey>,
    by_digest: HashMap<[u8; 32], String>,
}

/// The registry of integration keys.
#[derive(Debug, Default)]
pub struct ApiKeys {
    tables: Mutex<Tables>,
}

fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

impl ApiKeys {
    fn tables(&self) -> MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Creates a key; returns it with its secret (the only time the secret leaves the registry).
    pub fn create(
        &self,
        name: String,
        scopes: Vec<String>,
        tier: String,
        now: Timestamp,
    ) -> (ApiKey, String) {
        let secret = random_token("sk_int_", 32);
        let key = ApiKey {
            id: new_id("apk_"),
            name,
            prefix: secret[..PREFIX_LEN].to_owned(),
            scopes,
            rate_tier: tier,
            status: "active".into(),
            created_at: now,
            last_used_at: None,
            revoked_at: None,
        };
        let mut tables = self.tables();
        tables.by_digest.insert(digest(&secret), key.id.clone());
        tables.keys.insert(row_key(now, &key.id), key.clone());
        (key, secret)
    }

    /// Looks a presented secret up and, for an active key, notes the use.
    pub fn authenticate(&self, secret: &str, now: Timestamp) -> KeyLookup {
        let mut tables = self.tables();
        // A digest lookup: equal digests are the only way to match, and comparing digests leaks
        // nothing useful about the secret through timing.
        let Some(id) = tables.by_digest.get(&digest(secret)).cloned() else {
            return KeyLookup::Unknown;
        };
        let Some(key) = tables.keys.get_mut(&id) else {
            return KeyLookup::Unknown;
        };
        if key.status != "active" {
            return KeyLookup::Revoked;
        }
        key.last_used_at = Some(now);
        KeyLookup::Active {
            id,
            scopes: key.scopes.iter().cloned().collect(),
            tier: key.rate_tier.clone(),
        }
    }

    /// The id of the key with this secret, active or revoked.
    pub fn id_of(&self, secret: &str) -> Option<String> {
        self.tables().by_digest.get(&digest(secret)).cloned()
    }

    /// Revokes a key (a revoked key stays revoked, unchanged); `None` when there is no such key.
    pub fn revoke(&self, id: &str, now: Timestamp) -> Option<ApiKey> {
        let mut tables = self.tables();
        let key = tables.keys.get_mut(id)?;
        if key.status == "active" {
            key.status = "revoked".into();
            key.revoked_at = Some(now);
        }
        Some(key.clone())
    }

    /// One page of keys, optionally only those in `status`.
    pub fn page(
        &self,
        after: Option<&crate::store::RowKey>,
        limit: usize,
        status: Option<&str>,
    ) -> (Page<ApiKey>, usize) {
        let tables = self.tables();
        let keep = |k: &ApiKey| status.is_none_or(|s| k.status == s);
        (
            tables.keys.page(after, limit, keep),
            tables.keys.count(keep),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    #[test]
    fn a_revoked_key_is_refused_and_the_others_keep_working() {
        let keys = ApiKeys::default();
        let (a, secret_a) = keys.create(
            "a".into(),
            vec!["contacts:read".into()],
            "standard".into(),
            Utc::now(),
        );
        let (_, secret_b) = keys.create(
            "b".into(),
            vec!["contacts:read".into()],
            "premium".into(),
            Utc::now(),
        );
        assert_eq!(a.prefix, secret_a[..PREFIX_LEN]);
        assert!(matches!(
            keys.authenticate(&secret_a, Utc::now()),
            KeyLookup::Active { .. }
        ));
        let revoked = keys.revoke(&a.id, Utc::now()).expect("exists");
        assert_eq!(revoked.status, "revoked");
        assert!(matches!(
            keys.authenticate(&secret_a, Utc::now()),
            KeyLookup::Revoked
        ));
        assert!(
            matches!(keys.authenticate(&secret_b, Utc::now()), KeyLookup::Active { tier, .. } if tier == "premium")
        );
        assert!(matches!(
            keys.authenticate("sk_int_nope", Utc::now()),
            KeyLookup::Unknown
        ));
        assert!(keys.revoke("apk_missing", Utc::now()).is_none());
    }
}
