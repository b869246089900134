-- acme-srv record store, schema version 4: TSIG keys (RFC 8945) for RFC 2136 UPDATE and,
-- with `transfer`, zone transfers.
--
-- `secret` is the key itself, stored AS IT IS, not hashed: unlike an API key secret
-- (api_keys.secret_hash, an argon2 hash checked against what the client sends), a TSIG
-- secret is never sent; the server must compute the HMAC of every signed message with
-- it, which a one-way hash cannot do. Whoever reads this table (or a backup of the
-- database) can sign updates with every key in it: protect the file like the keys. A
-- revoked key's secret is wiped (empty); the row stays for the listing, and a new key
-- may take the name over.
--
-- `name` is a domain name, normalised (lowercase, no trailing dot). `scopes` is a JSON
-- array of {"kind": "exact"|"subtree", "name": N}, the names the key may change;
-- `record_types` a JSON array of mnemonics (empty: every type); `transfer` whether the
-- key may transfer zones.
CREATE TABLE tsig_keys (
    name         TEXT    PRIMARY KEY NOT NULL CHECK (name <> '' AND name = lower(name)),
    algorithm    TEXT    NOT NULL CHECK (algorithm IN ('hmac-sha256', 'hmac-sha512')),
    secret       BLOB    NOT NULL,
    description  TEXT    NOT NULL,
    scopes       TEXT    NOT NULL CHECK (json_valid(scopes)),
    record_types TEXT    NOT NULL CHECK (json_valid(record_types)),
    transfer     INTEGER NOT NULL CHECK (transfer IN (0, 1)),
    created_at   INTEGER NOT NULL,
    revoked      INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))
);
