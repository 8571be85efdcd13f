"""Numbered migrations (`migrations/NNNN_name.sql`) tracked in PRAGMA user_version.

A database whose user_version is newer than the newest migration this binary ships
was written by a newer staxad: refuse to touch it rather than guess.
"""

from __future__ import annotations

import sqlite3
from importlib import resources

import aiosqlite

from staxad.model.errors import SchemaTooNew


def available() -> list[tuple[int, str, str]]:
    folder = resources.files("staxad.store") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            number = int(entry.name.split("_", 1)[0])
            found.append((number, entry.name, entry.read_text()))
    return sorted(found)


def latest() -> int:
    return max(number for number, _, _ in available())


async def current(conn: aiosqlite.Connection) -> int:
    rows = list(await conn.execute_fetchall("PRAGMA user_version"))
    return int(rows[0][0])


async def apply(conn: aiosqlite.Connection) -> list[str]:
    """Apply pending migrations, each in its own transaction. Returns their names."""
    version = await current(conn)
    newest = latest()
    if version > newest:
        raise SchemaTooNew(
            f"The database is at schema version {version}, but this staxad knows only up to "
            f"{newest}. It was written by a newer staxad: install that version again, or "
            "restore a backup made by this one."
        )
    done = []
    for number, name, sql in available():
        if number <= version:
            continue
        await conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(sql):
                await conn.execute(statement)
            await conn.execute(f"PRAGMA user_version = {number}")
        except BaseException:
            await conn.execute("ROLLBACK")
            raise
        await conn.execute("COMMIT")
        done.append(name)
    return done


def _statements(sql: str) -> list[str]:
    """The statements of a migration, split where SQLite says one is complete (a
    trigger's body holds semicolons of its own)."""
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    statements, pending = [], ""
    for piece in "\n".join(lines).split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                statements.append(pending.strip())
            pending = ""
    if pending.strip(" \n;"):
        raise ValueError(f"an unfinished statement ends the migration: {pending.strip()[:80]}")
    return statements
