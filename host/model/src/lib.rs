//! Pure data the host and guest plugins share: who is acting
//! ([`Identity`]), entity references ([`EntityRef`]), permissions
//! ([`Permission`], with the host's as constants) and the RBAC policy
//! document ([`policy`]: roles, policies, conditions, their checks and
//! their YAML).
//!
//! This crate owns the shape of that data and the rules that need nothing
//! but the data. It must never do I/O, hold state or depend on the runtime
//! or the store: the RBAC plugin compiles it to wasm32-wasip2, so that the
//! host and the plugin read and write one policy model, not two copies
//! that must agree byte for byte.

pub mod entity;
mod identity;
pub mod permission;
pub mod policy;

pub use entity::{DEFAULT_NAMESPACE, EntityRef, RefError};
pub use identity::Identity;
pub use permission::Permission;
pub use policy::PolicyDocument;
