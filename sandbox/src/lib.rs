//! A stateful in-memory server of the marketing-api OpenAPI contract, for tests, examples and CI.
//!
//! The sandbox implements every operation of `openapi.yaml` on its own (it does not use the
//! SDK): requests are validated against the spec's schemas, data lives in memory, OAuth tokens
//! are issued and expire, rate limits are enforced per credential, idempotency keys replay
//! stored answers, webhooks are delivered signed with retries and a dead-letter queue, fields
//! marked `x-sensitive` are encrypted (JWE) to the account's registered key in answers and
//! webhook payloads and accepted encrypted to the platform's key on writes, dynamic audiences
//! are evaluated from their rules whenever they are read, and faults (latency, 429/500/503,
//! dropped connections) can be injected on demand. Large data sets are seeded without HTTP with
//! [`Sandbox::insert_contacts`] and [`Sandbox::insert_events`].
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use marketing_api_sandbox::Sandbox;
//!
//! let sandbox = Sandbox::start().await?;
//! assert!(sandbox.base_url().ends_with("/v1"));
//! // Send `X-Api-Key: {sandbox.api_key()}` or fetch an OAuth token with
//! // `sandbox.client_id()` / `sandbox.client_secret()` at `{base_url}/oauth/token`.
//! assert_eq!(sandbox.campaign_count(), 0);
//! sandbox.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Tuning for tests goes through [`Sandbox::builder`]:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use marketing_api_sandbox::{RateTier, Sandbox};
//! use std::time::Duration;
//!
//! let sandbox = Sandbox::builder()
//!     .token_ttl(Duration::from_secs(1))
//!     .standard_tier(RateTier::new(5, Duration::from_secs(1)))
//!     .webhook_retry_schedule(vec![Duration::from_millis(10), Duration::from_millis(20)])
//!     .seed(7)
//!     .start()
//!     .await?;
//! sandbox.shutdown().await;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod api_keys;
mod app;
mod audit;
mod auth;
mod encryption;
pub mod errors;
mod faults;
mod idempotency;
mod ids;
pub mod model;
mod pagination;
mod ratelimit;
mod routes;
mod segments;
mod settings;
pub mod spec;
mod store;
mod webhook_delivery;

pub use settings::{FaultSettings, RateTier, Settings, SettingsHandle};
pub use webhook_delivery::sign as sign_webhook;

use crate::app::{App, AppState};
use crate::faults::ConnectionDropper;
use crate::model::WebhookDelivery;
use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower::ServiceExt;

/// Why the sandbox could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum SandboxError {
    /// The bundled `openapi.yaml` could not be turned into validators.
    Spec(spec::SpecError),
    /// The listening socket could not be bound.
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
}

impl fmt::Display for SandboxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SandboxError::Spec(e) => write!(f, "the sandbox cannot load its contract: {e}"),
            SandboxError::Bind { addr, source } => {
                write!(
                    f,
                    "the sandbox cannot listen on {addr}: {source} (is the port in use?)"
                )
            }
        }
    }
}

impl std::error::Error for SandboxError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SandboxError::Spec(e) => Some(e),
            SandboxError::Bind { source, .. } => Some(source),
        }
    }
}

/// Configures a sandbox before it starts. Obtain one from [`Sandbox::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct SandboxBuilder {
    addr: SocketAddr,
    settings: Settings,
    seed: Option<u64>,
    standard_key: Option<String>,
    premium_key: Option<String>,
    client: Option<(String, String)>,
    redirect_uris: Vec<String>,
}

/// Redirect URIs the OAuth client has registered unless [`SandboxBuilder::redirect_uris`] says
/// otherwise: loopback callbacks on any port (RFC 8252) and the spec's example.
pub const DEFAULT_REDIRECT_URIS: [&str; 3] = [
    "http://127.0.0.1/callback",
    "http://[::1]/callback",
    "https://app.example.org/callback",
];

impl Default for SandboxBuilder {
    fn default() -> Self {
        SandboxBuilder {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            settings: Settings::default(),
            seed: None,
            standard_key: None,
            premium_key: None,
            client: None,
            redirect_uris: DEFAULT_REDIRECT_URIS.map(str::to_owned).to_vec(),
        }
    }
}

impl SandboxBuilder {
    /// The address to listen on (default `127.0.0.1:0`, a free port).
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// All settings at once.
    pub fn settings(mut self, settings: Settings) -> Self {
        self.settings = settings;
        self
    }

    /// Lifetime of issued access tokens (default one hour).
    pub fn token_ttl(mut self, ttl: std::time::Duration) -> Self {
        self.settings.token_ttl = ttl;
        self
    }

    /// Rate tier of the standard key and OAuth tokens (default 100 per second).
    pub fn standard_tier(mut self, tier: RateTier) -> Self {
        self.settings.standard_tier = tier;
        self
    }

    /// Rate tier of the premium key (default 1000 per second).
    pub fn premium_tier(mut self, tier: RateTier) -> Self {
        self.settings.premium_tier = tier;
        self
    }

    /// Waits between webhook attempts (default 5 s, 30 s, 2 min, 10 min, 1 h).
    pub fn webhook_retry_schedule(mut self, schedule: Vec<std::time::Duration>) -> Self {
        self.settings.webhook_retry_schedule = schedule;
        self
    }

    /// Timeout of one webhook attempt (default 10 s).
    pub fn webhook_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.settings.webhook_timeout = timeout;
        self
    }

    /// How long idempotent answers are kept (default 24 h).
    pub fn idempotency_ttl(mut self, ttl: std::time::Duration) -> Self {
        self.settings.idempotency_ttl = ttl;
        self
    }

    /// Injected faults (default none).
    pub fn faults(mut self, faults: FaultSettings) -> Self {
        self.settings.faults = faults;
        self
    }

    /// Seeds the fault RNG so the sequence of faults repeats from run to run.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Uses fixed API keys instead of generated ones.
    pub fn api_keys(mut self, standard: impl Into<String>, premium: impl Into<String>) -> Self {
        self.standard_key = Some(standard.into());
        self.premium_key = Some(premium.into());
        self
    }

    /// Uses a fixed OAuth client id and secret instead of generated ones.
    pub fn oauth_client(
        mut self,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        self.client = Some((client_id.into(), client_secret.into()));
        self
    }

    /// The redirect URIs the OAuth client registered (default [`DEFAULT_REDIRECT_URIS`]).
    /// `GET /oauth/authorize` redirects only to one of these, compared exactly; a loopback
    /// `http://127.0.0.1/...` or `http://[::1]/...` URI matches on any port.
    pub fn redirect_uris<I, S>(mut self, uris: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.redirect_uris = uris.into_iter().map(Into::into).collect();
        self
    }

    /// Binds the socket and starts serving.
    pub async fn start(self) -> Result<Sandbox, SandboxError> {
        let spec = spec::Spec::bundled().map_err(SandboxError::Spec)?;
        let listener = TcpListener::bind(self.addr)
            .await
            .map_err(|source| SandboxError::Bind {
                addr: self.addr,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| SandboxError::Bind {
            addr: self.addr,
            source,
        })?;
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let auth = auth::Auth::new(
            self.standard_key,
            self.premium_key,
            self.client,
            spec.scopes().clone(),
            self.redirect_uris,
        );
        let settings = SettingsHandle::new(self.settings);
        let encryption = encryption::Encryption::new(spec.sensitive_properties());
        let state = Arc::new(AppState {
            spec,
            encryption,
            store: Mutex::new(store::Store::default()),
            auth,
            settings: settings.clone(),
            limiter: ratelimit::RateLimiter::default(),
            idempotency: idempotency::IdempotencyStore::default(),
            faults: faults::FaultInjector::new(self.seed),
            accepted_events: Default::default(),
            audit: audit::AuditLog::default(),
            webhook_client: webhook_client(),
            shutdown: shutdown_rx.clone(),
        });
        let router = routes::router()
            .fallback(errors::route_not_found)
            .method_not_allowed_fallback(errors::method_not_allowed)
            .layer(axum::middleware::from_fn_with_state(
                state.clone(),
                app::pipeline,
            ))
            .with_state(state.clone());
        let server = tokio::spawn(serve(listener, router, shutdown_rx));
        Ok(Sandbox {
            addr,
            state,
            settings,
            shutdown: shutdown_tx,
            server: Some(server),
        })
    }
}

fn webhook_client() -> Option<reqwest::Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(client) => Some(client),
        Err(error) => {
            tracing::warn!(%error, "no HTTP client for webhook deliveries; every attempt will fail");
            None
        }
    }
}

/// Accepts connections until shutdown; each connection can be dropped on demand by a fault.
async fn serve(listener: TcpListener, router: axum::Router, mut shutdown: watch::Receiver<bool>) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.wait_for(|stopped| *stopped) => return,
        };
        let Ok((stream, _peer)) = accepted else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let mut conn_shutdown = shutdown.clone();
        tokio::spawn(async move {
            let dropper = ConnectionDropper::default();
            let request_dropper = dropper.clone();
            let service =
                hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
                    request.extensions_mut().insert(request_dropper.clone());
                    router.clone().oneshot(request.map(Body::new))
                });
            let connection = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = connection => {}
                // Dropping the connection future closes the socket without an answer.
                _ = dropper.dropped() => {}
                _ = conn_shutdown.wait_for(|stopped| *stopped) => {}
            }
        });
    }
}

/// A running sandbox. Dropping it stops the server.
pub struct Sandbox {
    addr: SocketAddr,
    state: App,
    settings: SettingsHandle,
    shutdown: watch::Sender<bool>,
    server: Option<JoinHandle<()>>,
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Starts a sandbox with default settings on `127.0.0.1` and a free port.
    pub async fn start() -> Result<Sandbox, SandboxError> {
        Self::builder().start().await
    }

    /// A builder for a sandbox with custom settings.
    pub fn builder() -> SandboxBuilder {
        SandboxBuilder::default()
    }

    /// The socket address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL of the API, e.g. `http://127.0.0.1:41234/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// An API key of the standard tier (send it as `X-Api-Key`).
    pub fn api_key(&self) -> &str {
        self.state.auth.standard_key()
    }

    /// An API key of the premium tier.
    pub fn premium_api_key(&self) -> &str {
        self.state.auth.premium_key()
    }

    /// The OAuth client id.
    pub fn client_id(&self) -> &str {
        self.state.auth.client_id()
    }

    /// The OAuth client secret.
    pub fn client_secret(&self) -> &str {
        self.state.auth.client_secret()
    }

    /// The token endpoint, `{base_url}/oauth/token`.
    pub fn token_url(&self) -> String {
        format!("{}/oauth/token", self.base_url())
    }

    /// The live settings; changes apply to the next request.
    pub fn settings(&self) -> &SettingsHandle {
        &self.settings
    }

    /// Restarts the fault RNG from `seed`.
    pub fn reseed_faults(&self, seed: u64) {
        self.state.faults.reseed(seed);
    }

    /// Number of stored campaigns.
    pub fn campaign_count(&self) -> usize {
        self.state.store().campaigns.len()
    }

    /// Number of stored contacts.
    pub fn contact_count(&self) -> usize {
        self.state.store().contacts.len()
    }

    /// Stores contacts directly, without HTTP, webhooks or validation, for seeding data sets too
    /// large to send one request at a time (a segment over 100,000 contacts). Each keeps its id
    /// and times; a contact whose id or e-mail (case-insensitively) is already stored is skipped.
    /// Returns how many were stored.
    pub fn insert_contacts(&self, contacts: impl IntoIterator<Item = model::Contact>) -> usize {
        let mut store = self.state.store();
        contacts
            .into_iter()
            .map(|c| store.insert_contact(c))
            .filter(|stored| *stored)
            .count()
    }

    /// Stores interaction events directly, without HTTP, webhooks or campaign metrics, for
    /// seeding event histories; they count for rules on event history like ingested ones. An
    /// event whose id is already stored is skipped. Returns how many were stored.
    pub fn insert_events(
        &self,
        events: impl IntoIterator<Item = model::InteractionEvent>,
    ) -> usize {
        let mut store = self.state.store();
        let mut stored = 0;
        for event in events {
            if store.events.get(&event.id).is_none() {
                store.insert_event(event);
                stored += 1;
            }
        }
        stored
    }

    /// Inserts `count` synthetic contacts (`seed-<n>-…@example.com`, with names, a phone and
    /// attributes) straight into the store, without requests or webhooks: a large data set for
    /// benchmarks and load tests in seconds. Returns the number of contacts afterwards.
    pub fn seed_contacts(&self, count: usize) -> usize {
        crate::routes::contacts_csv::seed_contacts(&mut self.state.store(), count)
    }

    /// Number of events accepted by `POST /events` since start.
    pub fn accepted_event_count(&self) -> u64 {
        self.state.accepted_events.load(Ordering::Relaxed)
    }

    /// Every webhook delivery, oldest first.
    pub fn deliveries(&self) -> Vec<WebhookDelivery> {
        self.state
            .store()
            .deliveries
            .iter()
            .map(|row| row.delivery.clone())
            .collect()
    }

    /// How many answers were replayed for a repeated idempotency key.
    pub fn idempotent_replays(&self) -> u64 {
        self.state.idempotency.replays()
    }

    /// Stops accepting connections, closes open ones and stops webhook deliveries.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}
