//! CSRF protection.
//!
//! Form posts: a double-submit token. Every page response carries a random
//! token in a `SameSite=Strict`, `HttpOnly` cookie; every form the portal
//! draws carries the same token in a hidden field; a post is accepted only
//! when the two match. Another site can make a browser post a form, but can
//! neither read nor set the cookie.
//!
//! JSON API writes: a request a browser sends cross-site without asking
//! first (a CORS "simple request") can only be a GET, HEAD or POST whose
//! body is a form, multipart or `text/plain`. Every other method, and a
//! POST declared as JSON, needs a CORS preflight the portal never grants.
//! So an API POST must say `content-type: application/json`
//! ([`api_writes`] for the admin API, the catalog API's JSON bodies, the
//! plugin API's own check); and any write a browser marks as coming from
//! another site (`Sec-Fetch-Site`) is refused outright. The portal's
//! cookies, a trusted proxy's header, a browser's cached Basic credentials
//! and the demo's guest are all ambient: this holds whoever the caller is.

use crate::error::{AppError, ErrorKind};
use axum::Form;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use rand::RngExt;

/// The hidden field the portal adds to every form for the token; never
/// passed to plugins.
pub(crate) const CSRF_FIELD: &str = "_csrf";

/// The cookie holding the token.
const COOKIE: &str = "greenroom_csrf";

/// The request's CSRF token, for forms to carry.
#[derive(Debug, Clone)]
pub(crate) struct CsrfToken(pub String);

fn well_formed(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Makes sure the browser has a token, and hands it to handlers.
pub(crate) async fn ensure_cookie(jar: CookieJar, mut request: Request, next: Next) -> Response {
    let existing = jar
        .get(COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|t| well_formed(t));
    let (token, fresh) = match existing {
        Some(token) => (token, false),
        None => (hex::encode(rand::rng().random::<[u8; 32]>()), true),
    };
    request.extensions_mut().insert(CsrfToken(token.clone()));
    let response = next.run(request).await;
    if !fresh {
        return response;
    }
    let cookie = Cookie::build((COOKIE, token))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .build();
    (jar.add(cookie), response).into_response()
}

/// Whether a submitted token matches the cookie's, compared in constant
/// time.
pub(crate) fn matches(jar: &CookieJar, submitted: Option<&str>) -> bool {
    let (Some(cookie), Some(submitted)) = (jar.get(COOKIE), submitted) else {
        return false;
    };
    let expected = cookie.value().as_bytes();
    let submitted = submitted.as_bytes();
    well_formed(cookie.value())
        && expected.len() == submitted.len()
        && expected
            .iter()
            .zip(submitted)
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

/// A posted form whose CSRF token matched its cookie: its fields, the
/// token left out. Extracting it refuses (403) anything else.
pub(crate) struct CsrfForm(Vec<(String, String)>);

impl<S: Send + Sync> FromRequest<S> for CsrfForm {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<CsrfForm, AppError> {
        let jar = CookieJar::from_headers(request.headers());
        let Form(mut fields) = Form::<Vec<(String, String)>>::from_request(request, state)
            .await
            .map_err(|rejection| AppError::page(ErrorKind::BadRequest(rejection.body_text())))?;
        let token = fields
            .iter()
            .find(|(name, _)| name == CSRF_FIELD)
            .map(|(_, value)| value.as_str());
        if !matches(&jar, token) {
            return Err(AppError::page(ErrorKind::Forbidden(
                "the form's security token is missing or does not match; reload the page and submit the form again".into(),
            )));
        }
        fields.retain(|(name, _)| name != CSRF_FIELD);
        Ok(CsrfForm(fields))
    }
}

impl CsrfForm {
    /// The first value of `name`, if it is there and not empty.
    pub(crate) fn value(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.clone())
    }

    /// Every value of `name`, in order.
    pub(crate) fn values(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

/// Whether the request's body is declared as JSON
/// (`application/json` or `application/…+json`).
pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
}

/// Refuses a write the browser says another site (or a sibling subdomain)
/// started: no page of another origin has a reason to change anything
/// here, and the portal grants no CORS.
pub(crate) fn refuse_cross_site(method: &Method, headers: &HeaderMap) -> Result<(), AppError> {
    if method.is_safe() {
        return Ok(());
    }
    let site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    if matches!(site, Some("cross-site" | "same-site")) {
        return Err(AppError::api(ErrorKind::Forbidden(
            "a request another site started may not change anything here".into(),
        )));
    }
    Ok(())
}

/// The guard of the admin API's writes: refused when another site started
/// them, and a POST must be declared as JSON, which no cross-site form or
/// simple request can be (415, nothing changed).
pub(crate) async fn api_writes(request: Request, next: Next) -> Response {
    let method = request.method();
    if let Err(refusal) = refuse_cross_site(method, request.headers()) {
        return refusal.into_response();
    }
    if method == Method::POST && !is_json(request.headers()) {
        return AppError::api(ErrorKind::UnsupportedMediaType(
            "API writes must be sent with `content-type: application/json` (a form post, which \
             another site could make a browser send, is refused)"
                .into(),
        ))
        .into_response();
    }
    next.run(request).await
}
