-- Premium licences (greenroom license add; host/marketplace owns every
-- statement on these tables).

-- Each licence as added: the signed file's text is the record, parsed and
-- verified again whenever it is read, so editing a row cannot widen a
-- licence. `id` is derived from the signed statement.
CREATE TABLE licences (
    id               TEXT    PRIMARY KEY,
    text             TEXT    NOT NULL,         -- the licence file, signature included
    added_ms         INTEGER NOT NULL,
    over_seats_since TEXT                      -- UTC day (YYYY-MM-DD) active users first exceeded its seats; NULL while within them
);

-- Who used the portal on which UTC day, for counting seats (distinct users
-- active in the last 30 days). One row per user per day; older rows are
-- deleted as new ones arrive.
CREATE TABLE licence_activity (
    day      TEXT NOT NULL,                    -- YYYY-MM-DD, UTC
    user_ref TEXT NOT NULL,                    -- the user's entity reference
    PRIMARY KEY (day, user_ref)
) WITHOUT ROWID;
