"""Coalesced syncs of state every tenant shares (Caddy's routes, the host firewall).

Any number of callers may ask for a sync at once; each waits for a sync that *started
after* it asked, and all who ask while one runs share the next. A burst of changes
across a hundred tenants therefore costs two syncs at most, not a hundred, and nobody
returns before the host has seen their change.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


class Coalescer:
    def __init__(self, apply: Callable[[], Awaitable[None]]) -> None:
        self._apply = apply
        self._next: asyncio.Future[None] | None = None  # the sync that starts once the running one ends
        self._draining: asyncio.Task[None] | None = None
        self.runs = 0

    async def __call__(self) -> None:
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
            self._next.add_done_callback(_retrieve)  # an error nobody waited for is not "never retrieved"
        waiting = self._next
        if self._draining is None:
            self._draining = asyncio.create_task(self._drain())
        await asyncio.shield(waiting)  # one caller giving up does not cancel the others' sync

    async def _drain(self) -> None:
        try:
            while self._next is not None:
                current, self._next = self._next, None
                try:
                    self.runs += 1
                    await self._apply()
                except Exception as exc:
                    current.set_exception(exc)
                else:
                    current.set_result(None)
        finally:
            self._draining = None
            if self._next is not None and not self._next.done():  # cancelled (shutdown) with callers waiting
                self._next.cancel()
                self._next = None


def _retrieve(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()
