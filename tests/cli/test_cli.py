"""The staxa CLI against a real staxad API served on loopback (runtime off): profiles,
tenants, env, domains, errors, --json, and a deploy followed to ready or failed."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from staxad.client.cli import run
from staxad.daemon import Daemon
from staxad.model.clock import FrozenClock
from staxad.store import deployments as deployment_store
from staxad.store import events as event_store
from staxad.store import tenants as tenant_store
from tests.conftest import Keys, make_settings, offline_resolve
from tests.integration.helpers import free_port


@pytest.fixture
async def served(tmp_path: Path, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Daemon]:
    port = free_port()
    daemon = Daemon(make_settings(tmp_path / "d", STAXAD_SERVER_PORT=str(port)), clock=clock)
    daemon.ctx.resolve_host = offline_resolve
    server = uvicorn.Server(uvicorn.Config(daemon.app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    key = (await Keys(daemon).make())["Authorization"].removeprefix("Bearer ")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("STAXA_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("STAXA_API_KEY", key)
    yield daemon
    server.should_exit = True
    await task


async def staxa(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = await asyncio.to_thread(run, list(args))
    out, err = capsys.readouterr()
    return code, out, err


async def test_login_writes_a_private_profile(
    served: Daemon, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"http://127.0.0.1:{served.settings.server.port}"
    code, out, _ = await staxa(capsys, "login", "--url", url)
    assert code == 0 and "profile 'default' saved" in out
    saved = tmp_path / "config" / "staxa" / "config.toml"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600 and url in saved.read_text()
    monkeypatch.delenv("STAXA_URL")
    monkeypatch.delenv("STAXA_API_KEY")  # from now on, the profile alone
    code, out, _ = await staxa(capsys, "--json", "tenants", "list")
    assert code == 0 and json.loads(out) == []


async def test_tenants_env_domains_and_errors(served: Daemon, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = await staxa(
        capsys, "--json", "tenants", "create", "shop", "--image", "localhost/app:1", "--port", "8080"
    )
    assert code == 0
    tenant: dict[str, Any] = json.loads(out)
    code, out, _ = await staxa(capsys, "tenants", "list")
    assert code == 0 and "shop" in out
    code, out, _ = await staxa(capsys, "tenants", "show", tenant["id"])
    assert code == 0 and "web" in out

    assert (await staxa(capsys, "env", "set", tenant["id"], "MODE=prod", "API_TOKEN=s3cret"))[0] == 0
    code, out, _ = await staxa(capsys, "--json", "env", "list", tenant["id"])
    assert json.loads(out) == [{"key": "API_TOKEN", "value": "****"}, {"key": "MODE", "value": "prod"}]
    assert (await staxa(capsys, "env", "unset", tenant["id"], "MODE"))[0] == 0

    code, out, _ = await staxa(capsys, "domains", "add", tenant["id"], "shop.example.com")
    assert code == 0 and "create TXT _staxa-challenge.shop.example.com" in out

    code, _, err = await staxa(capsys, "tenants", "create", "Bad_Name", "--image", "x/y:1", "--port", "0")
    assert code == 2 and "error (400)" in err and "name:" in err and "port:" in err
    code, _, err = await staxa(capsys, "tenants", "show", "ten_nope")
    assert code == 2 and "not found" in err.lower()
    code, out, _ = await staxa(capsys, "--json", "keys", "list")
    assert code == 0 and len(json.loads(out)) == 1
    code, _, err = await staxa(capsys, "tenants", "delete", "--yes", tenant["id"])
    assert code == 0, err


async def _drive(daemon: Daemon, tenant_id: str, outcome: str, before: set[str]) -> None:
    """What the deploy pipeline would write, once the CLI's deploy is queued."""
    queued: list[Any] = []
    for _ in range(200):
        found = await deployment_store.with_status(daemon.db, tenant_id, ("queued",))
        queued = [d for d in found if d.id not in before]
        if queued:
            break
        await asyncio.sleep(0.05)
    [d] = queued
    now = daemon.ctx.clock.now()
    async with daemon.db.transaction() as tx:
        for stage in ("provision", "build", "deploy", "route", "health"):
            await event_store.append(
                tx,
                tenant_id,
                "deployment.stage",
                f"{stage} web",
                now,
                stage=stage,
                deployment_id=d.id,
                service_name="web",
            )
        await tenant_store.update(tx, tenant_id, daemon.ctx.now(), status=outcome)
        await event_store.append(tx, tenant_id, f"tenant.{outcome}", f"Tenant is {outcome}", now)


@pytest.mark.parametrize(("outcome", "code"), [("ready", 0), ("failed", 1)])
async def test_deploy_follows_the_stages_to_the_end(
    served: Daemon, capsys: pytest.CaptureFixture[str], outcome: str, code: int
) -> None:
    made = await served.platform.tenants.create(
        await served.platform.keys.authenticate(f"Bearer {os.environ['STAXA_API_KEY']}"),
        {"name": "app", "source_type": "image", "image_url": "localhost/app:1", "port": 8080},
    )
    before = {d.id for d in await deployment_store.with_status(served.db, made.id, ("queued",))}
    follower = asyncio.create_task(staxa(capsys, "deploy", made.id, "--timeout", "20"))
    await _drive(served, made.id, outcome, before)
    exit_code, out, _ = await asyncio.wait_for(follower, 30)
    assert exit_code == code
    for stage in ("provision", "build", "deploy", "route", "health"):
        assert f"{stage}: {stage} web" in out
    assert f"Tenant is {outcome}" in out
