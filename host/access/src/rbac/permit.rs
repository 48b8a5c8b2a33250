//! The one decision for a user's permission, and what it lets them do.
//!
//! Every place that asks whether a person may do something — a portal
//! handler, a plugin's `identity.authorize`, the broker on a plugin's
//! catalog write — asks [`Rbac::permit`] and gets a [`Permit`]: the
//! decision, made once, carrying what the caller may do with it (outright,
//! on one entity, or as the restriction a catalog query ANDs into its
//! SQL). A refusal is a [`Refusal`] with one reason format, which the
//! caller writes to its audit log once ([`Refusal::event`]).

use super::engine::{CatalogFilter, Decision, Outcome, Rbac};
use crate::Identity;
use crate::audit::{AuditEvent, Decision as AuditDecision};
use greenroom_catalog::Predicate;
use greenroom_model::permission::Permission;
use serde_json::Value;

/// What one user may do under one permission, decided once.
#[derive(Debug, Clone)]
pub struct Permit {
    actor: String,
    permission: Permission,
    decision: Decision,
}

/// Why a user may not do something: what the 403 says and the audit log
/// keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The acting user's entity reference.
    pub actor: String,
    /// The permission refused.
    pub permission: String,
    /// What it was refused on, when a resource was in question.
    pub resource: Option<String>,
    /// `<actor> may not <permission>[ on <resource>]: <the rule that
    /// decided>`.
    pub reason: String,
}

impl Rbac {
    /// The decision for `user` and `permission`: see the module's
    /// documentation.
    pub fn permit(&self, user: &Identity, permission: &Permission) -> Permit {
        Permit {
            actor: user.entity_ref.clone(),
            permission: permission.clone(),
            decision: self.decide(user, permission.as_str()),
        }
    }
}

impl Permit {
    /// The permission decided.
    pub fn permission(&self) -> &Permission {
        &self.permission
    }

    /// The decision, and the rule that made it.
    pub fn decision(&self) -> &Decision {
        &self.decision
    }

    /// Whether it is allowed whatever the resource (a conditional allow is
    /// not enough).
    pub fn allowed(&self) -> bool {
        self.decision.outcome == Outcome::Allow
    }

    /// Whether it is allowed only where conditions on the resource hold.
    pub fn conditional(&self) -> bool {
        matches!(self.decision.outcome, Outcome::Conditional(_))
    }

    /// Allowed outright, or the refusal (with no resource in question).
    pub fn require(&self) -> Result<(), Refusal> {
        match self.allowed() {
            true => Ok(()),
            false => Err(self.refusal(None)),
        }
    }

    /// What it lets through of catalog entities.
    pub fn catalog_filter(&self) -> CatalogFilter {
        self.decision.catalog_filter()
    }

    /// The restriction a catalog query ANDs into its SQL: `None` for
    /// everything, a predicate matching nothing for a refusal.
    pub fn restriction(&self) -> Option<Predicate> {
        self.catalog_filter().restriction()
    }

    /// Whether it allows acting on `entity` (its JSON, with `relations`):
    /// an allow does, a deny does not, a conditional allow where its
    /// conditions hold.
    pub fn allows_entity(&self, entity: &Value) -> bool {
        match &self.decision.outcome {
            Outcome::Allow => true,
            Outcome::Deny => false,
            Outcome::Conditional(condition) => condition.holds(entity),
        }
    }

    /// The refusal, on `resource` if one was in question.
    pub fn refusal(&self, resource: Option<&str>) -> Refusal {
        let on = resource.map(|r| format!(" on {r}")).unwrap_or_default();
        Refusal {
            actor: self.actor.clone(),
            permission: self.permission.to_string(),
            resource: resource.map(str::to_owned),
            reason: format!(
                "{} may not {}{on}: {}",
                self.actor,
                self.permission,
                self.decision.reason(self.permission.as_str())
            ),
        }
    }
}

impl Refusal {
    /// Its audit log row; `plugin` is the plugin that asked, if one did.
    pub fn event<'a>(&'a self, plugin: Option<&'a str>) -> AuditEvent<'a> {
        AuditEvent {
            actor: Some(&self.actor),
            plugin,
            action: &self.permission,
            resource: self.resource.as_deref(),
            decision: AuditDecision::Deny,
            reason: &self.reason,
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rbac::{HOST_PERMISSIONS, PolicyDocument};

    fn engine() -> Rbac {
        let known = HOST_PERMISSIONS
            .iter()
            .map(|p| p.name.to_string())
            .collect();
        let document = PolicyDocument::from_yaml(
            "version: 1
roles:
  - name: engineers
    members: [user:default/alice]
    policies:
      - permission: catalog.entity.read
        effect: allow
      - permission: catalog.entity.refresh
        effect: allow
        conditions: { rule: IS_ENTITY_KIND, params: { kinds: [component] } }
",
            "policy.yaml",
            &known,
        )
        .expect("a policy");
        Rbac::fixed(document, vec!["user:default/root".into()])
    }

    fn user(name: &str) -> Identity {
        Identity {
            entity_ref: format!("user:default/{name}"),
            display_name: name.into(),
            email: None,
            groups: Vec::new(),
            guest: false,
        }
    }

    fn alice() -> Identity {
        user("alice")
    }

    #[test]
    fn an_outright_allow_lets_everything_through() {
        let permit = engine().permit(&alice(), &Permission::CATALOG_ENTITY_READ);
        assert!(permit.allowed());
        assert_eq!(permit.require(), Ok(()));
        assert_eq!(permit.restriction(), None);
        assert!(permit.allows_entity(&serde_json::json!({ "kind": "Group" })));
    }

    #[test]
    fn a_conditional_allow_restricts_and_refuses_outright_use() {
        let permit = engine().permit(&alice(), &Permission::CATALOG_ENTITY_REFRESH);
        assert!(!permit.allowed());
        assert!(permit.restriction().is_some());
        assert!(permit.allows_entity(&serde_json::json!({ "kind": "Component" })));
        assert!(!permit.allows_entity(&serde_json::json!({ "kind": "Group" })));
        let refusal = permit.refusal(Some("group:default/team-a"));
        assert_eq!(
            refusal.reason,
            "user:default/alice may not catalog.entity.refresh on group:default/team-a: \
             role `engineers`, policy 1 (allow catalog.entity.refresh)"
        );
        let event = refusal.event(Some("probe"));
        assert_eq!(event.action, "catalog.entity.refresh");
        assert_eq!(event.resource, Some("group:default/team-a"));
        assert_eq!(event.plugin, Some("probe"));
    }

    #[test]
    fn a_refusal_matches_nothing_and_says_which_rule_decided() {
        let permit = engine().permit(&alice(), &Permission::CATALOG_LOCATION_DELETE);
        let refusal = permit.require().expect_err("default deny");
        assert_eq!(
            refusal.to_string(),
            "user:default/alice may not catalog.location.delete: no policy of the user's roles \
             allows catalog.location.delete (default deny)"
        );
        assert_eq!(refusal.resource, None);
        let nothing = permit.restriction().expect("a restriction");
        assert_eq!(nothing, Predicate::AnyOf(Vec::new()));
        assert!(!permit.allows_entity(&serde_json::json!({ "kind": "Component" })));
        // A bootstrap admin may do everything.
        let root = user("root");
        assert!(
            engine()
                .permit(&root, &Permission::CATALOG_LOCATION_DELETE)
                .allowed()
        );
    }
}
