//! Signing in and out: the sign-in page, the OpenID Connect redirects, the
//! sign-out form's target, and the signed-in person's profile.
//!
//! The decisions (whose header to believe, whether a token verifies, which
//! catalog User someone is) are `greenroom-access`'s; this module speaks
//! HTTP for them: cookies, redirects and pages.
//!
//! Cookies: the session cookie (`greenroom_session`) is `HttpOnly`,
//! `SameSite=Lax` (so that the browser sends it on the redirect back from
//! the identity provider, and on links into the portal from other sites),
//! `Secure` when the portal is reached over HTTPS, and lives as long as the
//! session. The pending-sign-in cookie lives ten minutes, on
//! `/auth/oidc` only.

use crate::chrome::Chrome;
use crate::csrf::CsrfForm;
use crate::error::{AppError, ErrorKind};
use crate::extract::{local_path, query_pairs};
use crate::identity::{Actor, Caller};
use crate::render;
use crate::render::shell::{self, Nav, Shell};
use crate::state::AppState;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use greenroom_access::{PENDING_SIGN_IN_TTL, Refusal, SESSION_COOKIE, SignIn, SignInError};
use greenroom_catalog::{DEFAULT_NAMESPACE, EntityRef};
use maud::{Markup, html};
use std::collections::HashMap;
use std::sync::Arc;

use crate::paths::{PROFILE_PATH, SIGN_IN_PATH, SIGN_OUT_PATH, returning_to};
/// Where an OpenID Connect sign-in starts.
const OIDC_START_PATH: &str = "/auth/oidc/start";
/// The cookie holding a pending OpenID Connect sign-in (sealed: state,
/// nonce, PKCE verifier, where to return).
const PENDING_COOKIE: &str = "greenroom_oidc";

/// The sign-in routes drawn as pages (under the CSRF layer). The OpenID
/// Connect callback is routed apart ([`oidc_callback`]).
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(SIGN_IN_PATH, get(sign_in_page))
        .route(OIDC_START_PATH, get(oidc_start))
        .route(SIGN_OUT_PATH, post(sign_out))
        .route(PROFILE_PATH, get(profile))
}

/// Where to go after signing in: the local path asked for, never a sign-in
/// route again, the home page otherwise.
fn return_target(query: &[(String, String)]) -> String {
    query
        .iter()
        .find(|(name, _)| name == "return")
        .and_then(|(_, path)| local_path(path))
        .filter(|path| !path.starts_with("/auth/"))
        .unwrap_or("/")
        .to_owned()
}

fn sign_in_of(state: &AppState) -> Result<Arc<SignIn>, AppError> {
    state
        .config()
        .sign_in
        .clone()
        .ok_or_else(|| AppError::page(ErrorKind::NotFound("this portal has no sign-in".into())))
}

/// The OpenID Connect method, or a 404 where the portal has none.
fn oidc_of(sign_in: &SignIn) -> Result<&greenroom_access::OidcSignIn, AppError> {
    sign_in.oidc().ok_or_else(|| {
        AppError::page(ErrorKind::NotFound(
            "this portal does not sign in with OpenID Connect".into(),
        ))
    })
}

/// A cookie set by sign-in: `HttpOnly`, `SameSite=Lax`, `Secure` over
/// HTTPS.
fn cookie(
    state: &AppState,
    name: &'static str,
    value: String,
    path: &'static str,
) -> Cookie<'static> {
    Cookie::build((name, value))
        .path(path)
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.config().secure_cookies)
        .build()
}

fn max_age(lifetime: std::time::Duration) -> time::Duration {
    time::Duration::seconds(i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX))
}

/// A page about sign-in: `title`, then `body`.
fn page(
    status: StatusCode,
    title: &str,
    user: Option<&greenroom_access::Identity>,
    body: Markup,
) -> Response {
    let shell = Shell {
        title,
        nav: Nav::None,
        user,
        notice: None,
        admin: false,
        pages: &[],
        csrf: None,
        warnings: &[],
    };
    let content = html! {
        section.page-header {
            p.eyebrow { "Sign-in" }
            h1.page-title { (title) }
        }
        (body)
    };
    (status, shell::page(&shell, content)).into_response()
}

/// A sign-in that did not work, and a way to try again.
fn failed(status: StatusCode, title: &str, reason: &str) -> Response {
    page(
        status,
        title,
        None,
        html! {
            (render::error_box(title, Some(reason)))
            p { a.button href=(SIGN_IN_PATH) { "Try again" } }
        },
    )
}

/// `GET /auth/sign-in?return=/path`: the ways in this portal offers.
async fn sign_in_page(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(query): RawQuery,
) -> Response {
    let return_to = return_target(&query_pairs(query.as_deref()));
    if let Caller::User(user) = &caller
        && !user.guest
    {
        return Redirect::to(&return_to).into_response();
    }
    let sign_in = state.config().sign_in.clone();
    let oidc = sign_in.as_ref().and_then(|s| s.oidc());
    let proxy = sign_in.as_ref().and_then(|s| s.proxy());
    let start = returning_to(OIDC_START_PATH, &return_to);
    let body = html! {
        @if let Caller::Refused(reason) = &caller {
            (render::error_box("Your sign-in was refused", Some(reason)))
        }
        div.sign-in-methods {
            @if let Some(oidc) = oidc {
                section.card {
                    header.card-header { h2.card-title { "Your organisation's account" } }
                    div.card-body {
                        p { "Sign in with " (provider_name(oidc.issuer())) "; you come back here afterwards." }
                        p { a.button.button-primary href=(start) { "Sign in" } }
                    }
                }
            }
            @if let Some(proxy) = proxy {
                section.card {
                    header.card-header { h2.card-title { "Through the sign-in proxy" } }
                    div.card-body {
                        p {
                            "This portal lets in people its proxy has signed in (the proxy names them in the "
                            code { (proxy.header) } " header). Open the portal at the address your "
                            "organisation gives for it, and the proxy asks you to sign in."
                        }
                    }
                }
            }
            @if state.config().guest_access {
                section.card {
                    header.card-header { h2.card-title { "As a guest" } }
                    div.card-body {
                        p { "Guest access is on: anyone can look around as Guest. Use it for local demos only." }
                        p { a.button href=(return_to) { "Continue as Guest" } }
                    }
                }
            }
            @if oidc.is_none() && proxy.is_none() && !state.config().guest_access {
                (render::error_box(
                    "No way to sign in",
                    Some("This portal has no sign-in method configured. An operator can configure \
                          [auth.oidc] or [auth.proxy], or for local use turn on guest access."),
                ))
            }
        }
    };
    let status = match caller {
        Caller::Refused(_) => StatusCode::FORBIDDEN,
        _ => StatusCode::OK,
    };
    let user = match &caller {
        Caller::User(user) => Some(user),
        _ => None,
    };
    page(status, "Sign in to Greenroom", user, body)
}

/// The provider as people know it: its host name.
fn provider_name(issuer: &str) -> String {
    url::Url::parse(issuer)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| issuer.to_owned())
}

/// `GET /auth/oidc/start?return=/path`: off to the identity provider, with
/// the state, nonce and PKCE verifier sealed in a cookie for the way back.
async fn oidc_start(
    State(state): State<AppState>,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Response {
    let sign_in = match sign_in_of(&state) {
        Ok(sign_in) => sign_in,
        Err(error) => return error.into_response(),
    };
    let oidc = match oidc_of(&sign_in) {
        Ok(oidc) => oidc,
        Err(error) => return error.into_response(),
    };
    let return_to = return_target(&query_pairs(query.as_deref()));
    match oidc.begin(&return_to).await {
        Ok((url, pending)) => {
            let mut pending = cookie(
                &state,
                PENDING_COOKIE,
                sign_in.seal_pending(&pending),
                "/auth/oidc",
            );
            pending.set_max_age(max_age(PENDING_SIGN_IN_TTL));
            (jar.add(pending), Redirect::to(url.as_str())).into_response()
        }
        Err(error) => {
            tracing::error!(%error, "cannot start an OpenID Connect sign-in");
            failed(
                StatusCode::BAD_GATEWAY,
                "The identity provider did not answer",
                &error.to_string(),
            )
        }
    }
}

/// `GET /auth/oidc/callback?code=…&state=…`: back from the identity
/// provider. The pending cookie must be there and match `state`; the code
/// is exchanged, the ID token verified, the person found in the catalog
/// and a session started. Outside the CSRF layer: `state` is this
/// request's CSRF check, and the browser withholds the `SameSite=Strict`
/// CSRF cookie on a redirect from another site.
pub(crate) async fn oidc_callback(
    State(state): State<AppState>,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Response {
    let sign_in = match sign_in_of(&state) {
        Ok(sign_in) => sign_in,
        Err(error) => return error.into_response(),
    };
    let oidc = match oidc_of(&sign_in) {
        Ok(oidc) => oidc,
        Err(error) => return error.into_response(),
    };
    let params: HashMap<String, String> = query_pairs(query.as_deref()).into_iter().collect();
    let pending = jar
        .get(PENDING_COOKIE)
        .and_then(|c| sign_in.open_pending(c.value()));
    // The pending sign-in is used once, whatever happens next.
    let jar = jar.remove(Cookie::build(PENDING_COOKIE).path("/auth/oidc"));
    let Some(pending) = pending else {
        let reason = greenroom_access::OidcError::StateMismatch.to_string();
        return (
            jar,
            failed(StatusCode::BAD_REQUEST, "Sign-in expired", &reason),
        )
            .into_response();
    };
    if let Some(error) = params.get("error") {
        let description = params.get("error_description").map_or("", String::as_str);
        let reason = format!("the identity provider refused the sign-in: {error} {description}");
        return (
            jar,
            failed(StatusCode::FORBIDDEN, "Sign-in refused", reason.trim()),
        )
            .into_response();
    }
    let (Some(code), Some(returned_state)) = (params.get("code"), params.get("state")) else {
        return (
            jar,
            failed(
                StatusCode::BAD_REQUEST,
                "Sign-in failed",
                "the identity provider sent no code",
            ),
        )
            .into_response();
    };
    let claims = match oidc.finish(&pending, returned_state, code).await {
        Ok(claims) => claims,
        Err(error) => {
            tracing::warn!(%error, "OpenID Connect sign-in failed");
            let status = match error {
                greenroom_access::OidcError::StateMismatch => StatusCode::BAD_REQUEST,
                _ => StatusCode::BAD_GATEWAY,
            };
            return (jar, failed(status, "Sign-in failed", &error.to_string())).into_response();
        }
    };
    let resolvers = oidc.resolvers().to_vec();
    let started = {
        let sign_in = Arc::clone(&sign_in);
        tokio::task::spawn_blocking(move || sign_in.start_session(&claims, &resolvers)).await
    };
    match started {
        Ok(Ok(Ok((_, issued)))) => {
            let mut session = cookie(&state, SESSION_COOKIE, issued.value, "/");
            session.set_max_age(max_age(issued.max_age));
            let return_to = local_path(&pending.return_to).unwrap_or("/").to_owned();
            (jar.add(session), Redirect::to(&return_to)).into_response()
        }
        Ok(Ok(Err(refusal))) => (jar, refused(&refusal)).into_response(),
        Ok(Err(error)) => (jar, host_failure(&error)).into_response(),
        Err(error) => {
            tracing::error!(%error, "starting a session panicked");
            (
                jar,
                AppError::page(ErrorKind::Internal("cannot start a session".into())),
            )
                .into_response()
        }
    }
}

fn refused(refusal: &Refusal) -> Response {
    failed(
        StatusCode::FORBIDDEN,
        "Sign-in refused",
        &refusal.to_string(),
    )
}

fn host_failure(error: &SignInError) -> Response {
    tracing::error!(%error, "sign-in failed");
    AppError::page(ErrorKind::Internal(
        "sign-in failed on the server; the operator's log has the details".into(),
    ))
    .into_response()
}

/// `POST /auth/sign-out`: revokes the session (its row is deleted, so the
/// cookie is worthless wherever it was copied) and clears the cookie. A
/// person the proxy signed in goes on to the proxy's sign-out, which
/// otherwise would sign them straight back in.
async fn sign_out(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    jar: CookieJar,
    headers: HeaderMap,
    _form: CsrfForm,
) -> Response {
    let Some(sign_in) = state.config().sign_in.clone() else {
        return Redirect::to("/").into_response();
    };
    let who = match &caller {
        Caller::User(user) => user.entity_ref.clone(),
        _ => "(nobody)".to_owned(),
    };
    let session = jar.get(SESSION_COOKIE).map(|c| c.value().to_owned());
    let ended = {
        let sign_in = Arc::clone(&sign_in);
        tokio::task::spawn_blocking(move || sign_in.sign_out(session.as_deref(), &who)).await
    };
    match ended {
        Ok(Ok(())) => {}
        Ok(Err(error)) => return host_failure(&error),
        Err(error) => {
            tracing::error!(%error, "signing out panicked");
            return AppError::page(ErrorKind::Internal("cannot sign out".into())).into_response();
        }
    }
    let jar = jar.remove(Cookie::build(SESSION_COOKIE).path("/"));
    let next = sign_in
        .proxy()
        .filter(|proxy| headers.contains_key(&proxy.header))
        .and_then(|proxy| proxy.sign_out_url.clone())
        .unwrap_or_else(|| format!("{SIGN_IN_PATH}?signed-out"));
    // `no-store`: a back button must not show a page of the session that
    // just ended.
    (
        jar,
        [(header::CACHE_CONTROL, "no-store")],
        Redirect::to(&next),
    )
        .into_response()
}

/// `GET /me`: who the portal thinks you are — your User, e-mail, and the
/// groups you are in, transitively, which is what you own through.
async fn profile(chrome: Chrome, Actor(user): Actor) -> Response {
    let link = |entity_ref: &str| match EntityRef::parse(entity_ref, None, DEFAULT_NAMESPACE) {
        Ok(parsed) if parsed.namespace() != greenroom_access::EXTERNAL_NAMESPACE && !user.guest => {
            html! { a.link href=(crate::catalog_pages::entity_path(&parsed)) { (entity_ref) } }
        }
        _ => html! { code { (entity_ref) } },
    };
    let content = html! {
        section.page-header {
            p.eyebrow { "Profile" }
            h1.page-title { (user.display_name) }
            p.page-lead { "Who this portal knows you as, and the groups you own things through." }
        }
        section.card {
            header.card-header { h2.card-title { "You" } }
            div.card-body {
                dl.properties {
                    div.property { dt { "User" } dd { (link(&user.entity_ref)) } }
                    @if let Some(email) = &user.email {
                        div.property { dt { "Email" } dd { (email) } }
                    }
                    div.property {
                        dt { "Groups" }
                        dd {
                            @if user.groups.is_empty() {
                                span.text-muted { "None" }
                            } @else {
                                ul.group-list {
                                    @for group in &user.groups { li { (link(group)) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    chrome
        .page("Profile", Nav::None, None, content)
        .into_response()
}

#[cfg(test)]
mod tests;
