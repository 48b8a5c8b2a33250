//! The permissions Soundcheck declares (`[[permissions]]` in the manifest),
//! asked of the host's roles and policies through `identity::authorize`.

use greenroom_sdk::{Error, Result, identity};

/// Edit the configuration in the admin pages, push facts and results as a
/// user, run collectors and evaluations on demand.
pub const ADMIN: &str = "soundcheck.admin";

/// Record a manual check on an entity. Nobody holds it until a role grants
/// it, usually to owners with an `IS_ENTITY_OWNER` condition.
pub const MANUAL_CHECK: &str = "soundcheck.manual-check";

/// Whether the acting user may do `permission` (on the entity `resource`).
/// A host without a policy engine answers no.
pub fn may(permission: &str, resource: Option<&str>) -> Result<bool> {
    match identity::authorize(permission, resource) {
        Ok(allowed) => Ok(allowed),
        Err(Error::Host(e)) if e.is_unavailable() => Ok(false),
        Err(e) => Err(e),
    }
}
