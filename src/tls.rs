//! TLS configuration: rustls with the `ring` provider and the platform's certificate verifier,
//! optionally with extra trust anchors and certificate pinning.
//!
//! Pinning wraps the platform verifier instead of replacing it: a pinned connection still needs a
//! certificate chain the platform trusts for the host name, and in addition the leaf
//! certificate's public key (its DER `SubjectPublicKeyInfo`, hashed with SHA-256, as in HPKP)
//! must match one of the configured pins. Pinning the key rather than the certificate survives
//! certificate renewal with the same key; configure the next key's pin before rotating keys.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, OtherError, SignatureScheme};
use sha2::{Digest, Sha256};

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

/// A certificate pin: the SHA-256 digest of a server key's DER-encoded `SubjectPublicKeyInfo`.
///
/// The text form is the base64 of the digest, as HPKP and `openssl` print it, optionally
/// prefixed with `sha256/`:
///
/// ```text
/// openssl x509 -in server.pem -pubkey -noout | openssl pkey -pubin -outform der \
///   | openssl dgst -sha256 -binary | base64
/// ```
///
/// ```
/// use marketing_api::SpkiPin;
/// let pin: SpkiPin = "sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=".parse()?;
/// assert_eq!(pin.to_string(), "sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
/// # Ok::<(), marketing_api::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SpkiPin([u8; 32]);

impl SpkiPin {
    /// A pin from the raw 32-byte SHA-256 digest.
    pub fn from_sha256(digest: [u8; 32]) -> Self {
        Self(digest)
    }

    /// Parses the base64 text form (`sha256/` prefix optional).
    ///
    /// # Errors
    /// A configuration error ([`Error::is_config`]) when the text is not base64 of 32 bytes.
    pub fn from_base64(text: &str) -> Result<Self, Error> {
        let trimmed = text.trim();
        // `sha1/…` (old HPKP), `sha256:…` (a colon instead of the slash), `sha384/…`: say
        // what is wrong with the prefix rather than that the whole text is not base64.
        // (`:` never occurs in base64; a bare base64 pin starting `sha<digits>/` is a one in a
        // billion chance, and would have to be written with its `sha256/` prefix.)
        if let Some((prefix, _)) = trimmed.split_once(['/', ':'])
            && let Some(digits) = prefix.strip_prefix("sha")
            && !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !trimmed.starts_with("sha256/")
        {
            return Err(Error::config(format!(
                "certificate pin `{trimmed}` starts with `{prefix}{}`; only SHA-256 pins are \
                 supported, written `sha256/<base64>` or as the bare base64",
                &trimmed[prefix.len()..=prefix.len()]
            )));
        }
        let encoded = trimmed.strip_prefix("sha256/").unwrap_or(trimmed);
        let bytes = STANDARD.decode(encoded).map_err(|_| {
            Error::config(format!(
                "certificate pin `{trimmed}` is not base64; expected the base64 SHA-256 of the key's SubjectPublicKeyInfo, e.g. sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
            ))
        })?;
        let digest: [u8; 32] = bytes.try_into().map_err(|bytes: Vec<u8>| {
            Error::config(format!(
                "certificate pin `{trimmed}` decodes to {} bytes; a SHA-256 pin has 32",
                bytes.len()
            ))
        })?;
        Ok(Self(digest))
    }

    /// The pin of the key in a DER-encoded X.509 certificate (e.g. to pin a certificate you
    /// hold).
    ///
    /// # Errors
    /// A configuration error when the bytes are not a parsable certificate.
    pub fn from_certificate_der(der: &[u8]) -> Result<Self, Error> {
        let cert = CertificateDer::from(der);
        spki_sha256(&cert)
            .map(Self)
            .map_err(|e| Error::config(format!("certificate cannot be parsed to pin it: {e}")))
    }

    /// The raw digest.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl FromStr for SpkiPin {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        Self::from_base64(text)
    }
}

impl fmt::Display for SpkiPin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256/{}", STANDARD.encode(self.0))
    }
}

impl fmt::Debug for SpkiPin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SpkiPin({self})")
    }
}

/// SHA-256 of the leaf certificate's DER `SubjectPublicKeyInfo` (outer `SEQUENCE` included).
fn spki_sha256(cert: &CertificateDer<'_>) -> Result<[u8; 32], webpki::Error> {
    let parsed = webpki::EndEntityCert::try_from(cert)?;
    Ok(Sha256::digest(parsed.subject_public_key_info().as_ref()).into())
}

/// The TLS settings of a [`ClientBuilder`](crate::ClientBuilder).
#[derive(Debug, Clone, Default)]
pub(crate) struct TlsSettings {
    pub(crate) min_version: TlsVersion,
    /// Pins in text form, parsed by [`client_config`] so the builder chain stays infallible.
    pub(crate) pin_texts: Vec<String>,
    pub(crate) pins: Vec<SpkiPin>,
    /// DER certificates trusted in addition to the platform's roots.
    pub(crate) extra_roots: Vec<Vec<u8>>,
}

/// Builds the rustls configuration every SDK-built HTTP client uses.
/// Makes `ring` the process-wide default rustls provider unless one is installed already.
///
/// The SDK's own client names its provider explicitly and does not need this. But its reqwest
/// features (rustls without a bundled provider) are unified with the application's: a plain
/// `reqwest::Client::new()` elsewhere in the program would otherwise find no provider and
/// panic. Installing one when the first SDK client is built makes that work with no extra step;
/// an application that installs its own provider first keeps it.
pub(crate) fn install_default_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Another thread may win the race; either way a provider is installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

pub(crate) fn client_config(settings: &TlsSettings) -> Result<rustls::ClientConfig, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions: &[&'static rustls::SupportedProtocolVersion] = match settings.min_version {
        TlsVersion::Tls12 => &[&rustls::version::TLS13, &rustls::version::TLS12],
        TlsVersion::Tls13 => &[&rustls::version::TLS13],
    };
    let mut pins = settings.pins.clone();
    for text in &settings.pin_texts {
        pins.push(SpkiPin::from_base64(text)?);
    }
    let platform = platform_verifier(&settings.extra_roots, provider.clone())?;
    let verifier: Arc<dyn ServerCertVerifier> = if pins.is_empty() {
        Arc::new(platform)
    } else {
        Arc::new(PinningVerifier {
            inner: Arc::new(platform),
            pins,
        })
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .map_err(|e| Error::config_from("TLS protocol versions", e))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(config)
}

fn platform_verifier(
    extra_roots: &[Vec<u8>],
    provider: Arc<rustls::crypto::CryptoProvider>,
) -> Result<rustls_platform_verifier::Verifier, Error> {
    if extra_roots.is_empty() {
        return rustls_platform_verifier::Verifier::new(provider)
            .map_err(|e| Error::config_from("platform certificate verifier", e));
    }
    #[cfg(not(target_os = "android"))]
    {
        let roots = extra_roots
            .iter()
            .map(|der| CertificateDer::from(der.clone()));
        rustls_platform_verifier::Verifier::new_with_extra_roots(roots, provider).map_err(|e| {
            Error::config_from(
                "a certificate added with ClientBuilder::add_root_certificate is not a valid DER X.509 certificate",
                e,
            )
        })
    }
    #[cfg(target_os = "android")]
    {
        let _ = provider;
        Err(Error::config(
            "ClientBuilder::add_root_certificate is not supported on Android; install the root in the system store",
        ))
    }
}

/// Accepts a server only if the platform verifier does and the leaf key matches a pin.
#[derive(Debug)]
struct PinningVerifier {
    inner: Arc<dyn ServerCertVerifier>,
    pins: Vec<SpkiPin>,
}

impl ServerCertVerifier for PinningVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // The chain and the name first: a pin narrows trust, it never replaces it.
        let verified = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )?;
        let digest = spki_sha256(end_entity)
            .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadEncoding))?;
        let presented = SpkiPin(digest);
        if self.pins.contains(&presented) {
            Ok(verified)
        } else {
            Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                OtherError(Arc::new(PinMismatch {
                    presented,
                    configured: self.pins.len(),
                })),
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The server's key matched no configured pin.
#[derive(Debug)]
struct PinMismatch {
    presented: SpkiPin,
    configured: usize,
}

impl fmt::Display for PinMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "certificate pin mismatch: the server's key {} matches none of the {} pin(s) configured with ClientBuilder::pin_spki_sha256; the server may be impersonated, or its key was rotated without updating the pins",
            self.presented, self.configured
        )
    }
}

impl std::error::Error for PinMismatch {}

/// Explains a failed TLS handshake found in an error's source chain, or `None` when the failure
/// was not a TLS refusal (a refused TCP connection, a reset, a timeout).
pub(crate) fn describe_handshake_failure(
    error: &(dyn std::error::Error + 'static),
) -> Option<String> {
    let tls = find_rustls_error(error)?;
    Some(match tls {
        rustls::Error::InvalidCertificate(CertificateError::Other(other))
            if other.0.downcast_ref::<PinMismatch>().is_some() =>
        {
            other.to_string()
        }
        rustls::Error::InvalidCertificate(CertificateError::ExpiredContext { time, not_after }) => {
            format!(
                "the server's certificate expired on {} (it is now {}); the server must renew it",
                utc(not_after),
                utc(time)
            )
        }
        rustls::Error::InvalidCertificate(CertificateError::NotValidYetContext {
            time,
            not_before,
        }) => format!(
            "the server's certificate is not valid before {} (it is now {}); check this machine's clock",
            utc(not_before),
            utc(time)
        ),
        rustls::Error::InvalidCertificate(reason) => format!(
            "the server's certificate was rejected ({reason}); check the host name and that its issuer is trusted (ClientBuilder::add_root_certificate for a private CA)"
        ),
        rustls::Error::PeerIncompatible(_)
        | rustls::Error::AlertReceived(rustls::AlertDescription::ProtocolVersion)
        | rustls::Error::AlertReceived(rustls::AlertDescription::HandshakeFailure) => format!(
            "no TLS version or cipher suite in common with the server ({tls}); the server may not support the version required by ClientBuilder::min_tls_version"
        ),
        other => format!("TLS handshake failed: {other}"),
    })
}

/// A certificate time as an RFC 3339 date, not UNIX seconds.
fn utc(time: &rustls::pki_types::UnixTime) -> String {
    i64::try_from(time.as_secs())
        .ok()
        .and_then(|secs| chrono::DateTime::from_timestamp(secs, 0))
        .map_or_else(
            || format!("{} s after 1970", time.as_secs()),
            |date| date.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        )
}

/// The rustls error in a chain. `io::Error::source` skips the error it wraps, so wrapped I/O
/// errors are opened explicitly.
fn find_rustls_error<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a rustls::Error> {
    let mut next = Some(error);
    while let Some(current) = next {
        if let Some(tls) = current.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(io) = current.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && let Some(tls) = find_rustls_error(inner)
        {
            return Some(tls);
        }
        next = current.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_parse_from_base64_with_or_without_prefix() {
        let digest = [7u8; 32];
        let text = STANDARD.encode(digest);
        assert_eq!(SpkiPin::from_base64(&text).ok(), Some(SpkiPin(digest)));
        let prefixed = format!("sha256/{text}");
        assert_eq!(prefixed.parse::<SpkiPin>().ok(), Some(SpkiPin(digest)));
        assert_eq!(SpkiPin(digest).to_string(), prefixed);
        for bad in ["", "not base64!", "AAAA", "sha1/AAAA"] {
            let error = SpkiPin::from_base64(bad).expect_err(bad);
            assert!(error.is_config(), "{bad}: {error}");
        }
        for (bad, prefix) in [
            (format!("sha1/{text}"), "`sha1/`"),
            (format!("sha256:{text}"), "`sha256:`"),
            (format!("sha384/{text}"), "`sha384/`"),
        ] {
            let error = SpkiPin::from_base64(&bad).expect_err(&bad);
            let message = error.to_string();
            assert!(
                message.contains(prefix) && message.contains("only SHA-256"),
                "{message}"
            );
        }
    }

    #[test]
    fn certificate_times_are_dates() {
        let expired = rustls::Error::InvalidCertificate(CertificateError::ExpiredContext {
            time: rustls::pki_types::UnixTime::since_unix_epoch(std::time::Duration::from_secs(
                1_767_225_600,
            )),
            not_after: rustls::pki_types::UnixTime::since_unix_epoch(
                std::time::Duration::from_secs(1_764_547_200),
            ),
        });
        let message = describe_handshake_failure(&expired).expect("a TLS failure");
        assert!(
            message.contains("expired on 2025-12-01 00:00:00 UTC")
                && message.contains("it is now 2026-01-01 00:00:00 UTC"),
            "{message}"
        );
    }

    #[test]
    fn a_pin_mismatch_is_found_through_io_errors() {
        let mismatch = rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(
            Arc::new(PinMismatch {
                presented: SpkiPin([1; 32]),
                configured: 2,
            }),
        )));
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, mismatch);
        let message = describe_handshake_failure(&io).expect("found");
        assert!(message.starts_with("certificate pin mismatch"), "{message}");
        assert!(describe_handshake_failure(&std::io::Error::other("reset")).is_none());
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        assert!(SpkiPin::from_certificate_der(b"not a certificate").is_err());
    }
}
