-- RBAC: every version of the policy (roles, members, policies with
-- conditions) as one document. The newest `published` row is in force; at
-- most one `draft` row is being edited. Versions are never changed, so an
-- older one can be viewed, compared and published again (revert).
CREATE TABLE rbac_policy_versions (
    id       INTEGER PRIMARY KEY,
    document TEXT    NOT NULL,
    status   TEXT    NOT NULL CHECK (status IN ('draft', 'published')),
    author   TEXT    NOT NULL,
    note     TEXT    NOT NULL DEFAULT '',
    at_ms    INTEGER NOT NULL
);

CREATE INDEX rbac_policy_versions_by_status ON rbac_policy_versions (status, id);
