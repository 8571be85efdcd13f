"""A tenant's volumes: declared with a service or on their own, mounted by at most one
service, sized, retained or not, backed up on a schedule.

Only the store changes here; the deploy pipeline creates and mounts volumes, the tenant
pass removes the ones deleted, and a mount change takes effect by deploying the service.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from staxad.config import Settings
from staxad.core.context import Context
from staxad.core.deployments import Deployments
from staxad.model import validation as v
from staxad.model.clock import new_id
from staxad.model.errors import AlreadyExists, Conflict, NotFound, Unprocessable, ValidationError, limit_reached
from staxad.model.lifecycle import DEPLOYABLE
from staxad.model.records import Deployment, Principal, Service, Tenant
from staxad.model.volumes import RetainedVolume, Volume, mount_path, overlapping, schedule
from staxad.store import events
from staxad.store import tenants as tenant_store
from staxad.store import volumes as store
from staxad.store.db import Transaction

IN_SERVICE = ("name", "mount_path", "size_mb", "retain", "backup_schedule", "keep_last")
OWN = (*IN_SERVICE, "service")
ATTACH = (*OWN, "tenant_id")
PATCHABLE = ("size_mb", "retain", "backup_schedule", "keep_last", "service", "mount_path")


@dataclass(frozen=True)
class VolumeSpec:
    name: str
    size_mb: int
    mount_path: str | None = None
    retain: bool = False
    backup_schedule: str | None = None
    keep_last: int | None = None
    service: str | None = None  # on POST /volumes: the service that mounts it

    def to_volume(self, tenant: Tenant, service_id: str | None, keep_default: int, now: str) -> Volume:
        return Volume(
            id=new_id("vol"),
            tenant_id=tenant.id,
            name=self.name,
            service_id=service_id,
            mount_path=self.mount_path,
            size_mb=self.size_mb,
            retain=self.retain,
            used_bytes=None,
            over_limit=False,
            backup_schedule=self.backup_schedule,
            keep_last=self.keep_last if self.keep_last is not None else keep_default,
            created_at=now,
            updated_at=now,
            userns_slot=tenant.userns_slot,  # podman gives a new volume to its first container's root
        )


def parse_volume(payload: object, settings: Settings, where: str = "", in_service: bool = True) -> VolumeSpec:
    body = v.Body(payload, IN_SERVICE if in_service else OWN, where)
    name = body.check("name", body.string("name", required=True, max_len=63), lambda n: v.dns_label(n, "a volume name"))
    path = body.check("mount_path", body.string("mount_path", required=in_service, max_len=255), mount_path)
    size = body.integer("size_mb", 1, settings.volumes.max_size_mb, required=True)
    cron = body.check(
        "backup_schedule",
        body.string("backup_schedule", max_len=100),
        lambda line: schedule(line, settings.volumes.min_backup_interval_minutes),
    )
    keep = body.integer("keep_last", 1, 1000)
    service = None if in_service else body.string("service", max_len=63)
    if service is not None and path is None and not body.errors.get(where + "mount_path"):
        body.fail("mount_path", "is required with service")
    if path is not None and service is None and not in_service:
        body.fail("service", "is required with mount_path")
    retain = body.boolean("retain")
    body.done()
    assert name is not None and size is not None
    return VolumeSpec(name, size, path, bool(retain), cron, keep, service)


def parse_service_volumes(body: v.Body, settings: Settings) -> tuple[VolumeSpec, ...]:
    """A service body's `volumes: [...]`; field errors as `volumes[i].field`."""
    raw = body.data.get("volumes")
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) > settings.volumes.per_tenant:
        body.fail("volumes", f"must be a list of at most {settings.volumes.per_tenant} volumes")
        return ()
    specs: list[VolumeSpec] = []
    for index, item in enumerate(raw):
        try:
            specs.append(parse_volume(item, settings, where=f"volumes[{index}]."))
        except ValidationError as exc:
            for key, message in exc.details.get("fields", {}).items():
                body.fail(key, message)
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        body.fail("volumes", "volume names must be unique")
    nested = overlapping(s.mount_path for s in specs if s.mount_path)
    if nested:
        body.fail("volumes", f"mount paths over another volume's: {', '.join(nested)}")
    return tuple(specs)


class Volumes:
    def __init__(self, ctx: Context, deployments: Deployments) -> None:
        self.ctx = ctx
        self.deployments = deployments

    async def of(self, tenant: Tenant) -> list[Volume]:
        return await store.of_tenant(self.ctx.db, tenant.id)

    async def get(self, tenant: Tenant, volume_id: str) -> Volume:
        found = await store.get(self.ctx.db, tenant.id, volume_id)
        if found is None:
            raise NotFound(f"Volume '{volume_id[:64]}' not found in tenant '{tenant.name}'.")
        return found

    async def add_for_service(
        self, tx: Transaction, tenant: Tenant, service: Service, specs: tuple[VolumeSpec, ...]
    ) -> None:
        """Volumes declared in a service body, inside the transaction that adds the service."""
        existing = await store.of_tenant(tx, tenant.id)
        if len(existing) + len(specs) > (cap := self.ctx.settings.volumes.per_tenant):
            raise limit_reached(
                "volumes in this tenant", len(existing), cap, "volumes.per_tenant", f"This adds {len(specs)}."
            )
        now = self.ctx.now()
        for spec in specs:
            try:
                await store.insert(tx, spec.to_volume(tenant, service.id, self.ctx.settings.volumes.keep_last, now))
            except AlreadyExists:
                raise Conflict(f"Volume '{spec.name}' already exists in tenant '{tenant.name}'.") from None

    async def create(
        self, tenant: Tenant, payload: object, adopt: RetainedVolume | None = None
    ) -> tuple[Volume, Deployment | None]:
        """A new volume, or with `adopt` a retained one of the same provider given to this
        tenant (same id, so the same host volume, whose labels keep naming its first tenant)."""
        spec = parse_volume(payload, self.ctx.settings, in_service=False)
        service = self._service(tenant, spec.service) if spec.service else None
        if tenant.status not in DEPLOYABLE:
            raise Unprocessable(f"Tenant '{tenant.name}' is {tenant.status}; volumes can be added once it is not.")
        now = self.ctx.now()
        volume = spec.to_volume(tenant, service.id if service else None, self.ctx.settings.volumes.keep_last, now)
        if adopt is not None:  # its files stay in the block they are in until it is mounted
            volume = replace(
                volume,
                id=adopt.id,
                host_tenant_id=adopt.tenant_id,
                used_bytes=adopt.used_bytes,
                userns_slot=adopt.userns_slot,
            )
        async with self.ctx.db.transaction() as tx:
            if await tenant_store.status_of(tx, tenant.id) not in DEPLOYABLE:  # its teardown may have begun
                raise Unprocessable(f"Tenant '{tenant.name}' is being deleted; volumes can be added once it is not.")
            if adopt is not None:
                if await store.retained_one(tx, tenant.provider_id, adopt.id, False) is None:
                    raise NotFound(f"Retained volume '{adopt.id}' not found.")
                await store.forget_retained(tx, adopt.id)
            existing = await store.of_tenant(tx, tenant.id)
            if len(existing) >= (cap := self.ctx.settings.volumes.per_tenant):
                raise limit_reached("volumes in this tenant", len(existing), cap, "volumes.per_tenant")
            if service is not None:
                _check_mount(existing, service.id, spec.mount_path, None)
            try:
                await store.insert(tx, volume)
            except AlreadyExists:
                raise Conflict(f"Volume '{spec.name}' already exists in tenant '{tenant.name}'.") from None
            told = f"Volume {spec.name} attached, retained from tenant {adopt.tenant_name}" if adopt else ""
            await events.append(
                tx, tenant.id, "volume.created", told or f"Volume {spec.name} created", self.ctx.clock.now()
            )
            queued = await self._remount(tx, tenant, service)
        self.ctx.changed(tenant.id)
        return volume, queued

    async def update(self, tenant: Tenant, volume_id: str, payload: object) -> tuple[Volume, Deployment | None]:
        volume = await self.get(tenant, volume_id)
        body = v.Body(payload, PATCHABLE)
        changes: dict[str, Any] = {}
        if body.has("size_mb"):
            changes["size_mb"] = body.integer("size_mb", 1, self.ctx.settings.volumes.max_size_mb)
        if "retain" in body.data:
            changes["retain"] = int(bool(body.boolean("retain")))
        if "backup_schedule" in body.data:
            raw = body.string("backup_schedule", max_len=100)
            gap = self.ctx.settings.volumes.min_backup_interval_minutes
            changes["backup_schedule"] = body.check("backup_schedule", raw, lambda x: schedule(x, gap)) if raw else None
        if body.has("keep_last"):
            changes["keep_last"] = body.integer("keep_last", 1, 1000)
        moving = "service" in body.data or "mount_path" in body.data
        service: Service | None = None
        if moving:
            name = body.string("service", max_len=63)
            path = body.check("mount_path", body.string("mount_path", max_len=255), mount_path)
            if name is not None and path is None and "mount_path" not in body.errors:
                body.fail("mount_path", "is required with service")
            body.done()
            service = self._service(tenant, name) if name else None
            changes["service_id"], changes["mount_path"] = (service.id, path) if service else (None, None)
        body.done()
        async with self.ctx.db.transaction() as tx:
            queued = None
            if moving:
                if service is not None:
                    _check_mount(await store.of_tenant(tx, tenant.id), service.id, changes["mount_path"], volume.id)
                await store.update(tx, volume.id, self.ctx.now(), **changes)
                old = next((s for s in tenant.services if s.id == volume.service_id), None)
                queued = await self._remount(tx, tenant, old) if old and old is not service else None
                queued = await self._remount(tx, tenant, service) or queued
            elif changes:
                await store.update(tx, volume.id, self.ctx.now(), **changes)
        if moving:
            self.ctx.changed(tenant.id)
        return await self.get(tenant, volume.id), queued

    async def delete(self, tenant: Tenant, volume_id: str) -> None:
        volume = await self.get(tenant, volume_id)
        if volume.service_id is not None:
            user = next((s.name for s in tenant.services if s.id == volume.service_id), "a service")
            raise Conflict(f"Volume '{volume.name}' is mounted by {user}; detach it first (PATCH service: null).")
        async with self.ctx.db.transaction() as tx:
            await store.delete(tx, volume.id)
            if volume.host_tenant_id is not None:  # labelled for a deleted tenant: the sweep would not see it
                await store.doom(tx, _as_retained(volume, tenant, self.ctx.now()))
            await events.append(
                tx, tenant.id, "volume.deleted", f"Volume {volume.name} deleted with its backups", self.ctx.clock.now()
            )
        self.ctx.changed(tenant.id)  # the tenant pass removes it from the host

    async def retained(self, who: Principal) -> list[RetainedVolume]:
        return await store.retained(self.ctx.db, who.provider_id, who.mode == "test")

    async def get_retained(self, who: Principal, volume_id: str) -> RetainedVolume:
        found = await store.retained_one(self.ctx.db, who.provider_id, volume_id, who.mode == "test")
        if found is None:
            raise NotFound(f"Retained volume '{volume_id[:64]}' not found.")
        return found

    async def attach(
        self, who: Principal, volume_id: str, tenant: Tenant, payload: object
    ) -> tuple[Volume, Deployment | None]:
        """Give a retained volume to one of the provider's tenants; the body is a volume's,
        with its name and size defaulting to the retained volume's."""
        found = await self.get_retained(who, volume_id)
        if found.mode != tenant.mode:
            raise Unprocessable(f"A {found.mode} tenant's volume goes only to a {found.mode} tenant.")
        assert isinstance(payload, dict)  # parse_attach_target checked it
        fields = {key: value for key, value in payload.items() if key != "tenant_id"}
        return await self.create(
            tenant, {"name": found.name, "size_mb": found.size_mb, "retain": True, **fields}, adopt=found
        )

    async def delete_retained(self, who: Principal, volume_id: str) -> None:
        await self.get_retained(who, volume_id)  # a test key's 404 for a live one
        async with self.ctx.db.transaction() as tx:  # the periodic sweep removes it from the host
            if not await store.doom_retained(tx, who.provider_id, volume_id):
                raise NotFound(f"Retained volume '{volume_id[:64]}' not found.")

    def _service(self, tenant: Tenant, name: str) -> Service:
        for service in tenant.services:
            if service.name == name:
                return service
        raise ValidationError("Invalid service.", {"fields": {"service": f"no service '{name[:63]}' in this tenant"}})

    async def _remount(self, tx: Transaction, tenant: Tenant, service: Service | None) -> Deployment | None:
        """A changed mount takes effect when the service's container is made again."""
        if service is None or tenant.status not in DEPLOYABLE:
            return None
        [queued] = await self.deployments.queue(tx, tenant, [service], "volume mounts changed")
        return queued


def parse_attach_target(payload: object) -> str:
    """The `tenant_id` of an attach body, checked before the tenant is looked up."""
    body = v.Body(payload, ATTACH)
    tenant_id = body.string("tenant_id", required=True, max_len=64)
    body.done()
    assert tenant_id is not None
    return tenant_id


def _as_retained(volume: Volume, tenant: Tenant, now: str) -> RetainedVolume:
    return RetainedVolume(
        id=volume.id,
        provider_id=tenant.provider_id,
        mode=tenant.mode,
        tenant_id=volume.labelled_tenant,
        tenant_name=tenant.name,
        name=volume.name,
        size_mb=volume.size_mb,
        used_bytes=volume.used_bytes,
        retained_at=now,
        deleting=False,
        userns_slot=volume.userns_slot,
    )


def _check_mount(existing: list[Volume], service_id: str, path: str | None, moving: str | None) -> None:
    paths = [x.mount_path for x in existing if x.service_id == service_id and x.mount_path and x.id != moving]
    if path is not None and overlapping([*paths, path]):
        v.raise_field("mount_path", f"{path} is the same as or inside another volume of that service")
