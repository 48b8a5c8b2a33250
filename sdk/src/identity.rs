//! Who the plugin is acting for and what they may do. No capability needed.

use crate::bindings::greenroom::plugin::identity as wit;
use crate::{Result, User};

/// The acting user; `None` in scheduled tasks.
pub fn current_user() -> Option<User> {
    wit::current_user()
}

/// May the acting user do `permission` (declared in the plugin's manifest)
/// on the entity `resource` (or on nothing in particular)?
///
/// ```no_run
/// # fn f() -> greenroom_sdk::Result<()> {
/// if greenroom_sdk::identity::authorize("soundcheck.manual-check", Some("component:default/pay"))? {
///     // record the check
/// }
/// # Ok(()) }
/// ```
pub fn authorize(permission: &str, resource: Option<&str>) -> Result<bool> {
    Ok(wit::authorize(permission, resource)?)
}
