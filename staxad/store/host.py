"""What the host should hold, as the reconciler reads it: routes, restricted tenants,
and the ids and names that tell staxad's own host objects from leftovers."""

from __future__ import annotations

import json
from dataclasses import dataclass

from staxad.store.db import Database

_ROUTED = """
SELECT t.name AS tenant, s.name AS service, s.is_primary, d.host_port,
  (SELECT json_group_array(m.domain) FROM domains m WHERE m.verified_at IS NOT NULL AND m.tenant_id = t.id
     AND (m.service_id = s.id OR (m.service_id IS NULL AND s.id = (
       SELECT p.id FROM services p WHERE p.tenant_id = t.id AND p.is_routable = 1
       ORDER BY p.is_primary DESC, p.priority, p.created_at LIMIT 1)))) AS domains
FROM services s JOIN tenants t ON t.id = s.tenant_id
JOIN deployments d ON d.id = s.live_deployment_id
WHERE s.is_routable = 1 AND t.status != 'deleting' AND d.host_port IS NOT NULL AND d.host_port != 0
"""


@dataclass(frozen=True)
class Routed:
    """A routable service with a live container, and its verified custom domains."""

    tenant: str
    service: str
    primary: bool
    host_port: int
    domains: tuple[str, ...]


async def routed(db: Database) -> list[Routed]:
    return [
        Routed(r["tenant"], r["service"], bool(r["is_primary"]), r["host_port"], _domains(r["domains"]))
        for r in await db.fetch_all(_ROUTED)
    ]


async def tenant_ids(db: Database) -> list[str]:
    return [row["id"] for row in await db.fetch_all("SELECT id FROM tenants")]


async def tenant_names(db: Database) -> set[str]:
    return {row["name"] for row in await db.fetch_all("SELECT name FROM tenants")}


async def restricted_tenants(db: Database) -> list[tuple[str, str]]:
    """(id, name) of the tenants whose egress is restricted."""
    rows = await db.fetch_all("SELECT id, name FROM tenants WHERE egress_mode = 'restricted' AND status != 'deleting'")
    return [(row["id"], row["name"]) for row in rows]


async def deployments_on_host(db: Database) -> set[str]:
    """Deployments that may have a container: the live ones and those not finished."""
    rows = await db.fetch_all(
        "SELECT d.id FROM deployments d JOIN services s ON s.id = d.service_id"
        " WHERE s.live_deployment_id = d.id OR d.status IN ('queued', 'building', 'deploying')"
    )
    return {row["id"] for row in rows}


async def building(db: Database) -> set[str]:
    return {row["id"] for row in await db.fetch_all("SELECT id FROM deployments WHERE status = 'building'")}


def _domains(column: str) -> tuple[str, ...]:
    return tuple(sorted(json.loads(column)))


async def serves_custom(db: Database, domain: str) -> bool:
    """A verified custom domain of a tenant that is not being deleted."""
    row = await db.fetch_one(
        "SELECT 1 FROM domains m JOIN tenants t ON t.id = m.tenant_id"
        " WHERE m.domain = ? AND m.verified = 1 AND t.status != 'deleting'",
        (domain,),
    )
    return row is not None


async def serves_service(db: Database, tenant: str, service: str) -> bool:
    """A routable service of a tenant that is not being deleted; `service` '' is its primary."""
    row = await db.fetch_one(
        "SELECT 1 FROM services s JOIN tenants t ON t.id = s.tenant_id WHERE t.name = ? AND t.status != 'deleting'"
        " AND s.is_routable = 1 AND (s.name = ? OR (? = '' AND s.is_primary = 1))",
        (tenant, service, service),
    )
    return row is not None
