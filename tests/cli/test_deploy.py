"""`staxa deploy` follows the tenant's event stream to the outcome. The runtime is off
here, so once the CLI's deployments are queued the test writes what the deploy pipeline
(staxad/reconcile/pipeline.py) and the reconciler's status pass would, and the CLI must
show each stage and exit 0 (ready) or 1 (a deployment or the tenant failed)."""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import pytest

from staxad.api import streams
from staxad.daemon import Daemon
from staxad.store import deployments as deployment_store
from staxad.store import events as event_store
from staxad.store import tenants as tenant_store
from tests.cli.conftest import Staxa
from tests.cli.test_cli import make_tenant

STAGES = ("provision", "build", "deploy", "route", "health")
CRASHED = "Deployment failed: the container exited before answering on port 8080"


async def queued_after(daemon: Daemon, tenant_id: str, before: set[str], count: int = 1) -> dict[str, str]:
    """Service name -> id of each deployment queued since `before` (the CLI's)."""
    for _ in range(200):
        found = await deployment_store.with_status(daemon.db, tenant_id, ("queued",))
        new = {d.service_name: d.id for d in found if d.id not in before}
        if len(new) >= count:
            return new
        await asyncio.sleep(0.02)
    raise AssertionError("the CLI queued no deployment")


async def queued_now(daemon: Daemon, tenant_id: str) -> set[str]:
    return {d.id for d in await deployment_store.with_status(daemon.db, tenant_id, ("queued",))}


async def event(daemon: Daemon, tenant_id: str, type_: str, message: str, **fields: Any) -> None:
    async with daemon.db.transaction() as tx:
        await event_store.append(tx, tenant_id, type_, message, daemon.ctx.clock.now(), **fields)


async def run_pipeline(daemon: Daemon, tenant_id: str, service: str, deployment_id: str, fail_at: str = "") -> None:
    """A transaction per stage, as DeployPipeline._record writes them, up to `fail_at`."""
    mine = {"deployment_id": deployment_id, "service_name": service}
    for stage in STAGES:
        if stage == fail_at:
            await event(daemon, tenant_id, "deployment.failed", CRASHED, stage="error", **mine)
            return
        await event(daemon, tenant_id, "deployment.stage", f"{stage} of {service}", stage=stage, **mine)
        await asyncio.sleep(0.05)  # the stream sees them one by one
    await event(daemon, tenant_id, "deployment.succeeded", f"{service} is live", stage="ready", **mine)


async def tenant_becomes(daemon: Daemon, tenant_id: str, status: str, with_event: bool = True) -> None:
    """The status pass of the reconciler (tenant.py _write_statuses)."""
    async with daemon.db.transaction() as tx:
        await tenant_store.update(tx, tenant_id, daemon.ctx.now(), status=status)
        if with_event:
            stage = "ready" if status == "ready" else None
            await event_store.append(
                tx, tenant_id, f"tenant.{status}", f"Tenant is {status}", daemon.ctx.clock.now(), stage=stage
            )


async def test_deploy_shows_every_stage_and_exits_0_when_ready(staxa: Staxa, daemon: Daemon) -> None:
    tenant = await make_tenant(staxa)
    # an earlier outcome in the replayed history must not end this deploy
    await event(daemon, tenant["id"], "tenant.failed", "Tenant is failed: earlier")
    before = await queued_now(daemon, tenant["id"])

    follower = asyncio.create_task(staxa("deploy", "shop", "--timeout", "30"))
    [deployment_id] = (await queued_after(daemon, tenant["id"], before)).values()
    await run_pipeline(daemon, tenant["id"], "web", deployment_id)
    await tenant_becomes(daemon, tenant["id"], "ready")
    result = await asyncio.wait_for(follower, 30)

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"Deploying {tenant['id']} (web)"
    assert lines[1].split()[:2] == ["web", "queued"]
    for stage, line in zip(STAGES, lines[2:], strict=False):
        assert line.split() == ["web", stage, stage, "of", "web"]
    assert lines[-2].split() == ["web", "ready", "web", "is", "live"]
    assert lines[-1] == "✔ Tenant is ready"
    assert "earlier" not in result.stdout
    assert daemon.app.state.stream_slots.open == 0  # the CLI hung up; the stream let go


async def test_a_failed_deployment_exits_1_though_the_old_version_keeps_the_tenant_ready(
    staxa: Staxa, daemon: Daemon
) -> None:
    tenant = await make_tenant(staxa)
    before = await queued_now(daemon, tenant["id"])
    follower = asyncio.create_task(staxa("deploy", "shop", "--timeout", "30"))
    [deployment_id] = (await queued_after(daemon, tenant["id"], before)).values()
    async with daemon.db.transaction() as tx:  # the failure and the pass after it, in one batch
        mine = {"deployment_id": deployment_id, "service_name": "web"}
        await event_store.append(
            tx, tenant["id"], "deployment.stage", "deploy of web", daemon.ctx.clock.now(), stage="deploy", **mine
        )
        await event_store.append(
            tx, tenant["id"], "deployment.failed", CRASHED, daemon.ctx.clock.now(), stage="error", **mine
        )
        await event_store.append(tx, tenant["id"], "tenant.ready", "Tenant is ready", daemon.ctx.clock.now())
    result = await asyncio.wait_for(follower, 30)

    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines()[-1] == f"✘ {CRASHED}"
    assert "Tenant is ready" not in result.stdout


async def test_a_deploy_of_two_services_waits_for_both_and_fails_if_one_did(staxa: Staxa, daemon: Daemon) -> None:
    who = await daemon.platform.keys.authenticate(f"Bearer {os.environ['STAXA_API_KEY']}")
    image = {"source_type": "image", "image_url": "localhost/app:1", "port": 8080}
    services = [{"name": "web", **image}, {"name": "worker", **image}]
    tenant = {"id": (await daemon.platform.tenants.create(who, {"name": "pair", "services": services})).id}
    before = await queued_now(daemon, tenant["id"])

    follower = asyncio.create_task(staxa("deploy", "pair", "--timeout", "30"))
    ids = await queued_after(daemon, tenant["id"], before, count=2)
    await run_pipeline(daemon, tenant["id"], "worker", ids["worker"], fail_at="build")
    await asyncio.sleep(0.3)
    assert not follower.done()  # the web deployment is still under way
    await run_pipeline(daemon, tenant["id"], "web", ids["web"])
    result = await asyncio.wait_for(follower, 30)

    assert result.exit_code == 1, result.output
    assert f"✘ {CRASHED}" in result.stdout and "web is live" in result.stdout


async def test_a_tenant_that_writes_no_new_status_is_read_once_the_stream_is_quiet(
    staxa: Staxa, daemon: Daemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(streams, "KEEPALIVE_SECONDS", 0.3)
    tenant = await make_tenant(staxa)
    before = await queued_now(daemon, tenant["id"])
    follower = asyncio.create_task(staxa("deploy", "shop", "--timeout", "30"))
    [deployment_id] = (await queued_after(daemon, tenant["id"], before)).values()
    await run_pipeline(daemon, tenant["id"], "web", deployment_id)
    await tenant_becomes(daemon, tenant["id"], "ready", with_event=False)
    result = await asyncio.wait_for(follower, 30)

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "✔ Tenant is ready"


async def test_deploy_gives_up_after_its_timeout(staxa: Staxa, daemon: Daemon, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streams, "KEEPALIVE_SECONDS", 0.3)
    await make_tenant(staxa)
    result = await asyncio.wait_for(staxa("deploy", "shop", "--timeout", "1"), 30)
    assert result.exit_code == 1 and "Gave up waiting" in result.stderr


async def test_deploy_json_prints_one_event_per_line(staxa: Staxa, daemon: Daemon) -> None:
    tenant = await make_tenant(staxa)
    before = await queued_now(daemon, tenant["id"])
    follower = asyncio.create_task(staxa("--json", "deploy", tenant["id"]))
    [deployment_id] = (await queued_after(daemon, tenant["id"], before)).values()
    await run_pipeline(daemon, tenant["id"], "web", deployment_id)
    await tenant_becomes(daemon, tenant["id"], "ready")
    result = await asyncio.wait_for(follower, 30)

    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["stage"] for e in events if e["type"] == "deployment.stage"] == list(STAGES)
    assert [e["type"] for e in events[-2:]] == ["deployment.succeeded", "tenant.ready"]
    assert {e["deployment_id"] for e in events[:-1]} == {deployment_id}
