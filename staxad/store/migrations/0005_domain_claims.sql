-- Several tenants may claim one domain while unverified; only one claim may be
-- verified (verified_at set, which is also what routes it). A tenant claims a name once.
-- SQLite cannot drop a column's UNIQUE constraint, so the table is rebuilt.
CREATE TABLE domains_new (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    service_id       TEXT REFERENCES services(id) ON DELETE SET NULL,
    domain           TEXT NOT NULL,
    is_primary       INTEGER NOT NULL DEFAULT 0,
    verified         INTEGER NOT NULL DEFAULT 0,
    ssl_status       TEXT NOT NULL DEFAULT 'pending',
    token            TEXT NOT NULL,
    verified_at      TEXT,
    last_checked_at  TEXT,
    created_at       TEXT NOT NULL,
    check_error      TEXT
);
INSERT INTO domains_new (id, tenant_id, service_id, domain, is_primary, verified, ssl_status, token,
    verified_at, last_checked_at, created_at, check_error)
  SELECT id, tenant_id, service_id, domain, is_primary, verified, ssl_status, token,
    verified_at, last_checked_at, created_at, check_error FROM domains;
DROP TABLE domains;
ALTER TABLE domains_new RENAME TO domains;
CREATE UNIQUE INDEX domains_tenant_name ON domains(tenant_id, domain);
CREATE UNIQUE INDEX domains_verified_name ON domains(domain) WHERE verified_at IS NOT NULL;
CREATE INDEX domains_name ON domains(domain);
CREATE INDEX domains_unverified_created ON domains(created_at) WHERE verified_at IS NULL;
