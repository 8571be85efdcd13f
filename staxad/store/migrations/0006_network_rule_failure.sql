-- Why the kernel refused a network rule (status 'failed'); NULL otherwise.
ALTER TABLE network_rules ADD COLUMN failure TEXT;
