"""A tenant's life as the API reports it: service statuses that follow the host, PATCH
of branch and resource_size applied, logs of every service followed, and nothing of a
deleted tenant left on the host."""

from __future__ import annotations

import asyncio
import subprocess
import time
from typing import Any

from tests.images import podman
from tests.integration.helpers import Live


async def create(live: Live, body: dict[str, Any]) -> dict[str, Any]:
    response = await live.client.post("/tenants", headers=live.auth, json=body)
    assert response.status_code == 202, response.text
    return dict(response.json()["data"])


async def service_statuses(live: Live, tenant_id: str) -> dict[str, str]:
    response = await live.client.get(f"/tenants/{tenant_id}/services", headers=live.auth)
    return {s["name"]: s["status"] for s in response.json()["data"]}


async def wait_service(live: Live, tenant_id: str, name: str, want: str, timeout: float = 60) -> list[str]:
    """Poll until the service has status `want`; every status seen on the way."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = (await service_statuses(live, tenant_id)).get(name, "")
        if not seen or seen[-1] != status:
            seen.append(status)
        if status == want:
            return seen
        await asyncio.sleep(0.1)
    raise AssertionError(f"service {name} never became {want}: {seen}")


async def test_service_status_follows_the_deployment_and_the_container(live: Live, web_image: str) -> None:
    body = {"name": "status", "source_type": "image", "image_url": web_image, "port": 8080, "env": {"DELAY": "2"}}
    tenant = await create(live, body)
    assert tenant["services"][0]["status"] == "pending"
    seen = await wait_service(live, tenant["id"], "web", "running")
    assert "deploying" in seen, seen
    broken = await create(live, {"name": "status-broken", "source_type": "image", "image_url": "localhost/x/absent:1"})
    await wait_service(live, broken["id"], "web", "failed")


async def test_a_size_change_redeploys_with_the_new_limits(live: Live, web_image: str) -> None:
    tenant = await create(live, {"name": "resize", "source_type": "image", "image_url": web_image, "port": 8080})
    await live.wait_status(tenant["id"], "ready")
    response = await live.client.patch(f"/tenants/{tenant['id']}", headers=live.auth, json={"resource_size": "medium"})
    assert response.status_code == 200, response.text
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        listed = (await live.client.get(f"/tenants/{tenant['id']}/deployments", headers=live.auth)).json()["data"]
        if len(listed) == 2 and listed[0]["status"] == "succeeded":
            break
        await asyncio.sleep(0.2)
    assert [d["status"] for d in listed] == ["succeeded", "succeeded"], listed
    name = f"staxa-{live.daemon.settings.instance}-resize-web-{listed[0]['id'][4:]}"
    labels = podman("inspect", "--format", "{{json .Config.Labels}}", name).stdout.decode()
    assert "memory=512m" in labels and "pids=512" in labels, labels
    assert live.https(live.host("resize")).stdout == "hello from v1\n\n200"


async def follow_lines(live: Live, tenant_id: str, params: dict[str, str], until: set[str]) -> list[str]:
    """`data:` lines of a followed log stream until every text in `until` was seen."""
    seen: list[str] = []
    query = {"follow": "true", "lines": "20", **params}
    async with (
        asyncio.timeout(30),
        live.client.stream("GET", f"/tenants/{tenant_id}/logs", headers=live.auth, params=query) as response,
    ):
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                seen.append(line[6:])
                if all(any(text in s for s in seen) for text in until):
                    return seen
    return seen


async def test_tenant_logs_follow_every_service_or_the_one_named(live: Live, web_image: str) -> None:
    body = {
        "name": "chorus",
        "services": [
            {"name": "web", "source_type": "image", "image_url": web_image, "port": 8080, "is_routable": True},
            {"name": "api", "source_type": "image", "image_url": web_image, "port": 9090},
        ],
    }
    tenant = await create(live, body)
    await live.wait_status(tenant["id"], "ready")
    both = await follow_lines(live, tenant["id"], {}, {"[web] web starting on 8080", "[api] web starting on 9090"})
    assert all(line.startswith(("[web] ", "[api] ")) for line in both), both
    one = await follow_lines(live, tenant["id"], {"service": "api"}, {"web starting on 9090"})
    assert one == ["web starting on 9090"], one
    # without follow: `lines` counts in all, merged by podman's timestamps (which are not shown)
    both_logs = await live.client.get(f"/tenants/{tenant['id']}/logs", headers=live.auth, params={"lines": "200"})
    shown = both_logs.text.splitlines()
    assert "[web] web starting on 8080" in shown and "[api] web starting on 9090" in shown, shown
    newest = await live.client.get(f"/tenants/{tenant['id']}/logs", headers=live.auth, params={"lines": "1"})
    assert newest.text.splitlines() == shown[-1:], (newest.text, shown)
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    deadline = time.monotonic() + 10
    while "podman logs -f" in ps and "chorus" in ps and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    assert not [line for line in ps.splitlines() if line.startswith("podman logs -f") and "-chorus-" in line]
