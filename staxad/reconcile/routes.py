"""Caddy's routes, from the store: one coalesced sync for every tenant.

A tenant's primary routable service answers at `<tenant>.<base>`; any other routable
service at `<service>--<tenant>.<base>` (staxad.model.names.hostname).
"""

from __future__ import annotations

from staxad.adapters.caddy import CaddyAdmin, Route, build_config
from staxad.config import Settings
from staxad.model import names
from staxad.reconcile.syncer import Coalescer
from staxad.store import host as host_store
from staxad.store.db import Database

# serves() below moves to core with the store boundary work; kept here until then.


async def desired_routes(db: Database, settings: Settings) -> list[Route]:
    return [
        Route(
            names.route(settings.instance, r.tenant, r.service),
            (names.hostname(settings.domains.base_domain, r.tenant, r.service, r.primary), *r.domains),
            r.host_port,
        )
        for r in await host_store.routed(db)
    ]


class Routes:
    """Owns what Caddy should serve; `sync()` returns once Caddy serves what the store
    held when it was called."""

    def __init__(self, db: Database, settings: Settings, caddy: CaddyAdmin, storage: str | None) -> None:
        self.db, self.settings, self.caddy, self.storage = db, settings, caddy, storage
        self.sync = Coalescer(self._apply)

    async def _apply(self) -> None:
        s = self.settings
        self.caddy.submit(
            build_config(
                await desired_routes(self.db, s),
                admin=s.caddy_admin,
                https_port=s.domains.https_port,
                http_port=s.caddy.http_port,
                ask_url=s.ask_url,
                issuer=s.caddy.issuer,
                acme_email=s.caddy.acme_email,
                storage=self.storage,
            )
        )
        await self.caddy.wait_in_step()


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
