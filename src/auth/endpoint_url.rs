//! Checks on the URLs of an OAuth2 configuration.

use std::net::IpAddr;

use url::{Host, Url};

use super::error::{AuthError, UrlRole};

/// Parses an authorization-server URL (token or authorize endpoint) and refuses plain `http://`
/// on anything but loopback unless `allow_insecure_http`, because these requests carry client
/// secrets, codes and tokens.
pub(crate) fn parse_server_url(
    raw: &str,
    role: UrlRole,
    allow_insecure_http: bool,
) -> Result<Url, AuthError> {
    let url = Url::parse(raw).map_err(|e| AuthError::InvalidUrl {
        role,
        reason: format!("{e}; expected an absolute https:// URL"),
    })?;
    if url.fragment().is_some() {
        return Err(AuthError::InvalidUrl {
            role,
            reason: "it has a #fragment, which RFC 6749 forbids; remove it".to_owned(),
        });
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(AuthError::InvalidUrl {
            role,
            reason: "it embeds user credentials; pass the client id and secret separately"
                .to_owned(),
        });
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if allow_insecure_http || is_loopback(&url) => Ok(url),
        "http" => Err(AuthError::InsecureUrl { role }),
        other => Err(AuthError::InvalidUrl {
            role,
            reason: format!("the scheme `{other}` is not supported; use https://"),
        }),
    }
}

/// Parses the redirect URI. Any scheme is allowed (native apps register custom schemes and
/// `http://127.0.0.1`), but it must be absolute and have no fragment.
pub(crate) fn parse_redirect_uri(raw: &str) -> Result<Url, AuthError> {
    let role = UrlRole::RedirectUri;
    let url = Url::parse(raw).map_err(|e| AuthError::InvalidUrl {
        role,
        reason: format!("{e}; expected the absolute URI registered for the application"),
    })?;
    if url.fragment().is_some() {
        return Err(AuthError::InvalidUrl {
            role,
            reason: "it has a #fragment, which RFC 6749 forbids; remove it".to_owned(),
        });
    }
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_is_refused_except_on_loopback_or_when_allowed() {
        let role = UrlRole::TokenUrl;
        for ok in [
            "https://auth.example.com/oauth/token",
            "http://127.0.0.1:8080/v1/oauth/token",
            "http://127.3.4.5/token",
            "http://[::1]:9000/token",
            "http://localhost/token",
            "http://LOCALHOST:1/token",
        ] {
            assert!(parse_server_url(ok, role, false).is_ok(), "{ok}");
        }
        for insecure in [
            "http://auth.example.com/token",
            "http://10.0.0.1/token",
            "http://localhost.evil.com/token",
        ] {
            assert!(
                matches!(
                    parse_server_url(insecure, role, false),
                    Err(AuthError::InsecureUrl { .. })
                ),
                "{insecure}"
            );
            assert!(parse_server_url(insecure, role, true).is_ok());
        }
        for invalid in [
            "auth.example.com/token",
            "",
            "ftp://auth.example.com/token",
            "https://auth.example.com/token#x",
            "https://id:secret@auth.example.com/token",
        ] {
            let err = parse_server_url(invalid, role, true).unwrap_err();
            assert!(matches!(err, AuthError::InvalidUrl { .. }), "{invalid}");
            assert!(!err.to_string().contains("secret@"), "{err}");
        }
    }
}
