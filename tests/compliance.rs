//! Audit log, usage metrics, per-integration keys and privacy requests, end to end: the SDK
//! against the sandbox on 127.0.0.1, each side's records checked against the other's.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use futures::TryStreamExt;
use marketing_api::Client;
use marketing_api::audit::JsonLinesSink;
use marketing_api::auth::{ApiKey, OAuth2};
use marketing_api::interceptor::{Context, HookError, Interceptor};
use marketing_api::models::*;
use marketing_api::retry::RetryPolicy;
use marketing_api_sandbox::{RateTier, Sandbox};
use serde_json::{Value, json};

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

fn admin(sandbox: &Sandbox) -> Client {
    Client::builder(sandbox.base_url())
        .auth(ApiKey::new(sandbox.premium_api_key()).unwrap())
        .build()
        .unwrap()
}

/// Every audit event the sandbox recorded for `actor`, oldest first.
async fn server_trail(admin: &Client, actor: &str) -> Vec<AuditEvent> {
    admin
        .audit_events()
        .list()
        .actor_id(actor)
        .limit(100)
        .stream()
        .try_collect()
        .await
        .expect("the audit trail pages")
}

fn temp_path(name: &str) -> std::path::PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    std::env::temp_dir().join(format!(
        "marketing-api-{name}-{}-{nanos}.jsonl",
        std::process::id()
    ))
}

#[tokio::test]
async fn an_audit_file_after_a_quickstart_run_has_one_record_per_call_and_no_pii() -> TestResult {
    let sandbox = Sandbox::start().await?;
    let path = temp_path("audit");
    let sink = JsonLinesSink::file(&path)?;
    let client = Client::builder(sandbox.base_url())
        .auth(
            OAuth2::client_credentials(
                sandbox.client_id(),
                sandbox.client_secret(),
                sandbox.token_url(),
            )
            .scopes([
                "campaigns:read",
                "campaigns:write",
                "audiences:read",
                "audiences:write",
                "contacts:read",
                "contacts:write",
                "events:write",
            ]),
        )
        .audit_sink(sink.clone())
        .build()?;

    // The quickstart's steps, with every kind of personal data it sends.
    let mut emails: Vec<String> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    client.campaigns().list().limit(1).send().await?;
    let campaign = client
        .campaigns()
        .create(
            &NewCampaign::builder()
                .name("Black Friday")
                .budget_cents(500_000)
                .build(),
        )
        .send()
        .await?;
    client
        .campaigns()
        .ads(&campaign.id)
        .create(
            &NewAd::builder()
                .name("Hero")
                .headline("Up to 40% off")
                .destination_url("https://shop.example.com/bf")
                .build(),
        )
        .send()
        .await?;
    let mut contacts = Vec::new();
    for i in 0..12 {
        let email = format!("audit.customer{i:02}@example.com");
        let name = format!("Firstname{i:02}");
        let contact = client
            .contacts()
            .create(
                &NewContact::builder()
                    .email(email.clone())
                    .build()
                    .with_first_name(name.clone())
                    .with_phone(format!("+4420712345{i:02}")),
            )
            .send()
            .await?;
        emails.push(email);
        names.push(name);
        contacts.push(contact.id);
    }
    let audience = client
        .audiences()
        .create(&NewAudience::builder().name("Newsletter").build())
        .send()
        .await?;
    client
        .audiences()
        .contacts(&audience.id)
        .add(
            &AudienceMembershipChange::builder()
                .contact_ids(contacts[..6].to_vec())
                .build(),
        )
        .send()
        .await?;
    // Several pages, and a filter whose value is an e-mail address.
    let members: Vec<Contact> = client
        .contacts()
        .list()
        .audience_id(audience.id.clone())
        .limit(4)
        .stream()
        .try_collect()
        .await?;
    assert_eq!(members.len(), 6);
    let found = client
        .contacts()
        .list()
        .email(emails[3].clone())
        .send()
        .await?;
    assert_eq!(found.items.len(), 1);
    let changed = "audit.changed@example.com".to_owned();
    client
        .contacts()
        .update(
            &contacts[1],
            &ContactPatch::new().with_email(changed.clone()),
        )
        .send()
        .await?;
    emails.push(changed);
    let now = chrono::Utc::now();
    client
        .events()
        .send_batch(
            &EventBatch::builder()
                .events(vec![
                    NewInteractionEvent::builder()
                        .type_(InteractionEventType::PageView)
                        .occurred_at(now)
                        .build()
                        .with_contact_id(contacts[0].clone()),
                ])
                .build(),
        )
        .send()
        .await?;
    client.contacts().export(&contacts[0]).send().await?;
    // Outside the granted scopes: refused, and audited as a failure.
    let refused = client.audit_events().list().send().await;
    assert!(refused.is_err_and(|e| e.status().map(|s| s.as_u16()) == Some(403)));
    let missing = client
        .contacts()
        .get(ContactId::new("ctc_missing"))
        .send()
        .await;
    assert!(missing.is_err_and(|e| e.is_not_found()));
    client.contacts().erase(&contacts[2]).send().await?;
    assert!(sink.flush());

    let text = std::fs::read_to_string(&path)?;
    let _ = std::fs::remove_file(&path);
    let records: Vec<Value> = text
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;

    // One record per API call: exactly the requests the sandbox saw from this client, in the
    // same order, with the same request ids.
    let trail = server_trail(&admin(&sandbox), sandbox.client_id()).await;
    let ours: Vec<(String, String)> = records
        .iter()
        .map(|r| {
            (
                r["operation"].as_str().unwrap_or_default().to_owned(),
                r["request_id"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let theirs: Vec<(String, String)> = trail
        .iter()
        .map(|e| (e.operation.clone(), e.request_id.clone()))
        .collect();
    assert_eq!(ours, theirs);
    assert_eq!(records.len(), 26, "{text}");
    assert_eq!(sink.dropped(), 0);

    for record in &records {
        assert_eq!(
            record["credential"],
            format!("oauth_client:{}", sandbox.client_id())
        );
        assert_eq!(record["attempts"], 1);
    }
    let erase = records
        .iter()
        .find(|r| r["operation"] == "eraseContact")
        .expect("the erasure is audited");
    assert_eq!(erase["resource_ids"]["contact_id"], contacts[2].to_string());
    assert_eq!(erase["path_template"], "/contacts/{contact_id}/erase");
    let refused = records
        .iter()
        .find(|r| r["operation"] == "listAuditEvents")
        .unwrap();
    assert_eq!(
        (refused["outcome"].as_str(), refused["status"].as_u64()),
        (Some("failure"), Some(403))
    );

    // No personal data and no secret anywhere in the file.
    for needle in emails.iter().chain(&names) {
        assert!(
            !text.contains(needle.as_str()),
            "the audit file holds {needle}"
        );
    }
    assert!(
        !text.contains("+44207"),
        "the audit file holds a phone number"
    );
    assert!(!text.contains(sandbox.client_secret()));
    Ok(())
}

/// Counts what the SDK reports through the `metrics` facade, by metric name and attributes.
#[derive(Default)]
struct CountingRecorder {
    counters: Mutex<HashMap<metrics::Key, Arc<AtomicU64>>>,
    histograms: Mutex<HashMap<metrics::Key, Arc<Samples>>>,
}

#[derive(Default)]
struct Samples(Mutex<Vec<f64>>);

impl metrics::HistogramFn for Samples {
    fn record(&self, value: f64) {
        self.0.lock().unwrap().push(value);
    }
}

impl metrics::Recorder for CountingRecorder {
    fn describe_counter(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_gauge(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_histogram(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }

    fn register_counter(&self, key: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
        let counter = self
            .counters
            .lock()
            .unwrap()
            .entry(key.clone())
            .or_default()
            .clone();
        metrics::Counter::from_arc(counter)
    }

    fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
        metrics::Gauge::noop()
    }

    fn register_histogram(
        &self,
        key: &metrics::Key,
        _: &metrics::Metadata<'_>,
    ) -> metrics::Histogram {
        let samples = self
            .histograms
            .lock()
            .unwrap()
            .entry(key.clone())
            .or_default()
            .clone();
        metrics::Histogram::from_arc(samples)
    }
}

impl CountingRecorder {
    /// Sum of a counter over the series whose attribute `by` has each value.
    fn counter_by(&self, name: &str, by: &str) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for (key, value) in self.counters.lock().unwrap().iter() {
            if key.name() != name {
                continue;
            }
            let label = key
                .labels()
                .find(|l| l.key() == by)
                .map_or_else(String::new, |l| l.value().to_owned());
            *out.entry(label).or_default() += value.load(Ordering::Relaxed);
        }
        out
    }

    /// Samples of a histogram over the series whose attribute `by` has each value.
    fn histogram_by(&self, name: &str, by: &str) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for (key, samples) in self.histograms.lock().unwrap().iter() {
            if key.name() != name {
                continue;
            }
            let label = key
                .labels()
                .find(|l| l.key() == by)
                .map_or_else(String::new, |l| l.value().to_owned());
            *out.entry(label).or_default() += samples.0.lock().unwrap().len() as u64;
        }
        out
    }

    fn histogram_count(&self, name: &str) -> usize {
        self.histograms
            .lock()
            .unwrap()
            .iter()
            .filter(|(key, _)| key.name() == name)
            .map(|(_, samples)| samples.0.lock().unwrap().len())
            .sum()
    }
}

fn recorder() -> &'static CountingRecorder {
    static RECORDER: OnceLock<&'static CountingRecorder> = OnceLock::new();
    RECORDER.get_or_init(|| {
        let recorder: &'static CountingRecorder = Box::leak(Box::default());
        metrics::set_global_recorder(recorder).expect("no other recorder in this test binary");
        recorder
    })
}

#[tokio::test]
async fn metrics_counters_equal_the_sandboxs_own_counts() -> TestResult {
    let recorder = recorder();
    // A tight quota, so the run meets 429s, retries and rate-limit waits on the way.
    let sandbox = Sandbox::builder()
        .standard_tier(RateTier::new(8, Duration::from_secs(1)))
        .start()
        .await?;
    let client = Client::builder(sandbox.base_url())
        .auth(ApiKey::new(sandbox.api_key())?)
        .metrics()
        .build()?;
    let mut ids = Vec::new();
    for i in 0..10 {
        let contact = client
            .contacts()
            .create(
                &NewContact::builder()
                    .email(format!("m{i}@example.com"))
                    .build(),
            )
            .send()
            .await?;
        ids.push(contact.id);
    }
    for id in &ids {
        client.contacts().get(id).send().await?;
    }
    let taken = client
        .contacts()
        .create(&NewContact::builder().email("m0@example.com").build())
        .send()
        .await;
    assert!(taken.is_err_and(|e| e.status().map(|s| s.as_u16()) == Some(409)));
    let _: Vec<Contact> = client
        .contacts()
        .list()
        .limit(3)
        .stream()
        .try_collect()
        .await?;

    let usage = admin(&sandbox)
        .usage()
        .get()
        .consumer("account:standard")
        .send()
        .await?;
    let mut server_requests: BTreeMap<String, u64> = BTreeMap::new();
    let mut server_errors: u64 = 0;
    for row in &usage.rows {
        *server_requests.entry(row.operation.clone()).or_default() += row.requests as u64;
        server_errors += row.errors as u64;
    }
    let sdk_requests =
        recorder.histogram_by("http.client.request.duration", "marketing_api.operation");
    assert_eq!(sdk_requests, server_requests);
    let sdk_errors: u64 = recorder
        .histogram_by("http.client.request.duration", "error.type")
        .iter()
        .filter(|(error, _)| !error.is_empty())
        .map(|(_, n)| n)
        .sum();
    assert_eq!(sdk_errors, server_errors);
    let total: u64 = server_requests.values().sum();
    assert_eq!(
        recorder.histogram_count("http.client.request.duration") as u64,
        total
    );
    // The quota was hit, and every 429 was retried.
    let rate_limited = recorder
        .histogram_by("http.client.request.duration", "http.response.status_code")
        .get("429")
        .copied()
        .unwrap_or(0);
    let retries: u64 = recorder
        .counter_by("marketing_api.client.retries", "marketing_api.operation")
        .values()
        .sum();
    let waits: u64 = recorder
        .counter_by(
            "marketing_api.client.rate_limit.waits",
            "marketing_api.operation",
        )
        .values()
        .sum();
    assert!(rate_limited + waits > 0, "the run never met the quota");
    assert_eq!(retries, rate_limited);
    Ok(())
}

/// Asks for the key's revocation when the first retry is decided, so the retry is the
/// in-flight request of a revoked key.
struct RevokeOnRetry(tokio::sync::mpsc::UnboundedSender<()>);

impl Interceptor for RevokeOnRetry {
    fn on_retry(&self, _: &Context<'_>) -> Result<(), HookError> {
        let _ = self.0.send(());
        Ok(())
    }
}

#[tokio::test]
async fn a_revoked_key_stops_on_its_next_request_and_retry_while_others_keep_working() -> TestResult
{
    let sandbox = Sandbox::start().await?;
    let admin = admin(&sandbox);
    let new_key = |name: &str| {
        NewApiKey::builder()
            .name(name)
            .scopes(vec![ApiKeyScope::ContactsRead])
            .build()
    };
    let crm = admin.api_keys().create(&new_key("CRM")).send().await?;
    let bi = admin.api_keys().create(&new_key("BI")).send().await?;
    let crm_client = Client::builder(sandbox.base_url())
        .auth(ApiKey::new(crm.secret.clone())?)
        .retry_policy(RetryPolicy::default().max_attempts(4))
        .build()?;
    let bi_client = Client::builder(sandbox.base_url())
        .auth(ApiKey::new(bi.secret.clone())?)
        .build()?;
    crm_client.contacts().list().send().await?;
    bi_client.contacts().list().send().await?;

    // The next request of the CRM key meets a 503 (retried after `Retry-After: 1`); while it
    // waits, the key is revoked and the outage ends.
    let (revoke, mut revoke_requested) = tokio::sync::mpsc::unbounded_channel();
    let in_flight = Client::builder(sandbox.base_url())
        .auth(ApiKey::new(crm.secret.clone())?)
        .retry_policy(RetryPolicy::default().max_attempts(4))
        .interceptor(RevokeOnRetry(revoke))
        .build()?;
    sandbox
        .settings()
        .set_faults(marketing_api_sandbox::FaultSettings {
            rate_503: 1.0,
            ..Default::default()
        });
    let revoker = {
        let admin = admin.clone();
        let settings = sandbox.settings().clone();
        let id = crm.api_key.id.clone();
        tokio::spawn(async move {
            revoke_requested.recv().await;
            settings.clear_faults();
            admin.api_keys().revoke(&id).send().await
        })
    };
    let refused = in_flight
        .contacts()
        .list()
        .send()
        .await
        .expect_err("the retry is refused");
    let revoked = revoker.await??;
    assert_eq!(revoked.status, ApiKeyStatus::Revoked);
    // The retry got 401 `api_key_revoked`, and the SDK did not retry that.
    assert_eq!(refused.status().map(|s| s.as_u16()), Some(401), "{refused}");
    assert_eq!(
        refused
            .api_error()
            .and_then(|e| e.code.as_ref())
            .map(|c| c.as_str()),
        Some("api_key_revoked")
    );
    assert_eq!(refused.attempts(), 2, "{refused}");
    // Every other client of the key stops at once too; the other key keeps working.
    let next = crm_client
        .contacts()
        .list()
        .send()
        .await
        .expect_err("revoked");
    assert_eq!(next.attempts(), 1);
    bi_client.contacts().list().send().await?;

    // The sandbox saw (injected faults are answered before a request is audited): the first
    // success, the refused retry and the refused next request.
    let trail = server_trail(&admin, crm.api_key.id.as_str()).await;
    let statuses: Vec<i32> = trail.iter().map(|e| e.status).collect();
    assert_eq!(statuses, [200, 401, 401]);
    Ok(())
}

#[tokio::test]
async fn after_erasure_no_endpoint_and_no_later_webhook_returns_the_contact() -> TestResult {
    use axum::body::Bytes;
    let sandbox = Sandbox::builder()
        .webhook_retry_schedule(vec![Duration::from_millis(200); 4])
        .start()
        .await?;
    let client = admin(&sandbox);
    // A receiver that fails until told otherwise, so deliveries wait in the retry queue.
    let received: Arc<Mutex<Vec<String>>> = Arc::default();
    let healthy = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let app = {
        let received = received.clone();
        let healthy = healthy.clone();
        axum::Router::new().fallback(move |body: Bytes| {
            let received = received.clone();
            let healthy = healthy.clone();
            async move {
                received
                    .lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&body).into_owned());
                if healthy.load(Ordering::SeqCst) {
                    http::StatusCode::NO_CONTENT
                } else {
                    http::StatusCode::SERVICE_UNAVAILABLE
                }
            }
        })
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hooks", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    client
        .webhook_endpoints()
        .create(
            &NewWebhookEndpoint::builder()
                .url(&url)
                .event_types(vec![
                    WebhookEventType::ContactCreated,
                    WebhookEventType::ContactUpdated,
                ])
                .build(),
        )
        .send()
        .await?;

    let email = "erase.subject@example.com";
    let contact = client
        .contacts()
        .create(
            &NewContact::builder()
                .email(email)
                .build()
                .with_first_name("Subject"),
        )
        .send()
        .await?;
    let id = contact.id.clone();
    let other = client
        .contacts()
        .create(&NewContact::builder().email("stays@example.com").build())
        .send()
        .await?;
    let audience = client
        .audiences()
        .create(&NewAudience::builder().name("All").build())
        .send()
        .await?;
    client
        .audiences()
        .contacts(&audience.id)
        .add(
            &AudienceMembershipChange::builder()
                .contact_ids(vec![id.clone(), other.id.clone()])
                .build(),
        )
        .send()
        .await?;
    client
        .events()
        .send_batch(
            &EventBatch::builder()
                .events(vec![
                    NewInteractionEvent::builder()
                        .type_(InteractionEventType::EmailOpen)
                        .occurred_at(chrono::Utc::now())
                        .build()
                        .with_contact_id(id.clone()),
                ])
                .build(),
        )
        .send()
        .await?;

    let export = client.contacts().export(&id).send().await?;
    assert_eq!(export.contact.email, email);
    assert_eq!(export.events.len(), 1);
    assert_eq!(export.audiences.len(), 1);

    let receipt = client.contacts().erase(&id).send().await?;
    assert_eq!(receipt.contact_id, id);
    assert_eq!((receipt.events_erased, receipt.memberships_removed), (1, 1));
    assert!(receipt.deliveries_withdrawn >= 1);
    let before = received.lock().unwrap().len();

    // No endpoint returns the contact's data.
    assert!(
        client
            .contacts()
            .get(&id)
            .send()
            .await
            .is_err_and(|e| e.is_not_found())
    );
    assert!(
        client
            .contacts()
            .export(&id)
            .send()
            .await
            .is_err_and(|e| e.is_not_found())
    );
    let everyone: Vec<Contact> = client.contacts().list().stream().try_collect().await?;
    assert_eq!(
        everyone.iter().map(|c| &c.id).collect::<Vec<_>>(),
        [&other.id]
    );
    let by_email = client.contacts().list().email(email).send().await?;
    assert!(by_email.items.is_empty());
    let events: Vec<InteractionEvent> = client.events().list().stream().try_collect().await?;
    assert!(events.iter().all(|e| e.contact_id.as_ref() != Some(&id)));
    let members: Vec<Contact> = client
        .audiences()
        .contacts(&audience.id)
        .list()
        .stream()
        .try_collect()
        .await?;
    assert_eq!(members.len(), 1);
    let deliveries: Vec<WebhookDelivery> = client
        .webhook_deliveries()
        .list()
        .stream()
        .try_collect()
        .await?;
    for delivery in &deliveries {
        assert!(!serde_json::to_string(delivery)?.contains(id.as_str()));
    }

    // Later webhooks do not carry it, though the receiver now accepts everything.
    healthy.store(true, Ordering::SeqCst);
    client
        .contacts()
        .update(
            &other.id,
            &ContactPatch::new().with_first_name("Still here"),
        )
        .send()
        .await?;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let later = received.lock().unwrap()[before..].to_vec();
    assert!(
        later.iter().any(|b| b.contains("Still here")),
        "later webhooks were delivered"
    );
    for body in &later {
        assert!(
            !body.contains(email) && !body.contains(id.as_str()),
            "{body}"
        );
    }

    // The audit trail shows the erasure, and none of the erased data.
    let trail: Vec<AuditEvent> = client
        .audit_events()
        .list()
        .resource_id(id.to_string())
        .stream()
        .try_collect()
        .await?;
    let erasure = trail
        .iter()
        .find(|e| e.operation == "eraseContact")
        .expect("the erasure is in the trail");
    assert_eq!(erasure.status, 200);
    assert_eq!(erasure.path_template, "/contacts/{contact_id}/erase");
    let everything: Vec<AuditEvent> = client.audit_events().list().stream().try_collect().await?;
    let text = serde_json::to_string(
        &everything
            .iter()
            .map(|e| {
                json!({
                    "op": e.operation, "resource": e.resource_id, "actor": e.actor.id,
                })
            })
            .collect::<Vec<_>>(),
    )?;
    assert!(!text.contains(email) && !text.contains("Subject"));
    Ok(())
}
