//! Hostile test plugin: tries to leave its sandbox — files, environment,
//! sockets, outbound HTTP — and draws what happened, one line each; echoes
//! the request headers the host lets through and tries to set response
//! headers it must not; counts scheduled task runs.
use greenroom_sdk::bindings::wasi::http::outgoing_handler;
use greenroom_sdk::bindings::wasi::http::types::{Fields, OutgoingRequest, Scheme};
use greenroom_sdk::prelude::*;

struct Probe;

/// Sends `GET https://<authority>/` through `wasi:http` and says how it went.
fn http(authority: &str) -> String {
    let request = OutgoingRequest::new(Fields::new());
    let _ = request.set_scheme(Some(&Scheme::Https));
    let _ = request.set_authority(Some(authority));
    let _ = request.set_path_with_query(Some("/"));
    match outgoing_handler::handle(request, None) {
        Err(code) => format!("refused ({code:?})"),
        Ok(response) => {
            response.subscribe().block();
            match response.get() {
                Some(Ok(Ok(_))) => "SENT".to_owned(),
                Some(Ok(Err(code))) => format!("refused ({code:?})"),
                Some(Err(())) | None => "refused (no response)".to_owned(),
            }
        }
    }
}

impl Plugin for Probe {
    fn render(_slot: &Slot, _cx: &Context) -> Result<View> {
        let files = match std::fs::read_dir("/") {
            Ok(entries) => format!("READ {} entries", entries.count()),
            Err(error) => format!("refused ({error})"),
        };
        let secret = match std::fs::read_to_string("/etc/passwd") {
            Ok(_) => "READ".to_owned(),
            Err(error) => format!("refused ({error})"),
        };
        let socket = match std::net::TcpStream::connect("127.0.0.1:7007") {
            Ok(_) => "CONNECTED".to_owned(),
            Err(error) => format!("refused ({error})"),
        };
        let ticks = storage::get_string("ticks")?.unwrap_or_else(|| "0".to_owned());
        Ok(column()
            .child(text(format!("files: {files}")))
            .child(text(format!("/etc/passwd: {secret}")))
            .child(text(format!(
                "environment: {} variables",
                std::env::vars().count()
            )))
            .child(text(format!("tcp: {socket}")))
            .child(text(format!("http ungranted: {}", http("example.com"))))
            .child(text(format!(
                "http granted: {}",
                http("granted.example.com")
            )))
            .child(text(format!("ticks: {ticks}")))
            .into())
    }

    fn handle(request: &Request) -> Result<Response> {
        match request.path.as_str() {
            "headers" => {
                let mut response =
                    Response::json(200, &serde_json::json!({ "headers": request.headers }));
                for (name, value) in [
                    ("set-cookie", "greenroom_csrf=stolen; Path=/"),
                    ("location", "https://evil.example.com/"),
                    ("content-security-policy", "default-src *"),
                    ("x-frame-options", "ALLOWALL"),
                    ("access-control-allow-origin", "*"),
                    ("refresh", "0; url=https://evil.example.com/"),
                    ("content-type", "text/html"),
                    ("x-probe", "dropped"),
                    ("clear-site-data", "\"*\""),
                    ("www-authenticate", "Basic realm=\"portal\""),
                    ("transfer-encoding", "chunked"),
                    ("content-length", "1"),
                    ("connection", "close"),
                    ("x-accel-redirect", "/internal/secrets"),
                    ("link", "<https://evil.example.com/>; rel=preload"),
                    ("etag", "\"probe-1\""),
                    ("cache-control", "no-store"),
                ] {
                    response.headers.push((name.to_owned(), value.to_owned()));
                }
                Ok(response)
            }
            "bad-status" => Ok(Response::text(999, "not an HTTP status")),
            "switching-protocols" => {
                let mut response = Response::text(101, "");
                response
                    .headers
                    .push(("upgrade".to_owned(), "websocket".to_owned()));
                Ok(response)
            }
            // A redirect to a portal path, and a `location` on a 200.
            "redirect" => {
                let mut response = Response::text(303, "");
                response
                    .headers
                    .push(("location".to_owned(), "/plugins".to_owned()));
                Ok(response)
            }
            "located" => {
                let mut response = Response::text(200, "");
                response
                    .headers
                    .push(("location".to_owned(), "/plugins".to_owned()));
                Ok(response)
            }
            "header-flood" => {
                let mut response = Response::text(200, "");
                for i in 0..20_000 {
                    response
                        .headers
                        .push((format!("x-flood-{i}"), "x".to_owned()));
                }
                Ok(response)
            }
            "huge-header" => {
                let mut response = Response::text(200, "");
                response
                    .headers
                    .push(("etag".to_owned(), "x".repeat(64 << 10)));
                Ok(response)
            }
            _ => Ok(Response::json(
                404,
                &serde_json::json!({ "error": "no such route" }),
            )),
        }
    }

    fn run_task(name: &str) -> Result<()> {
        match name {
            "tick" => storage::increment("ticks", 1).map(|_| ()),
            other => Err(Error::unsupported(format!("no task `{other}`"))),
        }
    }
}

greenroom_sdk::export!(Probe);
