//! Who is acting, and the record of what was decided.
//!
//! This crate owns identities ([`Identity`]: the person a request is made
//! for, resolved before any plugin runs), sign-in ([`SignIn`]: a trusted
//! proxy's header or OpenID Connect, sessions in signed cookies backed by
//! the database, and the catalog User and groups a sign-in resolves to),
//! roles and policies ([`rbac`]), and the audit log ([`AuditLog`]: every
//! denial and sign-in, with who, through which plugin, what and why).
//!
//! It speaks no HTTP framework: the portal hands it a request's peer
//! address, headers and session cookie, and sets the cookies it returns.
//!
//! It must never trust an identity a plugin hands it: identities flow from
//! the request into plugins, never back.

mod audit;
mod directory;
mod oidc;
mod proxy;
pub mod rbac;
mod session;
mod sign_in;

pub use audit::{
    AuditEntry, AuditError, AuditEvent, AuditLog, AuditPage, AuditQuery, DROPPED_ACTION, Decision,
    MAX_AUDIT_PAGE, MAX_AUDIT_REASON_BYTES, MAX_AUDIT_RESOURCE_BYTES, UNSIGNED_AUDIT_BURST,
    UNSIGNED_AUDIT_PER_SECOND, truncate,
};
pub use directory::{Claims, EXTERNAL_NAMESPACE, Refusal, Resolver, SignedInUser, UnknownUsers};
pub use greenroom_model::Identity;
pub use oidc::{CALLBACK_PATH, OidcError, OidcSettings, OidcSignIn, PendingSignIn};
pub use proxy::{ProxySignIn, TrustedProxies};
pub use session::{IssuedSession, SESSION_COOKIE, SessionError, SessionKey};
pub use sign_in::{
    DEFAULT_SESSION_LIFETIME, PENDING_SIGN_IN_TTL, Resolution, SignIn, SignInError, SignInSettings,
};
