-- A provider's webhook endpoints. Secrets are sealed with the data dir's key; a rotated
-- secret's predecessor keeps signing until previous_until.
CREATE TABLE webhooks (
    id               TEXT PRIMARY KEY,
    provider_id      TEXT NOT NULL REFERENCES providers(id) ON DELETE CASCADE,
    url              TEXT NOT NULL,
    events           TEXT NOT NULL,           -- JSON array of patterns such as "deployment.*"
    enabled          INTEGER NOT NULL DEFAULT 1,
    secret           BLOB NOT NULL,
    previous_secret  BLOB,
    previous_until   TEXT,
    failing_since    TEXT,                    -- first failure of the current run of failures
    disabled_reason  TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX webhooks_provider ON webhooks(provider_id);

-- The outbox: one row per event and matching webhook, written in the event's own
-- transaction, so a delivery is never lost to a crash (at least once).
CREATE TABLE deliveries (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id       TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_id         INTEGER NOT NULL,
    event_type       TEXT NOT NULL,
    payload          TEXT NOT NULL,
    status           TEXT NOT NULL,           -- pending | delivered | failed
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    response_code    INTEGER,
    error            TEXT,
    duration_ms      INTEGER,
    created_at       TEXT NOT NULL,
    finished_at      TEXT
);
CREATE INDEX deliveries_due ON deliveries(status, webhook_id, id);
