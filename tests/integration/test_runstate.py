"""Stop, start and restart on the real host: a stopped service stays stopped through a
reconcile pass and a daemon restart and answers 503 through Caddy; a restart restarts
the container once."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from tests.images import podman
from tests.integration.helpers import Live, create, read_events, start_live, stop_live, until


def container_state(name: str) -> dict[str, object]:
    done = podman("inspect", "--format", "{{json .State}}", name)
    return dict(json.loads(done.stdout))


async def post(live: Live, path: str) -> dict[str, object]:
    response = await live.client.post(path, headers=live.auth)
    assert response.status_code == 202, response.text
    return dict(response.json()["data"])


async def test_a_stopped_service_stays_stopped_and_answers_503_until_started(
    tmp_path: Path, instance: str, live: Live, web_image: str
) -> None:
    tenant = await create(live, {"name": "pause", "source_type": "image", "image_url": web_image, "port": 8080})
    ready = await live.wait_status(tenant["id"], "ready")
    [d] = [d for d in ready["deployments"] if d["status"] == "succeeded"]
    container = f"staxa-{instance}-pause-web-{d['id'][4:]}"
    host = live.host("pause")

    await post(live, f"/tenants/{tenant['id']}/services/web/stop")
    stopped = await live.wait_status(tenant["id"], "stopped")
    assert stopped["status_reason"] == "stopped by request"
    assert stopped["services"][0]["status"] == "stopped"
    assert not container_state(container)["Running"]
    for name in (host, host.upper()):  # Caddy looks a Host with capitals up in lowercase
        answer = await asyncio.to_thread(live.https, name)
        assert answer.stdout.endswith("\n503") and "This app is stopped" in answer.stdout, answer.stdout

    await live.daemon.tenant_reconciler.reconcile(tenant["id"])  # a pass does not start it again
    assert not container_state(container)["Running"]
    await stop_live(live)
    again = await start_live(tmp_path, instance)
    try:
        await again.daemon.tenant_reconciler.reconcile(tenant["id"])
        assert not container_state(container)["Running"]
        assert (await again.wait_status(tenant["id"], "stopped"))["services"][0]["desired_state"] == "stopped"

        await post(again, f"/tenants/{tenant['id']}/start")
        await again.wait_status(tenant["id"], "ready")
        assert (await asyncio.to_thread(again.https, again.host("pause"))).stdout == "hello from v1\n\n200"

        before = container_state(container)["StartedAt"]
        await post(again, f"/tenants/{tenant['id']}/services/web/restart")
        assert await until(lambda: container_state(container)["StartedAt"] != before)
        kinds = [e["type"] for e in await read_events(again, tenant["id"], "service.restarted")]
        assert kinds.count("service.restarted") == 1 and "service.stopped" in kinds
        await again.wait_status(tenant["id"], "ready")
        restarted_at = container_state(container)["StartedAt"]
        await again.daemon.tenant_reconciler.reconcile(tenant["id"])
        assert container_state(container)["StartedAt"] == restarted_at  # once per request
    finally:
        await stop_live(again)
