"""Attacks on custom-domain claims that must fail, against a real DNS server (dnsmasq).

The host is shared by providers (the default): an A record to the server says nothing
about which tenant owns a name, and an unverified claim must not lock the owner out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from staxad.daemon import Daemon
from staxad.model.clock import FrozenClock
from tests.api.helpers import SERVER_IP, add, ask, assert_error, assert_resource, create_tenant, domain_settings, verify
from tests.conftest import Keys
from tests.dns import Dnsmasq, dnsmasq


@pytest.fixture
def dns(tmp_path: Path) -> Iterator[Dnsmasq]:
    with dnsmasq(tmp_path, "example.test", "staxa.test") as server:
        server.serve()
        yield server


@pytest.fixture
async def daemon(tmp_path: Path, clock: FrozenClock, dns: Dnsmasq) -> AsyncIterator[Daemon]:
    d = Daemon(domain_settings(tmp_path, dns.port, a_proves=False), clock=clock)
    await d.start()
    yield d
    await d.stop()


async def event_types(daemon: Daemon, tenant: dict[str, Any]) -> list[str]:
    rows = await daemon.db.fetch_all("SELECT type FROM events WHERE tenant_id = ?", (tenant["id"],))
    return [r["type"] for r in rows]


async def test_an_a_record_to_the_shared_server_proves_nothing(
    client: httpx.AsyncClient, keys: Keys, dns: Dnsmasq
) -> None:
    owner = await keys.make("owner@example.com")
    attacker = await keys.make("attacker@example.com")
    victim = await create_tenant(client, owner, "victim")
    squatter = await create_tenant(client, attacker, "squatter")
    claim = await add(client, attacker, squatter, domain="shop.example.test")
    dns.serve(a={"shop.example.test": SERVER_IP, "victim.staxa.test": SERVER_IP})
    error = assert_error(await verify(client, attacker, squatter, claim), 422, "unprocessable_entity")
    assert "does not prove which tenant" in error["message"]
    assert await ask(client, "shop.example.test") == 403
    # the owner proves it with a CNAME to its own hostname, and still can
    dns.serve(cname={"shop.example.test": "victim.staxa.test"}, a={"victim.staxa.test": SERVER_IP})
    assert_error(await verify(client, attacker, squatter, claim), 422, "unprocessable_entity")
    mine = await add(client, owner, victim, domain="shop.example.test")
    assert assert_resource(await verify(client, owner, victim, mine))["verified"] is True
    assert await ask(client, "shop.example.test") == 200


async def test_a_name_cnamed_to_another_tenant_does_not_verify_through_its_address(
    tmp_path: Path, clock: FrozenClock, dns: Dnsmasq
) -> None:
    d = Daemon(domain_settings(tmp_path / "single", dns.port, a_proves=True), clock=clock)
    await d.start()
    try:
        transport = httpx.ASGITransport(app=d.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver/api/v1") as c:
            attacker = await Keys(d).make("attacker@example.com")
            squatter = await create_tenant(c, attacker, "squatter")
            await create_tenant(c, await Keys(d).make("owner@example.com"), "victim")
            hijack = await add(c, attacker, squatter, domain="shop.example.test")
            plain = await add(c, attacker, squatter, domain="own.example.test")
            dns.serve(
                cname={"shop.example.test": "victim.staxa.test"},
                a={"victim.staxa.test": SERVER_IP, "own.example.test": SERVER_IP},
            )
            error = assert_error(await verify(c, attacker, squatter, hijack), 422, "unprocessable_entity")
            assert "CNAME to victim.staxa.test" in error["message"]
            # with the setting on, a plain A record to this server does prove it
            assert assert_resource(await verify(c, attacker, squatter, plain))["verified"] is True
    finally:
        await d.stop()


async def test_txt_and_cname_still_verify(client: httpx.AsyncClient, auth: dict[str, str], dns: Dnsmasq) -> None:
    tenant = await create_tenant(client, auth, "acme")
    by_txt = await add(client, auth, tenant, domain="txt.example.test")
    by_cname = await add(client, auth, tenant, domain="cname.example.test")
    dns.serve(
        cname={"cname.example.test": "acme.staxa.test"},
        a={"acme.staxa.test": SERVER_IP},
        txt={"_staxa-challenge.txt.example.test": by_txt["verification"]["txt_value"]},
    )
    assert assert_resource(await verify(client, auth, tenant, by_txt))["verified"] is True
    assert assert_resource(await verify(client, auth, tenant, by_cname))["verified"] is True


async def test_a_squatters_unverified_claim_neither_blocks_nor_survives_the_owner(
    client: httpx.AsyncClient, keys: Keys, dns: Dnsmasq, daemon: Daemon
) -> None:
    attacker = await keys.make("attacker@example.com")
    owner = await keys.make("owner@example.com")
    squatter = await create_tenant(client, attacker, "squatter")
    victim = await create_tenant(client, owner, "victim")
    squat = await add(client, attacker, squatter, domain="shop.example.test")
    mine = await add(client, owner, victim, domain="shop.example.test")
    dns.serve(txt={"_staxa-challenge.shop.example.test": mine["verification"]["txt_value"]})
    assert await ask(client, "shop.example.test") == 403  # claims alone approve nothing
    assert assert_resource(await verify(client, owner, victim, mine))["verified"] is True

    assert_error(await verify(client, attacker, squatter, squat), 404, "not_found")
    assert "domain.removed" in await event_types(daemon, squatter)
    listed = assert_resource(await client.get(f"/tenants/{squatter['id']}/domains", headers=attacker))
    assert listed["domains"] == []
    # a verified claim blocks new ones, from any provider
    again = await client.post(
        f"/tenants/{squatter['id']}/domains", headers=attacker, json={"domain": "shop.example.test"}
    )
    error = assert_error(again, 409, "conflict")
    assert "victim" not in error["message"]  # does not name the owner


async def test_a_stale_unverified_claim_expires(
    client: httpx.AsyncClient, auth: dict[str, str], clock: FrozenClock, daemon: Daemon
) -> None:
    tenant = await create_tenant(client, auth, "acme")
    old = await add(client, auth, tenant, domain="old.example.test")
    clock.advance(71 * 3600)
    young = await add(client, auth, tenant, domain="young.example.test")
    clock.advance(2 * 3600)
    await daemon.platform.domains.recheck_all()  # the scheduled job
    listed = assert_resource(await client.get(f"/tenants/{tenant['id']}/domains", headers=auth))["domains"]
    assert [d["id"] for d in listed] == [young["id"]]
    assert old["id"] not in [d["id"] for d in listed]
    assert "domain.expired" in await event_types(daemon, tenant)
