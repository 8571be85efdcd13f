"""`staxa deploy` follows the tenant's event stream to the end. The runtime is off here,
so the test writes what the deploy pipeline and the reconciler would, once the CLI's
deployment is queued, and the CLI must show each stage and exit 0 (ready) or 1 (failed)."""

from __future__ import annotations

import asyncio
import json

import pytest

from staxad.daemon import Daemon
from staxad.store import deployments as deployment_store
from staxad.store import events as event_store
from staxad.store import tenants as tenant_store
from tests.cli.conftest import Staxa
from tests.cli.test_cli import make_tenant

STAGES = ("provision", "build", "deploy", "route", "health")


async def queued_after(daemon: Daemon, tenant_id: str, before: set[str]) -> str:
    """The id of the deployment queued since `before` (the CLI's)."""
    for _ in range(200):
        found = await deployment_store.with_status(daemon.db, tenant_id, ("queued",))
        new = [d.id for d in found if d.id not in before]
        if new:
            return new[0]
        await asyncio.sleep(0.02)
    raise AssertionError("the CLI queued no deployment")


async def run_pipeline(daemon: Daemon, tenant_id: str, deployment_id: str, outcome: str) -> None:
    """Events as the pipeline writes them, a transaction per stage, then the tenant status."""
    clock = daemon.ctx.clock
    for stage in STAGES:
        async with daemon.db.transaction() as tx:
            await event_store.append(
                tx,
                tenant_id,
                "deployment.stage",
                f"{stage} of web",
                clock.now(),
                stage=stage,
                deployment_id=deployment_id,
                service_name="web",
            )
        await asyncio.sleep(0.05)  # the stream sees them one by one
    last, stage = ("deployment.succeeded", "ready") if outcome == "ready" else ("deployment.failed", "error")
    async with daemon.db.transaction() as tx:
        await event_store.append(
            tx,
            tenant_id,
            last,
            f"web {outcome}",
            clock.now(),
            stage=stage,
            deployment_id=deployment_id,
            service_name="web",
        )
        await tenant_store.update(tx, tenant_id, daemon.ctx.now(), status=outcome)
        await event_store.append(tx, tenant_id, f"tenant.{outcome}", f"Tenant is {outcome}", clock.now())


@pytest.mark.parametrize(("outcome", "code"), [("ready", 0), ("failed", 1)])
async def test_deploy_shows_every_stage_and_exits_by_the_outcome(
    staxa: Staxa, daemon: Daemon, outcome: str, code: int
) -> None:
    tenant = await make_tenant(staxa)
    # an earlier outcome in the replayed history must not end this deploy
    async with daemon.db.transaction() as tx:
        await event_store.append(tx, tenant["id"], "tenant.failed", "Tenant is failed: earlier", daemon.ctx.clock.now())
    before = {d.id for d in await deployment_store.with_status(daemon.db, tenant["id"], ("queued",))}

    follower = asyncio.create_task(staxa("deploy", "shop", "--timeout", "30"))
    deployment_id = await queued_after(daemon, tenant["id"], before)
    await run_pipeline(daemon, tenant["id"], deployment_id, outcome)
    result = await asyncio.wait_for(follower, 30)

    assert result.exit_code == code, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"Deploying {tenant['id']} (web)"
    assert lines[1].split()[:2] == ["web", "queued"]
    for stage, line in zip(STAGES, lines[2:], strict=False):
        assert line.split() == ["web", stage, stage, "of", "web"]
    assert "earlier" not in result.stdout
    assert lines[-1].endswith(f"Tenant is {outcome}")
    if outcome == "ready":
        assert "web ready" in result.stdout
    assert daemon.app.state.stream_slots.open == 0  # the CLI hung up; the stream let go


async def test_deploy_json_prints_one_event_per_line(staxa: Staxa, daemon: Daemon) -> None:
    tenant = await make_tenant(staxa)
    before = {d.id for d in await deployment_store.with_status(daemon.db, tenant["id"], ("queued",))}
    follower = asyncio.create_task(staxa("--json", "deploy", tenant["id"]))
    deployment_id = await queued_after(daemon, tenant["id"], before)
    await run_pipeline(daemon, tenant["id"], deployment_id, "ready")
    result = await asyncio.wait_for(follower, 30)

    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["stage"] for e in events if e["type"] == "deployment.stage"] == list(STAGES)
    assert events[-1]["type"] == "tenant.ready"
    assert {e["deployment_id"] for e in events[:-1]} == {deployment_id}
