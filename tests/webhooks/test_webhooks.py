"""Webhooks end to end against a real HTTPS receiver on loopback: signed deliveries in
order, retries while the receiver is down, rotation, and the refusals."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path
from typing import Any

import httpx

from staxad.config import load
from staxad.daemon import Daemon
from staxad.model.clock import FrozenClock
from staxad.model.webhooks import verify
from tests.api.helpers import assert_error, assert_resource, create_tenant
from tests.conftest import Keys
from tests.served import serve, wait_api
from tests.webhooks.receiver import Receiver


async def delivered(receiver: Receiver, count: int, timeout: float = 10) -> list[dict[str, Any]]:
    for _ in range(int(timeout * 20)):
        if len(receiver.received) >= count:
            break
        await asyncio.sleep(0.05)
    return [json.loads(r.body) for r in receiver.received]


async def test_endpoints_are_validated_and_private_to_their_provider(
    client: httpx.AsyncClient, auth: dict[str, str], keys: Keys
) -> None:
    bad = {"url": "http://hooks.example.com/x", "events": ["nope.*", "tenant.ready"], "extra": True}
    error = assert_error(await client.post("/webhooks", headers=auth, json=bad), 400, "validation_error")
    assert set(error["details"]["fields"]) == {"url", "events", "extra"}
    for url in ("https://127.0.0.1/x", "https://localhost/x", "https://[::1]/x", "https://10.0.0.8/x"):
        refused = assert_error(
            await client.post("/webhooks", headers=auth, json={"url": url, "events": ["*"]}), 400, "validation_error"
        )
        assert "not a public target" in refused["details"]["fields"]["url"], url
    unresolved = await client.post("/webhooks", headers=auth, json={"url": "https://no-such.test/x", "events": ["*"]})
    assert "does not resolve" in assert_error(unresolved, 400, "validation_error")["details"]["fields"]["url"]
    listed = await client.get("/webhooks", headers=auth)
    assert listed.json()["data"] == []
    other = await keys.make("other@example.com")
    assert_error(await client.get("/webhooks/whk_000000000000", headers=other), 404, "not_found")
    narrow = await keys.make("narrow@example.com", scopes=("tenants:read",))
    assert_error(await client.get("/webhooks", headers=narrow), 403, "forbidden")


async def test_deliveries_are_signed_in_order_and_retried_until_the_receiver_answers(
    hclient: httpx.AsyncClient, hooked: Daemon, keys: Keys, receiver: Receiver, clock: FrozenClock
) -> None:
    auth = await Keys(hooked).make()
    made = assert_resource(
        await hclient.post("/webhooks", headers=auth, json={"url": receiver.url, "events": ["tenant.*", "service.*"]}),
        201,
    )
    secret = made["secret"]
    assert secret.startswith("whsec_")
    assert "secret" not in assert_resource(await hclient.get(f"/webhooks/{made['id']}", headers=auth))
    other = await Keys(hooked).make("other@example.com")
    assert_error(await hclient.get(f"/webhooks/{made['id']}", headers=other), 404, "not_found")

    tenant = await create_tenant(hclient, auth, "hooked")
    [first] = await delivered(receiver, 1)
    assert first["event"] == "tenant.created" and first["tenant_id"] == tenant["id"]
    header = receiver.received[0].headers["Staxa-Signature"]
    assert verify(secret, header, receiver.received[0].body, int(clock.time()))
    assert not verify("whsec_wrong", header, receiver.received[0].body, int(clock.time()))

    receiver.status = 503  # down: the next events wait, in order
    base = f"/tenants/{tenant['id']}"
    for action in ("stop", "start", "restart"):
        assert_resource(await hclient.post(f"{base}/services/web/{action}", headers=auth), 202)
    await asyncio.sleep(1.5)
    pending = (await hclient.get(f"/webhooks/{made['id']}/deliveries", headers=auth)).json()["data"]
    assert [d["status"] for d in pending][:3] == ["pending", "pending", "pending"]
    assert [d["attempts"] for d in pending[:2]] == [0, 0] and pending[2]["attempts"] >= 1  # only the oldest tried
    assert pending[2]["response_code"] == 503 and "503" in pending[2]["error"]

    receiver.status = 200
    clock.advance(60)
    hooked.webhooks.kick()
    kinds = [p["event"] for p in await delivered(receiver, 4)]
    assert kinds == [
        "tenant.created",
        "service.stop_requested",
        "service.start_requested",
        "service.restart_requested",
    ]
    ids = [p["id"] for p in await delivered(receiver, 4)]
    assert len(set(ids)) == 4

    rotated = assert_resource(await hclient.post(f"/webhooks/{made['id']}/rotate-secret", headers=auth))
    listing = (await hclient.get(f"/webhooks/{made['id']}/deliveries", headers=auth)).json()["data"]
    again = assert_resource(
        await hclient.post(f"/webhooks/{made['id']}/deliveries/{listing[0]['id']}/redeliver", headers=auth), 202
    )
    assert again["status"] == "pending"
    await delivered(receiver, 5)
    last = receiver.received[4]
    assert json.loads(last.body)["id"] == ids[-1]  # the same event, for the receiver to deduplicate
    signed = last.headers["Staxa-Signature"]
    assert signed.count("v1=") == 2
    assert verify(rotated["secret"], signed, last.body, int(clock.time()))
    assert verify(secret, signed, last.body, int(clock.time()))  # the old one for 24 hours
    disabled = assert_resource(await hclient.patch(f"/webhooks/{made['id']}", headers=auth, json={"enabled": False}))
    assert disabled["enabled"] is False
    assert (await hclient.delete(f"/webhooks/{made['id']}", headers=auth)).status_code == 204


async def test_a_kill_9_loses_no_delivery(tmp_path: Path, receiver: Receiver) -> None:
    """The outbox is written with the events: a daemon killed while the receiver is down
    delivers everything, in order, once both are back."""
    from staxad.cli import _create_key
    from tests.integration.helpers import free_port

    port = free_port()
    environ = {
        "STAXAD_STORE_DATA_DIR": str(tmp_path / "data"),
        "STAXAD_STORE_SYNCHRONOUS": "NORMAL",
        "STAXAD_SERVER_PORT": str(port),
        "STAXAD_RUNTIME_ENABLED": "false",
        "STAXAD_WEBHOOKS_ALLOW_PRIVATE_TARGETS": "127.0.0.1",
        "STAXAD_WEBHOOKS_CA_FILE": str(receiver.cert),
    }
    settings = load(None, environ)

    class Args:
        email, provider_name, scopes, name, mode, expires_at = "ops@example.com", None, "*", "k", "live", None

    raw = (await _create_key(settings, Args()))[-1]  # type: ignore[arg-type]
    base = f"http://127.0.0.1:{port}/api/v1"
    receiver.status = 500
    process = serve(environ, tmp_path / "staxad.log")
    try:
        await wait_api(port, process)
        async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {raw}"}, timeout=30) as c:
            made = (await c.post("/webhooks", json={"url": receiver.url, "events": ["tenant.created"]})).json()["data"]
            names = ["one", "two", "three"]
            for name in names:
                assert (
                    await c.post("/tenants", json={"name": name, "source_type": "image", "image_url": "a/b:1"})
                ).status_code == 202
            await asyncio.sleep(1.5)  # at least one attempt failed
            process.send_signal(signal.SIGKILL)
            process.wait(10)
            receiver.status = 200
            process = serve(environ, tmp_path / "staxad.log")
            await wait_api(port, process)
            # the first delivery waits out its back-off (10 s) before it is tried again
            got = await delivered(receiver, 3, timeout=30)
            created = [p["tenant_id"] for p in got if p["event"] == "tenant.created"]
            tenants = {t["name"]: t["id"] for t in (await c.get("/tenants")).json()["data"]}
            assert created[:3] == [tenants[n] for n in names]
            deliveries = (await c.get(f"/webhooks/{made['id']}/deliveries")).json()["data"]
            assert {d["status"] for d in deliveries} <= {"delivered", "pending"}
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(30)


async def test_tenant_deleted_reaches_its_providers_webhooks_with_the_contracts_data(
    hclient: httpx.AsyncClient, hooked: Daemon, receiver: Receiver
) -> None:
    auth = await Keys(hooked).make()
    other = await Keys(hooked).make("other@example.com")
    for who in (auth, other):
        body = {"url": receiver.url, "events": ["tenant.deleted", "tenant.deleting"]}
        assert_resource(await hclient.post("/webhooks", headers=who, json=body), 201)
    tenant = await create_tenant(hclient, auth, "leaving")
    assert (await hclient.delete(f"/tenants/{tenant['id']}", headers=auth)).status_code == 202
    await hooked.platform.tenants.forget(tenant["id"])  # what the reconciler does once the host is clean
    deleting, deleted = await delivered(receiver, 2)
    assert (deleting["event"], deleting["data"]["status"]) == ("tenant.deleting", "deleting")
    assert (deleted["event"], deleted["tenant_id"]) == ("tenant.deleted", tenant["id"])
    assert deleted["data"]["status"] == "deleted" and deleted["data"]["url"] == tenant["url"]
    await asyncio.sleep(0.5)
    assert len(receiver.received) == 2  # the other provider's webhook got nothing
