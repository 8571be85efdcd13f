"""Env variables reach exactly the containers of the services they apply to, and `apply`
redeploys just those."""

from __future__ import annotations

from typing import Any

from tests.images import podman
from tests.integration.helpers import Live, create, settled


def container_env(instance: str, tenant: str, service: str, deployment_id: str) -> list[str]:
    name = f"staxa-{instance}-{tenant}-{service}-{deployment_id[4:]}"
    return list(podman("inspect", "--format", '{{join .Config.Env "\\n"}}', name).stdout.decode().splitlines())


async def test_a_variable_scoped_to_one_service_reaches_only_its_container(live: Live, web_image: str) -> None:
    body = {"name": "scoped", "source_type": "image", "image_url": web_image, "port": 8080}
    tenant = await create(live, body)
    base = f"/tenants/{tenant['id']}"
    api = {"name": "api", "source_type": "image", "image_url": web_image, "port": 8080}
    added = (await live.client.post(f"{base}/services", headers=live.auth, json=api)).json()["data"]
    await settled(live, tenant["id"], added["deployment"]["id"])
    await live.wait_status(tenant["id"], "ready")

    put = {"value": "only-api", "services": ["api"], "apply": True}
    response = await live.client.put(f"{base}/env/ONLY_API", headers=live.auth, json=put)
    assert response.status_code == 200, response.text
    [queued] = response.json()["data"]["deployments"]
    assert queued["service_name"] == "api"
    done: dict[str, Any] = await settled(live, tenant["id"], queued["id"])
    assert done["status"] == "succeeded", done
    assert "ONLY_API=only-api" in container_env(live.daemon.settings.instance, "scoped", "api", done["id"])
    shown = (await live.client.get(base, headers=live.auth)).json()["data"]
    [web] = [d for d in shown["deployments"] if d["service_name"] == "web" and d["status"] == "succeeded"]
    assert not any(
        line.startswith("ONLY_API=")
        for line in container_env(live.daemon.settings.instance, "scoped", "web", web["id"])
    )
