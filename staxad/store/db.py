"""The database: one writer connection, a few reader connections.

Every write goes through `transaction()`, which holds the only writer under an
asyncio lock and opens `BEGIN IMMEDIATE`, so a multi-row change is all or nothing and
writers never deadlock on lock upgrades; the writer lives on aiosqlite's thread, since
a commit waits for fsync.

Reads run on the event loop's own thread, on a connection of their own (WAL lets them
run beside the writer and never makes them wait for it). staxad's reads are indexed
lookups of a few rows that take tens of microseconds; handing each to a worker thread
and back cost more than the query (the API benchmark spent two thirds of its time in
those hand-offs, fighting the event loop for the GIL). A read that could be slow does
not belong here.
"""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiosqlite

from staxad.model.errors import AlreadyExists
from staxad.store import migrations

if TYPE_CHECKING:
    from staxad.model.records import Tenant


def mode_in(modes: Sequence[str]) -> str:
    """The condition `mode IN (?, ...)` for these modes (their values go in the parameters)."""
    return f"mode IN ({', '.join('?' * len(modes))})"


TenantUrl = Callable[["Tenant"], str | None]  # staxad.model.names.tenant_url with the settings given

Row = sqlite3.Row
Params = Sequence[Any] | dict[str, Any]


class Database:
    def __init__(self, path: Path, synchronous: str = "FULL") -> None:
        self.path = path
        self._synchronous = synchronous.upper()
        self._writer: aiosqlite.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        self._lock = asyncio.Lock()
        self.commits = 0  # this process's commits that changed rows: what answers kept in memory check
        self._bells: weakref.WeakValueDictionary[str, asyncio.Event] = weakref.WeakValueDictionary()
        # How a tenant's public URL is spelled: webhook bodies are written in their event's
        # transaction and carry it (the daemon sets it from its settings).
        self.tenant_url: TenantUrl = lambda _tenant: None

    async def _connect(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        conn.row_factory = sqlite3.Row
        await conn.execute("PRAGMA busy_timeout = 5000")
        await conn.execute("PRAGMA foreign_keys = ON")
        await conn.execute(f"PRAGMA synchronous = {self._synchronous}")
        return conn

    async def open(self) -> None:
        """Connect and migrate. On failure nothing stays open: aiosqlite's worker threads
        are not daemons, and one left running keeps the process from exiting."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._writer = await self._connect()
            await self._writer.execute("PRAGMA journal_mode = WAL")
            await migrations.apply(self._writer)
            self._reader = sqlite3.connect(self.path, isolation_level=None)
            self._reader.row_factory = sqlite3.Row
            self._reader.execute("PRAGMA query_only = ON")
            self._reader.execute("PRAGMA foreign_keys = ON")
            self._reader.execute("PRAGMA busy_timeout = 1000")  # only a WAL recovery makes a reader wait
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._writer is not None:
            await self._writer.close()
            self._writer = None

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        assert self._reader is not None, "Database.open() was not called"
        return self._reader.execute(sql, params).fetchall()

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        assert self._reader is not None, "Database.open() was not called"
        cursor = self._reader.execute(sql, params)
        try:
            row: Row | None = cursor.fetchone()
        finally:
            cursor.close()  # an unfinished statement would hold its read snapshot open
        return row

    async def fetch_value(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        assert self._writer is not None, "Database.open() was not called"
        async with self._lock:
            changes = self._writer.total_changes
            await self._writer.execute("BEGIN IMMEDIATE")
            tx = Transaction(self._writer, self.tenant_url)
            try:
                yield tx
            except BaseException:
                await self._writer.execute("ROLLBACK")
                raise
            await self._writer.execute("COMMIT")
            if self._writer.total_changes != changes:  # a transaction that changed nothing changes no answer
                self.commits += 1
            for topic in tx.announced:
                if (bell := self._bells.pop(topic, None)) is not None:
                    bell.set()

    def bell(self, topic: str) -> asyncio.Event:
        """Set once a transaction that announced `topic` commits. Take it before reading,
        then wait on it: a commit between the read and the wait still rings it."""
        bell = self._bells.get(topic)
        if bell is None:
            bell = self._bells[topic] = asyncio.Event()
        return bell

    async def schema_version(self) -> int:
        return int(await self.fetch_value("PRAGMA user_version"))

    async def backup_to(self, target: Path) -> None:
        assert self._writer is not None
        async with self._lock:
            dest = await aiosqlite.connect(target)
            try:
                await self._writer.backup(dest)
            finally:
                await dest.close()


class Transaction:
    def __init__(self, conn: aiosqlite.Connection, tenant_url: TenantUrl = lambda _tenant: None) -> None:
        self._conn = conn
        self.tenant_url = tenant_url
        self.announced: set[str] = set()

    def announce(self, topic: str) -> None:
        """Ring `topic`'s bell (Database.bell) once this transaction commits."""
        self.announced.add(topic)

    async def execute(self, sql: str, params: Params = ()) -> int:
        try:
            cursor = await self._conn.execute(sql, params)
        except sqlite3.IntegrityError as exc:
            raise AlreadyExists(str(exc)) from exc
        return cursor.rowcount

    async def execute_many(self, sql: str, rows: Iterable[Params]) -> None:
        try:
            await self._conn.executemany(sql, rows)
        except sqlite3.IntegrityError as exc:
            raise AlreadyExists(str(exc)) from exc

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        return list(await self._conn.execute_fetchall(sql, params))

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self._conn.execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def fetch_value(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]
