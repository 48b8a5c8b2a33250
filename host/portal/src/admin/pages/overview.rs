//! `GET /admin`: the administration overview, a card per section and
//! the plugins running here.

use super::{INSTALLED_PAGE, LICENCES_PAGE, admin_page, count, how_to_add_an_index, page_error};
use crate::admin::api::admin;
use crate::admin::{AdminActor, blocking};
use crate::catalog_pages::SEGMENT;
use crate::error::{AppError, Format};
use crate::state::AppState;
use axum::extract::State;
use maud::{Markup, html};
use percent_encoding::utf8_percent_encode;

/// `/admin`: the two sections, with what is in each.
pub(super) async fn overview(
    State(state): State<AppState>,
    actor: AdminActor,
) -> Result<Markup, AppError> {
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
            (crate::admin::audit::overview_card())
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
                @if state.plugins().list().is_empty() {
                    p.text.text-muted { "None." }
                } @else {
                    ul.list {
                        @for plugin in state.plugins().list().iter() {
                            @let manifest = plugin.manifest();
                            li {
                                @match manifest.page() {
                                    Some(page) => { a.link href={ "/plugins/" (utf8_percent_encode(manifest.id.as_str(), SEGMENT)) } { (manifest.name) } " — " (page.title) }
                                    None => { (manifest.name) }
                                }
                                " · " (crate::admin::health_link(manifest.id.as_str()))
                                @if state.plugins().suspension(manifest.id.as_str()).is_some() { " " span.badge.tone-danger { "disabled by an admin" } }
                            }
                        }
                    }
                }
            }
        }
    }
}
