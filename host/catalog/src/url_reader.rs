//! Reading the URLs catalog files name — `url` locations, the targets of
//! their Location entities, and `$text`/`$json`/`$yaml` placeholders —
//! under the same egress rules as plugins' requests.
//!
//! Whoever writes a catalog file chooses these URLs, and what comes back is
//! stored in an entity they can read: without rules, a catalog author could
//! read the cloud metadata service at 169.254.169.254 or any internal page
//! through the host. So, as Backstage's `backend.reading.allow`, only hosts
//! the operator listed in `[catalog] reading-allow` are read (none by
//! default), and, as for plugins (`greenroom-egress`), a name must resolve
//! to a public address unless the operator listed it in
//! `[egress] private-hosts` (an allow-list entry that is an IP address
//! names that address itself). The request goes to the address that was
//! checked, never to the name again; redirects are followed by hand, each
//! hop decided again; each request has a timeout, and each location a time
//! budget for all its reads, so one slow server cannot hold a refresh.

use crate::ingest::MAX_FILE_BYTES;
use std::io::Read;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};
use url::Url;

/// Redirects followed for one read. Real hosting (GitHub raw, GitLab, an
/// object store) redirects once or twice; a longer chain is a loop or an
/// attempt to walk the reader somewhere, and each hop costs a connection.
pub const MAX_REDIRECTS: usize = 5;

/// How long one request may take (connect, answer and body) unless the
/// operator sets `[catalog] reading-timeout`. A catalog file served by a
/// working host arrives in well under a second; past this the server is
/// stuck, and waiting longer only delays the rest of the location.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How long all the URL reads of one location may take together on one
/// refresh, unless the operator sets `[catalog] location-budget`. Reads
/// left when it runs out fail (their files' entities are kept as stored)
/// and are tried on the next refresh. Raising it lets one slow location
/// take longer each cycle; locations are refreshed side by side, so it
/// never delays the others.
pub const DEFAULT_LOCATION_BUDGET: Duration = Duration::from_secs(60);

/// How long resolving a name may take: resolvers answer in milliseconds
/// or time out on their own after several seconds.
const DNS_TIMEOUT: Duration = Duration::from_secs(5);

/// One `[catalog] reading-allow` entry, Backstage's
/// `backend.reading.allow[]`: a host (`example.com`, `example.com:8080`,
/// `*.example.com` for its subdomains, or an IP address) and optionally
/// the path prefixes allowed on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadingAllow {
    host: String,
    paths: Option<Vec<String>>,
}

impl ReadingAllow {
    /// An entry for `host` (with `:port` when not the scheme's default),
    /// allowing only paths that start with one of `paths` when given.
    pub fn new(host: &str, paths: Option<Vec<String>>) -> Result<ReadingAllow, String> {
        let host = host.trim().to_ascii_lowercase();
        let name = host.strip_prefix("*.").unwrap_or(&host);
        let wrong = |why: &str| Err(format!("`{host}` is not a host to read from: {why}"));
        if name.is_empty() {
            return wrong("it is empty");
        }
        if host.contains("://") || host.contains(['/', '?', '#', '@']) {
            return wrong(
                "write the host alone (e.g. `example.com` or `example.com:8080`), no scheme or path",
            );
        }
        if name.contains('*') {
            return wrong("a wildcard may only be a leading `*.` (e.g. `*.example.com`)");
        }
        // Whether it parses as the host (and port) of a URL.
        if Url::parse(&format!("http://{name}/")).is_err() {
            return wrong("it is not a host name or address");
        }
        if let Some(paths) = &paths
            && let Some(bad) = paths.iter().find(|p| !p.starts_with('/'))
        {
            return wrong(&format!("path `{bad}` must start with `/`"));
        }
        Ok(ReadingAllow { host, paths })
    }

    /// Whether `url` is allowed by this entry: its host (with the port when
    /// not the default) is this host, or a subdomain for `*.`; and its
    /// path starts with one of the paths, when any are listed.
    fn matches(&self, url: &Url) -> bool {
        let Some(host) = url.host_str() else {
            return false;
        };
        let host = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        let host_matches = match self.host.strip_prefix('*') {
            Some(suffix) => host.ends_with(suffix),
            None => host == self.host,
        };
        host_matches
            && self
                .paths
                .as_ref()
                .is_none_or(|paths| paths.iter().any(|p| url.path().starts_with(p.as_str())))
    }
}

/// How URLs named in catalog files are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlReading {
    /// `[catalog] reading-allow`: the hosts that may be read. Empty (the
    /// default) reads none.
    pub allow: Vec<ReadingAllow>,
    /// `[egress] private-hosts`: names that may resolve to loopback,
    /// private or link-local addresses.
    pub private_hosts: Vec<String>,
    /// The timeout of one request.
    pub request_timeout: Duration,
    /// The time all of one location's reads may take on one refresh.
    pub location_budget: Duration,
}

impl Default for UrlReading {
    fn default() -> UrlReading {
        UrlReading {
            allow: Vec::new(),
            private_hosts: Vec::new(),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            location_budget: DEFAULT_LOCATION_BUDGET,
        }
    }
}

impl UrlReading {
    /// The text at `url`, read before `deadline` (the location's budget),
    /// or why it was not read.
    pub fn fetch(&self, url: &Url, deadline: Instant) -> Result<String, String> {
        let mut current = url.clone();
        for _ in 0..=MAX_REDIRECTS {
            let hop = |message: String| {
                if current == *url {
                    message
                } else {
                    format!("{url} redirected to {current}: {message}")
                }
            };
            let response = self.send(&current, deadline).map_err(hop)?;
            let status = response.status();
            if status.is_redirection() {
                let next = response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| hop(format!("{current} answered {status} with no Location")))?;
                current = current
                    .join(next)
                    .map_err(|e| hop(format!("{current} redirected to \"{next}\": {e}")))?;
                continue;
            }
            if !status.is_success() {
                return Err(hop(format!("{current} answered {status}")));
            }
            let mut text = String::new();
            response
                .take(MAX_FILE_BYTES + 1)
                .read_to_string(&mut text)
                .map_err(|e| hop(format!("cannot read {current}: {}", chain(&e))))?;
            if text.len() as u64 > MAX_FILE_BYTES {
                return Err(hop(format!(
                    "{current} is larger than {MAX_FILE_BYTES} bytes"
                )));
            }
            return Ok(text);
        }
        Err(format!(
            "cannot read {url}: more than {MAX_REDIRECTS} redirects"
        ))
    }

    /// One request to `url`, decided: scheme, allow-list, addresses.
    fn send(&self, url: &Url, deadline: Instant) -> Result<reqwest::blocking::Response, String> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("{url}: only http and https URLs can be read"));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!(
                "{url} not read: the location's time budget for URL reads ({:?}, [catalog] \
                 location-budget) ran out; it is tried again on the next refresh",
                self.location_budget
            ));
        }
        if !self.allow.iter().any(|entry| entry.matches(url)) {
            return Err(format!(
                "cannot read {url}: its host is not in [catalog] reading-allow (Backstage's \
                 backend.reading.allow); an operator can add it"
            ));
        }
        let timeout = self.request_timeout.min(left);
        let mut client = reqwest::blocking::Client::builder()
            // Each redirect is decided here, by the same rules.
            .redirect(reqwest::redirect::Policy::none())
            // A proxy from the environment would resolve and connect
            // where these checks cannot see.
            .no_proxy()
            .timeout(timeout)
            .connect_timeout(timeout);
        if let Some(url::Host::Domain(name)) = url.host() {
            let port = url.port_or_known_default().unwrap_or(80);
            let addresses = self.addresses(name, port, timeout.min(DNS_TIMEOUT))?;
            // reqwest connects to these addresses, not to what the name
            // resolves to next time.
            client = client.resolve_to_addrs(name, &addresses);
        }
        // An IP address in the URL passed the allow-list, so the operator
        // named that address: it is read even when private.
        let client = client
            .build()
            .map_err(|e| format!("cannot read {url}: {}", chain(&e)))?;
        client.get(url.clone()).send().map_err(|e| {
            if e.is_timeout() {
                format!(
                    "cannot read {url}: no answer within {:?} (each read has [catalog] \
                     reading-timeout, a location's reads together [catalog] location-budget)",
                    Duration::from_millis(timeout.as_millis() as u64)
                )
            } else {
                format!("cannot read {url}: {}", chain(&e))
            }
        })
    }

    /// The addresses `name` resolves to that may be connected to: all of
    /// them for a name in `[egress] private-hosts`, the public ones
    /// otherwise.
    fn addresses(
        &self,
        name: &str,
        port: u16,
        within: Duration,
    ) -> Result<Vec<SocketAddr>, String> {
        let (sender, answer) = std::sync::mpsc::channel();
        let query = (name.to_owned(), port);
        // getaddrinfo has no timeout of its own to pass; a thread that
        // answers too late is left to finish alone.
        std::thread::spawn(move || {
            let _ = sender.send(query.to_socket_addrs().map(Iterator::collect::<Vec<_>>));
        });
        let found = match answer.recv_timeout(within) {
            Ok(Ok(found)) => found,
            Ok(Err(error)) => return Err(format!("cannot resolve `{name}`: {error}")),
            Err(_) => return Err(format!("cannot resolve `{name}`: no answer in time")),
        };
        let private_allowed = self
            .private_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(name));
        if private_allowed {
            return Ok(found);
        }
        match greenroom_egress::public_only(found) {
            Ok(public) if public.is_empty() => Err(format!("`{name}` resolved to no address")),
            Ok(public) => Ok(public),
            Err(refused) => Err(format!(
                "refused: `{name}` resolved to {}, {}; list the host in [egress] private-hosts \
                 to read from it",
                refused.address, refused.reason
            )),
        }
    }
}

/// An error with its causes, as one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(host: &str, paths: Option<&[&str]>, url: &str) -> bool {
        let paths = paths.map(|p| p.iter().map(|s| (*s).to_owned()).collect());
        ReadingAllow::new(host, paths)
            .expect("a valid entry")
            .matches(&Url::parse(url).expect("a URL"))
    }

    #[test]
    fn hosts_match_exactly_with_their_port_or_as_a_subdomain_wildcard() {
        assert!(allows("example.com", None, "https://example.com/a"));
        assert!(allows("Example.COM", None, "https://example.com:443/a"));
        assert!(!allows("example.com", None, "https://example.com:8443/a"));
        assert!(allows(
            "example.com:8443",
            None,
            "https://example.com:8443/a"
        ));
        assert!(!allows(
            "example.com",
            None,
            "https://example.com.evil.net/a"
        ));
        assert!(!allows("example.com", None, "https://evilexample.com/a"));
        assert!(allows(
            "*.example.com",
            None,
            "https://raw.git.example.com/a"
        ));
        assert!(!allows("*.example.com", None, "https://example.com/a"));
        assert!(!allows("*.example.com", None, "https://evilexample.com/a"));
        assert!(allows("127.0.0.1:8080", None, "http://127.0.0.1:8080/"));
        assert!(!allows("127.0.0.1:8080", None, "http://127.0.0.2:8080/"));
    }

    #[test]
    fn paths_are_prefixes_of_the_normalised_path() {
        let docs: &[&str] = &["/docs/"];
        assert!(allows(
            "example.com",
            Some(docs),
            "https://example.com/docs/a.yaml"
        ));
        assert!(!allows(
            "example.com",
            Some(docs),
            "https://example.com/private/a"
        ));
        assert!(!allows(
            "example.com",
            Some(docs),
            "https://example.com/docs/../private/a"
        ));
    }
}
