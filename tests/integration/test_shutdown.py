"""`staxad serve` exits within server.shutdown_timeout of SIGTERM while a deploy waits on a
slow app and an event stream (which never ends by itself) is open, and leaves no child
process behind."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from staxad.cli import _create_key
from staxad.config import load
from tests.integration.helpers import environ_for, remove_instance_objects

pytestmark = pytest.mark.host

SHUTDOWN_TIMEOUT = 4


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> str | None:
    """The command line of a live (not zombie) process, else None."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except (OSError, IndexError):
        return None
    return None if state == "Z" else command


class Args:
    email, provider_name, scopes, name, mode, expires_at = "ops@example.com", None, "*", "it", "live", None


def _outlives(command: str) -> bool:
    """Processes that belong to the service user's podman or to a container, not to staxad."""
    return "catatonit -P" in command or command.startswith("rootlessport")


async def test_sigterm_stops_the_daemon_in_time_and_leaves_no_child(
    tmp_path: Path, web_image: str, instance: str
) -> None:
    if os.geteuid() != 0:
        pytest.skip("host tests need root")
    environ = {
        **environ_for(tmp_path, instance),
        "STAXAD_SERVER_SHUTDOWN_TIMEOUT": str(SHUTDOWN_TIMEOUT),
        "STAXAD_RUNTIME_HEALTH_TIMEOUT_SECONDS": "120",
    }
    settings = load(None, environ)
    key = (await _create_key(settings, Args()))[-1]  # type: ignore[arg-type]
    env = {**os.environ, **environ, "PYTHONPATH": os.getcwd()}
    daemon = subprocess.Popen([sys.executable, "-m", "staxad", "serve"], env=env, start_new_session=True)
    base = f"http://127.0.0.1:{settings.server.port}/api/v1"
    try:
        async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30) as api:
            for _ in range(300):
                try:
                    await api.get("/openapi.json")
                    break
                except httpx.HTTPError:
                    await asyncio.sleep(0.1)
            body = {"name": "slow", "source_type": "image", "image_url": web_image, "port": 8080}
            created = await api.post("/tenants", json={**body, "env": {"DELAY": "300"}})
            assert created.status_code == 202, created.text
            tenant = created.json()["data"]["id"]
            for _ in range(300):  # the app sleeps before it listens: the deploy waits on its health
                listed = (await api.get(f"/tenants/{tenant}/deployments")).json()["data"]
                if listed and listed[0]["status"] == "deploying":
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError(f"the deploy never started: {listed}")
            async with api.stream("GET", f"/tenants/{tenant}/events") as stream:
                assert stream.status_code == 200
                children = descendants(daemon.pid)
                assert children, "the daemon should have started podman's service and Caddy"
                began = time.monotonic()
                daemon.send_signal(signal.SIGTERM)
                await asyncio.to_thread(daemon.wait, SHUTDOWN_TIMEOUT + 5)
                took = time.monotonic() - began
        assert took <= SHUTDOWN_TIMEOUT + 0.5, f"exited {took:.1f} s after SIGTERM"
        deadline = time.monotonic() + 5  # a child SIGKILLed at the end needs a moment to go
        while True:
            # podman's pause process ("catatonit -P") is shared by all of the user's podman runs by
            # design, and a container's port forwarder (rootlessport) serves it after staxad stops
            left = {pid: command for pid in children if (command := alive(pid)) and not _outlives(command)}
            if not left or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        assert left == {}, f"left behind: {left}"
    finally:
        if daemon.poll() is None:
            os.killpg(daemon.pid, signal.SIGKILL)
            daemon.wait()
        remove_instance_objects(instance)
