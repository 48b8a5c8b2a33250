//! `GET /admin/marketplace/{id}` and `POST /admin/marketplace/{id}/install`:
//! one plugin of an index, its versions, the consent form, and installing it.

use super::{
    INSTALLED_PAGE, admin_page, csrf_field, detail_href, done, known_index, page_error, tier_badge,
};
use crate::admin::api::{InstallBody, Which, admin, install_now, wait_for_load};
use crate::admin::{Admin, AdminActor, blocking};
use crate::catalog_pages::SEGMENT;
use crate::csrf::{CsrfForm, CsrfToken};
use crate::error::{AppError, Format};
use crate::render::links::web_anchor;
use crate::state::AppState;
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use greenroom_lifecycle::LoadStatus;
use greenroom_marketplace::{
    CandidateView, IndexPlugin, IndexVersion, Installed, LifecycleError, Quiet,
};
use maud::{Markup, html};
use percent_encoding::utf8_percent_encode;

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
pub(super) async fn detail(
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
pub(super) async fn install(
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
