"""Answers computed from the store, kept until the store next changes.

staxad is the only writer of what these answers hold: every change to tenants,
services, deployments and domains commits through its one writer connection, which
counts its commits. An answer kept under the count it was computed at is served only
while no commit has happened since, so it is always exactly what the store would give;
the first read after any commit starts afresh. (`staxad admin` writes from another
process, but only providers and API keys, which no kept answer holds.) Reads dominate
the API, as dashboards and CLIs poll, and a hit costs a dict lookup instead of three
queries and a render. (`PRAGMA data_version` would also see other processes' commits,
but it costs a file lock per call: as much as the queries it would save.)
"""

from __future__ import annotations

from collections.abc import Hashable

from staxad.store.db import Database

MAX_ENTRIES = 10_000


class Reads:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._version: int | None = None
        self._entries: dict[Hashable, bytes] = {}
        self.hits = self.misses = 0

    def get(self, key: Hashable) -> bytes | None:
        version = self.db.commits
        if version != self._version:
            self._entries.clear()
            self._version = version
        found = self._entries.get(key)
        if found is None:
            self.misses += 1
        else:
            self.hits += 1
        return found

    def put(self, key: Hashable, value: bytes, version: int) -> None:
        """Keep `value` if the store is still at `version`, the one it was computed from."""
        if version == self._version and len(self._entries) < MAX_ENTRIES:
            self._entries[key] = value
