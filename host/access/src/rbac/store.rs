//! Policy versions in the store: a draft being edited, and every published
//! version kept (view, compare, revert by publishing an old one again).

use super::RbacError;
use crate::AuditLog;
use greenroom_model::PolicyDocument;
use greenroom_store::{Database, now_ms};
use rusqlite::{OptionalExtension, params};

/// One stored version of the policy.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyVersion {
    /// Its id, increasing.
    pub id: i64,
    /// The policy.
    pub document: PolicyDocument,
    /// `draft` or `published`.
    pub status: String,
    /// Who saved it.
    pub author: String,
    /// Why.
    pub note: String,
    /// When, in milliseconds since the Unix epoch.
    pub at_ms: i64,
}

/// The versions of the policy in a database.
#[derive(Clone)]
pub struct PolicyStore {
    db: Database,
}

impl std::fmt::Debug for PolicyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PolicyStore")
    }
}

impl PolicyStore {
    /// The versions in `db`.
    pub fn new(db: Database) -> PolicyStore {
        PolicyStore { db }
    }

    /// The id of the version in force.
    pub fn published_id(&self) -> Result<Option<i64>, RbacError> {
        let conn = self.db.connection()?;
        Ok(conn.query_row(
            "SELECT max(id) FROM rbac_policy_versions WHERE status = 'published'",
            [],
            |r| r.get(0),
        )?)
    }

    /// The version in force.
    pub fn published(&self) -> Result<Option<PolicyVersion>, RbacError> {
        match self.published_id()? {
            Some(id) => self.version(id),
            None => Ok(None),
        }
    }

    /// The draft being edited, if any.
    pub fn draft(&self) -> Result<Option<PolicyVersion>, RbacError> {
        let conn = self.db.connection()?;
        let id: Option<i64> = conn.query_row(
            "SELECT max(id) FROM rbac_policy_versions WHERE status = 'draft'",
            [],
            |r| r.get(0),
        )?;
        match id {
            Some(id) => self.version(id),
            None => Ok(None),
        }
    }

    /// One version.
    pub fn version(&self, id: i64) -> Result<Option<PolicyVersion>, RbacError> {
        let conn = self.db.connection()?;
        let row = conn
            .query_row(
                "SELECT id, document, status, author, note, at_ms FROM rbac_policy_versions WHERE id = ?1",
                params![id],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, i64>(5)?,
                    ))
                },
            )
            .optional()?;
        row.map(|(id, document, status, author, note, at_ms)| {
            Ok(PolicyVersion {
                id,
                document: serde_json::from_str(&document)
                    .map_err(|e| RbacError::Corrupt(format!("version {id}: {e}")))?,
                status,
                author,
                note,
                at_ms,
            })
        })
        .transpose()
    }

    /// Every published version, newest first (without documents' bodies
    /// parsed twice: they are small).
    pub fn history(&self) -> Result<Vec<PolicyVersion>, RbacError> {
        let ids: Vec<i64> = {
            let conn = self.db.connection()?;
            let mut statement = conn.prepare(
                "SELECT id FROM rbac_policy_versions WHERE status = 'published' ORDER BY id DESC",
            )?;
            statement
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?
        };
        ids.into_iter()
            .filter_map(|id| self.version(id).transpose())
            .collect()
    }

    /// Saves `document` as the draft (replacing the previous draft).
    pub fn save_draft(&self, document: &PolicyDocument, author: &str) -> Result<i64, RbacError> {
        let mut conn = self.db.connection()?;
        let tx = conn.transaction()?;
        // Insert before deleting the old draft, so the new one's id is
        // greater than every id before it (SQLite would reuse the id of a
        // deleted last row): an editor can tell a newer draft by its id.
        tx.execute(
            "INSERT INTO rbac_policy_versions (document, status, author, note, at_ms) VALUES (?1, 'draft', ?2, '', ?3)",
            params![json(document), author, now_ms()],
        )?;
        let id = tx.last_insert_rowid();
        tx.execute(
            "DELETE FROM rbac_policy_versions WHERE status = 'draft' AND id <> ?1",
            params![id],
        )?;
        tx.commit()?;
        Ok(id)
    }

    /// Throws the draft away; audited. Returns whether there was one.
    pub fn discard_draft(&self, author: &str) -> Result<bool, RbacError> {
        let conn = self.db.connection()?;
        let removed = conn.execute(
            "DELETE FROM rbac_policy_versions WHERE status = 'draft'",
            [],
        )?;
        drop(conn);
        if removed > 0 {
            AuditLog::new(self.db.clone()).change(
                author,
                None,
                "rbac.discard-draft",
                "discarded the policy draft",
            );
        }
        Ok(removed > 0)
    }

    /// Publishes `document` (it takes effect at once) and drops the draft;
    /// audited.
    pub fn publish(
        &self,
        document: &PolicyDocument,
        author: &str,
        note: &str,
    ) -> Result<i64, RbacError> {
        let mut conn = self.db.connection()?;
        let tx = conn.transaction()?;
        tx.execute(
            "DELETE FROM rbac_policy_versions WHERE status = 'draft'",
            [],
        )?;
        tx.execute(
            "INSERT INTO rbac_policy_versions (document, status, author, note, at_ms) VALUES (?1, 'published', ?2, ?3, ?4)",
            params![json(document), author, note, now_ms()],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        let reason = format!(
            "published policy version {id} ({} roles){}",
            document.roles.len(),
            if note.is_empty() {
                String::new()
            } else {
                format!(": {note}")
            }
        );
        AuditLog::new(self.db.clone()).change(author, None, "rbac.publish", &reason);
        Ok(id)
    }
}

fn json(document: &PolicyDocument) -> String {
    serde_json::to_string(document).expect("a policy document serialises")
}
