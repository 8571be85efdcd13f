"""One reconcile pass for one tenant: bring its host state to its stored state.

Passes for one tenant never overlap (staxad.reconcile.loop), so a deployment found
`building` or `deploying` when a pass starts was interrupted by a crash: it is failed,
its container removed, and a fresh deployment queued if the service has nothing live.
Every step is safe to repeat after a crash at any point.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from staxad.adapters.podman import ContainerSpec, Podman
from staxad.core.platform import Platform
from staxad.model import names
from staxad.model.errors import TemporaryError
from staxad.model.records import Tenant
from staxad.model.status import service_status
from staxad.reconcile import snapshot
from staxad.reconcile.certificates import Certificates
from staxad.reconcile.pipeline import Pipeline
from staxad.store import deployments as deployment_store
from staxad.store import domains as domain_store
from staxad.store import env as env_store
from staxad.store import events
from staxad.store import images as image_store
from staxad.store import tenants as tenant_store
from staxad.store.deployments import ACTIVE, Deployment

log = logging.getLogger("staxad.reconcile")


class TenantReconciler:
    def __init__(
        self,
        platform: Platform,
        podman: Podman | None,
        sync_routes: Callable[[], Awaitable[None]],
        sync_firewall: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.platform = platform
        self.podman = podman
        self.sync_routes = sync_routes
        self.sync_firewall = sync_firewall
        self.pipeline = Pipeline(platform, podman, sync_routes) if podman else None
        self.certificates = Certificates(platform)
        self._backoff: dict[str, tuple[int, float]] = {}  # container -> (failures, not before)

    @property
    def db(self):  # type: ignore[no-untyped-def]
        return self.platform.ctx.db

    async def all_ids(self) -> list[str]:
        return [row["id"] for row in await self.db.fetch_all("SELECT id FROM tenants")]

    async def _event(self, tenant_id: str, type_: str, message: str, service: str | None = None) -> None:
        async with self.db.transaction() as tx:
            await events.append(tx, tenant_id, type_, message, self.platform.ctx.clock.now(), service_name=service)

    async def reconcile(self, tenant_id: str) -> None:
        tenant = await tenant_store.get_any(self.db, tenant_id)
        if tenant is None:
            return
        if tenant.status == "deleting":
            await self._teardown(tenant)
            return
        if self.podman is None or self.pipeline is None:
            return
        await self.podman.ensure_network(
            names.network(self.platform.ctx.settings.instance, tenant.name),
            names.labels(self.platform.ctx.settings.instance, tenant.id),
        )
        await self._recover_interrupted(tenant)
        for d in await deployment_store.with_status(self.db, tenant.id, ("queued",)):
            tenant = await tenant_store.get_any(self.db, tenant_id) or tenant
            if tenant.status == "deleting":
                return
            service = next((s for s in tenant.services if s.id == d.service_id), None)
            if service is None:
                continue
            live = (await deployment_store.live_for(self.db, tenant.id)).get(service.id)
            await self.pipeline.run(tenant, service, d, live)
        running = await self._heal(tenant)
        await self._update_service_statuses(tenant.id, running)
        await self._update_status(tenant.id)
        await self.sync_routes()
        if self.sync_firewall is not None:
            await self.sync_firewall()
        self.certificates.check_tenant(tenant.id, await domain_store.for_tenant(self.db, tenant.id))

    async def _recover_interrupted(self, tenant: Tenant) -> None:
        interrupted = await deployment_store.with_status(self.db, tenant.id, ACTIVE)
        if not interrupted:
            return
        live = await deployment_store.live_for(self.db, tenant.id)
        live_ids = {d.id for d in live.values()}
        for d in interrupted:
            if d.container_name and d.id not in live_ids:
                assert self.podman is not None
                await self.podman.remove(d.container_name)
            now = self.platform.ctx.now()
            async with self.db.transaction() as tx:
                await deployment_store.update(
                    tx, d.id, status="failed", stage="error", reason="interrupted by a daemon restart", finished_at=now
                )
                await events.append(
                    tx,
                    tenant.id,
                    "deployment.failed",
                    "Deployment interrupted by a daemon restart",
                    self.platform.ctx.clock.now(),
                    stage="error",
                    deployment_id=d.id,
                    service_name=d.service_name,
                )
        unserved = [s for s in tenant.services if s.id not in live]
        if unserved:
            async with self.db.transaction() as tx:
                await self.platform.deployments.queue(tx, tenant, unserved, "recovering after a restart")

    async def _heal(self, tenant: Tenant) -> dict[str, bool]:
        """Live containers that died are started again; ones removed are recreated.

        Returns, per service with a live deployment, whether its container runs now."""
        assert self.podman is not None
        live = await deployment_store.live_for(self.db, tenant.id)
        running: dict[str, bool] = {}
        for service in tenant.services:
            d = live.get(service.id)
            if d is None or not d.container_name:
                continue
            state = await self.podman.inspect(d.container_name)
            running[service.id] = state is not None and state.running
            if running[service.id]:
                self._backoff.pop(d.container_name, None)
                continue
            failures, not_before = self._backoff.get(d.container_name, (0, 0.0))
            wait = not_before - time.monotonic()
            if wait > 0:
                asyncio.get_running_loop().call_later(wait, self.platform.ctx.changed, tenant.id)
                continue
            self._backoff[d.container_name] = (failures + 1, time.monotonic() + min(2.0**failures, 300.0))
            if state is None:
                await self._recreate(tenant, d)
                running[service.id] = True
            else:
                started = await self.podman.start(d.container_name)
                running[service.id] = started is not None and started.running
                await self._event(
                    tenant.id,
                    "container.restarted",
                    f"Container of {service.name} had stopped ({state.status}); started it again",
                    service.name,
                )
        return running

    async def _recreate(self, tenant: Tenant, d: Deployment) -> None:
        assert self.podman is not None and d.container_name and d.image_ref
        service = next(s for s in tenant.services if s.id == d.service_id)
        sealed = await deployment_store.sealed_spec(self.db, d.id)
        if sealed is not None:
            spec = snapshot.unseal(self.platform.ctx.box, sealed)  # what was deployed, not what is stored now
        else:  # deployed before snapshots were kept
            settings = self.platform.ctx.settings
            stored = await env_store.read(self.db, self.platform.ctx.box, tenant.id)
            spec = ContainerSpec(
                name=d.container_name,
                image=d.image_ref,
                network=names.network(settings.instance, tenant.name),
                alias=service.name,
                port=service.port,
                env={"PORT": str(service.port), **{k: v for k, v, _ in stored}},
                labels=names.labels(settings.instance, tenant.id, service.name, d.id),
                resource_size=service.resource_size,
            )
        state = await self.podman.run(spec)
        async with self.db.transaction() as tx:
            await deployment_store.update(tx, d.id, host_port=state.host_port)
        await self._event(
            tenant.id, "container.recreated", f"Container of {service.name} was missing; recreated it", service.name
        )

    async def _update_service_statuses(self, tenant_id: str, running: dict[str, bool]) -> None:
        tenant = await tenant_store.get_any(self.db, tenant_id)
        if tenant is None or tenant.status == "deleting":
            return
        live = await deployment_store.live_for(self.db, tenant.id)
        busy = {d.service_id for d in await deployment_store.with_status(self.db, tenant.id, ("queued", *ACTIVE))}
        changes = {}
        for service in tenant.services:
            if service.id in busy or service.id in live:
                last_failed = False
            else:
                latest, _ = await deployment_store.for_tenant(self.db, tenant.id, limit=1, service_id=service.id)
                last_failed = bool(latest) and latest[0].status == "failed"
            status = service_status(
                deploying=service.id in busy,
                live=service.id in live,
                running=running.get(service.id, False),
                last_failed=last_failed,
            )
            if status != service.status:
                changes[service.id] = status
        if changes:
            async with self.db.transaction() as tx:
                for service_id, status in changes.items():
                    await tenant_store.update_service(tx, service_id, self.platform.ctx.now(), status=status)

    async def _update_status(self, tenant_id: str) -> None:
        tenant = await tenant_store.get_any(self.db, tenant_id)
        if tenant is None or tenant.status == "deleting":
            return
        live = await deployment_store.live_for(self.db, tenant.id)
        pending = await deployment_store.with_status(self.db, tenant.id, ("queued", *ACTIVE))
        status, reason = tenant.status, tenant.status_reason
        if pending:
            status, reason = "deploying", None
        elif all(s.id in live for s in tenant.services):
            status, reason = "ready", None
        else:
            latest, _ = await deployment_store.for_tenant(self.db, tenant.id, limit=1)
            status, reason = "failed", (latest[0].reason if latest else "no service is running")
        if (status, reason) != (tenant.status, tenant.status_reason):
            async with self.db.transaction() as tx:
                await tenant_store.update(tx, tenant.id, self.platform.ctx.now(), status=status, status_reason=reason)
                await events.append(
                    tx,
                    tenant.id,
                    f"tenant.{status}",
                    f"Tenant is {status}" + (f": {reason}" if reason else ""),
                    self.platform.ctx.clock.now(),
                    stage="ready" if status == "ready" else None,
                )

    async def _teardown(self, tenant: Tenant) -> None:
        if self.podman is not None:
            instance = self.platform.ctx.settings.instance
            for state in await self.podman.containers(instance):
                if state.labels.get(f"{names.LABEL}.tenant") == tenant.id:
                    await self.podman.remove(state.name)
            try:
                await self.podman.remove_network(names.network(instance, tenant.name))
            except TemporaryError as exc:  # podman still releasing it; the periodic sweep retries
                log.warning("network of tenant %s not removed yet: %s", tenant.name, exc)
            for ref in await image_store.only_this_tenant_uses(self.db, tenant.id):
                await self.podman.remove_image(ref)
        await self.platform.tenants.forget(tenant.id)
        await self.sync_routes()
        if self.sync_firewall is not None:
            await self.sync_firewall()
        log.info("tenant %s (%s) deleted", tenant.name, tenant.id)

    async def sweep(self) -> None:
        """Remove containers and networks of this instance that the store does not know."""
        if self.podman is None:
            return
        instance = self.platform.ctx.settings.instance
        known = {
            row["id"]
            for row in await self.db.fetch_all(
                "SELECT d.id FROM deployments d JOIN services s ON s.id = d.service_id"
                " WHERE s.live_deployment_id = d.id OR d.status IN ('queued', 'building', 'deploying')"
            )
        }
        for state in await self.podman.containers(instance):
            if state.labels.get(f"{names.LABEL}.deployment") not in known:
                log.info("removing orphan container %s", state.name)
                await self.podman.remove(state.name)
        if self.pipeline is not None:
            building = {
                row["id"] for row in await self.db.fetch_all("SELECT id FROM deployments WHERE status = 'building'")
            }
            workspace = self.pipeline.builder.workspace
            for name in workspace.names():
                if name not in building:  # a build a crash interrupted
                    await workspace.remove(name)
        tenant_names = {row["name"] for row in await self.db.fetch_all("SELECT name FROM tenants")}
        for network in await self.podman.networks(instance):
            if network.removeprefix(f"staxa-{instance}-") not in tenant_names:
                await self.podman.remove_network(network)
