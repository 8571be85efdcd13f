"""Fault drills: a repair brings back what was deployed, never what was only stored."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from tests.images import podman
from tests.integration.conftest import Live
from tests.integration.test_serving import container_of, create

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
