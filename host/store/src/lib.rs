//! The data directory's SQLite database.
//!
//! This crate owns the database file: opening it (WAL, foreign keys, a busy
//! timeout), bringing its schema up to date from the numbered files in
//! `migrations/`, and handing out pooled connections. It also owns plugins'
//! private key-value storage ([`PluginStore`]), because the isolation
//! between plugins is a property of the SQL: every statement is bound to
//! the namespace the host chose.
//!
//! It must never decide whether a plugin *may* touch its storage; that is
//! the broker's decision, made before a [`PluginStore`] method is called.
//!
//! The SQL is kept portable (no SQLite-only functions in queries the
//! PostgreSQL port will need) and every write that matters runs in a
//! transaction, so a crash loses nothing committed.

mod database;
mod kv;

pub use database::{Database, StoreError};
pub use kv::{
    KvError, MAX_KEY_BYTES, MAX_LIST_KEYS, MAX_MANY_BYTES, MAX_MANY_KEYS, MAX_VALUE_BYTES,
    PluginStore,
};

/// Milliseconds since the Unix epoch, the one time format stored.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}
