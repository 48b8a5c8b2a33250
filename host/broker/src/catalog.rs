//! `greenroom:plugin/catalog`: entities, brokered by `catalog:read` and
//! `catalog:write`.
//!
//! The capability is checked first, so a plugin that was not granted it is
//! denied (and audited) exactly as it will be once the catalog is here. A
//! granted plugin is told the catalog is `unavailable` — never given
//! made-up entities — until the catalog service backs these calls.

use crate::session::{Access, Session};
use greenroom_contract::wit::latest::greenroom::plugin::catalog::{
    EntityPage, Facet, FilterCondition, Host, Query,
};
use greenroom_contract::wit::latest::greenroom::plugin::types::{Entity, HostError};

fn unavailable() -> HostError {
    HostError::Unavailable("this Greenroom host does not serve the catalog yet".into())
}

/// The kind of a Backstage JSON entity, for the write check.
fn kind_of(entity_json: &str) -> Result<String, HostError> {
    let value: serde_json::Value = serde_json::from_str(entity_json)
        .map_err(|e| HostError::InvalidArgument(format!("entity is not JSON: {e}")))?;
    value
        .get("kind")
        .and_then(|k| k.as_str())
        .map(str::to_owned)
        .ok_or_else(|| HostError::InvalidArgument("entity has no `kind`".into()))
}

/// The kind of an entity reference `kind:namespace/name`.
fn kind_of_ref(entity_ref: &str) -> Result<&str, HostError> {
    entity_ref
        .split_once(':')
        .map(|(kind, _)| kind)
        .filter(|kind| !kind.is_empty())
        .ok_or_else(|| {
            HostError::InvalidArgument(format!(
                "`{entity_ref}` is not an entity reference (kind:namespace/name)"
            ))
        })
}

impl Host for Session {
    async fn get_entity(&mut self, _entity_ref: String) -> Result<Option<Entity>, HostError> {
        self.decide(Access::CatalogRead)?;
        Err(unavailable())
    }

    async fn query_entities(&mut self, _query: Query) -> Result<EntityPage, HostError> {
        self.decide(Access::CatalogRead)?;
        Err(unavailable())
    }

    async fn facets(
        &mut self,
        _fields: Vec<String>,
        _filter: Vec<Vec<FilterCondition>>,
    ) -> Result<Vec<Facet>, HostError> {
        self.decide(Access::CatalogRead)?;
        Err(unavailable())
    }

    async fn upsert_entities(&mut self, entities: Vec<String>) -> Result<(), HostError> {
        for entity in &entities {
            self.decide(Access::CatalogWrite {
                kind: &kind_of(entity)?,
            })?;
        }
        Err(unavailable())
    }

    async fn remove_entities(&mut self, refs: Vec<String>) -> Result<(), HostError> {
        for entity_ref in &refs {
            self.decide(Access::CatalogWrite {
                kind: kind_of_ref(entity_ref)?,
            })?;
        }
        Err(unavailable())
    }
}
