//! Migration 11 on SQLite: a collection's counts kept by the database, and the serial indexes
//! that match a certificate to its asset.
//!
//! A collection's page shows its assets by state, how many were received or are unaccounted
//! for, and its drives by the result of their latest certificate. Counting those rows at each
//! look costs a scan of the collection (100,000 assets: a third of a second on PostgreSQL), so
//! the counts live in `collection_tallies`, one row per (collection, key), kept by triggers on
//! `assets`, `media` and `certificates`: every write, by any code path, keeps them exact, and a
//! look reads a handful of rows. The keys:
//!
//! - `assets`, `state:STATE`, `received` (received at goods-in), `unaccounted` (not received
//!   and not resolved);
//! - `drives:RESULT` per drive by its latest certificate's result (`drives:none` without one),
//!   from `media.latest_result`, which the certificates' triggers keep.
//!
//! A certificate is matched by serial with `WHERE serial = ? ORDER BY id LIMIT 1`; with an
//! index on the serial alone PostgreSQL may walk the whole table in id order looking for it
//! (a drive's serial that no asset has: every asset), so the serial indexes carry the id.

/// Migration 11's indexes, the same on both backends: the serials with the id, and a
/// collection's assets by state in tag order (a macro, so each backend's migration is one
/// string).
macro_rules! v11_indexes {
    () => {
        "
CREATE INDEX assets_serial_id ON assets(serial, id);
DROP INDEX assets_serial;
CREATE INDEX media_serial_asset ON media(serial, asset_id);
DROP INDEX media_serial;
CREATE INDEX assets_collection_state_tag ON assets(collection_id, state, tag);
DROP INDEX assets_collection_state;
"
    };
}
pub(crate) use v11_indexes;

/// The migration (the same counts as PostgreSQL's, with row triggers).
pub(crate) const V11_TALLIES: &str = concat!(
    v11_indexes!(),
    "
ALTER TABLE media ADD COLUMN latest_result TEXT;
UPDATE media SET latest_result = (
    SELECT c.result FROM certificates c WHERE c.media_id = media.id
    ORDER BY c.issued_at DESC, c.received_at DESC LIMIT 1);

CREATE TABLE collection_tallies (
    collection_id INTEGER NOT NULL REFERENCES collections(id),
    key TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (collection_id, key)
) WITHOUT ROWID;

INSERT INTO collection_tallies (collection_id, key, n)
SELECT collection_id, key, SUM(d) FROM (
    SELECT collection_id, 'assets' AS key, 1 AS d FROM assets
    UNION ALL SELECT collection_id, 'state:' || state, 1 FROM assets
    UNION ALL SELECT collection_id, 'received', 1 FROM assets WHERE received_at IS NOT NULL
    UNION ALL SELECT collection_id, 'unaccounted', 1 FROM assets
        WHERE received_at IS NULL AND resolution IS NULL
    UNION ALL SELECT a.collection_id, 'drives:' || COALESCE(m.latest_result, 'none'), 1
        FROM media m JOIN assets a ON a.id = m.asset_id
) GROUP BY collection_id, key;

CREATE TRIGGER assets_tally_insert AFTER INSERT ON assets BEGIN
    INSERT INTO collection_tallies (collection_id, key, n) VALUES
        (NEW.collection_id, 'assets', 1),
        (NEW.collection_id, 'state:' || NEW.state, 1),
        (NEW.collection_id, 'received', NEW.received_at IS NOT NULL),
        (NEW.collection_id, 'unaccounted', NEW.received_at IS NULL AND NEW.resolution IS NULL)
    ON CONFLICT (collection_id, key) DO UPDATE SET n = n + excluded.n;
END;
CREATE TRIGGER assets_tally_update
AFTER UPDATE OF collection_id, state, received_at, resolution ON assets BEGIN
    INSERT INTO collection_tallies (collection_id, key, n) VALUES
        (OLD.collection_id, 'assets', -1),
        (OLD.collection_id, 'state:' || OLD.state, -1),
        (OLD.collection_id, 'received', -(OLD.received_at IS NOT NULL)),
        (OLD.collection_id, 'unaccounted', -(OLD.received_at IS NULL AND OLD.resolution IS NULL)),
        (NEW.collection_id, 'assets', 1),
        (NEW.collection_id, 'state:' || NEW.state, 1),
        (NEW.collection_id, 'received', NEW.received_at IS NOT NULL),
        (NEW.collection_id, 'unaccounted', NEW.received_at IS NULL AND NEW.resolution IS NULL)
    ON CONFLICT (collection_id, key) DO UPDATE SET n = n + excluded.n;
END;
CREATE TRIGGER assets_tally_delete AFTER DELETE ON assets BEGIN
    INSERT INTO collection_tallies (collection_id, key, n) VALUES
        (OLD.collection_id, 'assets', -1),
        (OLD.collection_id, 'state:' || OLD.state, -1),
        (OLD.collection_id, 'received', -(OLD.received_at IS NOT NULL)),
        (OLD.collection_id, 'unaccounted', -(OLD.received_at IS NULL AND OLD.resolution IS NULL))
    ON CONFLICT (collection_id, key) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER media_tally_insert AFTER INSERT ON media BEGIN
    INSERT INTO collection_tallies (collection_id, key, n)
    SELECT a.collection_id, 'drives:' || COALESCE(NEW.latest_result, 'none'), 1
    FROM assets a WHERE a.id = NEW.asset_id
    ON CONFLICT (collection_id, key) DO UPDATE SET n = n + excluded.n;
END;
CREATE TRIGGER media_tally_update AFTER UPDATE OF asset_id, latest_result ON media BEGIN
    INSERT INTO collection_tallies (collection_id, key, n)
    SELECT a.collection_id, 'drives:' || COALESCE(OLD.latest_result, 'none'), -1
    FROM assets a WHERE a.id = OLD.asset_id
    ON CONFLICT (collection_id, key) DO UPDATE SET n = n + excluded.n;
    INSERT INTO collection_tallies (collection_id, key, n)
    SELECT a.collection_id, 'drives:' || COALESCE(NEW.latest_result, 'none'), 1
    FROM assets a WHERE a.id = NEW.asset_id
    ON CONFLICT (collection_id, key) DO UPDATE SET n = n + excluded.n;
END;
CREATE TRIGGER media_tally_delete AFTER DELETE ON media BEGIN
    INSERT INTO collection_tallies (collection_id, key, n)
    SELECT a.collection_id, 'drives:' || COALESCE(OLD.latest_result, 'none'), -1
    FROM assets a WHERE a.id = OLD.asset_id
    ON CONFLICT (collection_id, key) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER certificates_latest_insert AFTER INSERT ON certificates
WHEN NEW.media_id IS NOT NULL BEGIN
    UPDATE media SET latest_result = (
        SELECT c.result FROM certificates c WHERE c.media_id = media.id
        ORDER BY c.issued_at DESC, c.received_at DESC LIMIT 1)
    WHERE id = NEW.media_id;
END;
CREATE TRIGGER certificates_latest_update
AFTER UPDATE OF media_id, result, issued_at, received_at ON certificates BEGIN
    UPDATE media SET latest_result = (
        SELECT c.result FROM certificates c WHERE c.media_id = media.id
        ORDER BY c.issued_at DESC, c.received_at DESC LIMIT 1)
    WHERE id IN (OLD.media_id, NEW.media_id);
END;
CREATE TRIGGER certificates_latest_delete AFTER DELETE ON certificates
WHEN OLD.media_id IS NOT NULL BEGIN
    UPDATE media SET latest_result = (
        SELECT c.result FROM certificates c WHERE c.media_id = media.id
        ORDER BY c.issued_at DESC, c.received_at DESC LIMIT 1)
    WHERE id = OLD.media_id;
END;
"
);

/// Migration 12 on SQLite: the search's trigram indexes. A search matches any part of a tag,
/// serial, customer reference or drive serial (`LIKE '%...%'`), which no B-tree serves: at a
/// million assets one scan testing every column took 5.6 s. SQLite's FTS5 trigram tokenizer
/// indexes every three characters of each value: `asset_search` holds an asset's tag, serial
/// and customer reference under rowids `id * 4 + 0, 1, 2`, `media_search` a drive's serial
/// under the drive's id, so triggers replace a value by its rowid without a scan. The search
/// still applies the register's own `LOWER(..) LIKE` to what the index finds, so both
/// backends match the same rows (the tokenizer also folds letters beyond ASCII).
pub(crate) const V12_SEARCH: &str = "
CREATE VIRTUAL TABLE asset_search USING fts5(text, tokenize = 'trigram');
CREATE VIRTUAL TABLE media_search USING fts5(text, tokenize = 'trigram');
INSERT INTO asset_search (rowid, text)
    SELECT id * 4, tag FROM assets
    UNION ALL SELECT id * 4 + 1, serial FROM assets
    UNION ALL SELECT id * 4 + 2, customer_ref FROM assets WHERE customer_ref IS NOT NULL;
INSERT INTO media_search (rowid, text) SELECT id, serial FROM media;

CREATE TRIGGER assets_search_insert AFTER INSERT ON assets BEGIN
    INSERT INTO asset_search (rowid, text) VALUES (NEW.id * 4, NEW.tag), (NEW.id * 4 + 1, NEW.serial);
    INSERT INTO asset_search (rowid, text)
        SELECT NEW.id * 4 + 2, NEW.customer_ref WHERE NEW.customer_ref IS NOT NULL;
END;
CREATE TRIGGER assets_search_update AFTER UPDATE OF id, tag, serial, customer_ref ON assets BEGIN
    DELETE FROM asset_search WHERE rowid IN (OLD.id * 4, OLD.id * 4 + 1, OLD.id * 4 + 2);
    INSERT INTO asset_search (rowid, text) VALUES (NEW.id * 4, NEW.tag), (NEW.id * 4 + 1, NEW.serial);
    INSERT INTO asset_search (rowid, text)
        SELECT NEW.id * 4 + 2, NEW.customer_ref WHERE NEW.customer_ref IS NOT NULL;
END;
CREATE TRIGGER assets_search_delete AFTER DELETE ON assets BEGIN
    DELETE FROM asset_search WHERE rowid IN (OLD.id * 4, OLD.id * 4 + 1, OLD.id * 4 + 2);
END;
CREATE TRIGGER media_search_insert AFTER INSERT ON media BEGIN
    INSERT INTO media_search (rowid, text) VALUES (NEW.id, NEW.serial);
END;
CREATE TRIGGER media_search_update AFTER UPDATE OF id, serial ON media BEGIN
    DELETE FROM media_search WHERE rowid = OLD.id;
    INSERT INTO media_search (rowid, text) VALUES (NEW.id, NEW.serial);
END;
CREATE TRIGGER media_search_delete AFTER DELETE ON media BEGIN
    DELETE FROM media_search WHERE rowid = OLD.id;
END;
";

/// Migration 13 on SQLite: nothing. PostgreSQL's 13 adds the customer reference's trigram
/// index, which SQLite's search table of migration 12 holds already; one numbering for both.
pub(crate) const V13_SEARCH_CUSTOMER_REF: &str = "SELECT 1;";
