//! `/catalog/{namespace}/{kind}/{name}`: one entity.
//!
//! The page is a header, the entity's ingestion problems (prominently:
//! they are why something is missing or stale), and tabs as links:
//! Overview (About, Relations and plugins' `entity-card` slots beside it,
//! the relations graph, the cards its kind calls for), Definition for APIs, and
//! one tab per plugin `entity-tab` slot at `…/{plugin}/{slot}`. Only the
//! open tab's plugins are called.

use super::{Entry, definition, entity_path, graph, parse_ref, read, restriction, short_ref};
use crate::chrome::Chrome;
use crate::csrf::{CsrfForm, CsrfToken};
use crate::error::{AppError, ErrorKind};
use crate::extract::query_pairs;
use crate::identity::Actor;
use crate::pages::{render_slot, take_notice};
use crate::render::shell::Nav;
use crate::render::{Target, links};
use crate::state::AppState;
use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use greenroom_access::Identity;
use greenroom_catalog::{
    CatalogError, CatalogStore, Cursor, EntityQuery, EntityRef, ORPHAN_ANNOTATION, Order, Page,
    Predicate,
};
use greenroom_contract::{SlotDecl, SlotKind};
use greenroom_lifecycle::Plugin;
use greenroom_runtime::CallContext;
use maud::{Markup, html};
use serde_json::Value;
use std::collections::HashMap;

/// Owned entities listed on a group's or user's page; the total is shown
/// and the catalog page lists the rest.
const OWNED_SHOWN: usize = 100;

/// Where the source of an entity is recorded, as Backstage annotates it.
const MANAGED_BY: &str = greenroom_catalog::MANAGED_BY_LOCATION;

/// Where an entity's source code lives, when its author says so
/// (`url:https://github.com/acme/pay/tree/main/`).
const SOURCE_LOCATION: &str = "backstage.io/source-location";

/// Relation types in the order the Relations card and the graph show
/// them: what the entity belongs to first, then what it is made of and
/// talks to, then people.
const RELATION_ORDER: [&str; 14] = [
    "ownedBy",
    "partOf",
    "hasPart",
    "providesApi",
    "consumesApi",
    "apiProvidedBy",
    "apiConsumedBy",
    "dependsOn",
    "dependencyOf",
    "childOf",
    "parentOf",
    "memberOf",
    "hasMember",
    "ownerOf",
];

/// A relation type as a heading: `consumesApi` reads "Consumes API".
fn relation_label(relation: &str) -> &str {
    match relation {
        "ownedBy" => "Owned by",
        "ownerOf" => "Owner of",
        "partOf" => "Part of",
        "hasPart" => "Has part",
        "providesApi" => "Provides API",
        "apiProvidedBy" => "API provided by",
        "consumesApi" => "Consumes API",
        "apiConsumedBy" => "API consumed by",
        "dependsOn" => "Depends on",
        "dependencyOf" => "Dependency of",
        "memberOf" => "Member of",
        "hasMember" => "Has member",
        "parentOf" => "Parent of",
        "childOf" => "Child of",
        other => other,
    }
}

/// A lifecycle as a badge; the well-known ones have a tone.
pub(super) fn lifecycle_badge(lifecycle: &str) -> Markup {
    let tone = match lifecycle.to_ascii_lowercase().as_str() {
        "production" => "tone-success",
        "experimental" => "tone-info",
        "deprecated" => "tone-warning",
        _ => "tone-neutral",
    };
    html! { span class={ "badge " (tone) } { (lifecycle) } }
}

/// Which tab of the page.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tab {
    Overview,
    Definition,
    Plugin { plugin: String, slot: String },
}

/// `/catalog/{namespace}/{kind}/{name}`: the overview.
pub(super) async fn overview(
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

/// `POST /catalog/{namespace}/{kind}/{name}/refresh`: reads the entity's
/// location again now, as the API's `POST /refresh` does (the entity must
/// be visible, and `catalog.entity.refresh` allowed on it), then back to
/// its page with what happened.
pub(super) async fn refresh(
    State(state): State<AppState>,
    Path((namespace, kind, name)): Path<(String, String, String)>,
    Actor(user): Actor,
    _form: CsrfForm,
) -> Result<Response, AppError> {
    let entity_ref = EntityRef::new(&kind, &namespace, &name);
    let key = entity_ref.key();
    let visible = super::restriction(&state, &user);
    let permission = state.entity_permission(&user, "catalog.entity.refresh");
    let allowed = permission.restriction();
    let found = key.clone();
    let (exists, may) = super::read(&state, move |store| {
        let exists = store
            .entity_by_ref_where(&found, visible.as_ref())?
            .is_some();
        let may = exists
            && store
                .entity_by_ref_where(&found, allowed.as_ref())?
                .is_some();
        Ok((exists, may))
    })
    .await?;
    if !exists {
        return Err(AppError::page(ErrorKind::NotFound(format!(
            "The catalog has no {key}, or you may not see it."
        ))));
    }
    if !may {
        return Err(permission.refuse_page(&key));
    }
    let catalog = state.catalog().clone();
    let target = key.clone();
    let report = tokio::task::spawn_blocking(move || catalog.refresh_entity(&target))
        .await
        .map_err(|e| AppError::page(ErrorKind::Internal(e.to_string())))?;
    let notice = match report {
        Ok(_) => "Read again from its location just now.".to_owned(),
        Err(error) => format!("Could not read it again: {error}"),
    };
    let page = super::entity_path(&entity_ref);
    Ok((
        CookieJar::new().add(crate::actions::notice_cookie(&notice)),
        Redirect::to(&page),
    )
        .into_response())
}

/// The permission that removes a location and every entity it provided.
const LOCATION_DELETE: &str = "catalog.location.delete";

/// The box that confirms unregistering.
const CONFIRM_FIELD: &str = "confirm";

/// What unregistering an entity would remove: its registered location and
/// how many entities that location provided.
struct Unregistering {
    location: greenroom_catalog::Location,
    entities: usize,
}

/// The location behind an entity the user may see, after checking they
/// may delete locations (refused and audited otherwise).
async fn unregistering(
    state: &AppState,
    user: &Identity,
    entity_ref: &EntityRef,
) -> Result<Unregistering, AppError> {
    state.require(user, LOCATION_DELETE, crate::error::Format::Html)?;
    let visible = super::restriction(state, user);
    let key = entity_ref.key();
    let found = read(state, move |store| {
        if store.entity_by_ref_where(&key, visible.as_ref())?.is_none() {
            return Ok(None);
        }
        let Some(location) = store.location_of(&key)? else {
            return Ok(None);
        };
        let entities = store.entity_count_of_location(&location.id)?;
        Ok(Some(Unregistering { location, entities }))
    })
    .await?;
    found.ok_or_else(|| {
        AppError::page(ErrorKind::NotFound(format!(
            "The catalog has no {entity_ref} from a registered location, or you may not see it."
        )))
    })
}

/// Why a location cannot be unregistered here, if it cannot: the
/// operator's configuration lists it, and would register it again.
fn kept_by_config(location: &greenroom_catalog::Location) -> Option<String> {
    (location.origin == "config").then(|| {
        format!(
            "{}:{} is listed in the server's configuration (`[[catalog.locations]]`); remove it there, and it goes at the next start.",
            location.kind, location.target
        )
    })
}

/// `GET /catalog/{namespace}/{kind}/{name}/unregister`: what unregistering
/// would remove, and the form that does it, as Backstage's "Unregister
/// entity" dialog.
pub(super) async fn unregister_page(
    State(state): State<AppState>,
    Path((namespace, kind, name)): Path<(String, String, String)>,
    Actor(user): Actor,
    Extension(csrf): Extension<CsrfToken>,
) -> Result<Response, AppError> {
    let entity_ref = EntityRef::new(&kind, &namespace, &name);
    let Unregistering { location, entities } = unregistering(&state, &user, &entity_ref).await?;
    let page = entity_path(&entity_ref);
    let content = html! {
        section.page-header {
            p.eyebrow { a.link href="/catalog" { "Catalog" } " / " a.link href=(page) { (entity_ref.to_string()) } }
            h1.page-title { "Unregister " (entity_ref.name()) }
        }
        section.card {
            div.card-body {
                @match kept_by_config(&location) {
                    Some(why) => { p.callout.tone-warning role="note" { (why) } }
                    None => {
                        p.text {
                            "It was read from " code { (location.kind) ":" (location.target) } ". Unregistering removes that location and all "
                            strong { (entities) } " entities read from it, this one included. The file itself is not touched; register it again to bring them back."
                        }
                        form.form method="post" action={ (page) "/unregister" } {
                            input type="hidden" name=(crate::csrf::CSRF_FIELD) value=(csrf.0);
                            label.checkbox {
                                input type="checkbox" name=(CONFIRM_FIELD) value="yes" required;
                                span { "Yes: remove the location and its " (entities) " entities" }
                            }
                            button.button type="submit" { "Unregister" }
                        }
                    }
                }
                p.text { a.link href=(page) { "Back to " (entity_ref.name()) } }
            }
        }
    };
    Ok(Chrome::new(&state, Some(&user), Some(&csrf.0))
        .page("Unregister", Nav::Catalog, None, content)
        .into_response())
}

/// `POST /catalog/{namespace}/{kind}/{name}/unregister`: removes the
/// entity's location and every entity it provided, once confirmed.
pub(super) async fn unregister(
    State(state): State<AppState>,
    Path((namespace, kind, name)): Path<(String, String, String)>,
    Actor(user): Actor,
    form: CsrfForm,
) -> Result<Response, AppError> {
    let entity_ref = EntityRef::new(&kind, &namespace, &name);
    let Unregistering { location, entities } = unregistering(&state, &user, &entity_ref).await?;
    if let Some(why) = kept_by_config(&location) {
        return Err(AppError::page(ErrorKind::BadRequest(why)));
    }
    if form.value(CONFIRM_FIELD).as_deref() != Some("yes") {
        return Err(AppError::page(ErrorKind::BadRequest(
            "Nothing was removed: tick the box to confirm.".into(),
        )));
    }
    let catalog = state.catalog().clone();
    let id = location.id.clone();
    tokio::task::spawn_blocking(move || catalog.remove_location(&id))
        .await
        .map_err(|e| AppError::page(ErrorKind::Internal(e.to_string())))?
        .map_err(|e| AppError::page(ErrorKind::Internal(e.to_string())))?;
    let notice = format!(
        "Unregistered {}:{}: its {entities} entities are gone from the catalog.",
        location.kind, location.target
    );
    Ok((
        CookieJar::new().add(crate::actions::notice_cookie(&notice)),
        Redirect::to("/catalog"),
    )
        .into_response())
}

/// `/catalog/{namespace}/{kind}/{name}/{tab}`: a tab the host draws.
pub(super) async fn builtin_tab(
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
pub(super) async fn plugin_tab(
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

/// What an entity page shows, read in one go.
struct Loaded {
    entity: Value,
    /// Entities the page names, by lower-cased reference: those its
    /// relations point to that exist, their owners and domains, what it
    /// owns, and itself.
    related: HashMap<String, Value>,
    /// For a group or a user: what it (or its groups) owns.
    owned: Option<Page>,
}

impl Loaded {
    fn load(
        store: &CatalogStore,
        entity_ref: &EntityRef,
        restriction: Option<&Predicate>,
    ) -> Result<Loaded, CatalogError> {
        let Some(entity) = store.entity_by_ref_where(&entity_ref.key(), restriction)? else {
            return Err(CatalogError::NotFound(format!(
                "The catalog has no {} `{}/{}`. It may not have been read yet, or its file has a problem: the catalog page at /catalog lists problems.",
                entity_ref.kind(),
                entity_ref.namespace(),
                entity_ref.name()
            )));
        };
        let entry = Entry(&entity);
        let mut related = HashMap::new();
        let targets: Vec<String> = entry
            .relations()
            .iter()
            .map(|(_, t)| t.to_string())
            .collect();
        add_found(store, &targets, restriction, &mut related)?;
        // One hop further for names shown beside related entities: their
        // owners, and the domain of a system.
        let second: Vec<String> = related
            .values()
            .flat_map(|e| {
                let e = Entry(e);
                let mut refs = e.related("ownedBy");
                if e.entity_ref().kind() == "system" {
                    refs.extend(e.related("partOf"));
                }
                refs.into_iter().map(str::to_owned).collect::<Vec<_>>()
            })
            .filter(|r| !related.contains_key(&r.to_lowercase()))
            .collect();
        add_found(store, &second, restriction, &mut related)?;
        let owners = match entry.entity_ref().kind() {
            "group" => Some(vec![entry.entity_ref().key()]),
            "user" => Some(
                std::iter::once(entry.entity_ref().key())
                    .chain(entry.related("memberOf").iter().map(|g| g.to_lowercase()))
                    .collect(),
            ),
            _ => None,
        };
        let owned = match owners {
            Some(owners) => Some(owned_by(store, owners, restriction)?),
            None => None,
        };
        // Owned entities are rows of a table whose owner column points
        // back here or to a group already read.
        for item in owned.iter().flat_map(|page| &page.items) {
            related.insert(Entry(item).entity_ref().key(), item.clone());
        }
        related.insert(entry.entity_ref().key(), entity.clone());
        Ok(Loaded {
            entity,
            related,
            owned,
        })
    }

    fn entry(&self) -> Entry<'_> {
        Entry(&self.entity)
    }

    /// The related entity with this reference, if it is in the catalog.
    fn find(&self, entity_ref: &EntityRef) -> Option<Entry<'_>> {
        self.related.get(&entity_ref.key()).map(Entry)
    }
}

fn add_found(
    store: &CatalogStore,
    refs: &[String],
    restriction: Option<&Predicate>,
    into: &mut HashMap<String, Value>,
) -> Result<(), CatalogError> {
    for found in store
        .entities_by_refs(refs, restriction)?
        .into_iter()
        .flatten()
    {
        into.insert(Entry(&found).entity_ref().key(), found);
    }
    Ok(())
}

fn owned_by(
    store: &CatalogStore,
    owners: Vec<String>,
    restriction: Option<&Predicate>,
) -> Result<Page, CatalogError> {
    let query = EntityQuery {
        filter: Some(Predicate::Field {
            key: "relations.ownedBy".into(),
            values: owners,
        }),
        full_text: None,
        order: Some(Order {
            field: "metadata.name".into(),
            descending: false,
        }),
    };
    store.query(&Cursor::first(query), OWNED_SHOWN, restriction)
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
        entity: Some(greenroom_broker::wit_entity(&loaded.entity)),
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
        (header(&loaded, csrf, state.permit(&user, LOCATION_DELETE).allowed()))
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
                    percent_encoding::utf8_percent_encode(id, super::SEGMENT),
                    percent_encoding::utf8_percent_encode(&slot.name, super::SEGMENT)
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

fn header(loaded: &Loaded, csrf: &str, may_unregister: bool) -> Markup {
    let entry = loaded.entry();
    let kind = entry.kind();
    let owner = entry.owner();
    let kind_href = format!("/catalog?kind={}", entry.entity_ref().kind());
    html! {
        section.page-header.entity-header {
            p.eyebrow { a.link href="/catalog" { "Catalog" } " / " a.link href=(kind_href) { (kind) } }
            h1.page-title { (entry.display_name()) }
            div.entity-facts {
                span.badge.tone-info { (kind) }
                @if let Some(t) = entry.spec("type") { span.badge.tone-neutral { (t) } }
                @if let Some(l) = entry.spec("lifecycle") { (lifecycle_badge(l)) }
                @if let Some(owner) = &owner {
                    span.entity-fact { "Owned by " (ref_link(loaded, owner, Some("group"))) }
                }
                code.entity-ref { (entry.entity_ref().to_string()) }
                form.entity-action method="post" action={ (super::entity_path(&entry.entity_ref())) "/refresh" } {
                    input type="hidden" name=(crate::csrf::CSRF_FIELD) value=(csrf);
                    button.button.button-small type="submit" title="Read this entity's file again now" { "Refresh" }
                }
                @if may_unregister {
                    a.button.button-small href={ (super::entity_path(&entry.entity_ref())) "/unregister" } { "Unregister…" }
                }
            }
            @let tags = entry.tags();
            @if !tags.is_empty() {
                ul.tag-list aria-label="Tags" {
                    @for tag in tags {
                        li { a.tag href=(tag_href(entry, tag)) { (tag) } }
                    }
                }
            }
        }
    }
}

/// The catalog page of the entity's kind, narrowed to a tag.
fn tag_href(entry: Entry<'_>, tag: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("kind", entry.entity_ref().kind())
        .append_pair("tag", tag)
        .finish();
    format!("/catalog?{query}")
}

/// A related entity: a link to its page when it is in the catalog, its
/// reference marked as missing when not.
fn ref_link(loaded: &Loaded, target: &EntityRef, implied_kind: Option<&str>) -> Markup {
    match loaded.find(target) {
        Some(found) => html! { a.link href=(entity_path(target)) { (found.display_name()) } },
        None => html! {
            span.missing-ref title="not in the catalog" { (short_ref(target, implied_kind)) }
        },
    }
}

/// The problems the last refresh found with the entity, or for a
/// Location, in the files it led to.
fn problems(entry: Entry<'_>) -> Markup {
    let problems = entry.problems();
    if problems.is_empty() {
        return html! {};
    }
    let (title, lead) = if entry.entity_ref().kind() == "location" {
        (
            "Problems in the files this location led to",
            "Entities in these files could not be read. Fix the file; the next refresh picks it up.",
        )
    } else {
        (
            "Problems with this entity",
            "The last refresh could not read this entity's file as it is now; the page shows the last version that was read.",
        )
    };
    html! {
        section.card.card-danger id="problems" role="alert" {
            header.card-header {
                h2.card-title { (title) }
                p.card-subtitle { (lead) }
            }
            div.card-body {
                ul.problem-list {
                    @for problem in problems { li { code.problem-text { (problem) } } }
                }
            }
        }
    }
}

/// The id of the card listing every relation of this type on a `kind`'s
/// page: a card of its own (members, provided APIs…), or Relations.
fn list_anchor(kind: &str, relation: &str) -> &'static str {
    match (kind, relation) {
        ("component", "providesApi") => "provided-apis",
        ("component", "consumesApi") => "consumed-apis",
        ("api", "apiProvidedBy") => "providers",
        ("api", "apiConsumedBy") => "consumers",
        ("group", "hasMember") => "members",
        ("group", "parentOf") => "child-groups",
        ("group" | "user", "ownerOf") => "owned",
        ("user", "memberOf") => "groups",
        _ => "relations",
    }
}

/// Relations grouped by type, in [`RELATION_ORDER`] (unknown types last).
fn grouped_relations<'a>(entry: Entry<'a>) -> Vec<(&'a str, Vec<EntityRef>)> {
    let mut groups: Vec<(&str, Vec<EntityRef>)> = Vec::new();
    for (relation, target) in entry.relations() {
        let Some(target) = parse_ref(target) else {
            continue;
        };
        match groups.iter_mut().find(|(r, _)| *r == relation) {
            Some((_, targets)) => targets.push(target),
            None => groups.push((relation, vec![target])),
        }
    }
    groups.sort_by_key(|(relation, _)| {
        RELATION_ORDER
            .iter()
            .position(|r| r == relation)
            .unwrap_or(RELATION_ORDER.len())
    });
    groups
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

fn about_card(loaded: &Loaded) -> Markup {
    let entry = loaded.entry();
    let entity = &loaded.entity;
    let kind = entry.entity_ref().kind().to_owned();
    let systems: Vec<EntityRef> = refs_of_kind(entry, "partOf", "system");
    let domains: Vec<EntityRef> = if kind == "system" {
        refs_of_kind(entry, "partOf", "domain")
    } else {
        systems
            .iter()
            .filter_map(|s| loaded.find(s))
            .flat_map(|s| refs_of_kind(s, "partOf", "domain"))
            .collect()
    };
    let parents: Vec<EntityRef> = if kind == "group" {
        entry
            .related("childOf")
            .into_iter()
            .filter_map(parse_ref)
            .collect()
    } else {
        Vec::new()
    };
    let links = link_list(entity);
    let targets = super::strings(entity.pointer("/spec/targets"));
    html! {
        section.card.about-card {
            header.card-header { h2.card-title { "About" } }
            div.card-body {
                @match entry.description() {
                    Some(description) => p.about-description { (description) },
                    None if !matches!(kind.as_str(), "user" | "group" | "location") => {
                        p.text-muted { "No description. Add " code { "metadata.description" } " to its YAML file." }
                    }
                    None => {}
                }
                dl.properties {
                    @if let Some(owner) = entry.owner() {
                        div.property { dt { "Owner" } dd { (ref_link(loaded, &owner, Some("group"))) } }
                    }
                    @for system in &systems {
                        div.property { dt { "System" } dd { (ref_link(loaded, system, Some("system"))) } }
                    }
                    @for domain in &domains {
                        div.property { dt { "Domain" } dd { (ref_link(loaded, domain, Some("domain"))) } }
                    }
                    @for parent in &parents {
                        div.property { dt { "Parent group" } dd { (ref_link(loaded, parent, Some("group"))) } }
                    }
                    @if let Some(t) = entry.spec("type") { div.property { dt { "Type" } dd { (t) } } }
                    @if let Some(l) = entry.spec("lifecycle") { div.property { dt { "Lifecycle" } dd { (lifecycle_badge(l)) } } }
                    @if let Some(name) = entry.text("/spec/profile/displayName").filter(|n| *n != entry.display_name()) {
                        div.property { dt { "Display name" } dd { (name) } }
                    }
                    @if let Some(email) = entry.email() {
                        div.property { dt { "Email" } dd { (links::anchor(email, &format!("mailto:{email}"))) } }
                    }
                    @if let Some(target) = entry.spec("target") {
                        div.property { dt { "Target" } dd { code { (target) } } }
                    }
                    @if !targets.is_empty() {
                        div.property { dt { "Targets" } dd { ul.plain-list { @for t in &targets { li { code { (t) } } } } } }
                    }
                    @if !links.is_empty() {
                        div.property { dt { "Links" } dd { ul.plain-list { @for link in links { li { (link) } } } } }
                    }
                    @if let Some(source) = view_source(entry) {
                        div.property { dt { "Source" } dd { (source) } }
                    }
                }
                (metadata_details(entity))
            }
        }
    }
}

/// Where to read the entity's source, as Backstage's "View source" does:
/// `backstage.io/source-location`, else the location it was read from.
/// A `url:` target is a link to it; a `file:` one names only the file, not
/// the server's absolute path to it (a file on the server is nowhere a
/// reader can go, and its folder says how the server is laid out).
fn view_source(entry: Entry<'_>) -> Option<Markup> {
    let location = entry
        .annotation(SOURCE_LOCATION)
        .or_else(|| entry.annotation(MANAGED_BY))?;
    let (kind, target) = location.split_once(':')?;
    match kind {
        "url" => Some(links::web_anchor("View source", target)),
        "file" => {
            let file = target.rsplit(['/', '\\']).next().unwrap_or(target);
            Some(
                html! { code.source-path { (file) } " " span.text-muted { "(a file on the server)" } },
            )
        }
        _ => None,
    }
}

/// The entity's `metadata.links`: only `http:` and `https:` URLs become
/// links; anything else is shown as refused text.
fn link_list(entity: &Value) -> Vec<Markup> {
    entity
        .pointer("/metadata/links")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|link| {
                    let url = link.get("url")?.as_str()?;
                    let title = link.get("title").and_then(Value::as_str).unwrap_or(url);
                    Some(links::web_anchor(title, url))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Labels and annotations, folded away: they are for tools more than
/// people.
fn metadata_details(entity: &Value) -> Markup {
    let pairs = |pointer: &str| -> Vec<(String, String)> {
        entity
            .pointer(pointer)
            .and_then(Value::as_object)
            .map(|map| {
                map.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let labels = pairs("/metadata/labels");
    let annotations = pairs("/metadata/annotations");
    if labels.is_empty() && annotations.is_empty() {
        return html! {};
    }
    html! {
        details.metadata-details {
            summary { "Labels and annotations (" (labels.len() + annotations.len()) ")" }
            dl.properties.properties-code {
                @for (key, value) in labels.iter().chain(&annotations) {
                    div.property { dt { code { (key) } } dd { code { (value) } } }
                }
            }
        }
    }
}

/// The targets of `relation` that are of `kind`.
fn refs_of_kind(entry: Entry<'_>, relation: &str, kind: &str) -> Vec<EntityRef> {
    entry
        .related(relation)
        .into_iter()
        .filter_map(parse_ref)
        .filter(|r| r.kind() == kind)
        .collect()
}

/// The relations no card of their own lists, by type. Left out when
/// every relation has its card, or for a Location (which has none).
fn relations_card(loaded: &Loaded, kind: &str, groups: &[(&str, Vec<EntityRef>)]) -> Markup {
    let listed: Vec<&(&str, Vec<EntityRef>)> = groups
        .iter()
        .filter(|(relation, _)| list_anchor(kind, relation) == "relations")
        .collect();
    if listed.is_empty() && (!groups.is_empty() || kind == "location") {
        return html! {};
    }
    html! {
        section.card.relations-card id="relations" {
            header.card-header {
                h2.card-title { "Relations" }
                @if listed.len() < groups.len() {
                    p.card-subtitle { "Other relations have cards of their own below." }
                }
            }
            div.card-body {
                @if listed.is_empty() {
                    p.text-muted { "No relations. They come from fields such as " code { "spec.owner" } ", " code { "spec.system" } " and " code { "spec.dependsOn" } "." }
                } @else {
                    dl.relation-groups {
                        @for (relation, targets) in listed {
                            div.relation-group {
                                dt { (relation_label(relation)) }
                                dd {
                                    ul.plain-list {
                                        @for target in targets {
                                            li { (ref_link(loaded, target, None)) " " span.kind-tag { (target.kind()) } }
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

fn graph_card(loaded: &Loaded, kind: &str, groups: &[(&str, Vec<EntityRef>)]) -> Markup {
    if groups.is_empty() {
        return html! {};
    }
    let entry = loaded.entry();
    let graph_groups: Vec<graph::Group> = groups
        .iter()
        .map(|(relation, targets)| graph::Group {
            label: relation_label(relation).to_owned(),
            full_list: format!("#{}", list_anchor(kind, relation)),
            nodes: targets
                .iter()
                .map(|target| {
                    let found = loaded.find(target);
                    graph::Node {
                        kind: target.kind().to_owned(),
                        label: found.map_or_else(
                            || target.name().to_owned(),
                            |f| f.display_name().to_owned(),
                        ),
                        title: target.to_string(),
                        href: found.map(|_| entity_path(target)),
                    }
                })
                .collect(),
        })
        .collect();
    let center = graph::Node {
        kind: entry.entity_ref().kind().to_owned(),
        label: entry.display_name().to_owned(),
        title: entry.entity_ref().to_string(),
        href: None,
    };
    html! {
        section.card.graph-card {
            header.card-header {
                h2.card-title { "Relations graph" }
                p.card-subtitle { "This entity in the middle; each neighbour links to its own page." }
            }
            div.card-body { (graph::draw(&center, &graph_groups)) }
        }
    }
}

/// A column of a table of related entities.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Col {
    Name,
    Kind,
    Type,
    Lifecycle,
    Owner,
    Email,
    Description,
}

impl Col {
    fn label(self) -> &'static str {
        match self {
            Col::Name => "Name",
            Col::Kind => "Kind",
            Col::Type => "Type",
            Col::Lifecycle => "Lifecycle",
            Col::Owner => "Owner",
            Col::Email => "Email",
            Col::Description => "Description",
        }
    }
}

/// A table of entities by reference; those not in the catalog get a row
/// that says so.
fn entity_table(loaded: &Loaded, refs: &[EntityRef], cols: &[Col]) -> Markup {
    html! {
        div.table-wrap {
            table.table {
                thead { tr { @for col in cols { th scope="col" { (col.label()) } } } }
                tbody {
                    @for target in refs {
                        tr {
                            @match loaded.find(target) {
                                Some(found) => {
                                    @for &col in cols { (entity_cell(loaded, found, col)) }
                                }
                                None => {
                                    td { span.missing-ref { (short_ref(target, None)) } }
                                    td.text-muted colspan=(cols.len() - 1) { "Not in the catalog." }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn entity_cell(loaded: &Loaded, entry: Entry<'_>, col: Col) -> Markup {
    match col {
        Col::Name => html! { td { a.link href=(entry.path()) { (entry.display_name()) } } },
        Col::Kind => html! { td { (entry.kind()) } },
        Col::Type => html! { td { (entry.spec("type").unwrap_or("")) } },
        Col::Lifecycle => {
            html! { td { @if let Some(l) = entry.spec("lifecycle") { (lifecycle_badge(l)) } } }
        }
        Col::Owner => html! {
            td { @if let Some(owner) = entry.owner() { (ref_link(loaded, &owner, Some("group"))) } }
        },
        Col::Email => html! {
            td { @if let Some(email) = entry.email() { (links::anchor(email, &format!("mailto:{email}"))) } }
        },
        Col::Description => html! { td.cell-description { (entry.description().unwrap_or("")) } },
    }
}

fn refs(entry: Entry<'_>, relation: &str) -> Vec<EntityRef> {
    entry
        .related(relation)
        .into_iter()
        .filter_map(parse_ref)
        .collect()
}

/// A card holding a table of related entities, or a line saying there are
/// none.
fn table_card(
    id: &str,
    title: &str,
    empty: &str,
    loaded: &Loaded,
    refs: &[EntityRef],
    cols: &[Col],
) -> Markup {
    html! {
        section.card.wide-card id=(id) {
            header.card-header { h2.card-title { (title) } }
            div.card-body {
                @if refs.is_empty() { p.text-muted { (empty) } } @else { (entity_table(loaded, refs, cols)) }
            }
        }
    }
}

fn apis_card(loaded: &Loaded) -> Markup {
    let entry = loaded.entry();
    let cols = [
        Col::Name,
        Col::Type,
        Col::Lifecycle,
        Col::Owner,
        Col::Description,
    ];
    html! {
        (table_card("provided-apis", "Provided APIs", "It provides no APIs (spec.providesApis).", loaded, &refs(entry, "providesApi"), &cols))
        (table_card("consumed-apis", "Consumed APIs", "It consumes no APIs (spec.consumesApis).", loaded, &refs(entry, "consumesApi"), &cols))
    }
}

fn api_users_card(loaded: &Loaded) -> Markup {
    let entry = loaded.entry();
    let cols = [Col::Name, Col::Type, Col::Lifecycle, Col::Owner];
    html! {
        (table_card("providers", "Providers", "No component provides this API.", loaded, &refs(entry, "apiProvidedBy"), &cols))
        (table_card("consumers", "Consumers", "No component consumes this API.", loaded, &refs(entry, "apiConsumedBy"), &cols))
    }
}

fn members_card(loaded: &Loaded) -> Markup {
    let members = refs(loaded.entry(), "hasMember");
    table_card(
        "members",
        "Members",
        "This group has no members.",
        loaded,
        &members,
        &[Col::Name, Col::Email],
    )
}

fn child_groups_card(loaded: &Loaded) -> Markup {
    let children = refs(loaded.entry(), "parentOf");
    if children.is_empty() {
        return html! {};
    }
    table_card(
        "child-groups",
        "Child groups",
        "",
        loaded,
        &children,
        &[Col::Name, Col::Type, Col::Description],
    )
}

fn user_groups_card(loaded: &Loaded) -> Markup {
    let groups = refs(loaded.entry(), "memberOf");
    table_card(
        "groups",
        "Groups",
        "Not a member of any group.",
        loaded,
        &groups,
        &[Col::Name, Col::Type, Col::Description],
    )
}

/// What a group owns, or a user and the groups they are in.
fn owned_card(loaded: &Loaded) -> Markup {
    let Some(page) = &loaded.owned else {
        return html! {};
    };
    let entry = loaded.entry();
    let is_user = entry.entity_ref().kind() == "user";
    let (title, empty) = if is_user {
        (
            "Owned by them or their groups",
            "Neither they nor their groups own anything in the catalog.",
        )
    } else {
        (
            "Owned by this group",
            "This group owns nothing in the catalog.",
        )
    };
    let refs: Vec<EntityRef> = page.items.iter().map(|e| Entry(e).entity_ref()).collect();
    let cols: &[Col] = if is_user {
        &[Col::Name, Col::Kind, Col::Type, Col::Lifecycle, Col::Owner]
    } else {
        &[
            Col::Name,
            Col::Kind,
            Col::Type,
            Col::Lifecycle,
            Col::Description,
        ]
    };
    let catalog_href = (!is_user).then(|| {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("kind", "component")
            .append_pair("owner", &entry.entity_ref().to_string())
            .finish();
        format!("/catalog?{query}")
    });
    html! {
        section.card.wide-card id="owned" {
            header.card-header {
                h2.card-title { (title) }
                @if page.total_items > 0 {
                    p.card-subtitle {
                        (page.total_items) " in all"
                        @if page.total_items as usize > page.items.len() { ", the first " (page.items.len()) " shown" }
                        @if let Some(href) = &catalog_href { " · " a.link href=(href) { "Its components in the catalog" } }
                    }
                }
            }
            div.card-body {
                @if refs.is_empty() { p.text-muted { (empty) } } @else { (entity_table(loaded, &refs, cols)) }
            }
        }
    }
}
