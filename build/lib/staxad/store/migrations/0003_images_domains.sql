-- Images staxad pulled or built for a tenant: removed with the tenant (and, for
-- builds, pruned to the newest few per service). Images that were already on the
-- host are never staxad's to remove.
CREATE TABLE images (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    ref         TEXT NOT NULL,
    origin      TEXT NOT NULL CHECK (origin IN ('pulled', 'built')),
    service_id  TEXT,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, ref)
);

-- What the last DNS check of a domain found when it did not prove ownership.
ALTER TABLE domains ADD COLUMN check_error TEXT;
