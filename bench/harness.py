"""A staxad process on free loopback ports with a managed Caddy, for benchmarks, and the
rule that no benchmark leaves a process behind: every server a benchmark starts comes
from `spawn` (its own process group), and `stop` ends the whole group. Whatever ends the
benchmark (an exception, Ctrl-C, SIGTERM, SIGHUP), `stop_all` runs at exit."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import secrets
import signal
import ssl
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

from bench.loadgen import free_port
from staxad.cli import _create_key
from staxad.config import Settings, load
from tests.integration.conftest import remove_instance_objects

STARTED: list[subprocess.Popen[bytes]] = []  # every process spawn() started and stop() has not ended


def spawn(argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[bytes]:
    """Start a server in a process group of its own, ended by stop() or at exit."""
    _ensure_exit_handlers()
    process: subprocess.Popen[bytes] = subprocess.Popen(list(argv), start_new_session=True, **kwargs)
    STARTED.append(process)
    return process


def stop(process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """SIGTERM the process's group, SIGKILL it after `timeout`; then anything the group
    still holds (children of a server that died first) is killed too."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    with contextlib.suppress(ValueError):
        STARTED.remove(process)


def stop_all() -> None:
    for process in reversed(list(STARTED)):
        stop(process, 10.0)


_installed = False


def _ensure_exit_handlers() -> None:
    """atexit runs on a normal exit and on an exception; SIGTERM and SIGHUP become SystemExit
    so they unwind finally blocks and reach atexit too."""
    global _installed
    if _installed:
        return
    _installed = True
    atexit.register(stop_all)

    def leave(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) in (signal.SIG_DFL, None):
            signal.signal(signum, leave)


@dataclass
class Staxad:
    api: httpx.AsyncClient
    settings: Settings
    folder: Path

    @property
    def root_ca(self) -> Path:
        caddy = self.settings.work_root / "caddy"  # the managed Caddy's state (staxad.adapters.caddy)
        return caddy / "data" / "caddy" / "pki" / "authorities" / "local" / "root.crt"

    async def first_https_200(self, host: str, text: str | None = None) -> None:
        for _ in range(600):
            if self.root_ca.exists():
                break
            await asyncio.sleep(0.05)
        context = ssl.create_default_context(cafile=str(self.root_ca))
        url = f"https://127.0.0.1:{self.settings.domains.https_port}/"
        await first_200(url, host=host, context=context, text=text)


async def first_200(
    url: str, *, host: str | None = None, context: ssl.SSLContext | bool = False, text: str | None = None
) -> None:
    """Poll until `url` answers 200 (with body `text`, when given)."""
    headers = {"Host": host} if host else {}
    extensions = {"sni_hostname": host} if host else {}
    async with httpx.AsyncClient(verify=context, timeout=2) as client:
        for _ in range(12000):
            try:
                response = await client.get(url, headers=headers, extensions=extensions)
                if response.status_code == 200 and (text is None or response.text == text):
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.005)
    raise TimeoutError(url)


@contextlib.asynccontextmanager
async def staxad(**extra: str) -> AsyncIterator[Staxad]:
    """`staxad serve` in a subprocess; every container of its instance is removed afterwards."""
    instance = "bench" + secrets.token_hex(3)
    with tempfile.TemporaryDirectory() as tmp:
        environ = {
            "STAXAD_INSTANCE": instance,
            "STAXAD_STORE_DATA_DIR": f"{tmp}/data",
            "STAXAD_SERVER_PORT": str(free_port()),
            "STAXAD_DOMAINS_BASE_DOMAIN": "staxa.test",
            "STAXAD_DOMAINS_HTTPS_PORT": str(free_port()),
            "STAXAD_CADDY_HTTP_PORT": str(free_port()),
            "STAXAD_SERVER_LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "warning"),
            **extra,
        }
        settings = load(None, environ)

        class Args:
            email, provider_name, scopes, name, mode, expires_at = "bench@example.com", None, "*", "bench", "live", None

        key = (await _create_key(settings, Args()))[-1]  # type: ignore[arg-type]
        base = f"http://127.0.0.1:{settings.server.port}/api/v1"
        try:
            server = spawn([sys.executable, "-m", "staxad", "serve"], env={**os.environ, **environ})
            try:
                async with httpx.AsyncClient(
                    base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30
                ) as api:
                    for _ in range(300):
                        try:
                            await api.get("/openapi.json")
                            break
                        except httpx.HTTPError:
                            await asyncio.sleep(0.1)
                    yield Staxad(api, settings, Path(tmp))
            finally:
                stop(server)
        finally:
            remove_instance_objects(instance)  # containers, networks, built images, nft tables, work dir
