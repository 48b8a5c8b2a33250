//! Who is acting: resolved once per request, before any plugin runs.

use crate::error::{AppError, ErrorKind, Format};
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use greenroom_access::Identity;

/// The acting user of a request. Extracting it refuses the request (401)
/// when nobody can be identified.
pub(crate) struct Actor(pub Identity);

/// The acting user when there is one; API routes let the plugin decide
/// what an anonymous caller gets.
pub(crate) struct MaybeActor(pub Option<Identity>);

fn resolve(state: &AppState) -> Option<Identity> {
    // Sign-in methods come with the access work; until then the only
    // identity is the guest, and only where the operator switched it on.
    state.config().guest_access.then(Identity::guest)
}

impl FromRequestParts<AppState> for Actor {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Actor, AppError> {
        let format = if parts.uri.path().starts_with("/api/") {
            Format::Json
        } else {
            Format::Html
        };
        resolve(state).map(Actor).ok_or(AppError {
            kind: ErrorKind::Unauthenticated,
            format,
        })
    }
}

impl FromRequestParts<AppState> for MaybeActor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        _parts: &mut Parts,
        state: &AppState,
    ) -> Result<MaybeActor, Self::Rejection> {
        Ok(MaybeActor(resolve(state)))
    }
}
