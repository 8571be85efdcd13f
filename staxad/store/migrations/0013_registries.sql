-- A provider's private registry credentials; the password is sealed with the data dir's key.
CREATE TABLE registries (
    id            TEXT PRIMARY KEY,
    provider_id   TEXT NOT NULL REFERENCES providers(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    registry_url  TEXT NOT NULL,
    host          TEXT NOT NULL,      -- host[:port] as image references name it
    username      TEXT NOT NULL,
    password      BLOB NOT NULL,
    verified      INTEGER NOT NULL DEFAULT 0,
    verify_error  TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX registries_provider ON registries(provider_id, host);

-- The credential an image service pulls with (NULL: the provider's one for the image's host).
ALTER TABLE services ADD COLUMN registry_id TEXT;
-- 1 for an image pulled with a credential: another provider may not use the local copy.
ALTER TABLE images ADD COLUMN private INTEGER NOT NULL DEFAULT 0;
