-- Sign-in sessions (host/access owns every statement on this table).
--
-- The browser holds a cookie with a random 256-bit id, its expiry and an
-- HMAC over both; this table holds only the id's SHA-256, so reading the
-- database gives nobody a usable cookie. Sign-out deletes the row, which
-- revokes the cookie wherever it was copied.
CREATE TABLE sessions (
    id_hash      TEXT    PRIMARY KEY,          -- hex SHA-256 of the cookie's session id
    user_ref     TEXT    NOT NULL,             -- the catalog User (or user:external/… when allowed)
    login        TEXT    NOT NULL,             -- what the sign-in method vouched for: an e-mail or a name
    method       TEXT    NOT NULL,             -- how: `oidc`
    display_name TEXT    NOT NULL,             -- as the method gave it, for users not in the catalog
    email        TEXT,
    in_catalog   INTEGER NOT NULL,             -- 1: re-read the User (and its groups) on every request
    created_ms   INTEGER NOT NULL,
    expires_ms   INTEGER NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_ms);
CREATE INDEX sessions_user ON sessions (user_ref);
