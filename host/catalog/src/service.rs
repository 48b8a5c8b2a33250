//! The catalog as the rest of the host uses it: register and remove
//! locations, refresh them (once, or in a loop), and read through the store.

use crate::ingest::{self, LocationType, ReadOptions};
use crate::rules::CatalogRules;
use crate::store::{ApplyReport, CatalogError, CatalogStore, Location, OrphanStrategy};
use crate::url_reader::UrlReading;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How soon a failed refresh is tried again.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(5);

/// Files read ahead of the one being written during a refresh.
const READ_AHEAD_FILES: usize = 4;

/// Files already read are merged into one transaction up to this many
/// entities: enough that sorting their index rows gives inserts locality,
/// few enough that a transaction stays well under a second.
const ENTITIES_PER_TRANSACTION: usize = 5000;

/// Locations read at the same time by one refresh of every location. A
/// location waiting on a slow URL holds one reader (for at most its time
/// budget) while the others go on; writes still go one batch at a time.
/// More readers would only compete for the same cores and the one SQLite
/// writer.
const REFRESH_READERS: usize = 4;

/// How the catalog refreshes.
#[derive(Debug, Clone)]
pub struct CatalogConfig {
    /// Time between the starts of two refreshes of every location.
    pub refresh_interval: Duration,
    /// What happens to entities their source no longer yields.
    pub orphans: OrphanStrategy,
    /// Which kinds each location may provide, and whose Users and Groups
    /// count for sign-in and membership.
    pub rules: CatalogRules,
    /// How URLs named in catalog files are read.
    pub urls: UrlReading,
}

impl Default for CatalogConfig {
    fn default() -> CatalogConfig {
        CatalogConfig {
            // Backstage's default processing interval is 100–150 s; files
            // on disk are cheap to re-read, so refresh sooner.
            refresh_interval: Duration::from_secs(60),
            orphans: OrphanStrategy::Keep,
            rules: CatalogRules::default(),
            urls: UrlReading::default(),
        }
    }
}

/// What one refresh of every location did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RefreshSummary {
    /// Locations read.
    pub locations: usize,
    /// Totals over them.
    pub added: usize,
    /// Changed entities.
    pub updated: usize,
    /// Entities orphaned.
    pub orphaned: usize,
    /// Problems found.
    pub problems: usize,
    /// How long it took.
    #[serde(with = "humantime_serde_ms")]
    pub took: Duration,
}

mod humantime_serde_ms {
    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }
}

/// The catalog service.
#[derive(Clone)]
pub struct Catalog {
    store: CatalogStore,
    config: CatalogConfig,
    /// One batch is written at a time: SQLite has one writer.
    writing: Arc<Mutex<()>>,
    /// One refresh of a location at a time: two must not interleave their
    /// reads of what is stored. Other locations refresh meanwhile.
    refreshing: Arc<Mutex<HashMap<String, Arc<Mutex<()>>>>>,
}

impl Catalog {
    /// The catalog over `store`.
    pub fn new(store: CatalogStore, config: CatalogConfig) -> Catalog {
        Catalog {
            store: store.with_rules(config.rules.clone()),
            config,
            writing: Arc::new(Mutex::new(())),
            refreshing: Arc::default(),
        }
    }

    /// What reading `location` may do: the kinds its rules allow, the URLs
    /// the operator allows.
    pub fn read_options(&self, location: &Location) -> ReadOptions {
        ReadOptions {
            kinds: self.config.rules.allowed_kinds(location),
            urls: self.config.urls.clone(),
        }
    }

    fn write_lock(&self) -> MutexGuard<'_, ()> {
        self.writing.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn location_lock(&self, id: &str) -> Arc<Mutex<()>> {
        let mut locks = self.refreshing.lock().unwrap_or_else(|p| p.into_inner());
        locks.entry(id.to_owned()).or_default().clone()
    }

    /// Its tables, for reads.
    pub fn store(&self) -> &CatalogStore {
        &self.store
    }

    /// Its configuration.
    pub fn config(&self) -> &CatalogConfig {
        &self.config
    }

    /// A location target as stored: file paths made absolute, so the
    /// location means the same wherever the host is started from.
    pub fn normalise_target(kind: LocationType, target: &str) -> Result<String, CatalogError> {
        match kind {
            LocationType::Url => url::Url::parse(target).map(|u| u.to_string()).map_err(|e| {
                CatalogError::Query(crate::QueryError(format!("\"{target}\" is not a URL: {e}")))
            }),
            LocationType::Plugin => Ok(target.to_owned()),
            LocationType::File => {
                let target = target.strip_prefix("file:").unwrap_or(target);
                let path = Path::new(target);
                let absolute = if path.is_absolute() {
                    path.to_owned()
                } else {
                    std::env::current_dir()
                        .map_err(|e| {
                            CatalogError::Query(crate::QueryError(format!(
                                "cannot resolve {target}: {e}"
                            )))
                        })?
                        .join(path)
                };
                Ok(clean(&absolute))
            }
        }
    }

    /// Registers a location and reads it at once, so its entities are in
    /// the catalog when this returns. An existing location with the same
    /// target is returned as it is when `exists_ok`, refused otherwise.
    pub fn add_location(
        &self,
        kind: LocationType,
        target: &str,
        origin: &str,
        exists_ok: bool,
    ) -> Result<(Location, ApplyReport), CatalogError> {
        let target = Catalog::normalise_target(kind, target)?;
        let location = match self.store.add_location(kind, &target, origin) {
            Ok(location) => location,
            Err(CatalogError::Conflict(_)) if exists_ok => self
                .store
                .location_by_target(kind, &target)?
                .ok_or_else(|| CatalogError::NotFound(format!("location {kind}:{target}")))?,
            Err(error) => return Err(error),
        };
        let report = self.refresh_location(&location)?;
        Ok((location, report))
    }

    /// Reads a location without storing anything: what its refresh would
    /// store if it is registered, else what it would add if `origin`
    /// (`api`, `cli`) registered it (the catalog rules depend on who did).
    pub fn analyze(
        &self,
        kind: LocationType,
        target: &str,
        origin: &str,
    ) -> Result<ingest::Reading, CatalogError> {
        let target = Catalog::normalise_target(kind, target)?;
        let location = match self.store.location_by_target(kind, &target)? {
            Some(registered) => registered,
            None => Location {
                id: String::new(),
                kind,
                target: target.clone(),
                origin: origin.to_owned(),
            },
        };
        Ok(ingest::read_location_with(
            kind,
            &target,
            &self.read_options(&location),
        ))
    }

    /// Reads one location again and stores what changed.
    pub fn refresh_location(&self, location: &Location) -> Result<ApplyReport, CatalogError> {
        if location.kind == LocationType::Plugin {
            // Its plugin writes it; there is nothing to read.
            return Ok(ApplyReport::default());
        }
        let this_location = self.location_lock(&location.id);
        let _refreshing = this_location.lock().unwrap_or_else(|p| p.into_inner());
        let options = self.read_options(location);
        let mut refresh = {
            let _writing = self.write_lock();
            self.store.begin_refresh(location)?
        };
        // Reading (YAML, validation, relations) and writing (SQLite) take
        // about the same CPU; on their own threads they overlap. The
        // channel holds a few files, so memory stays bounded.
        let (batches, received) = std::sync::mpsc::sync_channel(READ_AHEAD_FILES);
        std::thread::scope(|scope| {
            // Owned here, so that returning early (a write failed) drops
            // it: the reader's next send fails and it stops, instead of
            // waiting forever on a full channel while the scope waits for
            // it.
            let received = received;
            let options = &options;
            scope.spawn(move || {
                ingest::read_location_in_batches(
                    location.kind,
                    &location.target,
                    options,
                    &mut |batch| {
                        // The writer stopped on an error: stop reading too.
                        let _ = batches.send(batch);
                    },
                );
            });
            // Files already read are written together, up to a few
            // thousand entities per transaction: real catalogs are many
            // small files, and a transaction per file would pay a commit
            // and scattered index inserts for each. What was committed
            // stays; nothing is orphaned on a refresh that did not finish.
            // Dropping the receiver on an error stops the reader.
            while let Ok(mut batch) = received.recv() {
                while batch.entities.len() < ENTITIES_PER_TRANSACTION
                    && let Ok(more) = received.try_recv()
                {
                    batch.merge(more);
                }
                let _writing = self.write_lock();
                refresh.apply_batch(batch)?;
            }
            Ok::<(), CatalogError>(())
        })?;
        let _writing = self.write_lock();
        refresh.finish(self.config.orphans)
    }

    /// Refreshes the location an entity came from.
    pub fn refresh_entity(&self, entity_ref: &str) -> Result<ApplyReport, CatalogError> {
        let location = self
            .store
            .location_of(entity_ref)?
            .ok_or_else(|| CatalogError::NotFound(format!("No entity named {entity_ref}")))?;
        self.refresh_location(&location)
    }

    /// Refreshes every location, a few side by side so that one slow
    /// location does not hold the others; a location that fails is logged
    /// and the others go on.
    pub fn refresh_all(&self) -> Result<RefreshSummary, CatalogError> {
        let started = Instant::now();
        let pending = Mutex::new(self.store.locations()?.into_iter());
        let summary = Mutex::new(RefreshSummary::default());
        let next = || pending.lock().unwrap_or_else(|p| p.into_inner()).next();
        std::thread::scope(|scope| {
            for _ in 0..REFRESH_READERS {
                scope.spawn(|| {
                    while let Some(location) = next() {
                        let report = match self.refresh_location(&location) {
                            Ok(report) => report,
                            Err(error) => {
                                tracing::error!(location = %location.target, %error, "catalog refresh failed");
                                continue;
                            }
                        };
                        let mut summary = summary.lock().unwrap_or_else(|p| p.into_inner());
                        summary.locations += 1;
                        summary.added += report.added;
                        summary.updated += report.updated;
                        summary.orphaned += report.orphaned;
                        summary.problems += report.problems.len();
                    }
                });
            }
        });
        let mut summary = summary.into_inner().unwrap_or_else(|p| p.into_inner());
        if summary.added + summary.updated > 0 {
            self.store.optimize()?;
        }
        summary.took = started.elapsed();
        Ok(summary)
    }

    /// Refreshes every location now and then every `refresh_interval`, on
    /// a thread of its own (ingestion is blocking file and SQLite work),
    /// until the process ends. The portal serves meanwhile: a large catalog
    /// fills in while pages already answer.
    pub fn spawn_refresh_loop(&self) -> std::thread::JoinHandle<()> {
        let catalog = self.clone();
        std::thread::Builder::new()
            .name("catalog-refresh".into())
            .spawn(move || {
                loop {
                    // A failed refresh (a busy database, a read error) is
                    // tried again soon rather than a whole interval later.
                    let mut wait = catalog.config.refresh_interval;
                    match catalog.refresh_all() {
                        Ok(summary) => tracing::info!(
                            locations = summary.locations,
                            added = summary.added,
                            updated = summary.updated,
                            orphaned = summary.orphaned,
                            problems = summary.problems,
                            took_ms = summary.took.as_millis() as u64,
                            "catalog refreshed"
                        ),
                        Err(error) => {
                            tracing::error!(%error, "catalog refresh failed; trying again in a few seconds");
                            wait = wait.min(RETRY_AFTER_FAILURE);
                        }
                    }
                    std::thread::sleep(wait);
                }
            })
            .expect("the OS starts a thread")
    }

    /// Removes a location and its entities.
    pub fn remove_location(&self, id: &str) -> Result<(), CatalogError> {
        let _writing = self.write_lock();
        self.store.remove_location(id)
    }
}

/// `path` with `.` and `..` resolved lexically.
fn clean(path: &Path) -> String {
    let mut out = std::path::PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out.to_string_lossy().into_owned()
}

/// Only the dotted `fields` of an entity, as Backstage's `fields`
/// parameter: `metadata.name,kind` keeps `{kind, metadata: {name}}`.
pub fn project_fields(entity: &Value, fields: &[String]) -> Value {
    if fields.is_empty() {
        return entity.clone();
    }
    let mut out = Value::Object(Map::new());
    for field in fields {
        let Some((path, value)) = field_path(entity, field) else {
            continue;
        };
        let Some((last, parents)) = path.split_last() else {
            continue;
        };
        let mut target = &mut out;
        for key in parents {
            target = target
                .as_object_mut()
                .expect("projection builds objects")
                .entry(key.clone())
                .or_insert_with(|| Value::Object(Map::new()));
        }
        if let Some(map) = target.as_object_mut() {
            map.insert(last.clone(), value.clone());
        }
    }
    out
}

/// The keys leading to the dotted `field` of `entity`, and the value there.
/// A key may itself hold dots (`metadata.annotations.backstage.io/techdocs-ref`):
/// as in Backstage, a part that is not a key is joined to the next one.
fn field_path<'a>(entity: &'a Value, field: &str) -> Option<(Vec<String>, &'a Value)> {
    let mut path = Vec::new();
    let mut value = entity;
    let mut pending = String::new();
    for part in field.split('.') {
        pending.push_str(part);
        match value.get(pending.as_str()) {
            Some(next) => {
                value = next;
                path.push(std::mem::take(&mut pending));
            }
            None => pending.push('.'),
        }
    }
    pending.is_empty().then_some((path, value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn projects_dotted_fields() {
        let entity = json!({"kind": "Component", "metadata": {"name": "a", "tags": ["x"]}, "spec": {"type": "service"}});
        let fields = vec![
            "metadata.name".to_owned(),
            "kind".to_owned(),
            "spec.missing".to_owned(),
        ];
        assert_eq!(
            project_fields(&entity, &fields),
            json!({"kind": "Component", "metadata": {"name": "a"}})
        );
    }

    #[test]
    fn projects_annotations_whose_keys_hold_dots() {
        let entity =
            json!({"metadata": {"annotations": {"backstage.io/techdocs-ref": "dir:.", "x": "y"}}});
        let fields = vec!["metadata.annotations.backstage.io/techdocs-ref".to_owned()];
        assert_eq!(
            project_fields(&entity, &fields),
            json!({"metadata": {"annotations": {"backstage.io/techdocs-ref": "dir:."}}})
        );
    }
}
