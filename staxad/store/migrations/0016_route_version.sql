-- A counter that every write able to change what Caddy serves bumps (host.routed reads
-- these columns). The route sync reads it first and re-reads the routes only when it
-- moved: most commits (events, statuses, builds) change no route, and with a thousand
-- tenants re-reading them all on each commit kept the daemon busy while it deployed.
-- A migration that rebuilds one of these tables drops its triggers and must create them
-- again; tests/unit/test_route_version.py runs every route-changing write on a fully
-- migrated store. (INSERT OR REPLACE would skip the delete triggers: nothing uses it.)
CREATE TABLE route_version (n INTEGER NOT NULL);
INSERT INTO route_version (n) VALUES (0);

CREATE TRIGGER route_version_tenant_update AFTER UPDATE OF name, status ON tenants
WHEN old.name IS NOT new.name OR (old.status = 'deleting') IS NOT (new.status = 'deleting')
BEGIN UPDATE route_version SET n = n + 1; END;

CREATE TRIGGER route_version_tenant_delete AFTER DELETE ON tenants
BEGIN UPDATE route_version SET n = n + 1; END;

CREATE TRIGGER route_version_service_insert AFTER INSERT ON services
BEGIN UPDATE route_version SET n = n + 1; END;

CREATE TRIGGER route_version_service_delete AFTER DELETE ON services
BEGIN UPDATE route_version SET n = n + 1; END;

CREATE TRIGGER route_version_service_update
AFTER UPDATE OF tenant_id, name, is_primary, is_routable, priority, created_at, desired_state, live_deployment_id
ON services
WHEN old.tenant_id IS NOT new.tenant_id OR old.name IS NOT new.name OR old.is_primary IS NOT new.is_primary
  OR old.is_routable IS NOT new.is_routable OR old.priority IS NOT new.priority
  OR old.created_at IS NOT new.created_at OR old.desired_state IS NOT new.desired_state
  OR old.live_deployment_id IS NOT new.live_deployment_id
BEGIN UPDATE route_version SET n = n + 1; END;

CREATE TRIGGER route_version_deployment_insert AFTER INSERT ON deployments
WHEN new.host_port IS NOT NULL
BEGIN UPDATE route_version SET n = n + 1; END;

CREATE TRIGGER route_version_deployment_update AFTER UPDATE OF host_port ON deployments
WHEN old.host_port IS NOT new.host_port
BEGIN UPDATE route_version SET n = n + 1; END;

CREATE TRIGGER route_version_deployment_delete AFTER DELETE ON deployments
WHEN old.host_port IS NOT NULL
BEGIN UPDATE route_version SET n = n + 1; END;

CREATE TRIGGER route_version_domain_insert AFTER INSERT ON domains
WHEN new.verified_at IS NOT NULL
BEGIN UPDATE route_version SET n = n + 1; END;

CREATE TRIGGER route_version_domain_delete AFTER DELETE ON domains
WHEN old.verified_at IS NOT NULL
BEGIN UPDATE route_version SET n = n + 1; END;

CREATE TRIGGER route_version_domain_update AFTER UPDATE OF tenant_id, service_id, domain, verified_at ON domains
WHEN old.tenant_id IS NOT new.tenant_id OR old.service_id IS NOT new.service_id OR old.domain IS NOT new.domain
  OR (old.verified_at IS NULL) IS NOT (new.verified_at IS NULL)
BEGIN UPDATE route_version SET n = n + 1; END;
