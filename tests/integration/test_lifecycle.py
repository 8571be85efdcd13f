"""A tenant's life as the API reports it: service statuses that follow the host, PATCH
of branch and resource_size applied, logs of every service followed, and nothing of a
deleted tenant left on the host."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.integration.conftest import Live


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
