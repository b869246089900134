-- acme-srv record store, schema version 2: the change journal.
--
-- Every committed change to `records` also writes (new serial, owner) here, in the same
-- transaction, so a reader that has built the DNS snapshot at serial S can ask which
-- owners changed after S and re-read only those (RecordStore::changes_since).
CREATE TABLE record_changes (
    id     INTEGER PRIMARY KEY,
    serial INTEGER NOT NULL,
    owner  TEXT    NOT NULL
);
CREATE INDEX record_changes_by_serial ON record_changes (serial);

-- The journal keeps only the newest rows. `serial` here is the highest serial whose rows
-- were pruned: changes since a serial below it are incomplete and the reader must read
-- everything. It starts at the serial of the migration: older changes were never written.
CREATE TABLE record_changes_pruned (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    serial INTEGER NOT NULL
);
INSERT INTO record_changes_pruned (id, serial) SELECT 1, serial FROM zone_serial WHERE id = 1;
