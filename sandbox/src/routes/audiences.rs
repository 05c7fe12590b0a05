//! Audiences and their membership: static ones hold the contacts added to them, dynamic ones
//! the contacts their rule matches (see [`crate::segments`]); both list their members the same
//! way, in contact `(created_at, id)` order with the same cursors.

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
use crate::segments::{self, Evaluator, Members};
use crate::store::{Page, row_key};
use axum::Router;
use axum::extract::State;
use axum::routing::{delete, get, post};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/v1/audiences", get(list_audiences).post(create_audience))
        .route("/v1/audiences/preview", post(preview_audience))
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
    kind: Option<String>,
    rule: Option<Value>,
}

#[derive(Deserialize)]
struct PreviewRequest {
    rule: Value,
    limit: Option<usize>,
}

/// How many contacts a preview lists when the request does not say.
const PREVIEW_LIMIT: usize = 20;

#[derive(Deserialize)]
struct MembershipChange {
    contact_ids: Vec<String>,
}

fn missing(id: &str) -> ApiError {
    ApiError::not_found("audience", "audience_id", id)
}

/// 409 for a hand-made membership change on a dynamic audience.
fn computed_membership(id: &str) -> ApiError {
    ApiError::conflict(
        "audience_kind_mismatch",
        format!(
            "Audience '{id}' is dynamic: its members are the contacts its rule matches. Change the rule instead."
        ),
    )
    .with_param("audience_id")
}

async fn list_audiences(State(app): State<App>, q: QueryArgs) -> ApiResult {
    let (after, limit) = q.page()?;
    let created_after = q.time("created_after")?;
    let created_before = q.time("created_before")?;
    let min_contacts = q.i64("min_contacts")?;
    let store = app.store();
    let now = store.now();
    // The sizes of dynamic audiences are computed once here, for the filter and the answer.
    let computed: HashMap<String, i64> = store
        .audiences
        .iter()
        .filter(|a| a.rule.is_some())
        .map(|a| {
            (
                a.id.clone(),
                segments::served(&store, a.clone(), now).contact_count,
            )
        })
        .collect();
    let size = |a: &Audience| computed.get(&a.id).copied().unwrap_or(a.contact_count);
    let page = store.audiences.page(after.as_ref(), limit, |a: &Audience| {
        created_after.is_none_or(|t| a.created_at >= t)
            && created_before.is_none_or(|t| a.created_at < t)
            && min_contacts.is_none_or(|m| size(a) >= m)
    });
    drop(store);
    let sized = |a: &Audience| Audience {
        contact_count: size(a),
        ..a.clone()
    };
    list(ListBody::from_page(page, sized, None))
}

async fn create_audience(State(app): State<App>, body: Bytes) -> ApiResult {
    let new: NewAudience = parse(&body)?;
    let kind = new.kind.unwrap_or_else(|| "static".to_owned());
    match (kind.as_str(), &new.rule) {
        ("dynamic", None) => {
            return Err(ApiError::bad_request(
                "missing_field",
                "rule",
                "A dynamic audience needs a 'rule'.",
            ));
        }
        ("static", Some(_)) => {
            return Err(ApiError::bad_request(
                "invalid_value",
                "rule",
                "A static audience takes no 'rule'; create it with \"kind\": \"dynamic\".",
            ));
        }
        _ => {}
    }
    let mut store = app.store();
    if let Some(rule) = &new.rule {
        // A new audience has no id anyone could refer to yet, so its rule cannot close a cycle.
        segments::check(&store, rule, "/rule", None, store.now())?;
    }
    let now = store.next_timestamp();
    let mut audience = Audience {
        id: new_id("aud_"),
        name: new.name,
        description: new.description,
        kind,
        rule: new.rule,
        contact_count: 0,
        created_at: now,
        updated_at: now,
    };
    store
        .audiences
        .insert(row_key(now, &audience.id), audience.clone());
    if audience.rule.is_none() {
        store
            .memberships
            .insert(audience.id.clone(), BTreeSet::new());
    }
    audience = segments::served(&store, audience, now);
    drop(store);
    emit_all(&app, vec![("audience.created", to_json(&audience))]);
    created(audience)
}

async fn get_audience(State(app): State<App>, Path(id): Path<String>) -> ApiResult {
    let store = app.store();
    let audience = store
        .audiences
        .get(&id)
        .cloned()
        .ok_or_else(|| missing(&id))?;
    let audience = segments::served(&store, audience, store.now());
    drop(store);
    ok(audience)
}

async fn update_audience(State(app): State<App>, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let patch = parse_object(&body)?;
    let name: Option<String> = patch_value(&patch, "name")?;
    let description: Option<Option<String>> = patch_field(&patch, "description")?;
    let rule: Option<Value> = patch_value(&patch, "rule")?;
    let mut store = app.store();
    let now = store.now();
    let current = store.audiences.get(&id).ok_or_else(|| missing(&id))?;
    if let Some(rule) = &rule {
        if current.rule.is_none() {
            return Err(ApiError::conflict(
                "audience_kind_mismatch",
                format!("Audience '{id}' is static: it has no rule to change."),
            )
            .with_param("rule"));
        }
        segments::check(&store, rule, "/rule", Some(&id), now)?;
    }
    let audience = store.audiences.get_mut(&id).ok_or_else(|| missing(&id))?;
    if let Some(rule) = rule {
        audience.rule = Some(rule);
    }
    if let Some(name) = name {
        audience.name = name;
    }
    if let Some(description) = description {
        audience.description = description;
    }
    audience.updated_at = now;
    let audience = audience.clone();
    let audience = segments::served(&store, audience, now);
    drop(store);
    emit_all(&app, vec![("audience.updated", to_json(&audience))]);
    ok(audience)
}

async fn delete_audience(State(app): State<App>, Path(id): Path<String>) -> ApiResult {
    let mut store = app.store();
    if store.audiences.get(&id).is_none() {
        return Err(missing(&id));
    }
    let referrers = segments::referrers(&store, &id);
    if !referrers.is_empty() {
        return Err(ApiError::conflict(
            "audience_in_use",
            format!(
                "Audience '{id}' is referred to by the rule of {}; change that rule first.",
                referrers.join(", ")
            ),
        )
        .with_param("audience_id"));
    }
    let audience = store.audiences.remove(&id).ok_or_else(|| missing(&id))?;
    store.memberships.remove(&id);
    drop(store);
    emit_all(&app, vec![("audience.deleted", to_json(&audience))]);
    no_content()
}

async fn list_members(State(app): State<App>, Path(id): Path<String>, q: QueryArgs) -> ApiResult {
    let (after, limit) = q.page()?;
    let store = app.store();
    let audience = store.audiences.get(&id).ok_or_else(|| missing(&id))?;
    if audience.rule.is_some() {
        // Computed members, in the contacts' own keyset order: a cursor is a contact's key, so
        // a page resumes after the last contact served whatever changed in between.
        let members = Members::of(&store, audience, store.now());
        let page = store
            .contacts
            .page(after.as_ref(), limit, |c| members.contains(c));
        drop(store);
        return list(ListBody::from_page(page, Clone::clone, None));
    }
    let empty = BTreeSet::new();
    let members = store.memberships.get(&id).unwrap_or(&empty);
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
    match store.audiences.get(&id) {
        None => return Err(missing(&id)),
        Some(audience) if audience.rule.is_some() => return Err(computed_membership(&id)),
        Some(_) => {}
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
    match store.audiences.get(&id) {
        None => return Err(missing(&id)),
        Some(audience) if audience.rule.is_some() => return Err(computed_membership(&id)),
        Some(_) => {}
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

async fn preview_audience(State(app): State<App>, body: Bytes) -> ApiResult {
    let request: PreviewRequest = parse(&body)?;
    let limit = request.limit.unwrap_or(PREVIEW_LIMIT);
    let store = app.store();
    let now = store.now();
    let rule = segments::check(&store, &request.rule, "/rule", None, now)?;
    let evaluator = Evaluator::new(&store, &[&rule], now);
    // One pass: every match is counted, the first `limit` are kept.
    let mut count = 0usize;
    let mut contacts = Vec::with_capacity(limit.min(100));
    for contact in store.contacts.iter() {
        if evaluator.matches(&rule, contact) {
            if count < limit {
                contacts.push(contact.clone());
            }
            count += 1;
        }
    }
    drop(store);
    ok(json!({ "count": count, "has_more": count > contacts.len(), "contacts": contacts }))
}
