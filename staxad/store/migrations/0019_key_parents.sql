-- The key that minted each key, so revoking a key revokes the keys it made (and theirs).
-- Keys made before this migration have none recorded and are revoked only by themselves.
ALTER TABLE api_keys ADD COLUMN parent_key_id TEXT;
CREATE INDEX api_keys_parent ON api_keys(parent_key_id);
