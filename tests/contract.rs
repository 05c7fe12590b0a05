//! The contract suite: every operation of `openapi.yaml` is exercised against the sandbox
//! through the SDK, and every request the SDK sends and every answer it receives is validated
//! against the spec by a proxy in between.
//!
//! The operation list comes from the spec at test time: an operation with no step here fails
//! the suite by name, and so does a step for an operation the spec no longer has. Each step must
//! make its operation's request and get a success; any contract violation on the way fails the
//! step that caused it. Webhooks the sandbox delivers during the run are verified with the SDK
//! and validated against the spec's `webhooks` schemas too.
//!
//! Run with `cargo test --features testing --test contract -- --nocapture` to see the count.

#[path = "contract/proxy.rs"]
mod proxy;
mod support;

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::Bytes;
use chrono::{TimeZone, Utc};
use futures::TryStreamExt;
use http::HeaderMap;
use marketing_api::Client;
use marketing_api::auth::{ApiKey, AuthorizationCodeFlow, OAuth2, Secret};
use marketing_api::models::*;
use marketing_api::testing::Contract;
use marketing_api::webhooks::{Event, Verifier};
use marketing_api_sandbox::Sandbox;
use proxy::{Proxy, Tamper};
use serde_json::json;

type StepError = Box<dyn std::error::Error + Send + Sync>;
type StepResult = Result<(), StepError>;
type StepFuture = Pin<Box<dyn Future<Output = StepResult> + Send>>;

/// One contract step: the operation it exercises and how.
struct Step {
    operation: &'static str,
    run: Box<dyn FnOnce(Arc<Ctx>) -> StepFuture>,
}

fn step<F, Fut>(operation: &'static str, run: F) -> Step
where
    F: FnOnce(Arc<Ctx>) -> Fut + 'static,
    Fut: Future<Output = StepResult> + Send + 'static,
{
    Step {
        operation,
        run: Box::new(move |ctx| Box::pin(run(ctx))),
    }
}

/// Ids created by earlier steps for later ones.
#[derive(Default)]
struct Ids {
    campaign: Option<CampaignId>,
    ad: Option<AdId>,
    creative: Option<CreativeId>,
    asset: Option<CreativeAssetId>,
    audience: Option<AudienceId>,
    contact: Option<ContactId>,
    contact_import: Option<ContactImportId>,
    endpoint: Option<WebhookEndpointId>,
    endpoint_secret: Option<String>,
    delivery: Option<WebhookDeliveryId>,
    encryption_key: Option<EncryptionKeyId>,
    api_key: Option<ApiKeyId>,
}

struct Ctx {
    sandbox: Sandbox,
    proxy_base: String,
    /// API-key client through the proxy.
    client: Client,
    ids: Mutex<Ids>,
    receiver_url: String,
    webhooks: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
}

impl Ctx {
    fn ids(&self) -> std::sync::MutexGuard<'_, Ids> {
        self.ids.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn need<T: Clone>(value: &Option<T>, what: &str) -> Result<T, StepError> {
    value
        .clone()
        .ok_or_else(|| format!("an earlier step did not create the {what}").into())
}

fn ts(day: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, 9, 30, 0)
        .single()
        .expect("a valid date")
}

/// A receiver for the sandbox's webhook deliveries: records each one and acknowledges it.
async fn start_receiver() -> (String, Arc<Mutex<Vec<(HeaderMap, Bytes)>>>) {
    let seen: Arc<Mutex<Vec<(HeaderMap, Bytes)>>> = Arc::default();
    let record = seen.clone();
    let app = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
        let record = record.clone();
        async move {
            record
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push((headers, body));
            http::StatusCode::NO_CONTENT
        }
    });
    let addr = support::serve(app).await;
    (format!("http://{addr}/hooks"), seen)
}

/// Every step, in the order they run. Each names the one operation it exists to cover; steps
/// may call other operations on the way (those are validated too).
fn steps() -> Vec<Step> {
    vec![
        // ---- OAuth (x-sdk-runtime): the auth runtime's requests -------------------------
        step("requestToken", |ctx| async move {
            let oauth = OAuth2::client_credentials(
                ctx.sandbox.client_id(),
                ctx.sandbox.client_secret().to_owned(),
                format!("{}/oauth/token", ctx.proxy_base),
            )
            .scopes(["campaigns:read"]);
            let client = Client::builder(&ctx.proxy_base).auth(oauth).build()?;
            client.campaigns().list().limit(1).send().await?;
            Ok(())
        }),
        step("authorize", |ctx| async move {
            let flow = AuthorizationCodeFlow::new(
                ctx.sandbox.client_id(),
                Some(Secret::new(ctx.sandbox.client_secret())),
                format!("{}/oauth/authorize", ctx.proxy_base),
                format!("{}/oauth/token", ctx.proxy_base),
                "http://127.0.0.1:9/callback",
            )
            .scopes(["contacts:read", "campaigns:read"]);
            let (url, pending) = flow.authorize_url()?;
            let browser = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()?;
            let answer = browser.get(url).send().await?;
            if answer.status() != http::StatusCode::FOUND {
                return Err(format!("authorize answered {}", answer.status()).into());
            }
            let location = answer
                .headers()
                .get(http::header::LOCATION)
                .ok_or("no Location")?
                .to_str()?;
            let location = url::Url::parse(location)?;
            let param = |name: &str| {
                location
                    .query_pairs()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.into_owned())
            };
            let code = param("code").ok_or("no code in the redirect")?;
            let state = param("state").ok_or("no state in the redirect")?;
            let login = Client::builder(&ctx.proxy_base).build()?;
            let oauth = flow.exchange(&login, &code, &state, pending).await?;
            let client = Client::builder(&ctx.proxy_base).auth(oauth).build()?;
            client.contacts().list().limit(1).send().await?;
            Ok(())
        }),
        // ---- campaigns -------------------------------------------------------------------
        step("createCampaign", |ctx| async move {
            let body = NewCampaign::builder()
                .name("Black Friday 2026")
                .budget_cents(500_000)
                .build()
                .with_objective(CampaignObjective::Sales)
                .with_currency("EUR")
                .with_daily_budget_cents(25_000)
                .with_start_at(ts(20))
                .with_end_at(ts(30))
                .with_status(CampaignStatus::Scheduled);
            let created = ctx.client.campaigns().create(&body).send().await?;
            // A second one, so listing pages.
            ctx.client
                .campaigns()
                .create(
                    &NewCampaign::builder()
                        .name("Evergreen")
                        .budget_cents(1_000)
                        .build(),
                )
                .idempotency_key("contract-evergreen")
                .send()
                .await?;
            ctx.ids().campaign = Some(created.id);
            Ok(())
        }),
        step("getCampaign", |ctx| async move {
            let id = need(&ctx.ids().campaign, "campaign")?;
            let got = ctx.client.campaigns().get(&id).send().await?;
            assert_eq!(got.currency, "EUR");
            Ok(())
        }),
        step("listCampaigns", |ctx| async move {
            let all: Vec<Campaign> = ctx
                .client
                .campaigns()
                .list()
                .limit(1)
                .created_after(ts(1) - chrono::Duration::days(3650))
                .created_before(Utc::now() + chrono::Duration::days(1))
                .min_spend_cents(0)
                .max_spend_cents(1_000_000)
                .min_impressions(0)
                .min_ctr(0.0)
                .stream()
                .try_collect()
                .await?;
            assert_eq!(all.len(), 2);
            ctx.client
                .campaigns()
                .list()
                .status(CampaignStatus::Scheduled)
                .objective(CampaignObjective::Sales)
                .send()
                .await?;
            Ok(())
        }),
        step("replaceCampaign", |ctx| async move {
            let id = need(&ctx.ids().campaign, "campaign")?;
            let body = CampaignReplace::builder()
                .name("Black Friday")
                .budget_cents(600_000)
                .objective(CampaignObjective::Leads)
                .currency("USD")
                .build()
                .with_daily_budget_cents(30_000)
                .with_start_at(ts(21))
                .with_end_at(ts(29));
            ctx.client.campaigns().replace(&id, &body).send().await?;
            Ok(())
        }),
        step("updateCampaign", |ctx| async move {
            let id = need(&ctx.ids().campaign, "campaign")?;
            let body = CampaignPatch::new()
                .with_name("Black Friday (final)")
                .with_status(CampaignStatus::Active)
                .with_budget_cents(650_000)
                .clear_daily_budget_cents()
                .clear_end_at();
            let updated = ctx.client.campaigns().update(&id, &body).send().await?;
            assert_eq!(updated.daily_budget_cents, None);
            Ok(())
        }),
        step("getCampaignStats", |ctx| async move {
            let id = need(&ctx.ids().campaign, "campaign")?;
            #[allow(deprecated)]
            let stats = ctx.client.campaigns().stats(&id).send_with_meta().await?;
            assert!(stats.headers.contains_key("deprecation"));
            Ok(())
        }),
        // ---- ads and creatives -------------------------------------------------------------
        step("createAd", |ctx| async move {
            let campaign = need(&ctx.ids().campaign, "campaign")?;
            let body = NewAd::builder()
                .name("Hero")
                .headline("Everything 50% off")
                .destination_url("https://shop.example.com/bf")
                .build()
                .with_status(AdStatus::Active);
            let ad = ctx
                .client
                .campaigns()
                .ads(&campaign)
                .create(&body)
                .send()
                .await?;
            ctx.ids().ad = Some(ad.id);
            Ok(())
        }),
        step("getAd", |ctx| async move {
            let (campaign, ad) = {
                let ids = ctx.ids();
                (need(&ids.campaign, "campaign")?, need(&ids.ad, "ad")?)
            };
            ctx.client
                .campaigns()
                .ads(&campaign)
                .get(&ad)
                .send()
                .await?;
            Ok(())
        }),
        step("listAds", |ctx| async move {
            let campaign = need(&ctx.ids().campaign, "campaign")?;
            let page = ctx
                .client
                .campaigns()
                .ads(&campaign)
                .list()
                .status(AdStatus::Active)
                .limit(10)
                .send()
                .await?;
            assert_eq!(page.items.len(), 1);
            Ok(())
        }),
        step("updateAd", |ctx| async move {
            let (campaign, ad) = {
                let ids = ctx.ids();
                (need(&ids.campaign, "campaign")?, need(&ids.ad, "ad")?)
            };
            let body = AdPatch::new()
                .with_headline("Everything 60% off")
                .with_status(AdStatus::Paused)
                .with_destination_url("https://shop.example.com/bf2")
                .with_name("Hero v2");
            ctx.client
                .campaigns()
                .ads(&campaign)
                .update(&ad, &body)
                .send()
                .await?;
            Ok(())
        }),
        step("uploadCreativeAsset", |ctx| async move {
            let png: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
            let form = marketing_api::multipart::Multipart::new()
                .json(
                    "metadata",
                    &NewCreativeAsset::builder().name("Hero").build(),
                )?
                .file_reader("file", "hero.png", "image/png", std::io::Cursor::new(png));
            let asset = ctx
                .client
                .creatives()
                .upload_creative_asset(form)
                .send()
                .await?;
            assert_eq!(asset.size_bytes, 70_000);
            ctx.ids().asset = Some(asset.id);
            Ok(())
        }),
        step("getCreativeAsset", |ctx| async move {
            let id = need(&ctx.ids().asset, "asset")?;
            let asset = ctx
                .client
                .creatives()
                .get_creative_asset(&id)
                .send()
                .await?;
            assert_eq!(asset.id, id);
            Ok(())
        }),
        step("createCreative", |ctx| async move {
            let (campaign, ad) = {
                let ids = ctx.ids();
                (need(&ids.campaign, "campaign")?, need(&ids.ad, "ad")?)
            };
            let card = |headline: &str| {
                CarouselCard::builder()
                    .asset_url("https://cdn.example.com/card.png")
                    .headline(headline)
                    .destination_url("https://shop.example.com/card")
                    .build()
            };
            // One of each kind: every variant of the `oneOf` crosses the validating proxy.
            let bodies = [
                NewCreative::Image(
                    NewImageCreative::builder()
                        .width(1200)
                        .height(628)
                        .alt_text("A shopping bag")
                        .build()
                        .with_asset_url("https://cdn.example.com/hero.png"),
                ),
                NewCreative::Image(
                    NewImageCreative::builder()
                        .width(1200)
                        .height(628)
                        .alt_text("A shopping bag")
                        .build()
                        .with_asset_id(need(&ctx.ids().asset, "asset")?),
                ),
                NewCreative::Video(
                    NewVideoCreative::builder()
                        .duration_ms(15_000)
                        .build()
                        .with_asset_url("https://cdn.example.com/teaser.mp4")
                        .with_poster_url("https://cdn.example.com/poster.png"),
                ),
                NewCreative::Html5(
                    NewHtml5Creative::builder()
                        .width(300)
                        .height(250)
                        .build()
                        .with_markup("<p>Hurry!</p>"),
                ),
                NewCreative::Carousel(
                    NewCarouselCreative::builder()
                        .cards(vec![card("Boots"), card("Coats")])
                        .build(),
                ),
            ];
            let mut first = None;
            for body in &bodies {
                let creative = ctx
                    .client
                    .campaigns()
                    .ads(&campaign)
                    .creatives(&ad)
                    .create(body)
                    .send()
                    .await?;
                let id = match (body, creative) {
                    (NewCreative::Image(_), Creative::Image(c)) => c.id,
                    (NewCreative::Video(_), Creative::Video(c)) => c.id,
                    (NewCreative::Html5(_), Creative::Html5(c)) => c.id,
                    (NewCreative::Carousel(_), Creative::Carousel(c)) => c.id,
                    (sent, got) => return Err(format!("sent {sent:?}, got {got:?}").into()),
                };
                first.get_or_insert(id);
            }
            ctx.ids().creative = first;
            Ok(())
        }),
        step("getCreative", |ctx| async move {
            let (campaign, ad, creative) = {
                let ids = ctx.ids();
                (
                    need(&ids.campaign, "campaign")?,
                    need(&ids.ad, "ad")?,
                    need(&ids.creative, "creative")?,
                )
            };
            ctx.client
                .campaigns()
                .ads(&campaign)
                .creatives(&ad)
                .get(&creative)
                .send()
                .await?;
            Ok(())
        }),
        step("listCreatives", |ctx| async move {
            let (campaign, ad) = {
                let ids = ctx.ids();
                (need(&ids.campaign, "campaign")?, need(&ids.ad, "ad")?)
            };
            let page = ctx
                .client
                .campaigns()
                .ads(&campaign)
                .creatives(&ad)
                .list()
                .kind(CreativeKind::Carousel)
                .send()
                .await?;
            assert!(
                matches!(page.items.as_slice(), [Creative::Carousel(c)] if c.cards.len() == 2),
                "{:?}",
                page.items
            );
            Ok(())
        }),
        // ---- contacts and audiences -----------------------------------------------------------
        step("createContact", |ctx| async move {
            let body = NewContact::builder()
                .email("ada@example.com")
                .build()
                .with_first_name("Ada")
                .with_last_name("Lovelace")
                .with_phone("+442071234567")
                .with_status(ContactStatus::Subscribed)
                .with_attributes(json!({ "plan": "pro", "seats": 12 }))?;
            let contact = ctx.client.contacts().create(&body).send().await?;
            ctx.ids().contact = Some(contact.id);
            Ok(())
        }),
        step("getContact", |ctx| async move {
            let id = need(&ctx.ids().contact, "contact")?;
            ctx.client.contacts().get(&id).send().await?;
            Ok(())
        }),
        step("updateContact", |ctx| async move {
            let id = need(&ctx.ids().contact, "contact")?;
            let body = ContactPatch::new()
                .clear_phone()
                .with_first_name("Augusta Ada")
                .with_status(ContactStatus::Subscribed);
            let updated = ctx.client.contacts().update(&id, &body).send().await?;
            assert_eq!(updated.phone, None);
            Ok(())
        }),
        step("exportContacts", |ctx| async move {
            let rows: Vec<_> = ctx
                .client
                .contacts()
                .export_csv()
                .status(ContactStatus::Subscribed)
                .send()
                .await?
                .csv_rows()
                .try_collect()
                .await?;
            assert_eq!(rows.len(), 1);
            assert_eq!(rows[0].get("first_name"), Some("Augusta Ada"));
            Ok(())
        }),
        step("importContacts", |ctx| async move {
            let file = "email,first_name,attributes\r\n\
                        grace@example.com,\"Grace, \"\"Amazing\"\"\",\"{\"\"plan\"\":\"\"pro\"\"}\"\r\n\
                        not-an-email,Bad,\r\n";
            let job = ctx
                .client
                .contacts()
                .import_csv(file)
                .idempotency_key("contract-import")
                .send()
                .await?;
            ctx.ids().contact_import = Some(job.id);
            Ok(())
        }),
        step("getContactImport", |ctx| async move {
            let id = need(&ctx.ids().contact_import, "contact import")?;
            for _ in 0..200 {
                let job = ctx.client.contacts().get_import(&id).send().await?;
                if job.status == ContactImportStatus::Completed {
                    assert_eq!((job.created, job.rejected), (1, 1));
                    assert_eq!(job.rejected_rows[0].line, 3);
                    return Ok(());
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            Err("the import did not complete".into())
        }),
        step("exportContact", |ctx| async move {
            let id = need(&ctx.ids().contact, "contact")?;
            let export = ctx.client.contacts().export(&id).send().await?;
            assert_eq!(export.contact.id, id);
            Ok(())
        }),
        step("eraseContact", |ctx| async move {
            // Its own contact: the others' steps still need theirs.
            let body = NewContact::builder().email("erase.me@example.com").build();
            let contact = ctx.client.contacts().create(&body).send().await?;
            let receipt = ctx.client.contacts().erase(&contact.id).send().await?;
            assert_eq!(receipt.contact_id, contact.id);
            let gone = ctx.client.contacts().get(&contact.id).send().await;
            assert!(gone.is_err_and(|e| e.is_not_found()));
            Ok(())
        }),
        step("createApiKey", |ctx| async move {
            let body = NewApiKey::builder()
                .name("CRM sync")
                .scopes(vec![ApiKeyScope::ContactsRead, ApiKeyScope::ContactsWrite])
                .build()
                .with_rate_tier(RateTier::Premium);
            let created = ctx.client.api_keys().create(&body).send().await?;
            assert_eq!(created.api_key.rate_tier, RateTier::Premium);
            ctx.ids().api_key = Some(created.api_key.id);
            Ok(())
        }),
        step("listApiKeys", |ctx| async move {
            let page = ctx
                .client
                .api_keys()
                .list()
                .status(ApiKeyStatus::Active)
                .send()
                .await?;
            assert_eq!(page.items.len(), 1);
            Ok(())
        }),
        step("revokeApiKey", |ctx| async move {
            let id = need(&ctx.ids().api_key, "API key")?;
            let key = ctx.client.api_keys().revoke(&id).send().await?;
            assert_eq!(key.status, ApiKeyStatus::Revoked);
            Ok(())
        }),
        step("listAuditEvents", |ctx| async move {
            let page = ctx
                .client
                .audit_events()
                .list()
                .operation("eraseContact")
                .send()
                .await?;
            assert_eq!(page.items.len(), 1);
            Ok(())
        }),
        step("getUsage", |ctx| async move {
            let usage = ctx
                .client
                .usage()
                .get()
                .operation("createContact")
                .send()
                .await?;
            assert!(usage.total_requests >= 2);
            Ok(())
        }),
        step("createAudience", |ctx| async move {
            let body = NewAudience::builder()
                .name("VIP")
                .build()
                .with_description("Top customers");
            let audience = ctx.client.audiences().create(&body).send().await?;
            ctx.ids().audience = Some(audience.id);
            Ok(())
        }),
        step("getAudience", |ctx| async move {
            let id = need(&ctx.ids().audience, "audience")?;
            ctx.client.audiences().get(&id).send().await?;
            Ok(())
        }),
        step("updateAudience", |ctx| async move {
            let id = need(&ctx.ids().audience, "audience")?;
            let body = AudiencePatch::new()
                .with_name("VIP 2026")
                .clear_description();
            ctx.client.audiences().update(&id, &body).send().await?;
            Ok(())
        }),
        step("addAudienceContacts", |ctx| async move {
            let (audience, contact) = {
                let ids = ctx.ids();
                (
                    need(&ids.audience, "audience")?,
                    need(&ids.contact, "contact")?,
                )
            };
            let result = ctx
                .client
                .audiences()
                .contacts(&audience)
                .add(
                    &AudienceMembershipChange::builder()
                        .contact_ids(vec![contact])
                        .build(),
                )
                .send()
                .await?;
            assert_eq!(result.added, 1);
            Ok(())
        }),
        step("previewAudience", |ctx| async move {
            let (audience, contact) = {
                let ids = ctx.ids();
                (
                    need(&ids.audience, "audience")?,
                    need(&ids.contact, "contact")?,
                )
            };
            // Subscribed members of the static audience, who have not bought twice this month.
            let rule = AudienceRule::All(
                AllRule::builder()
                    .all(vec![
                        AudienceRule::Membership(
                            MembershipRule::builder().audience_id(&audience).build(),
                        ),
                        AudienceRule::Field(
                            FieldRule::builder()
                                .field("status")
                                .operator(RuleOperator::In)
                                .build()
                                .with_value(json!(["subscribed"])),
                        ),
                        AudienceRule::Not(Box::new(
                            NotRule::builder()
                                .not(AudienceRule::Event(
                                    EventRule::builder()
                                        .event_type(InteractionEventType::Purchase)
                                        .build()
                                        .with_min_count(2)
                                        .with_within_days(30),
                                ))
                                .build(),
                        )),
                    ])
                    .build(),
            );
            let preview = ctx
                .client
                .audiences()
                .preview(
                    &AudiencePreviewRequest::builder()
                        .rule(rule.clone())
                        .build()
                        .with_limit(10),
                )
                .send()
                .await?;
            assert_eq!(preview.count, 1);
            assert_eq!(preview.contacts[0].id, contact);
            // Saved as a dynamic audience, the same rule lists the same member, and is served
            // back as it was given.
            let dynamic = ctx
                .client
                .audiences()
                .create(
                    &NewAudience::builder()
                        .name("Subscribed VIPs")
                        .build()
                        .with_kind(AudienceKind::Dynamic)
                        .with_rule(rule.clone()),
                )
                .send()
                .await?;
            assert_eq!(dynamic.rule, Some(rule));
            assert_eq!(dynamic.contact_count, 1);
            let members = ctx
                .client
                .audiences()
                .contacts(&dynamic.id)
                .list()
                .send()
                .await?;
            assert_eq!(members.items.len(), 1);
            ctx.client.audiences().delete(&dynamic.id).send().await?;
            Ok(())
        }),
        step("listAudienceContacts", |ctx| async move {
            let audience = need(&ctx.ids().audience, "audience")?;
            let page = ctx
                .client
                .audiences()
                .contacts(&audience)
                .list()
                .limit(5)
                .send()
                .await?;
            assert_eq!(page.items.len(), 1);
            Ok(())
        }),
        step("listAudiences", |ctx| async move {
            let page = ctx
                .client
                .audiences()
                .list()
                .min_contacts(1)
                .created_after(ts(1) - chrono::Duration::days(3650))
                .created_before(Utc::now() + chrono::Duration::days(1))
                .send()
                .await?;
            assert_eq!(page.items.len(), 1);
            Ok(())
        }),
        step("listContacts", |ctx| async move {
            let audience = need(&ctx.ids().audience, "audience")?;
            let page = ctx
                .client
                .contacts()
                .list()
                .email("ada@example.com")
                .status(ContactStatus::Subscribed)
                .audience_id(audience)
                .created_after(ts(1) - chrono::Duration::days(3650))
                .created_before(Utc::now() + chrono::Duration::days(1))
                .send()
                .await?;
            assert_eq!(page.items.len(), 1);
            Ok(())
        }),
        step("removeAudienceContact", |ctx| async move {
            let (audience, contact) = {
                let ids = ctx.ids();
                (
                    need(&ids.audience, "audience")?,
                    need(&ids.contact, "contact")?,
                )
            };
            ctx.client
                .audiences()
                .contacts(&audience)
                .remove(&contact)
                .send()
                .await?;
            Ok(())
        }),
        // ---- events ---------------------------------------------------------------------------
        step("ingestEvents", |ctx| async move {
            let (contact, campaign) = {
                let ids = ctx.ids();
                (
                    need(&ids.contact, "contact")?,
                    need(&ids.campaign, "campaign")?,
                )
            };
            let batch = EventBatch::builder()
                .events(vec![
                    NewInteractionEvent::builder()
                        .type_(InteractionEventType::Purchase)
                        .occurred_at(ts(3))
                        .build()
                        .with_contact_id(contact.clone())
                        .with_campaign_id(campaign)
                        .with_value_cents(4_999)
                        .with_properties(json!({ "sku": "SKU-1" }))?,
                    NewInteractionEvent::builder()
                        .type_(InteractionEventType::PageView)
                        .occurred_at(ts(4))
                        .build()
                        .with_contact_id(contact),
                ])
                .build();
            let result = ctx.client.events().send_batch(&batch).send().await?;
            assert_eq!(result.accepted, 2);
            Ok(())
        }),
        step("listEvents", |ctx| async move {
            let (contact, campaign) = {
                let ids = ctx.ids();
                (
                    need(&ids.contact, "contact")?,
                    need(&ids.campaign, "campaign")?,
                )
            };
            let page = ctx
                .client
                .events()
                .list()
                .type_(InteractionEventType::Purchase)
                .contact_id(contact)
                .campaign_id(campaign)
                .occurred_after(ts(1))
                .occurred_before(ts(28))
                .min_value_cents(1)
                .send()
                .await?;
            assert_eq!(page.items.len(), 1);
            Ok(())
        }),
        // ---- webhooks ---------------------------------------------------------------------------
        step("createWebhookEndpoint", |ctx| async move {
            let body = NewWebhookEndpoint::builder()
                .url(ctx.receiver_url.clone())
                .event_types(vec![
                    WebhookEventType::CampaignUpdated,
                    WebhookEventType::ContactUpdated,
                    WebhookEventType::CampaignDeleted,
                ])
                .build()
                .with_description("contract suite")
                .with_enabled(true);
            let endpoint = ctx.client.webhook_endpoints().create(&body).send().await?;
            let mut ids = ctx.ids();
            ids.endpoint_secret = endpoint.secret.clone();
            ids.endpoint = Some(endpoint.id);
            Ok(())
        }),
        step("getWebhookEndpoint", |ctx| async move {
            let id = need(&ctx.ids().endpoint, "webhook endpoint")?;
            let endpoint = ctx.client.webhook_endpoints().get(&id).send().await?;
            assert!(
                endpoint.secret.is_none(),
                "the secret is only in the create answer"
            );
            Ok(())
        }),
        step("listWebhookEndpoints", |ctx| async move {
            let page = ctx
                .client
                .webhook_endpoints()
                .list()
                .limit(5)
                .send()
                .await?;
            assert_eq!(page.items.len(), 1);
            Ok(())
        }),
        step("updateWebhookEndpoint", |ctx| async move {
            let id = need(&ctx.ids().endpoint, "webhook endpoint")?;
            let body = WebhookEndpointPatch::new()
                .clear_description()
                .with_enabled(true)
                .with_url(ctx.receiver_url.clone());
            ctx.client
                .webhook_endpoints()
                .update(&id, &body)
                .send()
                .await?;
            // Something to deliver: a campaign update after the endpoint subscribed.
            let campaign = need(&ctx.ids().campaign, "campaign")?;
            ctx.client
                .campaigns()
                .update(
                    &campaign,
                    &CampaignPatch::new().with_name("Black Friday (live)"),
                )
                .send()
                .await?;
            Ok(())
        }),
        step("listWebhookDeliveries", |ctx| async move {
            let endpoint = need(&ctx.ids().endpoint, "webhook endpoint")?;
            // Deliveries are asynchronous: wait until the sandbox reports one succeeded.
            for _ in 0..200 {
                let page = ctx
                    .client
                    .webhook_deliveries()
                    .list()
                    .endpoint_id(endpoint.clone())
                    .status(DeliveryStatus::Succeeded)
                    .send()
                    .await?;
                if let Some(delivery) = page.items.into_iter().next() {
                    ctx.ids().delivery = Some(delivery.id);
                    return Ok(());
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            Err("no webhook delivery succeeded within 5 s".into())
        }),
        step("getWebhookDelivery", |ctx| async move {
            let id = need(&ctx.ids().delivery, "webhook delivery")?;
            let delivery = ctx.client.webhook_deliveries().get(&id).send().await?;
            assert_eq!(delivery.status, DeliveryStatus::Succeeded);
            Ok(())
        }),
        step("replayWebhookDelivery", |ctx| async move {
            let id = need(&ctx.ids().delivery, "webhook delivery")?;
            ctx.client.webhook_deliveries().replay(&id).send().await?;
            Ok(())
        }),
        step("rotateWebhookEndpointSecret", |ctx| async move {
            let id = need(&ctx.ids().endpoint, "webhook endpoint")?;
            let rotated = ctx
                .client
                .webhook_endpoints()
                .rotate_secret(&id)
                .send()
                .await?;
            assert_eq!(rotated.endpoint_id, id);
            Ok(())
        }),
        // ---- deletions, children first ----------------------------------------------------------
        step("deleteCreative", |ctx| async move {
            let (campaign, ad, creative) = {
                let ids = ctx.ids();
                (
                    need(&ids.campaign, "campaign")?,
                    need(&ids.ad, "ad")?,
                    need(&ids.creative, "creative")?,
                )
            };
            ctx.client
                .campaigns()
                .ads(&campaign)
                .creatives(&ad)
                .delete(&creative)
                .send()
                .await?;
            Ok(())
        }),
        step("deleteAd", |ctx| async move {
            let (campaign, ad) = {
                let ids = ctx.ids();
                (need(&ids.campaign, "campaign")?, need(&ids.ad, "ad")?)
            };
            ctx.client
                .campaigns()
                .ads(&campaign)
                .delete(&ad)
                .send()
                .await?;
            Ok(())
        }),
        step("deleteAudience", |ctx| async move {
            let id = need(&ctx.ids().audience, "audience")?;
            ctx.client.audiences().delete(&id).send().await?;
            Ok(())
        }),
        step("deleteContact", |ctx| async move {
            let id = need(&ctx.ids().contact, "contact")?;
            ctx.client.contacts().delete(&id).send().await?;
            Ok(())
        }),
        step("deleteCampaign", |ctx| async move {
            let id = need(&ctx.ids().campaign, "campaign")?;
            ctx.client.campaigns().delete(&id).send().await?;
            let gone = ctx.client.campaigns().get(&id).send().await;
            assert!(gone.is_err_and(|e| e.is_not_found()));
            Ok(())
        }),
        step("deleteWebhookEndpoint", |ctx| async move {
            let id = need(&ctx.ids().endpoint, "webhook endpoint")?;
            ctx.client.webhook_endpoints().delete(&id).send().await?;
            Ok(())
        }),
        step("getPlatformKeys", |ctx| async move {
            let jwks = ctx.client.platform_keys().get().send().await?;
            assert_eq!(jwks.keys.len(), 1);
            Ok(())
        }),
        step("createEncryptionKey", |ctx| async move {
            // RFC 7518 appendix C's P-256 public key: a real point, so the platform takes it.
            let body: NewEncryptionKey = serde_json::from_value(json!({"jwk": {
                "kty": "EC", "crv": "P-256", "kid": "contract-1",
                "x": "gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0",
                "y": "SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps",
            }}))?;
            let key = ctx.client.encryption_keys().create(&body).send().await?;
            assert_eq!(key.kid, "contract-1");
            ctx.ids().encryption_key = Some(key.id);
            // Sensitive fields now travel as JWE, and the answers still honour the contract.
            let contacts = ctx.client.contacts().list().limit(5).send().await?;
            assert!(contacts.items.iter().all(|c| c.email.is_sealed()));
            Ok(())
        }),
        step("listEncryptionKeys", |ctx| async move {
            let page = ctx.client.encryption_keys().list().send().await?;
            assert_eq!(page.items.len(), 1);
            Ok(())
        }),
        step("revokeEncryptionKey", |ctx| async move {
            let id = need(&ctx.ids().encryption_key, "encryption key")?;
            let key = ctx.client.encryption_keys().revoke(&id).send().await?;
            assert!(key.revoked_at.is_some());
            Ok(())
        }),
    ]
}

/// Operations of the spec with no step, and steps for operations the spec does not have.
fn coverage_gaps(contract: &Contract, steps: &[Step]) -> Vec<String> {
    let in_spec: BTreeSet<&str> = contract.operations().map(|op| op.id()).collect();
    let in_suite: BTreeSet<&str> = steps.iter().map(|s| s.operation).collect();
    let mut gaps: Vec<String> = in_spec
        .difference(&in_suite)
        .map(|op| format!("operation `{op}` in openapi.yaml has no contract step"))
        .collect();
    gaps.extend(
        in_suite
            .difference(&in_spec)
            .map(|op| format!("contract step `{op}` names no operation of openapi.yaml")),
    );
    if in_suite.len() != steps.len() {
        gaps.push("two contract steps name the same operation".into());
    }
    gaps
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_of_the_spec_honours_the_contract() {
    let contract = Contract::bundled().expect("the bundled spec compiles");
    let steps = steps();
    let gaps = coverage_gaps(contract, &steps);
    assert!(
        gaps.is_empty(),
        "contract coverage:\n  {}",
        gaps.join("\n  ")
    );

    let sandbox = Sandbox::builder()
        .webhook_retry_schedule(vec![Duration::from_millis(10)])
        .start()
        .await
        .expect("the sandbox starts");
    let upstream = format!("http://{}", sandbox.addr());
    let proxy = Proxy::start(&upstream, contract).await;
    let (receiver_url, webhooks) = start_receiver().await;
    let client = Client::builder(proxy.base_url())
        .auth(ApiKey::new(sandbox.api_key()).expect("a valid key"))
        .build()
        .expect("a valid configuration");
    let ctx = Arc::new(Ctx {
        proxy_base: proxy.base_url(),
        sandbox,
        client,
        ids: Mutex::default(),
        receiver_url,
        webhooks,
    });

    let total = steps.len();
    let mut covered = 0;
    let mut validated = 0;
    let mut failures = Vec::new();
    for step in steps {
        let operation = step.operation;
        let outcome = (step.run)(ctx.clone()).await;
        let exchanges = proxy.take();
        validated += exchanges.len();
        if let Err(error) = outcome {
            failures.push(format!("{operation}: the step failed: {error}"));
        }
        for exchange in &exchanges {
            for violation in &exchange.violations {
                failures.push(format!(
                    "{operation} step: {} -> {}: {violation}",
                    exchange.line, exchange.status
                ));
            }
        }
        let exercised = exchanges
            .iter()
            .any(|e| e.operation.as_deref() == Some(operation) && e.status < 400);
        if exercised {
            covered += 1;
        } else {
            failures.push(format!(
                "{operation}: the step sent no successful {operation} request (saw: {:?})",
                exchanges.iter().map(|e| &e.line).collect::<Vec<_>>()
            ));
        }
    }
    println!("contract: {covered}/{total} operations covered");

    // Webhooks delivered during the run: signed as the spec says, bodies as the spec says.
    let secret = ctx.ids().endpoint_secret.clone();
    let delivered = ctx
        .webhooks
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    if delivered.is_empty() {
        failures.push("no webhook was delivered during the run".into());
    }
    if let Some(secret) = secret {
        let verifier = Verifier::new(&secret).expect("the endpoint secret parses");
        for (headers, body) in &delivered {
            match verifier.verify_event(headers, body) {
                Ok(Event::Unknown(unknown)) => failures.push(format!(
                    "webhook of type {} is not a type this SDK knows",
                    unknown.event_type()
                )),
                Ok(event) => {
                    if let Err(violation) = contract.validate_webhook(event.event_type(), body) {
                        failures.push(format!("webhook: {violation}"));
                    }
                }
                Err(error) => failures.push(format!("webhook does not verify: {error}")),
            }
        }
    } else {
        failures.push("createWebhookEndpoint returned no secret".into());
    }

    println!(
        "contract: {validated} exchanges and {} webhook deliveries validated against openapi.yaml",
        delivered.len()
    );
    assert!(
        failures.is_empty(),
        "contract: {covered}/{total} operations covered; failures:\n  {}",
        failures.join("\n  ")
    );
    assert_eq!(covered, total);
}

// ---- the validator catches deliberate mismatches, naming operation and field ----------------

#[test]
fn a_request_missing_a_required_field_names_the_operation_and_the_field() {
    let contract = Contract::bundled().expect("the bundled spec compiles");
    let op = contract.operation("createCampaign").expect("in the spec");
    // What the SDK would send if `NewCampaign` stopped serializing `name`.
    let body =
        serde_json::to_vec(&json!({"budget_cents": 500000, "currency": "USD"})).expect("encodes");
    let mut headers = HeaderMap::new();
    headers.insert("content-type", "application/json".parse().expect("valid"));
    headers.insert("x-api-key", "mk_test_1".parse().expect("valid"));
    let violation = op
        .validate_request(None, &headers, &body)
        .expect_err("name is required");
    let message = violation.to_string();
    println!("{message}");
    assert_eq!(violation.operation, "createCampaign");
    assert!(violation.names_field("name"), "{message}");
    assert_eq!(
        message,
        "createCampaign: request does not match the spec: `name`: required field is missing"
    );
}

#[test]
fn a_response_with_a_renamed_field_names_the_operation_and_the_field() {
    let contract = Contract::bundled().expect("the bundled spec compiles");
    let op = contract.operation("getCampaign").expect("in the spec");
    // What the SDK would receive if the sandbox renamed `budget_cents` to `budget`.
    let (_, example) = contract
        .schema_examples()
        .iter()
        .find(|(name, _)| name == "Campaign")
        .expect("Campaign has an example");
    let mut campaign = example.clone();
    let map = campaign.as_object_mut().expect("an object");
    let budget = map.remove("budget_cents").expect("the example has it");
    map.insert("budget".into(), budget);
    let body = serde_json::to_vec(&json!({"data": campaign, "meta": {"request_id": "req_1"}}))
        .expect("encodes");
    let violation = op
        .validate_response_body(200, &body)
        .expect_err("budget_cents is required");
    let message = violation.to_string();
    println!("{message}");
    assert_eq!(violation.operation, "getCampaign");
    assert!(violation.names_field("data.budget_cents"), "{message}");
    assert_eq!(
        message,
        "getCampaign: response 200 does not match the spec: `data.budget_cents`: required field is missing"
    );
}

#[test]
fn a_missing_step_is_reported_by_operation_name() {
    let contract = Contract::bundled().expect("the bundled spec compiles");
    let mut steps = steps();
    steps.retain(|s| s.operation != "getCampaign");
    let gaps = coverage_gaps(contract, &steps);
    assert_eq!(
        gaps,
        vec!["operation `getCampaign` in openapi.yaml has no contract step".to_owned()]
    );
}

/// Runs the `createCampaign` and `getCampaign` steps through a proxy that tampers with bodies
/// and returns the failures the suite reports.
async fn suite_failures_with(tamper: Tamper) -> Vec<String> {
    let contract = Contract::bundled().expect("the bundled spec compiles");
    let sandbox = Sandbox::start().await.expect("the sandbox starts");
    let upstream = format!("http://{}", sandbox.addr());
    let proxy = Proxy::start_tampering(&upstream, contract, tamper).await;
    let client = Client::builder(proxy.base_url())
        .auth(ApiKey::new(sandbox.api_key()).expect("a valid key"))
        .retry_policy(marketing_api::retry::RetryPolicy::never())
        .build()
        .expect("a valid configuration");
    let ctx = Arc::new(Ctx {
        proxy_base: proxy.base_url(),
        sandbox,
        client,
        ids: Mutex::default(),
        receiver_url: String::new(),
        webhooks: Arc::default(),
    });
    let mut failures = Vec::new();
    for step in steps()
        .into_iter()
        .filter(|s| matches!(s.operation, "createCampaign" | "getCampaign"))
    {
        let _ = (step.run)(ctx.clone()).await;
        for exchange in proxy.take() {
            failures.extend(exchange.violations.iter().map(ToString::to_string));
        }
    }
    failures
}

#[tokio::test]
async fn an_sdk_that_stops_sending_a_required_field_fails_the_suite_by_operation_and_field() {
    fn drop_name(body: &mut serde_json::Value) {
        if let Some(map) = body.as_object_mut() {
            map.remove("name");
        }
    }
    let failures = suite_failures_with(Tamper {
        request: Some(drop_name),
        response: None,
    })
    .await;
    println!("{}", failures.join("\n"));
    assert!(
        failures.iter().any(|f| f
            == "createCampaign: request does not match the spec: `name`: required field is missing"),
        "{failures:#?}"
    );
}

#[tokio::test]
async fn a_sandbox_that_renames_a_response_field_fails_the_suite_by_operation_and_field() {
    fn rename_budget(body: &mut serde_json::Value) {
        if let Some(data) = body.get_mut("data").and_then(|d| d.as_object_mut())
            && let Some(budget) = data.remove("budget_cents")
        {
            data.insert("budget".into(), budget);
        }
    }
    let failures = suite_failures_with(Tamper {
        request: None,
        response: Some(rename_budget),
    })
    .await;
    println!("{}", failures.join("\n"));
    assert!(
        failures.iter().any(|f| f
            == "createCampaign: response 201 does not match the spec: `data.budget_cents`: required field is missing"),
        "{failures:#?}"
    );
}

/// Error answers are part of the contract too: what an independent OpenAPI tool sends first
/// (no credentials, out-of-range parameters, malformed bodies, unknown ids) must be answered
/// with a status the operation declares and a body of that status's schema.
#[tokio::test]
async fn error_answers_match_the_spec() {
    let contract = Contract::bundled().expect("the bundled spec compiles");
    let sandbox = Sandbox::start().await.expect("the sandbox starts");
    let upstream = format!("http://{}", sandbox.addr());
    let proxy = Proxy::start(&upstream, contract).await;
    let http = reqwest::Client::new();
    let base = proxy.base_url();
    let key = sandbox.api_key().to_owned();
    let cases: Vec<(&str, reqwest::RequestBuilder, u16)> = vec![
        ("no credential", http.get(format!("{base}/campaigns")), 401),
        (
            "limit out of range",
            http.get(format!("{base}/campaigns?limit=0"))
                .header("x-api-key", &key),
            400,
        ),
        (
            "unknown id",
            http.get(format!("{base}/campaigns/cmp_nope"))
                .header("x-api-key", &key),
            404,
        ),
        (
            "required field missing",
            http.post(format!("{base}/campaigns"))
                .header("x-api-key", &key)
                .header("content-type", "application/json")
                .body(r#"{"budget_cents": 1}"#),
            400,
        ),
        (
            "a rule naming an unknown field",
            http.post(format!("{base}/audiences/preview"))
                .header("x-api-key", &key)
                .header("content-type", "application/json")
                .body(r#"{"rule": {"type": "not", "not": {"type": "field", "field": "shoe_size", "operator": "exists"}}}"#),
            422,
        ),
        (
            "malformed JSON",
            http.post(format!("{base}/contacts"))
                .header("x-api-key", &key)
                .header("content-type", "application/json")
                .body("{"),
            400,
        ),
        (
            "bad grant",
            http.post(format!("{base}/oauth/token"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("grant_type=refresh_token&refresh_token=rt_nope&client_id=x"),
            401,
        ),
    ];
    let mut failures = Vec::new();
    for (case, request, expected) in cases {
        let status = request.send().await.expect("the proxy answers").status();
        if status.as_u16() != expected {
            failures.push(format!("{case}: expected {expected}, got {status}"));
        }
        for exchange in proxy.take() {
            // The request side of these is off-spec on purpose; only the answers are checked.
            failures.extend(
                exchange
                    .violations
                    .iter()
                    .filter(|v| v.part.starts_with("response"))
                    .map(|v| format!("{case}: {v}")),
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
