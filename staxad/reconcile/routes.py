"""Which hostnames staxad serves, from the store: Caddy's routes and the TLS `ask` gate.

A tenant's primary routable service answers at `<tenant>.<base>`; any other routable
service at `<service>--<tenant>.<base>` (tenant names cannot contain `--`, so the two
never collide).
"""

from __future__ import annotations

from staxad.adapters.caddy import Route
from staxad.config import Settings
from staxad.store.db import Database

_ROUTED = """
SELECT t.name AS tenant, s.name AS service, s.is_primary, d.host_port
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
            routes.append(
                Route(f"staxa-{settings.instance}-{row['tenant']}-{row['service']}", (host,), row["host_port"])
            )
    return routes


async def serves(db: Database, settings: Settings, domain: str) -> bool:
    """The `ask` decision: only names of tenants that exist and are not being deleted."""
    base = "." + settings.domains.base_domain
    if not domain.endswith(base):
        return False
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
