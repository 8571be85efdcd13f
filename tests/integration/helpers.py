"""What the host tests share: creating tenants, naming their containers, waiting for
conditions, network rules, git tenants. One module, so no test module imports another."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.integration.conftest import Live
from tests.netns import NetHost


async def create(live: Live, body: dict[str, Any]) -> dict[str, Any]:
    response = await live.client.post("/tenants", headers=live.auth, json=body)
    assert response.status_code == 202, response.text
    return dict(response.json()["data"])


def container_of(tenant: dict[str, Any], service: str = "web") -> str:
    live_deployments = [d for d in tenant["deployments"] if d["service_name"] == service and d["status"] == "succeeded"]
    return f"staxa-{{instance}}-{tenant['name']}-{service}-{live_deployments[0]['id'][4:]}"


async def read_events(live: Live, tenant_id: str, until: str, last_event_id: int = 0) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    headers = {**live.auth, "Accept": "text/event-stream", "Last-Event-ID": str(last_event_id)}
    async with (
        asyncio.timeout(30),
        live.client.stream("GET", f"/tenants/{tenant_id}/events", headers=headers) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                found.append(json.loads(line[6:]))
                if found[-1]["type"] == until:
                    return found
    return found


def curl(host: NetHost, address: str, port: int) -> str:
    return host.run("curl", "-sS", "--max-time", "2", f"http://{address}:{port}/", timeout=10).stdout


async def until(check: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await asyncio.to_thread(check):
            return True
        await asyncio.sleep(0.2)
    return False


async def rule(live: Live, tenant: dict[str, Any], **body: Any) -> dict[str, Any]:
    response = await live.client.post(f"/tenants/{tenant['id']}/network-rules", headers=live.auth, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json()["data"])


async def inbound(
    live: Live, tenant: dict[str, Any], protocol: str, service: str, source: NetHost, **extra: Any
) -> dict[str, Any]:
    """An inbound rule that lets exactly one test host in."""
    return await rule(
        live,
        tenant,
        direction="inbound",
        protocol=protocol,
        target_service=service,
        source_cidrs=[f"{source.address}/32"],
        **extra,
    )


async def settled(live: Live, tenant_id: str, deployment_id: str) -> dict[str, Any]:
    for _ in range(600):
        response = await live.client.get(f"/tenants/{tenant_id}/deployments/{deployment_id}", headers=live.auth)
        data: dict[str, Any] = response.json()["data"]
        if data["status"] in ("succeeded", "failed", "cancelled"):
            return data
        await asyncio.sleep(0.1)
    raise AssertionError(f"deployment {deployment_id} did not finish: {data}")


def git_tenant(name: str, repo: Path) -> dict[str, Any]:
    return {"name": name, "source_type": "github", "repo_url": str(repo), "branch": "main", "port": 8080}
