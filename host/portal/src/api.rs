//! The JSON API: the plugin list, plugin API routes, and the health check.

use crate::error::{AppError, ErrorKind};
use crate::extract::{PluginPath, local_path, query_pairs};
use crate::identity::Actor;
use crate::service::{CALLER_HEADER, Presented, presented};
use crate::state::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use greenroom_runtime::types::{Method as WitMethod, Request};
use serde_json::{Value, json};

/// The request headers a plugin's `handle` sees; every other is dropped.
/// An allow-list, not a deny-list: a portal behind a sign-in proxy or a
/// load balancer receives credentials and personal data under names no
/// list can foresee (`x-forwarded-access-token`, `x-auth-request-*`,
/// `x-amzn-oidc-*`, `cf-access-*`, the configured `[auth.proxy] header`,
/// the cookies, `authorization`), and none of them is the plugin's to read.
/// These describe the body and what the caller wants back, nothing more.
/// The host adds `greenroom-caller` itself for a service's API token.
const FORWARDED_REQUEST_HEADERS: &[&str] = &[
    "accept",
    "accept-language",
    "content-type",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-unmodified-since",
    "idempotency-key",
    "user-agent",
];

/// The response headers a plugin may set; every other is dropped. Each is
/// about the body the plugin returns or how long it may be cached; none
/// can change how a browser treats the portal's origin — no cookies
/// (`set-cookie`), no security or CORS policy, no authentication prompt
/// (`www-authenticate`), no wiping of the portal's storage
/// (`clear-site-data`), no framing (`content-length`, `transfer-encoding`,
/// `connection`: the host computes them), no instruction to a proxy in
/// front (`x-accel-redirect`, `x-sendfile`), no `refresh` or `link`
/// fetches. `location` passes only on a redirect (3xx) to a portal path.
const FORWARDED_RESPONSE_HEADERS: &[&str] = &[
    "cache-control",
    "content-disposition",
    "content-language",
    "content-type",
    "etag",
    "expires",
    "last-modified",
    "location",
    "retry-after",
    "vary",
];

/// At most this many response headers (allowed or not) from one plugin
/// answer; more is a broken or hostile plugin and answers 502. The allowed
/// set above has ten names, so 32 leaves room for repeats; raising it only
/// lets a plugin make the host parse and drop more.
const MAX_RESPONSE_HEADERS: usize = 32;

/// At most this many bytes in one response header (name and value): an
/// `etag` or `content-disposition` needs far less, and browsers and proxies
/// refuse responses whose headers pass 8–16 KiB in all.
const MAX_RESPONSE_HEADER_BYTES: usize = 4096;

/// A plugin's response runs in a sandbox of its own if a browser renders
/// it: whatever a plugin returns (even HTML with script), it cannot act as
/// the portal.
const PLUGIN_RESPONSE_POLICY: &str = "sandbox; default-src 'none'; frame-ancestors 'none'";

/// `GET /api/plugins`: every loaded plugin with its manifest, grant and
/// health, and those that failed to load.
pub(crate) async fn plugins(State(state): State<AppState>, _user: Actor) -> Json<Value> {
    let loaded: Vec<Value> = state
        .plugins()
        .list()
        .iter()
        .map(|plugin| {
            let manifest = plugin.manifest();
            let health = plugin.health();
            json!({
                "id": manifest.id.as_str(),
                "name": manifest.name,
                "version": manifest.version.to_string(),
                "tier": manifest.tier.to_string(),
                "description": manifest.description,
                "wit": plugin.artifact().built_against().to_string(),
                "digest": plugin.artifact().digest().to_string(),
                "starting": plugin.is_starting(),
                "capabilities": {
                    "requested": manifest.capabilities.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    "granted": plugin.env().grant().capabilities().iter().map(ToString::to_string).collect::<Vec<_>>(),
                },
                "licence": state.plugins().licence_status(manifest),
                "slots": manifest.slots.iter().map(|s| json!({ "kind": s.kind.to_string(), "name": s.name, "title": s.title })).collect::<Vec<_>>(),
                "health": {
                    "calls": health.calls,
                    "failures": health.failures.iter().map(|(kind, n)| (kind.name().to_owned(), json!(n))).collect::<serde_json::Map<_, _>>(),
                    "deniedCalls": health.denied_calls,
                    "meanDurationMs": health.mean_duration().as_secs_f64() * 1000.0,
                    "p50Ms": health.durations.percentile(0.5).map(|d| d.as_secs_f64() * 1000.0),
                    "p99Ms": health.durations.percentile(0.99).map(|d| d.as_secs_f64() * 1000.0),
                    "lastFailure": health.last_failure().map(|e| &e.message),
                },
            })
        })
        .collect();
    let failed: Vec<Value> = state
        .plugins()
        .failed()
        .iter()
        .map(|f| json!({ "source": f.source, "error": f.error }))
        .collect();
    Json(json!({ "items": loaded, "failed": failed }))
}

/// `GET /healthz`: whether the portal is serving (liveness). It is, from
/// the moment the port opens, while plugins may still be starting.
pub(crate) async fn healthz(State(state): State<AppState>) -> Json<Value> {
    Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "uptimeSeconds": state.uptime().as_secs(),
        "plugins": plugin_counts(&state),
    }))
}

/// `GET /readyz`: whether every configured plugin is ready (readiness):
/// 503 while some are still being compiled after a start, so that a load
/// balancer in front of several replicas sends people to one that is.
pub(crate) async fn readyz(State(state): State<AppState>) -> Response {
    let ready = state.plugins().is_started();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if ready { "ready" } else { "starting" },
        "plugins": plugin_counts(&state),
    });
    (status, Json(body)).into_response()
}

fn plugin_counts(state: &AppState) -> Value {
    let plugins = state.plugins().list();
    let starting = plugins.iter().filter(|p| p.is_starting()).count();
    json!({
        "loaded": plugins.len() - starting,
        "starting": starting,
        "failed": state.plugins().failed().len(),
    })
}

/// Any other path under `/api`.
pub(crate) async fn not_found() -> AppError {
    AppError::api(ErrorKind::NotFound("no API endpoint at this path".into()))
}

/// `/api/plugins/<id>` and `/api/plugins/<id>/<path>`: a plugin's own
/// API, answered by its `handle` export.
pub(crate) async fn plugin_route(
    State(state): State<AppState>,
    PluginPath { id, path }: PluginPath,
    actor: Result<Actor, AppError>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, AppError> {
    // A suspended or unlicensed plugin is not called; its data stays.
    let plugin = state.plugins().callable(&id).map_err(|refusal| {
        AppError::api(crate::refusal::error(&refusal, &format!("plugin `{id}`")))
    })?;
    let wit_method = match method {
        Method::GET => WitMethod::Get,
        Method::POST => WitMethod::Post,
        Method::PUT => WitMethod::Put,
        Method::PATCH => WitMethod::Patch,
        Method::DELETE => WitMethod::Delete,
        other => {
            return Err(AppError::api(ErrorKind::MethodNotAllowed(format!(
                "plugin APIs do not answer {other}"
            ))));
        }
    };
    // A browser can be made to send a cross-site form post (or a simple
    // POST with no body) with the user's cookies, but not a JSON one: that
    // needs a CORS preflight the portal never grants. Requiring JSON on
    // every write keeps plugin APIs safe from cross-site request forgery.
    crate::csrf::refuse_cross_site(&method, &headers)?;
    if wit_method != WitMethod::Get && !crate::csrf::is_json(&headers) {
        return Err(AppError::api(ErrorKind::UnsupportedMediaType(
            "plugin API writes must be sent with `content-type: application/json`".into(),
        )));
    }
    // A service presents an API token; a person, their session.
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let (user, service) = match presented(&state.config().api_tokens, &id, authorization) {
        Presented::Service(name) => (None, Some(name.to_owned())),
        Presented::Invalid => {
            // Nobody is signed: bounded, as every unsigned request is.
            state
                .audit()
                .record_unsigned(&greenroom_access::AuditEvent {
                    actor: None,
                    plugin: Some(&id),
                    action: "api.token",
                    resource: Some(&path),
                    decision: greenroom_access::Decision::Deny,
                    reason: "an API token that is not valid for this plugin",
                });
            return Err(AppError::api(ErrorKind::Unauthenticated));
        }
        Presented::None => (Some(actor?.0), None),
    };
    let mut forwarded: Vec<(String, String)> = headers
        .iter()
        .filter(|(name, _)| FORWARDED_REQUEST_HEADERS.contains(&name.as_str()))
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect();
    if let Some(service) = &service {
        forwarded.push((CALLER_HEADER.to_owned(), format!("service:{service}")));
    }
    let request = Request {
        method: wit_method,
        path,
        query: query_pairs(query.as_deref()),
        headers: forwarded,
        body: body.to_vec(),
        user: user.as_ref().map(greenroom_contract::wit_user),
    };
    let response = plugin.handle(request, user).await.map_err(|error| {
        AppError::api(ErrorKind::Plugin {
            plugin: id.clone(),
            error,
        })
    })?;
    plugin_response(response).map_err(|problem| {
        AppError::api(ErrorKind::Plugin {
            plugin: id,
            error: greenroom_runtime::CallError::InvalidResponse(problem),
        })
    })
}

/// The plugin's response as HTTP: only the headers a plugin may set, and a
/// sandbox policy of its own; or what is wrong with it (the caller gets a
/// 502 naming it).
fn plugin_response(response: greenroom_runtime::types::Response) -> Result<Response, String> {
    // 1xx would switch protocols or leave the connection waiting for a
    // final answer; below 200 is never a plugin's to send.
    let status = StatusCode::from_u16(response.status)
        .ok()
        .filter(|s| (200..=599).contains(&s.as_u16()))
        .ok_or_else(|| {
            format!(
                "status {} is not one a plugin may answer (200–599)",
                response.status
            )
        })?;
    if response.headers.len() > MAX_RESPONSE_HEADERS {
        return Err(format!(
            "{} response headers (at most {MAX_RESPONSE_HEADERS})",
            response.headers.len()
        ));
    }
    if let Some((name, value)) = response
        .headers
        .iter()
        .find(|(name, value)| name.len() + value.len() > MAX_RESPONSE_HEADER_BYTES)
    {
        return Err(format!(
            "response header `{}` is {} bytes (at most {MAX_RESPONSE_HEADER_BYTES})",
            name.chars().take(64).collect::<String>(),
            name.len() + value.len()
        ));
    }
    let mut out = Response::new(axum::body::Body::from(response.body));
    *out.status_mut() = status;
    let headers = out.headers_mut();
    for (name, value) in response.headers {
        let name = name.to_ascii_lowercase();
        if !FORWARDED_RESPONSE_HEADERS.contains(&name.as_str()) {
            continue;
        }
        // A redirect may only stay inside the portal: a plugin must not be
        // able to send users to a site of its choosing from the portal's
        // address.
        if name == "location" && (!status.is_redirection() || local_path(&value).is_none()) {
            continue;
        }
        let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value))
        else {
            continue;
        };
        // One of each of these: the plugin's last word on it.
        if name == header::CONTENT_TYPE || name == header::LOCATION {
            headers.insert(name, value);
        } else {
            headers.append(name, value);
        }
    }
    if !headers.contains_key(header::CONTENT_TYPE) {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PLUGIN_RESPONSE_POLICY),
    );
    Ok(out)
}
