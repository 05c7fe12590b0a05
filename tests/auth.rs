//! Authentication through the public API: credential validation, the authorization code flow
//! with PKCE against a token endpoint on 127.0.0.1 that checks the S256 challenge, and secrets
//! kept out of every `Debug` and `Display`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use marketing_api::auth::{
    ApiKey, Auth, AuthError, AuthorizationCodeFlow, BearerToken, CredentialProblem,
    InMemoryTokenStore, OAuth2, PendingAuthorization, Secret, TokenSet, TokenStore, UrlRole,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const CLIENT_SECRET: &str = "client-secret-DO-NOT-LOG";
const REDIRECT_URI: &str = "http://127.0.0.1:7777/callback";

/// A client without credentials, for the code exchange: its HTTP stack carries the token
/// request (the base URL is not used by it).
fn login_client() -> marketing_api::Client {
    marketing_api::Client::builder("http://127.0.0.1:9")
        .build()
        .expect("client")
}

fn query(url: &url::Url) -> HashMap<String, String> {
    url.query_pairs().into_owned().collect()
}

/// What the authorization server remembers about a code it issued.
#[derive(Clone)]
struct IssuedCode {
    client_id: String,
    redirect_uri: String,
    code_challenge: String,
}

/// A token endpoint that redeems authorization codes the way RFC 7636 §4.6 says: the code is
/// accepted only with the verifier whose BASE64URL(SHA256(verifier)) equals the challenge sent
/// with the authorize request, and only once.
#[derive(Clone, Default)]
struct PkceTokenEndpoint {
    codes: Arc<Mutex<HashMap<String, IssuedCode>>>,
    verified: Arc<Mutex<Vec<String>>>,
}

impl PkceTokenEndpoint {
    /// What the authorize endpoint does when the user approves: remember the challenge, issue a
    /// code.
    fn approve(&self, authorize_url: &url::Url, code: &str) {
        let query = query(authorize_url);
        assert_eq!(query["code_challenge_method"], "S256");
        self.codes.lock().unwrap().insert(
            code.to_owned(),
            IssuedCode {
                client_id: query["client_id"].clone(),
                redirect_uri: query["redirect_uri"].clone(),
                code_challenge: query["code_challenge"].clone(),
            },
        );
    }
}

impl Respond for PkceTokenEndpoint {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let form: HashMap<String, String> = url::form_urlencoded::parse(&request.body)
            .into_owned()
            .collect();
        let invalid_grant = |why: &str| {
            ResponseTemplate::new(400)
                .set_body_json(json!({"error": "invalid_grant", "error_description": why}))
        };
        if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
            return ResponseTemplate::new(400)
                .set_body_json(json!({"error": "unsupported_grant_type"}));
        }
        let Some(issued) = form
            .get("code")
            .and_then(|code| self.codes.lock().unwrap().remove(code))
        else {
            return invalid_grant("unknown or used code");
        };
        if client_id(request, &form).as_ref() != Some(&issued.client_id)
            || form.get("redirect_uri") != Some(&issued.redirect_uri)
        {
            return invalid_grant("client or redirect_uri mismatch");
        }
        let Some(verifier) = form.get("code_verifier") else {
            return invalid_grant("code_verifier missing");
        };
        let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(Sha256::digest(verifier.as_bytes()));
        if computed != issued.code_challenge {
            return invalid_grant("PKCE verification failed");
        }
        self.verified.lock().unwrap().push(computed);
        ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "at-from-code-SECRET",
            "token_type": "Bearer",
            "expires_in": 3600,
            "refresh_token": "rt-from-code-SECRET",
            "scope": "contacts:read campaigns:read",
        }))
    }
}

/// The client id from HTTP Basic client authentication (RFC 6749 §2.3.1, which url-encodes id
/// and secret first) or, for public clients, from the form.
fn client_id(request: &Request, form: &HashMap<String, String>) -> Option<String> {
    let Some(header) = request.headers.get("authorization") else {
        return form.get("client_id").cloned();
    };
    let encoded = header.to_str().ok()?.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let decode = |s: &str| -> String {
        url::form_urlencoded::parse(format!("v={s}").as_bytes())
            .map(|(_, v)| v.into_owned())
            .next()
            .unwrap_or_default()
    };
    (decode(secret) == CLIENT_SECRET).then(|| decode(id))
}

async fn token_server() -> (MockServer, PkceTokenEndpoint) {
    let server = MockServer::start().await;
    let endpoint = PkceTokenEndpoint::default();
    Mock::given(method("POST"))
        .and(path("/v1/oauth/token"))
        .respond_with(endpoint.clone())
        .mount(&server)
        .await;
    (server, endpoint)
}

fn flow(server: &MockServer) -> AuthorizationCodeFlow {
    AuthorizationCodeFlow::new(
        "cli_web",
        Some(Secret::new(CLIENT_SECRET)),
        format!("{}/v1/oauth/authorize", server.uri()),
        format!("{}/v1/oauth/token", server.uri()),
        REDIRECT_URI,
    )
    .scopes(["contacts:read", "campaigns:read"])
}

#[tokio::test]
async fn authorization_code_with_pkce_runs_end_to_end() {
    let (server, endpoint) = token_server().await;
    let flow = flow(&server);

    let (authorize_url, pending) = flow.authorize_url().unwrap();
    let params = query(&authorize_url);
    assert_eq!(authorize_url.path(), "/v1/oauth/authorize");
    assert_eq!(params["response_type"], "code");
    assert_eq!(params["client_id"], "cli_web");
    assert_eq!(params["redirect_uri"], REDIRECT_URI);
    assert_eq!(params["scope"], "contacts:read campaigns:read");
    assert_eq!(params["code_challenge_method"], "S256");
    assert_eq!(params["state"], pending.state().expose_secret());
    // 32 random bytes, base64url: the challenge never equals the verifier (S256, not plain).
    assert_eq!(params["code_challenge"].len(), 43);

    // The web app stashes the pending authorization in its session and gets it back later.
    let stashed = serde_json::to_string(&pending).unwrap();
    let pending: PendingAuthorization = serde_json::from_str(&stashed).unwrap();

    endpoint.approve(&authorize_url, "code-123");
    let oauth = flow
        .exchange(&login_client(), "code-123", &params["state"], pending)
        .await
        .expect("code exchange");

    assert_eq!(
        endpoint.verified.lock().unwrap().as_slice(),
        [params["code_challenge"].clone()],
        "the token endpoint verified the S256 challenge"
    );
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let form: HashMap<String, String> = url::form_urlencoded::parse(&requests[0].body)
        .into_owned()
        .collect();
    assert_eq!(form["grant_type"], "authorization_code");
    assert!(
        !form.contains_key("client_secret"),
        "the secret goes in Basic auth"
    );
    assert!(requests[0].headers.contains_key("authorization"));

    let shown = format!("{oauth:?} {:?}", Auth::from(oauth.clone()));
    for secret in ["at-from-code-SECRET", "rt-from-code-SECRET", CLIENT_SECRET] {
        assert!(!shown.contains(secret), "{shown}");
    }
}

#[tokio::test]
async fn a_wrong_state_is_refused_before_the_code_is_sent() {
    let (server, endpoint) = token_server().await;
    let flow = flow(&server);
    let (authorize_url, pending) = flow.authorize_url().unwrap();
    endpoint.approve(&authorize_url, "code-123");

    let error = flow
        .exchange(&login_client(), "code-123", "forged-state", pending)
        .await
        .unwrap_err();
    assert!(matches!(error, AuthError::StateMismatch), "{error:?}");
    assert!(error.to_string().contains("start the authorization again"));
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_verifier_from_another_authorization_fails_the_pkce_check() {
    let (server, endpoint) = token_server().await;
    let flow = flow(&server);
    let (authorize_url, _pending) = flow.authorize_url().unwrap();
    let (other_url, other_pending) = flow.authorize_url().unwrap();
    assert_ne!(
        query(&authorize_url)["code_challenge"],
        query(&other_url)["code_challenge"]
    );
    assert_ne!(query(&authorize_url)["state"], query(&other_url)["state"]);
    endpoint.approve(&authorize_url, "code-123");

    // An attacker who intercepted the code has their own pending authorization, not ours.
    let state = query(&other_url)["state"].clone();
    let error = flow
        .exchange(&login_client(), "code-123", &state, other_pending)
        .await
        .unwrap_err();
    assert!(error.is_invalid_grant(), "{error:?}");
    assert!(
        matches!(&error, AuthError::OAuth { description: Some(d), .. } if d == "PKCE verification failed")
    );
    assert!(endpoint.verified.lock().unwrap().is_empty());
}

#[tokio::test]
async fn an_unreachable_token_endpoint_is_a_typed_error_of_the_exchange() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let flow = AuthorizationCodeFlow::new(
        "cli_web",
        Some(Secret::new(CLIENT_SECRET)),
        format!("http://{address}/v1/oauth/authorize"),
        format!("http://{address}/v1/oauth/token"),
        REDIRECT_URI,
    );
    let (url, pending) = flow.authorize_url().unwrap();
    let state = query(&url)["state"].clone();
    let error = flow
        .exchange(&login_client(), "code", &state, pending)
        .await
        .unwrap_err();
    assert!(error.is_unreachable(), "{error:?}");
}

#[test]
fn authorize_urls_must_be_https_unless_loopback_or_allowed() {
    let flow = AuthorizationCodeFlow::new(
        "cli",
        None,
        "http://auth.example.com/authorize",
        "https://auth.example.com/token",
        "https://app.example.com/cb",
    );
    assert!(matches!(
        flow.authorize_url(),
        Err(AuthError::InsecureUrl {
            role: UrlRole::AuthorizeUrl
        })
    ));
    assert!(flow.allow_insecure_http(true).authorize_url().is_ok());

    let bad_redirect = AuthorizationCodeFlow::new(
        "cli",
        None,
        "https://auth.example.com/authorize",
        "https://auth.example.com/token",
        "/relative/callback",
    );
    assert!(matches!(
        bad_redirect.authorize_url(),
        Err(AuthError::InvalidUrl {
            role: UrlRole::RedirectUri,
            ..
        })
    ));
}

#[test]
fn api_keys_and_bearer_tokens_are_checked() {
    let cases = [
        ("", CredentialProblem::Empty),
        ("   ", CredentialProblem::Empty),
        ("mk_live_123\n", CredentialProblem::Whitespace),
        ("mk live", CredentialProblem::Whitespace),
        ("mk\u{7f}123", CredentialProblem::ControlCharacter),
        ("mk\u{0}123", CredentialProblem::ControlCharacter),
        ("mk_lïve", CredentialProblem::NonAscii),
    ];
    for (value, expected) in cases {
        match ApiKey::new(value) {
            Err(AuthError::InvalidApiKey { problem }) => assert_eq!(problem, expected, "{value:?}"),
            other => panic!("{value:?}: {other:?}"),
        }
        match BearerToken::new(value) {
            Err(AuthError::InvalidBearerToken { problem }) => {
                assert_eq!(problem, expected, "{value:?}")
            }
            other => panic!("{value:?}: {other:?}"),
        }
    }
    let error = ApiKey::new("sk_live_SECRET with space").unwrap_err();
    assert!(error.to_string().contains("whitespace"), "{error}");
    assert!(!format!("{error} {error:?}").contains("sk_live_SECRET"));
    assert!(ApiKey::new("mk_live_51H8xyz").is_ok());
    assert!(BearerToken::new("eyJhbGciOiJIUzI1NiJ9.e30.sig-_=").is_ok());
}

#[tokio::test]
async fn no_configuration_type_shows_a_secret() {
    let secrets = [
        "API-KEY-SECRET",
        "BEARER-SECRET",
        CLIENT_SECRET,
        "REFRESH-SECRET",
        "ACCESS-SECRET",
    ];
    let key = ApiKey::new("API-KEY-SECRET").unwrap();
    let bearer = BearerToken::new("BEARER-SECRET").unwrap();
    let client_credentials =
        OAuth2::client_credentials("cli", CLIENT_SECRET, "https://auth.example.com/token")
            .scopes(["campaigns:write"]);
    let refresh = OAuth2::refresh_token(
        "cli",
        Some(Secret::new(CLIENT_SECRET)),
        "https://auth.example.com/token",
        "REFRESH-SECRET",
    );
    let tokens = TokenSet::new("ACCESS-SECRET").with_refresh_token("REFRESH-SECRET");
    let store = InMemoryTokenStore::new();
    store.save(&tokens).await.unwrap();
    let stored_refresh = OAuth2::refresh_token(
        "cli",
        None,
        "https://auth.example.com/token",
        "REFRESH-SECRET",
    )
    .token_store(Arc::new(store));
    let flow = AuthorizationCodeFlow::new(
        "cli",
        Some(Secret::new(CLIENT_SECRET)),
        "https://auth.example.com/authorize",
        "https://auth.example.com/token",
        "https://app.example.com/cb",
    );
    let (_, pending) = flow.authorize_url().unwrap();
    let pending_secrets: Vec<String> = serde_json::to_value(&pending)
        .unwrap()
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(pending_secrets.len(), 2);

    let shown = [
        format!("{key:?}"),
        format!("{bearer:?}"),
        format!("{client_credentials:?}"),
        format!("{refresh:?}"),
        format!("{stored_refresh:?}"),
        format!("{tokens:?}"),
        format!("{flow:?}"),
        format!("{pending:?}"),
        format!("{:?}", Auth::from(key.clone())),
        format!("{:?}", Auth::from(bearer.clone())),
        format!("{:?}", Auth::from(refresh.clone())),
        format!("{:?}", Auth::none()),
        format!("{:?} {}", tokens.access_token(), tokens.access_token()),
    ]
    .join("\n");
    for secret in secrets
        .iter()
        .copied()
        .chain(pending_secrets.iter().map(String::as_str))
    {
        assert!(!shown.contains(secret), "{secret} leaked in:\n{shown}");
    }
    assert!(shown.contains("[redacted]"));
    assert!(
        shown.contains("cli"),
        "non-secret configuration stays visible"
    );
}

#[tokio::test]
async fn a_public_client_authenticates_with_pkce_alone() {
    let (server, endpoint) = token_server().await;
    let flow = AuthorizationCodeFlow::new(
        "cli_mobile",
        None,
        format!("{}/v1/oauth/authorize", server.uri()),
        format!("{}/v1/oauth/token", server.uri()),
        REDIRECT_URI,
    );
    let (authorize_url, pending) = flow.authorize_url().unwrap();
    endpoint.approve(&authorize_url, "code-public");
    let state = query(&authorize_url)["state"].clone();
    let oauth = flow
        .exchange(&login_client(), "code-public", &state, pending)
        .await
        .expect("public client exchange");
    assert!(format!("{oauth:?}").contains("cli_mobile"));
    let requests = server.received_requests().await.unwrap();
    assert!(!requests[0].headers.contains_key("authorization"));
    assert_eq!(endpoint.verified.lock().unwrap().len(), 1);
}
