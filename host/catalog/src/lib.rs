//! The software catalog, compatible with Backstage's.
//!
//! This crate owns the entity model (the envelope, references, relations),
//! Backstage's validation rules, ingestion from `file` and `url` locations
//! (under Backstage's catalog rules, which say what each location may
//! provide, and with URLs read under the plugins' egress rules), which
//! Users and Groups count for sign-in and membership, and the catalog's
//! tables: writes in transactions, reads as queries whose
//! every condition — including a caller's permission restriction, passed in
//! as a [`Predicate`] — is applied in SQL.
//!
//! It must never decide who may see what: callers (the broker, the REST
//! API, the portal) pass the restriction their decision produced. Nor does
//! it speak HTTP: the REST shapes live in the portal.

// The benchmark and its generator of synthetic organisations are not part
// of the production library: crates that run them (`greenroom bench`, the
// example, tests) turn on the `bench` feature.
#[cfg(feature = "bench")]
pub mod bench;
pub mod budget;
#[cfg(feature = "bench")]
pub mod generate;
mod ingest;
mod people;
mod query;
mod relations;
mod rules;
mod service;
mod store;
mod url_reader;
mod validate;
mod yaml;

pub use greenroom_model::{DEFAULT_NAMESPACE, EntityRef, RefError};
pub use ingest::{
    Ingested, LocationType, MANAGED_BY_LOCATION, MANAGED_BY_ORIGIN_LOCATION, MAX_FILE_BYTES,
    ReadOptions, Reading, SourceProblem, check_text, generated_location_name, prepare_entity,
    read_location, read_location_in_batches, read_location_with,
};
pub use people::UserProfile;
pub use query::{
    Cursor, EntityQuery, FullText, MAX_NESTING, MAX_TERM_BYTES, MAX_TERMS, MAX_TEXT_FIELDS,
    MAX_VALUES, Order, Predicate, QueryError,
};
pub use relations::Relation;
pub use rules::{
    API_ORIGIN, AllowedKinds, CatalogRule, CatalogRules, DEFAULT_ALLOWED_KINDS, LocationMatcher,
    registered_by_operator,
};
pub use service::{Catalog, CatalogConfig, RefreshSummary, project_fields};
pub use store::{
    AncestryItem, ApplyReport, CatalogError, CatalogStore, Facet, Location, ORPHAN_ANNOTATION,
    OrphanStrategy, Page, Refresh, TEXT_FIELDS,
};
pub use url_reader::{
    DEFAULT_LOCATION_BUDGET, DEFAULT_REQUEST_TIMEOUT, MAX_REDIRECTS, ReadingAllow, UrlReading,
};
pub use validate::{BUILT_IN_KINDS, Problem, is_dns_label, is_object_name, is_tag, validate};
pub use yaml::{Document, Position, YamlError, parse_documents};
