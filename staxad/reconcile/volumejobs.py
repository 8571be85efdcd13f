"""Backups and restores of volumes, run inside the tenant's reconcile pass.

A plain volume is copied while the service that mounts it is stopped (rootless podman on
cgroups v1 cannot pause a container), so the copy is consistent; the service is started
again as soon as the archive is written, and the time it was stopped is recorded
(`blocked_ms`). A restore checks the archive's checksum first, then stops the service,
empties the volume, unpacks the archive and starts the service again. Every step is an
event. A daemon that dies meanwhile fails the job at its next start; the service is then
started again by the usual repair.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from staxad.adapters.podman import Podman
from staxad.adapters.volumes import Volumes
from staxad.core.platform import Platform
from staxad.model import names, userns
from staxad.model.errors import PermanentError, TemporaryError
from staxad.model.records import Deployment, Tenant
from staxad.model.volumes import INTERRUPTED, Backup, JobStatus, Restore, Volume, to_prune
from staxad.store import backup_files, events
from staxad.store import deployments as deployment_store
from staxad.store import volumes as store
from staxad.store.db import Transaction

log = logging.getLogger("staxad.volumes")


class VolumeJobs:
    def __init__(self, platform: Platform, podman: Podman, volumes: Volumes) -> None:
        self.platform = platform
        self.podman = podman
        self.volumes = volumes
        self.folder = platform.ctx.settings.backups_dir

    @property
    def _instance(self) -> str:
        return self.platform.ctx.settings.instance

    async def ensure(self, tenant: Tenant, volume: Volume, on_host: dict[str, dict[str, str]] | None = None) -> str:
        """The host volume of `volume`, made when missing: the one whose labels name this
        tenant's volume (hosts before id names keep theirs), else the id-named one; its
        files in this tenant's block of ids."""
        if on_host is None:
            on_host = await self.volumes.listing(self._instance)
        for name, labels in on_host.items():
            if names.owns(labels, volume.labelled_tenant, volume.id, tenant.provider_id):
                if volume.userns_slot != tenant.userns_slot:
                    await self._move_ids(tenant, volume, name)
                return name
        name = names.volume(self._instance, volume.id)
        labels = names.labels(
            self._instance, volume.labelled_tenant, volume_id=volume.id, provider_id=tenant.provider_id
        )
        await self.volumes.create(name, labels)
        return name

    async def _move_ids(self, tenant: Tenant, volume: Volume, name: str) -> None:
        """A volume given from another tenant: its files move to this tenant's block."""
        source, target = userns.base(volume.userns_slot), userns.base(tenant.userns_slot)
        await self._note(tenant, f"Moving the files of volume {volume.name} to this tenant's ids")
        await self.volumes.move_ids(name, source, target)
        async with self.platform.ctx.db.transaction() as tx:
            await store.update(tx, volume.id, self.platform.ctx.now(), userns_slot=tenant.userns_slot)

    async def mounts(self, tenant: Tenant, service_id: str) -> dict[str, str]:
        """The service's volumes, created if missing: podman name -> mount path."""
        mounted = {}
        on_host: dict[str, dict[str, str]] | None = None
        for volume in await store.of_tenant(self.platform.ctx.db, tenant.id):
            if volume.service_id == service_id and volume.mount_path:
                on_host = on_host if on_host is not None else await self.volumes.listing(self._instance)
                mounted[await self.ensure(tenant, volume, on_host)] = volume.mount_path
        return mounted

    async def backup(self, tenant: Tenant, job: Backup) -> None:
        volume = await store.get(self.platform.ctx.db, tenant.id, job.volume_id)
        if volume is None:
            return  # deleted meanwhile, with its backups
        await self._backup_status(tenant, job, JobStatus.RUNNING, f"Backing up volume {volume.name}")
        writer: backup_files.Writer | None = None
        try:
            name = await self.ensure(tenant, volume)
            writer = backup_files.Writer(self.folder, job.id)
            add = await self._within_quota(tenant, writer)
            blocked_ms = await self._with_service_stopped(tenant, volume, lambda: self.volumes.export(name, add))
            sha256 = await writer.finish()
        except Exception as exc:
            if writer is not None:
                writer.abandon()
            log.warning("backup %s of volume %s failed: %s", job.id, volume.name, exc)
            await self._backup_status(tenant, job, JobStatus.FAILED, f"Backup of {volume.name} failed: {exc}", str(exc))
            return
        async with self.platform.ctx.db.transaction() as tx:
            await store.update_backup(
                tx,
                job.id,
                status=JobStatus.SUCCEEDED,
                size_bytes=writer.size,
                sha256=sha256,
                blocked_ms=blocked_ms,
                finished_at=self.platform.ctx.now(),
            )
            await self._event(
                tx,
                tenant,
                "backup.succeeded",
                f"Backed up volume {volume.name}: {writer.size} bytes, service stopped for {blocked_ms} ms",
            )
        await self._prune(tenant, volume)

    async def _within_quota(self, tenant: Tenant, writer: backup_files.Writer) -> Callable[[bytes], Awaitable[None]]:
        """The archive's sink, which stops the copy once the provider's backups would pass
        volumes.backup_quota_mb (the disk holds the database and the secret key too)."""
        used, quota = await self.platform.backups.quota_use(tenant.provider_id)
        room = quota - used

        async def add(chunk: bytes) -> None:
            if writer.size + len(chunk) > room:
                raise PermanentError(
                    f"the archive would pass this provider's {quota >> 20} MiB of backups (volumes.backup_quota_mb)"
                )
            await writer.add(chunk)

        return add

    async def restore(self, tenant: Tenant, job: Restore) -> None:
        volume = await store.get(self.platform.ctx.db, tenant.id, job.volume_id)
        backup = await store.get_backup(self.platform.ctx.db, job.volume_id, job.backup_id)
        if volume is None or backup is None or backup.sha256 is None:
            await self._restore_status(tenant, job, JobStatus.FAILED, "Restore failed: the backup is gone", "gone")
            return
        await self._restore_status(tenant, job, JobStatus.RUNNING, f"Restoring volume {volume.name} from {backup.id}")
        try:
            await backup_files.verify(self.folder, backup.id, backup.sha256)  # before anything stops
            name = await self.ensure(tenant, volume)

            async def replace() -> None:
                await self.volumes.replace_content(name, backup_files.unpacked(self.folder, backup.id))

            await self._with_service_stopped(tenant, volume, replace)
        except Exception as exc:
            log.warning("restore %s of volume %s failed: %s", job.id, volume.name, exc)
            await self._restore_status(
                tenant, job, JobStatus.FAILED, f"Restore of {volume.name} failed: {exc}", str(exc)
            )
            return
        await self._restore_status(tenant, job, JobStatus.SUCCEEDED, f"Restored volume {volume.name} from {backup.id}")

    async def fail_interrupted(self, tenant: Tenant, job: Backup | Restore) -> None:
        if isinstance(job, Backup):
            backup_files.remove(self.folder, job.id)
            await self._backup_status(tenant, job, JobStatus.FAILED, f"Backup {job.id} {INTERRUPTED}", INTERRUPTED)
        else:
            await self._restore_status(tenant, job, JobStatus.FAILED, f"Restore {job.id} {INTERRUPTED}", INTERRUPTED)

    async def teardown(self, tenant: Tenant) -> None:
        """A deleted tenant's volumes go with it, unless retained; its backups go either way
        (`retain` keeps the data on the host, not staxad's archives of it)."""
        db = self.platform.ctx.db
        own = {volume.id: volume for volume in await store.of_tenant(db, tenant.id)}
        for volume in own.values():
            for backup in await store.backups_of(db, volume.id):
                backup_files.remove(self.folder, backup.id)
        recorded = await store.retained_states(db)
        for name, labels in (await self.volumes.listing(self._instance)).items():
            volume_id = labels.get(f"{names.LABEL}.volume", "")
            if volume_id in own:
                mine = names.owns(labels, own[volume_id].labelled_tenant, volume_id, tenant.provider_id)
                if mine and not own[volume_id].retain:
                    await self.volumes.remove(name)
            elif labels.get(f"{names.LABEL}.tenant") == tenant.id and volume_id not in recorded:
                await self.volumes.remove(name)  # deleted through the API, not swept yet

    async def measure(self) -> None:
        """Every volume's used_bytes; crossing size_mb raises `volume.over_limit` (and coming
        back under, `volume.within_limit`). Measured, not enforced: rootless overlay on ext4
        has no quota."""
        db = self.platform.ctx.db
        on_host = {
            labels.get(f"{names.LABEL}.volume"): name
            for name, labels in (await self.volumes.listing(self._instance)).items()
        }
        for volume in await store.all_volumes(db):
            name = on_host.get(volume.id)
            if name is None:
                continue  # not mounted yet
            try:
                used = await self.volumes.used_bytes(name)
            except Exception as exc:
                log.warning("could not measure volume %s: %s", name, exc)
                continue
            over = used > volume.size_mb << 20
            async with db.transaction() as tx:
                await store.update(tx, volume.id, self.platform.ctx.now(), used_bytes=used, over_limit=int(over))
                if over != volume.over_limit:
                    kind = "volume.over_limit" if over else "volume.within_limit"
                    message = f"Volume {volume.name} uses {used >> 20} MiB of its {volume.size_mb} MiB"
                    await events.append(tx, volume.tenant_id, kind, message, self.platform.ctx.clock.now())

    async def sweep(self, tenant_ids: set[str]) -> None:
        """Remove volumes deleted through the API (their tenant lives on, their id is gone),
        retained volumes their provider deleted, and backup archives the store does not
        know. A retained volume of a deleted tenant stays, recorded or not (one from before
        the record is the operator's: `staxad doctor` lists it)."""
        db = self.platform.ctx.db
        known = await store.known_ids(db)
        recorded = await store.retained_states(db)
        for name, labels in (await self.volumes.listing(self._instance)).items():
            volume_id = labels.get(f"{names.LABEL}.volume")
            deleting, labelled = recorded.get(volume_id or "", (False, ""))
            # a doomed one only when no tenant's row names it and its labels are the record's
            doomed = deleting and volume_id not in known and labels.get(f"{names.LABEL}.tenant") == labelled
            if doomed or (labels.get(f"{names.LABEL}.tenant") in tenant_ids and volume_id and volume_id not in known):
                try:
                    await self.volumes.remove(name)
                except TemporaryError as exc:  # an old container still holds it: next sweep
                    log.info("volume %s not removed yet: %s", name, exc)
        left = await self.volumes.listing(self._instance)
        still = {labels.get(f"{names.LABEL}.volume") for labels in left.values()}
        for volume_id, (deleting, _) in recorded.items():
            if deleting and volume_id not in still:
                async with db.transaction() as tx:
                    await store.forget_retained(tx, volume_id)
        keep = await store.backup_ids(db)
        for leftover in backup_files.unknown(self.folder, keep):
            log.info("removing backup archive %s the store does not know", leftover.name)
            leftover.unlink(missing_ok=True)

    async def _with_service_stopped(self, tenant: Tenant, volume: Volume, work: Callable[[], Awaitable[None]]) -> int:
        """Run `work` with the container that mounts the volume stopped; the milliseconds it was."""
        live = await self._running_container(tenant, volume)
        began = time.monotonic()
        if live is not None:
            await self.podman.stop(live)
            await self._note(tenant, f"Stopped {live} so the volume {volume.name} holds still")
        try:
            await work()
        finally:
            if live is not None:
                with contextlib.suppress(Exception):  # the next pass repairs it if this fails
                    await self.podman.start(live)
                await self._note(tenant, f"Started {live} again")
        return round((time.monotonic() - began) * 1000)

    async def _running_container(self, tenant: Tenant, volume: Volume) -> str | None:
        if volume.service_id is None:
            return None
        live: dict[str, Deployment] = await deployment_store.live_for(self.platform.ctx.db, tenant.id)
        d = live.get(volume.service_id)
        if d is None or not d.container_name:
            return None
        state = await self.podman.inspect(d.container_name)
        return d.container_name if state is not None and state.running else None

    async def _prune(self, tenant: Tenant, volume: Volume) -> None:
        for old in to_prune(await store.backups_of(self.platform.ctx.db, volume.id), volume.keep_last):
            async with self.platform.ctx.db.transaction() as tx:
                await store.delete_backup(tx, old.id)
                await self._event(tx, tenant, "backup.pruned", f"Pruned backup {old.id} (keep_last {volume.keep_last})")
            backup_files.remove(self.folder, old.id)

    async def _backup_status(
        self, tenant: Tenant, job: Backup, status: JobStatus, message: str, reason: str | None = None
    ) -> None:
        done = self.platform.ctx.now() if status in (JobStatus.SUCCEEDED, JobStatus.FAILED) else None
        async with self.platform.ctx.db.transaction() as tx:
            await store.update_backup(tx, job.id, status=status, reason=reason and reason[:2000], finished_at=done)
            await self._event(tx, tenant, f"backup.{'started' if status == JobStatus.RUNNING else status}", message)

    async def _restore_status(
        self, tenant: Tenant, job: Restore, status: JobStatus, message: str, reason: str | None = None
    ) -> None:
        done = self.platform.ctx.now() if status in (JobStatus.SUCCEEDED, JobStatus.FAILED) else None
        async with self.platform.ctx.db.transaction() as tx:
            await store.update_restore(tx, job.id, status=status, reason=reason and reason[:2000], finished_at=done)
            await self._event(tx, tenant, f"restore.{'started' if status == JobStatus.RUNNING else status}", message)

    async def _note(self, tenant: Tenant, message: str) -> None:
        async with self.platform.ctx.db.transaction() as tx:
            await self._event(tx, tenant, "volume.step", message)

    async def _event(self, tx: Transaction, tenant: Tenant, type_: str, message: str) -> None:
        await events.append(tx, tenant.id, type_, message, self.platform.ctx.clock.now())
