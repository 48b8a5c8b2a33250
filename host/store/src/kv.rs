//! Plugins' private key-value storage.

use crate::{Database, StoreError, now_ms};
use rusqlite::{OptionalExtension, TransactionBehavior, named_params};

/// The longest key. Keys are for naming things (`views/home`,
/// `survey/42/answers/jane`); anything longer belongs in a value.
pub const MAX_KEY_BYTES: usize = 512;

/// The largest value. A plugin call copies values through its linear memory
/// and SQLite keeps them inline; larger blobs would make both slow.
pub const MAX_VALUE_BYTES: usize = 1 << 20;

/// The most keys one `list_keys` call returns; page with `start_after`.
pub const MAX_LIST_KEYS: u32 = 1000;

/// Why a storage operation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum KvError {
    /// The key is empty or too long.
    #[error("storage key {0}")]
    InvalidKey(String),
    /// The value is over [`MAX_VALUE_BYTES`].
    #[error("storage value is {size} bytes; the most is {MAX_VALUE_BYTES}")]
    ValueTooLarge {
        /// The value's size.
        size: usize,
    },
    /// The write would take the plugin over its quota.
    #[error("storage quota exceeded: {used} of {quota} bytes used, this write needs {more} more")]
    QuotaExceeded {
        /// Bytes in use now.
        used: u64,
        /// The plugin's quota.
        quota: u64,
        /// Extra bytes the write needs.
        more: u64,
    },
    /// `increment` found a value that is not a decimal integer.
    #[error("storage key `{0}` does not hold a decimal integer")]
    NotAnInteger(String),
    /// `increment` would overflow a 64-bit integer.
    #[error("incrementing storage key `{0}` overflows a 64-bit integer")]
    Overflow(String),
    /// `get_many`'s values come to more than [`MAX_MANY_BYTES`].
    #[error("the values come to more than {MAX_MANY_BYTES} bytes; ask for fewer keys at a time")]
    ManyTooLarge,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The most keys one `get_many` reads.
pub const MAX_MANY_KEYS: usize = 1000;

/// The most bytes of values one `get_many` returns.
pub const MAX_MANY_BYTES: usize = 16 << 20;

impl From<rusqlite::Error> for KvError {
    fn from(error: rusqlite::Error) -> KvError {
        KvError::Store(StoreError::Sqlite(error))
    }
}

/// One plugin's storage: every statement is bound to its namespace.
#[derive(Debug, Clone)]
pub struct PluginStore {
    db: Database,
    namespace: String,
    quota: u64,
}

impl PluginStore {
    /// Storage for the plugin whose namespace is `namespace` (its id),
    /// holding at most `quota` bytes of keys and values.
    pub fn new(db: Database, namespace: impl Into<String>, quota: u64) -> PluginStore {
        PluginStore {
            db,
            namespace: namespace.into(),
            quota,
        }
    }

    /// Deletes every key of plugin `namespace` and its usage, in one
    /// transaction: `greenroom plugin remove --purge`.
    pub fn purge(db: &Database, namespace: &str) -> Result<u64, KvError> {
        let mut conn = db.connection()?;
        let tx = conn.transaction()?;
        let removed = tx.execute("DELETE FROM plugin_kv WHERE plugin = ?1", [namespace])?;
        tx.execute("DELETE FROM plugin_usage WHERE plugin = ?1", [namespace])?;
        tx.commit()?;
        Ok(removed as u64)
    }

    /// The plugin's quota in bytes.
    pub fn quota(&self) -> u64 {
        self.quota
    }

    /// Bytes of keys and values the plugin keeps now.
    pub fn used(&self) -> Result<u64, KvError> {
        let conn = self.db.connection()?;
        Ok(usage(&conn, &self.namespace)?)
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        check_key(key)?;
        let conn = self.db.connection()?;
        let value = conn
            .prepare_cached("SELECT value FROM plugin_kv WHERE plugin = :plugin AND key = :key")?
            .query_row(
                named_params! { ":plugin": self.namespace, ":key": key },
                |row| row.get(0),
            )
            .optional()?;
        Ok(value)
    }

    /// The values under each of `keys`, in order: one connection and one
    /// prepared statement for all of them. At most [`MAX_MANY_KEYS`] keys
    /// and [`MAX_MANY_BYTES`] of values.
    pub fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, KvError> {
        if keys.len() > MAX_MANY_KEYS {
            return Err(KvError::InvalidKey(format!(
                "list has {} keys; ask for at most {MAX_MANY_KEYS} at a time",
                keys.len()
            )));
        }
        for key in keys {
            check_key(key)?;
        }
        let conn = self.db.connection()?;
        let mut statement = conn
            .prepare_cached("SELECT value FROM plugin_kv WHERE plugin = :plugin AND key = :key")?;
        let mut values = Vec::with_capacity(keys.len());
        let mut total = 0usize;
        for key in keys {
            let value: Option<Vec<u8>> = statement
                .query_row(
                    named_params! { ":plugin": self.namespace, ":key": key },
                    |row| row.get(0),
                )
                .optional()?;
            total += value.as_ref().map_or(0, Vec::len);
            if total > MAX_MANY_BYTES {
                return Err(KvError::ManyTooLarge);
            }
            values.push(value);
        }
        Ok(values)
    }

    /// Stores `value` under `key`.
    pub fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        check_key(key)?;
        if value.len() > MAX_VALUE_BYTES {
            return Err(KvError::ValueTooLarge { size: value.len() });
        }
        self.write(key, |_| Ok(Some(value.to_vec()))).map(|_| ())
    }

    /// Removes `key`; returns whether it existed.
    pub fn delete(&self, key: &str) -> Result<bool, KvError> {
        check_key(key)?;
        let old = self.write(key, |_| Ok(None))?;
        Ok(old.is_some())
    }

    /// Up to `limit` keys starting with `prefix`, after `start_after`, in
    /// byte order.
    pub fn list_keys(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<String>, KvError> {
        let limit = limit.min(MAX_LIST_KEYS) as usize;
        let conn = self.db.connection()?;
        // Seek to the prefix with the primary key, then read while keys
        // still start with it: an index range scan, portable to PostgreSQL
        // with a binary collation.
        let mut statement = conn.prepare_cached(
            "SELECT key FROM plugin_kv
             WHERE plugin = :plugin AND key >= :prefix AND (:after IS NULL OR key > :after)
             ORDER BY key",
        )?;
        let rows = statement.query_map(
            named_params! { ":plugin": self.namespace, ":prefix": prefix, ":after": start_after },
            |row| row.get::<_, String>(0),
        )?;
        let mut keys = Vec::new();
        for key in rows {
            let key = key?;
            if !key.starts_with(prefix) || keys.len() == limit {
                break;
            }
            keys.push(key);
        }
        Ok(keys)
    }

    /// Adds `delta` to the decimal counter under `key` (0 when missing).
    pub fn increment(&self, key: &str, delta: i64) -> Result<i64, KvError> {
        check_key(key)?;
        let mut result = 0;
        self.write(key, |old| {
            let current = match old {
                None => 0,
                Some(bytes) => std::str::from_utf8(bytes)
                    .ok()
                    .and_then(|text| text.trim().parse::<i64>().ok())
                    .ok_or_else(|| KvError::NotAnInteger(key.to_owned()))?,
            };
            result = current
                .checked_add(delta)
                .ok_or_else(|| KvError::Overflow(key.to_owned()))?;
            Ok(Some(result.to_string().into_bytes()))
        })?;
        Ok(result)
    }

    /// Replaces the value under `key` with what `update` makes of the old
    /// one (`None` deletes), in one immediate transaction that also keeps
    /// the usage total and enforces the quota. Returns the old value.
    fn write(
        &self,
        key: &str,
        update: impl FnOnce(Option<&[u8]>) -> Result<Option<Vec<u8>>, KvError>,
    ) -> Result<Option<Vec<u8>>, KvError> {
        let mut conn = self.db.connection()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let params = named_params! { ":plugin": self.namespace, ":key": key };
        let old: Option<Vec<u8>> = tx
            .prepare_cached("SELECT value FROM plugin_kv WHERE plugin = :plugin AND key = :key")?
            .query_row(params, |row| row.get(0))
            .optional()?;
        let new = update(old.as_deref())?;
        let size =
            |value: &Option<Vec<u8>>| value.as_ref().map_or(0, |v| (key.len() + v.len()) as i64);
        let delta = size(&new) - size(&old);
        if delta > 0 {
            let used = usage(&tx, &self.namespace)?;
            if used + delta as u64 > self.quota {
                return Err(KvError::QuotaExceeded {
                    used,
                    quota: self.quota,
                    more: delta as u64,
                });
            }
        }
        match &new {
            Some(value) => {
                tx.prepare_cached(
                    "INSERT INTO plugin_kv (plugin, key, value, updated_ms) VALUES (:plugin, :key, :value, :now)
                     ON CONFLICT (plugin, key) DO UPDATE SET value = excluded.value, updated_ms = excluded.updated_ms",
                )?
                .execute(named_params! { ":plugin": self.namespace, ":key": key, ":value": value, ":now": now_ms() })?;
            }
            None => {
                tx.prepare_cached("DELETE FROM plugin_kv WHERE plugin = :plugin AND key = :key")?
                    .execute(params)?;
            }
        }
        if delta != 0 {
            tx.prepare_cached(
                "INSERT INTO plugin_usage (plugin, bytes) VALUES (:plugin, :delta)
                 ON CONFLICT (plugin) DO UPDATE SET bytes = plugin_usage.bytes + excluded.bytes",
            )?
            .execute(named_params! { ":plugin": self.namespace, ":delta": delta })?;
        }
        tx.commit()?;
        Ok(old)
    }
}

fn usage(conn: &rusqlite::Connection, namespace: &str) -> Result<u64, rusqlite::Error> {
    let bytes: Option<i64> = conn
        .prepare_cached("SELECT bytes FROM plugin_usage WHERE plugin = :plugin")?
        .query_row(named_params! { ":plugin": namespace }, |row| row.get(0))
        .optional()?;
    Ok(bytes.unwrap_or(0).max(0) as u64)
}

fn check_key(key: &str) -> Result<(), KvError> {
    if key.is_empty() {
        return Err(KvError::InvalidKey("must not be empty".into()));
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(KvError::InvalidKey(format!(
            "is {} bytes; the most is {MAX_KEY_BYTES}",
            key.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database() -> (tempfile::TempDir, Database) {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Database::open(&dir.path().join("greenroom.db")).expect("opens");
        (dir, db)
    }

    #[test]
    fn stores_and_reads_back_values() {
        let (_dir, db) = database();
        let store = PluginStore::new(db, "hello", 1024);
        assert_eq!(store.get("a").expect("get"), None);
        store.set("a", b"one").expect("set");
        store.set("a", b"two").expect("overwrite");
        assert_eq!(store.get("a").expect("get"), Some(b"two".to_vec()));
        assert!(store.delete("a").expect("delete"));
        assert!(!store.delete("a").expect("delete again"));
        assert_eq!(store.used().expect("used"), 0);
    }

    #[test]
    fn reads_many_keys_in_order_and_only_its_own() {
        let (_dir, db) = database();
        let alice = PluginStore::new(db.clone(), "alice", 1 << 20);
        let mallory = PluginStore::new(db, "mallory", 1 << 20);
        alice.set("a", b"1").expect("set");
        alice.set("c", b"3").expect("set");
        let keys: Vec<String> = ["c", "b", "a"].map(String::from).to_vec();
        assert_eq!(
            alice.get_many(&keys).expect("get many"),
            vec![Some(b"3".to_vec()), None, Some(b"1".to_vec())]
        );
        assert_eq!(
            mallory.get_many(&keys).expect("get many"),
            vec![None, None, None]
        );
        let too_many: Vec<String> = (0..=MAX_MANY_KEYS).map(|i| format!("k{i}")).collect();
        assert!(matches!(
            alice.get_many(&too_many),
            Err(KvError::InvalidKey(_))
        ));
        let bad = vec!["a".to_owned(), String::new()];
        assert!(matches!(alice.get_many(&bad), Err(KvError::InvalidKey(_))));
    }

    #[test]
    fn get_many_stops_at_its_byte_limit() {
        let (_dir, db) = database();
        let store = PluginStore::new(db, "big", 64 << 20);
        let value = vec![7u8; MAX_VALUE_BYTES];
        let keys: Vec<String> = (0..17).map(|i| format!("v{i}")).collect();
        for key in &keys {
            store.set(key, &value).expect("set");
        }
        assert_eq!(store.get_many(&keys[..16]).expect("16 MiB").len(), 16);
        assert!(matches!(store.get_many(&keys), Err(KvError::ManyTooLarge)));
    }

    #[test]
    fn one_plugin_cannot_see_anothers_keys() {
        let (_dir, db) = database();
        let alice = PluginStore::new(db.clone(), "alice", 1024);
        let mallory = PluginStore::new(db, "mallory", 1024);
        alice.set("secret", b"42").expect("set");
        assert_eq!(mallory.get("secret").expect("get"), None);
        assert!(mallory.list_keys("", None, 100).expect("list").is_empty());
        assert!(!mallory.delete("secret").expect("delete"));
        assert_eq!(alice.get("secret").expect("get"), Some(b"42".to_vec()));
    }

    #[test]
    fn purging_deletes_one_plugins_data_and_usage_only() {
        let (_dir, db) = database();
        let alice = PluginStore::new(db.clone(), "alice", 1024);
        let bob = PluginStore::new(db.clone(), "bob", 1024);
        alice.set("a", b"1").expect("set");
        alice.set("b", b"2").expect("set");
        bob.set("a", b"3").expect("set");
        assert_eq!(PluginStore::purge(&db, "alice").expect("purge"), 2);
        assert_eq!(alice.get("a").expect("get"), None);
        assert_eq!(alice.used().expect("used"), 0);
        assert_eq!(bob.get("a").expect("get"), Some(b"3".to_vec()));
    }

    #[test]
    fn refuses_writes_over_the_quota_and_keeps_the_old_value() {
        let (_dir, db) = database();
        let store = PluginStore::new(db, "p", 10);
        store.set("k", b"12345").expect("fits: 6 bytes");
        let err = store.set("k2", b"123456").unwrap_err();
        assert!(
            matches!(
                err,
                KvError::QuotaExceeded {
                    used: 6,
                    quota: 10,
                    more: 8
                }
            ),
            "{err}"
        );
        assert_eq!(store.get("k2").expect("get"), None);
        store.set("k", b"1").expect("shrinking always fits");
        assert_eq!(store.used().expect("used"), 2);
    }

    #[test]
    fn increments_counters_and_refuses_non_numbers() {
        let (_dir, db) = database();
        let store = PluginStore::new(db, "p", 1024);
        assert_eq!(store.increment("n", 1).expect("first"), 1);
        assert_eq!(store.increment("n", 41).expect("second"), 42);
        assert_eq!(store.get("n").expect("get"), Some(b"42".to_vec()));
        store.set("s", b"forty").expect("set");
        assert!(matches!(
            store.increment("s", 1),
            Err(KvError::NotAnInteger(_))
        ));
        store
            .set("max", i64::MAX.to_string().as_bytes())
            .expect("set");
        assert!(matches!(
            store.increment("max", 1),
            Err(KvError::Overflow(_))
        ));
    }

    #[test]
    fn concurrent_increments_lose_nothing() {
        let (_dir, db) = database();
        let store = PluginStore::new(db, "p", 1024);
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let store = store.clone();
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        store.increment("n", 1).expect("increment");
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("thread finished");
        }
        assert_eq!(store.get("n").expect("get"), Some(b"200".to_vec()));
    }

    #[test]
    fn lists_keys_by_prefix_in_pages() {
        let (_dir, db) = database();
        let store = PluginStore::new(db, "p", 1 << 20);
        for key in ["a/1", "a/2", "a/3", "b/1", "a"] {
            store.set(key, b"x").expect("set");
        }
        assert_eq!(
            store.list_keys("a/", None, 2).expect("page 1"),
            vec!["a/1", "a/2"]
        );
        assert_eq!(
            store.list_keys("a/", Some("a/2"), 2).expect("page 2"),
            vec!["a/3"]
        );
        assert_eq!(store.list_keys("", None, 100).expect("all").len(), 5);
    }

    #[test]
    fn refuses_empty_and_oversized_keys_and_values() {
        let (_dir, db) = database();
        let store = PluginStore::new(db, "p", u64::MAX);
        assert!(matches!(store.get(""), Err(KvError::InvalidKey(_))));
        assert!(matches!(
            store.set(&"k".repeat(MAX_KEY_BYTES + 1), b""),
            Err(KvError::InvalidKey(_))
        ));
        assert!(matches!(
            store.set("k", &vec![0; MAX_VALUE_BYTES + 1]),
            Err(KvError::ValueTooLarge { .. })
        ));
    }

    #[test]
    fn committed_writes_survive_reopening() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("greenroom.db");
        PluginStore::new(Database::open(&path).expect("opens"), "p", 1024)
            .set("k", b"v")
            .expect("set");
        let reopened = PluginStore::new(Database::open(&path).expect("reopens"), "p", 1024);
        assert_eq!(reopened.get("k").expect("get"), Some(b"v".to_vec()));
    }
}
