//! Soak: many concurrent item streams, event batches and CRUD calls through the public client
//! against the sandbox while it injects faults (429, 500, 503, dropped connections, and its real
//! rate limiter), for a fixed time. Afterwards the sandbox's state must be exactly what the
//! clients believe they did: the campaigns and contacts each worker thinks exist are the ones
//! the sandbox lists, and the events it counts are the ones the clients were told it accepted.
//!
//! Kept out of the default run (it takes wall-clock time). Run it with
//!
//! ```text
//! SOAK_SECONDS=60 cargo test --release --test soak -- --ignored --nocapture
//! ```
//!
//! `SOAK_SECONDS` defaults to 5; `.ci/soak` runs it at that size.
//!
//! The sandbox injects every fault before it handles a request, so a call that failed changed
//! nothing; only a call whose answer never arrived (a timeout or a connection lost after
//! sending) has an unknown outcome. Those are counted apart and widen the check to a range; with
//! the sandbox's faults they do not happen, and the test reports how many there were.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use marketing_api::auth::ApiKey;
use marketing_api::models::{
    CampaignId, CampaignPatch, ContactId, EventBatch, InteractionEventType, NewCampaign,
    NewContact, NewInteractionEvent,
};
use marketing_api::retry::{RetryBudgetConfig, RetryPolicy};
use marketing_api::{Client, Error, ErrorKind};
use marketing_api_sandbox::{FaultSettings, RateTier, Sandbox};

const WORKERS_PER_KIND: usize = 8;
const EVENTS_PER_BATCH: usize = 25;

fn soak_duration() -> Duration {
    let seconds = std::env::var("SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(5);
    Duration::from_secs(seconds.max(1))
}

/// What every worker counts.
#[derive(Default)]
struct Tally {
    calls: AtomicU64,
    failed_calls: AtomicU64,
    /// Mutations whose answer never arrived: they may or may not have happened.
    uncertain: AtomicU64,
    campaigns_created: AtomicU64,
    campaigns_deleted: AtomicU64,
    campaigns_updated: AtomicU64,
    contacts_created: AtomicU64,
    contacts_deleted: AtomicU64,
    events_accepted: AtomicU64,
    uncertain_events: AtomicU64,
    streamed_items: AtomicU64,
    streams: AtomicU64,
}

impl Tally {
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts a failed call; true if its outcome is unknown.
    fn failed(&self, error: &Error) -> bool {
        Self::add(&self.failed_calls, 1);
        // Every failure must be one of the typed, expected kinds.
        assert!(
            matches!(
                error.kind(),
                ErrorKind::Api | ErrorKind::Transport | ErrorKind::Timeout
            ),
            "unexpected failure: {error:?}"
        );
        let unknown = matches!(error.kind(), ErrorKind::Transport | ErrorKind::Timeout);
        if unknown {
            Self::add(&self.uncertain, 1);
        }
        unknown
    }
}

fn client(sandbox: &Sandbox, key: &str) -> Client {
    Client::builder(sandbox.base_url())
        .auth(ApiKey::new(key).expect("sandbox key"))
        .retry_policy(
            RetryPolicy::default()
                .max_attempts(6)
                .base_delay(Duration::from_millis(20))
                .max_backoff(Duration::from_millis(500)),
        )
        // The budget is covered by the retry tests; here every call may retry its full share,
        // so unknown outcomes stay rare and the final comparison can be exact.
        .retry_budget(RetryBudgetConfig::unlimited())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

/// Creates, updates and deletes campaigns; returns the ids it believes exist.
async fn campaign_worker(
    client: Client,
    worker: usize,
    until: Instant,
    tally: Arc<Tally>,
) -> (HashSet<String>, HashSet<String>) {
    let mut live = HashSet::new();
    let mut uncertain = HashSet::new();
    let mut n = 0u64;
    while Instant::now() < until {
        n += 1;
        Tally::add(&tally.calls, 1);
        let name = format!("soak-{worker}-{n}");
        match client
            .campaigns()
            .create(
                &NewCampaign::builder()
                    .name(name.clone())
                    .budget_cents(10_000 + n as i64)
                    .build(),
            )
            .send()
            .await
        {
            Ok(campaign) => {
                assert_eq!(campaign.name, name);
                Tally::add(&tally.campaigns_created, 1);
                live.insert(campaign.id.to_string());
            }
            Err(error) => {
                if tally.failed(&error) {
                    uncertain.insert(name);
                }
            }
        }
        // Every third round: rename one; every fourth: delete one.
        if n.is_multiple_of(3)
            && let Some(id) = live.iter().next().cloned()
        {
            Tally::add(&tally.calls, 1);
            match client
                .campaigns()
                .update(
                    CampaignId::new(id.as_str()),
                    &CampaignPatch::new().with_name(format!("soak-{worker}-{n}-renamed")),
                )
                .send()
                .await
            {
                Ok(_) => Tally::add(&tally.campaigns_updated, 1),
                Err(error) => {
                    tally.failed(&error);
                }
            }
        }
        if n.is_multiple_of(4)
            && let Some(id) = live.iter().next().cloned()
        {
            Tally::add(&tally.calls, 1);
            match client
                .campaigns()
                .delete(CampaignId::new(id.as_str()))
                .send()
                .await
            {
                Ok(_) => {
                    Tally::add(&tally.campaigns_deleted, 1);
                    live.remove(&id);
                }
                Err(error) => {
                    if tally.failed(&error) {
                        // Maybe deleted: no longer counted either way.
                        live.remove(&id);
                        uncertain.insert(id);
                    }
                }
            }
        }
    }
    (live, uncertain)
}

/// Creates and deletes contacts; returns the ids it believes exist.
async fn contact_worker(
    client: Client,
    worker: usize,
    until: Instant,
    tally: Arc<Tally>,
) -> (HashSet<String>, u64) {
    let mut live = HashSet::new();
    let mut uncertain = 0;
    let mut n = 0u64;
    while Instant::now() < until {
        n += 1;
        Tally::add(&tally.calls, 1);
        let email = format!("soak.{worker}.{n}@example.com");
        match client
            .contacts()
            .create(
                &NewContact::builder()
                    .email(email)
                    .build()
                    .with_first_name("Soak"),
            )
            .send()
            .await
        {
            Ok(contact) => {
                Tally::add(&tally.contacts_created, 1);
                live.insert(contact.id.to_string());
            }
            Err(error) => {
                if tally.failed(&error) {
                    uncertain += 1;
                }
            }
        }
        if n.is_multiple_of(5)
            && let Some(id) = live.iter().next().cloned()
        {
            Tally::add(&tally.calls, 1);
            match client
                .contacts()
                .delete(ContactId::new(id.as_str()))
                .send()
                .await
            {
                Ok(_) => {
                    Tally::add(&tally.contacts_deleted, 1);
                    live.remove(&id);
                }
                Err(error) => {
                    if tally.failed(&error) {
                        live.remove(&id);
                        uncertain += 1;
                    }
                }
            }
        }
    }
    (live, uncertain)
}

/// Sends event batches and adds up what the sandbox says it accepted.
async fn event_worker(client: Client, until: Instant, tally: Arc<Tally>) {
    while Instant::now() < until {
        Tally::add(&tally.calls, 1);
        let events = (0..EVENTS_PER_BATCH)
            .map(|i| {
                NewInteractionEvent::builder()
                    .type_(InteractionEventType::PageView)
                    .occurred_at(chrono::Utc::now())
                    .build()
                    .with_value_cents(i as i64)
            })
            .collect();
        match client
            .events()
            .send_batch(&EventBatch::builder().events(events).build())
            .send()
            .await
        {
            Ok(result) => {
                assert_eq!(result.accepted + result.rejected, EVENTS_PER_BATCH as i64);
                Tally::add(&tally.events_accepted, result.accepted as u64);
            }
            Err(error) => {
                if tally.failed(&error) {
                    Tally::add(&tally.uncertain_events, EVENTS_PER_BATCH as u64);
                }
            }
        }
    }
}

/// Streams every campaign again and again; a stream never yields an id twice.
async fn stream_worker(client: Client, until: Instant, tally: Arc<Tally>) {
    while Instant::now() < until {
        let mut stream = client.campaigns().list().limit(7).stream();
        let mut seen = HashSet::new();
        let result: Result<(), Error> = async {
            while let Some(campaign) = stream.try_next().await? {
                assert!(
                    seen.insert(campaign.id.to_string()),
                    "a stream yielded {} twice",
                    campaign.id
                );
            }
            Ok(())
        }
        .await;
        Tally::add(&tally.calls, 1);
        Tally::add(&tally.streamed_items, seen.len() as u64);
        match result {
            Ok(()) => Tally::add(&tally.streams, 1),
            Err(error) => {
                tally.failed(&error);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "soak: run with `cargo test --release --test soak -- --ignored` (SOAK_SECONDS sets the length)"]
async fn the_sandbox_state_matches_what_the_clients_did() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sandbox = Sandbox::builder()
        .seed(0x50a4)
        .standard_tier(RateTier::new(200, Duration::from_secs(1)))
        .premium_tier(RateTier::new(2000, Duration::from_secs(1)))
        .start()
        .await
        .expect("sandbox");
    sandbox.settings().set_faults(FaultSettings {
        latency: Duration::from_millis(1),
        rate_429: 0.04,
        rate_500: 0.04,
        rate_503: 0.02,
        drop_rate: 0.04,
        apply_to_oauth: false,
    });
    let standard = client(&sandbox, sandbox.api_key());
    let premium = client(&sandbox, sandbox.premium_api_key());
    let tally = Arc::new(Tally::default());
    let duration = soak_duration();
    let started = Instant::now();
    let until = started + duration;

    let mut campaign_tasks = Vec::new();
    let mut contact_tasks = Vec::new();
    let mut other_tasks = Vec::new();
    for worker in 0..WORKERS_PER_KIND {
        // Half the workers share the standard key and its tighter rate limit.
        let client = if worker % 2 == 0 {
            standard.clone()
        } else {
            premium.clone()
        };
        campaign_tasks.push(tokio::spawn(campaign_worker(
            client.clone(),
            worker,
            until,
            tally.clone(),
        )));
        contact_tasks.push(tokio::spawn(contact_worker(
            client.clone(),
            worker,
            until,
            tally.clone(),
        )));
        other_tasks.push(tokio::spawn(event_worker(
            client.clone(),
            until,
            tally.clone(),
        )));
        other_tasks.push(tokio::spawn(stream_worker(client, until, tally.clone())));
    }
    let mut believed_campaigns = BTreeSet::new();
    let mut uncertain_campaigns = 0usize;
    for task in campaign_tasks {
        let (live, uncertain) = task.await.expect("campaign worker");
        uncertain_campaigns += uncertain.len();
        believed_campaigns.extend(live);
    }
    let mut believed_contacts = BTreeSet::new();
    let mut uncertain_contacts = 0u64;
    for task in contact_tasks {
        let (live, uncertain) = task.await.expect("contact worker");
        uncertain_contacts += uncertain;
        believed_contacts.extend(live);
    }
    for task in other_tasks {
        task.await.expect("worker");
    }
    let elapsed = started.elapsed();

    // Read the state back without faults.
    sandbox.settings().clear_faults();
    let listed_campaigns: BTreeSet<String> = premium
        .campaigns()
        .list()
        .limit(100)
        .stream()
        .map_ok(|c| c.id.to_string())
        .try_collect()
        .await
        .expect("list campaigns");
    let listed_contacts: BTreeSet<String> = premium
        .contacts()
        .list()
        .limit(100)
        .stream()
        .map_ok(|c| c.id.to_string())
        .try_collect()
        .await
        .expect("list contacts");

    let t = |c: &AtomicU64| c.load(Ordering::Relaxed);
    println!(
        "soak: {elapsed:.1?}, {} calls ({} failed after retries, {} with unknown outcome); \
         campaigns +{} ~{} -{} (sandbox {}), contacts +{} -{} (sandbox {}), events accepted {} \
         (sandbox {}), {} streams read {} items, {} idempotent replays",
        t(&tally.calls),
        t(&tally.failed_calls),
        t(&tally.uncertain),
        t(&tally.campaigns_created),
        t(&tally.campaigns_updated),
        t(&tally.campaigns_deleted),
        sandbox.campaign_count(),
        t(&tally.contacts_created),
        t(&tally.contacts_deleted),
        sandbox.contact_count(),
        t(&tally.events_accepted),
        sandbox.accepted_event_count(),
        t(&tally.streams),
        t(&tally.streamed_items),
        sandbox.idempotent_replays(),
    );

    assert!(t(&tally.campaigns_created) > 0 && t(&tally.events_accepted) > 0);
    assert!(t(&tally.streams) > 0, "no stream completed");
    // Every campaign a client believes exists, exists; anything more came from a call whose
    // outcome the client could not know.
    assert!(
        believed_campaigns.is_subset(&listed_campaigns),
        "missing: {:?}",
        believed_campaigns
            .difference(&listed_campaigns)
            .collect::<Vec<_>>()
    );
    assert!(
        listed_campaigns.len() <= believed_campaigns.len() + uncertain_campaigns,
        "the sandbox has {} campaigns, the clients account for {} (+{} uncertain)",
        listed_campaigns.len(),
        believed_campaigns.len(),
        uncertain_campaigns
    );
    assert_eq!(listed_campaigns.len(), sandbox.campaign_count());
    assert_eq!(
        sandbox.campaign_count() as u64,
        t(&tally.campaigns_created) - t(&tally.campaigns_deleted)
            + (listed_campaigns.len() - believed_campaigns.len()) as u64
    );
    assert!(believed_contacts.is_subset(&listed_contacts));
    assert!(listed_contacts.len() as u64 <= believed_contacts.len() as u64 + uncertain_contacts);
    assert_eq!(listed_contacts.len(), sandbox.contact_count());
    let accepted = sandbox.accepted_event_count();
    assert!(
        accepted >= t(&tally.events_accepted)
            && accepted <= t(&tally.events_accepted) + t(&tally.uncertain_events),
        "sandbox accepted {accepted} events, clients were told {} (+{} uncertain)",
        t(&tally.events_accepted),
        t(&tally.uncertain_events)
    );
    if t(&tally.uncertain) == 0 {
        // No unknown outcomes: the match is exact.
        assert_eq!(believed_campaigns, listed_campaigns);
        assert_eq!(believed_contacts, listed_contacts);
        assert_eq!(accepted, t(&tally.events_accepted));
    }
    sandbox.shutdown().await;
}
