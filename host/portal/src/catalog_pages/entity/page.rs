//! `GET /catalog/{namespace}/{kind}/{name}[/{tab}|/{plugin}/{slot}]`: the
//! entity page, its tabs as links, and the open tab drawn with its plugins' slots.

use super::Loaded;
use super::about::about_card;
use super::header::{header, problems};
use super::kind_cards::{
    api_users_card, apis_card, child_groups_card, members_card, owned_card, user_groups_card,
};
use super::relations::{graph_card, grouped_relations, relations_card};
use crate::catalog_pages::{Entry, SEGMENT, definition, read, restriction};
use crate::chrome::Chrome;
use crate::csrf::CsrfToken;
use crate::error::{AppError, ErrorKind};
use crate::extract::query_pairs;
use crate::identity::Actor;
use crate::pages::{render_slot, take_notice};
use crate::render::Target;
use crate::render::shell::Nav;
use crate::state::AppState;
use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use greenroom_access::Identity;
use greenroom_access::rbac::Permission;
use greenroom_catalog::{EntityRef, ORPHAN_ANNOTATION};
use greenroom_contract::{SlotDecl, SlotKind};
use greenroom_lifecycle::Plugin;
use greenroom_runtime::CallContext;
use maud::{Markup, html};

/// Which tab of the page.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tab {
    Overview,
    Definition,
    Plugin { plugin: String, slot: String },
}

/// `/catalog/{namespace}/{kind}/{name}`: the overview.
pub(in crate::catalog_pages) async fn overview(
    State(state): State<AppState>,
    Path((namespace, kind, name)): Path<(String, String, String)>,
    Actor(user): Actor,
    Extension(csrf): Extension<CsrfToken>,
    RawQuery(query): RawQuery,
    jar: CookieJar,
) -> Result<Response, AppError> {
    let entity_ref = EntityRef::new(&kind, &namespace, &name);
    draw(&state, user, &csrf.0, entity_ref, Tab::Overview, query, jar).await
}

/// `/catalog/{namespace}/{kind}/{name}/{tab}`: a tab the host draws.
pub(in crate::catalog_pages) async fn builtin_tab(
    State(state): State<AppState>,
    Path((namespace, kind, name, tab)): Path<(String, String, String, String)>,
    Actor(user): Actor,
    Extension(csrf): Extension<CsrfToken>,
    RawQuery(query): RawQuery,
    jar: CookieJar,
) -> Result<Response, AppError> {
    let tab = match tab.as_str() {
        "definition" => Tab::Definition,
        _ => return Err(no_tab(&tab)),
    };
    let entity_ref = EntityRef::new(&kind, &namespace, &name);
    draw(&state, user, &csrf.0, entity_ref, tab, query, jar).await
}

/// `/catalog/{namespace}/{kind}/{name}/{plugin}/{slot}`: a plugin's tab.
pub(in crate::catalog_pages) async fn plugin_tab(
    State(state): State<AppState>,
    Path((namespace, kind, name, plugin, slot)): Path<(String, String, String, String, String)>,
    Actor(user): Actor,
    Extension(csrf): Extension<CsrfToken>,
    RawQuery(query): RawQuery,
    jar: CookieJar,
) -> Result<Response, AppError> {
    let entity_ref = EntityRef::new(&kind, &namespace, &name);
    draw(
        &state,
        user,
        &csrf.0,
        entity_ref,
        Tab::Plugin { plugin, slot },
        query,
        jar,
    )
    .await
}

fn no_tab(tab: &str) -> AppError {
    AppError::page(ErrorKind::NotFound(format!(
        "this entity has no tab `{tab}`"
    )))
}

/// The plugin slots of `kind` that apply to an entity of `entity_kind`.
fn slots_for<'a>(
    plugins: &'a [Plugin],
    kind: SlotKind,
    entity_kind: &str,
    shown: &dyn Fn(&SlotDecl) -> bool,
) -> Vec<(&'a Plugin, &'a SlotDecl)> {
    plugins
        .iter()
        .flat_map(|plugin| {
            plugin
                .manifest()
                .slots_of(kind)
                .filter(|slot| shown(slot))
                .filter(|slot| {
                    slot.entity_kinds.is_empty()
                        || slot
                            .entity_kinds
                            .iter()
                            .any(|k| k.eq_ignore_ascii_case(entity_kind))
                })
                .map(move |slot| (plugin, slot))
        })
        .collect()
}

/// Where a plugin's slot on this page is drawn.
struct SlotPlace<'a> {
    state: &'a AppState,
    cx: &'a CallContext,
    csrf: &'a str,
    return_to: &'a str,
}

impl SlotPlace<'_> {
    async fn draw(&self, plugin: &Plugin, slot: &SlotDecl) -> Markup {
        let id = plugin.manifest().id.as_str();
        let prefix = format!("entity-{id}-{}", slot.name);
        let target = Target {
            plugin_id: id,
            dom_prefix: &prefix,
            csrf: self.csrf,
            return_to: self.return_to,
            form_errors: None,
        };
        render_slot(self.state, plugin, slot, self.cx, &target).await
    }
}

/// Draws the page; `jar` may carry the notice of the form that led here
/// (a plugin's form on an entity tab returns to it), shown once.
async fn draw(
    state: &AppState,
    user: Identity,
    csrf: &str,
    entity_ref: EntityRef,
    tab: Tab,
    query: Option<String>,
    jar: CookieJar,
) -> Result<Response, AppError> {
    let restriction = restriction(state, &user);
    let shown = |slot: &SlotDecl| state.may_see(&user, slot);
    let lookup = entity_ref.clone();
    let loaded = read(state, move |store| {
        Loaded::load(store, &lookup, restriction.as_ref())
    })
    .await?;
    let entry = loaded.entry();
    let kind = entry.entity_ref().kind().to_owned();
    let plugins = state.plugins().list();
    let tabs = TabLinks::new(&plugins, entry, &shown);
    let current = tabs.find(&tab).ok_or_else(|| no_tab(&tab_name(&tab)))?;
    let return_to = match query.as_deref().filter(|q| !q.is_empty()) {
        Some(q) => format!("{}?{q}", current.href),
        None => current.href.clone(),
    };
    let cx = CallContext {
        user: user.clone(),
        entity: Some(greenroom_contract::wit_entity(&loaded.entity)),
        path: String::new(),
        query: query_pairs(query.as_deref()),
    };
    let place = SlotPlace {
        state,
        cx: &cx,
        csrf,
        return_to: &return_to,
    };
    let body = match &tab {
        Tab::Overview => {
            let cards = slots_for(&plugins, SlotKind::EntityCard, &kind, &shown);
            let drawn = futures::future::join_all(
                cards.iter().map(|(plugin, slot)| place.draw(plugin, slot)),
            )
            .await;
            overview_tab(&loaded, &cards, drawn)
        }
        Tab::Definition => definition::draw(entry),
        Tab::Plugin { plugin, slot } => {
            let (plugin, slot) = slots_for(&plugins, SlotKind::EntityTab, &kind, &shown)
                .into_iter()
                .find(|(p, s)| p.manifest().id.as_str() == plugin && s.name == *slot)
                .ok_or_else(|| no_tab(&tab_name(&tab)))?;
            html! { section.slot.slot-page { (place.draw(plugin, slot).await) } }
        }
    };
    let content = html! {
        (header(&loaded, csrf, state.permit(&user, &Permission::CATALOG_LOCATION_DELETE).allowed()))
        (problems(entry))
        @if entry.annotation(ORPHAN_ANNOTATION) == Some("true") {
            div.callout.tone-warning role="status" {
                strong { "Orphaned." }
                " The file this entity came from no longer describes it. It stays in the catalog until it is deleted, so that nothing that refers to it breaks unnoticed."
            }
        }
        (tabs.nav(&tab))
        div.entity-tab-panel { (body) }
    };
    let title = entry.display_name().to_owned();
    let (notice, jar) = take_notice(jar);
    let page = Chrome::new(state, Some(&user), Some(csrf)).page(
        &title,
        Nav::Catalog,
        notice.as_deref(),
        content,
    );
    Ok((jar, page).into_response())
}

fn tab_name(tab: &Tab) -> String {
    match tab {
        Tab::Overview => "overview".into(),
        Tab::Definition => "definition".into(),
        Tab::Plugin { plugin, slot } => format!("{plugin}/{slot}"),
    }
}

/// The tabs an entity's page has, as links.
struct TabLinks {
    links: Vec<TabLink>,
}

struct TabLink {
    tab: Tab,
    label: String,
    href: String,
}

impl TabLinks {
    fn new(plugins: &[Plugin], entry: Entry<'_>, shown: &dyn Fn(&SlotDecl) -> bool) -> TabLinks {
        let base = entry.path();
        let kind = entry.entity_ref().kind().to_owned();
        let mut links = vec![TabLink {
            tab: Tab::Overview,
            label: "Overview".into(),
            href: base.clone(),
        }];
        if kind == "api" {
            links.push(TabLink {
                tab: Tab::Definition,
                label: "Definition".into(),
                href: format!("{base}/definition"),
            });
        }
        for (plugin, slot) in slots_for(plugins, SlotKind::EntityTab, &kind, shown) {
            let id = plugin.manifest().id.as_str();
            links.push(TabLink {
                tab: Tab::Plugin {
                    plugin: id.to_owned(),
                    slot: slot.name.clone(),
                },
                label: slot.title.clone(),
                href: format!(
                    "{base}/{}/{}",
                    percent_encoding::utf8_percent_encode(id, SEGMENT),
                    percent_encoding::utf8_percent_encode(&slot.name, SEGMENT)
                ),
            });
        }
        TabLinks { links }
    }

    fn find(&self, tab: &Tab) -> Option<&TabLink> {
        self.links.iter().find(|l| l.tab == *tab)
    }

    fn nav(&self, current: &Tab) -> Markup {
        html! {
            nav.entity-tabs aria-label="Entity pages" {
                @for link in &self.links {
                    @let here = link.tab == *current;
                    a.entity-tab.entity-tab-current[here] href=(link.href) aria-current=[here.then_some("page")] { (link.label) }
                }
            }
        }
    }
}

fn overview_tab(loaded: &Loaded, cards: &[(&Plugin, &SlotDecl)], drawn: Vec<Markup>) -> Markup {
    let entry = loaded.entry();
    let kind = entry.entity_ref().kind().to_owned();
    let groups = grouped_relations(entry);
    html! {
        div.entity-overview {
            (about_card(loaded))
            div.entity-side {
                (relations_card(loaded, &kind, &groups))
                @for ((plugin, slot), body) in cards.iter().zip(drawn) {
                    section.slot.slot-widget aria-label=(slot.title) {
                        div.slot-caption {
                            a.slot-plugin href={ "/plugins/" (plugin.manifest().id) } { (plugin.manifest().name) }
                        }
                        (body)
                    }
                }
            }
            (graph_card(loaded, &kind, &groups))
            @match kind.as_str() {
                "component" => { (apis_card(loaded)) }
                "api" => { (api_users_card(loaded)) }
                "group" => { (members_card(loaded)) (child_groups_card(loaded)) (owned_card(loaded)) }
                "user" => { (user_groups_card(loaded)) (owned_card(loaded)) }
                _ => {}
            }
        }
    }
}
