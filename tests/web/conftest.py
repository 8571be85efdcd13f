"""The daemon's app served on a loopback port (the browser needs a real socket), the
runtime off: these tests are about the dashboard, not the host."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
import uvicorn

from staxad.daemon import Daemon


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def served(daemon: Daemon) -> AsyncIterator[str]:
    """The dashboard's base URL, http://127.0.0.1:<port>."""
    port = free_port()
    config = uvicorn.Config(daemon.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(20):
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task
