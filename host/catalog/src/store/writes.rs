//! Writing: what a refresh of a location read, batch by batch in
//! transactions, and plugins' own entities; orphans, derived rows
//! (relations, search rows) and deletions.

use super::{
    ApplyReport, CatalogError, CatalogStore, Location, MAX_SEARCH_VALUE, ORPHAN_ANNOTATION,
    OrphanStrategy, TEXT_COLUMNS, TEXT_FIELDS,
};
use crate::ingest::{Ingested, Reading, SourceProblem};
use greenroom_store::now_ms;
use rusqlite::{OptionalExtension, Transaction, params};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};

impl CatalogStore {
    /// Stores what one refresh of `location` read (see [`Refresh`]).
    pub fn apply(
        &self,
        location: &Location,
        reading: Reading,
        orphans: OrphanStrategy,
    ) -> Result<ApplyReport, CatalogError> {
        let mut refresh = self.begin_refresh(location)?;
        refresh.apply_batch(reading)?;
        refresh.finish(orphans)
    }

    /// Starts storing a refresh of `location`, batch by batch.
    pub fn begin_refresh(&self, location: &Location) -> Result<Refresh, CatalogError> {
        let writer = Writer::new(self.conn()?)?;
        let existing = existing_entities(&writer.conn, &location.id)?;
        Ok(Refresh {
            writer,
            location: location.clone(),
            existing,
            seen: HashMap::new(),
            sources: HashSet::new(),
            unreadable: HashSet::new(),
            described: HashSet::new(),
            report: ApplyReport::default(),
        })
    }

    /// Adds or replaces entities in a plugin's location, all or none: an
    /// entity another location provides is refused, naming that location.
    pub fn provide(
        &self,
        location: &Location,
        entities: &[Ingested],
    ) -> Result<usize, CatalogError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let existing = existing_entities(&tx, &location.id)?;
        let mut derived = Derived::default();
        for ingested in entities {
            let key = ingested.entity_ref.key();
            if !existing.contains_key(&key)
                && let Some(owner) = owner_elsewhere(&tx, &key)?
            {
                return Err(CatalogError::Conflict(format!(
                    "entity {} is already provided by location {owner}",
                    ingested.entity_ref
                )));
            }
            write_entity(&tx, location, ingested, existing.get(&key), &mut derived)?;
        }
        derived.insert(&tx)?;
        tx.commit()?;
        Ok(entities.len())
    }

    /// Removes entities from a plugin's location, all or none: a reference
    /// to an entity of another location is refused.
    pub fn withdraw(&self, location: &Location, refs: &[String]) -> Result<usize, CatalogError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let existing = existing_entities(&tx, &location.id)?;
        let mut removed = 0;
        for entity_ref in refs {
            let key = entity_ref.to_lowercase();
            match existing.get(&key) {
                Some(row) => {
                    delete_entity_row(&tx, row.id)?;
                    removed += 1;
                }
                None => {
                    if let Some(owner) = owner_elsewhere(&tx, &key)? {
                        return Err(CatalogError::Conflict(format!(
                            "entity {entity_ref} belongs to location {owner}, not to this one"
                        )));
                    }
                }
            }
        }
        tx.commit()?;
        Ok(removed)
    }

    /// Deletes an entity by uid. It comes back on its location's next
    /// refresh unless its source no longer has it.
    pub fn delete_by_uid(&self, uid: &str) -> Result<(), CatalogError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let id: Option<i64> = tx
            .query_row(
                "SELECT id FROM catalog_entities WHERE uid = ?1",
                params![uid],
                |r| r.get(0),
            )
            .optional()?;
        let id =
            id.ok_or_else(|| CatalogError::NotFound(format!("Entity with uid {uid} not found")))?;
        delete_entity_row(&tx, id)?;
        tx.commit()?;
        Ok(())
    }

    /// Keeps the query planner's statistics current after a large change.
    pub fn optimize(&self) -> Result<(), CatalogError> {
        self.conn()?.execute_batch("PRAGMA optimize;")?;
        Ok(())
    }
}

/// One refresh of a location being stored, a file at a time.
///
/// Each batch (what one or more files yielded) is written in its own
/// transaction: new and changed entities written, unchanged ones left
/// alone, the files' problems replaced. [`Refresh::finish`] then orphans (or deletes) what no
/// readable source yields any more, in one more transaction. A crash at
/// any point leaves every entity whole and consistent with its relations;
/// the next refresh completes the work. An entity that now fails
/// validation keeps its last good version, with the problem shown on it.
/// It writes on one pooled connection, held until it is dropped.
pub struct Refresh {
    /// The one connection every batch of this refresh is written on.
    writer: Writer,
    location: Location,
    existing: HashMap<String, ExistingRow>,
    /// Entities written (or found unchanged) so far, and their source.
    seen: HashMap<String, String>,
    /// Every source this refresh read or tried to.
    sources: HashSet<String>,
    unreadable: HashSet<String>,
    /// Entities named by a problem: kept as they were.
    described: HashSet<String>,
    report: ApplyReport,
}

impl Refresh {
    /// Stores what one or more files yielded, in one transaction.
    pub fn apply_batch(&mut self, batch: Reading) -> Result<(), CatalogError> {
        let tx = self.writer.conn.transaction()?;
        let mut problems = batch.problems;
        let mut derived = Derived::default();
        for ingested in &batch.entities {
            let key = ingested.entity_ref.key();
            if let Some(first) = self.seen.get(&key) {
                problems.push(problem_on(
                    ingested,
                    format!(
                        "duplicate entity {}: it is also defined in {first}",
                        ingested.entity_ref
                    ),
                ));
                continue;
            }
            if !self.existing.contains_key(&key)
                && let Some(owner) = owner_elsewhere(&tx, &key)?
            {
                problems.push(problem_on(
                    ingested,
                    format!(
                        "conflicting entity {}: it is already provided by location {owner}",
                        ingested.entity_ref
                    ),
                ));
                continue;
            }
            self.seen.insert(key.clone(), ingested.source.clone());
            match write_entity(
                &tx,
                &self.location,
                ingested,
                self.existing.get(&key),
                &mut derived,
            )? {
                Written::Added => self.report.added += 1,
                Written::Updated => self.report.updated += 1,
                Written::Unchanged => self.report.unchanged += 1,
            }
        }
        derived.insert(&tx)?;
        let sources: HashSet<&str> = batch
            .entities
            .iter()
            .map(|e| e.source.as_str())
            .chain(problems.iter().map(|p| p.source.as_str()))
            .chain(batch.unreadable.iter().map(String::as_str))
            .collect();
        for source in &sources {
            tx.execute(
                "DELETE FROM catalog_errors WHERE location_id = ?1 AND source = ?2",
                params![self.location.id, source],
            )?;
            self.sources.insert((*source).to_owned());
        }
        for problem in &problems {
            insert_problem(&tx, &self.location.id, problem)?;
            if let Some(entity_ref) = &problem.entity_ref {
                self.described.insert(entity_ref.clone());
            }
        }
        tx.commit()?;
        self.writer.committed()?;
        self.unreadable.extend(batch.unreadable);
        self.report.problems.extend(problems);
        Ok(())
    }

    /// Orphans (or deletes) what no readable source yields any more, and
    /// drops problems of sources this refresh no longer reached.
    pub fn finish(mut self, orphans: OrphanStrategy) -> Result<ApplyReport, CatalogError> {
        let tx = self.writer.conn.transaction()?;
        for (key, row) in &self.existing {
            if self.seen.contains_key(key)
                || row.orphan
                || self.unreadable.contains(&row.source)
                || self.described.contains(key)
            {
                continue;
            }
            match orphans {
                OrphanStrategy::Keep => {
                    orphan(&tx, row)?;
                    self.report.orphaned += 1;
                }
                OrphanStrategy::Delete => {
                    delete_entity_row(&tx, row.id)?;
                    self.report.deleted += 1;
                }
            }
        }
        let stale: Vec<String> = {
            let mut statement =
                tx.prepare("SELECT DISTINCT source FROM catalog_errors WHERE location_id = ?1")?;
            let rows = statement.query_map(params![self.location.id], |r| r.get::<_, String>(0))?;
            rows.filter_map(Result::ok)
                .filter(|source| !self.sources.contains(source))
                .collect()
        };
        for source in stale {
            tx.execute(
                "DELETE FROM catalog_errors WHERE location_id = ?1 AND source = ?2",
                params![self.location.id, source],
            )?;
        }
        tx.commit()?;
        self.writer.checkpoint()?;
        Ok(self.report)
    }
}

/// Batches of a refresh between two WAL checkpoints. SQLite's automatic
/// checkpoint runs inside the commit that takes the log past 1 000 pages,
/// so with it every batch paid for copying its pages into the database
/// file; and every batch rewrites most leaf pages of the relation and
/// search indexes (their rows land all over them), so checkpointing after
/// several batches copies each such page once instead of once per batch
/// (ingesting 100 000 entities: 42.5 s → 36.3 s of CPU, 2 GiB less read
/// and written). Raising this bounds the log at more batches' worth of
/// pages (a few hundred MiB at 100 000 entities) and widens what an OS
/// crash (not a process crash) can lose, which the next refresh re-reads.
const BATCHES_PER_CHECKPOINT: u32 = 4;

/// The connection a refresh writes on, set up for long runs of large
/// transactions and put back as the pool hands it out when dropped.
struct Writer {
    conn: super::Conn,
    /// Batches committed since the last checkpoint.
    uncheckpointed: u32,
}

impl Writer {
    fn new(conn: super::Conn) -> Result<Writer, CatalogError> {
        // A multi-row INSERT (the search rows, 16 to a statement) may fail
        // halfway on a constraint, so SQLite keeps a statement journal of
        // every page it touches, spilled to a temporary file beyond
        // 64 KiB: 8 GiB of writes while ingesting 100 000 entities. In
        // memory it is one statement's pages at most.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        // Checkpoints are taken by `committed`, between batches.
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        Ok(Writer {
            conn,
            uncheckpointed: 0,
        })
    }

    /// Counts a committed batch, checkpointing every few.
    fn committed(&mut self) -> Result<(), CatalogError> {
        self.uncheckpointed += 1;
        if self.uncheckpointed >= BATCHES_PER_CHECKPOINT {
            self.checkpoint()?;
        }
        Ok(())
    }

    /// Copies the log into the database file as far as readers allow, as
    /// the automatic checkpoint does (PASSIVE: it never waits for them).
    fn checkpoint(&mut self) -> Result<(), CatalogError> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        self.uncheckpointed = 0;
        Ok(())
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // SQLite's defaults, which the pool's other connections keep: a
        // connection going back without its automatic checkpoint would let
        // the log grow for as long as it is the one writing.
        let restored = self
            .conn
            .pragma_update(None, "wal_autocheckpoint", DEFAULT_WAL_AUTOCHECKPOINT)
            .and_then(|()| self.conn.pragma_update(None, "temp_store", "DEFAULT"));
        if let Err(error) = restored {
            tracing::error!(%error, "could not restore a catalog writer connection's settings");
        }
    }
}

/// SQLite's automatic checkpoint threshold in pages, which the store keeps.
const DEFAULT_WAL_AUTOCHECKPOINT: i64 = 1000;

fn insert_problem(
    tx: &Transaction<'_>,
    location_id: &str,
    problem: &SourceProblem,
) -> Result<(), CatalogError> {
    tx.execute(
        "INSERT INTO catalog_errors (location_id, parent_ref, source, line, col, entity_ref, message) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            location_id,
            problem.parent_ref,
            problem.source,
            problem.position.map(|p| p.line as i64),
            problem.position.map(|p| p.column as i64),
            problem.entity_ref,
            problem.message
        ],
    )?;
    Ok(())
}

struct ExistingRow {
    id: i64,
    uid: String,
    etag: String,
    generation: i64,
    source: String,
    parent_ref: Option<String>,
    orphan: bool,
}

fn existing_entities(
    tx: &rusqlite::Connection,
    location_id: &str,
) -> Result<HashMap<String, ExistingRow>, CatalogError> {
    let mut statement = tx.prepare(
        "SELECT entity_ref, id, uid, etag, generation, source, parent_ref, orphan FROM catalog_entities WHERE location_id = ?1",
    )?;
    let rows = statement.query_map(params![location_id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            ExistingRow {
                id: r.get(1)?,
                uid: r.get(2)?,
                etag: r.get(3)?,
                generation: r.get(4)?,
                source: r.get(5)?,
                parent_ref: r.get(6)?,
                orphan: r.get(7)?,
            },
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn owner_elsewhere(tx: &Transaction<'_>, key: &str) -> Result<Option<String>, CatalogError> {
    Ok(tx
        .query_row(
            "SELECT l.type || ':' || l.target FROM catalog_entities e JOIN catalog_locations l ON l.id = e.location_id WHERE e.entity_ref = ?1",
            params![key],
            |r| r.get(0),
        )
        .optional()?)
}

fn problem_on(ingested: &Ingested, message: String) -> SourceProblem {
    SourceProblem {
        source: ingested.source.clone(),
        parent_ref: ingested.parent_ref.clone(),
        position: None,
        entity_ref: None,
        message,
    }
}

enum Written {
    Added,
    Updated,
    Unchanged,
}

/// The content hash of an entity as read, before the catalog's own fields.
fn content_etag(entity: &Value) -> String {
    let bytes = serde_json::to_vec(entity).expect("a JSON value serialises");
    hex::encode(&Sha256::digest(&bytes)[..16])
}

fn write_entity(
    tx: &Transaction<'_>,
    location: &Location,
    ingested: &Ingested,
    existing: Option<&ExistingRow>,
    derived: &mut Derived,
) -> Result<Written, CatalogError> {
    let etag = content_etag(&ingested.entity);
    if let Some(row) = existing
        && row.etag == etag
        && !row.orphan
        && row.source == ingested.source
        && row.parent_ref.as_deref() == Some(ingested.parent_ref.as_str())
    {
        return Ok(Written::Unchanged);
    }
    let (uid, generation) = match existing {
        Some(row) => {
            let old = stored_body(tx, row.id)?;
            let spec_changed = old.get("spec") != ingested.entity.get("spec");
            (row.uid.clone(), row.generation + i64::from(spec_changed))
        }
        None => (uuid::Uuid::new_v4().to_string(), 1),
    };
    let mut body = ingested.entity.clone();
    body.as_object_mut()
        .expect("validated: an entity is a mapping")
        .remove("relations");
    body.as_object_mut().expect("mapping").remove("status");
    let metadata = body["metadata"]
        .as_object_mut()
        .expect("validated: metadata is a mapping");
    metadata.insert("uid".into(), json!(uid));
    metadata.insert("etag".into(), json!(etag));
    metadata.insert("generation".into(), json!(generation));
    let entity_ref = &ingested.entity_ref;
    let key = entity_ref.key();
    let body_text = body.to_string();
    let now = now_ms();
    let spec_type = match &body["spec"]["type"] {
        Value::Null => None,
        Value::String(s) => Some(s.to_lowercase()),
        other => Some(other.to_string().to_lowercase()),
    };
    let id = match existing {
        Some(row) => {
            tx.prepare_cached(
                "UPDATE catalog_entities SET source = ?2, parent_ref = ?3, orphan = 0, generation = ?4, etag = ?5, updated_ms = ?6, spec_type = ?7 WHERE id = ?1",
            )?
            .execute(params![row.id, ingested.source, ingested.parent_ref, generation, etag, now, spec_type])?;
            tx.prepare_cached("UPDATE catalog_bodies SET body = ?2 WHERE entity_id = ?1")?
                .execute(params![row.id, body_text])?;
            clear_derived(tx, row.id)?;
            row.id
        }
        None => {
            tx.prepare_cached(
                "INSERT INTO catalog_entities (uid, entity_ref, kind, namespace, name, location_id, source, parent_ref, orphan, generation, etag, updated_ms, spec_type) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9, ?10, ?11, ?12)",
            )?
            .execute(params![
                    uid,
                    key,
                    entity_ref.kind(),
                    entity_ref.namespace(),
                    entity_ref.name().to_lowercase(),
                    location.id,
                    ingested.source,
                    ingested.parent_ref,
                    generation,
                    etag,
                    now,
                    spec_type
                ])?;
            let id = tx.last_insert_rowid();
            tx.prepare_cached("INSERT INTO catalog_bodies (entity_id, body) VALUES (?1, ?2)")?
                .execute(params![id, body_text])?;
            id
        }
    };
    derived.add(id, &body, &ingested.relations);
    Ok(if existing.is_some() {
        Written::Updated
    } else {
        Written::Added
    })
}

fn stored_body(tx: &Transaction<'_>, id: i64) -> Result<Value, CatalogError> {
    let body: String = tx.query_row(
        "SELECT body FROM catalog_bodies WHERE entity_id = ?1",
        params![id],
        |r| r.get(0),
    )?;
    Ok(serde_json::from_str(&body).unwrap_or_else(|_| json!({})))
}

fn orphan(tx: &Transaction<'_>, row: &ExistingRow) -> Result<(), CatalogError> {
    let mut body = stored_body(tx, row.id)?;
    if let Some(metadata) = body.get_mut("metadata").and_then(Value::as_object_mut) {
        let annotations = metadata.entry("annotations").or_insert_with(|| json!({}));
        annotations[ORPHAN_ANNOTATION] = json!("true");
    }
    tx.execute(
        "UPDATE catalog_entities SET orphan = 1, updated_ms = ?2 WHERE id = ?1",
        params![row.id, now_ms()],
    )?;
    tx.execute(
        "UPDATE catalog_bodies SET body = ?2 WHERE entity_id = ?1",
        params![row.id, body.to_string()],
    )?;
    // An orphan keeps its search rows (so it can still be found and
    // cleaned up), but it no longer produces relations: its source no
    // longer says them.
    tx.execute(
        "DELETE FROM catalog_relations WHERE producer_id = ?1",
        params![row.id],
    )?;
    tx.execute(
        "INSERT INTO catalog_search (entity_id, key, value, original_value) VALUES (?1, ?2, 'true', 'true')",
        params![row.id, format!("metadata.annotations.{ORPHAN_ANNOTATION}")],
    )?;
    Ok(())
}

fn delete_entity_row(tx: &Transaction<'_>, id: i64) -> Result<(), CatalogError> {
    tx.execute("DELETE FROM catalog_text WHERE rowid = ?1", params![id])?;
    tx.execute("DELETE FROM catalog_entities WHERE id = ?1", params![id])?;
    Ok(())
}

fn clear_derived(tx: &Transaction<'_>, id: i64) -> Result<(), CatalogError> {
    for sql in [
        "DELETE FROM catalog_search WHERE entity_id = ?1",
        "DELETE FROM catalog_text WHERE rowid = ?1",
        "DELETE FROM catalog_relations WHERE producer_id = ?1",
    ] {
        tx.prepare_cached(sql)?.execute(params![id])?;
    }
    Ok(())
}

/// The rows derived from entities written in one transaction, inserted
/// together at its end, sorted in each index's order: consecutive inserts
/// then land on the same index pages. (At 100 000 entities the search
/// index outgrows the page cache, and inserting rows in entity order made
/// nearly every insert a page read.)
#[derive(Default)]
struct Derived {
    /// (key, lower-cased value, entity id, value as written)
    search: Vec<(String, Option<String>, i64, Option<String>)>,
    /// (entity id, one text per full-text column)
    text: Vec<(i64, [String; TEXT_FIELDS.len()])>,
    /// (source ref, type, target ref, producer id)
    relations: Vec<(String, &'static str, String, i64)>,
}

impl Derived {
    fn add(&mut self, id: i64, body: &Value, relations: &[crate::relations::Relation]) {
        let mut rows = Vec::new();
        flatten(body, String::new(), &mut rows);
        let mut written = HashSet::new();
        // The etag and generation change on every edit and no one filters
        // by them; indexing them would only cost writes.
        rows.retain(|(key, _)| key != "metadata.etag" && key != "metadata.generation");
        rows.retain(|row| written.insert(row.clone()));

        let mut columns: [String; TEXT_FIELDS.len()] = Default::default();
        for (key, value) in &rows {
            if let (Some(i), Some(value)) = (TEXT_FIELDS.iter().position(|f| f == key), value) {
                if !columns[i].is_empty() {
                    columns[i].push(' ');
                }
                columns[i].push_str(&value.to_lowercase());
            }
        }
        if columns.iter().any(|c| !c.is_empty()) {
            self.text.push((id, columns));
        }
        for (key, value) in rows {
            let value = value.filter(|v| v.len() <= MAX_SEARCH_VALUE);
            self.search
                .push((key, value.as_ref().map(|v| v.to_lowercase()), id, value));
        }
        let mut written = HashSet::new();
        for r in relations {
            let row = (r.source.key(), r.kind, r.target.to_string(), id);
            if written.insert(row.clone()) {
                self.relations.push(row);
            }
        }
    }

    fn insert(mut self, tx: &Transaction<'_>) -> Result<(), CatalogError> {
        self.search.sort_unstable();
        let mut chunks = self.search.chunks_exact(SEARCH_ROWS_PER_INSERT);
        for chunk in &mut chunks {
            insert_search_rows(tx, chunk)?;
        }
        for row in chunks.remainder() {
            insert_search_rows(tx, std::slice::from_ref(row))?;
        }
        let mut text = tx.prepare_cached(&format!(
            "INSERT INTO catalog_text (rowid, {}) VALUES (?1{})",
            TEXT_COLUMNS.join(", "),
            (2..=TEXT_FIELDS.len() + 1)
                .map(|i| format!(", ?{i}"))
                .collect::<String>()
        ))?;
        for (id, columns) in &self.text {
            text.execute(rusqlite::params_from_iter(
                std::iter::once(id as &dyn rusqlite::ToSql)
                    .chain(columns.iter().map(|c| c as &dyn rusqlite::ToSql)),
            ))?;
        }
        self.relations.sort_unstable();
        let mut relation = tx.prepare_cached(
            "INSERT INTO catalog_relations (source_ref, type, target_ref, producer_id, target_key) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for (source, kind, target, id) in &self.relations {
            relation.execute(params![source, kind, target, id, target.to_lowercase()])?;
        }
        Ok(())
    }
}

/// Search rows written by one INSERT statement: far fewer statement
/// executions than a row at a time.
const SEARCH_ROWS_PER_INSERT: usize = 16;

fn insert_search_rows(
    tx: &Transaction<'_>,
    rows: &[(String, Option<String>, i64, Option<String>)],
) -> Result<(), CatalogError> {
    let tuples = vec!["(?, ?, ?, ?)"; rows.len()].join(", ");
    let mut statement = tx.prepare_cached(&format!(
        "INSERT INTO catalog_search (key, value, entity_id, original_value) VALUES {tuples}"
    ))?;
    let mut params: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(rows.len() * 4);
    for (key, value, id, original) in rows {
        params.extend([key as &dyn rusqlite::ToSql, value, id, original]);
    }
    statement.execute(params.as_slice())?;
    Ok(())
}

/// Every leaf of an entity as (lower-cased dotted key, value as written),
/// as Backstage's `buildEntitySearch`: arrays repeat their key.
fn flatten(value: &Value, prefix: String, out: &mut Vec<(String, Option<String>)>) {
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                if prefix.is_empty() && matches!(key.as_str(), "relations" | "status") {
                    continue;
                }
                let key = key.to_lowercase();
                let path = if prefix.is_empty() {
                    key
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(item, path, out);
            }
        }
        Value::Array(items) => {
            for item in items {
                flatten(item, prefix.clone(), out);
            }
        }
        Value::Null => out.push((prefix, None)),
        Value::String(s) => out.push((prefix, Some(s.clone()))),
        other => out.push((prefix, Some(other.to_string()))),
    }
}
