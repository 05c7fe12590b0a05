//! Tests of the authenticator against token endpoints on real sockets (wiremock on 127.0.0.1).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::future::BoxFuture;
use serde_json::json;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::*;
use crate::clock::ManualClock;

const CLIENT_SECRET: &str = "client-secret-DO-NOT-LOG";

fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

fn start_time() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

fn token_url(server: &MockServer) -> String {
    format!("{}/oauth/token", server.uri())
}

fn token_body(access: &str, refresh: Option<&str>, expires_in: u64) -> serde_json::Value {
    let mut body =
        json!({"access_token": access, "token_type": "Bearer", "expires_in": expires_in});
    if let Some(refresh) = refresh {
        body["refresh_token"] = json!(refresh);
    }
    body
}

fn form(request: &Request) -> HashMap<String, String> {
    url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect()
}

/// The client's side of the authenticator, on a manual clock. One token attempt and no
/// cooldown, so each test sees exactly the token requests it makes; the tests of retries and
/// of the negative cache set their own.
pub(super) fn runtime(clock: &ManualClock) -> AuthRuntime {
    AuthRuntime {
        http: http(),
        clock: Arc::new(clock.clone()),
        sleeper: Arc::new(clock.sleeper()),
        random: Arc::new(crate::clock::FixedRandom(0.5)),
        budget: crate::retry::RetryBudget::default(),
        retry: crate::retry::RetryPolicy::never(),
        cooldown: Duration::ZERO,
    }
}

pub(super) fn authenticator(auth: impl Into<Auth>, clock: &ManualClock) -> Authenticator {
    Authenticator::new(auth.into(), runtime(clock)).expect("valid configuration")
}

async fn bearer(auth: &Authenticator) -> (String, u64) {
    let credential = auth
        .credential()
        .await
        .expect("credential")
        .expect("some credential");
    assert_eq!(credential.header_name(), http::header::AUTHORIZATION);
    assert!(credential.header_value().is_sensitive());
    let value = credential
        .header_value()
        .to_str()
        .expect("ascii header")
        .to_owned();
    (value, credential.generation())
}

async fn token_requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap_or_default()
}

/// A token store that remembers every save and can be told to fail.
#[derive(Debug, Default)]
struct RecordingStore {
    saved: Mutex<Vec<TokenSet>>,
    preload: Mutex<Option<TokenSet>>,
    failures_left: AtomicUsize,
}

impl RecordingStore {
    fn saved(&self) -> Vec<TokenSet> {
        self.saved.lock().unwrap().clone()
    }
}

impl TokenStore for RecordingStore {
    fn save(&self, tokens: &TokenSet) -> BoxFuture<'_, Result<(), TokenStoreError>> {
        let result = if self
            .failures_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            Err(TokenStoreError::new("disk full"))
        } else {
            self.saved.lock().unwrap().push(tokens.clone());
            Ok(())
        };
        Box::pin(std::future::ready(result))
    }

    fn load(&self) -> BoxFuture<'_, Result<Option<TokenSet>, TokenStoreError>> {
        let tokens = self.preload.lock().unwrap().clone();
        Box::pin(std::future::ready(Ok(tokens)))
    }
}

/// A token endpoint whose refresh tokens are valid exactly once: `rt-N` buys `at-N+1` and
/// `rt-N+1`; presenting a refresh token twice gets `invalid_grant`.
struct RotatingTokenEndpoint {
    valid: Mutex<HashSet<String>>,
    issued: AtomicUsize,
    expires_in: u64,
}

impl RotatingTokenEndpoint {
    fn new(first_refresh_token: &str, expires_in: u64) -> Self {
        Self {
            valid: Mutex::new(HashSet::from([first_refresh_token.to_owned()])),
            issued: AtomicUsize::new(0),
            expires_in,
        }
    }
}

impl Respond for RotatingTokenEndpoint {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let form = form(request);
        let presented = form.get("refresh_token").cloned().unwrap_or_default();
        let mut valid = self.valid.lock().unwrap();
        if form.get("grant_type").map(String::as_str) != Some("refresh_token")
            || !valid.remove(&presented)
        {
            return ResponseTemplate::new(400).set_body_json(
                json!({"error": "invalid_grant", "error_description": "refresh token reused"}),
            );
        }
        let n = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
        let next = format!("rt-{n}");
        valid.insert(next.clone());
        ResponseTemplate::new(200).set_body_json(token_body(
            &format!("at-{n}"),
            Some(&next),
            self.expires_in,
        ))
    }
}

// 1. A thousand requests find the token expired at once: one token request.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_concurrent_requests_with_an_expired_token_make_one_token_request() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=rt-0"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(token_body("at-1", Some("rt-1"), 3600))
                // Long enough that every task is already waiting when the answer comes.
                .set_delay(Duration::from_millis(100)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let clock = ManualClock::new(start_time());
    let store = Arc::new(RecordingStore::default());
    *store.preload.lock().unwrap() = Some(
        TokenSet::new("at-0")
            .with_refresh_token("rt-0")
            .with_expires_at(start_time() - Duration::from_secs(1)),
    );
    let auth = authenticator(
        OAuth2::refresh_token("cli", None, token_url(&server), "rt-config")
            .token_store(store.clone()),
        &clock,
    );

    let started = Instant::now();
    let tasks: Vec<_> = (0..1_000)
        .map(|_| {
            let auth = auth.clone();
            tokio::spawn(async move { bearer(&auth).await })
        })
        .collect();
    let mut generations = HashSet::new();
    for task in tasks {
        let (value, generation) = task.await.expect("task");
        assert_eq!(value, "Bearer at-1");
        generations.insert(generation);
    }
    let elapsed = started.elapsed();
    eprintln!("1,000 concurrent credential() calls with an expired token: {elapsed:?}");

    assert_eq!(generations.len(), 1, "everyone got the same token");
    assert_eq!(token_requests(&server).await.len(), 1);
    assert_eq!(
        store
            .saved()
            .last()
            .and_then(|t| t.refresh_token().cloned()),
        Some(Secret::new("rt-1"))
    );
    server.verify().await;
}

// 2. A 401 on a fresh token forces one refresh; the same rejected token does not force another.
#[tokio::test]
async fn unauthorized_forces_exactly_one_refresh_per_rejected_token() {
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
    let clock = ManualClock::new(start_time());
    let auth = authenticator(
        OAuth2::client_credentials("cli", CLIENT_SECRET, token_url(&server)),
        &clock,
    );

    let first = auth.credential().await.unwrap().unwrap();
    assert_eq!(first.header_value(), "Bearer at-1");
    assert_eq!(token_requests(&server).await.len(), 1);

    // Fifty requests were rejected with the same token at the same time.
    let replays = futures::future::join_all((0..50).map(|_| auth.on_unauthorized(&first))).await;
    assert!(replays.into_iter().all(|replay| replay.unwrap()));
    assert_eq!(token_requests(&server).await.len(), 2);

    let second = auth.credential().await.unwrap().unwrap();
    assert_eq!(second.header_value(), "Bearer at-2");
    assert!(second.generation() > first.generation());

    // A late 401 for the old token: a newer one exists, replay without a token request.
    assert!(auth.on_unauthorized(&first).await.unwrap());
    assert_eq!(token_requests(&server).await.len(), 2);
    server.verify().await;
}

#[tokio::test]
async fn static_credentials_are_attached_and_never_replayed() {
    let clock = ManualClock::new(start_time());
    let key = authenticator(ApiKey::new("mk_live_key").unwrap(), &clock);
    let applied = key.credential().await.unwrap().unwrap();
    assert_eq!(applied.header_name().as_str(), "x-api-key");
    assert_eq!(applied.header_value(), "mk_live_key");
    assert!(applied.header_value().is_sensitive());
    assert!(!key.on_unauthorized(&applied).await.unwrap());

    let bearer_auth = authenticator(BearerToken::new("static-tok").unwrap(), &clock);
    let applied = bearer_auth.credential().await.unwrap().unwrap();
    assert_eq!(applied.header_value(), "Bearer static-tok");
    assert!(!bearer_auth.on_unauthorized(&applied).await.unwrap());

    let mut headers = http::HeaderMap::new();
    applied.apply(&mut headers);
    assert_eq!(headers[http::header::AUTHORIZATION], "Bearer static-tok");

    let none = authenticator(Auth::none(), &clock);
    assert!(none.credential().await.unwrap().is_none());
}

// 3. Rotating refresh tokens: each one is presented once, including after a forced refresh.
#[tokio::test]
async fn a_rotating_refresh_token_is_never_used_twice() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(RotatingTokenEndpoint::new("rt-0", 60))
        .mount(&server)
        .await;
    let clock = ManualClock::new(start_time());
    let store = Arc::new(RecordingStore::default());
    let auth = authenticator(
        OAuth2::refresh_token(
            "cli",
            Some(CLIENT_SECRET.into()),
            token_url(&server),
            "rt-0",
        )
        .token_store(store.clone()),
        &clock,
    );

    for round in 1..=5 {
        let (value, _) = bearer(&auth).await;
        assert_eq!(value, format!("Bearer at-{round}"));
        clock.advance(Duration::from_secs(61));
    }
    // A 401 forces a refresh with the newest refresh token.
    let rejected = auth.credential().await.unwrap().unwrap();
    assert!(auth.on_unauthorized(&rejected).await.unwrap());
    let (value, _) = bearer(&auth).await;
    assert_eq!(value, "Bearer at-7");

    let presented: Vec<String> = token_requests(&server)
        .await
        .iter()
        .map(|r| form(r)["refresh_token"].clone())
        .collect();
    let expected: Vec<String> = (0..7).map(|n| format!("rt-{n}")).collect();
    assert_eq!(
        presented, expected,
        "each refresh token presented once, in order"
    );
    // Every rotated refresh token reached the store.
    let stored: Vec<String> = store
        .saved()
        .iter()
        .map(|t| t.refresh_token().unwrap().expose_secret().to_owned())
        .collect();
    assert_eq!(
        stored,
        (1..=7).map(|n| format!("rt-{n}")).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn a_failed_save_holds_the_new_tokens_back_without_reusing_the_old_refresh_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(RotatingTokenEndpoint::new("rt-0", 3600))
        .mount(&server)
        .await;
    let clock = ManualClock::new(start_time());
    let store = Arc::new(RecordingStore::default());
    store.failures_left.store(1, Ordering::SeqCst);
    let auth = authenticator(
        OAuth2::refresh_token("cli", None, token_url(&server), "rt-0").token_store(store.clone()),
        &clock,
    );

    let error = auth.credential().await.unwrap_err();
    let AuthError::GaveUp { last: error, .. } = &*error else {
        panic!("{error:?}")
    };
    assert!(
        matches!(
            **error,
            AuthError::TokenStore {
                operation: StoreOperation::Save,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(store.saved().is_empty());

    // The store works again: the held-back tokens are saved and used, no new token request.
    let (value, _) = bearer(&auth).await;
    assert_eq!(value, "Bearer at-1");
    assert_eq!(token_requests(&server).await.len(), 1);
    assert_eq!(store.saved().len(), 1);

    clock.advance(Duration::from_secs(3600));
    let (value, _) = bearer(&auth).await;
    assert_eq!(value, "Bearer at-2");
    let presented: Vec<String> = token_requests(&server)
        .await
        .iter()
        .map(|r| form(r)["refresh_token"].clone())
        .collect();
    assert_eq!(presented, ["rt-0", "rt-1"]);
}

#[tokio::test]
async fn a_refresh_whose_caller_gave_up_still_completes_and_is_not_repeated() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(token_body("at-1", Some("rt-1"), 3600))
                .set_delay(Duration::from_millis(200)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let clock = ManualClock::new(start_time());
    let store = Arc::new(RecordingStore::default());
    let auth = authenticator(
        OAuth2::refresh_token("cli", None, token_url(&server), "rt-0").token_store(store.clone()),
        &clock,
    );
    // The request that triggered the refresh times out and is dropped mid-refresh.
    let gave_up = tokio::time::timeout(Duration::from_millis(20), auth.credential()).await;
    assert!(gave_up.is_err());
    // The next request waits for that same refresh instead of sending rt-0 again.
    assert_eq!(bearer(&auth).await.0, "Bearer at-1");
    assert_eq!(token_requests(&server).await.len(), 1);
    assert_eq!(
        store.saved().len(),
        1,
        "the rotated refresh token was saved"
    );
    server.verify().await;
}

#[tokio::test]
async fn a_refused_refresh_token_is_dropped_and_later_requests_say_to_authorize_again() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_grant"})))
        .expect(1)
        .mount(&server)
        .await;
    let clock = ManualClock::new(start_time());
    let auth = authenticator(
        OAuth2::refresh_token("cli", None, token_url(&server), "rt-revoked"),
        &clock,
    );
    let first = auth.credential().await.unwrap_err();
    assert!(first.is_invalid_grant(), "{first:?}");
    let second = auth.credential().await.unwrap_err();
    assert!(matches!(*second, AuthError::NoRefreshToken), "{second:?}");
}

#[tokio::test]
async fn a_network_failure_keeps_the_refresh_token_for_the_next_attempt() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(RotatingTokenEndpoint::new("rt-0", 3600))
        .mount(&server)
        .await;
    let clock = ManualClock::new(start_time());
    let auth = authenticator(
        OAuth2::refresh_token("cli", None, token_url(&server), "rt-0"),
        &clock,
    );
    let error = auth.credential().await.unwrap_err();
    assert_eq!(error.token_attempts(), Some(1), "{error:?}");
    assert!(error.is_transient());
    let AuthError::GaveUp { last, .. } = &*error else {
        panic!("{error:?}")
    };
    assert!(
        matches!(**last, AuthError::TokenEndpointStatus { status: 503, .. }),
        "{error:?}"
    );
    assert_eq!(bearer(&auth).await.0, "Bearer at-1");
}

// 4 (continued; the PKCE check itself is in tests/auth.rs): the OAuth2 returned by the code
// exchange uses the obtained access token first, then its refresh token.
#[tokio::test]
async fn the_code_flow_result_uses_its_access_token_then_its_refresh_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_string_contains("grant_type=authorization_code"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body(
            "at-0",
            Some("rt-0"),
            600,
        )))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(RotatingTokenEndpoint::new("rt-0", 600))
        .expect(1)
        .mount(&server)
        .await;
    let clock = ManualClock::new(start_time());
    let flow = AuthorizationCodeFlow::new(
        "cli",
        None,
        format!("{}/oauth/authorize", server.uri()),
        token_url(&server),
        "http://127.0.0.1:9999/callback",
    )
    .clock(Arc::new(clock.clone()));
    let (url, pending) = flow.authorize_url().unwrap();
    let state = url
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let store = Arc::new(RecordingStore::default());
    let oauth = flow
        .exchange(
            &crate::Client::builder(server.uri()).build().unwrap(),
            "code-1",
            &state,
            pending,
        )
        .await
        .unwrap()
        .token_store(store.clone());
    let auth = authenticator(oauth, &clock);

    assert_eq!(bearer(&auth).await.0, "Bearer at-0");
    assert_eq!(token_requests(&server).await.len(), 1);
    assert_eq!(
        store.saved().len(),
        1,
        "the obtained tokens are saved before use"
    );

    clock.advance(Duration::from_secs(600));
    assert_eq!(bearer(&auth).await.0, "Bearer at-1");
    assert_eq!(token_requests(&server).await.len(), 2);
    server.verify().await;
}

// 5. Malformed answers, each with its own error.
#[tokio::test]
async fn malformed_token_responses_become_distinct_typed_errors() {
    type Check = fn(&AuthError) -> bool;
    let json_type = "application/json";
    let cases: Vec<(&str, u16, &str, &str, Check)> = vec![
        (
            "missing access_token",
            200,
            json_type,
            r#"{"token_type":"Bearer","expires_in":3600}"#,
            |e| {
                matches!(
                    e,
                    AuthError::TokenResponseMissingField {
                        field: "access_token"
                    }
                )
            },
        ),
        (
            "expires_in as a string",
            200,
            json_type,
            r#"{"access_token":"tok-SECRET","token_type":"Bearer","expires_in":"3600"}"#,
            |e| matches!(e, AuthError::TokenResponseInvalidField { field: "expires_in", found, .. } if found == "a string"),
        ),
        (
            "negative expires_in",
            200,
            json_type,
            r#"{"access_token":"tok-SECRET","token_type":"Bearer","expires_in":-5}"#,
            |e| {
                matches!(
                    e,
                    AuthError::TokenResponseInvalidField {
                        field: "expires_in",
                        ..
                    }
                )
            },
        ),
        (
            "access_token as a number",
            200,
            json_type,
            r#"{"access_token":12345,"token_type":"Bearer"}"#,
            |e| {
                matches!(
                    e,
                    AuthError::TokenResponseInvalidField {
                        field: "access_token",
                        ..
                    }
                )
            },
        ),
        (
            "not JSON",
            200,
            json_type,
            "access_token=tok-SECRET&token_type=bearer",
            |e| matches!(e, AuthError::TokenResponseNotJson { status: 200, .. }),
        ),
        (
            "an HTML page",
            200,
            "text/html; charset=utf-8",
            "<html><body>Sign in</body></html>",
            |e| matches!(e, AuthError::TokenResponseNotJson { status: 200, content_type: Some(ct) } if ct.starts_with("text/html")),
        ),
        ("a JSON array", 200, json_type, "[]", |e| {
            matches!(
                e,
                AuthError::TokenResponseInvalidField {
                    field: "(body)",
                    ..
                }
            )
        }),
        (
            "an OAuth error",
            400,
            json_type,
            r#"{"error":"invalid_grant","error_description":"code expired"}"#,
            |e| matches!(e, AuthError::OAuth { status: 400, error, description: Some(d), .. } if error == "invalid_grant" && d == "code expired"),
        ),
        (
            "an unknown OAuth error code",
            401,
            json_type,
            r#"{"error":"account_locked"}"#,
            |e| matches!(e, AuthError::OAuth { status: 401, error, .. } if error == "account_locked"),
        ),
        (
            "an OAuth error with 200",
            200,
            json_type,
            r#"{"error":"invalid_client"}"#,
            |e| matches!(e, AuthError::OAuth { status: 200, error, .. } if error == "invalid_client"),
        ),
        (
            "a proxy error page",
            502,
            "text/html",
            "<h1>Bad Gateway</h1>",
            |e| matches!(e, AuthError::TokenEndpointStatus { status: 502, .. }),
        ),
        (
            "a MAC token",
            200,
            json_type,
            r#"{"access_token":"tok-SECRET","token_type":"mac"}"#,
            |e| matches!(e, AuthError::UnsupportedTokenType { token_type } if token_type == "mac"),
        ),
        (
            "a token with a space",
            200,
            json_type,
            r#"{"access_token":"tok SECRET","token_type":"bearer"}"#,
            |e| {
                matches!(
                    e,
                    AuthError::TokenResponseInvalidField {
                        field: "access_token",
                        ..
                    }
                )
            },
        ),
    ];
    let clock = ManualClock::new(start_time());
    for (name, status, content_type, body, check) in cases {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/oauth/token"))
            .respond_with(ResponseTemplate::new(status).set_body_raw(body, content_type))
            .expect(1)
            .mount(&server)
            .await;
        let auth = authenticator(
            OAuth2::client_credentials("cli", CLIENT_SECRET, token_url(&server)),
            &clock,
        );
        let error = auth.credential().await.expect_err(name);
        // A transient failure (the 502) comes wrapped with the number of attempts.
        let error = match &*error {
            AuthError::GaveUp { last, .. } => &**last,
            other => other,
        };
        assert!(check(error), "{name}: got {error:?}");
        let shown = format!("{error} {error:?}");
        for secret in ["tok-SECRET", "tok SECRET", CLIENT_SECRET] {
            assert!(!shown.contains(secret), "{name}: {shown}");
        }
    }
}

#[tokio::test]
async fn a_closed_token_endpoint_is_reported_as_unreachable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let clock = ManualClock::new(start_time());
    let auth = authenticator(
        OAuth2::client_credentials(
            "cli",
            CLIENT_SECRET,
            format!("http://{address}/oauth/token"),
        ),
        &clock,
    );
    let error = auth.credential().await.unwrap_err();
    assert!(error.is_unreachable(), "{error:?}");
    assert!(std::error::Error::source(&error).is_some());
    assert!(!format!("{error} {error:?}").contains(CLIENT_SECRET));
}

#[tokio::test]
async fn configuration_errors_are_reported_when_the_authenticator_is_built() {
    let clock = ManualClock::new(start_time());
    let build = |oauth: OAuth2| Authenticator::new(oauth.into(), runtime(&clock));
    let insecure = build(OAuth2::client_credentials(
        "cli",
        CLIENT_SECRET,
        "http://auth.example.com/token",
    ));
    assert!(matches!(
        insecure,
        Err(AuthError::InsecureUrl {
            role: UrlRole::TokenUrl
        })
    ));
    assert!(
        build(
            OAuth2::client_credentials("cli", CLIENT_SECRET, "http://auth.example.com/token")
                .allow_insecure_http(true)
        )
        .is_ok()
    );
    assert!(matches!(
        build(OAuth2::client_credentials(
            " ",
            CLIENT_SECRET,
            "https://a.example/token"
        )),
        Err(AuthError::EmptyClientId)
    ));
    assert!(matches!(
        build(OAuth2::client_credentials(
            "cli",
            CLIENT_SECRET,
            "not a url"
        )),
        Err(AuthError::InvalidUrl { .. })
    ));
}

// 6. Expiry and skew on a manual clock.
#[tokio::test]
async fn tokens_are_renewed_skew_before_expiry() {
    let server = MockServer::start().await;
    let issued = Arc::new(AtomicUsize::new(0));
    let counter = issued.clone();
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(move |request: &Request| {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            let expires_in: u64 = if form(request).get("scope").map(String::as_str) == Some("short")
            {
                20
            } else {
                3600
            };
            ResponseTemplate::new(200).set_body_json(token_body(
                &format!("at-{n}"),
                None,
                expires_in,
            ))
        })
        .mount(&server)
        .await;
    let clock = ManualClock::new(start_time());

    // Default skew, 30 s: fresh until 3570 s.
    let auth = authenticator(
        OAuth2::client_credentials("cli", CLIENT_SECRET, token_url(&server)),
        &clock,
    );
    assert_eq!(bearer(&auth).await.0, "Bearer at-1");
    clock.advance(Duration::from_secs(3569));
    assert_eq!(bearer(&auth).await.0, "Bearer at-1");
    assert_eq!(issued.load(Ordering::SeqCst), 1);
    clock.advance(Duration::from_secs(1));
    assert_eq!(bearer(&auth).await.0, "Bearer at-2");
    assert_eq!(issued.load(Ordering::SeqCst), 2);

    // A five-minute skew.
    let clock = ManualClock::new(start_time());
    let auth = authenticator(
        OAuth2::client_credentials("cli", CLIENT_SECRET, token_url(&server))
            .refresh_skew(Duration::from_secs(300)),
        &clock,
    );
    assert_eq!(bearer(&auth).await.0, "Bearer at-3");
    clock.advance(Duration::from_secs(3299));
    assert_eq!(bearer(&auth).await.0, "Bearer at-3");
    clock.advance(Duration::from_secs(1));
    assert_eq!(bearer(&auth).await.0, "Bearer at-4");

    // A token living 20 s with a 30 s skew is kept for half its life, not renewed every time.
    let clock = ManualClock::new(start_time());
    let auth = authenticator(
        OAuth2::client_credentials("cli", CLIENT_SECRET, token_url(&server)).scopes(["short"]),
        &clock,
    );
    assert_eq!(bearer(&auth).await.0, "Bearer at-5");
    assert_eq!(bearer(&auth).await.0, "Bearer at-5");
    clock.advance(Duration::from_secs(9));
    assert_eq!(bearer(&auth).await.0, "Bearer at-5");
    clock.advance(Duration::from_secs(1));
    assert_eq!(bearer(&auth).await.0, "Bearer at-6");
    assert_eq!(issued.load(Ordering::SeqCst), 6);
}

#[tokio::test]
async fn clones_share_one_token_cache() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("at-1", None, 3600)))
        .expect(1)
        .mount(&server)
        .await;
    let clock = ManualClock::new(start_time());
    let auth = authenticator(
        OAuth2::client_credentials("cli", CLIENT_SECRET, token_url(&server)),
        &clock,
    );
    let clone = auth.clone();
    assert_eq!(bearer(&auth).await, bearer(&clone).await);
    server.verify().await;
}

#[tokio::test]
async fn client_credentials_send_scopes_and_basic_client_authentication() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("at-1", None, 3600)))
        .expect(1)
        .mount(&server)
        .await;
    let clock = ManualClock::new(start_time());
    let auth = authenticator(
        OAuth2::client_credentials("cli", CLIENT_SECRET, token_url(&server))
            .scopes(["campaigns:read", "campaigns:write"]),
        &clock,
    );
    bearer(&auth).await;
    let requests = token_requests(&server).await;
    let form = form(&requests[0]);
    assert_eq!(form["grant_type"], "client_credentials");
    assert_eq!(form["scope"], "campaigns:read campaigns:write");
    let basic = requests[0].headers[http::header::AUTHORIZATION]
        .to_str()
        .unwrap()
        .to_owned();
    use base64::Engine as _;
    let expected = base64::engine::general_purpose::STANDARD.encode(format!("cli:{CLIENT_SECRET}"));
    assert_eq!(basic, format!("Basic {expected}"));
}

#[tokio::test]
async fn debug_output_of_the_runtime_types_shows_no_secret() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body(
            "at-SECRET",
            Some("rt-SECRET"),
            3600,
        )))
        .mount(&server)
        .await;
    let clock = ManualClock::new(start_time());
    let auth = authenticator(
        OAuth2::client_credentials("cli", CLIENT_SECRET, token_url(&server)),
        &clock,
    );
    let applied = auth.credential().await.unwrap().unwrap();
    let shown = format!("{auth:?} {applied:?}");
    for secret in ["at-SECRET", "rt-SECRET", CLIENT_SECRET] {
        assert!(!shown.contains(secret), "{shown}");
    }
}

#[test]
fn token_requests_are_logged_without_tokens() {
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tracing::subscriber::with_default(subscriber, || {
        // Callsite interest is cached process-wide: a sibling test thread without a subscriber
        // that reached the token-request event first may have cached it as "never". Rebuilding
        // the cache while this subscriber is live makes the capture independent of test order.
        tracing::callsite::rebuild_interest_cache();
        runtime.block_on(async {
            let server = MockServer::start().await;
            Mock::given(method("POST"))
                .and(path("/oauth/token"))
                .respond_with(ResponseTemplate::new(200).set_body_json(token_body(
                    "at-SECRET",
                    Some("rt-SECRET"),
                    3600,
                )))
                .mount(&server)
                .await;
            let clock = ManualClock::new(start_time());
            let auth = authenticator(
                OAuth2::client_credentials("cli", CLIENT_SECRET, token_url(&server)),
                &clock,
            );
            bearer(&auth).await;
        })
    });
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let event = logs
        .lines()
        .find(|line| line.contains("token request"))
        .unwrap_or_else(|| panic!("no token request event in {logs}"));
    assert!(
        event.contains("grant_type=\"client_credentials\""),
        "{event}"
    );
    assert!(event.contains("outcome=\"ok\""), "{event}");
    assert!(event.contains("expires_in=3600"), "{event}");
    for secret in ["at-SECRET", "rt-SECRET", CLIENT_SECRET] {
        assert!(!logs.contains(secret), "{logs}");
    }
}
