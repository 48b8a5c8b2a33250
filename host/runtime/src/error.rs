//! How loading and calling plugins fail.

use crate::health::FailureKind;
use greenroom_contract::view::ViewError;
use greenroom_contract::wit::latest::greenroom::plugin::types::{HostError, PluginError};
use std::time::Duration;

/// The engine could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// wasmtime refused the configuration.
    #[error("cannot configure the WebAssembly engine: {0}")]
    Engine(String),
    /// The component cache directory is unusable.
    #[error("cannot use the component cache at {}: {error}", path.display())]
    Cache {
        /// The directory.
        path: std::path::PathBuf,
        /// Why.
        error: std::io::Error,
    },
}

/// A plugin could not be loaded.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LoadError {
    /// The component failed to compile.
    #[error("the component does not compile: {0}")]
    Compile(String),
    /// It imports something the host does not provide.
    #[error(
        "the component imports something this host does not provide (plugins may import only the \
         greenroom:plugin interfaces and the WASI interfaces a standard library needs): {0}"
    )]
    Imports(String),
    /// It does not export the contract's functions.
    #[error(
        "the component does not export the greenroom:plugin world's functions (render, action, handle, run-task): {0}"
    )]
    Exports(String),
}

/// A plugin call failed. Each variant is a failure the portal shows
/// differently and the health page counts separately.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    /// The plugin trapped: a panic, an out-of-bounds access, `unreachable`.
    #[error("the plugin crashed: {message}")]
    Trap {
        /// The trap, and the plugin's last line on stderr when it printed
        /// one (a Rust panic message).
        message: String,
    },
    /// It ran past its deadline and was stopped.
    #[error("the plugin did not finish within {} and was stopped", humanize(*.deadline))]
    Deadline {
        /// The deadline it had.
        deadline: Duration,
    },
    /// It tried to grow its memory past its limit.
    #[error("the plugin needed more than its {limit} of memory and was stopped")]
    Memory {
        /// The limit, for people.
        limit: String,
    },
    /// It returned an error of its own.
    #[error("{}", plugin_error_message(.0))]
    Plugin(PluginError),
    /// It returned a view that breaks the contract's rules.
    #[error("the plugin returned a view the portal cannot draw: {}", .0.0)]
    InvalidView(ViewError),
    /// It returned an HTTP response that breaks the contract's rules.
    #[error("the plugin returned an invalid response: {0}")]
    InvalidResponse(String),
    /// The host failed around the call (a bug); the plugin may be fine.
    #[error("the host failed to run the plugin: {0}")]
    Host(String),
}

impl CallError {
    /// How the health page counts it.
    pub fn kind(&self) -> FailureKind {
        match self {
            CallError::Trap { .. } => FailureKind::Trap,
            CallError::Deadline { .. } => FailureKind::Deadline,
            CallError::Memory { .. } => FailureKind::Memory,
            CallError::Plugin(PluginError::Host(HostError::Denied(_))) => FailureKind::Denied,
            CallError::Plugin(_) => FailureKind::PluginError,
            CallError::InvalidView(_) | CallError::InvalidResponse(_) => FailureKind::InvalidOutput,
            CallError::Host(_) => FailureKind::Host,
        }
    }
}

fn humanize(duration: Duration) -> String {
    if duration.as_millis().is_multiple_of(1000) {
        format!("{} s", duration.as_secs())
    } else {
        format!("{} ms", duration.as_millis())
    }
}

fn host_error_message(error: &HostError) -> String {
    match error {
        HostError::Denied(m) => format!("access denied: {m}"),
        HostError::Unavailable(m) => format!("not available: {m}"),
        HostError::InvalidArgument(m) => format!("invalid argument: {m}"),
        HostError::LimitExceeded(m) => format!("limit exceeded: {m}"),
        HostError::Internal(m) => format!("host error: {m}"),
    }
}

/// The text of a plugin's own error, for an error card.
fn plugin_error_message(error: &PluginError) -> String {
    match error {
        PluginError::InvalidInput(m) => format!("invalid input: {m}"),
        PluginError::NotFound(m) => format!("not found: {m}"),
        PluginError::Unsupported(m) => format!("not supported: {m}"),
        PluginError::Host(host) => host_error_message(host),
        PluginError::Failed(m) => m.clone(),
    }
}
