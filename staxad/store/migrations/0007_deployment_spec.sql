-- The container a deployment started, as it was started (image, env, port, size), sealed
-- with the secret box: repairs recreate exactly this, never env that was not deployed.
ALTER TABLE deployments ADD COLUMN spec BLOB;
