"""Images staxad brought onto the host for a tenant (pulled or built)."""

from __future__ import annotations

from staxad.store.db import Database, Transaction


async def record(tx: Transaction, tenant_id: str, ref: str, origin: str, service_id: str | None, now: str) -> None:
    await tx.execute(
        "INSERT OR IGNORE INTO images (tenant_id, ref, origin, service_id, created_at) VALUES (?, ?, ?, ?, ?)",
        (tenant_id, ref, origin, service_id, now),
    )


async def only_this_tenant_uses(db: Database, tenant_id: str) -> list[str]:
    """Refs this tenant brought that no other tenant brought or names as its image."""
    rows = await db.fetch_all(
        "SELECT i.ref FROM images i WHERE i.tenant_id = ?"
        " AND NOT EXISTS (SELECT 1 FROM images o WHERE o.ref = i.ref AND o.tenant_id != i.tenant_id)"
        " AND NOT EXISTS (SELECT 1 FROM services s WHERE s.image_url = i.ref AND s.tenant_id != i.tenant_id)",
        (tenant_id,),
    )
    return [row["ref"] for row in rows]
