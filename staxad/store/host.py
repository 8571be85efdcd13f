"""What the host should hold, as the reconciler reads it: routes, restricted tenants,
and the ids and names that tell staxad's own host objects from leftovers."""

from __future__ import annotations

from dataclasses import dataclass

from staxad.model.lifecycle import DesiredState
from staxad.store.db import Database, Row

_ROUTED = """
SELECT t.id AS tenant_id, t.name AS tenant, s.id AS service_id, s.name AS service, s.is_primary,
  s.priority, s.created_at, s.desired_state, d.host_port
FROM services s JOIN tenants t ON t.id = s.tenant_id
LEFT JOIN deployments d ON d.id = s.live_deployment_id
WHERE s.is_routable = 1 AND t.status != 'deleting'
"""
_VERIFIED = "SELECT tenant_id, service_id, domain FROM domains WHERE verified_at IS NOT NULL"


@dataclass(frozen=True)
class Routed:
    """A routable service with a live container (or stopped by request), and its verified
    custom domains."""

    tenant: str
    service: str
    primary: bool
    host_port: int
    domains: tuple[str, ...]
    stopped: bool = False


async def routed(db: Database) -> list[Routed]:
    """Two flat reads joined here (a correlated subquery per service cost a millisecond a
    tenant, and every route change reads them all). A verified domain without a service
    goes to the tenant's first routable one: the primary, then by priority and age."""
    rows = await db.fetch_all(_ROUTED)
    first: dict[str, Row] = {}
    for r in sorted(rows, key=lambda r: (not r["is_primary"], r["priority"], r["created_at"])):
        first.setdefault(r["tenant_id"], r)
    domains: dict[str, list[str]] = {}
    for d in await db.fetch_all(_VERIFIED):
        owner = d["service_id"] or (first[d["tenant_id"]]["service_id"] if d["tenant_id"] in first else None)
        if owner is not None:
            domains.setdefault(owner, []).append(d["domain"])
    return [
        Routed(
            r["tenant"],
            r["service"],
            bool(r["is_primary"]),
            r["host_port"] or 0,
            _sorted(domains, r["service_id"]),
            r["desired_state"] == DesiredState.STOPPED,
        )
        for r in rows
        if r["host_port"] or r["desired_state"] == DesiredState.STOPPED  # nothing live: nothing to route to
    ]


async def route_version(db: Database) -> int:
    """Moves on every commit that can change `routed()` (triggers of migration 0016)."""
    return int(await db.fetch_value("SELECT n FROM route_version"))


def _sorted(domains: dict[str, list[str]], service_id: str) -> tuple[str, ...]:
    return tuple(sorted(domains.get(service_id, ())))


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


async def servable(db: Database) -> tuple[list[tuple[str, str, bool]], list[str]]:
    """What `ask` may approve: (tenant, service, primary) of every routable service of a
    tenant that is not being deleted, and the verified custom domains of such tenants."""
    services = await db.fetch_all(
        "SELECT t.name AS tenant, s.name AS service, s.is_primary FROM services s JOIN tenants t ON t.id = s.tenant_id"
        " WHERE t.status != 'deleting' AND s.is_routable = 1"
    )
    domains = await db.fetch_all(
        "SELECT m.domain FROM domains m JOIN tenants t ON t.id = m.tenant_id WHERE m.verified = 1"
        " AND t.status != 'deleting'"
    )
    return [(r["tenant"], r["service"], bool(r["is_primary"])) for r in services], [r["domain"] for r in domains]
