//! Marketplace indexes.
//!
//! This crate owns the index format (`marketplace-index.toml`: plugins, their
//! versions, where each artifact is, its sha256, the publisher's ed25519
//! signature and the capabilities it requests), publisher keys, and
//! [`verify`]: whether an artifact's bytes are exactly what a trusted
//! publisher signed and what the index describes. Installing, upgrading and
//! removing plugins at run time build on it.
//!
//! It also keeps the record of installed plugins (what was verified, what
//! the operator granted) in the data directory's database.
//!
//! [`Marketplace`] installs, upgrades, removes, enables and disables
//! plugins on a data directory, for the CLI and the admin API alike.
//! [`Suspensions`] remembers the plugins of the configuration file an admin
//! turned off while the server runs.
//!
//! It must never load or run a plugin, nor decide what a plugin is granted:
//! it answers whether bytes are what they claim to be, and remembers the
//! operator's decisions.

mod index;
mod installed;
mod keys;
mod lifecycle;
mod suspended;

pub use index::{
    Index, IndexError, IndexPlugin, IndexVersion, TrustedPublishers, VerifyError,
    add_to_index_text, entry_for, verify,
};
pub use installed::{Installed, InstalledError, InstalledPlugins};
pub use keys::{KeyError, PublicKey, SecretKey, signed_statement};
pub use lifecycle::{
    BUILTIN_INDEX, Builtins, Candidate, CandidateView, LifecycleError, MAX_ARTIFACT_BYTES,
    Marketplace, Progress, Quiet, Request, RequestView, SourcedIndex,
};
pub use suspended::{Suspension, SuspensionError, Suspensions};

/// The publisher that signs the first-party plugins in this repository's
/// `marketplace-index.toml`, with a demo key that is public on purpose
/// (`keys/greenroom-demo.key`): for tests and `--demo` only. Never trust
/// it on a production portal.
pub const DEMO_PUBLISHER: &str = "greenroom-demo";

/// [`DEMO_PUBLISHER`]'s public key.
pub const DEMO_PUBLISHER_KEY: &str = "ed25519:RNeRDTNfv37D2GPs5DUr+CqeVanCLWBY4FUNt42g9z4=";
