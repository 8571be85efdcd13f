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
            None if r.stopped else r.host_port,
        )
        for r in await host_store.routed(db)
    ]


class Routes:
    """Owns what Caddy should serve; `sync()` returns once Caddy serves what the store
    held when it was called."""

    def __init__(self, db: Database, settings: Settings, caddy: CaddyAdmin, storage: str | None) -> None:
        self.db, self.settings, self.caddy, self.storage = db, settings, caddy, storage
        self.sync = Coalescer(self._apply)
        self._built_at: int | None = None  # the store's commit count the submitted routes were read at
        self._version: int | None = None  # the store's route version they were read at
        self._routes: list[Route] | None = None
        self.builds = 0

    async def _apply(self) -> None:
        """Routes depend on the store alone: with no commit since they were last read, or
        none that moved the route version, the document is the same, and only Caddy being
        in step is checked. (Every tenant pass asks for a sync; with a thousand tenants,
        reading every route again on each commit kept a core busy while tenants deployed.)"""
        commits = self.db.commits
        if commits != self._built_at:
            version = await host_store.route_version(self.db)  # read first: a later commit only means a later read
            if version != self._version:
                routes = await desired_routes(self.db, self.settings)
                if routes != self._routes:
                    self._submit(routes)
                    self._routes = routes
                    self.builds += 1
                self._version = version
            self._built_at = commits
        await self.caddy.wait_in_step()

    def _submit(self, routes: list[Route]) -> None:
        s = self.settings
        self.caddy.submit(
            build_config(
                routes,
                admin=s.caddy_admin,
                https_port=s.domains.https_port,
                http_port=s.caddy.http_port,
                ask_url=s.ask_url,
                issuer=s.caddy.issuer,
                acme_email=s.caddy.acme_email,
                storage=self.storage,
            )
        )
