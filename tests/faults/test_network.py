"""Fault drill: the host never runs ahead of or behind the API for node ports. A deleted
rule's port is not handed out again until the kernel stopped forwarding it, and a 204
for a delete means the forwarding is gone."""

from __future__ import annotations

import asyncio
import random
import subprocess
from pathlib import Path

import pytest

from tests.integration.helpers import create, rule, running_daemon

pytestmark = pytest.mark.host


def table_has_port(instance: str, port: int) -> bool:
    listed = subprocess.run(["nft", "list", "table", "ip", f"staxad-{instance}"], capture_output=True, text=True)
    return f" . {port} :" in listed.stdout or f" {port} :" in listed.stdout


async def in_kernel(instance: str, port: int) -> bool:
    for _ in range(100):
        if table_has_port(instance, port):
            return True
        await asyncio.sleep(0.05)
    return False


async def test_a_node_port_is_reissued_only_after_the_kernel_dropped_it(
    tmp_path: Path, instance: str, web_image: str
) -> None:
    port = random.randint(31000, 32000)
    pool = {"STAXAD_NETWORK_NODE_PORT_MIN": str(port), "STAXAD_NETWORK_NODE_PORT_MAX": str(port)}
    async with running_daemon(tmp_path, instance, **pool) as live:
        tenant = await create(live, {"name": "ports", "source_type": "image", "image_url": web_image, "port": 8080})
        await live.wait_status(tenant["id"], "ready")
        body = {"direction": "inbound", "protocol": "tcp", "target_service": "web", "source_cidrs": ["198.18.0.0/24"]}
        first = await rule(live, tenant, **body)
        assert first["allocated_port"] == port
        assert await in_kernel(instance, port)

        # a delete answered 204 means the kernel no longer forwards
        url = f"/tenants/{tenant['id']}/network-rules"
        assert (await live.client.delete(f"{url}/{first['id']}", headers=live.auth)).status_code == 204
        assert not table_has_port(instance, port)
        second = await rule(live, tenant, **body)
        assert second["allocated_port"] == port  # free again, since it left the kernel
        assert await in_kernel(instance, port)

        # while the firewall cannot apply anything, a delete is only pending and the port stays held
        firewall = live.daemon.firewall
        assert firewall is not None
        async with firewall._lock:
            deleted = await live.client.delete(f"{url}/{second['id']}", headers=live.auth)
            assert deleted.status_code == 202
            assert table_has_port(instance, port)
            held = await live.client.post(url, headers=live.auth, json=body)
            assert held.status_code == 422, held.text  # the only port is still in the kernel
            assert held.json()["error"]["code"] == "limit_exceeded"
        for _ in range(200):
            again = await live.client.post(url, headers=live.auth, json=body)
            if again.status_code == 201:
                break
            await asyncio.sleep(0.1)
        assert again.status_code == 201 and again.json()["data"]["allocated_port"] == port
