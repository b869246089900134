-- acme-srv record store, schema version 3: who added each record, and the record counts
-- the quotas read (RecordQuotas: records per zone, records per credential).
--
-- The counts are kept by the triggers below, so they change in the transaction of every
-- change to `records`, whatever statement made it, and a quota check reads one row
-- instead of counting a subtree.

-- The credential that added the record: 'api-key:<id>' or 'tsig-key:<name>'. NULL for
-- the admin token, acme-dns registrations and every record stored before this version.
ALTER TABLE records ADD COLUMN author TEXT;

-- The served zones records are counted in, as the last write that named them said
-- (WriteContext::zones). When the list changes, the store rewrites this table and
-- recounts the 'zone' rows of record_counts in the same transaction.
CREATE TABLE counted_zones (
    origin TEXT PRIMARY KEY NOT NULL CHECK (origin <> '' AND origin = lower(origin))
);

-- ('zone', origin): records whose owner is in that zone (the longest origin at or above
-- the owner); ('author', author): records that credential added and that still exist.
-- A count never goes below 0: a counting mistake must not stop deletions.
CREATE TABLE record_counts (
    kind    TEXT    NOT NULL CHECK (kind IN ('zone', 'author')),
    name    TEXT    NOT NULL,
    records INTEGER NOT NULL,
    PRIMARY KEY (kind, name)
);

CREATE TRIGGER records_counted_on_insert AFTER INSERT ON records
BEGIN
    INSERT INTO record_counts (kind, name, records)
        SELECT 'zone', origin, 1 FROM counted_zones
        WHERE NEW.owner = origin
           OR (length(NEW.owner) > length(origin)
               AND substr(NEW.owner, -length(origin) - 1) = '.' || origin)
        ORDER BY length(origin) DESC LIMIT 1
        ON CONFLICT (kind, name) DO UPDATE SET records = records + 1;
    INSERT INTO record_counts (kind, name, records)
        SELECT 'author', NEW.author, 1 WHERE NEW.author IS NOT NULL
        ON CONFLICT (kind, name) DO UPDATE SET records = records + 1;
END;

CREATE TRIGGER records_uncounted_on_delete AFTER DELETE ON records
BEGIN
    UPDATE record_counts SET records = max(records - 1, 0)
        WHERE kind = 'zone' AND name = (
            SELECT origin FROM counted_zones
            WHERE OLD.owner = origin
               OR (length(OLD.owner) > length(origin)
                   AND substr(OLD.owner, -length(origin) - 1) = '.' || origin)
            ORDER BY length(origin) DESC LIMIT 1);
    UPDATE record_counts SET records = max(records - 1, 0)
        WHERE kind = 'author' AND name = OLD.author;
END;

-- The store never rewrites an owner or an author, but the counts stay right if one is.
CREATE TRIGGER records_recounted_on_update AFTER UPDATE OF owner, author ON records
BEGIN
    UPDATE record_counts SET records = max(records - 1, 0)
        WHERE kind = 'zone' AND name = (
            SELECT origin FROM counted_zones
            WHERE OLD.owner = origin
               OR (length(OLD.owner) > length(origin)
                   AND substr(OLD.owner, -length(origin) - 1) = '.' || origin)
            ORDER BY length(origin) DESC LIMIT 1);
    UPDATE record_counts SET records = max(records - 1, 0)
        WHERE kind = 'author' AND name = OLD.author;
    INSERT INTO record_counts (kind, name, records)
        SELECT 'zone', origin, 1 FROM counted_zones
        WHERE NEW.owner = origin
           OR (length(NEW.owner) > length(origin)
               AND substr(NEW.owner, -length(origin) - 1) = '.' || origin)
        ORDER BY length(origin) DESC LIMIT 1
        ON CONFLICT (kind, name) DO UPDATE SET records = records + 1;
    INSERT INTO record_counts (kind, name, records)
        SELECT 'author', NEW.author, 1 WHERE NEW.author IS NOT NULL
        ON CONFLICT (kind, name) DO UPDATE SET records = records + 1;
END;
