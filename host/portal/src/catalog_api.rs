//! Backstage's catalog REST API under `/api/catalog`.

use crate::state::AppState;
use axum::Router;

/// The routes, nested under `/api/catalog`.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
}
