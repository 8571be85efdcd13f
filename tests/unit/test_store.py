from __future__ import annotations

from pathlib import Path

import aiosqlite
import pytest

from staxad.model.errors import SchemaTooNew
from staxad.store import migrations
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
