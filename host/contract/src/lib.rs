//! The plugin contract, as the host sees it.
//!
//! This crate owns three things every other host crate agrees on:
//!
//! - [`wit`]: the host bindings of each released version of the WIT package
//!   `greenroom:plugin` (one module per version, as `wit/since_vX.Y.Z/` holds
//!   one folder per version), and the rule for which versions this host loads;
//! - [`Manifest`]: what a plugin declares about itself — id, version, tier,
//!   requested capabilities (HTTP ones as [`HttpOrigin`]s), UI slots,
//!   permissions, tasks and settings schema — parsed and validated so that
//!   the rest of the host only meets valid ones;
//! - [`Artifact`]: a plugin file as installed: the component bytes, their
//!   sha256 digest, and the manifest and WIT version read from the component's
//!   custom sections *without running it*;
//! - [`Grant`]: what the operator allowed a plugin of the capabilities its
//!   manifest requests, never more than the request;
//! - [`wit_entity`] and [`wit_user`]: the contract's records made from a
//!   stored entity and an identity, for whoever hands them to a plugin.
//!
//! It must never run plugin code or decide what a plugin may do: running is
//! `greenroom-runtime`'s job and deciding, for each call against the grant,
//! is `greenroom-broker`'s.

mod artifact;
mod grant;
mod manifest;
mod origin;
mod records;
pub mod view;
pub mod wit;

pub use artifact::{Artifact, ArtifactError, Digest, MANIFEST_SECTION, WIT_VERSION_SECTION};
pub use grant::{Coverage, Grant, GrantError, grant_specs};
pub use manifest::{
    Capability, Manifest, ManifestError, PermissionDecl, PluginId, SlotDecl, SlotKind, TaskDecl,
    Tier,
};
pub use origin::{HttpOrigin, HttpScheme, OriginError};
pub use records::{wit_entity, wit_user};
