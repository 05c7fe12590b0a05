//! Streams contacts from the sandbox while another task inserts more: every contact that
//! existed when the stream started arrives exactly once.

mod support;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use marketing_api::Client;
use marketing_api::auth::ApiKey;
use marketing_api::models::NewContact;

const ORIGINAL: usize = 10_000;
const INSERTED: usize = 1_000;
/// Pages of this size make `ORIGINAL / PAGE` pages to spread the inserts over.
const PAGE: usize = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_sees_every_original_contact_once_while_contacts_are_inserted() {
    // The default tier (100 requests/s) would make creating 11,000 contacts take minutes.
    let sandbox = support::unlimited_sandbox(0x9a6e).await;
    let client = Client::builder(sandbox.base_url())
        .auth(ApiKey::new(sandbox.api_key()).expect("the sandbox key is valid"))
        .build()
        .expect("a loopback client");

    let original: HashSet<String> = futures::stream::iter(0..ORIGINAL)
        .map(|n| {
            let client = client.clone();
            async move {
                client
                    .contacts()
                    .create(
                        &NewContact::builder()
                            .email(format!("original{n}@example.com"))
                            .build(),
                    )
                    .send()
                    .await
                    .map(|c| c.id.into_string())
            }
        })
        .buffer_unordered(16)
        .try_collect()
        .await
        .expect("10,000 contacts are created");
    assert_eq!(original.len(), ORIGINAL);

    // The inserter runs ahead of the reader by a bounded amount, so inserts land between
    // (almost) every pair of pages rather than all at once.
    let inserted = Arc::new(AtomicUsize::new(0));
    let inserter = {
        let client = client.clone();
        let inserted = inserted.clone();
        tokio::spawn(async move {
            for n in 0..INSERTED {
                client
                    .contacts()
                    .create(
                        &NewContact::builder()
                            .email(format!("inserted{n}@example.com"))
                            .build(),
                    )
                    .send()
                    .await?;
                inserted.fetch_add(1, Ordering::SeqCst);
            }
            Ok::<_, marketing_api::Error>(())
        })
    };

    let per_page = INSERTED / (ORIGINAL / PAGE);
    let mut pages = client.contacts().list().limit(PAGE as i32).pages();
    let mut seen = HashSet::new();
    let mut read_pages = 0;
    let mut inserts_during_read = 0;
    while let Some(page) = pages.try_next().await.expect("every page arrives") {
        for contact in page.items {
            let id = contact.id.into_string();
            assert!(seen.insert(id.clone()), "{id} was yielded twice");
        }
        read_pages += 1;
        // Let the inserter add its share before the next page is asked for.
        let target = (read_pages * per_page).min(INSERTED);
        while inserted.load(Ordering::SeqCst) < target && !inserter.is_finished() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        if read_pages < ORIGINAL / PAGE {
            inserts_during_read = inserted.load(Ordering::SeqCst);
        }
    }
    inserter
        .await
        .expect("the inserter task ran")
        .expect("1,000 contacts are inserted");

    let missing = original.difference(&seen).count();
    assert_eq!(missing, 0, "{missing} original contacts were skipped");
    assert!(
        inserts_during_read > 0,
        "contacts were inserted while the stream was being read"
    );
    // New contacts may or may not be seen, but nothing else can appear.
    assert!(seen.len() <= ORIGINAL + INSERTED);
}
