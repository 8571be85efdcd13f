"""How many calls of an async function were under way at once, at most."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass


@dataclass
class Overlap:
    running: int = 0
    most: int = 0

    async def hold(self, seconds: float) -> None:
        """One call's time: counted as running for `seconds`."""
        self.running += 1
        self.most = max(self.most, self.running)
        await asyncio.sleep(seconds)
        self.running -= 1
