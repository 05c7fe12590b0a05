//! The OAuth2 authorization code flow with PKCE, completed against the sandbox.
//!
//! ```text
//! cargo run --example oauth_code_flow
//! ```
//!
//! A real application sends the user's browser to the authorize URL and receives the code on
//! its redirect URI. Here nothing is opened: the sandbox's authorize endpoint approves at once,
//! so the example requests the URL itself, reads the redirect's `Location` header, exchanges the
//! code, calls the API with the resulting credentials and shows the access token being
//! refreshed (the sandbox issues 2-second tokens) with the rotated refresh token handed to a
//! [`TokenStore`] each time.

use std::error::Error;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use futures::future::BoxFuture;
use marketing_api::Client;
use marketing_api::auth::{
    AuthorizationCodeFlow, InMemoryTokenStore, TokenSet, TokenStore, TokenStoreError,
};
use marketing_api::models::NewCampaign;
use marketing_api_sandbox::Sandbox;
use url::Url;

/// Where the authorization server sends the user back. The application listens there; this
/// example only reads the address out of the redirect.
const REDIRECT_URI: &str = "http://127.0.0.1:8910/callback";

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let token_ttl = Duration::from_secs(2);
    let sandbox = Sandbox::builder().token_ttl(token_ttl).start().await?;
    let authorize_endpoint = format!("{}/oauth/authorize", sandbox.base_url());
    println!("Sandbox listening on {}", sandbox.base_url());
    println!("Access tokens live {} s\n", token_ttl.as_secs());

    println!("1. Build the authorize URL (PKCE S256, random state)");
    let flow = AuthorizationCodeFlow::new(
        sandbox.client_id(),
        Some(sandbox.client_secret().into()),
        &authorize_endpoint,
        sandbox.token_url(),
        REDIRECT_URI,
    )
    .scopes(["campaigns:read", "campaigns:write"]);
    // `pending` holds the state and the PKCE verifier: keep it (e.g. in the user's session)
    // until the user comes back.
    let (authorize_url, pending) = flow.authorize_url()?;
    println!("   {authorize_url}");

    // Any client of the SDK carries the code exchange, with its TLS settings; this one has no
    // credentials of its own. Building it also gives the process a TLS crypto provider, which
    // the plain reqwest client below (standing in for the user's browser) then uses.
    let login = Client::builder(sandbox.base_url()).build()?;

    println!("2. The user approves (the sandbox approves automatically)");
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let approval = browser.get(authorize_url.as_str()).send().await?;
    let location = approval
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| format!("the authorize endpoint answered {}", approval.status()))?;
    let callback = Url::parse(location)?;
    let param = |name: &str| {
        callback
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let (Some(code), Some(state)) = (param("code"), param("state")) else {
        return Err(format!(
            "the redirect carries no code: {}",
            param("error_description").unwrap_or_default()
        )
        .into());
    };
    println!(
        "   {} -> {}{} with a code ({} chars) and the state",
        approval.status(),
        callback.origin().ascii_serialization(),
        callback.path(),
        code.len()
    );

    println!("3. Exchange the code (the state is checked first, the verifier proves PKCE)");
    let store = Arc::new(ReportingStore::default());
    let oauth = flow
        .exchange(&login, &code, &state, pending)
        .await?
        .token_store(store.clone());
    println!("   tokens received; the client will run on the refresh token from now on");

    println!("4. Call the API, across token expiries");
    let client = Client::builder(sandbox.base_url()).auth(oauth).build()?;
    let started = Instant::now();
    for round in 1..=3 {
        let campaign = client
            .campaigns()
            .create(
                &NewCampaign::builder()
                    .name(format!("Spring sale #{round}"))
                    .budget_cents(100_000)
                    .build(),
            )
            .send()
            .await?;
        let listed = client.campaigns().list().send().await?;
        println!(
            "   t={:.1}s created {} ({} campaigns listed); token sets saved so far: {}",
            started.elapsed().as_secs_f64(),
            campaign.id,
            listed.items.len(),
            store.saves()
        );
        if round < 3 {
            // Past the renewal point (shortly before expiry): the next request refreshes first.
            tokio::time::sleep(Duration::from_millis(1_300)).await;
        }
    }

    println!(
        "\nDone: {} token sets saved (1 from the code exchange, {} refreshes); the sandbox revokes \
         the whole token family if a rotated-out refresh token is ever sent again.",
        store.saves(),
        store.saves().saturating_sub(1)
    );
    sandbox.shutdown().await;
    Ok(())
}

/// A [`TokenStore`] that keeps tokens in memory and reports each save, as a database-backed
/// store would persist them. The SDK saves every new token set before it uses the access token,
/// so a rotated refresh token is never lost.
#[derive(Debug, Default)]
struct ReportingStore {
    tokens: InMemoryTokenStore,
    saves: AtomicUsize,
}

impl ReportingStore {
    fn saves(&self) -> usize {
        self.saves.load(Ordering::Relaxed)
    }
}

impl TokenStore for ReportingStore {
    fn save(&self, tokens: &TokenSet) -> BoxFuture<'_, Result<(), TokenStoreError>> {
        let previous = self.tokens.current();
        let rotated = match (
            previous.as_ref().and_then(TokenSet::refresh_token),
            tokens.refresh_token(),
        ) {
            (None, _) => "first refresh token",
            (Some(old), Some(new)) if old != new => "refresh token rotated",
            (Some(_), Some(_)) => "refresh token kept",
            (Some(_), None) => "no refresh token",
        };
        let expires_in = tokens
            .expires_at()
            .and_then(|at| at.duration_since(SystemTime::now()).ok())
            .map_or_else(|| "?".to_owned(), |d| format!("{:.1}s", d.as_secs_f64()));
        let n = self.saves.fetch_add(1, Ordering::Relaxed) + 1;
        println!("   [token store] save #{n}: access token expires in {expires_in}, {rotated}");
        self.tokens.save(tokens)
    }

    fn load(&self) -> BoxFuture<'_, Result<Option<TokenSet>, TokenStoreError>> {
        self.tokens.load()
    }
}
