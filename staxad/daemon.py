"""The composition root: store, secret box, platform, reconciler, HTTP app, server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import uvicorn
from starlette.applications import Starlette

from staxad.api.app import build_app
from staxad.config import Settings
from staxad.core.context import Context
from staxad.core.platform import Platform
from staxad.model.clock import Clock
from staxad.reconcile.guard import guard
from staxad.reconcile.loop import Reconciler
from staxad.reconcile.tenant import TenantReconciler
from staxad.store.db import Database
from staxad.store.secretbox import SecretBox

log = logging.getLogger("staxad")


class Daemon:
    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.db = Database(settings.database_path, settings.store.synchronous)
        self.ctx = Context(
            db=self.db,
            box=SecretBox.from_file(settings.secret_key_path),
            settings=settings,
            clock=clock or Clock(),
            changed=self._changed,
        )
        self.platform = Platform(self.ctx)
        self.tenant_reconciler = TenantReconciler(self.platform)
        self.reconciler = Reconciler(self.tenant_reconciler.reconcile, self.tenant_reconciler.all_ids)
        self._tasks: list[asyncio.Task[None]] = []
        self.app: Starlette = build_app(self.platform, settings, self._lifespan)

    def _changed(self, tenant_id: str) -> None:
        self.reconciler.kick(tenant_id)

    async def start(self) -> None:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        await self.db.open()
        self._tasks.append(asyncio.create_task(guard("reconciler", self.reconciler.run)))
        self.reconciler.kick()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await self.db.close()

    @contextlib.asynccontextmanager
    async def _lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        await self.start()
        try:
            yield
        finally:
            await self.stop()


def serve(settings: Settings) -> None:
    daemon = Daemon(settings)
    config = uvicorn.Config(
        daemon.app,
        host=settings.server.host,
        port=settings.server.port,
        log_config=None,
        access_log=False,
        lifespan="on",
        server_header=False,
    )
    log.info(
        "staxad listening on http://%s:%d (config %s)", settings.server.host, settings.server.port, settings.source
    )
    uvicorn.Server(config).run()
