//! Where a plugin may send HTTP requests: a scheme, an exact host, a port.
//!
//! Manifests request origins and operators grant them in one short form:
//! `api.github.com` is `https://api.github.com:443`, `sonar.example.com:9000`
//! is HTTPS on port 9000, and plain HTTP has to be asked for by name,
//! `http://127.0.0.1:8080`. The same form names the origin a credential is
//! bound to. Comparing canonical forms is comparing origins, so a grant
//! for `api.github.com` never matches `http://api.github.com` or
//! `api.github.com:8443`.

use std::fmt;
use std::net::IpAddr;

/// The scheme of an origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HttpScheme {
    /// TLS, the default.
    Https,
    /// Plain HTTP: only when the origin says `http://`.
    Http,
}

impl HttpScheme {
    /// The port used when none is written.
    pub fn default_port(self) -> u16 {
        match self {
            HttpScheme::Https => 443,
            HttpScheme::Http => 80,
        }
    }
}

/// A scheme, an exact host (a DNS name, lower-cased, or an IP address)
/// and a port.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HttpOrigin {
    scheme: HttpScheme,
    host: String,
    port: u16,
}

/// Text that is not an origin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a host; write an exact host such as `api.github.com`, `sonar.example.com:9000` \
     or `http://10.0.0.5:8080`, without a path or wildcard"
)]
pub struct OriginError(pub String);

impl HttpOrigin {
    /// Reads the short form: `host`, `host:port`, `https://host[:port]` or
    /// `http://host[:port]`. IPv6 addresses go in brackets (`[fd00::1]:80`).
    /// No user, path, query or wildcard; port 0 is refused.
    pub fn parse(text: &str) -> Result<HttpOrigin, OriginError> {
        let error = || OriginError(text.to_owned());
        let lower = text.to_ascii_lowercase();
        let (scheme, rest) = match lower.split_once("://") {
            Some(("https", rest)) => (HttpScheme::Https, rest),
            Some(("http", rest)) => (HttpScheme::Http, rest),
            Some(_) => return Err(error()),
            None => (HttpScheme::Https, lower.as_str()),
        };
        let (host, port) = split_host_port(rest).ok_or_else(error)?;
        let port = match port {
            None => scheme.default_port(),
            Some(port) => port
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(error)?,
        };
        HttpOrigin::new(scheme, host, port).ok_or_else(error)
    }

    /// The origin a request goes to, from its parts as the request names
    /// them (`host` without brackets for IPv6 is accepted too).
    pub fn new(scheme: HttpScheme, host: &str, port: u16) -> Option<HttpOrigin> {
        let host = host.to_ascii_lowercase();
        let host = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            Some(v6) => v6.parse::<std::net::Ipv6Addr>().ok()?.to_string(),
            None => match host.parse::<IpAddr>() {
                Ok(ip) => ip.to_string(),
                Err(_) if is_dns_name(&host) => host,
                Err(_) => return None,
            },
        };
        (port > 0).then_some(HttpOrigin { scheme, host, port })
    }

    /// The scheme.
    pub fn scheme(&self) -> HttpScheme {
        self.scheme
    }

    /// The host: a lower-cased DNS name, or an IP address (IPv6 without
    /// brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The address, when the host is written as one rather than as a name.
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }
}

/// The short form, canonical: the default scheme and port left out.
impl fmt::Display for HttpOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.scheme == HttpScheme::Http {
            f.write_str("http://")?;
        }
        match self.ip() {
            Some(IpAddr::V6(ip)) => write!(f, "[{ip}]")?,
            _ => f.write_str(&self.host)?,
        }
        if self.port != self.scheme.default_port() {
            write!(f, ":{}", self.port)?;
        }
        Ok(())
    }
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`; the brackets stay on the host.
fn split_host_port(text: &str) -> Option<(&str, Option<&str>)> {
    if text.starts_with('[') {
        let end = text.find(']')? + 1;
        let (host, after) = text.split_at(end);
        return match after {
            "" => Some((host, None)),
            _ => Some((host, Some(after.strip_prefix(':')?))),
        };
    }
    match text.split_once(':') {
        Some((host, port)) => Some((host, Some(port))),
        None => Some((text, None)),
    }
}

/// Letters, digits and dashes in dot-separated labels of 1–63 bytes, at
/// most 253 bytes in all.
fn is_dns_name(name: &str) -> bool {
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    !name.is_empty() && name.len() <= 253 && name.split('.').all(label_ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(text: &str) -> String {
        HttpOrigin::parse(text)
            .unwrap_or_else(|e| panic!("{e}"))
            .to_string()
    }

    #[test]
    fn https_and_its_port_are_the_default_and_left_out() {
        assert_eq!(canonical("API.GitHub.com"), "api.github.com");
        assert_eq!(canonical("https://api.github.com:443"), "api.github.com");
        assert_eq!(canonical("api.github.com:443"), "api.github.com");
        assert_eq!(
            canonical("sonar.example.com:9000"),
            "sonar.example.com:9000"
        );
        let origin = HttpOrigin::parse("api.github.com").expect("valid");
        assert_eq!(
            (origin.scheme(), origin.host(), origin.port()),
            (HttpScheme::Https, "api.github.com", 443)
        );
    }

    #[test]
    fn plain_http_is_named_and_kept_apart() {
        assert_eq!(canonical("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert_eq!(canonical("HTTP://Example.com:80"), "http://example.com");
        assert_ne!(
            HttpOrigin::parse("http://example.com"),
            HttpOrigin::parse("example.com")
        );
        assert_ne!(
            HttpOrigin::parse("example.com:8443"),
            HttpOrigin::parse("example.com")
        );
    }

    #[test]
    fn addresses_are_hosts_in_their_canonical_form() {
        assert_eq!(canonical("[FD00::0001]:8080"), "[fd00::1]:8080");
        let origin = HttpOrigin::parse("http://[::1]").expect("valid");
        assert_eq!(origin.ip(), Some("::1".parse().expect("address")));
        assert_eq!(HttpOrigin::new(HttpScheme::Http, "[::1]", 80), Some(origin));
        assert_eq!(HttpOrigin::parse("127.1").expect("a name").ip(), None);
    }

    #[test]
    fn refuses_paths_wildcards_users_other_schemes_and_port_zero() {
        for text in [
            "",
            "*.github.com",
            "api.github.com/v3",
            "user@api.github.com",
            "ftp://example.com",
            "example.com:0",
            "example.com:99999",
            "example.com:",
            "http://",
            "[::1",
            "[::1]x",
            "exa_mple.com",
            "[example.com]",
            "-example.com",
        ] {
            assert!(HttpOrigin::parse(text).is_err(), "{text:?} was accepted");
        }
    }
}
