//! Roles and policies, for a no-code editor such as the RBAC plugin. New in
//! contract 0.1.1.
//!
//! Needs the `rbac:admin` capability (`[capabilities] rbac = { admin = true
//! }`), and every call also needs an acting user who holds the `rbac.admin`
//! permission: for anyone else, and in scheduled tasks, each function
//! returns a `denied` error. Every change is written to the audit log with
//! the user's name.
//!
//! The policy travels as a YAML document in the format `greenroom rbac
//! export` writes (roles with members and policies, policies with
//! conditions); the host validates every document it is given.
//!
//! ```no_run
//! use greenroom_sdk::rbac;
//! # fn f() -> greenroom_sdk::Result<()> {
//! let yaml = "roles:\n- name: readers\n  members: [group:default/everyone]\n  policies:\n  - { permission: catalog.entity.read, effect: allow }\n";
//! match rbac::save_draft(yaml)? {
//!     Ok(_draft) => {
//!         rbac::publish("let everyone read the catalog")?;
//!     }
//!     Err(problems) => {
//!         for problem in problems {
//!             greenroom_sdk::log::warn(&format!("{}: {}", problem.path, problem.message));
//!         }
//!     }
//! }
//! let answer = rbac::test("user:default/jane", "catalog.entity.read", None, false)?;
//! assert_eq!(answer.verdict, rbac::Verdict::Allowed);
//! # Ok(()) }
//! ```

use crate::Result;
use crate::bindings::greenroom::plugin::rbac_admin as wit;

pub use wit::{Decision, Permission, PolicyVersion, Problem, Verdict, VersionStatus};

/// Every permission policies may name: the host's and the plugins'.
pub fn permissions() -> Result<Vec<Permission>> {
    Ok(wit::permissions()?)
}

/// The version in force, if one was ever published.
pub fn published() -> Result<Option<PolicyVersion>> {
    Ok(wit::published()?)
}

/// The draft being edited, if any.
pub fn draft() -> Result<Option<PolicyVersion>> {
    Ok(wit::draft()?)
}

/// Every published version, newest first.
pub fn history() -> Result<Vec<PolicyVersion>> {
    Ok(wit::history()?)
}

/// One version, draft or published.
pub fn version(id: u64) -> Result<Option<PolicyVersion>> {
    Ok(wit::version(id)?)
}

/// Every problem with `document`; empty when it is valid.
pub fn validate(document: &str) -> Result<Vec<Problem>> {
    Ok(wit::validate(document)?)
}

/// Saves `document` as the draft: its id, or its problems (then nothing
/// was saved).
pub fn save_draft(document: &str) -> Result<core::result::Result<u64, Vec<Problem>>> {
    Ok(wit::save_draft(document)?)
}

/// Throws the draft away; whether there was one.
pub fn discard_draft() -> Result<bool> {
    Ok(wit::discard_draft()?)
}

/// Publishes the draft: in force from the next request on. Returns the new
/// version's id.
pub fn publish(note: &str) -> Result<u64> {
    Ok(wit::publish(note)?)
}

/// Publishes a copy of the earlier version `id`. Returns the new version's
/// id.
pub fn revert(id: u64, note: &str) -> Result<u64> {
    Ok(wit::revert(id, note)?)
}

/// May `user` do `permission` (on `entity`), and which rule decides? On the
/// draft when `on_draft`, else on the version in force.
pub fn test(
    user: &str,
    permission: &str,
    entity: Option<&str>,
    on_draft: bool,
) -> Result<Decision> {
    Ok(wit::test(user, permission, entity, on_draft)?)
}
