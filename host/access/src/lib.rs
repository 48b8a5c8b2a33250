//! Who is acting, and the record of what was decided.
//!
//! This crate owns identities ([`Identity`]: the person a request is made
//! for, resolved before any plugin runs) and the audit log ([`AuditLog`]:
//! every denial, with who, through which plugin, what and why). Sign-in,
//! roles and policies will live here too; until they do, the only identity
//! is the demo guest, which exists only when the operator turns it on.
//!
//! It must never trust an identity a plugin hands it: identities flow from
//! the request into plugins, never back.

mod audit;
mod identity;
pub mod rbac;

pub use audit::{AuditEntry, AuditError, AuditEvent, AuditLog, Decision};
pub use identity::Identity;
