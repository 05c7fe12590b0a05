//! Creatives, nested under their ad.

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
use serde::Deserialize;

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

#[derive(Deserialize)]
struct NewCreative {
    kind: String,
    asset_url: Option<String>,
    body: Option<String>,
    width: Option<i32>,
    height: Option<i32>,
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
    let new: NewCreative = parse(&body)?;
    let mut store = app.store();
    super::ads::find(&store, &campaign_id, &ad_id)?;
    let now = store.next_timestamp();
    let creative = Creative {
        id: new_id("crv_"),
        campaign_id,
        ad_id,
        kind: new.kind,
        asset_url: new.asset_url,
        body: new.body,
        width: new.width,
        height: new.height,
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
