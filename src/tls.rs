//! TLS configuration: rustls with the `ring` provider and the platform's certificate verifier.

use std::sync::Arc;

use rustls_platform_verifier::BuilderVerifierExt;

use crate::error::Error;

/// The oldest TLS version the client will negotiate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TlsVersion {
    /// TLS 1.2 (the default; TLS 1.3 is preferred when the server offers it).
    #[default]
    Tls12,
    /// TLS 1.3 only.
    Tls13,
}

/// Builds the rustls configuration every SDK-built HTTP client uses.
pub(crate) fn client_config(min_version: TlsVersion) -> Result<rustls::ClientConfig, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions: &[&'static rustls::SupportedProtocolVersion] = match min_version {
        TlsVersion::Tls12 => &[&rustls::version::TLS13, &rustls::version::TLS12],
        TlsVersion::Tls13 => &[&rustls::version::TLS13],
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .map_err(|e| Error::config_from("TLS protocol versions", e))?
        .with_platform_verifier()
        .map_err(|e| Error::config_from("platform certificate verifier", e))?
        .with_no_client_auth();
    Ok(config)
}
