//! The OAuth 2.0 endpoints: the token endpoint (client credentials, authorization code with
//! PKCE, rotating refresh tokens) and an authorize endpoint that approves at once.
//!
//! Their answers follow RFC 6749 (`{"error", "error_description"}`, no envelope).

use crate::app::{App, query_pairs};
use crate::auth::{IssuedToken, OAuthError};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde_json::json;

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/v1/oauth/token", post(token))
        .route("/v1/oauth/authorize", get(authorize))
}

fn oauth_error(status: StatusCode, error: OAuthError) -> Response {
    let mut response = (
        status,
        axum::Json(json!({ "error": error.error, "error_description": error.description })),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// An [`crate::errors::ApiError`] raised before an OAuth handler ran (a body over the size
/// limit), answered in the RFC 6749 form with the same status.
pub(crate) fn oauth_error_from(error: crate::errors::ApiError) -> Response {
    oauth_error(
        error.status,
        OAuthError {
            error: "invalid_request",
            description: error.message,
        },
    )
}

fn token_response(token: IssuedToken) -> Response {
    let mut body = json!({
        "access_token": token.access_token,
        "token_type": "Bearer",
        "expires_in": token.expires_in.max(1),
        "scope": token.scope,
    });
    if let (Some(refresh), Some(map)) = (token.refresh_token, body.as_object_mut()) {
        map.insert("refresh_token".into(), json!(refresh));
    }
    let mut response = axum::Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
        .headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

fn invalid_request(description: &str) -> OAuthError {
    OAuthError {
        error: "invalid_request",
        description: description.to_owned(),
    }
}

/// Client id and secret from HTTP Basic, if sent.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((percent_decode(id), percent_decode(secret)))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() && text.is_char_boundary(i + 3) => {
                match u8::from_str_radix(&text[i + 1..i + 3], 16) {
                    Ok(byte) => {
                        out.push(byte);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn token(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if !is_form {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            invalid_request("Send the token request as application/x-www-form-urlencoded."),
        );
    }
    let text = String::from_utf8_lossy(&body);
    let Ok(form) = query_pairs(Some(&text)) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            invalid_request("The form body is malformed."),
        );
    };
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let basic = basic_credentials(&headers);
    let used_basic = basic.is_some();
    let (client_id, client_secret) = match &basic {
        Some((id, secret)) => (Some(id.as_str()), Some(secret.as_str())),
        None => (field("client_id"), field("client_secret")),
    };
    let grant_type = field("grant_type");
    // What `TokenRequest` says of single fields, whatever the grant (RFC 7636 §4.1, RFC 3986);
    // a field sent empty is checked too.
    let sent = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if sent("code_verifier").is_some_and(|v| {
        !(43..=128).contains(&v.len())
            || !v
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
    }) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            invalid_request("code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~."),
        );
    }
    if sent("redirect_uri").is_some_and(|u| !is_absolute_http_uri(u)) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            invalid_request("redirect_uri must be an absolute http(s) URI."),
        );
    }
    let unauthorized = |error: OAuthError| {
        let mut response = oauth_error(StatusCode::UNAUTHORIZED, error);
        if used_basic {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"marketing-api\""),
            );
        }
        response
    };
    let Some(client_id) = client_id else {
        return unauthorized(OAuthError {
            error: "invalid_client",
            description: "Authenticate the client with client_id/client_secret or HTTP Basic."
                .into(),
        });
    };
    match client_secret {
        Some(secret) => {
            if let Err(error) = app.auth.check_client(client_id, secret) {
                return unauthorized(error);
            }
        }
        // A public client (PKCE) may omit the secret, except for client credentials.
        None if grant_type != Some("client_credentials") && app.auth.is_client(client_id) => {}
        None => {
            return unauthorized(OAuthError {
                error: "invalid_client",
                description: "client_secret is required for this grant.".into(),
            });
        }
    }
    let ttl = app.settings.read(|s| s.token_ttl);
    let result = match grant_type {
        Some("client_credentials") => app.auth.client_credentials(field("scope"), ttl),
        Some("authorization_code") => match field("code") {
            Some(code) => {
                app.auth
                    .exchange_code(code, field("redirect_uri"), field("code_verifier"), ttl)
            }
            None => Err(invalid_request(
                "code is required for the authorization_code grant.",
            )),
        },
        Some("refresh_token") => match field("refresh_token") {
            Some(refresh) => app.auth.refresh(refresh, field("scope"), ttl),
            None => Err(invalid_request(
                "refresh_token is required for the refresh_token grant.",
            )),
        },
        Some(other) => Err(OAuthError {
            error: "unsupported_grant_type",
            description: format!("Unsupported grant_type '{other}'."),
        }),
        None => Err(invalid_request("grant_type is required.")),
    };
    match result {
        Ok(token) => token_response(token),
        Err(error) => oauth_error(StatusCode::BAD_REQUEST, error),
    }
}

fn encode_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn redirect(redirect_uri: &str, params: &[(&str, &str)]) -> Response {
    let mut location = redirect_uri.to_owned();
    let mut separator = if redirect_uri.contains('?') { '&' } else { '?' };
    for (name, value) in params {
        location.push(separator);
        location.push_str(name);
        location.push('=');
        location.push_str(&encode_component(value));
        separator = '&';
    }
    match HeaderValue::from_str(&location) {
        Ok(value) => {
            let mut response = StatusCode::FOUND.into_response();
            response.headers_mut().insert(header::LOCATION, value);
            response
        }
        // Unreachable for a registered URI; a 302 without a Location would strand the user.
        Err(_) => oauth_error(
            StatusCode::BAD_REQUEST,
            invalid_request("redirect_uri cannot be used as a Location."),
        ),
    }
}

/// Whether `uri` is an absolute `http`/`https` URI (RFC 3986) with a host and no fragment:
/// visible ASCII from the URI character set only, and `%` only before two hex digits.
fn is_absolute_http_uri(uri: &str) -> bool {
    let Some(rest) = uri
        .strip_prefix("https://")
        .or_else(|| uri.strip_prefix("http://"))
    else {
        return false;
    };
    let host_end = rest.find(['/', '?']).unwrap_or(rest.len());
    if host_end == 0 || rest[..host_end].starts_with(':') || rest[..host_end].contains('@') {
        return false;
    }
    let bytes = uri.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = |at: usize| bytes.get(at).is_some_and(u8::is_ascii_hexdigit);
                if !(hex(i + 1) && hex(i + 2)) {
                    return false;
                }
                i += 3;
                continue;
            }
            b if b.is_ascii_alphanumeric() => {}
            b'-' | b'.' | b'_' | b'~' | b':' | b'/' | b'?' | b'[' | b']' | b'@' | b'!' | b'$'
            | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=' => {}
            _ => return false,
        }
        i += 1;
    }
    true
}

async fn authorize(State(app): State<App>, uri: axum::http::Uri) -> Response {
    let Ok(query) = query_pairs(uri.query()) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            invalid_request("The query string is malformed."),
        );
    };
    let field = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    if !field("client_id").is_some_and(|id| app.auth.is_client(id)) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            invalid_request("Unknown or missing client_id."),
        );
    }
    // Only a registered URI, compared exactly (OAuth 2.1 §2.3.1), is ever redirected to; an
    // unusable one is reported here, to the user agent, never used as a Location.
    let Some(redirect_uri) = field("redirect_uri")
        .filter(|u| is_absolute_http_uri(u) && app.auth.is_registered_redirect(u))
    else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            invalid_request(
                "redirect_uri must be an absolute http(s) URI without a fragment that this client registered; it is compared exactly (a loopback URI on any port).",
            ),
        );
    };
    let state = field("state").unwrap_or("");
    let fail = |error: &str, description: &str| {
        let mut params = vec![("error", error), ("error_description", description)];
        if !state.is_empty() {
            params.push(("state", state));
        }
        redirect(redirect_uri, &params)
    };
    if field("response_type") != Some("code") {
        return fail("unsupported_response_type", "response_type must be code");
    }
    if state.is_empty() {
        return fail("invalid_request", "state is required");
    }
    let Some(challenge) = field("code_challenge").filter(|c| (43..=128).contains(&c.len())) else {
        return fail(
            "invalid_request",
            "code_challenge (43 to 128 characters) is required",
        );
    };
    if field("code_challenge_method") != Some("S256") {
        return fail("invalid_request", "code_challenge_method must be S256");
    }
    let scopes = match app.auth.parse_scopes(field("scope")) {
        Ok(scopes) => scopes,
        Err(error) => return fail(error.error, &error.description),
    };
    let code = app.auth.create_code(redirect_uri, scopes, challenge);
    redirect(redirect_uri, &[("code", &code), ("state", state)])
}
