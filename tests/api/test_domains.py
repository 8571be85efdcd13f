"""Custom domains against a real DNS server (dnsmasq on loopback), runtime disabled."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from staxad.daemon import Daemon
from staxad.model.clock import FrozenClock
from staxad.reconcile.routes import desired_routes
from tests.api.helpers import SERVER_IP, add, ask, assert_error, assert_resource, create_tenant, domain_settings, verify
from tests.conftest import Keys
from tests.dns import Dnsmasq, dnsmasq, silent_dns_server


@pytest.fixture
def dns(tmp_path: Path) -> Iterator[Dnsmasq]:
    with dnsmasq(tmp_path, "example.test", "staxa.test") as server:
        server.serve()
        yield server


@pytest.fixture
async def daemon(tmp_path: Path, clock: FrozenClock, dns: Dnsmasq) -> AsyncIterator[Daemon]:
    d = Daemon(domain_settings(tmp_path, dns.port), clock=clock)
    await d.start()
    yield d
    await d.stop()


async def test_add_list_and_delete_with_validation(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    tenant = await create_tenant(client, auth, "acme")
    added = await add(client, auth, tenant, domain="App.Example.test")
    assert added["domain"] == "app.example.test" and added["id"].startswith("dom_")
    assert (added["verified"], added["ssl_status"], added["is_primary"]) == (False, "pending", False)
    assert added["verification"]["txt_name"] == "_staxa-challenge.app.example.test"
    assert added["verification"]["txt_value"].startswith("staxa-verify=")
    assert added["verification"]["a"] == [SERVER_IP] and added["verification"]["cname"] == "acme.staxa.test"
    listed = assert_resource(await client.get(f"/tenants/{tenant['id']}/domains", headers=auth))
    assert listed["server_ip"] == SERVER_IP and [d["id"] for d in listed["domains"]] == [added["id"]]
    shown = assert_resource(await client.get(f"/tenants/{tenant['id']}", headers=auth))
    assert [d["domain"] for d in shown["domains"]] == ["app.example.test"]

    url = f"/tenants/{tenant['id']}/domains"
    for bad in ["198.51.100.1", "x.staxa.test", "staxa.test", "a..b", "-x.example.test", "x" * 300, "*.example.test"]:
        error = assert_error(await client.post(url, headers=auth, json={"domain": bad}), 400, "validation_error")
        assert "domain" in error["details"]["fields"], bad
    assert_error(await client.post(url, headers=auth, json={}), 400, "validation_error")
    assert_error(
        await client.post(url, headers=auth, json={"domain": "b.example.test", "x": 1}), 400, "validation_error"
    )
    unknown = {"domain": "c.example.test", "service_id": "nope"}
    assert_error(await client.post(url, headers=auth, json=unknown), 400, "validation_error")

    assert (await client.delete(f"{url}/{added['id']}", headers=auth)).status_code == 204
    assert_error(await client.delete(f"{url}/{added['id']}", headers=auth), 404, "not_found")
    assert_error(await verify(client, auth, tenant, added), 404, "not_found")


async def test_an_unverified_claim_blocks_only_its_own_tenant(
    client: httpx.AsyncClient, auth: dict[str, str], keys: Keys
) -> None:
    one = await create_tenant(client, auth, "first")
    await add(client, auth, one, domain="shop.example.test")
    other_auth = await keys.make("other@example.com")
    two = await create_tenant(client, other_auth, "second")
    body = {"domain": "SHOP.example.test."}
    assert_resource(await client.post(f"/tenants/{two['id']}/domains", headers=other_auth, json=body), 201)
    assert_error(await client.post(f"/tenants/{one['id']}/domains", headers=auth, json=body), 409, "conflict")


async def test_internal_services_get_no_domain_and_scopes_apply(
    client: httpx.AsyncClient, auth: dict[str, str], keys: Keys
) -> None:
    tenant = await create_tenant(client, auth, "multi")
    service = {"name": "db", "source_type": "image", "image_url": "localhost/db:1", "port": 5432}
    assert_resource(await client.post(f"/tenants/{tenant['id']}/services", headers=auth, json=service), 202)
    body = {"domain": "db.example.test", "service_id": "db"}
    assert_error(
        await client.post(f"/tenants/{tenant['id']}/domains", headers=auth, json=body), 422, "unprocessable_entity"
    )
    reader = await keys.make("reader@example.com", scopes=("tenants:read", "tenants:write"))
    mine = await create_tenant(client, reader, "readers")
    denied = await client.post(f"/tenants/{mine['id']}/domains", headers=reader, json={"domain": "r.example.test"})
    assert_error(denied, 403, "forbidden")


async def test_every_verification_path_against_real_dns(
    client: httpx.AsyncClient, auth: dict[str, str], dns: Dnsmasq, daemon: Daemon
) -> None:
    tenant = await create_tenant(client, auth, "acme")
    names = ["a", "cname", "txt", "wrong-ip", "no-record", "missing", "wrong-cname", "wrong-token"]
    doms = {n: await add(client, auth, tenant, domain=f"{n}.example.test") for n in names}
    dns.serve(
        a={
            "a.example.test": SERVER_IP,
            "wrong-ip.example.test": "198.18.0.99",
            "elsewhere.example.test": "198.18.0.99",
            "acme.staxa.test": SERVER_IP,
        },
        cname={"cname.example.test": "acme.staxa.test", "wrong-cname.example.test": "elsewhere.example.test"},
        txt={
            "_staxa-challenge.txt.example.test": doms["txt"]["verification"]["txt_value"],
            "_staxa-challenge.wrong-token.example.test": "staxa-verify=0000",
            "no-record.example.test": "unrelated",
        },
    )
    for name in ("a", "cname", "txt"):
        response = await verify(client, auth, tenant, doms[name])
        data = assert_resource(response)
        assert (data["verified"], data["ssl_status"]) == (True, "provisioning"), name
        assert data["check_error"] is None and data["last_checked_at"]

    failures = {
        "wrong-ip": "points at 198.18.0.99",
        "no-record": "No record proves ownership",
        "missing": "does not exist in DNS",
        "wrong-cname": "CNAME to elsewhere.example.test",
        "wrong-token": "No record proves ownership",
    }
    for name, says in failures.items():
        error = assert_error(await verify(client, auth, tenant, doms[name]), 422, "unprocessable_entity")
        assert says in error["message"], (name, error)
        assert set(error["details"]) == {"found", "expected"}
        assert error["details"]["expected"][f"A/AAAA {name}.example.test"] == SERVER_IP
    wrong = assert_error(await verify(client, auth, tenant, doms["wrong-ip"]), 422, "unprocessable_entity")
    assert wrong["details"]["found"]["A wrong-ip.example.test"] == "198.18.0.99"

    listed = assert_resource(await client.get(f"/tenants/{tenant['id']}/domains", headers=auth))["domains"]
    assert {d["domain"].split(".")[0] for d in listed if d["verified"]} == {"a", "cname", "txt"}
    assert next(d for d in listed if d["domain"] == "wrong-ip.example.test")["check_error"]

    events = await daemon.db.fetch_all("SELECT type FROM events WHERE tenant_id = ?", (tenant["id"],))
    assert sum(e["type"] == "domain.verified" for e in events) == 3


async def test_a_dns_server_that_does_not_answer_is_a_clear_retryable_error(
    tmp_path: Path, clock: FrozenClock, keys: Keys
) -> None:
    with silent_dns_server() as port:
        d = Daemon(domain_settings(tmp_path / "silent", port), clock=clock)
        await d.start()
        try:
            transport = httpx.ASGITransport(app=d.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver/api/v1") as c:
                auth = await Keys(d).make()
                tenant = await create_tenant(c, auth, "slow")
                dom = await add(c, auth, tenant, domain="slow.example.test")
                error = assert_error(await verify(c, auth, tenant, dom), 422, "unprocessable_entity")
                assert "DNS did not answer" in error["message"]
                assert error["details"]["found"]["A slow.example.test"] == "no answer in time"
        finally:
            await d.stop()


async def test_approval_routes_primary_url_recheck_and_delete(
    client: httpx.AsyncClient, auth: dict[str, str], dns: Dnsmasq, daemon: Daemon
) -> None:
    tenant = await create_tenant(client, auth, "acme")
    first = await add(client, auth, tenant, domain="www.example.test", is_primary=True)
    second = await add(client, auth, tenant, domain="shop.example.test", is_primary=True)
    listed = assert_resource(await client.get(f"/tenants/{tenant['id']}/domains", headers=auth))["domains"]
    assert {d["domain"]: d["is_primary"] for d in listed} == {"www.example.test": False, "shop.example.test": True}
    assert await ask(client, "shop.example.test") == 403  # unverified: no certificate

    dns.serve(a={"shop.example.test": SERVER_IP, "www.example.test": SERVER_IP})
    assert_resource(await verify(client, auth, tenant, second))
    assert_resource(await verify(client, auth, tenant, first))
    assert await ask(client, "shop.example.test") == 200
    shown = assert_resource(await client.get(f"/tenants/{tenant['id']}", headers=auth))
    assert shown["url"].startswith("https://shop.example.test")

    # DNS moves away: the scheduled re-check withdraws the approval, keeps the route
    dns.serve(a={"shop.example.test": "198.18.0.99", "www.example.test": SERVER_IP})
    results = await daemon.platform.domains.recheck_all()
    assert {d.domain: v.verified for d, v in results} == {"shop.example.test": False, "www.example.test": True}
    assert await ask(client, "shop.example.test") == 403 and await ask(client, "www.example.test") == 200
    lost = assert_resource(await client.get(f"/tenants/{tenant['id']}/domains", headers=auth))["domains"]
    shop = next(d for d in lost if d["domain"] == "shop.example.test")
    assert not shop["verified"] and "198.18.0.99" in shop["check_error"]
    events = await daemon.db.fetch_all("SELECT type FROM events WHERE tenant_id = ?", (tenant["id"],))
    assert "domain.verification_lost" in [e["type"] for e in events]

    # the check ran while DNS answered nothing: not a reason to withdraw anything
    dns.stop()
    assert {d.domain: v.inconclusive for d, v in await daemon.platform.domains.recheck_all()} == {
        "www.example.test": True
    }
    assert await ask(client, "www.example.test") == 200

    assert (await client.delete(f"/tenants/{tenant['id']}/domains/{first['id']}", headers=auth)).status_code == 204
    assert await ask(client, "www.example.test") == 403


async def test_verified_domains_join_their_service_route(
    client: httpx.AsyncClient, auth: dict[str, str], dns: Dnsmasq, daemon: Daemon
) -> None:
    tenant = await create_tenant(client, auth, "acme")
    dom = await add(client, auth, tenant, domain="app.example.test")
    dns.serve(a={"app.example.test": SERVER_IP})
    assert_resource(await verify(client, auth, tenant, dom))
    service_id = tenant["services"][0]["id"]
    async with daemon.db.transaction() as tx:  # what a succeeded deployment leaves behind
        await tx.execute(
            "INSERT INTO deployments (id, tenant_id, service_id, status, stage, host_port, created_at)"
            " VALUES ('dep_x', ?, ?, 'succeeded', 'ready', 40000, '2026-01-01T00:00:00Z')",
            (tenant["id"], service_id),
        )
        await tx.execute("UPDATE services SET live_deployment_id = 'dep_x' WHERE id = ?", (service_id,))
    [route] = await desired_routes(daemon.db, daemon.settings)
    assert route.hosts == ("acme.staxa.test", "app.example.test") and route.upstream_port == 40000


async def test_ask_answers_a_flood_of_unknown_names_from_memory(
    client: httpx.AsyncClient, auth: dict[str, str], daemon: Daemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    from staxad.store import host as host_store

    reads: list[int] = []
    servable = host_store.servable

    async def counted(db: Any) -> Any:
        reads.append(1)
        return await servable(db)

    monkeypatch.setattr(host_store, "servable", counted)
    base = daemon.settings.domains.base_domain
    await create_tenant(client, auth, "flooded")
    assert await ask(client, f"flooded.{base}") == 200
    assert [await ask(client, f"x{n}.{base}") for n in range(200)] == [403] * 200
    assert await ask(client, f"web--flooded.{base}") == 403  # the primary answers at flooded.<base> only
    assert len(reads) == 1
    await create_tenant(client, auth, "later")  # a commit: read once more
    assert await ask(client, f"later.{base}") == 200 and len(reads) == 2
