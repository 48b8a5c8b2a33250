-- Plugins' private key-value storage. `plugin` is set by the host from the
-- plugin's identity, never by the plugin, which is what isolates plugins.
CREATE TABLE plugin_kv (
    plugin     TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    value      BLOB    NOT NULL,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (plugin, key)
) WITHOUT ROWID;

-- Bytes of keys and values each plugin keeps, maintained in the same
-- transaction as every write so that quota checks need no scan.
CREATE TABLE plugin_usage (
    plugin TEXT    NOT NULL PRIMARY KEY,
    bytes  INTEGER NOT NULL
) WITHOUT ROWID;
