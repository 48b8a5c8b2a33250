//! The pages people use: home, the plugin list, and each plugin's page.

use crate::chrome::Chrome;
use crate::csrf::CsrfToken;
use crate::error::{AppError, ErrorKind};
use crate::extract::{PluginPath, query_pairs};
use crate::identity::Actor;
use crate::render::shell::{self, Nav};
use crate::render::{self, SubmittedForm, Target};
use crate::state::AppState;
use axum::Extension;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::Cookie;
use greenroom_access::Identity;
use greenroom_access::rbac::Permission;
use greenroom_contract::Coverage;
use greenroom_contract::{SlotDecl, SlotKind};
use greenroom_lifecycle::Plugin;
use greenroom_runtime::CallContext;
use maud::{Markup, html};

/// The cookie carrying a one-time notice from an action to the next page.
pub(crate) const NOTICE_COOKIE: &str = "greenroom_notice";

/// Takes the pending notice, if any, and clears it.
pub(crate) fn take_notice(jar: CookieJar) -> (Option<String>, CookieJar) {
    let notice = jar.get(NOTICE_COOKIE).and_then(|c| {
        percent_encoding::percent_decode_str(c.value())
            .decode_utf8()
            .ok()
            .map(|s| s.into_owned())
    });
    match notice {
        Some(notice) => (
            Some(notice),
            jar.remove(Cookie::build(NOTICE_COOKIE).path("/")),
        ),
        None => (None, jar),
    }
}

/// Draws one slot of one plugin: its view, or an error card saying why
/// not. Never fails: a broken plugin must not break the page. The catalog's
/// entity pages draw their `entity-card` and `entity-tab` slots with it.
/// A plugin the host will not call (an admin turned it off, or it is
/// premium and unlicensed) is not called: its slot says why.
pub(crate) async fn render_slot(
    state: &AppState,
    plugin: &Plugin,
    slot: &SlotDecl,
    cx: &CallContext,
    target: &Target<'_>,
) -> Markup {
    let plugin = match state.plugins().gate(plugin) {
        Ok(callable) => callable,
        Err(refusal) => return crate::refusal::card(&refusal),
    };
    let title = || format!("{} could not be shown", slot.title);
    match plugin
        .render(slot, cx)
        .await
        .map(|view| render::view(&view, target))
    {
        Ok(Ok(drawn)) => drawn,
        Ok(Err(too_large)) => {
            tracing::warn!(plugin = %plugin.manifest().id, slot = %slot.name, "{too_large}");
            render::error_box(&title(), Some(&too_large.to_string()))
        }
        Err(error) => render::error_box(&title(), Some(&error.to_string())),
    }
}

/// The home page: every plugin's home-page widgets, drawn concurrently.
pub(crate) async fn home(
    State(state): State<AppState>,
    Actor(user): Actor,
    Extension(csrf): Extension<CsrfToken>,
    jar: CookieJar,
) -> Response {
    let (notice, jar) = take_notice(jar);
    let cx = CallContext::for_user(user.clone());
    let plugins = state.plugins().list();
    let widgets: Vec<(&Plugin, &SlotDecl)> = plugins
        .iter()
        .flat_map(|plugin| {
            plugin
                .manifest()
                .slots_of(SlotKind::HomeWidget)
                .filter(|slot| state.may_see(&user, slot))
                .map(move |slot| (plugin, slot))
        })
        .collect();
    let drawn = futures::future::join_all(widgets.iter().map(|(plugin, slot)| {
        let prefix = format!("{}-{}", plugin.manifest().id, slot.name);
        let (cx, csrf, state) = (&cx, &csrf.0, &state);
        async move {
            let target = Target {
                plugin_id: plugin.manifest().id.as_str(),
                dom_prefix: &prefix,
                csrf,
                return_to: "/",
                form_errors: None,
            };
            render_slot(state, plugin, slot, cx, &target).await
        }
    }))
    .await;
    let content = html! {
        section.page-header {
            p.eyebrow { "Home" }
            h1.page-title { "Welcome, " (user.display_name) }
            p.page-lead { "Your engineering organisation at a glance: widgets from every installed plugin." }
        }
        @if widgets.is_empty() {
            div.empty-state {
                p.empty-title { "No widgets yet" }
                p.empty-description { "Install a plugin with a home-page widget to see it here. " a.link href="/plugins" { "See installed plugins" } }
            }
        } @else {
            div.widgets {
                @for ((plugin, slot), body) in widgets.iter().zip(drawn) {
                    section.slot.slot-widget aria-label=(slot.title) {
                        div.slot-caption {
                            a.slot-plugin href={ "/plugins/" (plugin.manifest().id) } { (plugin.manifest().name) }
                        }
                        (body)
                    }
                }
            }
        }
    };
    let page = Chrome::new(&state, Some(&user), Some(&csrf.0)).page(
        "Home",
        Nav::Home,
        notice.as_deref(),
        content,
    );
    (jar, page).into_response()
}

/// Every installed plugin, and those that failed to load.
pub(crate) async fn plugin_list(
    State(state): State<AppState>,
    _user: Actor,
    chrome: Chrome,
) -> Markup {
    let admin = chrome.admin();
    let content = html! {
        section.page-header {
            p.eyebrow { "Plugins" }
            h1.page-title { "Installed plugins" }
            p.page-lead { "Each plugin runs in its own WebAssembly sandbox and reaches only what it was granted." }
        }
        @if !state.plugins().failed().is_empty() {
            section.card.card-danger {
                header.card-header { h3.card-title { "Plugins that could not be loaded" } }
                div.card-body {
                    ul.list {
                        @for failed in state.plugins().failed() {
                            li { code { (failed.source) } ": " (failed.error) }
                        }
                    }
                }
            }
        }
        @if state.plugins().list().is_empty() {
            div.empty-state { p.empty-title { "No plugins are installed" } }
        } @else {
            div.table-wrap {
                table.table {
                    thead { tr { th { "Plugin" } th { "Version" } th { "Tier" } th { "Contributes" } @if admin { th.align-end { "Calls" } th.align-end { "Failures" } th { "Health" } } } }
                    tbody {
                        @for plugin in state.plugins().list().iter() {
                            @let manifest = plugin.manifest();
                            @let health = plugin.health();
                            tr {
                                td {
                                    a.link href={ "/plugins/" (manifest.id) } { (manifest.name) }
                                    @if state.plugins().suspension(manifest.id.as_str()).is_some() { " " span.badge.tone-danger { "disabled by an admin" } }
                                    @if plugin.is_starting() { " " span.badge.tone-info { "starting" } }
                                    p.text-muted.table-note { (manifest.description) }
                                }
                                td { (manifest.version) }
                                td { (tier_badge(manifest.tier)) }
                                td { @for slot in &manifest.slots { span.badge.tone-neutral { (slot.kind) } " " } }
                                @if admin {
                                    td.align-end { (health.calls) }
                                    td.align-end {
                                        @if health.total_failures() > 0 { span.badge.tone-danger { (health.total_failures()) } } @else { "0" }
                                    }
                                    td { (crate::admin::health_link(manifest.id.as_str())) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    chrome.page("Plugins", Nav::Plugins, None, content)
}

fn tier_badge(tier: greenroom_contract::Tier) -> Markup {
    match tier {
        greenroom_contract::Tier::Open => html! { span.badge.tone-neutral { "open" } },
        greenroom_contract::Tier::Premium => html! { span.badge.tone-info { "premium" } },
    }
}

/// `/plugins/<id>` and `/plugins/<id>/<path>`: the plugin's own page (when
/// it has one) and what the host knows about it.
pub(crate) async fn plugin_page(
    State(state): State<AppState>,
    PluginPath { id, path }: PluginPath,
    Actor(user): Actor,
    Extension(csrf): Extension<CsrfToken>,
    RawQuery(query): RawQuery,
    jar: CookieJar,
) -> Result<Response, AppError> {
    let page = PluginPage {
        id,
        path,
        query,
        submitted: None,
    };
    page.draw(&state, user, &csrf.0, jar).await
}

/// What is encoded in a path segment: controls, space, and what would end
/// or change the segment (`"#%/<>?\`{}`).
const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'\\')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// A plugin's page at one path.
pub(crate) struct PluginPage {
    /// The plugin's id.
    pub id: String,
    /// The path below `/plugins/<id>/`.
    pub path: String,
    /// The raw query string.
    pub query: Option<String>,
    /// A refused form submission to show again with its errors.
    pub submitted: Option<SubmittedForm>,
}

impl PluginPage {
    /// The page's own URL path, to come back to after a form post.
    pub(crate) fn url(&self) -> String {
        let base = if self.path.is_empty() {
            format!("/plugins/{}", self.id)
        } else {
            // The path is decoded: encode each segment again, so a `?`,
            // `#` or `%` in it stays part of the path.
            let segments: Vec<String> = self
                .path
                .split('/')
                .map(|segment| {
                    percent_encoding::utf8_percent_encode(segment, PATH_SEGMENT).to_string()
                })
                .collect();
            format!("/plugins/{}/{}", self.id, segments.join("/"))
        };
        match &self.query {
            Some(query) if !query.is_empty() => format!("{base}?{query}"),
            _ => base,
        }
    }

    pub(crate) async fn draw(
        self,
        state: &AppState,
        user: Identity,
        csrf: &str,
        jar: CookieJar,
    ) -> Result<Response, AppError> {
        let id = &self.id;
        let plugin = state.plugins().get(id).ok_or_else(|| {
            AppError::page(ErrorKind::NotFound(format!(
                "no plugin `{id}` is installed"
            )))
        })?;
        let manifest = plugin.manifest();
        let page_slot = manifest.page();
        // A page for some users only: refused (and audited) before the
        // plugin is called.
        if let Some(permission) = page_slot.and_then(|slot| slot.requires.as_deref()) {
            state.require(
                &user,
                &Permission::new(permission.to_owned()),
                crate::error::Format::Html,
            )?;
        }
        if page_slot.is_none() && !self.path.is_empty() {
            return Err(AppError::page(ErrorKind::NotFound(format!(
                "plugin `{id}` has no page `{}`",
                self.path
            ))));
        }
        let (notice, jar) = take_notice(jar);
        let chrome = Chrome::new(state, Some(&user), Some(csrf)).showing_plugin(id);
        let admin = chrome.admin();
        let return_to = self.url();
        let body = match page_slot {
            Some(slot) => {
                let query_pairs = query_pairs(self.query.as_deref());
                let cx = CallContext {
                    user: user.clone(),
                    entity: None,
                    path: self.path.clone(),
                    query: query_pairs,
                };
                let prefix = format!("{id}-page");
                let target = Target {
                    plugin_id: id,
                    dom_prefix: &prefix,
                    csrf,
                    return_to: &return_to,
                    form_errors: self.submitted.as_ref(),
                };
                Some(render_slot(state, &plugin, slot, &cx, &target).await)
            }
            None => None,
        };
        let content = html! {
            section.page-header {
                p.eyebrow { a.link href="/plugins" { "Plugins" } " / " (manifest.id) }
                h1.page-title { (manifest.name) " " span.page-title-version { (manifest.version) } " " (tier_badge(manifest.tier)) }
                @if !manifest.description.is_empty() { p.page-lead { (manifest.description) } }
            }
            @if admin {
                p.text.text-muted.text-small {
                    "Operator details — grants, limits, health: "
                    (crate::admin::health_link(manifest.id.as_str()))
                }
            }
            @match body {
                Some(body) => { section.slot.slot-page { (body) } }
                None => {
                    div.plugin-layout {
                        div.plugin-main {
                            div.empty-state {
                                p.empty-title { "This plugin has no page of its own" }
                                p.empty-description { "It contributes to other pages:" }
                            }
                        }
                        aside.plugin-aside { (contributes(&plugin)) }
                    }
                }
            }
        };
        // A page in the main navigation is marked there, not under Plugins.
        let nav = match chrome.shows_current_plugin() {
            true => Nav::None,
            false => Nav::Plugins,
        };
        let status = if self.submitted.is_some() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        };
        let page = chrome.page(&manifest.name, nav, notice.as_deref(), content);
        Ok((status, jar, page).into_response())
    }
}

/// The slots, tasks and permissions a plugin contributes.
fn contributes(plugin: &Plugin) -> Markup {
    let manifest = plugin.manifest();
    html! {
        section.card {
            header.card-header { h3.card-title { "Contributes" } }
            div.card-body {
                ul.list {
                    @for slot in &manifest.slots { li { span.badge.tone-neutral { (slot.kind) } " " (slot.title) } }
                    @for task in &manifest.tasks { li { span.badge.tone-neutral { "task" } " " (task.name) " every " (humantime_short(task.every)) } }
                    @for permission in &manifest.permissions { li { span.badge.tone-neutral { "permission" } " " code { (permission.name) } } }
                }
            }
        }
    }
}

/// The host's view of a plugin for operators (the admin health page): what
/// it is, what it may do and was granted, what it contributes, its latest
/// warnings.
pub(crate) fn operator_details(plugin: &Plugin) -> Markup {
    let manifest = plugin.manifest();
    let artifact = plugin.artifact();
    let granted = plugin.env().grant();
    let log_tail = plugin.env().log_tail().lines();
    html! {
        section.card {
            header.card-header { h3.card-title { "About" } }
            div.card-body {
                dl.properties {
                    div.property { dt { "Id" } dd { code { (manifest.id) } } }
                    div.property { dt { "Contract" } dd { "greenroom:plugin@" (artifact.built_against()) } }
                    div.property { dt { "Digest" } dd { code.digest title=(artifact.digest()) { (&artifact.digest().hex()[..16]) "…" } } }
                    div.property { dt { "Memory limit" } dd { (plugin.limits().memory_display()) } }
                    div.property { dt { "Render deadline" } dd { (plugin.limits().render_deadline.as_millis()) " ms" } }
                }
            }
        }
        section.card {
            header.card-header { h3.card-title { "Capabilities" } p.card-subtitle { "What it asked for, and what it was granted" } }
            div.card-body {
                @if manifest.capabilities.is_empty() {
                    p.text.text-muted { "None: it can only draw views." }
                } @else {
                    ul.capabilities {
                        @for capability in &manifest.capabilities {
                            li {
                                @match granted.coverage(capability) {
                                    Coverage::Full => { span.badge.tone-success { "granted" } " " code { (capability) } }
                                    Coverage::Partial(part) => {
                                        span.badge.tone-info { "partly granted" } " " code { (capability) }
                                        p.text-muted.text-small { "granted: " code { (part) } }
                                    }
                                    Coverage::None => { span.badge.tone-warning { "not granted" } " " code { (capability) } }
                                }
                                @let added = granted.added_origins(capability);
                                @if !added.is_empty() {
                                    p.text-muted.text-small {
                                        "origins an operator added: "
                                        @for (i, origin) in added.iter().enumerate() {
                                            @if i > 0 { ", " }
                                            code { (origin) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        (contributes(plugin))
        @if !log_tail.is_empty() {
            section.card {
                header.card-header { h3.card-title { "Recent warnings and errors" } p.card-subtitle { "What the plugin logged" } }
                div.card-body {
                    ul.log-tail {
                        @for line in log_tail.iter().rev().take(10) {
                            li { span class={ "badge " @if line.level == "error" { "tone-danger" } @else { "tone-warning" } } { (line.level) } " " (line.message) }
                        }
                    }
                }
            }
        }
    }
}

fn humantime_short(every: std::time::Duration) -> String {
    let secs = every.as_secs();
    match secs {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3_600 == 0 => format!("{}h", s / 3_600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// Unknown pages: for someone signed in, in the same header as every
/// other page (their name, the plugin pages, Admin); otherwise the bare
/// error page.
pub(crate) async fn not_found(
    State(state): State<AppState>,
    request: axum::extract::Request,
) -> Response {
    const MESSAGE: &str = "there is no page at this address";
    let Some(user) = crate::identity::resolve(request.extensions()) else {
        return AppError::page(ErrorKind::NotFound(MESSAGE.into())).into_response();
    };
    let csrf = request.extensions().get::<CsrfToken>().map(|t| t.0.clone());
    let content = shell::error_content(404, "Not found", MESSAGE);
    let page = Chrome::new(&state, Some(&user), csrf.as_deref()).page(
        "Not found",
        Nav::None,
        None,
        content,
    );
    (StatusCode::NOT_FOUND, page).into_response()
}

#[cfg(test)]
mod url_tests {
    use super::PluginPage;

    #[test]
    fn a_page_url_keeps_odd_characters_in_its_path() {
        let page = PluginPage {
            id: "rbac".into(),
            path: "roles/a?b#c%d e".into(),
            query: Some("tab=1".into()),
            submitted: None,
        };
        assert_eq!(page.url(), "/plugins/rbac/roles/a%3Fb%23c%25d%20e?tab=1");
    }
}
