//! `/admin/…`: the marketplace and installed plugins as pages.
//!
//! An admin browses the configured indexes, reads a plugin's versions and
//! what each requests, and installs or upgrades it by ticking what it may
//! reach, one box per grant. Only what was granted before starts ticked,
//! so consent to anything new is always a deliberate click. The install
//! form is drawn only once the artifact was fetched and verified, and it
//! carries the verified sha256: if the index offers other bytes by the
//! time the form is sent, the install is refused. Installed plugins are
//! enabled, disabled and removed here too; plugins from the configuration
//! file are shown, but managed there.
//!
//! Whoever runs an index writes everything it says: maud escapes every
//! string of it, and the only link made from one is a homepage that is an
//! `http(s)` URL ([`web_anchor`]); the portal's own links carry index
//! strings only percent-encoded, in their path or query.
//!
//! Every page and post goes through [`AdminActor`] (a non-admin gets 401
//! or 403), every post through [`CsrfForm`]. Marketplace work (reading
//! indexes, fetching and verifying artifacts, SQLite) runs on the blocking
//! pool, through [`blocking`].

use super::api::{InstallBody, Which, admin, error, install_now, wait_for_load};
use super::{Admin, AdminActor, LoadStatus, blocking};
use crate::actions::{CSRF_FIELD, notice_cookie};
use crate::catalog_pages::SEGMENT;
use crate::csrf::{CsrfForm, CsrfToken};
use crate::error::{AppError, ErrorKind, Format};
use crate::layout::{self, Nav, Shell};
use crate::pages::take_notice;
use crate::render::links::web_anchor;
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use axum_extra::extract::CookieJar;
use greenroom_marketplace::{
    CandidateView, IndexPlugin, IndexVersion, Installed, LifecycleError, Quiet, SourcedIndex,
};
use maud::{Markup, html};
use percent_encoding::utf8_percent_encode;
use serde::Deserialize;
use std::collections::BTreeSet;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(overview))
        .route("/marketplace", get(marketplace))
        .route("/marketplace/{id}", get(detail))
        .route("/marketplace/{id}/install", post(install))
        .route("/plugins", get(installed))
        .route("/plugins/{id}/enable", post(enable))
        .route("/plugins/{id}/disable", post(disable))
        .route("/plugins/{id}/remove", post(remove))
        .route("/licences", get(licences).post(add_licence))
        .route("/licences/{id}/remove", post(remove_licence))
}

/// Where every change returns to.
pub(super) const INSTALLED_PAGE: &str = "/admin/plugins";

/// A page of the admin section.
pub(super) fn admin_page<P: super::Needs>(
    state: &AppState,
    actor: &super::Allowed<P>,
    title: &str,
    notice: Option<&str>,
    content: Markup,
) -> Markup {
    layout::page(
        &Shell {
            title,
            nav: Nav::Admin,
            user: actor.user.as_ref(),
            notice,
            admin: true,
            pages: match actor.user.as_ref() {
                Some(user) => layout::plugin_pages(state, user, None),
                None => Vec::new(),
            },
        },
        content,
    )
}

pub(super) fn breadcrumb(here: &str) -> Markup {
    html! { p.eyebrow { a.link href="/admin" { "Admin" } " / " (here) } }
}

/// Lifecycle errors on these pages are error pages.
pub(super) fn page_error(e: impl Into<LifecycleError>) -> AppError {
    error(Format::Html, e.into())
}

/// `/admin/marketplace/{id}?index=…[&version=…]`.
fn detail_href(id: &str, index: &str, version: Option<&str>) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("index", index);
    if let Some(version) = version {
        query.append_pair("version", version);
    }
    format!(
        "/admin/marketplace/{}?{}",
        utf8_percent_encode(id, SEGMENT),
        query.finish()
    )
}

/// `/admin/plugins/{id}/{action}`.
pub(super) fn plugin_action(id: &str, action: &str) -> String {
    format!(
        "/admin/plugins/{}/{action}",
        utf8_percent_encode(id, SEGMENT)
    )
}

/// An index's tier, which is only a claim until the artifact is verified.
fn tier_badge(tier: &str) -> Markup {
    match tier {
        "premium" => html! { span.badge.tone-info { "premium" } },
        other => html! { span.badge.tone-neutral { (other) } },
    }
}

/// The newest version an index offers of `plugin` when it is newer than
/// `installed`. Versions are compared by the index's own ordering (semver,
/// in [`IndexPlugin::version`]): an installed version the index still
/// lists and that is not its newest is older than the newest. One it no
/// longer lists cannot be placed, and no upgrade is offered.
fn newer_than<'a>(plugin: &'a IndexPlugin, installed: &str) -> Option<&'a IndexVersion> {
    let newest = plugin.version(None)?;
    let listed = plugin.versions.iter().any(|v| v.version == installed);
    (listed && newest.version != installed).then_some(newest)
}

/// Refuses an index the operator did not choose. The pages read only the
/// configured indexes and those that installed plugins came from, so that a
/// crafted link cannot make the server read another file or URL and show
/// what it found there.
fn known_index(admin: &Admin, source: Option<&str>) -> Result<(), AppError> {
    let Some(source) = source else {
        return Ok(());
    };
    let marketplace = &admin.marketplace;
    if marketplace.index_sources().iter().any(|s| s == source) {
        return Ok(());
    }
    let installed = marketplace.installed().list().map_err(page_error)?;
    if installed.iter().any(|i| i.index_source == source) {
        return Ok(());
    }
    Err(AppError::page(ErrorKind::BadRequest(format!(
        "`{source}` is not one of this portal's marketplace indexes; the marketplace page lists them"
    ))))
}

// ---------------------------------------------------------------------------
// Posted forms

pub(super) fn csrf_field(csrf: &CsrfToken) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(csrf.0); }
}

/// Back to the installed plugins, saying what happened.
fn done(notice: &str) -> Response {
    back_to(INSTALLED_PAGE, notice)
}

/// Back to `page`, saying what happened.
pub(super) fn back_to(page: &str, notice: &str) -> Response {
    (
        CookieJar::new().add(notice_cookie(notice)),
        Redirect::to(page),
    )
        .into_response()
}

// ---------------------------------------------------------------------------
// GET /admin

/// `/admin`: the two sections, with what is in each.
async fn overview(State(state): State<AppState>, actor: AdminActor) -> Result<Markup, AppError> {
    let admin = admin(&state);
    let sources = admin.marketplace.index_sources().len();
    let records = blocking(Format::Html, move || {
        admin.marketplace.installed().list().map_err(page_error)
    })
    .await?;
    let enabled = records.iter().filter(|r| r.enabled).count();
    let content = html! {
        section.page-header {
            p.eyebrow { "Admin" }
            h1.page-title { "Administration" }
            p.page-lead { "Install plugins from marketplace indexes and manage the installed ones. Every change is recorded in the audit log with who made it." }
        }
        div.grid.grid-cols-2 {
            section.card {
                header.card-header { h2.card-title { "Marketplace" } }
                div.card-body {
                    @if sources == 0 {
                        p.text { "No index is configured. " (how_to_add_an_index()) }
                    } @else {
                        p.text { (count(sources, "index", "indexes")) " configured." }
                    }
                    a.button href="/admin/marketplace" { "Browse the marketplace" }
                }
            }
            section.card {
                header.card-header { h2.card-title { "Installed plugins" } }
                div.card-body {
                    p.text { (count(records.len(), "plugin", "plugins")) " installed from a marketplace, " (enabled) " enabled." }
                    a.button href=(INSTALLED_PAGE) { "Manage installed plugins" }
                }
            }
            section.card {
                header.card-header { h2.card-title { "Licences" } }
                div.card-body {
                    p.text { "Premium plugins run with a licence signed by their publisher; seats are people active in the last 30 days." }
                    a.button href=(LICENCES_PAGE) { "Manage licences" }
                }
            }
            (super::audit::overview_card())
        }
        (running_plugins_card(&state))
    };
    Ok(admin_page(&state, &actor, "Admin", None, content))
}

/// Every plugin this server runs, wherever it came from: its own page
/// (where a plugin like RBAC is administered) and its health, grants and
/// limits.
fn running_plugins_card(state: &AppState) -> Markup {
    html! {
        section.card {
            header.card-header {
                h2.card-title { "Plugins running here" }
                p.card-subtitle { "From the configuration file or a marketplace; each one's page and its operator details" }
            }
            div.card-body {
                @if state.plugins().is_empty() {
                    p.text.text-muted { "None." }
                } @else {
                    ul.list {
                        @for plugin in state.plugins().iter() {
                            @let manifest = plugin.manifest();
                            li {
                                @match manifest.page() {
                                    Some(page) => { a.link href={ "/plugins/" (utf8_percent_encode(manifest.id.as_str(), SEGMENT)) } { (manifest.name) } " — " (page.title) }
                                    None => { (manifest.name) }
                                }
                                " · " (super::health_link(manifest.id.as_str()))
                                @if state.suspension(manifest.id.as_str()).is_some() { " " span.badge.tone-danger { "disabled by an admin" } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn how_to_add_an_index() -> Markup {
    html! {
        "Add one to the configuration file, under " code { "[marketplace]" } ": "
        code { "indexes = [\"https://example.com/marketplace-index.toml\"]" }
        " (a path, an https URL, or " code { "\"builtin\"" } " for the plugins this binary ships with), then restart the server."
    }
}

// ---------------------------------------------------------------------------
// GET /admin/marketplace

#[derive(Debug, Deserialize)]
struct Search {
    /// Words to find in a plugin's id, name, summary or publisher.
    #[serde(default)]
    q: Option<String>,
}

impl Search {
    fn text(&self) -> Option<&str> {
        self.q.as_deref().map(str::trim).filter(|q| !q.is_empty())
    }

    fn matches(&self, plugin: &IndexPlugin) -> bool {
        let Some(text) = self.text() else {
            return true;
        };
        let text = text.to_lowercase();
        [&plugin.id, &plugin.name, &plugin.summary, &plugin.publisher]
            .iter()
            .any(|field| field.to_lowercase().contains(&text))
    }
}

/// Every configured index, read or with why not, and what is installed.
struct Browse {
    indexes: Vec<Result<SourcedIndex, (String, String)>>,
    installed: Vec<Installed>,
}

/// `/admin/marketplace?q=`: every configured index's plugins.
async fn marketplace(
    State(state): State<AppState>,
    actor: AdminActor,
    Query(search): Query<Search>,
    jar: CookieJar,
) -> Result<Response, AppError> {
    let admin = admin(&state);
    let browse = blocking(Format::Html, move || {
        let installed = admin.marketplace.installed().list().map_err(page_error)?;
        let indexes = admin
            .marketplace
            .indexes()
            .into_iter()
            .map(|index| index.map_err(|(source, e)| (source, e.to_string())))
            .collect();
        Ok(Browse { indexes, installed })
    })
    .await?;
    let (notice, jar) = take_notice(jar);
    let content = html! {
        section.page-header {
            (breadcrumb("Marketplace"))
            h1.page-title { "Marketplace" }
            p.page-lead { "The plugins offered by the indexes this portal reads. Each is verified against its publisher's signature before you are asked what to grant it." }
        }
        @if browse.indexes.is_empty() {
            div.empty-state {
                p.empty-title { "No marketplace index is configured" }
                p.empty-description { (how_to_add_an_index()) }
            }
        } @else {
            form.filter-form method="get" action="/admin/marketplace" role="search" {
                div.field {
                    label.field-label for="marketplace-q" { "Search" }
                    input.input type="search" id="marketplace-q" name="q" value=[search.text()]
                        placeholder="Name, publisher or words";
                }
                div.filter-actions {
                    button.button.button-primary type="submit" { "Search" }
                    @if search.text().is_some() { a.link href="/admin/marketplace" { "Clear" } }
                }
            }
            @for index in &browse.indexes {
                @match index {
                    Ok(index) => (index_card(index, &browse.installed, &search)),
                    Err((source, message)) => {
                        section.card.card-danger {
                            header.card-header {
                                h2.card-title { "This index could not be read" }
                                p.card-subtitle { code { (source) } }
                            }
                            div.card-body { p.text { (message) } }
                        }
                    }
                }
            }
        }
    };
    Ok((
        jar,
        admin_page(&state, &actor, "Marketplace", notice.as_deref(), content),
    )
        .into_response())
}

fn index_card(index: &SourcedIndex, installed: &[Installed], search: &Search) -> Markup {
    let plugins: Vec<&IndexPlugin> = index
        .index
        .plugins
        .iter()
        .filter(|p| search.matches(p))
        .collect();
    html! {
        section.card {
            header.card-header {
                h2.card-title { "Index " code { (index.source) } }
                p.card-subtitle { (count(index.index.plugins.len(), "plugin", "plugins")) }
            }
            @if plugins.is_empty() {
                div.card-body {
                    p.text.text-muted {
                        @if search.text().is_some() { "No plugin here matches the search." } @else { "This index lists no plugins." }
                    }
                }
            } @else {
                div.table-wrap {
                    table.table {
                        thead { tr { th { "Plugin" } th { "Publisher" } th { "Tier" } th { "Newest" } th { "On this portal" } } }
                        tbody {
                            @for plugin in plugins {
                                @let here = installed.iter().find(|i| i.id == plugin.id);
                                tr {
                                    td {
                                        a.link href=(detail_href(&plugin.id, &index.source, None)) { (plugin.name) }
                                        " " code.text-muted { (plugin.id) }
                                        p.text-muted.table-note { (plugin.summary) }
                                    }
                                    td { (plugin.publisher) }
                                    td { (tier_badge(&plugin.tier)) }
                                    td { @if let Some(newest) = plugin.version(None) { (newest.version) } }
                                    td {
                                        @if let Some(here) = here {
                                            span.badge.tone-success { "installed " (here.version) }
                                            @if newer_than(plugin, &here.version).is_some() {
                                                " " span.badge.tone-warning { "update available" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// GET /admin/marketplace/{id}

/// One plugin of one index, with the chosen version fetched and verified.
struct Detail {
    /// The index it is read from.
    source: String,
    plugin: IndexPlugin,
    /// The version chosen (the newest unless asked).
    chosen: IndexVersion,
    /// What is installed under this id now.
    installed: Option<Installed>,
    /// What installing it asks consent for, or why its artifact was
    /// refused.
    verdict: Result<CandidateView, String>,
}

impl Detail {
    fn load(admin: &Admin, id: &str, which: &Which) -> Result<Detail, AppError> {
        let marketplace = &admin.marketplace;
        let version = which.version.as_deref().filter(|v| !v.is_empty());
        let source = which.index.as_deref().filter(|s| !s.is_empty());
        known_index(admin, source)?;
        let index = marketplace.find(id, source).map_err(page_error)?;
        // Verified now, before any form is drawn: a refusal is shown in
        // place of the form, with the exact reason.
        let verdict = match marketplace.prepare(&index, id, version, &Quiet) {
            Ok(candidate) => Ok(candidate.view()),
            Err(e @ (LifecycleError::Verify(_) | LifecycleError::Fetch { .. })) => {
                Err(e.to_string())
            }
            Err(e) => return Err(page_error(e)),
        };
        let plugin = index
            .index
            .plugin(id)
            .cloned()
            .expect("find returned an index that lists the plugin");
        let chosen = plugin
            .version(version)
            .cloned()
            .expect("prepare found this version before it fetched anything");
        Ok(Detail {
            source: index.source,
            plugin,
            chosen,
            installed: marketplace.installed().get(id).map_err(page_error)?,
            verdict,
        })
    }
}

/// `/admin/marketplace/{id}?index=&version=`: a plugin, its versions, and
/// the install form for one of them.
async fn detail(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(id): Path<String>,
    Query(which): Query<Which>,
    Extension(csrf): Extension<CsrfToken>,
) -> Result<Markup, AppError> {
    let admin = admin(&state);
    let detail = blocking(Format::Html, move || Detail::load(&admin, &id, &which)).await?;
    let plugin = &detail.plugin;
    let content = html! {
        section.page-header {
            p.eyebrow { a.link href="/admin" { "Admin" } " / " a.link href="/admin/marketplace" { "Marketplace" } " / " (plugin.id) }
            h1.page-title { (plugin.name) " " span.page-title-version { (detail.chosen.version) } " " (tier_badge(&plugin.tier)) }
            @if !plugin.summary.is_empty() { p.page-lead { (plugin.summary) } }
        }
        div.plugin-layout {
            div.plugin-main.stack.stack-vertical {
                @match &detail.verdict {
                    Ok(view) => (consent_form(&detail, view, &csrf)),
                    Err(reason) => (refusal(&detail, reason)),
                }
                (versions(&detail))
            }
            aside.plugin-aside { (about(&detail)) }
        }
    };
    Ok(admin_page(&state, &actor, &plugin.name, None, content))
}

fn about(detail: &Detail) -> Markup {
    let plugin = &detail.plugin;
    html! {
        section.card {
            header.card-header { h2.card-title { "About" } }
            div.card-body {
                dl.properties {
                    div.property { dt { "Id" } dd { code { (plugin.id) } } }
                    div.property { dt { "Publisher" } dd { (plugin.publisher) } }
                    div.property { dt { "Index" } dd { code { (detail.source) } } }
                    @if let Some(homepage) = &plugin.homepage {
                        div.property { dt { "Homepage" } dd { (web_anchor(homepage, homepage)) } }
                    }
                    div.property {
                        dt { "Installed" }
                        dd {
                            @match &detail.installed {
                                Some(installed) => { (installed.version) " " a.link href=(INSTALLED_PAGE) { "manage" } }
                                None => "no",
                            }
                        }
                    }
                }
                @if plugin.tier == "premium" {
                    p.text.text-muted.text-small { "A premium plugin runs only while the portal holds a valid licence from its publisher." }
                }
            }
        }
    }
}

/// Every version the index lists, newest first, each linking to its form.
fn versions(detail: &Detail) -> Markup {
    let installed = detail.installed.as_ref().map(|i| i.version.as_str());
    let newest = detail.plugin.version(None).map(|v| v.version.as_str());
    html! {
        section.card {
            header.card-header {
                h2.card-title { "Versions" }
                p.card-subtitle { "What each requests, as the index says; verified against the artifact when you choose it" }
            }
            div.table-wrap {
                table.table {
                    thead { tr { th { "Version" } th { "Contract" } th { "Requests" } th { "" } } }
                    tbody {
                        @for version in detail.plugin.versions.iter().rev() {
                            @let shown = version.version == detail.chosen.version;
                            tr {
                                td {
                                    @if shown {
                                        strong aria-current="true" { (version.version) }
                                    } @else {
                                        a.link href=(detail_href(&detail.plugin.id, &detail.source, Some(&version.version))) { (version.version) }
                                    }
                                }
                                td { "greenroom:plugin@" (version.wit) }
                                td {
                                    @if version.capabilities.is_empty() {
                                        span.text-muted { "nothing" }
                                    } @else {
                                        ul.plain-list { @for capability in &version.capabilities { li { code { (capability) } } } }
                                    }
                                }
                                td {
                                    @if installed == Some(version.version.as_str()) { span.badge.tone-success { "installed" } " " }
                                    @if newest == Some(version.version.as_str()) { span.badge.tone-neutral { "newest" } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Why the chosen version's artifact cannot be installed, in place of the
/// form.
fn refusal(detail: &Detail, reason: &str) -> Markup {
    html! {
        section.card.card-danger {
            header.card-header {
                h2.card-title { (detail.plugin.id) " " (detail.chosen.version) " cannot be installed" }
            }
            div.card-body {
                div.error-state role="alert" {
                    p.error-title { "Its artifact failed verification" }
                    p.error-detail { (reason) }
                }
                p.text { "The portal installs only bytes whose digest, publisher signature and manifest all match the index. Nothing was installed; tell the index's maintainer or the publisher." }
            }
        }
    }
}

/// What the submit button says: install, upgrade, reinstall or switch.
fn install_label(view: &CandidateView, newest: Option<&str>) -> String {
    let (name, version) = (&view.name, &view.version);
    match view.installed_version.as_deref() {
        None => format!("Install {name} {version}"),
        Some(installed) if installed == version => format!("Reinstall {name} {version}"),
        Some(installed) if newest == Some(version.as_str()) => {
            format!("Upgrade {name} from {installed} to {version}")
        }
        Some(installed) => format!("Install {name} {version} in place of {installed}"),
    }
}

/// The verified artifact and the consent form: one checkbox per grant.
fn consent_form(detail: &Detail, view: &CandidateView, csrf: &CsrfToken) -> Markup {
    let newest = detail.plugin.version(None).map(|v| v.version.as_str());
    let label = install_label(view, newest);
    html! {
        section.card {
            header.card-header {
                h2.card-title { (label) }
                p.card-subtitle { "From " code { (view.index) } }
            }
            div.card-body {
                div.callout.tone-success role="status" {
                    strong { "Verified: " } "sha256 " code.digest { (view.sha256) }
                    ", signed by " strong { (view.publisher) } ", built for greenroom:plugin@" (view.wit) "."
                }
                form.form method="post" action={ "/admin/marketplace/" (utf8_percent_encode(&view.id, SEGMENT)) "/install" } {
                    (csrf_field(csrf))
                    input type="hidden" name="index" value=(view.index);
                    input type="hidden" name="version" value=(view.version);
                    input type="hidden" name="sha256" value=(view.sha256);
                    fieldset.consent {
                        legend.field-label { "What it may reach" }
                        p.field-help {
                            "Tick what you grant. A plugin granted less still loads; where it lacks a grant, the host answers its call with "
                            code { "denied" } "."
                        }
                        @if view.requests.is_empty() {
                            p.text.text-muted { "It requests nothing: it can only draw views." }
                        } @else {
                            ul.capabilities {
                                @for request in &view.requests {
                                    li.consent-request {
                                        div.consent-capability {
                                            code { (request.capability) }
                                            @if request.new { " " span.badge.tone-warning { "new" } }
                                            @if request.granted_before { " " span.badge.tone-success { "granted before" } }
                                        }
                                        @if !request.meaning.is_empty() { p.field-help.consent-meaning { (request.meaning) } }
                                        @for grant in &request.grants {
                                            label.checkbox {
                                                input type="checkbox" name="grant" value=(grant) checked[request.granted_before];
                                                span { "Grant " code { (grant) } }
                                            }
                                        }
                                        @if let Some(warning) = &request.warning {
                                            p.callout.tone-warning.consent-warning role="note" {
                                                strong { "Beware: " } (warning) "."
                                            }
                                        }
                                        @if request.operator_origins {
                                            (origins_field(&view.id, &request.added_origins))
                                        }
                                    }
                                }
                            }
                        }
                    }
                    @if !view.dropped.is_empty() {
                        div.field {
                            p.field-label { "No longer requested" }
                            ul.plain-list { @for capability in &view.dropped { li { code { (capability) } } } }
                            p.field-help { "The installed version had these; their grants go with the upgrade." }
                        }
                    }
                    button.button.button-primary type="submit" { (label) }
                }
            }
        }
    }
}

/// For a plugin whose manifest says `operator-origins = true`: that it
/// may be pointed at origins the operator chooses, and a field naming
/// them, one per line, holding those added before (kept unless removed).
fn origins_field(id: &str, added: &[String]) -> Markup {
    let field = format!("origins-{id}");
    html! {
        div.callout.tone-warning.consent-origins role="note" {
            strong { "It may be pointed at other origins. " }
            "It talks to services whose address you choose — a self-hosted instance, an Enterprise server, another region — "
            "so besides what is listed above it may reach each origin you add here, and no other. "
            "Loopback and private addresses stay refused unless you name the address itself."
        }
        div.field {
            label.field-label for=(field) { "Origins you add" }
            textarea.input #(field) name=(ORIGINS_FIELD) rows="3" placeholder="sonar.example.com:9000" {
                @for origin in added { (origin) "\n" }
            }
            p.field-help {
                "One exact origin per line: " code { "sonar.example.com:9000" } " (HTTPS) or "
                code { "http://10.0.0.5:8080" } " (plain HTTP); no path or wildcard."
                @if !added.is_empty() { " The origins added for the installed version are kept unless you remove them." }
            }
        }
    }
}

/// The consent form's field of origins an operator adds.
const ORIGINS_FIELD: &str = "origins";

/// The grants of the origins typed into [`origins_field`]: one
/// `http:<origin>` per line or word (checked as any grant is, on install).
fn origin_grants(form: &CsrfForm) -> Vec<String> {
    form.values(ORIGINS_FIELD)
        .iter()
        .flat_map(|text| text.split_whitespace())
        .map(|origin| format!("http:{origin}"))
        .collect()
}

// ---------------------------------------------------------------------------
// POST /admin/marketplace/{id}/install

/// Installs what the form consented to, waits for the server to load it,
/// and says how that went.
async fn install(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(id): Path<String>,
    form: CsrfForm,
) -> Result<Response, AppError> {
    let admin = admin(&state);
    let body = InstallBody {
        index: form.value("index"),
        version: form.value("version"),
        grants: form
            .values("grant")
            .into_iter()
            .chain(origin_grants(&form))
            .collect(),
        sha256: form.value("sha256"),
    };
    let (installed, load) = blocking(Format::Html, move || {
        known_index(&admin, body.index.as_deref())?;
        let installed = install_now(&admin, &id, &body, &actor.name, Format::Html)?;
        let load = wait_for_load(&admin, &installed);
        Ok((installed, load))
    })
    .await?;
    Ok(done(&install_notice(&installed, load.as_ref())))
}

fn install_notice(installed: &Installed, load: Option<&LoadStatus>) -> String {
    let what = format!("Installed {} {}", installed.id, installed.version);
    match load {
        Some(LoadStatus { error: None, .. }) => format!("{what} — serving"),
        Some(LoadStatus {
            error: Some(reason),
            ..
        }) => format!("{what}, but it could not be loaded: {reason}"),
        None if !installed.enabled => format!("{what}; it is disabled, enable it to serve it"),
        None => format!("{what}; the server is still loading it"),
    }
}

// ---------------------------------------------------------------------------
// GET /admin/plugins

/// How an installed plugin is doing on this server.
pub(super) enum LoadState {
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
    pub(super) fn of(state: &AppState, admin: &Admin, record: &Installed) -> LoadState {
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
            None if state.plugin(&record.id).is_some() => LoadState::Shadowed,
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
async fn installed(
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
            .plugin(&record.id)
            .map(|p| added_origins(&p))
            .unwrap_or_default(),
        _ => BTreeSet::new(),
    };
    // Served plugins that were not installed here (or that an installed
    // one of the same id cannot replace) come from the configuration.
    let plugins = state.plugins();
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
                                        @if state.suspension(manifest.id.as_str()).is_some() {
                                            span.badge.tone-danger { "disabled by an admin" }
                                        } @else {
                                            span.badge.tone-neutral { "configured" } " " span.text-muted.text-small { "managed in the config file" }
                                        }
                                    }
                                    td { (super::health::health_link(manifest.id.as_str())) }
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
fn added_origins(plugin: &greenroom_runtime::LoadedPlugin) -> BTreeSet<String> {
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
                    (super::health::health_link(&record.id))
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

async fn enable(
    state: State<AppState>,
    actor: AdminActor,
    id: Path<String>,
    _form: CsrfForm,
) -> Result<Response, AppError> {
    set_enabled(state, actor, id, true).await
}

async fn disable(
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

async fn remove(
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

// ---------------------------------------------------------------------------
// /admin/licences

/// Where licence changes return to.
const LICENCES_PAGE: &str = "/admin/licences";

/// `GET /admin/licences`: every licence with its standing (seats used of
/// allowed, expiry), each loaded premium plugin's status, the warnings,
/// and a form to add one.
async fn licences(
    State(state): State<AppState>,
    actor: AdminActor,
    jar: CookieJar,
    Extension(csrf): Extension<CsrfToken>,
) -> Result<Response, AppError> {
    let (notice, jar) = take_notice(jar);
    let Some(book) = state.licences().cloned() else {
        let content = html! {
            section.page-header {
                p.eyebrow { "Admin" }
                h1.page-title { "Licences" }
            }
            div.empty-state { p.empty-title { "Licences are not checked on this server" } p.text-muted { "It runs as a plugin author's development portal (greenroom plugin dev)." } }
        };
        return Ok((
            jar,
            admin_page(&state, &actor, "Licences", notice.as_deref(), content),
        )
            .into_response());
    };
    let now = std::time::SystemTime::now();
    let (stored, active) = blocking(Format::Html, move || {
        let internal = |e: greenroom_licensing::LicenceError| {
            AppError::page(ErrorKind::Internal(e.to_string()))
        };
        Ok((
            book.list(now).map_err(internal)?,
            book.active_users(now).map_err(internal)?,
        ))
    })
    .await?;
    let statuses = state.licence_statuses();
    let warnings = state.licence_warnings();
    let content = html! {
        section.page-header {
            p.eyebrow { "Admin" }
            h1.page-title { "Licences" }
            p.page-lead { "Premium plugins run only with a licence signed by their publisher. Seats count the distinct people active in the last 30 days: " strong { (active) } " now." }
        }
        @for warning in &warnings {
            div.banner.banner-licence role="status" { (warning) }
        }
        section.card {
            header.card-header { h2.card-title { "Premium plugins" } }
            div.card-body {
                @if statuses.is_empty() {
                    p.text-muted { "No premium plugin is loaded." }
                } @else {
                    ul.list {
                        @for (id, status) in &statuses {
                            li { code { (id) } ": " (status.describe()) }
                        }
                    }
                }
            }
        }
        section.card {
            header.card-header { h2.card-title { "Licences" } }
            @if stored.is_empty() {
                div.empty-state { p.empty-title { "No licence has been added" } }
            } @else {
                div.table-wrap {
                    table.table {
                        thead { tr { th { "Licensee" } th { "Plugins" } th { "Publisher" } th.align-end { "Seats" } th { "Expires" } th { "Standing" } th {} } }
                        tbody {
                            @for licence in &stored {
                                tr {
                                    td { (licence.licence.licensee) p.text-muted.table-note { code { (licence.id) } } }
                                    td { @for plugin in &licence.licence.plugins { code { (plugin.as_str()) } " " } }
                                    td { (licence.licence.publisher) }
                                    td.align-end { (active) " of " (licence.licence.seats) }
                                    td { (licence.licence.expires.to_string()) }
                                    td { (licence.status.describe()) }
                                    td {
                                        form method="post" action={ (LICENCES_PAGE) "/" (utf8_percent_encode(&licence.id, SEGMENT)) "/remove" } {
                                            (csrf_field(&csrf))
                                            button.button.button-danger type="submit" { "Remove" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.card {
            header.card-header { h2.card-title { "Add a licence" } }
            div.card-body {
                form method="post" action=(LICENCES_PAGE) {
                    (csrf_field(&csrf))
                    label.label for="licence" { "The licence file your publisher sent (TOML)" }
                    textarea.input id="licence" name="licence" rows="10" required {}
                    p.text-muted { "Its signature is checked against the publishers this server trusts. The same as " code { "greenroom licence add FILE" } "." }
                    button.button type="submit" { "Add the licence" }
                }
            }
        }
    };
    Ok((
        jar,
        admin_page(&state, &actor, "Licences", notice.as_deref(), content),
    )
        .into_response())
}

/// The licence book, or a 404 where licences are not checked.
fn licence_book(state: &AppState) -> Result<greenroom_licensing::Licences, AppError> {
    state.licences().cloned().ok_or_else(|| {
        AppError::page(ErrorKind::NotFound(
            "licences are not checked on this server".into(),
        ))
    })
}

/// `POST /admin/licences`: verifies and adds a pasted licence.
async fn add_licence(
    State(state): State<AppState>,
    actor: AdminActor,
    form: CsrfForm,
) -> Result<Response, AppError> {
    let book = licence_book(&state)?;
    let text = form.value("licence").unwrap_or_default();
    let notice = blocking(Format::Html, move || {
        let added = book
            .add(
                &text,
                "the pasted licence",
                &actor.name,
                std::time::SystemTime::now(),
            )
            .map_err(|e| AppError::page(ErrorKind::BadRequest(e.to_string())))?;
        state.refresh_licences();
        Ok(format!(
            "Added the licence of {} for {} seats, until {}",
            added.licence.licensee, added.licence.seats, added.licence.expires
        ))
    })
    .await?;
    Ok(back_to(LICENCES_PAGE, &notice))
}

/// `POST /admin/licences/{id}/remove`.
async fn remove_licence(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(id): Path<String>,
    _form: CsrfForm,
) -> Result<Response, AppError> {
    let book = licence_book(&state)?;
    let notice = blocking(Format::Html, move || {
        let removed = book
            .remove(&id, &actor.name)
            .map_err(|e| AppError::page(ErrorKind::NotFound(e.to_string())))?;
        state.refresh_licences();
        Ok(format!("Removed the licence of {}", removed.licensee))
    })
    .await?;
    Ok(back_to(LICENCES_PAGE, &notice))
}
