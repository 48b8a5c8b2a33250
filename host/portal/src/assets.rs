//! The design system's stylesheet, compiled into the binary.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

const STYLESHEET: &str = include_str!("../assets/greenroom.css");

/// `greenroom.<hash>.css`: the name changes whenever the stylesheet does,
/// so browsers may cache it forever.
static STYLESHEET_NAME: LazyLock<String> = LazyLock::new(|| {
    format!(
        "greenroom.{}.css",
        &hex::encode(Sha256::digest(STYLESHEET))[..12]
    )
});

/// The stylesheet's URL path.
pub(crate) fn stylesheet_path() -> String {
    format!("/assets/{}", *STYLESHEET_NAME)
}

pub(crate) async fn serve(Path(file): Path<String>) -> Response {
    if file != *STYLESHEET_NAME {
        return StatusCode::NOT_FOUND.into_response();
    }
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        STYLESHEET,
    )
        .into_response()
}
