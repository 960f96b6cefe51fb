//! The issuer URL: the configured one checked and normalised, or the listener's.

use std::net::SocketAddr;

use url::{Host, Url};

use crate::{ConfigError, TenantError};

/// Parses a configured issuer: `http`/`https`, a loopback IP or a name, path `/` only (a
/// missing trailing slash is added by the URL parser), no query, fragment or user.
pub(crate) fn parse(issuer: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(issuer.trim()).map_err(|_| ConfigError::IssuerNotUrl {
        issuer: issuer.to_owned(),
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ConfigError::IssuerScheme {
            issuer: issuer.to_owned(),
        });
    }
    let loopback = match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(_)) => true,
        None => {
            return Err(ConfigError::IssuerNotUrl {
                issuer: issuer.to_owned(),
            });
        }
    };
    if !loopback {
        return Err(ConfigError::IssuerNotLoopback {
            issuer: issuer.to_owned(),
        });
    }
    if url.path() != "/"
        || url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(ConfigError::IssuerPath {
            issuer: issuer.to_owned(),
        });
    }
    Ok(url)
}

/// The issuer of a tenant listening on `local` (as bound): the configured one, checked
/// against the listener (`requested_port` is the port asked for, 0 for any), or
/// `http(s)://IP:PORT/`.
pub(crate) async fn resolve(
    configured: Option<&str>,
    tls: bool,
    requested_port: u16,
    local: SocketAddr,
) -> Result<Url, TenantError> {
    let scheme = if tls { "https" } else { "http" };
    let Some(configured) = configured else {
        return Url::parse(&format!("{scheme}://{local}/")).map_err(|_| {
            TenantError::InvalidListenAddress {
                value: local.to_string(),
            }
        });
    };
    let url = parse(configured)?;
    if url.port().is_none() && requested_port == 0 {
        return Err(TenantError::IssuerNeedsPort {
            issuer: url.to_string(),
        });
    }
    if let Some(Host::Domain(name)) = url.host()
        && !name.eq_ignore_ascii_case("localhost")
    {
        let name = name.to_owned();
        let addrs: Vec<SocketAddr> = match tokio::net::lookup_host((name.as_str(), 0)).await {
            Ok(addrs) => addrs.collect(),
            Err(_) => Vec::new(),
        };
        if addrs.is_empty() || addrs.iter().any(|a| !a.ip().is_loopback()) {
            return Err(TenantError::IssuerHostNotLoopback { host: name });
        }
    }
    Ok(url)
}
