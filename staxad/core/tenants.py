"""Tenants: create, read, update, delete, within the caller's provider and mode.

Another provider's tenant is indistinguishable from a missing one (404). A test key
sees and creates only test-mode tenants, under a smaller cap. Every change bumps the
tenant's generation and tells the reconciler.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Any

from staxad.core.context import Context
from staxad.core.deployments import Deployments
from staxad.core.registries import Registries
from staxad.core.specs import TenantSpec, parse_patch, parse_tenant
from staxad.core.templates import Templates
from staxad.core.volumes import Volumes
from staxad.model import validation
from staxad.model.clock import iso, new_id
from staxad.model.envvars import EnvVar
from staxad.model.errors import AlreadyExists, Conflict, LimitExceeded, NotFound, ValidationError, limit_reached
from staxad.model.lifecycle import DEPLOYABLE, TenantStatus
from staxad.model.query import LIMIT, OFFSET, PAGE, ChoiceParam, TextParam
from staxad.model.records import TENANT_STATUSES, Event, Principal, Service, Tenant
from staxad.store import deployments as deployment_store
from staxad.store import env as env_store
from staxad.store import events, providers
from staxad.store import tenants as store
from staxad.store import volumes as volume_store
from staxad.store.db import Transaction

log = logging.getLogger("staxad.tenants")


STATUS = ChoiceParam("status", TENANT_STATUSES)
SORT = ChoiceParam("sort", tuple(store.SORTS), "-created_at")
SEARCH = TextParam("search", 100)
LIST_PARAMS = (STATUS, *PAGE, SORT, SEARCH)


def parse_list_params(query: Mapping[str, str]) -> store.TenantQuery:
    errors: dict[str, str] = {}
    status, sort, search = STATUS.read(query, errors), SORT.read(query, errors), SEARCH.read(query, errors)
    limit, offset = parse_page(query, errors)
    if errors:
        raise ValidationError("Invalid query parameters.", {"fields": errors})
    assert sort is not None
    return store.TenantQuery(status, search, sort, limit, offset)


def parse_page(query: Mapping[str, str], errors: dict[str, str]) -> tuple[int, int]:
    return LIMIT.read(query, errors), OFFSET.read(query, errors)


def inheriting(tenant: Tenant, changes: dict[str, Any], key: str) -> list[Service]:
    """The services a PATCH of the tenant's `key` (branch, resource_size) applies to: those
    on the tenant's current value, when the value changes."""
    if key not in changes or changes[key] == getattr(tenant, key):
        return []
    return [s for s in tenant.services if getattr(s, key) == getattr(tenant, key)]


class Tenants:
    def __init__(self, ctx: Context, volumes: Volumes, templates: Templates, registries: Registries) -> None:
        self.ctx = ctx
        self.volumes = volumes
        self.templates = templates
        self.registries = registries

    async def events_since(self, tenant: Tenant, after_id: int, wait: float = 0.0) -> list[Event]:
        """The tenant's events after `after_id`, oldest first, a page at a time; with
        `wait`, an empty answer waits up to that long for the next event."""
        return await events.since(self.ctx.db, tenant.id, after_id, wait=wait)

    async def recent_events_start(self, tenant: Tenant, count: int) -> int:
        """Where a stream that names no start begins: before the tenant's newest `count` events."""
        return await events.before_last(self.ctx.db, tenant.id, count)

    async def count_by_status(self) -> dict[str, int]:
        return await store.count_by_status(self.ctx.db)

    async def get(self, who: Principal, tenant_id: str) -> Tenant:
        tenant = await store.get(self.ctx.db, who.provider_id, tenant_id, who.mode == "test")
        if tenant is None:
            raise NotFound(f"Tenant '{tenant_id[:64]}' not found.")
        return tenant

    async def page(self, who: Principal, params: store.TenantQuery) -> tuple[list[Tenant], int]:
        return await store.search(self.ctx.db, who.provider_id, who.mode == "test", params)

    async def all_of(self, who: Principal) -> list[Tenant]:
        """Every tenant the caller sees, oldest first."""
        every = store.TenantQuery(None, None, "created_at", -1, 0)
        return (await store.search(self.ctx.db, who.provider_id, who.mode == "test", every))[0]

    async def create(self, who: Principal, payload: object) -> Tenant:
        spec = parse_tenant(self.templates.apply(payload), self.ctx.settings)
        for index, service in enumerate(spec.services):
            if service.image_url:
                # a new tenant has built nothing yet
                field = "image_url" if len(spec.services) == 1 else f"services[{index}].image_url"
                try:
                    validation.image_of_own(service.image_url, ())
                except ValueError as exc:
                    validation.raise_field(field, str(exc))
            prefix = "" if len(spec.services) == 1 else f"services[{index}]."
            await self.registries.require_own(
                who.provider_id, who.mode, f"{prefix}registry_id", service.registry_id, service.image_url
            )
        now = self.ctx.now()
        tenant_id = new_id("ten")
        services = tuple(s.to_service(tenant_id, index, now) for index, s in enumerate(spec.services))
        tenant = Tenant(
            id=tenant_id,
            provider_id=who.provider_id,
            name=spec.name,
            display_name=spec.display_name,
            mode=who.mode,
            status=TenantStatus.PROVISIONING,
            status_reason=None,
            branch=spec.branch,
            resource_size=spec.resource_size,
            egress_mode=spec.egress_mode,
            generation=1,
            created_at=now,
            updated_at=now,
            services=services,
        )
        async with self.ctx.db.transaction() as tx:
            await self._check_room(tx, who, spec)
            tenant = replace(tenant, userns_slot=await self._userns_slot(tx, tenant_id))
            try:
                await store.insert(tx, tenant)
            except AlreadyExists:
                raise self._taken(spec.name) from None
            for made, asked in zip(services, spec.services, strict=True):
                await self.volumes.add_for_service(tx, tenant, made, asked.volumes)
            if spec.env:
                variables = [EnvVar(k, val, validation.looks_secret(k, val)) for k, val in spec.env.items()]
                await env_store.replace(tx, self.ctx.box, tenant_id, variables)
            names = ", ".join(s.name for s in services)
            await events.append(
                tx,
                tenant_id,
                "tenant.created",
                f"Tenant created with services: {names}",
                self.ctx.clock.now(),
                stage="provision",
            )
            await Deployments(self.ctx).queue(tx, tenant, list(services), "tenant created")
        self.ctx.changed(tenant_id)
        return tenant

    async def _userns_slot(self, tx: Transaction, tenant_id: str) -> int:
        slot = await store.next_userns_slot(tx, tenant_id, self.ctx.now())
        if self.ctx.userns_slots is not None and slot > self.ctx.userns_slots:
            raise limit_reached(
                "tenant id ranges on this host (one for each tenant, or retained volume, on it)",
                slot - 1,
                self.ctx.userns_slots,
                "STAXAD_TENANT_ID_RANGES of host-setup",
                "The operator can give the service user more subordinate ids.",
            )
        return slot

    async def _check_room(self, tx: Transaction, who: Principal, spec: TenantSpec) -> None:
        if await store.name_taken(tx, spec.name):
            raise self._taken(spec.name)
        limits = self.ctx.settings.limits
        if who.mode == "test":
            cap = limits.test_tenants_per_provider
            count = await store.count_for(tx, who.provider_id, "test")
            kind = "test-mode tenants (test keys have a smaller cap)"
            setting = "limits.test_tenants_per_provider"
        else:
            provider = await providers.get(tx, who.provider_id)
            cap = (provider.tenant_limit if provider else None) or limits.tenants_per_provider
            count = await store.count_for(tx, who.provider_id)
            kind = "tenants"
            setting = (
                "the provider's tenant_limit" if provider and provider.tenant_limit else "limits.tenants_per_provider"
            )
        if count >= cap:
            raise LimitExceeded(
                f"Tenant limit reached: this provider has {count} of {cap} {kind}. "
                "Delete a tenant or ask the host operator to raise the limit.",
                {"used": count, "limit": cap, "count": count, "setting": setting},
            )

    @staticmethod
    def _taken(name: str) -> Conflict:
        return Conflict(f"Tenant name '{name}' is already taken; choose another.", {"name": name})

    async def update(self, who: Principal, tenant_id: str, payload: object) -> Tenant:
        """Apply a PATCH. `branch` and `resource_size` are the tenant's defaults: they carry
        over to every service still on the tenant's old value (a service given its own
        branch or size keeps it). The next deploy of those services uses the new branch; a
        new size redeploys them at once (the same image, or the same commit rebuilt)."""
        changes = parse_patch(payload)
        tenant = await self.get(who, tenant_id)
        self._require_not_deleting(tenant)
        app_port = changes.pop("app_port", None)
        now = self.ctx.now()
        resized: list[Service] = []
        async with self.ctx.db.transaction() as tx:
            if changes or app_port is not None:
                await store.update(tx, tenant.id, now, **changes)
            primary = next((s for s in tenant.services if s.is_primary), None)
            if app_port is not None and primary is not None:
                # the tenant's port is the primary's: every service on it follows, as for branch and size
                for service in (s for s in tenant.services if s.port == primary.port):
                    await store.update_service(tx, service.id, now, port=app_port)
            for service in inheriting(tenant, changes, "branch"):
                if service.source_type == "github":
                    await store.update_service(tx, service.id, now, branch=changes["branch"])
            for service in inheriting(tenant, changes, "resource_size"):
                await store.update_service(tx, service.id, now, resource_size=changes["resource_size"])
                resized.append(service)
            fields: dict[str, Any] = {**changes, **({"app_port": app_port} if app_port else {})}
            if fields:
                await events.append(
                    tx, tenant.id, "tenant.updated", f"Updated: {', '.join(sorted(fields))}", self.ctx.clock.now()
                )
            if resized and tenant.status in DEPLOYABLE:
                fresh = {s.id: s for s in await store.services_of(tx, tenant.id)}  # with the new branch too
                await self._redeploy(
                    tx, tenant, [fresh[s.id] for s in resized], f"resized to {changes['resource_size']}"
                )
        self.ctx.changed(tenant.id)
        return await self.get(who, tenant_id)

    async def _redeploy(self, tx: Transaction, tenant: Tenant, services: list[Service], why: str) -> None:
        """Deploy again what runs now: an image service its image, a git service its live commit."""
        live = await deployment_store.live_for(tx, tenant.id)
        deployments = Deployments(self.ctx)
        for service in services:
            current = live.get(service.id)
            if current is not None and current.commit_sha:
                await deployments.queue(tx, tenant, [service], why, branch=current.branch, commit=current.commit_sha)
            else:
                await deployments.queue(tx, tenant, [service], why)

    async def delete(self, who: Principal, tenant_id: str) -> None:
        tenant = await self.get(who, tenant_id)
        if tenant.status != TenantStatus.DELETING:
            async with self.ctx.db.transaction() as tx:
                await store.update(tx, tenant.id, self.ctx.now(), status=TenantStatus.DELETING, status_reason=None)
                await events.append(
                    tx,
                    tenant.id,
                    "tenant.deleting",
                    "Deleting tenant and all its resources",
                    self.ctx.clock.now(),
                )
        self.ctx.changed(tenant.id)

    @staticmethod
    def _require_not_deleting(tenant: Tenant) -> None:
        if tenant.status == TenantStatus.DELETING:
            raise Conflict(f"Tenant '{tenant.name}' is being deleted.")

    async def forget(self, tenant_id: str) -> None:
        """Drop a deleted tenant's records and build logs once nothing of it is left on the
        host; its events stay `events.retention_days` (see `prune_history`)."""
        async with self.ctx.db.transaction() as tx:
            deployments = await deployment_store.ids_for_tenant(tx, tenant_id)
            # first, so its webhooks are still found by the tenant's provider and mode
            await events.append(tx, tenant_id, "tenant.deleted", "Tenant deleted", self.ctx.clock.now())
            await volume_store.retain_of_tenant(tx, tenant_id, self.ctx.now())
            await store.release_userns_slot(tx, tenant_id)
            await store.delete(tx, tenant_id)
        await asyncio.to_thread(self._remove_build_logs, deployments)

    async def prune_history(self) -> None:
        """Events of tenants deleted more than `events.retention_days` ago, and build logs
        whose deployment is gone (a crash between forget's two steps)."""
        cutoff = self.ctx.clock.now() - timedelta(days=self.ctx.settings.events.retention_days)
        async with self.ctx.db.transaction() as tx:
            pruned = await events.prune_deleted(tx, iso(cutoff))
        if pruned:
            log.info("pruned %d events of deleted tenants", pruned)
        known = await deployment_store.all_ids(self.ctx.db)
        folder = self.ctx.settings.build_logs
        logs = await asyncio.to_thread(lambda: [p.stem for p in folder.glob("*.log")] if folder.is_dir() else [])
        await asyncio.to_thread(self._remove_build_logs, [d for d in logs if d not in known])
        await self.prune_build_logs()

    async def prune_build_logs(self, service_id: str | None = None) -> None:
        """Build logs of a service's (or every service's) deployments older than its newest
        `build.keep_logs`: each is up to build.max_log_mb, and deploys are cheap to ask for."""
        older = await deployment_store.beyond_newest(self.ctx.db, self.ctx.settings.build.keep_logs, service_id)
        await asyncio.to_thread(self._remove_build_logs, older)

    def _remove_build_logs(self, deployment_ids: list[str]) -> None:
        for deployment_id in deployment_ids:
            self.ctx.settings.build_log(deployment_id).unlink(missing_ok=True)
