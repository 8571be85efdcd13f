"""Databases through the API without a runtime: records, secrecy, refusals."""

from __future__ import annotations

import httpx

from tests.api.helpers import assert_error, assert_resource, create_tenant
from tests.conftest import Keys


async def test_a_database_is_a_private_service_with_a_volume_and_sealed_credentials(
    client: httpx.AsyncClient, auth: dict[str, str], keys: Keys
) -> None:
    tenant = await create_tenant(client, auth, "withdb")
    base = f"/tenants/{tenant['id']}"
    made = assert_resource(
        await client.post(f"{base}/databases", headers=auth, json={"engine": "postgres", "name": "db"}), 202
    )
    assert made["url"] == "postgresql://app:****@db:5432/db" and made["deployment"]["service_name"] == "db"
    services = {s["name"]: s for s in assert_resource(await client.get(base, headers=auth))["services"]}
    assert services["db"]["is_routable"] is False and services["db"]["port"] == 5432
    [volume] = (await client.get(f"{base}/volumes", headers=auth)).json()["data"]
    assert (volume["name"], volume["service"], volume["mount_path"]) == ("db-data", "db", "/var/lib/postgresql/data")
    assert volume["backup_schedule"] == "0 3 * * *"  # daily by default
    env = assert_resource(await client.get(f"{base}/env", headers=auth))
    assert env == []  # the engine's credentials are not tenant env

    one = f"{base}/databases/{made['id']}"
    refused = await client.get(one, headers=auth, params={"reveal": "true"})
    assert "secrets:read" in assert_error(refused, 403, "forbidden")["message"]
    revealer = await keys.make("team@example.com", scopes=("tenants:read", "secrets:read"))
    shown = assert_resource(await client.get(one, headers=revealer, params={"reveal": "true"}))
    assert len(shown["password"]) >= 24 and shown["password"] in shown["url"]

    assert_error(
        await client.post(f"{base}/databases", headers=auth, json={"engine": "redis", "name": "db"}), 409, "conflict"
    )
    bad = {"engine": "mysql", "name": "Bad_Name", "version": "x y", "size_mb": 0, "extra": 1}
    error = assert_error(await client.post(f"{base}/databases", headers=auth, json=bad), 400, "validation_error")
    assert set(error["details"]["fields"]) == {"engine", "name", "version", "size_mb", "extra"}

    linked = assert_resource(await client.post(f"{one}/connections", headers=auth, json={"service": "web"}), 202)
    assert linked["env_key"] == "DATABASE_URL" and linked["deployment"]["service_name"] == "web"
    cache = assert_resource(
        await client.post(f"{base}/databases", headers=auth, json={"engine": "redis", "name": "c"}), 202
    )
    clash = await client.post(
        f"{base}/databases/{cache['id']}/connections", headers=auth, json={"service": "web", "env_key": "DATABASE_URL"}
    )
    assert_error(clash, 409, "conflict")
    assert_error(await client.post(f"{one}/connections", headers=auth, json={"service": "db"}), 400, "validation_error")
    assert_error(
        await client.post(f"{one}/connections", headers=auth, json={"service": "nope"}), 400, "validation_error"
    )
    assert (await client.delete(f"{one}/connections/{linked['id']}", headers=auth)).status_code == 204
    assert (await client.delete(one, headers=auth)).status_code == 204
    assert_error(await client.get(one, headers=auth), 404, "not_found")
    names = [v["name"] for v in (await client.get(f"{base}/volumes", headers=auth)).json()["data"]]
    assert names == ["c-data"]  # the deleted database's data volume went with it
