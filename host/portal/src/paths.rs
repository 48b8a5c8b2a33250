//! The portal's own paths that pages link to and errors redirect to.

use axum::response::{IntoResponse, Redirect, Response};

/// The sign-in page.
pub(crate) const SIGN_IN_PATH: &str = "/auth/sign-in";
/// Where the header's sign-out form posts.
pub(crate) const SIGN_OUT_PATH: &str = "/auth/sign-out";
/// The signed-in person's profile.
pub(crate) const PROFILE_PATH: &str = "/me";

/// A redirect to the sign-in page that comes back to `return_to` (a
/// local path) once signed in.
pub(crate) fn to_sign_in(return_to: &str) -> Response {
    Redirect::to(&returning_to(SIGN_IN_PATH, return_to)).into_response()
}

/// `path` with the query that brings the browser back to `return_to`.
pub(crate) fn returning_to(path: &str, return_to: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("return", return_to)
        .finish();
    format!("{path}?{query}")
}
