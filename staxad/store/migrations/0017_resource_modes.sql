-- The mode of the key that made a webhook or a registry credential. A test key sees,
-- changes and uses only test ones; a test tenant's events go only to test webhooks and
-- a live tenant's only to live ones; a tenant pulls only with credentials of its mode.
-- Rows made before this migration count as live: test keys lose them rather than keep
-- reaching live resources.
ALTER TABLE webhooks ADD COLUMN mode TEXT NOT NULL DEFAULT 'live' CHECK (mode IN ('live', 'test'));
ALTER TABLE registries ADD COLUMN mode TEXT NOT NULL DEFAULT 'live' CHECK (mode IN ('live', 'test'));
