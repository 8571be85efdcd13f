"""The reconcile loop.

Level-triggered: a kick (a tenant id, or None for "everything") only says *when* to
look; what to do is always derived from the store and the host as they are now, so a
lost or repeated kick is harmless. Tenants are handled one at a time each, in
parallel across tenants.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from staxad.metrics import Metrics
from staxad.model.clock import Clock
from staxad.model.errors import TemporaryError

log = logging.getLogger("staxad.reconcile")

Handler = Callable[[str], Awaitable[None]]
MAX_RETRY_SECONDS = 300.0
# Passes under way at once. A sweep of every tenant at start would otherwise begin a pass
# per tenant together, and what 1,000 passes in flight allocate stays with the allocator.
MAX_PASSES = 64


def retry_delay(failures: int, exc: BaseException) -> float:
    """Seconds before a failed tenant pass runs again: what a TemporaryError asks for, or
    2 s doubling with each failure in a row, at most five minutes."""
    asked = exc.delay if isinstance(exc, TemporaryError) else 0.0
    return float(min(max(asked, 2.0 * 2 ** (failures - 1)), MAX_RETRY_SECONDS))


class Reconciler:
    def __init__(
        self,
        handle_tenant: Handler,
        list_tenants: Callable[[], Awaitable[list[str]]],
        metrics: Metrics | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._clock = clock or Clock()
        self._handle = handle_tenant
        self._list = list_tenants
        self._metrics = metrics
        self._kicked: dict[str, float] = {}  # tenant -> when its oldest unhandled kick came
        self._dirty: set[str] = set()
        self._running: dict[str, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._everything = True
        self.passes = 0
        self.errors = 0
        self._failing: dict[str, tuple[int, str]] = {}  # tenant -> (failures in a row, last error)

    def kick(self, tenant_id: str | None = None) -> None:
        if tenant_id is None:
            self._everything = True
        else:
            self._dirty.add(tenant_id)
            self._kicked.setdefault(tenant_id, self._clock.monotonic())
        self._wake.set()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._everything:
                self._everything = False
                self._dirty.update(await self._list())
            for tenant_id in list(self._dirty):
                if len(self._running) >= MAX_PASSES:
                    break  # the rest stay dirty; each pass that ends wakes the loop again
                if tenant_id in self._running:
                    continue  # stays dirty; picked up again when the running pass ends
                self._dirty.discard(tenant_id)
                self._running[tenant_id] = asyncio.create_task(self._one(tenant_id))

    async def _one(self, tenant_id: str) -> None:
        kicked = self._kicked.pop(tenant_id, None)
        if kicked is not None and self._metrics is not None:
            self._metrics.reconcile_lag.observe(self._clock.monotonic() - kicked)
        try:
            await self._handle(tenant_id)
            self.passes += 1
            failed = self._failing.pop(tenant_id, None)
            if failed is not None:
                log.info("reconciling tenant %s works again after %d failed attempts", tenant_id, failed[0])
        except Exception as exc:
            self.errors += 1
            if self._metrics is not None:
                self._metrics.reconcile_errors.inc()
            failures, last = self._failing.get(tenant_id, (0, ""))
            failures += 1
            message = f"{type(exc).__name__}: {exc}"
            self._failing[tenant_id] = (failures, message)
            delay = retry_delay(failures, exc)
            # Once per distinct error, with the traceback; repeats of it only at debug level.
            if message != last and isinstance(exc, TemporaryError):  # expected now and then: no traceback
                log.warning("reconciling tenant %s failed: %s; retrying in %.0f s", tenant_id, exc, delay)
            elif message != last:
                log.error("reconciling tenant %s failed; retrying in %.0f s", tenant_id, delay, exc_info=exc)
            else:
                log.debug("reconciling tenant %s failed again (%d in a row): %s", tenant_id, failures, message)
            asyncio.get_running_loop().call_later(delay, self.kick, tenant_id)
        finally:
            self._running.pop(tenant_id, None)
            if self._dirty:
                self._wake.set()

    async def stop(self) -> None:
        """Cancel the passes under way (a cancelled deployment is recovered at the next start)."""
        running = list(self._running.values())
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)

    async def idle(self) -> None:
        """Return once nothing is dirty or running; for tests and orderly shutdown.

        Polling keeps `kick()` a plain synchronous call that any code may make.
        """
        while self._dirty or self._running or self._wake.is_set():  # noqa: ASYNC110
            await asyncio.sleep(0.01)
