"""A staxad process on free loopback ports with a managed Caddy, for benchmarks, and the
rule that no benchmark leaves a process behind: every server a benchmark starts comes
from `spawn` (its own process group), and `stop` ends the whole group. Whatever ends the
benchmark (an exception, Ctrl-C, SIGTERM, SIGHUP), `stop_all` runs at exit."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import os
import secrets
import signal
import sqlite3
import ssl
import statistics
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

from bench.loadgen import free_port
from staxad.adapters.hostinfo import subordinate_ids
from staxad.cli import _create_key
from staxad.config import Settings, load
from staxad.model.userns import capacity
from tests.integration.helpers import remove_instance_objects

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
    process: subprocess.Popen[bytes] | None = None

    def rss_mib(self) -> float:
        """The daemon's resident memory now."""
        assert self.process is not None
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))) / 1024

    @property
    def root_ca(self) -> Path:
        caddy = self.settings.work_root / "caddy"  # the managed Caddy's state (staxad.adapters.caddy)
        return caddy / "data" / "caddy" / "pki" / "authorities" / "local" / "root.crt"

    async def gone(self, tenant_id: str) -> None:
        """Delete a tenant and wait until it is gone."""
        await self.api.delete(f"/tenants/{tenant_id}")
        async with asyncio.timeout(120):
            while (await self.api.get(f"/tenants/{tenant_id}")).status_code != 404:
                await asyncio.sleep(0.05)

    async def first_https_200(self, host: str, text: str | None = None) -> None:
        for _ in range(600):
            if self.root_ca.exists():
                break
            await asyncio.sleep(0.05)
        context = ssl.create_default_context(cafile=str(self.root_ca))
        url = f"https://127.0.0.1:{self.settings.domains.https_port}/"
        await first_200(url, host=host, context=context, text=text)

    async def stages(self, tenant_id: str, deployment_id: str | None = None) -> list[tuple[str, float]]:
        """Each stage of a deployment (the given one, or the one that made the tenant ready)
        and the ms since the stage before it, from the events' millisecond timestamps:
        where the time went. The first mark is the tenant's creation or the deployment's
        queueing."""
        events: list[dict[str, Any]] = []
        async with self.api.stream("GET", f"/tenants/{tenant_id}/events", params={"since": 0}) as response:
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    events.append(json.loads(line[len("data: ") :]))
                    last = events[-1]
                    if (deployment_id is None and last["type"] == "tenant.ready") or (
                        last["deployment_id"] == deployment_id
                        and last["type"].startswith("deployment.")
                        and last["type"] != "deployment.stage"
                        and last["stage"] in ("ready", "error")
                    ):
                        break
        target = deployment_id or next(e["deployment_id"] for e in reversed(events) if e["deployment_id"])
        first = next(e for e in events if e["deployment_id"] == target)
        start = next((e for e in events if e["type"] == "tenant.created"), first) if deployment_id is None else first
        marks = [("accepted", _at(start))]
        for e in events:
            if e["deployment_id"] == target and e is not first and e["stage"] and e["stage"] != marks[-1][0]:
                marks.append((e["stage"], _at(e)))  # a stage's progress events add nothing: its first mark counts
        return [(stage, (at - marks[i][1]).total_seconds() * 1000) for i, (stage, at) in enumerate(marks[1:])]


def _at(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00"))


@dataclass(frozen=True)
class Row:
    """One line of bench/all's table."""

    figure: str
    measured: str
    baseline: str
    ratio: float | None
    goal: str


def report(title: str, baseline: tuple[str, list[float]], measured: tuple[str, list[float]]) -> float:
    """Print both medians with every run, and the ratio; return the ratio."""
    (base_label, base_times), (label, times) = baseline, measured
    width = max(len(base_label), len(label))
    print(title)
    for name, values in ((base_label, base_times), (label, times)):
        every = [round(t * 1000) for t in values]
        print(f"{name:<{width}} median {statistics.median(values) * 1000:7.0f} ms   all {every}")
    ratio = statistics.median(times) / statistics.median(base_times)
    print(f"ratio: {ratio:.2f}x")
    return ratio


def median_ms(times: list[float]) -> str:
    """The median of times in seconds, as a table cell."""
    return f"{statistics.median(times) * 1000:.0f} ms"


def print_stages(runs: list[list[tuple[str, float]]]) -> None:
    """The median ms of each stage over the runs, in stage order."""
    order: list[str] = []
    for run in runs:
        order += [stage for stage, _ in run if stage not in order]
        order = list(dict.fromkeys(order))
    parts = []
    for stage in order:
        values = [ms for run in runs for s, ms in run if s == stage]
        parts.append(f"{stage} {statistics.median(values):.0f}")
    print("stages (median ms from the mark before; a stage's mark is when it starts): " + ", ".join(parts))


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


def unmapped_block() -> int:
    """A tenant slot in the upper half of the host's, picked at random: podman keeps its
    copy of an image's layers for each mapping it has made, so a slot of earlier runs (or
    of the tests, whose stores all start at 1) would measure a tenant with a warm cache."""
    top = capacity(subordinate_ids("staxa"))
    return top // 2 + secrets.randbelow(max(top // 2 - 100, 1))


def unmapped_slots(settings: Settings) -> None:
    """Have the instance give its tenants slots from `unmapped_block` on, as a new host would."""
    with contextlib.closing(sqlite3.connect(settings.database_path)) as db, db:
        db.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('userns_slots', ?)", (unmapped_block(),))


@contextlib.asynccontextmanager
async def staxad(
    extra: Mapping[str, str] | None = None, seed: Callable[[Settings], Awaitable[None]] | None = None
) -> AsyncIterator[Staxad]:
    """`staxad serve` in a subprocess; every container of its instance is removed afterwards.
    `extra` adds to its environment (settings); `seed` fills the store before it starts."""
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
            **(extra or {}),
        }
        settings = load(None, environ)

        class Args:
            email, provider_name, scopes, name, mode, expires_at = "bench@example.com", None, "*", "bench", "live", None

        key = (await _create_key(settings, Args()))[-1]  # type: ignore[arg-type]
        unmapped_slots(settings)
        if seed is not None:
            await seed(settings)
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
                    yield Staxad(api, settings, Path(tmp), server)
            finally:
                stop(server)
        finally:
            remove_instance_objects(instance)  # containers, networks, built images, nft tables, work dir
