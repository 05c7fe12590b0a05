//! Encryption keys the account registers (create, list, revoke) and the platform's JWKS.

use super::Path;
use super::{ApiResult, QueryArgs, created, list, ok, parse};
use crate::app::App;
use crate::encryption::public_key;
use crate::errors::ApiError;
use crate::ids::new_id;
use crate::model::EncryptionKey;
use crate::pagination::ListBody;
use crate::store::row_key;
use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Map, Value};

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/v1/encryption_keys", get(list_keys).post(create_key))
        .route("/v1/encryption_keys/{key_id}/revoke", post(revoke_key))
        .route("/v1/platform_keys", get(platform_keys))
}

#[derive(Deserialize)]
struct NewKey {
    jwk: Map<String, Value>,
}

async fn create_key(State(app): State<App>, body: Bytes) -> ApiResult {
    let new: NewKey = parse(&body)?;
    let mut jwk = new.jwk;
    if jwk.contains_key("d") {
        return Err(ApiError::bad_request(
            "invalid_key",
            "jwk.d",
            "Register the public key only: a JWK with a private part `d` is refused.",
        ));
    }
    let text = |name: &str| jwk.get(name).and_then(Value::as_str).unwrap_or_default();
    if public_key(text("x"), text("y")).is_none() {
        return Err(ApiError::bad_request(
            "invalid_key",
            "jwk",
            "`x` and `y` are not a point on P-256.",
        ));
    }
    let kid = text("kid").to_owned();
    jwk.entry("use").or_insert_with(|| "enc".into());
    jwk.entry("alg").or_insert_with(|| "ECDH-ES+A256KW".into());
    let mut store = app.store();
    if store.encryption_keys.iter().any(|k| k.kid == kid) {
        return Err(ApiError::conflict(
            "kid_taken",
            "A key with this kid is already registered; choose a new kid for a new key.",
        )
        .with_param("jwk.kid"));
    }
    let now = store.next_timestamp();
    let key = EncryptionKey {
        id: new_id("enk_"),
        kid,
        jwk: Value::Object(jwk),
        status: "active".into(),
        created_at: now,
        revoked_at: None,
    };
    store
        .encryption_keys
        .insert(row_key(now, &key.id), key.clone());
    drop(store);
    created(key)
}

async fn list_keys(State(app): State<App>, q: QueryArgs) -> ApiResult {
    let (after, limit) = q.page()?;
    let store = app.store();
    let page = store.encryption_keys.page(after.as_ref(), limit, |_| true);
    drop(store);
    list(ListBody::from_page(page, Clone::clone, None))
}

async fn revoke_key(State(app): State<App>, Path(id): Path<String>) -> ApiResult {
    let mut store = app.store();
    let now = store.next_timestamp();
    let key = store
        .encryption_keys
        .get_mut(&id)
        .ok_or_else(|| ApiError::not_found("encryption key", "key_id", &id))?;
    if key.status == "active" {
        key.status = "revoked".into();
        key.revoked_at = Some(now);
    }
    let key = key.clone();
    drop(store);
    ok(key)
}

async fn platform_keys(State(app): State<App>) -> ApiResult {
    ok(app.encryption.platform_jwks())
}
