from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite
import pytest

from staxad.model.errors import AlreadyExists, SchemaTooNew
from staxad.store import events, migrations
from staxad.store.db import Database


async def test_migrations_apply_once_and_enable_wal_and_foreign_keys(tmp_path: Path) -> None:
    db = Database(tmp_path / "s.db")
    await db.open()
    assert await db.fetch_value("PRAGMA user_version") == migrations.latest()
    assert await db.fetch_value("PRAGMA journal_mode") == "wal"
    assert await db.fetch_value("PRAGMA foreign_keys") == 1
    await db.close()
    db = Database(tmp_path / "s.db")
    await db.open()
    await db.close()


async def test_a_failed_transaction_leaves_nothing(tmp_path: Path) -> None:
    db = Database(tmp_path / "s.db")
    await db.open()
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO providers VALUES ('p', 'e@x.io', NULL, NULL, 't', 't')")
            raise RuntimeError("boom")
    assert await db.fetch_value("SELECT count(*) FROM providers") == 0
    await db.close()


async def test_a_newer_schema_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with aiosqlite.connect(path) as conn:
        await conn.execute(f"PRAGMA user_version = {migrations.latest() + 1}")
        await conn.commit()
    with pytest.raises(SchemaTooNew, match="newer staxad"):
        await Database(path).open()


async def test_domain_claims_survive_the_rebuild_into_per_tenant_claims(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        for number, _, sql in migrations.available():
            if number <= 4:
                for statement in migrations._statements(sql):
                    await conn.execute(statement)
        await conn.execute("PRAGMA user_version = 4")
        await conn.execute("INSERT INTO providers VALUES ('p', 'e@x.io', NULL, NULL, 't', 't')")
        for tenant in ("a", "b"):
            await conn.execute(
                "INSERT INTO tenants (id, provider_id, name, mode, status, created_at, updated_at)"
                f" VALUES ('ten_{tenant}', 'p', '{tenant}', 'live', 'running', 't', 't')"
            )
        await conn.execute(
            "INSERT INTO domains (id, tenant_id, domain, verified, token, verified_at, created_at, check_error)"
            " VALUES ('dom_1', 'ten_a', 'shop.example.com', 1, 'tok', 't', 't', NULL)"
        )
    db = Database(path)
    await db.open()
    try:
        row = await db.fetch_one("SELECT * FROM domains WHERE id = 'dom_1'")
        assert row is not None and (row["tenant_id"], row["verified_at"], row["token"]) == ("ten_a", "t", "tok")
        async with db.transaction() as tx:  # another tenant may now claim it unverified ...
            await tx.execute(
                "INSERT INTO domains (id, tenant_id, domain, token, created_at)"
                " VALUES ('dom_2', 'ten_b', 'shop.example.com', 'x', 't')"
            )
        with pytest.raises(AlreadyExists):  # ... but never hold it verified beside the owner
            async with db.transaction() as tx:
                await tx.execute("UPDATE domains SET verified_at = 't' WHERE id = 'dom_2'")
        with pytest.raises(AlreadyExists):  # and a tenant claims a name once
            async with db.transaction() as tx:
                await tx.execute(
                    "INSERT INTO domains (id, tenant_id, domain, token, created_at)"
                    " VALUES ('dom_3', 'ten_a', 'shop.example.com', 'y', 't')"
                )
    finally:
        await db.close()


async def test_an_event_wakes_a_reader_waiting_for_its_tenant_and_no_other(tmp_path: Path) -> None:
    """`events.since(wait=...)` returns when this process appends the tenant's event,
    not after its wait (an hour here): event streams follow a deploy as it happens."""
    db = Database(tmp_path / "s.db")
    await db.open()
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO providers VALUES ('p', 'e@x.io', NULL, NULL, 't', 't')")
        for tenant in ("a", "b"):
            await tx.execute(
                "INSERT INTO tenants (id, provider_id, name, mode, status, created_at, updated_at)"
                f" VALUES ('ten_{tenant}', 'p', '{tenant}', 'live', 'running', 't', 't')"
            )
    waiting = asyncio.ensure_future(events.since(db, "ten_a", 0, wait=3600))
    other = asyncio.ensure_future(events.since(db, "ten_b", 0, wait=3600))
    await asyncio.sleep(0.05)
    with pytest.raises(RuntimeError):  # a rolled-back append wakes nobody
        async with db.transaction() as tx:
            await events.append(tx, "ten_a", "tenant.ready", "undone", datetime.now(UTC))
            raise RuntimeError("boom")
    await asyncio.sleep(0.05)
    assert not waiting.done()
    async with db.transaction() as tx:
        await events.append(tx, "ten_a", "tenant.ready", "started", datetime.now(UTC))
    found = await asyncio.wait_for(waiting, 10)
    assert [event.message for event in found] == ["started"] and not other.done()
    other.cancel()
    await db.close()
