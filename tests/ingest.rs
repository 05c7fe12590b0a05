//! `Events::ingest` against the sandbox on 127.0.0.1: volume, injected faults, answers lost
//! after the server stored a batch, rejections mapped back to their events, progress,
//! backpressure, and streams that fail or end mid-batch.
//!
//! The volume tests send 100,000 events by default so a debug build stays quick on a small
//! machine; set `INGEST_TEST_EVENTS=1000000` for the full launch volume (the release benchmark
//! `cargo bench --bench ingest` ingests 1,000,000 every run).

mod support;

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt, stream};
use marketing_api::auth::ApiKey;
use marketing_api::ingest::{IngestError, IngestProgress, local_codes};
use marketing_api::models::{ContactId, InteractionEventType, NewContact, NewInteractionEvent};
use marketing_api::retry::RetryBudgetConfig;
use marketing_api::{Client, ErrorKind};
use marketing_api_sandbox::{FaultSettings, Sandbox};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn volume() -> u64 {
    std::env::var("INGEST_TEST_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

/// A sandbox no rate limit gets in the way of, its faults seeded.
async fn sandbox() -> Sandbox {
    support::unlimited_sandbox(0x1a9e).await
}

fn client(base_url: &str, key: &str) -> Client {
    Client::builder(base_url)
        .auth(ApiKey::new(key).expect("valid key"))
        .build()
        .expect("client builds")
}

/// A linger no test outlives: a batch then closes only when it is full or the input ends, so
/// batch counts do not depend on how busy the machine is (the default 50 ms linger can close a
/// batch early while the packer waits for a free slot on a loaded machine).
const LINGER_PAST_THE_TEST: Duration = Duration::from_secs(3_600);

fn occurred_at() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_790_000_000, 0).expect("valid timestamp")
}

/// Small, varied events: about 60 bytes of JSON each.
fn generated(count: u64) -> impl Stream<Item = NewInteractionEvent> + Send + 'static {
    let at = occurred_at();
    stream::iter(0..count).map(move |i| {
        let kind = match i % 3 {
            0 => InteractionEventType::PageView,
            1 => InteractionEventType::EmailOpen,
            _ => InteractionEventType::AdClick,
        };
        NewInteractionEvent::builder()
            .type_(kind)
            .occurred_at(at + chrono::Duration::milliseconds(i as i64))
            .build()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volume_is_counted_once_by_the_sandbox() {
    let sandbox = sandbox().await;
    let client = client(&sandbox.base_url(), sandbox.premium_api_key());
    let n = volume();

    let report = client
        .events()
        .ingest(generated(n))
        // The producer never pauses, so batches fill by count; a long linger makes sure a
        // stalled CPU on a busy machine cannot send a partial one early.
        .linger(Duration::from_secs(30))
        .run()
        .await
        .expect("ingest runs");

    assert_eq!(report.read, n);
    assert_eq!(report.accepted, n);
    assert_eq!(sandbox.accepted_event_count(), report.accepted);
    assert!(report.rejected.is_empty(), "{:?}", report.rejected.first());
    assert!(report.undeliverable.is_empty());
    // 500 events of ~60 bytes fit well under the byte bound: batches are full by count.
    assert_eq!(report.batches, n.div_ceil(500));
    assert!(report.all_accepted());
}

/// Forwards every request to the sandbox; for a seeded share of the ones the sandbox answered
/// with 200, it throws the answer away and says 503, as a proxy or a dying connection would
/// after the server had already stored the batch.
#[derive(Clone)]
struct LossyProxy {
    upstream: String,
    http: reqwest::Client,
    rng: Arc<Mutex<StdRng>>,
    lost_share: f64,
    lost: Arc<AtomicU64>,
}

async fn forward(
    State(proxy): State<LossyProxy>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let url = format!("{}{}", proxy.upstream, uri.path());
    let mut request = proxy.http.request(method, url).body(body);
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    let Ok(answer) = request.send().await else {
        return (StatusCode::BAD_GATEWAY, "upstream unreachable").into_response();
    };
    let status = answer.status();
    let answer_headers = answer.headers().clone();
    let Ok(answer_body) = answer.bytes().await else {
        return (StatusCode::BAD_GATEWAY, "upstream body lost").into_response();
    };
    let lose = status == StatusCode::OK && {
        let draw: f64 = proxy.rng.lock().unwrap_or_else(|p| p.into_inner()).random();
        draw < proxy.lost_share
    };
    if lose {
        proxy.lost.fetch_add(1, Ordering::Relaxed);
        return (StatusCode::SERVICE_UNAVAILABLE, "answer lost").into_response();
    }
    let mut response = (status, answer_body).into_response();
    for (name, value) in &answer_headers {
        if name != "content-length" && name != "transfer-encoding" {
            response.headers_mut().insert(name, value.clone());
        }
    }
    response
}

async fn start_proxy(upstream: &str, lost_share: f64) -> (String, Arc<AtomicU64>) {
    let lost = Arc::new(AtomicU64::new(0));
    let proxy = LossyProxy {
        upstream: upstream.trim_end_matches("/v1").to_owned(),
        http: reqwest::Client::new(),
        rng: Arc::new(Mutex::new(StdRng::seed_from_u64(0x105e))),
        lost_share,
        lost: lost.clone(),
    };
    let addr = support::serve(Router::new().fallback(forward).with_state(proxy)).await;
    (format!("http://{addr}/v1"), lost)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_and_lost_answers_neither_lose_nor_double_count_events() {
    let sandbox = sandbox().await;
    sandbox.settings().set_faults(FaultSettings {
        rate_503: 0.20,
        drop_rate: 0.05,
        ..FaultSettings::default()
    });
    let (proxy_url, lost) = start_proxy(&sandbox.base_url(), 0.10).await;
    // The default budget is sized for occasional failures; a third of attempts failing on
    // purpose would spend it, and this test is about what happens to retried batches.
    let client = Client::builder(&proxy_url)
        .auth(ApiKey::new(sandbox.premium_api_key()).expect("valid key"))
        .retry_budget(RetryBudgetConfig::unlimited())
        .build()
        .expect("client builds");
    let n = volume();

    let report = client
        .events()
        .ingest(generated(n))
        .concurrency(8)
        .max_attempts(12)
        .run()
        .await
        .expect("ingest runs");

    let undeliverable = report.undeliverable_events();
    assert_eq!(
        report.accepted + report.rejected.len() as u64 + undeliverable,
        n,
        "every event is accounted for"
    );
    assert_eq!(
        sandbox.accepted_event_count(),
        report.accepted,
        "the sandbox stored each accepted event once"
    );
    assert!(report.rejected.is_empty(), "{:?}", report.rejected.first());
    assert_eq!(undeliverable, 0, "{:?}", report.undeliverable.first());
    assert_eq!(report.accepted, n);
    // The proxy really did throw away answers of stored batches, and their retries were
    // answered from the idempotency store instead of storing the events again.
    let lost = lost.load(Ordering::Relaxed);
    assert!(lost > 0, "no answer was lost");
    assert!(
        sandbox.idempotent_replays() >= lost,
        "{} replays for {lost} lost answers",
        sandbox.idempotent_replays()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_events_come_back_with_the_servers_reason() {
    let sandbox = sandbox().await;
    let client = client(&sandbox.base_url(), sandbox.premium_api_key());
    let contact = client
        .contacts()
        .create(&NewContact::builder().email("ada@example.com").build())
        .send()
        .await
        .expect("contact created");
    let at = occurred_at();
    let events = stream::iter(0..1_200u64).map(move |i| {
        let event = NewInteractionEvent::builder()
            .type_(InteractionEventType::PageView)
            .occurred_at(at)
            .build();
        if i % 7 == 3 {
            event.with_contact_id(ContactId::new("ctc_missing"))
        } else {
            event.with_contact_id(contact.id.clone())
        }
    });

    let report = client
        .events()
        .ingest(events)
        .run()
        .await
        .expect("ingest runs");

    let expected: Vec<u64> = (0..1_200).filter(|i| i % 7 == 3).collect();
    let positions: Vec<u64> = report.rejected.iter().map(|r| r.position).collect();
    assert_eq!(positions, expected);
    for rejected in &report.rejected {
        assert!(!rejected.local);
        assert_eq!(rejected.reason.code, "resource_missing");
        assert!(
            rejected.reason.message.contains("ctc_missing"),
            "{:?}",
            rejected.reason
        );
        let index_in_batch = rejected.position % 500;
        assert_eq!(
            rejected.reason.param.as_deref(),
            Some(format!("events[{index_in_batch}].contact_id").as_str())
        );
        assert_eq!(
            rejected.event.contact_id.as_ref().map(|c| c.as_str()),
            Some("ctc_missing")
        );
    }
    assert_eq!(report.accepted, 1_200 - expected.len() as u64);
    assert_eq!(sandbox.accepted_event_count(), report.accepted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_reaches_the_final_counts() {
    let sandbox = sandbox().await;
    let client = client(&sandbox.base_url(), sandbox.premium_api_key());
    let seen: Arc<Mutex<Vec<IngestProgress>>> = Arc::default();
    let recorder = seen.clone();
    let ingest = client
        .events()
        .ingest(generated(5_000))
        .max_batch_events(250)
        .linger(LINGER_PAST_THE_TEST)
        .on_progress(move |p| recorder.lock().unwrap_or_else(|e| e.into_inner()).push(*p));
    let mut receiver = ingest.progress();
    let watcher = tokio::spawn(async move {
        let mut updates = 0u32;
        while receiver.changed().await.is_ok() {
            updates += 1;
            if receiver.borrow().finished {
                break;
            }
        }
        (updates, *receiver.borrow())
    });

    let report = ingest.run().await.expect("ingest runs");

    let (updates, last) = watcher.await.expect("watcher ends");
    assert!(updates >= 1);
    assert!(last.finished);
    assert_eq!(
        (
            last.read,
            last.sent,
            last.accepted,
            last.rejected,
            last.failed
        ),
        (5_000, 5_000, 5_000, 0, 0)
    );
    assert_eq!((last.batches, last.in_flight), (20, 0));
    assert_eq!(report.accepted, last.accepted);

    let seen = seen.lock().unwrap_or_else(|e| e.into_inner());
    assert_eq!(seen.last(), Some(&last));
    for pair in seen.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        assert!(b.read >= a.read && b.sent >= a.sent && b.accepted >= a.accepted);
        assert!(b.sent <= b.read && b.accepted + b.rejected + b.failed <= b.sent);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_stream_stops_reading_and_flushes_what_it_read() {
    let sandbox = sandbox().await;
    let client = client(&sandbox.base_url(), sandbox.premium_api_key());
    let at = occurred_at();
    let events = stream::iter(0..1_000u32).map(move |i| {
        if i == 730 {
            Err(std::io::Error::other("the export file is truncated"))
        } else {
            Ok(NewInteractionEvent::builder()
                .type_(InteractionEventType::PageView)
                .occurred_at(at)
                .build())
        }
    });

    let error = client
        .events()
        .ingest(events)
        .linger(Duration::from_secs(30))
        .run()
        .await
        .expect_err("the stream failed");

    assert!(matches!(error, IngestError::SourceFailed { .. }), "{error}");
    let cause = std::error::Error::source(&error).expect("the stream's error is the source");
    assert!(cause.to_string().contains("truncated"), "{error}: {cause}");
    let report = error.report().expect("a report");
    // 730 were read before the error; the 230 after it were never read. The half-filled
    // second batch went out at once despite the long linger.
    assert_eq!(report.read, 730);
    assert_eq!(report.accepted, 730);
    assert_eq!(report.batches, 2);
    assert_eq!(sandbox.accepted_event_count(), 730);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_end_of_the_stream_and_the_linger_time_send_partial_batches() {
    let sandbox = sandbox().await;
    let client = client(&sandbox.base_url(), sandbox.premium_api_key());

    // The end of the input sends the last partial batch without waiting for the linger.
    let started = std::time::Instant::now();
    let report = client
        .events()
        .ingest(generated(1_234))
        .linger(Duration::from_secs(30))
        .run()
        .await
        .expect("ingest runs");
    assert_eq!((report.accepted, report.batches), (1_234, 3));
    assert!(started.elapsed() < Duration::from_secs(20));

    // A producer that pauses: the partial batch goes out after the linger, while the stream
    // is still open.
    let (tx, rx) = tokio::sync::mpsc::channel::<NewInteractionEvent>(16);
    let events = tokio_stream_from(rx);
    let ingest = tokio::spawn(
        client
            .events()
            .ingest(events)
            .linger(Duration::from_millis(50))
            .run(),
    );
    for _ in 0..3 {
        tx.send(
            NewInteractionEvent::builder()
                .type_(InteractionEventType::Purchase)
                .occurred_at(occurred_at())
                .build(),
        )
        .await
        .expect("ingest is reading");
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while sandbox.accepted_event_count() < 1_234 + 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "the lingering batch was not sent"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(tx);
    let report = ingest.await.expect("task").expect("ingest runs");
    assert_eq!((report.accepted, report.batches), (3, 1));
}

fn tokio_stream_from<T: Send + 'static>(
    mut rx: tokio::sync::mpsc::Receiver<T>,
) -> impl Stream<Item = T> + Send + 'static {
    stream::poll_fn(move |cx| rx.poll_recv(cx))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_respect_the_count_and_byte_bounds_and_oversized_events_are_refused() {
    let sandbox = sandbox().await;
    let client = client(&sandbox.base_url(), sandbox.premium_api_key());
    let at = occurred_at();
    let padded = |bytes: usize| {
        NewInteractionEvent::builder()
            .type_(InteractionEventType::Custom)
            .occurred_at(at)
            .build()
            .with_properties(serde_json::json!({ "note": "x".repeat(bytes) }))
            .expect("an object")
    };
    // 100 events of ~1,100 bytes: a 10,000-byte bound fits 8 of them per batch.
    let mut events: Vec<NewInteractionEvent> = (0..100).map(|_| padded(1_000)).collect();
    events.insert(40, padded(20_000));
    let one = serde_json::to_vec(&events[0]).expect("serializes").len();
    let per_batch = (10_000 - 13 + 1) / (one + 1);

    let report = client
        .events()
        .ingest(stream::iter(events))
        .max_batch_bytes(10_000)
        .linger(LINGER_PAST_THE_TEST)
        .run()
        .await
        .expect("ingest runs");

    assert_eq!(report.accepted, 100);
    assert_eq!(report.batches, 100u64.div_ceil(per_batch as u64));
    assert_eq!(report.rejected.len(), 1);
    let refused = &report.rejected[0];
    assert!(refused.local);
    assert_eq!(refused.position, 40);
    assert_eq!(refused.reason.code, local_codes::EVENT_TOO_LARGE);
    assert_eq!(sandbox.accepted_event_count(), 100);

    let report = client
        .events()
        .ingest(generated(1_000))
        .max_batch_events(100)
        .linger(LINGER_PAST_THE_TEST)
        .run()
        .await
        .expect("ingest runs");
    assert_eq!((report.accepted, report.batches), (1_000, 10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fast_producer_is_held_to_concurrency_plus_one_batches() {
    let sandbox = sandbox().await;
    sandbox.settings().set_latency(Duration::from_millis(40));
    let client = client(&sandbox.base_url(), sandbox.premium_api_key());
    let pulled = Arc::new(AtomicU64::new(0));
    let counter = pulled.clone();
    let at = occurred_at();
    let events = stream::iter(0..2_000u64).map(move |_| {
        counter.fetch_add(1, Ordering::Relaxed);
        NewInteractionEvent::builder()
            .type_(InteractionEventType::PageView)
            .occurred_at(at)
            .build()
    });
    let (concurrency, batch) = (2u64, 50u64);
    let worst = Arc::new(AtomicU64::new(0));
    let (pulled_seen, worst_seen) = (pulled.clone(), worst.clone());

    let report = client
        .events()
        .ingest(events)
        .concurrency(concurrency as usize)
        .max_batch_events(batch as usize)
        .linger(LINGER_PAST_THE_TEST)
        .on_progress(move |p| {
            let held = pulled_seen.load(Ordering::Relaxed) - (p.accepted + p.rejected + p.failed);
            worst_seen.fetch_max(held, Ordering::Relaxed);
        })
        .run()
        .await
        .expect("ingest runs");

    assert_eq!(report.accepted, 2_000);
    let worst = worst.load(Ordering::Relaxed);
    // In flight, one open batch, and the one event that found it full.
    assert!(
        worst <= (concurrency + 1) * batch + 1,
        "{worst} events held at once"
    );
    assert!(
        worst >= concurrency * batch,
        "the slots were never all busy: {worst}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undeliverable_batches_hand_back_their_events_and_error() {
    let sandbox = sandbox().await;
    sandbox.settings().set_faults(FaultSettings {
        rate_500: 1.0,
        ..FaultSettings::default()
    });
    let client = client(&sandbox.base_url(), sandbox.premium_api_key());

    let report = client
        .events()
        .ingest(generated(1_100))
        .max_attempts(1)
        .run()
        .await
        .expect("ingest runs");

    // The batch count is not the point (a linger may close one early on a loaded machine):
    // every event comes back, in batches no larger than the bound, each with its error.
    assert_eq!(report.accepted, 0);
    assert!(
        report.undeliverable.len() >= 3,
        "{}",
        report.undeliverable.len()
    );
    assert_eq!(report.undeliverable_events(), 1_100);
    let mut positions: Vec<u64> = report
        .undeliverable
        .iter()
        .flat_map(|b| b.positions.iter().copied())
        .collect();
    positions.sort_unstable();
    assert_eq!(positions, (0..1_100).collect::<Vec<_>>());
    for batch in &report.undeliverable {
        assert!(batch.events.len() <= 500, "{}", batch.events.len());
        assert_eq!(batch.events.len(), batch.positions.len());
        assert_eq!(
            batch.error.status(),
            Some(StatusCode::INTERNAL_SERVER_ERROR)
        );
        assert_eq!(batch.idempotency_key.len(), 36, "a UUID");
    }
    assert_eq!(sandbox.accepted_event_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_credentials_stop_the_ingest() {
    let sandbox = sandbox().await;
    let client = client(&sandbox.base_url(), "mk_test_not_a_real_key");
    let pulled = Arc::new(AtomicU64::new(0));
    let counter = pulled.clone();
    let at = occurred_at();
    let endless = stream::repeat_with(move || {
        counter.fetch_add(1, Ordering::Relaxed);
        Ok::<_, Infallible>(
            NewInteractionEvent::builder()
                .type_(InteractionEventType::PageView)
                .occurred_at(at)
                .build(),
        )
    });

    let error = client
        .events()
        .ingest(endless)
        .run()
        .await
        .expect_err("credentials refused");

    let IngestError::Aborted { batch, report } = &error else {
        panic!("expected Aborted, got {error}");
    };
    let stopping = &report.undeliverable[*batch].error;
    assert!(stopping.is_auth(), "{stopping}");
    assert_eq!(stopping.kind(), ErrorKind::Api);
    assert!(error.to_string().contains("credentials"), "{error}");
    assert_eq!(report.accepted, 0);
    assert_eq!(report.undeliverable_events(), report.read);
    assert_eq!(pulled.load(Ordering::Relaxed), report.read);
    assert!(report.read <= 5 * 500 + 1, "read {} events", report.read);
}

#[tokio::test]
async fn settings_out_of_range_are_refused_before_reading() {
    let client = client("http://127.0.0.1:9/v1", "mk_test_key");
    for (ingest, needle) in [
        (
            client.events().ingest(generated(1)).max_batch_events(0),
            "max_batch_events",
        ),
        (
            client.events().ingest(generated(1)).max_batch_events(501),
            "max_batch_events",
        ),
        (
            client
                .events()
                .ingest(generated(1))
                .max_batch_bytes(2 << 20),
            "max_batch_bytes",
        ),
        (
            client.events().ingest(generated(1)).concurrency(0),
            "concurrency",
        ),
    ] {
        let error = ingest.run().await.expect_err("refused");
        assert!(matches!(error, IngestError::InvalidConfig(_)));
        assert!(error.to_string().contains(needle), "{error}");
        assert!(error.report().is_none());
    }
}
