//! Contacts: unique e-mail, subscription status, membership filter; and the privacy requests
//! on them: export (everything held about a contact) and erasure.

use super::Path;
use super::{
    ApiResult, QueryArgs, created, emit_all, list, no_content, ok, parse, parse_object,
    patch_field, patch_value, to_json,
};
use crate::app::App;
use crate::errors::ApiError;
use crate::ids::new_id;
use crate::model::{Audience, Contact};
use crate::pagination::ListBody;
use crate::store::{Store, row_key};
use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Map, Value, json};

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/v1/contacts", get(list_contacts).post(create_contact))
        .route(
            "/v1/contacts/{contact_id}",
            get(get_contact)
                .patch(update_contact)
                .delete(delete_contact),
        )
        .route("/v1/contacts/{contact_id}/export", post(export_contact))
        .route("/v1/contacts/{contact_id}/erase", post(erase_contact))
}

#[derive(Deserialize)]
struct NewContact {
    email: String,
    phone: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    status: Option<String>,
    attributes: Option<Map<String, Value>>,
}

fn email_taken() -> ApiError {
    ApiError::conflict("email_taken", "A contact with this email already exists.")
        .with_param("email")
}

/// The filters of `listContacts`, which the CSV export shares.
#[derive(Debug, Clone)]
pub(crate) struct Filter {
    status: Option<String>,
    email: Option<String>,
    audience: Option<String>,
    created_after: Option<crate::model::Timestamp>,
    created_before: Option<crate::model::Timestamp>,
}

impl Filter {
    /// Reads the filters from a query string.
    pub(crate) fn from_query(q: &QueryArgs) -> Result<Self, ApiError> {
        Ok(Filter {
            status: q.str("status").map(str::to_owned),
            email: q.str("email").map(str::to_lowercase),
            audience: q.str("audience_id").map(str::to_owned),
            created_after: q.time("created_after")?,
            created_before: q.time("created_before")?,
        })
    }

    /// Calls `read` with the test of whether a contact matches, valid under the lock it was made
    /// under; an audience's members are computed once for the whole call (a dynamic audience's
    /// rule is compiled once, not per contact).
    pub(crate) fn with_matcher<R>(
        &self,
        store: &Store,
        read: impl FnOnce(&dyn Fn(&Contact) -> bool) -> R,
    ) -> R {
        let now = store.now();
        // An unknown audience has no members: the filter then matches nobody.
        let members = self.audience.as_deref().map(|id| {
            store
                .audiences
                .get(id)
                .map(|a| crate::segments::Members::of(store, a, now))
        });
        let keep = |c: &Contact| {
            self.status.as_deref().is_none_or(|s| c.status == s)
                && self
                    .email
                    .as_deref()
                    .is_none_or(|e| c.email.to_lowercase() == e)
                && self.created_after.is_none_or(|t| c.created_at >= t)
                && self.created_before.is_none_or(|t| c.created_at < t)
                && match &members {
                    None => true,
                    Some(None) => false,
                    Some(Some(members)) => members.contains(c),
                }
        };
        read(&keep)
    }
}

async fn list_contacts(State(app): State<App>, q: QueryArgs) -> ApiResult {
    let (after, limit) = q.page()?;
    let filter = Filter::from_query(&q)?;
    let store = app.store();
    let (page, total) = filter.with_matcher(&store, |keep| {
        (
            store.contacts.page(after.as_ref(), limit, keep),
            store.contacts.count(keep),
        )
    });
    drop(store);
    list(ListBody::from_page(page, Clone::clone, Some(total)))
}

async fn create_contact(State(app): State<App>, body: Bytes) -> ApiResult {
    let new: NewContact = parse(&body)?;
    let mut store = app.store();
    let email_key = new.email.to_lowercase();
    if store.contact_emails.contains_key(&email_key) {
        return Err(email_taken());
    }
    let now = store.next_timestamp();
    let contact = Contact {
        id: new_id("ctc_"),
        email: new.email,
        phone: new.phone,
        first_name: new.first_name,
        last_name: new.last_name,
        status: new.status.unwrap_or_else(|| "subscribed".into()),
        attributes: new.attributes.unwrap_or_default(),
        created_at: now,
        updated_at: now,
    };
    store.contact_emails.insert(email_key, contact.id.clone());
    store
        .contacts
        .insert(row_key(now, &contact.id), contact.clone());
    drop(store);
    emit_all(&app, vec![("contact.created", to_json(&contact))]);
    created(contact)
}

async fn get_contact(State(app): State<App>, Path(id): Path<String>) -> ApiResult {
    let store = app.store();
    let contact = store
        .contacts
        .get(&id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("contact", "contact_id", &id))?;
    drop(store);
    ok(contact)
}

async fn update_contact(State(app): State<App>, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let patch = parse_object(&body)?;
    let email: Option<String> = patch_value(&patch, "email")?;
    let phone: Option<Option<String>> = patch_field(&patch, "phone")?;
    let first_name: Option<Option<String>> = patch_field(&patch, "first_name")?;
    let last_name: Option<Option<String>> = patch_field(&patch, "last_name")?;
    let status: Option<String> = patch_value(&patch, "status")?;
    let attributes: Option<Map<String, Value>> = patch_value(&patch, "attributes")?;

    let mut store = app.store();
    let now = store.now();
    let old_email = store
        .contacts
        .get(&id)
        .map(|c| c.email.to_lowercase())
        .ok_or_else(|| ApiError::not_found("contact", "contact_id", &id))?;
    if let Some(email) = &email {
        let key = email.to_lowercase();
        if key != old_email {
            if store.contact_emails.contains_key(&key) {
                return Err(email_taken());
            }
            store.contact_emails.remove(&old_email);
            store.contact_emails.insert(key, id.clone());
        }
    }
    let contact = store
        .contacts
        .get_mut(&id)
        .ok_or_else(|| ApiError::not_found("contact", "contact_id", &id))?;
    let previous_status = contact.status.clone();
    if let Some(email) = email {
        contact.email = email;
    }
    if let Some(phone) = phone {
        contact.phone = phone;
    }
    if let Some(first_name) = first_name {
        contact.first_name = first_name;
    }
    if let Some(last_name) = last_name {
        contact.last_name = last_name;
    }
    if let Some(status) = status {
        contact.status = status;
    }
    if let Some(attributes) = attributes {
        contact.attributes = attributes;
    }
    contact.updated_at = now;
    let contact = contact.clone();
    drop(store);
    let mut events = vec![("contact.updated", to_json(&contact))];
    if contact.status != previous_status {
        events.push((
            "subscription.changed",
            json!({ "contact": contact, "previous_status": previous_status, "status": contact.status }),
        ));
    }
    emit_all(&app, events);
    ok(contact)
}

/// Removes the contact with its email index entry and its memberships; the audiences it left are
/// updated and returned. Shared by deletion and erasure, which differ in what they tell.
fn remove_contact(store: &mut Store, id: &str) -> Result<(Contact, Vec<Audience>), ApiError> {
    let contact = store
        .contacts
        .remove(id)
        .ok_or_else(|| ApiError::not_found("contact", "contact_id", id))?;
    store.contact_emails.remove(&contact.email.to_lowercase());
    let key = row_key(contact.created_at, &contact.id);
    let now = store.now();
    let audience_ids: Vec<String> = store
        .memberships
        .iter_mut()
        .filter_map(|(aud, members)| members.remove(&key).then(|| aud.clone()))
        .collect();
    let mut left = Vec::with_capacity(audience_ids.len());
    for audience_id in audience_ids {
        if let Some(audience) = store.audiences.get_mut(&audience_id) {
            audience.contact_count -= 1;
            audience.updated_at = now;
            left.push(audience.clone());
        }
    }
    Ok((contact, left))
}

async fn delete_contact(State(app): State<App>, Path(id): Path<String>) -> ApiResult {
    let (contact, changed) = remove_contact(&mut app.store(), &id)?;
    let mut events = vec![("contact.deleted", to_json(&contact))];
    events.extend(changed.iter().map(|a| ("audience.updated", to_json(a))));
    emit_all(&app, events);
    no_content()
}

/// Whether a stored webhook payload carries the contact's data: its id, or its e-mail (which
/// an event's properties may repeat without the id).
fn mentions(payload: &str, contact: &Contact) -> bool {
    payload.contains(&contact.id)
        || payload
            .to_lowercase()
            .contains(&contact.email.to_lowercase())
}

async fn export_contact(State(app): State<App>, Path(id): Path<String>) -> ApiResult {
    let store = app.store();
    let contact = store
        .contacts
        .get(&id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("contact", "contact_id", &id))?;
    let key = row_key(contact.created_at, &contact.id);
    let events: Vec<_> = store
        .events
        .iter()
        .filter(|e| e.contact_id.as_deref() == Some(id.as_str()))
        .cloned()
        .collect();
    let mut audiences: Vec<Audience> = store
        .memberships
        .iter()
        .filter(|(_, members)| members.contains(&key))
        .filter_map(|(audience_id, _)| store.audiences.get(audience_id).cloned())
        .collect();
    let now = store.now();
    audiences.extend(
        store
            .audiences
            .iter()
            .filter(|a| {
                a.rule.is_some() && crate::segments::Members::of(&store, a, now).contains(&contact)
            })
            .map(|a| crate::segments::served(&store, a.clone(), now)),
    );
    audiences.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    let deliveries: Vec<_> = store
        .deliveries
        .iter()
        .filter(|row| mentions(&row.payload, &contact))
        .map(|row| row.delivery.clone())
        .collect();
    drop(store);
    ok(json!({
        "contact": contact,
        "events": events,
        "audiences": audiences,
        "webhook_deliveries": deliveries,
        "exported_at": now,
    }))
}

async fn erase_contact(State(app): State<App>, Path(id): Path<String>) -> ApiResult {
    let mut store = app.store();
    let (contact, left) = remove_contact(&mut store, &id)?;
    let now = store.now();
    let events_erased = store.remove_events_of(&id);
    // Withdrawn, not redacted: a delivery's body is signed as it stands, and a pending retry or a
    // later replay must not send the contact's data. Their background tasks find the row gone
    // and stop.
    let deliveries_withdrawn = store
        .deliveries
        .remove_where(|row| mentions(&row.payload, &contact));
    drop(store);
    app.idempotency.forget_mentioning(&contact.id);
    // No webhook for the erasure: `contact.deleted` would carry the very data being erased, and
    // the audiences' new counts are not worth an event that names the change. The audit trail
    // records the request (its operation and the contact id) like any other.
    ok(json!({
        "contact_id": contact.id,
        "erased_at": now,
        "events_erased": events_erased,
        "memberships_removed": left.len(),
        "deliveries_withdrawn": deliveries_withdrawn,
    }))
}
