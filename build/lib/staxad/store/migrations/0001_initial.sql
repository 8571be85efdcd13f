-- The desired state and its history. Times are UTC ISO 8601 strings ending in Z.

CREATE TABLE providers (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT,
    tenant_limit  INTEGER,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    provider_id  TEXT NOT NULL REFERENCES providers(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    digest       TEXT NOT NULL UNIQUE,
    mode         TEXT NOT NULL CHECK (mode IN ('live', 'test')),
    scopes       TEXT NOT NULL,             -- JSON array
    expires_at   TEXT,
    created_at   TEXT NOT NULL
);
CREATE INDEX api_keys_provider ON api_keys(provider_id);

CREATE TABLE tenants (
    id             TEXT PRIMARY KEY,
    provider_id    TEXT NOT NULL REFERENCES providers(id),
    name           TEXT NOT NULL UNIQUE,    -- the subdomain: unique across providers
    display_name   TEXT,
    mode           TEXT NOT NULL CHECK (mode IN ('live', 'test')),
    status         TEXT NOT NULL,
    status_reason  TEXT,
    branch         TEXT NOT NULL DEFAULT 'main',
    resource_size  TEXT NOT NULL DEFAULT 'small',
    egress_mode    TEXT NOT NULL DEFAULT 'open',
    generation     INTEGER NOT NULL DEFAULT 1,   -- bumped on every desired-state change
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX tenants_provider_created ON tenants(provider_id, created_at);
CREATE INDEX tenants_status ON tenants(status);

CREATE TABLE services (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    source_type    TEXT NOT NULL CHECK (source_type IN ('github', 'image')),
    repo_url       TEXT,
    branch         TEXT NOT NULL DEFAULT 'main',
    image_url      TEXT,
    port           INTEGER NOT NULL,
    is_primary     INTEGER NOT NULL DEFAULT 0,
    is_routable    INTEGER NOT NULL DEFAULT 0,
    resource_size  TEXT NOT NULL DEFAULT 'small',
    priority       INTEGER NOT NULL DEFAULT 0,
    status         TEXT NOT NULL DEFAULT 'pending',
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE env_vars (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    key        TEXT NOT NULL,
    value      BLOB NOT NULL,              -- encrypted with the data dir's secret key
    is_secret  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, key)
);

CREATE TABLE deployments (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    service_id      TEXT NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    status          TEXT NOT NULL,
    stage           TEXT NOT NULL,
    reason          TEXT,
    branch          TEXT,
    commit_sha      TEXT,
    commit_message  TEXT,
    framework       TEXT,
    image_ref       TEXT,
    container_id    TEXT,
    host_port       INTEGER,
    rollback_from   TEXT,
    created_at      TEXT NOT NULL,
    started_at      TEXT,
    finished_at     TEXT
);
CREATE INDEX deployments_tenant ON deployments(tenant_id, created_at);
CREATE INDEX deployments_service ON deployments(service_id, created_at);
CREATE INDEX deployments_status ON deployments(status);

CREATE TABLE domains (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    service_id       TEXT REFERENCES services(id) ON DELETE SET NULL,
    domain           TEXT NOT NULL UNIQUE,
    is_primary       INTEGER NOT NULL DEFAULT 0,
    verified         INTEGER NOT NULL DEFAULT 0,
    ssl_status       TEXT NOT NULL DEFAULT 'pending',
    token            TEXT NOT NULL,
    verified_at      TEXT,
    last_checked_at  TEXT,
    created_at       TEXT NOT NULL
);
CREATE INDEX domains_tenant ON domains(tenant_id);

CREATE TABLE network_rules (
    id                 TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    direction          TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    protocol           TEXT NOT NULL CHECK (protocol IN ('tcp', 'udp')),
    target_service_id  TEXT REFERENCES services(id) ON DELETE CASCADE,
    target_port        INTEGER,
    allocated_port     INTEGER,
    source_cidrs       TEXT NOT NULL DEFAULT '[]',
    destination_cidrs  TEXT NOT NULL DEFAULT '[]',
    destination_port   INTEGER,
    description        TEXT,
    status             TEXT NOT NULL,
    expires_at         TEXT,
    created_at         TEXT NOT NULL
);
CREATE UNIQUE INDEX network_rules_port ON network_rules(allocated_port, protocol)
    WHERE status = 'active' AND allocated_port IS NOT NULL;
CREATE INDEX network_rules_tenant ON network_rules(tenant_id);

CREATE TABLE events (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,  -- the SSE Last-Event-ID
    tenant_id      TEXT NOT NULL,                      -- kept after the tenant is gone
    type           TEXT NOT NULL,
    stage          TEXT,
    message        TEXT NOT NULL,
    deployment_id  TEXT,
    service_name   TEXT,
    created_at     TEXT NOT NULL
);
CREATE INDEX events_tenant ON events(tenant_id, id);
