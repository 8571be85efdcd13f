"""Node ports against the real nft: a rule reaches only packets addressed to this host,
from client sources only, and one tenant's bad rule never stalls another's firewall.

Traffic goes only to this host's own addresses and to test hosts in network namespaces
made here (198.18.0.0/15)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from staxad.model.netrules import NetworkRule
from staxad.store import netrules as rule_store
from tests.api.helpers import assert_error
from tests.images import build_web_images
from tests.integration.helpers import Live, create, curl, inbound, running_daemon, until
from tests.netns import NetHost, net_host

pytestmark = pytest.mark.host


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[Live]:
    build_web_images()
    async with running_daemon(tmp_path, "t" + tmp_path.name[-8:].replace("_", "").replace("-", "")) as running:
        yield running


def curl_from_host(address: str, port: int) -> str:
    done = subprocess.run(
        ["curl", "-sS", "--max-time", "2", f"http://{address}:{port}/"], capture_output=True, text=True, check=False
    )
    return done.stdout


def serve(host: NetHost, folder: Path, port: int, text: str) -> subprocess.Popen[bytes]:
    """A web server inside the test host's namespace that answers `text`."""
    folder.mkdir(exist_ok=True)
    (folder / "index.html").write_text(text)
    return host.popen("python3", "-m", "http.server", str(port), "--bind", host.address, "--directory", str(folder))


async def widen_sources(live: Live, rule_id: str, sources: list[str]) -> None:
    """Store sources the API now refuses, as a rule made before that check would have them."""
    async with live.daemon.db.transaction() as tx:
        await tx.execute("UPDATE network_rules SET source_cidrs = ? WHERE id = ?", (json.dumps(sources), rule_id))


async def web_tenant(live: Live, name: str) -> dict[str, Any]:
    image = build_web_images()
    tenant = await create(live, {"name": name, "source_type": "image", "image_url": image, "port": 8080})
    await live.wait_status(tenant["id"], "ready")
    return tenant


async def test_local_connections_to_other_hosts_are_not_captured(live: Live, tmp_path: Path) -> None:
    tenant = await web_tenant(live, "grabber")
    with net_host() as target:
        rule = await inbound(live, tenant, "tcp", "web", target)
        port = rule["allocated_port"]
        # the host's end of the veth is the source of the host's connections to the test host
        await widen_sources(live, rule["id"], [f"{target.address}/32", f"{target.gateway}/32"])
        assert live.daemon.firewall is not None
        await live.daemon.firewall.sync()
        server = serve(target, tmp_path / "www", port, "the test host itself\n")
        try:
            assert await until(lambda: curl(target, target.gateway, port) == "hello from v1\n")
            # addressed to this host (the output chain): still forwarded to the tenant
            assert curl_from_host(target.gateway, port) == "hello from v1\n"
            # addressed to another host: reaches that host, not the tenant
            assert await until(lambda: curl_from_host(target.address, port) == "the test host itself\n")
        finally:
            server.terminate()
            server.wait(10)


async def test_sources_covering_the_host_or_non_clients_are_refused(live: Live) -> None:
    tenant = await web_tenant(live, "sources")
    url = f"/tenants/{tenant['id']}/network-rules"
    body = {"direction": "inbound", "protocol": "tcp", "target_service": "web"}
    with net_host() as target:
        for sources in (
            [f"{target.gateway}/32"],  # an address of this host (the veth end)
            [f"{target.gateway.rsplit('.', 1)[0]}.0/24"],  # a network that contains it
            ["127.0.0.0/16"],
            ["169.254.169.254/32"],
            [f"{target.address}/32", "10.0.0.0/16", "10.0.1.0/24"],  # overlapping
        ):
            response = await live.client.post(url, headers=live.auth, json={**body, "source_cidrs": sources})
            error = assert_error(response, 400, "validation_error")
            assert "source_cidrs" in error["details"]["fields"], error
        rule = await inbound(live, tenant, "tcp", "web", target)  # a client's own address is fine
        assert await until(lambda: curl(target, target.gateway, rule["allocated_port"]) == "hello from v1\n")


async def store_refused_rule(live: Live, tenant: dict[str, Any], sources: list[str], port: int) -> str:
    """A rule the API would refuse, written straight to the store (as an older staxad might have)."""
    db = live.daemon.db
    service_id = await db.fetch_value("SELECT id FROM services WHERE tenant_id = ?", (tenant["id"],))
    rule = NetworkRule(
        id="nr_overlapping",
        tenant_id=tenant["id"],
        direction="inbound",
        protocol="tcp",
        target_service_id=str(service_id),
        target_port=8080,
        allocated_port=port,
        source_cidrs=tuple(sources),
        destination_cidrs=(),
        destination_port=None,
        description=None,
        status="active",
        expires_at=None,
        created_at="2026-01-01T00:00:00Z",
    )
    async with db.transaction() as tx:
        await rule_store.insert(tx, rule)
    return rule.id


async def test_a_rule_the_kernel_refuses_never_blocks_other_tenants(live: Live) -> None:
    bad_tenant, good_tenant = await web_tenant(live, "overlaps"), await web_tenant(live, "neighbour")
    with net_host() as client:
        prefix = client.address.rsplit(".", 1)[0]
        refused = await live.client.post(
            f"/tenants/{bad_tenant['id']}/network-rules",
            headers=live.auth,
            json={
                "direction": "inbound",
                "protocol": "tcp",
                "target_service": "web",
                "source_cidrs": [f"{prefix}.0/30", f"{client.address}/32"],
            },
        )
        assert_error(refused, 400, "validation_error")
        # nft's interval map refuses these two elements, whichever transaction holds them
        bad = await store_refused_rule(live, bad_tenant, [f"{client.address}/32", f"{prefix}.0/30"], 32767)
        first = await inbound(live, good_tenant, "tcp", "web", client)
        assert await until(lambda: curl(client, client.gateway, first["allocated_port"]) == "hello from v1\n")

        url = f"/tenants/{bad_tenant['id']}/network-rules?status=failed"
        [failed] = (await live.client.get(url, headers=live.auth)).json()["data"]
        assert failed["id"] == bad and "nft refused" in failed["failure"], failed
        events = await live.daemon.db.fetch_all(
            "SELECT type FROM events WHERE tenant_id = ? AND type = 'network_rule.failed'", (bad_tenant["id"],)
        )
        assert len(events) == 1
        assert curl(client, client.gateway, 32767) == ""  # the refused rule forwards nothing

        # the neighbour's next change goes through as one transaction again
        loads = live.daemon.firewall.loads if live.daemon.firewall else 0
        second = await inbound(live, good_tenant, "tcp", "web", client)
        assert await until(lambda: curl(client, client.gateway, second["allocated_port"]) == "hello from v1\n")
        assert live.daemon.firewall is not None and live.daemon.firewall.loads > loads
        assert curl(client, client.gateway, first["allocated_port"]) == "hello from v1\n"
