"""Services, deployments and env endpoints without a runtime: records, validation, errors."""

from __future__ import annotations

import httpx

from tests.api.helpers import assert_error, assert_resource, create_tenant


async def test_env_put_replaces_all_and_masks_secrets(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    tenant = await create_tenant(client, auth, "envy", env={"OLD": "1"})
    url = f"/tenants/{tenant['id']}/env"
    body = {"NODE_ENV": "production", "DATABASE_URL": "postgres://u:pw@db/x", "API_KEY": "secret123"}
    data = assert_resource(await client.put(url, headers=auth, json=body))
    assert data == [
        {"key": "API_KEY", "value": "****"},
        {"key": "DATABASE_URL", "value": "****"},
        {"key": "NODE_ENV", "value": "production"},
    ]
    assert assert_resource(await client.get(url, headers=auth)) == data
    for bad in [{"A": {"nested": "x"}}, {"1A": "x"}, ["A=1"], {"A": 1}]:
        assert_error(await client.put(url, headers=auth, json=bad), 400, "validation_error")


async def test_service_add_remove_and_their_errors(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    tenant = await create_tenant(client, auth, "multi")
    url = f"/tenants/{tenant['id']}/services"
    body = {"name": "api", "source_type": "image", "image_url": "localhost/api:1", "port": 8080}
    added = assert_resource(await client.post(url, headers=auth, json=body), 202)
    assert added["name"] == "api" and not added["is_routable"] and added["deployment"]["status"] == "queued"
    assert_error(await client.post(url, headers=auth, json=body), 409, "conflict")
    assert_error(await client.post(url, headers=auth, json={"source_type": "image"}), 400, "validation_error")
    assert_error(await client.post(url, headers=auth, json={"name": "x"}), 400, "validation_error")
    listed = (await client.get(url, headers=auth)).json()
    assert [s["name"] for s in listed["data"]] == ["web", "api"]
    assert_error(await client.delete(f"{url}/web", headers=auth), 400, "validation_error")
    assert_error(await client.delete(f"{url}/nope", headers=auth), 404, "not_found")
    assert (await client.delete(f"{url}/api", headers=auth)).status_code == 204
    assert [s["name"] for s in (await client.get(url, headers=auth)).json()["data"]] == ["web"]


async def test_deploy_endpoints_queue_and_supersede(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    tenant = await create_tenant(client, auth, "deployer")
    first = assert_resource(await client.post(f"/tenants/{tenant['id']}/services/web/deploy", headers=auth), 202)
    assert first["status"] == "queued" and first["service_name"] == "web"
    everything = assert_resource(await client.post(f"/tenants/{tenant['id']}/deploy", headers=auth), 202)
    assert everything["status"] == "deploying" and everything["services"] == ["web"]
    history = (await client.get(f"/tenants/{tenant['id']}/deployments", headers=auth)).json()
    assert history["meta"]["total"] == 3
    assert [d["status"] for d in history["data"]] == ["queued", "cancelled", "cancelled"]
    one = assert_resource(await client.get(f"/tenants/{tenant['id']}/deployments/{first['id']}", headers=auth))
    assert one["reason"] == "superseded by a newer deployment"
    assert one["build_log_url"] == f"/api/v1/tenants/{tenant['id']}/deployments/{first['id']}/logs"
    assert_error(await client.get(f"/tenants/{tenant['id']}/deployments/dep_nope", headers=auth), 404, "not_found")
    assert_error(await client.post(f"/tenants/{tenant['id']}/services/nope/deploy", headers=auth), 404, "not_found")
    per_service = (await client.get(f"/tenants/{tenant['id']}/services/web/deployments", headers=auth)).json()
    assert per_service["meta"]["total"] == 3


async def test_a_deleting_tenant_cannot_be_deployed(client: httpx.AsyncClient, auth: dict[str, str], daemon) -> None:  # type: ignore[no-untyped-def]
    tenant = await create_tenant(client, auth, "leaving")
    async with daemon.db.transaction() as tx:
        await tx.execute("UPDATE tenants SET status = 'deleting' WHERE id = ?", (tenant["id"],))
    assert_error(await client.post(f"/tenants/{tenant['id']}/deploy", headers=auth), 422, "unprocessable_entity")
    body = {"name": "x", "source_type": "image", "image_url": "a/b:1"}
    assert_error(
        await client.post(f"/tenants/{tenant['id']}/services", headers=auth, json=body), 422, "unprocessable_entity"
    )


async def test_logs_and_events_validate_their_parameters(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    tenant = await create_tenant(client, auth, "quiet")
    for params in [{"lines": "0"}, {"lines": "x"}, {"follow": "maybe"}]:
        assert_error(
            await client.get(f"/tenants/{tenant['id']}/logs", headers=auth, params=params), 400, "validation_error"
        )
    empty = await client.get(f"/tenants/{tenant['id']}/logs", headers=auth)
    assert empty.status_code == 200 and empty.text == ""
    bad = {**auth, "Last-Event-ID": "abc"}
    assert_error(await client.get(f"/tenants/{tenant['id']}/events", headers=bad), 400, "validation_error")


async def test_create_deployment_validates_branch_and_commit(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    tenant = await create_tenant(client, auth, "deployer")
    url = f"/tenants/{tenant['id']}/deployments"
    for body in [
        {"branch": "--upload-pack=x"},
        {"branch": "a..b"},
        {"commit_sha": "HEAD"},
        {"commit_sha": 7},
        {"x": 1},
    ]:
        assert_error(await client.post(url, headers=auth, json=body), 400, "validation_error")
    # an image service has no branch to deploy
    assert_error(await client.post(url, headers=auth, json={"branch": "main"}), 422, "unprocessable_entity")
    queued = assert_resource(await client.post(url, headers=auth), 202)
    assert queued["status"] == "queued" and queued["rollback_from"] is None
    assert_error(await client.post(f"{url}/{queued['id']}/rollback", headers=auth), 422, "unprocessable_entity")
    assert_error(await client.post(f"{url}/dep_nope/rollback", headers=auth), 404, "not_found")
    log = await client.get(f"{url}/{queued['id']}/logs", headers=auth)
    assert log.status_code == 200 and log.text == ""
