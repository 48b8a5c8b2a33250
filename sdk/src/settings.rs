//! The plugin's settings, validated by the host against the manifest's
//! `[settings]` JSON Schema before the plugin runs.

use crate::Result;
use crate::bindings::greenroom::plugin::settings as wit;

/// The setting `name` decoded from JSON, or `None` when unset and without a
/// default.
///
/// ```no_run
/// # fn f() -> greenroom_sdk::Result<()> {
/// let greeting: String = greenroom_sdk::settings::get("greeting")?.unwrap_or_else(|| "Hello".into());
/// # Ok(()) }
/// ```
pub fn get<T: serde::de::DeserializeOwned>(name: &str) -> Result<Option<T>> {
    match wit::get(name)? {
        Some(json) => Ok(Some(serde_json::from_str(&json)?)),
        None => Ok(None),
    }
}

/// All settings as one JSON object.
pub fn all() -> Result<serde_json::Value> {
    Ok(serde_json::from_str(&wit::get_all()?)?)
}
