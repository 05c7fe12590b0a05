//! The 0.2 API against the sandbox, as a user writes it: bodies built by naming their required
//! fields, ids passed by value or by reference, free-form attributes from `json!`, a page with
//! its response headers, and error codes as an enum.

mod support;

use marketing_api::auth::ApiKey;
use marketing_api::models::{ContactId, ContactStatus, ErrorCode, NewCampaign, NewContact};
use marketing_api::serde_json::json;
use marketing_api::{Client, Error, ErrorKind};

async fn client() -> (marketing_api_sandbox::Sandbox, Client) {
    let sandbox = support::unlimited_sandbox(0x0a91).await;
    let client = Client::builder(sandbox.base_url())
        .auth(ApiKey::new(sandbox.api_key()).expect("the sandbox key is valid"))
        .build()
        .expect("a loopback client");
    (sandbox, client)
}

#[tokio::test]
async fn built_bodies_ids_and_json_attributes_round_trip() -> Result<(), Error> {
    let (_sandbox, client) = client().await;
    let campaign = client
        .campaigns()
        .create(
            &NewCampaign::builder()
                .budget_cents(120_000)
                .name("Spring sale")
                .build()
                .with_currency("EUR"),
        )
        .send()
        .await?;
    assert_eq!(campaign.name, "Spring sale");
    assert_eq!(campaign.budget_cents, 120_000);

    // By reference and by value: the same campaign.
    let by_ref = client.campaigns().get(&campaign.id).send().await?;
    let by_value = client.campaigns().get(campaign.id.clone()).send().await?;
    assert_eq!(by_ref, by_value);

    let contact = client
        .contacts()
        .create(
            &NewContact::builder()
                .email("ada@example.com")
                .build()
                .with_status(ContactStatus::Subscribed)
                .with_attributes(json!({ "plan": "pro", "seats": 12 }))?,
        )
        .send()
        .await?;
    assert_eq!(contact.attributes["plan"], "pro");
    assert_eq!(contact.attributes["seats"], 12);
    let listed = client
        .contacts()
        .list()
        .email("ada@example.com")
        .send()
        .await?;
    assert_eq!(listed.items.len(), 1);
    assert_eq!(listed.items[0].id, contact.id);
    Ok(())
}

#[tokio::test]
async fn a_page_comes_with_its_status_and_headers() -> Result<(), Error> {
    let (_sandbox, client) = client().await;
    for n in 0..3 {
        let body = NewContact::builder()
            .email(format!("c{n}@example.com"))
            .build();
        client.contacts().create(&body).send().await?;
    }
    let answer = client.contacts().list().limit(2).send_with_meta().await?;
    assert_eq!(answer.status.as_u16(), 200);
    assert_eq!(answer.data.items.len(), 2);
    assert!(answer.data.has_more);
    let request_id = answer.request_id.as_deref().expect("a request id");
    assert!(request_id.starts_with("req_"), "{request_id}");
    assert_eq!(
        answer
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
        Some(request_id),
        "the response headers are the page's own"
    );
    assert!(
        answer.headers.contains_key("ratelimit"),
        "rate-limit headers: {:?}",
        answer.headers
    );
    Ok(())
}

#[tokio::test]
async fn error_codes_the_contract_lists_are_variants() {
    let (_sandbox, client) = client().await;
    let body = NewContact::builder().email("grace@example.com").build();
    client
        .contacts()
        .create(&body)
        .send()
        .await
        .expect("the first contact is created");
    let taken = client
        .contacts()
        .create(&body)
        .send()
        .await
        .expect_err("the email is taken");
    let api = taken.api_error().expect("an API error");
    assert_eq!(api.code, Some(ErrorCode::EmailTaken));
    assert_eq!(api.status.as_u16(), 409);

    let missing = client
        .contacts()
        .get(ContactId::new("ctc_doesnotexist"))
        .send()
        .await
        .expect_err("no such contact");
    assert_eq!(
        missing.api_error().and_then(|a| a.code.clone()),
        Some(ErrorCode::ResourceMissing)
    );
    assert!(missing.is_not_found());
}

#[test]
fn a_value_that_is_not_an_object_is_an_encode_error() {
    let refused = NewContact::builder()
        .email("x@example.com")
        .build()
        .with_attributes(json!(["not", "an", "object"]))
        .map_err(Error::from)
        .expect_err("an array is not an object");
    assert_eq!(refused.kind(), ErrorKind::Encode);
    let report = refused.report().to_string();
    assert!(
        report.contains("`attributes` must be a JSON object, not an array"),
        "{report}"
    );
}
