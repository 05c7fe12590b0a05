//! The audit trail and the usage counts derived from it.
//!
//! The request pipeline records one [`AuditEvent`] per request that reached an operation, after
//! the answer is known. An event holds identifiers only — the actor, the operation, its path
//! template, the id in the path, the status — never a body or a query value, which is what keeps
//! personal data out of the trail (and makes it survive an erasure unchanged). Usage counts are
//! kept beside the trail rather than computed from it, so they stay exact when the trail's
//! retention drops old events.

use crate::auth::Actor;
use crate::model::Timestamp;
use crate::store::{Page, RowKey, Table, row_key};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

/// Events kept; older ones are dropped first (the contract documents the figure).
pub const RETENTION: usize = 100_000;

/// One API request, as the contract's `AuditEvent` schema shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AuditEvent {
    /// `aev_…`
    pub id: String,
    /// When the request was received.
    pub occurred_at: Timestamp,
    /// Who made it.
    pub actor: Actor,
    /// The `operationId`.
    pub operation: String,
    /// The HTTP method.
    pub method: String,
    /// The operation's path template.
    pub path_template: String,
    /// The last id in the path.
    pub resource_id: Option<String>,
    /// The answer's status.
    pub status: u16,
    /// `success` or `failure`.
    pub outcome: &'static str,
    /// The request id.
    pub request_id: String,
    /// `v1`.
    pub api_version: String,
}

/// One row of the contract's `Usage`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UsageRow {
    /// The UTC day.
    pub day: NaiveDate,
    /// The `operationId`.
    pub operation: String,
    /// The actor id.
    pub consumer: String,
    /// The API version.
    pub api_version: String,
    /// Requests received.
    pub requests: u64,
    /// Of those, answered with 4xx or 5xx.
    pub errors: u64,
}

type UsageKey = (NaiveDate, String, String, String);

#[derive(Debug, Default)]
struct Tables {
    last_micros: i64,
    events: Table<AuditEvent>,
    usage: BTreeMap<UsageKey, (u64, u64)>,
}

/// Which usage rows to return.
#[derive(Debug, Default)]
pub struct UsageFilter<'a> {
    /// First day, inclusive.
    pub start: Option<NaiveDate>,
    /// Last day, inclusive.
    pub end: Option<NaiveDate>,
    /// One operation.
    pub operation: Option<&'a str>,
    /// One consumer.
    pub consumer: Option<&'a str>,
}

/// Which audit events to return.
#[derive(Debug, Default)]
pub struct EventFilter<'a> {
    /// Only this actor id.
    pub actor_id: Option<&'a str>,
    /// Only this resource id.
    pub resource_id: Option<&'a str>,
    /// Only this operation.
    pub operation: Option<&'a str>,
    /// At or after.
    pub after: Option<DateTime<Utc>>,
    /// Before.
    pub before: Option<DateTime<Utc>>,
}

impl EventFilter<'_> {
    fn keeps(&self, e: &AuditEvent) -> bool {
        self.actor_id.is_none_or(|a| e.actor.id == a)
            && self
                .resource_id
                .is_none_or(|r| e.resource_id.as_deref() == Some(r))
            && self.operation.is_none_or(|o| e.operation == o)
            && self.after.is_none_or(|t| e.occurred_at >= t)
            && self.before.is_none_or(|t| e.occurred_at < t)
    }
}

/// The audit trail of a running sandbox.
#[derive(Debug, Default)]
pub struct AuditLog {
    tables: Mutex<Tables>,
}

/// What the pipeline knows about a finished request.
#[derive(Debug)]
pub struct Access<'a> {
    /// When it was received.
    pub received_at: DateTime<Utc>,
    /// Who made it.
    pub actor: Actor,
    /// The operation.
    pub operation: &'a str,
    /// The method.
    pub method: &'a str,
    /// The operation's path template.
    pub path_template: &'a str,
    /// The path as requested (under the version prefix).
    pub path: &'a str,
    /// The answer's status.
    pub status: u16,
    /// The request id.
    pub request_id: String,
}

impl AuditLog {
    fn tables(&self) -> MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records one request.
    pub fn record(&self, access: Access<'_>) {
        let failed = access.status >= 400;
        let event = AuditEvent {
            id: crate::ids::new_id("aev_"),
            occurred_at: access.received_at,
            operation: access.operation.to_owned(),
            method: access.method.to_owned(),
            path_template: access.path_template.to_owned(),
            resource_id: resource_id(access.path_template, access.path),
            status: access.status,
            outcome: if failed { "failure" } else { "success" },
            request_id: access.request_id,
            api_version: "v1".into(),
            actor: access.actor,
        };
        let mut tables = self.tables();
        let usage_key = (
            event.occurred_at.date_naive(),
            event.operation.clone(),
            event.actor.id.clone(),
            event.api_version.clone(),
        );
        let counts = tables.usage.entry(usage_key).or_default();
        counts.0 += 1;
        counts.1 += u64::from(failed);
        // Keyset order must be the order of recording even when two requests share a
        // microsecond, so the key's time is made strictly increasing (the event keeps its own).
        let micros = event
            .occurred_at
            .timestamp_micros()
            .max(tables.last_micros + 1);
        tables.last_micros = micros;
        let key_time = DateTime::from_timestamp_micros(micros).unwrap_or(event.occurred_at);
        tables.events.insert(row_key(key_time, &event.id), event);
        while tables.events.len() > RETENTION {
            tables.events.pop_first();
        }
    }

    /// One page of events.
    pub fn page(
        &self,
        after: Option<&RowKey>,
        limit: usize,
        filter: &EventFilter<'_>,
    ) -> Page<AuditEvent> {
        self.tables().events.page(after, limit, |e| filter.keeps(e))
    }

    /// Usage rows in (day, operation, consumer, version) order.
    pub fn usage(&self, filter: &UsageFilter<'_>) -> Vec<UsageRow> {
        self.tables()
            .usage
            .iter()
            .filter(|((day, operation, consumer, _), _)| {
                filter.start.is_none_or(|s| *day >= s)
                    && filter.end.is_none_or(|e| *day <= e)
                    && filter.operation.is_none_or(|o| operation == o)
                    && filter.consumer.is_none_or(|c| consumer == c)
            })
            .map(
                |((day, operation, consumer, api_version), (requests, errors))| UsageRow {
                    day: *day,
                    operation: operation.clone(),
                    consumer: consumer.clone(),
                    api_version: api_version.clone(),
                    requests: *requests,
                    errors: *errors,
                },
            )
            .collect()
    }
}

/// The value of the last `{parameter}` of `template` in `path`: the resource the request
/// addressed (`ctc_…` for `/contacts/{contact_id}/erase`), `None` for a collection.
fn resource_id(template: &str, path: &str) -> Option<String> {
    let template: Vec<&str> = template.trim_matches('/').split('/').collect();
    let path: Vec<&str> = path.trim_matches('/').split('/').collect();
    if template.len() != path.len() {
        return None;
    }
    template
        .iter()
        .zip(&path)
        .rev()
        .find(|(t, _)| t.starts_with('{'))
        // As sent (percent-encoded, if it was): ids are plain ASCII, and the trail records what
        // the request named, not an interpretation of it.
        .map(|(_, value)| (*value).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resource_is_the_last_id_in_the_path() {
        assert_eq!(
            resource_id("/contacts/{contact_id}/erase", "/contacts/ctc_1/erase").as_deref(),
            Some("ctc_1")
        );
        assert_eq!(
            resource_id(
                "/campaigns/{campaign_id}/ads/{ad_id}",
                "/campaigns/cmp_1/ads/ad_2"
            )
            .as_deref(),
            Some("ad_2")
        );
        assert_eq!(resource_id("/campaigns", "/campaigns"), None);
    }

    #[test]
    fn usage_counts_every_request_and_its_failures() {
        let log = AuditLog::default();
        for status in [200, 404, 200] {
            log.record(Access {
                received_at: Utc::now(),
                actor: Actor::anonymous(),
                operation: "getContact",
                method: "GET",
                path_template: "/contacts/{contact_id}",
                path: "/contacts/ctc_1",
                status,
                request_id: "req_1".into(),
            });
        }
        let rows = log.usage(&UsageFilter::default());
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].requests, rows[0].errors), (3, 1));
        let page = log.page(
            None,
            10,
            &EventFilter {
                resource_id: Some("ctc_1"),
                ..EventFilter::default()
            },
        );
        assert_eq!(page.items.len(), 3);
    }
}
