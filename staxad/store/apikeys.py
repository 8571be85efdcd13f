"""API keys, stored by SHA-256 digest with a display prefix."""

from __future__ import annotations

import json

from staxad.model.records import ApiKey
from staxad.store.db import Database, Row, Transaction, mode_in


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
        parent_key_id=row["parent_key_id"],
    )


async def by_digest(db: Database, digest: str) -> ApiKey | None:
    row = await db.fetch_one("SELECT * FROM api_keys WHERE digest = ?", (digest,))
    return _key(row) if row else None


async def list_for(
    db: Database, provider_id: str, limit: int, offset: int, modes: tuple[str, ...] = ("live", "test")
) -> tuple[list[ApiKey], int]:
    where = f"provider_id = ? AND {mode_in(modes)}"
    rows = await db.fetch_all(
        f"SELECT *, count(*) OVER () AS total FROM api_keys WHERE {where}"  # noqa: S608
        " ORDER BY created_at, rowid LIMIT ? OFFSET ?",
        (provider_id, *modes, limit, offset),
    )
    total = (
        rows[0]["total"]
        if rows
        else await db.fetch_value(f"SELECT count(*) FROM api_keys WHERE {where}", (provider_id, *modes))  # noqa: S608
    )
    return [_key(r) for r in rows], int(total)


async def insert(tx: Transaction, key: ApiKey, digest: str) -> None:
    await tx.execute(
        "INSERT INTO api_keys (id, provider_id, name, prefix, digest, mode, scopes, expires_at,"
        " created_at, parent_key_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            key.parent_key_id,
        ),
    )


async def delete(
    tx: Transaction, provider_id: str, key_id: str, modes: tuple[str, ...] = ("live", "test")
) -> list[str]:
    """Revoke the key and every key it made, and theirs: the ids gone (none when the key
    is not the provider's or not of `modes`)."""
    found = await tx.fetch_one(
        f"SELECT id FROM api_keys WHERE id = ? AND provider_id = ? AND {mode_in(modes)}",  # noqa: S608
        (key_id, provider_id, *modes),
    )
    if found is None:
        return []
    rows = await tx.fetch_all(
        "WITH RECURSIVE family(id) AS (SELECT ? UNION SELECT k.id FROM api_keys k JOIN family f"
        " ON k.parent_key_id = f.id) SELECT id FROM family",
        (key_id,),
    )
    gone = [row["id"] for row in rows]
    await tx.execute_many("DELETE FROM api_keys WHERE id = ? AND provider_id = ?", [(g, provider_id) for g in gone])
    return gone
