"""The composition root: store, secret box, platform, host adapters, reconciler,
scheduler, HTTP app, server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from types import FrameType
from typing import Any

import uvicorn
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from starlette.applications import Starlette

from staxad.adapters import github_http, proc, registry_http, systemd, webhook_http
from staxad.adapters.caddy import CaddyAdmin, ManagedCaddy
from staxad.adapters.commands import ContainerCommands
from staxad.adapters.dns import DnsResolver
from staxad.adapters.hostinfo import detect_server_ip, host_addresses, subordinate_ids
from staxad.adapters.nft import Nft
from staxad.adapters.podman import Podman
from staxad.api.app import build_app
from staxad.config import Settings
from staxad.core.context import Context
from staxad.core.platform import Platform
from staxad.model import names, userns
from staxad.model.clock import Clock
from staxad.reconcile import snapshot
from staxad.reconcile.anchor import Anchor
from staxad.reconcile.firewall import Firewall
from staxad.reconcile.guard import guard
from staxad.reconcile.loop import Reconciler
from staxad.reconcile.routes import Routes
from staxad.reconcile.sandbox import SandboxTable
from staxad.reconcile.tenant import TenantReconciler
from staxad.reconcile.webhooks import WebhookSender
from staxad.store.db import Database
from staxad.store.secretbox import SecretBox

log = logging.getLogger("staxad")
# Every job runs one instance at a time by design (max_instances=1): a run skipped because
# the last one is still going is expected under load, not worth a warning every interval
# (500 tenants deploying at once wrote one per 15 s). Job errors are still logged.
logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)

# Container events after which the host may differ from the store.
REPAIR_TRIGGERS = frozenset({"died", "stop", "remove", "cleanup"})


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    run: Callable[[], Awaitable[object]]
    every_seconds: float
    at_start: bool = False


class Daemon:
    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.db = Database(settings.database_path, settings.store.synchronous)
        self.db.tenant_url = partial(names.tenant_url, settings.domains.base_domain, settings.domains.https_port)
        self.ctx = Context(
            db=self.db,
            box=SecretBox.from_file(settings.secret_key_path),
            settings=settings,
            clock=clock or Clock(),
            changed=self._changed,
            userns_slots=min(
                userns.capacity(subordinate_ids(settings.runtime.service_user)),
                userns.capacity(subordinate_ids(settings.runtime.service_user, "/etc/subgid")),
            )
            if settings.runtime.enabled
            else None,
        )
        domains = settings.domains
        self.ctx.resolver = DnsResolver(domains.nameservers, domains.dns_port, domains.dns_timeout_seconds)
        if not domains.server_ip:
            self.ctx.detected_server_ip = detect_server_ip()
        self.ctx.host_addresses = host_addresses
        self.ctx.resolve_host = webhook_http.resolve
        self.ctx.registry_api = registry_http.Registries(settings.runtime.docker_hub_api)
        gh = settings.github
        if gh.configured:
            oauth = (
                github_http.OAuthClient(gh.web_url, gh.client_id, gh.client_secret, gh.client_secret_file)
                if gh.client_configured
                else None
            )
            self.ctx.github_api = github_http.GitHubApp(
                gh.api_url, gh.app_id, gh.private_key_file, gh.ca_file, oauth=oauth
            )
        self.platform = Platform(self.ctx)
        self.webhooks = WebhookSender(self.platform)
        runtime = settings.runtime.enabled
        pids = settings.data_dir / "run"  # root's: a pid file there names only what staxad started
        self.podman = (
            Podman(
                settings.podman_socket,
                settings.runtime.service_user,
                pid_file=pids / "podman-service.pid",
                log_bytes=settings.runtime.container_log_mb << 20,
            )
            if runtime
            else None
        )
        self.ctx.logs = self.podman
        self.ctx.commands = ContainerCommands(self.podman) if self.podman is not None else None
        self.anchor = Anchor(self.podman, settings.instance) if self.podman is not None else None
        self.caddy = CaddyAdmin(settings.caddy_admin) if runtime else None
        self.managed_caddy = (
            ManagedCaddy(
                settings.caddy.binary,
                settings.caddy_admin,
                settings.work_root / "caddy",
                settings.caddy.user,
                settings.data_dir / "caddy.log",
                pids / "caddy.pid",
            )
            if runtime and settings.caddy.mode == "managed"
            else None
        )
        self.sandbox = SandboxTable(settings, Nft()) if runtime else None
        self.firewall = (
            Firewall(self.platform, self.podman, Nft(), Nft.rootless(settings.runtime.service_user))
            if self.podman is not None and settings.network.enabled
            else None
        )
        self.routes = (
            Routes(self.db, settings, self.caddy, self.managed_caddy.storage if self.managed_caddy else None)
            if self.caddy is not None
            else None
        )
        self.tenant_reconciler = TenantReconciler(
            self.platform,
            self.podman,
            self.routes.sync if self.routes else None,
            self.firewall.request if self.firewall else None,
            self._egress_ready if self.anchor is not None else None,
        )
        self.ctx.cancel_running = self.tenant_reconciler.cancel
        self.reconciler = Reconciler(
            self.tenant_reconciler.reconcile, self.tenant_reconciler.all_ids, self.ctx.metrics, self.ctx.clock
        )
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self._tasks: list[asyncio.Task[None]] = []
        self._anchor_repair: asyncio.Task[None] | None = None
        self._anchor_failed = False
        self._jobs: set[asyncio.Task[object]] = set()  # scheduled jobs running now
        self._stopping = False
        self.stop_by: float | None = None  # time.monotonic() by which stop() must be done
        self.app: Starlette = build_app(self.platform, settings, self._lifespan)

    def _changed(self, tenant_id: str) -> None:
        self.reconciler.kick(tenant_id)

    async def start(self) -> None:
        # The database, key, build logs and backups are root's alone.
        self.settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.settings.data_dir.chmod(0o700)
        await self.db.open()
        if sealed := await snapshot.seal_missing(self.db, self.ctx.box, self.settings.instance):
            log.info("sealed the container spec of %d live deployments made before specs were kept", sealed)
        if self.sandbox is not None:
            await self.sandbox.ensure()  # before any tenant process can run
        if self.managed_caddy is not None:
            await self.managed_caddy.start()
            self.managed_caddy.process.on_restart = self._caddy_restarted
        if self.caddy is not None:
            self._tasks.append(asyncio.create_task(guard("caddy-loader", self.caddy.run)))
        if self.firewall is not None:
            self.firewall.allow_dnat_to_loopback()
        if self.podman is not None:
            await self.podman.start_service()
            await self._anchor_namespace()  # before any tenant container starts in it
            self._tasks.append(asyncio.create_task(guard("podman-events", self._watch_podman)))
        self._tasks.append(asyncio.create_task(guard("reconciler", self.reconciler.run)))
        self._tasks.append(asyncio.create_task(guard("webhooks", self.webhooks.run)))
        self.reconciler.kick()
        for job in self._periodic_jobs():
            # no next_run_time at all for the others: None would add the job paused
            first = {"next_run_time": datetime.now(UTC)} if job.at_start else {}
            self.scheduler.add_job(
                self._job(job.run),
                "interval",
                seconds=job.every_seconds,
                id=job.name,
                coalesce=True,
                max_instances=1,
                **first,
            )
        self.scheduler.start()

    async def _watch_podman(self) -> None:
        """podman's event stream as a second trigger: a container that dies or is removed
        behind staxad's back is repaired at once, not at the next periodic pass."""
        assert self.podman is not None
        while True:
            async for tenant_id, status in self.podman.events(self.settings.instance):
                if status not in REPAIR_TRIGGERS:
                    continue
                if tenant_id:
                    self.reconciler.kick(tenant_id)
                else:  # the anchor, the one container of staxad's that is no tenant's
                    self._repair_anchor()
            log.warning("podman event stream ended; restarting it and checking every tenant")
            await asyncio.sleep(1.0)
            self.reconciler.kick()  # events may have been missed meanwhile

    async def _egress_ready(self) -> None:
        """The anchor running, and the egress table in the namespace it holds: a new
        namespace (the anchor was not running) has none until this loads it."""
        assert self.anchor is not None
        if await self.anchor.ensure() and self.firewall is not None:
            await self.firewall.sync(verify=True)

    async def _anchor_namespace(self) -> None:
        try:
            await self._egress_ready()
            self._anchor_failed = False
        except Exception:
            self._anchor_failed = True
            log.exception("starting the network anchor failed; the periodic check retries")

    def _repair_anchor(self) -> None:
        """At once, after its container went; not again while one repair runs, nor after one
        failed: its own cleanup's events would retry it forever (the periodic pass does)."""
        if self._stopping or self._anchor_failed:
            return
        if self._anchor_repair is None or self._anchor_repair.done():
            self._anchor_repair = asyncio.create_task(self._job(self._anchor_namespace)())

    def _caddy_restarted(self) -> None:
        if self.caddy is not None:
            self.caddy.forget_loaded()

    def _job(self, work: Callable[[], Awaitable[object]]) -> Callable[[], Coroutine[Any, Any, None]]:
        """A scheduled job that stop() can cancel before it closes the store: APScheduler
        leaves a running job to the loop's end and logs its cancel as an error."""

        async def job() -> None:
            task = asyncio.current_task()
            assert task is not None
            self._jobs.add(task)
            try:
                await work()
            except asyncio.CancelledError:
                if not self._stopping:
                    raise
                log.info("%s stopped: staxad is stopping", getattr(work, "__name__", "a job"))
            finally:
                self._jobs.discard(task)

        job.__qualname__ = getattr(work, "__qualname__", job.__qualname__)  # the name APScheduler logs
        return job

    def _periodic_jobs(self) -> list[PeriodicJob]:
        """What runs on a timer; `at_start` ones also at once (a crash may have left work)."""
        jobs = [
            PeriodicJob("reconcile", self._periodic, self.settings.runtime.reconcile_interval_seconds, at_start=True),
            PeriodicJob(
                "reverify-domains",
                self.platform.domains.recheck_all,
                self.settings.domains.reverify_interval_minutes * 60,
            ),
            PeriodicJob("prune-history", self.platform.tenants.prune_history, 3600, at_start=True),
        ]
        if self.podman is not None:
            jobs += [
                PeriodicJob("scheduled-backups", self.platform.backups.queue_due, 60),
                PeriodicJob(
                    "measure-volumes",
                    self.tenant_reconciler.measure_volumes,
                    self.settings.volumes.measure_interval_seconds,
                    at_start=True,
                ),
            ]
        return jobs

    async def _periodic(self) -> None:
        """Drift repair: every tenant again, orphans swept, Caddy checked against the store."""
        try:
            if self.caddy is not None and not await self.caddy.running_matches():
                self.caddy.forget_loaded()
            if self.sandbox is not None:
                await self.sandbox.ensure(verify=True)
            if self.podman is not None and not await self.podman.check_service():
                return  # the service is restarting; the next pass sweeps
            if self.anchor is not None:
                await self._anchor_namespace()
            if self.podman is not None and (stale := await self.podman.stop_stale_dns()) is not None:
                log.warning("stopped aardvark-dns %d: it served a network namespace podman no longer uses", stale)
            await self.tenant_reconciler.sweep()
            await self.platform.netrules.expire_due()
            if self.firewall is not None:
                await self.firewall.sync(verify=True)  # reloads a table a flush or a new namespace lost
        except Exception:
            log.exception("periodic check failed; next run retries")
        self.reconciler.kick()

    async def stop(self) -> None:
        """Stop in order within server.shutdown_timeout (less a second for the process to
        exit); what is still running then is cancelled and every child process killed."""
        systemd.notify("STOPPING=1")
        stop_by = self.stop_by or time.monotonic() + self.settings.server.shutdown_timeout
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout_at(loop.time() + max(0.5, stop_by - time.monotonic() - 1.0)):
                await self._stop_in_order()
        except TimeoutError:
            log.warning("shutdown ran out of time (server.shutdown_timeout); killing staxad's child processes")
            proc.kill_all()
            await self.db.close()

    async def _stop_in_order(self) -> None:
        self._stopping = True
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        for running in list(self._jobs):
            running.cancel()
        await asyncio.gather(*self._jobs, return_exceptions=True)
        if self._anchor_repair is not None:
            self._tasks.append(self._anchor_repair)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await self.reconciler.stop()
        if self.tenant_reconciler.pipeline is not None:
            await self.tenant_reconciler.pipeline.stop()
        if self.podman is not None:
            await self.podman.stop_service()
        if self.managed_caddy is not None:
            await self.managed_caddy.stop()
        await self.db.close()

    @contextlib.asynccontextmanager
    async def _lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        await self.start()
        try:
            yield
        finally:
            await self.stop()


class _Server(uvicorn.Server):
    """Tells systemd READY once the socket listens and the first reconcile pass is done."""

    def __init__(self, config: uvicorn.Config, daemon: Daemon) -> None:
        super().__init__(config)
        self.daemon = daemon

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.should_exit:
            return
        self.daemon._tasks.append(asyncio.create_task(self._ready()))

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if not self.should_exit:  # the first signal: from now on, exit within the timeout
            timeout = self.daemon.settings.server.shutdown_timeout
            self.daemon.stop_by = time.monotonic() + timeout
            watchdog = threading.Timer(timeout, _force_exit, (sig,))
            watchdog.daemon = True
            watchdog.start()
        super().handle_exit(sig, frame)

    async def _ready(self) -> None:
        await self.daemon.reconciler.idle()
        systemd.notify(f"READY=1\nSTATUS=serving on {self.config.host}:{self.config.port}")
        interval = systemd.watchdog_interval()
        if interval:
            await systemd.feed_watchdog(interval)


def _force_exit(sig: int) -> None:
    """The last resort of a shutdown that did not finish: no child outlives staxad."""
    log.error("staxad did not stop within server.shutdown_timeout after signal %d; exiting now", sig)
    proc.kill_all()
    os._exit(1)


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
        # open streams get a third of the budget; stopping the daemon gets the rest
        timeout_graceful_shutdown=max(1, settings.server.shutdown_timeout // 3),
    )
    log.info(
        "staxad listening on http://%s:%d (config %s)", settings.server.host, settings.server.port, settings.source
    )
    _Server(config, daemon).run()
