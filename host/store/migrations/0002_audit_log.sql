-- Every decision the host records: who (user), through what (plugin), did
-- what (action) to what (resource), and whether it was allowed and why.
CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY,
    at_ms    INTEGER NOT NULL,
    actor    TEXT,
    plugin   TEXT,
    action   TEXT    NOT NULL,
    resource TEXT,
    decision TEXT    NOT NULL CHECK (decision IN ('allow', 'deny')),
    reason   TEXT    NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at_ms);
CREATE INDEX audit_log_plugin ON audit_log (plugin, at_ms);
