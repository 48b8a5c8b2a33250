//! `GET /admin/plugins` and `POST /admin/plugins/{id}/{enable,disable,remove}`:
//! the installed plugins, how each is doing, and changing them.

use super::{
    admin_page, breadcrumb, count, csrf_field, detail_href, done, newer_than, page_error,
    plugin_action,
};
use crate::admin::api::admin;
use crate::admin::{Admin, AdminActor, blocking};
use crate::catalog_pages::SEGMENT;
use crate::csrf::{CsrfForm, CsrfToken};
use crate::error::{AppError, Format};
use crate::pages::take_notice;
use crate::state::AppState;
use axum::Extension;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use greenroom_marketplace::{Installed, SourcedIndex};
use maud::{Markup, html};
use percent_encoding::utf8_percent_encode;
use std::collections::BTreeSet;

/// How an installed plugin is doing on this server.
pub(in crate::admin) enum LoadState {
    Disabled,
    Serving,
    Failed(String),
    /// The follower has not reported on the current record yet.
    Loading,
    /// A plugin of the same id from the configuration file is served: it
    /// wins over an installed one.
    Shadowed,
}

impl LoadState {
    pub(in crate::admin) fn of(state: &AppState, admin: &Admin, record: &Installed) -> LoadState {
        if !record.enabled {
            return LoadState::Disabled;
        }
        match admin.loads.get(&record.id) {
            Some(status) if status.sha256 == record.sha256 && status.grants == record.grants => {
                match status.error {
                    None => LoadState::Serving,
                    Some(reason) => LoadState::Failed(reason),
                }
            }
            Some(_) => LoadState::Loading,
            // The follower reports on every record it loads, so a plugin
            // of this id served without a report is the configuration's.
            None if state.plugins().get(&record.id).is_some() => LoadState::Shadowed,
            None => LoadState::Loading,
        }
    }

    fn badge(&self) -> Markup {
        match self {
            LoadState::Disabled => html! { span.badge.tone-neutral { "disabled" } },
            LoadState::Serving => html! { span.badge.tone-success { "serving" } },
            LoadState::Failed(reason) => html! {
                span.badge.tone-danger { "not loaded" }
                p.text-small.table-note { (reason) }
            },
            LoadState::Loading => html! { span.badge.tone-info { "loading" } },
            LoadState::Shadowed => html! {
                span.badge.tone-warning { "not loaded" }
                p.text-small.table-note { "The configuration file has a plugin of this id, and it is served instead." }
            },
        }
    }
}

/// The installed plugins, and the newest version their index offers when
/// it is newer.
struct InstalledList {
    records: Vec<(Installed, Option<String>)>,
}

impl InstalledList {
    fn load(admin: &Admin) -> Result<InstalledList, AppError> {
        let list = admin.marketplace.installed().list().map_err(page_error)?;
        // Each index once; an index that cannot be read offers no upgrade
        // (the marketplace page says why).
        let sources: BTreeSet<&str> = list.iter().map(|r| r.index_source.as_str()).collect();
        let indexes: Vec<SourcedIndex> = sources
            .into_iter()
            .filter_map(|source| admin.marketplace.read_index(source).ok())
            .collect();
        let newer = |record: &Installed| {
            let index = indexes.iter().find(|i| i.source == record.index_source)?;
            let plugin = index.index.plugin(&record.id)?;
            newer_than(plugin, &record.version).map(|v| v.version.clone())
        };
        Ok(InstalledList {
            records: list.iter().map(|r| (r.clone(), newer(r))).collect(),
        })
    }
}

/// `/admin/plugins`: what is installed, how each is doing, and the
/// plugins of the configuration file.
pub(super) async fn installed(
    State(state): State<AppState>,
    actor: AdminActor,
    Extension(csrf): Extension<CsrfToken>,
    jar: CookieJar,
) -> Result<Response, AppError> {
    let admin = admin(&state);
    let list = {
        let admin = admin.clone();
        blocking(Format::Html, move || InstalledList::load(&admin)).await?
    };
    let rows: Vec<(&Installed, Option<&str>, LoadState)> = list
        .records
        .iter()
        .map(|(record, newer)| {
            let serving = LoadState::of(&state, &admin, record);
            (record, newer.as_deref(), serving)
        })
        .collect();
    let added = |record: &Installed| match LoadState::of(&state, &admin, record) {
        LoadState::Serving => state
            .plugins()
            .get(&record.id)
            .map(|p| added_origins(&p))
            .unwrap_or_default(),
        _ => BTreeSet::new(),
    };
    // Served plugins that were not installed here (or that an installed
    // one of the same id cannot replace) come from the configuration.
    let plugins = state.plugins().list();
    let configured: Vec<_> = plugins
        .iter()
        .map(|p| p.manifest())
        .filter(|m| {
            !rows.iter().any(|(record, _, serving)| {
                record.id == m.id.as_str() && !matches!(serving, LoadState::Shadowed)
            })
        })
        .collect();
    let (notice, jar) = take_notice(jar);
    let content = html! {
        section.page-header {
            (breadcrumb("Installed plugins"))
            h1.page-title { "Installed plugins" }
            p.page-lead { "Plugins installed from a marketplace: what each was granted and whether this server serves it." }
        }
        @if rows.is_empty() {
            div.empty-state {
                p.empty-title { "No plugin is installed from a marketplace" }
                p.empty-description { a.link href="/admin/marketplace" { "Browse the marketplace" } " to install one." }
            }
        } @else {
            div.table-wrap {
                table.table {
                    thead { tr { th { "Plugin" } th { "Version" } th { "Granted" } th { "Status" } th { "Actions" } } }
                    tbody {
                        @for (record, newer, serving) in &rows {
                            tr { (installed_row(record, *newer, serving, &added(record), &csrf)) }
                        }
                    }
                }
            }
        }
        section.card {
            header.card-header {
                h2.card-title { "From the configuration file" }
                p.card-subtitle { "Managed in the config file's " code { "[[plugins]]" } " entries, not here" }
            }
            @if configured.is_empty() {
                div.card-body { p.text.text-muted { "None." } }
            } @else {
                div.table-wrap {
                    table.table {
                        thead { tr { th { "Plugin" } th { "Version" } th { "Status" } th { "Health" } } }
                        tbody {
                            @for manifest in &configured {
                                tr {
                                    td { a.link href={ "/plugins/" (utf8_percent_encode(manifest.id.as_str(), SEGMENT)) } { (manifest.name) } " " code.text-muted { (manifest.id) } }
                                    td { (manifest.version) }
                                    td {
                                        @if state.plugins().suspension(manifest.id.as_str()).is_some() {
                                            span.badge.tone-danger { "disabled by an admin" }
                                        } @else {
                                            span.badge.tone-neutral { "configured" } " " span.text-muted.text-small { "managed in the config file" }
                                        }
                                    }
                                    td { (crate::admin::health::health_link(manifest.id.as_str())) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok((
        jar,
        admin_page(
            &state,
            &actor,
            "Installed plugins",
            notice.as_deref(),
            content,
        ),
    )
        .into_response())
}

/// The origins `plugin` was granted beyond those its manifest lists.
fn added_origins(plugin: &greenroom_lifecycle::Plugin) -> BTreeSet<String> {
    let grant = plugin.env().grant();
    plugin
        .manifest()
        .capabilities
        .iter()
        .flat_map(|c| grant.added_origins(c))
        .collect()
}

/// One installed plugin; `added` are the origins an operator added to
/// what its manifest lists (known once it serves).
fn installed_row(
    record: &Installed,
    newer: Option<&str>,
    serving: &LoadState,
    added: &BTreeSet<String>,
    csrf: &CsrfToken,
) -> Markup {
    let added_by_operator = |grant: &str| {
        grant
            .strip_prefix("http:")
            .and_then(|o| greenroom_contract::HttpOrigin::parse(o).ok())
            .is_some_and(|o| added.contains(&o.to_string()))
    };
    let (toggle, toggle_label) = if record.enabled {
        ("disable", "Disable")
    } else {
        ("enable", "Enable")
    };
    html! {
        td {
            a.link href=(detail_href(&record.id, &record.index_source, None)) { code { (record.id) } }
            p.text-muted.table-note { "from " code { (record.index_source) } ", published by " (record.publisher) }
        }
        td {
            (record.version)
            @if let Some(newer) = newer { " " span.badge.tone-warning { (newer) " available" } }
        }
        td {
            @if record.grants.is_empty() {
                span.text-muted { "nothing" }
            } @else {
                ul.plain-list {
                    @for grant in &record.grants {
                        li {
                            code { (grant) }
                            @if added_by_operator(grant) { " " span.badge.tone-info { "origin added by an operator" } }
                        }
                    }
                }
            }
        }
        td { (serving.badge()) }
        td {
            div.admin-actions {
                form method="post" action=(plugin_action(&record.id, toggle)) {
                    (csrf_field(csrf))
                    button.button type="submit" { (toggle_label) }
                }
                @if let Some(newer) = newer {
                    a.button href=(detail_href(&record.id, &record.index_source, Some(newer))) { "Upgrade to " (newer) }
                }
                @if matches!(serving, LoadState::Serving) {
                    (crate::admin::health::health_link(&record.id))
                }
                form.admin-remove method="post" action=(plugin_action(&record.id, "remove")) {
                    (csrf_field(csrf))
                    label.checkbox.text-small {
                        input type="checkbox" name="purge" value="true";
                        span { "also delete its stored data" }
                    }
                    button.button type="submit" { "Remove" }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// POST /admin/plugins/{id}/…

pub(super) async fn enable(
    state: State<AppState>,
    actor: AdminActor,
    id: Path<String>,
    _form: CsrfForm,
) -> Result<Response, AppError> {
    set_enabled(state, actor, id, true).await
}

pub(super) async fn disable(
    state: State<AppState>,
    actor: AdminActor,
    id: Path<String>,
    _form: CsrfForm,
) -> Result<Response, AppError> {
    set_enabled(state, actor, id, false).await
}

async fn set_enabled(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(id): Path<String>,
    enabled: bool,
) -> Result<Response, AppError> {
    let admin = admin(&state);
    let notice = blocking(Format::Html, move || {
        admin
            .marketplace
            .set_enabled(&id, enabled, &actor.name)
            .map_err(page_error)?;
        admin.loads.ring();
        Ok(if enabled {
            format!("Enabled {id}; the server loads it in a moment")
        } else {
            format!("Disabled {id}; the server no longer serves it")
        })
    })
    .await?;
    Ok(done(&notice))
}

pub(super) async fn remove(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(id): Path<String>,
    form: CsrfForm,
) -> Result<Response, AppError> {
    let admin = admin(&state);
    let purge = form.value("purge").is_some();
    let notice = blocking(Format::Html, move || {
        let (removed, purged) = admin
            .marketplace
            .remove(&id, purge, &actor.name)
            .map_err(page_error)?;
        admin.loads.ring();
        let what = format!("Removed {} {}", removed.id, removed.version);
        Ok(if purge {
            format!(
                "{what} and deleted its {}",
                count(purged as usize, "stored key", "stored keys")
            )
        } else {
            format!("{what}; its stored data is kept")
        })
    })
    .await?;
    Ok(done(&notice))
}
