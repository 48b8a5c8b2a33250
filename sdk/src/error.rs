//! How calls fail.

pub use crate::bindings::greenroom::plugin::types::{HostError, PluginError as Error};

/// The result of a plugin's own functions.
pub type Result<T, E = Error> = core::result::Result<T, E>;

impl Error {
    /// Something went wrong; `message` is shown to the user in the slot's
    /// error card.
    pub fn failed(message: impl Into<String>) -> Error {
        Error::Failed(message.into())
    }

    /// The request was malformed.
    pub fn invalid_input(message: impl Into<String>) -> Error {
        Error::InvalidInput(message.into())
    }

    /// What was asked for does not exist.
    pub fn not_found(message: impl Into<String>) -> Error {
        Error::NotFound(message.into())
    }

    /// The plugin does not implement what was asked (a slot, action, task or
    /// route).
    pub fn unsupported(message: impl Into<String>) -> Error {
        Error::Unsupported(message.into())
    }
}

/// Host errors pass through unchanged, so `?` works on every import.
impl From<HostError> for Error {
    fn from(error: HostError) -> Error {
        Error::Host(error)
    }
}

impl From<serde_json::Error> for Error {
    fn from(error: serde_json::Error) -> Error {
        Error::Failed(format!("JSON: {error}"))
    }
}

impl HostError {
    /// True when the plugin lacks a capability or the user a permission.
    pub fn is_denied(&self) -> bool {
        matches!(self, HostError::Denied(_))
    }

    /// True when the host does not offer this import (yet); degrade
    /// gracefully.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, HostError::Unavailable(_))
    }
}
