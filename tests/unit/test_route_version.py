"""The route version (migration 0016) moves on every write that changes what Caddy
serves, so the route sync may skip re-reading the routes when it has not moved; and it
stays put for the writes a deploy makes most (events, statuses, stages)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from staxad.store import host
from staxad.store.db import Database

SETUP = [
    "INSERT INTO providers VALUES ('p', 'e@x.io', NULL, NULL, 't', 't')",
    "INSERT INTO tenants (id, provider_id, name, mode, status, created_at, updated_at)"
    " VALUES ('t1', 'p', 'shop', 'live', 'deploying', 't', 't')",
    "INSERT INTO services (id, tenant_id, name, source_type, port, is_primary, is_routable, created_at, updated_at)"
    " VALUES ('s1', 't1', 'web', 'image', 8080, 1, 1, 't', 't')",
    "INSERT INTO deployments (id, tenant_id, service_id, status, stage, created_at)"
    " VALUES ('d1', 't1', 's1', 'running', 'deploy', 't')",
    "INSERT INTO deployments (id, tenant_id, service_id, status, stage, created_at)"
    " VALUES ('d2', 't1', 's1', 'queued', 'provision', 't')",
]

# Each write, in order, and whether it changes the routes.
WRITES = [
    ("the deployment gets its port", "UPDATE deployments SET host_port = 20001 WHERE id = 'd1'", False),
    ("it goes live", "UPDATE services SET live_deployment_id = 'd1' WHERE id = 's1'", True),
    ("a stage moves on", "UPDATE deployments SET stage = 'ready', status = 'succeeded' WHERE id = 'd1'", False),
    ("the tenant is ready", "UPDATE tenants SET status = 'ready', updated_at = 'u' WHERE id = 't1'", False),
    ("the service's status", "UPDATE services SET status = 'running', updated_at = 'u' WHERE id = 's1'", False),
    ("an event", "INSERT INTO events (tenant_id, type, message, created_at) VALUES ('t1', 'x', 'm', 't')", False),
    ("the live port moves", "UPDATE deployments SET host_port = 20002 WHERE id = 'd1'", True),
    (
        "a second service",
        "INSERT INTO services (id, tenant_id, name, source_type, port, is_routable, created_at,"
        " updated_at, live_deployment_id) VALUES ('s2', 't1', 'api', 'image', 8080, 1, 't', 't', 'd2')",
        False,
    ),
    ("its deployment gets a port", "UPDATE deployments SET host_port = 20003 WHERE id = 'd2'", True),
    (
        "a service pointing at a deployment not there yet",
        "INSERT INTO services (id, tenant_id, name, source_type,"
        " port, is_routable, created_at, updated_at, live_deployment_id) VALUES ('s3', 't1', 'ws', 'image', 8080, 1,"
        " 't', 't', 'd3')",
        False,
    ),
    (
        "the deployment arrives with its port",
        "INSERT INTO deployments (id, tenant_id, service_id, status, stage,"
        " host_port, created_at) VALUES ('d3', 't1', 's3', 'succeeded', 'ready', 20004, 't')",
        True,
    ),
    (
        "an unverified domain",
        "INSERT INTO domains (id, tenant_id, domain, token, created_at)"
        " VALUES ('m1', 't1', 'shop.example.com', 'k', 't')",
        False,
    ),
    ("it is verified", "UPDATE domains SET verified = 1, verified_at = 'v' WHERE id = 'm1'", True),
    ("it is checked again", "UPDATE domains SET last_checked_at = 'w', verified_at = 'w2' WHERE id = 'm1'", False),
    ("it moves to the second service", "UPDATE domains SET service_id = 's2' WHERE id = 'm1'", True),
    ("the service is stopped", "UPDATE services SET desired_state = 'stopped' WHERE id = 's2'", True),
    ("primary moves", "UPDATE services SET is_primary = 0 WHERE id = 's1'", True),
    ("no longer routable", "UPDATE services SET is_routable = 0 WHERE id = 's1'", True),
    ("the service goes", "DELETE FROM services WHERE id = 's1'", True),
    ("the tenant is being deleted", "UPDATE tenants SET status = 'deleting' WHERE id = 't1'", True),
    ("the tenant goes", "DELETE FROM tenants WHERE id = 't1'", False),  # deleting: routed nothing already
]


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "s.db")
    await database.open()
    async with database.transaction() as tx:
        for sql in SETUP:
            await tx.execute(sql)
    yield database
    await database.close()


async def test_the_version_moves_with_every_write_that_changes_the_routes(db: Database) -> None:
    for what, sql, changes_routes in WRITES:
        before, version = await host.routed(db), await host.route_version(db)
        async with db.transaction() as tx:
            await tx.execute(sql)
        after, moved = await host.routed(db), await host.route_version(db) != version
        assert (after != before) == changes_routes, what
        if changes_routes:
            assert moved, f"{what}: the routes changed and the version did not"
        elif what in ("a stage moves on", "the tenant is ready", "the service's status", "an event"):
            assert not moved, f"{what}: changes no route and should not make the sync read them all again"
