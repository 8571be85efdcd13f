-- Each tenant's block of subordinate ids (staxad.model.userns). A slot is given again
-- only once nothing of its last tenant is on the host: released when the tenant's
-- teardown is done, and held while a volume's files are in its block (a retained one
-- included). Tenants made before keep NULL: block 0, shared, as before.
CREATE TABLE userns_slots (
    slot        INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id   TEXT NOT NULL,
    assigned_at TEXT NOT NULL,
    released    INTEGER NOT NULL DEFAULT 0
);
ALTER TABLE tenants ADD COLUMN userns_slot INTEGER;
-- The slot whose block owns a volume's files (NULL: block 0). A volume given to a tenant
-- of another slot is moved to that tenant's block before it is mounted there.
ALTER TABLE volumes ADD COLUMN userns_slot INTEGER;
ALTER TABLE retained_volumes ADD COLUMN userns_slot INTEGER;
