"""The contract's six webhook events, end to end on the real runtime: a tenant goes
ready, another fails, the first is deleted, and a real HTTPS receiver on loopback gets
each event in the contract's format."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from staxad.model.events import CONTRACT_EVENTS
from tests.conftest import offline_resolve
from tests.integration.helpers import Live, create, running_daemon
from tests.webhooks.receiver import Receiver


async def received_until(receiver: Receiver, done: Any, timeout: float = 60) -> list[dict[str, Any]]:
    for _ in range(int(timeout * 10)):
        bodies = [json.loads(r.body) for r in receiver.received]
        if done(bodies):
            return bodies
        await asyncio.sleep(0.1)
    raise AssertionError(f"the receiver got only {[b['event'] for b in bodies]}")


async def gone(live: Live, tenant_id: str, timeout: float = 60) -> None:
    for _ in range(int(timeout * 10)):
        if (await live.client.get(f"/tenants/{tenant_id}", headers=live.auth)).status_code == 404:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"tenant {tenant_id} was never deleted")


async def test_every_contract_event_reaches_a_webhook_in_the_contracts_format(
    tmp_path: Path, web_image: str, instance: str, receiver: Receiver
) -> None:
    overrides = {
        "STAXAD_WEBHOOKS_ALLOW_PRIVATE_TARGETS": "127.0.0.1",
        "STAXAD_WEBHOOKS_CA_FILE": str(receiver.cert),
    }
    async with running_daemon(tmp_path, instance, **overrides) as live:
        live.daemon.ctx.resolve_host = offline_resolve
        made = await live.client.post(
            "/webhooks", headers=live.auth, json={"url": receiver.url, "events": list(CONTRACT_EVENTS)}
        )
        assert made.status_code == 201, made.text
        good = await create(live, {"name": "hooked", "source_type": "image", "image_url": web_image, "port": 8080})
        [deployment] = (await live.wait_status(good["id"], "ready"))["deployments"]
        bad = await create(live, {"name": "hooked-bad", "source_type": "image", "image_url": "localhost/x/absent:1"})
        await live.wait_status(bad["id"], "failed")
        deleted = await live.client.delete(f"/tenants/{good['id']}", headers=live.auth)
        assert deleted.status_code == 202, deleted.text
        await gone(live, good["id"])

        def complete(bodies: list[dict[str, Any]]) -> bool:
            seen = {(b["tenant_id"], b["event"]) for b in bodies}
            return {(good["id"], "tenant.deleted"), (bad["id"], "tenant.failed")} <= seen

        bodies = await received_until(receiver, complete)

    assert {b["event"] for b in bodies} == set(CONTRACT_EVENTS)
    for body in bodies:
        assert set(body) == {"id", "event", "tenant_id", "data", "timestamp"}, body
        assert {"status", "url"} <= set(body["data"]), body
    of_good = [b for b in bodies if b["tenant_id"] == good["id"]]
    assert [(b["event"], b["data"]["status"]) for b in of_good] == [
        ("deployment.started", "building"),
        ("deployment.succeeded", "succeeded"),
        ("tenant.ready", "ready"),
        ("tenant.deleted", "deleted"),
    ]
    assert {b["data"]["url"] for b in of_good} == {good["url"]}
    for body in of_good[:2]:
        assert (body["data"]["deployment_id"], body["data"]["service"]) == (deployment["id"], "web")
    of_bad = [(b["event"], b["data"]["status"]) for b in bodies if b["tenant_id"] == bad["id"]]
    assert of_bad[:2] == [("deployment.started", "building"), ("deployment.failed", "failed")], of_bad
    assert of_bad[-1] == ("tenant.failed", "failed"), of_bad
