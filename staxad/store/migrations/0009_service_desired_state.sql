-- What the team asked a service to be: 'running' or 'stopped' (by POST .../stop). The
-- reconciler starts a stopped container only while this says running.
ALTER TABLE services ADD COLUMN desired_state TEXT NOT NULL DEFAULT 'running';
-- When a restart was last asked for (ISO time); the reconciler restarts a container that
-- started before it, so a crash between the request and the restart loses nothing.
ALTER TABLE services ADD COLUMN restart_requested_at TEXT;
