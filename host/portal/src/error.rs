//! One error type for every handler, and its mapping to HTTP.

use crate::layout;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use greenroom_runtime::CallError;
use serde_json::json;

/// What went wrong, independent of how it is shown.
#[derive(Debug)]
pub(crate) enum ErrorKind {
    /// No such page, plugin or route.
    NotFound(String),
    /// Nobody is signed in and guest access is off.
    Unauthenticated,
    /// The request itself is malformed.
    BadRequest(String),
    /// The request was refused (a missing or forged CSRF token).
    Forbidden(String),
    /// A body of a type the route does not take.
    UnsupportedMediaType(String),
    /// A method the route does not answer.
    MethodNotAllowed(String),
    /// A plugin call failed.
    Plugin {
        /// The plugin's id.
        plugin: String,
        /// How.
        error: CallError,
    },
}

/// Whether the error is for a person (an HTML page) or a program (JSON in
/// Backstage's error format, `{ "error": { "name", "message" } }`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Html,
    Json,
}

/// An error a handler returns.
#[derive(Debug)]
pub(crate) struct AppError {
    pub kind: ErrorKind,
    pub format: Format,
}

impl AppError {
    pub(crate) fn page(kind: ErrorKind) -> AppError {
        AppError {
            kind,
            format: Format::Html,
        }
    }

    pub(crate) fn api(kind: ErrorKind) -> AppError {
        AppError {
            kind,
            format: Format::Json,
        }
    }

    fn status(&self) -> StatusCode {
        match &self.kind {
            ErrorKind::NotFound(_) => StatusCode::NOT_FOUND,
            ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
            ErrorKind::BadRequest(_) => StatusCode::BAD_REQUEST,
            ErrorKind::Forbidden(_) => StatusCode::FORBIDDEN,
            ErrorKind::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorKind::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            // The plugin failed, not the request: a gateway error, or a
            // timeout when it ran out of time.
            ErrorKind::Plugin {
                error: CallError::Deadline { .. },
                ..
            } => StatusCode::GATEWAY_TIMEOUT,
            ErrorKind::Plugin { .. } => StatusCode::BAD_GATEWAY,
        }
    }

    /// Backstage's error names, so API clients can switch on them.
    fn name(&self) -> &'static str {
        match &self.kind {
            ErrorKind::NotFound(_) => "NotFoundError",
            ErrorKind::Unauthenticated => "AuthenticationError",
            ErrorKind::BadRequest(_) => "InputError",
            ErrorKind::Forbidden(_) => "NotAllowedError",
            ErrorKind::UnsupportedMediaType(_) => "InputError",
            ErrorKind::MethodNotAllowed(_) => "NotAllowedError",
            ErrorKind::Plugin { .. } => "PluginError",
        }
    }

    fn message(&self) -> String {
        match &self.kind {
            ErrorKind::NotFound(m)
            | ErrorKind::BadRequest(m)
            | ErrorKind::Forbidden(m)
            | ErrorKind::UnsupportedMediaType(m)
            | ErrorKind::MethodNotAllowed(m) => m.clone(),
            ErrorKind::Unauthenticated => {
                "nobody is signed in, and this portal has no sign-in method configured; for local use, \
                 turn on guest access (`greenroom serve --demo`, or `[auth] guest = true` in the config)"
                    .to_owned()
            }
            ErrorKind::Plugin { plugin, error } => format!("plugin `{plugin}` failed: {error}"),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        match self.format {
            Format::Json => {
                let body = json!({
                    "error": { "name": self.name(), "message": self.message() },
                    "response": { "statusCode": status.as_u16() },
                });
                (status, Json(body)).into_response()
            }
            Format::Html => {
                let title = status.canonical_reason().unwrap_or("Error");
                (
                    status,
                    layout::error_page(status.as_u16(), title, &self.message()),
                )
                    .into_response()
            }
        }
    }
}
