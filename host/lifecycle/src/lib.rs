//! The plugins this server runs, and the one way to call one.
//!
//! [`PluginHost`] owns everything between "a `[[plugins]]` entry or an
//! installed record" and "a plugin a request may call":
//!
//! - **load**: an entry ([`PluginEntry`]) is read, checked against its
//!   manifest (grant within what it asks, settings against its schema) and
//!   compiled by a [`Loader`]; a plugin that cannot be loaded is listed
//!   with the reason ([`FailedPlugin`]) and the others still load;
//! - **swap**: [`PluginHost::load`] puts a new build in place of the old,
//!   [`PluginHost::remove`] stops serving one; a request keeps the set it
//!   started with, so a swap never fails a call in flight. Startup, the
//!   install follower ([`PluginHost::follow_installed`]) and `plugin dev`'s
//!   reload are all callers of these two;
//! - **gate**: a plugin is called only when no admin suspended it and, if
//!   it is premium, a licence lets it run. [`PluginHost::callable`] is the
//!   only way to a [`Callable`], and the [`Plugin`]s it lists have no call
//!   methods, so a handler that skips the gate does not compile;
//! - **schedule**: plugins' declared tasks run through the same gate, and
//!   come and go with the plugins.
//!
//! The portal holds a `PluginHost`; so does nothing else that serves.

mod follow;
mod gate;
mod host;
mod licensing;
mod load;
mod suspension;

pub use follow::{LoadStatus, Loads};
pub use gate::Refusal;
pub use host::{Callable, FailedPlugin, Plugin, PluginHost};
pub use load::{
    Loader, PluginEntry, PluginSource, Prepared, bundled_names, prepare, read_artifact,
};
