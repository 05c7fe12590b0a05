//! Opaque cursors and the `limit` parameter of list operations.
//!
//! A cursor is the base64url text of the keyset position `(created_at µs, id)` of the last row a
//! page returned. Clients must treat it as opaque; the sandbox only promises that it stays valid
//! while the row it names exists or not.

use crate::errors::ApiError;
use crate::store::{Page, RowKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::{Value, json};

/// Default page size.
pub const DEFAULT_LIMIT: usize = 20;
/// Largest page size.
pub const MAX_LIMIT: usize = 100;

/// Encodes a keyset position as an opaque cursor.
pub fn encode_cursor(key: &RowKey) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1:{}:{}", key.0, key.1))
}

/// Decodes a cursor; anything that is not one of ours is a 400 naming `cursor`.
pub fn decode_cursor(cursor: &str) -> Result<RowKey, ApiError> {
    let invalid = || {
        ApiError::bad_request(
            "invalid_cursor",
            "cursor",
            "The cursor is not one this API issued; pass meta.next_cursor from a previous page unchanged.",
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let rest = text.strip_prefix("v1:").ok_or_else(invalid)?;
    let (micros, id) = rest.split_once(':').ok_or_else(invalid)?;
    let micros = micros.parse::<i64>().map_err(|_| invalid())?;
    if id.is_empty() {
        return Err(invalid());
    }
    Ok((micros, id.to_owned()))
}

/// The list envelope's `data` and `meta` (without the request id, added when rendered).
#[derive(Debug, Clone)]
pub struct ListBody {
    /// The items.
    pub data: Vec<Value>,
    /// Cursor of the next page.
    pub next_cursor: Option<String>,
    /// Whether another page follows.
    pub has_more: bool,
    /// Total number of matching items, where the operation reports it.
    pub total_count: Option<usize>,
}

impl ListBody {
    /// A list body from a page of serializable rows.
    pub fn from_page<T, U: Serialize>(
        page: Page<T>,
        view: impl Fn(&T) -> U,
        total: Option<usize>,
    ) -> Self {
        ListBody {
            data: page
                .items
                .iter()
                .map(|row| serde_json::to_value(view(row)).unwrap_or(Value::Null))
                .collect(),
            has_more: page.next.is_some(),
            next_cursor: page.next.as_ref().map(encode_cursor),
            total_count: total,
        }
    }

    /// The JSON envelope.
    pub fn render(self, request_id: &str) -> Value {
        let mut meta = json!({
            "request_id": request_id,
            "next_cursor": self.next_cursor,
            "has_more": self.has_more,
        });
        if let (Some(total), Some(meta)) = (self.total_count, meta.as_object_mut()) {
            meta.insert("total_count".into(), json!(total));
        }
        json!({ "data": self.data, "meta": meta })
    }
}
