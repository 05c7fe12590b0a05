//! Campaigns: CRUD, filters on status, objective, creation time and metrics, and the deprecated
//! stats operation.

use super::Path;
use super::{
    ApiResult, QueryArgs, check_flight, created, emit_all, list, no_content, ok, parse,
    parse_object, patch_field, patch_value, to_json,
};
use crate::app::App;
use crate::errors::ApiError;
use crate::ids::new_id;
use crate::model::{Campaign, CampaignMetrics, Timestamp};
use crate::pagination::ListBody;
use crate::store::{Store, row_key};
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/v1/campaigns", get(list_campaigns).post(create_campaign))
        .route(
            "/v1/campaigns/{campaign_id}",
            get(get_campaign)
                .put(replace_campaign)
                .patch(update_campaign)
                .delete(delete_campaign),
        )
        .route("/v1/campaigns/{campaign_id}/stats", get(campaign_stats))
}

#[derive(Deserialize)]
struct NewCampaign {
    name: String,
    budget_cents: i64,
    objective: Option<String>,
    currency: Option<String>,
    daily_budget_cents: Option<i64>,
    start_at: Option<Timestamp>,
    end_at: Option<Timestamp>,
    status: Option<String>,
}

#[derive(Deserialize)]
struct CampaignReplace {
    name: String,
    budget_cents: i64,
    objective: String,
    currency: String,
    daily_budget_cents: Option<i64>,
    start_at: Option<Timestamp>,
    end_at: Option<Timestamp>,
}

pub(crate) fn find<'a>(store: &'a Store, id: &str) -> Result<&'a Campaign, ApiError> {
    store
        .campaigns
        .get(id)
        .ok_or_else(|| ApiError::not_found("campaign", "campaign_id", id))
}

async fn list_campaigns(State(app): State<App>, q: QueryArgs) -> ApiResult {
    let (after, limit) = q.page()?;
    let status = q.str("status");
    let objective = q.str("objective");
    let created_after = q.time("created_after")?;
    let created_before = q.time("created_before")?;
    let min_spend = q.i64("min_spend_cents")?;
    let max_spend = q.i64("max_spend_cents")?;
    let min_impressions = q.i64("min_impressions")?;
    let min_ctr = q.f64("min_ctr")?;
    let keep = |c: &Campaign| {
        status.is_none_or(|s| c.status == s)
            && objective.is_none_or(|o| c.objective == o)
            && created_after.is_none_or(|t| c.created_at >= t)
            && created_before.is_none_or(|t| c.created_at < t)
            && min_spend.is_none_or(|m| c.metrics.spend_cents >= m)
            && max_spend.is_none_or(|m| c.metrics.spend_cents <= m)
            && min_impressions.is_none_or(|m| c.metrics.impressions >= m)
            && min_ctr.is_none_or(|m| c.metrics.ctr >= m)
    };
    let store = app.store();
    let page = store.campaigns.page(after.as_ref(), limit, keep);
    let total = store.campaigns.count(keep);
    drop(store);
    list(ListBody::from_page(page, Clone::clone, Some(total)))
}

async fn create_campaign(State(app): State<App>, body: Bytes) -> ApiResult {
    let new: NewCampaign = parse(&body)?;
    let status = new.status.unwrap_or_else(|| "draft".into());
    if status != "draft" && status != "scheduled" {
        return Err(ApiError::bad_request(
            "invalid_value",
            "status",
            "A campaign can only be created as 'draft' or 'scheduled'.",
        ));
    }
    check_flight(new.start_at, new.end_at)?;
    let mut store = app.store();
    let now = store.next_timestamp();
    let campaign = Campaign {
        id: new_id("cmp_"),
        name: new.name,
        status,
        objective: new.objective.unwrap_or_else(|| "awareness".into()),
        budget_cents: new.budget_cents,
        daily_budget_cents: new.daily_budget_cents,
        currency: new.currency.unwrap_or_else(|| "USD".into()),
        start_at: new.start_at,
        end_at: new.end_at,
        metrics: CampaignMetrics::default(),
        created_at: now,
        updated_at: now,
    };
    store
        .campaigns
        .insert(row_key(now, &campaign.id), campaign.clone());
    drop(store);
    emit_all(&app, vec![("campaign.created", to_json(&campaign))]);
    created(campaign)
}

async fn get_campaign(State(app): State<App>, Path(id): Path<String>) -> ApiResult {
    let campaign = find(&app.store(), &id)?.clone();
    ok(campaign)
}

async fn campaign_stats(State(app): State<App>, Path(id): Path<String>) -> ApiResult {
    let metrics = find(&app.store(), &id)?.metrics.clone();
    ok(metrics)
}

async fn replace_campaign(
    State(app): State<App>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let new: CampaignReplace = parse(&body)?;
    check_flight(new.start_at, new.end_at)?;
    let mut store = app.store();
    let now = store.now();
    let campaign = store
        .campaigns
        .get_mut(&id)
        .ok_or_else(|| ApiError::not_found("campaign", "campaign_id", &id))?;
    campaign.name = new.name;
    campaign.budget_cents = new.budget_cents;
    campaign.objective = new.objective;
    campaign.currency = new.currency;
    campaign.daily_budget_cents = new.daily_budget_cents;
    campaign.start_at = new.start_at;
    campaign.end_at = new.end_at;
    campaign.updated_at = now;
    let campaign = campaign.clone();
    drop(store);
    emit_all(&app, vec![("campaign.updated", to_json(&campaign))]);
    ok(campaign)
}

async fn update_campaign(State(app): State<App>, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let patch = parse_object(&body)?;
    let name: Option<String> = patch_value(&patch, "name")?;
    let status: Option<String> = patch_value(&patch, "status")?;
    let objective: Option<String> = patch_value(&patch, "objective")?;
    let budget: Option<i64> = patch_value(&patch, "budget_cents")?;
    let daily: Option<Option<i64>> = patch_field(&patch, "daily_budget_cents")?;
    let start: Option<Option<Timestamp>> = patch_field(&patch, "start_at")?;
    let end: Option<Option<Timestamp>> = patch_field(&patch, "end_at")?;

    let mut store = app.store();
    let now = store.now();
    let campaign = store
        .campaigns
        .get_mut(&id)
        .ok_or_else(|| ApiError::not_found("campaign", "campaign_id", &id))?;
    let previous_status = campaign.status.clone();
    if let Some(status) = &status
        && previous_status == "archived"
        && status != "archived"
    {
        return Err(ApiError::conflict(
            "invalid_status_transition",
            "An archived campaign cannot change its status.",
        )
        .with_param("status"));
    }
    let start_at = start.unwrap_or(campaign.start_at);
    let end_at = end.unwrap_or(campaign.end_at);
    check_flight(start_at, end_at)?;
    if let Some(name) = name {
        campaign.name = name;
    }
    if let Some(objective) = objective {
        campaign.objective = objective;
    }
    if let Some(budget) = budget {
        campaign.budget_cents = budget;
    }
    if let Some(daily) = daily {
        campaign.daily_budget_cents = daily;
    }
    campaign.start_at = start_at;
    campaign.end_at = end_at;
    if let Some(status) = status {
        campaign.status = status;
    }
    campaign.updated_at = now;
    let campaign = campaign.clone();
    drop(store);
    let mut events = vec![("campaign.updated", to_json(&campaign))];
    if campaign.status != previous_status {
        events.push((
            "campaign.status_changed",
            json!({ "campaign": campaign, "previous_status": previous_status }),
        ));
    }
    emit_all(&app, events);
    ok(campaign)
}

async fn delete_campaign(State(app): State<App>, Path(id): Path<String>) -> ApiResult {
    let mut store = app.store();
    let campaign = store
        .campaigns
        .remove(&id)
        .ok_or_else(|| ApiError::not_found("campaign", "campaign_id", &id))?;
    let ad_ids: Vec<String> = store
        .ads
        .iter()
        .filter(|a| a.campaign_id == id)
        .map(|a| a.id.clone())
        .collect();
    let creative_ids: Vec<String> = store
        .creatives
        .iter()
        .filter(|c| c.campaign_id == id)
        .map(|c| c.id.clone())
        .collect();
    for ad in &ad_ids {
        store.ads.remove(ad);
    }
    for creative in &creative_ids {
        store.creatives.remove(creative);
    }
    drop(store);
    emit_all(&app, vec![("campaign.deleted", to_json(&campaign))]);
    no_content()
}
