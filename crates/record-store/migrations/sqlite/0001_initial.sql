-- acme-srv record store, schema version 1.
--
-- Applied by sqlx's migrator (table _sqlx_migrations); never edit an applied migration:
-- add 0002_*.sql instead (sqlx refuses to start when an applied file's checksum changed).

-- Resource records. `data` is the canonical serde_json form of model::RecordData
-- (it carries its own "type" tag); `type` repeats the mnemonic for queries and the
-- unique key. `id` gives the insertion order.
CREATE TABLE records (
    id    INTEGER PRIMARY KEY,
    owner TEXT    NOT NULL CHECK (owner <> '' AND owner = lower(owner)),
    type  TEXT    NOT NULL CHECK (type IN ('A', 'AAAA', 'CNAME', 'SRV', 'TXT')),
    data  TEXT    NOT NULL CHECK (json_valid(data)),
    ttl   INTEGER NOT NULL CHECK (ttl BETWEEN 0 AND 4294967295),
    UNIQUE (owner, type, data)
);

-- The zone serial: exactly one row, bumped in the same transaction as every change to
-- `records`. Starts at the current Unix time; each bump sets max(serial + 1, now).
CREATE TABLE zone_serial (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    serial INTEGER NOT NULL CHECK (serial BETWEEN 1 AND 4294967295)
);
INSERT INTO zone_serial (id, serial) VALUES (1, max(1, CAST(strftime('%s', 'now') AS INTEGER)));

-- Management API keys. `secret_hash` is an argon2 PHC string; `scopes` a JSON array of
-- model::KeyScope; `source_cidrs` a JSON array of CIDR strings (empty: any source).
CREATE TABLE api_keys (
    id           TEXT    PRIMARY KEY NOT NULL,
    secret_hash  TEXT    NOT NULL,
    description  TEXT    NOT NULL,
    scopes       TEXT    NOT NULL CHECK (json_valid(scopes)),
    source_cidrs TEXT    NOT NULL CHECK (json_valid(source_cidrs)),
    created_at   INTEGER NOT NULL,
    revoked      INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))
);

-- acme-dns registrations. `allow_from` is a JSON array of CIDR strings (empty: any).
CREATE TABLE registrations (
    username      TEXT PRIMARY KEY NOT NULL,
    password_hash TEXT NOT NULL,
    subdomain     TEXT NOT NULL UNIQUE,
    fulldomain    TEXT NOT NULL UNIQUE,
    allow_from    TEXT NOT NULL CHECK (json_valid(allow_from))
);
