//! The sandbox's storage: in-memory tables ordered for keyset pagination.
//!
//! Every table is a `BTreeMap` keyed by `(created_at in µs, id)`, the order lists are served in,
//! plus an index from id to key. The whole [`Store`] sits behind one `std::sync::Mutex` that
//! handlers hold only for the few microseconds a lookup or mutation takes (never across an
//! `.await`), which keeps multi-table changes (deleting a campaign and its ads) atomic without a
//! lock order to get wrong.

use crate::model::{
    Ad, Audience, Campaign, Contact, ContactImport, Creative, CreativeAsset, EncryptionKey,
    InteractionEvent, Timestamp, WebhookDelivery, WebhookEndpoint,
};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;

/// The position of a row: creation time in microseconds, then id.
pub type RowKey = (i64, String);

/// One page of rows.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The rows of the page.
    pub items: Vec<T>,
    /// Key of the last row, when more rows follow.
    pub next: Option<RowKey>,
}

/// Rows of one kind, in `(created_at, id)` order.
#[derive(Debug)]
pub struct Table<T> {
    rows: BTreeMap<RowKey, T>,
    keys: HashMap<String, RowKey>,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Table {
            rows: BTreeMap::new(),
            keys: HashMap::new(),
        }
    }
}

impl<T: Clone> Table<T> {
    /// Inserts a row at `key`.
    pub fn insert(&mut self, key: RowKey, row: T) {
        self.keys.insert(key.1.clone(), key.clone());
        self.rows.insert(key, row);
    }

    /// The row with `id`.
    pub fn get(&self, id: &str) -> Option<&T> {
        self.keys.get(id).and_then(|key| self.rows.get(key))
    }

    /// The row with `id`, for changing it in place.
    pub fn get_mut(&mut self, id: &str) -> Option<&mut T> {
        let key = self.keys.get(id)?;
        self.rows.get_mut(key)
    }

    /// Removes and returns the row with `id`.
    pub fn remove(&mut self, id: &str) -> Option<T> {
        let key = self.keys.remove(id)?;
        self.rows.remove(&key)
    }

    /// Removes and returns the oldest row.
    pub fn pop_first(&mut self) -> Option<T> {
        let (key, row) = self.rows.pop_first()?;
        self.keys.remove(&key.1);
        Some(row)
    }

    /// Removes every row `remove` accepts; returns how many.
    pub fn remove_where(&mut self, remove: impl Fn(&T) -> bool) -> usize {
        let doomed: Vec<RowKey> = self
            .rows
            .iter()
            .filter(|(_, row)| remove(row))
            .map(|(key, _)| key.clone())
            .collect();
        for key in &doomed {
            self.keys.remove(&key.1);
            self.rows.remove(key);
        }
        doomed.len()
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// All rows in order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.rows.values()
    }

    /// Up to `limit` rows strictly after `after` that `keep` accepts.
    ///
    /// Because the position is a key, not an offset, rows inserted while a client pages either
    /// sort after the cursor (and are seen later) or before it (and are never repeated).
    pub fn page(&self, after: Option<&RowKey>, limit: usize, keep: impl Fn(&T) -> bool) -> Page<T> {
        let lower = match after {
            Some(key) => Bound::Excluded(key.clone()),
            None => Bound::Unbounded,
        };
        let mut matching = self
            .rows
            .range((lower, Bound::Unbounded))
            .filter(|(_, row)| keep(row));
        let mut items = Vec::with_capacity(limit.min(100));
        let mut last = None;
        for (key, row) in matching.by_ref().take(limit) {
            items.push(row.clone());
            last = Some(key.clone());
        }
        let has_more = matching.next().is_some();
        Page {
            items,
            next: if has_more { last } else { None },
        }
    }

    /// Number of rows `keep` accepts.
    pub fn count(&self, keep: impl Fn(&T) -> bool) -> usize {
        self.rows.values().filter(|row| keep(row)).count()
    }
}

/// A webhook endpoint with its signing secrets.
#[derive(Debug, Clone)]
pub struct EndpointRow {
    /// The public part.
    pub endpoint: WebhookEndpoint,
    /// The current secret (`whsec_…`).
    pub secret: String,
    /// The secret before the last rotation, still signing until it expires.
    pub previous_secret: Option<(String, Timestamp)>,
}

impl EndpointRow {
    /// The secrets that sign a message sent at `now`.
    pub fn signing_secrets(&self, now: Timestamp) -> Vec<String> {
        let mut secrets = vec![self.secret.clone()];
        if let Some((previous, expires)) = &self.previous_secret
            && *expires > now
        {
            secrets.push(previous.clone());
        }
        secrets
    }
}

/// A delivery with the exact payload it sends on every attempt.
#[derive(Debug, Clone)]
pub struct DeliveryRow {
    /// The public part.
    pub delivery: WebhookDelivery,
    /// The JSON body sent.
    pub payload: String,
}

/// All sandbox data.
#[derive(Debug, Default)]
pub struct Store {
    last_micros: i64,
    /// Campaigns.
    pub campaigns: Table<Campaign>,
    /// Ads of all campaigns.
    pub ads: Table<Ad>,
    /// Creatives of all ads.
    pub creatives: Table<Creative>,
    /// Uploaded creative assets (their metadata: the bytes are hashed, not kept).
    pub creative_assets: Table<CreativeAsset>,
    /// Contacts.
    pub contacts: Table<Contact>,
    /// Lower-cased e-mail → contact id.
    pub contact_emails: HashMap<String, String>,
    /// Audiences.
    pub audiences: Table<Audience>,
    /// Audience id → keys of its member contacts.
    pub memberships: HashMap<String, BTreeSet<RowKey>>,
    /// Interaction events.
    pub events: Table<InteractionEvent>,
    /// Contact id → ids of its events, oldest first: what rules on event history read, so a
    /// segment is evaluated without scanning every event for every contact.
    pub events_by_contact: HashMap<String, Vec<String>>,
    /// Webhook endpoints.
    pub endpoints: Table<EndpointRow>,
    /// Webhook deliveries.
    pub deliveries: Table<DeliveryRow>,
    /// Registered encryption keys, active and revoked.
    pub encryption_keys: Table<EncryptionKey>,
    /// Bulk contact imports, by id.
    pub contact_imports: HashMap<String, ContactImport>,
}

impl Store {
    /// The key sensitive properties are encrypted to: the newest active one, if any.
    pub fn encryption_recipient(&self) -> Option<crate::encryption::Recipient> {
        let key = self
            .encryption_keys
            .iter()
            .filter(|k| k.status == "active")
            .last()?;
        let text = |name: &str| key.jwk.get(name).and_then(serde_json::Value::as_str);
        Some(crate::encryption::Recipient {
            kid: key.kid.clone(),
            key: crate::encryption::public_key(text("x")?, text("y")?)?,
        })
    }

    /// A creation time strictly after every earlier one, so `(created_at, id)` order is the order
    /// of creation and a cursor taken at a row never sorts after a newer row.
    pub fn next_timestamp(&mut self) -> Timestamp {
        let now = Utc::now().timestamp_micros();
        let micros = now.max(self.last_micros + 1);
        self.last_micros = micros;
        DateTime::from_timestamp_micros(micros).unwrap_or_else(Utc::now)
    }

    /// Stores an ingested event and indexes it under its contact.
    pub fn insert_event(&mut self, event: InteractionEvent) {
        if let Some(contact_id) = &event.contact_id {
            self.events_by_contact
                .entry(contact_id.clone())
                .or_default()
                .push(event.id.clone());
        }
        self.events
            .insert(row_key(event.received_at, &event.id), event);
    }

    /// Removes every event of a contact; returns how many.
    pub fn remove_events_of(&mut self, contact_id: &str) -> usize {
        let Some(ids) = self.events_by_contact.remove(contact_id) else {
            return 0;
        };
        ids.iter()
            .filter(|id| self.events.remove(id).is_some())
            .count()
    }

    /// Stores a contact as given (seeding without HTTP): `false`, and nothing stored, when its
    /// id or e-mail (case-insensitively) is taken. Later creations still sort after it.
    pub fn insert_contact(&mut self, contact: Contact) -> bool {
        let email = contact.email.to_lowercase();
        if self.contact_emails.contains_key(&email) || self.contacts.get(&contact.id).is_some() {
            return false;
        }
        let micros = contact.created_at.timestamp_micros();
        self.last_micros = self.last_micros.max(micros);
        self.contact_emails.insert(email, contact.id.clone());
        self.contacts
            .insert(row_key(contact.created_at, &contact.id), contact);
        true
    }

    /// The current time at microsecond precision, for `updated_at` and the like.
    pub fn now(&self) -> Timestamp {
        let micros = Utc::now().timestamp_micros();
        DateTime::from_timestamp_micros(micros).unwrap_or_else(Utc::now)
    }
}

/// The key of a row created at `created_at` with `id`.
pub fn row_key(created_at: Timestamp, id: &str) -> RowKey {
    (created_at.timestamp_micros(), id.to_owned())
}
