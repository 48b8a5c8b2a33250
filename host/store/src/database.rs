//! Opening the database and migrating its schema.

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The schema, one numbered file per step. A step is applied once, in its
/// own transaction, and recorded in `PRAGMA user_version`; released steps
/// are never edited, only added to.
const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_plugin_storage",
        include_str!("../migrations/0001_plugin_storage.sql"),
    ),
    (
        "0002_audit_log",
        include_str!("../migrations/0002_audit_log.sql"),
    ),
    (
        "0003_catalog",
        include_str!("../migrations/0003_catalog.sql"),
    ),
    (
        "0004_installed_plugins",
        include_str!("../migrations/0004_installed_plugins.sql"),
    ),
    (
        "0005_licences",
        include_str!("../migrations/0005_licences.sql"),
    ),
    ("0006_rbac", include_str!("../migrations/0006_rbac.sql")),
    (
        "0007_sessions",
        include_str!("../migrations/0007_sessions.sql"),
    ),
    (
        "0008_suspended_plugins_and_audit_filters",
        include_str!("../migrations/0008_suspended_plugins_and_audit_filters.sql"),
    ),
];

/// Connections kept open. SQLite in WAL mode serves readers concurrently
/// and one writer at a time; more connections than worker threads only
/// cost memory.
const POOL_SIZE: u32 = 8;

/// The most page cache one connection keeps, in KiB (see `configure`).
const CACHE_KIB: i64 = 32 * 1024;

/// How long a write waits for another writer before failing with "database
/// is locked". Writes are single statements or short transactions, so a
/// wait this long means something is wrong.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// What can go wrong with the database itself.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database file could not be opened or set up.
    #[error("cannot open the database {}: {error}", path.display())]
    Open {
        /// The database file.
        path: PathBuf,
        /// Why.
        error: rusqlite::Error,
    },
    /// A migration failed; the schema is left at the previous step.
    #[error("database migration {name} failed: {error}")]
    Migration {
        /// The migration's file name.
        name: &'static str,
        /// Why.
        error: rusqlite::Error,
    },
    /// The file was written by a newer Greenroom.
    #[error(
        "the database is at schema version {found}, newer than this Greenroom knows ({known}); \
         upgrade Greenroom or use another data directory"
    )]
    TooNew {
        /// The file's schema version.
        found: usize,
        /// The newest this binary knows.
        known: usize,
    },
    /// No connection could be had from the pool.
    #[error("no database connection available: {0}")]
    Pool(r2d2::Error),
    /// A query failed.
    #[error("database error: {0}")]
    Sqlite(rusqlite::Error),
}

// Written out rather than `#[from]`, which would also make the wrapped
// error the `source` and print it twice in an error chain.
impl From<r2d2::Error> for StoreError {
    fn from(error: r2d2::Error) -> StoreError {
        StoreError::Pool(error)
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> StoreError {
        StoreError::Sqlite(error)
    }
}

/// The data directory's database: a pool of connections to one SQLite file.
#[derive(Clone)]
pub struct Database {
    pool: r2d2::Pool<SqliteConnectionManager>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("connections", &self.pool.state().connections)
            .finish()
    }
}

impl Database {
    /// Opens (creating if needed) the database at `path` and migrates it to
    /// the current schema.
    pub fn open(path: &Path) -> Result<Database, StoreError> {
        let open_error = |error| StoreError::Open {
            path: path.to_owned(),
            error,
        };
        let mut first = Connection::open(path).map_err(open_error)?;
        configure(&mut first).map_err(open_error)?;
        migrate(&mut first)?;
        drop(first);

        let manager = SqliteConnectionManager::file(path).with_init(configure);
        let pool = r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(1))
            .build(manager)?;
        Ok(Database { pool })
    }

    /// A pooled connection. Hold it briefly: the pool is small.
    pub fn connection(
        &self,
    ) -> Result<r2d2::PooledConnection<SqliteConnectionManager>, StoreError> {
        Ok(self.pool.get()?)
    }

    /// The schema version the file is at.
    pub fn schema_version(&self) -> Result<usize, StoreError> {
        let conn = self.connection()?;
        Ok(conn.pragma_query_value(None, "user_version", |row| row.get::<_, i64>(0))? as usize)
    }

    /// The newest schema version this binary knows.
    pub fn latest_schema_version() -> usize {
        MIGRATIONS.len()
    }
}

fn configure(conn: &mut Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Every transaction here writes, so it takes the write lock when it
    // begins (BEGIN IMMEDIATE): a deferred one that reads first and then
    // writes cannot wait for another writer — SQLite fails it at once with
    // "database is locked", whatever the busy timeout (seen as a 500 for a
    // location registered while a plugin's task wrote its storage).
    conn.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
    // WAL: readers never block the writer. synchronous=NORMAL in WAL mode
    // keeps every committed transaction across a process crash (kill -9);
    // only an OS crash or power loss can lose the last few, and FULL would
    // cost an fsync per commit on every plugin storage write.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // SQLite's default page cache is 2 MiB; the catalog's indexes at
    // 100 000 entities are a few hundred MiB, and with 2 MiB nearly every
    // index insert during ingestion read a page back from the OS (a third
    // of ingestion time in the profile). The cache grows only as used, so
    // readers that touch little stay small.
    conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
    // rusqlite keeps 16 prepared statements per connection by default; a
    // catalog refresh cycles through about twenty, and re-parsing SQL
    // showed in its profile.
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let current =
        conn.pragma_query_value(None, "user_version", |row| row.get::<_, i64>(0))? as usize;
    if current > MIGRATIONS.len() {
        return Err(StoreError::TooNew {
            found: current,
            known: MIGRATIONS.len(),
        });
    }
    for (step, (name, sql)) in MIGRATIONS.iter().enumerate().skip(current) {
        let fail = |error| StoreError::Migration { name, error };
        let tx = conn.transaction().map_err(fail)?;
        tx.execute_batch(sql).map_err(fail)?;
        tx.pragma_update(None, "user_version", (step + 1) as i64)
            .map_err(fail)?;
        tx.commit().map_err(fail)?;
        tracing::info!(migration = name, "applied database migration");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_the_schema_once_and_reopens_without_migrating_again() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("greenroom.db");
        let db = Database::open(&path).expect("opens");
        assert_eq!(
            db.schema_version().expect("version"),
            Database::latest_schema_version()
        );
        drop(db);
        let db = Database::open(&path).expect("reopens");
        assert_eq!(
            db.schema_version().expect("version"),
            Database::latest_schema_version()
        );
    }

    #[test]
    fn refuses_a_database_from_a_newer_greenroom() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("greenroom.db");
        let conn = Connection::open(&path).expect("opens");
        conn.pragma_update(None, "user_version", 999)
            .expect("sets version");
        drop(conn);
        let err = Database::open(&path).unwrap_err();
        assert!(
            matches!(err, StoreError::TooNew { found: 999, .. }),
            "{err}"
        );
    }

    #[test]
    fn uses_write_ahead_logging() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Database::open(&dir.path().join("greenroom.db")).expect("opens");
        let conn = db.connection().expect("connection");
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .expect("mode");
        assert_eq!(mode, "wal");
    }
}
