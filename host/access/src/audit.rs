//! The audit log: a durable record of access decisions.

use greenroom_store::{Database, StoreError, now_ms};
use rusqlite::named_params;
use serde::Serialize;

/// Whether something was allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// It was allowed.
    Allow,
    /// It was refused.
    Deny,
}

impl Decision {
    fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Deny => "deny",
        }
    }
}

/// One decision to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent<'a> {
    /// The acting user's entity reference; none for scheduled tasks.
    pub actor: Option<&'a str>,
    /// The plugin that asked, if a plugin asked.
    pub plugin: Option<&'a str>,
    /// What was asked, e.g. `storage.set` or `http.request`.
    pub action: &'a str,
    /// What it was asked on, e.g. a key, an entity reference or a host.
    pub resource: Option<&'a str>,
    /// The decision.
    pub decision: Decision,
    /// Why, in words an operator understands.
    pub reason: &'a str,
}

/// A recorded decision, as read back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// When, in milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// The acting user.
    pub actor: Option<String>,
    /// The plugin.
    pub plugin: Option<String>,
    /// The action.
    pub action: String,
    /// The resource.
    pub resource: Option<String>,
    /// The decision.
    pub decision: Decision,
    /// Why.
    pub reason: String,
}

/// Writing to the audit log failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the audit log: {0}")]
pub struct AuditError(StoreError);

impl From<StoreError> for AuditError {
    fn from(error: StoreError) -> AuditError {
        AuditError(error)
    }
}

impl From<rusqlite::Error> for AuditError {
    fn from(error: rusqlite::Error) -> AuditError {
        AuditError(StoreError::Sqlite(error))
    }
}

/// The audit log, stored in the data directory's database.
#[derive(Debug, Clone)]
pub struct AuditLog {
    db: Database,
}

impl AuditLog {
    /// The audit log in `db`.
    pub fn new(db: Database) -> AuditLog {
        AuditLog { db }
    }

    /// Records a decision durably, and traces it.
    pub fn record(&self, event: &AuditEvent<'_>) -> Result<(), AuditError> {
        tracing::info!(
            target: "greenroom::audit",
            actor = event.actor,
            plugin = event.plugin,
            action = event.action,
            resource = event.resource,
            decision = event.decision.as_str(),
            reason = event.reason,
        );
        let conn = self.db.connection()?;
        conn.prepare_cached(
            "INSERT INTO audit_log (at_ms, actor, plugin, action, resource, decision, reason)
             VALUES (:at, :actor, :plugin, :action, :resource, :decision, :reason)",
        )?
        .execute(named_params! {
            ":at": now_ms(),
            ":actor": event.actor,
            ":plugin": event.plugin,
            ":action": event.action,
            ":resource": event.resource,
            ":decision": event.decision.as_str(),
            ":reason": event.reason,
        })?;
        Ok(())
    }

    /// The newest entries, newest first, optionally for one plugin.
    pub fn recent(&self, plugin: Option<&str>, limit: u32) -> Result<Vec<AuditEntry>, AuditError> {
        let conn = self.db.connection()?;
        let mut statement = conn.prepare_cached(
            "SELECT at_ms, actor, plugin, action, resource, decision, reason FROM audit_log
             WHERE (:plugin IS NULL OR plugin = :plugin)
             ORDER BY id DESC LIMIT :limit",
        )?;
        let rows = statement.query_map(
            named_params! { ":plugin": plugin, ":limit": limit },
            |row| {
                let decision: String = row.get(5)?;
                Ok(AuditEntry {
                    at_ms: row.get(0)?,
                    actor: row.get(1)?,
                    plugin: row.get(2)?,
                    action: row.get(3)?,
                    resource: row.get(4)?,
                    decision: if decision == "allow" {
                        Decision::Allow
                    } else {
                        Decision::Deny
                    },
                    reason: row.get(6)?,
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_denials_and_reads_them_back_newest_first() {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = AuditLog::new(Database::open(&dir.path().join("db")).expect("opens"));
        for action in ["storage.get", "http.request"] {
            log.record(&AuditEvent {
                actor: Some("user:default/guest"),
                plugin: Some("hello"),
                action,
                resource: None,
                decision: Decision::Deny,
                reason: "not granted",
            })
            .expect("records");
        }
        let entries = log.recent(Some("hello"), 10).expect("reads");
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].action, "http.request");
        assert_eq!(entries[0].decision, Decision::Deny);
        assert!(log.recent(Some("other"), 10).expect("reads").is_empty());
    }
}
