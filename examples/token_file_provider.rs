//! A credential provider of your own: the API token comes from a file that a sidecar rewrites.
//!
//! ```text
//! cargo run --example token_file_provider
//! ```
//!
//! Many deployments get their credentials from outside the application: a vault agent, a
//! service-mesh sidecar or a cloud workload identity writes a short-lived token to a file and
//! replaces it before it expires. Here a task plays the sidecar: it obtains 3-second tokens from
//! the sandbox's token endpoint and rewrites the file every second (atomically, by rename). The
//! client reads the file through a [`CredentialProvider`]; the SDK caches what it read, asks
//! again when it is about to expire, and retries a read that fails transiently (the file being
//! absent for a moment).

use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;
use marketing_api::Client;
use marketing_api::auth::{Auth, AuthError, Credential, CredentialProvider, CredentialRequest};
use marketing_api::models::NewCampaign;
use marketing_api_sandbox::Sandbox;

/// How long a token read from the file is used before the file is read again. The sidecar
/// rewrites the file more often than its tokens expire, so a read is never older than this.
const REREAD_AFTER: Duration = Duration::from_millis(1_500);

/// Reads a bearer token from a file.
#[derive(Debug)]
struct TokenFile {
    path: PathBuf,
    reads: AtomicUsize,
}

impl CredentialProvider for TokenFile {
    fn credential(
        &self,
        request: CredentialRequest,
    ) -> BoxFuture<'_, Result<Credential, AuthError>> {
        Box::pin(async move {
            self.reads.fetch_add(1, Ordering::Relaxed);
            // A missing file is transient (the sidecar has not written it yet): the SDK retries
            // with backoff. A file that holds no usable token is definitive.
            let token = tokio::fs::read_to_string(&self.path)
                .await
                .map_err(AuthError::provider_transient)?;
            let credential = Credential::bearer(token.trim())?;
            Ok(credential.expires_at(request.now() + REREAD_AFTER))
        })
    }
}

/// The sidecar: obtains a token with the client credentials grant and writes it to `path`
/// every second.
async fn sidecar(sandbox_token_url: String, id: String, secret: String, path: PathBuf) {
    let http = reqwest::Client::new();
    let temporary = path.with_extension("tmp");
    loop {
        let answer = http
            .post(&sandbox_token_url)
            .basic_auth(&id, Some(&secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials&scope=campaigns%3Aread%20campaigns%3Awrite")
            .send()
            .await;
        if let Ok(answer) = answer
            && let Ok(body) = answer.bytes().await
            && let Ok(tokens) = serde_json::from_slice::<serde_json::Value>(&body)
            && let Some(token) = tokens["access_token"].as_str()
        {
            // Write then rename: a reader never sees a half-written file.
            if tokio::fs::write(&temporary, token).await.is_ok() {
                let _ = tokio::fs::rename(&temporary, &path).await;
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn short(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let sandbox = Sandbox::builder()
        .token_ttl(Duration::from_secs(3))
        .start()
        .await?;
    let directory = std::env::temp_dir().join(format!("marketing-api-{}", std::process::id()));
    tokio::fs::create_dir_all(&directory).await?;
    let path = directory.join("api-token");
    println!("Sandbox on {}; tokens live 3 s", sandbox.base_url());

    // The client is built before the sidecar has written anything: its first read fails
    // transiently and is retried.
    let provider = Arc::new(TokenFile {
        path: path.clone(),
        reads: AtomicUsize::new(0),
    });
    let client = Client::builder(sandbox.base_url())
        .auth(Auth::provider_with_skew(provider.clone(), Duration::ZERO))
        .token_retry_policy(
            marketing_api::retry::RetryPolicy::default()
                .max_attempts(8)
                .base_delay(Duration::from_millis(100)),
        )
        .build()?;
    let sidecar = tokio::spawn(sidecar(
        sandbox.token_url().to_owned(),
        sandbox.client_id().to_owned(),
        sandbox.client_secret().to_owned(),
        path.clone(),
    ));

    println!(
        "Calling the API for 7 s while the sidecar rewrites {}",
        short(&path)
    );
    let started = std::time::Instant::now();
    let mut calls = 0;
    while started.elapsed() < Duration::from_secs(7) {
        let campaign = client
            .campaigns()
            .create(
                &NewCampaign::builder()
                    .name(format!("Sidecar #{calls}"))
                    .budget_cents(10_000)
                    .build(),
            )
            .send()
            .await?;
        calls += 1;
        if calls % 5 == 1 {
            println!(
                "  t={:.1}s created {} (token file read {} times so far)",
                started.elapsed().as_secs_f64(),
                campaign.id,
                provider.reads.load(Ordering::Relaxed)
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    sidecar.abort();
    let reads = provider.reads.load(Ordering::Relaxed);
    println!(
        "{calls} calls succeeded across token expiries; the file was read {reads} times, not once per call"
    );
    assert!(reads < calls, "the credential is cached between reads");
    tokio::fs::remove_dir_all(&directory).await?;
    Ok(())
}
