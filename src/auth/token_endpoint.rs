//! Requests to the OAuth2 token endpoint: the `oauth2` crate builds them, our reqwest client
//! sends them, and the answer becomes a [`TokenSet`] or a precise [`AuthError`].
//!
//! The `oauth2` crate reports a malformed answer as one generic parse error (whose message may
//! quote the body, tokens included). So the HTTP adapter keeps a copy of the raw answer and, when
//! the crate refuses it, [`classify_failed_response`] looks at the raw answer itself to say what
//! exactly is wrong, without ever quoting a value.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use oauth2::basic::{BasicClient, BasicErrorResponse, BasicTokenResponse, BasicTokenType};
use oauth2::{
    AsyncHttpClient, AuthorizationCode, ClientId, ClientSecret, HttpRequest, HttpResponse,
    PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use serde_json::Value;
use url::Url;

use super::error::{AuthError, JsonKind};
use super::static_credentials::check_header_credential;
use super::{Secret, TokenSet};

/// Token responses are a few hundred bytes; anything past this is not a token endpoint.
const MAX_TOKEN_RESPONSE_BYTES: usize = 64 * 1024;

/// How long one token request may take. Every API request waiting for a token waits on this
/// one, so a hung token endpoint must not hang the application.
const TOKEN_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Who is asking the token endpoint: the client's identity and where the endpoint is.
#[derive(Clone)]
pub(crate) struct TokenEndpoint {
    pub(crate) client_id: String,
    pub(crate) client_secret: Option<Secret>,
    pub(crate) token_url: Url,
}

/// What is being exchanged for tokens.
pub(crate) enum Grant<'a> {
    ClientCredentials {
        scopes: &'a [String],
    },
    RefreshToken(&'a Secret),
    AuthorizationCode {
        code: &'a str,
        pkce_verifier: &'a Secret,
        redirect_uri: &'a Url,
    },
}

impl Grant<'_> {
    fn grant_type(&self) -> &'static str {
        match self {
            Self::ClientCredentials { .. } => "client_credentials",
            Self::RefreshToken(_) => "refresh_token",
            Self::AuthorizationCode { .. } => "authorization_code",
        }
    }
}

/// Performs one token request. `now` is read before the request, so the computed expiry errs
/// on the early side.
pub(crate) async fn request_token(
    http: &reqwest::Client,
    endpoint: &TokenEndpoint,
    grant: Grant<'_>,
    now: SystemTime,
) -> Result<TokenSet, AuthError> {
    let grant_type = grant.grant_type();
    let result = send_grant(http, endpoint, grant, now).await;
    match &result {
        Ok(tokens) => tracing::debug!(
            grant_type,
            outcome = "ok",
            expires_in = tokens
                .expires_at()
                .and_then(|at| at.duration_since(now).ok())
                .map(|d| d.as_secs()),
            refresh_token_issued = tokens.refresh_token().is_some(),
            "token request"
        ),
        Err(error) => tracing::debug!(
            grant_type,
            outcome = "error",
            error = %error,
            "token request"
        ),
    }
    result
}

async fn send_grant(
    http: &reqwest::Client,
    endpoint: &TokenEndpoint,
    grant: Grant<'_>,
    now: SystemTime,
) -> Result<TokenSet, AuthError> {
    let mut client = BasicClient::new(ClientId::new(endpoint.client_id.clone()))
        .set_token_uri(TokenUrl::from_url(endpoint.token_url.clone()));
    if let Some(secret) = &endpoint.client_secret {
        client = client.set_client_secret(ClientSecret::new(secret.expose_secret().to_owned()));
    }
    let adapter = ReqwestAdapter::new(http.clone(), now);
    let mut requested_scopes = None;
    let outcome = match grant {
        Grant::ClientCredentials { scopes } => {
            requested_scopes = Some(scopes);
            client
                .exchange_client_credentials()
                .add_scopes(scopes.iter().cloned().map(Scope::new))
                .request_async(&adapter)
                .await
        }
        Grant::RefreshToken(refresh_token) => {
            let refresh_token = RefreshToken::new(refresh_token.expose_secret().to_owned());
            client
                .exchange_refresh_token(&refresh_token)
                .request_async(&adapter)
                .await
        }
        Grant::AuthorizationCode {
            code,
            pkce_verifier,
            redirect_uri,
        } => {
            client
                .set_redirect_uri(RedirectUrl::from_url(redirect_uri.clone()))
                .exchange_code(AuthorizationCode::new(code.to_owned()))
                .set_pkce_verifier(PkceCodeVerifier::new(
                    pkce_verifier.expose_secret().to_owned(),
                ))
                .request_async(&adapter)
                .await
        }
    };
    match outcome {
        Ok(response) => token_set_from(&response, requested_scopes, now),
        Err(error) => Err(explain_failure(error, adapter.take_raw())),
    }
}

fn token_set_from(
    response: &BasicTokenResponse,
    requested_scopes: Option<&[String]>,
    now: SystemTime,
) -> Result<TokenSet, AuthError> {
    match response.token_type() {
        BasicTokenType::Bearer => {}
        other => {
            return Err(AuthError::UnsupportedTokenType {
                token_type: other.as_ref().to_owned(),
            });
        }
    }
    let access_token = response.access_token().secret();
    check_header_credential(access_token).map_err(|problem| {
        AuthError::TokenResponseInvalidField {
            field: "access_token",
            expected: "a token of visible ASCII characters",
            found: format!("a string where {problem}"),
        }
    })?;
    let mut tokens = TokenSet::new(access_token.as_str());
    if let Some(refresh_token) = response.refresh_token() {
        tokens = tokens.with_refresh_token(refresh_token.secret().as_str());
    }
    if let Some(expires_in) = response.expires_in() {
        tokens = tokens.with_expires_at(now + expires_in);
    }
    match (response.scopes(), requested_scopes) {
        (Some(granted), _) => tokens = tokens.with_scopes(granted.iter().map(|s| s.to_string())),
        (None, Some(requested)) if !requested.is_empty() => {
            tokens = tokens.with_scopes(requested.iter().cloned())
        }
        _ => {}
    }
    Ok(tokens)
}

fn explain_failure(
    error: RequestTokenError<TransportFailure, BasicErrorResponse>,
    raw: Option<RawResponse>,
) -> AuthError {
    match (error, raw) {
        (RequestTokenError::Request(TransportFailure::Send(source)), _) => {
            if let Some(reason) = crate::tls::describe_handshake_failure(&source) {
                return AuthError::TokenEndpointTls {
                    reason,
                    source: Box::new(source.without_url()),
                };
            }
            let kind = if source.is_timeout() {
                "timed out"
            } else if source.is_connect() {
                "connection failed"
            } else {
                "request failed"
            };
            AuthError::TokenEndpointUnreachable {
                kind,
                source: Box::new(source.without_url()),
            }
        }
        (RequestTokenError::Request(TransportFailure::TooLarge), _) => {
            AuthError::TokenResponseTooLarge {
                limit: MAX_TOKEN_RESPONSE_BYTES,
            }
        }
        (RequestTokenError::ServerResponse(response), raw) => AuthError::OAuth {
            status: raw.as_ref().map_or(400, |r| r.status),
            error: response.error().as_ref().to_owned(),
            description: response.error_description().cloned(),
            retry_after: raw.and_then(|r| r.retry_after),
        },
        (_, Some(raw)) => classify_failed_response(&raw),
        // The crate refused the request before sending it (it only does so for malformed
        // endpoint configuration, which we validated); nothing secret is in its message.
        (RequestTokenError::Other(message), None) => AuthError::TokenRequest(message),
        (RequestTokenError::Parse(error, _body), None) => {
            AuthError::TokenRequest(format!("unreadable response at `{}`", error.path()))
        }
    }
}

/// Says precisely what is wrong with a token endpoint answer the `oauth2` crate refused, never
/// quoting a value from it.
pub(crate) fn classify_failed_response(raw: &RawResponse) -> AuthError {
    // RFC 6749 §5.1: a token is issued with 200 OK, and only with 200 OK.
    let success = raw.status == 200;
    let declared_not_json = raw
        .content_type
        .as_deref()
        .is_some_and(|ct| !crate::codec::is_json_media_type(ct));
    let parsed = serde_json::from_slice::<Value>(&raw.body);
    let object = match parsed {
        Ok(Value::Object(object)) => object,
        Ok(other) if success && !declared_not_json => {
            return AuthError::TokenResponseInvalidField {
                field: "(body)",
                expected: "a JSON object",
                found: JsonKind::of(&other).to_string(),
            };
        }
        _ if success => {
            return AuthError::TokenResponseNotJson {
                status: raw.status,
                content_type: raw.content_type.clone(),
            };
        }
        _ => {
            return AuthError::TokenEndpointStatus {
                status: raw.status,
                retry_after: raw.retry_after,
            };
        }
    };
    if let Some(Value::String(error)) = object.get("error") {
        return AuthError::OAuth {
            status: raw.status,
            error: error.clone(),
            description: object
                .get("error_description")
                .and_then(Value::as_str)
                .map(str::to_owned),
            retry_after: raw.retry_after,
        };
    }
    if !success {
        return AuthError::TokenEndpointStatus {
            status: raw.status,
            retry_after: raw.retry_after,
        };
    }
    if declared_not_json {
        return AuthError::TokenResponseNotJson {
            status: raw.status,
            content_type: raw.content_type.clone(),
        };
    }
    if let Err(error) = check_token_fields(&object) {
        return error;
    }
    AuthError::TokenRequest(
        "the token response could not be read although its fields look valid".to_owned(),
    )
}

fn check_token_fields(object: &serde_json::Map<String, Value>) -> Result<(), AuthError> {
    let invalid = |field, expected, value: &Value| AuthError::TokenResponseInvalidField {
        field,
        expected,
        found: JsonKind::of(value).to_string(),
    };
    match object.get("access_token") {
        None => {
            return Err(AuthError::TokenResponseMissingField {
                field: "access_token",
            });
        }
        Some(Value::String(_)) => {}
        Some(other) => return Err(invalid("access_token", "a string", other)),
    }
    match object.get("token_type") {
        None => {
            return Err(AuthError::TokenResponseMissingField {
                field: "token_type",
            });
        }
        Some(Value::String(_)) => {}
        Some(other) => return Err(invalid("token_type", "a string such as \"Bearer\"", other)),
    }
    const SECONDS: &str = "a whole, non-negative number of seconds";
    match object.get("expires_in") {
        None | Some(Value::Null) => {}
        Some(Value::Number(n)) if n.is_u64() => {}
        Some(Value::Number(n)) => {
            return Err(AuthError::TokenResponseInvalidField {
                field: "expires_in",
                expected: SECONDS,
                found: if n.is_i64() {
                    "a negative number".to_owned()
                } else {
                    "a fractional number".to_owned()
                },
            });
        }
        Some(other) => return Err(invalid("expires_in", SECONDS, other)),
    }
    for (field, expected) in [
        ("refresh_token", "a string"),
        ("scope", "a space-separated string"),
    ] {
        match object.get(field) {
            None | Some(Value::Null) | Some(Value::String(_)) => {}
            Some(other) => return Err(invalid(field, expected, other)),
        }
    }
    Ok(())
}

/// A token endpoint answer as it came off the wire.
pub(crate) struct RawResponse {
    pub(crate) status: u16,
    pub(crate) content_type: Option<String>,
    /// The wait the server asked for (`Retry-After`), read against the time of the request.
    pub(crate) retry_after: Option<Duration>,
    pub(crate) body: Vec<u8>,
}

/// Why the adapter could not produce a response.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TransportFailure {
    #[error("sending the token request failed")]
    Send(#[source] reqwest::Error),
    #[error("the token response is too large")]
    TooLarge,
}

/// The `oauth2` crate's [`AsyncHttpClient`] over the SDK's own `reqwest::Client`, so the token
/// requests share its connection pool, TLS setup and proxy settings (and only one reqwest is
/// compiled). It keeps a copy of the last answer for [`classify_failed_response`].
pub(crate) struct ReqwestAdapter {
    http: reqwest::Client,
    /// When the request is made, to turn an HTTP-date `Retry-After` into a wait.
    now: SystemTime,
    last_response: Mutex<Option<RawResponse>>,
}

impl ReqwestAdapter {
    fn new(http: reqwest::Client, now: SystemTime) -> Self {
        Self {
            http,
            now,
            last_response: Mutex::new(None),
        }
    }

    fn take_raw(&self) -> Option<RawResponse> {
        self.last_response
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportFailure> {
        let mut request = reqwest::Request::try_from(request).map_err(TransportFailure::Send)?;
        *request.timeout_mut() = Some(TOKEN_REQUEST_TIMEOUT);
        let mut response = self
            .http
            .execute(request)
            .await
            .map_err(TransportFailure::Send)?;
        let status = response.status();
        let headers = response.headers().clone();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(TransportFailure::Send)? {
            if body.len() + chunk.len() > MAX_TOKEN_RESPONSE_BYTES {
                return Err(TransportFailure::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        let content_type = headers
            .get(http::header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let retry_after = headers
            .get(http::header::RETRY_AFTER)
            .and_then(|value| crate::ratelimit::parse_retry_after(value, self.now));
        *self.last_response.lock().unwrap_or_else(|e| e.into_inner()) = Some(RawResponse {
            status: status.as_u16(),
            content_type,
            retry_after,
            body: body.clone(),
        });
        let mut answer = http::Response::new(body);
        *answer.status_mut() = status;
        *answer.headers_mut() = headers;
        Ok(answer)
    }
}

impl<'c> AsyncHttpClient<'c> for ReqwestAdapter {
    type Error = TransportFailure;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, TransportFailure>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}
