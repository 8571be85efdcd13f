"""Backups and restores of a volume, as the user asks for them: queued here, run by the
tenant's reconcile pass (staxad.reconcile.volumejobs), so a backup never races a deploy,
a repair or another backup of the same tenant.

Scheduled backups are queued by `queue_due`, which the daemon runs every minute: a
schedule's fire times since the volume's last scheduled backup decide, so a daemon that
was down at 03:00 backs up when it is back, once.
"""

from __future__ import annotations

from staxad.core.context import Context
from staxad.core.volumes import Volumes
from staxad.model.clock import new_id, parse_iso
from staxad.model.errors import Conflict, LimitExceeded, NotFound, Unprocessable
from staxad.model.lifecycle import DEPLOYABLE
from staxad.model.records import Tenant
from staxad.model.volumes import PENDING, Backup, JobStatus, Restore, Volume, due
from staxad.store import backup_files, events
from staxad.store import volumes as store


class Backups:
    def __init__(self, ctx: Context, volumes: Volumes) -> None:
        self.ctx = ctx
        self.volumes = volumes

    async def create(self, tenant: Tenant, volume_id: str) -> Backup:
        volume = await self.volumes.get(tenant, volume_id)
        if tenant.status not in DEPLOYABLE:
            raise Unprocessable(f"Tenant '{tenant.name}' is {tenant.status}; it cannot be backed up now.")
        full = await self.over_quota(tenant.provider_id)
        if full is not None:
            raise full
        backup = await self._queue(tenant.id, volume, "manual")
        self.ctx.changed(tenant.id)
        return backup

    async def quota_use(self, provider_id: str) -> tuple[int, int]:
        """(bytes the provider's backup archives take, volumes.backup_quota_mb in bytes)."""
        used = await store.backup_bytes_of_provider(self.ctx.db, provider_id)
        return used, self.ctx.settings.volumes.backup_quota_mb << 20

    async def over_quota(self, provider_id: str) -> LimitExceeded | None:
        """The error a new backup meets when the provider's archives fill its quota."""
        used, limit = await self.quota_use(provider_id)
        if used < limit:
            return None
        return LimitExceeded(
            f"Backups use {used >> 20} MiB of this provider's {limit >> 20} MiB (volumes.backup_quota_mb); "
            "delete or unpin older backups first.",
            {"used_bytes": used, "limit_bytes": limit},
        )

    async def _queue(self, tenant_id: str, volume: Volume, kind: str, refused: str | None = None) -> Backup:
        """A backup for the tenant's pass to run, or (`refused`) one that failed before it ran."""
        now = self.ctx.now()
        backup = Backup(
            id=new_id("bak"),
            tenant_id=tenant_id,
            volume_id=volume.id,
            kind=kind,
            status=JobStatus.FAILED if refused else JobStatus.QUEUED,
            reason=refused,
            pinned=False,
            size_bytes=None,
            sha256=None,
            blocked_ms=None,
            created_at=now,
            finished_at=now if refused else None,
        )
        async with self.ctx.db.transaction() as tx:
            await store.insert_backup(tx, backup)
            what = f"{kind.capitalize()} backup of volume {volume.name}"
            if refused:
                await events.append(tx, tenant_id, "backup.failed", f"{what} failed: {refused}", self.ctx.clock.now())
            else:
                await events.append(tx, tenant_id, "backup.queued", f"{what} queued", self.ctx.clock.now())
        return backup

    async def page(self, tenant: Tenant, volume_id: str) -> list[Backup]:
        volume = await self.volumes.get(tenant, volume_id)
        return await store.backups_of(self.ctx.db, volume.id)

    async def get(self, tenant: Tenant, volume_id: str, backup_id: str) -> Backup:
        volume = await self.volumes.get(tenant, volume_id)
        found = await store.get_backup(self.ctx.db, volume.id, backup_id)
        if found is None:
            raise NotFound(f"Backup '{backup_id[:64]}' not found for volume '{volume.name}'.")
        return found

    async def pin(self, tenant: Tenant, volume_id: str, backup_id: str, pinned: bool) -> Backup:
        backup = await self.get(tenant, volume_id, backup_id)
        async with self.ctx.db.transaction() as tx:
            await store.update_backup(tx, backup.id, pinned=int(pinned))
        return await self.get(tenant, volume_id, backup_id)

    async def delete(self, tenant: Tenant, volume_id: str, backup_id: str) -> None:
        backup = await self.get(tenant, volume_id, backup_id)
        if backup.pinned:
            raise Conflict(f"Backup '{backup.id}' is pinned; unpin it first.")
        if backup.status in PENDING:
            raise Conflict(f"Backup '{backup.id}' is {backup.status}; wait until it ends.")
        async with self.ctx.db.transaction() as tx:
            await store.delete_backup(tx, backup.id)
        backup_files.remove(self.ctx.settings.backups_dir, backup.id)

    async def restore(self, tenant: Tenant, volume_id: str, backup_id: str) -> Restore:
        backup = await self.get(tenant, volume_id, backup_id)
        if backup.status != JobStatus.SUCCEEDED:
            raise Unprocessable(f"Backup '{backup.id}' is {backup.status}; only a succeeded backup can be restored.")
        if tenant.status not in DEPLOYABLE:
            raise Unprocessable(f"Tenant '{tenant.name}' is {tenant.status}; it cannot be restored now.")
        restore = Restore(
            id=new_id("rst"),
            tenant_id=tenant.id,
            volume_id=backup.volume_id,
            backup_id=backup.id,
            status=JobStatus.QUEUED,
            reason=None,
            created_at=self.ctx.now(),
            finished_at=None,
        )
        async with self.ctx.db.transaction() as tx:
            await store.insert_restore(tx, restore)
            await events.append(
                tx, tenant.id, "restore.queued", f"Restore of backup {backup.id} queued", self.ctx.clock.now()
            )
        self.ctx.changed(tenant.id)
        return restore

    async def get_restore(self, tenant: Tenant, volume_id: str, restore_id: str) -> Restore:
        volume = await self.volumes.get(tenant, volume_id)
        found = await store.get_restore(self.ctx.db, volume.id, restore_id)
        if found is None:
            raise NotFound(f"Restore '{restore_id[:64]}' not found for volume '{volume.name}'.")
        return found

    async def queue_due(self) -> int:
        """Queue the scheduled backups that fell due; how many."""
        now = self.ctx.clock.now()
        queued = 0
        for volume in await store.all_volumes(self.ctx.db):
            if volume.backup_schedule is None:
                continue
            last = await store.last_scheduled(self.ctx.db, volume.id)
            since = parse_iso(last) if last else None
            if due(volume.backup_schedule, since, parse_iso(volume.created_at), now):
                provider_id = await store.provider_of(self.ctx.db, volume.tenant_id)
                full = await self.over_quota(provider_id) if provider_id else None
                await self._queue(volume.tenant_id, volume, "scheduled", full.message if full else None)
                self.ctx.changed(volume.tenant_id)
                queued += 1
        return queued
