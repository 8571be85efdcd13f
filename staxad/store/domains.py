"""Custom domains of tenants."""

from __future__ import annotations

from typing import Any

from staxad.model.lifecycle import TenantStatus
from staxad.model.records import Domain
from staxad.store.db import Database, Row, Transaction


def _domain(row: Row) -> Domain:
    return Domain(
        id=row["id"],
        tenant_id=row["tenant_id"],
        service_id=row["service_id"],
        domain=row["domain"],
        is_primary=bool(row["is_primary"]),
        verified=bool(row["verified"]),
        ssl_status=row["ssl_status"],
        token=row["token"],
        verified_at=row["verified_at"],
        last_checked_at=row["last_checked_at"],
        check_error=row["check_error"],
        created_at=row["created_at"],
    )


async def for_tenant(db: Database | Transaction, tenant_id: str) -> list[Domain]:
    rows = await db.fetch_all("SELECT * FROM domains WHERE tenant_id = ? ORDER BY created_at, domain", (tenant_id,))
    return [_domain(r) for r in rows]


async def get(db: Database | Transaction, tenant_id: str, domain_id: str) -> Domain | None:
    row = await db.fetch_one("SELECT * FROM domains WHERE id = ? AND tenant_id = ?", (domain_id, tenant_id))
    return _domain(row) if row else None


async def verified(db: Database) -> list[Domain]:
    rows = await db.fetch_all(
        "SELECT d.* FROM domains d JOIN tenants t ON t.id = d.tenant_id WHERE d.verified = 1 AND t.status != ?",
        (TenantStatus.DELETING,),
    )
    return [_domain(r) for r in rows]


async def claims_of(db: Database | Transaction, domain: str) -> list[Domain]:
    """Every tenant's claim on one name, verified or not."""
    rows = await db.fetch_all("SELECT * FROM domains WHERE domain = ? ORDER BY created_at, id", (domain,))
    return [_domain(r) for r in rows]


async def unverified_before(db: Database | Transaction, cutoff: str) -> list[Domain]:
    rows = await db.fetch_all(
        "SELECT * FROM domains WHERE verified_at IS NULL AND created_at < ? ORDER BY created_at", (cutoff,)
    )
    return [_domain(r) for r in rows]


async def insert(tx: Transaction, d: Domain) -> None:
    if d.is_primary:
        await tx.execute("UPDATE domains SET is_primary = 0 WHERE tenant_id = ?", (d.tenant_id,))
    await tx.execute(
        "INSERT INTO domains (id, tenant_id, service_id, domain, is_primary, verified, ssl_status, token,"
        " verified_at, last_checked_at, check_error, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            d.id,
            d.tenant_id,
            d.service_id,
            d.domain,
            int(d.is_primary),
            int(d.verified),
            d.ssl_status,
            d.token,
            d.verified_at,
            d.last_checked_at,
            d.check_error,
            d.created_at,
        ),
    )


FIELDS = ("verified", "ssl_status", "verified_at", "last_checked_at", "check_error")


async def update(tx: Transaction, domain_id: str, **changes: Any) -> None:
    assert changes and set(changes) <= set(FIELDS), changes
    sets = ", ".join(f"{column} = ?" for column in changes)
    await tx.execute(f"UPDATE domains SET {sets} WHERE id = ?", (*changes.values(), domain_id))  # noqa: S608


async def delete(tx: Transaction, domain_id: str) -> None:
    await tx.execute("DELETE FROM domains WHERE id = ?", (domain_id,))


async def count_for(db: Database | Transaction, tenant_id: str) -> int:
    return int(await db.fetch_value("SELECT count(*) FROM domains WHERE tenant_id = ?", (tenant_id,)))
