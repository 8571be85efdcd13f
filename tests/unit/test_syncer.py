"""Coalesced syncs: a burst costs one sync, and no caller returns before a sync that
started after it asked."""

from __future__ import annotations

import asyncio

import pytest

from staxad.reconcile.loop import Reconciler
from staxad.reconcile.syncer import Coalescer
from tests.unit.overlap import Overlap


async def test_a_burst_of_a_hundred_requests_makes_one_sync() -> None:
    applied = 0

    async def apply() -> None:
        nonlocal applied
        applied += 1
        await asyncio.sleep(0.01)

    sync = Coalescer(apply)
    await asyncio.gather(*(sync() for _ in range(100)))
    assert applied == 1


async def test_a_request_during_a_sync_gets_a_sync_of_its_own() -> None:
    seen: list[int] = []
    state = 0
    started = asyncio.Event()
    release = asyncio.Event()

    async def apply() -> None:
        snapshot = state
        started.set()
        await release.wait()
        seen.append(snapshot)

    sync = Coalescer(apply)
    first = asyncio.create_task(sync())
    await started.wait()
    state = 1  # a change after the running sync read the state
    later = [asyncio.create_task(sync()) for _ in range(50)]
    release.set()
    await asyncio.gather(first, *later)
    assert seen == [0, 1]  # the running one, then one more for everyone who asked meanwhile


async def test_an_error_reaches_the_callers_of_that_sync_only() -> None:
    calls = 0

    async def apply() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("caddy refused the config")

    sync = Coalescer(apply)
    with pytest.raises(RuntimeError, match="refused"):
        await sync()
    await sync()  # the next one works
    assert calls == 2


async def test_a_caller_that_gives_up_does_not_cancel_the_sync() -> None:
    done = asyncio.Event()

    async def apply() -> None:
        await asyncio.sleep(0.05)
        done.set()

    sync = Coalescer(apply)
    impatient = asyncio.create_task(sync())
    patient = asyncio.create_task(sync())
    await asyncio.sleep(0.01)
    impatient.cancel()
    await patient
    assert done.is_set()


async def test_a_hundred_tenant_passes_ending_together_make_at_most_two_shared_syncs() -> None:
    loads = 0

    async def load() -> None:
        nonlocal loads
        loads += 1
        await asyncio.sleep(0.02)

    routes = Coalescer(load)
    passes = 0

    async def tenant_pass(_tenant: str) -> None:
        nonlocal passes
        passes += 1
        await routes()

    async def none() -> list[str]:
        return []

    loop = Reconciler(tenant_pass, none)
    runner = asyncio.create_task(loop.run())
    try:
        for i in range(100):
            loop.kick(f"ten_{i}")
        await asyncio.sleep(0)
        await asyncio.wait_for(loop.idle(), 5)
    finally:
        runner.cancel()
    assert passes == 100 and loads <= 2


async def test_passes_of_one_tenant_never_overlap() -> None:
    overlap = Overlap()

    async def tenant_pass(_tenant: str) -> None:
        await overlap.hold(0.01)

    async def none() -> list[str]:
        return []

    loop = Reconciler(tenant_pass, none)
    runner = asyncio.create_task(loop.run())
    try:
        for _ in range(20):
            loop.kick("ten_1")
            await asyncio.sleep(0.002)
        await asyncio.wait_for(loop.idle(), 5)
    finally:
        runner.cancel()
    assert overlap.most == 1
