//! The catalog's tables: writing what a location yielded in one transaction,
//! and every read the API, the portal and plugins make.
//!
//! Every statement here is plain SQL that PostgreSQL also runs, except the
//! trigram full-text table (`catalog_text`), which the PostgreSQL port
//! replaces with a pg_trgm index.
//!
//! One [`CatalogStore`], its methods split by concern: `locations` (the
//! registered locations), `writes` (refreshes in batched transactions
//! through [`Refresh`], plugins' own entities, orphans and the derived
//! relation and search rows) and `reads` (entities, queries, lists, facets,
//! ancestry, counts and problems, each under the caller's restriction).

mod locations;
mod reads;
mod writes;

pub use writes::Refresh;

use crate::ingest::{LocationType, SourceProblem};
use crate::query::QueryError;
use greenroom_store::{Database, StoreError};
use serde::Serialize;
use serde_json::Value;

/// Fields copied into the trigram full-text index (lower-cased dotted
/// paths): what people type into a search box.
/// (Short enumerations such as `kind` or `spec.type` are not indexed: a
/// trigram index over them costs ingestion time for no gain; they are
/// searched by scanning their search rows.)
pub const TEXT_FIELDS: [&str; 6] = [
    "metadata.name",
    "metadata.title",
    "metadata.description",
    "metadata.tags",
    "spec.profile.displayname",
    "spec.profile.email",
];

/// The full-text table's column for each of [`TEXT_FIELDS`].
pub(crate) const TEXT_COLUMNS: [&str; 6] = [
    "name",
    "title",
    "description",
    "tags",
    "display_name",
    "email",
];

/// Backstage keeps search values up to this length and stores longer ones
/// as "exists, no value" (an API definition is not a filter value).
const MAX_SEARCH_VALUE: usize = 200;

/// The annotation Backstage puts on an entity whose source no longer has it.
pub const ORPHAN_ANNOTATION: &str = "backstage.io/orphan";

/// What can go wrong in the catalog.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A statement failed.
    #[error("catalog database error: {0}")]
    Sql(#[from] rusqlite::Error),
    /// The request is malformed; the message says how.
    #[error(transparent)]
    Query(#[from] QueryError),
    /// The thing asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// It exists already.
    #[error("{0}")]
    Conflict(String),
}

/// A registered location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    /// Its id (a UUID).
    pub id: String,
    /// `file` or `url`.
    #[serde(rename = "type")]
    pub kind: LocationType,
    /// The path or URL.
    pub target: String,
    /// Who registered it: `config`, `api`, `cli` or `plugin:<id>`.
    #[serde(skip)]
    pub origin: String,
}

/// What happens to an entity its source no longer yields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrphanStrategy {
    /// Keep it, annotated `backstage.io/orphan: "true"` (Backstage's default).
    #[default]
    Keep,
    /// Delete it.
    Delete,
}

/// What one refresh of a location changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ApplyReport {
    /// Entities new to the catalog.
    pub added: usize,
    /// Entities whose content changed.
    pub updated: usize,
    /// Entities read again unchanged.
    pub unchanged: usize,
    /// Entities no longer in their source, now orphans.
    pub orphaned: usize,
    /// Entities deleted (orphans, under the delete strategy).
    pub deleted: usize,
    /// Problems recorded.
    pub problems: Vec<SourceProblem>,
}

/// One field's facet: the field, and each value with how many entities
/// have it, most frequent first.
pub type Facet = (String, Vec<(String, u64)>);

/// One page of a query.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page {
    /// The entities, in order.
    pub items: Vec<Value>,
    /// How many match across all pages.
    pub total_items: u64,
    /// The cursor of the next page, if there is one.
    pub next_cursor: Option<String>,
    /// The cursor of the previous page, if there is one.
    pub prev_cursor: Option<String>,
}

/// One parent link in an entity's ancestry.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AncestryItem {
    /// The entity.
    pub entity: Value,
    /// The entities that produced it (empty for a registered location).
    pub parent_entity_refs: Vec<String>,
}

/// The catalog's data in the store.
#[derive(Clone)]
pub struct CatalogStore {
    db: Database,
    /// Which locations' Users and Groups count for sign-in and membership.
    rules: std::sync::Arc<crate::rules::CatalogRules>,
}

impl std::fmt::Debug for CatalogStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CatalogStore").finish_non_exhaustive()
    }
}

type Conn = r2d2::PooledConnection<r2d2_sqlite::SqliteConnectionManager>;

impl CatalogStore {
    /// The catalog in `db` (whose migrations created its tables).
    pub fn new(db: Database) -> CatalogStore {
        CatalogStore {
            db,
            rules: Default::default(),
        }
    }

    /// The same store, deciding whose Users and Groups count by `rules`
    /// (the default rules otherwise).
    pub fn with_rules(self, rules: crate::rules::CatalogRules) -> CatalogStore {
        CatalogStore {
            rules: std::sync::Arc::new(rules),
            ..self
        }
    }

    /// The rules it decides by.
    pub fn rules(&self) -> &crate::rules::CatalogRules {
        &self.rules
    }

    /// The database it is in (its audit log and policies live there too).
    pub fn database(&self) -> &Database {
        &self.db
    }

    pub(crate) fn conn(&self) -> Result<Conn, CatalogError> {
        Ok(self.db.connection()?)
    }
}
