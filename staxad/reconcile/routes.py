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
