"""Webhooks and key modes: a test key never lists, sees, changes or deletes a live
webhook, and a tenant's events go only to webhooks of the tenant's mode.

Deliveries go to a loopback port nothing listens on (loopback is allowed as a private
target here), so the daemon's sender, which runs in these tests too, sends nothing off
this host."""

from __future__ import annotations

import json
import socket

import httpx

from staxad.daemon import Daemon
from tests.api.helpers import assert_error, assert_resource, create_tenant


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def keys_of_one_provider(daemon: Daemon) -> tuple[dict[str, str], dict[str, str]]:
    provider, _ = await daemon.platform.accounts.register("team@example.com", None)
    _, live = await daemon.platform.keys.create(provider.id, "live", "live", ["*"], None)
    _, test = await daemon.platform.keys.create(provider.id, "test", "test", ["*"], None)
    return {"Authorization": f"Bearer {live}"}, {"Authorization": f"Bearer {test}"}


async def test_test_keys_never_reach_live_webhooks(hclient: httpx.AsyncClient, hooked: Daemon) -> None:
    live, test = await keys_of_one_provider(hooked)
    body = {"url": f"http://127.0.0.1:{closed_port()}/hook", "events": ["*"]}
    made = assert_resource(await hclient.post("/webhooks", headers=live, json=body), 201)
    assert made["mode"] == "live"
    assert (await hclient.get("/webhooks", headers=test)).json()["data"] == []
    for method, path in (
        ("GET", ""),
        ("PATCH", ""),
        ("DELETE", ""),
        ("POST", "/rotate-secret"),
        ("GET", "/deliveries"),
        ("POST", "/deliveries/dlv_1/redeliver"),
    ):
        response = await hclient.request(
            method,
            f"/webhooks/{made['id']}{path}",
            headers=test,
            json={"enabled": False} if method == "PATCH" else None,
        )
        assert_error(response, 404, "not_found")
    assert assert_resource(await hclient.get(f"/webhooks/{made['id']}", headers=live))["enabled"] is True
    own = assert_resource(await hclient.post("/webhooks", headers=test, json=body), 201)
    assert own["mode"] == "test"
    assert [w["id"] for w in (await hclient.get("/webhooks", headers=test)).json()["data"]] == [own["id"]]
    every = {w["id"] for w in (await hclient.get("/webhooks", headers=live)).json()["data"]}
    assert every == {made["id"], own["id"]}  # a live key sees every one, as with keys


async def test_a_tenants_events_go_only_to_webhooks_of_its_mode(hclient: httpx.AsyncClient, hooked: Daemon) -> None:
    live, test = await keys_of_one_provider(hooked)
    body = {"url": f"http://127.0.0.1:{closed_port()}/hook", "events": ["*"]}
    live_hook = assert_resource(await hclient.post("/webhooks", headers=live, json=body), 201)
    test_hook = assert_resource(await hclient.post("/webhooks", headers=test, json=body), 201)
    live_tenant = await create_tenant(hclient, live, "liveapp")
    test_tenant = await create_tenant(hclient, test, "testapp")
    rows = await hooked.db.fetch_all("SELECT webhook_id, payload FROM deliveries")
    tenants: dict[str, set[str]] = {}
    for row in rows:
        tenants.setdefault(row["webhook_id"], set()).add(json.loads(row["payload"])["tenant_id"])
    assert tenants == {live_hook["id"]: {live_tenant["id"]}, test_hook["id"]: {test_tenant["id"]}}
