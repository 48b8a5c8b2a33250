//! Runs plugins.
//!
//! This crate owns the wasmtime [`Runtime`]: one engine with the component
//! model, the pooling allocator and epoch interruption; a cache of compiled
//! components in the data directory, keyed by the artifact's sha256 and the
//! engine's compatibility hash, so a restart deserializes instead of
//! recompiling; and one linker per released WIT version.
//!
//! Loading a plugin ([`Runtime::load`]) gives a [`LoadedPlugin`] holding one
//! `InstancePre`. Every call ([`LoadedPlugin::render`], `action`, `handle`,
//! `run_task`) gets a fresh `Store` and instance — nothing leaks between
//! users or calls — and runs under [`Limits`]: a memory cap and a wall-clock
//! deadline. A plugin that traps, loops past its deadline or exceeds its
//! memory returns a typed [`CallError`]; the host never panics and the
//! failure is counted in the plugin's [`PluginHealth`]. The [`Scheduler`]
//! runs the tasks plugins declare.
//!
//! It must never decide what a plugin may do: every import is answered by
//! `greenroom-broker`, whose [`Session`](greenroom_broker::Session) lives in
//! each call's store.

mod cache;
mod dispatch;
mod engine;
mod error;
mod health;
mod limits;
mod plugin;
mod scheduler;
mod state;

pub use engine::{Runtime, RuntimeConfig};
pub use error::{CallError, LoadError, RuntimeError};
pub use greenroom_broker::HttpLimits;
pub use greenroom_contract::view::ViewLimits;
pub use health::{
    CallKind, CallStats, Durations, FailureKind, HealthSnapshot, MAX_ERROR_MESSAGE_BYTES,
    PluginHealth, RECENT_ERRORS, RecentError,
};
pub use limits::Limits;
pub use plugin::{CallContext, LoadedPlugin};
pub use scheduler::{Scheduler, TaskGate};

/// The contract's types, as callers of this crate use them.
pub use greenroom_contract::wit::latest::greenroom::plugin::{types, view};
