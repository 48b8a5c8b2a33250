//! The plugins installed from indexes, as recorded in the data directory's
//! database (`installed_plugins`): what was verified and what was granted.

use greenroom_store::{Database, StoreError, now_ms};
use rusqlite::{OptionalExtension, params};

/// One installed plugin.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Installed {
    /// Its id.
    pub id: String,
    /// The version installed.
    pub version: String,
    /// Who published it.
    pub publisher: String,
    /// The index it came from.
    pub index_source: String,
    /// sha256 of the verified artifact.
    pub sha256: String,
    /// The verified copy of the artifact in the data directory.
    pub artifact: String,
    /// What the operator granted, as grant strings.
    pub grants: Vec<String>,
    /// Whether it is loaded.
    pub enabled: bool,
}

/// What can go wrong reading or writing the records.
#[derive(Debug, thiserror::Error)]
pub enum InstalledError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A statement failed.
    #[error("installed plugins: {0}")]
    Sql(#[from] rusqlite::Error),
    /// No such plugin is installed.
    #[error("no plugin `{0}` is installed")]
    NotInstalled(String),
}

/// The records.
#[derive(Clone)]
pub struct InstalledPlugins {
    db: Database,
}

impl InstalledPlugins {
    /// The records in `db`.
    pub fn new(db: Database) -> InstalledPlugins {
        InstalledPlugins { db }
    }

    /// Every installed plugin, by id.
    pub fn list(&self) -> Result<Vec<Installed>, InstalledError> {
        let conn = self.db.connection()?;
        let mut statement = conn.prepare(
            "SELECT id, version, publisher, index_source, sha256, artifact, grants, enabled FROM installed_plugins ORDER BY id",
        )?;
        let rows = statement.query_map([], row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The installed plugin with this id.
    pub fn get(&self, id: &str) -> Result<Option<Installed>, InstalledError> {
        let conn = self.db.connection()?;
        Ok(conn
            .query_row(
                "SELECT id, version, publisher, index_source, sha256, artifact, grants, enabled FROM installed_plugins WHERE id = ?1",
                params![id],
                row,
            )
            .optional()?)
    }

    /// Records an install or an upgrade (replacing the plugin's record).
    pub fn record(&self, installed: &Installed) -> Result<(), InstalledError> {
        let conn = self.db.connection()?;
        let grants = serde_json::to_string(&installed.grants).expect("strings serialise");
        let now = now_ms();
        conn.execute(
            "INSERT INTO installed_plugins (id, version, publisher, index_source, sha256, artifact, grants, enabled, installed_ms, updated_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9) \
             ON CONFLICT (id) DO UPDATE SET version = ?2, publisher = ?3, index_source = ?4, sha256 = ?5, artifact = ?6, grants = ?7, enabled = ?8, updated_ms = ?9",
            params![
                installed.id,
                installed.version,
                installed.publisher,
                installed.index_source,
                installed.sha256,
                installed.artifact,
                grants,
                installed.enabled,
                now
            ],
        )?;
        Ok(())
    }

    /// Enables or disables an installed plugin.
    pub fn set_enabled(&self, id: &str, enabled: bool) -> Result<(), InstalledError> {
        let conn = self.db.connection()?;
        let changed = conn.execute(
            "UPDATE installed_plugins SET enabled = ?2, updated_ms = ?3 WHERE id = ?1",
            params![id, enabled, now_ms()],
        )?;
        if changed == 0 {
            return Err(InstalledError::NotInstalled(id.to_owned()));
        }
        Ok(())
    }

    /// Forgets an installed plugin (its data stays unless purged).
    pub fn remove(&self, id: &str) -> Result<Installed, InstalledError> {
        let installed = self
            .get(id)?
            .ok_or_else(|| InstalledError::NotInstalled(id.to_owned()))?;
        let conn = self.db.connection()?;
        conn.execute("DELETE FROM installed_plugins WHERE id = ?1", params![id])?;
        Ok(installed)
    }
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Installed> {
    let grants: String = r.get(6)?;
    Ok(Installed {
        id: r.get(0)?,
        version: r.get(1)?,
        publisher: r.get(2)?,
        index_source: r.get(3)?,
        sha256: r.get(4)?,
        artifact: r.get(5)?,
        grants: serde_json::from_str(&grants).unwrap_or_default(),
        enabled: r.get(7)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello(version: &str) -> Installed {
        Installed {
            id: "hello".into(),
            version: version.into(),
            publisher: "acme".into(),
            index_source: "index.toml".into(),
            sha256: "ab".into(),
            artifact: "/data/plugins/hello.wasm".into(),
            grants: vec!["storage".into()],
            enabled: true,
        }
    }

    #[test]
    fn records_an_install_an_upgrade_a_disable_and_a_removal() {
        let dir = tempfile::tempdir().unwrap();
        let records = InstalledPlugins::new(Database::open(&dir.path().join("db")).unwrap());
        records.record(&hello("0.1.0")).unwrap();
        records.record(&hello("0.2.0")).unwrap();
        assert_eq!(
            records.list().unwrap(),
            [hello("0.2.0")],
            "an upgrade replaces the record"
        );
        records.set_enabled("hello", false).unwrap();
        assert!(!records.get("hello").unwrap().unwrap().enabled);
        assert_eq!(records.remove("hello").unwrap().version, "0.2.0");
        assert!(records.list().unwrap().is_empty());
        assert!(matches!(
            records.remove("hello"),
            Err(InstalledError::NotInstalled(_))
        ));
        assert!(matches!(
            records.set_enabled("hello", true),
            Err(InstalledError::NotInstalled(_))
        ));
    }
}
