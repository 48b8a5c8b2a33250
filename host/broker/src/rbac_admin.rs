//! `greenroom:plugin/rbac-admin` (0.1.1): roles and policies, for plugins
//! granted `rbac:admin` and acting for a user who holds `rbac.admin`.
//!
//! Every call is decided first ([`Session::decide`] with
//! [`Access::RbacAdmin`]); then it works on the same store of policy
//! versions `greenroom rbac import` and the portal use, and every change
//! reloads the engine, so a published version is in force from the next
//! request on.

use crate::session::{Access, Session};
use greenroom_access::Identity;
use greenroom_access::rbac::{
    Outcome, PolicyDocument, PolicyError, PolicyStore, PolicyVersion, Rbac,
};
use greenroom_contract::wit::latest::greenroom::plugin::rbac_admin::{
    Decision, Host, Permission, PolicyVersion as WitVersion, Problem, Verdict, VersionStatus,
};
use greenroom_contract::wit::latest::greenroom::plugin::types::HostError;

impl Session {
    /// Decides `operation` and hands back the engine and its store.
    fn rbac_admin(
        &self,
        operation: &'static str,
    ) -> Result<(Rbac, PolicyStore, String), HostError> {
        self.decide(Access::RbacAdmin { operation })?;
        // `decide` refuses without an engine or a user, so both are here.
        let rbac = self
            .env()
            .rbac()
            .cloned()
            .ok_or_else(|| HostError::Unavailable("this host has no policy engine".into()))?;
        let store = rbac.store().cloned().ok_or_else(|| {
            HostError::Unavailable("this host keeps no policy versions (a fixed policy)".into())
        })?;
        let author = self
            .user()
            .map(|u| u.entity_ref.clone())
            .ok_or_else(|| HostError::Denied("no acting user".into()))?;
        Ok((rbac, store, author))
    }
}

fn internal(error: impl std::fmt::Display) -> HostError {
    HostError::Internal(format!("policy store: {error}"))
}

/// Reads `text`, or every problem with it.
fn parse(rbac: &Rbac, text: &str) -> Result<PolicyDocument, Vec<Problem>> {
    PolicyDocument::from_yaml(text, "document", &rbac.known_permissions()).map_err(|e| match e {
        PolicyError::Syntax { message, .. } => vec![Problem {
            path: "document".into(),
            message,
        }],
        PolicyError::Invalid { problems, .. } => problems
            .into_iter()
            .map(|p| match p.split_once(": ") {
                Some((path, message)) => Problem {
                    path: path.to_owned(),
                    message: message.to_owned(),
                },
                None => Problem {
                    path: String::new(),
                    message: p,
                },
            })
            .collect(),
    })
}

fn wit_version(version: PolicyVersion, published: Option<i64>) -> WitVersion {
    let status = match version.status.as_str() {
        "draft" => VersionStatus::Draft,
        _ if Some(version.id) == published => VersionStatus::Published,
        _ => VersionStatus::Superseded,
    };
    WitVersion {
        id: u64::try_from(version.id).unwrap_or_default(),
        status,
        document: version.document.to_yaml(),
        author: version.author,
        note: version.note,
        saved_at: u64::try_from(version.at_ms).unwrap_or_default(),
    }
}

fn version_id(id: u64) -> Result<i64, HostError> {
    i64::try_from(id).map_err(|_| HostError::InvalidArgument(format!("no policy version {id}")))
}

impl Session {
    /// The identity of `user` as the catalog has it: their groups,
    /// transitively, as sign-in would resolve them.
    fn identity_of(&self, user: &str) -> Result<Identity, HostError> {
        let catalog = self.env().catalog();
        let profile = catalog.user(user).map_err(internal)?.ok_or_else(|| {
            HostError::InvalidArgument(format!("`{user}` is not a User in the catalog"))
        })?;
        Ok(Identity {
            groups: catalog.groups_of(&profile.entity_ref).map_err(internal)?,
            entity_ref: profile.entity_ref,
            display_name: profile.display_name,
            email: profile.email,
            guest: false,
        })
    }
}

impl Host for Session {
    async fn permissions(&mut self) -> Result<Vec<Permission>, HostError> {
        let (rbac, _, _) = self.rbac_admin("rbac-admin.permissions")?;
        Ok(rbac
            .permissions()
            .into_iter()
            .map(|p| Permission {
                name: p.name,
                description: p.description,
                plugin: p.plugin,
                on_entities: p.on_entities,
            })
            .collect())
    }

    async fn published(&mut self) -> Result<Option<WitVersion>, HostError> {
        let (_, store, _) = self.rbac_admin("rbac-admin.published")?;
        let published = store.published().map_err(internal)?;
        let id = published.as_ref().map(|v| v.id);
        Ok(published.map(|v| wit_version(v, id)))
    }

    async fn draft(&mut self) -> Result<Option<WitVersion>, HostError> {
        let (_, store, _) = self.rbac_admin("rbac-admin.draft")?;
        Ok(store
            .draft()
            .map_err(internal)?
            .map(|v| wit_version(v, None)))
    }

    async fn history(&mut self) -> Result<Vec<WitVersion>, HostError> {
        let (_, store, _) = self.rbac_admin("rbac-admin.history")?;
        let published = store.published_id().map_err(internal)?;
        Ok(store
            .history()
            .map_err(internal)?
            .into_iter()
            .map(|v| wit_version(v, published))
            .collect())
    }

    async fn version(&mut self, id: u64) -> Result<Option<WitVersion>, HostError> {
        let (_, store, _) = self.rbac_admin("rbac-admin.version")?;
        let published = store.published_id().map_err(internal)?;
        let Ok(id) = i64::try_from(id) else {
            return Ok(None);
        };
        Ok(store
            .version(id)
            .map_err(internal)?
            .map(|v| wit_version(v, published)))
    }

    async fn validate(&mut self, document: String) -> Result<Vec<Problem>, HostError> {
        let (rbac, _, _) = self.rbac_admin("rbac-admin.validate")?;
        Ok(parse(&rbac, &document).err().unwrap_or_default())
    }

    async fn save_draft(
        &mut self,
        document: String,
    ) -> Result<Result<u64, Vec<Problem>>, HostError> {
        let (rbac, store, author) = self.rbac_admin("rbac-admin.save-draft")?;
        let document = match parse(&rbac, &document) {
            Ok(document) => document,
            Err(problems) => return Ok(Err(problems)),
        };
        let id = store.save_draft(&document, &author).map_err(internal)?;
        self.env().audit().change(
            &author,
            Some(self.env().id().as_str()),
            "rbac.save-draft",
            &format!("saved policy draft {id} ({} roles)", document.roles.len()),
        );
        Ok(Ok(u64::try_from(id).unwrap_or_default()))
    }

    async fn discard_draft(&mut self) -> Result<bool, HostError> {
        let (_, store, author) = self.rbac_admin("rbac-admin.discard-draft")?;
        store.discard_draft(&author).map_err(internal)
    }

    async fn publish(&mut self, note: String) -> Result<u64, HostError> {
        let (rbac, store, author) = self.rbac_admin("rbac-admin.publish")?;
        let draft = store
            .draft()
            .map_err(internal)?
            .ok_or_else(|| HostError::InvalidArgument("there is no draft to publish".into()))?;
        // Permissions may have gone since the draft was saved.
        let document = parse(&rbac, &draft.document.to_yaml()).map_err(|problems| {
            HostError::InvalidArgument(format!(
                "the draft is no longer valid: {}",
                problems
                    .iter()
                    .map(|p| format!("{}: {}", p.path, p.message))
                    .collect::<Vec<_>>()
                    .join("; ")
            ))
        })?;
        let id = store.publish(&document, &author, &note).map_err(internal)?;
        rbac.reload().map_err(internal)?;
        Ok(u64::try_from(id).unwrap_or_default())
    }

    async fn revert(&mut self, id: u64, note: String) -> Result<u64, HostError> {
        let (rbac, store, author) = self.rbac_admin("rbac-admin.revert")?;
        let old = store
            .version(version_id(id)?)
            .map_err(internal)?
            .filter(|v| v.status == "published")
            .ok_or_else(|| {
                HostError::InvalidArgument(format!("no published policy version {id}"))
            })?;
        let note = if note.is_empty() {
            format!("revert to version {id}")
        } else {
            note
        };
        let new = store
            .publish(&old.document, &author, &note)
            .map_err(internal)?;
        rbac.reload().map_err(internal)?;
        Ok(u64::try_from(new).unwrap_or_default())
    }

    async fn test(
        &mut self,
        user: String,
        permission: String,
        entity: Option<String>,
        on_draft: bool,
    ) -> Result<Decision, HostError> {
        let (rbac, store, _) = self.rbac_admin("rbac-admin.test")?;
        if !rbac.known_permissions().contains(&permission) {
            return Err(HostError::InvalidArgument(format!(
                "`{permission}` is not a permission of this host or its plugins"
            )));
        }
        let identity = self.identity_of(&user.to_lowercase())?;
        let decision = if on_draft {
            let draft = store
                .draft()
                .map_err(internal)?
                .ok_or_else(|| HostError::InvalidArgument("there is no draft to test".into()))?;
            rbac.decide_on(&draft.document, &identity, &permission)
        } else {
            rbac.decide(&identity, &permission)
        };
        let verdict = match (&decision.outcome, &entity) {
            (Outcome::Allow, _) => Verdict::Allowed,
            (Outcome::Deny, _) => Verdict::Denied,
            (Outcome::Conditional(_), None) => Verdict::Conditional,
            (Outcome::Conditional(condition), Some(entity_ref)) => {
                let found = self
                    .env()
                    .catalog()
                    .entity_by_ref(entity_ref)
                    .map_err(internal)?
                    .ok_or_else(|| {
                        HostError::InvalidArgument(format!("`{entity_ref}` is not in the catalog"))
                    })?;
                if condition.holds(&found) {
                    Verdict::Allowed
                } else {
                    Verdict::Denied
                }
            }
        };
        let conditions = match &decision.outcome {
            Outcome::Conditional(condition) => Some(condition.describe()),
            _ => None,
        };
        let mut decided_by = decision.reason(&permission);
        if let (Some(entity_ref), Some(conditions)) = (&entity, &conditions) {
            let holds = if verdict == Verdict::Allowed {
                "hold"
            } else {
                "do not hold"
            };
            decided_by =
                format!("{decided_by}; its conditions {conditions} {holds} for {entity_ref}");
        }
        Ok(Decision {
            verdict,
            decided_by,
            conditions,
            groups: identity.groups,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PluginEnv;
    use crate::session::tests::env_with;
    use greenroom_access::AuditLog;
    use greenroom_contract::Grant;
    use greenroom_contract::Manifest;
    use greenroom_contract::wit::latest::greenroom::plugin::catalog::Host as _;
    use greenroom_store::Database;
    use serde_json::json;
    use std::sync::Arc;

    const ROOT: &str = "user:default/root";

    const OWNERS_READ: &str = "roles:\n  - name: owners\n    members: [group:default/team-a]\n    policies:\n      - permission: catalog.entity.read\n        effect: allow\n        conditions: { rule: IS_ENTITY_OWNER }\n";

    /// A catalog with team-a, alice in it, bob in no team, root, and
    /// team-a's component `pay`; and an engine over a policy store with
    /// root as bootstrap admin.
    async fn organisation() -> (tempfile::TempDir, Database, Rbac) {
        let (dir, db, env) =
            env_with("catalog = { read = true, write = [\"User\", \"Group\", \"Component\"] }");
        let entity = |kind: &str, name: &str, spec: serde_json::Value| {
            json!({"apiVersion": "backstage.io/v1alpha1", "kind": kind, "metadata": {"name": name}, "spec": spec})
                .to_string()
        };
        Session::new(env, None)
            .upsert_entities(vec![
                entity("Group", "team-a", json!({"type": "team", "children": []})),
                entity("User", "alice", json!({"memberOf": ["team-a"]})),
                entity("User", "bob", json!({"memberOf": []})),
                entity("User", "root", json!({"memberOf": []})),
                entity(
                    "Component",
                    "pay",
                    json!({"type": "service", "lifecycle": "production", "owner": "team-a"}),
                ),
            ])
            .await
            .expect("organisation written");
        let rbac = Rbac::new(PolicyStore::new(db.clone()), vec![ROOT.into()]).expect("engine");
        (dir, db, rbac)
    }

    fn person(name: &str, groups: &[&str]) -> Identity {
        Identity {
            entity_ref: format!("user:default/{name}"),
            display_name: name.into(),
            email: None,
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            guest: false,
        }
    }

    /// A session of a plugin with `capabilities`, acting for `user`.
    fn admin_plugin(
        db: &Database,
        rbac: &Rbac,
        capabilities: &str,
        user: Option<Identity>,
    ) -> Session {
        let manifest = Manifest::from_toml(&format!(
            "id = \"rbac\"\nname = \"RBAC\"\nversion = \"1.0.0\"\ntier = \"open\"\n[capabilities]\n{capabilities}"
        ))
        .expect("valid manifest");
        // The organisation is written by a plugin (`organisation`); here
        // the operator lets plugins' people count.
        let rules = greenroom_catalog::CatalogRules {
            plugin_people_confer_roles: true,
            ..Default::default()
        };
        let env = PluginEnv::new(&manifest, Grant::all_requested(&manifest), json!({}), db)
            .with_catalog(greenroom_catalog::CatalogStore::new(db.clone()).with_rules(rules))
            .with_rbac(rbac.clone());
        Session::new(Arc::new(env), user)
    }

    fn granted(db: &Database, rbac: &Rbac, user: Option<Identity>) -> Session {
        admin_plugin(db, rbac, "rbac = { admin = true }", user)
    }

    fn denials(db: &Database) -> Vec<String> {
        AuditLog::new(db.clone())
            .recent(Some("rbac"), 50)
            .expect("audit readable")
            .into_iter()
            .filter(|e| e.decision == greenroom_access::Decision::Deny)
            .map(|e| format!("{} {}", e.action, e.reason))
            .collect()
    }

    #[tokio::test]
    async fn a_user_without_rbac_admin_can_neither_read_nor_change_policies() {
        let (_dir, db, rbac) = organisation().await;
        let mut alice = granted(&db, &rbac, Some(person("alice", &["group:default/team-a"])));
        assert!(
            matches!(alice.published().await, Err(HostError::Denied(m)) if m.contains("rbac.admin"))
        );
        assert!(matches!(
            alice.save_draft(OWNERS_READ.into()).await,
            Err(HostError::Denied(_))
        ));
        assert!(matches!(
            alice.publish(String::new()).await,
            Err(HostError::Denied(_))
        ));
        assert!(matches!(
            alice
                .test(ROOT.into(), "rbac.admin".into(), None, false)
                .await,
            Err(HostError::Denied(_))
        ));
        assert_eq!(
            rbac.store().unwrap().draft().unwrap(),
            None,
            "nothing was saved"
        );
        let audited = denials(&db);
        assert_eq!(audited.len(), 4, "{audited:?}");
        assert!(
            audited[0].contains("user:default/alice may not rbac.admin"),
            "{audited:?}"
        );
    }

    #[tokio::test]
    async fn a_scheduled_task_is_refused_even_with_the_grant() {
        let (_dir, db, rbac) = organisation().await;
        let err = granted(&db, &rbac, None).permissions().await.unwrap_err();
        assert!(
            matches!(&err, HostError::Denied(m) if m.contains("acting user")),
            "{err:?}"
        );
        assert_eq!(denials(&db).len(), 1);
    }

    #[tokio::test]
    async fn an_admin_gets_nothing_through_a_plugin_without_the_grant() {
        let (_dir, db, rbac) = organisation().await;
        let mut root = admin_plugin(
            &db,
            &rbac,
            "catalog = { read = true }",
            Some(person("root", &[])),
        );
        let err = root.save_draft(OWNERS_READ.into()).await.unwrap_err();
        assert!(
            matches!(&err, HostError::Denied(m) if m.contains("rbac:admin")),
            "{err:?}"
        );
        assert_eq!(rbac.store().unwrap().draft().unwrap(), None);
    }

    #[tokio::test]
    async fn a_draft_with_problems_is_not_saved_and_each_problem_says_where() {
        let (_dir, db, rbac) = organisation().await;
        let mut root = granted(&db, &rbac, Some(person("root", &[])));
        let bad = OWNERS_READ.replace("catalog.entity.read", "catalog.entity.eat");
        let problems = root.save_draft(bad.clone()).await.unwrap().unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].path, "roles[0] (owners).policies[0]");
        assert!(
            problems[0].message.contains("catalog.entity.eat"),
            "{problems:?}"
        );
        assert_eq!(root.validate(bad).await.unwrap(), problems);
        let syntax = root
            .save_draft("roles: [".into())
            .await
            .unwrap()
            .unwrap_err();
        assert!(syntax[0].message.contains("line"), "{syntax:?}");
        assert_eq!(root.draft().await.unwrap(), None);
    }

    #[tokio::test]
    async fn draft_test_publish_and_revert() {
        let (_dir, db, rbac) = organisation().await;
        let mut root = granted(&db, &rbac, Some(person("root", &[])));
        let alice = person("alice", &["group:default/team-a"]);

        root.save_draft(OWNERS_READ.into())
            .await
            .unwrap()
            .expect("valid draft");
        // The tester answers for the draft before anything is in force.
        let on_draft = root
            .test(
                "user:default/alice".into(),
                "catalog.entity.read".into(),
                Some("component:default/pay".into()),
                true,
            )
            .await
            .unwrap();
        assert_eq!(on_draft.verdict, Verdict::Allowed, "{on_draft:?}");
        assert!(
            on_draft.decided_by.contains("role `owners`"),
            "{on_draft:?}"
        );
        assert!(
            on_draft
                .conditions
                .as_deref()
                .unwrap()
                .contains("IS_ENTITY_OWNER")
        );
        assert_eq!(on_draft.groups, vec!["group:default/team-a".to_owned()]);
        let bob = root
            .test(
                "user:default/bob".into(),
                "catalog.entity.read".into(),
                Some("component:default/pay".into()),
                true,
            )
            .await
            .unwrap();
        assert_eq!(bob.verdict, Verdict::Denied);
        assert!(bob.decided_by.contains("default deny"), "{bob:?}");
        let in_force = root
            .test(
                "user:default/alice".into(),
                "catalog.entity.read".into(),
                None,
                false,
            )
            .await
            .unwrap();
        assert_eq!(
            in_force.verdict,
            Verdict::Denied,
            "nothing is published yet"
        );
        assert_eq!(
            rbac.decide(&alice, "catalog.entity.read").outcome,
            Outcome::Deny
        );

        let first = root.publish("owners read their own".into()).await.unwrap();
        assert!(
            matches!(
                rbac.decide(&alice, "catalog.entity.read").outcome,
                Outcome::Conditional(_)
            ),
            "in force at once"
        );
        assert_eq!(
            root.draft().await.unwrap(),
            None,
            "publishing uses up the draft"
        );
        assert!(matches!(
            root.publish(String::new()).await,
            Err(HostError::InvalidArgument(_))
        ));

        let everyone = OWNERS_READ.replace("        conditions: { rule: IS_ENTITY_OWNER }\n", "");
        root.save_draft(everyone).await.unwrap().unwrap();
        let second = root.publish("everything".into()).await.unwrap();
        assert_eq!(
            rbac.decide(&alice, "catalog.entity.read").outcome,
            Outcome::Allow
        );

        let third = root.revert(first, String::new()).await.unwrap();
        assert!(third > second);
        assert!(matches!(
            rbac.decide(&alice, "catalog.entity.read").outcome,
            Outcome::Conditional(_)
        ));
        let history = root.history().await.unwrap();
        let statuses: Vec<(u64, VersionStatus)> =
            history.iter().map(|v| (v.id, v.status)).collect();
        assert_eq!(
            statuses,
            vec![
                (third, VersionStatus::Published),
                (second, VersionStatus::Superseded),
                (first, VersionStatus::Superseded)
            ]
        );
        assert_eq!(history[0].note, format!("revert to version {first}"));
        assert_eq!(history[0].author, ROOT);
        assert_eq!(history[0].document, history[2].document);
        assert!(matches!(
            root.revert(999, String::new()).await,
            Err(HostError::InvalidArgument(_))
        ));

        let changes: Vec<String> = AuditLog::new(db.clone())
            .recent(None, 50)
            .unwrap()
            .into_iter()
            .filter(|e| e.action.starts_with("rbac."))
            .map(|e| format!("{} {}", e.actor.unwrap_or_default(), e.action))
            .collect();
        assert!(
            changes.contains(&format!("{ROOT} rbac.publish")),
            "{changes:?}"
        );
        assert!(
            changes.contains(&format!("{ROOT} rbac.save-draft")),
            "{changes:?}"
        );
    }

    #[tokio::test]
    async fn the_tester_refuses_what_does_not_exist() {
        let (_dir, db, rbac) = organisation().await;
        let mut root = granted(&db, &rbac, Some(person("root", &[])));
        // Published, so the last case's conditional allow reaches the
        // entity lookup.
        root.save_draft(OWNERS_READ.into()).await.unwrap().unwrap();
        root.publish(String::new()).await.unwrap();
        for (user, permission, entity) in [
            ("user:default/nobody", "catalog.entity.read", None),
            ("user:default/alice", "catalog.entity.eat", None),
            (
                "user:default/alice",
                "catalog.entity.read",
                Some("component:default/gone"),
            ),
        ] {
            let answer = root
                .test(
                    user.into(),
                    permission.into(),
                    entity.map(str::to_owned),
                    false,
                )
                .await;
            assert!(
                matches!(answer, Err(HostError::InvalidArgument(_))),
                "{user} {permission} {entity:?}: {answer:?}"
            );
        }
    }

    #[tokio::test]
    async fn permissions_list_the_hosts_and_the_plugins_with_descriptions() {
        let (_dir, db, rbac) = organisation().await;
        rbac.declare_described([(
            "soundcheck.admin".to_owned(),
            "Configure Soundcheck".to_owned(),
        )]);
        let listed = granted(&db, &rbac, Some(person("root", &[])))
            .permissions()
            .await
            .unwrap();
        let read = listed
            .iter()
            .find(|p| p.name == "catalog.entity.read")
            .unwrap();
        assert!(read.on_entities && read.plugin.is_none());
        let admin = listed.iter().find(|p| p.name == "rbac.admin").unwrap();
        assert!(!admin.on_entities);
        let theirs = listed
            .iter()
            .find(|p| p.name == "soundcheck.admin")
            .unwrap();
        assert_eq!(theirs.plugin.as_deref(), Some("soundcheck"));
        assert_eq!(theirs.description, "Configure Soundcheck");
    }
}
