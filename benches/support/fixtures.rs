//! Response bodies and the hand-written types shared by the `overhead` and `decode` benchmarks.

use chrono::{DateTime, Utc};
use serde::Deserialize;

pub const CAMPAIGN_ID: &str = "cmp_01JD6Z8Q3W2T9B5N7M4K1H0F8E";

/// `{"data": <campaign>, "meta": {...}}` as the API answers `GET /campaigns/{id}`.
pub fn campaign_envelope() -> Vec<u8> {
    let body = serde_json::json!({
        "data": campaign_json(CAMPAIGN_ID),
        "meta": { "request_id": "req_01JD6Z8Q3W2T9B5N7M4K1H0F8E" }
    });
    serde_json::to_vec(&body).expect("JSON")
}

/// A page of 100 contacts as the API answers `GET /contacts?limit=100`.
pub fn contacts_page() -> Vec<u8> {
    let contacts: Vec<_> = (0..100).map(contact_json).collect();
    let body = serde_json::json!({
        "data": contacts,
        "meta": {
            "request_id": "req_01JD6Z8Q3W2T9B5N7M4K1H0F8F",
            "next_cursor": "Y29udGFjdHM6Y3RjXzAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMTAw",
            "has_more": true
        }
    });
    serde_json::to_vec(&body).expect("JSON")
}

pub fn campaign_json(id: &str) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "name": "Black Friday 2026 — retargeting",
        "status": "active",
        "objective": "conversions",
        "budget_cents": 2_500_000,
        "daily_budget_cents": 150_000,
        "currency": "EUR",
        "start_at": "2026-11-20T08:00:00Z",
        "end_at": null,
        "metrics": {
            "impressions": 184_220,
            "clicks": 4_310,
            "conversions": 212,
            "spend_cents": 904_455,
            "ctr": 0.0234
        },
        "created_at": "2026-11-01T09:30:00Z",
        "updated_at": "2026-11-25T17:45:12Z"
    })
}

pub fn contact_json(n: usize) -> serde_json::Value {
    serde_json::json!({
        "id": format!("ctc_{n:026}"),
        "email": format!("customer.{n}@example.com"),
        "phone": if n.is_multiple_of(3) { serde_json::Value::Null } else { format!("+4420718387{n:02}").into() },
        "first_name": "Ada",
        "last_name": if n.is_multiple_of(5) { serde_json::Value::Null } else { "Lovelace".into() },
        "status": if n.is_multiple_of(7) { "unsubscribed" } else { "subscribed" },
        "attributes": { "plan": "pro", "seats": n % 40, "beta": n.is_multiple_of(2) },
        "created_at": "2026-10-02T11:04:09Z",
        "updated_at": "2026-11-03T14:05:12Z"
    })
}

// What an integration without the SDK would write: its own structs, timestamps as
// `chrono::DateTime`, enums as plain strings.

#[derive(Deserialize)]
pub struct HandEnvelope<T> {
    pub data: T,
    pub meta: HandMeta,
}

#[derive(Deserialize)]
pub struct HandMeta {
    pub request_id: Option<String>,
    pub next_cursor: Option<String>,
    pub has_more: Option<bool>,
}

#[derive(Deserialize)]
pub struct HandCampaign {
    pub id: String,
    pub name: String,
    pub status: String,
    pub objective: String,
    pub budget_cents: i64,
    pub daily_budget_cents: Option<i64>,
    pub currency: String,
    pub start_at: Option<DateTime<Utc>>,
    pub end_at: Option<DateTime<Utc>>,
    pub metrics: HandMetrics,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Deserialize)]
pub struct HandMetrics {
    pub impressions: i64,
    pub clicks: i64,
    pub conversions: i64,
    pub spend_cents: i64,
    pub ctr: f64,
}

#[derive(Deserialize)]
pub struct HandContact {
    pub id: String,
    pub email: String,
    pub phone: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub status: String,
    pub attributes: serde_json::Map<String, serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
