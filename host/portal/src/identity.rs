//! Who is acting: resolved once per request, before any handler or plugin
//! runs.
//!
//! [`layer`] asks the configured sign-in methods (a trusted proxy's header,
//! the session cookie) through `greenroom-access`, falls back to the demo
//! guest when the operator switched guest access on, and leaves the answer
//! in the request's extensions. Handlers take it with the [`Actor`]
//! extractor (which refuses a request nobody is signed in for: pages
//! redirect to the sign-in page, the API answers 401); middleware and
//! other extractors read it with [`resolve`].

use crate::error::{AppError, ErrorKind, Format};
use crate::state::AppState;
use axum::extract::{ConnectInfo, FromRequestParts, OriginalUri, Request, State};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::Response;
use axum_extra::extract::CookieJar;
use greenroom_access::{Identity, Resolution, SESSION_COOKIE};
use std::net::{IpAddr, SocketAddr};

/// Who a request is from, as [`layer`] resolved it.
#[derive(Debug, Clone)]
pub(crate) enum Caller {
    /// A signed-in person, or the guest.
    User(Identity),
    /// Nobody.
    Nobody,
    /// A sign-in was attempted and refused; the message says why.
    Refused(String),
    /// Resolving failed on the host's side (logged).
    Failed,
}

/// Resolves the request's caller and leaves it in its extensions. The TCP
/// peer comes from `ConnectInfo`, which the server sets; a request without
/// one (a test's `oneshot`) has no trusted peer.
pub(crate) async fn layer(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip());
    let caller = caller_of(&state, peer, request.headers().clone()).await;
    request.extensions_mut().insert(caller);
    next.run(request).await
}

async fn caller_of(state: &AppState, peer: Option<IpAddr>, headers: HeaderMap) -> Caller {
    let guest = || {
        if state.config().guest_access {
            Caller::User(Identity::guest())
        } else {
            Caller::Nobody
        }
    };
    let Some(sign_in) = state.config().sign_in.clone() else {
        return guest();
    };
    let session = CookieJar::from_headers(&headers)
        .get(SESSION_COOKIE)
        .map(|c| c.value().to_owned());
    // Sessions and the catalog are in SQLite: off the async threads.
    let resolved =
        tokio::task::spawn_blocking(move || sign_in.resolve(peer, &headers, session.as_deref()))
            .await;
    match resolved {
        Ok(Ok(Resolution::SignedIn(user))) => Caller::User(user),
        Ok(Ok(Resolution::Anonymous)) => guest(),
        Ok(Ok(Resolution::Refused(refusal))) => Caller::Refused(refusal.to_string()),
        Ok(Err(error)) => {
            tracing::error!(%error, "cannot resolve who is signed in");
            Caller::Failed
        }
        Err(error) => {
            tracing::error!(%error, "resolving who is signed in panicked");
            Caller::Failed
        }
    }
}

/// The acting user [`layer`] resolved, if anyone is signed in.
pub(crate) fn resolve(extensions: &Extensions) -> Option<Identity> {
    match extensions.get::<Caller>() {
        Some(Caller::User(user)) => Some(user.clone()),
        _ => None,
    }
}

/// The acting user, or the error that refuses the request: for a page
/// read, a redirect to the sign-in page when the portal has a sign-in
/// method; otherwise 401 (nobody), 403 (a refused sign-in) or 500.
pub(crate) fn require(parts: &Parts, state: &AppState) -> Result<Identity, AppError> {
    // Nested routers see their path without the `/api` prefix; the
    // original URI has it.
    let uri = parts
        .extensions
        .get::<OriginalUri>()
        .map_or(&parts.uri, |uri| &uri.0);
    let format = if uri.path().starts_with("/api/") {
        Format::Json
    } else {
        Format::Html
    };
    let refuse = |kind| AppError { kind, format };
    match parts.extensions.get::<Caller>() {
        Some(Caller::User(user)) => Ok(user.clone()),
        Some(Caller::Refused(reason)) => Err(refuse(ErrorKind::SignInRefused(reason.clone()))),
        Some(Caller::Failed) => Err(refuse(ErrorKind::Internal(
            "cannot tell who is signed in; the operator's log has the details".into(),
        ))),
        Some(Caller::Nobody) | None if state.config().sign_in.is_some() => {
            // Only a page read comes back to where it was; a form post
            // would lose its fields anyway.
            let read = parts.method == Method::GET || parts.method == Method::HEAD;
            let return_to = (format == Format::Html && read).then(|| {
                uri.path_and_query()
                    .map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned())
            });
            Err(refuse(ErrorKind::SignInRequired { return_to }))
        }
        Some(Caller::Nobody) | None => Err(refuse(ErrorKind::Unauthenticated)),
    }
}

/// The acting user of a request. Extracting it refuses the request when
/// nobody is signed in (see [`require`]).
pub(crate) struct Actor(pub Identity);

impl FromRequestParts<AppState> for Actor {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Actor, AppError> {
        Ok(Actor(require(parts, state)?))
    }
}
