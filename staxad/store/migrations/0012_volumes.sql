-- Named podman volumes of a tenant, each mounted by at most one service.
CREATE TABLE volumes (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    service_id       TEXT REFERENCES services(id) ON DELETE SET NULL,
    mount_path       TEXT,
    size_mb          INTEGER NOT NULL,
    retain           INTEGER NOT NULL DEFAULT 0,  -- kept on the host when the tenant is deleted
    used_bytes       INTEGER,                     -- last measured, NULL until then
    over_limit       INTEGER NOT NULL DEFAULT 0,  -- 1 while used_bytes exceeds size_mb
    backup_schedule  TEXT,                        -- a cron line, NULL for manual backups only
    keep_last        INTEGER NOT NULL DEFAULT 7,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    UNIQUE (tenant_id, name),
    UNIQUE (service_id, mount_path)
);
CREATE INDEX volumes_service ON volumes(service_id);

-- Backups (status queued -> running -> succeeded | failed) and restores of a volume; both
-- are run by the tenant's reconcile pass, so they never race a deploy or a repair.
CREATE TABLE backups (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    volume_id    TEXT NOT NULL REFERENCES volumes(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,                  -- manual | scheduled
    status       TEXT NOT NULL,
    reason       TEXT,
    pinned       INTEGER NOT NULL DEFAULT 0,
    size_bytes   INTEGER,
    sha256       TEXT,
    blocked_ms   INTEGER,                        -- how long the volume's service was stopped
    created_at   TEXT NOT NULL,
    finished_at  TEXT
);
CREATE INDEX backups_volume ON backups(volume_id, created_at);
CREATE INDEX backups_pending ON backups(status) WHERE status IN ('queued', 'running');

CREATE TABLE restores (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    volume_id    TEXT NOT NULL REFERENCES volumes(id) ON DELETE CASCADE,
    backup_id    TEXT NOT NULL REFERENCES backups(id) ON DELETE CASCADE,
    status       TEXT NOT NULL,
    reason       TEXT,
    created_at   TEXT NOT NULL,
    finished_at  TEXT
);
CREATE INDEX restores_pending ON restores(status) WHERE status IN ('queued', 'running');
