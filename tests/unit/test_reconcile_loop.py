"""The reconcile loop's retries: back-off, and each distinct error logged once."""

from __future__ import annotations

import asyncio
import logging

import pytest

from staxad.model.errors import TemporaryError
from staxad.reconcile.loop import MAX_PASSES, Reconciler, retry_delay
from tests.unit.overlap import Overlap


@pytest.mark.parametrize(
    ("failures", "exc", "delay"),
    [
        (1, RuntimeError("x"), 2.0),
        (2, RuntimeError("x"), 4.0),
        (5, RuntimeError("x"), 32.0),
        (30, RuntimeError("x"), 300.0),
        (1, TemporaryError("busy", delay=10), 10.0),
        (4, TemporaryError("busy", delay=10), 16.0),
        (1, TemporaryError("busy", delay=900), 300.0),
    ],
)
def test_retry_delay(failures: int, exc: Exception, delay: float) -> None:
    assert retry_delay(failures, exc) == delay


async def test_the_same_error_is_logged_once_and_recovery_is_said(caplog: pytest.LogCaptureFixture) -> None:
    outcomes = [RuntimeError("podman API unreachable")] * 3 + [RuntimeError("other")] + [None]
    calls = 0

    async def handle(_tenant: str) -> None:
        nonlocal calls
        outcome = outcomes[min(calls, len(outcomes) - 1)]
        calls += 1
        if outcome is not None:
            raise outcome

    async def nothing() -> list[str]:
        return []

    loop = Reconciler(handle, nothing)
    runner = asyncio.create_task(loop.run())
    caplog.set_level(logging.DEBUG, "staxad.reconcile")
    try:
        for _ in range(len(outcomes)):
            loop.kick("ten_1")  # kicks at once instead of waiting out the back-off
            await loop.idle()
    finally:
        runner.cancel()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.exc_info[1].args[0] for r in errors if r.exc_info and r.exc_info[1]] == [
        "podman API unreachable",
        "other",
    ]
    assert any("works again after 4 failed attempts" in r.getMessage() for r in caplog.records)


async def test_a_sweep_of_many_tenants_runs_a_bounded_number_of_passes_at_once() -> None:
    tenants = [f"ten_{i}" for i in range(MAX_PASSES * 3 + 5)]
    overlap = Overlap()
    handled: list[str] = []

    async def handle(tenant: str) -> None:
        await overlap.hold(0.001)
        handled.append(tenant)

    async def everyone() -> list[str]:
        return tenants

    loop = Reconciler(handle, everyone)
    runner = asyncio.create_task(loop.run())
    try:
        loop.kick()
        await asyncio.sleep(0)
        await loop.idle()
    finally:
        runner.cancel()
    assert overlap.most == MAX_PASSES and sorted(handled) == sorted(tenants)
