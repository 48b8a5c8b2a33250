//! Who is acting: resolved once per request, before any plugin runs.

use crate::error::{AppError, ErrorKind, Format};
use crate::state::AppState;
use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use greenroom_access::Identity;

/// The acting user of a request. Extracting it refuses the request (401)
/// when nobody can be identified.
pub(crate) struct Actor(pub Identity);

pub(crate) fn resolve(state: &AppState) -> Option<Identity> {
    // Sign-in methods come with the access work; until then the only
    // identity is the guest, and only where the operator switched it on.
    state.config().guest_access.then(Identity::guest)
}

impl FromRequestParts<AppState> for Actor {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Actor, AppError> {
        // Nested routers see their path without the `/api` prefix; the
        // original URI has it.
        let path = parts
            .extensions
            .get::<OriginalUri>()
            .map_or(parts.uri.path(), |uri| uri.0.path());
        let format = if path.starts_with("/api/") {
            Format::Json
        } else {
            Format::Html
        };
        let user = resolve(state).ok_or(AppError {
            kind: ErrorKind::Unauthenticated,
            format,
        })?;
        // Seats are counted from the people who use the portal.
        state.note_activity(&user);
        Ok(Actor(user))
    }
}
