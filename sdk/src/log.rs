//! Logging through the host: lines appear in the host's log tagged with the
//! plugin id, and errors on the plugin's health page. The host keeps at most
//! 100 lines of 8 KiB per call.
//!
//! ```no_run
//! greenroom_sdk::log::info("collected 12 facts");
//! greenroom_sdk::info!("rendered {} rows", 3);
//! ```

use crate::bindings::greenroom::plugin::log as wit;

pub use wit::Level;

/// Writes a message at `level`.
pub fn log(level: Level, message: &str) {
    wit::log(level, message);
}

/// Writes a debug message.
pub fn debug(message: &str) {
    log(Level::Debug, message);
}

/// Writes an informational message.
pub fn info(message: &str) {
    log(Level::Info, message);
}

/// Writes a warning.
pub fn warn(message: &str) {
    log(Level::Warn, message);
}

/// Writes an error.
pub fn error(message: &str) {
    log(Level::Error, message);
}

/// Logs a formatted informational message.
#[macro_export]
macro_rules! info {
    ($($arg:tt)*) => { $crate::log::info(&format!($($arg)*)) };
}

/// Logs a formatted warning.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)*) => { $crate::log::warn(&format!($($arg)*)) };
}

/// Logs a formatted error.
#[macro_export]
macro_rules! error {
    ($($arg:tt)*) => { $crate::log::error(&format!($($arg)*)) };
}
