"""Volumes, their backups and restores."""

from __future__ import annotations

from typing import Any

from staxad.model.volumes import PENDING, Backup, Restore, RetainedVolume, Volume
from staxad.store.db import Database, Row, Transaction

VOLUME_FIELDS = (
    "userns_slot",
    "service_id",
    "mount_path",
    "size_mb",
    "retain",
    "used_bytes",
    "over_limit",
    "backup_schedule",
    "keep_last",
)
JOB_FIELDS = ("status", "reason", "size_bytes", "sha256", "blocked_ms", "finished_at", "pinned")


def _volume(r: Row) -> Volume:
    return Volume(
        id=r["id"],
        tenant_id=r["tenant_id"],
        name=r["name"],
        service_id=r["service_id"],
        mount_path=r["mount_path"],
        size_mb=r["size_mb"],
        retain=bool(r["retain"]),
        used_bytes=r["used_bytes"],
        over_limit=bool(r["over_limit"]),
        backup_schedule=r["backup_schedule"],
        keep_last=r["keep_last"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
        host_tenant_id=r["host_tenant_id"],
        userns_slot=r["userns_slot"],
    )


def _backup(r: Row) -> Backup:
    return Backup(
        id=r["id"],
        tenant_id=r["tenant_id"],
        volume_id=r["volume_id"],
        kind=r["kind"],
        status=r["status"],
        reason=r["reason"],
        pinned=bool(r["pinned"]),
        size_bytes=r["size_bytes"],
        sha256=r["sha256"],
        blocked_ms=r["blocked_ms"],
        created_at=r["created_at"],
        finished_at=r["finished_at"],
    )


def _restore(r: Row) -> Restore:
    return Restore(
        id=r["id"],
        tenant_id=r["tenant_id"],
        volume_id=r["volume_id"],
        backup_id=r["backup_id"],
        status=r["status"],
        reason=r["reason"],
        created_at=r["created_at"],
        finished_at=r["finished_at"],
    )


async def insert(tx: Transaction, v: Volume) -> None:
    await tx.execute(
        "INSERT INTO volumes (id, tenant_id, name, service_id, mount_path, size_mb, retain, used_bytes, over_limit,"
        " backup_schedule, keep_last, created_at, updated_at, host_tenant_id, userns_slot)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            v.id,
            v.tenant_id,
            v.name,
            v.service_id,
            v.mount_path,
            v.size_mb,
            int(v.retain),
            v.used_bytes,
            int(v.over_limit),
            v.backup_schedule,
            v.keep_last,
            v.created_at,
            v.updated_at,
            v.host_tenant_id,
            v.userns_slot,
        ),
    )


async def update(tx: Transaction, volume_id: str, now: str, **changes: Any) -> None:
    assert set(changes) <= set(VOLUME_FIELDS), changes
    sets = "".join(f"{column} = ?, " for column in changes)
    await tx.execute(
        f"UPDATE volumes SET {sets}updated_at = ? WHERE id = ?",  # noqa: S608 - fixed column names
        (*changes.values(), now, volume_id),
    )


async def delete(tx: Transaction, volume_id: str) -> None:
    await tx.execute("DELETE FROM volumes WHERE id = ?", (volume_id,))


async def of_tenant(db: Database | Transaction, tenant_id: str) -> list[Volume]:
    rows = await db.fetch_all("SELECT * FROM volumes WHERE tenant_id = ? ORDER BY created_at, name", (tenant_id,))
    return [_volume(r) for r in rows]


async def get(db: Database | Transaction, tenant_id: str, volume_id: str) -> Volume | None:
    row = await db.fetch_one("SELECT * FROM volumes WHERE id = ? AND tenant_id = ?", (volume_id, tenant_id))
    return _volume(row) if row else None


async def retain_of_tenant(tx: Transaction, tenant_id: str, now: str) -> None:
    """Record the tenant's retained volumes for its provider, in the transaction that
    deletes the tenant (and, by cascade, its volume rows)."""
    await tx.execute(
        "INSERT OR IGNORE INTO retained_volumes (id, provider_id, mode, tenant_id, tenant_name, name, size_mb,"
        " used_bytes, retained_at, userns_slot) SELECT v.id, t.provider_id, t.mode,"
        " coalesce(v.host_tenant_id, v.tenant_id), t.name, v.name, v.size_mb, v.used_bytes, ?, v.userns_slot"
        " FROM volumes v JOIN tenants t ON t.id = v.tenant_id"
        " WHERE v.tenant_id = ? AND v.retain = 1",
        (now, tenant_id),
    )


def _retained(r: Row) -> RetainedVolume:
    return RetainedVolume(
        id=r["id"],
        provider_id=r["provider_id"],
        mode=r["mode"],
        tenant_id=r["tenant_id"],
        tenant_name=r["tenant_name"],
        name=r["name"],
        size_mb=r["size_mb"],
        used_bytes=r["used_bytes"],
        retained_at=r["retained_at"],
        deleting=bool(r["deleting"]),
        userns_slot=r["userns_slot"],
    )


async def retained(db: Database | Transaction, provider_id: str, test_only: bool) -> list[RetainedVolume]:
    rows = await db.fetch_all(
        "SELECT * FROM retained_volumes WHERE provider_id = ? AND (mode = 'test' OR NOT ?) AND deleting = 0"
        " ORDER BY retained_at DESC, id",
        (provider_id, test_only),
    )
    return [_retained(r) for r in rows]


async def retained_one(
    db: Database | Transaction, provider_id: str, volume_id: str, test_only: bool
) -> RetainedVolume | None:
    row = await db.fetch_one(
        "SELECT * FROM retained_volumes WHERE id = ? AND provider_id = ? AND (mode = 'test' OR NOT ?) AND deleting = 0",
        (volume_id, provider_id, test_only),
    )
    return _retained(row) if row else None


async def doom_retained(tx: Transaction, provider_id: str, volume_id: str) -> bool:
    """Mark a provider's retained volume for the sweep to remove (its row goes once the host
    volume is gone); False when it is not there to mark (attached or deleted meanwhile)."""
    changed = await tx.execute(
        "UPDATE retained_volumes SET deleting = 1 WHERE id = ? AND provider_id = ? AND deleting = 0",
        (volume_id, provider_id),
    )
    return changed == 1


async def doom(tx: Transaction, volume: RetainedVolume) -> None:
    """Record a host volume that no tenant's row names any longer (one attached from a
    retained volume, then deleted) for the sweep to remove."""
    await tx.execute(
        "INSERT INTO retained_volumes (id, provider_id, mode, tenant_id, tenant_name, name, size_mb, used_bytes,"
        " retained_at, deleting, userns_slot) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
        (
            volume.id,
            volume.provider_id,
            volume.mode,
            volume.tenant_id,
            volume.tenant_name,
            volume.name,
            volume.size_mb,
            volume.used_bytes,
            volume.retained_at,
            volume.userns_slot,
        ),
    )


async def forget_retained(tx: Transaction, volume_id: str) -> None:
    await tx.execute("DELETE FROM retained_volumes WHERE id = ?", (volume_id,))


async def retained_states(db: Database) -> dict[str, tuple[bool, str]]:
    """Every recorded retained volume: id -> (whether it is to be removed, the tenant its
    host labels name)."""
    rows = await db.fetch_all("SELECT id, deleting, tenant_id FROM retained_volumes")
    return {row["id"]: (bool(row["deleting"]), row["tenant_id"]) for row in rows}


async def all_volumes(db: Database) -> list[Volume]:
    return [_volume(r) for r in await db.fetch_all("SELECT * FROM volumes ORDER BY tenant_id, name")]


async def insert_backup(tx: Transaction, b: Backup) -> None:
    await tx.execute(
        "INSERT INTO backups (id, tenant_id, volume_id, kind, status, reason, pinned, size_bytes, sha256, blocked_ms,"
        " created_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            b.id,
            b.tenant_id,
            b.volume_id,
            b.kind,
            b.status,
            b.reason,
            int(b.pinned),
            b.size_bytes,
            b.sha256,
            b.blocked_ms,
            b.created_at,
            b.finished_at,
        ),
    )


async def update_backup(tx: Transaction, backup_id: str, **changes: Any) -> None:
    assert set(changes) <= set(JOB_FIELDS), changes
    sets = ", ".join(f"{column} = ?" for column in changes)
    await tx.execute(f"UPDATE backups SET {sets} WHERE id = ?", (*changes.values(), backup_id))  # noqa: S608


async def delete_backup(tx: Transaction, backup_id: str) -> None:
    await tx.execute("DELETE FROM backups WHERE id = ?", (backup_id,))


async def backups_of(db: Database | Transaction, volume_id: str) -> list[Backup]:
    rows = await db.fetch_all("SELECT * FROM backups WHERE volume_id = ? ORDER BY rowid DESC", (volume_id,))
    return [_backup(r) for r in rows]


async def get_backup(db: Database | Transaction, volume_id: str, backup_id: str) -> Backup | None:
    row = await db.fetch_one("SELECT * FROM backups WHERE id = ? AND volume_id = ?", (backup_id, volume_id))
    return _backup(row) if row else None


async def last_scheduled(db: Database, volume_id: str) -> str | None:
    row = await db.fetch_one(
        "SELECT max(created_at) AS at FROM backups WHERE volume_id = ? AND kind = 'scheduled'", (volume_id,)
    )
    return row["at"] if row else None


async def insert_restore(tx: Transaction, r: Restore) -> None:
    await tx.execute(
        "INSERT INTO restores (id, tenant_id, volume_id, backup_id, status, reason, created_at, finished_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (r.id, r.tenant_id, r.volume_id, r.backup_id, r.status, r.reason, r.created_at, r.finished_at),
    )


async def update_restore(tx: Transaction, restore_id: str, **changes: Any) -> None:
    assert set(changes) <= {"status", "reason", "finished_at"}, changes
    sets = ", ".join(f"{column} = ?" for column in changes)
    await tx.execute(f"UPDATE restores SET {sets} WHERE id = ?", (*changes.values(), restore_id))  # noqa: S608


async def get_restore(db: Database | Transaction, volume_id: str, restore_id: str) -> Restore | None:
    row = await db.fetch_one("SELECT * FROM restores WHERE id = ? AND volume_id = ?", (restore_id, volume_id))
    return _restore(row) if row else None


async def pending_jobs(db: Database | Transaction, tenant_id: str) -> tuple[list[Backup], list[Restore]]:
    """The tenant's backups and restores that are queued or running, oldest first."""
    marks = ", ".join("?" for _ in PENDING)
    backups = await db.fetch_all(
        f"SELECT * FROM backups WHERE tenant_id = ? AND status IN ({marks}) ORDER BY rowid",  # noqa: S608
        (tenant_id, *PENDING),
    )
    restores = await db.fetch_all(
        f"SELECT * FROM restores WHERE tenant_id = ? AND status IN ({marks}) ORDER BY rowid",  # noqa: S608
        (tenant_id, *PENDING),
    )
    return [_backup(r) for r in backups], [_restore(r) for r in restores]


async def provider_of(db: Database, tenant_id: str) -> str | None:
    value = await db.fetch_value("SELECT provider_id FROM tenants WHERE id = ?", (tenant_id,))
    return str(value) if value is not None else None


async def backup_bytes_of_provider(db: Database, provider_id: str) -> int:
    """Bytes of the archives a provider's backups keep (pinned ones included)."""
    value = await db.fetch_value(
        "SELECT coalesce(sum(b.size_bytes), 0) FROM backups b JOIN tenants t ON t.id = b.tenant_id"
        " WHERE t.provider_id = ? AND b.status = 'succeeded'",
        (provider_id,),
    )
    return int(value or 0)


async def backup_ids(db: Database) -> dict[str, str]:
    """Every backup the store knows, with its status."""
    return {row["id"]: row["status"] for row in await db.fetch_all("SELECT id, status FROM backups")}


async def known_ids(db: Database) -> set[str]:
    """Every volume the store knows; a host volume labelled with another id is a leftover
    (unless it was retained when its tenant was deleted)."""
    return {row["id"] for row in await db.fetch_all("SELECT id FROM volumes")}
