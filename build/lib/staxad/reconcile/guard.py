"""Background tasks that log and restart themselves when they end unexpectedly."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("staxad.guard")


async def guard(name: str, factory: Callable[[], Awaitable[None]], backoff: float = 1.0) -> None:
    delay = backoff
    while True:
        try:
            await factory()
            log.warning("background task %s ended; restarting", name)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background task %s crashed; restarting in %.0f s", name, delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, 30.0)
