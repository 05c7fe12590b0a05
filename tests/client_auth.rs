//! Authentication through the public `Client`: wiremock on 127.0.0.1 plays both the token
//! endpoint and the API, and the tests count what reaches each.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use marketing_api::auth::{
    ApiKey, AuthError, CredentialProblem, InMemoryTokenStore, OAuth2, TokenSet, TokenStore,
};
use marketing_api::clock::ManualClock;
use marketing_api::{Client, ClientBuilder, Error};
use serde_json::json;
use support::{received, start, token_body};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const CLIENT_SECRET: &str = "cs-SECRET-client";

/// The body of an empty `GET /campaigns` page.
fn empty_page() -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("x-request-id", "req_page")
        .set_body_json(json!({"data": [], "meta": {"request_id": "req_page", "has_more": false}}))
}

fn unauthorized() -> ResponseTemplate {
    ResponseTemplate::new(401)
        .insert_header("x-request-id", "req_401")
        .set_body_json(json!({"error": {
            "type": "authentication_error",
            "code": "invalid_token",
            "message": "The access token is invalid or expired.",
            "request_id": "req_401"
        }}))
}

fn builder(server: &MockServer) -> ClientBuilder {
    Client::builder(format!("{}/v1", server.uri()))
}

fn token_url(server: &MockServer) -> String {
    format!("{}/oauth/token", server.uri())
}

fn form_field(request: &Request, name: &str) -> Option<String> {
    url::form_urlencoded::parse(&request.body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

// Issue 3, "Done when" 1: a thousand requests that all start with an expired token.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_concurrent_requests_with_an_expired_token_make_one_token_request() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=rt-stored"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(token_body("at-fresh", Some("rt-next"), 3600))
                // Long enough that every request is already waiting when the answer comes.
                .set_delay(Duration::from_millis(200)),
        )
        .expect(1)
        .named("token endpoint")
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/campaigns"))
        .and(header("authorization", "Bearer at-fresh"))
        .respond_with(empty_page())
        .expect(1_000)
        .named("API with the fresh token")
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/campaigns"))
        .respond_with(unauthorized())
        .expect(0)
        .named("API with any other token")
        .mount(&server)
        .await;

    // The application restarts with the tokens it saved last time; the access token has expired.
    let store = Arc::new(InMemoryTokenStore::new());
    store
        .save(
            &TokenSet::new("at-expired")
                .with_refresh_token("rt-stored")
                .with_expires_at(SystemTime::now() - Duration::from_secs(60)),
        )
        .await
        .unwrap();
    let client = builder(&server)
        .auth(
            OAuth2::refresh_token(
                "cli_1",
                Some(CLIENT_SECRET.into()),
                token_url(&server),
                "rt-configured",
            )
            .token_store(store.clone()),
        )
        .build()
        .unwrap();

    let started = Instant::now();
    let tasks: Vec<_> = (0..1_000)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.campaigns().list().send().await })
        })
        .collect();
    let mut succeeded = 0;
    for task in tasks {
        let page = task.await.expect("task").expect("request succeeds");
        assert_eq!(page.request_id.as_deref(), Some("req_page"));
        succeeded += 1;
    }
    let elapsed = started.elapsed();
    let token_requests = received(&server, "/oauth").await.len();
    println!(
        "1,000 concurrent list requests, expired token at the start: {succeeded} succeeded, \
         {token_requests} token request(s), wall time {elapsed:?}"
    );

    assert_eq!(succeeded, 1_000);
    assert_eq!(token_requests, 1);
    // The rotated refresh token was handed to the store.
    assert_eq!(
        store
            .current()
            .and_then(|t| t.refresh_token().map(|r| r.expose_secret().to_owned())),
        Some("rt-next".to_owned())
    );
    server.verify().await;
}

// Issue 3, "Done when" 2a: a 401 on a fresh token forces one refresh and one replay.
#[tokio::test]
async fn a_401_on_a_fresh_token_refreshes_once_and_replays_once() {
    let server = MockServer::start().await;
    let issued = Arc::new(AtomicUsize::new(0));
    let counter = issued.clone();
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_string_contains("grant_type=client_credentials"))
        .respond_with(move |_: &Request| {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            ResponseTemplate::new(200).set_body_json(token_body(&format!("at-{n}"), None, 3600))
        })
        .expect(2)
        .mount(&server)
        .await;
    // The server revoked at-1 although it has not expired; at-2 is good.
    Mock::given(method("GET"))
        .and(path("/v1/campaigns"))
        .and(header("authorization", "Bearer at-1"))
        .respond_with(unauthorized())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/campaigns"))
        .and(header("authorization", "Bearer at-2"))
        .respond_with(empty_page())
        .expect(2)
        .mount(&server)
        .await;
    let client = builder(&server)
        .auth(OAuth2::client_credentials(
            "cli_1",
            CLIENT_SECRET,
            token_url(&server),
        ))
        .build()
        .unwrap();

    let page = client.campaigns().list().send().await.expect("replayed");
    assert!(page.items.is_empty());
    assert_eq!(
        issued.load(Ordering::SeqCst),
        2,
        "initial token + one refresh"
    );
    assert_eq!(
        received(&server, "/v1").await.len(),
        2,
        "request + one replay"
    );

    // The next request uses the new token straight away.
    client.campaigns().list().send().await.unwrap();
    assert_eq!(issued.load(Ordering::SeqCst), 2);
    println!(
        "401 on a fresh token: {} token requests, {} API requests for 2 calls",
        issued.load(Ordering::SeqCst),
        received(&server, "/v1").await.len()
    );
    server.verify().await;
}

// Issue 3, "Done when" 2b: a second 401 surfaces as an auth error, with no loop.
#[tokio::test]
async fn a_second_401_surfaces_as_an_auth_error() {
    let server = MockServer::start().await;
    let issued = Arc::new(AtomicUsize::new(0));
    let counter = issued.clone();
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(move |_: &Request| {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            ResponseTemplate::new(200).set_body_json(token_body(&format!("at-{n}"), None, 3600))
        })
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/campaigns"))
        .respond_with(unauthorized())
        .expect(2)
        .mount(&server)
        .await;
    let client = builder(&server)
        .auth(OAuth2::client_credentials(
            "cli_1",
            CLIENT_SECRET,
            token_url(&server),
        ))
        .build()
        .unwrap();

    let err = client.campaigns().list().send().await.unwrap_err();
    assert!(err.is_auth(), "{err}");
    assert!(!err.is_retryable(), "{err}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(401));
    assert_eq!(err.request_id(), Some("req_401"));
    assert_eq!(
        err.api_error()
            .and_then(|a| a.code.as_ref().map(|c| c.as_str())),
        Some("invalid_token")
    );
    let api_requests = received(&server, "/v1").await;
    assert_eq!(api_requests.len(), 2, "the request and exactly one replay");
    assert_eq!(api_requests[0].headers["authorization"], "Bearer at-1");
    assert_eq!(api_requests[1].headers["authorization"], "Bearer at-2");
    assert_eq!(
        issued.load(Ordering::SeqCst),
        2,
        "initial token + one refresh"
    );
    println!("second 401: surfaced as `{err}`");
    server.verify().await;
}

/// A token endpoint and an API that agree on which access token is current: the API accepts
/// only the newest one, and the token endpoint accepts only the newest refresh token, once.
#[derive(Default)]
struct RotatingServer {
    state: Mutex<RotationState>,
}

#[derive(Default)]
struct RotationState {
    issued: usize,
    current_access: Option<String>,
    current_refresh: String,
    presented: Vec<String>,
    reused: Vec<String>,
    revoked: bool,
}

impl RotatingServer {
    fn new(first_refresh: &str) -> Arc<Self> {
        let server = Self::default();
        server.lock().current_refresh = first_refresh.to_owned();
        Arc::new(server)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RotationState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn token(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.lock();
        let presented = form_field(request, "refresh_token").unwrap_or_default();
        let fresh = presented == state.current_refresh && !state.presented.contains(&presented);
        state.presented.push(presented.clone());
        if !fresh {
            // A real server would now revoke the whole token family.
            state.reused.push(presented);
            return ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_grant"}));
        }
        state.issued += 1;
        let access = format!("at-{}", state.issued);
        let refresh = format!("rt-{}", state.issued);
        state.current_access = Some(access.clone());
        state.current_refresh = refresh.clone();
        state.revoked = false;
        ResponseTemplate::new(200).set_body_json(token_body(&access, Some(&refresh), 60))
    }

    fn api(&self, request: &Request) -> ResponseTemplate {
        let state = self.lock();
        let sent = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        let expected = state.current_access.as_ref().map(|t| format!("Bearer {t}"));
        if !state.revoked && sent.is_some() && sent == expected.as_deref() {
            empty_page()
        } else {
            unauthorized()
        }
    }
}

// Issue 3, "Done when" 3: a rotating refresh token is never used twice, through expiries,
// concurrent requests and a 401-forced refresh.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotating_refresh_token_is_never_used_twice() {
    let server = MockServer::start().await;
    let rotation = RotatingServer::new("rt-0");
    let tokens = rotation.clone();
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(move |r: &Request| tokens.token(r))
        .mount(&server)
        .await;
    let api = rotation.clone();
    Mock::given(method("GET"))
        .and(path("/v1/campaigns"))
        .respond_with(move |r: &Request| api.api(r))
        .mount(&server)
        .await;
    let clock = ManualClock::new(start());
    let client = builder(&server)
        .clock(Arc::new(clock.clone()))
        .auth(OAuth2::refresh_token(
            "cli_1",
            Some(CLIENT_SECRET.into()),
            token_url(&server),
            "rt-0",
        ))
        .build()
        .unwrap();
    let burst = |n: usize| {
        let client = client.clone();
        async move {
            let calls = (0..n).map(|_| {
                let client = client.clone();
                tokio::spawn(async move { client.campaigns().list().send().await })
            });
            for call in futures::future::join_all(calls).await {
                call.expect("task").expect("request succeeds");
            }
        }
    };

    // Four token lifetimes, 25 concurrent requests in each.
    for round in 1..=4 {
        burst(25).await;
        if round < 4 {
            clock.advance(Duration::from_secs(61));
        }
    }
    // The server revokes the current access token early: 25 concurrent 401s, one refresh.
    rotation.lock().revoked = true;
    burst(25).await;

    let all_requests = server.received_requests().await.map_or(0, |r| r.len());
    let state = rotation.lock();
    let expected: Vec<String> = (0..5).map(|n| format!("rt-{n}")).collect();
    println!(
        "rotating refresh tokens: {} token requests for {} API requests; presented {:?}",
        state.presented.len(),
        all_requests - state.presented.len(),
        state.presented
    );
    assert!(state.reused.is_empty(), "reused: {:?}", state.reused);
    assert_eq!(
        state.presented, expected,
        "each refresh token once, in order"
    );
}

// Issue 3, secrets: nothing the client is given or obtains shows up when formatted.
#[tokio::test]
async fn debug_and_display_of_clients_builders_and_errors_show_no_secret() {
    const MARKER: &str = "SECRET";
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_string_contains("grant_type=client_credentials"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body(
            "at-SECRET-access",
            Some("rt-SECRET-refresh"),
            3600,
        )))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/campaigns"))
        .respond_with(unauthorized())
        .mount(&server)
        .await;
    let mut shown: Vec<String> = Vec::new();
    let mut show = |label: &str, text: String| shown.push(format!("{label}: {text}"));

    let key_builder = builder(&server)
        .auth(ApiKey::new("mk_SECRET_apikey").unwrap())
        .default_header("x-partner-token", "hdr-SECRET-value");
    show(
        "api key builder",
        format!("{key_builder:?} {key_builder:#?}"),
    );
    let key_client = key_builder.build().unwrap();
    show("api key client", format!("{key_client:?} {key_client:#?}"));
    let err = key_client.campaigns().list().send().await.unwrap_err();
    show("401 error", format!("{err} {err:?} {err:#?}"));

    let store = Arc::new(InMemoryTokenStore::new());
    let oauth = OAuth2::client_credentials("cli_1", CLIENT_SECRET, token_url(&server))
        .scopes(["campaigns:read"])
        .token_store(store.clone());
    let oauth_builder = builder(&server).auth(oauth.clone());
    show("oauth builder", format!("{oauth_builder:?}"));
    let oauth_client = oauth_builder.build().unwrap();
    let err = oauth_client.campaigns().list().send().await.unwrap_err();
    assert!(err.is_auth());
    show("oauth 401 error", format!("{err} {err:?}"));
    show(
        "oauth client with tokens",
        format!("{oauth_client:?} {oauth_client:#?}"),
    );
    let saved = store.current().expect("the obtained tokens were saved");
    show(
        "token store and config",
        format!("{store:?} {saved:?} {oauth:?}"),
    );

    // The token endpoint refuses the client: an auth error with a source chain.
    let refusing = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid_client",
            "error_description": "Unknown client or wrong secret."
        })))
        .mount(&refusing)
        .await;
    let refused = builder(&refusing)
        .auth(OAuth2::client_credentials(
            "cli_1",
            CLIENT_SECRET,
            token_url(&refusing),
        ))
        .build()
        .unwrap();
    let err = refused.campaigns().list().send().await.unwrap_err();
    assert!(err.is_auth(), "{err}");
    assert!(err.auth_error().is_some(), "{err:?}");
    let mut chain = format!("{err} {err:?}");
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        chain.push_str(&format!(" / {s} {s:?}"));
        source = s.source();
    }
    show("token endpoint refusal", chain);

    // Credentials in the base URL are refused without repeating them.
    let err = Client::builder("https://user:pw-SECRET@api.example.com/v1")
        .build()
        .unwrap_err();
    show("credentials in base URL", format!("{err} {err:?}"));

    let leaks: Vec<&String> = shown.iter().filter(|s| s.contains(MARKER)).collect();
    assert!(leaks.is_empty(), "secrets shown: {leaks:#?}");
    // The formatting did say something useful.
    assert!(shown.iter().any(|s| s.contains("invalid_client")));
    assert!(shown.iter().any(|s| s.contains("cli_1")));
}

// Issue 3, bad input: configuration mistakes fail before anything is sent, saying what to fix.
#[test]
fn bad_configuration_fails_with_a_typed_error() {
    // An empty API key cannot even be constructed, so no client can be built with one.
    for empty in ["", "   "] {
        let err = ApiKey::new(empty).unwrap_err();
        assert!(
            matches!(
                err,
                AuthError::InvalidApiKey {
                    problem: CredentialProblem::Empty
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("empty"), "{err}");
    }

    let key = || ApiKey::new("mk_live_key").unwrap();
    let expect_config = |base: &str, mentions: &str| {
        let err: Error = Client::builder(base).auth(key()).build().unwrap_err();
        assert!(err.is_config(), "{base}: {err}");
        assert!(err.to_string().contains(mentions), "{base}: {err}");
    };
    expect_config("https://api.example.com/v1#section", "fragment");
    expect_config("http://api.example.com/v1", "https://");
    expect_config("not a url", "absolute URL");

    // An OAuth2 configuration is checked by build() too.
    let err = Client::builder("https://api.example.com/v1")
        .auth(OAuth2::client_credentials(
            "cli_1",
            CLIENT_SECRET,
            "http://auth.example.com/oauth/token",
        ))
        .build()
        .unwrap_err();
    assert!(err.is_auth(), "{err}");
    assert!(
        matches!(err.auth_error(), Some(AuthError::InsecureUrl { .. })),
        "{err:?}"
    );
    let err = Client::builder("https://api.example.com/v1")
        .auth(OAuth2::client_credentials(
            " ",
            CLIENT_SECRET,
            "https://api.example.com/v1/oauth/token",
        ))
        .build()
        .unwrap_err();
    assert!(
        matches!(err.auth_error(), Some(AuthError::EmptyClientId)),
        "{err:?}"
    );

    // What is allowed: https anywhere, http on loopback, http elsewhere only when asked for.
    assert!(Client::builder("http://127.0.0.1:8080/v1").build().is_ok());
    assert!(Client::builder("http://localhost/v1").build().is_ok());
    assert!(
        Client::builder("http://api.internal/v1")
            .allow_insecure_http(true)
            .build()
            .is_ok()
    );
}
