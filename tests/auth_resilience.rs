//! Authentication under a failing authorization server, a wrong secret, an API that rejects
//! every token, and credentials from a user's own provider: real sockets (wiremock on
//! 127.0.0.1), a manual clock, exact token-request counts.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::future::BoxFuture;
use marketing_api::auth::{
    Auth, AuthError, Credential, CredentialProvider, CredentialReason, CredentialRequest, OAuth2,
};
use marketing_api::clock::{FixedRandom, ManualClock};
use marketing_api::models::CampaignId;
use marketing_api::retry::RetryPolicy;
use marketing_api::{Client, ClientBuilder};
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

mod support;

fn start() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

fn campaign_page() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "data": support::campaign("cmp_1"),
        "meta": {"request_id": "req_1"}
    }))
}

fn unauthorized() -> ResponseTemplate {
    ResponseTemplate::new(401).set_body_json(json!({
        "error": {"type": "authentication_error", "code": "invalid_token",
                  "message": "the access token is not valid", "request_id": "req_401"}
    }))
}

/// Issues `at-1`, `at-2`, … for an hour each, counting the requests.
#[derive(Clone, Default)]
struct IssuingTokenEndpoint {
    issued: Arc<AtomicUsize>,
}

impl Respond for IssuingTokenEndpoint {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
        ResponseTemplate::new(200).set_body_json(json!({
            "access_token": format!("at-{n}"), "token_type": "Bearer", "expires_in": 3600
        }))
    }
}

/// A server whose token endpoint gives `answer`; tests mount their API routes on it.
async fn token_server(answer: impl Respond + 'static) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(answer)
        .mount(&server)
        .await;
    server
}

async fn token_requests(server: &MockServer) -> usize {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == "/oauth/token")
        .count()
}

fn builder(server: &MockServer, clock: &ManualClock, secret: &str) -> ClientBuilder {
    Client::builder(format!("{}/v1", server.uri()))
        .auth(OAuth2::client_credentials(
            "cli_1",
            secret,
            format!("{}/oauth/token", server.uri()),
        ))
        .clock(Arc::new(clock.clone()))
        .sleeper(Arc::new(clock.sleeper()))
        .random(Arc::new(FixedRandom(0.5)))
}

async fn get(client: &Client) -> Result<String, marketing_api::Error> {
    Ok(client
        .campaigns()
        .get(CampaignId::new("cmp_1"))
        .send()
        .await?
        .name)
}

async fn mount_api(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/v1/campaigns/cmp_1"))
        .respond_with(campaign_page())
        .mount(server)
        .await;
}

/// A token endpoint answering 503 (the second time with `Retry-After: 2`) twice, then tokens.
async fn mount_two_503s_then_tokens(server: &MockServer, delay: Duration) {
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(503).set_delay(delay))
        .up_to_n_times(1)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(
            ResponseTemplate::new(503)
                .insert_header("retry-after", "2")
                .set_delay(delay),
        )
        .up_to_n_times(1)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(IssuingTokenEndpoint::default())
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_token_endpoint_answering_503_twice_is_retried_and_the_call_succeeds() {
    let server = MockServer::start().await;
    mount_two_503s_then_tokens(&server, Duration::ZERO).await;
    mount_api(&server).await;
    let clock = ManualClock::new(start());
    let client = builder(&server, &clock, "secret").build().expect("client");

    assert_eq!(get(&client).await.expect("call succeeds"), "Spring launch");
    assert_eq!(token_requests(&server).await, 3);
    // Full jitter on the first retry (half of 200 ms with the fixed random source), then the
    // server's Retry-After.
    assert_eq!(
        clock.sleeps(),
        [Duration::from_millis(100), Duration::from_secs(2)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_concurrent_calls_share_the_retried_token_request() {
    let server = MockServer::start().await;
    // Slow enough that every call is waiting before the first answer arrives.
    mount_two_503s_then_tokens(&server, Duration::from_millis(100)).await;
    mount_api(&server).await;
    let clock = ManualClock::new(start());
    let client = builder(&server, &clock, "secret").build().expect("client");

    let calls: Vec<_> = (0..1_000)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { get(&client).await })
        })
        .collect();
    for call in calls {
        call.await.expect("task").expect("every call succeeds");
    }
    let requests = token_requests(&server).await;
    assert!(requests <= 3, "{requests} token requests");
    assert_eq!(requests, 3, "two 503s and the success");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_wrong_secret_costs_one_token_request_for_a_hundred_concurrent_calls() {
    let server = token_server(
        ResponseTemplate::new(401)
            .set_body_json(json!({"error": "invalid_client", "error_description": "bad secret"}))
            .set_delay(Duration::from_millis(100)),
    )
    .await;
    mount_api(&server).await;
    let clock = ManualClock::new(start());
    let client = builder(&server, &clock, "wrong-secret")
        .build()
        .expect("client");

    let calls: Vec<_> = (0..100)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { get(&client).await })
        })
        .collect();
    for call in calls {
        let error = call.await.expect("task").expect_err("a wrong secret fails");
        assert!(error.is_auth() && !error.is_retryable(), "{error:?}");
        assert!(
            matches!(error.auth_error(), Some(AuthError::OAuth { error, .. }) if error == "invalid_client"),
            "{error:?}"
        );
        assert_eq!(error.attempts(), 0, "no API request was sent");
    }
    assert_eq!(token_requests(&server).await, 1);

    // Within the cooldown the answer is remembered; after it, the server is asked again.
    clock.advance(Duration::from_secs(9));
    assert!(get(&client).await.is_err());
    assert_eq!(token_requests(&server).await, 1);
    clock.advance(Duration::from_secs(2));
    assert!(get(&client).await.is_err());
    assert_eq!(token_requests(&server).await, 2);
}

#[tokio::test]
async fn an_api_that_rejects_every_token_costs_two_token_requests_per_cooldown() {
    let server = MockServer::start().await;
    let endpoint = IssuingTokenEndpoint::default();
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(endpoint.clone())
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/campaigns/cmp_1"))
        .respond_with(unauthorized())
        .mount(&server)
        .await;
    let clock = ManualClock::new(start());
    let client = builder(&server, &clock, "secret").build().expect("client");

    for _ in 0..20 {
        let error = get(&client).await.expect_err("401 forever");
        assert_eq!(
            error.status(),
            Some(http::StatusCode::UNAUTHORIZED),
            "{error:?}"
        );
    }
    // The first token; one renewal after the first 401, whose replay was rejected too; from
    // then on the renewed token is suspect and 401s are reported without renewing.
    assert_eq!(token_requests(&server).await, 2);
    let api_requests = server.received_requests().await.unwrap_or_default().len() - 2;
    assert_eq!(api_requests, 21, "20 calls and one replay");

    // After the cooldown one more renewal is allowed.
    clock.advance(Duration::from_secs(11));
    get(&client).await.expect_err("401 forever");
    assert_eq!(token_requests(&server).await, 3);
}

#[tokio::test]
async fn a_token_endpoint_that_stays_down_is_a_retryable_error_naming_the_attempts() {
    let server =
        token_server(ResponseTemplate::new(502).set_body_string("<h1>Bad Gateway</h1>")).await;
    mount_api(&server).await;
    let clock = ManualClock::new(start());
    let client = builder(&server, &clock, "secret")
        .token_retry_policy(RetryPolicy::default().max_attempts(4))
        .build()
        .expect("client");

    let error = get(&client).await.expect_err("the token endpoint is down");
    assert!(error.is_auth() && error.is_retryable(), "{error:?}");
    let auth = error.auth_error().expect("an auth error");
    assert_eq!(auth.token_attempts(), Some(4));
    assert!(auth.is_transient());
    assert_eq!(token_requests(&server).await, 4);
    let report = error.report().to_string();
    assert!(
        report.contains("after 4 attempts") && report.contains("HTTP 502"),
        "{report}"
    );

    // A transient failure is not remembered: the next call asks again.
    get(&client).await.expect_err("still down");
    assert_eq!(token_requests(&server).await, 8);
}

#[tokio::test]
async fn token_retries_are_paid_from_the_shared_retry_budget() {
    let server = token_server(ResponseTemplate::new(503)).await;
    let clock = ManualClock::new(start());
    // Room for exactly one retry.
    let client = builder(&server, &clock, "secret")
        .retry_budget(
            marketing_api::retry::RetryBudgetConfig::default()
                .capacity(5)
                .retry_cost(5),
        )
        .build()
        .expect("client");
    let first = get(&client).await.expect_err("down");
    assert_eq!(
        first.auth_error().and_then(AuthError::token_attempts),
        Some(2)
    );
    let second = get(&client).await.expect_err("down");
    assert_eq!(
        second.auth_error().and_then(AuthError::token_attempts),
        Some(1),
        "the budget is empty: no retry"
    );
    assert_eq!(token_requests(&server).await, 3);
}

/// A provider that hands out `tok-1`, `tok-2`, … valid for `lifetime`, failing transiently
/// `transient_failures` times first, and records why it was asked.
#[derive(Debug, Default)]
struct CountingProvider {
    calls: AtomicUsize,
    transient_failures: AtomicUsize,
    reasons: std::sync::Mutex<Vec<CredentialReason>>,
    lifetime: Duration,
}

impl CredentialProvider for CountingProvider {
    fn credential(
        &self,
        request: CredentialRequest,
    ) -> BoxFuture<'_, Result<Credential, AuthError>> {
        Box::pin(async move {
            self.reasons.lock().unwrap().push(request.reason());
            if self
                .transient_failures
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
            {
                return Err(AuthError::provider_transient("the vault is sealed"));
            }
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            Ok(Credential::bearer(format!("tok-{n}"))?.expires_at(request.now() + self.lifetime))
        })
    }
}

#[tokio::test]
async fn a_custom_provider_is_cached_renewed_ahead_of_expiry_and_retried() {
    let server = MockServer::start().await;
    for token in ["tok-1", "tok-2"] {
        Mock::given(method("GET"))
            .and(path("/v1/campaigns/cmp_1"))
            .and(header("authorization", format!("Bearer {token}").as_str()))
            .respond_with(campaign_page())
            .mount(&server)
            .await;
    }
    let clock = ManualClock::new(start());
    let provider = Arc::new(CountingProvider {
        lifetime: Duration::from_secs(300),
        transient_failures: AtomicUsize::new(1),
        ..CountingProvider::default()
    });
    let client = Client::builder(format!("{}/v1", server.uri()))
        .auth(Auth::provider(provider.clone()))
        .clock(Arc::new(clock.clone()))
        .sleeper(Arc::new(clock.sleeper()))
        .random(Arc::new(FixedRandom(0.5)))
        .build()
        .expect("client");

    for _ in 0..5 {
        get(&client).await.expect("tok-1 is used");
    }
    assert_eq!(provider.calls.load(Ordering::SeqCst), 1, "cached");
    // 30 s of skew before the 300 s expiry (the transient failure's backoff moved the clock).
    clock.advance(Duration::from_secs(269));
    get(&client).await.expect("still tok-1");
    assert_eq!(provider.calls.load(Ordering::SeqCst), 1);
    clock.advance(Duration::from_secs(2));
    get(&client).await.expect("tok-2");
    assert_eq!(provider.calls.load(Ordering::SeqCst), 2);
    assert_eq!(
        *provider.reasons.lock().unwrap(),
        [
            CredentialReason::Initial,
            CredentialReason::Initial,
            CredentialReason::Expiring
        ]
    );
}

#[tokio::test]
async fn a_rejected_provider_credential_is_replaced_and_the_request_replayed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/campaigns/cmp_1"))
        .and(header("authorization", "Bearer tok-1"))
        .respond_with(unauthorized())
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/campaigns/cmp_1"))
        .and(header("authorization", "Bearer tok-2"))
        .respond_with(campaign_page())
        .mount(&server)
        .await;
    let clock = ManualClock::new(start());
    let provider = Arc::new(CountingProvider {
        lifetime: Duration::from_secs(3600),
        ..CountingProvider::default()
    });
    let client = Client::builder(format!("{}/v1", server.uri()))
        .auth(Auth::provider(provider.clone()))
        .clock(Arc::new(clock.clone()))
        .build()
        .expect("client");
    assert_eq!(
        get(&client).await.expect("replayed with tok-2"),
        "Spring launch"
    );
    assert_eq!(
        *provider.reasons.lock().unwrap(),
        [CredentialReason::Initial, CredentialReason::Rejected]
    );
}

#[tokio::test]
async fn a_definitive_provider_failure_is_remembered_for_the_cooldown() {
    #[derive(Debug, Default)]
    struct Refusing(AtomicUsize);
    impl CredentialProvider for Refusing {
        fn credential(&self, _: CredentialRequest) -> BoxFuture<'_, Result<Credential, AuthError>> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Box::pin(async { Err(AuthError::provider("no such role")) })
        }
    }
    let server = MockServer::start().await;
    let clock = ManualClock::new(start());
    let refusing = Arc::new(Refusing::default());
    let client = Client::builder(format!("{}/v1", server.uri()))
        .auth(Auth::provider(refusing.clone()))
        .clock(Arc::new(clock.clone()))
        .auth_cooldown(Duration::from_secs(30))
        .build()
        .expect("client");
    for _ in 0..5 {
        let error = get(&client).await.expect_err("refused");
        assert!(!error.is_retryable());
        assert!(error.report().to_string().contains("no such role"));
    }
    assert_eq!(refusing.0.load(Ordering::SeqCst), 1);
    clock.advance(Duration::from_secs(31));
    get(&client).await.expect_err("refused");
    assert_eq!(refusing.0.load(Ordering::SeqCst), 2);
    assert!(
        server
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    );
}

/// `Display` says each error's own part and `source()` the cause, so a chain reporter prints
/// every message exactly once.
#[tokio::test]
async fn a_chain_reporter_prints_each_message_once() {
    let server = token_server(ResponseTemplate::new(503).set_body_string("<h1>down</h1>")).await;
    let clock = ManualClock::new(start());
    let client = builder(&server, &clock, "secret").build().expect("client");
    let error = get(&client).await.expect_err("down");
    let own = error.to_string();
    let gave_up = error.auth_error().expect("auth error").to_string();
    let chained = format!("{:#}", anyhow::Error::from(error));
    assert_eq!(
        chained,
        format!(
            "{own}: {gave_up}: the token endpoint answered HTTP 503 without an OAuth2 error body; \
             check the token URL and the state of the authorization server"
        )
    );
    for part in [
        "authentication failed",
        "no credential after 3 attempts",
        "HTTP 503",
    ] {
        assert_eq!(chained.matches(part).count(), 1, "`{part}` in {chained}");
    }
}
