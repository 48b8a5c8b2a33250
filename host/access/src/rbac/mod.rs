//! Roles and policies (RBAC): who may do what, on which catalog entities.
//!
//! A [`PolicyDocument`] holds roles; each role has members (users and
//! groups from the catalog, groups counting their subgroups' members) and
//! policies that allow or deny a permission — the host's
//! ([`HOST_PERMISSIONS`]) or one a plugin declares — optionally only where
//! conditions on the entity hold (is owner, is kind, has annotation, label,
//! metadata or spec field; `allOf`/`anyOf`/`not`). Default deny: what no
//! policy allows is refused, and a deny wins over an allow.
//!
//! [`Rbac::permit`] is the one decision for a user and a permission: a
//! [`Permit`] says what it allows outright, on one entity, or — for
//! catalog permissions — as a predicate the catalog compiles to SQL, so a
//! list is filtered in the database; a refusal ([`Refusal`]) has one reason
//! format and becomes one audit row.
//! Versions of the policy are kept in the store ([`PolicyStore`]); the
//! configuration's bootstrap admins may always do everything, so a bad
//! policy can always be repaired.

mod engine;
mod permissions;
mod permit;
mod store;

pub use engine::{
    CatalogFilter, Cond, DecidedBy, Decision as RbacDecision, KnownPermission, Outcome, Rbac,
    decide_with,
};
pub use greenroom_model::permission::Permission;
pub use greenroom_model::policy::{
    Condition, Effect, Policy, PolicyDocument, PolicyError, Role, RuleName, RuleParams,
    permission_matches,
};
pub use permissions::{HOST_PERMISSIONS, HostPermission, on_catalog_entities};
pub use permit::{Permit, Refusal};
pub use store::{PolicyStore, PolicyVersion};

/// What can go wrong reading or writing policies.
#[derive(Debug, thiserror::Error)]
pub enum RbacError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] greenroom_store::StoreError),
    /// A statement failed.
    #[error("policies: {0}")]
    Sql(#[from] rusqlite::Error),
    /// A stored version does not parse.
    #[error("a stored policy is corrupt: {0}")]
    Corrupt(String),
}

#[cfg(test)]
mod tests;
