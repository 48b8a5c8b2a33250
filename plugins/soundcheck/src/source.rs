//! Where entities come from: the catalog, page by page, in reference
//! order; behind a trait so collection and evaluation sweeps run natively
//! in tests.

use crate::entity::normalize_ref;
use crate::filter::EntityFilter;
use greenroom_sdk::catalog::{self, FilterCondition, Query};
use greenroom_sdk::{Entity, Result};

/// Entities per catalog page: the host's maximum, so a sweep of 10 000
/// entities takes 20 calls.
pub const PAGE: u32 = 500;

/// Pages of entities, ordered by reference.
pub trait EntitySource {
    /// The page after `cursor` of the entities that may match `filter`
    /// (the caller still checks the filter), and the next cursor.
    fn page(
        &self,
        filter: &EntityFilter,
        cursor: Option<String>,
    ) -> Result<(Vec<Entity>, Option<String>)>;

    /// One entity.
    fn get(&self, entity_ref: &str) -> Result<Option<Entity>>;

    /// The entity a person wrote (`component:payments-api`, …), if it
    /// exists and may be seen; otherwise why not, in words for them.
    fn find(&self, written: &str) -> Result<std::result::Result<Entity, NoEntity>> {
        let entity_ref = match normalize_ref(written, None) {
            Ok(entity_ref) => entity_ref,
            Err(problem) => return Ok(Err(NoEntity::Malformed(problem))),
        };
        Ok(self.get(&entity_ref)?.ok_or_else(|| {
            NoEntity::Missing(format!("no entity {entity_ref}, or you may not see it"))
        }))
    }
}

/// Why [`EntitySource::find`] found nothing; each holds the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoEntity {
    /// What was written is not an entity reference.
    Malformed(String),
    /// No such entity, or the caller may not see it.
    Missing(String),
}

impl NoEntity {
    /// What to tell the person who wrote the reference.
    pub fn message(self) -> String {
        match self {
            NoEntity::Malformed(message) | NoEntity::Missing(message) => message,
        }
    }
}

/// The host's catalog, as the acting user (or, in tasks, the plugin's
/// grant) may see it.
pub struct HostCatalog;

impl EntitySource for HostCatalog {
    fn page(
        &self,
        filter: &EntityFilter,
        cursor: Option<String>,
    ) -> Result<(Vec<Entity>, Option<String>)> {
        let query = Query {
            filter: catalog_filter(filter),
            full_text: None,
            order: None,
            limit: PAGE,
            cursor,
        };
        let page = catalog::query(query)?;
        Ok((page.items, page.next_cursor))
    }

    fn get(&self, entity_ref: &str) -> Result<Option<Entity>> {
        catalog::get(entity_ref)
    }
}

/// The part of a filter the catalog can apply itself (kind, type,
/// lifecycle); the rest is checked on each entity.
pub fn catalog_filter(filter: &EntityFilter) -> Vec<Vec<FilterCondition>> {
    let conditions: Vec<FilterCondition> = [
        ("kind", &filter.kind),
        ("spec.type", &filter.spec_type),
        ("spec.lifecycle", &filter.lifecycle),
    ]
    .into_iter()
    .filter(|(_, values)| !values.is_empty())
    .map(|(key, values)| FilterCondition {
        key: key.to_owned(),
        values: values.clone(),
    })
    .collect();
    if conditions.is_empty() {
        Vec::new()
    } else {
        vec![conditions]
    }
}

/// A fixed list of entities, for tests.
#[cfg(test)]
pub struct Listed(pub Vec<Entity>);

#[cfg(test)]
impl EntitySource for Listed {
    fn page(
        &self,
        _filter: &EntityFilter,
        cursor: Option<String>,
    ) -> Result<(Vec<Entity>, Option<String>)> {
        const TEST_PAGE: usize = 2;
        let start: usize = cursor.and_then(|c| c.parse().ok()).unwrap_or(0);
        let mut sorted = self.0.clone();
        sorted.sort_by(|a, b| a.ref_.cmp(&b.ref_));
        let page: Vec<Entity> = sorted.into_iter().skip(start).take(TEST_PAGE).collect();
        let next = (start + TEST_PAGE < self.0.len()).then(|| (start + TEST_PAGE).to_string());
        Ok((page, next))
    }

    fn get(&self, entity_ref: &str) -> Result<Option<Entity>> {
        Ok(self.0.iter().find(|e| e.ref_ == entity_ref).cloned())
    }
}

/// A catalog entity built from Backstage JSON, for tests.
#[cfg(test)]
pub fn entity(json: serde_json::Value) -> Entity {
    let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
    let pairs = |v: &serde_json::Value| -> Vec<(String, String)> {
        v.as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let kind = text(&json["kind"]).unwrap_or_default();
    let name = text(&json["metadata"]["name"]).unwrap_or_default();
    Entity {
        ref_: format!("{}:default/{name}", kind.to_lowercase()),
        kind,
        namespace: "default".into(),
        name,
        title: text(&json["metadata"]["title"]),
        description: text(&json["metadata"]["description"]),
        owner: text(&json["spec"]["owner"]).map(|o| format!("group:default/{o}")),
        spec_type: text(&json["spec"]["type"]),
        lifecycle: text(&json["spec"]["lifecycle"]),
        tags: json["metadata"]["tags"]
            .as_array()
            .map(|t| {
                t.iter()
                    .filter_map(|t| t.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        labels: pairs(&json["metadata"]["labels"]),
        annotations: pairs(&json["metadata"]["annotations"]),
        relations: json["relations"]
            .as_array()
            .map(|r| {
                r.iter()
                    .map(
                        |r| greenroom_sdk::bindings::greenroom::plugin::types::Relation {
                            relation_type: text(&r["type"]).unwrap_or_default(),
                            target: text(&r["targetRef"]).unwrap_or_default(),
                        },
                    )
                    .collect()
            })
            .unwrap_or_default(),
        json: json.to_string(),
    }
}
