//! `GET /admin/marketplace?q=`: the plugins every configured index
//! offers, searchable, with what is installed of each.

use super::{
    admin_page, breadcrumb, count, detail_href, how_to_add_an_index, newer_than, page_error,
    tier_badge,
};
use crate::admin::api::admin;
use crate::admin::{AdminActor, blocking};
use crate::error::{AppError, Format};
use crate::pages::take_notice;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use greenroom_marketplace::{IndexPlugin, Installed, SourcedIndex};
use maud::{Markup, html};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub(super) struct Search {
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
pub(super) async fn marketplace(
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
