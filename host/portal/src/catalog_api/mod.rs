//! Backstage's catalog REST API under `/api/catalog`: the paths, parameters,
//! JSON shapes and status codes of Backstage's catalog-backend, so that
//! `@backstage/catalog-client` and scripts written for Backstage work
//! unchanged (`docs/catalog-api.md` lists the few differences, and
//! `docs/openapi/catalog.yaml`, served at `/api/catalog/openapi.yaml`,
//! describes every route).
//!
//! A request reads top to bottom: the route table below picks the handler;
//! the [`Actor`](crate::identity::Actor) extractor refuses anonymous
//! callers; the handler parses the request ([`params`], [`JsonBody`]),
//! asks the catalog in [`blocking`] (SQLite, and reading a location may
//! fetch URLs) with the caller's [`visible`] restriction on every entity
//! read, and shapes the answer as Backstage does.

mod entities;
mod locations;
mod params;
mod predicate;
#[cfg(test)]
mod tests;

use crate::error::{AppError, ErrorKind, describe_request};
use crate::identity::Actor;
use crate::state::AppState;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use greenroom_access::Identity;
use greenroom_catalog::{Catalog, Predicate};
use serde::de::DeserializeOwned;

/// Declares the routes once: the router, and the table the OpenAPI test
/// checks against `docs/openapi/catalog.yaml`.
macro_rules! catalog_routes {
    ($($path:literal { $($method:ident => $handler:expr),+ $(,)? })*) => {
        /// Every (path, methods) this API answers.
        #[cfg(test)]
        const ROUTES: &[(&str, &[&str])] = &[$(($path, &[$(stringify!($method)),+])),*];

        fn router() -> Router<AppState> {
            Router::new()$(.route($path, axum::routing::MethodRouter::new()$(.$method($handler))+))*
        }
    };
}

catalog_routes! {
    "/entities" { get => entities::list }
    "/entities/by-query" { get => entities::query, post => entities::query_by_predicate }
    "/entities/by-uid/{uid}" { get => entities::by_uid, delete => entities::delete_by_uid }
    "/entities/by-name/{kind}/{namespace}/{name}" { get => entities::by_name }
    "/entities/by-name/{kind}/{namespace}/{name}/ancestry" { get => entities::ancestry }
    "/entities/by-refs" { post => entities::by_refs }
    "/entity-facets" { get => entities::facets, post => entities::facets_by_predicate }
    "/refresh" { post => entities::refresh }
    "/validate-entity" { post => entities::validate }
    "/locations" { get => locations::list, post => locations::create }
    "/locations/{id}" { get => locations::by_id, delete => locations::delete }
    "/locations/by-entity/{kind}/{namespace}/{name}" { get => locations::by_entity }
    "/analyze-location" { post => locations::analyze }
    "/openapi.yaml" { get => openapi }
}

/// The routes, nested under `/api/catalog`.
pub(crate) fn routes() -> Router<AppState> {
    router()
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(describe_request))
}

/// The OpenAPI 3.0 description of this API.
const OPENAPI: &str = include_str!("../../../../docs/openapi/catalog.yaml");

/// `GET /openapi.yaml`.
async fn openapi(_user: Actor) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/yaml")], OPENAPI)
}

async fn method_not_allowed() -> AppError {
    AppError::api(ErrorKind::MethodNotAllowed(
        "the catalog API does not answer this method at this path; see /api/catalog/openapi.yaml"
            .into(),
    ))
}

/// The entities `user` may see: the restriction every entity read of this
/// API passes to the store — RBAC's decision on `catalog.entity.read`, its
/// conditions compiled to SQL, so every route follows and lists are
/// filtered in the database.
/// (Locations are not entities: as in Backstage, who may list, add or
/// remove them is a permission of its own, decided in their handlers.)
fn visible(state: &AppState, user: &Identity) -> Option<Predicate> {
    state.catalog_restriction(user)
}

/// Both restrictions, either, or none.
fn both(a: Option<Predicate>, b: Option<Predicate>) -> Option<Predicate> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.and(b)),
        (a, b) => a.or(b),
    }
}

/// Runs blocking catalog work (SQLite; reading a location may fetch URLs)
/// off the async workers.
async fn blocking<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce(&Catalog) -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    let catalog = state.catalog().clone();
    tokio::task::spawn_blocking(move || work(&catalog))
        .await
        .unwrap_or_else(|error| {
            tracing::error!(%error, "a catalog API call panicked");
            Err(AppError::api(ErrorKind::Internal(
                "the catalog could not answer; the operator's log has the details".into(),
            )))
        })
}

/// A 400 `InputError` saying what is wrong with the request.
fn input_error(message: impl std::fmt::Display) -> AppError {
    AppError::api(ErrorKind::BadRequest(message.to_string()))
}

/// A 404 `NotFoundError`.
fn not_found(message: impl Into<String>) -> AppError {
    AppError::api(ErrorKind::NotFound(message.into()))
}

/// Writes must say they are JSON, with Backstage's messages. Besides
/// Backstage's reason (the body is parsed as JSON), this keeps the API safe
/// from cross-site request forgery: a browser sends a cross-site form post
/// with the user's cookies, but not a JSON one, which needs a CORS
/// preflight the portal never grants.
fn require_json(headers: &HeaderMap) -> Result<(), String> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Err(
            "Content-Type missing; catalog API writes must be sent with `content-type: application/json`"
                .into(),
        );
    };
    let mime = value.to_str().unwrap_or_default();
    let mime = mime.split(';').next().unwrap_or_default().trim();
    if mime.eq_ignore_ascii_case("application/json") {
        Ok(())
    } else {
        Err(format!(
            "Illegal Content-Type \"{mime}\"; catalog API writes must be sent with `content-type: application/json`"
        ))
    }
}

/// A write without a body (`DELETE`), which must still say it is JSON.
struct JsonWrite;

impl FromRequestParts<AppState> for JsonWrite {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<JsonWrite, AppError> {
        require_json(&parts.headers).map_err(input_error)?;
        Ok(JsonWrite)
    }
}

/// A JSON request body, refused (400 `InputError`, as Backstage) when it is
/// not declared as JSON or does not have the expected shape.
struct JsonBody<T>(T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &AppState) -> Result<JsonBody<T>, AppError> {
        let raw = RawJson::from_request(request, state).await?;
        raw.parse().map(JsonBody).map_err(input_error)
    }
}

/// A body declared as JSON, not parsed yet: for `/validate-entity`, which
/// reports malformed bodies in its own format.
struct RawJson(Result<Bytes, String>);

impl FromRequest<AppState> for RawJson {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &AppState) -> Result<RawJson, AppError> {
        if let Err(message) = require_json(request.headers()) {
            return Ok(RawJson(Err(message)));
        }
        // The portal's body limit applies; past it the request fails here.
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| input_error(format!("Unreadable request body: {rejection}")))?;
        Ok(RawJson(Ok(bytes)))
    }
}

impl RawJson {
    fn parse<T: DeserializeOwned>(self) -> Result<T, String> {
        let bytes = self.0?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err("Missing request body".into());
        }
        serde_json::from_slice(&bytes).map_err(|e| format!("Malformed request: {e}"))
    }
}
