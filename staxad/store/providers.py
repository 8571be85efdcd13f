"""Providers: the teams sharing this host."""

from __future__ import annotations

from staxad.model.records import Provider
from staxad.store.db import Database, Row, Transaction


def _provider(row: Row) -> Provider:
    return Provider(
        id=row["id"],
        email=row["email"],
        name=row["name"],
        tenant_limit=row["tenant_limit"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def get(db: Database | Transaction, provider_id: str) -> Provider | None:
    row = await db.fetch_one("SELECT * FROM providers WHERE id = ?", (provider_id,))
    return _provider(row) if row else None


async def by_email(db: Database | Transaction, email: str) -> Provider | None:
    row = await db.fetch_one("SELECT * FROM providers WHERE email = ?", (email,))
    return _provider(row) if row else None


async def insert(tx: Transaction, provider: Provider) -> None:
    await tx.execute(
        "INSERT INTO providers (id, email, name, tenant_limit, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
        (provider.id, provider.email, provider.name, provider.tenant_limit, provider.created_at, provider.updated_at),
    )


async def set_name(tx: Transaction, provider_id: str, name: str | None, now: str) -> None:
    await tx.execute("UPDATE providers SET name = ?, updated_at = ? WHERE id = ?", (name, now, provider_id))


async def count(db: Database) -> int:
    return int(await db.fetch_value("SELECT count(*) FROM providers"))
