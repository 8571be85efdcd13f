"""Services of a tenant and their logs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from staxad.core.context import Context
from staxad.core.deployments import Deployments
from staxad.core.registries import Registries
from staxad.core.specs import hostname_problem, parse_service
from staxad.core.volumes import Volumes
from staxad.model import envmask, validation
from staxad.model import logs as log_lines
from staxad.model.errors import AlreadyExists, Conflict, NotFound, Unprocessable, ValidationError, limit_reached
from staxad.model.lifecycle import DEPLOYABLE
from staxad.model.records import Deployment, Service, Tenant
from staxad.store import deployments as deployment_store
from staxad.store import events
from staxad.store import images as image_store
from staxad.store import tenants as tenant_store

MASK = envmask.MASK


class Services:
    def __init__(self, ctx: Context, deployments: Deployments, volumes: Volumes, registries: Registries) -> None:
        self.ctx = ctx
        self.deployments = deployments
        self.volumes = volumes
        self.registries = registries

    @staticmethod
    def find(tenant: Tenant, name: str) -> Service:
        for service in tenant.services:
            if service.name == name:
                return service
        raise NotFound(f"Service '{name[:64]}' not found in tenant '{tenant.name}'.")

    async def add(self, tenant: Tenant, payload: object) -> tuple[Service, Deployment]:
        spec = parse_service(payload, self.ctx.settings)
        if spec.image_url:
            try:
                validation.image_of_own(spec.image_url, await image_store.built_by(self.ctx.db, tenant.id))
            except ValueError as exc:
                validation.raise_field("image_url", str(exc))
        await self.registries.require_own(
            tenant.provider_id, tenant.mode, "registry_id", spec.registry_id, spec.image_url
        )
        if spec.is_primary:
            raise ValidationError(
                "A new service cannot replace the primary one.", {"fields": {"is_primary": "must be false"}}
            )
        problem = hostname_problem(tenant.name, spec)
        if problem:
            validation.raise_field("name", problem)
        if any(s.name == spec.name for s in tenant.services):
            raise Conflict(f"Service '{spec.name}' already exists in tenant '{tenant.name}'.")
        if tenant.status not in DEPLOYABLE:
            raise Unprocessable(f"Tenant '{tenant.name}' is {tenant.status}; services can be added once it is not.")
        if len(tenant.services) >= (cap := self.ctx.settings.limits.services_per_tenant):
            raise limit_reached("services in this tenant", len(tenant.services), cap, "limits.services_per_tenant")
        now = self.ctx.now()
        priority = max((s.priority for s in tenant.services), default=-1) + 1
        service = spec.to_service(tenant.id, priority, now)
        async with self.ctx.db.transaction() as tx:
            try:
                await tenant_store.insert_service(tx, service)
            except AlreadyExists:
                raise Conflict(f"Service '{spec.name}' already exists in tenant '{tenant.name}'.") from None
            await self.volumes.add_for_service(tx, tenant, service, spec.volumes)
            [deployment] = await self.deployments.queue(tx, tenant, [service], "service added")
        self.ctx.changed(tenant.id)
        return service, deployment

    async def remove(self, tenant: Tenant, name: str) -> None:
        service = self.find(tenant, name)
        if service.is_primary:
            raise ValidationError("The primary service cannot be removed; delete the tenant instead.")
        async with self.ctx.db.transaction() as tx:
            await tenant_store.delete_service(tx, service.id)
            await events.append(
                tx, tenant.id, "service.removed", f"Service {name} removed", self.ctx.clock.now(), service_name=name
            )
        self.ctx.changed(tenant.id)

    async def containers(self, tenant: Tenant, service: Service | None = None) -> list[tuple[str, str]]:
        """(service name, container name) of what runs now."""
        live = await deployment_store.live_for(self.ctx.db, tenant.id)
        wanted = [service] if service else list(tenant.services)
        return [(s.name, live[s.id].container_name or "") for s in wanted if s.id in live and live[s.id].container_name]

    async def logs(self, tenant: Tenant, lines: int, service: Service | None = None) -> bytes:
        if self.ctx.logs is None:
            return b""
        targets = await self.containers(tenant, service)
        if len(targets) == 1:
            return await self.ctx.logs.logs(targets[0][1], lines)
        # every service's newest `lines`, merged by time: the newest `lines` of them all
        outputs = [(name, await self.ctx.logs.logs(container, lines, timestamps=True)) for name, container in targets]
        return log_lines.merge(outputs, lines)

    async def follow(self, tenant: Tenant, lines: int, service: Service | None = None) -> AsyncIterator[bytes]:
        """Follow one service's output, or every live service's at once, each line then
        prefixed with `[service] ` as in `logs`. Ends when every followed container is gone
        (a redeploy replaces it) or the caller stops reading."""
        targets = await self.containers(tenant, service)
        reader = self.ctx.logs
        if not targets or reader is None:
            return
        if len(targets) == 1:
            async for line in reader.follow(targets[0][1], lines):
                yield line
            return
        merged: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=256)

        async def pump(name: str, container: str) -> None:
            with contextlib.suppress(Exception):  # one container's stream failing ends only its part
                async for line in reader.follow(container, lines):
                    await merged.put(f"[{name}] ".encode() + line)
            await merged.put(None)

        pumps = [asyncio.create_task(pump(name, container)) for name, container in targets]
        try:
            ended = 0
            while ended < len(pumps):
                item = await merged.get()
                if item is None:
                    ended += 1
                else:
                    yield item
        finally:
            for task in pumps:
                task.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
