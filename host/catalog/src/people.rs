//! Reads sign-in needs: which User an e-mail address or name belongs to,
//! and the groups a user is in, transitively.
//!
//! Each answer is one indexed statement, so resolving the acting user on
//! every request costs three small lookups (the session, the User, its
//! groups) and stays current as the catalog refreshes: a person removed
//! from a team loses its ownership at the next refresh, not at their next
//! sign-in.

use crate::store::{CatalogError, CatalogStore};
use rusqlite::{OptionalExtension, named_params};
use serde_json::Value;

/// A User entity, as sign-in shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserProfile {
    /// The lower-cased reference, `user:<namespace>/<name>`.
    pub entity_ref: String,
    /// `spec.profile.displayName`, else `metadata.title`, else the name.
    pub display_name: String,
    /// `spec.profile.email`, when set.
    pub email: Option<String>,
}

impl CatalogStore {
    /// The Users whose `spec.profile.email` is `email` (any case), at most
    /// two: more than one means the address is ambiguous, and the caller
    /// must not pick. Orphaned Users (their source dropped them: people who
    /// left) are never matched.
    pub fn users_by_email(&self, email: &str) -> Result<Vec<String>, CatalogError> {
        let conn = self.conn()?;
        let mut statement = conn.prepare_cached(
            "SELECT e.entity_ref FROM catalog_search s
             JOIN catalog_entities e ON e.id = s.entity_id
             WHERE s.key = 'spec.profile.email' AND s.value = :email
               AND e.kind = 'user' AND e.orphan = 0
             ORDER BY e.entity_ref LIMIT 2",
        )?;
        let rows = statement.query_map(
            named_params! { ":email": email.trim().to_lowercase() },
            |row| row.get(0),
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The User with this reference (any case), unless it is missing,
    /// orphaned or not a User.
    pub fn user(&self, entity_ref: &str) -> Result<Option<UserProfile>, CatalogError> {
        let conn = self.conn()?;
        let row: Option<(String, String)> = conn
            .prepare_cached(
                "SELECT e.entity_ref, b.body FROM catalog_entities e
                 JOIN catalog_bodies b ON b.entity_id = e.id
                 WHERE e.entity_ref = :ref AND e.kind = 'user' AND e.orphan = 0",
            )?
            .query_row(named_params! { ":ref": entity_ref.to_lowercase() }, |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .optional()?;
        let Some((entity_ref, body)) = row else {
            return Ok(None);
        };
        let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let text = |pointer: &str| {
            body.pointer(pointer)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let display_name = text("/spec/profile/displayName")
            .or_else(|| text("/metadata/title"))
            .or_else(|| text("/metadata/name"))
            .unwrap_or_else(|| entity_ref.clone());
        Ok(Some(UserProfile {
            display_name,
            email: text("/spec/profile/email"),
            entity_ref,
        }))
    }

    /// The groups `entity_ref` is a member of (`memberOf`, from either the
    /// User's `spec.memberOf` or a Group's `spec.members`) and every group
    /// above those (`childOf`, from `spec.parent` or a parent's
    /// `spec.children`), lower-cased and sorted. One recursive statement;
    /// `UNION` drops repeats, so a cycle in the hierarchy ends the walk
    /// instead of looping.
    pub fn groups_of(&self, entity_ref: &str) -> Result<Vec<String>, CatalogError> {
        let conn = self.conn()?;
        let mut statement = conn.prepare_cached(
            "WITH RECURSIVE member_of (group_ref) AS (
                 SELECT target_key FROM catalog_relations
                 WHERE source_ref = :user AND type = 'memberOf'
                 UNION
                 SELECT r.target_key FROM catalog_relations r
                 JOIN member_of m ON r.source_ref = m.group_ref
                 WHERE r.type = 'childOf'
             )
             SELECT group_ref FROM member_of ORDER BY group_ref",
        )?;
        let rows = statement.query_map(
            named_params! { ":user": entity_ref.to_lowercase() },
            |row| row.get(0),
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use crate::{Catalog, CatalogConfig, CatalogStore, LocationType};
    use greenroom_store::Database;

    /// A company, a department, two teams (one nested in a cycle to prove
    /// the walk ends), and three people.
    const ORG: &str = "
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: company }
spec: { type: organization, children: [dept] }
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: dept }
spec: { type: department, parent: company, children: [] }
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: team-a }
spec: { type: team, parent: dept, children: [], members: [bo] }
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: loop-1 }
spec: { type: team, parent: loop-2, children: [] }
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: loop-2 }
spec: { type: team, parent: loop-1, children: [] }
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: { name: ann, title: Ann T. }
spec:
  profile: { displayName: Ann Example, email: Ann@Example.com }
  memberOf: [team-a, loop-1]
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: { name: bo }
spec: { profile: { email: shared@example.com }, memberOf: [] }
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: { name: cy }
spec: { profile: { email: shared@example.com }, memberOf: [] }
";

    fn catalog() -> (tempfile::TempDir, CatalogStore) {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Database::open(&dir.path().join("greenroom.db")).expect("opens");
        let file = dir.path().join("org.yaml");
        std::fs::write(&file, ORG).expect("written");
        let catalog = Catalog::new(CatalogStore::new(db), CatalogConfig::default());
        let (_, report) = catalog
            .add_location(LocationType::File, &file.to_string_lossy(), "test", false)
            .expect("reads");
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        (dir, catalog.store().clone())
    }

    #[test]
    fn finds_a_user_by_email_in_any_case_and_reports_ambiguity() {
        let (_dir, store) = catalog();
        assert_eq!(
            store.users_by_email("ann@EXAMPLE.com").expect("reads"),
            ["user:default/ann"]
        );
        assert_eq!(
            store.users_by_email("shared@example.com").expect("reads"),
            ["user:default/bo", "user:default/cy"]
        );
        assert!(
            store
                .users_by_email("nobody@example.com")
                .expect("reads")
                .is_empty()
        );
    }

    #[test]
    fn reads_a_users_profile_and_only_users() {
        let (_dir, store) = catalog();
        let ann = store
            .user("User:default/Ann")
            .expect("reads")
            .expect("ann exists");
        assert_eq!(ann.entity_ref, "user:default/ann");
        assert_eq!(ann.display_name, "Ann Example");
        assert_eq!(ann.email.as_deref(), Some("Ann@Example.com"));
        let bo = store
            .user("user:default/bo")
            .expect("reads")
            .expect("bo exists");
        assert_eq!(
            bo.display_name, "bo",
            "without a profile name, the entity's name"
        );
        assert_eq!(store.user("group:default/dept").expect("reads"), None);
    }

    #[test]
    fn groups_are_transitive_from_either_side_and_cycles_end() {
        let (_dir, store) = catalog();
        assert_eq!(
            store.groups_of("user:default/ann").expect("reads"),
            [
                "group:default/company",
                "group:default/dept",
                "group:default/loop-1",
                "group:default/loop-2",
                "group:default/team-a",
            ]
        );
        // bo's membership is declared only on the group (spec.members).
        assert_eq!(
            store.groups_of("user:default/bo").expect("reads"),
            [
                "group:default/company",
                "group:default/dept",
                "group:default/team-a"
            ]
        );
        assert!(
            store
                .groups_of("user:default/cy")
                .expect("reads")
                .is_empty()
        );
    }
}
