-- One-click databases: a non-routable service running the engine, a volume for its data,
-- and credentials sealed with the data dir's key.
CREATE TABLE databases (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    service_id  TEXT NOT NULL UNIQUE REFERENCES services(id) ON DELETE CASCADE,
    volume_id   TEXT REFERENCES volumes(id) ON DELETE SET NULL,
    engine      TEXT NOT NULL,
    name        TEXT NOT NULL,
    version     TEXT,
    username    TEXT NOT NULL,
    password    BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (tenant_id, name)
);

-- A service that gets the database's URL in its env (DATABASE_URL, REDIS_URL).
CREATE TABLE connections (
    id           TEXT PRIMARY KEY,
    database_id  TEXT NOT NULL REFERENCES databases(id) ON DELETE CASCADE,
    service_id   TEXT NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    env_key      TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    UNIQUE (database_id, service_id)
);
