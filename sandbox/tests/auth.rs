//! Credentials over HTTP: API keys, OAuth grants, scopes, expiry, refresh rotation, PKCE.

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{client, error};
use marketing_api_sandbox::Sandbox;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::time::Duration;

async fn token_request(sandbox: &Sandbox, form: &[(&str, &str)]) -> reqwest::Response {
    let body = form
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    client()
        .post(sandbox.token_url())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("the token endpoint answers")
}

fn urlencode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn get_with_token(sandbox: &Sandbox, token: &str, path: &str) -> reqwest::Response {
    client()
        .get(format!("{}{path}", sandbox.base_url()))
        .bearer_auth(token)
        .send()
        .await
        .expect("answered")
}

#[tokio::test]
async fn missing_and_wrong_credentials_are_401() {
    let sandbox = Sandbox::start().await.expect("sandbox starts");
    let url = format!("{}/campaigns", sandbox.base_url());
    let none = client().get(&url).send().await.unwrap();
    assert!(none.headers().contains_key("ratelimit"));
    error(
        none,
        401,
        "authentication_error",
        "missing_credentials",
        None,
    )
    .await;
    let wrong = client()
        .get(&url)
        .header("x-api-key", "sk_test_wrong")
        .send()
        .await
        .unwrap();
    error(wrong, 401, "authentication_error", "invalid_api_key", None).await;
    let bogus = client()
        .get(&url)
        .bearer_auth("at_bogus")
        .send()
        .await
        .unwrap();
    assert!(
        bogus.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    error(bogus, 401, "authentication_error", "invalid_token", None).await;
    let premium = client()
        .get(&url)
        .header("x-api-key", sandbox.premium_api_key())
        .send()
        .await
        .unwrap();
    assert_eq!(premium.headers()["x-ratelimit-limit"], "1000");
    assert_eq!(premium.status(), 200);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn client_credentials_scopes_and_expiry() {
    let sandbox = Sandbox::builder()
        .token_ttl(Duration::from_secs(1))
        .start()
        .await
        .expect("sandbox starts");
    let (id, secret) = (
        sandbox.client_id().to_owned(),
        sandbox.client_secret().to_owned(),
    );

    let bad = token_request(
        &sandbox,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", "nope"),
        ],
    )
    .await;
    assert_eq!(bad.status(), 401);
    assert_eq!(bad.json_value().await["error"], "invalid_client");
    let scope = token_request(
        &sandbox,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("scope", "campaigns:fly"),
        ],
    )
    .await;
    assert_eq!(scope.status(), 400);
    assert_eq!(scope.json_value().await["error"], "invalid_scope");
    let grant = token_request(
        &sandbox,
        &[
            ("grant_type", "password"),
            ("client_id", &id),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_eq!(grant.json_value().await["error"], "unsupported_grant_type");

    // HTTP Basic client authentication works too.
    let basic = client()
        .post(sandbox.token_url())
        .basic_auth(&id, Some(&secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&scope=campaigns%3Aread")
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 200);
    assert_eq!(basic.headers()["cache-control"], "no-store");
    let token: Value = basic.json_value().await;
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["expires_in"], 1);
    assert_eq!(token["scope"], "campaigns:read");
    assert!(token.get("refresh_token").is_none());
    let access = token["access_token"].as_str().unwrap().to_owned();

    assert_eq!(
        get_with_token(&sandbox, &access, "/campaigns")
            .await
            .status(),
        200
    );
    let forbidden = get_with_token(&sandbox, &access, "/contacts").await;
    error(
        forbidden,
        403,
        "permission_error",
        "insufficient_scope",
        None,
    )
    .await;

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let expired = get_with_token(&sandbox, &access, "/campaigns").await;
    let challenge = expired.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.starts_with("Bearer") && challenge.contains("error=\"invalid_token\""),
        "{challenge}"
    );
    error(expired, 401, "authentication_error", "token_expired", None).await;
    sandbox.shutdown().await;
}

#[tokio::test]
async fn authorization_code_with_pkce_and_rotating_refresh_tokens() {
    let sandbox = Sandbox::start().await.expect("sandbox starts");
    let (id, secret) = (
        sandbox.client_id().to_owned(),
        sandbox.client_secret().to_owned(),
    );
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-verifier";
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let redirect_uri = "http://127.0.0.1:9/callback";

    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let authorize_url = |state: &str| {
        let query = [
            ("response_type", "code"),
            ("client_id", id.as_str()),
            ("redirect_uri", redirect_uri),
            ("scope", "contacts:read campaigns:read"),
            ("state", state),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ]
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
        format!("{}/oauth/authorize?{query}", sandbox.base_url())
    };
    let authorize = |state: &'static str| no_redirects.get(authorize_url(state)).send();
    let response = authorize("xyz").await.unwrap();
    assert_eq!(response.status(), 302);
    let location = reqwest::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    assert!(location.as_str().starts_with(redirect_uri));
    let pairs: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(pairs["state"], "xyz");
    let code = pairs["code"].clone();

    // Wrong verifier: refused, and the code is spent.
    let wrong = token_request(
        &sandbox,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("code", &code),
            ("redirect_uri", redirect_uri),
            (
                "code_verifier",
                "wrong-verifier-wrong-verifier-wrong-verifier-000",
            ),
        ],
    )
    .await;
    assert_eq!(wrong.json_value().await["error"], "invalid_grant");

    let response = authorize("abc").await.unwrap();
    let location = reqwest::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let exchange = |code: String, redirect: &'static str| {
        let (id, secret) = (id.clone(), secret.clone());
        let sandbox = &sandbox;
        async move {
            token_request(
                sandbox,
                &[
                    ("grant_type", "authorization_code"),
                    ("client_id", &id),
                    ("client_secret", &secret),
                    ("code", &code),
                    ("redirect_uri", redirect),
                    ("code_verifier", verifier),
                ],
            )
            .await
        }
    };
    let mismatch = exchange(code.clone(), "http://127.0.0.1:9/other").await;
    assert_eq!(mismatch.json_value().await["error"], "invalid_grant");
    let response = authorize("def").await.unwrap();
    let location = reqwest::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let tokens = exchange(code.clone(), redirect_uri).await;
    assert_eq!(tokens.status(), 200);
    let tokens = tokens.json_value().await;
    assert_eq!(tokens["scope"], "campaigns:read contacts:read");
    let first_refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let again = exchange(code, redirect_uri).await;
    assert_eq!(
        again.json_value().await["error"],
        "invalid_grant",
        "codes are single-use"
    );

    // Refresh rotates.
    let refresh = |token: String| {
        let (id, secret) = (id.clone(), secret.clone());
        let sandbox = &sandbox;
        async move {
            token_request(
                sandbox,
                &[
                    ("grant_type", "refresh_token"),
                    ("client_id", &id),
                    ("client_secret", &secret),
                    ("refresh_token", &token),
                ],
            )
            .await
            .json_value()
            .await
        }
    };
    let second = refresh(first_refresh.clone()).await;
    let second_refresh = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second_refresh, first_refresh);
    let second_access = second["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        get_with_token(&sandbox, &second_access, "/contacts")
            .await
            .status(),
        200
    );

    // Reusing the old refresh token revokes the whole family.
    let reuse = refresh(first_refresh).await;
    assert_eq!(reuse["error"], "invalid_grant");
    let revoked = refresh(second_refresh).await;
    assert_eq!(revoked["error"], "invalid_grant");
    let access_after = get_with_token(&sandbox, &second_access, "/contacts").await;
    error(
        access_after,
        401,
        "authentication_error",
        "token_revoked",
        None,
    )
    .await;
    sandbox.shutdown().await;
}

trait JsonValue {
    async fn json_value(self) -> Value;
}

impl JsonValue for reqwest::Response {
    async fn json_value(self) -> Value {
        serde_json::from_str(&self.text().await.expect("a body")).expect("a JSON body")
    }
}
