"""Registry credentials; passwords sealed with the SecretBox, never read back but to log in."""

from __future__ import annotations

from typing import Any

from staxad.model.apikeys import MODES
from staxad.model.registries import Registry
from staxad.store.db import Database, Row, Transaction, mode_in
from staxad.store.secretbox import SecretBox

FIELDS = ("name", "registry_url", "host", "username", "verified", "verify_error")


def _registry(r: Row) -> Registry:
    return Registry(
        id=r["id"],
        provider_id=r["provider_id"],
        name=r["name"],
        registry_url=r["registry_url"],
        host=r["host"],
        username=r["username"],
        verified=bool(r["verified"]),
        verify_error=r["verify_error"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
        mode=r["mode"],
    )


async def insert(tx: Transaction, box: SecretBox, r: Registry, password: str) -> None:
    await tx.execute(
        "INSERT INTO registries (id, provider_id, name, registry_url, host, username, password, verified,"
        " created_at, updated_at, mode) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)",
        (
            r.id,
            r.provider_id,
            r.name,
            r.registry_url,
            r.host,
            r.username,
            box.seal(password),
            r.created_at,
            r.updated_at,
            r.mode,
        ),
    )


async def update(tx: Transaction, registry_id: str, now: str, **changes: Any) -> None:
    assert set(changes) <= set(FIELDS), changes
    sets = "".join(f"{column} = ?, " for column in changes)
    await tx.execute(f"UPDATE registries SET {sets}updated_at = ? WHERE id = ?", (*changes.values(), now, registry_id))  # noqa: S608


async def set_password(tx: Transaction, box: SecretBox, registry_id: str, password: str, now: str) -> None:
    await tx.execute(
        "UPDATE registries SET password = ?, verified = 0, updated_at = ? WHERE id = ?",
        (box.seal(password), now, registry_id),
    )


async def password(db: Database | Transaction, box: SecretBox, registry_id: str) -> str:
    return box.open(await db.fetch_value("SELECT password FROM registries WHERE id = ?", (registry_id,)))


async def delete(tx: Transaction, registry_id: str) -> None:
    await tx.execute("DELETE FROM registries WHERE id = ?", (registry_id,))
    await tx.execute("UPDATE services SET registry_id = NULL WHERE registry_id = ?", (registry_id,))


async def get(
    db: Database | Transaction, provider_id: str, registry_id: str, modes: tuple[str, ...] = MODES
) -> Registry | None:
    row = await db.fetch_one(
        f"SELECT * FROM registries WHERE id = ? AND provider_id = ? AND {mode_in(modes)}",  # noqa: S608
        (registry_id, provider_id, *modes),
    )
    return _registry(row) if row else None


async def of_provider(db: Database | Transaction, provider_id: str, modes: tuple[str, ...] = MODES) -> list[Registry]:
    rows = await db.fetch_all(
        f"SELECT * FROM registries WHERE provider_id = ? AND {mode_in(modes)} ORDER BY created_at, id",  # noqa: S608
        (provider_id, *modes),
    )
    return [_registry(r) for r in rows]


async def for_host(db: Database, provider_id: str, host: str, mode: str) -> Registry | None:
    """The provider's credential of `mode` for a registry (the newest verified one first)."""
    row = await db.fetch_one(
        "SELECT * FROM registries WHERE provider_id = ? AND host = ? AND mode = ?"
        " ORDER BY verified DESC, created_at DESC LIMIT 1",
        (provider_id, host, mode),
    )
    return _registry(row) if row else None
