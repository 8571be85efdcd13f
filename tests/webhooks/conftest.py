"""The webhook tests' daemon, allowed to send to the receiver on loopback (a private
target, allowed here only)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from staxad.daemon import Daemon
from staxad.model.clock import FrozenClock
from tests.conftest import make_settings, started
from tests.webhooks.receiver import Receiver


@pytest.fixture
async def hooked(tmp_path: Path, clock: FrozenClock, receiver: Receiver) -> AsyncIterator[Daemon]:
    settings = make_settings(
        tmp_path / "d",
        STAXAD_WEBHOOKS_ALLOW_PRIVATE_TARGETS="127.0.0.1",
        STAXAD_WEBHOOKS_CA_FILE=str(receiver.cert),
        STAXAD_WEBHOOKS_TIMEOUT_SECONDS="3",
    )
    async with started(settings, clock) as d:
        yield d


@pytest.fixture
async def hclient(hooked: Daemon) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=hooked.app), base_url="http://testserver/api/v1"
    ) as c:
        yield c
