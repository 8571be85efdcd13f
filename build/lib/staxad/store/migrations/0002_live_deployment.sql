-- The deployment whose container serves a service now; NULL until the first succeeds.
ALTER TABLE services ADD COLUMN live_deployment_id TEXT;
