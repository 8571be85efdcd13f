-- Volumes kept on the host when their tenant was deleted (`retain: true`), recorded for
-- the provider that owned them: listed, attached to another of its tenants, or deleted
-- through the API. The id is the volume's, which names its host volume; the host
-- volume's labels keep naming the tenant it was made for (podman labels cannot change).
CREATE TABLE retained_volumes (
    id           TEXT PRIMARY KEY,
    provider_id  TEXT NOT NULL,
    mode         TEXT NOT NULL,
    tenant_id    TEXT NOT NULL,     -- the tenant its host labels name
    tenant_name  TEXT NOT NULL,     -- the last tenant that had it, for people
    name         TEXT NOT NULL,
    size_mb      INTEGER NOT NULL,
    used_bytes   INTEGER,
    retained_at  TEXT NOT NULL,
    deleting     INTEGER NOT NULL DEFAULT 0  -- 1: the sweep removes it from the host, then the row
);
CREATE INDEX retained_volumes_provider ON retained_volumes(provider_id);

-- The tenant a volume's host labels name, when it was attached from a retained volume.
ALTER TABLE volumes ADD COLUMN host_tenant_id TEXT;
