//! Ads, nested under their campaign.

use super::Path;
use super::{
    ApiResult, QueryArgs, created, emit_all, list, no_content, ok, parse, parse_object,
    patch_value, to_json,
};
use crate::app::App;
use crate::errors::ApiError;
use crate::ids::new_id;
use crate::model::Ad;
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
            "/v1/campaigns/{campaign_id}/ads",
            get(list_ads).post(create_ad),
        )
        .route(
            "/v1/campaigns/{campaign_id}/ads/{ad_id}",
            get(get_ad).patch(update_ad).delete(delete_ad),
        )
}

#[derive(Deserialize)]
struct NewAd {
    name: String,
    headline: String,
    destination_url: String,
    status: Option<String>,
}

/// The ad `ad_id` of campaign `campaign_id` (404 naming whichever is missing).
pub(crate) fn find<'a>(
    store: &'a Store,
    campaign_id: &str,
    ad_id: &str,
) -> Result<&'a Ad, ApiError> {
    super::campaigns::find(store, campaign_id)?;
    store
        .ads
        .get(ad_id)
        .filter(|ad| ad.campaign_id == campaign_id)
        .ok_or_else(|| ApiError::not_found("ad", "ad_id", ad_id))
}

async fn list_ads(
    State(app): State<App>,
    Path(campaign_id): Path<String>,
    q: QueryArgs,
) -> ApiResult {
    let (after, limit) = q.page()?;
    let status = q.str("status");
    let store = app.store();
    super::campaigns::find(&store, &campaign_id)?;
    let page = store.ads.page(after.as_ref(), limit, |ad| {
        ad.campaign_id == campaign_id && status.is_none_or(|s| ad.status == s)
    });
    drop(store);
    list(ListBody::from_page(page, Clone::clone, None))
}

async fn create_ad(
    State(app): State<App>,
    Path(campaign_id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let new: NewAd = parse(&body)?;
    let mut store = app.store();
    super::campaigns::find(&store, &campaign_id)?;
    let now = store.next_timestamp();
    let ad = Ad {
        id: new_id("ad_"),
        campaign_id,
        name: new.name,
        status: new.status.unwrap_or_else(|| "draft".into()),
        headline: new.headline,
        destination_url: new.destination_url,
        created_at: now,
        updated_at: now,
    };
    store.ads.insert(row_key(now, &ad.id), ad.clone());
    drop(store);
    emit_all(&app, vec![("ad.created", to_json(&ad))]);
    created(ad)
}

async fn get_ad(
    State(app): State<App>,
    Path((campaign_id, ad_id)): Path<(String, String)>,
) -> ApiResult {
    let ad = find(&app.store(), &campaign_id, &ad_id)?.clone();
    ok(ad)
}

async fn update_ad(
    State(app): State<App>,
    Path((campaign_id, ad_id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let patch = parse_object(&body)?;
    let name: Option<String> = patch_value(&patch, "name")?;
    let status: Option<String> = patch_value(&patch, "status")?;
    let headline: Option<String> = patch_value(&patch, "headline")?;
    let destination_url: Option<String> = patch_value(&patch, "destination_url")?;
    let mut store = app.store();
    find(&store, &campaign_id, &ad_id)?;
    let now = store.now();
    let ad = store
        .ads
        .get_mut(&ad_id)
        .ok_or_else(|| ApiError::not_found("ad", "ad_id", &ad_id))?;
    if let Some(name) = name {
        ad.name = name;
    }
    if let Some(status) = status {
        ad.status = status;
    }
    if let Some(headline) = headline {
        ad.headline = headline;
    }
    if let Some(url) = destination_url {
        ad.destination_url = url;
    }
    ad.updated_at = now;
    let ad = ad.clone();
    drop(store);
    emit_all(&app, vec![("ad.updated", to_json(&ad))]);
    ok(ad)
}

async fn delete_ad(
    State(app): State<App>,
    Path((campaign_id, ad_id)): Path<(String, String)>,
) -> ApiResult {
    let mut store = app.store();
    find(&store, &campaign_id, &ad_id)?;
    let ad = store
        .ads
        .remove(&ad_id)
        .ok_or_else(|| ApiError::not_found("ad", "ad_id", &ad_id))?;
    let creatives: Vec<String> = store
        .creatives
        .iter()
        .filter(|c| c.ad_id == ad_id)
        .map(|c| c.id.clone())
        .collect();
    for creative in &creatives {
        store.creatives.remove(creative);
    }
    drop(store);
    emit_all(&app, vec![("ad.deleted", to_json(&ad))]);
    no_content()
}
