"""Every count limit reached is a 422 `limit_exceeded` that says what is used, what the
limit is and which setting sets it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from staxad.daemon import Daemon
from staxad.model.clock import FrozenClock
from staxad.store import volumes as volume_store
from tests.api.helpers import IMAGE_TENANT, assert_error, create_tenant
from tests.conftest import Keys, make_settings, started


@pytest.fixture
async def tight(tmp_path: Path, clock: FrozenClock) -> AsyncIterator[Daemon]:
    settings = make_settings(
        tmp_path,
        STAXAD_LIMITS_SERVICES_PER_TENANT="2",
        STAXAD_LIMITS_ENV_VARS_PER_TENANT="1",
        STAXAD_LIMITS_DOMAINS_PER_TENANT="1",
        STAXAD_VOLUMES_PER_TENANT="1",
        STAXAD_WEBHOOKS_PER_PROVIDER="1",
        STAXAD_WEBHOOKS_ALLOW_PRIVATE_TARGETS="127.0.0.1",
        STAXAD_NETWORK_RULES_PER_TENANT="1",
    )
    async with started(settings, clock) as d:
        yield d


Call = Callable[[httpx.AsyncClient, dict[str, str], str], Awaitable[httpx.Response]]


def service(n: int) -> Call:
    body = {"name": f"svc{n}", **IMAGE_TENANT}
    return lambda c, auth, t: c.post(f"/tenants/{t}/services", headers=auth, json=body)


def volume(n: int) -> Call:
    body = {"name": f"v{n}", "mount_path": f"/v{n}", "service": "web", "size_mb": 64}
    return lambda c, auth, t: c.post(f"/tenants/{t}/volumes", headers=auth, json=body)


def env(n: int) -> Call:
    return lambda c, auth, t: c.put(f"/tenants/{t}/env/KEY{n}", headers=auth, json={"value": "x"})


def domain(n: int) -> Call:
    return lambda c, auth, t: c.post(f"/tenants/{t}/domains", headers=auth, json={"domain": f"d{n}.example.com"})


def webhook(n: int) -> Call:
    body = {"url": f"http://127.0.0.1:9/hook{n}", "events": ["tenant.ready"]}
    return lambda c, auth, t: c.post("/webhooks", headers=auth, json=body)


def rule(n: int) -> Call:
    body = {"direction": "inbound", "protocol": "tcp", "target_service": "web", "source_cidrs": [f"203.0.113.{n}/32"]}
    return lambda c, auth, t: c.post(f"/tenants/{t}/network-rules", headers=auth, json=body)


@pytest.mark.parametrize(
    ("make", "allowed", "setting"),
    [
        (service, 1, "limits.services_per_tenant"),  # the tenant's web is the first of 2
        (volume, 1, "volumes.per_tenant"),
        (env, 1, "limits.env_vars_per_tenant"),
        (domain, 1, "limits.domains_per_tenant"),
        (webhook, 1, "webhooks.per_provider"),
        (rule, 1, "network.rules_per_tenant"),
    ],
)
async def test_a_count_limit_reached_is_limit_exceeded_with_what_is_used(
    tight: Daemon, make: Callable[[int], Call], allowed: int, setting: str
) -> None:
    auth = await Keys(tight).make()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=tight.app), base_url="http://t/api/v1") as c:
        tenant = await create_tenant(c, auth, "tight")
        for n in range(allowed):
            assert (await make(n)(c, auth, tenant["id"])).status_code in (200, 201, 202)
        error: dict[str, Any] = assert_error(await make(allowed)(c, auth, tenant["id"]), 422, "limit_exceeded")
    assert error["details"]["setting"] == setting
    assert error["details"]["used"] == error["details"]["limit"] >= 1
    assert setting in error["message"]


async def test_tenants_stop_at_the_hosts_id_ranges_and_a_range_is_given_again_once_nothing_holds_it(
    client: httpx.AsyncClient, auth: dict[str, str], daemon: Daemon
) -> None:
    daemon.ctx.userns_slots = 2
    kept = {"name": "data", "mount_path": "/data", "size_mb": 10, "retain": True}
    first = await create_tenant(client, auth, "one", volumes=[kept])
    await create_tenant(client, auth, "two")
    third = {**IMAGE_TENANT, "name": "three"}
    refused = assert_error(await client.post("/tenants", headers=auth, json=third), 422, "limit_exceeded")
    assert refused["details"] == {"used": 2, "limit": 2, "setting": "STAXAD_TENANT_ID_RANGES of host-setup"}

    assert (await client.delete(f"/tenants/{first['id']}", headers=auth)).status_code == 202
    await daemon.platform.tenants.forget(first["id"])  # its teardown is done
    again = assert_error(await client.post("/tenants", headers=auth, json=third), 422, "limit_exceeded")
    assert again["details"]["used"] == 2  # its retained volume's files are still in its block
    [retained] = (await client.get("/volumes?retained=true", headers=auth)).json()["data"]
    assert (await client.delete(f"/volumes/{retained['id']}", headers=auth)).status_code == 204
    async with daemon.db.transaction() as tx:  # what the sweep does once the host volume is gone
        await volume_store.forget_retained(tx, retained["id"])
    made = await create_tenant(client, auth, "three")
    slots = {row["tenant_id"]: row["slot"] for row in await daemon.db.fetch_all("SELECT * FROM userns_slots")}
    assert slots[made["id"]] == 1 and len(slots) == 2  # the first tenant's block, given again


async def test_a_full_node_port_range_is_a_limit_with_what_is_used(tmp_path: Path, clock: FrozenClock) -> None:
    settings = make_settings(tmp_path, STAXAD_NETWORK_NODE_PORT_MIN="31000", STAXAD_NETWORK_NODE_PORT_MAX="31001")
    async with started(settings, clock) as daemon:
        transport = httpx.ASGITransport(app=daemon.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://staxad/api/v1") as client:
            auth = await Keys(daemon).make()
            rule = {
                "direction": "inbound",
                "protocol": "tcp",
                "target_service": "web",
                "source_cidrs": ["203.0.113.0/24"],
            }
            for name in ("one", "two"):
                tenant = await create_tenant(client, auth, name)
                made = await client.post(f"/tenants/{tenant['id']}/network-rules", headers=auth, json=rule)
                assert made.status_code == 201, made.text
            third = await create_tenant(client, auth, "three")
            full = await client.post(f"/tenants/{third['id']}/network-rules", headers=auth, json=rule)
            error = assert_error(full, 422, "limit_exceeded")
            assert error["details"] == {"used": 2, "limit": 2, "setting": "network.node_port_min/max"}
