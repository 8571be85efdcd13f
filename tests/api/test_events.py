"""Events carry millisecond timestamps, so a deploy's stage timings can be read from them."""

from __future__ import annotations

import json
import re

import httpx

from staxad.daemon import Daemon
from staxad.model.clock import FrozenClock, parse_iso
from staxad.store import events as event_store
from tests.api.helpers import assert_resource, create_tenant

RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
RFC3339_SECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


async def test_event_timestamps_have_milliseconds(
    client: httpx.AsyncClient, auth: dict[str, str], daemon: Daemon, clock: FrozenClock
) -> None:
    tenant = await create_tenant(client, auth, "timed")
    clock.advance(0.25)
    assert_resource(await client.post(f"/tenants/{tenant['id']}/deploy", headers=auth), 202)
    clock.advance(0.5)
    async with daemon.db.transaction() as tx:  # ends the stream, as a finished delete does
        await event_store.append(tx, tenant["id"], "tenant.deleted", "gone", clock.now())
    response = await client.get(f"/tenants/{tenant['id']}/events", headers=auth)
    assert response.status_code == 200
    payloads = [json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: ")]
    stamps = [p["timestamp"] for p in payloads]
    assert all(RFC3339_MS.match(s) for s in stamps), stamps
    created = parse_iso(payloads[0]["timestamp"])
    deploy = parse_iso([p for p in payloads if p["type"] == "deployment.queued"][-1]["timestamp"])
    deleted = parse_iso(payloads[-1]["timestamp"])
    assert abs((deploy - created).total_seconds() - 0.25) < 0.002
    assert abs((deleted - deploy).total_seconds() - 0.5) < 0.002
    # other records keep the contract's whole seconds
    assert RFC3339_SECONDS.match(tenant["created_at"])


async def test_a_stream_that_names_no_start_replays_only_the_newest_events(
    client: httpx.AsyncClient, auth: dict[str, str], daemon: Daemon, clock: FrozenClock
) -> None:
    tenant = await create_tenant(client, auth, "chatty")
    async with daemon.db.transaction() as tx:
        for n in range(150):
            await event_store.append(tx, tenant["id"], "tenant.updated", f"update {n}", clock.now())
        await event_store.append(tx, tenant["id"], "tenant.deleted", "gone", clock.now())  # ends the streams

    async def streamed(**headers: str) -> list[dict[str, object]]:
        response = await client.get(f"/tenants/{tenant['id']}/events", headers={**auth, **headers})
        assert response.status_code == 200
        return [json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: ")]

    recent = await streamed()
    assert len(recent) == 100 and recent[-1]["type"] == "tenant.deleted" and recent[0]["message"] == "update 51"
    everything = await streamed(**{"Last-Event-ID": "0"})
    assert everything[0]["type"] == "tenant.created" and len(everything) > 150
    after = await client.get(f"/tenants/{tenant['id']}/events", headers=auth, params={"since": everything[-3]["id"]})
    assert after.text.count("data: ") == 2
