//! A tour of the SDK against a sandbox started in this process.
//!
//! ```text
//! cargo run --example quickstart
//! ```
//!
//! Nothing to configure: the example starts `marketing-api-sandbox` on a free local port, then
//! authenticates with OAuth2 client credentials, creates a campaign with an ad and a creative,
//! imports contacts, builds an audience, streams a filtered list, ingests events, receives and
//! verifies a webhook on a small axum receiver, and shows what a typed error looks like.

use std::error::Error;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use chrono::Utc;
use futures::{StreamExt, TryStreamExt, stream};
use marketing_api::auth::OAuth2;
use marketing_api::models::{
    AudienceMembershipChange, CampaignId, CampaignObjective, ContactId, ContactStatus, Creative,
    InteractionEventType, NewAd, NewAudience, NewCampaign, NewContact, NewCreative,
    NewCreativeAsset, NewImageCreative, NewInteractionEvent, NewWebhookEndpoint, WebhookEventType,
};
use marketing_api::multipart::Multipart;
use marketing_api::webhooks::{Event, Verifier};
use marketing_api::{Client, models::EventBatch};
use marketing_api_sandbox::Sandbox;
use serde_json::json;
use tokio::sync::mpsc;

/// How many contacts step 3 imports; every fifth one is unsubscribed.
const CONTACTS: usize = 50;
/// How many of them step 4 puts into the audience.
const AUDIENCE_MEMBERS: usize = 30;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let started = Instant::now();
    let sandbox = Sandbox::start().await?;
    println!("Sandbox listening on {}\n", sandbox.base_url());

    step(1, "Authenticate with OAuth2 client credentials");
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
                "webhooks:write",
            ]),
        )
        .build()?;
    // The first request fetches a token; later ones reuse it until shortly before it expires.
    let first_page = client.campaigns().list().limit(1).send().await?;
    println!(
        "   token obtained for client {}; campaigns so far: {}",
        sandbox.client_id(),
        first_page.items.len()
    );

    step(2, "Create a campaign with an ad and a creative");
    let campaign = client
        .campaigns()
        .create(
            &NewCampaign::builder()
                .name("Black Friday")
                .budget_cents(500_000)
                .build()
                .with_objective(CampaignObjective::Sales)
                .with_currency("USD")
                .with_daily_budget_cents(25_000),
        )
        .send()
        .await?;
    println!(
        "   campaign {} \"{}\" ({}, budget {:.2} {})",
        campaign.id,
        campaign.name,
        campaign.status,
        campaign.budget_cents as f64 / 100.0,
        campaign.currency
    );
    let ad = client
        .campaigns()
        .ads(&campaign.id)
        .create(
            &NewAd::builder()
                .name("Hero banner A")
                .headline("Up to 40% off everything this weekend")
                .destination_url("https://shop.example.com/black-friday")
                .build(),
        )
        .send()
        .await?;
    println!("   ad       {} \"{}\" ({})", ad.id, ad.headline, ad.status);
    // Upload the image (streamed: here from memory, `file_path` reads a file from disk), then
    // make the creative from the uploaded asset.
    let png: &'static [u8] = b"\x89PNG\r\n\x1a\n (a real image would be here)";
    let asset = client
        .creatives()
        .upload_creative_asset(
            Multipart::new()
                .json(
                    "metadata",
                    &NewCreativeAsset::builder().name("Hero").build(),
                )?
                .file_reader("file", "bf-hero-1200x628.png", "image/png", png),
        )
        .send()
        .await?;
    println!(
        "   asset    {} ({} bytes, sha256 {}…)",
        asset.id,
        asset.size_bytes,
        &asset.sha256[..12]
    );
    let creative = client
        .campaigns()
        .ads(&campaign.id)
        .creatives(&ad.id)
        .create(&NewCreative::Image(
            NewImageCreative::builder()
                .width(1200)
                .height(628)
                .alt_text("A shopping bag with a 40% off tag")
                .build()
                .with_asset_id(&asset.id),
        ))
        .send()
        .await?;
    // A creative is one of several kinds; the SDK hands back the variant the API answered with.
    match &creative {
        Creative::Image(image) => println!(
            "   creative {} (image {}x{})",
            image.id, image.width, image.height
        ),
        other => println!("   creative of another kind: {other:?}"),
    }

    step(3, "Import contacts");
    let import_started = Instant::now();
    let contacts: Vec<ContactId> = stream::iter(0..CONTACTS)
        .map(|i| {
            let client = client.clone();
            async move {
                let status = if i % 5 == 0 {
                    ContactStatus::Unsubscribed
                } else {
                    ContactStatus::Subscribed
                };
                let plan = if i % 3 == 0 { "pro" } else { "free" };
                let new = NewContact::builder()
                    .email(format!("customer{i:03}@example.com"))
                    .build()
                    .with_first_name(format!("Customer {i}"))
                    .with_status(status)
                    .with_attributes(json!({ "plan": plan }))?;
                client.contacts().create(&new).send().await.map(|c| c.id)
            }
        })
        // Ten at a time: fast, and well inside the sandbox's rate limit.
        .buffered(10)
        .try_collect()
        .await?;
    println!(
        "   {} contacts created in {} ms ({} unsubscribed), e.g. {} .. {}",
        contacts.len(),
        import_started.elapsed().as_millis(),
        CONTACTS.div_ceil(5),
        contacts[0],
        contacts[contacts.len() - 1]
    );

    step(4, "Build an audience");
    let audience = client
        .audiences()
        .create(
            &NewAudience::builder()
                .name("Newsletter")
                .build()
                .with_description("Black Friday mailing"),
        )
        .send()
        .await?;
    let members = contacts[..AUDIENCE_MEMBERS].to_vec();
    let added = client
        .audiences()
        .contacts(&audience.id)
        .add(
            &AudienceMembershipChange::builder()
                .contact_ids(members)
                .build(),
        )
        .send()
        .await?;
    println!(
        "   audience {} \"{}\": {} added, {} already members",
        audience.id, audience.name, added.added, added.already_members
    );

    step(5, "Stream contacts: audience members who are subscribed");
    // `.stream()` follows the cursors page by page (10 per page here) with the filters kept.
    let mut pages = 0;
    let mut subscribed_members = Vec::new();
    let mut page_stream = client
        .contacts()
        .list()
        .audience_id(audience.id.clone())
        .status(ContactStatus::Subscribed)
        .limit(10)
        .pages();
    while let Some(page) = page_stream.try_next().await? {
        pages += 1;
        subscribed_members.extend(page.items.into_iter().map(|c| c.email));
    }
    // The same query as a stream of items, which is what most code wants.
    let streamed = client
        .contacts()
        .list()
        .audience_id(audience.id.clone())
        .status(ContactStatus::Subscribed)
        .limit(10)
        .stream()
        .try_fold(0usize, |n, _| async move { Ok(n + 1) })
        .await?;
    println!(
        "   {} of {} members are subscribed ({} pages of up to 10; the item stream agrees: {})",
        subscribed_members.len(),
        AUDIENCE_MEMBERS,
        pages,
        streamed
    );

    step(6, "Ingest events");
    let now = Utc::now();
    let mut events: Vec<NewInteractionEvent> = contacts
        .iter()
        .take(12)
        .enumerate()
        .map(|(i, contact)| {
            let kind = match i % 3 {
                0 => InteractionEventType::PageView,
                1 => InteractionEventType::AdClick,
                _ => InteractionEventType::Purchase,
            };
            let mut event = NewInteractionEvent::builder()
                .type_(kind.clone())
                .occurred_at(now)
                .build()
                .with_contact_id(contact.clone())
                .with_campaign_id(campaign.id.clone());
            if kind == InteractionEventType::Purchase {
                event = event
                    .with_value_cents(4_999 + 1_000 * i as i64)
                    .with_properties(json!({ "currency": "USD" }))?;
            }
            Ok(event)
        })
        .collect::<Result<_, marketing_api::NotAJsonObject>>()?;
    // One event names a contact that does not exist: the batch still succeeds, and the answer
    // says which event was rejected and why.
    events.push(
        NewInteractionEvent::builder()
            .type_(InteractionEventType::EmailOpen)
            .occurred_at(now)
            .build()
            .with_contact_id(ContactId::new("ctc_doesnotexist")),
    );
    let batch = client
        .events()
        .send_batch(&EventBatch::builder().events(events).build())
        .send()
        .await?;
    println!(
        "   batch of {}: {} accepted, {} rejected",
        batch.results.len(),
        batch.accepted,
        batch.rejected
    );
    for rejected in batch.results.iter().filter_map(|r| r.error.as_ref()) {
        println!(
            "   rejected: {} on `{}`: {}",
            rejected.code,
            rejected.param.as_deref().unwrap_or("-"),
            rejected.message
        );
    }

    step(7, "Receive and verify a webhook");
    let receiver = Receiver::start().await?;
    let endpoint = client
        .webhook_endpoints()
        .create(
            &NewWebhookEndpoint::builder()
                .url(&receiver.url)
                .event_types(vec![WebhookEventType::ContactCreated])
                .build()
                .with_description("quickstart receiver"),
        )
        .send()
        .await?;
    let secret = endpoint
        .secret
        .as_deref()
        .ok_or("the creation response carries the signing secret")?;
    receiver.set_verifier(Verifier::new(secret)?);
    println!(
        "   endpoint {} -> {} (secret received, {} characters)",
        endpoint.id,
        endpoint.url,
        secret.len()
    );
    let grace = client
        .contacts()
        .create(
            &NewContact::builder()
                .email("grace.hopper@example.com")
                .build()
                .with_first_name("Grace"),
        )
        .send()
        .await?;
    println!("   created contact {}; waiting for the event...", grace.id);
    let received = receiver.next_event(Duration::from_secs(5)).await?;
    match &received {
        Event::ContactCreated(created) => println!(
            "   verified {} {}: contact {} <{}> is {}",
            created.type_,
            created.id,
            created.data.id,
            created.data.email.expose()?,
            created.data.status
        ),
        other => println!("   verified {} (not expected here)", other.event_type()),
    }
    println!(
        "   receiver answered: {} verified, {} refused",
        receiver.verified(),
        receiver.refused()
    );

    step(8, "Typed errors");
    match client
        .campaigns()
        .get(CampaignId::new("cmp_doesnotexist"))
        .send()
        .await
    {
        Ok(_) => println!("   unexpected: the campaign exists"),
        Err(e) if e.is_not_found() => {
            let api = e.api_error();
            println!(
                "   is_not_found(): {} code={} request_id={}",
                e.status().map_or(0, |s| s.as_u16()),
                api.and_then(|a| a.code.as_ref().map(|c| c.as_str()))
                    .unwrap_or("-"),
                e.request_id().unwrap_or("-")
            );
        }
        Err(e) => return Err(e.into()),
    }
    match client
        .campaigns()
        .create(
            &NewCampaign::builder()
                .name("Negative budget")
                .budget_cents(-1)
                .build(),
        )
        .send()
        .await
    {
        Ok(_) => println!("   unexpected: a negative budget was accepted"),
        Err(e) if e.is_invalid_request() => {
            let api = e.api_error();
            println!(
                "   is_invalid_request(): {} code={} param={} request_id={}",
                e.status().map_or(0, |s| s.as_u16()),
                api.and_then(|a| a.code.as_ref().map(|c| c.as_str()))
                    .unwrap_or("-"),
                api.and_then(|a| a.param.as_deref()).unwrap_or("-"),
                e.request_id().unwrap_or("-")
            );
            println!("   as text: {e}");
        }
        Err(e) => return Err(e.into()),
    }

    println!(
        "\nDone in {:.1} s: the sandbox holds {} campaign(s), {} contacts, {} events.",
        started.elapsed().as_secs_f64(),
        sandbox.campaign_count(),
        sandbox.contact_count(),
        sandbox.accepted_event_count()
    );
    receiver.stop();
    sandbox.shutdown().await;
    Ok(())
}

fn step(number: u32, title: &str) {
    println!("{number}. {title}");
}

/// The webhook receiver: `POST /webhooks` on a free local port. It verifies every request with
/// the endpoint's secret (known only once the endpoint is registered) and passes the typed
/// event on; anything that does not verify gets a 401 and is dropped.
struct Receiver {
    url: String,
    state: ReceiverState,
    events: tokio::sync::Mutex<mpsc::UnboundedReceiver<Event>>,
    server: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct ReceiverState {
    verifier: Arc<OnceLock<Verifier>>,
    events: mpsc::UnboundedSender<Event>,
    counts: Arc<[std::sync::atomic::AtomicUsize; 2]>,
}

impl Receiver {
    async fn start() -> Result<Self, Box<dyn Error>> {
        let (sender, events) = mpsc::unbounded_channel();
        let state = ReceiverState {
            verifier: Arc::new(OnceLock::new()),
            events: sender,
            counts: Arc::new(Default::default()),
        };
        let app = Router::new()
            .route("/webhooks", post(receive))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/webhooks", listener.local_addr()?);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            url,
            state,
            events: tokio::sync::Mutex::new(events),
            server,
        })
    }

    fn set_verifier(&self, verifier: Verifier) {
        let _ = self.state.verifier.set(verifier);
    }

    async fn next_event(&self, within: Duration) -> Result<Event, Box<dyn Error>> {
        let mut events = self.events.lock().await;
        match tokio::time::timeout(within, events.recv()).await {
            Ok(Some(event)) => Ok(event),
            Ok(None) => Err("the receiver stopped".into()),
            Err(_) => Err(format!("no webhook arrived within {within:?}").into()),
        }
    }

    fn verified(&self) -> usize {
        self.state.counts[0].load(std::sync::atomic::Ordering::Relaxed)
    }

    fn refused(&self) -> usize {
        self.state.counts[1].load(std::sync::atomic::Ordering::Relaxed)
    }

    fn stop(self) {
        self.server.abort();
    }
}

async fn receive(
    State(state): State<ReceiverState>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    // Verify over the raw bytes, before any parsing: the signature covers them exactly.
    let verified = state
        .verifier
        .get()
        .ok_or("no secret yet")
        .map_err(|e| e.to_string())
        .and_then(|v| v.verify_event(&headers, &body).map_err(|e| e.to_string()));
    match verified {
        Ok(event) => {
            state.counts[0].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let _ = state.events.send(event);
            StatusCode::NO_CONTENT
        }
        Err(_) => {
            state.counts[1].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            StatusCode::UNAUTHORIZED
        }
    }
}
