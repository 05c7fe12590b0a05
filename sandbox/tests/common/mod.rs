//! Shared helpers of the sandbox's HTTP tests.
#![allow(dead_code)]

use marketing_api_sandbox::Sandbox;
use reqwest::{Client, Method, RequestBuilder, Response};
use serde_json::Value;

/// A plain reqwest client (the ring provider installed once).
pub fn client() -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder().build().expect("a reqwest client builds")
}

/// A client bound to a sandbox and one API key.
pub struct Api {
    pub http: Client,
    pub base: String,
    pub key: String,
}

impl Api {
    pub fn new(sandbox: &Sandbox) -> Self {
        Api {
            http: client(),
            base: sandbox.base_url(),
            key: sandbox.api_key().to_owned(),
        }
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{}", self.base, path))
            .header("x-api-key", &self.key)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path)
            .send()
            .await
            .expect("GET is answered")
    }

    pub async fn post(&self, path: &str, body: Value) -> Response {
        self.request(Method::POST, path)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("POST is answered")
    }

    pub async fn put(&self, path: &str, body: Value) -> Response {
        self.request(Method::PUT, path)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("PUT is answered")
    }

    pub async fn patch(&self, path: &str, body: Value) -> Response {
        self.request(Method::PATCH, path)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("PATCH is answered")
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.request(Method::DELETE, path)
            .send()
            .await
            .expect("DELETE is answered")
    }
}

/// Asserts the status and returns the JSON body.
pub async fn json(response: Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let text = response.text().await.expect("a body");
    assert_eq!(actual, status, "unexpected status; body: {text}");
    serde_json::from_str(&text).expect("a JSON body")
}

/// Asserts an error envelope with `status`, `type`, `code` and `param`.
pub async fn error(
    response: Response,
    status: u16,
    kind: &str,
    code: &str,
    param: Option<&str>,
) -> Value {
    let request_id = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .expect("X-Request-Id on an error");
    let body = json(response, status).await;
    let error = &body["error"];
    assert_eq!(error["type"], kind, "{body}");
    assert_eq!(error["code"], code, "{body}");
    assert_eq!(error["request_id"], request_id.as_str(), "{body}");
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    match param {
        Some(param) => assert_eq!(error["param"], param, "{body}"),
        None => assert!(error["param"].is_null(), "{body}"),
    }
    body
}
