"""One-click databases and their connections; passwords sealed with the SecretBox."""

from __future__ import annotations

from staxad.model.databases import Connection, Database
from staxad.store.db import Database as Store
from staxad.store.db import Row, Transaction
from staxad.store.secretbox import SecretBox


def _database(r: Row) -> Database:
    return Database(
        id=r["id"],
        tenant_id=r["tenant_id"],
        service_id=r["service_id"],
        volume_id=r["volume_id"],
        engine=r["engine"],
        name=r["name"],
        version=r["version"],
        username=r["username"],
        created_at=r["created_at"],
    )


def _connection(r: Row) -> Connection:
    return Connection(r["id"], r["database_id"], r["service_id"], r["env_key"], r["created_at"])


async def insert(tx: Transaction, box: SecretBox, d: Database, password: str) -> None:
    await tx.execute(
        "INSERT INTO databases (id, tenant_id, service_id, volume_id, engine, name, version, username, password,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            d.id,
            d.tenant_id,
            d.service_id,
            d.volume_id,
            d.engine,
            d.name,
            d.version,
            d.username,
            box.seal(password),
            d.created_at,
        ),
    )


async def password(db: Store | Transaction, box: SecretBox, database_id: str) -> str:
    return box.open(await db.fetch_value("SELECT password FROM databases WHERE id = ?", (database_id,)))


async def of_tenant(db: Store | Transaction, tenant_id: str) -> list[Database]:
    rows = await db.fetch_all("SELECT * FROM databases WHERE tenant_id = ? ORDER BY created_at, name", (tenant_id,))
    return [_database(r) for r in rows]


async def get(db: Store | Transaction, tenant_id: str, database_id: str) -> Database | None:
    row = await db.fetch_one("SELECT * FROM databases WHERE id = ? AND tenant_id = ?", (database_id, tenant_id))
    return _database(row) if row else None


async def for_service(db: Store | Transaction, service_id: str) -> Database | None:
    row = await db.fetch_one("SELECT * FROM databases WHERE service_id = ?", (service_id,))
    return _database(row) if row else None


async def insert_connection(tx: Transaction, c: Connection) -> None:
    await tx.execute(
        "INSERT INTO connections (id, database_id, service_id, env_key, created_at) VALUES (?, ?, ?, ?, ?)",
        (c.id, c.database_id, c.service_id, c.env_key, c.created_at),
    )


async def connections(db: Store | Transaction, database_id: str) -> list[Connection]:
    rows = await db.fetch_all("SELECT * FROM connections WHERE database_id = ? ORDER BY created_at", (database_id,))
    return [_connection(r) for r in rows]


async def delete_connection(tx: Transaction, connection_id: str) -> None:
    await tx.execute("DELETE FROM connections WHERE id = ?", (connection_id,))


async def connections_of_service(db: Store | Transaction, service_id: str) -> list[Connection]:
    rows = await db.fetch_all("SELECT * FROM connections WHERE service_id = ? ORDER BY created_at", (service_id,))
    return [_connection(r) for r in rows]


async def by_id(db: Store | Transaction, database_id: str) -> Database | None:
    row = await db.fetch_one("SELECT * FROM databases WHERE id = ?", (database_id,))
    return _database(row) if row else None
