//! `/catalog/{namespace}/{kind}/{name}`: one entity.
//!
//! The page is a header, the entity's ingestion problems (prominently:
//! they are why something is missing or stale), and tabs as links:
//! Overview (About, Relations and plugins' `entity-card` slots beside it,
//! the relations graph, the cards its kind calls for), Definition for APIs, and
//! one tab per plugin `entity-tab` slot at `…/{plugin}/{slot}`. Only the
//! open tab's plugins are called.
//!
//! One module per page or action: [`page`] (the page and its tabs),
//! [`refresh`](mod@refresh) and [`unregister`](mod@unregister); the
//! page's parts are [`header`], [`about`], [`relations`] (the Relations
//! card and graph) and [`kind_cards`] (the tables of related entities a
//! kind calls for). What several of them use is here: the entity read in
//! one go ([`Loaded`]).

mod about;
mod header;
mod kind_cards;
mod page;
mod refresh;
mod relations;
mod unregister;

pub(super) use page::{builtin_tab, overview, plugin_tab};
pub(super) use refresh::refresh;
pub(super) use unregister::{unregister, unregister_page};

use super::{Entry, entity_path, short_ref};
use greenroom_catalog::{
    CatalogError, CatalogStore, Cursor, EntityQuery, EntityRef, Order, Page, Predicate,
};
use maud::{Markup, html};
use serde_json::Value;
use std::collections::HashMap;

/// Owned entities listed on a group's or user's page; the total is shown
/// and the catalog page lists the rest.
const OWNED_SHOWN: usize = 100;

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
