//! Administration: the marketplace and installed plugins, as a JSON API
//! (`/api/admin/…`, what `greenroom plugin … --server` talks to) and as
//! pages (`/admin/…`).
//!
//! Who may administer: a caller presenting the server's admin token
//! (`Authorization: Bearer …`, written to the data directory at start, for
//! the CLI on the same machine), or a signed-in user RBAC allows
//! `plugin.install` (bootstrap admins from `[auth] admins` always; with
//! guest access on, for local demos only, the guest). Every change is written to the audit log with who made it.

pub(crate) mod api;
mod audit;
mod health;
mod pages;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_health;

pub(crate) use audit::api as audit_api;
pub(crate) use health::health_link;

/// The admin pages, under `/admin`.
pub(crate) fn page_routes() -> axum::Router<AppState> {
    pages::routes()
        .merge(health::page_routes())
        .merge(audit::page_routes())
}

/// The admin API, under `/api/admin`; its writes must be JSON, which a
/// cross-site form cannot send (see `csrf`).
pub(crate) fn api_routes() -> axum::Router<AppState> {
    api::routes()
        .merge(health::api_routes())
        .route_layer(axum::middleware::from_fn(crate::csrf::api_writes))
}

use crate::error::{AppError, ErrorKind, Format};
use crate::identity::require;
use crate::state::AppState;
use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::header;
use axum::http::request::Parts;
use greenroom_access::Identity;
use greenroom_access::rbac::Permission;

pub use crate::state::Admin;

/// A permission an admin page or API route needs.
pub(crate) trait Needs: Send + Sync {
    /// Its name.
    const PERMISSION: Permission;
}

/// Installing and managing plugins and licences: the marketplace pages.
pub(crate) struct PluginInstall;
impl Needs for PluginInstall {
    const PERMISSION: Permission = Permission::PLUGIN_INSTALL;
}

/// Reading plugin health and suspending a failing plugin.
pub(crate) struct PluginConfigure;
impl Needs for PluginConfigure {
    const PERMISSION: Permission = Permission::PLUGIN_CONFIGURE;
}

/// Reading the audit log.
pub(crate) struct AuditRead;
impl Needs for AuditRead {
    const PERMISSION: Permission = Permission::AUDIT_READ;
}

/// Someone allowed `P`, and the name the audit log records: a caller
/// presenting the server's admin token, or a signed-in user RBAC allows
/// `P` (a refusal is 403 naming the rule, and audited).
pub(crate) struct Allowed<P: Needs> {
    /// The signed-in user, when it is a person (not the token).
    pub user: Option<Identity>,
    /// `operator:token` or the user's entity reference.
    pub name: String,
    /// The request's CSRF token, for the page shell's forms.
    pub csrf: Option<String>,
    permission: std::marker::PhantomData<P>,
}

/// Someone allowed to install plugins: the marketplace pages and API.
pub(crate) type AdminActor = Allowed<PluginInstall>;

fn format_of(parts: &Parts) -> Format {
    let path = parts
        .extensions
        .get::<OriginalUri>()
        .map_or(parts.uri.path(), |uri| uri.0.path());
    if path.starts_with("/api/") {
        Format::Json
    } else {
        Format::Html
    }
}

/// Whether `user` may administer this portal (is offered the Admin
/// section): RBAC's `plugin.install` (bootstrap admins from `[auth]
/// admins`, and the guest in demo mode, may always).
pub(crate) fn is_admin(state: &AppState, user: &Identity) -> bool {
    state.permit(user, &PluginInstall::PERMISSION).allowed()
}

impl<P: Needs> FromRequestParts<AppState> for Allowed<P> {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Allowed<P>, AppError> {
        let format = format_of(parts);
        let refuse = |kind| AppError { kind, format };
        let Some(admin) = state.admin() else {
            return Err(refuse(ErrorKind::NotFound(
                "this server has no administration (no data directory)".into(),
            )));
        };
        let csrf = parts
            .extensions
            .get::<crate::csrf::CsrfToken>()
            .map(|t| t.0.clone());
        let allowed = |user: Option<Identity>, name: String| Allowed {
            user,
            name,
            csrf,
            permission: std::marker::PhantomData,
        };
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if let Some(presented) = bearer {
            let matches = admin.token.as_deref().is_some_and(|token| {
                crate::service::constant_time_eq(token.as_bytes(), presented.trim().as_bytes())
            });
            return if matches {
                Ok(allowed(None, "operator:token".into()))
            } else {
                Err(refuse(ErrorKind::Forbidden(
                    "the admin token does not match this server's; it is in the server's data directory (admin-token)".into(),
                )))
            };
        }
        let user = require(parts, state)?;
        state.require(&user, &P::PERMISSION, format)?;
        Ok(allowed(Some(user.clone()), user.entity_ref))
    }
}

/// Runs blocking marketplace work (downloads, SQLite) off the executor.
pub(crate) async fn blocking<T: Send + 'static>(
    format: Format,
    work: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| AppError {
            kind: ErrorKind::Internal(format!("administration task failed: {e}")),
            format,
        })?
}
