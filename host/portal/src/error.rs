//! One error type for every handler, and its mapping to HTTP.

use axum::Json;
use axum::body::Body;
use axum::extract::{OriginalUri, Request};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use greenroom_catalog::CatalogError;
use greenroom_runtime::CallError;
use serde_json::{Value, json};

/// What went wrong, independent of how it is shown.
#[derive(Debug)]
pub(crate) enum ErrorKind {
    /// No such page, plugin or route.
    NotFound(String),
    /// Nobody is signed in, guest access is off, and the portal has no
    /// sign-in method.
    Unauthenticated,
    /// Nobody is signed in; the portal has a sign-in page. A page read
    /// (`return_to` set) is redirected there, and comes back afterwards.
    SignInRequired {
        /// The path and query to come back to.
        return_to: Option<String>,
    },
    /// A sign-in was refused (a proxy header from an untrusted address, a
    /// person the catalog does not list); the message says why.
    SignInRefused(String),
    /// The request itself is malformed.
    BadRequest(String),
    /// The request was refused (a missing or forged CSRF token).
    Forbidden(String),
    /// A body of a type the route does not take.
    UnsupportedMediaType(String),
    /// A method the route does not answer.
    MethodNotAllowed(String),
    /// What the request would create exists already.
    Conflict(String),
    /// A premium plugin without a licence that lets it run.
    Unlicensed(String),
    /// A plugin an admin turned off.
    Disabled(String),
    /// A plugin the server is still compiling, just after it started.
    Starting(String),
    /// The host failed (its database, a panic): the operator's log has the
    /// details, the response does not.
    Internal(String),
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
            ErrorKind::Unauthenticated | ErrorKind::SignInRequired { .. } => {
                StatusCode::UNAUTHORIZED
            }
            ErrorKind::SignInRefused(_) => StatusCode::FORBIDDEN,
            ErrorKind::BadRequest(_) => StatusCode::BAD_REQUEST,
            ErrorKind::Forbidden(_) => StatusCode::FORBIDDEN,
            ErrorKind::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorKind::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ErrorKind::Conflict(_) => StatusCode::CONFLICT,
            ErrorKind::Unlicensed(_) => StatusCode::PAYMENT_REQUIRED,
            ErrorKind::Disabled(_) | ErrorKind::Starting(_) => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            // The plugin failed, not the request: a gateway error, or a
            // timeout when it ran out of time.
            ErrorKind::Plugin {
                error: CallError::Deadline { .. },
                ..
            } => StatusCode::GATEWAY_TIMEOUT,
            // Every slot was taken until the deadline: try again later.
            ErrorKind::Plugin {
                error: CallError::Busy { .. },
                ..
            } => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Plugin { .. } => StatusCode::BAD_GATEWAY,
        }
    }

    /// Backstage's error names, so API clients can switch on them.
    fn name(&self) -> &'static str {
        match &self.kind {
            ErrorKind::NotFound(_) => "NotFoundError",
            ErrorKind::Unauthenticated | ErrorKind::SignInRequired { .. } => "AuthenticationError",
            ErrorKind::SignInRefused(_) => "NotAllowedError",
            ErrorKind::BadRequest(_) => "InputError",
            ErrorKind::Forbidden(_) => "NotAllowedError",
            ErrorKind::UnsupportedMediaType(_) => "InputError",
            ErrorKind::MethodNotAllowed(_) => "NotAllowedError",
            ErrorKind::Conflict(_) => "ConflictError",
            ErrorKind::Unlicensed(_) => "LicenceError",
            ErrorKind::Disabled(_) | ErrorKind::Starting(_) => "ServiceUnavailableError",
            ErrorKind::Internal(_) => "Error",
            ErrorKind::Plugin { .. } => "PluginError",
        }
    }

    fn message(&self) -> String {
        match &self.kind {
            ErrorKind::NotFound(m)
            | ErrorKind::BadRequest(m)
            | ErrorKind::Forbidden(m)
            | ErrorKind::UnsupportedMediaType(m)
            | ErrorKind::MethodNotAllowed(m)
            | ErrorKind::Conflict(m)
            | ErrorKind::Unlicensed(m)
            | ErrorKind::SignInRefused(m)
            | ErrorKind::Disabled(m)
            | ErrorKind::Starting(m)
            | ErrorKind::Internal(m) => m.clone(),
            ErrorKind::Unauthenticated => {
                "nobody is signed in, and this portal has no sign-in method configured; for local use, \
                 turn on guest access (`greenroom serve --demo`, or `[auth] guest = true` in the config)"
                    .to_owned()
            }
            ErrorKind::SignInRequired { .. } => {
                "nobody is signed in; sign in at /auth/sign-in (or, behind the sign-in proxy, \
                 send its header)"
                    .to_owned()
            }
            ErrorKind::Plugin { plugin, error } => format!("plugin `{plugin}` failed: {error}"),
        }
    }
}

impl AppError {
    /// A plugin still starting will answer in a moment: say when to ask
    /// again (RFC 9110 `Retry-After`, in seconds).
    fn retry_after(&self, response: &mut Response) {
        if matches!(self.kind, ErrorKind::Starting(_)) {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("2"),
            );
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
                let mut response = (status, Json(body.clone())).into_response();
                response.extensions_mut().insert(ErrorBody(body));
                self.retry_after(&mut response);
                response
            }
            Format::Html => {
                if let ErrorKind::SignInRequired {
                    return_to: Some(return_to),
                } = &self.kind
                {
                    return crate::paths::to_sign_in(return_to);
                }
                let title = match self.kind {
                    ErrorKind::SignInRefused(_) => "Sign-in refused",
                    // "Payment Required" would speak to the wrong person.
                    ErrorKind::Unlicensed(_) => "Licence required",
                    ErrorKind::Disabled(_) => "Plugin disabled",
                    ErrorKind::Starting(_) => "Plugin starting",
                    _ => status.canonical_reason().unwrap_or("Error"),
                };
                let mut response = (
                    status,
                    crate::render::shell::error_page(status.as_u16(), title, &self.message()),
                )
                    .into_response();
                self.retry_after(&mut response);
                response
            }
        }
    }
}

/// A catalog failure, as the caller can act on it: a malformed request, a
/// missing or existing thing; anything else is the host's fault and is
/// logged here, not shown.
impl From<CatalogError> for ErrorKind {
    fn from(error: CatalogError) -> ErrorKind {
        match error {
            CatalogError::Query(e) => ErrorKind::BadRequest(e.to_string()),
            CatalogError::NotFound(m) => ErrorKind::NotFound(m),
            CatalogError::Conflict(m) => ErrorKind::Conflict(m),
            other @ (CatalogError::Store(_) | CatalogError::Sql(_)) => {
                tracing::error!(error = %other, "the catalog failed");
                ErrorKind::Internal(
                    "the catalog could not answer; the operator's log has the details".into(),
                )
            }
        }
    }
}

/// A catalog failure answering an API request.
impl From<CatalogError> for AppError {
    fn from(error: CatalogError) -> AppError {
        AppError::api(error.into())
    }
}

/// The JSON body of an API error, kept on its response for
/// [`describe_request`].
#[derive(Debug, Clone)]
pub(crate) struct ErrorBody(Value);

/// Adds `request: {method, url}` to the JSON error bodies of the routes it
/// wraps, completing Backstage's error format (the error is built where the
/// request is no longer at hand).
pub(crate) async fn describe_request(
    OriginalUri(uri): OriginalUri,
    method: Method,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    let Some(ErrorBody(mut body)) = response.extensions().get::<ErrorBody>().cloned() else {
        return response;
    };
    body["request"] = json!({ "method": method.as_str(), "url": uri.to_string() });
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body.to_string()))
}

/// Logs every server error (5xx) the portal answers with the request's
/// method and path, so an operator can tell which request failed; the error
/// itself is logged where it happened. Never the query string: it may
/// carry a sign-in code or what someone searched for. Outermost, so a
/// panic turned into a 500 is logged too.
pub(crate) async fn log_server_errors(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let status = response.status();
    if status.is_server_error() {
        tracing::error!(
            method = %method,
            path = %path,
            status = status.as_u16(),
            "{method} {path} answered {status}"
        );
    }
    response
}
