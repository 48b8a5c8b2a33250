//! Hostile test plugin: tries every way out of its `http` grant through
//! `wasi:http` and draws what happened, one line per attempt. Its API runs
//! one attempt per call: `GET /api/plugins/test-http-hostile/<attempt>`.
//!
//! It talks to the fixture origin (`tests/fixtures/origin.rs`) at
//! `127.0.0.1:27184`, granted by address.
use greenroom_sdk::bindings::wasi::http::outgoing_handler;
use greenroom_sdk::bindings::wasi::http::types::{
    ErrorCode, Fields, IncomingResponse, OutgoingRequest, Scheme, http_error_code,
};
use greenroom_sdk::bindings::wasi::io::streams::StreamError;
use greenroom_sdk::prelude::*;

const ORIGIN: &str = "http://127.0.0.1:27184";

/// Every attempt, in the order the widget makes them. `flood` comes last:
/// it spends what is left of the call's request budget.
const ATTEMPTS: &[&str] = &[
    "granted",
    "ungranted",
    "loopback",
    "metadata",
    "private-name",
    "redirect",
    "credential",
    "credential-elsewhere",
    "credential-unknown",
    "oversized",
    "flood",
];

struct HttpHostile;

/// A response, read whole unless reading failed.
struct Reply {
    status: u16,
    location: Option<String>,
    body: Result<Vec<u8>, (usize, String)>,
}

/// `GET url` with `headers`; `Err` says why no response came.
fn get(url: &str, headers: &[(&str, &str)]) -> std::result::Result<Reply, String> {
    let (scheme, rest) = url.split_once("://").expect("an absolute URL");
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    let entries: Vec<(String, Vec<u8>)> = headers
        .iter()
        .map(|(name, value)| (name.to_string(), value.as_bytes().to_vec()))
        .collect();
    let fields = Fields::from_list(&entries).map_err(|e| format!("bad headers ({e:?})"))?;
    let request = OutgoingRequest::new(fields);
    let scheme = if scheme == "http" {
        Scheme::Http
    } else {
        Scheme::Https
    };
    let _ = request.set_scheme(Some(&scheme));
    let _ = request.set_authority(Some(authority));
    let _ = request.set_path_with_query(Some(path));
    let pending = outgoing_handler::handle(request, None).map_err(|code| refused(&code))?;
    pending.subscribe().block();
    let response = match pending.get() {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(code))) => return Err(refused(&code)),
        Some(Err(())) | None => return Err("refused (no response)".to_owned()),
    };
    Ok(read(response))
}

fn refused(code: &ErrorCode) -> String {
    format!("refused ({})", name(code))
}

/// `HttpRequestDenied`, `HttpResponseBodySize(Some(1048576))`, …
fn name(code: &ErrorCode) -> String {
    format!("{code:?}").replace("ErrorCode::", "")
}

fn read(response: IncomingResponse) -> Reply {
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .first()
        .map(|v| String::from_utf8_lossy(v).into_owned());
    let body = response.consume().expect("the body is taken once");
    let stream = body.stream().expect("the stream is taken once");
    let mut bytes = Vec::new();
    let mut failed = None;
    loop {
        match stream.blocking_read(64 * 1024) {
            Ok(chunk) => bytes.extend_from_slice(&chunk),
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(error)) => {
                // The error code if the host attached one, else its text.
                failed = Some(match http_error_code(&error) {
                    Some(code) => name(&code),
                    // The first line: with RUST_BACKTRACE set, wasmtime
                    // appends the host's backtrace.
                    None => error
                        .to_debug_string()
                        .lines()
                        .next()
                        .unwrap_or_default()
                        .to_owned(),
                });
                break;
            }
        }
    }
    drop(stream);
    drop(body);
    Reply {
        status,
        location,
        body: match failed {
            None => Ok(bytes),
            Some(code) => Err((bytes.len(), code)),
        },
    }
}

/// A reply as one line: status and body, or how reading it failed.
fn shown(reply: std::result::Result<Reply, String>) -> String {
    match reply {
        Err(why) => why,
        Ok(reply) => match reply.body {
            Ok(body) => format!("{} {}", reply.status, String::from_utf8_lossy(&body)),
            Err((read, why)) => {
                let read = if read <= 1 << 20 {
                    "at most 1048576".to_owned()
                } else {
                    read.to_string()
                };
                format!("{} read {read} bytes, then failed ({why})", reply.status)
            }
        },
    }
}

fn attempt(name: &str) -> String {
    match name {
        "granted" => shown(get(&format!("{ORIGIN}/hello"), &[])),
        "ungranted" => shown(get("https://example.com/", &[])),
        "loopback" => shown(get("http://127.0.0.1:7007/", &[])),
        "metadata" => shown(get("http://169.254.169.254/latest/meta-data/", &[])),
        "private-name" => shown(get("http://localhost:27184/hello", &[])),
        "redirect" => match get(&format!("{ORIGIN}/redirect"), &[]) {
            Ok(Reply {
                status,
                location: Some(location),
                ..
            }) => format!(
                "{status} to {location}, then {}",
                shown(get(&location, &[]))
            ),
            other => format!("no redirect: {}", shown(other)),
        },
        "credential" => shown(get(
            &format!("{ORIGIN}/whoami"),
            &[("greenroom-credential", "origin")],
        )),
        "credential-elsewhere" => shown(get(
            &format!("{ORIGIN}/whoami"),
            &[("greenroom-credential", "github")],
        )),
        "credential-unknown" => shown(get(
            &format!("{ORIGIN}/whoami"),
            &[("greenroom-credential", "root")],
        )),
        "oversized" => shown(get(&format!("{ORIGIN}/big"), &[])),
        "oversized-declared" => shown(get(&format!("{ORIGIN}/big-declared"), &[])),
        "slow" => shown(get(&format!("{ORIGIN}/slow"), &[])),
        "flood" => {
            let mut sent = 0;
            loop {
                match get(&format!("{ORIGIN}/hello"), &[]) {
                    Ok(_) if sent < 1000 => sent += 1,
                    Ok(_) => return format!("sent {sent}, never refused"),
                    Err(why) => return format!("sent {sent}, then {why}"),
                }
            }
        }
        other => format!("no attempt `{other}`"),
    }
}

impl Plugin for HttpHostile {
    fn render(_slot: &Slot, _cx: &Context) -> Result<View> {
        let mut lines = column();
        for name in ATTEMPTS {
            lines = lines.child(text(format!("{name}: {}", attempt(name))));
        }
        Ok(lines.into())
    }

    fn handle(request: &Request) -> Result<Response> {
        Ok(Response::json(
            200,
            &serde_json::json!({ "outcome": attempt(&request.path) }),
        ))
    }
}

greenroom_sdk::export!(HttpHostile);
