//! The software catalog, in Backstage's entity model.
//!
//! Reading needs `catalog = { read = true }` in the manifest and only ever
//! returns entities the acting user may see; writing needs
//! `catalog = { write = ["Component", …] }`.
//!
//! ```no_run
//! # fn f() -> greenroom_sdk::Result<()> {
//! use greenroom_sdk::catalog;
//! if let Some(entity) = catalog::get("component:default/payments-api")? {
//!     greenroom_sdk::info!("owner: {:?}", entity.owner);
//! }
//! let services = catalog::query(catalog::Query::filter([("kind", "component"), ("spec.type", "service")]))?;
//! # Ok(()) }
//! ```

use crate::Result;
use crate::bindings::greenroom::plugin::catalog as wit;

pub use crate::Entity;
pub use wit::{EntityPage, Facet, FilterCondition, Order, Query};

/// The entity with this reference, if it exists and the user may see it.
pub fn get(entity_ref: &str) -> Result<Option<Entity>> {
    Ok(wit::get_entity(entity_ref)?)
}

/// One page of entities matching `query`.
pub fn query(query: Query) -> Result<EntityPage> {
    Ok(wit::query_entities(&query)?)
}

/// Value counts of `fields` over the entities matching `filter`.
pub fn facets(fields: &[String], filter: &[Vec<FilterCondition>]) -> Result<Vec<Facet>> {
    Ok(wit::facets(fields, filter)?)
}

/// Adds or replaces entities (Backstage JSON) in the plugin's own location.
pub fn upsert(entities: &[String]) -> Result<()> {
    Ok(wit::upsert_entities(entities)?)
}

/// Removes entities the plugin added.
pub fn remove(entity_refs: &[String]) -> Result<()> {
    Ok(wit::remove_entities(entity_refs)?)
}

impl Query {
    /// All entities where every `(key, value)` pair matches, first 100.
    pub fn filter<'a>(conditions: impl IntoIterator<Item = (&'a str, &'a str)>) -> Query {
        let set = conditions
            .into_iter()
            .map(|(key, value)| FilterCondition {
                key: key.to_owned(),
                values: vec![value.to_owned()],
            })
            .collect();
        Query {
            filter: vec![set],
            full_text: None,
            order: None,
            limit: 100,
            cursor: None,
        }
    }
}
