//! Cursor pagination against a wiremock server on 127.0.0.1: filters kept on every page, loop
//! detection, empty lists, transport retries mid-stream, resuming from a saved cursor, errors
//! ending the stream, and prefetch.

mod support;

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use futures::{StreamExt, TryStreamExt};
use marketing_api::clock::ManualClock;
use marketing_api::models::{Contact, ContactStatus};
use marketing_api::pagination::Items;
use marketing_api::{Client, ErrorKind};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The full JSON of contact number `n`, as the API sends it.
fn contact_json(n: usize) -> Value {
    json!({
        "id": format!("con_{n:05}"),
        "email": format!("contact{n}@example.com"),
        "phone": null,
        "first_name": "Ada",
        "last_name": null,
        "status": "subscribed",
        "attributes": {"plan": "pro", "seats": n},
        "created_at": "2024-03-01T10:00:00Z",
        "updated_at": "2024-03-02T11:30:00Z"
    })
}

/// A list envelope holding contacts `items`, pointing at `next` when there is one.
fn page(items: std::ops::Range<usize>, next: Option<&str>, total: usize) -> ResponseTemplate {
    let data: Vec<Value> = items.map(contact_json).collect();
    ResponseTemplate::new(200).set_body_json(json!({
        "data": data,
        "meta": {
            "request_id": "req_x",
            "next_cursor": next,
            "has_more": next.is_some(),
            "total_count": total
        }
    }))
}

fn ids(contacts: &[Contact]) -> Vec<String> {
    contacts.iter().map(|c| c.id.to_string()).collect()
}

fn expected_ids(items: std::ops::Range<usize>) -> Vec<String> {
    items.map(|n| format!("con_{n:05}")).collect()
}

/// A client for `server` whose retries sleep on a manual clock, so they do not wait.
fn client_for(server: &MockServer) -> (Client, ManualClock) {
    let clock = ManualClock::new(support::start());
    let client = support::on_manual_clock(server.uri(), &clock)
        .build()
        .expect("a loopback base URL is valid");
    (client, clock)
}

/// Mounts three pages of two contacts: no cursor → `c2` → `c3` → end.
async fn mount_three_pages(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/contacts"))
        .and(query_param_is_missing("cursor"))
        .respond_with(page(0..2, Some("c2"), 6))
        .expect(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/contacts"))
        .and(query_param("cursor", "c2"))
        .respond_with(page(2..4, Some("c3"), 6))
        .expect(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/contacts"))
        .and(query_param("cursor", "c3"))
        .respond_with(page(4..6, None, 6))
        .expect(1)
        .mount(server)
        .await;
}

// `.stream()` must be usable wherever a `Send + Unpin` stream is required.
const _: () = {
    const fn send_and_unpin<T: Send + Unpin>() {}
    send_and_unpin::<Items<Contact>>();
    send_and_unpin::<marketing_api::pagination::Pages<Contact>>();
};

#[tokio::test]
async fn filters_and_page_size_are_sent_on_every_page() {
    let server = MockServer::start().await;
    let created_after = Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap();
    let filtered = || {
        Mock::given(method("GET"))
            .and(path("/contacts"))
            .and(query_param("status", "subscribed"))
            .and(query_param("created_after", "2024-01-02T03:04:05Z"))
            .and(query_param("limit", "2"))
    };
    filtered()
        .and(query_param_is_missing("cursor"))
        .respond_with(page(0..2, Some("c2"), 6))
        .expect(1)
        .mount(&server)
        .await;
    filtered()
        .and(query_param("cursor", "c2"))
        .respond_with(page(2..4, Some("c3"), 6))
        .expect(1)
        .mount(&server)
        .await;
    filtered()
        .and(query_param("cursor", "c3"))
        .respond_with(page(4..6, None, 6))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client_for(&server);

    let contacts: Vec<Contact> = client
        .contacts()
        .list()
        .status(ContactStatus::Subscribed)
        .created_after(created_after)
        .limit(2)
        .stream()
        .try_collect()
        .await
        .expect("three filtered pages");

    assert_eq!(ids(&contacts), expected_ids(0..6));
    server.verify().await;
    let requests = server.received_requests().await.expect("recording is on");
    assert_eq!(requests.len(), 3, "one request per page, no more");
    let third = requests[2].url.query_pairs().collect::<Vec<_>>();
    for (name, value) in [
        ("status", "subscribed"),
        ("created_after", "2024-01-02T03:04:05Z"),
        ("limit", "2"),
        ("cursor", "c3"),
    ] {
        assert_eq!(
            third.iter().filter(|(n, _)| n == name).count(),
            1,
            "`{name}` appears exactly once on page 3: {third:?}"
        );
        assert!(
            third.iter().any(|(n, v)| n == name && v == value),
            "page 3 has {name}={value}: {third:?}"
        );
    }
}

#[tokio::test]
async fn pages_carry_their_metadata() {
    let server = MockServer::start().await;
    mount_three_pages(&server).await;
    let (client, _) = client_for(&server);

    let pages: Vec<_> = client
        .contacts()
        .list()
        .pages()
        .try_collect()
        .await
        .expect("three pages");

    let cursors: Vec<_> = pages.iter().map(|p| p.cursor.as_deref()).collect();
    assert_eq!(cursors, [None, Some("c2"), Some("c3")]);
    let next: Vec<_> = pages.iter().map(|p| p.next_cursor.as_deref()).collect();
    assert_eq!(next, [Some("c2"), Some("c3"), None]);
    assert!(pages.iter().all(|p| p.total_count == Some(6)));
    assert!(
        pages
            .iter()
            .all(|p| p.request_id.as_deref() == Some("req_x"))
    );
    assert_eq!(pages[1].resume_cursor(), Some("c3"));
    assert_eq!(pages[2].resume_cursor(), None);
    assert!(!pages[2].has_more);
}

#[tokio::test]
async fn a_repeated_cursor_yields_the_typed_error_once_then_ends() {
    let server = MockServer::start().await;
    Mock::given(path("/contacts"))
        .and(query_param_is_missing("cursor"))
        .respond_with(page(0..2, Some("c2"), 4))
        .expect(1)
        .mount(&server)
        .await;
    // A server bug: page 2 points at itself.
    Mock::given(path("/contacts"))
        .and(query_param("cursor", "c2"))
        .respond_with(page(2..4, Some("c2"), 4))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client_for(&server);

    let mut stream = client.contacts().list().stream();
    let mut seen = Vec::new();
    let error = loop {
        match stream.next().await {
            Some(Ok(contact)) => seen.push(contact),
            Some(Err(e)) => break e,
            None => panic!("the stream ended without reporting the loop"),
        }
    };
    assert_eq!(error.kind(), ErrorKind::RepeatedCursor, "{error}");
    assert!(
        error.to_string().contains("cursor"),
        "says what went wrong: {error}"
    );
    // Every item the server did send arrives before the error.
    assert_eq!(ids(&seen), expected_ids(0..4));
    assert!(stream.next().await.is_none(), "the error ends the stream");
    assert!(stream.next().await.is_none(), "and it stays ended");
    server.verify().await;
}

#[tokio::test]
async fn a_repeated_cursor_is_caught_with_prefetch_too() {
    let server = MockServer::start().await;
    Mock::given(path("/contacts"))
        .and(query_param_is_missing("cursor"))
        .respond_with(page(0..2, Some("c2"), 4))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/contacts"))
        .and(query_param("cursor", "c2"))
        .respond_with(page(2..4, Some("c2"), 4))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client_for(&server);

    let results: Vec<_> = client
        .contacts()
        .list()
        .stream()
        .prefetch(true)
        .collect()
        .await;
    assert_eq!(results.len(), 5, "four contacts then the error");
    assert!(results[..4].iter().all(Result::is_ok));
    let error = results[4].as_ref().expect_err("the loop is reported");
    assert_eq!(error.kind(), ErrorKind::RepeatedCursor);
    server.verify().await;
}

#[tokio::test]
async fn an_empty_first_page_ends_cleanly() {
    let server = MockServer::start().await;
    Mock::given(path("/contacts"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [],
            "meta": {"request_id": "req_x", "next_cursor": null, "has_more": false, "total_count": 0}
        })))
        .expect(2)
        .mount(&server)
        .await;
    let (client, _) = client_for(&server);

    let contacts: Vec<Contact> = client
        .contacts()
        .list()
        .stream()
        .try_collect()
        .await
        .expect("an empty list is not an error");
    assert!(contacts.is_empty());

    let pages: Vec<_> = client
        .contacts()
        .list()
        .pages()
        .try_collect()
        .await
        .expect("one page");
    assert_eq!(pages.len(), 1);
    assert!(pages[0].items.is_empty());
    assert_eq!(pages[0].total_count, Some(0));
}

#[tokio::test]
async fn a_500_mid_stream_is_retried_and_the_stream_continues() {
    let server = MockServer::start().await;
    mount_three_pages(&server).await;
    // Page 2 fails once; mounted last so it is tried first while it has uses left.
    Mock::given(path("/contacts"))
        .and(query_param("cursor", "c2"))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({
            "error": {"type": "api_error", "code": "internal", "message": "try again", "request_id": "req_500"}
        })))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    let (client, clock) = client_for(&server);

    let contacts: Vec<Contact> = client
        .contacts()
        .list()
        .stream()
        .try_collect()
        .await
        .expect("the transport retries the 500");

    assert_eq!(
        ids(&contacts),
        expected_ids(0..6),
        "all items, in order, once"
    );
    assert_eq!(
        clock.sleeps().len(),
        1,
        "one backoff, slept on the manual clock"
    );
    let requests = server.received_requests().await.expect("recording is on");
    let cursors: Vec<_> = requests
        .iter()
        .map(|r| {
            r.url
                .query_pairs()
                .find(|(n, _)| n == "cursor")
                .map(|(_, v)| v.into_owned())
        })
        .collect();
    assert_eq!(
        cursors,
        [
            None,
            Some("c2".into()),
            Some("c2".into()),
            Some("c3".into())
        ],
        "page 2 is asked twice with the same cursor"
    );
    server.verify().await;
}

#[tokio::test]
async fn a_saved_cursor_resumes_and_the_page_cursor_is_exposed() {
    let server = MockServer::start().await;
    Mock::given(path("/contacts"))
        .and(query_param_is_missing("cursor"))
        .respond_with(page(0..2, Some("c2"), 8))
        .expect(0)
        .mount(&server)
        .await;
    Mock::given(path("/contacts"))
        .and(query_param("cursor", "c3"))
        .and(query_param("limit", "2"))
        .respond_with(page(4..6, Some("c4"), 8))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/contacts"))
        .and(query_param("cursor", "c4"))
        .and(query_param("limit", "2"))
        .respond_with(page(6..8, None, 8))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client_for(&server);

    let mut stream = client.contacts().list().limit(2).cursor("c3").stream();
    assert_eq!(stream.page_cursor(), None, "nothing fetched yet");
    let first = stream.try_next().await.expect("page 3").expect("an item");
    assert_eq!(first.id.to_string(), "con_00004");
    assert_eq!(stream.page_cursor(), Some("c3"));
    assert_eq!(stream.next_cursor(), Some("c4"));
    assert_eq!(stream.remaining_in_page(), 1);
    stream.try_next().await.expect("page 3").expect("an item");
    let third = stream.try_next().await.expect("page 4").expect("an item");
    assert_eq!(third.id.to_string(), "con_00006");
    assert_eq!(
        stream.page_cursor(),
        Some("c4"),
        "a checkpoint now restarts at page 4"
    );
    assert_eq!(stream.next_cursor(), None);
    let rest: Vec<Contact> = stream.try_collect().await.expect("the rest");
    assert_eq!(ids(&rest), expected_ids(7..8));
    server.verify().await;

    // `take` stops early without asking for pages it does not need.
    let server = MockServer::start().await;
    Mock::given(path("/contacts"))
        .and(query_param("cursor", "c3"))
        .respond_with(page(4..6, Some("c4"), 8))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/contacts"))
        .and(query_param("cursor", "c4"))
        .respond_with(page(6..8, None, 8))
        .expect(0)
        .mount(&server)
        .await;
    let (client, _) = client_for(&server);
    let taken: Vec<_> = client
        .contacts()
        .list()
        .cursor("c3")
        .stream()
        .take(2)
        .try_collect()
        .await
        .expect("two items");
    assert_eq!(ids(&taken), expected_ids(4..6));
    server.verify().await;
}

/// Page 1 then a 404 on page 2 (an expired cursor).
async fn mount_404_on_page_2(server: &MockServer) {
    Mock::given(path("/contacts"))
        .and(query_param_is_missing("cursor"))
        .respond_with(page(0..2, Some("c2"), 6))
        .expect(1)
        .mount(server)
        .await;
    Mock::given(path("/contacts"))
        .and(query_param("cursor", "c2"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "error": {"type": "not_found_error", "code": "cursor_expired", "message": "cursor expired", "request_id": "req_404"}
        })))
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn an_error_ends_the_stream_after_being_yielded_once() {
    for prefetch in [false, true] {
        let server = MockServer::start().await;
        mount_404_on_page_2(&server).await;
        let (client, _) = client_for(&server);
        let results: Vec<_> = client
            .contacts()
            .list()
            .stream()
            .prefetch(prefetch)
            .collect()
            .await;
        assert_eq!(
            results.len(),
            3,
            "prefetch={prefetch}: two items then one error"
        );
        assert!(results[..2].iter().all(Result::is_ok));
        let error = results[2].as_ref().expect_err("page 2 failed");
        assert_eq!(error.kind(), ErrorKind::Api, "{error}");
        let api = error.api_error().expect("an API error");
        assert_eq!(api.status.as_u16(), 404);
        assert_eq!(
            api.code.as_ref().map(|c| c.as_str()),
            Some("cursor_expired")
        );
        assert_eq!(api.request_id.as_deref(), Some("req_404"));
        server.verify().await;
    }

    // Polling after the error keeps answering `None` rather than asking again.
    let server = MockServer::start().await;
    mount_404_on_page_2(&server).await;
    let (client, _) = client_for(&server);
    let mut stream = client.contacts().list().stream();
    assert!(stream.try_next().await.is_ok());
    assert!(stream.try_next().await.is_ok());
    assert!(stream.try_next().await.is_err());
    assert!(stream.next().await.is_none());
    assert!(stream.next().await.is_none());
    server.verify().await;
}

#[tokio::test]
async fn prefetch_yields_the_same_items_and_asks_for_the_next_page_early() {
    let server = MockServer::start().await;
    mount_three_pages(&server).await;
    let (client, _) = client_for(&server);
    let mut stream = client.contacts().list().stream().prefetch(true);

    // Hold page 1 without asking for more: the server must still see page 2 being requested.
    let first = stream.try_next().await.expect("page 1").expect("an item");
    assert_eq!(
        stream.remaining_in_page(),
        1,
        "page 1 is still being consumed"
    );
    let asked_for_page_2 = async {
        loop {
            let requests = server.received_requests().await.unwrap_or_default();
            if requests
                .iter()
                .any(|r| r.url.query_pairs().any(|(n, v)| n == "cursor" && v == "c2"))
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), asked_for_page_2)
        .await
        .expect("page 2 is requested while page 1 is held");

    let mut contacts = vec![first];
    contacts.extend(stream.try_collect::<Vec<_>>().await.expect("the rest"));
    assert_eq!(ids(&contacts), expected_ids(0..6), "same items, same order");
    server.verify().await;
}

#[tokio::test]
async fn without_prefetch_the_next_page_waits_for_the_consumer() {
    let server = MockServer::start().await;
    mount_three_pages(&server).await;
    let (client, _) = client_for(&server);
    let mut stream = client.contacts().list().stream();

    stream.try_next().await.expect("page 1").expect("an item");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let requests = server.received_requests().await.expect("recording is on");
    assert_eq!(requests.len(), 1, "only page 1 was asked for");

    let rest: Vec<_> = stream.try_collect().await.expect("the rest");
    assert_eq!(rest.len(), 5);
}

/// A sleeper that never wakes and records when a sleep is started and when it is dropped.
#[derive(Debug, Default)]
struct StuckSleeper {
    started: std::sync::atomic::AtomicUsize,
    dropped: Arc<std::sync::atomic::AtomicUsize>,
}

struct CountDrop(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for CountDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

impl marketing_api::clock::Sleeper for StuckSleeper {
    fn sleep(
        &self,
        _: Duration,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        self.started
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let guard = CountDrop(self.dropped.clone());
        Box::pin(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        })
    }
}

#[tokio::test]
async fn dropping_a_prefetching_stream_cancels_the_page_it_was_fetching() {
    let server = MockServer::start().await;
    Mock::given(path("/contacts"))
        .and(query_param_is_missing("cursor"))
        .respond_with(page(0..2, Some("c2"), 4))
        .mount(&server)
        .await;
    // Page 2 keeps failing: the prefetch task backs off (forever, with this sleeper).
    Mock::given(path("/contacts"))
        .and(query_param("cursor", "c2"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    support::install_crypto();
    let sleeper = Arc::new(StuckSleeper::default());
    let client = Client::builder(server.uri())
        .sleeper(sleeper.clone())
        .build()
        .expect("a loopback base URL is valid");

    let mut stream = client.contacts().list().stream().prefetch(true);
    stream.try_next().await.expect("page 1").expect("an item");
    let backing_off = async {
        while sleeper.started.load(std::sync::atomic::Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), backing_off)
        .await
        .expect("the prefetch of page 2 failed and is backing off");
    drop(stream);

    // The caller is gone: the prefetch must not live on in the background.
    let cancelled = async {
        while sleeper.dropped.load(std::sync::atomic::Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(2), cancelled)
        .await
        .expect("dropping the stream cancels the in-flight prefetch");
}

#[tokio::test]
async fn an_empty_page_in_the_middle_does_not_end_the_stream_and_cursors_round_trip() {
    // Opaque cursors are often base64: `+`, `/` and `=` must reach the server unchanged.
    let tricky = "eyJpZCI6MX0+/a b=&c==";
    let server = MockServer::start().await;
    Mock::given(path("/contacts"))
        .and(query_param_is_missing("cursor"))
        .respond_with(page(0..2, Some(tricky), 4))
        .expect(1)
        .mount(&server)
        .await;
    // Everything on this page was filtered out server-side, but more follow.
    Mock::given(path("/contacts"))
        .and(query_param("cursor", tricky))
        .respond_with(page(2..2, Some("c3"), 4))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/contacts"))
        .and(query_param("cursor", "c3"))
        .respond_with(page(2..4, None, 4))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client_for(&server);

    let contacts: Vec<Contact> = client
        .contacts()
        .list()
        .stream()
        .try_collect()
        .await
        .expect("all pages");
    assert_eq!(ids(&contacts), expected_ids(0..4));
    server.verify().await;
}
