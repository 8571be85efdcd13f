"""Network rules for real: nft in the host namespace and in the rootless network
namespace, checked from test hosts in network namespaces of the test's own (veth pairs,
198.18.0.0/15). Nothing else is ever contacted."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.images import SERVICE_USER, build_udp_image, podman
from tests.integration.helpers import Live, container_of, create, curl, inbound, read_events, rule, until
from tests.netns import NetHost, net_host


def nft_table_gone(live: Live, where: str) -> None:
    """Lose staxad's table the way a flush would, without touching anything else."""
    table = f"staxad-{live.daemon.settings.instance}"
    prefix = [] if where == "host" else ["runuser", "-u", SERVICE_USER, "--", "podman", "unshare", "--rootless-netns"]
    subprocess.run([*prefix, "nft", "delete", "table", "ip", table], check=True, capture_output=True, cwd="/")


async def test_inbound_node_ports_from_allowed_sources_only(live: Live, web_image: str) -> None:
    tenant = await create(live, {"name": "db", "source_type": "image", "image_url": web_image, "port": 8080})
    ready = await live.wait_status(tenant["id"], "ready")
    name = container_of(ready).format(instance=live.daemon.settings.instance)
    published = int(podman("port", name, "8080/tcp").stdout.decode().strip().rsplit(":", 1)[1])
    with net_host() as allowed, net_host() as other:
        opened = await inbound(live, tenant, "tcp", "web", allowed)
        port = opened["allocated_port"]
        assert 30000 <= port <= 32767 and opened["connection_string"].endswith(f":{port}")
        assert await until(lambda: curl(allowed, allowed.gateway, port) == "hello from v1\n")
        assert curl(other, other.gateway, port) == ""  # not an allowed source
        assert curl(allowed, allowed.gateway, published) == ""  # the published port stays on loopback
        assert curl(allowed, "127.0.0.1", published) == ""  # and loopback is not routable from outside

        nft_table_gone(live, "host")  # as after `nft flush ruleset`
        assert await until(lambda: curl(allowed, allowed.gateway, port) == "hello from v1\n")

        deleted = await live.client.delete(f"/tenants/{tenant['id']}/network-rules/{opened['id']}", headers=live.auth)
        assert deleted.status_code == 204
        assert curl(allowed, allowed.gateway, port) == ""  # the 204 came once the kernel let go
        events = await read_events(live, tenant["id"], "network_rule.removed")
        assert [e["type"] for e in events][-2:] == ["network_rule.deleted", "network_rule.removed"]
        assert opened["id"] in events[-1]["message"]

        expiring = await inbound(live, tenant, "tcp", "web", allowed, ttl_hours=1)
        assert expiring["allocated_port"] == port  # released at once, so handed out again
        assert await until(lambda: curl(allowed, allowed.gateway, port) == "hello from v1\n")
        async with live.daemon.db.transaction() as tx:  # an hour passes
            await tx.execute(
                "UPDATE network_rules SET expires_at = '2000-01-01T00:00:00Z' WHERE id = ?", (expiring["id"],)
            )
        assert await until(lambda: curl(allowed, allowed.gateway, port) == "")
        listed = await live.client.get(f"/tenants/{tenant['id']}/network-rules?status=expired", headers=live.auth)
        assert [r["id"] for r in listed.json()["data"]] == [expiring["id"]]
        assert live.daemon.firewall is not None
        live.daemon.firewall.forget()  # an expired rule never comes back, not even on a full reload
        await live.daemon.firewall.sync(verify=True)
        assert curl(allowed, allowed.gateway, port) == ""


def fetch_from(container: str, host: NetHost) -> str:
    request = f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {host.address} 8000"
    return podman("exec", container, "sh", "-c", request, check=False).stdout.decode(errors="replace")


@contextlib.asynccontextmanager
async def reached_while_open(
    live: Live, name: str, web_image: str
) -> AsyncIterator[tuple[dict[str, Any], str, NetHost]]:
    """A tenant, its container, and a test host serving HTTP on port 8000 that the
    container has reached while egress was open: a block after that is the rules' doing."""
    tenant = await create(live, {"name": name, "source_type": "image", "image_url": web_image, "port": 8080})
    ready = await live.wait_status(tenant["id"], "ready")
    container = container_of(ready).format(instance=live.daemon.settings.instance)
    with net_host() as target:
        server = target.popen("python3", "-m", "http.server", "8000", "--bind", target.address)
        try:
            assert await until(lambda: "200" in fetch_from(container, target).split("\n", 1)[0])
            yield tenant, container, target
        finally:
            server.terminate()
            server.wait(10)


async def test_restricted_egress_blocks_all_but_its_outbound_rules(live: Live, web_image: str) -> None:
    async with reached_while_open(live, "closed", web_image) as (tenant, container, target):
        url = f"/tenants/{tenant['id']}"
        body = {
            "direction": "outbound",
            "protocol": "tcp",
            "destination_cidrs": [f"{target.address}/32"],
            "destination_port": 8000,
        }
        refused = await live.client.post(f"{url}/network-rules", headers=live.auth, json=body)
        assert refused.status_code == 422 and "restricted" in refused.json()["error"]["message"]

        assert (await live.client.patch(url, headers=live.auth, json={"egress_mode": "restricted"})).status_code == 200
        assert await until(lambda: fetch_from(container, target) == "")
        # name resolution (aardvark on the tenant's bridge) still works while restricted
        looked_up = podman("exec", container, "nslookup", "web", check=False)
        assert looked_up.returncode == 0 and b"Address" in looked_up.stdout, looked_up
        outbound = await rule(live, tenant, **body)
        assert await until(lambda: "200" in fetch_from(container, target).split("\n", 1)[0])

        await live.client.delete(f"{url}/network-rules/{outbound['id']}", headers=live.auth)
        assert await until(lambda: fetch_from(container, target) == "")
        assert live.daemon.firewall is not None
        loads = live.daemon.firewall.loads
        nft_table_gone(live, "netns")  # as when the rootless namespace is made anew
        assert await until(lambda: live.daemon.firewall.loads > loads)  # the reconciler put it back
        assert await until(lambda: fetch_from(container, target) == "")
        assert (await live.client.patch(url, headers=live.auth, json={"egress_mode": "open"})).status_code == 200
        assert await until(lambda: "200" in fetch_from(container, target).split("\n", 1)[0])


def started_at(container: str) -> str:
    """When the container last started, or "" while it is not running."""
    out = podman("inspect", "--format", "{{.State.Running}} {{.State.StartedAt}}", container, check=False)
    running, _, when = out.stdout.decode().strip().partition(" ")
    return when if running == "true" else ""


async def test_restricted_egress_holds_when_the_namespace_would_be_new(
    live_without_sweep: Live, web_image: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """podman makes the rootless namespace anew when its last container stops, and
    staxad's egress table is in it: a restricted tenant alone on the host that crashes
    its app must not come back with open egress. The network anchor holds the namespace;
    killed, it is started again, and a restricted tenant's container that starts first
    makes sure of it. No periodic pass here: it would reload the table."""
    live = live_without_sweep
    anchor = f"staxa-{live.daemon.settings.instance}--anchor"
    assert started_at(anchor)
    async with reached_while_open(live, "alone", web_image) as (tenant, container, target):
        url = f"/tenants/{tenant['id']}"
        patched = await live.client.patch(url, headers=live.auth, json={"egress_mode": "restricted"})
        assert patched.status_code == 200
        assert await until(lambda: fetch_from(container, target) == "")

        for victim in (container, anchor):  # the app crashes; someone kills the anchor
            before = started_at(victim)
            podman("kill", victim)
            assert await until(lambda v=victim, b=before: started_at(v) not in ("", b)), f"{victim} not restarted"
            assert fetch_from(container, target) == "", f"egress open after {victim} was killed"

        # the anchor killed and, before its own repair, the app: the app's repair finds the
        # namespace gone and makes the anchor and the table first (fails closed)
        monkeypatch.setattr(live.daemon, "_repair_anchor", lambda: None)
        podman("kill", anchor)
        before = started_at(container)
        podman("kill", container)
        assert await until(lambda: started_at(container) not in ("", before)), "the app was not restarted"
        assert fetch_from(container, target) == "", "egress open after the anchor and the app were killed"
        assert started_at(anchor)


def ask_dns(host: NetHost, port: int) -> str:
    """A DNS query over UDP from the test host, with dnspython from the project's venv."""
    code = (
        "import dns.message, dns.query, sys\n"
        "q = dns.message.make_query('x.udp.test', 'A')\n"
        f"print(dns.query.udp(q, '{host.gateway}', port={port}, timeout=2).answer[0][0])\n"
    )
    return host.run(sys.executable, "-c", code, timeout=10).stdout.strip()


async def test_udp_node_port(live: Live) -> None:
    image = build_udp_image()
    body = {
        "name": "resolver",
        "services": [{"name": "dns", "source_type": "image", "image_url": image, "port": 8053, "is_routable": False}],
    }
    tenant = await create(live, body)
    ready = await live.wait_status(tenant["id"], "ready")
    first = container_of(ready, "dns").format(instance=live.daemon.settings.instance)
    assert podman("port", first, "8053/udp", check=False).returncode != 0  # no UDP rule, no UDP port
    with net_host() as allowed, net_host() as other:
        udp = await inbound(live, tenant, "udp", "dns", allowed)
        port = udp["allocated_port"]
        assert await until(lambda: ask_dns(allowed, port) == "198.18.0.7")  # a new deployment publishes it
        assert ask_dns(other, port) == ""
        history = (await live.client.get(f"/tenants/{tenant['id']}/deployments", headers=live.auth)).json()["data"]
        assert [d["status"] for d in history] == ["succeeded", "succeeded"], history
