"""API keys, stored by SHA-256 digest with a display prefix."""

from __future__ import annotations

import json

from staxad.model.records import ApiKey
from staxad.store.db import Database, Row, Transaction


def _key(row: Row) -> ApiKey:
    return ApiKey(
        id=row["id"],
        provider_id=row["provider_id"],
        name=row["name"],
        prefix=row["prefix"],
        mode=row["mode"],
        scopes=tuple(json.loads(row["scopes"])),
        expires_at=row["expires_at"],
        created_at=row["created_at"],
    )


async def by_digest(db: Database, digest: str) -> ApiKey | None:
    row = await db.fetch_one("SELECT * FROM api_keys WHERE digest = ?", (digest,))
    return _key(row) if row else None


async def list_for(db: Database, provider_id: str, limit: int, offset: int) -> tuple[list[ApiKey], int]:
    rows = await db.fetch_all(
        "SELECT *, count(*) OVER () AS total FROM api_keys WHERE provider_id = ?"
        " ORDER BY created_at, rowid LIMIT ? OFFSET ?",
        (provider_id, limit, offset),
    )
    total = (
        rows[0]["total"]
        if rows
        else await db.fetch_value("SELECT count(*) FROM api_keys WHERE provider_id = ?", (provider_id,))
    )
    return [_key(r) for r in rows], int(total)


async def insert(tx: Transaction, key: ApiKey, digest: str) -> None:
    await tx.execute(
        "INSERT INTO api_keys (id, provider_id, name, prefix, digest, mode, scopes, expires_at,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            key.id,
            key.provider_id,
            key.name,
            key.prefix,
            digest,
            key.mode,
            json.dumps(list(key.scopes)),
            key.expires_at,
            key.created_at,
        ),
    )


async def delete(tx: Transaction, provider_id: str, key_id: str) -> bool:
    count = await tx.execute("DELETE FROM api_keys WHERE id = ? AND provider_id = ?", (key_id, provider_id))
    return count > 0
