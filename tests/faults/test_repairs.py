"""Fault drills: a repair brings back what was deployed, never what was only stored."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from pathlib import Path

import pytest

from staxad.model.errors import TemporaryError
from tests.images import podman
from tests.integration.helpers import Live, container_of, create, running_daemon

pytestmark = pytest.mark.host


async def test_a_removed_container_comes_back_with_the_deployed_env_not_the_stored_one(live: Live) -> None:
    tenant = await create(
        live, {"name": "steady", "source_type": "image", "image_url": "localhost/staxatest/web:1", "port": 8080}
    )
    ready = await live.wait_status(tenant["id"], "ready")
    container = container_of(ready).format(instance=live.daemon.settings.instance)
    # stored, not deployed: this value would keep the app from answering for 10 minutes
    put = await live.client.put(f"/tenants/{tenant['id']}/env", headers=live.auth, json={"DELAY": "600"})
    assert put.status_code == 200, put.text
    podman("rm", "-f", container)
    began = time.monotonic()
    while time.monotonic() - began < 30:
        if (
            live.https(live.host("steady")).stdout.endswith("\n200")
            and podman("container", "exists", container, check=False).returncode == 0
        ):
            break
        await asyncio.sleep(0.1)
    recovered = time.monotonic() - began
    assert live.https(live.host("steady")).stdout.endswith("\n200"), "the repair deployed the stored env"
    env = json.loads(podman("inspect", container).stdout)[0]["Config"]["Env"]
    assert not any(entry.startswith("DELAY=") for entry in env)
    assert recovered < 15, recovered


async def test_a_dead_podman_socket_is_repaired(live: Live, web_image: str) -> None:
    """As when an orphaned podman service removed the live one's socket on its way out:
    the process lives on, but nothing answers. It is restarted within a few passes."""
    socket_path = live.daemon.settings.podman_socket
    service = live.daemon.podman.service if live.daemon.podman else None
    assert service is not None and service.process is not None
    before = service.process.pid
    socket_path.unlink()
    began = time.monotonic()
    while time.monotonic() - began < 30 and not socket_path.exists():
        await asyncio.sleep(0.1)
    assert socket_path.exists(), "the podman service was not restarted"
    assert service.process.pid != before
    tenant = await create(live, {"name": "after", "source_type": "image", "image_url": web_image, "port": 8080})
    await live.wait_status(tenant["id"], "ready")
    assert time.monotonic() - began < 30


async def test_a_deployment_failed_by_the_host_is_retried(live: Live, web_image: str) -> None:
    """podman refusing once (as while its service restarts): the deployment fails with a
    transient reason and a fresh one follows by itself."""
    podman_adapter = live.daemon.podman
    assert podman_adapter is not None
    real_run = podman_adapter.run
    refusals = 0

    async def run_once_refused(spec):  # type: ignore[no-untyped-def]
        nonlocal refusals
        if refusals == 0:
            refusals += 1
            raise TemporaryError("podman API unreachable: the service is restarting")
        return await real_run(spec)

    podman_adapter.run = run_once_refused  # type: ignore[method-assign]
    try:
        tenant = await create(live, {"name": "retry", "source_type": "image", "image_url": web_image, "port": 8080})
        ready = await live.wait_status(tenant["id"], "ready", timeout=60)
    finally:
        podman_adapter.run = real_run  # type: ignore[method-assign]
    reasons = [d["reason"] or "" for d in ready["deployments"]]
    assert refusals == 1 and any(r.startswith("transient host error") for r in reasons), reasons


async def test_a_service_that_stops_answering_makes_its_tenant_not_ready_until_it_answers_again(
    tmp_path: Path, web_image: str, instance: str
) -> None:
    """The app hangs (its process stopped, its container still running): the tenant is not
    `ready` while it does not answer, and is again once it does."""
    async with running_daemon(tmp_path, instance, STAXAD_RUNTIME_RECONCILE_INTERVAL_SECONDS="1") as live:
        tenant = await create(live, {"name": "hangs", "source_type": "image", "image_url": web_image, "port": 8080})
        ready = await live.wait_status(tenant["id"], "ready")
        container = container_of(ready).format(instance=instance)
        top = podman("top", container, "hpid", "args").stdout.decode().splitlines()[1:]
        httpd = next(int(line.split()[0]) for line in top if line.split()[1] == "httpd")
        os.kill(httpd, signal.SIGSTOP)
        try:
            began = time.monotonic()
            hung = await live.wait_status(tenant["id"], "failed", timeout=30)
            assert "web runs but does not answer on port 8080" in hung["status_reason"], hung
            assert hung["services"][0]["status"] == "unhealthy"
            noticed = time.monotonic() - began
        finally:
            os.kill(httpd, signal.SIGCONT)
        back = await live.wait_status(tenant["id"], "ready", timeout=30)
        assert back["services"][0]["status"] == "running"
        assert noticed < 15, noticed
