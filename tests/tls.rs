//! TLS controls against a real TLS server on 127.0.0.1: certificate pinning by SPKI SHA-256 and
//! the minimum protocol version.
//!
//! Each test makes a private CA and a leaf certificate for `127.0.0.1` with `rcgen`, serves the
//! API's `getCampaign` answer over tokio-rustls + hyper, and trusts the CA with
//! `ClientBuilder::add_root_certificate`, so the platform verifier really validates the chain and
//! the pin check runs on top of it.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine as _;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use marketing_api::auth::ApiKey;
use marketing_api::models::CampaignId;
use marketing_api::{Client, ErrorKind, SpkiPin, TlsVersion};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, PublicKeyData, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

const CAMPAIGN: &str = r#"{"data":{"id":"cmp_1","name":"Spring sale","status":"active","objective":"sales","budget_cents":500000,"currency":"EUR","metrics":{"impressions":0,"clicks":0,"conversions":0,"spend_cents":0,"ctr":0.0},"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"},"meta":{"request_id":"req_tls"}}"#;

/// A CA and a leaf certificate for 127.0.0.1 signed by it.
struct Pki {
    ca_der: CertificateDer<'static>,
    leaf_der: CertificateDer<'static>,
    leaf_key: PrivateKeyDer<'static>,
    /// The expected pin, computed from the key pair (not from the certificate parser under test).
    leaf_pin: String,
}

fn pki() -> Pki {
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "marketing-api test CA");
    let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
    let issuer = Issuer::new(ca_params, ca_key);

    let leaf_key = KeyPair::generate().expect("leaf key");
    let mut leaf_params = CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
    leaf_params
        .subject_alt_names
        .push(SanType::IpAddress("127.0.0.1".parse().expect("IP")));
    let leaf_cert = leaf_params
        .signed_by(&leaf_key, &issuer)
        .expect("leaf certificate");
    let leaf_pin = format!(
        "sha256/{}",
        base64::engine::general_purpose::STANDARD
            .encode(Sha256::digest(leaf_key.subject_public_key_info()))
    );
    Pki {
        ca_der: ca_cert.der().clone(),
        leaf_der: leaf_cert.der().clone(),
        leaf_key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        leaf_pin,
    }
}

/// A TLS server answering every request with one campaign; counts completed handshakes.
struct TlsServer {
    addr: SocketAddr,
    handshakes: Arc<AtomicUsize>,
}

async fn serve(pki: &Pki, versions: &[&'static rustls::SupportedProtocolVersion]) -> TlsServer {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![pki.leaf_der.clone()], pki.leaf_key.clone_key())
        .expect("server certificate");
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let handshakes = Arc::new(AtomicUsize::new(0));
    let counter = handshakes.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let counter = counter.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                counter.fetch_add(1, Ordering::SeqCst);
                let service = hyper::service::service_fn(|_request: Request<_>| async {
                    Ok::<_, Infallible>(
                        Response::builder()
                            .header("content-type", "application/json")
                            .body(Full::new(Bytes::from_static(CAMPAIGN.as_bytes())))
                            .expect("response"),
                    )
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    TlsServer { addr, handshakes }
}

fn builder(server: &TlsServer, pki: &Pki) -> marketing_api::ClientBuilder {
    Client::builder(format!("https://{}/v1", server.addr))
        .auth(ApiKey::new("mk_test_tls").expect("key"))
        .add_root_certificate(pki.ca_der.to_vec())
}

async fn get_campaign(client: &Client) -> Result<String, marketing_api::Error> {
    let campaign = client
        .campaigns()
        .get(CampaignId::new("cmp_1"))
        .send()
        .await?;
    Ok(campaign.name)
}

#[tokio::test]
async fn a_matching_pin_connects() {
    let pki = pki();
    let server = serve(&pki, &[&rustls::version::TLS13, &rustls::version::TLS12]).await;
    // The pin the SDK computes from the certificate is the one computed from the key.
    let from_cert = SpkiPin::from_certificate_der(&pki.leaf_der).expect("pin");
    assert_eq!(from_cert.to_string(), pki.leaf_pin);

    let client = builder(&server, &pki)
        .pin_spki_sha256("sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
        .pin_spki_sha256(&pki.leaf_pin)
        .build()
        .expect("client");
    assert_eq!(
        get_campaign(&client).await.expect("pinned request"),
        "Spring sale"
    );
    let typed = builder(&server, &pki)
        .tls_pins([from_cert])
        .build()
        .expect("client");
    assert_eq!(
        get_campaign(&typed).await.expect("pinned request"),
        "Spring sale"
    );
}

#[tokio::test]
async fn a_wrong_pin_fails_with_a_clear_error_and_is_not_retried() {
    let pki = pki();
    let server = serve(&pki, &[&rustls::version::TLS13]).await;
    // The pin of another key: a trusted chain alone is not enough.
    let other = KeyPair::generate().expect("key");
    let wrong = SpkiPin::from_sha256(Sha256::digest(other.subject_public_key_info()).into());
    let client = builder(&server, &pki)
        .tls_pins([wrong])
        .build()
        .expect("client");

    let error = get_campaign(&client).await.expect_err("pin mismatch");
    assert_eq!(error.kind(), ErrorKind::Tls, "{error:?}");
    let text = error.to_string();
    assert!(text.contains("certificate pin mismatch"), "{text}");
    assert!(
        text.contains(&pki.leaf_pin),
        "names the presented key: {text}"
    );
    assert!(!error.is_retryable());
    assert_eq!(error.attempts(), 1, "a pin mismatch is not retried");
    assert!(std::error::Error::source(&error).is_some());
    assert_eq!(server.handshakes.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn an_untrusted_certificate_fails_even_with_a_matching_pin() {
    let pki = pki();
    let server = serve(&pki, &[&rustls::version::TLS13]).await;
    // No add_root_certificate: the chain is not trusted, so the pin alone must not be enough.
    let client = Client::builder(format!("https://{}/v1", server.addr))
        .pin_spki_sha256(&pki.leaf_pin)
        .build()
        .expect("client");
    let error = get_campaign(&client).await.expect_err("untrusted chain");
    assert_eq!(error.kind(), ErrorKind::Tls, "{error:?}");
    assert!(
        error.to_string().contains("certificate was rejected"),
        "{error}"
    );
}

#[tokio::test]
async fn tls13_minimum_refuses_a_tls12_only_server() {
    let pki = pki();
    let server = serve(&pki, &[&rustls::version::TLS12]).await;
    let client = builder(&server, &pki)
        .min_tls_version(TlsVersion::Tls13)
        .build()
        .expect("client");
    let error = get_campaign(&client).await.expect_err("no common version");
    assert_eq!(error.kind(), ErrorKind::Tls, "{error:?}");
    assert!(
        error.to_string().contains("ClientBuilder::min_tls_version"),
        "{error}"
    );
    assert_eq!(error.attempts(), 1);
}

#[tokio::test]
async fn the_default_accepts_a_tls12_only_server() {
    let pki = pki();
    let server = serve(&pki, &[&rustls::version::TLS12]).await;
    let client = builder(&server, &pki).build().expect("client");
    assert_eq!(get_campaign(&client).await.expect("TLS 1.2"), "Spring sale");
    assert_eq!(server.handshakes.load(Ordering::SeqCst), 1);
}

#[test]
fn bad_pins_and_roots_are_configuration_errors() {
    let error = Client::builder("https://api.example.com/v1")
        .pin_spki_sha256("sha256/not-base64!")
        .build()
        .expect_err("bad pin");
    assert!(error.is_config(), "{error}");
    assert!(error.to_string().contains("not base64"), "{error}");

    let error = Client::builder("https://api.example.com/v1")
        .pin_spki_sha256("AAAA")
        .build()
        .expect_err("short pin");
    assert!(error.to_string().contains("32"), "{error}");

    let error = Client::builder("https://api.example.com/v1")
        .add_root_certificate(b"not a certificate".to_vec())
        .build()
        .expect_err("bad root");
    assert!(error.is_config(), "{error}");
    assert!(
        error.to_string().contains("add_root_certificate"),
        "{error}"
    );
}

/// The authorization code exchange goes through the given client's HTTP stack: with its extra
/// root the TLS handshake succeeds (and the answer, not being a token response, is refused);
/// without it the certificate is not trusted and no handshake completes.
#[tokio::test]
async fn the_code_exchange_uses_the_clients_tls_settings() {
    use marketing_api::auth::{AuthError, AuthorizationCodeFlow};
    let pki = pki();
    let server = serve(&pki, &[&rustls::version::TLS13]).await;
    let flow = AuthorizationCodeFlow::new(
        "cli_tls",
        None,
        format!("https://{}/oauth/authorize", server.addr),
        format!("https://{}/oauth/token", server.addr),
        "http://127.0.0.1:8910/callback",
    );

    let untrusting = Client::builder(format!("https://{}/v1", server.addr))
        .build()
        .expect("client");
    let (url, pending) = flow.authorize_url().expect("authorize URL");
    let state = state_of(&url);
    let error = flow
        .exchange(&untrusting, "code", &state, pending)
        .await
        .expect_err("untrusted certificate");
    assert!(
        matches!(&error, AuthError::TokenEndpointTls { reason, .. } if reason.contains("certificate was rejected")),
        "{error:?}"
    );
    assert!(!error.is_transient(), "the same handshake would fail again");
    assert_eq!(server.handshakes.load(Ordering::SeqCst), 0);

    let trusting = builder(&server, &pki).build().expect("client");
    let (url, pending) = flow.authorize_url().expect("authorize URL");
    let state = state_of(&url);
    let error = flow
        .exchange(&trusting, "code", &state, pending)
        .await
        .expect_err("the server answers a campaign, not tokens");
    assert!(
        matches!(
            error,
            AuthError::TokenResponseMissingField {
                field: "access_token"
            }
        ),
        "{error:?}"
    );
    assert_eq!(server.handshakes.load(Ordering::SeqCst), 1);
}

fn state_of(url: &url::Url) -> String {
    url.query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .expect("state")
}
