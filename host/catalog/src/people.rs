//! Reads sign-in needs: which User an e-mail address or name belongs to,
//! and the groups a user is in, transitively.
//!
//! Each answer is one indexed statement, so resolving the acting user on
//! every request costs three small lookups (the session, the User, its
//! groups) and stays current as the catalog refreshes: a person removed
//! from a team loses its ownership at the next refresh, not at their next
//! sign-in.
//!
//! Users and Groups confer roles, so only those stored from locations the
//! catalog rules trust for their kind count here (see `rules.rs`): not
//! what a catalog author registered through the API, not what a plugin
//! wrote unless the operator allows it, and not orphans. A membership is
//! a relation, so the entity that *produced* it must count: a Group in an
//! untrusted file naming `members: [me]` adds nothing.

use crate::store::{CatalogError, CatalogStore};
use rusqlite::{OptionalExtension, params_from_iter};
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
        let trusted = self.trusted_locations("user")?;
        let conn = self.conn()?;
        let mut statement = conn.prepare_cached(&format!(
            "SELECT e.entity_ref FROM catalog_search s
             JOIN catalog_entities e ON e.id = s.entity_id
             WHERE s.key = 'spec.profile.email' AND s.value = ?1
               AND e.kind = 'user' AND e.orphan = 0 AND e.location_id IN ({})
             ORDER BY e.entity_ref LIMIT 2",
            placeholders(2, trusted.len())
        ))?;
        let email = email.trim().to_lowercase();
        let params = std::iter::once(&email).chain(&trusted);
        let rows = statement.query_map(params_from_iter(params), |row| row.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The ids of the locations whose entities of `kind` (`user`,
    /// `group`) count for sign-in and membership.
    fn trusted_locations(&self, kind: &str) -> Result<Vec<String>, CatalogError> {
        Ok(self
            .locations()?
            .into_iter()
            .filter(|location| self.rules().confers_roles(location, kind))
            .map(|location| location.id)
            .collect())
    }

    /// The User with this reference (any case), unless it is missing,
    /// orphaned or not a User.
    pub fn user(&self, entity_ref: &str) -> Result<Option<UserProfile>, CatalogError> {
        let trusted = self.trusted_locations("user")?;
        let conn = self.conn()?;
        let entity_ref = entity_ref.to_lowercase();
        let params = std::iter::once(&entity_ref).chain(&trusted);
        let row: Option<(String, String)> = conn
            .prepare_cached(&format!(
                "SELECT e.entity_ref, b.body FROM catalog_entities e
                 JOIN catalog_bodies b ON b.entity_id = e.id
                 WHERE e.entity_ref = ?1 AND e.kind = 'user' AND e.orphan = 0
                   AND e.location_id IN ({})",
                placeholders(2, trusted.len())
            ))?
            .query_row(params_from_iter(params), |row| {
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
        let users = self.trusted_locations("user")?;
        let groups = self.trusted_locations("group")?;
        let conn = self.conn()?;
        // Only relations produced by a User or Group that counts: not an
        // orphan, from a location trusted for its kind.
        let producer = format!(
            "p.orphan = 0 AND ((p.kind = 'user' AND p.location_id IN ({})) \
             OR (p.kind = 'group' AND p.location_id IN ({})))",
            placeholders(2, users.len()),
            placeholders(2 + users.len(), groups.len())
        );
        let mut statement = conn.prepare_cached(&format!(
            "WITH RECURSIVE member_of (group_ref) AS (
                 SELECT r.target_key FROM catalog_relations r
                 JOIN catalog_entities p ON p.id = r.producer_id
                 WHERE r.source_ref = ?1 AND r.type = 'memberOf' AND {producer}
                 UNION
                 SELECT r.target_key FROM catalog_relations r
                 JOIN member_of m ON r.source_ref = m.group_ref
                 JOIN catalog_entities p ON p.id = r.producer_id
                 WHERE r.type = 'childOf' AND {producer}
             )
             SELECT group_ref FROM member_of ORDER BY group_ref"
        ))?;
        let user = entity_ref.to_lowercase();
        let params = std::iter::once(&user).chain(&users).chain(&groups);
        let rows = statement.query_map(params_from_iter(params), |row| row.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// `count` numbered parameters from `?first`, for an `IN (…)` list;
/// `NULL` (matching nothing) when there are none.
fn placeholders(first: usize, count: usize) -> String {
    if count == 0 {
        return "NULL".to_owned();
    }
    (first..first + count)
        .map(|n| format!("?{n}"))
        .collect::<Vec<_>>()
        .join(", ")
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
