//! `greenroom:plugin/catalog`: entities, brokered by `catalog:read` and
//! `catalog:write`.
//!
//! Reads go through the catalog store with the acting user's restriction
//! (see [`Session::catalog_restriction`]) AND-ed into the SQL, so a plugin
//! can only ever be shown what the user could open in the portal. Writes
//! land in the plugin's own location (`plugin:<id>`), only for the kinds
//! granted, all or nothing.

use crate::session::{Access, Session};
use greenroom_catalog::{
    CatalogError, CatalogStore, Cursor, EntityQuery, EntityRef, FullText, Location, LocationType,
    Order, Predicate, prepare_entity,
};
use greenroom_contract::wit::latest::greenroom::plugin::catalog::{
    EntityPage, Facet, FilterCondition, Host, Query,
};
use greenroom_contract::wit::latest::greenroom::plugin::types::{Entity, HostError};
use greenroom_contract::wit_entity;
use serde_json::Value;

/// The most entities one query returns, whatever the plugin asks: a page
/// is copied into the plugin's memory, and views cap what they can show.
pub const MAX_QUERY_LIMIT: u32 = 500;

/// The most entities one write may carry.
pub const MAX_WRITE_BATCH: usize = 1000;

/// The fields a plugin's `full-text` searches, as the portal's search box.
const FULL_TEXT_FIELDS: [&str; 4] = [
    "metadata.name",
    "metadata.title",
    "metadata.description",
    "metadata.tags",
];

fn store_error(error: CatalogError) -> HostError {
    match error {
        CatalogError::Query(e) => HostError::InvalidArgument(e.0),
        CatalogError::NotFound(m) => HostError::InvalidArgument(m),
        CatalogError::Conflict(m) => HostError::Denied(m),
        other => {
            tracing::error!(error = %other, "catalog store failed during a plugin call");
            HostError::Internal(
                "the catalog could not answer; the operator's log has the details".into(),
            )
        }
    }
}

/// The WIT filter (an OR of ANDs) as a predicate.
fn predicate(filter: Vec<Vec<FilterCondition>>) -> Option<Predicate> {
    if filter.is_empty() {
        return None;
    }
    Some(Predicate::AnyOf(
        filter
            .into_iter()
            .map(|set| {
                Predicate::AllOf(
                    set.into_iter()
                        .map(|c| Predicate::Field {
                            key: c.key,
                            values: c.values,
                        })
                        .collect(),
                )
            })
            .collect(),
    ))
}

fn cursor_for(query: Query) -> Result<Cursor, HostError> {
    if let Some(cursor) = &query.cursor {
        return Cursor::decode(cursor).map_err(|e| HostError::InvalidArgument(e.0));
    }
    Ok(Cursor::first(EntityQuery {
        filter: predicate(query.filter),
        full_text: query
            .full_text
            .filter(|t| !t.trim().is_empty())
            .map(|term| FullText {
                term,
                fields: FULL_TEXT_FIELDS.iter().map(|f| (*f).to_owned()).collect(),
            }),
        order: query.order.map(|o| Order {
            field: o.field,
            descending: o.descending,
        }),
    }))
}

/// The kind of a Backstage JSON entity, for the write check.
fn kind_of(entity: &Value) -> Result<&str, HostError> {
    entity
        .get("kind")
        .and_then(Value::as_str)
        .ok_or_else(|| HostError::InvalidArgument("entity has no `kind`".into()))
}

/// The kind of an entity reference `kind:namespace/name`.
fn kind_of_ref(entity_ref: &str) -> Result<EntityRef, HostError> {
    EntityRef::parse(entity_ref, None, "default")
        .map_err(|e| HostError::InvalidArgument(e.to_string()))
}

impl Session {
    fn catalog(&self) -> &CatalogStore {
        self.env().catalog()
    }

    /// The plugin's own location, created on its first write.
    fn plugin_location(&self) -> Result<Location, HostError> {
        let id = self.env().id().as_str();
        let store = self.catalog();
        if let Some(location) = store
            .location_by_target(LocationType::Plugin, id)
            .map_err(store_error)?
        {
            return Ok(location);
        }
        match store.add_location(LocationType::Plugin, id, &format!("plugin:{id}")) {
            Ok(location) => Ok(location),
            // Another call created it first.
            Err(CatalogError::Conflict(_)) => store
                .location_by_target(LocationType::Plugin, id)
                .map_err(store_error)?
                .ok_or_else(|| HostError::Internal("the plugin's location vanished".into())),
            Err(error) => Err(store_error(error)),
        }
    }
}

impl Host for Session {
    async fn get_entity(&mut self, entity_ref: String) -> Result<Option<Entity>, HostError> {
        self.decide(Access::CatalogRead)?;
        let parsed = kind_of_ref(&entity_ref)?;
        let restriction = self.catalog_restriction();
        let entity = self
            .catalog()
            .entity_by_ref_where(&parsed.key(), restriction.as_ref())
            .map_err(store_error)?;
        Ok(entity.as_ref().map(wit_entity))
    }

    async fn query_entities(&mut self, query: Query) -> Result<EntityPage, HostError> {
        self.decide(Access::CatalogRead)?;
        let limit = query.limit.clamp(1, MAX_QUERY_LIMIT) as usize;
        let cursor = cursor_for(query)?;
        let restriction = self.catalog_restriction();
        let page = self
            .catalog()
            .query(&cursor, limit, restriction.as_ref())
            .map_err(store_error)?;
        Ok(EntityPage {
            items: page.items.iter().map(wit_entity).collect(),
            total: u32::try_from(page.total_items).unwrap_or(u32::MAX),
            next_cursor: page.next_cursor,
        })
    }

    async fn facets(
        &mut self,
        fields: Vec<String>,
        filter: Vec<Vec<FilterCondition>>,
    ) -> Result<Vec<Facet>, HostError> {
        self.decide(Access::CatalogRead)?;
        let restriction = self.catalog_restriction();
        let facets = self
            .catalog()
            .facets(&fields, predicate(filter).as_ref(), restriction.as_ref())
            .map_err(store_error)?;
        Ok(facets
            .into_iter()
            .map(|(field, values)| Facet {
                field,
                values: values
                    .into_iter()
                    .map(|(value, count)| (value, u32::try_from(count).unwrap_or(u32::MAX)))
                    .collect(),
            })
            .collect())
    }

    async fn upsert_entities(&mut self, entities: Vec<String>) -> Result<(), HostError> {
        if entities.len() > MAX_WRITE_BATCH {
            return Err(HostError::InvalidArgument(format!(
                "{} entities in one write; at most {MAX_WRITE_BATCH}",
                entities.len()
            )));
        }
        let id = self.env().id().as_str().to_owned();
        let source = format!("plugin:{id}");
        let mut prepared = Vec::with_capacity(entities.len());
        for (i, text) in entities.iter().enumerate() {
            let value: Value = serde_json::from_str(text)
                .map_err(|e| HostError::InvalidArgument(format!("entity {i} is not JSON: {e}")))?;
            self.decide(Access::CatalogWrite {
                kind: kind_of(&value)?,
            })?;
            let ingested =
                prepare_entity(value, &source, &source, &source).map_err(|problems| {
                    let rules: Vec<String> = problems.into_iter().map(|p| p.message).collect();
                    HostError::InvalidArgument(format!("entity {i}: {}", rules.join("; ")))
                })?;
            prepared.push(ingested);
        }
        let location = self.plugin_location()?;
        self.catalog()
            .provide(&location, &prepared)
            .map_err(store_error)?;
        Ok(())
    }

    async fn remove_entities(&mut self, refs: Vec<String>) -> Result<(), HostError> {
        let mut keys = Vec::with_capacity(refs.len());
        for entity_ref in &refs {
            let parsed = kind_of_ref(entity_ref)?;
            self.decide(Access::CatalogWrite {
                kind: parsed.kind(),
            })?;
            keys.push(parsed.key());
        }
        let location = self.plugin_location()?;
        self.catalog()
            .withdraw(&location, &keys)
            .map_err(store_error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::tests::{env_with, probe_manifest};
    use greenroom_access::{AuditLog, Identity};
    use std::sync::Arc;

    fn component(name: &str) -> String {
        serde_json::json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": {"name": name, "tags": ["rust"]},
            "spec": {"type": "service", "lifecycle": "production", "owner": "team-a"}
        })
        .to_string()
    }

    /// A page of `limit` entities of any kind, from `cursor`.
    fn unfiltered(limit: u32, cursor: Option<String>) -> Query {
        Query {
            filter: vec![],
            full_text: None,
            order: None,
            limit,
            cursor,
        }
    }

    fn session(capabilities: &str) -> (tempfile::TempDir, greenroom_store::Database, Session) {
        let (dir, db, env) = env_with(capabilities);
        (
            dir,
            db,
            Session::new(Arc::clone(&env), Some(Identity::guest())),
        )
    }

    #[tokio::test]
    async fn a_provider_writes_reads_back_and_removes_its_own_entities() {
        let (_dir, _db, mut session) =
            session("catalog = { read = true, write = [\"Component\"] }");
        session
            .upsert_entities(vec![component("pay"), component("ledger")])
            .await
            .expect("granted kind");
        let pay = session
            .get_entity("component:pay".into())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(pay.ref_, "component:default/pay");
        assert_eq!(pay.owner.as_deref(), Some("group:default/team-a"));
        assert_eq!(pay.relations[0].relation_type, "ownedBy");
        assert!(pay.annotations.contains(&(
            "backstage.io/managed-by-location".into(),
            "plugin:probe".into()
        )));

        let page = session
            .query_entities(Query {
                filter: vec![vec![FilterCondition {
                    key: "kind".into(),
                    values: vec!["component".into()],
                }]],
                full_text: None,
                order: None,
                limit: 1,
                cursor: None,
            })
            .await
            .unwrap();
        assert_eq!((page.items.len(), page.total), (1, 2));
        let next = session
            .query_entities(unfiltered(1, page.next_cursor))
            .await
            .unwrap();
        assert_eq!(next.items[0].name, "pay");

        // A short reference (default namespace) names the same entity.
        session
            .remove_entities(vec!["component:ledger".into()])
            .await
            .unwrap();
        assert!(
            session
                .get_entity("component:ledger".into())
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn a_write_of_an_ungranted_kind_is_denied_and_writes_nothing() {
        let (_dir, db, mut session) = session("catalog = { read = true, write = [\"Component\"] }");
        let group = serde_json::json!({
            "apiVersion": "backstage.io/v1alpha1", "kind": "Group",
            "metadata": {"name": "admins"}, "spec": {"type": "team", "children": []}
        })
        .to_string();
        let err = session
            .upsert_entities(vec![component("pay"), group])
            .await
            .unwrap_err();
        assert!(
            matches!(&err, HostError::Denied(m) if m.contains("catalog:write:Group")),
            "{err:?}"
        );
        assert!(
            session
                .get_entity("component:pay".into())
                .await
                .unwrap()
                .is_none(),
            "all or nothing"
        );
        let audit = AuditLog::new(db).recent(Some("probe"), 10).unwrap();
        assert_eq!(audit[0].action, "catalog.write");
    }

    #[tokio::test]
    async fn an_invalid_entity_names_its_index_and_rule() {
        let (_dir, _db, mut session) =
            session("catalog = { read = true, write = [\"Component\"] }");
        let err = session
            .upsert_entities(vec![component("ok"), component("Not_OK!")])
            .await
            .unwrap_err();
        assert!(
            matches!(&err, HostError::InvalidArgument(m) if m.starts_with("entity 1: metadata.name \"Not_OK!\"")),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn a_provider_cannot_remove_or_overwrite_entities_of_other_locations() {
        let (_dir, db, mut session) = session("catalog = { read = true, write = [\"Component\"] }");
        let other = tempfile::tempdir().unwrap();
        let file = other.path().join("c.yaml");
        std::fs::write(
            &file,
            "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: core\nspec:\n  type: service\n  lifecycle: production\n  owner: a\n",
        )
        .unwrap();
        let catalog = greenroom_catalog::Catalog::new(
            CatalogStore::new(db),
            greenroom_catalog::CatalogConfig::default(),
        );
        catalog
            .add_location(LocationType::File, file.to_str().unwrap(), "test", false)
            .unwrap();
        let err = session
            .remove_entities(vec!["component:default/core".into()])
            .await
            .unwrap_err();
        assert!(
            matches!(&err, HostError::Denied(m) if m.contains("belongs to location file:")),
            "{err:?}"
        );
        let err = session
            .upsert_entities(vec![component("core")])
            .await
            .unwrap_err();
        assert!(
            matches!(&err, HostError::Denied(m) if m.contains("already provided")),
            "{err:?}"
        );
        assert!(
            session
                .get_entity("component:core".into())
                .await
                .unwrap()
                .is_some()
        );
    }

    #[tokio::test]
    async fn reading_without_the_grant_is_denied() {
        let (_dir, _db, mut session) = session("");
        let err = session
            .get_entity("component:pay".into())
            .await
            .unwrap_err();
        assert!(
            matches!(&err, HostError::Denied(m) if m.contains("catalog:read")),
            "{err:?}"
        );
        let err = session
            .facets(vec!["kind".into()], vec![])
            .await
            .unwrap_err();
        assert!(matches!(err, HostError::Denied(_)));
    }

    #[tokio::test]
    async fn a_group_a_plugin_task_writes_confers_no_membership() {
        let (_dir, db, env) = env_with("catalog = { write = [\"Group\"] }");
        // The operator's organisation: mallory is in no group.
        let org = tempfile::tempdir().unwrap();
        let file = org.path().join("org.yaml");
        std::fs::write(
            &file,
            "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: { name: platform }\nspec: { type: team, children: [] }\n---\napiVersion: backstage.io/v1alpha1\nkind: User\nmetadata: { name: mallory }\nspec: { memberOf: [] }\n",
        )
        .unwrap();
        let catalog = greenroom_catalog::Catalog::new(
            CatalogStore::new(db.clone()),
            greenroom_catalog::CatalogConfig::default(),
        );
        catalog
            .add_location(LocationType::File, file.to_str().unwrap(), "config", false)
            .unwrap();
        // A scheduled task acts for no one; its grant lets it write Groups.
        let mut task = Session::new(Arc::clone(&env), None);
        let group = serde_json::json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Group",
            "metadata": {"name": "shadow"},
            "spec": {"type": "team", "parent": "platform", "children": [], "members": ["mallory"]}
        });
        task.upsert_entities(vec![group.to_string()])
            .await
            .expect("the grant allows writing Groups");
        let store = catalog.store();
        assert!(
            store
                .entity_by_ref("group:default/shadow")
                .unwrap()
                .is_some()
        );
        assert!(
            store.groups_of("user:default/mallory").unwrap().is_empty(),
            "a plugin's Group makes nobody a member of platform"
        );
    }

    #[tokio::test]
    async fn a_malformed_reference_or_cursor_is_an_invalid_argument() {
        let (_dir, _db, mut session) = session("catalog = { read = true }");
        assert!(matches!(
            session.get_entity("pay".into()).await,
            Err(HostError::InvalidArgument(_))
        ));
        let err = session
            .query_entities(unfiltered(10, Some("forged".into())))
            .await
            .unwrap_err();
        assert!(matches!(err, HostError::InvalidArgument(_)));
    }

    /// The catalog holds `pay` (team-a's) and `search` (team-b's), written by
    /// a session without a policy engine.
    async fn two_teams_entities() -> (tempfile::TempDir, greenroom_store::Database) {
        let (dir, db, mut writer) = session("catalog = { read = true, write = [\"Component\"] }");
        let mut theirs = serde_json::from_str::<serde_json::Value>(&component("search")).unwrap();
        theirs["spec"]["owner"] = "team-b".into();
        writer
            .upsert_entities(vec![component("pay"), theirs.to_string()])
            .await
            .expect("written");
        (dir, db)
    }

    /// The probe plugin with `capabilities` (TOML) and `permissions` it
    /// declares, under a team-a role allowing `permission` on what team-a
    /// owns.
    fn probe_under_policy(
        db: &greenroom_store::Database,
        capabilities: &str,
        permissions: &[&str],
        permission: &str,
    ) -> Arc<crate::PluginEnv> {
        use greenroom_access::rbac::{PolicyDocument, Rbac};
        let declared: String = permissions
            .iter()
            .map(|p| format!("[[permissions]]\nname = {p:?}\ndescription = \"x\"\n"))
            .collect();
        let manifest = probe_manifest(&format!("{capabilities}\n{declared}"));
        let engine = Rbac::fixed(PolicyDocument::default(), vec![]);
        engine.declare(permissions.iter().map(|p| (*p).to_owned()));
        let policy = format!(
            "roles:\n  - name: team-a\n    members: [group:default/team-a]\n    policies:\n      - permission: {permission}\n        effect: allow\n        conditions: {{ rule: IS_ENTITY_OWNER }}\n"
        );
        let document =
            PolicyDocument::from_yaml(&policy, "p", &engine.known_permissions()).unwrap();
        Arc::new(
            crate::PluginEnv::new(
                &manifest,
                greenroom_contract::Grant::all_requested(&manifest),
                serde_json::json!({}),
                db,
            )
            .with_rbac(Rbac::fixed(document, vec![])),
        )
    }

    /// Alice, in team-a.
    fn alice() -> Identity {
        Identity {
            entity_ref: "user:default/alice".into(),
            groups: vec!["group:default/team-a".into()],
            ..Identity::guest()
        }
    }

    /// A plugin acting for a user reads only what the user may read (the
    /// user's RBAC conditions ANDed into its SQL), and writes only if the
    /// user may create entities; a scheduled task (no user) is decided by
    /// the grant alone.
    #[tokio::test]
    async fn a_plugin_reaches_only_what_the_acting_user_may() {
        let (_dir, db) = two_teams_entities().await;
        let env = probe_under_policy(
            &db,
            "catalog = { read = true, write = [\"Component\"] }",
            &[],
            "catalog.entity.read",
        );
        let mut for_alice = Session::new(Arc::clone(&env), Some(alice()));
        assert!(
            for_alice
                .get_entity("component:pay".into())
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            for_alice
                .get_entity("component:search".into())
                .await
                .unwrap()
                .is_none(),
            "team-b's entity is invisible through the plugin"
        );
        let all = for_alice
            .query_entities(unfiltered(10, None))
            .await
            .unwrap();
        assert_eq!(
            all.items
                .iter()
                .map(|e| e.name.as_str())
                .collect::<Vec<_>>(),
            ["pay"]
        );
        let refused = for_alice
            .upsert_entities(vec![component("new")])
            .await
            .unwrap_err();
        assert!(
            matches!(&refused, HostError::Denied(m) if m.contains("catalog.entity.create")),
            "{refused:?}"
        );
        let audit = AuditLog::new(db.clone()).recent(Some("probe"), 5).unwrap();
        assert_eq!(audit[0].action, "catalog.write");
        assert_eq!(audit[0].actor.as_deref(), Some("user:default/alice"));

        let mut task = Session::new(env, None);
        let everything = task.query_entities(unfiltered(10, None)).await.unwrap();
        assert_eq!(
            everything.total, 2,
            "a scheduled task is decided by its grant"
        );
    }

    /// `authorize` on a plugin's own permission follows the user's roles,
    /// with conditions decided on the entity named; a refusal is audited;
    /// with no acting user the answer is no.
    #[tokio::test]
    async fn authorize_decides_a_plugins_permission_on_an_entity() {
        use greenroom_contract::wit::latest::greenroom::plugin::identity::Host as _;
        let (_dir, db) = two_teams_entities().await;
        let env = probe_under_policy(
            &db,
            "catalog = { read = true }",
            &["probe.approve"],
            "probe.approve",
        );
        let mut session = Session::new(Arc::clone(&env), Some(alice()));
        let on = |r: &str| Some(r.to_owned());
        assert!(
            session
                .authorize("probe.approve".into(), on("component:default/pay"))
                .await
                .unwrap()
        );
        assert!(
            !session
                .authorize("probe.approve".into(), on("component:default/search"))
                .await
                .unwrap()
        );
        assert!(
            !session
                .authorize("probe.approve".into(), None)
                .await
                .unwrap(),
            "a condition needs an entity"
        );
        let undeclared = session
            .authorize("probe.other".into(), None)
            .await
            .unwrap_err();
        assert!(
            matches!(undeclared, HostError::InvalidArgument(_)),
            "{undeclared:?}"
        );
        let audit = AuditLog::new(db.clone()).recent(Some("probe"), 5).unwrap();
        assert_eq!(audit[0].action, "authorize");
        assert!(
            audit
                .iter()
                .any(|a| a.reason.contains("on component:default/search")),
            "{audit:?}"
        );
        let mut task = Session::new(env, None);
        assert!(
            !task
                .authorize("probe.approve".into(), on("component:default/pay"))
                .await
                .unwrap()
        );
    }
}
