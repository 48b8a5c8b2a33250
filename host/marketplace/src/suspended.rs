//! Plugins from the configuration file an admin turned off while the server
//! runs (`suspended_plugins`): they stay loaded but are not called, across
//! restarts, until an admin turns them on again. Installed plugins are
//! disabled in their record instead ([`Marketplace::set_enabled`]).
//!
//! [`Marketplace::set_enabled`]: crate::Marketplace::set_enabled

use greenroom_access::AuditLog;
use greenroom_store::{Database, StoreError, now_ms};
use rusqlite::named_params;

/// A plugin an admin turned off.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Suspension {
    /// The plugin's id.
    pub id: String,
    /// Who turned it off.
    pub actor: String,
    /// Why, as they said or the page recorded.
    pub reason: String,
    /// When, in milliseconds since the Unix epoch.
    pub at_ms: i64,
}

/// The suspensions could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum SuspensionError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A statement failed.
    #[error("suspended plugins: {0}")]
    Sql(#[from] rusqlite::Error),
}

/// The suspended plugins of one data directory.
#[derive(Debug, Clone)]
pub struct Suspensions {
    db: Database,
}

impl Suspensions {
    /// The suspensions in `db`.
    pub fn new(db: Database) -> Suspensions {
        Suspensions { db }
    }

    /// Every suspended plugin, by id.
    pub fn list(&self) -> Result<Vec<Suspension>, SuspensionError> {
        let conn = self.db.connection()?;
        let mut statement = conn
            .prepare_cached("SELECT id, actor, reason, at_ms FROM suspended_plugins ORDER BY id")?;
        let rows = statement.query_map([], |row| {
            Ok(Suspension {
                id: row.get(0)?,
                actor: row.get(1)?,
                reason: row.get(2)?,
                at_ms: row.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Turns `id` off, recording who and why (and in the audit log as
    /// `plugin.suspend`). Suspending it again keeps the first record.
    pub fn suspend(
        &self,
        id: &str,
        actor: &str,
        reason: &str,
    ) -> Result<Suspension, SuspensionError> {
        let conn = self.db.connection()?;
        conn.prepare_cached(
            "INSERT INTO suspended_plugins (id, actor, reason, at_ms)
             VALUES (:id, :actor, :reason, :at) ON CONFLICT (id) DO NOTHING",
        )?
        .execute(
            named_params! { ":id": id, ":actor": actor, ":reason": reason, ":at": now_ms() },
        )?;
        let suspension = conn
            .prepare_cached(
                "SELECT id, actor, reason, at_ms FROM suspended_plugins WHERE id = :id",
            )?
            .query_row(named_params! { ":id": id }, |row| {
                Ok(Suspension {
                    id: row.get(0)?,
                    actor: row.get(1)?,
                    reason: row.get(2)?,
                    at_ms: row.get(3)?,
                })
            })?;
        self.audit(actor, id, "plugin.suspend", reason);
        Ok(suspension)
    }

    /// Turns `id` on again (audited as `plugin.resume`). Whether it was
    /// suspended.
    pub fn resume(&self, id: &str, actor: &str) -> Result<bool, SuspensionError> {
        let conn = self.db.connection()?;
        let removed = conn
            .prepare_cached("DELETE FROM suspended_plugins WHERE id = :id")?
            .execute(named_params! { ":id": id })?;
        if removed > 0 {
            self.audit(actor, id, "plugin.resume", "turned on again by an admin");
        }
        Ok(removed > 0)
    }

    fn audit(&self, actor: &str, plugin: &str, action: &str, reason: &str) {
        AuditLog::new(self.db.clone()).change(actor, Some(plugin), action, reason);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn suspensions() -> (tempfile::TempDir, Suspensions) {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Database::open(&dir.path().join("db")).expect("opens");
        (dir, Suspensions::new(db))
    }

    #[test]
    fn a_suspension_is_kept_until_resumed_and_both_are_audited() {
        let (_dir, suspensions) = suspensions();
        let kept = suspensions
            .suspend("hello", "user:default/jane", "keeps failing")
            .expect("suspends");
        assert_eq!(
            (kept.id.as_str(), kept.actor.as_str(), kept.reason.as_str()),
            ("hello", "user:default/jane", "keeps failing")
        );
        let again = suspensions
            .suspend("hello", "user:default/joe", "again")
            .expect("suspends");
        assert_eq!(again, kept, "the first record stays");
        assert_eq!(suspensions.list().expect("lists"), [kept]);
        assert!(
            suspensions
                .resume("hello", "user:default/joe")
                .expect("resumes")
        );
        assert!(
            !suspensions
                .resume("hello", "user:default/joe")
                .expect("resumes")
        );
        assert!(suspensions.list().expect("lists").is_empty());
        let audit = AuditLog::new(suspensions.db.clone())
            .recent(Some("hello"), 10)
            .expect("reads");
        let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions,
            ["plugin.resume", "plugin.suspend", "plugin.suspend"]
        );
    }
}
