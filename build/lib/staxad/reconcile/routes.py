"""Which hostnames staxad serves, from the store: Caddy's routes and the TLS `ask` gate.

A tenant's primary routable service answers at `<tenant>.<base>`; any other routable
service at `<service>--<tenant>.<base>` (tenant names cannot contain `--`, so the two
never collide).
"""

from __future__ import annotations

import json

from staxad.adapters.caddy import Route
from staxad.config import Settings
from staxad.store.db import Database

_ROUTED = """
SELECT t.name AS tenant, s.name AS service, s.is_primary, d.host_port,
  (SELECT json_group_array(m.domain) FROM domains m WHERE m.verified_at IS NOT NULL AND m.tenant_id = t.id
     AND (m.service_id = s.id OR (m.service_id IS NULL AND s.id = (
       SELECT p.id FROM services p WHERE p.tenant_id = t.id AND p.is_routable = 1
       ORDER BY p.is_primary DESC, p.priority, p.created_at LIMIT 1)))) AS domains
FROM services s JOIN tenants t ON t.id = s.tenant_id
LEFT JOIN deployments d ON d.id = s.live_deployment_id
WHERE s.is_routable = 1 AND t.status != 'deleting'
"""


def hostname(settings: Settings, tenant: str, service: str, primary: bool) -> str:
    base = settings.domains.base_domain
    return f"{tenant}.{base}" if primary else f"{service}--{tenant}.{base}"


async def desired_routes(db: Database, settings: Settings) -> list[Route]:
    routes = []
    for row in await db.fetch_all(_ROUTED):
        if row["host_port"]:
            host = hostname(settings, row["tenant"], row["service"], bool(row["is_primary"]))
            hosts = (host, *sorted(json.loads(row["domains"])))
            routes.append(Route(f"staxa-{settings.instance}-{row['tenant']}-{row['service']}", hosts, row["host_port"]))
    return routes


async def serves(db: Database, settings: Settings, domain: str) -> bool:
    """The `ask` decision: only names of tenants that exist and are not being deleted, and
    custom domains verified now."""
    base = "." + settings.domains.base_domain
    if not domain.endswith(base):
        row = await db.fetch_one(
            "SELECT 1 FROM domains m JOIN tenants t ON t.id = m.tenant_id"
            " WHERE m.domain = ? AND m.verified = 1 AND t.status != 'deleting'",
            (domain,),
        )
        return row is not None
    label = domain[: -len(base)]
    service, _, tenant = label.rpartition("--") if "--" in label else ("", "", label)
    if "." in label or not tenant:
        return False
    row = await db.fetch_one(
        "SELECT 1 FROM services s JOIN tenants t ON t.id = s.tenant_id WHERE t.name = ? AND t.status != 'deleting'"
        " AND s.is_routable = 1 AND (s.name = ? OR (? = '' AND s.is_primary = 1))",
        (tenant, service, service),
    )
    return row is not None
