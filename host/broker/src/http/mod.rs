//! Outbound HTTP (`wasi:http/outgoing-handler`), brokered per origin.
//!
//! Plugins use ordinary WASI HTTP clients; every request they send lands in
//! [`WasiHttpHooks::send_request`] here, and goes out only like this:
//!
//! 1. **Count.** At most [`HttpLimits::requests`] per call, denied or not
//!    (so a loop of denied requests cannot flood the audit log); the first
//!    one over is audited, each is refused with `connection-limit-reached`.
//! 2. **Decide.** The request's origin — scheme, host, port; HTTPS unless
//!    the grant says `http://` — must be granted, through
//!    [`Session::decide`]: else `HTTP-request-denied`, audited.
//! 3. **Credential.** A `greenroom-credential: <name>` header is removed;
//!    the credential must be the plugin's and bound to this very origin,
//!    else `HTTP-request-denied`, audited; its header is then set.
//! 4. **Resolve and check.** A name resolving only to loopback, private,
//!    link-local (cloud metadata), unique-local or other non-public
//!    addresses is refused with `destination-IP-prohibited`, audited,
//!    unless the grant names the address itself or the operator listed the
//!    name in `[egress] private-hosts`. The connection goes to the checked
//!    address.
//! 5. **Send**, within [`HttpLimits::timeout`] for the whole exchange, and
//!    read at most [`HttpLimits::response_bytes`] of body: past that the
//!    body fails with `HTTP-response-body-size`, audited.
//!
//! Redirects are not followed here: `wasi:http` hands a 3xx to the plugin,
//! and following it is a new request, decided again from step 1.

mod credential;
mod send;

use crate::session::{Access, Session};
use greenroom_contract::{HttpOrigin, HttpScheme};
use http::HeaderValue;
use std::collections::BTreeSet;
use std::time::Duration;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

pub use credential::{CREDENTIAL_HEADER, Credential, CredentialError};

/// Per-call limits on outbound HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// Requests one call may send, denied ones included.
    pub requests: u32,
    /// Bytes of body one response may have.
    pub response_bytes: u64,
    /// Time one request may take, from resolving the name to the last
    /// byte of the body.
    pub timeout: Duration,
}

impl Default for HttpLimits {
    fn default() -> HttpLimits {
        HttpLimits {
            // A page's card makes a handful of requests; a collector task
            // pages through an API. 50 covers both while a runaway loop
            // stops quickly. Raise it per plugin for bulk collectors.
            requests: 50,
            // The response is copied into the plugin's memory (64 MiB by
            // default); 10 MiB leaves room to parse it.
            response_bytes: 10 << 20,
            // Longer than any render deadline (the call's deadline stops a
            // render first) and shorter than a task's.
            timeout: Duration::from_secs(10),
        }
    }
}

/// How a plugin's requests leave the host, as the operator configured it:
/// the credentials this plugin may name, and the host names that may
/// resolve to non-public addresses.
#[derive(Debug, Clone, Default)]
pub struct Egress {
    private_hosts: BTreeSet<String>,
    credentials: Vec<Credential>,
}

impl Egress {
    /// `private_hosts` are DNS names (compared case-insensitively) allowed
    /// to resolve to loopback, private or link-local addresses; the plugin
    /// may name each of `credentials`.
    pub fn new(
        private_hosts: impl IntoIterator<Item = String>,
        credentials: Vec<Credential>,
    ) -> Egress {
        Egress {
            private_hosts: private_hosts
                .into_iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
            credentials,
        }
    }

    fn credential(&self, name: &str) -> Option<&Credential> {
        self.credentials.iter().find(|c| c.name() == name)
    }

    fn allows_private(&self, origin: &HttpOrigin) -> bool {
        origin.ip().is_some() || self.private_hosts.contains(origin.host())
    }
}

/// One call's outbound HTTP: its limits and the requests it has sent.
#[derive(Debug, Default)]
pub(crate) struct CallHttp {
    limits: HttpLimits,
    sent: u32,
}

impl Session {
    /// This call's outbound HTTP limits (the defaults otherwise).
    pub fn with_http_limits(mut self, limits: HttpLimits) -> Session {
        self.http.limits = limits;
        self
    }

    /// Steps 1 to 3: count, decide, credential. What is left is sending.
    fn decide_request(
        &mut self,
        request: &mut http::Request<WasiBody>,
    ) -> Result<send::Plan, Error> {
        let origin = request_origin(request.uri()).ok_or(Error::HttpRequestUriInvalid)?;
        let resource = origin.to_string();
        self.http.sent = self.http.sent.saturating_add(1);
        let most = self.http.limits.requests;
        if self.http.sent > most {
            if self.http.sent == most + 1 {
                let reason = format!(
                    "plugin {} sent more than {most} HTTP requests in one call",
                    self.env().id()
                );
                self.audit_denial("http.request", Some(&resource), &reason);
            }
            return Err(Error::ConnectionLimitReached);
        }
        self.decide(Access::Http {
            authority: &resource,
        })
        .map_err(|_| Error::HttpRequestDenied)?;
        self.attach_credential(request, &origin)?;
        Ok(send::Plan {
            private_allowed: self.env().egress().allows_private(&origin),
            origin,
            limits: self.http.limits,
            auditor: self.auditor(),
        })
    }

    /// Replaces `greenroom-credential: <name>` with the credential, if the
    /// plugin may send it to `origin`.
    fn attach_credential(
        &self,
        request: &mut http::Request<WasiBody>,
        origin: &HttpOrigin,
    ) -> Result<(), Error> {
        let named: Vec<String> = request
            .headers()
            .get_all(CREDENTIAL_HEADER)
            .iter()
            .map(shown)
            .collect();
        request.headers_mut().remove(CREDENTIAL_HEADER);
        let name = match named.as_slice() {
            [] => return Ok(()),
            [name] => name,
            _ => return Err(self.deny_credential(None, "a request may name one credential")),
        };
        let reason = match self.env().egress().credential(name) {
            Some(credential) if credential.origin() == origin => {
                request
                    .headers_mut()
                    .insert(credential.header().clone(), credential.value().clone());
                return Ok(());
            }
            Some(credential) => format!(
                "credential `{name}` is bound to {}, not {origin}",
                credential.origin()
            ),
            None => format!(
                "no credential `{name}` is configured for plugin {}",
                self.env().id()
            ),
        };
        Err(self.deny_credential(Some(name), &reason))
    }

    fn deny_credential(&self, name: Option<&str>, reason: &str) -> Error {
        self.audit_denial("http.credential", name, reason);
        Error::HttpRequestDenied
    }
}

/// A header value a plugin chose, for the audit log: text, at most 64
/// characters.
fn shown(value: &HeaderValue) -> String {
    String::from_utf8_lossy(value.as_bytes())
        .trim()
        .chars()
        .take(64)
        .collect()
}

/// Where a request goes. `None` for a scheme other than HTTP(S), no host,
/// or user information in the authority.
fn request_origin(uri: &http::Uri) -> Option<HttpOrigin> {
    let scheme = match uri.scheme_str()? {
        "https" => HttpScheme::Https,
        "http" => HttpScheme::Http,
        _ => return None,
    };
    let authority = uri.authority()?;
    if authority.as_str().contains('@') {
        return None;
    }
    let port = authority.port_u16().unwrap_or(scheme.default_port());
    HttpOrigin::new(scheme, authority.host(), port)
}

type ResponseFuture = Box<dyn Future<Output = Result<send::Sent, Error>> + Send>;

impl WasiHttpHooks for Session {
    fn send_request(
        &mut self,
        mut request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> ResponseFuture {
        match self.decide_request(&mut request) {
            Ok(plan) => Box::new(send::send(request, plan, options)),
            Err(error) => Box::new(async move { Err(error) }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_goes_to_its_scheme_host_and_port() {
        let origin =
            |uri: &str| request_origin(&uri.parse().expect("a URI")).map(|o| o.to_string());
        assert_eq!(
            origin("https://API.github.com/repos"),
            Some("api.github.com".into())
        );
        assert_eq!(
            origin("https://api.github.com:443/"),
            Some("api.github.com".into())
        );
        assert_eq!(
            origin("http://127.0.0.1:8080/x"),
            Some("http://127.0.0.1:8080".into())
        );
        assert_eq!(origin("http://[::1]:80/"), Some("http://[::1]".into()));
        assert_eq!(origin("https://user:pw@api.github.com/"), None);
        assert_eq!(origin("ftp://example.com/"), None);
    }
}
