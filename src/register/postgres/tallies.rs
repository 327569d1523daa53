//! Migration 11 on PostgreSQL: a collection's counts kept by the database, and the serial
//! indexes that match a certificate to its asset (why: see the SQLite migration's notes,
//! `register::sqlite::tallies`; the keys and their meaning are the same).
//!
//! The assets' and drives' triggers run once per statement over its transition tables, so an
//! intake of 100,000 rows adds to each count once, not 100,000 times; each trigger sums its
//! rows per (collection, key) before the upsert (one statement may not update a row twice) and
//! skips sums of zero (a drive whose model changed moves no count). Writers already take the
//! register's writer lock, so two servers never update a count at once.

/// The migration.
pub(crate) const V11_TALLIES: &str = concat!(
    crate::register::sqlite::tallies::v11_indexes!(),
    r#"
-- Searches match any part of a tag or serial (LIKE '%...%'): trigram indexes on the tags and
-- the assets' and drives' serials answer them without reading every asset (each costs the
-- intake of 100,000 rows about 1.5 s), where the server has pg_trgm (PostgreSQL's contrib, trusted
-- since 13: the database's owner may create it). Without it, searches read the tables.
DO $$
BEGIN
    BEGIN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
    EXCEPTION WHEN OTHERS THEN
        RAISE NOTICE 'pg_trgm is not available (%): searches will read every asset', SQLERRM;
    END;
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        EXECUTE 'CREATE INDEX assets_tag_trgm ON assets USING gin (LOWER(tag) gin_trgm_ops)';
        EXECUTE 'CREATE INDEX assets_serial_trgm ON assets USING gin (LOWER(serial) gin_trgm_ops)';
        EXECUTE 'CREATE INDEX media_serial_trgm ON media USING gin (LOWER(serial) gin_trgm_ops)';
    END IF;
END $$;

ALTER TABLE media ADD COLUMN latest_result TEXT COLLATE "C";
UPDATE media SET latest_result = (
    SELECT c.result FROM certificates c WHERE c.media_id = media.id
    ORDER BY c.issued_at DESC, c.received_at DESC LIMIT 1);

CREATE TABLE collection_tallies (
    collection_id BIGINT NOT NULL REFERENCES collections(id),
    key TEXT COLLATE "C" NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (collection_id, key)
);

CREATE FUNCTION asset_tally_terms(of_collection BIGINT, of_state TEXT, of_received_at TEXT,
                                  of_resolution TEXT, d BIGINT)
RETURNS TABLE (collection_id BIGINT, key TEXT, n BIGINT) LANGUAGE sql IMMUTABLE AS $$
    SELECT $1, k, $5 FROM (VALUES
        ('assets', true),
        ('state:' || $2, true),
        ('received', $3 IS NOT NULL),
        ('unaccounted', $3 IS NULL AND $4 IS NULL)) AS t(k, counts)
    WHERE counts
$$;

INSERT INTO collection_tallies (collection_id, key, n)
SELECT t.collection_id, t.key, SUM(t.n) FROM (
    SELECT x.* FROM assets a,
        LATERAL asset_tally_terms(a.collection_id, a.state, a.received_at, a.resolution, 1) x
    UNION ALL
    SELECT a.collection_id, 'drives:' || COALESCE(m.latest_result, 'none'), 1
    FROM media m JOIN assets a ON a.id = m.asset_id
) t GROUP BY t.collection_id, t.key;

CREATE FUNCTION assets_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO collection_tallies AS ct (collection_id, key, n)
        SELECT x.collection_id, x.key, SUM(x.n) FROM new_rows r,
            LATERAL asset_tally_terms(r.collection_id, r.state, r.received_at, r.resolution, 1) x
        GROUP BY 1, 2 HAVING SUM(x.n) <> 0 ORDER BY 1, 2
        ON CONFLICT (collection_id, key) DO UPDATE SET n = ct.n + EXCLUDED.n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO collection_tallies AS ct (collection_id, key, n)
        SELECT x.collection_id, x.key, SUM(x.n) FROM old_rows r,
            LATERAL asset_tally_terms(r.collection_id, r.state, r.received_at, r.resolution, -1) x
        GROUP BY 1, 2 HAVING SUM(x.n) <> 0 ORDER BY 1, 2
        ON CONFLICT (collection_id, key) DO UPDATE SET n = ct.n + EXCLUDED.n;
    ELSE
        INSERT INTO collection_tallies AS ct (collection_id, key, n)
        SELECT x.collection_id, x.key, SUM(x.n) FROM (
            SELECT r.collection_id, r.state, r.received_at, r.resolution, -1 AS d FROM old_rows r
            UNION ALL
            SELECT r.collection_id, r.state, r.received_at, r.resolution, 1 FROM new_rows r
        ) r, LATERAL asset_tally_terms(r.collection_id, r.state, r.received_at, r.resolution, r.d) x
        GROUP BY 1, 2 HAVING SUM(x.n) <> 0 ORDER BY 1, 2
        ON CONFLICT (collection_id, key) DO UPDATE SET n = ct.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER assets_tally_insert AFTER INSERT ON assets
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION assets_tally();
CREATE TRIGGER assets_tally_update AFTER UPDATE ON assets
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION assets_tally();
CREATE TRIGGER assets_tally_delete AFTER DELETE ON assets
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION assets_tally();

CREATE FUNCTION media_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO collection_tallies AS ct (collection_id, key, n)
        SELECT a.collection_id, 'drives:' || COALESCE(m.latest_result, 'none'), COUNT(*)
        FROM new_rows m JOIN assets a ON a.id = m.asset_id
        GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (collection_id, key) DO UPDATE SET n = ct.n + EXCLUDED.n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO collection_tallies AS ct (collection_id, key, n)
        SELECT a.collection_id, 'drives:' || COALESCE(m.latest_result, 'none'), -COUNT(*)
        FROM old_rows m JOIN assets a ON a.id = m.asset_id
        GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (collection_id, key) DO UPDATE SET n = ct.n + EXCLUDED.n;
    ELSE
        INSERT INTO collection_tallies AS ct (collection_id, key, n)
        SELECT a.collection_id, 'drives:' || COALESCE(m.latest_result, 'none'), SUM(m.d)
        FROM (SELECT asset_id, latest_result, -1 AS d FROM old_rows
              UNION ALL SELECT asset_id, latest_result, 1 FROM new_rows) m
        JOIN assets a ON a.id = m.asset_id
        GROUP BY 1, 2 HAVING SUM(m.d) <> 0 ORDER BY 1, 2
        ON CONFLICT (collection_id, key) DO UPDATE SET n = ct.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER media_tally_insert AFTER INSERT ON media
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION media_tally();
CREATE TRIGGER media_tally_update AFTER UPDATE ON media
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION media_tally();
CREATE TRIGGER media_tally_delete AFTER DELETE ON media
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION media_tally();

CREATE FUNCTION certificates_latest() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    drive BIGINT;
BEGIN
    FOREACH drive IN ARRAY ARRAY[
        CASE WHEN TG_OP <> 'INSERT' THEN OLD.media_id END,
        CASE WHEN TG_OP <> 'DELETE' THEN NEW.media_id END]
    LOOP
        IF drive IS NOT NULL THEN
            UPDATE media m SET latest_result = latest.result
            FROM (SELECT (SELECT c.result FROM certificates c WHERE c.media_id = drive
                          ORDER BY c.issued_at DESC, c.received_at DESC LIMIT 1) AS result) latest
            WHERE m.id = drive AND m.latest_result IS DISTINCT FROM latest.result;
        END IF;
    END LOOP;
    RETURN NULL;
END $$;
CREATE TRIGGER certificates_latest AFTER INSERT OR DELETE OR UPDATE OF media_id, result, issued_at, received_at
    ON certificates FOR EACH ROW EXECUTE FUNCTION certificates_latest();
"#
);

/// Migration 12 on PostgreSQL: nothing. SQLite's 12 indexes the search, which PostgreSQL's
/// trigram indexes of migration 11 already serve; the two backends keep one numbering.
pub(crate) const V12_SEARCH: &str = "SELECT 1;";

/// Migration 13 on PostgreSQL: the customer reference's trigram index, which migration 11
/// left out, so a search's customer reference arm read every asset (120 ms of a 270 ms search
/// by serial at a million assets). SQLite's trigram table of migration 12 holds it already.
pub(crate) const V13_SEARCH_CUSTOMER_REF: &str = r#"
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        EXECUTE 'CREATE INDEX assets_customer_ref_trgm ON assets USING gin (LOWER(customer_ref) gin_trgm_ops)';
    END IF;
END $$;
"#;
