//! [`Client`] and [`ClientBuilder`]: all configuration lives here.

use std::collections::HashSet;
use std::fmt;
use std::net::IpAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::header::{ACCEPT, HeaderMap, HeaderName, HeaderValue, USER_AGENT};
use url::Url;

use crate::auth::{
    Auth, AuthRuntime, Authenticator, DEFAULT_AUTH_COOLDOWN, default_token_retry_policy,
};
use crate::clock::{Clock, RandomSource, Sleeper, SystemClock, ThreadRandom, TokioSleeper};
use crate::error::Error;
use crate::interceptor::{HookSet, Interceptor, Interceptors};
use crate::ratelimit::RateLimitGate;
use crate::retry::{RetryBudget, RetryBudgetConfig, RetryPolicy};
use crate::tls::{self, SpkiPin, TlsSettings, TlsVersion};

/// The default cap on a response body: generous for any page, finite for a hostile server.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;

/// The client of the marketing platform API. Cheap to clone: clones share the connection pool,
/// the token cache, the retry budget and the rate-limit state.
///
/// ```no_run
/// use marketing_api::{Client, auth::ApiKey};
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = Client::builder("https://api.example.com/v1")
///     .auth(ApiKey::new("mk_live_51H8")?)
///     .build()?;
/// let page = client.campaigns().list().limit(10).send().await?;
/// for campaign in page.items {
///     println!("{} {}", campaign.id, campaign.name);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<ClientInner>,
}

pub(crate) struct ClientInner {
    /// The base URL without a trailing slash; operation paths start with `/`.
    pub(crate) base_url: String,
    /// The same, parsed once: each request only adds its path and query to a copy.
    pub(crate) base: Url,
    pub(crate) http: reqwest::Client,
    pub(crate) auth: Authenticator,
    pub(crate) retry: RetryPolicy,
    pub(crate) budget: RetryBudget,
    pub(crate) gate: RateLimitGate,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) sleeper: Arc<dyn Sleeper>,
    pub(crate) random: Arc<dyn RandomSource>,
    pub(crate) attempt_timeout: Option<Duration>,
    pub(crate) operation_timeout: Option<Duration>,
    pub(crate) max_response_bytes: usize,
    /// Deprecated operations already warned about, so each warns once.
    pub(crate) deprecation_warned: Mutex<HashSet<&'static str>>,
    /// Hooks called at the documented points of the pipeline.
    pub(crate) interceptors: Interceptors,
    /// The newest credential generation a request carried, to notice renewals for interceptors.
    pub(crate) credential_generation: AtomicU64,
    /// Decrypts the JWE-encrypted sensitive fields of responses.
    #[cfg(feature = "encryption")]
    pub(crate) key_provider: Option<Arc<dyn crate::encryption::KeyProvider>>,
    /// The platform key sensitive fields of request bodies are encrypted to.
    #[cfg(feature = "encryption")]
    pub(crate) write_key: Option<crate::encryption::PublicJwk>,
}

impl Client {
    /// Starts configuring a client for the API at `base_url` (e.g.
    /// `https://api.example.com/v1`). Nothing is checked until [`ClientBuilder::build`].
    pub fn builder(base_url: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(base_url.into())
    }

    /// The base URL operations are sent to.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// How many interceptor hooks failed (returned an error or panicked) since the client was
    /// built; each failure was also reported with `tracing::warn!`. Clones share the count.
    pub fn interceptor_failures(&self) -> u64 {
        self.inner.interceptors.failures()
    }

    /// The HTTP stack, for requests outside an operation (the authorization code exchange).
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url)
            .field("auth", &self.inner.auth)
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

/// Configures a [`Client`]. Every setting has a sensible default; [`build`](Self::build)
/// validates them all and never panics.
#[must_use = "a builder does nothing until `.build()`"]
pub struct ClientBuilder {
    base_url: String,
    auth: Auth,
    connect_timeout: Duration,
    attempt_timeout: Option<Duration>,
    operation_timeout: Option<Duration>,
    user_agent: String,
    default_headers: Vec<(String, String)>,
    allow_insecure_http: bool,
    retry: RetryPolicy,
    token_retry: RetryPolicy,
    auth_cooldown: Duration,
    budget: RetryBudgetConfig,
    clock: Arc<dyn Clock>,
    sleeper: Arc<dyn Sleeper>,
    random: Arc<dyn RandomSource>,
    max_response_bytes: usize,
    tls: TlsSettings,
    shared_rate_gate: Option<Arc<dyn crate::fleet::SharedRateGate>>,
    interceptors: Vec<(Arc<dyn Interceptor>, HookSet)>,
    credential_identity: Option<String>,
    #[cfg(feature = "encryption")]
    key_provider: Option<Arc<dyn crate::encryption::KeyProvider>>,
    #[cfg(feature = "encryption")]
    write_key: Option<crate::encryption::PublicJwk>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("auth", &self.auth)
            .field("connect_timeout", &self.connect_timeout)
            .field("attempt_timeout", &self.attempt_timeout)
            .field("operation_timeout", &self.operation_timeout)
            .field("user_agent", &self.user_agent)
            .field(
                "default_headers",
                &self
                    .default_headers
                    .iter()
                    .map(|(n, _)| n)
                    .collect::<Vec<_>>(),
            )
            .field("allow_insecure_http", &self.allow_insecure_http)
            .field("retry", &self.retry)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("min_tls_version", &self.tls.min_version)
            .field(
                "tls_pins",
                &(self.tls.pins.len() + self.tls.pin_texts.len()),
            )
            .field("extra_root_certificates", &self.tls.extra_roots.len())
            .field("shared_rate_gate", &self.shared_rate_gate)
            .field("interceptors", &self.interceptors.len())
            .field("decrypts_responses", &self.decrypts())
            .field("encrypts_writes", &self.encrypts_writes())
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    fn new(base_url: String) -> Self {
        Self {
            base_url,
            auth: Auth::none(),
            connect_timeout: Duration::from_secs(10),
            attempt_timeout: Some(Duration::from_secs(30)),
            operation_timeout: None,
            user_agent: concat!("marketing-api-rust/", env!("CARGO_PKG_VERSION")).to_owned(),
            default_headers: Vec::new(),
            allow_insecure_http: false,
            retry: RetryPolicy::default(),
            token_retry: default_token_retry_policy(),
            auth_cooldown: DEFAULT_AUTH_COOLDOWN,
            budget: RetryBudgetConfig::default(),
            clock: Arc::new(SystemClock),
            sleeper: Arc::new(TokioSleeper),
            random: Arc::new(ThreadRandom),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            tls: TlsSettings::default(),
            shared_rate_gate: None,
            interceptors: Vec::new(),
            credential_identity: None,
            #[cfg(feature = "encryption")]
            key_provider: None,
            #[cfg(feature = "encryption")]
            write_key: None,
        }
    }

    fn decrypts(&self) -> bool {
        #[cfg(feature = "encryption")]
        return self.key_provider.is_some();
        #[cfg(not(feature = "encryption"))]
        false
    }

    fn encrypts_writes(&self) -> bool {
        #[cfg(feature = "encryption")]
        return self.write_key.is_some();
        #[cfg(not(feature = "encryption"))]
        false
    }

    /// Decrypts the fields the contract marks `x-sensitive`, which the platform sends as JWE
    /// once the account registered an encryption key, with `provider` (e.g. a
    /// [`PrivateKeySet`](crate::encryption::PrivateKeySet)), before responses are decoded. A
    /// value that does not decrypt fails the request with [`ErrorKind::Decrypt`](crate::ErrorKind)
    /// naming the field and why. Default: none; encrypted values stay sealed and
    /// [`Sensitive::expose`](crate::Sensitive::expose) says so.
    #[cfg(feature = "encryption")]
    #[cfg_attr(docsrs, doc(cfg(feature = "encryption")))]
    pub fn key_provider(mut self, provider: impl crate::encryption::KeyProvider + 'static) -> Self {
        self.key_provider = Some(Arc::new(provider));
        self
    }

    /// Encrypts the `x-sensitive` fields of request bodies to the platform's key (its JWKS,
    /// `client.platform_keys().get()`) before they leave the process, each bound to its field
    /// name. Default: they are sent in plaintext (over TLS).
    #[cfg(feature = "encryption")]
    #[cfg_attr(docsrs, doc(cfg(feature = "encryption")))]
    pub fn encrypt_writes(mut self, platform: &crate::encryption::PlatformKeys) -> Self {
        self.write_key = Some(platform.current().clone());
        self
    }

    /// Adds an [`Interceptor`]: its hooks run at the documented points of every operation,
    /// after those of the interceptors added before it. A failing or panicking hook never
    /// changes a request (see [`crate::interceptor`]).
    pub fn interceptor(mut self, interceptor: impl Interceptor) -> Self {
        self.interceptors
            .push((Arc::new(interceptor), HookSet::ALL));
        self
    }

    /// Adds an interceptor already behind an `Arc` (to keep a handle on it, such as a metrics
    /// recorder or an audit sink you flush yourself).
    pub fn interceptor_arc(mut self, interceptor: Arc<dyn Interceptor>) -> Self {
        self.interceptors.push((interceptor, HookSet::ALL));
        self
    }

    /// Audits every API call into `sink` (an [`AuditSink`](crate::audit::AuditSink) such as
    /// [`JsonLinesSink`](crate::audit::JsonLinesSink)): one record per operation, when it
    /// completes. Shorthand for registering an
    /// [`AuditInterceptor`](crate::audit::AuditInterceptor) (in order with the other
    /// interceptors).
    pub fn audit_sink(mut self, sink: impl crate::audit::AuditSink) -> Self {
        let audit = crate::audit::AuditInterceptor::new(sink);
        self.interceptors
            .push((Arc::new(audit), crate::audit::AUDIT_HOOKS));
        self
    }

    /// Reports usage metrics (requests, durations, retries, rate-limit waits, credential
    /// renewals) through the `metrics` facade to whatever recorder the application installed;
    /// see [`crate::metrics`] for the names. Shorthand for registering a
    /// [`Metrics`](crate::metrics::Metrics) interceptor.
    #[cfg(feature = "metrics")]
    #[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
    pub fn metrics(mut self) -> Self {
        self.interceptors.push((
            Arc::new(crate::metrics::Metrics::new()),
            crate::metrics::METRICS_HOOKS,
        ));
        self
    }

    /// How interceptors and audit records name this client's credential, instead of the
    /// derived `api_key:<first characters>` / `oauth_client:<client id>`; for example the
    /// `apk_…` id the platform gave the key. Never put a secret here.
    pub fn credential_identity(mut self, identity: impl Into<String>) -> Self {
        self.credential_identity = Some(identity.into());
        self
    }

    /// A rate gate shared with the other processes of a fleet (with the `redis` feature,
    /// `RedisFleet::rate_gate`): each request also waits while any process has learned that the
    /// quota is spent, and what this client learns is reported to it. Its waits are capped like
    /// the client's own, at the retry policy's `Retry-After` cap. Default: none, the client's
    /// gate serves this client and its clones only.
    pub fn shared_rate_gate(mut self, gate: Arc<dyn crate::fleet::SharedRateGate>) -> Self {
        self.shared_rate_gate = Some(gate);
        self
    }

    /// How requests authenticate: an [`ApiKey`](crate::auth::ApiKey), a
    /// [`BearerToken`](crate::auth::BearerToken), an [`OAuth2`](crate::auth::OAuth2)
    /// configuration or your own [`Auth::provider`]. Default: none.
    pub fn auth(mut self, auth: impl Into<Auth>) -> Self {
        self.auth = auth.into();
        self
    }

    /// Timeout for establishing a connection. Default: 10 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Timeout of each attempt, from sending to the last body byte. Default: 30 s.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = Some(timeout);
        self
    }

    /// Timeout of a whole operation, retries and their waits included. Default: none.
    ///
    /// It is measured by the client's [`sleeper`](Self::sleeper), like every wait of the SDK. A
    /// sleeper that returns at once, such as [`ManualClock::sleeper`](crate::clock::ManualClock::sleeper),
    /// therefore expires it at once: leave it unset with one.
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = Some(timeout);
        self
    }

    /// The `User-Agent` header. Default: `marketing-api-rust/<version>`.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// A header sent with every request (checked by [`build`](Self::build)).
    pub fn default_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.default_headers.push((name.into(), value.into()));
        self
    }

    /// How token requests (and [`CredentialProvider`](crate::auth::CredentialProvider) calls)
    /// that fail transiently — a connection error, 408, 429, 5xx — are retried. Default: 3
    /// attempts, full-jitter backoff from 200 ms up to 5 s, `Retry-After` honoured up to 10 s.
    /// Each retry is paid from the client's retry budget (see [`retry_budget`](Self::retry_budget)),
    /// and a request with an [`operation_timeout`](Self::operation_timeout) stops waiting at its
    /// deadline (the token request goes on for the requests after it).
    pub fn token_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.token_retry = policy;
        self
    }

    /// How long a definitive authentication failure (`invalid_client`, `invalid_grant`, another
    /// 4xx from the token endpoint, a provider's definitive error) is answered again without a
    /// new token request, and how long a credential the API rejected even after renewal stays
    /// suspect (401s to it are then reported without renewing). Default:
    /// [`DEFAULT_AUTH_COOLDOWN`] (10 s); zero turns both off.
    pub fn auth_cooldown(mut self, cooldown: Duration) -> Self {
        self.auth_cooldown = cooldown;
        self
    }

    /// Allows `http://` base URLs for hosts other than loopback. Default: refused, since
    /// credentials would cross the network in clear text.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// What is retried and how long to wait. Default: [`RetryPolicy::default`].
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The retry budget shared by all clones of the client. Default:
    /// [`RetryBudgetConfig::default`].
    pub fn retry_budget(mut self, budget: RetryBudgetConfig) -> Self {
        self.budget = budget;
        self
    }

    /// The largest response body the client reads; larger bodies fail with
    /// [`ErrorKind::ResponseTooLarge`](crate::ErrorKind::ResponseTooLarge). Default: 32 MiB.
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// The oldest TLS version to accept. Default: TLS 1.2.
    pub fn min_tls_version(mut self, version: TlsVersion) -> Self {
        self.tls.min_version = version;
        self
    }

    /// Pins the server's public key: besides a certificate chain the platform trusts for the
    /// host, the leaf certificate's key must match one of the pins (the base64 SHA-256 of its
    /// DER `SubjectPublicKeyInfo`, `sha256/` prefix optional; see [`SpkiPin`]). Call it once
    /// per accepted key, and add the next key's pin before the server rotates to it.
    ///
    /// A connection to a server whose key matches no pin fails before any request is sent
    /// with an [`ErrorKind::Tls`](crate::ErrorKind::Tls) error saying "certificate pin
    /// mismatch"; it is not retried. A pin that does not parse makes [`build`](Self::build)
    /// fail. Default: no pins.
    ///
    /// ```no_run
    /// use marketing_api::Client;
    /// let client = Client::builder("https://api.example.com/v1")
    ///     .pin_spki_sha256("sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")
    ///     .build()?;
    /// # Ok::<(), marketing_api::Error>(())
    /// ```
    pub fn pin_spki_sha256(mut self, pin: impl Into<String>) -> Self {
        self.tls.pin_texts.push(pin.into());
        self
    }

    /// Adds already parsed pins; see [`pin_spki_sha256`](Self::pin_spki_sha256).
    pub fn tls_pins(mut self, pins: impl IntoIterator<Item = SpkiPin>) -> Self {
        self.tls.pins.extend(pins);
        self
    }

    /// Trusts this DER-encoded root certificate in addition to the platform's roots (for a
    /// private CA or a test server). A certificate that does not parse makes
    /// [`build`](Self::build) fail.
    pub fn add_root_certificate(mut self, der: impl Into<Vec<u8>>) -> Self {
        self.tls.extra_roots.push(der.into());
        self
    }

    /// The clock used for token expiry, `Retry-After` dates and rate-limit resets.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// How the client waits: between attempts, at the rate-limit gate, while a batch lingers,
    /// and for the [`operation_timeout`](Self::operation_timeout).
    pub fn sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> Self {
        self.sleeper = sleeper;
        self
    }

    /// The random source of backoff jitter.
    pub fn random(mut self, random: Arc<dyn RandomSource>) -> Self {
        self.random = random;
        self
    }

    /// Validates the configuration and builds the client.
    ///
    /// # Errors
    /// A configuration error ([`Error::is_config`]) naming what to fix: a base URL that is not
    /// an absolute `https://` URL (or `http://` on loopback), carries credentials, a query or a
    /// fragment; an invalid header; invalid credentials ([`Error::is_auth`]).
    pub fn build(self) -> Result<Client, Error> {
        let base_url = validate_base_url(&self.base_url, self.allow_insecure_http)?;
        let base = Url::parse(&base_url)
            .map_err(|e| Error::config(format!("base URL is invalid: {e}")))?;
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        headers.insert(
            USER_AGENT,
            HeaderValue::from_str(&self.user_agent).map_err(|_| {
                Error::config("user agent contains characters not allowed in a header")
            })?,
        );
        for (name, value) in &self.default_headers {
            let header_name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| Error::config(format!("`{name}` is not a valid header name")))?;
            let mut header_value = HeaderValue::from_str(value).map_err(|_| {
                Error::config(format!(
                    "the value of header `{name}` is not a valid header value"
                ))
            })?;
            header_value.set_sensitive(true);
            headers.append(header_name, header_value);
        }
        if self.max_response_bytes == 0 {
            return Err(Error::config(
                "max_response_bytes must be greater than zero",
            ));
        }
        let tls = tls::client_config(&self.tls)?;
        tls::install_default_crypto_provider();
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .connect_timeout(self.connect_timeout)
            .default_headers(headers)
            .build()
            .map_err(|e| Error::config_from("HTTP client", e))?;
        let budget = RetryBudget::new(self.budget);
        let identity = self
            .credential_identity
            .unwrap_or_else(|| self.auth.identity());
        let interceptors = Interceptors::new(self.interceptors, identity);
        let auth = Authenticator::new(
            self.auth,
            AuthRuntime {
                http: http.clone(),
                clock: self.clock.clone(),
                sleeper: self.sleeper.clone(),
                random: self.random.clone(),
                budget: budget.clone(),
                retry: self.token_retry,
                cooldown: self.auth_cooldown,
            },
        )
        .map_err(Error::auth)?;
        Ok(Client {
            inner: Arc::new(ClientInner {
                base_url,
                base,
                gate: RateLimitGate::new(self.retry.retry_after_cap())
                    .with_shared(self.shared_rate_gate),
                retry: self.retry,
                budget,
                http,
                auth,
                clock: self.clock,
                sleeper: self.sleeper,
                random: self.random,
                attempt_timeout: self.attempt_timeout,
                operation_timeout: self.operation_timeout,
                max_response_bytes: self.max_response_bytes,
                deprecation_warned: Mutex::new(HashSet::new()),
                interceptors,
                credential_generation: AtomicU64::new(0),
                #[cfg(feature = "encryption")]
                key_provider: self.key_provider,
                #[cfg(feature = "encryption")]
                write_key: self.write_key,
            }),
        })
    }
}

/// Checks the base URL and returns it without a trailing slash.
fn validate_base_url(raw: &str, allow_insecure_http: bool) -> Result<String, Error> {
    let url = Url::parse(raw.trim()).map_err(|e| {
        Error::config(format!(
            "base URL `{raw}` is not an absolute URL ({e}); expected e.g. https://api.example.com/v1"
        ))
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        // Never echo the URL: it carries credentials.
        return Err(Error::config(
            "base URL must not contain credentials; configure them with ClientBuilder::auth",
        ));
    }
    if url.fragment().is_some() {
        return Err(Error::config(format!(
            "base URL `{url}` has a fragment (`#...`), which would be ignored; remove it"
        )));
    }
    if url.query().is_some() {
        return Err(Error::config(format!(
            "base URL `{url}` has a query string; remove it"
        )));
    }
    match url.scheme() {
        "https" => {}
        "http" if allow_insecure_http || is_loopback(&url) => {}
        "http" => {
            return Err(Error::config(format!(
                "base URL `{url}` uses http:// for a non-loopback host; use https:// or opt in with ClientBuilder::allow_insecure_http(true)"
            )));
        }
        other => {
            return Err(Error::config(format!(
                "base URL scheme `{other}` is not supported; use https://"
            )));
        }
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_checked() {
        assert_eq!(
            validate_base_url("https://api.example.com/v1/", false).ok(),
            Some("https://api.example.com/v1".to_owned())
        );
        assert!(validate_base_url("http://127.0.0.1:8080/v1", false).is_ok());
        assert!(validate_base_url("http://localhost/v1", false).is_ok());
        for bad in [
            "",
            "api.example.com/v1",
            "http://api.example.com/v1",
            "https://api.example.com/v1#frag",
            "https://api.example.com/v1?x=1",
            "ftp://api.example.com/v1",
        ] {
            let e = validate_base_url(bad, false).expect_err(bad);
            assert!(e.is_config(), "{bad}: {e}");
        }
        assert!(validate_base_url("http://api.example.com/v1", true).is_ok());
        let e = validate_base_url("https://user:hunter2@api.example.com/v1", false).unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }
}
