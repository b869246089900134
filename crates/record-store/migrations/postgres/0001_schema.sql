-- acme-srv record store on PostgreSQL, schema version 1: the schema the SQLite store
-- reached in its versions 1 to 4 (migrations/sqlite/), in one step.
--
-- Applied by sqlx's migrator (table _sqlx_migrations) under pg_advisory_lock, so
-- instances starting together apply it once; never edit an applied migration: add
-- 0002_*.sql instead (sqlx refuses to start when an applied file's checksum changed).
--
-- Every text column the store sorts or compares by is COLLATE "C": bytewise, as SQLite
-- compares, whatever the database's locale (the API lists records by owner, and
-- `_acme-challenge` must sort before `www` on every server).

-- Resource records. `data` is the canonical JSON text of the record data (the private
-- stored form, src/stored_form.rs: the same bytes as in SQLite, so it stays TEXT, not
-- jsonb, which would reorder keys); it is part of the unique key. `id` gives the
-- insertion order; `author` the credential that added the record (NULL for the admin
-- token and acme-dns registrations).
CREATE TABLE records (
    id     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner  TEXT COLLATE "C" NOT NULL CHECK (owner <> '' AND owner = lower(owner)),
    type   TEXT COLLATE "C" NOT NULL CHECK (type IN ('A', 'AAAA', 'CNAME', 'SRV', 'TXT')),
    data   TEXT COLLATE "C" NOT NULL CHECK (data::jsonb IS NOT NULL),
    ttl    BIGINT NOT NULL CHECK (ttl BETWEEN 0 AND 4294967295),
    author TEXT COLLATE "C",
    UNIQUE (owner, type, data)
);

-- The zone serial: exactly one row, bumped in the same transaction as every change to
-- `records`. Starts at the current Unix time; each bump sets max(serial + 1, now).
-- Every record write locks this row first (SELECT … FOR UPDATE), which serialises the
-- writers of every instance (src/postgres.rs).
CREATE TABLE zone_serial (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    serial BIGINT NOT NULL CHECK (serial BETWEEN 1 AND 4294967295)
);
INSERT INTO zone_serial (id, serial)
    VALUES (1, greatest(1, extract(epoch FROM now())::bigint));

-- Every raised serial is announced to the instances LISTENing on `acme_srv_records`;
-- PostgreSQL delivers the notification when (and only if) the transaction commits.
CREATE FUNCTION acme_srv_announce_serial() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('acme_srv_records', NEW.serial::text);
    RETURN NULL;
END;
$$;
CREATE TRIGGER zone_serial_announced AFTER UPDATE OF serial ON zone_serial
    FOR EACH ROW EXECUTE FUNCTION acme_srv_announce_serial();

-- The change journal: every committed change to `records` also writes (new serial,
-- owner) here, in the same transaction (RecordStore::changes_since).
CREATE TABLE record_changes (
    id     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    serial BIGINT NOT NULL,
    owner  TEXT COLLATE "C" NOT NULL
);
CREATE INDEX record_changes_by_serial ON record_changes (serial);

-- The highest serial whose journal rows were pruned: changes since a serial below it
-- are incomplete and the reader must read everything.
CREATE TABLE record_changes_pruned (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    serial BIGINT NOT NULL
);
INSERT INTO record_changes_pruned (id, serial) SELECT 1, serial FROM zone_serial WHERE id = 1;

-- Management API keys. `secret_hash` is an argon2 PHC string; `scopes` a JSON array of
-- model::KeyScope; `source_cidrs` a JSON array of CIDR strings (empty: any source).
CREATE TABLE api_keys (
    id           TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    secret_hash  TEXT    NOT NULL,
    description  TEXT    NOT NULL,
    scopes       TEXT    NOT NULL CHECK (scopes::jsonb IS NOT NULL),
    source_cidrs TEXT    NOT NULL CHECK (source_cidrs::jsonb IS NOT NULL),
    created_at   BIGINT  NOT NULL,
    revoked      BOOLEAN NOT NULL DEFAULT FALSE
);

-- acme-dns registrations. `allow_from` is a JSON array of CIDR strings (empty: any).
CREATE TABLE registrations (
    username      TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    password_hash TEXT NOT NULL,
    subdomain     TEXT COLLATE "C" NOT NULL UNIQUE,
    fulldomain    TEXT COLLATE "C" NOT NULL UNIQUE,
    allow_from    TEXT NOT NULL CHECK (allow_from::jsonb IS NOT NULL)
);

-- TSIG keys: `secret` is stored as it is, not hashed (the server computes HMACs with
-- it; see migrations/sqlite/0004_tsig_keys.sql). Protect the database like the keys.
CREATE TABLE tsig_keys (
    name         TEXT COLLATE "C" PRIMARY KEY NOT NULL CHECK (name <> '' AND name = lower(name)),
    algorithm    TEXT    NOT NULL CHECK (algorithm IN ('hmac-sha256', 'hmac-sha512')),
    secret       BYTEA   NOT NULL,
    description  TEXT    NOT NULL,
    scopes       TEXT    NOT NULL CHECK (scopes::jsonb IS NOT NULL),
    record_types TEXT    NOT NULL CHECK (record_types::jsonb IS NOT NULL),
    transfer     BOOLEAN NOT NULL,
    created_at   BIGINT  NOT NULL,
    revoked      BOOLEAN NOT NULL DEFAULT FALSE
);

-- The served zones records are counted in, as the last write that named them said.
CREATE TABLE counted_zones (
    origin TEXT COLLATE "C" PRIMARY KEY NOT NULL CHECK (origin <> '' AND origin = lower(origin))
);

-- ('zone', origin): records whose owner is in that zone (the longest origin at or above
-- the owner); ('author', author): records that credential added and that still exist.
-- Kept by the trigger below in the transaction of every change to `records`.
CREATE TABLE record_counts (
    kind    TEXT COLLATE "C" NOT NULL CHECK (kind IN ('zone', 'author')),
    name    TEXT COLLATE "C" NOT NULL,
    records BIGINT NOT NULL,
    PRIMARY KEY (kind, name)
);

-- The counted zone `owner` is in, if any.
CREATE FUNCTION acme_srv_counted_zone(owner TEXT) RETURNS TEXT LANGUAGE sql STABLE AS $$
    SELECT origin FROM counted_zones
    WHERE owner = origin
       OR (length(owner) > length(origin)
           AND substr(owner, length(owner) - length(origin)) = '.' || origin)
    ORDER BY length(origin) DESC LIMIT 1
$$;

-- A count never goes below 0: a counting mistake must not stop deletions.
CREATE FUNCTION acme_srv_count_records() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE record_counts SET records = greatest(records - 1, 0)
            WHERE kind = 'zone' AND name = acme_srv_counted_zone(OLD.owner);
        UPDATE record_counts SET records = greatest(records - 1, 0)
            WHERE kind = 'author' AND name = OLD.author;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO record_counts (kind, name, records)
            SELECT 'zone', zone, 1 FROM acme_srv_counted_zone(NEW.owner) AS zone
            WHERE zone IS NOT NULL
            ON CONFLICT (kind, name) DO UPDATE SET records = record_counts.records + 1;
        INSERT INTO record_counts (kind, name, records)
            SELECT 'author', NEW.author, 1 WHERE NEW.author IS NOT NULL
            ON CONFLICT (kind, name) DO UPDATE SET records = record_counts.records + 1;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER records_counted AFTER INSERT OR DELETE OR UPDATE OF owner, author ON records
    FOR EACH ROW EXECUTE FUNCTION acme_srv_count_records();
