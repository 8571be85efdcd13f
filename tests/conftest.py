from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from staxad.config import Settings, load
from staxad.daemon import Daemon
from staxad.model.clock import FrozenClock
from tests.webhooks.receiver import Receiver


@dataclass
class Keys:
    """Mints providers and keys straight through the core, as `staxad admin` does."""

    daemon: Daemon

    async def make(
        self,
        email: str = "team@example.com",
        scopes: tuple[str, ...] = ("*",),
        mode: str = "live",
        expires_at: str | None = None,
    ) -> dict[str, str]:
        provider, _ = await self.daemon.platform.accounts.register(email, None)
        key, raw = await self.daemon.platform.keys.create(provider.id, "test", mode, list(scopes), expires_at)
        return {"Authorization": f"Bearer {raw}", "X-Key-Id": key.id, "X-Provider-Id": provider.id}


def make_settings(tmp_path: Path, **env: str) -> Settings:
    environ = {
        "STAXAD_STORE_DATA_DIR": str(tmp_path / "data"),
        "STAXAD_STORE_SYNCHRONOUS": "NORMAL",
        "STAXAD_RUNTIME_ENABLED": "false",
        **env,
    }
    return load(None, environ)


@pytest.fixture
def clock() -> FrozenClock:
    import time

    return FrozenClock(time.time())


async def offline_resolve(host: str) -> list[str]:
    """Webhook targets resolve without the network: addresses and localhost only (a
    generated host name must never become a DNS query from a test)."""
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        return ["127.0.0.1"] if host == "localhost" else []


@contextlib.asynccontextmanager
async def started(settings: Settings, clock: FrozenClock) -> AsyncIterator[Daemon]:
    """A daemon on these settings whose name lookups never leave this host, stopped after."""
    d = Daemon(settings, clock=clock)
    d.ctx.resolve_host = offline_resolve
    await d.start()
    try:
        yield d
    finally:
        await d.stop()


@pytest.fixture
async def daemon(tmp_path: Path, clock: FrozenClock) -> AsyncIterator[Daemon]:
    async with started(make_settings(tmp_path), clock) as d:
        yield d


@pytest.fixture
async def client(daemon: Daemon) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=daemon.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver/api/v1") as c:
        yield c


@pytest.fixture
def keys(daemon: Daemon) -> Keys:
    return Keys(daemon)


@pytest.fixture
async def auth(keys: Keys) -> dict[str, str]:
    return await keys.make()


HOST_FOLDERS = ("integration", "security", "faults", "dashboard")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that drives the real host components `host`, so `-m "not host"`
    runs the rest anywhere (a `pytestmark` in a conftest would mark nothing)."""
    for item in items:
        if item.path.relative_to(Path(__file__).parent).parts[0] in HOST_FOLDERS:
            item.add_marker(pytest.mark.host)


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    """A real HTTPS webhook receiver on loopback (tests.webhooks.receiver)."""
    made = Receiver(tmp_path)
    made.start()
    yield made
    made.stop()
