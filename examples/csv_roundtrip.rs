//! Bulk CSV: export contacts from one account as a streamed CSV file, import it into another,
//! and read the import job's report.
//!
//! ```text
//! cargo run --example csv_roundtrip
//! ```
//!
//! Nothing to configure: the example starts two sandboxes in this process (two accounts),
//! creates contacts in the first (names with commas, quotes and line breaks), exports them to a
//! file chunk by chunk, shows the export an OAuth client without `contacts:pii` gets, imports
//! the file into the second account with an idempotency key, adds an edited file with a few bad
//! rows, and prints each job's counts and rejected rows.

use std::error::Error;
use std::time::Duration;

use futures::TryStreamExt;
use marketing_api::Client;
use marketing_api::auth::{ApiKey, OAuth2};
use marketing_api::models::{ContactImport, ContactImportId, ContactImportStatus, NewContact};
use marketing_api::upload::Upload;
use marketing_api_sandbox::Sandbox;
use serde_json::json;
use tokio::io::AsyncWriteExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let source = Sandbox::start().await?;
    let target = Sandbox::start().await?;
    let from = Client::builder(source.base_url())
        .auth(ApiKey::new(source.api_key())?)
        .build()?;
    let to = Client::builder(target.base_url())
        .auth(ApiKey::new(target.api_key())?)
        .build()?;

    println!("1. Contacts in the first account");
    let people = [
        ("ada@example.com", "Ada", "Lovelace", json!({"plan": "pro"})),
        (
            "grace@example.com",
            "Grace, Jr.",
            "Hopper",
            json!({"note": "a, b"}),
        ),
        (
            "edsger@example.com",
            "Edsger \"EWD\"",
            "Dijkstra",
            json!({"seats": 3}),
        ),
        (
            "barbara@example.com",
            "Barbara",
            "Liskov\nSubstitution",
            json!({}),
        ),
    ];
    for (email, first, last, attributes) in people {
        let new = NewContact::builder()
            .email(email)
            .build()
            .with_first_name(first)
            .with_last_name(last)
            .with_attributes(attributes)?;
        from.contacts().create(&new).send().await?;
    }
    source.seed_contacts(996);
    println!("   {} contacts\n", source.contact_count());

    println!("2. Export them to a file, chunk by chunk");
    let path = std::env::temp_dir().join(format!("contacts-{}.csv", std::process::id()));
    let mut file = tokio::fs::File::create(&path).await?;
    let mut body = from.contacts().export_csv().send().await?;
    let mut bytes = 0;
    while let Some(chunk) = body.try_next().await? {
        bytes += chunk.len();
        file.write_all(&chunk).await?;
    }
    file.flush().await?;
    println!("   {bytes} bytes written to {}", path.display());
    let mut rows = from.contacts().export_csv().send().await?.csv_rows();
    if let Some(row) = rows.try_next().await? {
        println!(
            "   columns: {}",
            row.columns().collect::<Vec<_>>().join(", ")
        );
    }
    while let Some(row) = rows.try_next().await? {
        if row.get("email") == Some("barbara@example.com") {
            println!(
                "   a quoted line break reads back as it was: {:?}",
                row.get("last_name").unwrap_or_default()
            );
        }
    }
    println!();

    println!("3. Without the contacts:pii scope, the personal-data columns are left out");
    let analyst = Client::builder(source.base_url())
        .auth(
            OAuth2::client_credentials(
                source.client_id(),
                source.client_secret(),
                source.token_url(),
            )
            .scopes(["contacts:read"]),
        )
        .build()?;
    let mut rows = analyst.contacts().export_csv().send().await?.csv_rows();
    if let Some(row) = rows.try_next().await? {
        println!(
            "   columns: {}\n",
            row.columns().collect::<Vec<_>>().join(", ")
        );
    }

    println!("4. Import the file into the second account (idempotent by key)");
    let job = to
        .contacts()
        .import_csv(Upload::file(&path))
        .idempotency_key("migration-2026-11-03")
        .send()
        .await?;
    report(&wait(&to, &job.id).await?);
    let again = to
        .contacts()
        .import_csv(Upload::file(&path))
        .idempotency_key("migration-2026-11-03")
        .send_with_meta()
        .await?;
    println!(
        "   sent again with the same key: the same job ({}), replayed: {}\n",
        again.data.id,
        again.is_idempotent_replay()
    );

    println!("5. An edited file: one update, one new contact, three bad rows");
    let edited = "email,first_name,status,attributes\r\n\
                  ADA@example.com,Augusta Ada,unsubscribed,\r\n\
                  alan@example.com,Alan,subscribed,\"{\"\"plan\"\":\"\"free\"\"}\"\r\n\
                  not-an-email,Nobody,subscribed,\r\n\
                  maybe@example.com,Maybe,sometimes,\r\n\
                  list@example.com,List,subscribed,[1]\r\n";
    let job = to.contacts().import_csv(edited).send().await?;
    report(&wait(&to, &job.id).await?);
    println!(
        "   the second account now has {} contacts",
        target.contact_count()
    );

    std::fs::remove_file(&path).ok();
    Ok(())
}

async fn wait(
    client: &Client,
    id: &ContactImportId,
) -> Result<ContactImport, marketing_api::Error> {
    loop {
        let job = client.contacts().get_import(id).send().await?;
        if job.status == ContactImportStatus::Completed {
            return Ok(job);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn report(job: &ContactImport) {
    println!(
        "   import {}: {} rows, {} created, {} updated, {} rejected",
        job.id, job.rows, job.created, job.updated, job.rejected
    );
    for row in &job.rejected_rows {
        println!(
            "     line {} ({}): {}",
            row.line,
            row.column.as_deref().unwrap_or("row"),
            row.reason
        );
    }
}
