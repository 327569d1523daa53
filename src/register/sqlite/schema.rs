//! The register's tables, as versioned migrations run by `user_version`.

/// Migrations by `user_version`; each runs once, in a transaction.
pub(crate) const MIGRATIONS: &[(i64, &str)] = &[
    (
    1,
    "
CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
CREATE TABLE collections (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    code TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
CREATE TABLE assets (
    id INTEGER PRIMARY KEY,
    collection_id INTEGER NOT NULL REFERENCES collections(id),
    tag TEXT NOT NULL UNIQUE,
    serial TEXT NOT NULL,
    type TEXT,
    make TEXT,
    model TEXT,
    customer_ref TEXT,
    extra TEXT NOT NULL DEFAULT '{}',
    state TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX assets_serial ON assets(serial);
CREATE TABLE media (
    id INTEGER PRIMARY KEY,
    asset_id INTEGER NOT NULL REFERENCES assets(id),
    serial TEXT NOT NULL,
    model TEXT,
    size_bytes INTEGER,
    UNIQUE (asset_id, serial)
);
CREATE INDEX media_serial ON media(serial);
CREATE TABLE certificates (
    id TEXT PRIMARY KEY,
    asset_id INTEGER REFERENCES assets(id),
    media_id INTEGER REFERENCES media(id),
    station_id TEXT NOT NULL,
    key_id TEXT NOT NULL,
    serial TEXT,
    model TEXT,
    result TEXT NOT NULL,
    method TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    record_sha256 TEXT NOT NULL,
    matched_by TEXT NOT NULL,
    document TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE INDEX certificates_asset ON certificates(asset_id);
CREATE TABLE events (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    station TEXT NOT NULL,
    asset_tag TEXT,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE event_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO event_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
CREATE TABLE outbox (
    certificate_id TEXT PRIMARY KEY REFERENCES certificates(id),
    created_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    last_attempt_at TEXT,
    sent_at TEXT
);
CREATE TABLE stations (
    key_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    public_key TEXT NOT NULL,
    enrolled_at TEXT NOT NULL
);
",
),
    (
        2,
        "
-- Who sent a certificate, as enrolled here (never what the record claims).
ALTER TABLE certificates ADD COLUMN enrolled_as TEXT;
CREATE INDEX certificates_media ON certificates(media_id);
CREATE INDEX certificates_unmatched ON certificates(asset_id) WHERE asset_id IS NULL;
-- A revoked station's certificates signed before revoked_at stay valid; later ones are refused.
ALTER TABLE stations ADD COLUMN revoked_at TEXT;
-- Read tokens of the HTTP API: only the SHA-256 of each token is kept.
CREATE TABLE api_tokens (
    name TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
-- Custody events that travel from a station to the central register (destruction, links made
-- by a person). On a station: the outbox of them. Sent signed, keyed by id.
CREATE TABLE event_outbox (
    id TEXT PRIMARY KEY,
    event TEXT NOT NULL,
    created_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    last_attempt_at TEXT,
    sent_at TEXT
);
-- On the central register: every station event received (idempotent by id), and whether it
-- has been applied (an event about an asset not imported yet waits here).
CREATE TABLE station_events (
    id TEXT PRIMARY KEY,
    key_id TEXT NOT NULL,
    enrolled_as TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    document TEXT NOT NULL,
    received_at TEXT NOT NULL,
    applied_at TEXT
);
",
    ),
    (3, V3_CONNECTOR_DELIVERIES),
    (4, V4_ACCOUNTS),
    (5, V5_SCALE_INDEXES),
    (6, V6_CUSTODY),
    (7, V7_ACCEPT_THROUGH),
    (8, V8_STATION_NAMES),
    (9, V9_STATION_CERTIFICATES),
    (10, V10_COMPUTER_CERTIFICATES),
    (11, super::tallies::V11_TALLIES),
    (12, super::tallies::V12_SEARCH),
    (13, super::tallies::V13_SEARCH_CUSTOMER_REF),
];

/// Indexes for registers of millions of assets (the same on PostgreSQL).
pub(crate) const V5_SCALE_INDEXES: &str = "
-- The indexes of the paged lists and counts of a register of millions of assets: a
-- collection's assets by tag and by state, a drive's latest certificate, the review list by
-- issue time, a station's certificates and events, an asset's custody events.
CREATE INDEX assets_collection_tag ON assets(collection_id, tag);
CREATE INDEX assets_collection_state ON assets(collection_id, state);
DROP INDEX certificates_media;
CREATE INDEX certificates_media_latest ON certificates(media_id, issued_at, received_at);
CREATE INDEX certificates_unmatched_issued ON certificates(issued_at, id) WHERE asset_id IS NULL;
CREATE INDEX certificates_station ON certificates(key_id, received_at);
CREATE INDEX station_events_station ON station_events(key_id, received_at);
CREATE INDEX events_asset ON events(asset_tag, seq);
";

/// One row per (certificate or destroyed asset, connector): sent once, kept with its message.
/// `subject` is the certificate id, or `destroyed:TAG`.
const V3_CONNECTOR_DELIVERIES: &str = "
CREATE TABLE connector_deliveries (
    connector TEXT NOT NULL,
    subject TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('certificate', 'destroyed')),
    certificate_id TEXT REFERENCES certificates(id),
    asset_tag TEXT,
    state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'skipped')),
    message TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (connector, subject)
);
CREATE INDEX connector_deliveries_certificate ON connector_deliveries(certificate_id);
CREATE INDEX connector_deliveries_asset ON connector_deliveries(asset_tag);
";

/// People who read the register over HTTP: accounts, their API tokens and sessions (SHA-256
/// only), and the log of sign-in attempts.
const V4_ACCOUNTS: &str = "
CREATE TABLE users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('admin', 'compliance', 'intake', 'technician')),
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL
);
-- A person's API tokens: only the SHA-256 of each is kept.
CREATE TABLE user_tokens (
    sha256 TEXT PRIMARY KEY,
    user_name TEXT NOT NULL REFERENCES users(name),
    created_at TEXT NOT NULL
);
CREATE INDEX user_tokens_user ON user_tokens(user_name);
-- Sign-in sessions: the SHA-256 of the cookie, and the token the session's forms carry.
CREATE TABLE web_sessions (
    sha256 TEXT PRIMARY KEY,
    user_name TEXT NOT NULL REFERENCES users(name),
    csrf TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX web_sessions_user ON web_sessions(user_name);
-- Every sign-in attempt, for the rate limit and the record.
CREATE TABLE login_attempts (
    id TEXT PRIMARY KEY,
    at TEXT NOT NULL,
    username TEXT NOT NULL,
    client TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'failed', 'refused'))
);
CREATE INDEX login_attempts_user ON login_attempts(username, at);
CREATE INDEX login_attempts_client ON login_attempts(client, at);
";

/// A collection's chain of custody: assets booked as `expected` until goods-in receives them
/// (assets imported before this migration were received at import), the collection's steps
/// (booked, collected, received, reconciled, closed) with who, when and what, what goods-in
/// scanned that no manifest lists, and how each missing asset was resolved.
const V6_CUSTODY: &str = "
ALTER TABLE assets ADD COLUMN received_at TEXT;
UPDATE assets SET received_at = created_at;
ALTER TABLE assets ADD COLUMN resolution TEXT CHECK (resolution IN ('found', 'withdrawn', 'lost'));
ALTER TABLE assets ADD COLUMN resolution_note TEXT;
ALTER TABLE assets ADD COLUMN resolved_by TEXT;
ALTER TABLE assets ADD COLUMN resolved_at TEXT;
ALTER TABLE collections ADD COLUMN state TEXT NOT NULL DEFAULT 'received'
    CHECK (state IN ('booked', 'collected', 'received', 'reconciled', 'closed'));
CREATE TABLE collection_steps (
    id INTEGER PRIMARY KEY,
    collection_id INTEGER NOT NULL REFERENCES collections(id),
    step TEXT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    station TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX collection_steps_collection ON collection_steps(collection_id);
CREATE TABLE collection_extras (
    id INTEGER PRIMARY KEY,
    collection_id INTEGER NOT NULL REFERENCES collections(id),
    scanned TEXT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    station TEXT NOT NULL,
    UNIQUE (collection_id, scanned)
);
";

/// How far a revoked station's own chain is still accepted: the certificate the administrator
/// named at revocation and the ones before it in the chain. None: nothing new is accepted.
const V7_ACCEPT_THROUGH: &str = "
ALTER TABLE stations ADD COLUMN accept_through TEXT;
";

/// The names a station's key signed under before its present one (a station renamed in its
/// settings): certificates issued under an earlier name keep arriving under it.
const V8_STATION_NAMES: &str = "
CREATE TABLE station_names (
    key_id TEXT NOT NULL,
    name TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (key_id, name)
);
";

/// The X.509 certificates the register's CA issued to enrolled stations (PEM), by serial (hex):
/// a station fetches its own at sync; the CRL lists the ones revoked with their station (or
/// removed with its enrolment).
const V9_STATION_CERTIFICATES: &str = "
CREATE TABLE station_certificates (
    serial TEXT PRIMARY KEY,
    key_id TEXT NOT NULL,
    certificate TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX station_certificates_key ON station_certificates(key_id);
";

/// Computer certificates (`wipeproof/computer/v1`): the computer that was the asset and the
/// certificates of its drives. Kept beside the drives' certificates, linked to the computer's
/// asset, queued for the central register in their own outbox; a connector delivery may name
/// one (kind `computer`), so deliveries no longer reference the drives' table alone.
const V10_COMPUTER_CERTIFICATES: &str = "
CREATE TABLE computer_certificates (
    id TEXT PRIMARY KEY,
    asset_id INTEGER REFERENCES assets(id),
    station_id TEXT NOT NULL,
    key_id TEXT NOT NULL,
    serial TEXT,
    chassis_asset_tag TEXT,
    result TEXT NOT NULL,
    drives INTEGER NOT NULL,
    issued_at TEXT NOT NULL,
    record_sha256 TEXT NOT NULL,
    matched_by TEXT NOT NULL,
    document TEXT NOT NULL,
    received_at TEXT NOT NULL,
    enrolled_as TEXT
);
CREATE INDEX computer_certificates_asset ON computer_certificates(asset_id, issued_at);
CREATE TABLE computer_outbox (
    certificate_id TEXT PRIMARY KEY REFERENCES computer_certificates(id),
    created_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    last_attempt_at TEXT,
    sent_at TEXT
);
CREATE TABLE connector_deliveries_v10 (
    connector TEXT NOT NULL,
    subject TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('certificate', 'destroyed', 'computer')),
    certificate_id TEXT,
    asset_tag TEXT,
    state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'skipped')),
    message TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (connector, subject)
);
INSERT INTO connector_deliveries_v10 SELECT connector, subject, kind, certificate_id, asset_tag,
    state, message, attempts, created_at, updated_at FROM connector_deliveries;
DROP TABLE connector_deliveries;
ALTER TABLE connector_deliveries_v10 RENAME TO connector_deliveries;
CREATE INDEX connector_deliveries_certificate ON connector_deliveries(certificate_id);
CREATE INDEX connector_deliveries_asset ON connector_deliveries(asset_tag);
";
