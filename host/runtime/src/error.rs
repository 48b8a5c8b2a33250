//! How loading and calling plugins fail.

use crate::health::{FailureKind, MAX_ERROR_MESSAGE_BYTES};
use greenroom_access::truncate;
use greenroom_contract::view::ViewError;
use greenroom_contract::wit::latest::greenroom::plugin::types::{
    FieldError, HostError, Outcome, PluginError,
};
use std::borrow::Cow;
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
    /// No instance slot was free before its deadline: the portal is busy
    /// (other calls hold every slot, or this plugin's share), not the
    /// plugin at fault. Nothing of the plugin ran.
    #[error(
        "the portal was too busy to run the plugin: no instance came free within {}; try again",
        humanize(*.deadline)
    )]
    Busy {
        /// The deadline the wait counted against.
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
            CallError::Busy { .. } => FailureKind::Busy,
            CallError::Memory { .. } => FailureKind::Memory,
            CallError::Plugin(PluginError::Host(HostError::Denied(_))) => FailureKind::Denied,
            CallError::Plugin(_) => FailureKind::PluginError,
            CallError::InvalidView(_) | CallError::InvalidResponse(_) => FailureKind::InvalidOutput,
            CallError::Host(_) => FailureKind::Host,
        }
    }
}

impl CallError {
    /// The error with every text a plugin can make long (its own error's
    /// message, a trap's message and stderr) cut to
    /// [`MAX_ERROR_MESSAGE_BYTES`] at a character boundary, with a marker.
    /// A plugin once failed with a 40 MiB message, shown in full on the
    /// page and in the log.
    pub fn bounded(self) -> CallError {
        let cut = cut_message;
        match self {
            CallError::Trap { message } => CallError::Trap {
                message: cut(message),
            },
            CallError::Plugin(error) => CallError::Plugin(match error {
                PluginError::InvalidInput(m) => PluginError::InvalidInput(cut(m)),
                PluginError::NotFound(m) => PluginError::NotFound(cut(m)),
                PluginError::Unsupported(m) => PluginError::Unsupported(cut(m)),
                PluginError::Failed(m) => PluginError::Failed(cut(m)),
                PluginError::Host(host) => PluginError::Host(match host {
                    HostError::Denied(m) => HostError::Denied(cut(m)),
                    HostError::Unavailable(m) => HostError::Unavailable(cut(m)),
                    HostError::InvalidArgument(m) => HostError::InvalidArgument(cut(m)),
                    HostError::LimitExceeded(m) => HostError::LimitExceeded(cut(m)),
                    HostError::Internal(m) => HostError::Internal(cut(m)),
                }),
            }),
            CallError::InvalidView(ViewError(m)) => CallError::InvalidView(ViewError(cut(m))),
            CallError::InvalidResponse(m) => CallError::InvalidResponse(cut(m)),
            CallError::Host(m) => CallError::Host(cut(m)),
            other @ (CallError::Deadline { .. }
            | CallError::Busy { .. }
            | CallError::Memory { .. }) => other,
        }
    }
}

/// The most field errors one refused form submission may show: a form has
/// a handful of fields, and each error is drawn (or summed into a notice).
/// Past this, the rest are dropped.
pub const MAX_FIELD_ERRORS: usize = 100;

/// An action's outcome with its messages cut as error messages are (a
/// notice, each field's error, at most [`MAX_FIELD_ERRORS`] of them): they
/// are the plugin's words on the user's page, like its errors.
pub(crate) fn bounded_outcome(outcome: Outcome) -> Outcome {
    match outcome {
        Outcome::Done(notice) => Outcome::Done(notice.map(cut_message)),
        Outcome::Invalid(errors) => Outcome::Invalid(
            errors
                .into_iter()
                .take(MAX_FIELD_ERRORS)
                .map(|error| FieldError {
                    field: cut_message(error.field),
                    message: cut_message(error.message),
                })
                .collect(),
        ),
        redirect @ Outcome::Redirect(_) => redirect,
    }
}

/// `text` cut to [`MAX_ERROR_MESSAGE_BYTES`] with a marker, or unchanged.
pub(crate) fn cut_message(text: String) -> String {
    match truncate(&text, MAX_ERROR_MESSAGE_BYTES) {
        Cow::Borrowed(_) => text,
        Cow::Owned(cut) => cut,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_plugin_message_is_cut_with_a_marker_everywhere_it_is_shown() {
        let huge = "é".repeat(20 << 20);
        let error = CallError::Plugin(PluginError::Failed(huge)).bounded();
        let shown = error.to_string();
        assert!(shown.len() <= MAX_ERROR_MESSAGE_BYTES, "{}", shown.len());
        assert!(shown.starts_with("éé"));
        assert!(shown.ends_with("bytes in all]"), "{shown}");
        let host = CallError::Plugin(PluginError::Host(HostError::Denied("x".repeat(1 << 20))));
        assert!(host.bounded().to_string().len() <= MAX_ERROR_MESSAGE_BYTES + 32);
        let short = CallError::Trap {
            message: "boom".into(),
        };
        assert_eq!(short.clone().bounded(), short);
    }

    #[test]
    fn an_actions_notice_and_field_errors_are_cut_too() {
        let huge = "n".repeat(4 << 20);
        let Outcome::Done(Some(notice)) = bounded_outcome(Outcome::Done(Some(huge.clone()))) else {
            panic!("still done");
        };
        assert!(notice.len() <= MAX_ERROR_MESSAGE_BYTES);
        let many = (0..10_000)
            .map(|_| FieldError {
                field: "name".into(),
                message: huge.clone(),
            })
            .take(200)
            .collect();
        let Outcome::Invalid(errors) = bounded_outcome(Outcome::Invalid(many)) else {
            panic!("still invalid");
        };
        assert_eq!(errors.len(), MAX_FIELD_ERRORS);
        assert!(
            errors
                .iter()
                .all(|e| e.message.len() <= MAX_ERROR_MESSAGE_BYTES)
        );
    }
}
