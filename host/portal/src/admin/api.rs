//! `/api/admin/…`: the marketplace and installed plugins as JSON, for
//! `greenroom plugin … --server URL` and for scripts.

use super::{Admin, AdminActor, blocking};
use crate::error::{AppError, ErrorKind, Format};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use greenroom_lifecycle::LoadStatus;
use greenroom_marketplace::{Installed, LifecycleError, Quiet, SourcedIndex};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long an install waits for the server to load the plugin before
/// answering (the load goes on if it takes longer).
const LOAD_WAIT: Duration = Duration::from_secs(60);

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/marketplace", get(marketplace))
        .route("/marketplace/{id}/candidate", get(candidate))
        .route("/plugins", get(installed))
        .route("/plugins/{id}", get(installed_one).delete(remove))
        .route("/plugins/{id}/install", post(install))
        .route("/plugins/{id}/enable", post(enable))
        .route("/plugins/{id}/disable", post(disable))
}

/// A lifecycle error as the API reports it.
pub(crate) fn error(format: Format, error: LifecycleError) -> AppError {
    let message = error.to_string();
    let kind = match error {
        LifecycleError::NoPlugin { .. }
        | LifecycleError::NotListed(_)
        | LifecycleError::NoVersion { .. }
        | LifecycleError::Installed(greenroom_marketplace::InstalledError::NotInstalled(_)) => {
            ErrorKind::NotFound(message)
        }
        LifecycleError::Verify(_) | LifecycleError::Grant { .. } | LifecycleError::NoIndexes => {
            ErrorKind::BadRequest(message)
        }
        _ => ErrorKind::Internal(message),
    };
    AppError { kind, format }
}

pub(super) fn admin(state: &AppState) -> Arc<Admin> {
    state.admin().expect("AdminActor checked that there is one")
}

/// One index's plugins, with what is installed of each.
pub(crate) fn index_json(index: &SourcedIndex, installed: &[Installed]) -> Value {
    let plugins: Vec<Value> = index
        .index
        .plugins
        .iter()
        .map(|plugin| {
            let here = installed.iter().find(|i| i.id == plugin.id);
            json!({
                "id": plugin.id,
                "name": plugin.name,
                "summary": plugin.summary,
                "publisher": plugin.publisher,
                "tier": plugin.tier,
                "homepage": plugin.homepage,
                "versions": plugin.versions.iter().map(|v| json!({
                    "version": v.version,
                    "wit": v.wit,
                    "sha256": v.sha256,
                    "capabilities": v.capabilities,
                })).collect::<Vec<_>>(),
                "installed": here.map(|i| i.version.clone()),
            })
        })
        .collect();
    json!({ "source": index.source, "plugins": plugins })
}

/// `GET /api/admin/marketplace`: every configured index's plugins.
async fn marketplace(
    State(state): State<AppState>,
    _admin: AdminActor,
) -> Result<Json<Value>, AppError> {
    let admin = admin(&state);
    blocking(Format::Json, move || {
        let installed = admin
            .marketplace
            .installed()
            .list()
            .map_err(|e| error(Format::Json, e.into()))?;
        let indexes: Vec<Value> = admin
            .marketplace
            .indexes()
            .into_iter()
            .map(|index| match index {
                Ok(index) => index_json(&index, &installed),
                Err((source, e)) => {
                    json!({ "source": source, "error": e.to_string(), "plugins": [] })
                }
            })
            .collect();
        Ok(Json(json!({ "indexes": indexes })))
    })
    .await
}

#[derive(Debug, Deserialize)]
pub(crate) struct Which {
    /// The index [default: the first configured index listing the plugin].
    pub index: Option<String>,
    /// The version [default: the newest].
    pub version: Option<String>,
}

/// `GET /api/admin/marketplace/{id}/candidate?index=&version=`: fetches
/// and verifies the artifact and says what it requests, what is new since
/// the installed version and what it drops: what consent is asked for.
async fn candidate(
    State(state): State<AppState>,
    _admin: AdminActor,
    Path(id): Path<String>,
    Query(which): Query<Which>,
) -> Result<Json<greenroom_marketplace::CandidateView>, AppError> {
    let admin = admin(&state);
    blocking(Format::Json, move || {
        let marketplace = &admin.marketplace;
        let index = marketplace
            .find(&id, which.index.as_deref())
            .map_err(|e| error(Format::Json, e))?;
        let candidate = marketplace
            .prepare(&index, &id, which.version.as_deref(), &Quiet)
            .map_err(|e| error(Format::Json, e))?;
        Ok(Json(candidate.view()))
    })
    .await
}

/// What installing asks for.
#[derive(Debug, Deserialize, Serialize)]
pub struct InstallBody {
    /// The index [default: the first configured index listing the plugin].
    #[serde(default)]
    pub index: Option<String>,
    /// The version [default: the newest].
    #[serde(default)]
    pub version: Option<String>,
    /// What the operator grants (all or part of what it requests; for a
    /// plugin requesting `operator-origins`, also `http:<origin>` for
    /// each origin the operator adds).
    pub grants: Vec<String>,
    /// The sha256 the operator consented to: refused if the index now
    /// offers other bytes.
    #[serde(default)]
    pub sha256: Option<String>,
}

/// `POST /api/admin/plugins/{id}/install`: installs or upgrades, then
/// waits (up to a minute) for the server to load it, and says how that
/// went.
async fn install(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(id): Path<String>,
    Json(body): Json<InstallBody>,
) -> Result<Json<Value>, AppError> {
    let admin = admin(&state);
    blocking(Format::Json, move || {
        let installed = install_now(&admin, &id, &body, &actor.name, Format::Json)?;
        let load = wait_for_load(&admin, &installed);
        Ok(Json(json!({ "installed": installed, "load": load })))
    })
    .await
}

/// Prepares, checks the consented digest, and installs.
pub(crate) fn install_now(
    admin: &Admin,
    id: &str,
    body: &InstallBody,
    actor: &str,
    format: Format,
) -> Result<Installed, AppError> {
    let marketplace = &admin.marketplace;
    let index = marketplace
        .find(id, body.index.as_deref())
        .map_err(|e| error(format, e))?;
    let candidate = marketplace
        .prepare(&index, id, body.version.as_deref(), &Quiet)
        .map_err(|e| error(format, e))?;
    if let Some(consented) = &body.sha256
        && !consented.eq_ignore_ascii_case(&candidate.version.sha256)
    {
        return Err(AppError {
            kind: ErrorKind::Conflict(format!(
                "{id} {} is now sha256 {}, not the {consented} you consented to; look at it again",
                candidate.version.version, candidate.version.sha256
            )),
            format,
        });
    }
    let installed = marketplace
        .install(&candidate, &body.grants, actor)
        .map_err(|e| error(format, e))?;
    admin.loads.ring();
    Ok(installed)
}

/// Waits until the follower reports on `installed`'s current record, or
/// [`LOAD_WAIT`] passes.
pub(crate) fn wait_for_load(admin: &Admin, installed: &Installed) -> Option<LoadStatus> {
    if !installed.enabled {
        return None;
    }
    let deadline = Instant::now() + LOAD_WAIT;
    loop {
        if let Some(status) = admin.loads.get(&installed.id)
            && status.sha256 == installed.sha256
            && status.grants == installed.grants
        {
            return Some(status);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        admin.loads.wait(left.min(Duration::from_millis(500)));
    }
}

/// An installed plugin with what the server made of it.
pub(crate) fn installed_json(admin: &Admin, record: &Installed) -> Value {
    json!({
        "record": record,
        "load": admin.loads.get(&record.id),
    })
}

/// `GET /api/admin/plugins`: the installed plugins.
async fn installed(
    State(state): State<AppState>,
    _admin: AdminActor,
) -> Result<Json<Value>, AppError> {
    let admin = admin(&state);
    blocking(Format::Json, move || {
        let list = admin
            .marketplace
            .installed()
            .list()
            .map_err(|e| error(Format::Json, e.into()))?;
        let plugins: Vec<Value> = list.iter().map(|r| installed_json(&admin, r)).collect();
        Ok(Json(json!({ "plugins": plugins })))
    })
    .await
}

/// `GET /api/admin/plugins/{id}`.
async fn installed_one(
    State(state): State<AppState>,
    _admin: AdminActor,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let admin = admin(&state);
    blocking(Format::Json, move || {
        let record = admin
            .marketplace
            .installed()
            .get(&id)
            .map_err(|e| error(Format::Json, e.into()))?
            .ok_or_else(|| {
                AppError::api(ErrorKind::NotFound(format!(
                    "no plugin `{id}` is installed"
                )))
            })?;
        Ok(Json(installed_json(&admin, &record)))
    })
    .await
}

#[derive(Debug, Deserialize)]
struct Purge {
    #[serde(default)]
    purge: bool,
}

/// `DELETE /api/admin/plugins/{id}?purge=true`.
async fn remove(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(id): Path<String>,
    Query(purge): Query<Purge>,
) -> Result<Json<Value>, AppError> {
    let admin = admin(&state);
    blocking(Format::Json, move || {
        let (removed, purged) = admin
            .marketplace
            .remove(&id, purge.purge, &actor.name)
            .map_err(|e| error(Format::Json, e))?;
        admin.loads.ring();
        Ok(Json(json!({ "removed": removed, "purged_keys": purged })))
    })
    .await
}

async fn enable(
    state: State<AppState>,
    actor: AdminActor,
    id: Path<String>,
) -> Result<Json<Value>, AppError> {
    set_enabled(state, actor, id, true).await
}

async fn disable(
    state: State<AppState>,
    actor: AdminActor,
    id: Path<String>,
) -> Result<Json<Value>, AppError> {
    set_enabled(state, actor, id, false).await
}

async fn set_enabled(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(id): Path<String>,
    enabled: bool,
) -> Result<Json<Value>, AppError> {
    let admin = admin(&state);
    blocking(Format::Json, move || {
        admin
            .marketplace
            .set_enabled(&id, enabled, &actor.name)
            .map_err(|e| error(Format::Json, e))?;
        admin.loads.ring();
        Ok(Json(json!({ "id": id, "enabled": enabled })))
    })
    .await
}
