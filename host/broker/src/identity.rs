//! `greenroom:plugin/identity`: the acting user and `authorize`.

use crate::session::Session;
use greenroom_access::rbac::Permission;
use greenroom_contract::wit::latest::greenroom::plugin::identity::Host;
use greenroom_contract::wit::latest::greenroom::plugin::types::{HostError, User};
use greenroom_contract::wit_user;

impl Host for Session {
    async fn current_user(&mut self) -> Option<User> {
        self.user().map(wit_user)
    }

    /// May the acting user do the plugin's own `permission` (on the
    /// catalog entity `resource`)? RBAC decides, as for the host's
    /// permissions: a conditional allow holds only for an entity whose
    /// conditions hold. No acting user (a scheduled task): no. A refusal is
    /// `false` and a line in the audit log.
    async fn authorize(
        &mut self,
        permission: String,
        resource: Option<String>,
    ) -> Result<bool, HostError> {
        if !self.env().declares_permission(&permission) {
            return Err(HostError::InvalidArgument(format!(
                "permission `{permission}` is not declared in the plugin's manifest (`[[permissions]]`)"
            )));
        }
        let Some(rbac) = self.env().rbac().cloned() else {
            return Err(HostError::Unavailable(
                "this Greenroom host has no policy engine".into(),
            ));
        };
        let Some(user) = self.user().cloned() else {
            return Ok(false);
        };
        let permit = rbac.permit(&user, &Permission::new(permission.clone()));
        let allowed = match &resource {
            _ if permit.allowed() => true,
            // A conditional allow holds for an entity whose conditions
            // hold; the entity is read only then.
            Some(entity_ref) if permit.conditional() => self
                .env()
                .catalog()
                .entity_by_ref(entity_ref)
                .map_err(|e| HostError::Internal(format!("catalog: {e}")))?
                .is_some_and(|entity| permit.allows_entity(&entity)),
            _ => false,
        };
        if !allowed {
            let refusal = permit.refusal(resource.as_deref());
            self.audit_denial("authorize", Some(&permission), &refusal.reason);
        }
        Ok(allowed)
    }
}
