"""Stop, start, restart and cancel through the API without a runtime: what is recorded,
what is refused, and that another provider's ids are a 404."""

from __future__ import annotations

import httpx

from staxad.daemon import Daemon
from staxad.reconcile import snapshot
from staxad.store import deployments as deployment_store
from staxad.store import events as event_store
from tests.api.helpers import assert_error, assert_resource, create_tenant
from tests.conftest import Keys


async def kinds(daemon: Daemon, tenant_id: str) -> list[str]:
    return [e.type for e in await event_store.since(daemon.db, tenant_id, 0)]


async def test_stop_start_and_restart_record_the_desired_state(
    client: httpx.AsyncClient, auth: dict[str, str], daemon: Daemon
) -> None:
    tenant = await create_tenant(client, auth, "switch")
    base = f"/tenants/{tenant['id']}"
    stopped = assert_resource(await client.post(f"{base}/services/web/stop", headers=auth), 202)
    assert stopped["name"] == "web" and stopped["desired_state"] == "stopped"
    started = assert_resource(await client.post(f"{base}/services/web/start", headers=auth), 202)
    assert started["desired_state"] == "running"
    assert_resource(await client.post(f"{base}/stop", headers=auth), 202)
    shown = assert_resource(await client.get(base, headers=auth))
    assert [s["desired_state"] for s in shown["services"]] == ["stopped"]
    restarted = assert_resource(await client.post(f"{base}/restart", headers=auth), 202)
    assert [s["desired_state"] for s in restarted["services"]] == ["running"]  # a restart also starts
    seen = await kinds(daemon, tenant["id"])
    for kind in ("service.stop_requested", "service.start_requested", "service.restart_requested"):
        assert kind in seen


async def test_a_deploy_starts_a_stopped_service(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    tenant = await create_tenant(client, auth, "redeploy")
    base = f"/tenants/{tenant['id']}"
    assert_resource(await client.post(f"{base}/services/web/stop", headers=auth), 202)
    assert_resource(await client.post(f"{base}/services/web/deploy", headers=auth), 202)
    [web] = assert_resource(await client.get(base, headers=auth))["services"]
    assert web["desired_state"] == "running"


async def test_lifecycle_refusals(client: httpx.AsyncClient, auth: dict[str, str], keys: Keys) -> None:
    tenant = await create_tenant(client, auth, "refuse")
    base = f"/tenants/{tenant['id']}"
    assert_error(await client.post(f"{base}/services/nope/stop", headers=auth), 404, "not_found")
    assert_error(await client.get(f"{base}/services/web/stop", headers=auth), 405, "method_not_allowed")
    other = await keys.make("other@example.com")
    for path in ("services/web/stop", "services/web/restart", "start", "stop"):
        assert_error(await client.post(f"{base}/{path}", headers=other), 404, "not_found")
    reader = await keys.make("reader@example.com", scopes=("tenants:read",))
    mine = await create_tenant(client, await keys.make("reader@example.com"), "readers")
    assert_error(await client.post(f"/tenants/{mine['id']}/stop", headers=reader), 403, "forbidden")
    assert (await client.delete(base, headers=auth)).status_code == 202
    assert_error(await client.post(f"{base}/start", headers=auth), 422, "unprocessable_entity")


async def test_cancel_a_queued_deployment(
    client: httpx.AsyncClient, auth: dict[str, str], keys: Keys, daemon: Daemon
) -> None:
    tenant = await create_tenant(client, auth, "cancels")
    base = f"/tenants/{tenant['id']}"
    [queued] = (await client.get(f"{base}/deployments", headers=auth)).json()["data"]
    other = await keys.make("other@example.com")
    assert_error(await client.post(f"{base}/deployments/{queued['id']}/cancel", headers=other), 404, "not_found")
    cancelled = assert_resource(await client.post(f"{base}/deployments/{queued['id']}/cancel", headers=auth))
    assert cancelled["status"] == "cancelled" and cancelled["reason"] == "cancelled by request"
    again = await client.post(f"{base}/deployments/{queued['id']}/cancel", headers=auth)
    assert "already cancelled" in assert_error(again, 409, "conflict")["message"]
    assert_error(await client.post(f"{base}/deployments/dep_nope/cancel", headers=auth), 404, "not_found")
    assert "deployment.cancelled" in await kinds(daemon, tenant["id"])


async def test_a_live_deployment_from_before_sealed_specs_gets_one_at_start(
    client: httpx.AsyncClient, auth: dict[str, str], daemon: Daemon
) -> None:
    """What a repair of it made before: the tenant's env, UDP published, no volumes."""
    tenant = await create_tenant(client, auth, "elder", env={"GREETING": "hi"})
    [d] = await daemon.db.fetch_all("SELECT id, service_id FROM deployments WHERE tenant_id = ?", (tenant["id"],))
    async with daemon.db.transaction() as tx:
        await tx.execute("UPDATE deployments SET spec = NULL, image_ref = 'localhost/old:1' WHERE id = ?", (d["id"],))
        await tx.execute("UPDATE services SET live_deployment_id = ? WHERE id = ?", (d["id"], d["service_id"]))
    assert await snapshot.seal_missing(daemon.db, daemon.ctx.box, daemon.settings.instance) == 1
    spec = snapshot.unseal(daemon.ctx.box, await deployment_store.sealed_spec(daemon.db, d["id"]) or b"")
    assert (spec.image, spec.udp, spec.volumes, spec.env["GREETING"]) == ("localhost/old:1", True, {}, "hi")
    assert await snapshot.seal_missing(daemon.db, daemon.ctx.box, daemon.settings.instance) == 0
