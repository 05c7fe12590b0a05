//! How a service that uses the SDK tests its integration, two ways:
//!
//! 1. against [`MockApi`]: fast, exact answers (including failures), every request checked
//!    against the spec, and any request you did not expect fails the test;
//! 2. against the sandbox (`marketing-api-sandbox` as a dev-dependency): a stateful server of
//!    the whole spec, for flows.
//!
//! The service here pauses every active campaign that spent more than its budget.
//!
//! ```text
//! cargo run --example contract_test --features testing
//! ```
//!
//! In a real project the two `check_*` functions are `#[tokio::test]`s in `tests/`.

use futures::TryStreamExt;
use marketing_api::models::{
    Campaign, CampaignId, CampaignPatch, CampaignStatus, ErrorType, NewCampaign,
};
use marketing_api::testing::MockApi;
use marketing_api::{Client, Error, auth::ApiKey};
use marketing_api_sandbox::Sandbox;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The code under test: pauses active campaigns whose spend exceeds their budget and returns
/// the ids it paused. Campaigns deleted in the meantime are skipped.
async fn pause_overspent(client: &Client) -> Result<Vec<CampaignId>, Error> {
    let mut paused = Vec::new();
    let mut active = client
        .campaigns()
        .list()
        .status(CampaignStatus::Active)
        .stream();
    while let Some(campaign) = active.try_next().await? {
        if campaign.metrics.spend_cents <= campaign.budget_cents {
            continue;
        }
        let patch = CampaignPatch::new().with_status(CampaignStatus::Paused);
        match client.campaigns().update(&campaign.id, &patch).send().await {
            Ok(_) => paused.push(campaign.id),
            Err(error) if error.is_not_found() => {}
            Err(error) => return Err(error),
        }
    }
    Ok(paused)
}

/// With MockApi: exact answers, a 404 in the middle, and a check that nothing else was sent.
async fn check_with_mock_api() -> Result<(), BoxError> {
    let mock = MockApi::start().await;

    // Spec examples make valid fixtures; adjust what the test is about.
    let mut overspent: Campaign = MockApi::example("Campaign")?;
    overspent.id = CampaignId::new("cmp_over");
    overspent.metrics.spend_cents = overspent.budget_cents + 1;
    let mut gone = overspent.clone();
    gone.id = CampaignId::new("cmp_gone");
    let mut fine: Campaign = MockApi::example("Campaign")?;
    fine.id = CampaignId::new("cmp_fine");
    fine.metrics.spend_cents = 0;

    mock.campaigns()
        .list()
        .times(1)
        .returns_page(vec![overspent.clone(), gone.clone(), fine])
        .await;
    let mut paused = overspent.clone();
    paused.status = CampaignStatus::Paused;
    mock.campaigns()
        .update(&overspent.id)
        .times(1)
        .returns(paused)
        .await;
    mock.campaigns()
        .update(&gone.id)
        .times(1)
        .fails(404, ErrorType::NotFoundError, "resource_missing")
        .await;

    let result = pause_overspent(&mock.client()).await?;
    assert_eq!(result, vec![overspent.id]);

    // Panics listing any request no helper mocked or that does not match the spec, and checks
    // every `.times(..)`.
    mock.verify().await;
    println!("MockApi: paused {result:?}; every request matched the spec");
    Ok(())
}

/// With the sandbox: real state, real validation, real pagination.
async fn check_with_sandbox() -> Result<(), BoxError> {
    let sandbox = Sandbox::start().await?;
    let client = Client::builder(sandbox.base_url())
        .auth(ApiKey::new(sandbox.api_key())?)
        .build()?;

    // Campaigns start without spend in the sandbox; a budget of 0 with any spend would be
    // overspent, so seed one active campaign with no budget and check nothing is paused yet.
    let created = client
        .campaigns()
        .create(
            &NewCampaign::builder()
                .name("Always on")
                .budget_cents(0)
                .build()
                .with_status(CampaignStatus::Scheduled),
        )
        .send()
        .await?;
    client
        .campaigns()
        .update(
            &created.id,
            &CampaignPatch::new().with_status(CampaignStatus::Active),
        )
        .send()
        .await?;
    let result = pause_overspent(&client).await?;
    assert!(result.is_empty(), "nothing has spent yet: {result:?}");
    let listed = client
        .campaigns()
        .list()
        .status(CampaignStatus::Active)
        .send()
        .await?;
    assert_eq!(listed.items.len(), 1);
    sandbox.shutdown().await;
    println!(
        "sandbox: {} active campaign, none overspent",
        listed.items.len()
    );
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    check_with_mock_api().await?;
    check_with_sandbox().await?;
    Ok(())
}
