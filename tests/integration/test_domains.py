"""A custom domain end to end: real DNS (dnsmasq), real Caddy with its internal CA."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

import httpx

from tests.dns import dnsmasq
from tests.integration.helpers import Live, create, running_daemon

SERVER_IP = "198.18.0.10"  # what users would point A records at; never contacted


async def fetch(live: Live, host: str) -> subprocess.CompletedProcess[str]:
    """curl in a thread: the TLS handshake makes Caddy call back into this event loop."""
    return await asyncio.to_thread(live.https, host)


async def domains_of(live: Live, tenant_id: str) -> list[dict[str, Any]]:
    response = await live.client.get(f"/tenants/{tenant_id}/domains", headers=live.auth)
    return list(response.json()["data"]["domains"])


async def test_a_verified_domain_is_served_over_https_and_delete_withdraws_it(
    tmp_path: Path, instance: str, web_image: str
) -> None:
    with dnsmasq(tmp_path, "brand.test") as dns:
        dns.serve(a={"www.brand.test": SERVER_IP})
        overrides = {
            "STAXAD_DOMAINS_NAMESERVERS": "127.0.0.1",
            "STAXAD_DOMAINS_DNS_PORT": str(dns.port),
            "STAXAD_DOMAINS_SERVER_IP": SERVER_IP,
            "STAXAD_DOMAINS_A_RECORD_PROVES_OWNERSHIP": "true",  # a single-provider host
        }
        async with running_daemon(tmp_path, instance, **overrides) as live:
            tenant = await create(live, {"name": "brand", "source_type": "image", "image_url": web_image})
            await live.wait_status(tenant["id"], "ready")
            url = f"/tenants/{tenant['id']}/domains"
            added = (await live.client.post(url, headers=live.auth, json={"domain": "www.brand.test"})).json()["data"]
            # unverified: Caddy's ask is refused, so there is no certificate to offer
            refused = await fetch(live, "www.brand.test")
            assert refused.returncode != 0 and refused.stdout.endswith("\n000"), refused

            verified = await live.client.post(f"{url}/{added['id']}/verify", headers=live.auth)
            assert verified.status_code == 200 and verified.json()["data"]["ssl_status"] == "provisioning"
            for _ in range(100):
                [state] = await domains_of(live, tenant["id"])
                if state["ssl_status"] == "active":
                    break
                await asyncio.sleep(0.1)
            assert state["ssl_status"] == "active", state
            # curl checks the certificate against Caddy's root for this very name
            assert (await fetch(live, "www.brand.test")).stdout == "hello from v1\n\n200"
            assert (await fetch(live, live.host("brand"))).stdout == "hello from v1\n\n200"

            assert (await live.client.delete(f"{url}/{added['id']}", headers=live.auth)).status_code == 204
            ask = f"http://127.0.0.1:{live.daemon.settings.server.port}/internal/tls/ask"
            async with httpx.AsyncClient() as client:
                assert (await client.get(ask, params={"domain": "www.brand.test"})).status_code == 403
            for _ in range(50):
                if (await fetch(live, "www.brand.test")).stdout.endswith("\n404"):
                    break
                await asyncio.sleep(0.1)
            assert (await fetch(live, "www.brand.test")).stdout.endswith("\n404")
            assert (await fetch(live, live.host("brand"))).stdout == "hello from v1\n\n200"
