"""One env variable at a time: secrecy, the services it reaches, reveal with its own
scope, and redeploys only when asked."""

from __future__ import annotations

import httpx

from staxad.daemon import Daemon
from staxad.store import events as event_store
from tests.api.helpers import assert_error, assert_resource, create_tenant
from tests.conftest import Keys

API = {"name": "api", "source_type": "image", "image_url": "localhost/api:1", "port": 9000}


async def deployments(client: httpx.AsyncClient, auth: dict[str, str], tenant_id: str) -> int:
    return int((await client.get(f"/tenants/{tenant_id}/deployments", headers=auth)).json()["meta"]["total"])


async def test_set_read_scope_and_delete_one_variable(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    tenant = await create_tenant(client, auth, "vars")
    assert_resource(await client.post(f"/tenants/{tenant['id']}/services", headers=auth, json=API), 202)
    url = f"/tenants/{tenant['id']}/env"
    before = await deployments(client, auth, tenant["id"])

    made = assert_resource(await client.put(f"{url}/STRIPE_KEY", headers=auth, json={"value": "sk_1"}))
    assert made == {"key": "STRIPE_KEY", "value": "****", "is_secret": True, "services": None, "deployments": []}
    plain = assert_resource(
        await client.put(f"{url}/LOG_LEVEL", headers=auth, json={"value": "debug", "services": ["api"]})
    )
    assert plain["is_secret"] is False and plain["services"] == ["api"]
    assert await deployments(client, auth, tenant["id"]) == before  # nothing restarts unless asked

    kept = assert_resource(await client.put(f"{url}/STRIPE_KEY", headers=auth, json={"services": ["web"]}))
    assert kept["services"] == ["web"] and kept["value"] == "****"  # value left out: kept
    shown = assert_resource(await client.get(f"{url}/STRIPE_KEY", headers=auth))
    assert shown == {"key": "STRIPE_KEY", "value": "****", "is_secret": True, "services": ["web"]}
    assert assert_resource(await client.get(url, headers=auth)) == [
        {"key": "LOG_LEVEL", "value": "debug"},
        {"key": "STRIPE_KEY", "value": "****"},
    ]

    # the bulk PUT keeps a staying key's secrecy and services
    assert_resource(await client.put(url, headers=auth, json={"STRIPE_KEY": "****", "LOG_LEVEL": "info"}))
    assert assert_resource(await client.get(f"{url}/LOG_LEVEL", headers=auth))["services"] == ["api"]

    assert (await client.delete(f"{url}/LOG_LEVEL", headers=auth)).status_code == 204
    assert_error(await client.delete(f"{url}/LOG_LEVEL", headers=auth), 404, "not_found")
    assert_error(await client.get(f"{url}/LOG_LEVEL", headers=auth), 404, "not_found")


async def test_apply_deploys_exactly_the_services_a_change_reaches(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    tenant = await create_tenant(client, auth, "applies")
    assert_resource(await client.post(f"/tenants/{tenant['id']}/services", headers=auth, json=API), 202)
    url = f"/tenants/{tenant['id']}/env"
    body = {"value": "1", "services": ["api"], "apply": True}
    changed = assert_resource(await client.put(f"{url}/FEATURE", headers=auth, json=body))
    assert [d["service_name"] for d in changed["deployments"]] == ["api"]
    moved = assert_resource(await client.put(f"{url}/FEATURE", headers=auth, json={"services": ["web"], "apply": True}))
    assert sorted(d["service_name"] for d in moved["deployments"]) == ["api", "web"]  # off api, onto web
    before = await deployments(client, auth, tenant["id"])
    assert (await client.delete(f"{url}/FEATURE", headers=auth, params={"apply": "true"})).status_code == 204
    assert await deployments(client, auth, tenant["id"]) == before + 1  # only web had it
    assert_resource(await client.put(url, headers=auth, params={"apply": "true"}, json={"A": "1"}))
    assert await deployments(client, auth, tenant["id"]) == before + 3


async def test_bad_variables_are_400_with_every_field(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    tenant = await create_tenant(client, auth, "badvars")
    url = f"/tenants/{tenant['id']}/env"
    error = assert_error(
        await client.put(
            f"{url}/OK", headers=auth, json={"value": 5, "is_secret": "yes", "services": ["nope"], "extra": 1}
        ),
        400,
        "validation_error",
    )
    assert set(error["details"]["fields"]) == {"value", "is_secret", "services", "extra"}
    assert_error(await client.put(f"{url}/1BAD", headers=auth, json={"value": "x"}), 400, "validation_error")
    assert_error(
        await client.put(f"{url}/NONE", headers=auth, json={"value": "x", "services": []}), 400, "validation_error"
    )
    assert_error(await client.put(f"{url}/NEW", headers=auth, json={}), 400, "validation_error")
    assert_error(await client.put(f"{url}/NEW", headers=auth, json={"value": "****"}), 400, "validation_error")
    assert_error(await client.put(f"{url}/NEW", headers=auth, json={"value": "a\u0000b"}), 400, "validation_error")
    assert_error(await client.put(url, headers=auth, params={"apply": "maybe"}, json={}), 400, "validation_error")


async def test_revealing_a_secret_needs_its_own_scope_and_is_an_event(
    client: httpx.AsyncClient, keys: Keys, daemon: Daemon
) -> None:
    everything = await keys.make("ops@example.com", scopes=("*",))
    revealer = await keys.make("ops@example.com", scopes=("tenants:read", "secrets:read"))
    tenant = await create_tenant(client, everything, "reveal", env={"DB_PASSWORD": "hunter2", "MODE": "x"})
    url = f"/tenants/{tenant['id']}/env"
    refused = assert_error(
        await client.get(f"{url}/DB_PASSWORD", headers=everything, params={"reveal": "true"}), 403, "forbidden"
    )
    assert "secrets:read" in refused["message"]
    shown = assert_resource(await client.get(f"{url}/DB_PASSWORD", headers=revealer, params={"reveal": "true"}))
    assert shown["value"] == "hunter2"
    plain = assert_resource(await client.get(f"{url}/MODE", headers=everything, params={"reveal": "true"}))
    assert plain["value"] == "x"  # not a secret: nothing to reveal, no scope needed
    revealed = [e for e in await event_store.since(daemon.db, tenant["id"], 0) if e.type == "env.revealed"]
    assert len(revealed) == 1 and "DB_PASSWORD" in revealed[0].message and "hunter2" not in revealed[0].message
    minted = await client.post("/api-keys", headers=everything, json={"name": "x", "scopes": ["secrets:read"]})
    assert_error(minted, 403, "forbidden")  # '*' cannot mint what it does not hold
