"""Tenant env vars, every value sealed with the SecretBox."""

from __future__ import annotations

from staxad.store.db import Database, Transaction
from staxad.store.secretbox import SecretBox


async def replace(tx: Transaction, box: SecretBox, tenant_id: str, values: dict[str, str], secret: set[str]) -> None:
    await tx.execute("DELETE FROM env_vars WHERE tenant_id = ?", (tenant_id,))
    await tx.execute_many(
        "INSERT INTO env_vars (tenant_id, key, value, is_secret) VALUES (?, ?, ?, ?)",
        [(tenant_id, key, box.seal(value), int(key in secret)) for key, value in values.items()],
    )


async def read(db: Database | Transaction, box: SecretBox, tenant_id: str) -> list[tuple[str, str, bool]]:
    rows = await db.fetch_all(
        "SELECT key, value, is_secret FROM env_vars WHERE tenant_id = ? ORDER BY key", (tenant_id,)
    )
    return [(r["key"], box.open(r["value"]), bool(r["is_secret"])) for r in rows]
