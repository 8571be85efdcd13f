-- The services a variable applies to, as a JSON array of service names; NULL: all of them.
ALTER TABLE env_vars ADD COLUMN services TEXT;
