//! Creatives, nested under their ad.
//!
//! A creative is one of the kinds of the contract's `NewCreative` `oneOf` (image, video, html5,
//! carousel). The request validator has already matched the body to exactly one kind's schema,
//! so this module keeps the kind's fields as they came and checks only what a schema cannot say.

use super::Path;
use super::{ApiResult, QueryArgs, created, emit_all, list, no_content, ok, parse, to_json};
use crate::app::App;
use crate::errors::ApiError;
use crate::ids::new_id;
use crate::model::Creative;
use crate::pagination::ListBody;
use crate::store::{Store, row_key};
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use bytes::Bytes;
use serde_json::{Map, Value};

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route(
            "/v1/campaigns/{campaign_id}/ads/{ad_id}/creatives",
            get(list_creatives).post(create_creative),
        )
        .route(
            "/v1/campaigns/{campaign_id}/ads/{ad_id}/creatives/{creative_id}",
            get(get_creative).delete(delete_creative),
        )
}

fn find<'a>(
    store: &'a Store,
    campaign_id: &str,
    ad_id: &str,
    creative_id: &str,
) -> Result<&'a Creative, ApiError> {
    super::ads::find(store, campaign_id, ad_id)?;
    store
        .creatives
        .get(creative_id)
        .filter(|c| c.ad_id == ad_id)
        .ok_or_else(|| ApiError::not_found("creative", "creative_id", creative_id))
}

/// The stored fields of a creative of `kind` made from its (schema-valid) request fields:
/// optional fields the response always carries are filled with `null`, an uploaded asset is
/// resolved to its URL, and the rules that span several fields are checked.
fn kind_details(
    store: &Store,
    kind: &str,
    mut fields: Map<String, Value>,
) -> Result<Map<String, Value>, ApiError> {
    match kind {
        "image" | "video" => {
            let asset_id = fields
                .get("asset_id")
                .and_then(Value::as_str)
                .map(str::to_owned);
            match (asset_id, fields.contains_key("asset_url")) {
                (Some(asset_id), false) => {
                    let asset = store.creative_assets.get(&asset_id).ok_or_else(|| {
                        ApiError::not_found("creative asset", "asset_id", &asset_id)
                    })?;
                    // An image creative of a video file cannot be rendered, nor the reverse.
                    if !asset.content_type.starts_with(&format!("{kind}/")) {
                        return Err(ApiError::bad_request(
                            "invalid_value",
                            "asset_id",
                            format!(
                                "Asset '{asset_id}' is {}; a {kind} creative needs a {kind} file.",
                                asset.content_type
                            ),
                        ));
                    }
                    fields.insert("asset_url".into(), Value::String(asset.url.clone()));
                }
                (None, true) => {
                    fields.insert("asset_id".into(), Value::Null);
                }
                _ => {
                    return Err(ApiError::bad_request(
                        "invalid_value",
                        "asset_id",
                        format!(
                            "A {kind} creative needs exactly one of `asset_id` and `asset_url`."
                        ),
                    ));
                }
            }
            if kind == "video" {
                fields.entry("poster_url").or_insert(Value::Null);
            }
        }
        "html5" => {
            // "markup or bundle": JSON Schema could say it with a nested oneOf, but then a
            // violation would be reported as "matches none", not as the field to fix.
            let markup = fields.contains_key("markup");
            let bundle = fields.contains_key("bundle_url");
            if markup == bundle {
                return Err(ApiError::bad_request(
                    "invalid_value",
                    "markup",
                    "An html5 creative needs exactly one of `markup` and `bundle_url`.",
                ));
            }
            fields.entry("markup").or_insert(Value::Null);
            fields.entry("bundle_url").or_insert(Value::Null);
        }
        _ => {}
    }
    Ok(fields)
}

async fn list_creatives(
    State(app): State<App>,
    Path((campaign_id, ad_id)): Path<(String, String)>,
    q: QueryArgs,
) -> ApiResult {
    let (after, limit) = q.page()?;
    let kind = q.str("kind");
    let store = app.store();
    super::ads::find(&store, &campaign_id, &ad_id)?;
    let page = store.creatives.page(after.as_ref(), limit, |c| {
        c.ad_id == ad_id && kind.is_none_or(|k| c.kind == k)
    });
    drop(store);
    list(ListBody::from_page(page, Clone::clone, None))
}

async fn create_creative(
    State(app): State<App>,
    Path((campaign_id, ad_id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let mut fields: Map<String, Value> = parse(&body)?;
    let kind = match fields.remove("kind") {
        Some(Value::String(kind)) => kind,
        _ => {
            return Err(ApiError::bad_request(
                "missing_field",
                "kind",
                "`kind` is required.",
            ));
        }
    };
    let mut store = app.store();
    super::ads::find(&store, &campaign_id, &ad_id)?;
    let details = kind_details(&store, &kind, fields)?;
    let now = store.next_timestamp();
    let creative = Creative {
        id: new_id("crv_"),
        campaign_id,
        ad_id,
        kind,
        details,
        created_at: now,
    };
    store
        .creatives
        .insert(row_key(now, &creative.id), creative.clone());
    drop(store);
    emit_all(&app, vec![("creative.created", to_json(&creative))]);
    created(creative)
}

async fn get_creative(
    State(app): State<App>,
    Path((campaign_id, ad_id, creative_id)): Path<(String, String, String)>,
) -> ApiResult {
    let creative = find(&app.store(), &campaign_id, &ad_id, &creative_id)?.clone();
    ok(creative)
}

async fn delete_creative(
    State(app): State<App>,
    Path((campaign_id, ad_id, creative_id)): Path<(String, String, String)>,
) -> ApiResult {
    let mut store = app.store();
    find(&store, &campaign_id, &ad_id, &creative_id)?;
    let creative = store
        .creatives
        .remove(&creative_id)
        .ok_or_else(|| ApiError::not_found("creative", "creative_id", &creative_id))?;
    drop(store);
    emit_all(&app, vec![("creative.deleted", to_json(&creative))]);
    no_content()
}
