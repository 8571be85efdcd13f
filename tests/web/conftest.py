"""The daemon's app served on a loopback port (the browser needs a real socket), the
runtime off: these tests are about the dashboard, not the host."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from staxad.daemon import Daemon
from tests.integration.helpers import free_port
from tests.served import uvicorn_on


@pytest.fixture
async def served(daemon: Daemon) -> AsyncIterator[str]:
    """The dashboard's base URL, http://127.0.0.1:<port>."""
    port = free_port()
    server, task = await uvicorn_on(daemon.app, port, "off", 20)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task
