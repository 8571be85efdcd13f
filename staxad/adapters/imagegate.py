"""Builds and image removals apart in time.

A build reads the image store's layers while it looks for cached steps; removing an
image meanwhile (a deleted tenant's, a pruned one) fails it with "getting top layer
info: layer not known". Builds share the gate; a removal has it alone, and a build that
comes while a removal waits waits for it, so neither side starves: a removal waits only
for the builds already running, and a build only for removals already asked for.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class ImageGate:
    def __init__(self) -> None:
        self._changed = asyncio.Condition()
        self._builds = 0
        self._removing = False
        self._removals_waiting = 0

    @contextlib.asynccontextmanager
    async def building(self) -> AsyncIterator[None]:
        async with self._changed:
            await self._changed.wait_for(lambda: not self._removing and not self._removals_waiting)
            self._builds += 1
        try:
            yield
        finally:
            async with self._changed:
                self._builds -= 1
                self._changed.notify_all()

    @contextlib.asynccontextmanager
    async def removing(self) -> AsyncIterator[None]:
        async with self._changed:
            self._removals_waiting += 1
            try:
                await self._changed.wait_for(lambda: not self._removing and not self._builds)
            finally:
                self._removals_waiting -= 1
            self._removing = True
        try:
            yield
        finally:
            async with self._changed:
                self._removing = False
                self._changed.notify_all()
