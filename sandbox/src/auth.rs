//! Credentials: API keys in two tiers, OAuth access tokens with scopes, refresh-token families
//! and authorization codes.
//!
//! API keys carry every scope. Access tokens carry the scopes they were granted. Refresh tokens
//! rotate: each use returns a new one and marks the old one used; presenting a used one again
//! means it leaked, so the whole family (every refresh and access token descended from the same
//! grant) is revoked.

use crate::api_keys::{ApiKeys, KeyLookup};
use crate::errors::{ApiError, ErrorType};
use crate::ids::random_token;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

/// The rate tier a credential belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tier {
    /// The standard tier (standard API key and OAuth tokens).
    Standard,
    /// The premium tier (premium API key).
    Premium,
}

/// Who is calling: the rate-limit bucket, the tier and the granted scopes.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    /// Identifies the rate bucket and the idempotency namespace (never the secret itself).
    pub principal: String,
    /// The rate tier.
    pub tier: Tier,
    /// Granted scopes; `None` grants all (account keys).
    pub scopes: Option<BTreeSet<String>>,
    /// Who this is, as the audit trail names consumers.
    pub actor: Actor,
}

/// A consumer of the API as the audit trail and usage name it (the contract's `AuditActor`):
/// never a secret.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Actor {
    /// `account_key`, `api_key`, `oauth_client` or `anonymous`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `account:standard`, `apk_…`, the OAuth client id, or `anonymous`.
    pub id: String,
}

impl Actor {
    /// A caller without a valid credential.
    pub fn anonymous() -> Self {
        Actor {
            kind: "anonymous",
            id: "anonymous".into(),
        }
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("principal", &self.principal)
            .field("tier", &self.tier)
            .field("scopes", &self.scopes)
            .field("actor", &self.actor)
            .finish()
    }
}

impl Credential {
    /// The first of `required` this credential lacks.
    pub fn missing_scope<'a>(&self, required: &'a [String]) -> Option<&'a str> {
        let granted = self.scopes.as_ref()?;
        required
            .iter()
            .find(|scope| !granted.contains(scope.as_str()))
            .map(String::as_str)
    }
}

/// Why the token endpoint refused, as RFC 6749 §5.2 names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// `invalid_request`, `invalid_client`, `invalid_grant`, `unsupported_grant_type`, `invalid_scope`…
    pub error: &'static str,
    /// What went wrong, for humans.
    pub description: String,
}

impl OAuthError {
    fn new(error: &'static str, description: impl Into<String>) -> Self {
        OAuthError {
            error,
            description: description.into(),
        }
    }
}

/// A successful token answer.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The bearer token.
    pub access_token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
    /// The rotating refresh token (authorization-code grants only).
    pub refresh_token: Option<String>,
    /// The granted scopes, space separated.
    pub scope: String,
}

struct AccessToken {
    scopes: BTreeSet<String>,
    expires_at: DateTime<Utc>,
    family: Option<String>,
}

struct RefreshToken {
    family: String,
    scopes: BTreeSet<String>,
    used: bool,
}

struct AuthorizationCode {
    redirect_uri: String,
    scopes: BTreeSet<String>,
    code_challenge: String,
    expires_at: DateTime<Utc>,
}

#[derive(Default)]
struct TokenTables {
    access: HashMap<String, AccessToken>,
    refresh: HashMap<String, RefreshToken>,
    revoked_families: HashSet<String>,
    codes: HashMap<String, AuthorizationCode>,
}

/// The sandbox's credential authority.
pub struct Auth {
    standard_key: String,
    premium_key: String,
    client_id: String,
    client_secret: String,
    known_scopes: BTreeSet<String>,
    redirect_uris: Vec<String>,
    tables: Mutex<TokenTables>,
    /// Integration keys created through `/api-keys`.
    pub(crate) api_keys: ApiKeys,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field("client_id", &self.client_id)
            .field("known_scopes", &self.known_scopes)
            .finish_non_exhaustive()
    }
}

const CODE_LIFETIME: Duration = Duration::from_secs(600);

impl Auth {
    /// New credentials; keys left `None` are generated.
    pub fn new(
        standard_key: Option<String>,
        premium_key: Option<String>,
        client: Option<(String, String)>,
        known_scopes: BTreeSet<String>,
        redirect_uris: Vec<String>,
    ) -> Self {
        let (client_id, client_secret) =
            client.unwrap_or_else(|| (random_token("cli_", 20), random_token("cs_test_", 32)));
        Auth {
            standard_key: standard_key.unwrap_or_else(|| random_token("sk_test_std_", 32)),
            premium_key: premium_key.unwrap_or_else(|| random_token("sk_test_prm_", 32)),
            client_id,
            client_secret,
            known_scopes,
            redirect_uris,
            tables: Mutex::new(TokenTables::default()),
            api_keys: ApiKeys::default(),
        }
    }

    /// The standard-tier API key.
    pub fn standard_key(&self) -> &str {
        &self.standard_key
    }

    /// The premium-tier API key.
    pub fn premium_key(&self) -> &str {
        &self.premium_key
    }

    /// The OAuth client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The OAuth client secret.
    pub fn client_secret(&self) -> &str {
        &self.client_secret
    }

    fn tables(&self) -> std::sync::MutexGuard<'_, TokenTables> {
        self.tables.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Identifies the caller of an API operation from `X-Api-Key` or `Authorization: Bearer`.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Credential, ApiError> {
        if let Some(key) = headers.get("x-api-key") {
            let key = key.to_str().unwrap_or("");
            return if constant_eq(key, &self.standard_key) {
                Ok(Credential {
                    principal: "key:standard".into(),
                    tier: Tier::Standard,
                    scopes: None,
                    actor: Actor {
                        kind: "account_key",
                        id: "account:standard".into(),
                    },
                })
            } else if constant_eq(key, &self.premium_key) {
                Ok(Credential {
                    principal: "key:premium".into(),
                    tier: Tier::Premium,
                    scopes: None,
                    actor: Actor {
                        kind: "account_key",
                        id: "account:premium".into(),
                    },
                })
            } else {
                self.authenticate_integration_key(key)
            };
        }
        let Some(authorization) = headers.get("authorization") else {
            return Err(unauthorized(
                "missing_credentials",
                "Send an API key in X-Api-Key or an OAuth access token in Authorization: Bearer.",
                Some("Bearer realm=\"marketing-api\"".into()),
            ));
        };
        let value = authorization.to_str().unwrap_or("");
        let token = match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ => {
                return Err(unauthorized(
                    "invalid_authorization",
                    "The Authorization header must be 'Bearer <access token>'.",
                    Some("Bearer realm=\"marketing-api\", error=\"invalid_request\"".into()),
                ));
            }
        };
        let tables = self.tables();
        let invalid_token = |code: &str, message: &str| {
            unauthorized(
                code,
                message,
                Some(format!(
                    "Bearer realm=\"marketing-api\", error=\"invalid_token\", error_description=\"{message}\""
                )),
            )
        };
        let Some(access) = tables.access.get(token) else {
            return Err(invalid_token(
                "invalid_token",
                "The access token is not valid.",
            ));
        };
        if let Some(family) = &access.family
            && tables.revoked_families.contains(family)
        {
            return Err(invalid_token(
                "token_revoked",
                "The access token was revoked.",
            ));
        }
        if access.expires_at <= Utc::now() {
            return Err(invalid_token("token_expired", "The access token expired."));
        }
        Ok(Credential {
            principal: format!("token:{}", short_hash(token)),
            tier: Tier::Standard,
            scopes: Some(access.scopes.clone()),
            // The sandbox registers one OAuth client; every token was issued to it.
            actor: Actor {
                kind: "oauth_client",
                id: self.client_id.clone(),
            },
        })
    }

    fn authenticate_integration_key(&self, key: &str) -> Result<Credential, ApiError> {
        match self.api_keys.authenticate(key, Utc::now()) {
            KeyLookup::Active { id, scopes, tier } => Ok(Credential {
                principal: format!("key:{id}"),
                tier: if tier == "premium" {
                    Tier::Premium
                } else {
                    Tier::Standard
                },
                scopes: Some(scopes),
                actor: Actor {
                    kind: "api_key",
                    id,
                },
            }),
            KeyLookup::Revoked => Err(unauthorized(
                "api_key_revoked",
                "The API key in X-Api-Key was revoked.",
                None,
            )),
            KeyLookup::Unknown => Err(unauthorized(
                "invalid_api_key",
                "The API key in X-Api-Key is not valid.",
                None,
            )),
        }
    }

    /// Who a request that failed authentication claimed to be: the integration key it names
    /// (revoked keys included, so the trail shows a revoked key's attempts), else anonymous.
    pub fn claimed_actor(&self, headers: &HeaderMap) -> Actor {
        headers
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .and_then(|key| self.api_keys.id_of(key))
            .map(|id| Actor {
                kind: "api_key",
                id,
            })
            .unwrap_or_else(Actor::anonymous)
    }

    /// Checks the client credentials of a token request.
    pub fn check_client(&self, client_id: &str, client_secret: &str) -> Result<(), OAuthError> {
        if constant_eq(client_id, &self.client_id)
            && constant_eq(client_secret, &self.client_secret)
        {
            Ok(())
        } else {
            Err(OAuthError::new(
                "invalid_client",
                "Unknown client or wrong client secret.",
            ))
        }
    }

    /// Whether `client_id` is the sandbox's client.
    pub fn is_client(&self, client_id: &str) -> bool {
        constant_eq(client_id, &self.client_id)
    }

    /// Whether `redirect_uri` is one the client registered, compared exactly (OAuth 2.1 §2.3.1),
    /// except that the port of a loopback URI may be any (RFC 8252 §7.3: native apps listen on
    /// an ephemeral port). `redirect_uri` must already be a valid absolute URI.
    pub fn is_registered_redirect(&self, redirect_uri: &str) -> bool {
        self.redirect_uris.iter().any(|registered| {
            registered == redirect_uri
                || match (
                    loopback_without_port(registered),
                    loopback_without_port(redirect_uri),
                ) {
                    (Some(a), Some(b)) => a == b,
                    _ => false,
                }
        })
    }

    /// Parses a space-separated scope list; absent or empty means every scope.
    pub fn parse_scopes(&self, scope: Option<&str>) -> Result<BTreeSet<String>, OAuthError> {
        let Some(scope) = scope.filter(|s| !s.trim().is_empty()) else {
            return Ok(self.known_scopes.clone());
        };
        let mut scopes = BTreeSet::new();
        for item in scope.split_whitespace() {
            if !self.known_scopes.contains(item) {
                return Err(OAuthError::new(
                    "invalid_scope",
                    format!("Unknown scope '{item}'."),
                ));
            }
            scopes.insert(item.to_owned());
        }
        Ok(scopes)
    }

    fn issue(
        &self,
        tables: &mut TokenTables,
        scopes: BTreeSet<String>,
        family: Option<String>,
        ttl: Duration,
    ) -> IssuedToken {
        let access_token = random_token("at_", 40);
        let expires_at =
            Utc::now() + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
        let refresh_token = family.as_ref().map(|family| {
            let token = random_token("rt_", 40);
            tables.refresh.insert(
                token.clone(),
                RefreshToken {
                    family: family.clone(),
                    scopes: scopes.clone(),
                    used: false,
                },
            );
            token
        });
        let scope = scopes.iter().cloned().collect::<Vec<_>>().join(" ");
        tables.access.insert(
            access_token.clone(),
            AccessToken {
                scopes,
                expires_at,
                family,
            },
        );
        IssuedToken {
            access_token,
            expires_in: ttl.as_secs(),
            refresh_token,
            scope,
        }
    }

    /// The client-credentials grant (no refresh token, RFC 6749 §4.4.3).
    pub fn client_credentials(
        &self,
        scope: Option<&str>,
        ttl: Duration,
    ) -> Result<IssuedToken, OAuthError> {
        let scopes = self.parse_scopes(scope)?;
        let mut tables = self.tables();
        Ok(self.issue(&mut tables, scopes, None, ttl))
    }

    /// Records an approved authorization request and returns its code.
    pub fn create_code(
        &self,
        redirect_uri: &str,
        scopes: BTreeSet<String>,
        code_challenge: &str,
    ) -> String {
        let code = random_token("ac_", 32);
        self.tables().codes.insert(
            code.clone(),
            AuthorizationCode {
                redirect_uri: redirect_uri.to_owned(),
                scopes,
                code_challenge: code_challenge.to_owned(),
                expires_at: Utc::now()
                    + chrono::Duration::from_std(CODE_LIFETIME).unwrap_or(chrono::Duration::zero()),
            },
        );
        code
    }

    /// The authorization-code grant with PKCE: the code is single-use, the redirect URI must
    /// match the authorize request, and `SHA-256(code_verifier)` must equal the challenge.
    pub fn exchange_code(
        &self,
        code: &str,
        redirect_uri: Option<&str>,
        code_verifier: Option<&str>,
        ttl: Duration,
    ) -> Result<IssuedToken, OAuthError> {
        let mut tables = self.tables();
        // Removing first makes the code single-use even when the exchange then fails.
        let Some(grant) = tables.codes.remove(code) else {
            return Err(OAuthError::new(
                "invalid_grant",
                "The authorization code is unknown or was already used.",
            ));
        };
        if grant.expires_at <= Utc::now() {
            return Err(OAuthError::new(
                "invalid_grant",
                "The authorization code expired.",
            ));
        }
        if redirect_uri != Some(grant.redirect_uri.as_str()) {
            return Err(OAuthError::new(
                "invalid_grant",
                "redirect_uri does not match the one of the authorization request.",
            ));
        }
        let Some(verifier) = code_verifier else {
            return Err(OAuthError::new(
                "invalid_request",
                "code_verifier is required (PKCE).",
            ));
        };
        if !(43..=128).contains(&verifier.len()) {
            return Err(OAuthError::new(
                "invalid_request",
                "code_verifier must be 43 to 128 characters (RFC 7636).",
            ));
        }
        if !constant_eq(&pkce_challenge(verifier), &grant.code_challenge) {
            return Err(OAuthError::new(
                "invalid_grant",
                "code_verifier does not match the code_challenge.",
            ));
        }
        let family = random_token("fam_", 16);
        Ok(self.issue(&mut tables, grant.scopes, Some(family), ttl))
    }

    /// The refresh-token grant: rotates the refresh token; a reused one revokes its family.
    pub fn refresh(
        &self,
        refresh_token: &str,
        scope: Option<&str>,
        ttl: Duration,
    ) -> Result<IssuedToken, OAuthError> {
        let requested = match scope.filter(|s| !s.trim().is_empty()) {
            Some(scope) => Some(self.parse_scopes(Some(scope))?),
            None => None,
        };
        let mut tables = self.tables();
        let Some(stored) = tables.refresh.get_mut(refresh_token) else {
            return Err(OAuthError::new(
                "invalid_grant",
                "The refresh token is not valid.",
            ));
        };
        let family = stored.family.clone();
        if stored.used {
            tables.revoked_families.insert(family);
            return Err(OAuthError::new(
                "invalid_grant",
                "The refresh token was already used; every token of this grant is now revoked.",
            ));
        }
        stored.used = true;
        let granted = stored.scopes.clone();
        if tables.revoked_families.contains(&family) {
            return Err(OAuthError::new(
                "invalid_grant",
                "The refresh token was revoked.",
            ));
        }
        let scopes = match requested {
            Some(requested) if !requested.is_subset(&granted) => {
                return Err(OAuthError::new(
                    "invalid_scope",
                    "A refresh may only narrow the scopes of the original grant.",
                ));
            }
            Some(requested) => requested,
            None => granted,
        };
        Ok(self.issue(&mut tables, scopes, Some(family), ttl))
    }
}

fn unauthorized(code: &str, message: &str, challenge: Option<String>) -> ApiError {
    let error = ApiError::new(
        StatusCode::UNAUTHORIZED,
        ErrorType::Authentication,
        code,
        message,
    );
    match challenge {
        Some(challenge) => error.with_header("www-authenticate", challenge),
        None => error,
    }
}

/// `BASE64URL(SHA-256(verifier))`, the S256 PKCE challenge.
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn short_hash(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// Compares secrets without an early exit on the first differing byte.
fn constant_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `http://127.0.0.1:8910/callback` → `http://127.0.0.1/callback`; `None` unless the URI is an
/// `http` URI of a loopback IP literal.
fn loopback_without_port(uri: &str) -> Option<String> {
    let rest = uri.strip_prefix("http://")?;
    let (authority, path) = match rest.find(['/', '?', '#']) {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    let host = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        if !(after.is_empty() || after.strip_prefix(':').is_some_and(is_port)) {
            return None;
        }
        format!("[{host}]")
    } else {
        let (host, port) = match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        };
        if port.is_some_and(|p| !is_port(p)) {
            return None;
        }
        host.to_owned()
    };
    let ip: std::net::IpAddr = host.trim_matches(['[', ']']).parse().ok()?;
    ip.is_loopback().then(|| format!("http://{host}{path}"))
}

fn is_port(text: &str) -> bool {
    !text.is_empty() && text.len() <= 5 && text.bytes().all(|b| b.is_ascii_digit())
}
