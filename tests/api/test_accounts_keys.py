from __future__ import annotations

import asyncio

import httpx

from staxad.model.clock import FrozenClock, iso
from tests.api.helpers import assert_error, assert_resource, create_tenant
from tests.conftest import Keys


async def test_account_shows_tenant_count_and_updates_name(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    await create_tenant(client, auth, "one")
    account = assert_resource(await client.get("/account", headers=auth))
    assert account["tenant_count"] == 1
    assert account["email"] == "team@example.com"
    assert account["id"].startswith("prv_")
    assert account["created_at"].endswith("Z")
    updated = assert_resource(await client.patch("/account", headers=auth, json={"name": "Acme Corporation"}))
    assert updated["name"] == "Acme Corporation"
    assert_error(await client.patch("/account", headers=auth, json={"name": 5}), 400, "validation_error")
    assert_error(await client.patch("/account", headers=auth, json={"email": "x@y.z"}), 400, "validation_error")


async def test_every_account_field_is_optional(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    named = assert_resource(await client.patch("/account", headers=auth, json={"name": "Acme"}))
    assert assert_resource(await client.patch("/account", headers=auth, json={})) == named
    assert assert_resource(await client.patch("/account", headers=auth)) == named  # no body at all
    cleared = assert_resource(await client.patch("/account", headers=auth, json={"name": None}))
    assert cleared["name"] is None and cleared["email"] == named["email"]


async def test_register_needs_admin_scope_and_is_idempotent(client: httpx.AsyncClient, keys: Keys) -> None:
    plain = await keys.make()
    admin = await keys.make("operator@example.com", scopes=("*", "admin"))
    body = {"email": "New@Example.com", "name": "New"}
    assert_error(await client.post("/register", headers=plain, json=body), 403, "forbidden")
    first = assert_resource(await client.post("/register", headers=admin, json=body), 201)
    again = assert_resource(await client.post("/register", headers=admin, json=body), 200)
    assert first["id"] == again["id"] and first["email"] == "new@example.com"
    assert_error(await client.post("/register", headers=admin, json={"email": "not-an-email"}), 400, "validation_error")
    assert_error(await client.post("/register", headers=admin, json={}), 400, "validation_error")


async def test_key_lifecycle_raw_key_once_and_revocation_on_next_request(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    created = assert_resource(await client.post("/api-keys", headers=auth, json={"name": "CI", "mode": "live"}), 201)
    raw = created["key"]
    assert raw.startswith("sk_live_") and len(raw) > 40
    assert created["prefix"] == raw[:12] and created["scopes"] == ["*"]
    listed = (await client.get("/api-keys", headers=auth)).json()
    assert listed["meta"]["total"] == 2
    assert all("key" not in k and raw not in str(k) for k in listed["data"])
    new_auth = {"Authorization": f"Bearer {raw}"}
    assert (await client.get("/account", headers=new_auth)).status_code == 200
    assert (await client.delete(f"/api-keys/{created['id']}", headers=auth)).status_code == 204
    assert_error(await client.get("/account", headers=new_auth), 401, "unauthorized")
    assert_error(await client.delete(f"/api-keys/{created['id']}", headers=auth), 404, "not_found")


async def test_revoking_a_key_revokes_the_keys_it_made_and_theirs(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    async def mint(by: dict[str, str], name: str) -> tuple[dict[str, str], dict[str, object]]:
        made = assert_resource(await client.post("/api-keys", headers=by, json={"name": name}), 201)
        return {"Authorization": f"Bearer {made['key']}"}, made

    ci, ci_key = await mint(auth, "ci")
    job, job_key = await mint(ci, "job")
    step, _ = await mint(job, "step")
    sibling, _ = await mint(auth, "sibling")
    assert (ci_key["parent_key_id"], job_key["parent_key_id"]) == (auth["X-Key-Id"], ci_key["id"])
    assert (await client.delete(f"/api-keys/{ci_key['id']}", headers=auth)).status_code == 204
    for revoked in (ci, job, step):
        assert_error(await client.get("/account", headers=revoked), 401, "unauthorized")
    for kept in (auth, sibling):
        assert (await client.get("/account", headers=kept)).status_code == 200


async def test_create_key_requires_name(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    error = assert_error(await client.post("/api-keys", headers=auth, json={"mode": "live"}), 400, "validation_error")
    assert "name" in error["details"]["fields"]
    assert_error(
        await client.post("/api-keys", headers=auth, json={"name": "x", "mode": "prod"}), 400, "validation_error"
    )
    assert_error(
        await client.post("/api-keys", headers=auth, json={"name": "x", "scopes": ["root"]}), 400, "validation_error"
    )
    assert_error(
        await client.post("/api-keys", headers=auth, json={"name": "x", "expires_at": "2001-01-01T00:00:00Z"}),
        400,
        "validation_error",
    )
    assert_error(
        await client.post("/api-keys", headers=auth, json={"name": "x", "expires_at": "soon"}), 400, "validation_error"
    )


async def test_keys_cannot_grant_more_than_they_hold(client: httpx.AsyncClient, keys: Keys) -> None:
    narrow = await keys.make(scopes=("keys", "tenants:read"))
    assert_error(await client.post("/api-keys", headers=narrow, json={"name": "x"}), 403, "forbidden")
    assert_error(
        await client.post("/api-keys", headers=narrow, json={"name": "x", "scopes": ["deploy"]}), 403, "forbidden"
    )
    ok = assert_resource(
        await client.post("/api-keys", headers=narrow, json={"name": "x", "scopes": ["tenants:read"]}), 201
    )
    assert ok["scopes"] == ["tenants:read"]
    star = await keys.make()
    assert_error(
        await client.post("/api-keys", headers=star, json={"name": "x", "scopes": ["admin"]}), 403, "forbidden"
    )
    test_key = await keys.make(mode="test")
    assert_error(await client.post("/api-keys", headers=test_key, json={"name": "x", "mode": "live"}), 403, "forbidden")
    made = assert_resource(await client.post("/api-keys", headers=test_key, json={"name": "x", "mode": "test"}), 201)
    assert made["key"].startswith("sk_test_")


async def test_authentication_failures(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/account"), 401, "unauthorized")
    assert_error(await client.get("/account", headers={"Authorization": "Basic abc"}), 401, "unauthorized")
    assert_error(
        await client.get("/account", headers={"Authorization": "Bearer sk_live_" + "x" * 43}), 401, "unauthorized"
    )
    assert_error(await client.get("/account", headers={"Authorization": "Bearer "}), 401, "unauthorized")


async def test_expired_key_is_refused(client: httpx.AsyncClient, keys: Keys, clock: FrozenClock) -> None:
    from datetime import timedelta

    headers = await keys.make(expires_at=iso(clock.now() + timedelta(minutes=1)))
    assert (await client.get("/account", headers=headers)).status_code == 200
    clock.advance(61)
    error = assert_error(await client.get("/account", headers=headers), 401, "unauthorized")
    assert "expired" in error["message"]


async def test_scopes_are_enforced_per_endpoint(client: httpx.AsyncClient, keys: Keys) -> None:
    reader = await keys.make(scopes=("tenants:read",))
    writer = await keys.make(scopes=("tenants:write",))
    assert (await client.get("/tenants", headers=reader)).status_code == 200
    error = assert_error(await client.post("/tenants", headers=reader, json={"name": "x"}), 403, "forbidden")
    assert error["details"]["required_scope"] == "tenants:write"
    assert_error(await client.get("/account", headers=reader), 403, "forbidden")
    assert_error(await client.get("/api-keys", headers=reader), 403, "forbidden")
    assert_error(await client.get("/tenants", headers=writer), 403, "forbidden")


async def test_providers_are_isolated_on_every_route(client: httpx.AsyncClient, keys: Keys) -> None:
    alice = await keys.make("alice@example.com")
    bob = await keys.make("bob@example.com")
    tenant = await create_tenant(client, alice, "alice-app")
    alice_key = assert_resource(await client.post("/api-keys", headers=alice, json={"name": "a"}), 201)
    for method, path, body in [
        ("GET", f"/tenants/{tenant['id']}", None),
        ("PATCH", f"/tenants/{tenant['id']}", {"display_name": "mine now"}),
        ("DELETE", f"/tenants/{tenant['id']}", None),
        ("DELETE", f"/api-keys/{alice_key['id']}", None),
    ]:
        assert_error(await client.request(method, path, headers=bob, json=body), 404, "not_found")
    assert (await client.get("/tenants", headers=bob)).json()["meta"]["total"] == 0
    assert all(k["id"] != alice_key["id"] for k in (await client.get("/api-keys", headers=bob)).json()["data"])
    assert assert_resource(await client.get(f"/tenants/{tenant['id']}", headers=alice))["name"] == "alice-app"


async def test_concurrent_key_creation_respects_its_limit(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    responses = await asyncio.gather(
        *[client.post("/api-keys", headers=auth, json={"name": f"k{i}"}) for i in range(8)]
    )
    assert sorted(r.status_code for r in responses) == [201] * 5 + [429] * 3
