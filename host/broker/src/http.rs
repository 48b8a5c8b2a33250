//! Outbound HTTP (`wasi:http/outgoing-handler`), brokered per host.
//!
//! Every request is decided against the plugin's `http` grant first: a
//! request to a host it was not granted is denied and audited. Requests to
//! granted hosts are not sent by this host yet (the egress proxy with
//! redirect re-checks, private-address refusal and credential injection is
//! not built), so they fail with an internal error that says so — the
//! plugin sees a typed failure, never a silent success.

use crate::session::{Access, Session};
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

type ResponseFuture = Box<
    dyn Future<
            Output = wasmtime_wasi_http::Result<(
                http::Response<WasiBody>,
                Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
            )>,
        > + Send,
>;

impl WasiHttpHooks for Session {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        _options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> ResponseFuture {
        let authority = request
            .uri()
            .authority()
            .map(|a| a.as_str().to_ascii_lowercase())
            .unwrap_or_default();
        let error = match self.decide(Access::Http {
            authority: &authority,
        }) {
            Err(_) => Error::HttpRequestDenied,
            Ok(()) => Error::InternalError(Some(
                "outbound HTTP is not available on this Greenroom host yet".into(),
            )),
        };
        Box::new(async move { Err(error) })
    }
}
