//! The plugin's private key-value storage.
//!
//! Needs the `storage` capability (`[capabilities] storage = { quota = "…" }`
//! in the manifest). Keys are at most 512 bytes, values at most 1 MiB, and
//! the total is capped by the quota the operator granted. No other plugin
//! can read or write these keys.
//!
//! ```no_run
//! use greenroom_sdk::storage;
//! # fn f() -> greenroom_sdk::Result<()> {
//! storage::set_json("settings/theme", &"dark")?;
//! let theme: Option<String> = storage::get_json("settings/theme")?;
//! let visits = storage::increment("visits", 1)?;
//! # Ok(()) }
//! ```

use crate::Result;
use crate::bindings::greenroom::plugin::storage as wit;

/// The bytes stored under `key`, if any.
pub fn get(key: &str) -> Result<Option<Vec<u8>>> {
    Ok(wit::get(key)?)
}

/// The bytes stored under each of `keys`, in the same order, in one call
/// (at most 1000 keys and 16 MiB of values). Reading a page of records
/// with one call instead of one per key is much faster. Contract 0.1.1.
pub fn get_many(keys: &[String]) -> Result<Vec<Option<Vec<u8>>>> {
    Ok(wit::get_many(keys)?)
}

/// Stores `value` under `key`, replacing what was there.
pub fn set(key: &str, value: &[u8]) -> Result<()> {
    Ok(wit::set(key, value)?)
}

/// Removes `key`; returns whether it existed.
pub fn delete(key: &str) -> Result<bool> {
    Ok(wit::delete(key)?)
}

/// Up to `limit` keys starting with `prefix`, in byte order, after
/// `start_after` when given (for paging).
pub fn list_keys(prefix: &str, start_after: Option<&str>, limit: u32) -> Result<Vec<String>> {
    Ok(wit::list_keys(prefix, start_after, limit)?)
}

/// Atomically adds `delta` to the counter under `key` (0 when missing) and
/// returns the new value.
pub fn increment(key: &str, delta: i64) -> Result<i64> {
    Ok(wit::increment(key, delta)?)
}

/// The UTF-8 text stored under `key`, if any.
pub fn get_string(key: &str) -> Result<Option<String>> {
    match get(key)? {
        Some(bytes) => String::from_utf8(bytes).map(Some).map_err(|_| {
            crate::Error::failed(format!("storage key `{key}` does not hold UTF-8 text"))
        }),
        None => Ok(None),
    }
}

/// Stores `value` as JSON under `key`.
pub fn set_json<T: serde::Serialize + ?Sized>(key: &str, value: &T) -> Result<()> {
    set(key, &serde_json::to_vec(value)?)
}

/// The JSON value stored under `key`, if any.
pub fn get_json<T: serde::de::DeserializeOwned>(key: &str) -> Result<Option<T>> {
    match get(key)? {
        Some(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
        None => Ok(None),
    }
}
