//! Audiences and their membership.

use super::Path;
use super::{
    ApiResult, QueryArgs, created, emit_all, list, no_content, ok, parse, parse_object,
    patch_field, patch_value, to_json,
};
use crate::app::App;
use crate::errors::ApiError;
use crate::ids::new_id;
use crate::model::Audience;
use crate::pagination::ListBody;
use crate::store::{Page, row_key};
use axum::Router;
use axum::extract::State;
use axum::routing::{delete, get};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeSet;
use std::ops::Bound;

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/v1/audiences", get(list_audiences).post(create_audience))
        .route(
            "/v1/audiences/{audience_id}",
            get(get_audience)
                .patch(update_audience)
                .delete(delete_audience),
        )
        .route(
            "/v1/audiences/{audience_id}/contacts",
            get(list_members).post(add_members),
        )
        .route(
            "/v1/audiences/{audience_id}/contacts/{contact_id}",
            delete(remove_member),
        )
}

#[derive(Deserialize)]
struct NewAudience {
    name: String,
    description: Option<String>,
}

#[derive(Deserialize)]
struct MembershipChange {
    contact_ids: Vec<String>,
}

fn missing(id: &str) -> ApiError {
    ApiError::not_found("audience", "audience_id", id)
}

async fn list_audiences(State(app): State<App>, q: QueryArgs) -> ApiResult {
    let (after, limit) = q.page()?;
    let created_after = q.time("created_after")?;
    let created_before = q.time("created_before")?;
    let min_contacts = q.i64("min_contacts")?;
    let store = app.store();
    let page = store.audiences.page(after.as_ref(), limit, |a: &Audience| {
        created_after.is_none_or(|t| a.created_at >= t)
            && created_before.is_none_or(|t| a.created_at < t)
            && min_contacts.is_none_or(|m| a.contact_count >= m)
    });
    drop(store);
    list(ListBody::from_page(page, Clone::clone, None))
}

async fn create_audience(State(app): State<App>, body: Bytes) -> ApiResult {
    let new: NewAudience = parse(&body)?;
    let mut store = app.store();
    let now = store.next_timestamp();
    let audience = Audience {
        id: new_id("aud_"),
        name: new.name,
        description: new.description,
        contact_count: 0,
        created_at: now,
        updated_at: now,
    };
    store
        .audiences
        .insert(row_key(now, &audience.id), audience.clone());
    store
        .memberships
        .insert(audience.id.clone(), BTreeSet::new());
    drop(store);
    emit_all(&app, vec![("audience.created", to_json(&audience))]);
    created(audience)
}

async fn get_audience(State(app): State<App>, Path(id): Path<String>) -> ApiResult {
    let audience = app
        .store()
        .audiences
        .get(&id)
        .cloned()
        .ok_or_else(|| missing(&id))?;
    ok(audience)
}

async fn update_audience(State(app): State<App>, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let patch = parse_object(&body)?;
    let name: Option<String> = patch_value(&patch, "name")?;
    let description: Option<Option<String>> = patch_field(&patch, "description")?;
    let mut store = app.store();
    let now = store.now();
    let audience = store.audiences.get_mut(&id).ok_or_else(|| missing(&id))?;
    if let Some(name) = name {
        audience.name = name;
    }
    if let Some(description) = description {
        audience.description = description;
    }
    audience.updated_at = now;
    let audience = audience.clone();
    drop(store);
    emit_all(&app, vec![("audience.updated", to_json(&audience))]);
    ok(audience)
}

async fn delete_audience(State(app): State<App>, Path(id): Path<String>) -> ApiResult {
    let mut store = app.store();
    let audience = store.audiences.remove(&id).ok_or_else(|| missing(&id))?;
    store.memberships.remove(&id);
    drop(store);
    emit_all(&app, vec![("audience.deleted", to_json(&audience))]);
    no_content()
}

async fn list_members(State(app): State<App>, Path(id): Path<String>, q: QueryArgs) -> ApiResult {
    let (after, limit) = q.page()?;
    let store = app.store();
    let members = store.memberships.get(&id).ok_or_else(|| missing(&id))?;
    let lower = match &after {
        Some(key) => Bound::Excluded(key.clone()),
        None => Bound::Unbounded,
    };
    let mut keys = members.range((lower, Bound::Unbounded));
    let mut items = Vec::new();
    let mut last = None;
    for key in keys.by_ref().take(limit) {
        if let Some(contact) = store.contacts.get(&key.1) {
            items.push(contact.clone());
        }
        last = Some(key.clone());
    }
    let has_more = keys.next().is_some();
    let page = Page {
        items,
        next: if has_more { last } else { None },
    };
    drop(store);
    list(ListBody::from_page(page, Clone::clone, None))
}

async fn add_members(State(app): State<App>, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let change: MembershipChange = parse(&body)?;
    let mut store = app.store();
    if store.audiences.get(&id).is_none() {
        return Err(missing(&id));
    }
    let mut keys = Vec::with_capacity(change.contact_ids.len());
    for (index, contact_id) in change.contact_ids.iter().enumerate() {
        let contact = store.contacts.get(contact_id).ok_or_else(|| {
            ApiError::bad_request(
                "resource_missing",
                format!("contact_ids[{index}]"),
                format!("No contact with id '{contact_id}'."),
            )
        })?;
        keys.push(row_key(contact.created_at, &contact.id));
    }
    let members = store.memberships.entry(id.clone()).or_default();
    let mut added = 0i64;
    let mut already = 0i64;
    for key in keys {
        if members.insert(key) {
            added += 1;
        } else {
            already += 1;
        }
    }
    let now = store.now();
    let audience = store.audiences.get_mut(&id).ok_or_else(|| missing(&id))?;
    audience.contact_count += added;
    audience.updated_at = now;
    let audience = audience.clone();
    drop(store);
    if added > 0 {
        emit_all(&app, vec![("audience.updated", to_json(&audience))]);
    }
    ok(json!({ "audience_id": id, "added": added, "already_members": already }))
}

async fn remove_member(
    State(app): State<App>,
    Path((id, contact_id)): Path<(String, String)>,
) -> ApiResult {
    let mut store = app.store();
    if store.audiences.get(&id).is_none() {
        return Err(missing(&id));
    }
    let key = store
        .contacts
        .get(&contact_id)
        .map(|c| row_key(c.created_at, &c.id));
    let removed = match (key, store.memberships.get_mut(&id)) {
        (Some(key), Some(members)) => members.remove(&key),
        _ => false,
    };
    if !removed {
        return Err(ApiError::not_found(
            "member of this audience",
            "contact_id",
            &contact_id,
        ));
    }
    let now = store.now();
    let audience = store.audiences.get_mut(&id).ok_or_else(|| missing(&id))?;
    audience.contact_count -= 1;
    audience.updated_at = now;
    let audience = audience.clone();
    drop(store);
    emit_all(&app, vec![("audience.updated", to_json(&audience))]);
    no_content()
}
