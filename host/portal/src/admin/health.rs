//! A plugin's health, for admins: `/admin/plugins/{id}/health` and
//! `GET /api/admin/plugins/{id}/health`.
//!
//! Calls by kind with their p50 and p99 durations, failures by kind, calls
//! in which the broker denied something and the denials themselves (from
//! the audit log), and the latest errors with when, which call and why. A
//! plugin that keeps failing is turned off from here: an installed one is
//! disabled through the marketplace (the server stops serving it); one from
//! the configuration file is suspended (it stays loaded, is never called,
//! and stays off across restarts until it is turned on here again; see the
//! `suspension` module).

use super::api::admin;
use super::audit::{entries_table, time_of};
use super::pages::{
    INSTALLED_PAGE, LoadState, admin_page, back_to, breadcrumb, csrf_field, page_error,
    plugin_action,
};
use super::{Admin, Allowed, PluginConfigure, blocking};
use crate::catalog_pages::SEGMENT;
use crate::csrf::CsrfForm;
use crate::csrf::CsrfToken;
use crate::error::{AppError, ErrorKind, Format};
use crate::pages::take_notice;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use axum_extra::extract::CookieJar;
use greenroom_access::{AuditEntry, AuditQuery, Decision};
use greenroom_lifecycle::Plugin;
use greenroom_marketplace::Suspension;
use greenroom_runtime::{Durations, FailureKind, HealthSnapshot, RecentError};
use maud::{Markup, html};
use percent_encoding::utf8_percent_encode;
use serde_json::{Value, json};
use std::time::Duration;

/// How many of the plugin's latest denials the page and API show; the
/// audit page has all of them.
const RECENT_DENIALS: u32 = 20;

pub(super) fn page_routes() -> Router<AppState> {
    Router::new()
        .route("/plugins/{id}/health", get(page))
        .route("/plugins/{id}/health/disable", post(disable))
        .route("/plugins/{id}/health/enable", post(enable))
}

pub(super) fn api_routes() -> Router<AppState> {
    Router::new().route("/plugins/{id}/health", get(api))
}

/// `/admin/plugins/{id}/health`.
pub(super) fn health_href(id: &str) -> String {
    plugin_action(id, "health")
}

/// A link to a plugin's health page, for the plugin lists.
pub(crate) fn health_link(id: &str) -> Markup {
    html! { a.link href=(health_href(id)) { "Health" } }
}

/// Where a served plugin comes from, which decides how it is turned off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// Installed from a marketplace, and this record is what is served.
    Installed,
    /// The configuration file's (it wins over an installed one of the
    /// same id).
    Configured,
}

impl Origin {
    /// Reads the installed records: blocking.
    fn of(state: &AppState, admin: &Admin, id: &str, format: Format) -> Result<Origin, AppError> {
        let record = admin
            .marketplace
            .installed()
            .get(id)
            .map_err(|e| super::api::error(format, e.into()))?;
        // The same rule as the installed plugins page: a served plugin that
        // is not an enabled, unshadowed install is the configuration's.
        let installed = record.is_some_and(|record| {
            !matches!(
                LoadState::of(state, admin, &record),
                LoadState::Disabled | LoadState::Shadowed
            )
        });
        Ok(if installed {
            Origin::Installed
        } else {
            Origin::Configured
        })
    }

    fn name(self) -> &'static str {
        match self {
            Origin::Installed => "installed",
            Origin::Configured => "configured",
        }
    }
}

/// Everything the page and the API show about one plugin.
struct Report {
    plugin: Plugin,
    health: HealthSnapshot,
    origin: Origin,
    suspension: Option<Suspension>,
    denials: Vec<AuditEntry>,
}

impl Report {
    async fn load(state: &AppState, id: &str, format: Format) -> Result<Report, AppError> {
        let plugin = served(state, id, format)?;
        let health = plugin.health();
        let suspension = state.plugins().suspension(id);
        let admin = admin(state);
        let (state, id) = (state.clone(), id.to_owned());
        let (origin, denials) = blocking(format, move || {
            let origin = Origin::of(&state, &admin, &id, format)?;
            let denials = admin
                .marketplace
                .audit_log()
                .query(&AuditQuery {
                    plugin: Some(id),
                    decision: Some(Decision::Deny),
                    limit: RECENT_DENIALS,
                    ..AuditQuery::default()
                })
                .map_err(|e| AppError {
                    kind: ErrorKind::Internal(e.to_string()),
                    format,
                })?;
            Ok((origin, denials.entries))
        })
        .await?;
        Ok(Report {
            plugin,
            health,
            origin,
            suspension,
            denials,
        })
    }
}

/// The loaded plugin with this id, or a 404 saying where a disabled
/// installed plugin is turned on again.
fn served(state: &AppState, id: &str, format: Format) -> Result<Plugin, AppError> {
    state.plugins().get(id).ok_or_else(|| AppError {
        kind: ErrorKind::NotFound(format!(
            "no plugin `{id}` is loaded; a disabled installed plugin is enabled again on {INSTALLED_PAGE}"
        )),
        format,
    })
}

// ---------------------------------------------------------------------------
// GET /admin/plugins/{id}/health

async fn page(
    State(state): State<AppState>,
    actor: Allowed<PluginConfigure>,
    Path(id): Path<String>,
    Extension(csrf): Extension<CsrfToken>,
    jar: CookieJar,
) -> Result<Response, AppError> {
    let report = Report::load(&state, &id, Format::Html).await?;
    let manifest = report.plugin.manifest();
    let health = &report.health;
    let (notice, jar) = take_notice(jar);
    let content = html! {
        section.page-header {
            (breadcrumb(&format!("{} health", manifest.id)))
            h1.page-title { (manifest.name) " " span.page-title-version { (manifest.version) } " " (status_badge(&report)) }
            p.page-lead {
                "How each call to it went since the server started ("
                a.link href={ "/plugins/" (utf8_percent_encode(manifest.id.as_str(), SEGMENT)) } { "its page" }
                "). Counters start again at zero on restart; the audit log keeps denials."
            }
        }
        (switch_card(&report, &csrf))
        div.grid.grid-cols-2 {
            (calls_card(health))
            (failures_card(health))
        }
        div.grid.grid-cols-2 { (crate::pages::operator_details(&report.plugin)) }
        (recent_errors_card(&health.recent_errors))
        section.card {
            header.card-header {
                h2.card-title { "Denials" }
                p.card-subtitle {
                    (health.denied_calls) " of " (health.calls) " calls had an import denied. The latest denials from the audit log; "
                    a.link href=(super::audit::plugin_href(manifest.id.as_str())) { "all audit entries for this plugin" }
                }
            }
            @if report.denials.is_empty() {
                div.card-body { p.text.text-muted { "The broker has not denied this plugin anything." } }
            } @else {
                (entries_table(&report.denials))
            }
        }
    };
    let title = format!("{} health", manifest.name);
    Ok((
        jar,
        admin_page(&state, &actor, &title, notice.as_deref(), content),
    )
        .into_response())
}

fn status_badge(report: &Report) -> Markup {
    match (&report.suspension, report.origin) {
        (Some(_), _) => html! { span.badge.tone-danger { "disabled by an admin" } },
        (None, Origin::Installed) => html! { span.badge.tone-success { "serving" } },
        (None, Origin::Configured) => {
            html! { span.badge.tone-success { "serving" } " " span.badge.tone-neutral { "configured" } }
        }
    }
}

/// The button that turns the plugin off, or back on.
fn switch_card(report: &Report, csrf: &CsrfToken) -> Markup {
    let id = report.plugin.manifest().id.as_str();
    let action = |verb: &str| format!("{}/{verb}", health_href(id));
    html! {
        @if let Some(suspension) = &report.suspension {
            section.card.card-danger {
                header.card-header { h2.card-title { "Disabled by an admin" } }
                div.card-body {
                    p.text {
                        (suspension.actor) " turned it off on " (time_of(suspension.at_ms)) ": " (suspension.reason) ". "
                        "It is loaded but never called: its slots say an admin disabled it, its API answers 503 and its tasks do not run."
                    }
                    form method="post" action=(action("enable")) {
                        (csrf_field(csrf))
                        button.button.button-primary type="submit" { "Enable this plugin" }
                    }
                }
            }
        } @else {
            section.card {
                header.card-header { h2.card-title { "Turn it off" } }
                div.card-body {
                    p.text {
                        @match report.origin {
                            Origin::Installed => "It was installed from a marketplace: disabling it stops the server serving it, as on the installed plugins page, where it is enabled again.",
                            Origin::Configured => "It comes from the configuration file: disabling it keeps it loaded but stops every call to it, across restarts, until it is enabled again here.",
                        }
                    }
                    form method="post" action=(action("disable")) {
                        (csrf_field(csrf))
                        button.button.button-danger type="submit" { "Disable this plugin" }
                    }
                }
            }
        }
    }
}

fn calls_card(health: &HealthSnapshot) -> Markup {
    html! {
        section.card {
            header.card-header {
                h2.card-title { "Calls" }
                p.card-subtitle { (health.calls) " calls; durations include waiting for an instance slot" }
            }
            div.table-wrap {
                table.table {
                    thead { tr { th { "Call" } th.align-end { "Calls" } th.align-end { "Mean" } th.align-end { "p50" } th.align-end { "p99" } } }
                    tbody {
                        @for stats in &health.by_call {
                            tr { td { (stats.call.name()) } (duration_cells(&stats.durations)) }
                        }
                        tr { th { "All" } (duration_cells(&health.durations)) }
                    }
                }
            }
        }
    }
}

fn duration_cells(durations: &Durations) -> Markup {
    html! {
        td.align-end { (durations.count()) }
        td.align-end { (millis(durations.mean())) }
        td.align-end { (millis(durations.percentile(0.5))) }
        td.align-end { (millis(durations.percentile(0.99))) }
    }
}

fn failures_card(health: &HealthSnapshot) -> Markup {
    html! {
        section.card {
            header.card-header {
                h2.card-title { "Failures" }
                p.card-subtitle { (health.total_failures()) " of " (health.calls) " calls failed" }
            }
            div.card-body {
                dl.properties {
                    @for (kind, count) in &health.failures {
                        div.property {
                            dt { (kind.name()) }
                            dd { @if *count > 0 { span.badge.tone-danger { (count) } } @else { "0" } }
                        }
                    }
                    div.property { dt { "calls with a denial" } dd { (health.denied_calls) } }
                }
                p.text-muted.text-small { "A " strong { "denied" } " failure is a call that gave up after an import was denied; calls with a denial also count those that carried on." }
            }
        }
    }
}

fn recent_errors_card(errors: &[RecentError]) -> Markup {
    html! {
        section.card {
            header.card-header {
                h2.card-title { "Last errors" }
                p.card-subtitle { "Newest first; at most " (greenroom_runtime::RECENT_ERRORS) " are kept" }
            }
            @if errors.is_empty() {
                div.card-body { p.text.text-muted { "No call has failed." } }
            } @else {
                div.table-wrap {
                    table.table {
                        thead { tr { th { "When" } th { "Call" } th { "Kind" } th { "Message" } } }
                        tbody {
                            @for error in errors {
                                tr.recent-error {
                                    td { (humantime::format_rfc3339_seconds(error.at)) }
                                    td { (error.call.name()) }
                                    td { span.badge.tone-danger { (error.kind.name()) } }
                                    td { code { (error.message) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A duration for people: `12.3 ms`, or `—` when there is none.
fn millis(duration: Option<Duration>) -> String {
    match duration {
        Some(d) => format!("{:.1} ms", d.as_secs_f64() * 1000.0),
        None => "—".to_owned(),
    }
}

// ---------------------------------------------------------------------------
// POST /admin/plugins/{id}/health/{disable,enable}

/// Turns the plugin off: an installed one through the marketplace, one
/// from the configuration file by suspending it.
async fn disable(
    State(state): State<AppState>,
    actor: Allowed<PluginConfigure>,
    Path(id): Path<String>,
    _form: CsrfForm,
) -> Result<Response, AppError> {
    let plugin = served(&state, &id, Format::Html)?;
    let health = plugin.health();
    let reason = format!(
        "disabled from its health page after {} failed calls of {}",
        health.total_failures(),
        health.calls
    );
    let admin = admin(&state);
    blocking(Format::Html, move || {
        match Origin::of(&state, &admin, &id, Format::Html)? {
            Origin::Installed => {
                admin
                    .marketplace
                    .set_enabled(&id, false, &actor.name)
                    .map_err(page_error)?;
                admin.loads.ring();
                Ok(back_to(
                    INSTALLED_PAGE,
                    &format!("Disabled {id}; the server no longer serves it"),
                ))
            }
            Origin::Configured => {
                state
                    .plugins().suspend(&admin.marketplace.suspensions(), &id, &actor.name, &reason)
                    .map_err(internal)?;
                Ok(back_to(
                    &health_href(&id),
                    &format!("Disabled {id}: it stays loaded but is not called, across restarts, until it is enabled here"),
                ))
            }
        }
    })
    .await
}

/// Turns a suspended plugin on again.
async fn enable(
    State(state): State<AppState>,
    actor: Allowed<PluginConfigure>,
    Path(id): Path<String>,
    _form: CsrfForm,
) -> Result<Response, AppError> {
    served(&state, &id, Format::Html)?;
    let admin = admin(&state);
    blocking(Format::Html, move || {
        let resumed = state
            .plugins()
            .resume(&admin.marketplace.suspensions(), &id, &actor.name)
            .map_err(internal)?;
        let notice = if resumed {
            format!("Enabled {id}; it is called again")
        } else {
            format!("{id} was not disabled")
        };
        Ok(back_to(&health_href(&id), &notice))
    })
    .await
}

fn internal(error: impl std::fmt::Display) -> AppError {
    AppError::page(ErrorKind::Internal(error.to_string()))
}

// ---------------------------------------------------------------------------
// GET /api/admin/plugins/{id}/health

async fn api(
    State(state): State<AppState>,
    _admin: Allowed<PluginConfigure>,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let report = Report::load(&state, &id, Format::Json).await?;
    let manifest = report.plugin.manifest();
    let health = &report.health;
    let by_call: serde_json::Map<String, Value> = health
        .by_call
        .iter()
        .map(|stats| {
            (
                stats.call.name().to_owned(),
                durations_json(&stats.durations),
            )
        })
        .collect();
    Ok(Json(json!({
        "id": manifest.id.as_str(),
        "name": manifest.name,
        "version": manifest.version.to_string(),
        "origin": report.origin.name(),
        "disabled": report.suspension.as_ref().map(|s| json!({
            "by": s.actor,
            "reason": s.reason,
            "at": time_of(s.at_ms),
        })),
        "calls": health.calls,
        "deniedCalls": health.denied_calls,
        "failures": failures_json(health),
        "durations": durations_json(&health.durations),
        "byCall": by_call,
        "recentErrors": health.recent_errors.iter().map(|e| json!({
            "at": humantime::format_rfc3339_millis(e.at).to_string(),
            "call": e.call.name(),
            "kind": e.kind.name(),
            "message": e.message,
        })).collect::<Vec<_>>(),
        "denials": report.denials.iter().map(super::audit::entry_json).collect::<Vec<_>>(),
    })))
}

fn failures_json(health: &HealthSnapshot) -> serde_json::Map<String, Value> {
    FailureKind::ALL
        .iter()
        .map(|kind| (kind.name().to_owned(), json!(health.failures_of(*kind))))
        .collect()
}

fn durations_json(durations: &Durations) -> Value {
    let ms = |d: Option<Duration>| d.map(|d| d.as_secs_f64() * 1000.0);
    json!({
        "calls": durations.count(),
        "meanMs": ms(durations.mean()),
        "p50Ms": ms(durations.percentile(0.5)),
        "p99Ms": ms(durations.percentile(0.99)),
        "maxMs": ms(durations.max()),
    })
}
