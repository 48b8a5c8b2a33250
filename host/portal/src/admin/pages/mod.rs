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
//! `http(s)` URL ([`web_anchor`](crate::render::links::web_anchor)); the
//! portal's own links carry index strings only percent-encoded, in their
//! path or query.
//!
//! Every page and post goes through [`AdminActor`](super::AdminActor) (a
//! non-admin gets 401 or 403), every post through
//! [`CsrfForm`](crate::csrf::CsrfForm). Marketplace work (reading indexes,
//! fetching and verifying artifacts, SQLite) runs on the blocking pool,
//! through [`blocking`](super::blocking).
//!
//! One module per page: [`overview`] (`/admin`), [`marketplace`]
//! (`/admin/marketplace`), [`detail`] (one plugin, its consent form and
//! install), [`installed`] (`/admin/plugins`) and [`licences`]
//! (`/admin/licences`); what several of them use is here.

mod detail;
mod installed;
mod licences;
mod marketplace;
mod overview;

pub(super) use installed::LoadState;

use super::Admin;
use super::api::error;
use crate::actions::notice_cookie;
use crate::catalog_pages::SEGMENT;
use crate::chrome::Chrome;
use crate::csrf::CSRF_FIELD;
use crate::csrf::CsrfToken;
use crate::error::{AppError, ErrorKind, Format};
use crate::render::shell::Nav;
use crate::state::AppState;
use axum::Router;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use greenroom_marketplace::{IndexPlugin, IndexVersion, LifecycleError};
use maud::{Markup, html};
use percent_encoding::utf8_percent_encode;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(overview::overview))
        .route("/marketplace", get(marketplace::marketplace))
        .route("/marketplace/{id}", get(detail::detail))
        .route("/marketplace/{id}/install", post(detail::install))
        .route("/plugins", get(installed::installed))
        .route("/plugins/{id}/enable", post(installed::enable))
        .route("/plugins/{id}/disable", post(installed::disable))
        .route("/plugins/{id}/remove", post(installed::remove))
        .route(
            "/licences",
            get(licences::licences).post(licences::add_licence),
        )
        .route("/licences/{id}/remove", post(licences::remove_licence))
}

/// Where every change returns to.
pub(super) const INSTALLED_PAGE: &str = "/admin/plugins";

/// Where licence changes return to.
const LICENCES_PAGE: &str = "/admin/licences";

/// A page of the admin section.
pub(super) fn admin_page<P: super::Needs>(
    state: &AppState,
    actor: &super::Allowed<P>,
    title: &str,
    notice: Option<&str>,
    content: Markup,
) -> Markup {
    Chrome::new(state, actor.user.as_ref(), actor.csrf.as_deref()).page(
        title,
        Nav::Admin,
        notice,
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
