//! `greenroom:plugin/storage`: the plugin's private key-value store.

use crate::session::{Access, Session};
use greenroom_contract::wit::latest::greenroom::plugin::storage::Host;
use greenroom_contract::wit::latest::greenroom::plugin::types::HostError;
use greenroom_store::{KvError, PluginStore};

impl Session {
    /// Decides the access, then hands over the plugin's own store.
    fn storage(&self, operation: &'static str, key: &str) -> Result<&PluginStore, HostError> {
        self.decide(Access::Storage { operation, key })?;
        self.env()
            .store()
            .ok_or_else(|| HostError::Internal("storage was granted but not set up".into()))
    }
}

fn host_error(error: KvError) -> HostError {
    match error {
        KvError::InvalidKey(_) | KvError::NotAnInteger(_) | KvError::Overflow(_) => {
            HostError::InvalidArgument(error.to_string())
        }
        KvError::ValueTooLarge { .. } | KvError::QuotaExceeded { .. } | KvError::ManyTooLarge => {
            HostError::LimitExceeded(error.to_string())
        }
        KvError::Store(store) => {
            tracing::error!(error = %store, "plugin storage failed");
            HostError::Internal("storage is unavailable; see the host's log".into())
        }
    }
}

// Storage statements are single indexed statements bounded by the key,
// value and list limits, so they run inline on the calling task: a thread
// hop per call would cost more than the statement.
impl Host for Session {
    async fn get(&mut self, key: String) -> Result<Option<Vec<u8>>, HostError> {
        self.storage("storage.get", &key)?
            .get(&key)
            .map_err(host_error)
    }

    async fn get_many(&mut self, keys: Vec<String>) -> Result<Vec<Option<Vec<u8>>>, HostError> {
        // One decision for the call: the grant is the same for every key.
        let first = keys.first().map(String::as_str).unwrap_or_default();
        self.storage("storage.get-many", first)?
            .get_many(&keys)
            .map_err(host_error)
    }

    async fn set(&mut self, key: String, value: Vec<u8>) -> Result<(), HostError> {
        self.storage("storage.set", &key)?
            .set(&key, &value)
            .map_err(host_error)
    }

    async fn delete(&mut self, key: String) -> Result<bool, HostError> {
        self.storage("storage.delete", &key)?
            .delete(&key)
            .map_err(host_error)
    }

    async fn list_keys(
        &mut self,
        prefix: String,
        start_after: Option<String>,
        limit: u32,
    ) -> Result<Vec<String>, HostError> {
        self.storage("storage.list-keys", &prefix)?
            .list_keys(&prefix, start_after.as_deref(), limit)
            .map_err(host_error)
    }

    async fn increment(&mut self, key: String, delta: i64) -> Result<i64, HostError> {
        self.storage("storage.increment", &key)?
            .increment(&key, delta)
            .map_err(host_error)
    }
}
