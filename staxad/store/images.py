"""Images staxad brought onto the host for a tenant (pulled or built)."""

from __future__ import annotations

from staxad.model.images import canonical
from staxad.store.db import Database, Transaction


async def record(
    tx: Transaction,
    tenant_id: str,
    ref: str,
    origin: str,
    service_id: str | None,
    now: str,
    private: bool = False,
    image_id: str | None = None,
) -> None:
    await tx.execute(
        "INSERT INTO images (tenant_id, ref, origin, service_id, created_at, private, canonical, image_id)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, ref) DO UPDATE SET"
        " private = max(private, excluded.private), canonical = excluded.canonical,"
        " image_id = coalesce(excluded.image_id, image_id)",
        (tenant_id, ref, origin, service_id, now, int(private), canonical(ref), image_id),
    )


async def private_to_another(db: Database, provider_id: str, ref: str, image_id: str | None = None) -> bool:
    """Whether another provider pulled this image with a credential, under any spelling of
    its reference or as the image id it resolves to: its local copy is theirs, and this
    provider may use it only by pulling with a credential of its own."""
    row = await db.fetch_one(
        "SELECT 1 FROM images i JOIN tenants t ON t.id = i.tenant_id WHERE i.private = 1 AND t.provider_id != ?"
        " AND (i.canonical = ? OR i.ref = ? OR i.image_id = ?)",
        (provider_id, canonical(ref), ref, image_id),
    )
    return row is not None


async def only_this_tenant_uses(db: Database, tenant_id: str) -> list[str]:
    """Refs this tenant brought that no other tenant brought or names as its image."""
    rows = await db.fetch_all(
        "SELECT i.ref FROM images i WHERE i.tenant_id = ?"
        " AND NOT EXISTS (SELECT 1 FROM images o WHERE o.ref = i.ref AND o.tenant_id != i.tenant_id)"
        " AND NOT EXISTS (SELECT 1 FROM services s WHERE s.image_url = i.ref AND s.tenant_id != i.tenant_id)",
        (tenant_id,),
    )
    return [row["ref"] for row in rows]


async def built_for_service(db: Database, service_id: str) -> list[str]:
    """Built image refs of a service, newest first."""
    rows = await db.fetch_all(
        "SELECT ref FROM images WHERE service_id = ? AND origin = 'built' ORDER BY created_at DESC, rowid DESC",
        (service_id,),
    )
    return [row["ref"] for row in rows]


async def built_by(db: Database, tenant_id: str) -> list[str]:
    rows = await db.fetch_all("SELECT ref FROM images WHERE tenant_id = ? AND origin = 'built'", (tenant_id,))
    return [row["ref"] for row in rows]


async def known(db: Database, tenant_id: str, ref: str) -> bool:
    return await db.fetch_value("SELECT 1 FROM images WHERE tenant_id = ? AND ref = ?", (tenant_id, ref)) is not None


async def forget(tx: Transaction, tenant_id: str, ref: str) -> None:
    await tx.execute("DELETE FROM images WHERE tenant_id = ? AND ref = ?", (tenant_id, ref))
