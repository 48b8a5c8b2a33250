//! Sending a decided request: resolve, check the addresses, connect to a
//! checked one, TLS, HTTP/1.1, and a response body that stops at its cap.
//!
//! The connection goes to the address that was checked, never to the name
//! again, so DNS cannot answer one address to the check and another to the
//! connect. TLS still verifies the certificate against the name.

use super::HttpLimits;
use crate::session::Auditor;
use bytes::Bytes;
use greenroom_contract::{HttpOrigin, HttpScheme};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep, timeout_at};
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody};

/// How long resolving, connecting and the TLS handshake may take together.
/// A reachable host answers in well under a second; past this a dead or
/// filtered host would only hold the plugin's call (and its instance slot)
/// until the call's own deadline.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What the broker decided about a request, for sending it.
pub(crate) struct Plan {
    /// Where it goes.
    pub(crate) origin: HttpOrigin,
    /// Whether the origin may be at a non-public address: the grant names
    /// the address itself, or the operator listed the name.
    pub(crate) private_allowed: bool,
    /// The call's limits.
    pub(crate) limits: HttpLimits,
    /// For denials found on the way.
    pub(crate) auditor: Auditor,
}

/// What `WasiHttpHooks::send_request` hands back: the response, and the
/// future that drives the connection while the body is read.
pub(crate) type Sent = (
    http::Response<WasiBody>,
    Box<dyn Future<Output = Result<(), Error>> + Send>,
);

/// A TCP or TLS stream.
trait Stream: AsyncRead + AsyncWrite + Send + Sync + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Sync + Unpin + 'static> Stream for T {}

/// Sends `request` as `plan` says, within its limits.
pub(crate) async fn send(
    mut request: http::Request<WasiBody>,
    plan: Plan,
    options: Option<RequestOptions>,
) -> Result<Sent, Error> {
    let started = Instant::now();
    let deadline = started + plan.limits.timeout;
    let within = |asked: Option<Duration>, ours: Instant| {
        asked.map_or(ours, |asked| ours.min(started + asked))
    };
    let connected_by = within(
        options.and_then(|o| o.connect_timeout),
        deadline.min(started + CONNECT_TIMEOUT),
    );
    let addresses = resolve(&plan, connected_by).await?;
    let tcp = connect(&addresses, connected_by).await?;
    let stream: Box<dyn Stream> = match plan.origin.scheme() {
        HttpScheme::Http => Box::new(tcp),
        HttpScheme::Https => Box::new(tls(tcp, &plan.origin, connected_by).await?),
    };
    let (mut sender, connection) = timeout_at(
        connected_by,
        hyper::client::conn::http1::handshake(TokioIo::new(stream)),
    )
    .await
    .map_err(|_| Error::ConnectionTimeout)??;

    // The request line carries only the path: the scheme and authority were
    // for us, and the `host` header names the origin.
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .parse()
        .map_err(|_| Error::HttpRequestUriInvalid)?;
    *request.uri_mut() = path;

    let mut connection = Some(connection);
    let head = async {
        let mut response = pin!(sender.send_request(request));
        let running = connection.as_mut().expect("the connection was just made");
        tokio::select! {
            biased;
            head = response.as_mut() => head.map(|head| (head, false)),
            closed = running => {
                closed?;
                response.await.map(|head| (head, true))
            }
        }
    };
    let first_byte_by = within(options.and_then(|o| o.first_byte_timeout), deadline);
    let (response, closed) = timeout_at(first_byte_by, head)
        .await
        .map_err(|_| Error::ConnectionReadTimeout)??;
    if closed {
        connection = None;
    }

    let limit = plan.limits.response_bytes;
    if let Some(declared) = declared_length(&response).filter(|n| *n > limit) {
        deny_oversized(&plan, limit);
        return Err(Error::HttpResponseBodySize(Some(declared)));
    }
    let response = response.map(|incoming| {
        Capped {
            incoming,
            limit,
            left: limit,
            deadline: Box::pin(tokio::time::sleep_until(deadline)),
            plan: Some(plan),
        }
        .boxed_unsync()
    });
    let drive = async move {
        match connection {
            Some(connection) => connection.await.map_err(Error::from),
            None => Ok(()),
        }
    };
    Ok((response, Box::new(drive)))
}

/// The addresses to try: the granted address itself, or what the name
/// resolves to, without the non-public ones unless they are allowed.
async fn resolve(plan: &Plan, by: Instant) -> Result<Vec<SocketAddr>, Error> {
    let origin = &plan.origin;
    if let Some(ip) = origin.ip() {
        return Ok(vec![SocketAddr::new(ip, origin.port())]);
    }
    let found: Vec<SocketAddr> =
        timeout_at(by, tokio::net::lookup_host((origin.host(), origin.port())))
            .await
            .map_err(|_| Error::DnsTimeout)?
            .map_err(|error| Error::DnsError {
                rcode: Some(error.to_string()),
                info_code: None,
            })?
            .collect();
    if plan.private_allowed {
        return Ok(found);
    }
    match greenroom_egress::public_only(found) {
        Ok(public) if public.is_empty() => Err(Error::DestinationNotFound),
        Ok(public) => Ok(public),
        Err(refused) => {
            plan.auditor.deny(
                "http.request",
                Some(&origin.to_string()),
                &format!(
                    "`{}` resolved to {}, {}; grant the address itself or list the host in \
                     [egress] private-hosts to allow it",
                    origin.host(),
                    refused.address,
                    refused.reason
                ),
            );
            Err(Error::DestinationIpProhibited)
        }
    }
}

/// A connection to the first address that accepts one.
async fn connect(addresses: &[SocketAddr], by: Instant) -> Result<TcpStream, Error> {
    let mut failure = Error::DestinationNotFound;
    for address in addresses {
        match timeout_at(by, TcpStream::connect(address)).await {
            Err(_) => return Err(Error::ConnectionTimeout),
            Ok(Ok(stream)) => return Ok(stream),
            Ok(Err(error)) => failure = Error::Connect(error),
        }
    }
    Err(failure)
}

/// The TLS client: the Mozilla roots webpki-roots ships, ring for the
/// cryptography (as wasmtime-wasi-http's own sender).
static TLS: LazyLock<Arc<rustls::ClientConfig>> = LazyLock::new(|| {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("ring supports rustls' default protocol versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    Arc::new(config)
});

async fn tls(
    tcp: TcpStream,
    origin: &HttpOrigin,
    by: Instant,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, Error> {
    use rustls::pki_types::ServerName;
    let name = match origin.ip() {
        Some(ip) => ServerName::IpAddress(ip.into()),
        None => ServerName::try_from(origin.host().to_owned())
            .map_err(|_| Error::HttpRequestUriInvalid)?,
    };
    timeout_at(
        by,
        tokio_rustls::TlsConnector::from(TLS.clone()).connect(name, tcp),
    )
    .await
    .map_err(|_| Error::ConnectionTimeout)?
    .map_err(Error::Tls)
}

/// The `content-length` the response declares, if any.
fn declared_length<B>(response: &http::Response<B>) -> Option<u64> {
    response
        .headers()
        .get(http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

fn deny_oversized(plan: &Plan, limit: u64) {
    plan.auditor.deny(
        "http.response",
        Some(&plan.origin.to_string()),
        &format!(
            "the response is larger than the {} a response may have",
            bytesize::ByteSize::b(limit).display().iec()
        ),
    );
}

/// A response body that fails once it passes its byte cap or the
/// request's deadline. The host stops reading there; the plugin's stream
/// ends with `HTTP-response-body-size` or `HTTP-response-timeout`.
struct Capped {
    incoming: hyper::body::Incoming,
    limit: u64,
    left: u64,
    deadline: Pin<Box<Sleep>>,
    /// Until the cap is hit, to record that once.
    plan: Option<Plan>,
}

impl Body for Capped {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let this = &mut *self;
        if this.deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(Error::HttpResponseTimeout)));
        }
        let frame = match Pin::new(&mut this.incoming).poll_frame(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Ready(Some(Err(error))) => return Poll::Ready(Some(Err(error.into()))),
            Poll::Ready(Some(Ok(frame))) => frame,
        };
        let size = frame.data_ref().map_or(0, |data| data.len() as u64);
        match this.left.checked_sub(size) {
            Some(left) => {
                this.left = left;
                Poll::Ready(Some(Ok(frame)))
            }
            None => {
                if let Some(plan) = this.plan.take() {
                    deny_oversized(&plan, this.limit);
                }
                // Every later data frame fails too.
                this.left = 0;
                Poll::Ready(Some(Err(Error::HttpResponseBodySize(Some(this.limit)))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.incoming.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.incoming.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Session;
    use crate::session::tests::env_with;
    use http_body_util::Empty;
    use std::io::{Read, Write};

    fn empty() -> WasiBody {
        Empty::new().map_err(|never| match never {}).boxed_unsync()
    }

    /// A server on a free loopback port that answers whatever arrives
    /// first on each connection with `reply`, in plain text.
    fn plain_server(reply: &'static [u8]) -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        let port = listener.local_addr().expect("bound").port();
        std::thread::spawn(move || {
            for mut stream in listener.incoming().map_while(Result::ok) {
                let mut first = [0; 4096];
                let _ = stream.read(&mut first);
                let _ = stream.write_all(reply);
            }
        });
        port
    }

    fn plan(origin: &str, session: &Session) -> Plan {
        Plan {
            origin: HttpOrigin::parse(origin).expect("an origin"),
            private_allowed: true,
            limits: HttpLimits::default(),
            auditor: session.auditor(),
        }
    }

    #[tokio::test]
    async fn https_speaks_tls_and_a_server_that_does_not_is_a_tls_error() {
        let port = plain_server(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
        let (_dir, _db, env) = env_with("");
        let session = Session::new(env, None);
        let origin = format!("127.0.0.1:{port}");
        let request = http::Request::get(format!("https://{origin}/"))
            .body(empty())
            .expect("a request");
        let err = send(request, plan(&origin, &session), None)
            .await
            .err()
            .expect("no TLS, no response");
        assert!(matches!(err, Error::Tls(_)), "{err:?}");
    }

    #[tokio::test]
    async fn connects_to_the_checked_address_and_reads_the_response() {
        let port = plain_server(b"HTTP/1.1 204 No Content\r\n\r\n");
        let (_dir, _db, env) = env_with("");
        let session = Session::new(env, None);
        let origin = format!("http://127.0.0.1:{port}");
        let request = http::Request::get(format!("{origin}/"))
            .body(empty())
            .expect("a request");
        let (response, _drive) = send(request, plan(&origin, &session), None)
            .await
            .expect("a response");
        assert_eq!(response.status(), 204);
    }
}
