"""Network rules through the API, runtime disabled: validation, allocation, limits, TTL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from staxad.daemon import Daemon
from staxad.model.clock import FrozenClock
from staxad.store import netrules as netrule_store
from tests.api.helpers import assert_error, assert_resource, create_tenant
from tests.conftest import Keys, make_settings, started

INBOUND = {"direction": "inbound", "protocol": "tcp", "target_service": "web", "source_cidrs": ["203.0.113.0/24"]}
OUTBOUND = {
    "direction": "outbound",
    "protocol": "tcp",
    "destination_cidrs": ["198.51.100.0/24"],
    "destination_port": 443,
}


@pytest.fixture
async def daemon(tmp_path: Path, clock: FrozenClock) -> AsyncIterator[Daemon]:
    settings = make_settings(
        tmp_path,
        STAXAD_NETWORK_NODE_PORT_MIN="30000",
        STAXAD_NETWORK_NODE_PORT_MAX="30002",
        STAXAD_NETWORK_RULES_PER_TENANT="3",
        STAXAD_NETWORK_MAX_CIDRS="2",
        STAXAD_DOMAINS_SERVER_IP="198.18.0.10",
    )
    async with started(settings, clock) as d:
        yield d


async def post(client: httpx.AsyncClient, auth: dict[str, str], tenant: dict[str, Any], body: Any) -> httpx.Response:
    return await client.post(f"/tenants/{tenant['id']}/network-rules", headers=auth, json=body)


async def test_inbound_allocation_listing_and_release(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    tenant = await create_tenant(client, auth, "ports", port=5432)
    first = assert_resource(await post(client, auth, tenant, {**INBOUND, "description": "office"}), 201)
    assert first["id"].startswith("nr_") and first["allocated_port"] == 30000 and first["status"] == "active"
    assert first["connection_string"] == "198.18.0.10:30000" and first["target_port"] == 5432
    udp = assert_resource(await post(client, auth, tenant, {**INBOUND, "protocol": "udp"}), 201)
    assert udp["allocated_port"] == 30000  # separate pools per protocol
    listed = assert_resource(await client.get(f"/tenants/{tenant['id']}/network-rules", headers=auth))
    assert [r["id"] for r in listed] == [first["id"], udp["id"]]
    only_udp = await client.get(f"/tenants/{tenant['id']}/network-rules?direction=outbound", headers=auth)
    assert assert_resource(only_udp) == []
    url = f"/tenants/{tenant['id']}/network-rules/{first['id']}"
    assert (await client.delete(url, headers=auth)).status_code == 204
    assert_error(await client.delete(url, headers=auth), 404, "not_found")
    again = assert_resource(await post(client, auth, tenant, INBOUND), 201)
    assert again["allocated_port"] == 30000  # released at once
    deleted = await client.get(f"/tenants/{tenant['id']}/network-rules?status=deleted", headers=auth)
    assert [r["id"] for r in assert_resource(deleted)] == [first["id"]]
    bad_query = await client.get(f"/tenants/{tenant['id']}/network-rules?status=gone", headers=auth)
    assert_error(bad_query, 400, "validation_error")


async def test_validation_errors(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    tenant = await create_tenant(client, auth, "checks")
    bad = [
        {**INBOUND, "source_cidrs": ["203.0.113.0/33"]},
        {**INBOUND, "source_cidrs": ["203.0.113.7/24"]},  # host bits set
        {**INBOUND, "source_cidrs": ["10.0.0.0/8"]},  # wider than /16
        {**INBOUND, "source_cidrs": ["127.0.0.1/32"]},  # loopback
        {**INBOUND, "source_cidrs": ["198.18.0.10/32"]},  # the server's own (public) address
        {**INBOUND, "source_cidrs": ["169.254.0.0/16"]},  # link-local
        {**INBOUND, "source_cidrs": ["10.0.0.0/16", "10.0.1.0/24"]},  # overlapping
        {**OUTBOUND, "destination_cidrs": ["0.0.0.0/0"]},  # wider than /8
        {**INBOUND, "source_cidrs": ["1.0.0.0/24", "2.0.0.0/24", "3.0.0.0/24"]},  # more than max_cidrs
        {**INBOUND, "source_cidrs": ["2001:db8::/32"]},
        {**INBOUND, "source_cidrs": []},
        {**INBOUND, "source_cidrs": "203.0.113.0/24"},
        {**INBOUND, "protocol": "icmp"},
        {**INBOUND, "direction": "sideways"},
        {**INBOUND, "target_service": "nope"},
        {**INBOUND, "destination_port": 80},
        {**INBOUND, "ttl_hours": 0},
        {**OUTBOUND, "destination_port": 70000},
        {**OUTBOUND, "source_cidrs": ["203.0.113.0/24"]},
        {"direction": "inbound"},
        ["not", "an", "object"],
    ]
    for body in bad:
        assert_error(await post(client, auth, tenant, body), 400, "validation_error")
    assert_error(await post(client, auth, tenant, {**INBOUND, "target_port": 9999}), 422, "unprocessable_entity")
    error = assert_error(await post(client, auth, tenant, OUTBOUND), 422, "unprocessable_entity")
    assert "restricted" in error["message"]


async def test_pool_exhaustion_rule_limit_and_outbound(
    client: httpx.AsyncClient, auth: dict[str, str], daemon: Daemon, clock: FrozenClock
) -> None:
    one = await create_tenant(client, auth, "one")
    two = await create_tenant(client, auth, "two", egress_mode="restricted")
    for _ in range(3):
        assert_resource(await post(client, auth, one, INBOUND), 201)
    assert_error(await post(client, auth, one, {**INBOUND, "protocol": "udp"}), 422, "limit_exceeded")
    exhausted = assert_error(await post(client, auth, two, INBOUND), 422, "limit_exceeded")
    assert "30000-30002" in exhausted["message"] and exhausted["details"]["used"] == 3
    contract_example = {**OUTBOUND, "destination_cidrs": ["10.0.0.0/8"], "ttl_hours": 2}  # the contract's own
    out = assert_resource(await post(client, auth, two, contract_example), 201)
    assert out["allocated_port"] is None and out["connection_string"] is None and out["expires_at"]

    clock.advance(2 * 3600 + 1)
    expired = await daemon.platform.netrules.expire_due()
    assert [r.id for r in expired] == [out["id"]]
    assert assert_resource(await client.get(f"/tenants/{two['id']}/network-rules", headers=auth)) == []
    gone = await client.get(f"/tenants/{two['id']}/network-rules?status=expired", headers=auth)
    assert [r["status"] for r in assert_resource(gone)] == ["expired"]
    assert await daemon.platform.netrules.expire_due() == []


async def test_get_one_rule_and_never_another_providers(
    client: httpx.AsyncClient, auth: dict[str, str], keys: Keys
) -> None:
    tenant = await create_tenant(client, auth, "ports", port=5432)
    created = assert_resource(await post(client, auth, tenant, INBOUND), 201)
    url = f"/tenants/{tenant['id']}/network-rules/{created['id']}"
    got = assert_resource(await client.get(url, headers=auth))
    assert got == created
    assert got["source_cidrs"] == ["203.0.113.0/24"] and got["connection_string"] == "198.18.0.10:30000"
    reader = await keys.make(scopes=("tenants:read",))
    assert assert_resource(await client.get(url, headers=reader))["id"] == created["id"]
    other = await keys.make("other@example.com")
    theirs = await create_tenant(client, other, "theirs", port=5432)
    their_rule = assert_resource(await post(client, other, theirs, INBOUND), 201)
    assert_error(await client.get(url, headers=other), 404, "not_found")  # another provider's tenant
    assert_error(  # another provider's rule, asked for under our own tenant
        await client.get(f"/tenants/{tenant['id']}/network-rules/{their_rule['id']}", headers=auth), 404, "not_found"
    )
    assert_error(await client.get(f"/tenants/{tenant['id']}/network-rules/nr_nope", headers=auth), 404, "not_found")
    assert (await client.delete(url, headers=auth)).status_code == 204
    assert assert_resource(await client.get(url, headers=auth))["status"] == "deleted"


async def test_the_services_inbound_udp_rules_target_are_what_publishes_udp(
    daemon: Daemon, client: httpx.AsyncClient, auth: dict[str, str], clock: FrozenClock
) -> None:
    """Each with its newest active UDP rule's time: the plan deploys a service's live
    version again, once per such time, when its container lacks the UDP port."""
    tenant = await create_tenant(client, auth, "udp", port=5353)
    service_id = tenant["services"][0]["id"]
    assert await netrule_store.udp_targets(daemon.db, tenant["id"]) == {}
    assert_resource(await post(client, auth, tenant, INBOUND), 201)  # TCP: not counted
    first = assert_resource(await post(client, auth, tenant, {**INBOUND, "protocol": "udp"}), 201)
    clock.advance(60)
    second = {**INBOUND, "protocol": "udp", "source_cidrs": ["198.51.100.0/24"]}
    newer = assert_resource(await post(client, auth, tenant, second), 201)
    rules = {r.id: r for r in await netrule_store.for_tenant(daemon.db, tenant["id"])}
    made = rules[newer["id"]].created_at
    assert made > rules[first["id"]].created_at
    assert await netrule_store.udp_targets(daemon.db, tenant["id"]) == {service_id: made}
    url = f"/tenants/{tenant['id']}/network-rules"
    assert (await client.delete(f"{url}/{newer['id']}", headers=auth)).status_code == 204
    assert await netrule_store.udp_targets(daemon.db, tenant["id"]) == {service_id: rules[first["id"]].created_at}
    assert (await client.delete(f"{url}/{first['id']}", headers=auth)).status_code == 204
    assert await netrule_store.udp_targets(daemon.db, tenant["id"]) == {}
