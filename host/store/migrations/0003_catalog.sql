-- The software catalog (host/catalog owns every statement on these tables).

-- Where entities come from: each registered location is read on every
-- refresh, with everything it points to.
CREATE TABLE catalog_locations (
    id         TEXT    PRIMARY KEY,            -- a UUID, as Backstage's
    type       TEXT    NOT NULL,               -- `file` or `url`
    target     TEXT    NOT NULL,
    origin     TEXT    NOT NULL,               -- config, api, cli, plugin:<id>
    created_ms INTEGER NOT NULL,
    UNIQUE (type, target)
);

-- One row per entity, kept thin (its body is in catalog_bodies) so that
-- filters and counts over many entities touch few pages. The columns are
-- copies of entity fields for indexes and sorting.
CREATE TABLE catalog_entities (
    id          INTEGER PRIMARY KEY,
    uid         TEXT    NOT NULL UNIQUE,
    entity_ref  TEXT    NOT NULL UNIQUE,       -- kind:namespace/name, lower-cased
    kind        TEXT    NOT NULL,              -- lower-cased, for sorting
    namespace   TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    spec_type   TEXT,                          -- spec.type, lower-cased
    location_id TEXT    NOT NULL REFERENCES catalog_locations (id) ON DELETE CASCADE,
    source      TEXT    NOT NULL,              -- the file or URL it was read from
    parent_ref  TEXT,                          -- the Location entity that led to it
    orphan      INTEGER NOT NULL DEFAULT 0,
    generation  INTEGER NOT NULL,
    etag        TEXT    NOT NULL,
    updated_ms  INTEGER NOT NULL
);
CREATE INDEX catalog_entities_location ON catalog_entities (location_id, source);
CREATE INDEX catalog_entities_kind ON catalog_entities (kind, entity_ref);
-- The commonest filter, `kind=component,spec.type=service`, counted and
-- paged from this index alone.
CREATE INDEX catalog_entities_kind_type ON catalog_entities (kind, spec_type, entity_ref);

-- The entity as ingested, with the fields the catalog adds (uid, etag,
-- generation, managed-by annotations) and without `relations`, which are
-- read from catalog_relations so they are never stale.
CREATE TABLE catalog_bodies (
    entity_id INTEGER PRIMARY KEY REFERENCES catalog_entities (id) ON DELETE CASCADE,
    body      TEXT    NOT NULL
);

-- Relations, as Backstage stores them: each row was produced by one
-- entity (`producer_id`), and belongs to `source_ref`'s relations list.
-- Re-ingesting the producer replaces exactly its rows. Clustered by
-- source, so reading an entity's relations is one range.
CREATE TABLE catalog_relations (
    source_ref  TEXT    NOT NULL,              -- lower-cased
    type        TEXT    NOT NULL,              -- as Backstage spells it, e.g. ownedBy
    target_ref  TEXT    NOT NULL,              -- kind:namespace/name as written
    producer_id INTEGER NOT NULL REFERENCES catalog_entities (id) ON DELETE CASCADE,
    target_key  TEXT    NOT NULL,              -- target_ref lower-cased
    PRIMARY KEY (source_ref, type, target_ref, producer_id)
) WITHOUT ROWID;
CREATE INDEX catalog_relations_producer ON catalog_relations (producer_id);
-- Filters (`relations.ownedBy=group:default/a`) and facets by target.
CREATE INDEX catalog_relations_type_target ON catalog_relations (type, target_key, source_ref);

-- Every field of every entity flattened to lower-cased key/value rows, as
-- Backstage's `search` table: filters, facets and sorting read this.
-- Values longer than 200 characters are kept as NULL (the key still
-- "exists"), as Backstage does.
CREATE TABLE catalog_search (
    entity_id INTEGER NOT NULL REFERENCES catalog_entities (id) ON DELETE CASCADE,
    key            TEXT NOT NULL,
    value          TEXT,                       -- lower-cased, for filters
    original_value TEXT                        -- as written, for facets
);
CREATE INDEX catalog_search_key_value ON catalog_search (key, value, entity_id);
CREATE INDEX catalog_search_entity ON catalog_search (entity_id, key);

-- Full-text search: substring matching on the text fields people search
-- (names, titles, descriptions, tags, people's names and e-mails). A trigram index
-- answers Backstage's `fullTextFilterTerm` (a case-insensitive substring
-- match) without scanning. SQLite-only; the PostgreSQL port uses pg_trgm.
CREATE VIRTUAL TABLE catalog_text USING fts5 (
    name,                                      -- one row per entity, rowid = its id
    title,
    description,
    tags,
    display_name,
    email,
    tokenize = 'trigram'
);

-- Problems found while reading a location that could not be attached to a
-- stored entity of their own (a file that does not parse, an entity that
-- fails validation). They are shown on the location entity that pointed
-- to the file, and replaced on every refresh of the location.
CREATE TABLE catalog_errors (
    location_id TEXT    NOT NULL REFERENCES catalog_locations (id) ON DELETE CASCADE,
    parent_ref  TEXT    NOT NULL,              -- the Location entity that led here
    source      TEXT    NOT NULL,
    line        INTEGER,
    col         INTEGER,
    entity_ref  TEXT,                          -- when the entity could be named
    message     TEXT    NOT NULL
);
CREATE INDEX catalog_errors_location ON catalog_errors (location_id);
CREATE INDEX catalog_errors_parent ON catalog_errors (parent_ref);
CREATE INDEX catalog_errors_entity ON catalog_errors (entity_ref);
