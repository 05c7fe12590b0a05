//! The entities the sandbox stores, serialized exactly as the contract's schemas.
//!
//! Enumerations are plain strings here: the request validator has already checked them against
//! the spec's enums, so the sandbox does not keep a second copy of those lists.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A timestamp as the sandbox stores it (UTC, microsecond precision).
pub type Timestamp = DateTime<Utc>;

/// Delivery and engagement figures of a campaign.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct CampaignMetrics {
    /// Times an ad of the campaign was shown (`page_view` events).
    pub impressions: i64,
    /// Clicks on its ads (`ad_click` events).
    pub clicks: i64,
    /// Conversions (`form_submitted` and `purchase` events).
    pub conversions: i64,
    /// Money spent, in cents.
    pub spend_cents: i64,
    /// Share of impressions that were clicked, from 0 to 1: `min(clicks, impressions) /
    /// impressions`, 0 without impressions. Events arrive independently, so clicks whose
    /// impression was never recorded can outnumber impressions; they do not push the rate past
    /// 1, as no impression is clicked more than once.
    pub ctr: f64,
}

impl CampaignMetrics {
    /// Recomputes the click-through rate after a change of the counters.
    pub fn refresh_ctr(&mut self) {
        self.ctr = if self.impressions > 0 {
            self.clicks.clamp(0, self.impressions) as f64 / self.impressions as f64
        } else {
            0.0
        };
    }
}

/// A marketing campaign.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Campaign {
    /// `cmp_…`
    pub id: String,
    /// Display name.
    pub name: String,
    /// Lifecycle status.
    pub status: String,
    /// What the campaign optimises for.
    pub objective: String,
    /// Total budget in cents.
    pub budget_cents: i64,
    /// Daily budget in cents.
    pub daily_budget_cents: Option<i64>,
    /// ISO 4217 currency.
    pub currency: String,
    /// Start of the flight.
    pub start_at: Option<Timestamp>,
    /// End of the flight.
    pub end_at: Option<Timestamp>,
    /// Delivery figures.
    pub metrics: CampaignMetrics,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
}

/// An ad of a campaign.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Ad {
    /// `ad_…`
    pub id: String,
    /// The owning campaign.
    pub campaign_id: String,
    /// Display name.
    pub name: String,
    /// Lifecycle status.
    pub status: String,
    /// Headline text.
    pub headline: String,
    /// Where a click leads.
    pub destination_url: String,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
}

/// A creative of an ad: the fields every kind shares, and the ones of its kind as the request
/// carried them (already validated against the kind's schema).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Creative {
    /// `crv_…`
    pub id: String,
    /// The campaign of the ad.
    pub campaign_id: String,
    /// The owning ad.
    pub ad_id: String,
    /// image, video, html5 or carousel: the discriminator of the contract's `oneOf`.
    pub kind: String,
    /// The fields of this kind (`asset_url`, `cards`, ...), serialized next to the shared ones.
    #[serde(flatten)]
    pub details: Map<String, Value>,
    /// Creation time.
    pub created_at: Timestamp,
}

/// An uploaded creative asset. The sandbox keeps what the contract returns about the file, not
/// the file: uploads of tens of megabytes do not accumulate in memory.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CreativeAsset {
    /// `ast_…`
    pub id: String,
    /// The name given in the metadata part.
    pub name: String,
    /// The file name of the file part.
    pub filename: String,
    /// The media type of the file part.
    pub content_type: String,
    /// Size of the file.
    pub size_bytes: u64,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: String,
    /// Where the file is served from.
    pub url: String,
    /// Upload time.
    pub created_at: Timestamp,
}

/// A contact (personal data).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Contact {
    /// `ctc_…`
    pub id: String,
    /// E-mail address, unique case-insensitively.
    pub email: String,
    /// Phone number.
    pub phone: Option<String>,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// Subscription status.
    pub status: String,
    /// Free-form attributes.
    pub attributes: Map<String, Value>,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
}

/// A bulk import of contacts from CSV (`ContactImport`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ContactImport {
    /// `imp_…`
    pub id: String,
    /// `processing` or `completed`.
    pub status: String,
    /// Data rows processed so far.
    pub rows: u64,
    /// Rows that created a contact.
    pub created: u64,
    /// Rows that updated a contact.
    pub updated: u64,
    /// Rows that changed nothing.
    pub rejected: u64,
    /// The first rejected rows, in line order (bounded).
    pub rejected_rows: Vec<RejectedRow>,
    /// Submission time.
    pub created_at: Timestamp,
    /// When the last row was processed.
    pub completed_at: Option<Timestamp>,
}

/// A rejected import row.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RejectedRow {
    /// The physical line the row starts on (the header is line 1).
    pub line: u64,
    /// The column at fault, if one is.
    pub column: Option<String>,
    /// Why.
    pub reason: String,
}

/// A named set of contacts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Audience {
    /// `aud_…`
    pub id: String,
    /// Display name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// `static` (curated membership) or `dynamic` (membership computed from `rule`).
    pub kind: String,
    /// The rule of a dynamic audience, as the request gave it (already checked); `None` for a
    /// static one.
    pub rule: Option<Value>,
    /// Number of members (of a dynamic audience: computed when the audience is served).
    pub contact_count: i64,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
}

/// An ingested interaction event.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct InteractionEvent {
    /// `evt_…`
    pub id: String,
    /// Event type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The contact it concerns.
    pub contact_id: Option<String>,
    /// The campaign it is attributed to.
    pub campaign_id: Option<String>,
    /// When it happened.
    pub occurred_at: Timestamp,
    /// When the sandbox received it.
    pub received_at: Timestamp,
    /// Monetary value in cents.
    pub value_cents: Option<i64>,
    /// Free-form properties.
    pub properties: Map<String, Value>,
}

/// A registered webhook endpoint (the secret is only shown on creation).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WebhookEndpoint {
    /// `whe_…`
    pub id: String,
    /// Where events are POSTed.
    pub url: String,
    /// Description.
    pub description: Option<String>,
    /// Subscribed event types.
    pub event_types: Vec<String>,
    /// Whether events are sent.
    pub enabled: bool,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
}

/// A public key the account registered for field-level encryption.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EncryptionKey {
    /// `enk_…`
    pub id: String,
    /// The JWK's key id.
    pub kid: String,
    /// The public JWK as registered (with `use` and `alg` filled in).
    pub jwk: Value,
    /// `active` or `revoked`.
    pub status: String,
    /// Registration time.
    pub created_at: Timestamp,
    /// Revocation time.
    pub revoked_at: Option<Timestamp>,
}

/// One webhook message to one endpoint, with its delivery attempts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WebhookDelivery {
    /// `whd_…`
    pub id: String,
    /// The endpoint it goes to.
    pub endpoint_id: String,
    /// The `webhook-id` header sent (`msg_…`).
    pub event_id: String,
    /// The event type.
    pub event_type: String,
    /// pending, succeeded, retrying or dead_lettered.
    pub status: String,
    /// Attempts made so far.
    pub attempts: i32,
    /// Time of the last attempt.
    pub last_attempt_at: Option<Timestamp>,
    /// Time of the next attempt, while retrying.
    pub next_attempt_at: Option<Timestamp>,
    /// HTTP status of the last attempt's answer.
    pub response_status: Option<i32>,
    /// Why the last attempt failed (`null` after a success or before the first attempt).
    pub last_failure: Option<DeliveryFailure>,
    /// Creation time.
    pub created_at: Timestamp,
}

/// Why a delivery attempt failed: the spec's `WebhookDeliveryFailure`, tagged by `reason`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum DeliveryFailure {
    /// The endpoint answered outside 2xx.
    HttpStatus {
        /// The status it answered with.
        status: i32,
    },
    /// No answer within the delivery timeout.
    Timeout {
        /// How long the attempt waited.
        after_ms: i64,
    },
    /// The endpoint could not be reached.
    Connection {
        /// `connect`, `tls`, `reset` or `other`.
        stage: String,
    },
}
