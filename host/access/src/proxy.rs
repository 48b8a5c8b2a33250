//! Sign-in by a trusted proxy's header (oauth2-proxy, an identity-aware
//! load balancer): the proxy authenticates, and tells the portal who in a
//! header such as `X-Forwarded-Email`.
//!
//! Anyone can send that header, so it is believed only from the proxies'
//! own addresses (`trusted-proxies`, as CIDRs), checked against the TCP
//! peer — never against `X-Forwarded-For`, which is just another header.
//! From anywhere else the request is refused, not merely unauthenticated:
//! either the portal is reachable around its proxy, or someone is trying
//! to be somebody else, and the operator should hear of both.

use crate::directory::{Claims, Resolver};
use http::{HeaderMap, HeaderName};
use ipnet::IpNet;
use std::net::IpAddr;
use std::str::FromStr;

/// The longest header value taken as a login: an e-mail address is at most
/// 254 characters; anything longer is not one.
const MAX_LOGIN_LEN: usize = 320;

/// The addresses proxies connect from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses each of `entries`: a CIDR (`10.0.0.0/8`, `::1/128`) or a
    /// single address.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<TrustedProxies, String> {
        entries
            .iter()
            .map(|entry| {
                let entry = entry.as_ref().trim();
                IpNet::from_str(entry)
                    .or_else(|_| IpAddr::from_str(entry).map(IpNet::from))
                    .map_err(|_| {
                        format!(
                            "`{entry}` is not an address or CIDR, e.g. `10.0.0.0/8` or `127.0.0.1`"
                        )
                    })
            })
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }

    /// Whether `peer` is one of them. An IPv4 peer seen on a dual-stack
    /// socket (`::ffff:10.0.0.1`) counts as its IPv4 address.
    pub fn trusts(&self, peer: IpAddr) -> bool {
        let peer = peer.to_canonical();
        self.0.iter().any(|net| net.contains(&peer))
    }
}

/// The proxy sign-in method.
#[derive(Debug, Clone)]
pub struct ProxySignIn {
    /// The header naming the person.
    pub header: HeaderName,
    /// Where it is believed from.
    pub trusted: TrustedProxies,
    /// How its value is matched to a catalog User.
    pub resolvers: Vec<Resolver>,
    /// Where the portal's sign-out sends people (the proxy's own sign-out,
    /// e.g. `/oauth2/sign_out`): signing out of the portal alone would sign
    /// them straight back in.
    pub sign_out_url: Option<String>,
}

/// What a request says through the proxy header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyHeader {
    /// It carries no (usable) header.
    Absent,
    /// A trusted proxy vouches for this person.
    Trusted(Claims),
    /// The header came from elsewhere (`None`: the peer is not known).
    Untrusted(Option<IpAddr>),
}

impl ProxySignIn {
    /// Reads the header of a request from `peer`. A request whose peer is
    /// unknown is never trusted.
    pub fn read(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> ProxyHeader {
        let Some(value) = headers.get(&self.header) else {
            return ProxyHeader::Absent;
        };
        if !peer.is_some_and(|p| self.trusted.trusts(p)) {
            return ProxyHeader::Untrusted(peer);
        }
        let login = value
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|v| !v.is_empty() && v.len() <= MAX_LOGIN_LEN);
        let Some(login) = login else {
            return ProxyHeader::Absent;
        };
        ProxyHeader::Trusted(Claims {
            method: "proxy",
            // Whether it is an address or a name is the resolvers' call.
            email: login.contains('@').then(|| login.to_owned()),
            username: Some(login.to_owned()),
            display_name: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxy(trusted: &[&str]) -> ProxySignIn {
        ProxySignIn {
            header: HeaderName::from_static("x-forwarded-email"),
            trusted: TrustedProxies::parse(trusted).expect("valid"),
            resolvers: vec![Resolver::EmailMatchingUserEntityProfileEmail],
            sign_out_url: None,
        }
    }

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("X-Forwarded-Email", value.parse().expect("a header value"));
        headers
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().expect("an address"))
    }

    #[test]
    fn trusts_addresses_inside_the_configured_cidrs_only() {
        let trusted =
            TrustedProxies::parse(&["10.0.0.0/8", "192.168.1.7", "fd00::/8"]).expect("valid");
        for inside in ["10.1.2.3", "192.168.1.7", "fd12::1", "::ffff:10.9.9.9"] {
            assert!(trusted.trusts(inside.parse().expect("address")), "{inside}");
        }
        for outside in ["11.0.0.1", "192.168.1.8", "127.0.0.1", "::1", "fe80::1"] {
            assert!(
                !trusted.trusts(outside.parse().expect("address")),
                "{outside}"
            );
        }
        let error = TrustedProxies::parse(&["10.0.0.0/33"]).expect_err("refused");
        assert!(error.contains("10.0.0.0/33"), "{error}");
        assert!(TrustedProxies::parse(&["proxy.internal"]).is_err());
    }

    #[test]
    fn honours_the_header_only_from_a_trusted_peer() {
        let proxy = proxy(&["127.0.0.1/32"]);
        let request = headers("jane@example.com");
        let ProxyHeader::Trusted(claims) = proxy.read(ip("127.0.0.1"), &request) else {
            panic!("a trusted proxy is believed");
        };
        assert_eq!(claims.email.as_deref(), Some("jane@example.com"));
        assert_eq!(claims.method, "proxy");
        assert_eq!(
            proxy.read(ip("203.0.113.9"), &request),
            ProxyHeader::Untrusted(ip("203.0.113.9"))
        );
        assert_eq!(
            proxy.read(None, &request),
            ProxyHeader::Untrusted(None),
            "an unknown peer is untrusted"
        );
        assert_eq!(
            proxy.read(ip("127.0.0.1"), &HeaderMap::new()),
            ProxyHeader::Absent
        );
    }

    #[test]
    fn a_blank_or_oversized_header_vouches_for_nobody() {
        let proxy = proxy(&["127.0.0.1"]);
        assert_eq!(
            proxy.read(ip("127.0.0.1"), &headers("  ")),
            ProxyHeader::Absent
        );
        let long = format!("{}@example.com", "a".repeat(400));
        assert_eq!(
            proxy.read(ip("127.0.0.1"), &headers(&long)),
            ProxyHeader::Absent
        );
        let ProxyHeader::Trusted(claims) = proxy.read(ip("127.0.0.1"), &headers("jane")) else {
            panic!("a name is a login too");
        };
        assert_eq!(
            (claims.email, claims.username.as_deref()),
            (None, Some("jane"))
        );
    }
}
