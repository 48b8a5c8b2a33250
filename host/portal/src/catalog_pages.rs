//! The catalog's pages: `/catalog` and `/catalog/{namespace}/{kind}/{name}`.

use crate::state::AppState;
use axum::Router;

/// The routes, merged at the root.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
}
