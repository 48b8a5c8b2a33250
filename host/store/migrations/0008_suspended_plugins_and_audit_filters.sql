-- Plugins from the configuration file an admin turned off while the server
-- runs (the plugin health page's "Disable this plugin"): still loaded, but
-- never called and their tasks skipped, across restarts, until an admin
-- turns them on again. Installed plugins are disabled in installed_plugins
-- instead. host/marketplace owns every statement on this table.
CREATE TABLE suspended_plugins (
    id       TEXT    PRIMARY KEY,   -- the plugin's id
    actor    TEXT    NOT NULL,      -- who turned it off
    reason   TEXT    NOT NULL,
    at_ms    INTEGER NOT NULL
) WITHOUT ROWID;

-- The audit page and GET /api/audit filter on one of these columns and
-- read newest first by id. An index on a column is ordered by (column,
-- rowid), so `col = :value AND id < :before ORDER BY id DESC LIMIT n`
-- walks one range backwards and stops after a page. `decision` has two
-- values and is filtered on the rows these find (or on the table, newest
-- first). audit_log_plugin (plugin, at_ms) stays for reading by time.
CREATE INDEX audit_log_by_plugin ON audit_log (plugin);
CREATE INDEX audit_log_by_actor ON audit_log (actor);
CREATE INDEX audit_log_by_action ON audit_log (action);
