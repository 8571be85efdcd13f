"""Attacks on secrets and key hygiene that must fail: credentials in URLs, the env mask
stored as a value, keys that outlive their parent, test keys reaching live keys."""

from __future__ import annotations

from datetime import timedelta

import httpx

from staxad.daemon import Daemon
from staxad.model.clock import FrozenClock, iso
from staxad.store import env as env_store
from tests.api.helpers import assert_error, assert_resource, create_tenant
from tests.conftest import Keys

TOKEN = "ghp_s3cr3tT0k3nValue"


async def test_a_repo_url_with_credentials_is_refused_and_never_echoed(
    client: httpx.AsyncClient, auth: dict[str, str], daemon: Daemon
) -> None:
    for url in (f"https://user:{TOKEN}@github.com/acme/app", f"https://{TOKEN}@github.com/acme/app"):
        body = {"name": "leaky", "source_type": "github", "repo_url": url}
        response = await client.post("/tenants", headers=auth, json=body)
        error = assert_error(response, 400, "validation_error")
        assert "credentials" in error["details"]["fields"]["repo_url"]
        assert TOKEN not in response.text
    tenant = await create_tenant(client, auth, "svc")
    service = {"name": "api", "source_type": "github", "repo_url": f"https://x:{TOKEN}@github.com/a/b", "port": 80}
    response = await client.post(f"/tenants/{tenant['id']}/services", headers=auth, json=service)
    assert_error(response, 400, "validation_error")
    assert TOKEN not in response.text
    rows = await daemon.db.fetch_all("SELECT repo_url FROM services")
    assert all(TOKEN not in (r["repo_url"] or "") for r in rows)


async def test_putting_back_the_mask_keeps_the_secret(
    client: httpx.AsyncClient, auth: dict[str, str], daemon: Daemon
) -> None:
    tenant = await create_tenant(client, auth, "envy", env={"API_TOKEN": "real-secret", "PLAIN": "1"})
    url = f"/tenants/{tenant['id']}/env"
    shown = assert_resource(await client.get(url, headers=auth))
    masked = {item["key"]: item["value"] for item in shown}
    assert masked["API_TOKEN"] == "****"
    assert_resource(await client.put(url, headers=auth, json={**masked, "PLAIN": "2"}))
    stored = await env_store.read(daemon.db, daemon.platform.ctx.box, tenant["id"])
    assert {v.key: v.value for v in stored} == {"API_TOKEN": "real-secret", "PLAIN": "2"}
    error = assert_error(await client.put(url, headers=auth, json={"NEW_SECRET": "****"}), 400, "validation_error")
    assert "NEW_SECRET" in error["message"]


async def test_a_key_cannot_mint_a_key_that_outlives_it(
    client: httpx.AsyncClient, keys: Keys, clock: FrozenClock
) -> None:
    ends = clock.now() + timedelta(hours=1)
    parent = await keys.make(expires_at=iso(ends))
    later = {"name": "child", "expires_at": iso(ends + timedelta(days=365))}
    error = assert_error(await client.post("/api-keys", headers=parent, json=later), 400, "validation_error")
    assert "expires_at" in error["details"]["fields"]
    child = assert_resource(await client.post("/api-keys", headers=parent, json={"name": "child"}), 201)
    assert child["expires_at"] == iso(ends)  # inherits the parent's expiry
    sooner = {"name": "sooner", "expires_at": iso(ends - timedelta(minutes=5))}
    assert assert_resource(await client.post("/api-keys", headers=parent, json=sooner), 201)["expires_at"]
    clock.advance(2 * 3600)
    grandchild = {"Authorization": f"Bearer {child['key']}"}
    assert_error(await client.get("/api-keys", headers=grandchild), 401, "unauthorized")


async def test_a_test_key_neither_sees_nor_revokes_live_or_admin_keys(
    client: httpx.AsyncClient, keys: Keys, daemon: Daemon
) -> None:
    live = await keys.make()
    provider = live["X-Provider-Id"]
    admin, _ = await daemon.platform.keys.create(provider, "ops", "live", ["*", "admin"], None)
    test_key, test_raw = await daemon.platform.keys.create(provider, "ci", "test", ["*"], None)
    other_test, _ = await daemon.platform.keys.create(provider, "ci2", "test", ["*"], None)
    tester = {"Authorization": f"Bearer {test_raw}"}

    listed = await client.get("/api-keys", headers=tester)
    assert {k["id"] for k in listed.json()["data"]} == {test_key.id, other_test.id}
    assert listed.json()["meta"]["total"] == 2
    for victim in (live["X-Key-Id"], admin.id):
        assert_error(await client.delete(f"/api-keys/{victim}", headers=tester), 404, "not_found")
    assert (await client.get("/api-keys", headers=live)).status_code == 200  # still works
    assert (await client.delete(f"/api-keys/{other_test.id}", headers=tester)).status_code == 204
    assert len((await client.get("/api-keys", headers=live)).json()["data"]) == 3
