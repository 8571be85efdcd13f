"""Builds share the image gate; a removal has it alone, and neither side starves."""

from __future__ import annotations

import asyncio

from staxad.adapters.imagegate import ImageGate


async def test_a_removal_waits_for_running_builds_and_new_builds_wait_for_it() -> None:
    gate, seen = ImageGate(), []
    first_build_in = asyncio.Event()
    release_first = asyncio.Event()

    async def build(name: str, hold: asyncio.Event | None = None) -> None:
        async with gate.building():
            seen.append(f"{name} in")
            if hold is not None:
                first_build_in.set()
                await hold.wait()
            seen.append(f"{name} out")

    async def remove() -> None:
        async with gate.removing():
            seen.append("remove")

    first = asyncio.create_task(build("a", release_first))
    await first_build_in.wait()
    removal = asyncio.create_task(remove())
    await asyncio.sleep(0.01)
    later = asyncio.create_task(build("b"))  # asks while the removal waits: goes after it
    await asyncio.sleep(0.01)
    assert seen == ["a in"]
    release_first.set()
    await asyncio.gather(first, removal, later)
    assert seen == ["a in", "a out", "remove", "b in", "b out"]


async def test_builds_run_side_by_side_and_a_cancelled_removal_lets_them_go() -> None:
    gate = ImageGate()
    hold = asyncio.Event()

    async def build() -> None:
        async with gate.building():
            await hold.wait()

    builds = [asyncio.create_task(build()) for _ in range(3)]
    await asyncio.sleep(0.01)
    removal = asyncio.create_task(gate.removing().__aenter__())
    await asyncio.sleep(0.01)
    removal.cancel()
    await asyncio.sleep(0.01)
    another = asyncio.create_task(build())
    await asyncio.sleep(0.01)
    hold.set()
    await asyncio.wait_for(asyncio.gather(*builds, another), 1)
