-- A provider's GitHub App installation (at most one; an installation belongs to one provider).
-- No token is stored: installation tokens are minted when needed and kept in memory.
CREATE TABLE github_installations (
    provider_id      TEXT PRIMARY KEY REFERENCES providers(id) ON DELETE CASCADE,
    installation_id  INTEGER NOT NULL UNIQUE,
    account          TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'active',
    created_at       TEXT NOT NULL
);

-- Webhook deliveries already handled (X-GitHub-Delivery): a replay does nothing.
CREATE TABLE github_deliveries (
    id           TEXT PRIMARY KEY,
    event        TEXT NOT NULL,
    received_at  TEXT NOT NULL
);
CREATE INDEX github_deliveries_received ON github_deliveries(received_at);

-- 0: a push to the service's branch does not deploy it.
ALTER TABLE services ADD COLUMN auto_deploy INTEGER NOT NULL DEFAULT 1;
