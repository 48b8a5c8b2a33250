//! Outbound HTTP through the host: a small blocking client over
//! `wasi:http/outgoing-handler`.
//!
//! Needs the `http` capability for the request's origin (scheme, host and
//! port): `http = { hosts = ["api.github.com"] }` in the manifest, granted
//! by the operator. The host decides every request; a refusal comes back
//! as an [`HttpError`] saying why, never as a panic.
//!
//! ```no_run
//! use greenroom_sdk::http::Request;
//!
//! # fn f() -> greenroom_sdk::Result<()> {
//! let response = Request::get("https://api.github.com/repos/acme/shop")?
//!     .query(&[("per_page", "1")])
//!     .header("accept", "application/vnd.github+json")
//!     .credential("github")
//!     .send()?;
//! if response.status == 200 {
//!     let repository: serde_json::Value = response.json()?;
//! }
//! # Ok(()) }
//! ```
//!
//! **Tokens never reach the plugin.** [`Request::credential`] names a
//! credential the operator configured (`[[secrets]]`); the host removes
//! the naming header and sets the credential's own on its copy of the
//! request, only when the request goes to the origin the credential is
//! bound to.
//!
//! Limits: the host allows a number of requests per call (50 unless the
//! operator changed it), a response body size (10 MiB) and a time per
//! request (10 s); redirects come back as 3xx responses for the plugin to
//! follow or not, each new request decided again.
//!
//! [`Request::query`] encodes its parameters; text going into a URL's path
//! goes through [`encode_component`] first
//! (`format!("{base}/branches/{}", encode_component(branch))`).

use crate::bindings::wasi::http::outgoing_handler;
use crate::bindings::wasi::http::types::{
    ErrorCode, Fields, IncomingResponse, Method as WasiMethod, OutgoingBody, OutgoingRequest,
    Scheme, http_error_code,
};
use crate::bindings::wasi::io::streams::StreamError;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use std::fmt;

/// The header that names a credential for the host to attach.
pub const CREDENTIAL_HEADER: &str = "greenroom-credential";

/// The bytes written to the host per call while sending a body: the
/// output stream's `blocking-write-and-flush` takes at most 4096.
const WRITE_CHUNK: usize = 4096;

/// The bytes asked for per read of a response body.
const READ_CHUNK: u64 = 64 * 1024;

/// What [`encode_component`] leaves as it is: RFC 3986's unreserved
/// characters, the only ones that mean the same in every part of a URL.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `text` percent-encoded as one URL path segment or query name or value:
/// every byte but RFC 3986's unreserved characters (`A-Z a-z 0-9 - . _ ~`),
/// so a `/`, `?`, `&` or `=` in it cannot change the URL's shape.
///
/// ```
/// use greenroom_sdk::http::encode_component;
///
/// assert_eq!(encode_component("release/2.x"), "release%2F2.x");
/// assert_eq!(encode_component("a b&c=ü"), "a%20b%26c%3D%C3%BC");
/// ```
pub fn encode_component(text: &str) -> String {
    utf8_percent_encode(text, UNRESERVED).to_string()
}

/// An HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`
    Get,
    /// `HEAD`
    Head,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
}

/// Why a request got no response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// The URL is not an absolute `http://` or `https://` URL with a host
    /// (user information is not allowed).
    InvalidUrl(String),
    /// A header name or value is not allowed.
    InvalidHeader(String),
    /// The host refused the request: its origin is not granted to the
    /// plugin, or a credential it named may not go there. The operator
    /// grants `http:<origin>`.
    Denied {
        /// The origin asked for, in grant form (`api.github.com`,
        /// `http://10.0.0.5:8080`).
        origin: String,
    },
    /// The host refused to connect: the name resolves to a loopback,
    /// private or link-local address the operator did not allow.
    AddressProhibited {
        /// The origin asked for.
        origin: String,
    },
    /// The call sent as many requests as the host allows per call.
    TooManyRequests,
    /// The response body is larger than the host allows.
    TooLarge,
    /// No answer in time.
    Timeout,
    /// Anything else between here and the server (name lookup, connection,
    /// TLS, protocol), in the host's words.
    Transport(String),
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::InvalidUrl(url) => write!(
                f,
                "`{url}` is not an absolute http:// or https:// URL with a host"
            ),
            HttpError::InvalidHeader(name) => write!(f, "header `{name}` is not allowed"),
            HttpError::Denied { origin } => write!(
                f,
                "the host refused the request to {origin}: the plugin was not granted \
                 `http:{origin}`, or a credential it named may not be sent there"
            ),
            HttpError::AddressProhibited { origin } => write!(
                f,
                "the host refused to connect to {origin}: it resolves to a loopback or private \
                 address the operator did not allow"
            ),
            HttpError::TooManyRequests => {
                f.write_str("the call sent as many HTTP requests as the host allows per call")
            }
            HttpError::TooLarge => f.write_str("the response is larger than the host allows"),
            HttpError::Timeout => f.write_str("no response in time"),
            HttpError::Transport(reason) => write!(f, "the request failed: {reason}"),
        }
    }
}

impl std::error::Error for HttpError {}

impl From<HttpError> for crate::Error {
    fn from(error: HttpError) -> crate::Error {
        crate::Error::failed(error.to_string())
    }
}

/// A request, built then [sent](Request::send).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    method: Method,
    https: bool,
    authority: String,
    path_and_query: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Option<Vec<u8>>,
}

impl Request {
    /// A request with `method` to `url`, an absolute `http://` or
    /// `https://` URL (`https://api.github.com/repos/acme/shop?per_page=1`).
    pub fn new(method: Method, url: &str) -> Result<Request, HttpError> {
        let invalid = || HttpError::InvalidUrl(url.to_owned());
        let (https, rest) = if let Some(rest) = strip_prefix_ignore_case(url, "https://") {
            (true, rest)
        } else if let Some(rest) = strip_prefix_ignore_case(url, "http://") {
            (false, rest)
        } else {
            return Err(invalid());
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        let tail = tail.split('#').next().unwrap_or_default();
        if authority.is_empty()
            || authority.contains('@')
            || authority.contains(char::is_whitespace)
        {
            return Err(invalid());
        }
        let path_and_query = match tail {
            "" => "/".to_owned(),
            t if t.starts_with('?') => format!("/{t}"),
            t => t.to_owned(),
        };
        if path_and_query.contains(char::is_whitespace) {
            return Err(invalid());
        }
        Ok(Request {
            method,
            https,
            authority: authority.to_owned(),
            path_and_query,
            headers: Vec::new(),
            body: None,
        })
    }

    /// A `GET` request to `url`.
    pub fn get(url: &str) -> Result<Request, HttpError> {
        Request::new(Method::Get, url)
    }

    /// Appends query parameters, percent-encoded
    /// (`.query(&[("branch", "release/2.x")])` adds `branch=release%2F2.x`).
    pub fn query(mut self, pairs: &[(&str, &str)]) -> Request {
        for (name, value) in pairs {
            let separator = if self.path_and_query.contains('?') {
                '&'
            } else {
                '?'
            };
            self.path_and_query.push(separator);
            self.path_and_query.push_str(&encode_component(name));
            self.path_and_query.push('=');
            self.path_and_query.push_str(&encode_component(value));
        }
        self
    }

    /// Adds a header (names are case-insensitive; a name may repeat).
    pub fn header(mut self, name: &str, value: &str) -> Request {
        self.headers
            .push((name.to_ascii_lowercase(), value.as_bytes().to_vec()));
        self
    }

    /// Names a credential the operator configured for this plugin; the
    /// host sends it in place of this header, when the request goes to the
    /// credential's origin. The plugin never sees the token.
    pub fn credential(self, name: &str) -> Request {
        self.header(CREDENTIAL_HEADER, name)
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Request {
        self.body = Some(body.into());
        self
    }

    /// Sets a JSON body and its `content-type`.
    pub fn json(self, value: &impl serde::Serialize) -> Result<Request, crate::Error> {
        let body = serde_json::to_vec(value)?;
        Ok(self.header("content-type", "application/json").body(body))
    }

    /// The origin the request goes to, as grants write it:
    /// `api.github.com` (HTTPS on 443), `sonar.example.com:9000`,
    /// `http://10.0.0.5:8080`.
    pub fn origin(&self) -> String {
        let authority = self.authority.to_ascii_lowercase();
        let default_port = if self.https { ":443" } else { ":80" };
        let authority = authority.strip_suffix(default_port).unwrap_or(&authority);
        if self.https {
            authority.to_owned()
        } else {
            format!("http://{authority}")
        }
    }

    /// The path and query, e.g. `/repos/acme/shop?per_page=1`.
    pub fn path_and_query(&self) -> &str {
        &self.path_and_query
    }

    /// The value of header `name`, if set (the first one).
    pub fn header_value(&self, name: &str) -> Option<&[u8]> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_slice())
    }

    /// Sends it through the host and waits for the whole response.
    pub fn send(self) -> Result<Response, HttpError> {
        let origin = self.origin();
        let fields = Fields::from_list(&self.headers)
            .map_err(|error| HttpError::InvalidHeader(format!("{error:?}")))?;
        let request = OutgoingRequest::new(fields);
        let invalid = || HttpError::InvalidUrl(self.authority.clone());
        request
            .set_method(&wasi_method(self.method))
            .map_err(|()| invalid())?;
        let scheme = if self.https {
            Scheme::Https
        } else {
            Scheme::Http
        };
        request.set_scheme(Some(&scheme)).map_err(|()| invalid())?;
        request
            .set_authority(Some(&self.authority))
            .map_err(|()| invalid())?;
        request
            .set_path_with_query(Some(&self.path_and_query))
            .map_err(|()| invalid())?;
        // A request without a body never takes it: the host sends none.
        let body = match &self.body {
            Some(bytes) => Some((request.body().map_err(|()| invalid())?, bytes)),
            None => None,
        };
        let pending =
            outgoing_handler::handle(request, None).map_err(|code| from_code(code, &origin))?;
        if let Some((body, bytes)) = body {
            write_body(body, bytes, &origin)?;
        }
        pending.subscribe().block();
        let response = match pending.get() {
            Some(Ok(Ok(response))) => response,
            Some(Ok(Err(code))) => return Err(from_code(code, &origin)),
            Some(Err(())) | None => {
                return Err(HttpError::Transport("the host gave no response".into()));
            }
        };
        read_response(response, &origin)
    }
}

/// A response, read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The headers, names lower-cased.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The first value of header `name` as text, if it is set and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| std::str::from_utf8(v).ok())
    }

    /// The body as UTF-8 text (invalid bytes replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body decoded from JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, crate::Error> {
        Ok(serde_json::from_slice(&self.body)?)
    }
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

fn wasi_method(method: Method) -> WasiMethod {
    match method {
        Method::Get => WasiMethod::Get,
        Method::Head => WasiMethod::Head,
        Method::Post => WasiMethod::Post,
        Method::Put => WasiMethod::Put,
        Method::Patch => WasiMethod::Patch,
        Method::Delete => WasiMethod::Delete,
    }
}

/// The host's error code as what it means for the plugin.
fn from_code(code: ErrorCode, origin: &str) -> HttpError {
    let origin = origin.to_owned();
    match code {
        ErrorCode::HttpRequestDenied => HttpError::Denied { origin },
        ErrorCode::DestinationIpProhibited => HttpError::AddressProhibited { origin },
        ErrorCode::ConnectionLimitReached => HttpError::TooManyRequests,
        ErrorCode::HttpResponseBodySize(_) => HttpError::TooLarge,
        ErrorCode::ConnectionTimeout
        | ErrorCode::ConnectionReadTimeout
        | ErrorCode::ConnectionWriteTimeout
        | ErrorCode::HttpResponseTimeout
        | ErrorCode::DnsTimeout => HttpError::Timeout,
        ErrorCode::HttpRequestUriInvalid => HttpError::InvalidUrl(origin),
        other => HttpError::Transport(format!("{other:?}").replace("ErrorCode::", "")),
    }
}

/// Streams the body to the host, then finishes it (the stream, a child
/// of the body, is dropped first: finishing with it alive traps).
fn write_body(body: OutgoingBody, bytes: &[u8], origin: &str) -> Result<(), HttpError> {
    {
        let stream = body
            .write()
            .map_err(|()| HttpError::Transport("the request body cannot be written".into()))?;
        for chunk in bytes.chunks(WRITE_CHUNK) {
            stream
                .blocking_write_and_flush(chunk)
                .map_err(|error| stream_error(error, origin))?;
        }
    }
    OutgoingBody::finish(body, None).map_err(|code| from_code(code, origin))
}

fn read_response(response: IncomingResponse, origin: &str) -> Result<Response, HttpError> {
    let status = response.status();
    let headers = response
        .headers()
        .entries()
        .into_iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), value))
        .collect();
    let body = response
        .consume()
        .map_err(|()| HttpError::Transport("the response body was taken already".into()))?;
    let stream = body
        .stream()
        .map_err(|()| HttpError::Transport("the response body was taken already".into()))?;
    let mut bytes = Vec::new();
    loop {
        match stream.blocking_read(READ_CHUNK) {
            Ok(chunk) => bytes.extend_from_slice(&chunk),
            Err(StreamError::Closed) => break,
            Err(error) => return Err(stream_error(error, origin)),
        }
    }
    Ok(Response {
        status,
        headers,
        body: bytes,
    })
}

fn stream_error(error: StreamError, origin: &str) -> HttpError {
    match error {
        StreamError::Closed => HttpError::Transport("the connection closed".into()),
        StreamError::LastOperationFailed(error) => match http_error_code(&error) {
            Some(code) => from_code(code, origin),
            // The first line: with RUST_BACKTRACE set, wasmtime appends the
            // host's backtrace.
            None => HttpError::Transport(
                error
                    .to_debug_string()
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_a_url_into_origin_and_path() {
        let request =
            Request::get("https://API.github.com/repos/acme/shop?per_page=1#x").expect("a URL");
        assert_eq!(request.origin(), "api.github.com");
        assert_eq!(request.path_and_query(), "/repos/acme/shop?per_page=1");
        let request = Request::get("http://127.0.0.1:8080").expect("a URL");
        assert_eq!(request.origin(), "http://127.0.0.1:8080");
        assert_eq!(request.path_and_query(), "/");
        let request = Request::get("https://sonar.example.com:9000?x=1").expect("a URL");
        assert_eq!(request.origin(), "sonar.example.com:9000");
        assert_eq!(request.path_and_query(), "/?x=1");
    }

    #[test]
    fn the_default_port_is_left_out_of_the_origin_as_grants_write_it() {
        for (url, origin) in [
            ("https://api.github.com:443/", "api.github.com"),
            ("http://example.com:80/", "http://example.com"),
            ("https://example.com:80/", "example.com:80"),
            ("http://[::1]:8080/", "http://[::1]:8080"),
        ] {
            assert_eq!(Request::get(url).expect("a URL").origin(), origin, "{url}");
        }
    }

    #[test]
    fn refuses_what_is_not_an_absolute_http_url() {
        for url in [
            "api.github.com/repos",
            "ftp://example.com/",
            "https://",
            "https:///path",
            "https://user:pw@example.com/",
            "https://exa mple.com/",
            "https://example.com/a b",
        ] {
            assert!(
                matches!(Request::get(url), Err(HttpError::InvalidUrl(_))),
                "{url} was accepted"
            );
        }
    }

    #[test]
    fn encodes_everything_but_unreserved_characters() {
        assert_eq!(
            encode_component("a/b c:ü?#%"),
            "a%2Fb%20c%3A%C3%BC%3F%23%25"
        );
        assert_eq!(
            encode_component("platform-admins_2.x~AZ09"),
            "platform-admins_2.x~AZ09"
        );
        assert_eq!(encode_component(""), "");
    }

    #[test]
    fn query_parameters_are_percent_encoded_and_appended() {
        let request =
            Request::get("https://api.github.com/repos/acme/shop/actions/runs?per_page=1")
                .expect("a URL")
                .query(&[("branch", "release/2.x"), ("q", "a b&c=d")]);
        assert_eq!(
            request.path_and_query(),
            "/repos/acme/shop/actions/runs?per_page=1&branch=release%2F2.x&q=a%20b%26c%3Dd"
        );
        let request = Request::get("https://x.example/p")
            .expect("a URL")
            .query(&[("k", "ü")]);
        assert_eq!(request.path_and_query(), "/p?k=%C3%BC");
    }

    #[test]
    fn a_credential_is_named_in_its_header_never_carried() {
        let request = Request::get("https://api.github.com/")
            .expect("a URL")
            .header("Accept", "application/json")
            .credential("github");
        assert_eq!(
            request.header_value("greenroom-credential"),
            Some(&b"github"[..])
        );
        assert_eq!(
            request.header_value("ACCEPT"),
            Some(&b"application/json"[..])
        );
    }

    #[test]
    fn a_json_body_sets_its_content_type() {
        let request = Request::new(Method::Post, "https://x.example/facts")
            .expect("a URL")
            .json(&serde_json::json!({ "a": 1 }))
            .expect("serialisable");
        assert_eq!(
            request.header_value("content-type"),
            Some(&b"application/json"[..])
        );
        assert_eq!(request.body.as_deref(), Some(&br#"{"a":1}"#[..]));
    }

    #[test]
    fn refusals_say_what_to_grant() {
        let denied = from_code(ErrorCode::HttpRequestDenied, "api.github.com");
        assert_eq!(
            denied,
            HttpError::Denied {
                origin: "api.github.com".into()
            }
        );
        assert!(
            denied.to_string().contains("`http:api.github.com`"),
            "{denied}"
        );
        assert_eq!(
            from_code(ErrorCode::ConnectionLimitReached, "x"),
            HttpError::TooManyRequests
        );
        assert_eq!(
            from_code(ErrorCode::HttpResponseBodySize(Some(1)), "x"),
            HttpError::TooLarge
        );
        assert_eq!(
            from_code(ErrorCode::ConnectionRefused, "x"),
            HttpError::Transport("ConnectionRefused".into())
        );
    }

    #[test]
    fn responses_read_headers_case_insensitively_and_decode_json() {
        let response = Response {
            status: 200,
            headers: vec![("content-type".into(), b"application/json".to_vec())],
            body: br#"{"ok":true}"#.to_vec(),
        };
        assert!(response.is_success());
        assert_eq!(response.header("Content-Type"), Some("application/json"));
        let value: serde_json::Value = response.json().expect("JSON");
        assert_eq!(value["ok"], true);
    }
}
