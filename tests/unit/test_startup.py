"""Start-up and shutdown: podman calls wait for the API service's socket instead of
failing with a traceback, and the reconciler's passes can be cancelled at shutdown."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from pathlib import Path

import pytest

from staxad.adapters.podman import Podman
from staxad.model.errors import TemporaryError
from staxad.reconcile.loop import Reconciler


def _serve_ping(path: Path, ready: threading.Event) -> None:
    """A stand-in for podman's API service that answers every request with 200 OK."""
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        server.listen()
        ready.set()
        server.settimeout(10)
        for _ in range(5):
            try:
                connection, _ = server.accept()
            except TimeoutError:
                return
            with connection:
                connection.recv(65536)
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nOK")


async def test_a_call_waits_for_the_api_socket_to_appear(tmp_path: Path) -> None:
    path = tmp_path / "podman.sock"
    podman = Podman(path, "nobody")
    ready = threading.Event()
    later = asyncio.get_running_loop().call_later(
        0.5, lambda: threading.Thread(target=_serve_ping, args=(path, ready), daemon=True).start()
    )
    try:
        assert await podman._call(podman.client.ping) is True  # no socket yet at the first try
    finally:
        later.cancel()
        podman.client.close()  # type: ignore[no-untyped-call]


async def test_a_stopping_service_is_not_waited_for(tmp_path: Path) -> None:
    podman = Podman(tmp_path / "absent.sock", "nobody")
    await podman.stop_service()
    with pytest.raises(TemporaryError, match="podman API unreachable"):
        await asyncio.wait_for(podman._call(podman.client.ping), 5)


async def test_a_temporary_failure_is_one_warning_line(caplog: pytest.LogCaptureFixture) -> None:
    async def handle(tenant_id: str) -> None:
        raise TemporaryError("podman API unreachable at /run/x.sock")

    async def tenants() -> list[str]:
        return ["ten_1"]

    reconciler = Reconciler(handle, tenants)
    task = asyncio.create_task(reconciler.run())
    reconciler.kick()
    with caplog.at_level(logging.WARNING, "staxad.reconcile"):
        await asyncio.sleep(0.1)
    task.cancel()
    [record] = [r for r in caplog.records if "ten_1" in r.getMessage()]
    assert record.levelno == logging.WARNING and record.exc_info is None
    assert "podman API unreachable" in record.getMessage()


async def test_stop_cancels_a_pass_under_way() -> None:
    started = asyncio.Event()

    async def slow(tenant_id: str) -> None:
        started.set()
        await asyncio.sleep(3600)

    async def tenants() -> list[str]:
        return ["ten_1"]

    reconciler = Reconciler(slow, tenants)
    task = asyncio.create_task(reconciler.run())
    reconciler.kick()
    await asyncio.wait_for(started.wait(), 5)
    await asyncio.wait_for(reconciler.stop(), 1)
    await asyncio.wait_for(reconciler.idle(), 1)
    task.cancel()


async def test_stop_cancels_a_scheduled_job_under_way_quietly(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A job running when staxad stops is cancelled before the store closes, and its
    cancel is no error in the log (APScheduler logs any exception a job raises)."""
    from datetime import UTC, datetime

    from staxad.daemon import Daemon
    from tests.conftest import make_settings

    daemon = Daemon(make_settings(tmp_path))
    await daemon.start()
    running, ended = asyncio.Event(), []

    async def slow() -> None:
        running.set()
        try:
            await asyncio.sleep(60)
        finally:
            ended.append(daemon.db._writer is not None)

    daemon.scheduler.add_job(daemon._job(slow), next_run_time=datetime.now(UTC))
    await asyncio.wait_for(running.wait(), 10)
    await daemon.stop()
    assert ended == [True]  # cancelled before the store closed
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
