"""Tenant env vars, every value sealed with the SecretBox."""

from __future__ import annotations

import json

from staxad.model.envvars import EnvVar
from staxad.store.db import Database, Row, Transaction
from staxad.store.secretbox import SecretBox

_UPSERT = (
    "INSERT INTO env_vars (tenant_id, key, value, is_secret, services) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (tenant_id, key) DO UPDATE SET value = excluded.value, is_secret = excluded.is_secret,"
    " services = excluded.services"
)


def _row(tenant_id: str, box: SecretBox, v: EnvVar) -> tuple[str, str, bytes, int, str | None]:
    services = None if v.services is None else json.dumps(list(v.services))
    return (tenant_id, v.key, box.seal(v.value), int(v.is_secret), services)


def _var(box: SecretBox, r: Row) -> EnvVar:
    services = None if r["services"] is None else tuple(json.loads(r["services"]))
    return EnvVar(r["key"], box.open(r["value"]), bool(r["is_secret"]), services)


async def replace(tx: Transaction, box: SecretBox, tenant_id: str, variables: list[EnvVar]) -> None:
    await tx.execute("DELETE FROM env_vars WHERE tenant_id = ?", (tenant_id,))
    await tx.execute_many(_UPSERT, [_row(tenant_id, box, v) for v in variables])


async def put(tx: Transaction, box: SecretBox, tenant_id: str, variable: EnvVar) -> None:
    await tx.execute(_UPSERT, _row(tenant_id, box, variable))


async def delete(tx: Transaction, tenant_id: str, key: str) -> bool:
    return await tx.execute("DELETE FROM env_vars WHERE tenant_id = ? AND key = ?", (tenant_id, key)) > 0


async def read(db: Database | Transaction, box: SecretBox, tenant_id: str) -> list[EnvVar]:
    rows = await db.fetch_all(
        "SELECT key, value, is_secret, services FROM env_vars WHERE tenant_id = ? ORDER BY key", (tenant_id,)
    )
    return [_var(box, r) for r in rows]


async def count(db: Database | Transaction, tenant_id: str) -> int:
    row = await db.fetch_one("SELECT count(*) AS n FROM env_vars WHERE tenant_id = ?", (tenant_id,))
    return int(row["n"]) if row else 0
