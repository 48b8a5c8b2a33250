//! `greenroom:plugin/identity`: the acting user and `authorize`.

use crate::session::Session;
use greenroom_access::Identity;
use greenroom_contract::wit::latest::greenroom::plugin::identity::Host;
use greenroom_contract::wit::latest::greenroom::plugin::types::{HostError, User};

/// The contract's view of an identity.
pub fn wit_user(identity: &Identity) -> User {
    User {
        ref_: identity.entity_ref.clone(),
        display_name: identity.display_name.clone(),
        email: identity.email.clone(),
        groups: identity.groups.clone(),
        guest: identity.guest,
    }
}

impl Host for Session {
    async fn current_user(&mut self) -> Option<User> {
        self.user().map(wit_user)
    }

    async fn authorize(
        &mut self,
        permission: String,
        _resource: Option<String>,
    ) -> Result<bool, HostError> {
        if !self.env().declares_permission(&permission) {
            return Err(HostError::InvalidArgument(format!(
                "permission `{permission}` is not declared in the plugin's manifest (`[[permissions]]`)"
            )));
        }
        Err(HostError::Unavailable(
            "this Greenroom host has no policy engine yet".into(),
        ))
    }
}
