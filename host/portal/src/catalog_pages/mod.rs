//! The catalog's pages: `/catalog` (browse, filter, search, sort, page)
//! and `/catalog/{namespace}/{kind}/{name}` (one entity: its overview,
//! relations and graph, its API definition, and plugins' cards and tabs).
//!
//! URLs are Backstage's, kind lower-cased. Everything works with plain
//! links and GET forms: the portal ships no script.
//!
//! Entity data is untrusted input (YAML anyone with a repository can
//! write): every string goes through maud's escaping, and the only links
//! made from it are portal paths built here from entity references and
//! web links that pass [`crate::render::links`].
//!
//! Catalog reads are blocking SQLite work, so each page gathers what it
//! needs in one `spawn_blocking` call, then draws.

mod definition;
mod entity;
mod graph;
mod list;

use crate::error::{AppError, ErrorKind};
use crate::state::AppState;
use axum::Router;
use axum::routing::{get, post};
use greenroom_access::Identity;
use greenroom_catalog::{CatalogError, CatalogStore, DEFAULT_NAMESPACE, EntityRef, Predicate};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

/// The routes, merged at the root.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/catalog", get(list::page))
        .route("/catalog/{namespace}/{kind}/{name}", get(entity::overview))
        .route(
            "/catalog/{namespace}/{kind}/{name}/refresh",
            post(entity::refresh),
        )
        .route(
            "/catalog/{namespace}/{kind}/{name}/unregister",
            get(entity::unregister_page).post(entity::unregister),
        )
        .route(
            "/catalog/{namespace}/{kind}/{name}/{tab}",
            get(entity::builtin_tab),
        )
        .route(
            "/catalog/{namespace}/{kind}/{name}/{plugin}/{slot}",
            get(entity::plugin_tab),
        )
}

/// What `user` may see of the catalog, AND-ed into every read: RBAC's
/// decision on `catalog.entity.read` (the same the API and the broker
/// ask), so every page here follows because every read passes it.
fn restriction(state: &AppState, user: &Identity) -> Option<Predicate> {
    state.catalog_restriction(user)
}

/// Runs `read` against the catalog's store on the blocking pool; its
/// failure becomes an error page through the portal's one mapping.
async fn read<T: Send + 'static>(
    state: &AppState,
    read: impl FnOnce(&CatalogStore) -> Result<T, CatalogError> + Send + 'static,
) -> Result<T, AppError> {
    let catalog = state.catalog().clone();
    match tokio::task::spawn_blocking(move || read(catalog.store())).await {
        Ok(result) => result.map_err(|error| AppError::page(error.into())),
        Err(join) => {
            tracing::error!(error = %join, "a catalog read panicked");
            Err(AppError::page(ErrorKind::Internal(
                "the catalog could not answer; the operator's log has the details".into(),
            )))
        }
    }
}

/// Characters escaped in one path segment: all but unreserved ones.
pub(crate) const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The portal path of an entity: `/catalog/{namespace}/{kind}/{name}`,
/// kind lower-cased as Backstage writes it.
pub(crate) fn entity_path(entity_ref: &EntityRef) -> String {
    format!(
        "/catalog/{}/{}/{}",
        utf8_percent_encode(entity_ref.namespace(), SEGMENT),
        utf8_percent_encode(entity_ref.kind(), SEGMENT),
        utf8_percent_encode(entity_ref.name(), SEGMENT),
    )
}

/// A full reference as written in a relation (`kind:namespace/name`).
fn parse_ref(text: &str) -> Option<EntityRef> {
    EntityRef::parse(text, None, DEFAULT_NAMESPACE).ok()
}

/// A reference as people read it (Backstage's `humanizeEntityRef`): the
/// namespace left out when it is the default, the kind when it is the one
/// the context implies (`group` for an owner).
fn short_ref(entity_ref: &EntityRef, implied_kind: Option<&str>) -> String {
    let name = match entity_ref.namespace() {
        DEFAULT_NAMESPACE => entity_ref.name().to_owned(),
        namespace => format!("{namespace}/{}", entity_ref.name()),
    };
    match implied_kind {
        Some(kind) if kind.eq_ignore_ascii_case(entity_ref.kind()) => name,
        _ => format!("{}:{name}", entity_ref.kind()),
    }
}

/// Read access to the fields of a stored entity the pages show. Every
/// accessor tolerates a missing or mistyped field: the store validated the
/// envelope, but the pages never rely on more than that.
#[derive(Clone, Copy)]
struct Entry<'a>(&'a Value);

impl<'a> Entry<'a> {
    fn text(&self, pointer: &str) -> Option<&'a str> {
        self.0
            .pointer(pointer)
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
    }

    /// The kind as written, e.g. `Component`.
    fn kind(&self) -> &'a str {
        self.text("/kind").unwrap_or("Entity")
    }

    fn namespace(&self) -> &'a str {
        self.text("/metadata/namespace")
            .unwrap_or(DEFAULT_NAMESPACE)
    }

    fn name(&self) -> &'a str {
        self.text("/metadata/name").unwrap_or_default()
    }

    fn entity_ref(&self) -> EntityRef {
        EntityRef::new(self.kind(), self.namespace(), self.name())
    }

    fn path(&self) -> String {
        entity_path(&self.entity_ref())
    }

    /// What to call it: its title, a person's or team's display name, or
    /// its name.
    fn display_name(&self) -> &'a str {
        self.text("/metadata/title")
            .or_else(|| self.text("/spec/profile/displayName"))
            .unwrap_or_else(|| self.name())
    }

    fn description(&self) -> Option<&'a str> {
        self.text("/metadata/description")
    }

    fn spec(&self, field: &str) -> Option<&'a str> {
        self.0
            .get("spec")?
            .get(field)?
            .as_str()
            .filter(|s| !s.trim().is_empty())
    }

    fn email(&self) -> Option<&'a str> {
        self.text("/spec/profile/email")
    }

    fn tags(&self) -> Vec<&'a str> {
        strings(self.0.pointer("/metadata/tags"))
    }

    fn annotation(&self, key: &str) -> Option<&'a str> {
        self.0
            .get("metadata")?
            .get("annotations")?
            .get(key)?
            .as_str()
    }

    /// `(type, target reference)` of each relation, as stored.
    fn relations(&self) -> Vec<(&'a str, &'a str)> {
        self.0
            .get("relations")
            .and_then(Value::as_array)
            .map(|relations| {
                relations
                    .iter()
                    .filter_map(|r| Some((r.get("type")?.as_str()?, r.get("targetRef")?.as_str()?)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The targets of relations of one type.
    fn related(&self, relation: &str) -> Vec<&'a str> {
        self.relations()
            .into_iter()
            .filter(|(kind, _)| *kind == relation)
            .map(|(_, target)| target)
            .collect()
    }

    /// The owner's full reference, from the `ownedBy` relation.
    fn owner(&self) -> Option<EntityRef> {
        self.related("ownedBy").first().and_then(|r| parse_ref(r))
    }

    /// The messages of the problems its last refresh found.
    fn problems(&self) -> Vec<&'a str> {
        self.0
            .pointer("/status/items")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|item| {
                        item.pointer("/error/message")
                            .or_else(|| item.get("message"))
                            .and_then(Value::as_str)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The strings of a list (non-strings skipped).
fn strings(value: Option<&Value>) -> Vec<&str> {
    value
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
