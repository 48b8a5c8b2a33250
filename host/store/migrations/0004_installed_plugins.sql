-- Plugins installed from a marketplace index (greenroom plugin install):
-- what was verified and what the operator granted. A running server reads
-- this table and loads, swaps or drops plugins to match it.
CREATE TABLE installed_plugins (
    id           TEXT    PRIMARY KEY,
    version      TEXT    NOT NULL,
    publisher    TEXT    NOT NULL,
    index_source TEXT    NOT NULL,              -- the index it came from
    sha256       TEXT    NOT NULL,
    artifact     TEXT    NOT NULL,              -- the verified copy in the data directory
    grants       TEXT    NOT NULL,              -- JSON list of grant strings
    enabled      INTEGER NOT NULL DEFAULT 1,
    installed_ms INTEGER NOT NULL,
    updated_ms   INTEGER NOT NULL
);
