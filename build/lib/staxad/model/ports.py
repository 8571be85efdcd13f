"""What the core needs from the host, as protocols; the daemon plugs adapters in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from staxad.model.ownership import Lookup


class LogReader(Protocol):
    async def logs(self, name: str, lines: int) -> bytes: ...

    def follow(self, name: str, lines: int) -> AsyncIterator[bytes]: ...


class Resolver(Protocol):
    async def lookup(self, name: str, rdtype: str) -> Lookup: ...
