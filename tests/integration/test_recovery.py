"""The host is a cache of the store: whatever is lost comes back by itself."""

from __future__ import annotations

import asyncio
import os
import signal
import ssl
from pathlib import Path
from typing import Any

import httpx
import pytest

from staxad.config import load
from tests.images import podman
from tests.integration.helpers import (
    Live,
    container_of,
    create,
    environ_for,
    remove_instance_objects,
    settled,
    until,
)
from tests.served import serve, wait_api


async def ready_tenant(live: Live, name: str, image: str, **extra: Any) -> dict[str, Any]:
    tenant = await create(live, {"name": name, "source_type": "image", "image_url": image, "port": 8080, **extra})
    return await live.wait_status(tenant["id"], "ready")


async def test_redeploy_under_load_fails_no_request(live: Live, web_image: str) -> None:
    tenant = await ready_tenant(live, "steady", web_image)
    assert live.daemon.managed_caddy is not None
    context = ssl.create_default_context(cafile=str(live.daemon.managed_caddy.root_certificate))
    host = live.host("steady")
    outcomes: list[int | str] = []
    stop = asyncio.Event()

    async def hammer() -> None:
        async with httpx.AsyncClient(verify=context, timeout=5) as client:
            while not stop.is_set() and len(outcomes) < 5000:
                for attempt in range(2):
                    try:
                        response = await client.get(
                            f"https://127.0.0.1:{live.https_port}/",
                            headers={"Host": host},
                            extensions={"sni_hostname": host},
                        )
                        outcomes.append(response.status_code)
                        break
                    except httpx.RemoteProtocolError as exc:
                        # Caddy's graceful reload closes idle keep-alive connections; a GET
                        # sent on one as it closes is retried on a new one, as browsers do
                        # (RFC 9112, 9.3.1). A second failure counts.
                        if attempt == 1:
                            outcomes.append(type(exc).__name__)
                    except httpx.HTTPError as exc:
                        outcomes.append(type(exc).__name__)
                        break
                await asyncio.sleep(0.01)

    load_task = asyncio.create_task(hammer())
    assert await until(lambda: outcomes.count(200) >= 5, timeout=10)  # the load is under way
    assert (
        await live.client.put(f"/tenants/{tenant['id']}/env", headers=live.auth, json={"RELEASE": "2"})
    ).status_code == 200
    response = await live.client.post(f"/tenants/{tenant['id']}/deploy", headers=live.auth)
    assert response.status_code == 202, response.text
    got = await settled(live, tenant["id"], response.json()["data"]["deployments"][0]["id"])
    label = f"label=io.staxa.tenant={tenant['id']}"
    assert await until(lambda: len(podman("ps", "-q", "--filter", label).stdout.split()) == 1)  # the old one drained
    stop.set()
    await load_task
    assert got["status"] == "succeeded", got
    failures = [o for o in outcomes if o != 200]
    assert len(outcomes) > 50 and failures == [], (len(outcomes), failures[:10])
    assert "RELEASE=2" in live.https(host, "/cgi-bin/env").stdout


async def test_a_failing_new_version_leaves_the_old_one_serving(live: Live, web_image: str) -> None:
    tenant = await ready_tenant(live, "keeper", web_image)
    # port 80 cannot be bound without capabilities: the new container exits at once
    await live.client.put(f"/tenants/{tenant['id']}/env", headers=live.auth, json={"PORT": "80"})
    response = await live.client.post(f"/tenants/{tenant['id']}/services/web/deploy", headers=live.auth)
    assert response.status_code == 202
    got = await settled(live, tenant["id"], response.json()["data"]["id"])
    assert got["status"] == "failed" and "exited before answering" in got["reason"], got
    assert live.https(live.host("keeper")).stdout == "hello from v1\n\n200"
    assert (await live.wait_status(tenant["id"], "ready"))["status"] == "ready"


async def test_a_container_removed_or_stopped_by_hand_comes_back_through_podman_events(
    live_without_sweep: Live, web_image: str
) -> None:
    live = live_without_sweep
    tenant = await ready_tenant(live, "phoenix", web_image)
    name = container_of(tenant).format(instance=live.daemon.settings.instance)
    podman("rm", "-f", name)
    assert await until(lambda: live.https(live.host("phoenix")).stdout.endswith("\n200"))

    def started() -> bytes:
        return podman("inspect", "--format", "{{.State.StartedAt}}", name, check=False).stdout.strip()

    before = started()
    podman("kill", name)
    # The restart can come before a first look at the stopped container: compare start times.
    assert await until(lambda: started() not in (before, b""))
    assert await until(lambda: live.https(live.host("phoenix")).stdout.endswith("\n200"))
    # The app can answer a moment before the daemon has written the event.
    for _ in range(50):
        rows = await live.daemon.db.fetch_all("SELECT type FROM events WHERE tenant_id = ?", (tenant["id"],))
        kinds = {row["type"] for row in rows}
        if {"container.recreated", "container.restarted"} <= kinds:
            break
        await asyncio.sleep(0.1)
    assert {"container.recreated", "container.restarted"} <= kinds, kinds


async def test_caddy_killed_is_restarted_and_refilled(live: Live, web_image: str) -> None:
    await ready_tenant(live, "lighthouse", web_image)
    assert live.daemon.managed_caddy is not None
    process = live.daemon.managed_caddy.process.process
    assert process is not None
    os.kill(process.pid, signal.SIGKILL)
    assert await until(lambda: live.https(live.host("lighthouse")).stdout.endswith("\n200"))
    assert live.daemon.managed_caddy.process.restarts >= 1


@pytest.mark.usefixtures("web_image")
async def test_kill_9_mid_deploy_recovers_to_a_true_state(tmp_path: Path, instance: str) -> None:
    environ = environ_for(tmp_path, instance)
    settings = load(None, environ)
    from staxad.cli import _create_key

    class Args:
        email, provider_name, scopes, name, mode, expires_at = "ops@example.com", None, "*", "k", "live", None

    raw = (await _create_key(settings, Args()))[-1]  # type: ignore[arg-type]
    auth = {"Authorization": f"Bearer {raw}"}
    base = f"http://127.0.0.1:{settings.server.port}/api/v1"
    log = tmp_path / "staxad.log"
    process = serve(environ, log)
    try:
        await wait_api(settings.server.port, process)
        async with httpx.AsyncClient(base_url=base, headers=auth, timeout=30) as client:
            body = {
                "name": "lazarus",
                "source_type": "image",
                "image_url": "localhost/staxatest/web:1",
                "port": 8080,
                "env": {"DELAY": "3"},
            }
            tenant = (await client.post("/tenants", json=body)).json()["data"]
            for _ in range(200):
                deployments = (await client.get(f"/tenants/{tenant['id']}/deployments")).json()["data"]
                if deployments and deployments[0]["stage"] == "deploy":
                    break
                await asyncio.sleep(0.05)
            assert deployments[0]["stage"] == "deploy", deployments
            process.send_signal(signal.SIGKILL)
            process.wait(10)
            await asyncio.sleep(1.0)  # the supervised children get SIGTERM from the kernel

            process = serve(environ, log)
            await wait_api(settings.server.port, process)
            for _ in range(300):
                data = (await client.get(f"/tenants/{tenant['id']}")).json()["data"]
                if data["status"] == "ready":
                    break
                await asyncio.sleep(0.2)
            assert data["status"] == "ready", data
            history = (await client.get(f"/tenants/{tenant['id']}/deployments")).json()["data"]
            assert [d["status"] for d in history] == ["succeeded", "failed"], history
            assert history[1]["reason"] == "interrupted by a daemon restart"
            assert all(d["status"] in ("succeeded", "failed") for d in history)
            names = (
                podman(
                    "ps",
                    "-a",
                    "--format",
                    "{{.Names}}",
                    "--filter",
                    f"label=io.staxa.instance={instance}",
                    "--filter",
                    "label=io.staxa.tenant",  # not the network anchor
                )
                .stdout.decode()
                .split()
            )
            assert names == [f"staxa-{instance}-lazarus-web-{history[0]['id'][4:]}"], names
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(30)
        remove_instance_objects(instance)
