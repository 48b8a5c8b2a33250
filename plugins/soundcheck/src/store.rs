//! Where Soundcheck keeps what it knows, behind a small trait so the logic
//! that reads and writes it runs natively in unit tests.
//!
//! [`HostStore`] is the plugin's private storage on the host;
//! [`MemoryStore`] a map for tests. The key layout is in [`crate::keys`].

use greenroom_sdk::{Error, HostError, Result, storage};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;

/// The host caps one `list-keys` call at this many keys.
pub const LIST_PAGE: u32 = 1000;

/// A key-value store with ordered keys, as the host's `storage` interface.
pub trait Store {
    /// The bytes under `key`.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>>;
    /// Stores `value` under `key`.
    fn set(&self, key: &str, value: &[u8]) -> Result<()>;
    /// Removes `key`; whether it existed.
    fn delete(&self, key: &str) -> Result<bool>;
    /// Up to `limit` keys starting with `prefix`, after `start_after`, in
    /// byte order.
    fn list_keys(&self, prefix: &str, start_after: Option<&str>, limit: u32)
    -> Result<Vec<String>>;

    /// The bytes under each of `keys`, in order; the host does it in one
    /// call (at most [`MANY`] keys).
    fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>> {
        keys.iter().map(|key| self.get(key)).collect()
    }
}

/// Keys read in one `get_many`: the host takes 1000 and 16 MiB of values;
/// half as many keeps even large facts (pushed ones may be 64 KiB) under it
/// most of the time, and [`Store::read_many`] halves again when not.
pub const MANY: usize = 500;

impl dyn Store + '_ {
    /// The JSON value under `key`; a value that no longer parses (written by
    /// an older version) reads as missing rather than failing every page.
    pub fn get_json<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        Ok(self
            .get(key)?
            .and_then(|bytes| serde_json::from_slice(&bytes).ok()))
    }

    /// Stores `value` as JSON under `key`.
    pub fn set_json<T: Serialize + ?Sized>(&self, key: &str, value: &T) -> Result<()> {
        let bytes = serde_json::to_vec(value)
            .map_err(|e| Error::failed(format!("encoding `{key}`: {e}")))?;
        self.set(key, &bytes)
    }

    /// The values under `keys` that exist, by key, read [`MANY`] at a time;
    /// a batch whose values exceed the host's limit is read in halves.
    pub fn read_many(&self, keys: &[String]) -> Result<HashMap<String, Vec<u8>>> {
        let mut found = HashMap::with_capacity(keys.len());
        for chunk in keys.chunks(MANY) {
            self.read_chunk(chunk, &mut found)?;
        }
        Ok(found)
    }

    /// The JSON value under each of `keys`, in order, read as
    /// [`read_many`](Self::read_many) does; like [`get_json`](Self::get_json),
    /// a value that no longer parses reads as missing.
    pub fn read_json_many<T: DeserializeOwned>(&self, keys: &[String]) -> Result<Vec<Option<T>>> {
        let mut found = self.read_many(keys)?;
        Ok(keys
            .iter()
            .map(|key| serde_json::from_slice(&found.remove(key)?).ok())
            .collect())
    }

    fn read_chunk(&self, keys: &[String], found: &mut HashMap<String, Vec<u8>>) -> Result<()> {
        match self.get_many(keys) {
            Ok(values) => {
                let pairs = keys.iter().zip(values);
                found.extend(pairs.filter_map(|(key, value)| Some((key.clone(), value?))));
                Ok(())
            }
            Err(Error::Host(HostError::LimitExceeded(_))) if keys.len() > 1 => {
                let (first, second) = keys.split_at(keys.len() / 2);
                self.read_chunk(first, found)?;
                self.read_chunk(second, found)
            }
            Err(error) => Err(error),
        }
    }

    /// Every key under `prefix`, paging through the host's limit; at most
    /// `max` of them.
    pub fn all_keys(&self, prefix: &str, max: usize) -> Result<Vec<String>> {
        let mut keys: Vec<String> = Vec::new();
        loop {
            let page = self.list_keys(prefix, keys.last().map(String::as_str), LIST_PAGE)?;
            let done = page.len() < LIST_PAGE as usize;
            keys.extend(page);
            if done || keys.len() >= max {
                keys.truncate(max);
                return Ok(keys);
            }
        }
    }
}

/// The plugin's storage on the host.
pub struct HostStore;

impl Store for HostStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        storage::get(key)
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<()> {
        storage::set(key, value)
    }

    fn delete(&self, key: &str) -> Result<bool> {
        storage::delete(key)
    }

    fn list_keys(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<String>> {
        storage::list_keys(prefix, start_after, limit)
    }

    fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>> {
        storage::get_many(keys)
    }
}

/// An in-memory store for tests.
#[cfg(test)]
#[derive(Default)]
pub struct MemoryStore(std::cell::RefCell<std::collections::BTreeMap<String, Vec<u8>>>);

#[cfg(test)]
impl MemoryStore {
    /// Every key, in order.
    pub fn keys(&self) -> Vec<String> {
        self.0.borrow().keys().cloned().collect()
    }

    /// The total bytes of keys and values, as the host's quota counts them.
    pub fn bytes(&self) -> usize {
        self.0.borrow().iter().map(|(k, v)| k.len() + v.len()).sum()
    }
}

#[cfg(test)]
impl Store for MemoryStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.0.borrow().get(key).cloned())
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<()> {
        self.0.borrow_mut().insert(key.to_owned(), value.to_vec());
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<bool> {
        Ok(self.0.borrow_mut().remove(key).is_some())
    }

    fn list_keys(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<String>> {
        let map = self.0.borrow();
        Ok(map
            .keys()
            .filter(|k| k.starts_with(prefix))
            .filter(|k| start_after.is_none_or(|after| k.as_str() > after))
            .take(limit.min(LIST_PAGE) as usize)
            .cloned()
            .collect())
    }
}
