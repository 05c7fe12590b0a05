//! Field-level encryption against an in-process sandbox: register a key, see the contact's
//! personal data travel as JWE, read it back decrypted, write encrypted to the platform, rotate
//! the key and revoke it.
//!
//! ```text
//! cargo run --example field_encryption --features encryption
//! ```

use std::error::Error;

use marketing_api::auth::ApiKey;
use marketing_api::encryption::{PlatformKeys, PrivateKeySet, jwe_kid};
use marketing_api::models::NewContact;
use marketing_api::{Client, Sensitive};
use marketing_api_sandbox::Sandbox;
use serde_json::Value;

/// The raw `GET /contacts/{id}` body, as a proxy or a log between the two would see it.
async fn on_the_wire(sandbox: &Sandbox, id: &str) -> Result<Value, Box<dyn Error>> {
    let body = reqwest::Client::new()
        .get(format!("{}/contacts/{id}", sandbox.base_url()))
        .header("x-api-key", sandbox.api_key())
        .send()
        .await?
        .bytes()
        .await?;
    Ok(serde_json::from_slice(&body)?)
}

/// A JWE shortened for printing: its `kid` and length, never its content.
fn describe(value: &Value) -> String {
    match value.as_str().and_then(jwe_kid) {
        Some(kid) => format!(
            "JWE for kid {kid} ({} bytes)",
            value.as_str().map_or(0, str::len)
        ),
        None => format!("plaintext {value}"),
    }
}

fn shown(value: &Sensitive<String>) -> String {
    match value.expose() {
        Ok(plain) => plain.clone(),
        Err(sealed) => format!("<{sealed}>"),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sandbox = Sandbox::start().await?;
    let keys = PrivateKeySet::new();
    let client = Client::builder(sandbox.base_url())
        .auth(ApiKey::new(sandbox.api_key())?)
        .key_provider(keys.clone())
        .build()?;

    println!("1. register a key pair (the private half stays in this process)");
    let first = keys.generate_and_register(&client, "2026-11").await?;
    println!("   registered {} as {}", first.kid, first.id);

    println!("2. create a contact; the platform answers with its personal data encrypted");
    let ada = client
        .contacts()
        .create(
            &NewContact::builder()
                .email("ada@example.com")
                .build()
                .with_first_name("Ada"),
        )
        .send()
        .await?;
    let wire = on_the_wire(&sandbox, ada.id.as_str()).await?;
    for field in ["email", "phone", "first_name"] {
        println!(
            "   on the wire, {field}: {}",
            describe(&wire["data"][field])
        );
    }
    println!(
        "   through the SDK: email {}, first name {}; Debug: {:?}",
        shown(&ada.email),
        ada.first_name.as_ref().map(shown).unwrap_or_default(),
        ada.email
    );

    println!("3. a client without the key sees sealed values, not garbage");
    let keyless = Client::builder(sandbox.base_url())
        .auth(ApiKey::new(sandbox.api_key())?)
        .build()?;
    let sealed = keyless.contacts().get(&ada.id).send().await?;
    println!("   email: {}", shown(&sealed.email));

    println!("4. write encrypted to the platform's key (GET /platform_keys)");
    let platform = PlatformKeys::fetch(&client).await?;
    let writer = Client::builder(sandbox.base_url())
        .auth(ApiKey::new(sandbox.api_key())?)
        .encrypt_writes(&platform)
        .key_provider(keys.clone())
        .build()?;
    let grace = writer
        .contacts()
        .create(&NewContact::builder().email("grace@example.com").build())
        .send()
        .await?;
    println!(
        "   created {} with email {} (sent as a JWE to kid {})",
        grace.id,
        shown(&grace.email),
        platform.current().kid()
    );

    println!("5. rotate: a second key; answers use it, the old one still decrypts");
    let second = keys.generate_and_register(&client, "2026-12").await?;
    let wire = on_the_wire(&sandbox, ada.id.as_str()).await?;
    println!("   email now: {}", describe(&wire["data"]["email"]));
    client.encryption_keys().revoke(&second.id).send().await?;
    let wire = on_the_wire(&sandbox, ada.id.as_str()).await?;
    println!(
        "   after revoking {}: {}",
        second.kid,
        describe(&wire["data"]["email"])
    );
    client.encryption_keys().revoke(&first.id).send().await?;
    let wire = on_the_wire(&sandbox, ada.id.as_str()).await?;
    println!(
        "   after revoking {} too: {}",
        first.kid,
        describe(&wire["data"]["email"])
    );
    let again = client.contacts().get(&ada.id).send().await?;
    assert_eq!(again.email, "ada@example.com");
    sandbox.shutdown().await;
    println!("done");
    Ok(())
}
