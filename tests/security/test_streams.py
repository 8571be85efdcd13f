"""Attacks on event and log streams that must fail: opening streams without bound,
keeping a stream after the key is revoked or expired, forging SSE fields from output."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from staxad.api import sse
from staxad.daemon import Daemon
from staxad.model.clock import FrozenClock, iso
from tests.api.helpers import assert_error, create_tenant
from tests.conftest import Keys, make_settings

FORGED = b"step 1\revent: forged\rid: 999\r\ndata: injected\nstep 2\r"


@pytest.fixture
async def daemon(tmp_path: Path, clock: FrozenClock) -> AsyncIterator[Daemon]:
    settings = make_settings(tmp_path, STAXAD_LIMITS_STREAMS_PER_PROVIDER="2", STAXAD_LIMITS_STREAMS_TOTAL="3")
    d = Daemon(settings, clock=clock)
    await d.start()
    yield d
    await d.stop()


def slots(daemon: Daemon) -> sse.StreamSlots:
    found: sse.StreamSlots = daemon.app.state.stream_slots
    return found


async def until(condition: Any, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition never held")


def open_stream(client: httpx.AsyncClient, auth: dict[str, str], tenant: dict[str, Any]) -> asyncio.Task[Any]:
    # ASGITransport returns only once the stream ends: the task is an open stream until then
    return asyncio.ensure_future(client.get(f"/tenants/{tenant['id']}/events", headers=auth))


def sse_lines(body: bytes) -> list[bytes]:
    """Lines as an SSE client splits them (\\r\\n, \\r and \\n all end a line)."""
    return re.split(rb"\r\n|\r|\n", body)


async def test_streams_are_capped_per_provider_and_in_total(
    client: httpx.AsyncClient, keys: Keys, daemon: Daemon
) -> None:
    one = await keys.make("one@example.com")
    two = await keys.make("two@example.com")
    mine = await create_tenant(client, one, "mine")
    theirs = await create_tenant(client, two, "theirs")
    held = [open_stream(client, one, mine), open_stream(client, one, mine)]
    await until(lambda: slots(daemon).open == 2)
    try:
        refused = await client.get(f"/tenants/{mine['id']}/events", headers=one)
        error = assert_error(refused, 429, "rate_limited")
        assert refused.headers["Retry-After"] == str(sse.RETRY_AFTER_SECONDS) and "provider" in error["message"]
        logs = await client.get(f"/tenants/{mine['id']}/logs", headers=one, params={"follow": "true"})
        assert_error(logs, 429, "rate_limited")
        held.append(open_stream(client, two, theirs))  # another provider still may ...
        await until(lambda: slots(daemon).open == 3)
        full = await client.get(f"/tenants/{theirs['id']}/events", headers=two)  # ... until the host is full
        assert "server" in assert_error(full, 429, "rate_limited")["message"]
    finally:
        for task in held:
            task.cancel()
        await asyncio.gather(*held, return_exceptions=True)
    await until(lambda: slots(daemon).open == 0)  # every slot comes back
    assert slots(daemon).by_provider == {}


async def test_a_revoked_keys_stream_ends_within_seconds(client: httpx.AsyncClient, keys: Keys, daemon: Daemon) -> None:
    doomed = await keys.make("team@example.com")
    tenant = await create_tenant(client, doomed, "acme")
    stream = open_stream(client, doomed, tenant)
    await until(lambda: slots(daemon).open == 1)
    assert not stream.done()
    assert (await client.delete(f"/api-keys/{doomed['X-Key-Id']}", headers=doomed)).status_code == 204
    response = await asyncio.wait_for(stream, timeout=sse.KEY_RECHECK_SECONDS + 3)
    assert b"event: error" in response.content and b"unauthorized" in response.content


async def test_an_expired_keys_stream_ends(
    client: httpx.AsyncClient, keys: Keys, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sse, "KEY_RECHECK_SECONDS", 0.2)
    short = await keys.make("team@example.com", expires_at=iso(clock.now() + timedelta(minutes=5)))
    tenant = await create_tenant(client, short, "acme")
    stream = open_stream(client, short, tenant)
    await asyncio.sleep(0.5)
    assert not stream.done()
    clock.advance(600)
    response = await asyncio.wait_for(stream, timeout=3)
    assert b"expired" in response.content


async def test_output_cannot_forge_sse_fields(client: httpx.AsyncClient, auth: dict[str, str], daemon: Daemon) -> None:
    tenant = await create_tenant(client, auth, "acme")
    service_id = tenant["services"][0]["id"]
    async with daemon.db.transaction() as tx:  # a finished build whose log carries the attack
        await tx.execute(
            "INSERT INTO deployments (id, tenant_id, service_id, status, stage, created_at)"
            " VALUES ('dep_forge', ?, ?, 'failed', 'build', '2026-01-01T00:00:00Z')",
            (tenant["id"], service_id),
        )
        await tx.execute(
            "INSERT INTO events (tenant_id, type, message, created_at) VALUES (?, 'deploy.failed', ?, 'now')",
            (tenant["id"], FORGED.decode()),
        )
        await tx.execute(
            "INSERT INTO events (tenant_id, type, message, created_at) VALUES (?, 'tenant.deleted', 'gone', 'now')",
            (tenant["id"],),
        )
    log = daemon.settings.build_log("dep_forge")
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_bytes(FORGED)

    build = await client.get(
        f"/tenants/{tenant['id']}/deployments/dep_forge/logs", headers=auth, params={"follow": "1"}
    )
    events = await client.get(f"/tenants/{tenant['id']}/events", headers=auth)
    for response in (build, events):
        assert response.status_code == 200, response.text
        fields = [line.split(b":", 1)[0] for line in sse_lines(response.content) if line and not line.startswith(b":")]
        assert set(fields) <= {b"data", b"event", b"id"}
        assert not any(line.startswith((b"event: forged", b"id: 999")) for line in sse_lines(response.content))
    assert b"data: event: forged\n" in build.content and b"data: id: 999\n" in build.content
    assert build.content.endswith(b"event: end\ndata: failed\n\n")
